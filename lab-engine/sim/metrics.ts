/**
 * Metrics recorder: counters, per-context busy time, bucketed series and latency samples, all
 * limited to the measurement window (traffic start → end). Series buckets start at 10 µs and
 * double (merging pairs) whenever more than MAX_BUCKETS would be needed, so memory stays bounded
 * and the result is the same however long the run is.
 */
import {
  CONTEXTS,
  METRICS_SCHEMA,
  type Context,
  type ExitReason,
  type LatencySummary,
  type Metrics,
} from './types.ts';
import type { Ns } from './time.ts';

const MAX_BUCKETS = 256;

/** Busy-time account of one serial resource. */
export interface ResourceSlot {
  readonly name: string;
  busy: number;
  /** Time spent busy-waiting (a poll-mode core spinning on empty rings): reported, never the bottleneck. */
  readonly spin: boolean;
}
const FIRST_BUCKET_NS = 10_000;

/** Histogram edges (ns), integers on a 1–1.5–2–3–5–7 ladder. */
const LATENCY_EDGES: number[] = (() => {
  const out: number[] = [];
  for (const decade of [1_000, 10_000, 100_000, 1_000_000, 10_000_000]) {
    for (const m of [1, 1.5, 2, 3, 5, 7]) out.push(decade * m);
  }
  out.push(100_000_000);
  return out;
})();

type Counters = Metrics['counters'];

function zeroCounters(): Counters {
  return {
    packetsTx: 0, packetsRx: 0, bytesTx: 0, bytesRx: 0, transactions: 0,
    exits: {}, exitsTotal: 0, exitsToUser: 0, exitsInKernel: 0,
    mmioReads: 0, mmioWrites: 0, interruptsRaised: 0, interruptsInjected: 0, eois: 0,
    dmaOps: 0, bytesCopied: 0, kicks: 0, syscalls: 0, drops: 0,
    iotlbHits: 0, iotlbMisses: 0, iommuWalkReads: 0, iommuFaults: 0, interruptFaults: 0, postedInterrupts: 0,
    dmaMaps: 0, dmaUnmaps: 0, iotlbInvalidations: 0, irqDeliveryNs: 0,
  };
}

function ctxRecord<T>(f: () => T): Record<Context, T> {
  const r = {} as Record<Context, T>;
  for (const c of CONTEXTS) r[c] = f();
  return r;
}

export class MetricsRecorder {
  /** Window start; nothing is recorded before beginWindow(). */
  #start = Number.POSITIVE_INFINITY;
  #end = 0;
  readonly counters: Counters = zeroCounters();
  readonly busy: Record<Context, number> = ctxRecord(() => 0);
  /** Busy time per named serial resource (threads, wire), as slots callers keep. */
  readonly #resources = new Map<string, ResourceSlot>();

  /** The accounting slot of a serial resource; keep it (one Map lookup, not one per charge). */
  resource(name: string, spin = false): ResourceSlot {
    let r = this.#resources.get(name);
    if (!r) {
      r = { name, busy: 0, spin };
      this.#resources.set(name, r);
    }
    return r;
  }

  #bucketNs = FIRST_BUCKET_NS;
  #bytes: number[] = [];
  #packets: number[] = [];
  #exits = new Map<ExitReason, number[]>();
  #cpu: Record<Context, number[]> = ctxRecord(() => []);
  #latencies: number[] = [];
  #minGap = Number.POSITIVE_INFINITY;

