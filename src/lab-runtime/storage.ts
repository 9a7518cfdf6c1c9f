/**
 * Saved progress in localStorage (DESIGN.md §5). Every page opened from file:// shares one
 * storage bucket (OFFLINE.md), so every key starts with `iovlab:` (layout in records.ts).
 * Rules:
 * - code is saved per lab and per cell with the version it was written against, so a changed
 *   lab is reported instead of silently showing stale code;
 * - the storage schema is versioned (`iovlab:meta`); migrations.ts upgrades older data once;
 * - a stored blob that cannot be read never crashes the page and is never silently wiped: its
 *   raw text is copied to a backup key first, whatever can be salvaged (salvage.ts) is kept, and
 *   the caller tells the learner; a blob that cannot even be backed up is frozen (never written);
 * - the progress summary nav.js reads (`iovlab:v1:progress`) is merged, never overwritten.
 * Pure logic over a Storage-like object, so tests run it against a Map.
 */
import { SUBMISSION_SCHEMA, parseSubmission, type Submission } from '../../lab-engine/grader/submission.ts';
import { CURRENT_SCHEMA, migrate, storedSchema, type KV, type MigrationReport } from './migrations.ts';
import {
  BACKUP_PREFIX,
  IDENTITY_KEY,
  META_KEY,
  PREFIX,
  PROGRESS_KEY,
  describeKey,
  isObject,
  keys,
  kindOf,
  kinds,
  type BestScore,
  type Identity,
  type ProgressLab,
  type RecordKind,
  type RunHistory,
  type SavedCode,
  type Scope,
} from './records.ts';
import { salvageJson } from './salvage.ts';

export { BACKUP_PREFIX, IDENTITY_KEY, META_KEY, PREFIX, PROGRESS_KEY, describeKey, keys };
export type { BestScore, Identity, ProgressLab, RunHistory, SavedCode, Scope, Submission };

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  readonly length?: number;
  key?(index: number): string | null;
}

export type Loaded<T> =
  | { state: 'empty' }
  | { state: 'ok'; value: T }
  /** The blob was damaged; `value` is what could be rebuilt, the raw text is under `backupKey`. */
  | { state: 'recovered'; value: T; backupKey: string; partial: boolean; lost: string }
  /** Nothing could be rebuilt; `backupKey` holds the raw text (null if even that failed). */
  | { state: 'corrupt'; raw: string; backupKey: string | null };

/** One damaged blob found at start-up (or on load) and what became of it. */
export interface RecoveryNote {
  key: string;
  what: string;
  backupKey: string | null;
  outcome: 'repaired' | 'partly-repaired' | 'backed-up' | 'frozen';
  lost: string;
}

export interface StartupReport {
  migration: MigrationReport;
  recovered: RecoveryNote[];
}

export interface BackupEntry {
  key: string;
  /** What it is a copy of (e.g. "lab emulated-nic: code", "everything before an import"). */
  what: string;
  at: number;
  bytes: number;
}

export class Store {
  readonly storage: StorageLike | null;
  readonly now: () => number;
  /** Keys whose stored text was damaged and could not be backed up: never overwritten. */
  private readonly frozen = new Set<string>();
  private started: StartupReport | undefined;
  /** The stored data comes from a newer course (storage schema above ours). */
  private future = false;

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

  read(key: string): string | null {
    try {
      return this.storage?.getItem(key) ?? null;
    } catch {
      return null;
    }
  }

  write(key: string, value: string): boolean {
    if (!this.storage || this.frozen.has(key)) return false;
    try {
      this.storage.setItem(key, value);
      return true;
    } catch {
      return false;
    }
  }

  remove(key: string): boolean {
    if (!this.storage || this.frozen.has(key)) return false;
    try {
      this.storage.removeItem(key);
      return true;
    } catch {
      return false;
    }
  }

  /** Every `iovlab:` key, sorted (empty when the storage cannot be listed). */
  listKeys(): string[] {
    const out: string[] = [];
    try {
      const s = this.storage;
      if (!s || typeof s.key !== 'function' || typeof s.length !== 'number') return out;
      for (let i = 0; i < s.length; i++) {
        const k = s.key(i);
        if (k !== null && k.startsWith('iovlab:')) out.push(k);
      }
    } catch {
      /* storage unavailable */
    }
    return out.sort();
  }

  kv(): KV {
    return {
      get: (k) => this.read(k),
      set: (k, v) => {
        if (!this.write(k, v)) throw new Error(`could not write ${k} (storage full?)`);
      },
      remove: (k) => void this.remove(k),
      list: () => this.listKeys(),
    };
  }

