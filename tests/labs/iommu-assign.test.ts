/**
 * The iommu-assign lab both ways (STYLE.md §3.8): the reference scores full marks on every seed
 * tried and keeps a margin under each frozen threshold; the starter fails with the expected
 * checks; wrong solutions — each one a classic host-side assignment bug — fail with the expected
 * domain messages; learner exceptions, garbage and endless loops are reported; a solution
 * hard-coded to the Check seeds fails Grade; runs are deterministic; and a property test drives
 * random map/unmap/DMA sequences through the learner-facing capability with the reference:
 * isolation never breaks and unmapped memory is never reachable.
 */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { getLabInfo, gradeSeeds, runLabSeed, formatGradeText, compileModule, type SeedOutcome } from '../../lab-engine/index.ts';
import { gradeOutcomes } from '../../lab-engine/grader/grade.ts';
import { MESSAGES } from '../../lab-engine/grader/messages/en.ts';
import { runSeedIsolated } from '../../lab-engine/node/run-seeds.ts';
import { IOMMU_ASSIGN_API } from '../../lab-engine/labs/iommu-assign/api.ts';
import { seedConfig, type SeedConfig } from '../../lab-engine/labs/iommu-assign/seeds.ts';
import { EXITS_PER_INTERRUPT_MAX, IOTLB_MISSES_PER_PACKET_MAX, THROUGHPUT_FRACTION_MIN } from '../../lab-engine/labs/iommu-assign/lab.ts';
import { buildLabHost, runSetup } from '../../lab-engine/labs/iommu-assign/setup-run.ts';
import { LearnerSetup, LabStop, type LearnerExports } from '../../lab-engine/labs/iommu-assign/adapter.ts';
import { PAGE_2M, PAGE_4K } from '../../lab-engine/hw/iommu/dma-remap.ts';
import { failing, mutator, output, seedsWhere as seedsWhereIn, type Graded } from './kit.ts';

const LAB = 'iommu-assign';
const info = getLabInfo(LAB)!;
const reference = readFileSync(new URL('../../lab-engine/labs/iommu-assign/reference.ts', import.meta.url), 'utf8');
const FRESH = [987654321, 123456789, 555555555];

const mutate = mutator(reference);

/** Seeds with a given property, from a deterministic scan. */
const seedsWhere = (pred: (c: SeedConfig) => boolean, n: number, from = 1): number[] => seedsWhereIn(seedConfig, pred, n, from, 10_000);

function learnerExports(source: string): LearnerExports {
  const c = compileModule(source, { 'iovlab/iommu-assign': IOMMU_ASSIGN_API });
  if (!c.ok) throw new Error('does not compile');
  const i = c.instantiate();
  if (!i.ok) throw new Error('does not load');
  return i.exports as unknown as LearnerExports;
}

/** Variants a learner might write on the way. */
const V = {
  /** Round each region's last partial 2 MiB up to a whole 2 MiB page. */
  roundUp: mutate('const bigEnd = Math.floor(end / PAGE_2M) * PAGE_2M;', 'const bigEnd = Math.ceil(end / PAGE_2M) * PAGE_2M;')
    .replace('  mapOrThrow(iommu, bigEnd, bigEnd + delta, end - bigEnd, PAGE_4K); // tail\n', '')
    .replace("  if (!r.ok) throw new Error(`map ${iova.toString(16)}+${size.toString(16)}: ${r.message}`);", '  if (!r.ok) iommu.log(r.message);'),
  /** Map the hole below each region along with the region ("one range from the last end"). */
  holes: mutate('export function mapRegion(region: RamRegion, iommu: Iommu): void {', `let prevEnd = 0;
export function mapRegion(region: RamRegion, iommu: Iommu): void {
  if (region.gpa > prevEnd) iommu.map(prevEnd, region.hpa - (region.gpa - prevEnd), region.gpa - prevEnd, RW, PAGE_4K);
  prevEnd = region.gpa + region.size;`),
  /** 2 MiB pages wherever alignment allows, huge pages or not. */
  hugeEverywhere: mutate('if (!region.hugepages || region.gpa % PAGE_2M !== region.hpa % PAGE_2M) {', 'if (region.gpa % PAGE_2M !== region.hpa % PAGE_2M) {'),
  /** 4 KiB pages only. */
  small: mutate('if (!region.hugepages || region.gpa % PAGE_2M !== region.hpa % PAGE_2M) {', 'if (true) {'),
  noInvalidate: mutate('  iommu.invalidate(region.gpa, region.size);\n', ''),
  invalidateOnly: mutate('  const r = iommu.unmap(region.gpa, region.size);\n  if (!r.ok) throw new Error(`unmap ${region.name}: ${r.message}`);\n', ''),
  domainInvalidate: mutate('  iommu.invalidate(region.gpa, region.size);\n', '  iommu.invalidate();\n'),
  svt0: mutate('svt: SVT_SID_SQ }', 'svt: 0 }'),
  sqPhantom: mutate('sq: SQ_ALL_BITS,', 'sq: 3,'),
  vcpu0: mutate('destination: vcpu.apicId', 'destination: ctx.vcpus[0]!.apicId'),
  guestVectorRemapped: mutate('vector: ctx.hostVector,', 'vector: req.guestVector,'),
  pda0: mutate('pda: vcpu.pid', 'pda: ctx.vcpus[0]!.pid'),
  alwaysRemapped: mutate("if (ctx.mode === 'posted') {", 'if (false) {'),
  signedAddress: mutate('address: ((d0 >>> 12) * 4096) + d1 * 0x1_0000_0000,', 'address: (d0 & ~0xfff) + d1 * 0x1_0000_0000,'),
  lowDwordOnly: mutate('address: ((d0 >>> 12) * 4096) + d1 * 0x1_0000_0000,', 'address: (d0 >>> 12) * 4096,'),
  ignoreF: mutate('if ((d3 & DMA_FRCD_F) === 0) continue;', ''),
  tInverted: mutate('write: (d3 & DMA_FRCD_T_READ) === 0,', 'write: (d3 & DMA_FRCD_T_READ) !== 0,'),
};

