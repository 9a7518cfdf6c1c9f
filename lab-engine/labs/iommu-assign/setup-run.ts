/**
 * The set-up run of an iommu-assign seed: no traffic, the host's side of assignment probed
 * directly through the hardware models, in the order a VM's life would take it:
 *   1. assignment: QEMU's VFIO flow, each VFIO_IOMMU_MAP_DMA handed to the learner's mapRegion;
 *   2. the census of the domain's page tables, and DMAs by the NIC into every region (a marker
 *      written through the IOMMU must land at the right guest-physical address and read back);
 *   3. every MSI-X vector programmed in remapped format, each MSI sent through the remapping unit
 *      by the NIC and by two spoofers; then again in posted format (KVM's IRQ bypass);
 *   4. rogue DMAs in batches, each batch followed by the IOMMU's fault event (the learner's onFaults);
 *   5. a hot-unplug: the NIC touches the region (so the IOTLB holds its translations), the
 *      learner's unmapRegion runs, VFIO unpins, and DMAs into the region must fault; the census
 *      again, over the regions that are left.
 * The domain is built with a deferred flush queue that never flushes on its own: clearing page
 * tables does not touch the IOTLB, so whether a stale translation survives is the learner's doing.
 */
import { GuestMemory } from '../../hw/memory.ts';
import { PAGE_4K, type DmaResult } from '../../hw/iommu/dma-remap.ts';
import { drainPir, postInterrupt } from '../../hw/iommu/posted.ts';
import { DLM_FIXED, formatRequesterId, type RemapResult } from '../../hw/iommu/irq-remap.ts';
import { assignNic, buildAssignedHost, HOST_VECTOR_BASE, type AssignedHost, type GuestRamRegion } from '../../hv/assignment.ts';
import { Rng } from '../../sim/rng.ts';
import type { Diagnostic } from '../../sim/types.ts';
import { LabStop, LearnerSetup, type LearnerExports } from './adapter.ts';
import { census, tableLeaves, type CensusProblem } from './observe.ts';
import type { RogueDma, SeedConfig, VectorPlan } from './seeds.ts';

/** A domain flush queue that never fills: nothing invalidates the IOTLB unless the learner does. */
const NEVER = 2 ** 30;

export type Phase = 'assign' | 'probe' | 'remapped' | 'posted' | 'rogue' | 'unplug' | 'done';

export interface DmaProbeProblem {
  region: string;
  iova: number;
  write: boolean;
  message: string;
}

export interface VectorOutcome {
  plan: VectorPlan;
  mode: 'remapped' | 'posted';
  /** What the learner's programVector returned for it (last call). */
  msi: { address: number; data: number } | null;
  bad?: string;
  result?: RemapResult;
  /** Fields that differ from what the guest asked for: [field, got, expected]. */
  wrong: [string, string, string][];
  /** Spoofers whose MSI was delivered. */
  spoofed: { label: string; kind: string; entry: string }[];
  postFailed?: string;
}

export interface RogueOutcome {
  rogue: RogueDma;
  result: DmaResult;
  /** Where it landed (ok) or what it translated to (refused only because no RAM / host memory). */
  where?: string;
}

export interface UnplugProbe {
  iova: number;
  write: boolean;
  hot: boolean;
  landed: boolean;
  /** It landed through an IOTLB entry whose page-table mapping was gone. */
  stale: boolean;
  stillMapped: boolean;
}