  /**
   * Once per page: migrate older data, then check every known record and recover damaged ones.
   * Never throws; a migration that fails (storage full, newer data) is reported and changes
   * nothing more.
   */
  startup(): StartupReport {
    if (this.started) return this.started;
    let migration: MigrationReport;
    if (!this.available) migration = { ok: true, from: 0, to: 0, steps: [] };
    else if (storedSchema(this.kv()) > CURRENT_SCHEMA) {
      // Written by a newer course: records this page does not know are not damage. Touch nothing.
      this.future = true;
      migration = migrate(this.kv());
    } else {
      // Recover first, so migrations read valid records only.
      this.recoverAll();
      try {
        migration = migrate(this.kv());
      } catch (e) {
        migration = { ok: false, from: 1, error: `upgrading your saved data failed (${(e as Error).message}); it was left as it was and will be tried again` };
      }
    }
    this.started = { migration, recovered: this.notes };
    return this.started;
  }

  private notes: RecoveryNote[] = [];

  /** Check every known record; damaged ones are backed up and repaired as far as possible. */
  recoverAll(): RecoveryNote[] {
    for (const key of this.listKeys()) {
      const kind = kindOf(key);
      if (kind) this.load(key, kind);
    }
    return this.notes;
  }

  /** Recovery notes gathered so far (start-up and later loads). */
  get recovered(): readonly RecoveryNote[] {
    return this.notes;
  }

  /**
   * Read and validate one JSON blob. A damaged one is backed up, then replaced by what could be
   * rebuilt (or removed when nothing could), so it is reported once; if the backup cannot be
   * written the key is frozen and left exactly as it is.
   */
  load<T>(key: string, kind: RecordKind<T>): Loaded<T> {
    const raw = this.read(key);
    if (raw === null) return { state: 'empty' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined && kind.valid(parsed)) return { state: 'ok', value: parsed };
    if (this.future) {
      // Not ours to judge (a newer course wrote it): never backed up, rewritten or removed.
      this.frozen.add(key);
      return { state: 'corrupt', raw, backupKey: null };
    }
    const what = describeKey(key);
    const backupKey = this.backup(key, raw);
    if (backupKey === null) {
      this.note({ key, what, backupKey, outcome: 'frozen', lost: 'nothing yet: the damaged data is left untouched, but there was no room to keep a copy' });
      return { state: 'corrupt', raw, backupKey };
    }
    let repaired: ReturnType<RecordKind<T>['repair']>;
    try {
      repaired = kind.repair(salvageJson(raw));
    } catch {
      repaired = undefined;
    }
    if (repaired && kind.valid(repaired.value) && this.write(key, JSON.stringify(repaired.value))) {
      this.note({ key, what, backupKey, outcome: repaired.partial ? 'partly-repaired' : 'repaired', lost: repaired.lost });
      return { state: 'recovered', value: repaired.value, backupKey, partial: repaired.partial, lost: repaired.lost };
    }
    this.remove(key);
    this.note({ key, what, backupKey, outcome: 'backed-up', lost: 'it could not be rebuilt; the raw text is in the backup' });
    return { state: 'corrupt', raw, backupKey };
  }

  private note(n: RecoveryNote): void {
    if (!this.notes.some((x) => x.key === n.key && x.backupKey === n.backupKey)) this.notes.push(n);
  }

  backup(key: string, raw: string): string | null {
    let backupKey = keys.backup(key, this.now());
    for (let i = 1; this.read(backupKey) !== null && this.read(backupKey) !== raw; i++) backupKey = `${keys.backup(key, this.now())}.${i}`;
    if (this.write(backupKey, raw)) return backupKey;
    this.frozen.add(key);
    return null;
  }

  /** Backups kept in this browser, newest first. */
  listBackups(): BackupEntry[] {
    const out: BackupEntry[] = [];
    for (const key of this.listKeys()) {
      if (!key.startsWith(BACKUP_PREFIX)) continue;
      const m = /^(.*)@(\d+)(?:\.\d+)?$/.exec(key.slice(BACKUP_PREFIX.length));
      const of = m ? m[1]! : key.slice(BACKUP_PREFIX.length);
      const what = of === 'before-import' ? 'everything, as it was before an import' : of === 'before-erase' ? 'everything, as it was before “Erase”' : `damaged ${describeKey(of === 'meta' ? META_KEY : PREFIX + of)}`;
      out.push({ key, what, at: m ? Number(m[2]) : 0, bytes: (this.read(key) ?? '').length });
    }
    return out.sort((a, b) => b.at - a.at);
  }

  // ── code ───────────────────────────────────────────────────────────────────────────────────

  loadCode(scope: Scope, id: string): Loaded<SavedCode> {
    return this.load(keys.code(scope, id), kinds.code);
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
    const r = this.load(keys.beforeReset(scope, id), kinds.code);
    return r.state === 'ok' || r.state === 'recovered' ? r.value : undefined;
  }

  // ── scores, submissions, history ───────────────────────────────────────────────────────────

  loadBest(labId: string): Loaded<BestScore> {
    return this.load(keys.best(labId), kinds.best);
  }

