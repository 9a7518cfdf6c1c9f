/** What the grader tests share: running the CLI, temp folders, reading grades.csv, lab sources. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSubmission, getLabInfo, gradeSeeds, type Submission } from '../../lab-engine/index.ts';

export const CLI = new URL('../../lab-engine/node/cli.ts', import.meta.url).pathname;
export const ROOT = new URL('../../', import.meta.url).pathname;

export function cli(...args: string[]): { code: number | null; out: string; err: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: performance.now() - t0 };
}

export function tmp(prefix = 'iovlab-grader-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A lab's reference solution (reference.ts or solution.ts in its folder): tests only. */
export function referenceOf(lab: string): string {
  for (const f of ['reference.ts', 'solution.ts']) {
    const p = join(ROOT, 'lab-engine/labs', lab, f);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  throw new Error(`no reference for lab ${lab}`);
}

/** RFC 4180 parsing (quoted cells with commas, quotes and newlines), for checking grades.csv. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(cell), (cell = '');
    else if (ch === '\n') row.push(cell), rows.push(row), (row = []), (cell = '');
    else if (ch !== '\r') cell += ch;
  }
  if (cell !== '' || row.length > 0) row.push(cell), rows.push(row);
  return rows;
}

/** grades.csv as objects keyed by header, plus the header itself. */
export function readGrades(path: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  return { header: header!, rows: rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? '']))) };
}

/** What the browser does on Grade + Download submission: grade in the engine, then buildSubmission. */
export function browserSubmission(lab: string, code: string, seeds: number[], student: { name: string; id: string }): Submission {
  const info = getLabInfo(lab)!;
  const results = gradeSeeds(lab, code, seeds, 'grade');
  return buildSubmission({ lab, labVersion: info.version, student, code, mode: 'grade', seeds, results, createdAt: '2026-12-01T10:00:00.000Z' });
}

/** The same submission with the stored results forged to full marks (a learner editing the file). */
export function forged(s: Submission): Submission {
  const r = s.results!;
  return { ...s, results: { ...r, score: r.max_score, tests: r.tests.map((t) => ({ ...t, score: t.max_score, status: 'passed' as const })) } };
}
