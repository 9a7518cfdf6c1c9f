/**
 * The runner Worker (bundled by src/build/bundle.mjs as a classic IIFE and started from a Blob
 * URL, OFFLINE.md). It handles exactly one job and answers once; the page starts a fresh Worker
 * per job and terminates it after the wall-clock limit (the only stop for `while (true) {}`).
 *
 * Before any learner code runs, the network and storage APIs are shadowed: over http the Worker
 * shares the site's origin, and lab code has no business there (OFFLINE.md "Sandboxing").
 */
import { formatGradeText, gradeOutcomes, hashText, runCell, runLabSeed } from '../../lab-engine/index.ts';
import { hardenIntrinsics } from '../../lab-engine/sandbox/harden.ts';
import type { Job, Reply } from './protocol.ts';

interface WorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
}

const scope = self as unknown as WorkerScope & Record<string, unknown>;
const post = scope.postMessage.bind(scope);

const BLOCKED = ['fetch', 'XMLHttpRequest', 'importScripts', 'WebSocket', 'EventSource', 'WebTransport', 'BroadcastChannel', 'indexedDB', 'caches', 'Worker', 'SharedWorker'];

function lockDown(): void {
  for (const name of BLOCKED) {
    const blocked = function (): never {
      throw new Error(`${name} is not available to lab code (it runs offline, in a sandbox)`);
    };
    try {
      Object.defineProperty(scope, name, { value: name === 'indexedDB' || name === 'caches' ? undefined : blocked, writable: false, configurable: false });
    } catch {
      /* already locked */
    }
  }
  // Learner code must not forge the one answer this Worker sends.
  Object.defineProperty(scope, 'postMessage', { value: () => undefined, writable: false, configurable: false });
  // Nor patch the built-ins the engine and the checks use (Array.prototype.push = …).
  hardenIntrinsics();
}

function handle(job: Job): Reply {
  switch (job.kind) {
    case 'lab-seed': {
      const t0 = performance.now();
      const outcome = runLabSeed(job.labId, job.source, job.seed);
      return { ok: true, kind: 'lab-seed', outcome, ms: performance.now() - t0 };
    }
    case 'cell': {
      const t0 = performance.now();
      const output = runCell(job.source);
      return { ok: true, kind: 'cell', output, ms: performance.now() - t0 };
    }
    case 'grade': {
      const result = gradeOutcomes(job.labId, job.outcomes, { mode: job.mode, codeHash: hashText(job.source) });
      return { ok: true, kind: 'grade', result, text: formatGradeText(result) };
    }
  }
}

let done = false;
scope.addEventListener('message', (e: MessageEvent) => {
  if (done) return;
  done = true;
  lockDown();
  let reply: Reply;
  try {
    reply = handle(e.data as Job);
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
  try {
    post(reply);
  } catch (err) {
    post({ ok: false, error: `the result could not be sent back: ${(err as Error).message}` } satisfies Reply);
  }
});
