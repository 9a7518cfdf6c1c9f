/**
 * One-line text summaries computed from the data a chart draws (DESIGN.md §5: every chart has
 * a data table and a text summary). Pure functions; the words are the course's words.
 */
import type { Context, ExitReason, Metrics, PlotSpec } from '../../lab-engine/index.ts';

export const CONTEXT_LABELS: Record<Context, string> = {
  guest: 'guest',
  kvm: 'KVM',
  qemu: 'QEMU',
  vhost: 'vhost worker',
  'host-kernel': 'host kernel',
  poll: 'poll-mode core',
  wire: 'wire',
  nic: 'NIC DMA engine',
};

/** The contexts the CPU chart shows (the wire and the NIC's DMA engine are not CPUs). */
export const CPU_CONTEXTS: Context[] = ['guest', 'kvm', 'qemu', 'vhost', 'host-kernel', 'poll'];

const EXIT_HINTS: Partial<Record<ExitReason, string>> = {
  EPT_MISCONFIG: 'MMIO',
  IO_INSTRUCTION: 'port I/O',
  APIC_ACCESS: 'APIC/EOI',
  EXTERNAL_INTERRUPT: 'host interrupt',
  HLT: 'idle',
  MSR_WRITE: 'MSR',
  VMCALL: 'hypercall',
};

export function exitLabel(reason: string): string {
  const hint = EXIT_HINTS[reason as ExitReason];
  return hint ? `${reason} (${hint})` : reason;
}

/** A number with about 3 significant digits, without trailing noise: 0.4213 → "0.421", 1234 → "1,234". */
export function num(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return String(n);
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return String(Number(n.toFixed(Math.min(decimals, 6))));
}

/** 1234567 → "1.23 M", 45600 → "45.6 k". */
export function si(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${num(n / 1e9)} G`;
  if (a >= 1e6) return `${num(n / 1e6)} M`;
  if (a >= 1e3) return `${num(n / 1e3)} k`;
  return `${num(n)} `;
}

export function pct(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}

/** Nanoseconds as the shortest readable unit: 850 ns, 12.3 µs, 4.5 ms. */
export function duration(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${num(ns / 1e9)} s`;
  if (a >= 1e6) return `${num(ns / 1e6)} ms`;
  if (a >= 1e3) return `${num(ns / 1e3)} µs`;
  return `${num(ns)} ns`;
}

function bottleneckPhrase(m: Metrics): string {
  const b = m.derived.bottleneck;
  if (!b) return '';
  const u = m.derived.utilization[b];
  return `the ${b} was the bottleneck${u !== undefined ? ` (${pct(u)} busy)` : ''}`;
}

/** The headline under a lab run: "exits per packet: 7.0; throughput 0.42 Gbit/s; the vCPU thread was the bottleneck". */
export function runSummary(m: Metrics): string {
  const parts: string[] = [];
  if (m.counters.transactions > 0 && m.derived.exitsPerTransaction > 0) parts.push(`exits per transaction: ${m.derived.exitsPerTransaction.toFixed(1)}`);
  else parts.push(`exits per packet: ${m.derived.exitsPerPacket.toFixed(1)}`);
  parts.push(`throughput ${num(m.derived.throughputGbps)} Gbit/s`);
  if (m.latency) parts.push(`p99 latency ${duration(m.latency.p99Ns)}`);
  const b = bottleneckPhrase(m);
  if (b) parts.push(b);
  const packets = m.counters.packetsTx + m.counters.packetsRx;
  if (packets === 0 && m.counters.transactions === 0) parts.push('no packet got through');
  return parts.join('; ');
}

