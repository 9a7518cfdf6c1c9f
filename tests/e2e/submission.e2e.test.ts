/**
 * Issue 6's done test: browser → submission file → the instructor's CLI.
 * A learner does the emulated-nic lab in the browser (a partial solution, so some checks fail
 * and the comparison is not trivial), presses Grade, types a name and a student id and downloads
 * the submission. The CLI regrades that file on the seeds it recorded and must give the score and
 * per-check statuses the page showed. A copy whose stored results were edited (a failed check
 * flipped to passed, the score raised) is flagged as tampered in the folder's grades.csv
 * (DESIGN.md §8), the untouched original is not.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLabInfo } from '../../lab-engine/index.ts';
import { ROOT, fileUrl, launchBrowser } from './harness.ts';
import { openLab, pageWith, setPlainCode, siteDir } from '../lab-runtime/browser.ts';

const PARTIAL = readFileSync(join(ROOT, 'tests/labs/fixtures/part1-no-moderation.ts'), 'utf8');
const CLI = join(ROOT, 'lab-engine/node/cli.ts');
const info = getLabInfo('emulated-nic')!;

let dir = '';
let browser: Browser;

beforeAll(async () => {
  dir = await siteDir();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

/** RFC 4180 CSV (quoted fields with "" escapes), enough for grades.csv. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

interface CliResult {
  score: number;
  max_score: number;
  tests: { number: string; name: string; score: number; max_score: number; status: 'passed' | 'failed' }[];
}

describe('browser submission → instructor CLI', () => {
  it('the CLI regrades the downloaded file to exactly what the page showed, and flags an edited copy as tampered', async () => {
    const { page, log } = await openLab(browser, `${fileUrl(dir, pageWith(dir, 'data-lab="emulated-nic"'))}?editor=plain`);
    const lab = page.locator('iov-lab');
    await setPlainCode(page, PARTIAL);
    await lab.locator('button[data-action="grade"]').click();
    await lab.locator('.iov-report').waitFor({ timeout: 60_000 });
    const shownScore = (await lab.locator('.iov-score strong').textContent())!;
    const shown = await lab.locator('table.iov-checks tbody tr:not(.iov-msg-row)').evaluateAll((rows) =>
      rows.map((r) => ({ number: r.children[0]!.textContent, points: r.children[2]!.textContent, status: r.querySelector('.iov-badge')!.textContent })),
    );
    expect(shown).toHaveLength(info.checks.length);
    expect(shown.some((c) => c.status === 'failed')).toBe(true);
    expect(shown.some((c) => c.status === 'passed')).toBe(true);

    // The learner fills name and id and downloads the submission.
    await lab.locator('.iov-best summary', { hasText: 'Download submission' }).click();
    const form = lab.locator('.iov-best form.iov-sub-form');
    await form.locator('input[autocomplete="name"]').fill('Barbara Liskov');
    await form.locator('input[autocomplete="off"]').fill('bl-1939');
    const [download] = await Promise.all([page.waitForEvent('download'), form.locator('button[type="submit"]').click()]);
    const folder = mkdtempSync(join(tmpdir(), 'iovlab-submissions-'));
    const original = join(folder, '1-original.json');
    await download.saveAs(original);
    const sub = JSON.parse(readFileSync(original, 'utf8'));
    expect(sub).toMatchObject({ schema: 'iovlab.submission/2', lab: 'emulated-nic', student: { name: 'Barbara Liskov', id: 'bl-1939' }, code: PARTIAL, mode: 'grade' });
    expect(sub.seeds).toHaveLength(info.publicSeeds.length + info.freshSeeds);
    expect(log.errors).toEqual([]);
    await page.context().close();

    // The instructor's CLI on that one file: the GradeResult JSON only, on stdout.
    const one = spawnSync(process.execPath, [CLI, 'grade', '--json', '-', original], { encoding: 'utf8', cwd: ROOT });
    expect(one.status, one.stderr).toBe(0);
    const result = JSON.parse(one.stdout) as CliResult;
    expect(`Score: ${result.score}/${result.max_score}`).toBe(shownScore);
    expect(result.tests.map((t) => ({ number: t.number, points: `${t.score}/${t.max_score}`, status: t.status }))).toEqual(shown);

    // A copy whose stored results were edited: a failed check flipped to passed, the score raised.
    const tamperedPath = join(folder, '2-tampered.json');
    copyFileSync(original, tamperedPath);
    const t = JSON.parse(readFileSync(tamperedPath, 'utf8'));
    const flipped = t.results.tests.find((x: { status: string }) => x.status === 'failed');
    flipped.status = 'passed';
    flipped.score = flipped.max_score;
    t.results.score = t.results.tests.reduce((s: number, x: { score: number }) => s + x.score, 0);
    writeFileSync(tamperedPath, JSON.stringify(t, null, 2));

    const batch = spawnSync(process.execPath, [CLI, 'grade', folder], { encoding: 'utf8', cwd: ROOT });
    expect(batch.status, batch.stderr).toBe(0);
    const csv = parseCsv(readFileSync(join(folder, 'grades.csv'), 'utf8')).filter((r) => r.length > 1);
    const [head, ...rows] = csv;
    const checkCols = info.checks.map((c) => `${c.number}. ${c.name}`);
    expect(head).toEqual(['student', 'lab', 'score', 'max', ...checkCols, 'status', 'tampered', 'error', 'notes']);
    expect(rows).toHaveLength(2);
    const col = (name: string): number => head!.indexOf(name);
    for (const r of rows) {
      // Both are regraded from the code: the same score, whatever the file claims.
      expect(r[col('student')]).toContain('bl-1939');
      expect(r[col('lab')]).toBe('emulated-nic');
      expect(Number(r[col('score')])).toBe(result.score);
      expect(Number(r[col('max')])).toBe(result.max_score);
      expect(checkCols.map((c) => Number(r[col(c)]))).toEqual(result.tests.map((x) => x.score));
    }
    // Per-item results name which file is which; the CSV rows follow the same order.
    const review = (name: string) => JSON.parse(readFileSync(join(folder, name.replace(/\.json$/, '.result.json')), 'utf8')).review as { tampered: boolean };
    expect(review('1-original.json').tampered).toBe(false);
    expect(review('2-tampered.json').tampered).toBe(true);
    expect(rows.map((r) => r[col('tampered')])).toEqual(['no', 'yes']);
    console.log(`done test: page ${shownScore}; CLI ${result.score}/${result.max_score}; tampered copy flagged (check ${flipped.number} flipped)`);
  });
});
