/**
 * Runs one lab seed in a worker thread, so the CLI's watchdog can terminate learner code that
 * never returns (worker.terminate(), the Node counterpart of the browser Worker's watchdog).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runLabSeed } from '../index.ts';

const { labId, source, seed } = workerData as { labId: string; source: string; seed: number };
try {
  parentPort!.postMessage({ ok: true, outcome: runLabSeed(labId, source, seed) });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
