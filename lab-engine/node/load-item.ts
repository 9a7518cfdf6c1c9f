/**
 * One item to grade, read from disk: a submission .json (read with parseSubmission, the shared
 * contract of grader/submission.ts) or a bare .ts/.js solution. Every refusal is one sentence,
 * returned (not thrown) so a folder batch can turn it into an error row and go on.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { getLabInfo, listLabs, parseSubmission, tooLarge, type GradeResult, type Student } from '../index.ts';
import { saltedSeeds } from './hidden-seeds.ts';

export interface GradeJob {
  /** The file's name, as the CSV and the result file name show it. */
  item: string;
  path: string;
  labId: string;
  code: string;
  student: Student;
  /** What identifies the learner: the student id, else the file name without extension. */
  studentKey: string;
  /** How the CSV names the learner: the id, else the name, else the file name. */
  studentLabel: string;
  /** The mode the replayed seeds are graded in: a submission's own mode; 'check' for a bare .ts. */
  mode: 'check' | 'grade';
  /** Seeds replayed as recorded (a submission's seeds; the public seeds for a .ts or a seedless one). */
  replaySeeds: number[];
  /** Seeds from the instructor's salt (empty without a salt). */
  hiddenSeeds: number[];
  stored: GradeResult | null;
  warnings: string[];
}

export type LoadedItem =
  | { ok: true; job: GradeJob }
  | { ok: false; item: string; path: string; error: string; labId: string; student: Student; studentLabel: string };

export interface LoadOptions {
  /** --lab: every item must be for this lab. */
  lab?: string | undefined;
  /** The instructor's secret salt (--seed-salt / IOVLAB_SEED_SALT). */
  salt?: string | undefined;
  /** Overrides the learner key used for hidden seeds (the autograder's Gradescope student id). */
  studentKey?: string | undefined;
}

export const knownLabs = (): string => listLabs().map((l) => l.id).join(', ');

export function loadItem(path: string, o: LoadOptions = {}): LoadedItem {
  const item = basename(path);
  const ext = extname(path).toLowerCase();
  const fileKey = basename(path, extname(path));
  const noStudent: Student = { name: '', id: '' };
  const fail = (error: string, labId = '', student = noStudent): LoadedItem => ({ ok: false, item, path, error, labId, student, studentLabel: student.id || student.name || fileKey });

  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return fail('no such file');
  }
  // The size is checked before reading: a 50 MB file is refused without being read or parsed.
  const big = tooLarge(size, ext === '.json' ? 'submission' : 'solution');
  if (big) return fail(big);
  if (ext === '.json') {
    const bytes = readFileSync(path);
    // A UTF-8 byte-order mark (added by some editors on save) is not part of the JSON.
    const parsed = parseSubmission(bytes.toString('utf8').replace(/^\uFEFF/, ''), bytes.byteLength);
    if (!parsed.ok) return fail(parsed.error);
    const s = parsed.submission;
    const label = s.student.id || s.student.name || fileKey;
    const info = getLabInfo(s.lab);
    if (!info) return fail(`unknown lab '${s.lab}' (known: ${knownLabs()})`, s.lab, s.student);
    if (o.lab && o.lab !== s.lab) return fail(`the submission is for lab '${s.lab}', not '${o.lab}'`, s.lab, s.student);
    const warnings = [...parsed.warnings];
    if (s.labVersion && s.labVersion !== info.version) warnings.push(`made with lab version ${s.labVersion}; graded with ${info.version} (the lab changed since)`);
    if (s.mode === 'check') warnings.push('made with Check (practice), not Grade');
    const replaySeeds = s.seeds.length > 0 ? s.seeds : info.publicSeeds;
    if (s.results && Array.isArray(s.results.iovlab?.seeds) && s.results.iovlab.seeds.join(',') !== replaySeeds.join(',')) {
      warnings.push(`the stored results are for seeds ${s.results.iovlab.seeds.join(' ')}, the submission records ${replaySeeds.join(' ')}`);
    }
    const studentKey = o.studentKey || s.student.id || fileKey;
    return {
      ok: true,
      job: {
        item, path, labId: s.lab, code: s.code, student: s.student, studentKey, studentLabel: label, mode: s.mode, replaySeeds,
        hiddenSeeds: o.salt ? saltedSeeds(o.salt, s.lab, studentKey, info.freshSeeds, [...info.publicSeeds, ...replaySeeds]) : [],
        stored: s.results, warnings,
      },
    };
  }
  if (ext === '.ts' || ext === '.js') {
    if (!o.lab) return fail(`say which lab it is for with --lab <id> (known: ${knownLabs()})`);
    const info = getLabInfo(o.lab);
    if (!info) return fail(`unknown lab '${o.lab}' (known: ${knownLabs()})`);
    const studentKey = o.studentKey || fileKey;
    return {
      ok: true,
      job: {
        item, path, labId: o.lab, code: readFileSync(path, 'utf8'), student: noStudent, studentKey, studentLabel: fileKey, mode: 'check',
        replaySeeds: info.publicSeeds,
        hiddenSeeds: o.salt ? saltedSeeds(o.salt, o.lab, studentKey, info.freshSeeds, info.publicSeeds) : [],
        stored: null, warnings: [],
      },
    };
  }
  return fail('not a submission (.json or .ts)');
}
