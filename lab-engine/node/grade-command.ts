/**
 * `grade` (DESIGN.md §8): one file (a .ts on the public seeds, a submission on its recorded
 * seeds) or a folder of them (→ grades.csv). `--seed-salt` / IOVLAB_SEED_SALT adds hidden seeds.
 * Exit 0 whenever grading ran, whatever the score; exit 2 on bad usage or bad input.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { formatGradeText, getLabInfo } from '../index.ts';
import { intOpt, parseArgs, UsageError } from './args.ts';
import { gradeFolder } from './batch.ts';
import { gradeJob, resultFile } from './grade-item.ts';
import { knownLabs, loadItem } from './load-item.ts';
import { defaultJobs } from './pool.ts';

export async function grade(argv: string[]): Promise<number> {
  const { opts, rest } = parseArgs(argv, { lab: 'value', json: 'value', 'seed-salt': 'value', out: 'value', jobs: 'value' });
  if (rest.length !== 1) throw new UsageError(rest.length === 0 ? 'grade needs a file or folder to grade' : `grade takes one path, got ${rest.length}`);
  const target = resolve(rest[0]!);
  const lab = opts['lab'] as string | undefined;
  if (lab && !getLabInfo(lab)) throw new UsageError(`unknown lab '${lab}' (known: ${knownLabs()})`);
  const salt = (opts['seed-salt'] as string | undefined) ?? (process.env['IOVLAB_SEED_SALT'] || undefined);
  if (salt !== undefined && salt.length === 0) throw new UsageError('--seed-salt needs a non-empty secret');
  const jobs = intOpt(opts, 'jobs') ?? defaultJobs();
  if (jobs < 1) throw new UsageError(`--jobs must be at least 1, got ${jobs}`);
  const jsonOut = opts['json'] as string | undefined;
  if (!existsSync(target)) throw new UsageError(`${rest[0]}: no such file or folder`);

  if (statSync(target).isDirectory()) {
    if (jsonOut) throw new UsageError('--json is for one file; a folder writes grades.csv and one .result.json per item');
    const outDir = opts['out'] ? resolve(opts['out'] as string) : target;
    const r = await gradeFolder(target, { lab, salt, outDir, jobs });
    if (!r.csvPath) {
      console.log(`No submissions (.json or .ts) in ${rest[0]}: nothing graded, nothing written.`);
      return 0;
    }
    console.log(r.summary);
    console.log(`Wrote ${relative(process.cwd(), r.csvPath) || r.csvPath} (${r.items.length} item${r.items.length === 1 ? '' : 's'})`);
    return 0;
  }

  const loaded = loadItem(target, { lab, salt });
  if (!loaded.ok) throw new UsageError(`${rest[0]}: ${loaded.error}`);
  const g = await gradeJob(loaded.job);
  // Code that does not compile is bad input for a single file (exit 2), not a graded zero.
  if (g.status === 'compile-error') throw new UsageError(`${rest[0]}: ${g.error}`);
  const result = g.result!;
  const notes = [...g.warnings.map((w) => `Note: ${w}.`), ...(g.tampered ? [`TAMPERED: the scores stored in the submission differ from the recomputed ones: ${g.diffs.join('; ')}.`] : [])];
  if (jsonOut === '-') {
    process.stdout.write(JSON.stringify(resultFile(g), null, 2) + '\n');
    for (const n of notes) console.error(n);
  } else {
    // §8: the output ends with `Score: X/Y`, so the notes go just before that line.
    const lines = formatGradeText(result).split('\n');
    console.log([...lines.slice(0, -1), ...notes, lines.at(-1)!].join('\n'));
    if (jsonOut) writeFileSync(resolve(jsonOut), JSON.stringify(resultFile(g), null, 2) + '\n');
  }
  return 0;
}
