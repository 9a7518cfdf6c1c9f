/**
 * "Export progress" / "Import progress": every `iovlab:` entry of this browser in one JSON file.
 *
 *   { schema: 'iovlab.progress/2', engineVersion, storageSchema, exportedAt,
 *     entries: [{ key, value, backup }] }      value = the stored text, exactly as stored
 *
 * Version 1 is the About page's older export (`iovlab.export/1`, {keys: {key: text}}, nav.js),
 * still accepted. An import is checked completely before anything is written: a file that is not
 * an export, is cut short, or holds a damaged record is refused with one specific sentence and
 * changes nothing. Entries from older storage schemas are migrated (migrations.ts) first.
 *
 * Import policy (said on the page): the current data is first saved whole as one backup
 * (`…backup:before-import@time`, downloadable and itself importable), then the file is merged:
 * newer code wins, the higher best score wins (with its submission), visited lessons add up;
 * entries only in this browser stay.
 */
import { ENGINE_VERSION } from '../../lab-engine/version.ts';
import { CURRENT_SCHEMA, mapKV, migrate, storedSchema } from './migrations.ts';
import { BACKUP_PREFIX, META_KEY, PREFIX, PROGRESS_KEY, describeKey, isBest, isHistory, isObject, isProgressLab, kindOf, type BestScore } from './records.ts';
import type { Store } from './storage.ts';

export const EXPORT_SCHEMA = 'iovlab.progress/2';
const LEGACY_EXPORT_SCHEMA = 'iovlab.export/1';
/** localStorage holds about 5 MB per origin; a bigger file cannot be ours. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;

export interface ExportEntry {
  key: string;
  value: string;
  backup: boolean;
}

export interface ProgressExport {
  schema: typeof EXPORT_SCHEMA;
  engineVersion: string;
  storageSchema: number;
  exportedAt: string;
  entries: ExportEntry[];
}

export function buildExport(store: Store, at: Date = new Date(store.now())): ProgressExport {
  const entries: ExportEntry[] = [];
  for (const key of store.listKeys()) {
    // A run marker belongs to this browser's open page: elsewhere it would report a false crash.
    if (isRunMarker(key)) continue;
    const value = store.read(key);
    if (value !== null) entries.push({ key, value, backup: key.startsWith(BACKUP_PREFIX) });
  }
  return { schema: EXPORT_SCHEMA, engineVersion: ENGINE_VERSION, storageSchema: CURRENT_SCHEMA, exportedAt: at.toISOString(), entries };
}

function isRunMarker(key: string): boolean {
  return /^iovlab:v1:lab:[^:]+:running$/.test(key);
}

export function exportFileName(at: Date): string {
  return `iov-lab-progress-${at.toISOString().slice(0, 10)}.json`;
}

export type ParsedExport =
  | { ok: true; entries: Map<string, string>; fromSchema: string; migrated: string[]; exportedAt: string }
  | { ok: false; error: string };

/** Read and check an export file completely; nothing is written. */
export function parseExport(text: string, byteLength = text.length): ParsedExport {
  if (byteLength > MAX_IMPORT_BYTES) return { ok: false, error: `the file is ${(byteLength / 1048576).toFixed(1)} MiB, far more than a browser keeps for this course (is it really a progress export?)` };
  if (text.trim() === '') return { ok: false, error: 'the file is empty' };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `the file is not valid JSON — cut short or damaged? (${(e as Error).message})` };
  }
  if (!isObject(data)) return { ok: false, error: 'not an IOV Lab progress export: the JSON is not an object' };
  const schema = data['schema'];
  const entries = new Map<string, string>();
  if (schema === EXPORT_SCHEMA) {
    if (!Array.isArray(data['entries'])) return { ok: false, error: 'not a complete progress export: "entries" (a list) is missing' };
    for (const [i, e] of (data['entries'] as unknown[]).entries()) {
      if (!isObject(e) || typeof e['key'] !== 'string' || typeof e['value'] !== 'string') return { ok: false, error: `entry ${i + 1} is damaged: it needs a "key" and a "value", both text` };
      entries.set(e['key'], e['value']);
    }
    const v = data['storageSchema'];
    if (!Number.isInteger(v) || (v as number) < 1) return { ok: false, error: '"storageSchema" (a whole number) is missing or damaged' };
    if ((v as number) > CURRENT_SCHEMA) return { ok: false, error: `the file comes from a newer version of the course (storage schema ${String(v)}; this one knows ${CURRENT_SCHEMA}): open it with the newer course` };
    // The meta key inside the file must agree with the header, or the migrations would be skipped.
    entries.set(META_KEY, JSON.stringify({ schema: v }));
  } else if (schema === LEGACY_EXPORT_SCHEMA) {
    if (!isObject(data['keys'])) return { ok: false, error: 'not a complete progress export: "keys" is missing' };
    for (const [k, v] of Object.entries(data['keys'])) {
      if (typeof v !== 'string') return { ok: false, error: `the entry “${k}” is damaged: its value is not text` };
      entries.set(k, v);
    }
  } else {
    return { ok: false, error: schema === 'iovlab.submission/2' || schema === 'iovlab.submission/1' ? 'this is a lab submission, not a progress export (submissions go to your instructor)' : `not an IOV Lab progress export (schema ${schema === undefined ? 'missing' : `“${String(schema)}”`}; expected ${EXPORT_SCHEMA})` };
  }
  for (const k of entries.keys()) if (!k.startsWith('iovlab:')) return { ok: false, error: `the entry “${k.slice(0, 60)}” is not IOV Lab data (keys start with “iovlab:”)` };
  const kv = mapKV(entries);
  const from = storedSchema(kv);
  let migrated: string[] = [];
  const m = migrate(kv, from);
  if (!m.ok) return { ok: false, error: m.error };
  migrated = m.steps;
  // Every record must be whole: a damaged one would be imported as damage.
  for (const [k, raw] of entries) {
    const kind = kindOf(k);
    if (!kind || k === META_KEY) continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      return { ok: false, error: `the file holds damaged data for ${describeKey(k)} (not valid JSON); nothing was imported` };
    }
    if (!kind.valid(v)) return { ok: false, error: `the file holds damaged data for ${describeKey(k)} (not a valid ${kind.name}); nothing was imported` };
  }
  entries.delete(META_KEY);
  for (const k of [...entries.keys()]) if (isRunMarker(k)) entries.delete(k);
  return { ok: true, entries, fromSchema: typeof schema === 'string' ? `${schema}, storage schema ${from}` : String(from), migrated, exportedAt: typeof data['exportedAt'] === 'string' ? data['exportedAt'] : '' };
}

