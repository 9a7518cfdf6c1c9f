/**
 * What every model on a simulated host shares: the clock, randomness, metrics, trace and the
 * diagnostics list. Passed explicitly to each component ("logic takes its world as arguments").
 */
import type { Scheduler } from '../sim/scheduler.ts';
import type { MetricsRecorder, ResourceSlot } from '../sim/metrics.ts';
import type { Trace } from '../sim/trace.ts';
import type { Rng } from '../sim/rng.ts';
import type { Context, Diagnostic } from '../sim/types.ts';
import type { Ns } from '../sim/time.ts';

export interface HostEnv {
  sched: Scheduler;
  metrics: MetricsRecorder;
  trace: Trace;
  rng: Rng;
  diagnostics: Diagnostic[];
}

/** Add a diagnostic once per code (repeats are counted in the first one's message). */
export function diagnose(env: HostEnv, d: Diagnostic, maxPerCode = 5): void {
  const same = env.diagnostics.filter((x) => x.code === d.code).length;
  if (same < maxPerCode) env.diagnostics.push(d);
}

/**
 * A running tally of work done by one serial resource (a thread) from time `t`: each charge is
 * recorded in metrics and trace as a segment, and the meter's clock advances. Effects that leave
 * the thread (a frame onto the wire, an interrupt) are stamped with the meter's current time.
 */
export class Meter {
  t: Ns;
  readonly env: HostEnv;
  readonly resource: ResourceSlot;

  constructor(env: HostEnv, resource: ResourceSlot, start: Ns) {
    this.env = env;
    this.resource = resource;
    this.t = start;
  }

  charge(ctx: Context, ns: Ns, kind: string, label: string | (() => string), pkt?: number): void {
    if (ns <= 0) return;
    this.env.metrics.charge(ctx, this.resource, this.t, ns);
    this.env.trace.emit(this.t, ns, ctx, kind, label, pkt);
    this.t += ns;
  }

  /** Record an instant (zero-duration) event on a lane. */
  mark(ctx: Context | 'peer', kind: string, label: string | (() => string), pkt?: number): void {
    this.env.trace.emit(this.t, 0, ctx, kind, label, pkt);
  }
}

/**
 * A serial resource that runs jobs one at a time in FIFO order (QEMU's main loop, the host's RX
 * softirq). A job runs when the thread is free; its cost is whatever it charges to its meter.
 */
export class SerialThread {
  #queue: ((m: Meter) => void)[] = [];
  #busyUntil: Ns = 0;
  #scheduled = false;

  readonly env: HostEnv;
  readonly name: string;
  readonly #slot: ResourceSlot;

  constructor(env: HostEnv, name: string) {
    this.env = env;
    this.name = name;
    this.#slot = env.metrics.resource(name);
  }

  /** Make `job` ready at time `at` (≥ now). */
  submit(at: Ns, job: (m: Meter) => void): void {
    this.env.sched.at(at, () => {
      this.#queue.push(job);
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.env.sched.at(Math.max(this.env.sched.now, this.#busyUntil), () => this.#runOne());
  }

  #runOne(): void {
    this.#scheduled = false;
    const job = this.#queue.shift();
    if (!job) return;
    const m = new Meter(this.env, this.#slot, this.env.sched.now);
    job(m);
    this.#busyUntil = m.t;
    if (this.#queue.length > 0) this.#kick();
  }
}
