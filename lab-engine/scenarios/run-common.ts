/**
 * What every scenario's run shares, whatever the I/O model: the host environment it builds, how
 * it stops (finished, failed, stalled, out of time or events), the sentence that explains a
 * stall, and the request/response peer's service time.
 */
import { COSTS } from '../sim/costs.ts';
import { MetricsRecorder } from '../sim/metrics.ts';
import { Rng } from '../sim/rng.ts';
import { Scheduler, type RunStop } from '../sim/scheduler.ts';
import { Trace } from '../sim/trace.ts';
import { formatNs, type Ns } from '../sim/time.ts';
import type { Diagnostic, Metrics } from '../sim/types.ts';
import type { HostEnv } from '../hv/host.ts';

export function newHostEnv(seed: number, traceLimit = 2000): HostEnv {
  return { sched: new Scheduler(), metrics: new MetricsRecorder(), trace: new Trace(traceLimit), rng: new Rng(seed), diagnostics: [] };
}

/** How a run ends: `finish()` when the workload is done, `fail()` on an error that stops it. */
export class RunControl {
  readonly env: HostEnv;
  done = false;
  #error = false;

  constructor(env: HostEnv) {
    this.env = env;
  }

  readonly fail = (d: Diagnostic): void => {
    this.env.diagnostics.push(d);
    this.#error = true;
    this.env.sched.halt();
  };

  readonly finish = (): void => {
    this.done = true;
    this.env.sched.halt();
  };

  /** Stop without a diagnostic of its own (the caller reported the cause). */
  readonly stopWithError = (): void => {
    this.#error = true;
    this.env.sched.halt();
  };

  /** The run's outcome from the scheduler's stop; a stall or a cap gets `stallDiagnostic(what)`. */
  outcome(stop: RunStop, what: () => string): Metrics['stop'] {
    let final: Metrics['stop'];
    if (this.#error) final = 'error';
    else if (this.done) final = 'done';
    else if (stop === 'until') final = 'until';
    else if (stop === 'budget') final = 'budget';
    else final = 'stalled';
    if (final === 'stalled' || final === 'until' || final === 'budget') this.env.diagnostics.push(stallDiagnostic(final, this.env.sched.now, what()));
    return final;
  }
}

export function stallDiagnostic(stop: Metrics['stop'], t: Ns, what: string): Diagnostic {
  const why = stop === 'stalled' ? 'Nothing was left to happen' : stop === 'until' ? 'The simulated time limit was reached' : 'The event budget ran out';
  return { severity: 'error', code: 'guest-stalled', message: `${why} at ${formatNs(t)} before the workload finished: ${what}.`, t };
}

/** The request/response peer's service time: COSTS.peerService with ±20 % seeded jitter. */
export function peerServiceNs(rng: Rng): Ns {
  const base = COSTS.peerService.ns;
  return base + rng.int(-base / 5, base / 5);
}
