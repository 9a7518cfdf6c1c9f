/**
 * Runs a submission's seeds in a worker thread with a heap limit and a wall-clock watchdog per
 * seed (the lab's timeLimitMs; DESIGN.md §4). One worker runs the seeds in order (a worker's
 * start-up costs more than a seed); when a seed times out or kills the worker, that seed gets a
 * `timeout` / `crashed` outcome and a fresh worker runs the remaining seeds. Learners never share
 * a worker: every call starts its own.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { SeedOutcome } from '../labs/types.ts';
import { seedWorkerUrl, workerEnv } from './worker-script.ts';
import type { SeedJob } from './seed-worker.ts';

/**
 * Old-generation heap limit of a seed worker. Measured: every lab's reference runs four seeds
 * in a worker limited to 16 MB (tests/grader/runner.test.ts keeps them under 64 MB), so 512 MB
 * leaves a wide margin for honest code and still stops a runaway allocation in about a second.
 */
export const HEAP_LIMIT_MB = 512;
/** A worker that has not started its first seed after this long is reported as dead. */
const START_LIMIT_MS = 60_000;

export interface RunSeedsOptions {
  heapMb?: number;
  /** Called after each seed with the number of seeds done. */
  onSeed?: (done: number) => void;
}

type WorkerMessage =
  | { type: 'start'; index: number }
  | { type: 'outcome'; index: number; outcome: SeedOutcome }
  | { type: 'done' }
  | { type: 'error'; message: string };

/** Runs `seeds` in one worker until they are all done or one stops it; never returns an empty list for a non-empty `seeds`. */
async function runInOneWorker(job: SeedJob, limitMs: number, heapMb: number, onOutcome: () => void): Promise<SeedOutcome[]> {
  const url = await seedWorkerUrl();
  return new Promise((resolve, reject) => {
    const out: SeedOutcome[] = [];
    let current = 0;
    let settled = false;
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(url, { workerData: { ...job, port: port2 }, transferList: [port2], env: workerEnv(), resourceLimits: { maxOldGenerationSizeMb: heapMb }, stdout: true, stderr: true });
    // Learner console output is not the grader's: drained, not shown.
    w.stdout.resume();
    w.stderr.resume();
    let timer = setTimeout(() => stop({ seed: job.seeds[0]!, kind: 'crashed', reason: 'worker-died', message: `the runner did not start within ${START_LIMIT_MS / 1000} s` }), START_LIMIT_MS);
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      port1.close();
      void w.terminate();
      if (err) reject(err);
      else resolve(out);
    };
    const stop = (o: SeedOutcome) => {
      if (settled) return;
      out.push(o);
      onOutcome();
      finish();
    };
    const onMessage = (m: WorkerMessage) => {
      if (settled) return;
      // Strictly in order: a start for the next seed, then its outcome (for that seed).
      if (m.type === 'start' && m.index === out.length) {
        current = m.index;
        clearTimeout(timer);
        timer = setTimeout(() => stop({ seed: job.seeds[current]!, kind: 'timeout', limitMs }), limitMs);
      } else if (m.type === 'outcome' && m.index === out.length && m.index === current && m.outcome?.seed === job.seeds[m.index]) {
        clearTimeout(timer);
        out.push(m.outcome);
        onOutcome();
        current = m.index + 1;
      } else if (m.type === 'done' && out.length === job.seeds.length) finish();
      else if (m.type === 'error') finish(new Error(m.message));
    };
    port1.on('message', onMessage);
    // The worker's 'error' / 'exit' events can overtake messages still queued on the port:
    // deliver those first, so outcomes already computed are kept and the right seed is blamed.
    const drain = () => {
      if (settled) return;
      for (let q = receiveMessageOnPort(port1); q && !settled; q = receiveMessageOnPort(port1)) onMessage(q.message as WorkerMessage);
    };
    w.on('error', (e: Error & { code?: string }) => {
      drain();
      const seed = job.seeds[current]!;
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY') stop({ seed, kind: 'crashed', reason: 'out-of-memory', message: `heap limit ${heapMb} MB` });
      else stop({ seed, kind: 'crashed', reason: 'worker-died', message: e.message });
    });
    w.on('exit', (code) => {
      drain();
      // Exiting before 'done' (e.g. learner code called process.exit) kills the seed it was on.
      if (out.length < job.seeds.length) stop({ seed: job.seeds[current]!, kind: 'crashed', reason: 'worker-died', message: `the runner exited with code ${code}` });
      else finish();
    });
  });
}

export async function runSeedsIsolated(labId: string, source: string, seeds: number[], limitMs: number, opts: RunSeedsOptions = {}): Promise<SeedOutcome[]> {
  const heapMb = opts.heapMb ?? HEAP_LIMIT_MB;
  const out: SeedOutcome[] = [];
  let done = 0;
  while (out.length < seeds.length) {
    const got = await runInOneWorker({ labId, source, seeds: seeds.slice(out.length) }, limitMs, heapMb, () => opts.onSeed?.(++done));
    if (got.length === 0) throw new Error('the seed runner returned no outcome');
    out.push(...got);
  }
  return out;
}

/** One seed, isolated (the lab tests' watchdog check). */
export async function runSeedIsolated(labId: string, source: string, seed: number, limitMs: number): Promise<SeedOutcome> {
  return (await runSeedsIsolated(labId, source, [seed], limitMs))[0]!;
}
