/**
 * Observers for the vhost-poll lab: they watch the run as it happens (DESIGN.md §4) — every
 * frame the guest sends and what reaches the peer, every time the core goes to sleep (and in
 * what state it left the notifications), every wake-up, every bad value the policy returned.
 */
import type { HostEnv } from '../../hv/host.ts';
import type { Ns } from '../../sim/time.ts';
import type { GuestFrame } from '../../guest/e1000-driver.ts';

/** The state the core left the notification protocol in when it went to sleep. */
export type SleepKind = 'ok' | 'suppressed' | 'no-recheck' | 'with-work';

export interface SleepEpisode {
  t: Ns;
  kind: SleepKind;
  /** Chains pending when it slept (only counted for 'with-work'). */
  pending: number;
  wokeAt: Ns | undefined;
}

interface SentFrame {
  pkt: number;
  bytes: Uint8Array;
  t: Ns;
  /** When it reached the peer, if it did. */
  at: Ns | undefined;
}

export interface Mismatch {
  k: number;
  code: 'frame-differs' | 'frame-length';
  byte?: number;
  expected?: number;
  got?: number;
}

export interface BadValue {
  t: Ns;
  value: string;
  used: string;
  count: number;
}

export class PollObserver {
  env: HostEnv | undefined;
  readonly sent: SentFrame[] = [];
  readonly mismatches: Mismatch[] = [];
  readonly sleeps: SleepEpisode[] = [];
  readonly bad: { burst?: BadValue; idle?: BadValue } = {};
  delivered = 0;
  extra = 0;
  #current: SleepEpisode | undefined;

  attach(env: HostEnv): void {
    this.env = env;
  }

  get now(): Ns {
    return this.env ? this.env.sched.now : 0;
  }

  /** The guest application hands a frame to its driver (the latency clock starts). */
  frameSent(frame: GuestFrame): void {
    this.sent.push({ pkt: frame.pkt, bytes: frame.bytes.slice(), t: this.now, at: undefined });
  }

  /** A frame reached the peer: compare it with the k-th frame the guest sent. */
  frameAtPeer(bytes: Uint8Array, t: Ns): void {
    const k = this.delivered++;
    const exp = this.sent[k];
    if (!exp) {
      this.extra++;
      return;
    }
    exp.at = t;
    if (this.mismatches.length >= 4) return;
    if (bytes.length !== exp.bytes.length) {
      this.mismatches.push({ k, code: 'frame-length', expected: exp.bytes.length, got: bytes.length });
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== exp.bytes[i]) {
        this.mismatches.push({ k, code: 'frame-differs', byte: i, expected: exp.bytes[i]!, got: bytes[i]! });
        return;
      }
    }
  }

  sleep(t: Ns, kind: SleepKind, pending: number): void {
    const e: SleepEpisode = { t, kind, pending, wokeAt: undefined };
    this.sleeps.push(e);
    this.#current = e;
  }

  wake(t: Ns): void {
    if (this.#current) this.#current.wokeAt = t;
    this.#current = undefined;
  }

  badValue(fn: 'burst' | 'idle', value: string, t: Ns, used: string): void {
    const b = this.bad[fn];
    if (b) b.count++;
    else this.bad[fn] = { t, value, used, count: 1 };
  }

  /** Latency of the k-th frame (send → peer), or undefined if it never arrived. */
  latency(k: number): number | undefined {
    const s = this.sent[k];
    return s && s.at !== undefined ? s.at - s.t : undefined;
  }

  /**
   * The sleep that explains why a frame sent at `t` waited until `until` (undefined: forever):
   * a sleep that overlapped the wait, preferring one whose protocol was broken.
   */
  sleepDuring(t: Ns, until: Ns | undefined): SleepEpisode | undefined {
    const end = until ?? Number.POSITIVE_INFINITY;
    const overlapping = this.sleeps.filter((e) => e.t <= end && (e.wokeAt === undefined || e.wokeAt > t));
    return overlapping.find((e) => e.kind !== 'ok') ?? overlapping[0];
  }
}
