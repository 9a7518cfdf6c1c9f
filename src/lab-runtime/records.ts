/**
 * The records kept in localStorage, one kind per key pattern, each with a validator and a
 * `repair` that rebuilds a valid record from what `salvageJson` could read of a damaged blob
 * (or says nothing is left). Storage, recovery, migrations and import all use this one table,
 * so "valid" means the same thing everywhere.
 *
 * Key layout (every file:// page shares one bucket, so all keys start with `iovlab:`):
 *   iovlab:meta                          {schema: N}: the storage schema (migrations.ts)
 *   iovlab:v1:lab:<id>:code              SavedCode (also cell:<id>:code)
 *   iovlab:v1:lab:<id>:before-reset      SavedCode kept for Undo (also cell:…)
 *   iovlab:v1:lab:<id>:best              BestScore
 *   iovlab:v1:lab:<id>:submission        Submission (lab-engine/grader/submission.ts, schema 2)
 *   iovlab:v1:lab:<id>:history           RunHistory
 *   iovlab:v1:lab:<id>:running           {mode, seed, at} while a seed runs (crash detection)
 *   iovlab:v1:progress                   the summary nav.js reads (labs, lessonsVisited)
 *   iovlab:v1:identity                   Identity (name, student id), course-wide
 *   iovlab:v1:theme                      'light' | 'dark' (nav.js, plain text)
 *   iovlab:v1:backup:<what>@<time>       raw text kept from a damaged blob or before an import
 */
import { SUBMISSION_SCHEMA, type Submission } from '../../lab-engine/grader/submission.ts';
import type { Salvaged } from './salvage.ts';

export const PREFIX = 'iovlab:v1:';
export const META_KEY = 'iovlab:meta';
export const PROGRESS_KEY = `${PREFIX}progress`;
export const IDENTITY_KEY = `${PREFIX}identity`;
export const THEME_KEY = `${PREFIX}theme`;
export const BACKUP_PREFIX = `${PREFIX}backup:`;

export type Scope = 'lab' | 'cell';

/** Code as saved: the text, and the version of the lab (or hash of the cell's original) it was written against. */
export interface SavedCode {
  schema: 'iovlab.code/1';
  code: string;
  version: string;
  savedAt: number;
}

/** The best Grade of a lab, with the seeds it was graded on (DESIGN.md §4). */
export interface BestScore {
  schema: 'iovlab.best/1';
  score: number;
  maxScore: number;
  seeds: number[];
  at: number;
  codeHash: string;
  labVersion: string;
}

/** What a learner did with a lab: counts and the last result (the progress page shows it). */
export interface RunHistory {
  schema: 'iovlab.history/1';
  runs: number;
  checks: number;
  grades: number;
  /** Score of the last Check or Grade (null before the first). */
  lastScore: number | null;
  lastMaxScore: number | null;
  lastMode: 'run' | 'check' | 'grade' | null;
  /** Time of the last Run, Check or Grade (ms since the epoch; 0 = never). */
  lastAt: number;
}

/** Who hands the submissions in (remembered for every lab of the course). */
export interface Identity {
  schema: 'iovlab.identity/1';
  name: string;
  id: string;
}

export interface ProgressLab {
  bestScore: number;
  maxScore: number;
  completed: boolean;
}

export type { Submission };

export const keys = {
  code: (scope: Scope, id: string): string => `${PREFIX}${scope}:${id}:code`,
  beforeReset: (scope: Scope, id: string): string => `${PREFIX}${scope}:${id}:before-reset`,
  best: (labId: string): string => `${PREFIX}lab:${labId}:best`,
  submission: (labId: string): string => `${PREFIX}lab:${labId}:submission`,
  history: (labId: string): string => `${PREFIX}lab:${labId}:history`,
  /** Set while a seed runs; found at the next visit when the browser killed the page mid-run. */
  running: (labId: string): string => `${PREFIX}lab:${labId}:running`,
  backup: (key: string, at: number): string => `${BACKUP_PREFIX}${key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key.replace(/^iovlab:/, '')}@${at}`,
};

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isSeeds = (v: unknown): v is number[] => Array.isArray(v) && v.every((s) => Number.isInteger(s));

export function isSavedCode(v: unknown): v is SavedCode {
  return isObject(v) && v['schema'] === 'iovlab.code/1' && typeof v['code'] === 'string' && typeof v['version'] === 'string';
}

export function isBest(v: unknown): v is BestScore {
  return isObject(v) && v['schema'] === 'iovlab.best/1' && isNum(v['score']) && isNum(v['maxScore']) && isSeeds(v['seeds']);
}

