/**
 * The shape of a lab and of grading results. A lab is one folder under labs/<id>/ (DESIGN.md §4).
 * Everything a browser or the CLI needs to show a lab is in LabInfo (plain data); the checks
 * themselves are functions and stay inside the engine.
 */
import type { Diagnostic, RunResult } from '../sim/types.ts';

export interface CheckInfo {
  /** 1-based number shown to learners ("3. DD written back"). */
  number: number;
  id: string;
  name: string;
  points: number;
  /** Check numbers whose failure fails this one with "parent failed". */
  parents: number[];
  kind: 'correctness' | 'invariant' | 'performance';
}

export interface LabInfo {
  id: string;
  title: string;
  /** Content hash of the lab's starter + API + checks: saved code remembers it (DESIGN.md §5). */
  version: string;
  /** The module specifier learner code imports the lab API from, e.g. 'iovlab/emulated-nic'. */
  apiModule: string;
  /** TypeScript declarations of the API module (Monaco gets them with addExtraLib). */
  apiDts: string;
  /** The code a learner starts from. */
  starter: string;
  /** The fixed public seeds Check runs (shown in the URL and at the top of every output). */
  publicSeeds: number[];
  /** How many fresh seeds Grade adds to the public ones. */
  freshSeeds: number;
  /** Wall-clock limit for one seed's run, ms; the shell kills the runner past it. */
  timeLimitMs: number;
  checks: CheckInfo[];
  maxScore: number;
}

/** What one seed's run of learner code produced; JSON-able, computed where the code ran. */
export type SeedOutcome =
  | { seed: number; kind: 'ran'; result: RunResult; findings: Finding[] }
  | { seed: number; kind: 'compile-error'; diagnostics: Diagnostic[] }
  | { seed: number; kind: 'timeout'; limitMs: number }
  /** The runner died under the code: out of memory (heap limit) or the Worker crashed. */
  | { seed: number; kind: 'crashed'; reason: 'out-of-memory' | 'worker-died'; message: string };

/** A coded observation for one check, turned into prose by grader/messages (zod-style issues). */
export interface Finding {
  check: string;
  code: string;
  data: Record<string, number | string>;
}

export type TestStatus = 'passed' | 'failed';

/** One check's result: Gradescope's tests[] entry. */
export interface GradedTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status: TestStatus;
  output: string;
  tags: string[];
  visibility: 'visible';
}

/** A superset of Gradescope's results.json (DESIGN.md §4). */
export interface GradeResult {
  score: number;
  max_score: number;
  execution_time?: number;
  output: string;
  visibility: 'visible';
  stdout_visibility: 'visible';
  tests: GradedTest[];
  leaderboard?: { name: string; value: number; order?: 'asc' | 'desc' }[];
  iovlab: {
    schema: 'iovlab.grade/1';
    lab: string;
    labVersion: string;
    engineVersion: string;
    mode: 'check' | 'grade';
    seeds: number[];
    codeHash: string;
  };
}
