/**
 * Grades one loaded item: compiles it, runs its seeds isolated (run-seeds.ts), grades the
 * replayed seeds alone (what the browser computed: the tampering comparison of DESIGN.md §8)
 * and, with a salt, all seeds (the score). One GradedItem is what the CSV row, the result file,
 * the text output and the Gradescope results are all made from.
 */
import { compileModule, getLabInfo, gradeOutcomes, hashText, resultsDiffer, type GradeResult, type SeedOutcome, type Student } from '../index.ts';
import type { GradeJob, LoadedItem } from './load-item.ts';
import { runSeedsIsolated } from './run-seeds.ts';

export type ItemStatus = 'graded' | 'compile-error' | 'error';

export interface GradedItem {
  item: string;
  status: ItemStatus;
  labId: string;
  student: Student;
  studentLabel: string;
  result: GradeResult | null;
  tampered: boolean;
  diffs: string[];
  warnings: string[];
  /** Why the item could not be graded (status 'error') or does not compile ('compile-error'). */
  error: string;
}

/** The item's result file: the GradeResult plus what the instructor reviews, or the error. */
export function resultFile(g: GradedItem): Record<string, unknown> {
  const review = { student: g.student, status: g.status, tampered: g.tampered, diffs: g.diffs, warnings: g.warnings, ...(g.error ? { error: g.error } : {}) };
  return g.result ? { ...g.result, review } : { item: g.item, lab: g.labId, error: g.error, review };
}

export function failedItem(l: Extract<LoadedItem, { ok: false }>): GradedItem {
  return { item: l.item, status: 'error', labId: l.labId, student: l.student, studentLabel: l.studentLabel, result: null, tampered: false, diffs: [], warnings: [], error: l.error };
}

export interface GradeJobOptions {
  heapMb?: number;
  onSeed?: (done: number) => void;
}

export async function gradeJob(job: GradeJob, o: GradeJobOptions = {}): Promise<GradedItem> {
  const info = getLabInfo(job.labId)!;
  const seeds = [...job.replaySeeds, ...job.hiddenSeeds];
  const t0 = performance.now();
  let outcomes: SeedOutcome[];
  const compiled = compileModule(job.code, { [info.apiModule]: {} });
  if (!compiled.ok) {
    // A syntax error fails every seed the same way: no worker needed (the browser does the same).
    outcomes = seeds.map((seed) => ({ seed, kind: 'compile-error', diagnostics: compiled.diagnostics }));
    o.onSeed?.(seeds.length);
  } else {
    outcomes = await runSeedsIsolated(job.labId, job.code, seeds, info.timeLimitMs, { ...(o.heapMb ? { heapMb: o.heapMb } : {}), ...(o.onSeed ? { onSeed: o.onSeed } : {}) });
  }
  const codeHash = hashText(job.code);
  const replay = gradeOutcomes(job.labId, outcomes.slice(0, job.replaySeeds.length), { mode: job.mode, codeHash });
  const result = job.hiddenSeeds.length > 0 ? gradeOutcomes(job.labId, outcomes, { mode: 'grade', codeHash }) : replay;
  result.execution_time = Math.round((performance.now() - t0) / 10) / 100;
  const diffs = resultsDiffer(job.stored, replay);
  // Every seed refused the module (syntax error, missing export, threw while loading): the
  // learner's first diagnostic is the row's reason.
  const first = outcomes[0];
  const compileError = first?.kind === 'compile-error' && outcomes.every((x) => x.kind === 'compile-error') ? first.diagnostics.map((d) => d.message).join(' ') : '';
  return {
    item: job.item,
    status: compileError ? 'compile-error' : 'graded',
    labId: job.labId,
    student: job.student,
    studentLabel: job.studentLabel,
    result,
    tampered: diffs.length > 0,
    diffs,
    warnings: job.warnings,
    error: compileError,
  };
}