export function isHistory(v: unknown): v is RunHistory {
  return isObject(v) && v['schema'] === 'iovlab.history/1' && isNum(v['runs']) && isNum(v['checks']) && isNum(v['grades']) && isNum(v['lastAt']);
}

export function isIdentity(v: unknown): v is Identity {
  return isObject(v) && v['schema'] === 'iovlab.identity/1' && typeof v['name'] === 'string' && typeof v['id'] === 'string';
}

export function isSubmission(v: unknown): v is Submission {
  return isObject(v) && v['schema'] === SUBMISSION_SCHEMA && typeof v['lab'] === 'string' && typeof v['code'] === 'string' && isSeeds(v['seeds']) && isObject(v['student']);
}

/** The v1 browser submission (before student and versions; migrated by migrations.ts). */
export function isSubmissionV1(v: unknown): boolean {
  return isObject(v) && v['schema'] === 'iovlab.submission/1' && typeof v['code'] === 'string';
}

export function isProgressLab(v: unknown): v is ProgressLab {
  return isObject(v) && isNum(v['bestScore']) && isNum(v['maxScore']) && typeof v['completed'] === 'boolean';
}

/** The progress summary: an object whose `labs` entries (if any) are all well formed. */
export function isProgress(v: unknown): v is Record<string, unknown> {
  if (!isObject(v)) return false;
  const labs = v['labs'];
  if (labs !== undefined && !(isObject(labs) && Object.values(labs).every(isProgressLab))) return false;
  const visited = v['lessonsVisited'];
  return visited === undefined || (isObject(visited) && Object.values(visited).every((x) => typeof x === 'boolean'));
}

/** A record rebuilt from a damaged blob; `partial` when some of its text was lost. */
export interface Repaired<T> {
  value: T;
  partial: boolean;
  /** What was lost, in words for the learner. */
  lost: string;
}

export interface RecordKind<T> {
  name: string;
  valid(v: unknown): v is T;
  repair(s: Salvaged): Repaired<T> | undefined;
}

const codeKind: RecordKind<SavedCode> = {
  name: 'code',
  valid: isSavedCode,
  repair(s) {
    const v = s.value;
    if (!isObject(v) || typeof v['code'] !== 'string') return undefined;
    // Another schema (a newer course's?) is not ours to rewrite: it is only backed up.
    if (v['schema'] !== undefined && v['schema'] !== 'iovlab.code/1' && !s.truncatedStrings.includes('schema')) return undefined;
    const cut = s.truncatedStrings.includes('code');
    const version = typeof v['version'] === 'string' && !s.truncatedStrings.includes('version') ? v['version'] : '';
    return {
      value: { schema: 'iovlab.code/1', code: v['code'], version, savedAt: isNum(v['savedAt']) ? v['savedAt'] : 0 },
      partial: cut,
      // An unknown version makes the lab say "this lab changed": honest, since we cannot tell.
      lost: cut ? 'the end of the code was lost' : version === '' ? 'the lab version it was written for was lost' : 'nothing of the code was lost',
    };
  },
};

const bestKind: RecordKind<BestScore> = {
  name: 'best score',
  valid: isBest,
  repair(s) {
    const v = s.value;
    if (!isObject(v) || !isNum(v['score']) || !isNum(v['maxScore']) || !isSeeds(v['seeds']) || s.truncatedStrings.length > 0) return undefined;
    // Seeds cut short would replay a different Grade: only a complete seed list is kept.
    if (!isNum(v['at'])) return undefined;
    return {
      value: { schema: 'iovlab.best/1', score: v['score'], maxScore: v['maxScore'], seeds: v['seeds'], at: v['at'], codeHash: typeof v['codeHash'] === 'string' ? v['codeHash'] : '', labVersion: typeof v['labVersion'] === 'string' ? v['labVersion'] : '' },
      partial: false,
      lost: 'nothing of the score was lost',
    };
  },
};

const historyKind: RecordKind<RunHistory> = {
  name: 'run history',
  valid: isHistory,
  repair(s) {
    const v = s.value;
    if (!isObject(v)) return undefined;
    const n = (k: string): number => (isNum(v[k]) ? (v[k] as number) : 0);
    const nn = (k: string): number | null => (isNum(v[k]) ? (v[k] as number) : null);
    const mode = v['lastMode'] === 'run' || v['lastMode'] === 'check' || v['lastMode'] === 'grade' ? v['lastMode'] : null;
    return { value: { schema: 'iovlab.history/1', runs: n('runs'), checks: n('checks'), grades: n('grades'), lastScore: nn('lastScore'), lastMaxScore: nn('lastMaxScore'), lastMode: mode, lastAt: n('lastAt') }, partial: true, lost: 'some counts may be lower than they were' };
  },
};

