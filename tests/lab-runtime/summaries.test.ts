import { describe, expect, it } from 'vitest';
import { getLabInfo, runLabSeed, runScenario, type Metrics, type PlotSpec } from '../../lab-engine/index.ts';
import { cpuSummary, duration, exitsSummary, latencySummary, num, plotSummary, runSummary, si, throughputSummary } from '../../src/lab-runtime/summaries.ts';
import { downsample } from '../../src/lab-runtime/charts.ts';
import { firstPackets, tickStep } from '../../src/lab-runtime/swimlane.ts';

interface MetricsPatch extends Partial<Omit<Metrics, 'derived' | 'counters'>> {
  derived?: Partial<Metrics['derived']>;
  counters?: Partial<Metrics['counters']>;
}

function metrics(patch: MetricsPatch): Metrics {
  const base = runScenario('emulation-tx', { packets: 50, size: 1518, seed: 1 }).metrics;
  return { ...base, ...patch, derived: { ...base.derived, ...patch.derived }, counters: { ...base.counters, ...patch.counters } } as Metrics;
}

describe('number formatting', () => {
  it.each([
    [0.42137, '0.421'],
    [7, '7'],
    [12.345, '12.3'],
    [1234.5, '1,235'],
    [0, '0'],
  ])('num(%s) = %s', (n, s) => expect(num(n)).toBe(s));
  it('si and duration pick the unit', () => {
    expect(si(252193)).toBe('252 k');
    expect(si(3.2e6)).toBe('3.2 M');
    expect(duration(850)).toBe('850 ns');
    expect(duration(12_345)).toBe('12.3 µs');
    expect(duration(4.5e6)).toBe('4.5 ms');
  });
});

describe('lab run summaries', () => {
  it('states exits per packet, throughput and the bottleneck', () => {
    const m = metrics({ derived: { exitsPerPacket: 7, throughputGbps: 0.42137, bottleneck: 'vCPU thread', utilization: { 'vCPU thread': 0.97 } }, latency: null });
    expect(runSummary(m)).toBe('exits per packet: 7.0; throughput 0.421 Gbit/s; the vCPU thread was the bottleneck (97% busy)');
  });

  it('says when nothing got through (the starter code)', () => {
    const info = getLabInfo('emulated-nic')!;
    const o = runLabSeed('emulated-nic', info.starter, 1);
    if (o.kind !== 'ran') throw new Error('starter should run');
    expect(runSummary(o.result.metrics)).toMatch(/throughput 0 Gbit\/s; .*; no packet got through$/);
    expect(throughputSummary(o.result.metrics)).toBe('Nothing was transmitted: throughput stayed at 0 Gbit/s.');
  });

  it('does not call a request/response run "nothing transmitted": it points at the latency', () => {
    const m = metrics({ counters: { transactions: 150 }, derived: { throughputGbps: 0 }, latency: { p50Ns: 26_500, p90Ns: 28_000, p99Ns: 28_200, maxNs: 28_300, meanNs: 26_700, count: 150, histogram: { edgesNs: [], counts: [] } } });
    expect(throughputSummary(m)).toBe('Request/response: 150 transactions one at a time, so no stream to measure; the latency chart is the figure that matters.');
  });

  it('breaks exits down by reason with shares that come from the counters', () => {
    const m = metrics({ counters: { exitsTotal: 1000, exits: { EPT_MISCONFIG: 750, APIC_ACCESS: 249, HLT: 1 }, packetsTx: 500, packetsRx: 0 }, derived: { exitsPerSec: 252193, exitsPerPacket: 2 } });
    expect(exitsSummary(m)).toBe('252 kexits/s on average (1,000 exits, 2.0 per packet): EPT_MISCONFIG (MMIO) 75%, APIC_ACCESS (APIC/EOI) 25%, HLT (idle) <1%.');
  });

  it('ranks CPU contexts and leaves the wire out', () => {
    const m = metrics({ derived: { cpu: { guest: 0.14, kvm: 0.44, qemu: 0.17, vhost: 0, 'host-kernel': 0.25, poll: 0, wire: 0.9, nic: 0 }, bottleneck: 'vCPU thread', utilization: { 'vCPU thread': 0.99 } } });
    expect(cpuSummary(m)).toBe('KVM was busiest (44% of a core), then host kernel 25%, QEMU 17%, guest 14%; the vCPU thread was the bottleneck (99% busy).');
  });

  it('names the vhost worker and the poll-mode core, and leaves out contexts that round to 0 %', () => {
    const m = metrics({ derived: { cpu: { guest: 0.17, kvm: 0.001, qemu: 0, vhost: 0.4, 'host-kernel': 0, poll: 1, wire: 0.2, nic: 0 }, bottleneck: 'vCPU thread', utilization: { 'vCPU thread': 0.17 } } });
    expect(cpuSummary(m)).toBe('poll-mode core was busiest (100% of a core), then vhost worker 40%, guest 17%; the vCPU thread was the bottleneck (17% busy).');
  });

  it('summarises latency only when there is one', () => {
    expect(latencySummary(metrics({ latency: null }))).toBe('');
    const rr = runScenario('emulation-rr', { packets: 50, seed: 1 }).metrics;
    expect(latencySummary(rr)).toMatch(/^Over 50 transactions: median [\d.]+ µs, p90 [\d.]+ µs, p99 [\d.]+ µs, worst [\d.]+ µs\.$/);
  });

  it('says "frames" when the latency is per transmitted frame (the vhost-poll lab), not per transaction', () => {
    const info = getLabInfo('vhost-poll')!;
    const o = runLabSeed('vhost-poll', info.starter, 2);
    if (o.kind !== 'ran' || !o.result.metrics.latency) throw new Error('the vhost-poll run records frame latency');
    expect(latencySummary(o.result.metrics)).toMatch(/^Over [\d,]+ frames: median /);
  });
});

