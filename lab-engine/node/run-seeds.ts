/** Run seeds in worker threads with a wall-clock limit each; a timeout becomes an outcome. */
import { Worker } from 'node:worker_threads';
import type { SeedOutcome } from '../labs/types.ts';

export function runSeedIsolated(labId: string, source: string, seed: number, limitMs: number): Promise<SeedOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./seed-worker.ts', import.meta.url), { workerData: { labId, source, seed } });
    const timer = setTimeout(() => {
      void w.terminate();
      resolve({ seed, kind: 'timeout', limitMs });
    }, limitMs);
    w.once('message', (msg: { ok: boolean; outcome?: SeedOutcome; error?: string }) => {
      clearTimeout(timer);
      void w.terminate();
      if (msg.ok) resolve(msg.outcome!);
      else reject(new Error(msg.error));
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function runSeedsIsolated(labId: string, source: string, seeds: number[], limitMs: number, onSeed?: (i: number) => void): Promise<SeedOutcome[]> {
  const out: SeedOutcome[] = [];
  for (let i = 0; i < seeds.length; i++) {
    onSeed?.(i);
    out.push(await runSeedIsolated(labId, source, seeds[i]!, limitMs));
  }
  return out;
}
