/**
 * Progress a learner never loses (issue 6, learner side), in a real browser on the unzipped
 * release: export → erase (asks first) → import gives back the code and the best score (from
 * file:// and over http); a damaged blob is reported and its backup downloads; a lab that
 * changed since the code was saved shows the differences (plain and Monaco) and "Use the new
 * starter" has Undo; Grade shows which seed and which checks are running; the submission
 * download carries the name and student id, remembered for next time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLabInfo } from '../../lab-engine/index.ts';
import { ROOT, fileUrl, launchBrowser, startStaticServer } from './harness.ts';
import { openLab, pageWith, setPlainCode, siteDir } from '../lab-runtime/browser.ts';
import { v1Data } from '../lab-runtime/v1-fixture.ts';

const REFERENCE = readFileSync(join(ROOT, 'lab-engine/labs/emulated-nic/reference.ts'), 'utf8');
const info = getLabInfo('emulated-nic')!;
const CODE_KEY = 'iovlab:v1:lab:emulated-nic:code';
const SEEDS = info.publicSeeds.length + info.freshSeeds;

let dir = '';
let labPage = '';
let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  dir = await siteDir();
  labPage = pageWith(dir, 'data-lab="emulated-nic"');
  browser = await launchBrowser();
  server = await startStaticServer(dir);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function saved(d: Download): Promise<string> {
  const path = await d.path();
  return readFileSync(path, 'utf8');
}

async function grade(page: Page): Promise<void> {
  const lab = page.locator('iov-lab');
  await lab.locator('button[data-action="grade"]').click();
  await lab.locator('.iov-report').waitFor({ timeout: 60_000 });
}

async function openProgress(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('html[data-progress-ready]').waitFor();
}

describe.each(['file', 'http'] as const)('progress over %s', (origin) => {
  const at = (rel: string): string => (origin === 'file' ? fileUrl(dir, rel) : server.url + rel);

  it('export → erase (asks first) → import gives back the code and the best score', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await setPlainCode(page, REFERENCE);
    await grade(page);
    await expect(page.locator('iov-lab .iov-best').textContent()).resolves.toContain(`Best score: ${info.maxScore}/${info.maxScore}`);

    // The header links to the progress page.
    await page.locator('.site-nav a', { hasText: 'Your progress' }).click();
    await page.locator('html[data-progress-ready]').waitFor();
    const row = page.locator('tr[data-lab="emulated-nic"]');
    await expect(row.locator('[data-cell="best"]').textContent()).resolves.toBe(`${info.maxScore}/${info.maxScore}`);
    await expect(row.locator('[data-cell="done"]').textContent()).resolves.toBe('completed');
    await expect(row.locator('[data-cell="runs"]').textContent()).resolves.toBe('0 · 0 · 1');

    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('[data-action="export"]').click()]);
    expect(dl.suggestedFilename()).toMatch(/^iov-lab-progress-\d{4}-\d\d-\d\d\.json$/);
    const exported = JSON.parse(await saved(dl)) as { schema: string; entries: { key: string; value: string }[] };
    expect(exported.schema).toBe('iovlab.progress/2');
    expect(exported.entries.find((e) => e.key === CODE_KEY)?.value).toContain('IOVLAB-');

    // Erase asks first (and offers an export); Cancel keeps everything.
    await page.locator('[data-action="erase"]').click();
    const dialog = page.locator('dialog[data-erase-dialog]');
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toContain('Export first');
    await dialog.locator('[data-action="erase-cancel"]').click();
    await expect(dialog.isVisible()).resolves.toBe(false);
    expect(await page.evaluate((k) => localStorage.getItem(k), CODE_KEY)).not.toBeNull();
    await page.locator('[data-action="erase"]').click();
    await dialog.locator('[data-action="erase-confirm"]').click();
    await expect(page.locator('[data-message]').textContent()).resolves.toMatch(/Erased \d+ items/);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('iovlab:')))).toEqual([]);
    await expect(row.locator('[data-cell="best"]').textContent()).resolves.toBe(`not graded (max ${info.maxScore})`);

    // Import the exported file.
    await page.locator('input[data-action="import"]').setInputFiles(await dl.path());
    await page.locator('[data-message]', { hasText: 'Imported “' }).waitFor();
    await expect(page.locator('[data-message]').textContent()).resolves.toMatch(/written \(\d+ new, 0 replaced\)/);
    await expect(row.locator('[data-cell="best"]').textContent()).resolves.toBe(`${info.maxScore}/${info.maxScore}`);

    await page.goto(`${at(labPage)}?editor=plain`);
    await page.locator('iov-lab[data-ready]').waitFor();
    await expect(page.locator('iov-lab textarea.iov-textarea').inputValue()).resolves.toBe(REFERENCE);
    await expect(page.locator('iov-lab .iov-best').textContent()).resolves.toContain(`Best score: ${info.maxScore}/${info.maxScore}`);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });
});

describe('progress from file://', () => {
  const at = (rel: string): string => fileUrl(dir, rel);

  it('a damaged file is refused with a specific message and changes nothing', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await setPlainCode(page, `// mine\n${info.starter}`);
    await openProgress(page, at('progress/index.html'));
    const before = await page.evaluate(() => JSON.stringify(Object.entries(localStorage).sort()));
    await page.locator('input[data-action="import"]').setInputFiles({ name: 'cut.json', mimeType: 'application/json', buffer: Buffer.from('{"schema":"iovlab.progress/2","entries":[{"key":"iovlab:v1:lab:x') });
    await page.locator('[data-message]', { hasText: 'Nothing was imported' }).waitFor();
    await expect(page.locator('[data-message]').textContent()).resolves.toContain('Nothing was imported from “cut.json”: the file is not valid JSON — cut short or damaged?');
    expect(await page.evaluate(() => JSON.stringify(Object.entries(localStorage).sort()))).toBe(before);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('an export from an older version (the About page’s iovlab.export/1 with schema-1 data) is migrated on import', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await openProgress(page, at('progress/index.html'));
    const legacy = JSON.stringify({ schema: 'iovlab.export/1', exportedAt: '2026-01-01T00:00:00Z', keys: v1Data() });
    await page.locator('input[data-action="import"]').setInputFiles({ name: 'old.json', mimeType: 'application/json', buffer: Buffer.from(legacy) });
    await page.locator('[data-message]', { hasText: 'Imported “old.json”' }).waitFor();
    await expect(page.locator('[data-message]').textContent()).resolves.toContain('Upgraded from an older version: emulated-nic: submission upgraded to iovlab.submission/2');
    const row = page.locator('tr[data-lab="emulated-nic"]');
    await expect(row.locator('[data-cell="best"]').textContent()).resolves.toBe('70/100');
    await expect(row.locator('[data-cell="runs"]').textContent()).resolves.toBe('0 · 0 · 1');
    const sub = await page.evaluate(() => JSON.parse(localStorage.getItem('iovlab:v1:lab:emulated-nic:submission')!));
    expect(sub).toMatchObject({ schema: 'iovlab.submission/2', code: 'graded code', seeds: [1, 2, 3, 77] });
    // The lab offers the migrated submission for download.
    await page.goto(`${at(labPage)}?editor=plain`);
    await page.locator('iov-lab[data-ready]').waitFor();
    await expect(page.locator('iov-lab .iov-best summary').textContent()).resolves.toBe('Download submission…');
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('a damaged code blob: the learner is told, what was readable is kept, the raw text downloads as a backup', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    const mine = `// my work: line one\n// line two\n${info.starter}`;
    await setPlainCode(page, mine);
    // A write cut short: the end of the stored text is lost.
    const raw = await page.evaluate((k) => {
      const whole = localStorage.getItem(k)!;
      const cut = whole.slice(0, whole.indexOf('line two') + 4);
      localStorage.setItem(k, cut);
      return cut;
    }, CODE_KEY);
    await page.reload();
    await page.locator('iov-lab[data-ready]').waitFor();
    const alert = page.locator('iov-lab .iov-notices .iov-alert.error').first();
    await expect(alert.textContent()).resolves.toContain('Your saved code for this lab was damaged: what could be read was kept (the end of the code was lost)');
    await expect(page.locator('iov-lab textarea.iov-textarea').inputValue()).resolves.toBe('// my work: line one\n// line');
    // Recovered code has no known lab version: the lab says it may have changed.
    await expect(page.locator('iov-lab .iov-alert.iov-stale').count()).resolves.toBe(1);

    await openProgress(page, at('progress/index.html'));
    const item = page.locator('[data-backups] li[data-backup]');
    await expect(item.count()).resolves.toBe(1);
    await expect(item.locator('.backup-what').textContent()).resolves.toBe('damaged lab emulated-nic: code');
    const [dl] = await Promise.all([page.waitForEvent('download'), item.locator('[data-action="download-backup"]').click()]);
    expect(await saved(dl)).toBe(raw);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('a damaged progress summary: the page says so and keeps the valid labs', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await page.evaluate(() => localStorage.setItem('iovlab:v1:progress', '{"labs":{"emulated-nic":{"bestScore":40,"maxScore":100,"completed":false},"virtio-backend":{"bestSc'));
    await openProgress(page, at('progress/index.html'));
    await expect(page.locator('[data-progress-status]').textContent()).resolves.toContain('Damaged data found: progress summary — partly repaired (kept 1 lab');
    const summary = await page.evaluate(() => JSON.parse(localStorage.getItem('iovlab:v1:progress')!));
    expect(summary.labs).toEqual({ 'emulated-nic': { bestScore: 40, maxScore: 100, completed: false } });
    await expect(page.locator('[data-backups] li[data-backup]').count()).resolves.toBe(1);
    // Deleting a backup asks first.
    page.once('dialog', (d) => void d.dismiss());
    await page.locator('[data-action="delete-backup"]').click();
    await expect(page.locator('[data-backups] li[data-backup]').count()).resolves.toBe(1);
    page.once('dialog', (d) => void d.accept());
    await page.locator('[data-action="delete-backup"]').click();
    await expect(page.locator('[data-backups] li[data-backup]').count()).resolves.toBe(0);
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('a lab that changed since the code was saved: differences (plain and Monaco), the new starter, Undo', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    const mine = info.starter.replace('export function', '// my change\nexport function');
    await setPlainCode(page, mine);
    await page.evaluate((k) => {
      const r = JSON.parse(localStorage.getItem(k)!);
      r.version = 'an-older-version';
      localStorage.setItem(k, JSON.stringify(r));
    }, CODE_KEY);
    await page.reload();
    await page.locator('iov-lab[data-ready]').waitFor();
    const notice = page.locator('iov-lab .iov-alert.iov-stale');
    await expect(notice.textContent()).resolves.toContain('This lab has changed since you saved your code');
    await notice.locator('button', { hasText: 'Show differences' }).click();
    const diff = notice.locator('.iov-diff[data-diff="plain"]');
    await diff.waitFor();
    await expect(diff.locator('.iov-diff-stats').textContent()).resolves.toBe('1 line only in your code (−), 0 only in the new starter (+).');
    await expect(diff.locator('.iov-diff-del').textContent()).resolves.toContain('// my change');

    await notice.locator('button', { hasText: 'Use the new starter' }).click();
    const ta = page.locator('iov-lab textarea.iov-textarea');
    await expect(ta.inputValue()).resolves.toBe(info.starter);
    expect(JSON.parse((await page.evaluate((k) => localStorage.getItem(k), CODE_KEY))!).version).toBe(info.version);
    const undo = page.locator('iov-lab .iov-alert.iov-undo button', { hasText: 'Undo' });
    await undo.click();
    await expect(ta.inputValue()).resolves.toBe(mine);
    expect(JSON.parse((await page.evaluate((k) => localStorage.getItem(k), CODE_KEY))!)).toMatchObject({ code: mine, version: 'an-older-version' });
    await expect(page.locator('iov-lab .iov-alert.iov-stale').count()).resolves.toBe(1);

    // With Monaco: the side-by-side diff editor.
    await page.goto(at(labPage));
    await page.locator('iov-lab[data-ready]').waitFor();
    await page.locator('iov-lab .iov-alert.iov-stale button', { hasText: 'Show differences' }).click();
    await page.locator('iov-lab .iov-diff[data-diff="monaco"] .monaco-diff-editor').waitFor({ timeout: 30_000 });
    await page.locator('iov-lab .iov-diff[data-diff="monaco"] .line-delete, iov-lab .iov-diff[data-diff="monaco"] .char-delete').first().waitFor({ timeout: 30_000 });
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('a cell that changed since it was edited: Show differences keeps the notice open', async () => {
    const cellPage = pageWith(dir, '<iov-cell');
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${at(cellPage)}?editor=plain`);
    const cell = page.locator('iov-cell').first();
    await page.locator('iov-cell[data-ready]').first().waitFor();
    const ta = cell.locator('textarea.iov-textarea');
    const original = await ta.inputValue();
    await ta.fill(`// my note\n${original}`);
    await cell.locator('.iov-saved[data-state="saved"]').waitFor();
    await page.evaluate(() => {
      const k = Object.keys(localStorage).find((x) => /^iovlab:v1:cell:.*:code$/.test(x))!;
      const r = JSON.parse(localStorage.getItem(k)!);
      r.version = 'older';
      localStorage.setItem(k, JSON.stringify(r));
    });
    await page.reload();
    await page.locator('iov-cell[data-ready]').first().waitFor();
    const notice = cell.locator('.iov-alert.iov-stale');
    await notice.locator('button', { hasText: 'Show differences' }).click();
    await expect(notice.locator('.iov-diff[data-diff="plain"] .iov-diff-del').textContent()).resolves.toContain('// my note');
    await notice.locator('button', { hasText: 'Use the new cell' }).click();
    await expect(ta.inputValue()).resolves.toBe(original);
    await context.close();
  });

  it('a page killed while code runs (as an out-of-memory crash does): the next visit says so and the code is there', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    const looping = info.starter.replace('if (offset === E1000_TDT) {', 'if (offset === E1000_TDT) {\n    const hog: number[][] = [];\n    for (;;) hog.push([1, 2, 3]);');
    expect(looping).not.toBe(info.starter);
    await setPlainCode(page, looping);
    await page.locator('iov-lab button[data-action="run"]').click();
    await page.locator('iov-lab[data-busy]').waitFor();
    // Kill the renderer the way Chromium does when a Worker exhausts the memory.
    const crashed = new Promise<void>((ok) => page.once('crash', () => ok()));
    const cdp = await page.context().newCDPSession(page);
    void cdp.send('Page.crash').catch(() => undefined);
    await crashed;
    const again = await page.context().newPage();
    await again.goto(`${at(labPage)}?editor=plain`);
    await again.locator('iov-lab[data-ready]').waitFor();
    await expect(again.locator('iov-lab .iov-notices').textContent()).resolves.toContain(`The page stopped while your code was running (run, seed ${info.publicSeeds[0]})`);
    await expect(again.locator('iov-lab textarea.iov-textarea').inputValue()).resolves.toBe(looping);
    // Told once; a normal reload says nothing more.
    await again.reload();
    await again.locator('iov-lab[data-ready]').waitFor();
    await expect(again.locator('iov-lab .iov-notices').textContent()).resolves.not.toContain('The page stopped');
    // Leaving the page in the middle of a run is not a crash.
    await again.locator('iov-lab button[data-action="run"]').click();
    await again.locator('iov-lab[data-busy]').waitFor();
    await again.goto(`${at(labPage)}?editor=plain`);
    await again.locator('iov-lab[data-ready]').waitFor();
    await expect(again.locator('iov-lab .iov-notices').textContent()).resolves.not.toContain('The page stopped');
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('Grade shows which seed and which checks are running, with a bar and the checks filling in', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await setPlainCode(page, REFERENCE);
    const lab = page.locator('iov-lab');
    // Record what the progress view shows as it changes (in the page: no polling from the test).
    await page.evaluate(() => {
      const seen = { seeds: [] as string[], labels: [] as string[], passing: false };
      (window as unknown as { __gp: typeof seen }).__gp = seen;
      new MutationObserver(() => {
        const live = document.querySelector('iov-lab .iov-grading') as HTMLElement | null;
        if (!live) return;
        const s = live.dataset['seed'];
        const l = live.querySelector('.iov-gp-label')?.textContent ?? '';
        if (s && !seen.seeds.includes(s)) seen.seeds.push(s);
        if (l && !seen.labels.includes(l)) seen.labels.push(l);
        if (live.querySelector('li.iov-gp-passing')) seen.passing = true;
      }).observe(document.querySelector('iov-lab')!, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await lab.locator('button[data-action="grade"]').click();
    await lab.locator('.iov-grading').waitFor();
    await lab.locator('.iov-report').waitFor({ timeout: 60_000 });
    const seen = await page.evaluate(() => (window as unknown as { __gp: { seeds: string[]; labels: string[]; passing: boolean } }).__gp);
    console.log(`grading progress: seeds seen ${seen.seeds.join(',')}`);
    expect(seen.seeds).toEqual(Array.from({ length: SEEDS }, (_, i) => String(i + 1)));
    expect(seen.labels).toContain(`Grading: seed 1 of ${SEEDS} — checks 1–${info.checks.length}`);
    expect(seen.labels).toContain(`Grading: seed ${SEEDS} of ${SEEDS} — checks 1–${info.checks.length}`);
    expect(seen.passing).toBe(true);
    expect(await lab.locator('progress.iov-gp-bar').count()).toBe(0); // replaced by the report
    expect(log.errors).toEqual([]);
    await page.context().close();
  });

  it('Download submission: asks for name and id, the file carries them, and they are remembered', async () => {
    const { page, log } = await openLab(browser, `${at(labPage)}?editor=plain`);
    await setPlainCode(page, REFERENCE);
    await grade(page);
    const best = page.locator('iov-lab .iov-best');
    await best.locator('summary', { hasText: 'Download submission' }).click();
    const form = best.locator('form.iov-sub-form');
    await expect(form.textContent()).resolves.toContain('It is a record of what you hand in');
    await form.locator('button[type="submit"]').click();
    await expect(form.locator('.iov-sub-msg').textContent()).resolves.toBe('Type your name and your student id first.');
    await form.locator('input[autocomplete="name"]').fill('Grace Hopper');
    await form.locator('input[autocomplete="off"]').fill('u1906');
    const [dl] = await Promise.all([page.waitForEvent('download'), form.locator('button[type="submit"]').click()]);
    expect(dl.suggestedFilename()).toBe('emulated-nic-u1906-submission.json');
    const sub = JSON.parse(await saved(dl));
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('iovlab:v1:lab:emulated-nic:best')!));
    expect(sub).toMatchObject({ schema: 'iovlab.submission/2', lab: 'emulated-nic', labVersion: info.version, student: { name: 'Grace Hopper', id: 'u1906' }, code: REFERENCE, mode: 'grade', seeds: stored.seeds });
    expect(sub.results.score).toBe(info.maxScore);
    expect(sub.contentHash).toMatch(/^[0-9a-f]{16}$/);
    // Remembered for the next visit (and every lab).
    await page.reload();
    await page.locator('iov-lab[data-ready]').waitFor();
    await page.locator('iov-lab .iov-best summary').click();
    await expect(page.locator('iov-lab .iov-sub input[autocomplete="name"]').inputValue()).resolves.toBe('Grace Hopper');
    await expect(page.locator('iov-lab .iov-sub input[autocomplete="off"]').inputValue()).resolves.toBe('u1906');
    // The progress page shows them and can change them.
    await openProgress(page, at('progress/index.html'));
    await expect(page.locator('#identity-name').inputValue()).resolves.toBe('Grace Hopper');
    await page.locator('#identity-id').fill('u1906-b');
    await page.locator('[data-identity] button[type="submit"]').click();
    await page.locator('[data-identity-msg]', { hasText: 'Saved.' }).waitFor();
    expect(JSON.parse((await page.evaluate(() => localStorage.getItem('iovlab:v1:identity')))!)).toMatchObject({ name: 'Grace Hopper', id: 'u1906-b' });
    expect(log.errors).toEqual([]);
    await page.context().close();
  });
});