describe('iommu-assign: reference and starter', () => {
  it('the reference scores 100 on the public seeds and on 40 more', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 40 }, (_, i) => 1000 + i * 7919)];
    const r = gradeSeeds(LAB, reference, seeds, 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
    expect(r.score).toBe(100);
  });

  it('the frozen thresholds keep their margins over the reference on 200 seeds', () => {
    // Frozen from seeds 1–300: IOTLB misses per packet 0.011–0.021 (4 KiB-only mappings:
    // 0.87–1.09), VM exits per interrupt with posted interrupts 0.024–0.111 (one HLT per run;
    // remapped entries in the posted run: 1.00), throughput 0.980–1.068 of bare metal
    // (remapped entries: 0.59–0.91). These are different seeds from those.
    const worst = { miss: 0, exits: 0, fraction: Infinity };
    for (let seed = 5001; seed <= 5200; seed++) {
      const o = runLabSeed(LAB, reference, seed);
      if (o.kind !== 'ran') throw new Error('reference did not run');
      expect(o.findings, `seed ${seed}`).toEqual([]);
      const p = o.result.metrics.params as Record<string, number>;
      worst.miss = Math.max(worst.miss, p['gradedIotlbMisses']! / p['gradedPackets']!);
      worst.exits = Math.max(worst.exits, p['gradedExits']! / p['gradedInterrupts']!);
      worst.fraction = Math.min(worst.fraction, p['gradedThroughputFraction']!);
    }
    expect(worst.miss).toBeLessThan(IOTLB_MISSES_PER_PACKET_MAX * 0.5);
    expect(worst.exits).toBeLessThan(EXITS_PER_INTERRUPT_MAX * 0.6);
    // The issue fixes this bound (within 3 % of bare metal); the reference stays a point above it.
    expect(worst.fraction).toBeGreaterThan(THROUGHPUT_FRACTION_MIN + 0.005);
  }, 120_000);

  it('the starter compiles, runs, and fails the expected checks', () => {
    const r = gradeSeeds(LAB, info.starter, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([2, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.score).toBe(30);
    expect(output(r, 2)).toMatch(/seed 1 \(remapped run\): the guest received 0 of the \d+ frames sent to it\. Nothing was left to happen .* No interrupt ever reached the guest, and its driver waits for one .* \(does programVector\(\) return an MSI\?\)/);
    expect(output(r, 4)).toMatch(/seed 1: after .* was unplugged, the NIC still wrote IOVA 0x[0-9a-f]+, a page it had used just before the unplug: the region is still mapped/);
    expect(output(r, 5)).toMatch(/seed 1 \(remapped\): programVector\(\) returned null for MSI-X vector 0, which the guest unmasked/);
    expect(output(r, 7)).toMatch(/seed 1: fault event 1 \(set-up run\): \d fault recording register\(s\) had F set .* but onFaults\(\) returned 0 fault\(s\)/);
    expect(output(r, 8)).toMatch(/not run: check 2/);
  });
});

