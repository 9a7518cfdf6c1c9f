/**
 * Runs one submission's seeds, in order, in a worker thread, so the CLI's watchdog can stop
 * learner code that never returns (worker.terminate(), the Node counterpart of the browser
 * Worker's watchdog) and a heap limit can stop code that allocates without bound.
 *
 * Protocol (run-seeds.ts): {type:'start', index} before each seed, {type:'outcome', index,
 * outcome} after it, {type:'done'} at the end; {type:'error', message} when the engine itself threw.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runLabSeed } from '../labs/run.ts';

export interface SeedJob {
  labId: string;
  source: string;
  seeds: number[];
}

const { labId, source, seeds } = workerData as SeedJob;
try {
  for (let index = 0; index < seeds.length; index++) {
    parentPort!.postMessage({ type: 'start', index });
    parentPort!.postMessage({ type: 'outcome', index, outcome: runLabSeed(labId, source, seeds[index]!) });
  }
  parentPort!.postMessage({ type: 'done' });
} catch (e) {
  parentPort!.postMessage({ type: 'error', message: (e as Error).message });
}
