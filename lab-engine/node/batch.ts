/**
 * Folder mode of `grade` (DESIGN.md §8): every .json/.ts item is graded, in parallel (`jobs`
 * at a time), and one bad item never stops the batch. Writes grades.csv and one
 * <item>.result.json per item inside the folder or under `outDir`. Anything else in the folder
 * is skipped with one line; our own outputs (grades.csv, *.result.json) silently.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { toCsv } from './csv.ts';
import { failedItem, gradeJob, resultFile, type GradedItem } from './grade-item.ts';
import { loadItem } from './load-item.ts';
import { mapPool } from './pool.ts';
import { Progress } from './progress.ts';
import { summaryText } from './summary.ts';

export interface BatchOptions {
  lab?: string | undefined;
  salt?: string | undefined;
  outDir: string;
  jobs: number;
  heapMb?: number;
  /** Where skip lines and the summary go (stdout by default). */
  log?: (line: string) => void;
}

export interface BatchResult {
  items: GradedItem[];
  skipped: string[];
  /** '' when the folder held no item (nothing is written then). */
  csvPath: string;
  summary: string;
}

const OWN_OUTPUT = /(^grades\.csv$|\.result\.json$)/i;
const SUBMISSION = /\.(json|ts)$/i;

/** The folder's entries split into items to grade and lines about what was skipped. */
export function listItems(dir: string): { items: string[]; skipped: string[] } {
  const items: string[] = [];
  const skipped: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.isFile() && OWN_OUTPUT.test(e.name)) continue;
    if (e.isFile() && SUBMISSION.test(e.name)) items.push(e.name);
    else skipped.push(`skipped ${e.name}${e.isDirectory() ? '/' : ''}: not a submission (.json or .ts)`);
  }
  return { items, skipped };
}

/** Result file names: <name>.result.json, or <name.ext>.result.json when two items share a name. */
function resultNames(items: readonly string[]): string[] {
  const base = items.map((f) => basename(f, extname(f)));
  return items.map((f, i) => `${base.filter((b) => b === base[i]).length > 1 ? f : base[i]}.result.json`);
}

export async function gradeFolder(dir: string, o: BatchOptions): Promise<BatchResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const { items, skipped } = listItems(dir);
  for (const s of skipped) log(s);
  if (items.length > 0) mkdirSync(o.outDir, { recursive: true });
  const progress = new Progress(items.length);
  const names = resultNames(items);
  const graded = await mapPool(items, o.jobs, async (f, i) => {
    let g: GradedItem;
    try {
      const loaded = loadItem(join(dir, f), { lab: o.lab, salt: o.salt });
      g = loaded.ok ? await gradeJob(loaded.job, o.heapMb ? { heapMb: o.heapMb } : {}) : failedItem(loaded);
    } catch (e) {
      // An engine failure on one item is that item's error row, not the end of the batch.
      g = { item: f, status: 'error', labId: o.lab ?? '', student: { name: '', id: '' }, studentLabel: basename(f, extname(f)), result: null, tampered: false, diffs: [], warnings: [], error: `the grader failed on this item: ${(e as Error).message}` };
    }
    writeFileSync(join(o.outDir, names[i]!), JSON.stringify(resultFile(g), null, 2) + '\n');
    progress.tick(f);
    return g;
  });
  // An empty folder (or our own output folder graded again) must not overwrite an earlier grades.csv.
  const csvPath = graded.length > 0 ? join(o.outDir, 'grades.csv') : '';
  if (csvPath) writeFileSync(csvPath, toCsv(graded));
  for (const g of graded) if (g.status === 'error') log(`error ${g.item}: ${g.error}`);
  const summary = summaryText(graded, skipped.length);
  return { items: graded, skipped, csvPath, summary };
}
