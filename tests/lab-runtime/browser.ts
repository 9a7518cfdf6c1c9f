/**
 * Helpers shared by tests/e2e/lab.e2e.test.ts and cell.e2e.test.ts (the lab UI's browser tests).
 * `IOVLAB_E2E_ZIP=<zip>` tests another zip than the newest release (for working on the lab UI
 * with a throw-away content folder; see the lab UI's report).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { listHtmlPages, unzipRelease, watchConsole } from '../e2e/harness.ts';

export async function siteDir(): Promise<string> {
  return process.env.IOVLAB_E2E_ZIP ? unzipRelease(process.env.IOVLAB_E2E_ZIP) : unzipRelease();
}

/** The first page (site path) whose HTML contains `needle`, e.g. '<iov-lab'. */
export function pageWith(dir: string, needle: string): string {
  const page = listHtmlPages(dir).find((p) => readFileSync(join(dir, p), 'utf8').includes(needle));
  if (!page) throw new Error(`no page in the site contains ${needle}`);
  return page;
}

/** True when the canvas has been drawn on: some pixel is not transparent. */
export async function canvasPainted(canvas: Locator): Promise<boolean> {
  return canvas.evaluate((c: HTMLCanvasElement) => {
    if (c.width === 0 || c.height === 0) return false;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) painted++;
    return painted > 500;
  });
}

/** Wait until the figure's chart is drawn (chart.js draws after layout). */
export async function waitPainted(page: Page, canvas: Locator, timeout = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await canvasPainted(canvas))) {
    if (Date.now() - t0 > timeout) throw new Error('chart was never drawn');
    await page.waitForTimeout(50);
  }
}

/** Open a lab page in a fresh context and wait until its lab is ready; the console is watched. */
export async function openLab(browser: Browser, url: string): Promise<{ page: Page; log: { errors: string[] } }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(url);
  await page.locator('iov-lab[data-ready]').waitFor();
  return { page, log };
}

/** Put code into the plain editor (the page was opened with ?editor=plain) and wait until it is saved. */
export async function setPlainCode(page: Page, code: string): Promise<void> {
  await page.locator('iov-lab textarea.iov-textarea').fill(code);
  await page.locator('iov-lab .iov-saved[data-state="saved"]').waitFor();
}