export function exitsSummary(m: Metrics): string {
  const total = m.counters.exitsTotal;
  if (total === 0) return 'No VM exits in this run.';
  const byReason = Object.entries(m.counters.exits)
    .filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0)
    .sort((a, b) => b[1] - a[1]);
  const share = (n: number): string => (n / total < 0.005 ? '<1%' : pct(n / total));
  const mix = byReason.map(([r, n]) => `${exitLabel(r)} ${share(n)}`).join(', ');
  const perPacket = m.counters.packetsTx + m.counters.packetsRx > 0 ? `, ${m.derived.exitsPerPacket.toFixed(1)} per packet` : '';
  return `${si(m.derived.exitsPerSec)}exits/s on average (${num(total)} exits${perPacket}): ${mix}.`;
}

export function throughputSummary(m: Metrics): string {
  const s = m.series.throughputGbps;
  if (m.counters.transactions > 0 && m.latency && (s.length === 0 || m.derived.throughputGbps === 0)) {
    // A request/response run streams nothing: one message waits for its answer (see the latency chart).
    return `Request/response: ${num(m.counters.transactions)} transactions one at a time, so no stream to measure; the latency chart is the figure that matters.`;
  }
  if (s.length === 0 || m.derived.throughputGbps === 0) return 'Nothing was transmitted: throughput stayed at 0 Gbit/s.';
  return `Throughput averaged ${num(m.derived.throughputGbps)} Gbit/s (${num(m.derived.mpps)} Mpps) over ${duration(m.windowNs)}.`;
}

export function cpuSummary(m: Metrics): string {
  const ranked = CPU_CONTEXTS.map((c) => [c, m.derived.cpu[c] ?? 0] as const).sort((a, b) => b[1] - a[1]);
  const [first, ...rest] = ranked;
  if (!first || first[1] === 0) return 'No CPU time was charged in this run.';
  const others = rest.filter(([, v]) => v >= 0.005).map(([c, v]) => `${CONTEXT_LABELS[c]} ${pct(v)}`);
  const b = bottleneckPhrase(m);
  return `${CONTEXT_LABELS[first[0]]} was busiest (${pct(first[1])} of a core)${others.length ? `, then ${others.join(', ')}` : ''}${b ? `; ${b}` : ''}.`;
}

export function latencySummary(m: Metrics): string {
  const l = m.latency;
  if (!l) return '';
  return `Over ${num(l.count)} ${latencyWhat(m).unit}: median ${duration(l.p50Ns)}, p90 ${duration(l.p90Ns)}, p99 ${duration(l.p99Ns)}, worst ${duration(l.maxNs)}.`;
}

/** A cell plot's summary: the author's, or "label: first → last (×ratio)" per series. */
export function plotSummary(spec: PlotSpec): string {
  if (spec.summary && spec.summary.trim() !== '') return spec.summary;
  const xs = spec.x.values;
  if (xs.length === 0) return `${spec.title}: no data.`;
  const x0 = xs[0];
  const x1 = xs[xs.length - 1];
  const parts = spec.series.map((s) => {
    const a = s.values[0];
    const b = s.values[s.values.length - 1];
    if (a === undefined || b === undefined) return `${s.label}: no data`;
    if (xs.length === 1) return `${s.label}: ${num(b)}`;
    const ratio = a !== 0 && b !== 0 && Math.sign(a) === Math.sign(b) ? b / a : undefined;
    const change = ratio === undefined ? '' : ratio >= 1 ? ` (${num(ratio, 2)}×)` : ` (÷${num(1 / ratio, 2)})`;
    return `${s.label}: ${num(a)} → ${num(b)}${change}`;
  });
  const range = xs.length > 1 ? ` as ${spec.x.label} goes from ${String(x0)} to ${String(x1)}` : '';
  return `${spec.title}${range}: ${parts.join('; ')}.`;
}

/** What a run's latency samples measure: request/response transactions, or frames from the guest's send to the peer. */
export function latencyWhat(m: Metrics): { span: string; unit: string } {
  return m.counters.transactions > 0 ? { span: 'request → response', unit: 'transactions' } : { span: 'guest send → peer', unit: 'frames' };
}
