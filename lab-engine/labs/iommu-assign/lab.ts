/**
 * The iommu-assign lab: the learner writes the host side of assigning a NIC to a VM — the DMA
 * mappings of the guest's RAM regions (map and unmap, choosing page sizes), the interrupt
 * remapping entries (remapped, then posted), and the decoding of IOMMU fault records.
 * Each seed runs (DESIGN.md §4; seeds.ts says what a seed varies):
 *   set-up    no traffic: assignment, the census of the page tables, DMAs into every region,
 *             every vector's MSI through the remapping unit (and spoofed ones), rogue DMAs with
 *             fault events, a hot-unplug with DMAs into the unplugged region (setup-run.ts);
 *   remapped  traffic through the assigned NIC with remapped interrupts (traffic.ts);
 *   posted    the same with posted interrupts;
 *   bare      the same workload on bare metal: the 100 % for the throughput check.
 */
import { hashText } from '../../sim/hash.ts';
import type { Diagnostic, RunResult } from '../../sim/types.ts';
import { PAGE_2M } from '../../hw/iommu/dma-remap.ts';
import { compileModule, instantiateExporting } from '../../sandbox/compile.ts';
import type { CheckInfo, Finding, LabInfo, SeedOutcome } from '../types.ts';
import { IOMMU_ASSIGN_API } from './api.ts';
import { IOMMU_ASSIGN_DTS } from './api-dts.ts';
import { IOMMU_ASSIGN_STARTER } from './starter.ts';
import { describe, type FaultEvent, type LearnerExports } from './adapter.ts';
import { runSetup, type Phase, type SetupOutcome } from './setup-run.ts';
import { describeLayout, seedConfig, type SeedConfig } from './seeds.ts';
import { emptyResult, runTraffic, trafficFigures, type TrafficOutcome } from './traffic.ts';

export { seedConfig } from './seeds.ts';

export const LAB_ID = 'iommu-assign';
const API_MODULE = 'iovlab/iommu-assign';

/**
 * Frozen performance thresholds (see traffic.ts trafficFigures for how each is measured; the
 * reference's spread over seeds 1–150 is in tests/labs/iommu-assign.test.ts, which holds the
 * margins on more seeds).
 */
export const IOTLB_MISSES_PER_PACKET_MAX = 0.1;
export const EXITS_PER_INTERRUPT_MAX = 0.25;
/** Throughput with posted interrupts at least this fraction of bare metal's (the issue: within 3 %). */
export const THROUGHPUT_FRACTION_MIN = 0.97;

export const CHECKS: CheckInfo[] = [
  { number: 1, id: 'map', name: 'Every page of guest RAM is mapped to its own host page, readable and writable', points: 15, parents: [], kind: 'correctness' },
  { number: 2, id: 'traffic', name: 'Traffic flows intact: every frame reaches the peer and the guest byte for byte, in order', points: 10, parents: [], kind: 'correctness' },
  { number: 3, id: 'isolation', name: 'Isolation: nothing but guest RAM is mapped, and no rogue DMA lands (holes, past a region, the neighbour VM, other requesters)', points: 15, parents: [1], kind: 'invariant' },
  { number: 4, id: 'unmap', name: 'Unmapped memory is really gone: after a hot-unplug no DMA reaches the region, not even through the IOTLB', points: 15, parents: [1], kind: 'invariant' },
  { number: 5, id: 'remap', name: 'Remapped interrupts reach the host vector on the vCPU\'s CPU; spoofed MSIs are blocked', points: 10, parents: [], kind: 'correctness' },
  { number: 6, id: 'posted', name: 'Posted interrupts carry the guest vector to the vCPU\'s descriptor; spoofed MSIs are blocked', points: 10, parents: [], kind: 'correctness' },
  { number: 7, id: 'faults', name: 'IOMMU fault records are decoded: source-id, page address, reason, read or write', points: 10, parents: [], kind: 'correctness' },
  { number: 8, id: 'iotlb', name: `Performance: at most ${IOTLB_MISSES_PER_PACKET_MAX} IOTLB misses per packet`, points: 5, parents: [1, 2], kind: 'performance' },
  { number: 9, id: 'exits', name: `Performance: at most ${EXITS_PER_INTERRUPT_MAX} VM exits per interrupt with posted interrupts`, points: 5, parents: [2, 6], kind: 'performance' },
  { number: 10, id: 'throughput', name: `Performance: throughput with posted interrupts within ${Math.round((1 - THROUGHPUT_FRACTION_MIN) * 100)} % of bare metal`, points: 5, parents: [2, 6], kind: 'performance' },
];

