/**
 * Saved progress in localStorage. Every page opened from file:// shares one storage bucket
 * (OFFLINE.md), so every key is namespaced `iovlab:v1:…`. Rules (DESIGN.md §5):
 * - code is saved per lab and per cell with the version it was written against, so a changed
 *   lab is reported instead of silently showing stale code;
 * - a stored blob that cannot be read never crashes the page and is never silently wiped: its
 *   raw text is copied to a backup key first and the caller tells the learner;
 * - the progress summary the navigation reads (`iovlab:v1:progress`) is merged, never
 *   overwritten: fields this module does not own are kept as they are.
 * Pure logic over a Storage-like object, so tests run it against a Map.
 */

export const PREFIX = 'iovlab:v1:';
export const PROGRESS_KEY = `${PREFIX}progress`;

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

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

/** A submission the CLI can regrade on exactly these seeds (`npm run grade -- submission.json`). */
export interface Submission {
  schema: 'iovlab.submission/1';
  lab: string;
  code: string;
  seeds: number[];
  mode: 'grade';
  results: unknown;
}

export type Loaded<T> =
  | { state: 'empty' }
  | { state: 'ok'; value: T }
  /** The stored text could not be read; `backupKey` holds a copy (null if even that failed). */
  | { state: 'corrupt'; raw: string; backupKey: string | null };

export interface ProgressLab {
  bestScore: number;
  maxScore: number;
  completed: boolean;
}

export const keys = {
  code: (scope: Scope, id: string): string => `${PREFIX}${scope}:${id}:code`,
  beforeReset: (scope: Scope, id: string): string => `${PREFIX}${scope}:${id}:before-reset`,
  best: (labId: string): string => `${PREFIX}lab:${labId}:best`,
  submission: (labId: string): string => `${PREFIX}lab:${labId}:submission`,
  backup: (key: string, at: number): string => `${PREFIX}backup:${key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key}@${at}`,
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSavedCode(v: unknown): v is SavedCode {
  return isObject(v) && v['schema'] === 'iovlab.code/1' && typeof v['code'] === 'string' && typeof v['version'] === 'string';
}

function isBest(v: unknown): v is BestScore {
  return (
    isObject(v) &&
    v['schema'] === 'iovlab.best/1' &&
    typeof v['score'] === 'number' &&
    typeof v['maxScore'] === 'number' &&
    Array.isArray(v['seeds']) &&
    (v['seeds'] as unknown[]).every((s) => typeof s === 'number')
  );
}

export class Store {
  readonly storage: StorageLike | null;
  readonly now: () => number;
  /** Keys whose stored text was damaged and could not be backed up: never overwritten. */
  private readonly frozen = new Set<string>();

  constructor(storage: StorageLike | null, now: () => number = () => Date.now()) {
    this.storage = storage;
    this.now = now;
  }

  /** localStorage when the browser lets us use it (it may throw in private modes). */
  static fromWindow(): Store {
    try {
      const s = window.localStorage;
      const probe = `${PREFIX}probe`;
      s.setItem(probe, '1');
      s.removeItem(probe);
      return new Store(s);
    } catch {
      return new Store(null);
    }
  }

  get available(): boolean {
    return this.storage !== null;
  }

  private read(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  private write(key: string, value: string): boolean {
    if (!this.storage || this.frozen.has(key)) return false;
    try {
      this.storage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  }

  /** Read and validate one JSON blob; a damaged one is backed up (and frozen if that fails). */
  load<T>(key: string, valid: (v: unknown) => v is T): Loaded<T> {
    const raw = this.read(key);
    if (raw === null) return { state: 'empty' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined && valid(parsed)) return { state: 'ok', value: parsed };
    return { state: 'corrupt', raw, backupKey: this.backup(key, raw) };
  }

  private backup(key: string, raw: string): string | null {
    const backupKey = keys.backup(key, this.now());
    if (this.write(backupKey, raw)) return backupKey;
    this.frozen.add(key);
    return null;
  }

  loadCode(scope: Scope, id: string): Loaded<SavedCode> {
    return this.load(keys.code(scope, id), isSavedCode);
  }

  saveCode(scope: Scope, id: string, code: string, version: string): boolean {
    const value: SavedCode = { schema: 'iovlab.code/1', code, version, savedAt: this.now() };
    return this.write(keys.code(scope, id), JSON.stringify(value));
  }

  /** Keep the code a Reset replaced, so Undo works even after a reload. */
  saveBeforeReset(scope: Scope, id: string, code: string, version: string): boolean {
    const value: SavedCode = { schema: 'iovlab.code/1', code, version, savedAt: this.now() };
    return this.write(keys.beforeReset(scope, id), JSON.stringify(value));
  }

  loadBeforeReset(scope: Scope, id: string): SavedCode | undefined {
    const r = this.load(keys.beforeReset(scope, id), isSavedCode);
    return r.state === 'ok' ? r.value : undefined;
  }

  loadBest(labId: string): Loaded<BestScore> {
    return this.load(keys.best(labId), isBest);
  }

  /**
   * Record a Grade. The best score is kept (a later equal score replaces it, so the recorded
   * seeds and submission match the newest code that earned it). Returns whether it is the best.
   */
  recordGrade(labId: string, best: BestScore, submission: Submission): { isBest: boolean; saved: boolean } {
    const prev = this.loadBest(labId);
    const isBest = prev.state !== 'ok' || best.score >= prev.value.score;
    let saved = true;
    if (isBest) {
      saved = this.write(keys.best(labId), JSON.stringify(best)) && this.write(keys.submission(labId), JSON.stringify(submission));
    }
    const top = isBest ? best : (prev as { value: BestScore }).value;
    saved = this.updateProgressLab(labId, { bestScore: top.score, maxScore: top.maxScore, completed: top.score >= top.maxScore }) && saved;
    return { isBest, saved };
  }

  loadSubmission(labId: string): Submission | undefined {
    const r = this.load(keys.submission(labId), (v): v is Submission => isObject(v) && v['schema'] === 'iovlab.submission/1' && typeof v['code'] === 'string');
    return r.state === 'ok' ? r.value : undefined;
  }

  /** Merge one lab's entry into the navigation's progress summary, keeping every other field. */
  updateProgressLab(labId: string, entry: ProgressLab): boolean {
    const r = this.load(PROGRESS_KEY, isObject);
    if (r.state === 'corrupt' && r.backupKey === null) return false;
    const progress: Record<string, unknown> = r.state === 'ok' ? r.value : {};
    const labs = isObject(progress['labs']) ? progress['labs'] : {};
    const old = isObject(labs[labId]) ? labs[labId] : {};
    labs[labId] = { ...old, ...entry };
    progress['labs'] = labs;
    if (!isObject(progress['lessonsVisited'])) progress['lessonsVisited'] = {};
    return this.write(PROGRESS_KEY, JSON.stringify(progress));
  }
}