const identityKind: RecordKind<Identity> = {
  name: 'name and student id',
  valid: isIdentity,
  repair(s) {
    const v = s.value;
    if (!isObject(v)) return undefined;
    const name = typeof v['name'] === 'string' && !s.truncatedStrings.includes('name') ? v['name'] : '';
    const id = typeof v['id'] === 'string' && !s.truncatedStrings.includes('id') ? v['id'] : '';
    if (!name && !id) return undefined;
    return { value: { schema: 'iovlab.identity/1', name, id }, partial: !name || !id, lost: 'check your name and student id before the next submission' };
  },
};

const submissionKind: RecordKind<Submission> = {
  name: 'submission',
  valid: (v): v is Submission => isSubmission(v) || isSubmissionV1(v),
  // A submission with any text lost is not what was handed in: never rebuilt, only backed up.
  repair: () => undefined,
};

const progressKind: RecordKind<Record<string, unknown>> = {
  name: 'progress summary',
  valid: isProgress,
  repair(s) {
    const v = isObject(s.value) ? s.value : {};
    const out: Record<string, unknown> = {};
    let dropped = 0;
    for (const [k, x] of Object.entries(v)) if (k !== 'labs' && k !== 'lessonsVisited') out[k] = x;
    const labs: Record<string, ProgressLab> = {};
    if (isObject(v['labs'])) {
      for (const [id, e] of Object.entries(v['labs'])) {
        if (isProgressLab(e)) labs[id] = { ...e };
        else dropped++;
      }
    }
    const visited: Record<string, boolean> = {};
    if (isObject(v['lessonsVisited'])) for (const [slug, x] of Object.entries(v['lessonsVisited'])) if (x === true && !s.truncatedStrings.includes(`lessonsVisited.${slug}`)) visited[slug] = true;
    out['labs'] = labs;
    out['lessonsVisited'] = visited;
    const kept = Object.keys(labs).length;
    return { value: out, partial: true, lost: `kept ${kept} lab${kept === 1 ? '' : 's'} and ${Object.keys(visited).length} visited lesson${Object.keys(visited).length === 1 ? '' : 's'}${dropped ? `; ${dropped} damaged lab entr${dropped === 1 ? 'y' : 'ies'} dropped — ${dropped === 1 ? 'its lab page still holds its' : 'their lab pages still hold their'} best score${dropped === 1 ? '' : 's'}` : ''}` };
  },
};

const metaKind: RecordKind<{ schema: number }> = {
  name: 'storage version',
  valid: (v): v is { schema: number } => isObject(v) && Number.isInteger(v['schema']) && (v['schema'] as number) >= 1,
  repair: () => undefined,
};

/** The record kind stored under `key`, or undefined for free text (theme, backups, unknown keys). */
export function kindOf(key: string): RecordKind<unknown> | undefined {
  if (key === META_KEY) return metaKind as RecordKind<unknown>;
  if (!key.startsWith(PREFIX) || key.startsWith(BACKUP_PREFIX)) return undefined;
  if (key === PROGRESS_KEY) return progressKind as RecordKind<unknown>;
  if (key === IDENTITY_KEY) return identityKind as RecordKind<unknown>;
  const m = /^(lab|cell):[^:]+:(code|before-reset|best|submission|history)$/.exec(key.slice(PREFIX.length));
  if (!m) return undefined;
  const what = m[2];
  if (what === 'code' || what === 'before-reset') return codeKind as RecordKind<unknown>;
  if (m[1] !== 'lab') return undefined;
  if (what === 'best') return bestKind as RecordKind<unknown>;
  if (what === 'history') return historyKind as RecordKind<unknown>;
  return submissionKind as RecordKind<unknown>;
}

export const kinds = { code: codeKind, best: bestKind, history: historyKind, identity: identityKind, submission: submissionKind, progress: progressKind, meta: metaKind };

/** The lab or cell a key belongs to, for messages ("lab emulated-nic: code"). */
export function describeKey(key: string): string {
  if (key === META_KEY) return 'storage version';
  if (key === PROGRESS_KEY) return 'progress summary';
  if (key === IDENTITY_KEY) return 'name and student id';
  if (key === THEME_KEY) return 'theme';
  if (key.startsWith(BACKUP_PREFIX)) return `backup ${key.slice(BACKUP_PREFIX.length)}`;
  const m = /^(lab|cell):([^:]+):(.+)$/.exec(key.slice(PREFIX.length));
  if (m) return `${m[1]} ${m[2]}: ${m[3] === 'before-reset' ? 'code before the last reset' : m[3] === 'best' ? 'best score' : m[3]}`;
  return key;
}
