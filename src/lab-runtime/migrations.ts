/**
 * The storage schema and its migrations. `iovlab:meta` holds `{schema: N}`; at start-up every
 * migration from the stored schema to CURRENT_SCHEMA runs once, in order, and the new number is
 * written last (a migration cut short by a closed tab runs again next time: each is idempotent).
 *
 * Schema 1 (no meta key): the first lab UI — code, best score, a submission without student or
 * versions (iovlab.submission/1), the progress summary.
 * Schema 2: submissions are lab-engine's iovlab.submission/2 (student, lab and engine versions,
 * content hash); each graded lab has a run history; a course-wide identity.
 *
 * Migrations work on a plain key/value view (KV) so the same code upgrades localStorage at
 * start-up and the entries of an imported progress file before they are merged (transfer.ts).
 */
import { buildSubmission, parseSubmission } from '../../lab-engine/grader/submission.ts';
import { META_KEY, PREFIX, isBest, isHistory, isObject, isSubmissionV1, keys, type RunHistory } from './records.ts';

export const CURRENT_SCHEMA = 2;

export interface KV {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
  /** Every key (any prefix). */
  list(): string[];
}

export interface Migration {
  from: number;
  to: number;
  what: string;
  run(kv: KV): string[];
}

function parse(raw: string | null): unknown {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Lab ids that have any record (`iovlab:v1:lab:<id>:…`). */
function labIds(kv: KV): string[] {
  const ids = new Set<string>();
  for (const k of kv.list()) {
    const m = /^iovlab:v1:lab:([^:]+):/.exec(k);
    if (m) ids.add(m[1]!);
  }
  return [...ids].sort();
}

const v1to2: Migration = {
  from: 1,
  to: 2,
  what: 'submissions gain a student, versions and a content hash; each graded lab gets a run history',
  run(kv) {
    const done: string[] = [];
    for (const lab of labIds(kv)) {
      const best = parse(kv.get(keys.best(lab)));
      const subKey = keys.submission(lab);
      const sub = parse(kv.get(subKey));
      if (isSubmissionV1(sub)) {
        // lab-engine's reader migrates schema 1 (the CLI reads the same way); the student is
        // filled when the learner downloads it.
        const p = parseSubmission(JSON.stringify(sub));
        if (p.ok) {
          const at = isBest(best) ? best.at : 0;
          const s = p.submission;
          const rebuilt = buildSubmission({ lab: s.lab, labVersion: s.labVersion || (isBest(best) ? best.labVersion : ''), student: { name: '', id: '' }, code: s.code, mode: s.mode, seeds: s.seeds, results: s.results, createdAt: new Date(at).toISOString() });
          kv.set(subKey, JSON.stringify(rebuilt));
          done.push(`${lab}: submission upgraded to ${rebuilt.schema}`);
        }
      }
      const histKey = keys.history(lab);
      if (isBest(best) && !isHistory(parse(kv.get(histKey)))) {
        // Schema 1 counted nothing; the best Grade is the one Grade we know of.
        const h: RunHistory = { schema: 'iovlab.history/1', runs: 0, checks: 0, grades: 1, lastScore: best.score, lastMaxScore: best.maxScore, lastMode: 'grade', lastAt: best.at };
        kv.set(histKey, JSON.stringify(h));
        done.push(`${lab}: run history started from the best score`);
      }
    }
    return done;
  },
};

/** Every migration, oldest first; each `to` is the next one's `from`. */
export const MIGRATIONS: readonly Migration[] = [v1to2];

/** The schema the stored data is at: meta if present, 1 if there is v1 data, else current. */
export function storedSchema(kv: KV): number {
  const meta = parse(kv.get(META_KEY));
  if (isObject(meta) && Number.isInteger(meta['schema']) && (meta['schema'] as number) >= 1) return meta['schema'] as number;
  const hasData = kv.list().some((k) => k.startsWith(PREFIX) && k !== `${PREFIX}theme` && !k.startsWith(`${PREFIX}backup:`));
  return hasData ? 1 : CURRENT_SCHEMA;
}

export type MigrationReport =
  | { ok: true; from: number; to: number; steps: string[] }
  /** Data from a newer version of the course: left untouched. */
  | { ok: false; from: number; error: string };

/** Run the migrations from the stored schema to CURRENT_SCHEMA; writes the meta key last. */
export function migrate(kv: KV, from = storedSchema(kv)): MigrationReport {
  if (from > CURRENT_SCHEMA) {
    return { ok: false, from, error: `this data was written by a newer version of the course (storage schema ${from}; this page knows ${CURRENT_SCHEMA}): it is left untouched` };
  }
  const steps: string[] = [];
  let at = from;
  for (const m of MIGRATIONS) {
    if (m.from !== at) continue;
    steps.push(...m.run(kv));
    at = m.to;
  }
  if (at !== CURRENT_SCHEMA) return { ok: false, from, error: `no migration from storage schema ${at} to ${CURRENT_SCHEMA}` };
  kv.set(META_KEY, JSON.stringify({ schema: CURRENT_SCHEMA }));
  return { ok: true, from, to: at, steps };
}

/** A KV over a Map (imported files, tests). */
export function mapKV(map: Map<string, string>): KV {
  return { get: (k) => map.get(k) ?? null, set: (k, v) => void map.set(k, v), remove: (k) => void map.delete(k), list: () => [...map.keys()] };
}