export interface SetupOutcome {
  reached: Phase;
  stopped?: Diagnostic;
  vfioError?: string;
  setup: LearnerSetup;
  problems: CensusProblem[];
  dma: DmaProbeProblem[];
  vectors: VectorOutcome[];
  rogue: RogueOutcome[];
  unplug?: {
    region: GuestRamRegion;
    /** The IOTLB held a translation for the region when unmapRegion was called. */
    iotlbHeld: boolean;
    probes: UnplugProbe[];
    problems: CensusProblem[];
  };
  neighbourPages: number;
  logs: string[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The host of the set-up run: hv/assignment.ts's, with a domain whose unmaps never invalidate by themselves (see the header). */
export function buildLabHost(cfg: SeedConfig): AssignedHost {
  const guestMem = new GuestMemory(cfg.ramTop);
  return buildAssignedHost({ guestMem, guestRam: cfg.regions, nic: cfg.nic, vcpus: cfg.vcpus, irqMode: 'remapped', neighbourBytes: cfg.neighbourBytes, policy: 'deferred', flushEvery: NEVER });
}

export function runSetup(cfg: SeedConfig, exp: LearnerExports): SetupOutcome {
  const logs: string[] = [];
  const setup = new LearnerSetup(exp, logs, () => {});
  const out: SetupOutcome = { reached: 'assign', setup, problems: [], dma: [], vectors: [], rogue: [], neighbourPages: 0, logs };
  const h = buildLabHost(cfg);
  const sid = cfg.nic.sourceId;
  const rng = new Rng((cfg.seed ^ 0x5e7109) >>> 0);
  const faultEvent = (phase: string): void => {
    const pfo = h.iommu.primaryFaultOverflow;
    const faults = h.iommu.clearFaults();
    if (faults.length === 0 && !pfo) return;
    setup.phase = phase;
    setup.onFaults(faults, h, pfo);
  };

  try {
    // 1. Assignment.
    setup.phase = 'set-up';
    const a = assignNic(h, setup);
    if (!a.ok) {
      out.vfioError = `${a.errno}: ${a.message}`;
      return finish(out, h);
    }
    // 2. What got mapped, and the NIC's DMAs into every region.
    out.reached = 'probe';
    out.problems = census(tableLeaves(h.ram, h.domain.root), cfg.regions, h.ram, h.vm);
    for (const r of cfg.regions) probeRegion(h, r, rng, out.dma);
    faultEvent('set-up');

    // 3. Interrupts: remapped, then posted.
    for (const mode of ['remapped', 'posted'] as const) {
      out.reached = mode;
      setup.modeOverride = mode;
      for (const p of cfg.vectors) setup.programVector({ vector: p.vector, guestVector: p.guestVector, vcpu: p.vcpu, masked: false }, h);
      for (const p of cfg.vectors) out.vectors.push(checkVector(h, setup, p, mode, cfg));
    }
    setup.modeOverride = undefined;

    // 4. Rogue DMAs, batch by batch, each batch ending with the fault event.
    out.reached = 'rogue';
    for (const batch of cfg.rogueBatches) {
      for (const r of batch) out.rogue.push(rogueDma(h, r, cfg.regions));
      faultEvent('set-up');
    }

    // 5. Hot-unplug.
    out.reached = 'unplug';
    const region = cfg.regions[cfg.unplugIndex]!;
    for (const iova of cfg.unplugHot) h.iommu.dmaWrite(sid, iova, marker(rng, 64));
    const iotlbHeld = h.iommu.iotlbSnapshot().some((e) => e.domainId === h.domain.id && e.iova < region.gpa + region.size && region.gpa < e.iova + e.pageSize);
    faultEvent('set-up');
    setup.unmapRegion(region, h);
    const v = h.container?.unmapDma(region.gpa, region.size);
    if (v && !v.ok) logs.push(`(hot-unplug) VFIO_IOMMU_UNMAP_DMA: ${v.errno}: ${v.message}`);
    const probes: UnplugProbe[] = [];
    for (const [iova, hot] of [...cfg.unplugHot.map((x) => [x, true] as const), ...cfg.unplugCold.map((x) => [x, false] as const)]) {
      for (const write of [true, false]) {
        const stale0 = h.iommu.stats.staleHits;
        const res = write ? h.iommu.dmaWrite(sid, iova, marker(rng, 64)) : h.iommu.dmaRead(sid, iova, 64);
        probes.push({ iova, write, hot, landed: res.ok, stale: res.ok && h.iommu.stats.staleHits > stale0 && h.domain.lookup(iova) === undefined, stillMapped: h.domain.lookup(iova) !== undefined });
      }
    }
    const left = cfg.regions.filter((r) => r !== region);
    out.unplug = { region, iotlbHeld, probes, problems: census(tableLeaves(h.ram, h.domain.root), left, h.ram, h.vm, cfg.regions) };
    faultEvent('set-up');
    out.reached = 'done';
  } catch (e) {
    if (!(e instanceof LabStop)) throw e;
    out.stopped = e.diagnostic;
  }
  return finish(out, h);
}

function finish(out: SetupOutcome, h: AssignedHost): SetupOutcome {
  out.neighbourPages = h.neighbour.mem.pagesTouched;
  out.stopped ??= out.setup.record.stopped;
  return out;
}

function marker(rng: Rng, n: number): Uint8Array {
  const b = rng.bytes(n);
  b[0] = 0xa5; // never all zeros, so a landed write always shows
  return b;
}

/** DMA a marker into pages of `r` (first, last, a few random ones) and read it back, through the IOMMU. */
function probeRegion(h: AssignedHost, r: GuestRamRegion, rng: Rng, out: DmaProbeProblem[]): void {
  const pages = r.size / PAGE_4K;
  const picks = new Set<number>([0, pages - 1]);
  while (picks.size < Math.min(pages, 5)) picks.add(rng.int(0, pages - 1));
  const sid = h.nic.sourceId;
  for (const p of [...picks].sort((a, b) => a - b)) {
    const iova = r.gpa + p * PAGE_4K + rng.int(0, 200) * 16;
    const bytes = marker(rng, 48);
    const w = h.iommu.dmaWrite(sid, iova, bytes);
    if (!w.ok) {
      out.push({ region: r.name, iova, write: true, message: w.message });
      continue;
    }
    const seg = w.segments[0]!;
    const landed = h.guestMem.read(iova, bytes.length);
    if (seg.vm !== h.vm || seg.gpa !== iova || landed.some((b, i) => b !== bytes[i])) {
      out.push({ region: r.name, iova, write: true, message: `the write landed in ${seg.vm === h.vm ? `the guest's RAM at GPA ${hex(seg.gpa)}` : `the ${seg.vm}'s RAM`} instead` });
      continue;
    }
    const rd = h.iommu.dmaRead(sid, iova, bytes.length);
    if (!rd.ok) out.push({ region: r.name, iova, write: false, message: rd.message });
    else if (rd.bytes.some((b, i) => b !== bytes[i])) out.push({ region: r.name, iova, write: false, message: 'the read returned other bytes than the guest holds there' });
  }
}

function checkVector(h: AssignedHost, setup: LearnerSetup, p: VectorPlan, mode: 'remapped' | 'posted', cfg: SeedConfig): VectorOutcome {
  const calls = setup.record.vectors.filter((c) => c.mode === mode && c.req.vector === p.vector);
  const call = calls[calls.length - 1];
  const o: VectorOutcome = { plan: p, mode, msi: call?.msi ?? null, wrong: [], spoofed: [], ...(call?.bad ? { bad: call.bad } : {}) };
  if (!o.msi) return o;
  const r = h.irt.remap(h.nic.sourceId, o.msi.address, o.msi.data);
  o.result = r;
  const want = (field: string, got: unknown, expected: unknown, fmt: (x: unknown) => string = String): void => {
    if (got !== expected) o.wrong.push([field, fmt(got), fmt(expected)]);
  };
  const hx = (x: unknown): string => (typeof x === 'number' ? hex(x) : String(x));
  if (mode === 'remapped' && r.kind === 'remapped') {
    want('vector', r.vector, HOST_VECTOR_BASE + p.vector, hx);
    want('destination APIC ID', r.destination, h.pcpuApicIds[p.vcpu], hx);
    want('delivery mode', r.deliveryMode, DLM_FIXED);
    want('destination mode', r.destinationMode, 'physical');
    want('trigger mode', r.trigger, 'edge');
  } else if (mode === 'posted' && r.kind === 'posted') {
    want('vector', r.vector, p.guestVector, hx);
    want('posted-interrupt descriptor address', r.pda, h.pids[p.vcpu], hx);
    if (o.wrong.length === 0) {
      const post = postInterrupt(h.kernelMem, r.pda, r.vector, r.urgent);
      if (post.kind === 'fault') o.postFailed = post.detail;
      drainPir(h.kernelMem, r.pda);
    }
  }
  for (const s of cfg.spoofers) {
    const sr = h.irt.remap(s.sourceId, o.msi.address, o.msi.data);
    if (sr.kind === 'fault') continue;
    const e = sr.kind === 'compatibility' ? null : h.irt.readIrte(sr.index);
    const entry = e ? `SVT ${e.svt.toString(2).padStart(2, '0')}b, SQ ${e.sq.toString(2).padStart(2, '0')}b, SID ${formatRequesterId(e.sid)}` : 'no IRTE';
    o.spoofed.push({ label: s.label, kind: sr.kind === 'remapped' ? 'delivered' : sr.kind, entry });
  }
  return o;
}

function rogueDma(h: AssignedHost, r: RogueDma, regions: readonly GuestRamRegion[]): RogueOutcome {
  const res = r.write ? h.iommu.dmaWrite(r.sourceId, r.iova, new Uint8Array(r.len).fill(0x5a)) : h.iommu.dmaRead(r.sourceId, r.iova, r.len);
  const o: RogueOutcome = { rogue: r, result: res };
  if (res.ok) {
    const s = res.segments[0]!;
    o.where = s.vm === h.vm ? `the guest's own RAM at GPA ${hex(s.gpa)}${regionOf(regions, s.gpa)}` : `the ${s.vm}'s RAM (host-physical ${hex(s.hpa)})`;
  } else if (res.code === 'host-memory' || res.code === 'unbacked-hpa') {
    o.where = res.code === 'host-memory' ? `host memory at HPA ${hex(res.hpa ?? 0)}` : `HPA ${hex(res.hpa ?? 0)}, where no RAM is`;
  }
  return o;
}

function regionOf(regions: readonly GuestRamRegion[], gpa: number): string {
  const r = regions.find((x) => gpa >= x.gpa && gpa < x.gpa + x.size);
  return r ? ` (in ${r.name})` : '';
}