const PUBLIC_SEEDS = [1, 2, 3];

export const LAB_INFO: LabInfo = {
  id: LAB_ID,
  title: 'Assigning a NIC: DMA mappings, interrupt remapping and IOMMU faults',
  version: hashText(['iommu-assign/1', IOMMU_ASSIGN_DTS, IOMMU_ASSIGN_STARTER, JSON.stringify(CHECKS), String([IOTLB_MISSES_PER_PACKET_MAX, EXITS_PER_INTERRUPT_MAX, THROUGHPUT_FRACTION_MIN])].join('\n')),
  apiModule: API_MODULE,
  apiDts: IOMMU_ASSIGN_DTS,
  starter: IOMMU_ASSIGN_STARTER,
  publicSeeds: PUBLIC_SEEDS,
  freshSeeds: 3,
  timeLimitMs: 5_000,
  checks: CHECKS,
  maxScore: CHECKS.reduce((s, c) => s + c.points, 0),
};

export function runSeed(source: string, seed: number): SeedOutcome {
  const compiled = compileModule(source, { [API_MODULE]: IOMMU_ASSIGN_API });
  if (!compiled.ok) return { seed, kind: 'compile-error', diagnostics: compiled.diagnostics };
  // A fresh module instance per run: module-level state cannot leak between runs.
  const instance = (): LearnerExports | Diagnostic[] =>
    instantiateExporting(compiled, ['mapRegion(region, iommu)', 'unmapRegion(region, iommu)', 'programVector(req, irt, ctx)', 'onFaults(regs, host)']) as LearnerExports | Diagnostic[];
  const cfg = seedConfig(seed);
  const first = instance();
  if (Array.isArray(first)) return { seed, kind: 'compile-error', diagnostics: first };
  const setup = runSetup(cfg, first);
  const traffic: TrafficOutcome[] = [];
  for (const run of ['remapped', 'posted', 'bare'] as const) {
    const exp = run === 'bare' ? undefined : instance();
    if (Array.isArray(exp)) return { seed, kind: 'compile-error', diagnostics: exp };
    traffic.push(runTraffic(run, cfg, exp));
  }
  const findings = evaluate(cfg, setup, traffic);
  const main = traffic.find((t) => t.run === 'posted') ?? traffic[0];
  const result: RunResult = main ? main.result : emptyResult(`lab:${LAB_ID}`, seed);
  const fig = trafficFigures(traffic);
  Object.assign(result.metrics.params, { lab: LAB_ID, regions: cfg.regions.length, vcpus: cfg.vcpus, vectors: cfg.nic.vectors, nic: cfg.nic.address, ...fig.params });
  const diag = result.diagnostics;
  // The set-up run comes first in a seed's life: its stop (if any) leads the list.
  if (setup.stopped) diag.unshift({ ...setup.stopped, message: `(set-up run) ${setup.stopped.message}` });
  for (const line of describeLayout(cfg)) diag.push({ severity: 'info', code: 'layout', message: line });
  for (const line of setup.logs) diag.push({ severity: 'info', code: 'log', message: line });
  for (const t of traffic) {
    for (const line of t.logs) diag.push({ severity: 'info', code: 'log', message: line });
    if (t === main) continue;
    for (const d of t.result.diagnostics) diag.push({ ...d, message: `(${t.run} run) ${d.message}` });
  }
  return { seed, kind: 'ran', result, findings };
}

