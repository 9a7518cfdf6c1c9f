/**
 * What the iommu-assign checks look at, read from what the engine holds and did — never from
 * what the learner says it did:
 *   - the census: every leaf of the domain's second-stage tables, read from host memory the way
 *     the hardware walker reads it, compared with the guest's RAM regions (unmapped pages, wrong
 *     translations, missing rights, mappings outside guest RAM and what they reach, 2 MiB pages
 *     over memory that huge pages do not back);
 *   - TrafficObserver: every DMA the NIC issued during a traffic run (driver DMAs must succeed,
 *     rogue ones must fault), and every frame at the peer and in the guest against what was sent.
 */
import type { HostRam, DmaResult } from '../../hw/iommu/dma-remap.ts';
import * as V from '../../hw/iommu/vtd-spec.ts';
import type { GuestRamRegion } from '../../hv/assignment.ts';

export interface Leaf {
  iova: number;
  hpa: number;
  size: number;
  pageSize: number;
  read: boolean;
  write: boolean;
}

const LEVELS = 4;

/**
 * Every leaf of a 4-level second-stage table tree rooted at `root`, in IOVA order, neighbours
 * coalesced when contiguous in IOVA and HPA with the same page size and rights.
 */
export function tableLeaves(ram: HostRam, root: number): Leaf[] {
  const out: Leaf[] = [];
  const visit = (table: number, level: number, base: number): void => {
    const span = V.levelSpan(level);
    for (let i = 0; i < V.PTES_PER_TABLE; i++) {
      const slot = table + i * V.PTE_SIZE;
      const lo = ram.read32(slot) ?? 0;
      if ((lo & (V.DMA_PTE_READ | V.DMA_PTE_WRITE)) === 0) continue;
      const hi = ram.read32(slot + 4) ?? 0;
      const addr = V.qwordAddr(lo, hi);
      const iova = base + i * span;
      const large = level > 1 && level <= 3 && (lo & V.DMA_PTE_LARGE_PAGE) !== 0;
      if (level === 1 || large) {
        const leaf = { iova, hpa: addr, size: span, pageSize: span, read: (lo & V.DMA_PTE_READ) !== 0, write: (lo & V.DMA_PTE_WRITE) !== 0 };
        const p = out[out.length - 1];
        if (p && p.iova + p.size === iova && p.hpa + p.size === addr && p.pageSize === span && p.read === leaf.read && p.write === leaf.write) p.size += span;
        else out.push(leaf);
        continue;
      }
      visit(addr, level - 1, iova);
    }
  };
  visit(root, LEVELS, 0);
  return out;
}

export type CensusProblem =
  | { kind: 'unmapped'; region: string; iova: number; bytes: number }
  | { kind: 'wrong-hpa'; region: string; iova: number; hpa: number; expected: number }
  | { kind: 'no-permission'; region: string; iova: number; read: boolean; write: boolean }
  | { kind: 'huge-on-small'; region: string; iova: number }
  | { kind: 'outside'; iova: number; size: number; hpa: number; target: string; pageSize: number };

/** Where host-physical [hpa, hpa + size) lies, in words. */
export function hpaTarget(ram: HostRam, regions: readonly GuestRamRegion[], vm: string, hpa: number, size: number): string {
  const parts: string[] = [];
  for (let a = hpa; a < hpa + size && parts.length < 3; ) {
    const r = ram.find(a);
    if (!r) {
      // Skip to the next region or the end.
      const next = ram.regions.find((x) => x.hpa > a);
      const stop = Math.min(hpa + size, next ? next.hpa : Infinity);
      if (!parts.includes('no RAM')) parts.push('no RAM');
      a = stop;
      continue;
    }
    let what: string;
    if (r.kind === 'host') what = `host memory (${r.owner})`;
    else if (r.owner === vm) {
      const g = regions.find((x) => a >= x.hpa && a < x.hpa + x.size);
      what = g ? `the guest's own ${g.name}` : 'the guest\'s RAM';
    } else what = `the ${r.owner}'s RAM`;
    if (!parts.includes(what)) parts.push(what);
    a = r.hpa + r.size;
  }
  return parts.join(' and ');
}

/**
 * Compare the domain's leaves with the regions that should be mapped. `gone` are regions that must
 * no longer be mapped at all (hot-unplugged): any leaf over them is 'outside'.
 */
