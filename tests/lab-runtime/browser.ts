/**
 * Helpers shared by tests/e2e/lab.e2e.test.ts and cell.e2e.test.ts (the lab UI's browser tests).
 * `IOVLAB_E2E_ZIP=<zip>` tests another zip than the newest release (for working on the lab UI
 * with a throw-away content folder; see the lab UI's report).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { listHtmlPages, unzipRelease } from '../e2e/harness.ts';

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