describe('iommu-assign: performance', () => {
  it('4 KiB pages on huge-page RAM fail only the IOTLB check, on every seed', () => {
    const seeds = [...info.publicSeeds, ...FRESH];
    const r = gradeSeeds(LAB, V.small, seeds, 'grade');
    expect(failing(r)).toEqual([8]);
    expect(output(r, 8)).toMatch(/seed 1: \d+ IOTLB misses for \d+ packets = (0\.[5-9]\d|1\.\d\d) per packet; the target is at most 0\.1 — with 4 KiB pages each buffer page needs its own IOTLB entry/);
    expect(output(r, 8)).toMatch(/… and 2 more/);
  });

  it('remapped entries where posted ones were asked for cost an exit per interrupt and throughput', () => {
    const r = gradeSeeds(LAB, V.alwaysRemapped, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([6, 9, 10]);
    expect(output(r, 9)).toMatch(/with posted interrupts, \d+ VM exits for \d+ interrupts = 1\.00 per interrupt; the target is at most 0\.25/);
    expect(output(r, 10)).toMatch(/with posted interrupts the VM reached [\d.]+ Gbit\/s, [5-9]\d\.\d % of bare metal's [\d.]+ Gbit\/s; the target is at least 97 %/);
  });
});

describe('iommu-assign: wrong mappings', () => {
  it('a 2 MiB page rounded over a region\'s end maps the neighbour VM, and the rogue DMA there lands in it', () => {
    // Seeds where nothing else sits in the last 2 MiB after the region the neighbour VM follows.
    const seeds = seedsWhere((c) => {
      const r = c.regions[c.abutIndex]!;
      const end = r.gpa + r.size;
      const top = Math.ceil(end / PAGE_2M) * PAGE_2M;
      return !c.regions.some((x) => x !== r && x.gpa < top && x.gpa + x.size > r.gpa) && r.gpa % PAGE_2M === r.hpa % PAGE_2M;
    }, 3);
    const r = gradeSeeds(LAB, V.roundUp, seeds, 'check');
    expect(failing(r)).toContain(3);
    expect(output(r, 3)).toMatch(/is mapped \(2 MiB page, to HPA 0x[0-9a-f]+: .*the neighbour VM's RAM.*\), but no guest RAM is there/);
    const o = runLabSeed(LAB, V.roundUp, seeds[0]!);
    expect(o.kind === 'ran' && o.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['ia-over-mapped']));
    // The rogue DMA just past the region's end reached the neighbour (it is not the only finding, so look at the setup run).
    const setup = runSetup(seedConfig(seeds[0]!), learnerExports(V.roundUp));
    const landed = setup.rogue.filter((x) => x.result.ok).map((x) => x.where ?? '');
    expect(landed.some((w) => w.includes('neighbour VM'))).toBe(true);
    expect(setup.neighbourPages).toBeGreaterThan(0);
  });

  it('mapping the holes between regions fails isolation, naming the range and what it reaches', () => {
    const seeds = seedsWhere((c) => c.regions.some((r, i) => i > 0 && r.gpa > c.regions[i - 1]!.gpa + c.regions[i - 1]!.size), 2);
    const r = gradeSeeds(LAB, V.holes, seeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([3]));
    expect(failing(r)).not.toContain(1);
    expect(output(r, 3)).toMatch(/IOVA 0x[0-9a-f]+–0x[0-9a-f]+ is mapped \(4 KiB page, to HPA 0x[0-9a-f]+: .*\), but no guest RAM is there/);
  });

  it('2 MiB pages over memory that huge pages do not back fail isolation', () => {
    const seeds = seedsWhere((c) => c.regions.some((r) => !r.hugepages && r.gpa % PAGE_2M === r.hpa % PAGE_2M && Math.floor((r.gpa + r.size) / PAGE_2M) > Math.ceil(r.gpa / PAGE_2M)), 2);
    const r = gradeSeeds(LAB, V.hugeEverywhere, seeds, 'check');
    expect(failing(r)).toContain(3);
    expect(output(r, 3)).toMatch(/a 2 MiB page at IOVA 0x[0-9a-f]+ covers .*, which the host backs with 4 KiB pages/);
  });

  it('a translation to the wrong host page is named with both addresses', () => {
    const src = mutate('mapOrThrow(iommu, start, region.hpa, region.size, PAGE_4K);\n    return;\n  }\n  const bigStart', 'mapOrThrow(iommu, start, region.hpa + PAGE_4K, region.size, PAGE_4K);\n    return;\n  }\n  const bigStart', V.small);
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(failing(r)).toContain(1);
    expect(output(r, 1)).toMatch(/seed 1: .* at IOVA 0x[0-9a-f]+ translates to HPA 0x[0-9a-f]+, but that guest page lives at HPA 0x[0-9a-f]+/);
  });

  it('a read-only mapping is named as such', () => {
    const src = mutate('const RW = { read: true, write: true };', 'const RW = { read: true, write: false };');
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(failing(r)).toContain(1);
    expect(output(r, 1)).toMatch(/is mapped read-only: the NIC both reads guest RAM .* and writes it/);
  });

  it('a region mapRegion skips is reported with the map error that caused it', () => {
    // Ask for 2 MiB pages with a 4 KiB-aligned head: the domain refuses, and the message says so.
    const src = mutate("mapOrThrow(iommu, start, start + delta, bigStart - start, PAGE_4K); // head", 'iommu.map(start, start + delta, bigEnd - start, RW, PAGE_2M);')
      .replace("mapOrThrow(iommu, bigStart, bigStart + delta, bigEnd - bigStart, PAGE_2M); // body", '');
    const seeds = seedsWhere((c) => c.regions.some((r) => r.hugepages && r.gpa % PAGE_2M !== 0 && r.gpa % PAGE_2M === r.hpa % PAGE_2M), 1);
    const r = gradeSeeds(LAB, src, seeds, 'check');
    expect(failing(r)).toContain(1);
    expect(output(r, 1)).toMatch(/are not mapped, so the NIC's DMA there faults; your iommu\.map\(0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+, …, PAGE_2M\) returned "unaligned: map: IOVA/);
  });
});

describe('iommu-assign: unmapping', () => {
  it('on every seed the IOTLB holds a translation of the region when it is unplugged (the trap is armed)', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const s = runSetup(seedConfig(seed), learnerExports(reference));
      expect(s.reached, `seed ${seed}`).toBe('done');
      expect(s.unplug!.iotlbHeld, `seed ${seed}`).toBe(true);
      expect(s.unplug!.probes.every((p) => !p.landed), `seed ${seed}`).toBe(true);
    }
  });

  it('unmap without an IOTLB invalidation leaves a stale translation: "unmapped memory still reachable"', () => {
    const r = gradeSeeds(LAB, V.noInvalidate, [...info.publicSeeds, ...FRESH], 'grade');
    expect(failing(r)).toEqual([4]);
    expect(output(r, 4)).toMatch(/seed 1: after .* was unplugged, the NIC still wrote IOVA 0x[0-9a-f]+, a page it had used just before the unplug: the page tables no longer map it, but the IOTLB still held the translation/);
  });

  it('invalidating without unmapping leaves the region mapped', () => {
    const r = gradeSeeds(LAB, V.invalidateOnly, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([4]);
    expect(output(r, 4)).toMatch(/the region is still mapped; unmapRegion must remove its mappings/);
  });

  it('a domain-selective invalidation is as good as a page-selective one', () => {
    expect(gradeSeeds(LAB, V.domainInvalidate, info.publicSeeds, 'check').tests[3]!.status).toBe('passed');
  });

  it('unmapping more than the region (rounded to 2 MiB) takes a neighbouring region with it', () => {
    const src = mutate('const r = iommu.unmap(region.gpa, region.size);', 'const lo = Math.floor(region.gpa / PAGE_2M) * PAGE_2M;\n  const r = iommu.unmap(lo, Math.ceil((region.gpa + region.size) / PAGE_2M) * PAGE_2M - lo);');
    const seeds = seedsWhere((c) => {
      const u = c.regions[c.unplugIndex]!;
      const lo = Math.floor(u.gpa / PAGE_2M) * PAGE_2M;
      const hi = Math.ceil((u.gpa + u.size) / PAGE_2M) * PAGE_2M;
      return c.regions.some((x) => x !== u && x.gpa < hi && x.gpa + x.size > lo);
    }, 2);
    const r = gradeSeeds(LAB, src, seeds, 'check');
    expect(failing(r)).toContain(4);
    expect(output(r, 4)).toMatch(/unplugging .* also unmapped .* of .* \(from IOVA 0x[0-9a-f]+\): only the region leaving may go/);
  });
});

describe('iommu-assign: interrupts', () => {
  it('an IRTE without source-id validation (SVT = 00b) lets a spoofed MSI through, in both modes', () => {
    const r = gradeSeeds(LAB, V.svt0, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([5, 6]));
    expect(output(r, 5)).toMatch(/seed 1 \(remapped\): an MSI from its sibling function [0-9a-f:.]+ naming vector 0's IRTE was delivered instead of blocked \(the entry has SVT 00b, SQ 00b, SID [0-9a-f:.]+\)/);
    expect(output(r, 6)).toMatch(/seed 1 \(posted\): an MSI from .* was posted instead of blocked/);
  });

  it('SQ = 11b (ignore the function number) lets the NIC\'s sibling function spoof it', () => {
    const r = gradeSeeds(LAB, V.sqPhantom, info.publicSeeds, 'check');
    expect(output(r, 5)).toMatch(/an MSI from its sibling function .* was delivered instead of blocked \(the entry has SVT 01b, SQ 11b/);
  });

  it('every interrupt to vCPU 0\'s CPU fails where the guest asked for another vCPU', () => {
    const r = gradeSeeds(LAB, V.vcpu0, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([5]);
    expect(output(r, 5)).toMatch(/the guest wants vector 0x[0-9a-f]+ on vCPU [1-9]\) came out with destination APIC ID 0x2; it should be 0x[3-9a-f]/);
  });

  it('the guest\'s vector in a remapped IRTE is the wrong vector: the host\'s handler is not there', () => {
    const r = gradeSeeds(LAB, V.guestVectorRemapped, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([5]));
    expect(output(r, 5)).toMatch(/came out with vector 0x[0-9a-f]+; it should be 0x3\d/);
  });

  it('a posted entry pointing at the wrong vCPU\'s descriptor is named with both addresses', () => {
    const r = gradeSeeds(LAB, V.pda0, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([6]));
    expect(output(r, 6)).toMatch(/came out with posted-interrupt descriptor address 0x200000; it should be 0x2000[0-9a-f]0/);
  });

  it('staying in remapped format when asked for posted fails the posted check', () => {
    const r = gradeSeeds(LAB, V.alwaysRemapped, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([6]));
    expect(failing(r)).not.toContain(5);
    expect(output(r, 6)).toMatch(/was remapped to host vector 0x3\d instead of posted: with ctx.mode 'posted' the IRTE must be in posted format \(IM = 1\)/);
  });
});

describe('iommu-assign: fault records', () => {
  it('an address decoded with signed 32-bit arithmetic is wrong above 2 GiB', () => {
    const r = gradeSeeds(LAB, V.signedAddress, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([7]);
    expect(output(r, 7)).toMatch(/record \d: you decoded address as 0x[0-9a-f]+, but the register holds 0x[0-9a-f]+/);
  });

  it('ignoring the high dword of the address fails on faults above 4 GiB', () => {
    const r = gradeSeeds(LAB, V.lowDwordOnly, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([7]);
  });

  it('reporting registers whose F bit is clear counts old faults again', () => {
    const r = gradeSeeds(LAB, V.ignoreF, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([7]);
    expect(output(r, 7)).toMatch(/\d fault recording register\(s\) had F set \(and \d+ held an old record with F clear\), but onFaults\(\) returned 8 fault\(s\)/);
  });

  it('reading T the wrong way round swaps reads and writes', () => {
    const r = gradeSeeds(LAB, V.tInverted, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([7]);
    expect(output(r, 7)).toMatch(/you decoded write as (true|false), but the register holds (false|true)/);
  });

  it('every seed has faults of several reasons, addresses above 4 GiB, and an event that finds old records', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const s = runSetup(seedConfig(seed), learnerExports(reference));
      const truth = s.setup.record.faultEvents.flatMap((e) => e.truth);
      expect(new Set(truth.map((t) => t.reason)).size, `seed ${seed}`).toBeGreaterThanOrEqual(3);
      expect(truth.some((t) => t.address >= 2 ** 32), `seed ${seed}`).toBe(true);
      expect(truth.some((t) => !t.write) && truth.some((t) => t.write), `seed ${seed}`).toBe(true);
      expect(s.setup.record.faultEvents.some((e) => e.staleSlots > 0), `seed ${seed}`).toBe(true);
    }
  });
});

describe('iommu-assign: learner errors are reported', () => {
  it('a function that throws stops the run with the learner line', () => {
    const src = mutate('  const delta = region.hpa - region.gpa;', '  const delta = region.hpa - region.gpa;\n  if (region.size > 0) (region as any).nope.x = 1;');
    const line = src.split('\n').findIndex((l) => l.includes('(region as any).nope.x')) + 1;
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind).toBe('ran');
    if (o.kind !== 'ran') return;
    const d = o.result.diagnostics.find((x) => x.code === 'learner-threw')!;
    expect(d.line).toBe(line);
    expect(d.message).toMatch(new RegExp(`Your mapRegion\\(\\) threw TypeError: .* at line ${line}, while mapping .* \\(VFIO_IOMMU_MAP_DMA of GPA 0x[0-9a-f]+\\+0x[0-9a-f]+\\) in the set-up run\\. The run stopped there\\.`));
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(output(r, 1)).toMatch(/seed 1 \(set-up run\): Your mapRegion\(\) threw TypeError/);
  });

  it('a loop that keeps calling the IOMMU is stopped by the call budget, in-process', () => {
    const src = mutate('export function unmapRegion(region: RamRegion, iommu: Iommu): void {', 'export function unmapRegion(region: RamRegion, iommu: Iommu): void {\n  while (iommu.lookup(region.gpa) !== undefined) iommu.unmap(region.gpa, 4096);');
    const t0 = performance.now();
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(failing(r)).toContain(4);
    expect(output(r, 4)).toMatch(/seed 1 \(set-up run\): Your unmapRegion\(\) made more than 100,000 calls \(the last one iommu\.(lookup|unmap)\(\)\) in the set-up run: a loop that never ends\?/);
  });

  it('an endless loop that calls nothing is stopped by the watchdog and graded as a timeout', async () => {
    const loop = mutate('export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {', 'export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {\n  while (regs.fsts >= 0) {}');
    const o = await runSeedIsolated(LAB, loop, 1, 1_500);
    expect(o.kind).toBe('timeout');
    const r = gradeOutcomes(LAB, [o], { mode: 'check', codeHash: 'x' });
    expect(r.score).toBe(0);
    expect(output(r as Graded, 7)).toMatch(/seed 1: your code ran for more than 1\.5 s without returning/);
  }, 30_000);

  it('garbage return values are named', () => {
    const r = gradeSeeds(LAB, mutate('  return irt.msi(ctx.irteIndex);', '  return 42 as any;'), [1], 'check');
    expect(output(r, 5)).toMatch(/seed 1 \(remapped\): programVector\(\) for MSI-X vector 0 returned 42; it must return the MSI \{ address, data \}/);
    const u = gradeSeeds(LAB, mutate('  return irt.msi(ctx.irteIndex);', '  irt.msi(ctx.irteIndex);\n  return undefined as any;'), [1], 'check');
    expect(output(u, 5)).toMatch(/returned undefined \(a missing return\?\)/);
    const f = gradeSeeds(LAB, mutate('  return out;\n}', '  return { out } as any;\n}'), [1], 'check');
    expect(output(f, 7)).toMatch(/onFaults\(\) returned \{"out":.* \(it must return an array of decoded faults\)/);
  });

  it('bad arguments to a capability are TypeErrors that say what was expected', () => {
    const src = mutate('const r = iommu.map(iova, hpa, size, RW, pageSize);', "const r = iommu.map(iova, hpa, size, RW, '4k' as any);");
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind === 'ran' && o.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/TypeError: iommu\.map: pageSize must be PAGE_4K \(4096\) or PAGE_2M \(2097152\), got "4k"/);
    const w = mutate("irt.write(ctx.irteIndex, { mode: 'remapped'", "irt.write(ctx.irteIndex + 100, { mode: 'remapped'");
    const ow = runLabSeed(LAB, w, 1);
    expect(ow.kind === 'ran' && ow.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/RangeError: irt\.write: IRTE \d+ is not this NIC's: the host allocated it IRTEs 32–\d+/);
    const p = mutate("{ mode: 'posted', ...source, vector: req.guestVector, pda: vcpu.pid }", "{ mode: 'posted', ...source, vector: req.guestVector, pda: String(vcpu.pid) as any }");
    const op = runLabSeed(LAB, p, 1);
    expect(op.kind === 'ran' && op.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/TypeError: irt\.write: pda must be a host-physical address/);
  });

  it('a capability kept past its call cannot be used', () => {
    const src = mutate('export function mapRegion(region: RamRegion, iommu: Iommu): void {', 'let kept: Iommu | undefined;\nexport function mapRegion(region: RamRegion, iommu: Iommu): void {\n  if (kept) kept.lookup(0);\n  kept = iommu;');
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind === 'ran' && o.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/iommu\.lookup\(\) was called after the mapRegion\(\) call it was passed to returned/);
  });

  it('syntax errors and missing exports are reported before any run', () => {
    const o = runLabSeed(LAB, 'export function mapRegion(region {\n}', 1);
    expect(o.kind === 'compile-error' && o.diagnostics[0]!.message).toMatch(/Syntax error: .*line 1/);
    const m = runLabSeed(LAB, 'export function mapRegion() {}\nexport function onFaults() { return []; }', 1);
    expect(m.kind === 'compile-error' && m.diagnostics[0]!.message).toMatch(/must export four functions: .* unmapRegion, programVector are missing/);
  });
});

describe('iommu-assign: seeds and integrity', () => {
  it('seeds vary the layout, the alignment, the huge pages, the NIC, the vCPUs and vectors, the rogue targets and the unplug', () => {
    const cfgs = Array.from({ length: 40 }, (_, i) => seedConfig(i + 1));
    const vary = (what: string, f: (c: SeedConfig) => unknown): void => {
      expect(new Set(cfgs.map((c) => JSON.stringify(f(c)))).size, what).toBeGreaterThan(1);
    };
    vary('region count', (c) => c.regions.length);
    vary('low RAM', (c) => c.regions[0]!.name);
    vary('sizes', (c) => c.regions.map((r) => r.size));
    vary('which regions huge pages back', (c) => c.regions.map((r) => r.hugepages));
    vary('GPA 2 MiB alignment', (c) => c.regions.map((r) => r.gpa % PAGE_2M === 0));
    vary('GPA and HPA aligned alike', (c) => c.regions.map((r) => r.gpa % PAGE_2M === r.hpa % PAGE_2M));
    vary('holes', (c) => c.regions.slice(1).map((r, i) => r.gpa > c.regions[i]!.gpa + c.regions[i]!.size));
    vary('the region the neighbour follows', (c) => c.abutIndex);
    vary('requester id', (c) => c.nic.sourceId);
    vary('vectors', (c) => c.nic.vectors);
    vary('vCPUs', (c) => c.vcpus);
    vary('vector targets', (c) => c.vectors.map((v) => [v.vcpu, v.guestVector]));
    vary('rogue targets', (c) => c.rogueBatches.flat().map((r) => r.iova));
    vary('the unplugged region', (c) => c.unplugIndex);
    vary('buffer base', (c) => c.bufferBase);
    vary('traffic', (c) => [c.txFrames, c.rxFrames]);
    for (const c of cfgs) {
      // Sizes are 4 KiB multiples and never 2 MiB multiples; regions never overlap; the buffers fit a huge-page region.
      for (const r of c.regions) {
        expect(r.size % PAGE_4K).toBe(0);
        expect(r.size % PAGE_2M).not.toBe(0);
      }
      const b = c.regions[c.bufferIndex]!;
      expect(b.hugepages && b.gpa % PAGE_2M === b.hpa % PAGE_2M).toBe(true);
      expect(c.bufferBase % PAGE_2M).toBe(0);
      expect(c.bufferBase >= b.gpa && c.bufferBase + 4 * 1024 * 1024 <= b.gpa + b.size).toBe(true);
      expect(c.unplugIndex).not.toBe(c.bufferIndex);
      // Every vCPU index a vector names exists, and some vector targets a vCPU other than 0.
      expect(c.vectors.every((v) => v.vcpu < c.vcpus)).toBe(true);
      expect(c.vectors.some((v) => v.vcpu > 0)).toBe(true);
      // No rogue DMA aims at guest RAM from the NIC itself (those would be legitimate).
      for (const r of c.rogueBatches.flat()) {
        if (r.sourceId !== c.nic.sourceId) continue;
        const inside = c.regions.some((g) => r.iova >= g.gpa && r.iova + r.len <= g.gpa + g.size);
        expect(inside, r.label).toBe(false);
      }
    }
  });

  it('a solution hard-coded to the Check seeds passes Check but fails Grade', () => {
    // Record what the reference's onFaults returned for each register file on the public seeds,
    // then replay it by fingerprint, decoding nothing.
    const spy = mutate('  return out;\n}', '  (globalThis as any).__rec.push([JSON.stringify(regs.records), out]);\n  return out;\n}');
    const g = globalThis as unknown as { __rec: [string, unknown][] };
    g.__rec = [];
    for (const seed of info.publicSeeds) runLabSeed(LAB, spy, seed);
    const known = JSON.stringify(g.__rec);
    const cheat = mutate('export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {', `const KNOWN = new Map<string, DecodedFault[]>(${known} as any);
export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {
  void host;
  if (regs.records.length > 0) return KNOWN.get(JSON.stringify(regs.records)) ?? [];`);
    const check = gradeSeeds(LAB, cheat, info.publicSeeds, 'check');
    expect(check.score).toBe(100);
    const grade = gradeSeeds(LAB, cheat, [...info.publicSeeds, ...FRESH], 'grade');
    expect(grade.score).toBeLessThan(check.score);
    expect(failing(grade)).toContain(7);
    expect(output(grade, 7)).toMatch(/seed 987654321/);
  });

  it('the same source and seed give the same run', () => {
    const a = runLabSeed(LAB, reference, 3);
    const b = runLabSeed(LAB, reference, 3);
    if (a.kind !== 'ran' || b.kind !== 'ran') throw new Error('did not run');
    expect(a.result.traceHash).toBe(b.result.traceHash);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const s1 = gradeSeeds(LAB, V.noInvalidate, [2], 'check');
    const s2 = gradeSeeds(LAB, V.noInvalidate, [2], 'check');
    expect(s1).toEqual(s2);
  });

  it('every finding code of the lab has an English message', () => {
    const src = readFileSync(new URL('../../lab-engine/labs/iommu-assign/lab.ts', import.meta.url), 'utf8');
    const codes = new Set([...src.matchAll(/\bf1?\('[\w-]+', '([\w-]+)'/g), ...src.matchAll(/code: '(ia-[\w-]+)'/g)].map((m) => m[1]!));
    for (const dir of ['tx', 'rx']) for (const k of ['length', 'differs']) codes.add(`ia-${dir}-${k}`);
    expect(codes.size).toBeGreaterThan(25);
    for (const c of codes) expect(MESSAGES[c], c).toBeTypeOf('function');
  });

  it('the API declarations agree with the runtime values, and reference, starter and variants type-check against them', () => {
    for (const [name, value] of Object.entries(IOMMU_ASSIGN_API)) {
      if (typeof value === 'function') {
        expect(info.apiDts, name).toMatch(new RegExp(`export function ${name}\\(`));
        continue;
      }
      const m = new RegExp(`export const ${name}: (0x[0-9a-f]+|\\d+);`).exec(info.apiDts);
      expect(m, name).not.toBeNull();
      expect(Number(m![1]), name).toBe(value);
    }
    expect(typecheck(info.apiDts, { reference, starter: info.starter, ...V })).toBe('');
  });
});

describe('iommu-assign: property — isolation never breaks, unmapped memory is never reachable', () => {
  const ref = learnerExports(reference);
  type Op =
    | { op: 'map' | 'unmap'; region: number }
    | { op: 'dma'; region: number; where: 'inside' | 'end' | 'past-end' | 'before' | 'far'; frac: number; len: number; write: boolean };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constantFrom('map' as const, 'unmap' as const), region: fc.nat(3) }),
    fc.record({
      op: fc.constant('dma' as const), region: fc.nat(3), where: fc.constantFrom('inside' as const, 'inside' as const, 'end' as const, 'past-end' as const, 'before' as const, 'far' as const),
      frac: fc.double({ min: 0, max: 1, noNaN: true }), len: fc.integer({ min: 1, max: 9000 }), write: fc.boolean(),
    }),
  );

  it('random map/unmap/DMA sequences through the learner-facing capability, with the reference', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.array(opArb, { minLength: 1, maxLength: 40 }), (seed, ops) => {
        const cfg = seedConfig(seed);
        const h = buildLabHost(cfg);
        const setup = new LearnerSetup(ref, [], () => {});
        const mapped = new Set<number>();
        const regions = cfg.regions;
        const covered = (a: number, len: number): boolean => {
          // Every byte of [a, a + len) lies in some mapped region (regions are 4 KiB granular).
          for (let p = Math.floor(a / PAGE_4K) * PAGE_4K; p < a + len; p += PAGE_4K) {
            if (![...mapped].some((i) => p >= regions[i]!.gpa && p < regions[i]!.gpa + regions[i]!.size)) return false;
          }
          return true;
        };
        for (const o of ops) {
          const i = o.region % regions.length;
          const r = regions[i]!;
          if (o.op === 'map') {
            if (!mapped.has(i)) setup.mapRegion(r, h);
            mapped.add(i);
          } else if (o.op === 'unmap') {
            if (mapped.has(i)) setup.unmapRegion(r, h);
            mapped.delete(i);
          } else if (o.op === 'dma') {
            const end = r.gpa + r.size;
            const iova =
              o.where === 'inside' ? r.gpa + Math.floor(o.frac * (r.size - 1))
              : o.where === 'end' ? end - 1 - Math.floor(o.frac * 64)
              : o.where === 'past-end' ? end + Math.floor(o.frac * PAGE_2M)
              : o.where === 'before' ? Math.max(0, r.gpa - 1 - Math.floor(o.frac * PAGE_2M))
              : 2 ** 32 + Math.floor(o.frac * 2 ** 40);
            const res = o.write ? h.iommu.dmaWrite(cfg.nic.sourceId, iova, new Uint8Array(o.len).fill(0x77)) : h.iommu.dmaRead(cfg.nic.sourceId, iova, o.len);
            expect(res.ok, `${o.write ? 'write' : 'read'} ${o.len} B at 0x${iova.toString(16)}`).toBe(covered(iova, o.len));
            if (res.ok) for (const s of res.segments) expect([s.vm, s.gpa]).toEqual([h.vm, s.iova]);
          }
          expect(h.neighbour.mem.pagesTouched).toBe(0);
        }
        h.iommu.clearFaults();
      }),
      { numRuns: 80 },
    );
  });

  it('the same property catches the bugs it is meant to catch (it can fail)', () => {
    // Without the invalidation a DMA right after an unmap still lands: the property above would fail.
    const cfg = seedConfig(7);
    const h = buildLabHost(cfg);
    const bad = new LearnerSetup(learnerExports(V.noInvalidate), [], () => {});
    const r = cfg.regions[cfg.unplugIndex]!;
    bad.mapRegion(r, h);
    expect(h.iommu.dmaWrite(cfg.nic.sourceId, r.gpa, new Uint8Array(8)).ok).toBe(true);
    bad.unmapRegion(r, h);
    expect(h.iommu.dmaWrite(cfg.nic.sourceId, r.gpa, new Uint8Array(8)).ok).toBe(true);
    // And a learner exception unwinds as LabStop, never as the learner's own error.
    const thrower = new LearnerSetup(learnerExports(mutate('export function mapRegion(region: RamRegion, iommu: Iommu): void {', 'export function mapRegion(region: RamRegion, iommu: Iommu): void {\n  throw new Error("boom");')), [], () => {});
    expect(() => thrower.mapRegion(r, h)).toThrow(LabStop);
  });
});