  /**
   * Record a Grade. The best score is kept (a later equal score replaces it, so the recorded
   * seeds and submission match the newest code that earned it). Returns whether it is the best.
   */
  recordGrade(labId: string, best: BestScore, submission: Submission): { isBest: boolean; saved: boolean } {
    const prev = this.loadBest(labId);
    const prevBest = prev.state === 'ok' || prev.state === 'recovered' ? prev.value : undefined;
    const isBest = !prevBest || best.score >= prevBest.score;
    let saved = true;
    if (isBest) {
      saved = this.write(keys.best(labId), JSON.stringify(best)) && this.write(keys.submission(labId), JSON.stringify(submission));
    }
    const top = isBest || !prevBest ? best : prevBest;
    saved = this.updateProgressLab(labId, { bestScore: top.score, maxScore: top.maxScore, completed: top.score >= top.maxScore }) && saved;
    return { isBest, saved };
  }

  /** The submission of the best Grade (schema 2; older ones were migrated at start-up). */
  loadSubmission(labId: string): Submission | undefined {
    const r = this.load(keys.submission(labId), kinds.submission);
    if (r.state !== 'ok') return undefined;
    if (r.value.schema === SUBMISSION_SCHEMA) return r.value;
    // A schema-1 record that arrived after the migration ran (e.g. the About page's raw import):
    // read it the way the CLI does.
    const p = parseSubmission(JSON.stringify(r.value));
    return p.ok ? p.submission : undefined;
  }

  loadHistory(labId: string): RunHistory | undefined {
    const r = this.load(keys.history(labId), kinds.history);
    return r.state === 'ok' || r.state === 'recovered' ? r.value : undefined;
  }

  /** Count a Run, Check or Grade (with its score) in the lab's run history. */
  recordRun(labId: string, mode: 'run' | 'check' | 'grade', score?: { score: number; maxScore: number }): boolean {
    const h: RunHistory = this.loadHistory(labId) ?? { schema: 'iovlab.history/1', runs: 0, checks: 0, grades: 0, lastScore: null, lastMaxScore: null, lastMode: null, lastAt: 0 };
    if (mode === 'run') h.runs++;
    else if (mode === 'check') h.checks++;
    else h.grades++;
    if (score) {
      h.lastScore = score.score;
      h.lastMaxScore = score.maxScore;
    }
    h.lastMode = mode;
    h.lastAt = this.now();
    return this.write(keys.history(labId), JSON.stringify(h));
  }

  /** Marks a seed as running (null clears it): a page killed mid-run leaves it behind. */
  markRunning(labId: string, run: { mode: 'run' | 'check' | 'grade'; seed: number; at: number } | null): void {
    if (run) this.write(keys.running(labId), JSON.stringify(run));
    else this.remove(keys.running(labId));
  }

  /** The run a killed page left behind (removed as it is read). */
  takeRunning(labId: string): { mode: string; seed: number; at: number } | undefined {
    const raw = this.read(keys.running(labId));
    if (raw === null) return undefined;
    this.remove(keys.running(labId));
    try {
      const v = JSON.parse(raw) as unknown;
      if (isObject(v) && typeof v['mode'] === 'string' && typeof v['seed'] === 'number') return { mode: v['mode'], seed: v['seed'], at: Number(v['at']) || 0 };
    } catch {
      /* a half-written marker still means the page died mid-run */
    }
    return { mode: 'run', seed: NaN, at: 0 };
  }

  // ── identity ───────────────────────────────────────────────────────────────────────────────

  loadIdentity(): Identity | undefined {
    const r = this.load(IDENTITY_KEY, kinds.identity);
    return r.state === 'ok' || r.state === 'recovered' ? r.value : undefined;
  }

  saveIdentity(name: string, id: string): boolean {
    const v: Identity = { schema: 'iovlab.identity/1', name: name.trim(), id: id.trim() };
    return this.write(IDENTITY_KEY, JSON.stringify(v));
  }

  // ── progress summary ───────────────────────────────────────────────────────────────────────

  loadProgress(): Record<string, unknown> {
    const r = this.load(PROGRESS_KEY, kinds.progress);
    return r.state === 'ok' || r.state === 'recovered' ? r.value : {};
  }

  /** Merge one lab's entry into the navigation's progress summary, keeping every other field. */
  updateProgressLab(labId: string, entry: ProgressLab): boolean {
    const r = this.load(PROGRESS_KEY, kinds.progress);
    if (r.state === 'corrupt' && r.backupKey === null) return false;
    const progress: Record<string, unknown> = r.state === 'ok' || r.state === 'recovered' ? r.value : {};
    const labs = isObject(progress['labs']) ? progress['labs'] : {};
    const old = isObject(labs[labId]) ? labs[labId] : {};
    labs[labId] = { ...old, ...entry };
    progress['labs'] = labs;
    if (!isObject(progress['lessonsVisited'])) progress['lessonsVisited'] = {};
    return this.write(PROGRESS_KEY, JSON.stringify(progress));
  }

  /** Remove every `iovlab:` key. Returns how many were removed and how many refused. */
  eraseAll(): { removed: number; failed: number } {
    let removed = 0;
    let failed = 0;
    for (const k of this.listKeys()) {
      this.frozen.delete(k);
      if (this.remove(k)) removed++;
      else failed++;
    }
    this.notes = [];
    return { removed, failed };
  }
}