  get windowStarted(): boolean {
    return Number.isFinite(this.#start);
  }

  beginWindow(t: Ns): void {
    this.#start = t;
    this.#end = t;
  }

  /** Extend the window to t (the last moment something measurable happened). */
  touch(t: Ns): void {
    if (t > this.#end && this.windowStarted) this.#end = t;
  }

  #in(t: Ns): boolean {
    return t >= this.#start;
  }

  #bucket(t: Ns): number {
    let i = Math.floor((t - this.#start) / this.#bucketNs);
    while (i >= MAX_BUCKETS) {
      this.#mergeBuckets();
      i = Math.floor((t - this.#start) / this.#bucketNs);
    }
    return i;
  }

  #mergeBuckets(): void {
    const merge = (a: number[]): number[] => {
      const out: number[] = [];
      for (let i = 0; i < a.length; i += 2) out.push((a[i] ?? 0) + (a[i + 1] ?? 0));
      return out;
    };
    this.#bytes = merge(this.#bytes);
    this.#packets = merge(this.#packets);
    for (const [k, v] of this.#exits) this.#exits.set(k, merge(v));
    for (const c of CONTEXTS) this.#cpu[c] = merge(this.#cpu[c]);
    this.#bucketNs *= 2;
  }

  #add(arr: number[], i: number, v: number): void {
    while (arr.length <= i) arr.push(0);
    arr[i] = arr[i]! + v;
  }

  /** Charge `dur` ns of work by `ctx` starting at `t`, on the serial resource `resource`. */
  charge(ctx: Context, resource: ResourceSlot, t: Ns, dur: Ns): void {
    if (dur <= 0) return;
    let s = Math.max(t, this.#start);
    const e = t + dur;
    if (e <= s) return;
    this.busy[ctx] += e - s;
    resource.busy += e - s;
    this.touch(e);
    // Spread across buckets.
    while (s < e) {
      const i = this.#bucket(s);
      const bucketEnd = this.#start + (i + 1) * this.#bucketNs;
      const part = Math.min(e, bucketEnd) - s;
      this.#add(this.#cpu[ctx], i, part);
      s += part;
    }
  }

  exit(t: Ns, reason: ExitReason, toUser: boolean): void {
    if (!this.#in(t)) return;
    const c = this.counters;
    c.exits[reason] = (c.exits[reason] ?? 0) + 1;
    c.exitsTotal++;
    if (toUser) c.exitsToUser++;
    else c.exitsInKernel++;
    let series = this.#exits.get(reason);
    if (!series) {
      series = [];
      this.#exits.set(reason, series);
    }
    this.#add(series, this.#bucket(t), 1);
  }

  /** A frame delivered to its final consumer (the peer for TX, the guest app for RX). */
  delivered(t: Ns, bytes: number, direction: 'tx' | 'rx'): void {
    if (!this.#in(t)) return;
    if (direction === 'tx') {
      this.counters.packetsTx++;
      this.counters.bytesTx += bytes;
    } else {
      this.counters.packetsRx++;
      this.counters.bytesRx += bytes;
    }
    const i = this.#bucket(t);
    this.#add(this.#bytes, i, bytes);
    this.#add(this.#packets, i, 1);
    this.touch(t);
  }

  count(t: Ns, name: Exclude<keyof Counters, 'exits'>, n = 1): void {
    if (this.#in(t)) this.counters[name] += n;
  }

  /** Gap between two consecutive rising edges of a device interrupt line (both inside the window). */
  interruptGap(t: Ns, gapNs: Ns): void {
    if (this.#in(t - gapNs) && gapNs < this.#minGap) this.#minGap = gapNs;
  }

  latency(t: Ns, sampleNs: Ns): void {
    if (this.#in(t)) this.#latencies.push(sampleNs);
  }

  finish(info: {
    engineVersion: string;
    scenario: string;
    seed: number;
    params: Metrics['params'];
    events: number;
    stop: Metrics['stop'];
    frameBytesOnWire?: number;
  }): Metrics {
    const started = this.windowStarted;
    const windowNs = started ? Math.max(1, this.#end - this.#start) : 0;
    const sec = windowNs / 1e9;
    const c = this.counters;
    const packets = c.packetsTx + c.packetsRx;
    const bytes = c.bytesTx + c.bytesRx;
    const nb = Math.ceil(windowNs / this.#bucketNs);
    const bucketSec = this.#bucketNs / 1e9;
    const series = (a: number[], scale: number): number[] =>
      Array.from({ length: nb }, (_, i) => round((a[i] ?? 0) * scale, 6));
    const exitsPerSec: Metrics['series']['exitsPerSec'] = {};
    for (const [k, v] of [...this.#exits].sort((x, y) => (x[0] < y[0] ? -1 : 1))) exitsPerSec[k] = series(v, 1 / bucketSec);
    const cpuSeries = ctxRecord<number[]>(() => []);
    for (const ctx of CONTEXTS) cpuSeries[ctx] = series(this.#cpu[ctx], 1 / this.#bucketNs);
    const cpu = ctxRecord(() => 0);
    for (const ctx of CONTEXTS) cpu[ctx] = windowNs ? round(this.busy[ctx] / windowNs, 4) : 0;
    const utilization: Record<string, number> = {};
    let bottleneck = 'none';
    let best = -1;
    for (const { name, busy: b, spin } of [...this.#resources.values()].sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const u = windowNs ? round(b / windowNs, 4) : 0;
      utilization[name] = u;
      if (!spin && u > best) {
        best = u;
        bottleneck = name;
      }
    }
    return {
      schema: METRICS_SCHEMA,
      engineVersion: info.engineVersion,
      scenario: info.scenario,
      seed: info.seed,
      params: info.params,
      windowNs,
      events: info.events,
      stop: info.stop,
      counters: { ...c, exits: { ...c.exits } },
      busyNs: { ...this.busy },
      derived: {
        throughputGbps: sec ? round((bytes * 8) / 1e9 / sec, 4) : 0,
        mpps: sec ? round(packets / 1e6 / sec, 4) : 0,
        exitsPerPacket: packets ? round(c.exitsTotal / packets, 3) : 0,
        exitsPerSec: sec ? Math.round(c.exitsTotal / sec) : 0,
        interruptsPerSec: sec ? Math.round(c.interruptsInjected / sec) : 0,
        exitsPerTransaction: c.transactions ? round(c.exitsTotal / c.transactions, 3) : 0,
        minInterruptGapNs: Number.isFinite(this.#minGap) ? this.#minGap : 0,
        cpu,
        utilization,
        bottleneck,
      },
      series: {
        bucketNs: this.#bucketNs,
        t: Array.from({ length: nb }, (_, i) => i * this.#bucketNs),
        throughputGbps: series(this.#bytes, 8 / this.#bucketNs),
        mpps: series(this.#packets, 1e3 / this.#bucketNs),
        exitsPerSec,
        cpu: cpuSeries,
      },
      latency: this.#latencySummary(),
    };
  }

  #latencySummary(): LatencySummary | null {
    const s = this.#latencies;
    if (s.length === 0) return null;
    const sorted = [...s].sort((a, b) => a - b);
    const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    let sum = 0;
    for (const v of sorted) sum += v;
    const counts = new Array<number>(LATENCY_EDGES.length - 1).fill(0);
    for (const v of sorted) {
      let i = 0;
      while (i < LATENCY_EDGES.length - 2 && v >= LATENCY_EDGES[i + 1]!) i++;
      counts[i]!++;
    }
    return {
      count: sorted.length,
      meanNs: Math.round(sum / sorted.length),
      p50Ns: pct(50),
      p90Ns: pct(90),
      p99Ns: pct(99),
      maxNs: sorted[sorted.length - 1]!,
      histogram: { edgesNs: LATENCY_EDGES, counts },
    };
  }
}

/** Round to `digits` decimals (display precision; graded thresholds use these same values). */
export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
