/**
 * A host thread that drains a queue in batches (a NAPI poll, a vSwitch thread, a vhost worker):
 * woken when work arrives while it is idle (after `wakeLatencyNs`, paying `onWake` once), it
 * handles up to BATCH items, calls `onBatchEnd` (signal the guests), then looks again.
 * Serial: its busy time is one resource, so a thread that handles every frame is a bottleneck.
 */
import type { Ns } from '../sim/time.ts';
import { SerialThread, type HostEnv, type Meter } from '../hv/host.ts';

const BATCH = 64;

export class BatchWorker<T> {
  readonly thread: SerialThread;
  readonly #q: T[] = [];
  #head = 0;
  running = false;
  readonly #wake: Ns;
  readonly #onWake: (m: Meter) => void;
  readonly #item: (m: Meter, it: T) => void;
  readonly #end: (m: Meter) => void;

  constructor(env: HostEnv, name: string, wakeLatencyNs: Ns, onWake: (m: Meter) => void, item: (m: Meter, it: T) => void, onBatchEnd: (m: Meter) => void) {
    this.thread = new SerialThread(env, name);
    this.#wake = wakeLatencyNs;
    this.#onWake = onWake;
    this.#item = item;
    this.#end = onBatchEnd;
  }

  get queued(): number {
    return this.#q.length - this.#head;
  }

  push(t: Ns, it: T): void {
    this.#q.push(it);
    if (this.running) return;
    this.running = true;
    this.thread.submit(t + this.#wake, (m) => {
      this.#onWake(m);
      this.#batch(m);
    });
  }

  #batch(m: Meter): void {
    const n = Math.min(this.queued, BATCH);
    for (let i = 0; i < n; i++) this.#item(m, this.#q[this.#head++]!);
    if (this.#head > 1024 && this.#head * 2 > this.#q.length) {
      this.#q.splice(0, this.#head);
      this.#head = 0;
    }
    this.#end(m);
    this.thread.submit(m.t, (m2) => {
      if (this.queued > 0) this.#batch(m2);
      else this.running = false;
    });
  }
}
