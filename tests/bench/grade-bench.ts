/**
 * Grading throughput for DESIGN.md §7's figures table: a 100-submission folder (the mix of
 * tests/grader/batch-fixture.ts) graded by the CLI as an instructor runs it. Measures only.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_LAB, writeBatch } from '../grader/batch-fixture.ts';

const CLI = new URL('../../lab-engine/node/cli.ts', import.meta.url).pathname;

export interface GradeFigure {
  lab: string;
  items: number;
  jobs: number;
  wallS: number;
  perItemMs: number;
  ok: boolean;
}

export function gradeFigures(n = 100): GradeFigure[] {
  const dir = mkdtempSync(join(tmpdir(), 'iovlab-grade-bench-'));
  try {
    writeBatch(dir, n);
    const jobs = Math.min(availableParallelism(), 8);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'grade', '--lab', BATCH_LAB, dir, '--jobs', String(jobs)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const ms = performance.now() - t0;
    return [{ lab: BATCH_LAB, items: n, jobs, wallS: Math.round(ms / 100) / 10, perItemMs: Math.round(ms / n), ok: r.status === 0 }];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of gradeFigures()) console.log(f);
}