const PHASE_ORDER: Phase[] = ['assign', 'probe', 'remapped', 'posted', 'rogue', 'unplug', 'done'];
const before = (a: Phase, b: Phase): boolean => PHASE_ORDER.indexOf(a) < PHASE_ORDER.indexOf(b);
const hex = (n: number): string => `0x${n.toString(16)}`;
const bytesWords = (n: number): string => (n >= 1024 * 1024 && n % 1024 === 0 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(n % 1024 ? 1 : 0)} KiB` : `${n} B`);

export function evaluate(cfg: SeedConfig, s: SetupOutcome, traffic: TrafficOutcome[]): Finding[] {
  const seed = cfg.seed;
  const out: Finding[] = [];
  const f = (check: string, code: string, data: Record<string, number | string>): void => {
    out.push({ check, code, data: { seed, ...data } });
  };
  const once = new Set<string>();
  const f1 = (check: string, code: string, data: Record<string, number | string>): void => {
    if (once.has(check)) return;
    once.add(check);
    f(check, code, data);
  };

  // A stop (the learner threw, a runaway loop) fails every check whose evidence it cut short.
  if (s.stopped) {
    const cut: [string, Phase][] = [['map', 'probe'], ['remap', 'posted'], ['posted', 'rogue'], ['isolation', 'unplug'], ['unmap', 'done'], ['faults', 'done']];
    for (const [check, needs] of cut) if (before(s.reached, needs)) f(check, 'ia-stopped', { run: 'set-up', message: s.stopped.message });
  }
  if (s.vfioError) f('map', 'ia-vfio-failed', { message: s.vfioError });

  // 1: every page mapped, to the right place, with both rights; the NIC's DMAs land right.
  const rec = s.setup.record;
  for (const p of s.problems) {
    if (p.kind === 'unmapped') {
      const err = rec.maps.find((m) => m.region === p.region && m.error);
      const tried = rec.maps.some((m) => m.region === p.region);
      const hint = err ? `; your iommu.map(${hex(err.iova)}, ${hex(err.hpa)}, ${hex(err.size)}, …, ${err.pageSize === PAGE_2M ? 'PAGE_2M' : 'PAGE_4K'}) returned "${err.error}"` : tried ? '' : '; mapRegion() never mapped it';
      f1('map', 'ia-unmapped', { region: p.region, iova: hex(p.iova), bytes: bytesWords(p.bytes), hint });
    } else if (p.kind === 'wrong-hpa') f1('map', 'ia-wrong-hpa', { region: p.region, iova: hex(p.iova), hpa: hex(p.hpa), expected: hex(p.expected) });
    else if (p.kind === 'no-permission') f1('map', 'ia-no-permission', { region: p.region, iova: hex(p.iova), perm: p.read ? 'read-only' : 'write-only' });
  }
  const dmaBad = s.dma[0];
  if (dmaBad) f1('map', 'ia-dma-failed', { region: dmaBad.region, iova: hex(dmaBad.iova), dir: dmaBad.write ? 'write' : 'read', message: dmaBad.message });
  for (const t of traffic) {
    const d = t.obs.driverFaults[0];
    if (d) f1('map', 'ia-driver-dma', { run: t.run, iova: hex(d.iova), len: d.len, dir: d.write ? 'write' : 'read', message: d.message });
  }

  // 2: traffic.
  for (const t of traffic) {
    for (const line of trafficFindings(t)) f1('traffic', line.code, line.data);
  }

  // 3: isolation.
  for (const p of s.problems) {
    if (p.kind === 'outside') f1('isolation', 'ia-over-mapped', { from: hex(p.iova), to: hex(p.iova + p.size), page: p.pageSize === PAGE_2M ? '2 MiB' : '4 KiB', hpa: hex(p.hpa), target: p.target });
    else if (p.kind === 'huge-on-small') f1('isolation', 'ia-huge-on-small', { region: p.region, iova: hex(p.iova) });
  }
  for (const r of s.rogue) {
    const d = { label: r.rogue.label, iova: hex(r.rogue.iova), len: r.rogue.len, dir: r.rogue.write ? 'write' : 'read', where: r.where ?? '' };
    if (r.result.ok) f1('isolation', 'ia-rogue-landed', d);
    else if (r.where) f1('isolation', 'ia-rogue-translated', d);
  }
  for (const t of traffic) {
    const l = t.obs.rogueLanded[0];
    if (l) f1('isolation', 'ia-rogue-landed', { label: `${l.label}, during the ${t.run} run`, iova: hex(l.iova), len: l.len, dir: l.write ? 'write' : 'read', where: l.where });
  }
  if (s.neighbourPages > 0) f1('isolation', 'ia-neighbour-touched', { pages: s.neighbourPages });

  // 4: the hot-unplug.
  if (s.unplug) {
    const u = s.unplug;
    const landed = u.probes.find((p) => p.landed);
    if (landed) {
      const data = { region: u.region.name, iova: hex(landed.iova), dir: landed.write ? 'wrote' : 'read', touched: landed.hot ? ', a page it had used just before the unplug' : '' };
      if (landed.stale) f1('unmap', 'ia-unplug-stale', data);
      else f1('unmap', 'ia-unplug-mapped', data);
    }
    const end = u.region.gpa + u.region.size;
    for (const p of u.problems) {
      if (p.kind === 'outside' && p.iova < end && p.iova + p.size > u.region.gpa) f1('unmap', 'ia-unplug-leftover', { region: u.region.name, from: hex(p.iova), to: hex(p.iova + p.size) });
      if (p.kind === 'unmapped' && !s.problems.some((q) => q.kind === 'unmapped' && q.region === p.region)) f1('unmap', 'ia-unplug-collateral', { region: u.region.name, other: p.region, iova: hex(p.iova), bytes: bytesWords(p.bytes) });
    }
  }

  // 5 and 6: interrupts, by mode.
  for (const v of s.vectors) {
    const check = v.mode === 'remapped' ? 'remap' : 'posted';
    const base = { mode: v.mode, vector: v.plan.vector, vcpu: v.plan.vcpu, guestVector: hex(v.plan.guestVector) };
    if (v.bad) f1(check, 'ia-irq-bad-return', { ...base, value: v.bad });
    else if (!v.msi) f1(check, 'ia-irq-masked', base);
    else if (!v.result) continue;
    else if (v.result.kind === 'fault') f1(check, 'ia-irq-fault', { ...base, detail: v.result.detail, code: hex(v.result.code) });
    else if (v.result.kind !== v.mode) f1(check, 'ia-irq-kind', { ...base, kind: v.result.kind === 'remapped' ? `remapped to host vector ${hex(v.result.vector)}` : v.result.kind });
    else if (v.wrong.length > 0) {
      const [field, got, expected] = v.wrong[0]!;
      f1(check, 'ia-irq-wrong', { ...base, field, got, expected });
    } else if (v.postFailed) f1(check, 'ia-post-failed', { ...base, detail: v.postFailed });
    else if (v.spoofed.length > 0) f1(check, 'ia-irq-spoofed', { ...base, spoofer: v.spoofed[0]!.label, kind: v.spoofed[0]!.kind, entry: v.spoofed[0]!.entry });
  }

  for (const t of traffic) {
    const m = t.spoofDelivered[0];
    if (m) f1(t.run === 'remapped' ? 'remap' : 'posted', 'ia-irq-spoof-run', { run: t.run, message: m });
  }

  // 7: fault decoding, over every fault event of every run.
  const events: FaultEvent[] = [...rec.faultEvents, ...traffic.flatMap((t) => t.setup?.record.faultEvents ?? [])];
  events.forEach((ev, i) => {
    const problem = faultProblem(ev);
    if (problem) f1('faults', problem.code, { event: i + 1, phase: ev.phase, ...problem.data });
  });

  // 8–10: performance.
  const fig = trafficFigures(traffic);
  if (fig.missesPerPacket !== undefined && fig.missesPerPacket > IOTLB_MISSES_PER_PACKET_MAX) {
    f('iotlb', 'ia-iotlb', { value: fig.missesPerPacket.toFixed(2), limit: String(IOTLB_MISSES_PER_PACKET_MAX), misses: fig.misses, packets: fig.packets });
  }
  if (fig.exitsPerInterrupt !== undefined && fig.exitsPerInterrupt > EXITS_PER_INTERRUPT_MAX) {
    f('exits', 'ia-exits', { value: fig.exitsPerInterrupt.toFixed(2), limit: String(EXITS_PER_INTERRUPT_MAX), exits: fig.exits, interrupts: fig.interrupts });
  }
  if (fig.fraction !== undefined && fig.fraction < THROUGHPUT_FRACTION_MIN) {
    f('throughput', 'ia-throughput', { percent: (fig.fraction * 100).toFixed(1), gbps: fig.gbps!.toFixed(2), bare: fig.bareGbps!.toFixed(2), limit: String(Math.round(THROUGHPUT_FRACTION_MIN * 100)) });
  }
  return out;
}

function faultProblem(ev: FaultEvent): { code: string; data: Record<string, number | string> } | undefined {
  if (ev.bad) return { code: 'ia-fault-bad-return', data: { value: ev.bad } };
  const got = ev.got ?? [];
  if (got.length !== ev.truth.length) {
    return { code: 'ia-fault-count', data: { got: got.length, expected: ev.truth.length, stale: ev.staleSlots } };
  }
  for (let k = 0; k < got.length; k++) {
    const g = got[k]!;
    const t = ev.truth[k]!;
    const fields: [string, unknown, unknown, (x: unknown) => string][] = [
      ['sourceId', g.sourceId, t.sourceId, (x) => (typeof x === 'number' ? `${hex(x)} (${IOMMU_ASSIGN_API.formatSourceId(x)})` : describe(x))],
      ['address', g.address, t.address, (x) => (typeof x === 'number' ? hex(x) : describe(x))],
      ['reason', g.reason, t.reason, (x) => (typeof x === 'number' ? hex(x) : describe(x))],
      ['write', g.write, t.write, (x) => describe(x)],
    ];
    for (const [field, a, b, fmt] of fields) {
      if (a !== b) return { code: 'ia-fault-field', data: { record: k, field, got: fmt(a), expected: fmt(b) } };
    }
  }
  return undefined;
}

function trafficFindings(t: TrafficOutcome): { code: string; data: Record<string, number | string> }[] {
  const o = t.obs;
  const out: { code: string; data: Record<string, number | string> }[] = [];
  const run = t.run;
  for (const [dir, mism] of [['tx', o.txMismatch], ['rx', o.rxMismatch]] as const) {
    const m = mism[0];
    if (!m) continue;
    if (m.length) out.push({ code: `ia-${dir}-length`, data: { run, pkt: m.pkt, expected: m.length.expected, got: m.length.got } });
    else out.push({ code: `ia-${dir}-differs`, data: { run, pkt: m.pkt, byte: m.byte!, expected: hex(m.expected!), got: hex(m.got!) } });
  }
  const stall = t.result.diagnostics.find((d) => d.severity === 'error');
  let why = stall ? stall.message : `The run ended (${t.result.metrics.stop}) first.`;
  const c = t.result.metrics.counters;
  if (c.interruptsInjected === 0 && c.postedInterrupts === 0) {
    why += ' No interrupt ever reached the guest, and its driver waits for one to receive frames and to reclaim sent ones (does programVector() return an MSI?).';
  }
  if (o.txDelivered < o.sentTx.length || (t.txExpected > 0 && o.sentTx.length < t.txExpected)) {
    out.push({ code: 'ia-tx-missing', data: { run, delivered: o.txDelivered, sent: t.txExpected, why } });
  }
  if (o.rxDelivered < t.rxExpected) out.push({ code: 'ia-rx-missing', data: { run, delivered: o.rxDelivered, sent: t.rxExpected, why } });
  if (o.txExtra + o.rxExtra > 0) out.push({ code: 'ia-extra-frames', data: { run, extra: o.txExtra + o.rxExtra } });
  return out;
}
