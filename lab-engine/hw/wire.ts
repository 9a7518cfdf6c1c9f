/**
 * One direction of an Ethernet link: frames serialize at line rate, with preamble, SFD and
 * inter-frame gap counted (CALIBRATION §1.2, C15/C16), then arrive after a propagation delay.
 * The sender's queue (qdisc/txqueuelen) is bounded: a frame that would wait too long is dropped.
 */
import { COSTS, wireTime } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { HostEnv } from '../hv/host.ts';
import type { ResourceSlot } from '../sim/metrics.ts';

export class Wire {
  #busyUntil: Ns = 0;

  readonly env: HostEnv;
  readonly name: string;
  readonly gbps: number;
  /** Longest queueing delay accepted before dropping (≈ 1000 full-size frames at 10 GbE). */
  readonly maxBacklogNs: Ns;

  constructor(env: HostEnv, name: string, gbps: number, maxBacklogNs: Ns = 1_250_000) {
    this.env = env;
    this.name = name;
    this.gbps = gbps;
    this.maxBacklogNs = maxBacklogNs;
    this.#slot = env.metrics.resource(name);
  }
  readonly #slot: ResourceSlot;

  /**
   * Until when a sender should hold back (a full qdisc, a NIC TX ring with no free slots): the
   * time the backlog falls to half the drop limit, or `at` when there is room now.
   */
  blockedUntil(at: Ns): Ns {
    const high = this.maxBacklogNs / 2;
    return this.#busyUntil - at > high ? this.#busyUntil - high : at;
  }

  /** Send a frame of `frameBytes` (FCS included) at time `at`; `arrive` runs at the far end. */
  send(frameBytes: number, at: Ns, arrive: (t: Ns) => void, pkt?: number): boolean {
    const start = Math.max(at, this.#busyUntil);
    if (start - at > this.maxBacklogNs) {
      this.env.metrics.count(at, 'drops');
      return false;
    }
    const dur = wireTime(frameBytes, this.gbps);
    this.#busyUntil = start + dur;
    this.env.metrics.charge('wire', this.#slot, start, dur);
    this.env.trace.emit(start, dur, 'wire', 'wire-tx', () => `${frameBytes} B on ${this.name}`, pkt);
    this.env.sched.at(this.#busyUntil + COSTS.wirePropagation.ns, () => arrive(this.env.sched.now));
    return true;
  }
}
