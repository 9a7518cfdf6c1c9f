/**
 * Notebook cells in a real browser, on the unzipped release, from file:// and over http: a cell
 * runs and draws a chart with its data table and summary, edits survive a reload, Reset has
 * Undo, Run all runs every cell, and an infinite loop is stopped with a message.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCell } from '../../lab-engine/index.ts';
import { fileUrl, launchBrowser, startStaticServer, watchConsole } from './harness.ts';
import { canvasPainted, pageWith, siteDir, waitPainted } from '../lab-runtime/browser.ts';

let dir = '';
let cellPage = '';
let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  dir = await siteDir();
  cellPage = pageWith(dir, '<iov-cell');
  browser = await launchBrowser();
  server = await startStaticServer(dir);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(url: string): Promise<{ page: Page; log: { errors: string[] } }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(url);
  await page.locator('iov-cell[data-ready]').first().waitFor();
  return { page, log };
}

describe.each(['file', 'http'] as const)('cells over %s', (origin) => {
  const url = (q = ''): string => (origin === 'file' ? fileUrl(dir, cellPage) : server.url + cellPage) + q;

  it('runs a cell and draws its chart with a data table and a summary', async () => {
    const { page, log } = await open(url());
    const cell = page.locator('iov-cell').first();
    const t0 = Date.now();
    await cell.locator('button[data-action="run"]').click();
    const fig = cell.locator('.iov-fig').first();
    await fig.waitFor({ timeout: 15_000 });
    await waitPainted(page, fig.locator('canvas'));
    console.log(`[${origin}] cell Run → chart: ${Date.now() - t0} ms`);
    await expect(fig.locator('.iov-summary').textContent()).resolves.toMatch(/\w{3}/);
    await fig.locator('details.iov-table summary').click();
    // The table is built on the (asynchronous) toggle event.
    await fig.locator('table.iov-data tbody tr').first().waitFor();
    // One row per x value of the plot, as the engine computes it in Node for the same code.
    const code = JSON.parse((await cell.locator('script.iov-cell-data').textContent())!).code as string;
    const expected = runCell(code);
    expect(await fig.locator('table.iov-data tbody tr').count()).toBe(expected.plots[0]!.x.values.length);
    await expect(fig.locator('.iov-fig-title').textContent()).resolves.toBe(expected.plots[0]!.title);
    expect(await cell.locator('.iov-diag.error').count()).toBe(0);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  if (origin === 'file') it('keeps edits across a reload; Reset restores the original, with Undo', async () => {
    const { page, log } = await open(url('?editor=plain'));
    const cell = page.locator('iov-cell').first();
    const ta = cell.locator('textarea.iov-textarea');
    const original = await ta.inputValue();
    const edited = `// my note\n${original}`;
    await ta.fill(edited);
    await cell.locator('.iov-saved[data-state="saved"]').waitFor();
    await page.reload();
    await page.locator('iov-cell[data-ready]').first().waitFor();
    await expect(cell.locator('textarea.iov-textarea').inputValue()).resolves.toBe(edited);
    await cell.locator('button[data-action="reset"]').click();
    await expect(cell.locator('textarea.iov-textarea').inputValue()).resolves.toBe(original);
    await cell.locator('.iov-notices button', { hasText: 'Undo' }).click();
    await expect(cell.locator('textarea.iov-textarea').inputValue()).resolves.toBe(edited);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  if (origin === 'file') it('Run all runs every cell; an infinite loop is stopped and the cell runs again', async () => {
    const { page, log } = await open(url('?editor=plain'));
    const cells = page.locator('iov-cell');
    const n = await cells.count();
    await cells.first().locator('button[data-action="run-all"]').click();
    for (let i = 0; i < n; i++) await cells.nth(i).locator('.iov-output > *:not(.iov-progress)').first().waitFor({ timeout: 30_000 });
    const cell = cells.first();
    const ta = cell.locator('textarea.iov-textarea');
    const original = await ta.inputValue();
    await ta.fill("import { print } from 'iovlab';\nprint('start');\nwhile (true) {}\n");
    await cell.locator('button[data-action="run"]').click();
    const alert = cell.locator('.iov-alert.error');
    await alert.waitFor({ timeout: 15_000 });
    await expect(alert.textContent()).resolves.toContain('ran for more than 5 s without returning');
    await ta.fill(original);
    await cell.locator('button[data-action="run"]').click();
    await cell.locator('.iov-fig canvas').first().waitFor();
    await expect.poll(() => canvasPainted(cell.locator('.iov-fig canvas').first())).toBe(true);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });
});
