/**
 * The Gradescope side (DESIGN.md §8 `package:autograder`): grade the first submission found
 * under <root>/submission/ into <root>/results/results.json (Gradescope's format) and
 * results.csv (the same row as grades.csv). IOV Lab's own fields go under `extra_data`.
 * Gradescope's results.json: https://gradescope-autograders.readthedocs.io/en/latest/specs/
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { getLabInfo, type GradeResult } from '../index.ts';
import { toCsv } from './csv.ts';
import { failedItem, gradeJob, type GradedItem } from './grade-item.ts';
import { knownLabs, loadItem } from './load-item.ts';

export interface AutograderConfig {
  lab: string;
  /** Packaged with --seed-salt: hidden seeds per student (the zip stays with the instructor). */
  salt?: string;
}

/** Gradescope's results.json (the keys it documents, nothing else at the top level). */
export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  visibility: 'visible';
  stdout_visibility: 'hidden' | 'visible';
  tests: { name: string; number: string; score: number; max_score: number; status: 'passed' | 'failed'; output: string; tags: string[]; visibility: 'visible' }[];
  leaderboard?: { name: string; value: number; order?: 'asc' | 'desc' }[];
  extra_data: Record<string, unknown>;
}

/** Every file under `dir`, depth first, sorted (Gradescope may keep an uploaded zip's folders). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The submission to grade: the first .json, else the first .ts (ignoring our own outputs). */
export function findSubmission(dir: string): string | undefined {
  const files = filesUnder(dir).filter((f) => !/\.result\.json$/i.test(f));
  return files.find((f) => /\.json$/i.test(f)) ?? files.find((f) => /\.ts$/i.test(f));
}

/** users[0].sid, else users[0].email, from Gradescope's submission_metadata.json. */
export function gradescopeStudent(root: string): string | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(root, 'submission_metadata.json'), 'utf8')) as { users?: { sid?: unknown; email?: unknown }[] };
    const u = meta.users?.[0];
    const id = (typeof u?.sid === 'string' && u.sid) || (typeof u?.sid === 'number' && String(u.sid)) || (typeof u?.email === 'string' && u.email) || '';
    return id || undefined;
  } catch {
    return undefined;
  }
}

export function toGradescope(g: GradedItem, seconds: number): GradescopeResults {
  const r: GradeResult | null = g.result;
  const notes = [...g.warnings.map((w) => `Note: ${w}.`), ...(g.tampered ? [`The scores stored in the submission differ from the recomputed ones: ${g.diffs.join('; ')}.`] : [])];
  const output = r
    ? [r.output, ...(g.status === 'compile-error' ? [`Your code does not compile: ${g.error}`] : []), ...notes].join('\n')
    : `Could not grade ${g.item || 'your submission'}: ${g.error}`;
  return {
    score: r ? r.score : 0,
    execution_time: Math.round(seconds * 100) / 100,
    output,
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests: r ? r.tests.map((t) => ({ name: t.name, number: t.number, score: t.score, max_score: t.max_score, status: t.status, output: t.output, tags: t.tags, visibility: t.visibility })) : [],
    ...(r?.leaderboard ? { leaderboard: r.leaderboard } : {}),
    extra_data: {
      iovlab: {
        ...(r ? r.iovlab : { lab: g.labId }),
        max_score: r ? r.max_score : (getLabInfo(g.labId)?.maxScore ?? 0),
        item: g.item,
        status: g.status,
        student: g.student,
        tampered: g.tampered,
        diffs: g.diffs,
        warnings: g.warnings,
        ...(g.error ? { error: g.error } : {}),
      },
    },
  };
}

export async function runAutograder(root: string, cfg: AutograderConfig): Promise<GradescopeResults> {
  const t0 = performance.now();
  const submissionDir = join(root, 'submission');
  const found = findSubmission(submissionDir);
  let g: GradedItem;
  if (!getLabInfo(cfg.lab)) {
    g = { item: '', status: 'error', labId: cfg.lab, student: { name: '', id: '' }, studentLabel: '', result: null, tampered: false, diffs: [], warnings: [], error: `this autograder was built for lab '${cfg.lab}', which this grader does not know (known: ${knownLabs()})` };
  } else if (!found) {
    g = { item: '', status: 'error', labId: cfg.lab, student: { name: '', id: '' }, studentLabel: gradescopeStudent(root) ?? '', result: null, tampered: false, diffs: [], warnings: [], error: `no submission found: upload the .json file that "Download submission" saves on the ${cfg.lab} lab page (or your solution as a .ts file)` };
  } else {
    const studentKey = gradescopeStudent(root);
    try {
      const loaded = loadItem(found, { lab: cfg.lab, salt: cfg.salt, studentKey });
      // On Gradescope the score is recorded whatever the learner ran last: graded as a Grade.
      if (loaded.ok) loaded.job.mode = 'grade';
      g = loaded.ok ? await gradeJob(loaded.job) : failedItem(loaded);
    } catch (e) {
      g = { item: relative(submissionDir, found), status: 'error', labId: cfg.lab, student: { name: '', id: '' }, studentLabel: studentKey ?? '', result: null, tampered: false, diffs: [], warnings: [], error: `the grader failed: ${(e as Error).message}` };
    }
    g.item = relative(submissionDir, found);
    if (studentKey && !g.student.id) g.studentLabel = studentKey;
  }
  const results = toGradescope(g, (performance.now() - t0) / 1000);
  const outDir = join(root, 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(outDir, 'results.csv'), toCsv([g]));
  return results;
}