export interface ImportReport {
  ok: boolean;
  /** The backup of what was here before (null when there was nothing to back up). */
  backupKey: string | null;
  added: string[];
  replaced: string[];
  keptOurs: string[];
  unchanged: number;
  failed: string[];
  migrated: string[];
  error?: string;
}

function parseOr(raw: string | null): unknown {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** Import a checked export into the store: back up everything first, then merge. */
export function importExport(store: Store, parsed: Extract<ParsedExport, { ok: true }>): ImportReport {
  const report: ImportReport = { ok: true, backupKey: null, added: [], replaced: [], keptOurs: [], unchanged: 0, failed: [], migrated: parsed.migrated };
  const current = store.listKeys();
  if (current.some((k) => !k.startsWith(BACKUP_PREFIX) && k !== META_KEY)) {
    const snapshot = buildExport(store);
    snapshot.entries = snapshot.entries.filter((e) => !e.backup);
    const key = `${BACKUP_PREFIX}before-import@${store.now()}`;
    if (!store.write(key, JSON.stringify(snapshot))) {
      return { ...report, ok: false, error: 'there is no room in this browser to back up your current data first, so nothing was imported. Export it, then erase it, then import.' };
    }
    report.backupKey = key;
  }
  const incoming = parsed.entries;
  // Best scores first: the winner of each lab decides whose submission is kept.
  const bestWinner = new Map<string, 'ours' | 'theirs'>();
  for (const [k, raw] of incoming) {
    const m = /^iovlab:v1:lab:([^:]+):best$/.exec(k);
    if (!m) continue;
    const ours = parseOr(store.read(k));
    const theirs = parseOr(raw) as BestScore;
    bestWinner.set(m[1]!, isBest(ours) && ours.score > theirs.score ? 'ours' : 'theirs');
  }
  const put = (k: string, raw: string, verdict: 'theirs' | 'ours'): void => {
    const had = store.read(k);
    if (had === raw) return void report.unchanged++;
    const label = describeKey(k);
    if (verdict === 'ours' && had !== null) return void report.keptOurs.push(label);
    if (!store.write(k, raw)) return void report.failed.push(label);
    (had === null ? report.added : report.replaced).push(label);
  };
  for (const [k, raw] of incoming) {
    const ours = parseOr(store.read(k));
    const theirs = parseOr(raw);
    const lab = /^iovlab:v1:lab:([^:]+):(best|submission)$/.exec(k);
    if (lab) put(k, raw, bestWinner.get(lab[1]!) ?? (ours === undefined ? 'theirs' : 'ours'));
    else if (k === PROGRESS_KEY) mergeProgress(store, ours, theirs, report);
    else if (/:(code|before-reset)$/.test(k)) {
      const newer = !isObject(ours) || (isObject(theirs) && Number(theirs['savedAt']) >= Number(ours['savedAt']));
      put(k, raw, newer ? 'theirs' : 'ours');
    } else if (/:history$/.test(k)) {
      put(k, raw, isHistory(ours) && isHistory(theirs) && ours.lastAt > theirs.lastAt ? 'ours' : 'theirs');
    } else if (k.startsWith(BACKUP_PREFIX)) put(k, raw, 'theirs');
    else put(k, raw, store.read(k) === null || kindOf(k) ? 'theirs' : 'ours');
  }
  // The merged data is at the current schema (the file was migrated in parseExport).
  if (store.read(META_KEY) === null && !store.write(META_KEY, JSON.stringify({ schema: CURRENT_SCHEMA }))) report.failed.push('storage version');
  if (report.failed.length) report.ok = false;
  return report;
}

/** Labs: the higher best score; lessons visited: the union; other fields: ours first. */
function mergeProgress(store: Store, ours: unknown, theirs: unknown, report: ImportReport): void {
  const a = isObject(ours) ? ours : {};
  const b = isObject(theirs) ? theirs : {};
  const labsA = isObject(a['labs']) ? a['labs'] : {};
  const labsB = isObject(b['labs']) ? b['labs'] : {};
  const labs: Record<string, unknown> = { ...labsA };
  for (const [id, e] of Object.entries(labsB)) {
    const mine = labsA[id];
    if (!isProgressLab(mine) || (isProgressLab(e) && e.bestScore > mine.bestScore)) labs[id] = e;
  }
  const visited = { ...(isObject(b['lessonsVisited']) ? b['lessonsVisited'] : {}), ...(isObject(a['lessonsVisited']) ? a['lessonsVisited'] : {}) };
  const merged = { ...b, ...a, labs, lessonsVisited: visited };
  const raw = JSON.stringify(merged);
  if (raw === JSON.stringify(ours)) return void report.unchanged++;
  if (store.write(PROGRESS_KEY, raw)) (ours === undefined ? report.added : report.replaced).push('progress summary (merged)');
  else report.failed.push('progress summary');
}

/** The report in sentences for the learner. */
export function describeImport(r: ImportReport, fileName: string): string[] {
  if (r.error) return [`Nothing was imported from “${fileName}”: ${r.error}`];
  const lines: string[] = [];
  const n = r.added.length + r.replaced.length;
  lines.push(`Imported “${fileName}”: ${n} item${n === 1 ? '' : 's'} written (${r.added.length} new, ${r.replaced.length} replaced), ${r.unchanged} already the same.`);
  if (r.backupKey) lines.push('Your data as it was before the import is kept as a backup below; download it (or import it) to go back.');
  if (r.keptOurs.length) lines.push(`Kept what this browser had (newer or higher): ${r.keptOurs.join('; ')}.`);
  if (r.replaced.length) lines.push(`Replaced: ${r.replaced.join('; ')}.`);
  if (r.migrated.length) lines.push(`Upgraded from an older version: ${r.migrated.join('; ')}.`);
  if (r.failed.length) lines.push(`Could not be stored (storage full?): ${r.failed.join('; ')}.`);
  return lines;
}

export { PREFIX };