export function census(leaves: readonly Leaf[], regions: readonly GuestRamRegion[], ram: HostRam, vm: string, allRegions: readonly GuestRamRegion[] = regions): CensusProblem[] {
  const out: CensusProblem[] = [];
  const sorted = regions.slice().sort((a, b) => a.gpa - b.gpa);
  for (const L of leaves) {
    // The parts of L outside every region.
    let pos = L.iova;
    const end = L.iova + L.size;
    for (const r of sorted) {
      const rEnd = r.gpa + r.size;
      if (rEnd <= pos || r.gpa >= end) continue;
      if (r.gpa > pos) out.push(outside(L, pos, r.gpa, ram, allRegions, vm));
      // Inside r: translation, rights, page size.
      const a = Math.max(pos, r.gpa);
      const b = Math.min(end, rEnd);
      const hpaAt = L.hpa + (a - L.iova);
      const want = r.hpa + (a - r.gpa);
      if (hpaAt !== want) out.push({ kind: 'wrong-hpa', region: r.name, iova: a, hpa: hpaAt, expected: want });
      else if (!L.read || !L.write) out.push({ kind: 'no-permission', region: r.name, iova: a, read: L.read, write: L.write });
      if (L.pageSize > V.VTD_PAGE_SIZE && !r.hugepages) out.push({ kind: 'huge-on-small', region: r.name, iova: L.iova });
      pos = b;
      if (pos >= end) break;
    }
    if (pos < end) out.push(outside(L, pos, end, ram, allRegions, vm));
  }
  // Coverage.
  for (const r of sorted) {
    let pos = r.gpa;
    const rEnd = r.gpa + r.size;
    let missing = 0;
    let first: number | undefined;
    for (const L of leaves) {
      const lEnd = L.iova + L.size;
      if (lEnd <= pos || L.iova >= rEnd) continue;
      if (L.iova > pos) {
        first ??= pos;
        missing += L.iova - pos;
      }
      pos = Math.max(pos, lEnd);
      if (pos >= rEnd) break;
    }
    if (pos < rEnd) {
      first ??= pos;
      missing += rEnd - pos;
    }
    if (first !== undefined) out.push({ kind: 'unmapped', region: r.name, iova: first, bytes: missing });
  }
  return out;
}

function outside(L: Leaf, a: number, b: number, ram: HostRam, regions: readonly GuestRamRegion[], vm: string): CensusProblem {
  const hpa = L.hpa + (a - L.iova);
  return { kind: 'outside', iova: a, size: b - a, hpa, target: hpaTarget(ram, regions, vm, hpa, b - a), pageSize: L.pageSize };
}

/** One frame comparison. */
export interface FrameMismatch {
  pkt: number;
  byte?: number;
  expected?: number;
  got?: number;
  length?: { expected: number; got: number };
}

export function compareFrame(pkt: number, want: Uint8Array, got: Uint8Array): FrameMismatch | undefined {
  if (got.length !== want.length) return { pkt, length: { expected: want.length, got: got.length } };
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return { pkt, byte: i, expected: want[i]!, got: got[i]! };
  return undefined;
}

/** Watches one traffic run as it happens. */
export class TrafficObserver {
  readonly sentTx: Uint8Array[] = [];
  readonly sentRx: Uint8Array[] = [];
  txDelivered = 0;
  rxDelivered = 0;
  txExtra = 0;
  rxExtra = 0;
  readonly txMismatch: FrameMismatch[] = [];
  readonly rxMismatch: FrameMismatch[] = [];
  driverDmas = 0;
  readonly driverFaults: { t: number; iova: number; len: number; write: boolean; message: string }[] = [];
  readonly rogueLanded: { t: number; iova: number; len: number; write: boolean; label: string; where: string }[] = [];
  rogueBlocked = 0;

  txSent(bytes: Uint8Array): void {
    this.sentTx.push(bytes.slice());
  }
  rxSent(bytes: Uint8Array): void {
    this.sentRx.push(bytes.slice());
  }
  atPeer(bytes: Uint8Array): void {
    const k = this.txDelivered;
    const want = this.sentTx[k];
    if (!want) {
      this.txExtra++;
      return;
    }
    this.txDelivered++;
    const m = compareFrame(k, want, bytes);
    if (m && this.txMismatch.length < 4) this.txMismatch.push(m);
  }
  atGuest(bytes: Uint8Array): void {
    const k = this.rxDelivered;
    const want = this.sentRx[k];
    if (!want) {
      this.rxExtra++;
      return;
    }
    this.rxDelivered++;
    const m = compareFrame(k, want, bytes);
    if (m && this.rxMismatch.length < 4) this.rxMismatch.push(m);
  }
  dma(e: { t: number; iova: number; len: number; write: boolean; rogue?: string | boolean; result: DmaResult }): void {
    if (e.rogue) {
      if (e.result.ok) {
        const seg = e.result.segments[0];
        this.rogueLanded.push({ t: e.t, iova: e.iova, len: e.len, write: e.write, label: typeof e.rogue === 'string' ? e.rogue : 'a rogue DMA', where: seg ? `${seg.vm} at ${seg.vm === 'guest' ? 'GPA' : 'offset'} 0x${seg.gpa.toString(16)}` : 'memory' });
      } else this.rogueBlocked++;
      return;
    }
    this.driverDmas++;
    if (!e.result.ok && this.driverFaults.length < 4) this.driverFaults.push({ t: e.t, iova: e.iova, len: e.len, write: e.write, message: e.result.message });
  }
}
