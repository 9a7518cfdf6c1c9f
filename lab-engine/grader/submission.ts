/**
 * The submission file a learner downloads and an instructor grades (DESIGN.md §4, §8).
 * One pure module used by the browser (to build it) and by the CLI / autograder (to read it),
 * so both agree on every field and every error message.
 *
 * A submission is a record of what was handed in, not a proof: the score is always recomputed.
 * `contentHash` only tells whether the file was edited after the browser wrote it.
 */
import type { GradeResult } from '../labs/types.ts';
import { hashText } from '../sim/hash.ts';
import { ENGINE_VERSION } from '../version.ts';

export const SUBMISSION_SCHEMA = 'iovlab.submission/2';
/** Larger files are refused before parsing: a lab's code is a few KiB, results a few tens. */
export const MAX_SUBMISSION_BYTES = 2 * 1024 * 1024;

export interface Student {
  name: string;
  id: string;
}

export interface Submission {
  schema: typeof SUBMISSION_SCHEMA;
  lab: string;
  labVersion: string;
  engineVersion: string;
  student: Student;
  code: string;
  codeHash: string;
  /** 'grade' when made with Grade (its seeds are replayed); 'check' for a practice run. */
  mode: 'grade' | 'check';
  seeds: number[];
  /** What the browser computed and showed; compared with the regrade to flag tampering. */
  results: GradeResult | null;
  /** ISO time the browser wrote the file (informational). */
  createdAt: string;
  /** hashText of the canonical JSON of every other field. */
  contentHash: string;
}

export type SubmissionDraft = Omit<Submission, 'schema' | 'engineVersion' | 'codeHash' | 'contentHash'>;

function canonical(s: Omit<Submission, 'contentHash'>): string {
  const { schema, lab, labVersion, engineVersion, student, code, codeHash, mode, seeds, results, createdAt } = s;
  return JSON.stringify({ schema, lab, labVersion, engineVersion, student: { name: student.name, id: student.id }, code, codeHash, mode, seeds, results, createdAt });
}

export function buildSubmission(d: SubmissionDraft): Submission {
  const base: Omit<Submission, 'contentHash'> = {
    schema: SUBMISSION_SCHEMA,
    lab: d.lab,
    labVersion: d.labVersion,
    engineVersion: ENGINE_VERSION,
    student: { name: d.student.name.trim(), id: d.student.id.trim() },
    code: d.code,
    codeHash: hashText(d.code),
    mode: d.mode,
    seeds: [...d.seeds],
    results: d.results,
    createdAt: d.createdAt,
  };
  return { ...base, contentHash: hashText(canonical(base)) };
}

export type ParsedSubmission =
  | { ok: true; submission: Submission; warnings: string[] }
  | { ok: false; error: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** "1.2.10" > "1.2.9"; non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/**
 * Read a submission file's text. Accepts schema 2, schema 1 (the browser's format before
 * submissions carried a student and versions) and a bare {lab, code}; older ones are migrated
 * and say so in `warnings`. Every refusal is one specific sentence.
 */
/**
 * The size rule, checked before anything is read or parsed: undefined when the file may be read,
 * else the sentence that refuses it ('submission' = a .json, 'solution' = a bare .ts).
 */
export function tooLarge(byteLength: number, what: 'submission' | 'solution' = 'submission'): string | undefined {
  if (byteLength <= MAX_SUBMISSION_BYTES) return undefined;
  const size = `the file is ${(byteLength / 1048576).toFixed(1)} MiB`;
  const max = `${MAX_SUBMISSION_BYTES / 1048576} MiB`;
  return what === 'submission' ? `${size}; a submission is at most ${max} (is it really a submission?)` : `${size}; a lab solution is at most ${max}`;
}

export function parseSubmission(text: string, byteLength = text.length): ParsedSubmission {
  const big = tooLarge(byteLength);
  if (big) return { ok: false, error: big };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${(e as Error).message})` };
  }
  if (!isObject(data)) return { ok: false, error: 'not a submission: the JSON is not an object' };
  if (typeof data['lab'] !== 'string' || data['lab'] === '') return { ok: false, error: 'not a submission: "lab" (the lab id, a string) is missing' };
  if (typeof data['code'] !== 'string') return { ok: false, error: 'not a submission: "code" (the learner\'s source, a string) is missing' };
  const seeds = data['seeds'] ?? [];
  if (!Array.isArray(seeds) || !seeds.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff)) {
    return { ok: false, error: '"seeds" must be an array of integers in [0, 2^32)' };
  }
  const warnings: string[] = [];
  const schema = data['schema'];
  const engineVersion = typeof data['engineVersion'] === 'string' ? data['engineVersion'] : ENGINE_VERSION;
  if (compareVersions(engineVersion, ENGINE_VERSION) > 0) {
    return { ok: false, error: `made with engine ${engineVersion}, newer than this grader's ${ENGINE_VERSION}: update the grader (git pull) before grading it` };
  }
  if (schema !== SUBMISSION_SCHEMA) {
    if (schema !== undefined && schema !== 'iovlab.submission/1') return { ok: false, error: `unknown submission schema '${String(schema)}' (this grader reads ${SUBMISSION_SCHEMA} and iovlab.submission/1)` };
    warnings.push(`an older submission (${schema ?? 'no schema'}): no student or versions recorded`);
  }
  const st = isObject(data['student']) ? data['student'] : {};
  const results = isObject(data['results']) && Array.isArray(data['results']['tests']) ? (data['results'] as unknown as GradeResult) : null;
  const sub: Submission = {
    schema: SUBMISSION_SCHEMA,
    lab: data['lab'],
    labVersion: typeof data['labVersion'] === 'string' ? data['labVersion'] : results?.iovlab?.labVersion ?? '',
    engineVersion,
    student: { name: typeof st['name'] === 'string' ? st['name'] : '', id: typeof st['id'] === 'string' ? st['id'] : '' },
    code: data['code'],
    codeHash: hashText(data['code']),
    mode: data['mode'] === 'check' ? 'check' : seeds.length > 0 ? 'grade' : 'check',
    seeds: seeds as number[],
    results,
    createdAt: typeof data['createdAt'] === 'string' ? data['createdAt'] : '',
    contentHash: '',
  };
  const { contentHash: _, ...rest } = sub;
  sub.contentHash = hashText(canonical(rest));
  if (schema === SUBMISSION_SCHEMA && data['contentHash'] !== sub.contentHash) warnings.push('the file was edited after the browser wrote it (content hash differs)');
  if (typeof data['codeHash'] === 'string' && data['codeHash'] !== sub.codeHash) warnings.push('the code was edited after the browser wrote it (code hash differs)');
  return { ok: true, submission: sub, warnings };
}

/**
 * Tampering (DESIGN.md §8): the stored per-check scores or statuses differ from the recomputed
 * ones. Times are not compared. No stored results = nothing to compare = not tampered.
 */
export function resultsDiffer(stored: GradeResult | null | undefined, fresh: GradeResult): string[] {
  if (!stored || !Array.isArray(stored.tests)) return [];
  const diffs: string[] = [];
  if (stored.score !== fresh.score) diffs.push(`score ${String(stored.score)} stored, ${fresh.score} recomputed`);
  for (const t of fresh.tests) {
    const s = stored.tests.find((x) => x && x.number === t.number);
    if (!s) diffs.push(`check ${t.number} missing from the stored results`);
    else if (s.score !== t.score || s.status !== t.status) diffs.push(`check ${t.number}: ${String(s.status)} ${String(s.score)} stored, ${t.status} ${t.score} recomputed`);
  }
  return diffs;
}
