/**
 * Messages between the page and the runner Worker (one Worker per job, see runner.ts).
 * Everything here is structured-clone data; the Worker imports lab-engine, the page never does.
 */
import type { CellOutput, Diagnostic, GradeResult, SeedOutcome } from '../../lab-engine/index.ts';

export type Job =
  /** Compile the learner's lab code and run one seed (LabInfo.timeLimitMs watchdog). */
  | { kind: 'lab-seed'; labId: string; source: string; seed: number }
  /** Aggregate per-seed outcomes into a GradeResult (pure; no learner code runs). */
  | { kind: 'grade'; labId: string; source: string; mode: 'check' | 'grade'; outcomes: SeedOutcome[] }
  /** Run a notebook cell. */
  | { kind: 'cell'; source: string };

export type Reply =
  | { ok: true; kind: 'lab-seed'; outcome: SeedOutcome; ms: number }
  | { ok: true; kind: 'grade'; result: GradeResult; text: string }
  | { ok: true; kind: 'cell'; output: CellOutput; ms: number }
  /** The engine itself failed (a bug, not the learner's code): shown as an internal error. */
  | { ok: false; error: string };

/** What the page gets back for a job. */
export type JobResult =
  | { status: 'done'; reply: Reply }
  | { status: 'timeout'; limitMs: number }
  | { status: 'stopped' }
  | { status: 'crashed'; reason: 'out-of-memory' | 'worker-died'; message: string };

export type { CellOutput, Diagnostic, GradeResult, SeedOutcome };