describe('cell plot summaries', () => {
  const spec: PlotSpec = {
    type: 'line',
    title: 'Exits per packet',
    x: { label: 'frame size (B)', values: [64, 512, 1518] },
    y: { label: 'exits/packet' },
    series: [
      { label: 'mitigation off', values: [7, 7, 7] },
      { label: 'on', values: [4, 2, 1] },
    ],
  };
  it('derives first → last per series', () => {
    expect(plotSummary(spec)).toBe('Exits per packet as frame size (B) goes from 64 to 1518: mitigation off: 7 → 7 (1×); on: 4 → 1 (÷4).');
  });
  it("prefers the author's summary", () => {
    expect(plotSummary({ ...spec, summary: 'Batching saves exits.' })).toBe('Batching saves exits.');
  });
  it('handles one point and zeros', () => {
    expect(plotSummary({ ...spec, x: { label: 'x', values: ['a'] }, series: [{ label: 's', values: [0] }] })).toBe('Exits per packet: s: 0.');
    expect(plotSummary({ ...spec, x: { label: 'x', values: [1, 2] }, series: [{ label: 's', values: [0, 3] }] })).toBe('Exits per packet as x goes from 1 to 2: s: 0 → 3.');
  });
});

describe('chart and trace helpers', () => {
  it('downsample averages neighbouring buckets and keeps short series', () => {
    expect(downsample([0, 1, 2], [[1, 2, 3]], 10)).toEqual({ xs: [0, 1, 2], ys: [[1, 2, 3]] });
    expect(downsample([0, 1, 2, 3, 4], [[1, 3, 5, 7, 9]], 2)).toEqual({ xs: [0, 3], ys: [[3, 8]] });
  });
  it('tick steps are 1, 2 or 5 × 10^k and at least the minimum spacing apart', () => {
    for (const px of [0.001, 0.02, 0.06, 0.5, 3]) {
      const step = tickStep(px, 90);
      expect(step * px).toBeGreaterThanOrEqual(90);
      expect([1, 2, 5]).toContain(Number((step / 10 ** Math.floor(Math.log10(step))).toFixed(6)));
    }
  });
  it('the swimlane window covers exactly the first packets', () => {
    const trace = [
      { t: 0, dur: 100, lane: 'kvm' as const, kind: 'init', label: 'setup' },
      { t: 1000, dur: 50, lane: 'guest' as const, kind: 'x', label: 'p0', pkt: 0 },
      { t: 1200, dur: 300, lane: 'qemu' as const, kind: 'x', label: 'no pkt' },
      { t: 1600, dur: 100, lane: 'wire' as const, kind: 'x', label: 'p1', pkt: 1 },
      { t: 5000, dur: 100, lane: 'wire' as const, kind: 'x', label: 'p2', pkt: 2 },
    ];
    const w = firstPackets(trace, 2);
    expect(w.startNs).toBe(500);
    expect(w.endNs).toBe(1700);
    expect(w.events.map((e) => e.label)).toEqual(['p0', 'no pkt', 'p1']);
    expect(firstPackets(trace.filter((e) => e.pkt === undefined), 3)).toMatchObject({ startNs: 0, endNs: 1500 });
  });
});
