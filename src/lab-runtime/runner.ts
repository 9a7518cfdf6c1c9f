/**
 * Runs jobs in the runner Worker: one fresh Worker per job, started from a Blob URL (OFFLINE.md:
 * `new Worker('file.js')` is blocked from file://), killed by a wall-clock watchdog. A Worker
 * that has not run anything yet is kept warm so that Run answers within a blink; it is still
 * "fresh" — no learner code has touched it.
 */
import type { Job, JobResult, Reply } from './protocol.ts';

/** The runner Worker's source, put here by src/build/bundle.mjs (esbuild `define`). */
declare const __IOVLAB_RUNNER_SRC__: string;

let blobUrl: string | undefined;
let spare: Worker | undefined;

function runnerUrl(): string {
  blobUrl ??= URL.createObjectURL(new Blob([__IOVLAB_RUNNER_SRC__], { type: 'text/javascript' }));
  return blobUrl;
}

function newWorker(): Worker {
  return new Worker(runnerUrl(), { name: 'iovlab-runner' });
}

/** Start a Worker ahead of the first job (call when a lab or cell appears). */
export function prewarm(): void {
  if (!spare) spare = newWorker();
}

function takeWorker(): Worker {
  const w = spare ?? newWorker();
  spare = undefined;
  // Refill after the job is under way, off the critical path.
  setTimeout(prewarm, 50);
  return w;
}

export interface JobHandle {
  result: Promise<JobResult>;
  /** Terminate the Worker now (the learner pressed Stop). */
  stop(): void;
}

export function startJob(job: Job, limitMs: number): JobHandle {
  const worker = takeWorker();
  let settle!: (r: JobResult) => void;
  let finished = false;
  const result = new Promise<JobResult>((resolve) => (settle = resolve));
  const finish = (r: JobResult): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    worker.terminate();
    settle(r);
  };
  const timer = setTimeout(() => finish({ status: 'timeout', limitMs }), limitMs);
  worker.onmessage = (e: MessageEvent) => {
    const data = e.data as Reply | undefined;
    if (data && typeof data === 'object' && 'ok' in data) finish({ status: 'done', reply: data });
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    const message = e.message || 'the runner stopped unexpectedly';
    finish({ status: 'crashed', reason: crashReason(message), message });
  };
  worker.onmessageerror = () => finish({ status: 'crashed', reason: 'worker-died', message: 'the result could not be read' });
  worker.postMessage(job);
  return { result, stop: () => finish({ status: 'stopped' }) };
}

/**
 * Why a Worker died, from its error event's message: V8 and Chromium say "out of memory",
 * "Allocation failed", "Array buffer allocation failed" or "heap" when the heap ran out.
 */
export function crashReason(message: string): 'out-of-memory' | 'worker-died' {
  return /out of memory|allocation failed|heap (limit|out)|invalid array length|invalid typed array length/i.test(message) ? 'out-of-memory' : 'worker-died';
}

/** The message shown when the watchdog stopped a run. */
export function timeoutMessage(limitMs: number): string {
  const s = limitMs % 1000 === 0 ? `${limitMs / 1000} s` : `${(limitMs / 1000).toFixed(1)} s`;
  return `Your code ran for more than ${s} without returning — an infinite loop? The run was stopped; your code is safe.`;
}
