/**
 * Runs one submission's seeds, in order, in a worker thread, so the CLI's watchdog can stop
 * learner code that never returns (worker.terminate(), the Node counterpart of the browser
 * Worker's watchdog) and a heap limit can stop code that allocates without bound.
 *
 * Protocol (run-seeds.ts), on the private port: {type:'start', index} before each seed, {type:'outcome', index,
 * outcome} after it, {type:'done'} at the end; {type:'error', message} when the engine itself threw.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { runLabSeed } from '../labs/run.ts';
import { hardenIntrinsics } from '../sandbox/harden.ts';

export interface SeedJob {
  labId: string;
  source: string;
  seeds: number[];
}

// Outcomes go over a private port, not parentPort: learner code can reach parentPort and
// workerData (process.getBuiltinModule), so the port is taken out of workerData and its
// postMessage captured before any learner code runs; run-seeds.ts listens to that port only.
const data = workerData as SeedJob & { port?: MessagePort };
const port = data.port!;
delete data.port;
const post: (m: unknown) => void = port.postMessage.bind(port);

const { labId, source, seeds } = data;
// Built-ins frozen before any learner code is compiled: a submission cannot patch what the checks use.
hardenIntrinsics();
try {
  for (let index = 0; index < seeds.length; index++) {
    post({ type: 'start', index });
    post({ type: 'outcome', index, outcome: runLabSeed(labId, source, seeds[index]!) });
  }
  post({ type: 'done' });
} catch (e) {
  post({ type: 'error', message: (e as Error).message });
}
