/**
 * The run's trace: the first `limit` events are kept for the swimlane view; every event of the
 * whole run is folded into a hash (the determinism fingerprint), so a bounded trace still proves
 * two runs identical. Labels are built lazily: only kept events pay for their strings.
 */
import type { Lane, TraceEvent } from './types.ts';
import type { Ns } from './time.ts';

const LANE_CODE: Record<Lane, number> = { guest: 1, kvm: 2, qemu: 3, 'host-kernel': 4, wire: 5, peer: 6, vhost: 7, poll: 8, nic: 9 };

export class Trace {
  readonly events: TraceEvent[] = [];
  readonly limit: number;
  #a = 0x811c9dc5;
  #b = 0x9747b28c;
  #kinds = new Map<string, number>();
  count = 0;

  constructor(limit = 2000) {
    this.limit = limit;
  }

  #mix(v: number): void {
    // v may exceed 32 bits (time in ns): fold the high part in too.
    const lo = v >>> 0;
    const hi = Math.floor(v / 0x1_0000_0000) >>> 0;
    this.#a = Math.imul(this.#a ^ lo, 0x01000193);
    this.#a = Math.imul(this.#a ^ hi, 0x01000193);
    this.#b = Math.imul(this.#b ^ lo, 0x5bd1e995);
    this.#b ^= this.#b >>> 13;
    this.#b = Math.imul(this.#b ^ hi, 0x5bd1e995);
  }

  #kindCode(kind: string): number {
    let k = this.#kinds.get(kind);
    if (k === undefined) {
      k = 0;
      for (let i = 0; i < kind.length; i++) k = Math.imul(k ^ kind.charCodeAt(i), 0x01000193);
      k >>>= 0;
      this.#kinds.set(kind, k);
    }
    return k;
  }

  emit(t: Ns, dur: Ns, lane: Lane, kind: string, label: string | (() => string), pkt?: number): void {
    this.count++;
    this.#mix(t);
    // dur, lane and kind in one word, then the packet: three mixes per event instead of five.
    this.#mix(((dur * 31 + LANE_CODE[lane]) ^ this.#kindCode(kind)) >>> 0);
    this.#mix(pkt ?? 0xffffffff);
    if (this.events.length < this.limit) {
      const ev: TraceEvent = { t, dur, lane, kind, label: typeof label === 'function' ? label() : label };
      if (pkt !== undefined) ev.pkt = pkt;
      this.events.push(ev);
    }
  }

  /**
   * Fold a datum that shapes the run but not its timing (a guest buffer address) into the
   * fingerprint, so two runs that differ only in such data still hash differently.
   */
  mixData(v: number): void {
    this.#mix(v);
  }

  /** True while kept events are still being collected (lets callers skip building details). */
  get keeping(): boolean {
    return this.events.length < this.limit;
  }

  hash(): string {
    this.#mix(this.count);
    return (this.#a >>> 0).toString(16).padStart(8, '0') + (this.#b >>> 0).toString(16).padStart(8, '0');
  }
}
