/**
 * What a seed of the iommu-assign lab decides (DESIGN.md §4: vary what matters): the guest's RAM
 * layout (how many regions, sizes that are not 2 MiB multiples, starts that are or are not 2 MiB
 * aligned in GPA and in HPA, holes, which regions huge pages back, which region the neighbour VM
 * sits right behind in host-physical memory), the NIC's requester-id and vector count, the vCPUs
 * and which vCPU and guest vector each MSI-X entry wants, the rogue DMAs and spoofed MSIs, the
 * region that is hot-unplugged, and the traffic.
 */
import { Rng } from '../../sim/rng.ts';
import { PAGE_2M, PAGE_4K } from '../../hw/iommu/dma-remap.ts';
import { requesterId } from '../../hw/iommu/irq-remap.ts';
import { GUEST_HPA_BASE, type AssignedNic, type GuestRamRegion } from '../../hv/assignment.ts';

const MiB = 1024 * 1024;
/** Guest RAM the driver's rings and buffers need, 2 MiB aligned, inside one huge-page region. */
export const BUFFER_BYTES = 20 * MiB;

const alignUp = (a: number, n: number): number => Math.ceil(a / n) * n;
const alignDown = (a: number, n: number): number => Math.floor(a / n) * n;
const hex = (n: number): string => `0x${n.toString(16)}`;

/** A DMA the NIC (or another requester) issues that must fault and never land. */
export interface RogueDma {
  /** What it aims at, in words ("the hole between RAM and DIMM 1"). */
  label: string;
  sourceId: number;
  iova: number;
  len: number;
  write: boolean;
}

export interface VectorPlan {
  vector: number;
  guestVector: number;
  vcpu: number;
}

export interface SeedConfig {
  seed: number;
  regions: GuestRamRegion[];
  /** Index into regions of the one the neighbour VM sits right behind in HPA. */
  abutIndex: number;
  /** Index of the region holding the driver's rings and buffers (huge pages, 2 MiB mappable). */
  bufferIndex: number;
  bufferBase: number;
  /** Index of the region hot-unplugged in the set-up run. */
  unplugIndex: number;
  /** Pages of the unplugged region the NIC touches just before the unplug (IOTLB-hot), and others. */
  unplugHot: number[];
  unplugCold: number[];
  nic: AssignedNic;
  vcpus: number;
  vectors: VectorPlan[];
  /** Requester-ids that spoof the NIC's MSIs: its sibling function, and a device on another bus. */
  spoofers: { sourceId: number; label: string }[];
  /** Rogue DMAs in fault-event batches (≤ 8 each, the first the largest). */
  rogueBatches: RogueDma[][];
  /** Guest RAM size the guest's memory object needs (highest region end). */
  ramTop: number;
  neighbourBytes: number;
  /** Traffic: frames each way, descriptors per ring, interrupt moderation, the peer's offered load. */
  txFrames: number;
  rxFrames: number;
  ringSize: number;
  itrUs: number;
  offeredGbps: number;
  /** When the NIC issues its rogue DMAs during a traffic run (the spoofed MSIs follow them). */
  trafficRogueAt: number[];
  trafficRng: Rng;
}

export function seedConfig(seed: number): SeedConfig {
  const rng = new Rng((seed ^ 0x10a5_5167) >>> 0);
  const lay = rng.fork('layout');

  // ── Guest-physical layout ──────────────────────────────────────────────────────────────────
  const count = lay.int(2, 4);
  const lowRam = lay.chance(1, 2);
  const bufferIndex = lowRam ? 1 : lay.int(0, count - 1);
  const regions: GuestRamRegion[] = [];
  let cursor = 0;
  for (let i = 0; i < count; i++) {
    if (i === 0 && lowRam) {
      regions.push({ name: 'low RAM', gpa: 0, size: 0xa_0000, hpa: 0, vaddr: 0, hugepages: false });
      cursor = 0xa_0000;
      continue;
    }
    let start = cursor;
    if (i > 0) {
      const hole = lay.pick(['none', 'small', 'small', 'big'] as const);
      if (hole === 'small') start += lay.int(1, 256) * PAGE_4K;
      if (hole === 'big') start += lay.int(1, 6) * PAGE_2M + lay.int(0, 511) * PAGE_4K;
    }
    // After low RAM, QEMU's RAM starts at 1 MiB: the VGA/BIOS hole 640 KiB–1 MiB.
    if (i === 1 && lowRam) start = Math.max(start, 0x10_0000);
    if (lay.chance(1, 2)) start = alignUp(start, PAGE_2M);
    const isBuffer = i === bufferIndex;
    let size = (isBuffer ? lay.int(BUFFER_BYTES / PAGE_4K + 1024, (32 * MiB) / PAGE_4K) : lay.int(320, (10 * MiB) / PAGE_4K)) * PAGE_4K;
    if (size % PAGE_2M === 0) size += lay.int(1, 511) * PAGE_4K;
    // The buffer region ends off a 2 MiB boundary, so its last 2 MiB is always partial.
    if (isBuffer && (start + size) % PAGE_2M === 0) size += lay.int(1, 511) * PAGE_4K;
    const hugepages = isBuffer || lay.chance(2, 3);
    const name = lowRam ? (i === 1 ? 'RAM' : `DIMM ${i - 1}`) : i === 0 ? 'RAM' : `DIMM ${i}`;
    regions.push({ name, gpa: start, size, hpa: 0, vaddr: 0, hugepages });
    cursor = start + size;
  }

  // ── Host-physical layout ──────────────────────────────────────────────────────────────────
  // Huge-page regions mostly keep GPA and HPA aligned alike (congruent mod 2 MiB), so 2 MiB pages
  // fit; the buffer region always does. The neighbour VM follows the region placed last in HPA:
  // a huge-page, congruent region whose end is not 2 MiB aligned, so a 2 MiB page rounded over
  // its end reaches into the neighbour.
  const congruent = regions.map((r, i) => i === bufferIndex || (r.hugepages && lay.chance(3, 4)) || (!r.hugepages && lay.chance(1, 2)));
  const abutCandidates = regions.map((_, i) => i).filter((i) => regions[i]!.hugepages && congruent[i] && (regions[i]!.gpa + regions[i]!.size) % PAGE_2M !== 0);
  const abutIndex = abutCandidates.length > 0 ? lay.pick(abutCandidates) : bufferIndex;
  const order = regions.map((_, i) => i).filter((i) => i !== abutIndex);
  for (let i = order.length - 1; i > 0; i--) {
    const j = lay.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  order.push(abutIndex);
  let hcur = GUEST_HPA_BASE + lay.int(0, 63) * PAGE_2M;
  for (const i of order) {
    const r = regions[i]!;
    const base = alignUp(hcur, PAGE_2M);
    const off = r.gpa % PAGE_2M;
    r.hpa = base + (congruent[i] ? off : (off + lay.int(1, 511) * PAGE_4K) % PAGE_2M);
    r.vaddr = 0x7f00_0000_0000 + (r.hpa - GUEST_HPA_BASE);
    hcur = r.hpa + r.size + (lay.chance(1, 2) ? 0 : lay.int(1, 1024) * PAGE_4K);
  }
  // The buffer region's end must leave room; make sure its 2 MiB-aligned interior holds the buffers.
  const buf = regions[bufferIndex]!;
  const bufLo = alignUp(buf.gpa, PAGE_2M);
  const bufHi = alignDown(buf.gpa + buf.size, PAGE_2M);
  const slots = Math.max(0, (bufHi - bufLo - BUFFER_BYTES) / PAGE_2M);
  const bufferBase = bufLo + lay.int(0, slots) * PAGE_2M;

  const ramTop = Math.max(...regions.map((r) => r.gpa + r.size));
  const inRam = (iova: number, len = 1): boolean => regions.some((r) => iova < r.gpa + r.size && r.gpa < iova + len);

  // ── The NIC, vCPUs and vectors ─────────────────────────────────────────────────────────────
  const dev = rng.fork('nic');
  const bus = dev.int(1, 0xfe);
  const device = dev.int(0, 31);
  const fn = dev.pick([0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
  const sourceId = requesterId(bus, device, fn);
  const h2 = (n: number): string => n.toString(16).padStart(2, '0');
  const nic: AssignedNic = { address: `0000:${h2(bus)}:${h2(device)}.${fn}`, bus, devfn: (device << 3) | fn, sourceId, vectors: dev.int(2, 6), group: dev.int(1, 60) };
  const vcpus = dev.int(2, 4);
  const guestVectors = new Set<number>();
  const vectors: VectorPlan[] = [];
  for (let v = 0; v < nic.vectors; v++) {
    let g = dev.int(0x31, 0xdf);
    while (guestVectors.has(g)) g = dev.int(0x31, 0xdf);
    guestVectors.add(g);
    vectors.push({ vector: v, guestVector: g, vcpu: dev.int(0, vcpus - 1) });
  }
  if (vectors.every((p) => p.vcpu === 0)) vectors[vectors.length - 1]!.vcpu = dev.int(1, vcpus - 1);
  let otherBus = (bus + dev.int(1, 0xfd)) % 0x100;
  if (otherBus === 0 || otherBus === bus) otherBus = bus === 0x42 ? 0x43 : 0x42;
  const spoofers = [
    { sourceId: sourceId ^ 1, label: `its sibling function ${nicAddress(sourceId ^ 1)}` },
    { sourceId: requesterId(otherBus, dev.int(0, 31), 0), label: 'a device on another bus' },
  ];
  spoofers[1]!.label = `a device on another bus, ${nicAddress(spoofers[1]!.sourceId)}`;

  // ── Rogue DMAs ─────────────────────────────────────────────────────────────────────────────
  const rg = rng.fork('rogue');
  const rogue: RogueDma[] = [];
  const add = (label: string, iova: number, write: boolean, len = rg.int(1, 64) * 16, sid = sourceId): void => {
    rogue.push({ label, sourceId: sid, iova, len, write });
  };
  const byGpa = regions.slice().sort((a, b) => a.gpa - b.gpa);
  // Holes between regions (and the page just below a region's start).
  const holes: [number, number, string][] = [];
  for (let i = 1; i < byGpa.length; i++) {
    const a = byGpa[i - 1]!;
    const b = byGpa[i]!;
    if (b.gpa > a.gpa + a.size) holes.push([a.gpa + a.size, b.gpa, `the hole between ${a.name} and ${b.name}`]);
  }
  for (const [lo, hi, what] of holes.slice(0, 2)) {
    const pages = (hi - lo) / PAGE_4K;
    add(what, lo + rg.int(0, pages - 1) * PAGE_4K + rg.int(0, 255) * 16, rg.chance(2, 3));
  }
  // Just past each region's end, inside the same 2 MiB (what a rounded-up 2 MiB page would cover).
  for (const r of regions) {
    const end = r.gpa + r.size;
    const top = alignUp(end, PAGE_2M);
    if (top === end) continue;
    const cands: number[] = [];
    for (let a = end; a < top; a += PAGE_4K) if (!inRam(a, PAGE_4K)) cands.push(a);
    if (cands.length === 0) continue;
    const abut = regions.indexOf(r) === abutIndex;
    if (!abut && !rg.chance(1, 2)) continue;
    const what = abut ? `just past the end of ${r.name}, inside its last 2 MiB — the neighbour VM's memory behind a rounded-up 2 MiB page` : `just past the end of ${r.name}, inside its last 2 MiB`;
    add(what, abut ? cands[0]! + rg.int(0, 255) * 16 : rg.pick(cands), true);
    if (abut && cands.length > 1) add(what, rg.pick(cands.slice(1)), false);
  }
  // Just below a region's start, inside the same 2 MiB.
  for (const r of regions) {
    if (r.gpa % PAGE_2M === 0 || !rg.chance(1, 2)) continue;
    const a = r.gpa - PAGE_4K;
    if (!inRam(a, PAGE_4K)) add(`just below the start of ${r.name}, inside its first 2 MiB`, a + rg.int(0, 255) * 16, rg.chance(1, 2));
  }
  // Past the end of RAM; identity-style guesses (IOVA = HPA of the neighbour or of the guest itself).
  add('past the end of guest RAM', alignUp(ramTop, PAGE_4K) + rg.int(0, 4096) * PAGE_4K, true);
  const neighbourHpa = Math.max(...regions.map((r) => r.hpa + r.size));
  add("the neighbour VM's host-physical address, used as an IOVA", neighbourHpa + rg.int(0, 255) * PAGE_4K, rg.chance(1, 2));
  const anyR = rg.pick(regions);
  add(`${anyR.name}'s host-physical address, used as an IOVA`, anyR.hpa + rg.int(0, 15) * PAGE_4K, true);
  add('beyond the 48-bit IOVA space', 2 ** 48 + rg.int(0, 1 << 20) * PAGE_4K, rg.chance(1, 2));
  // A DMA that starts in a region's last page and runs past its end: it must fault whole.
  const straddleR = rg.pick(regions.filter((r) => !inRam(r.gpa + r.size, 8192)));
  const sEnd = straddleR.gpa + straddleR.size;
  add(`a write that starts inside ${straddleR.name} and runs past its end`, sEnd - rg.int(16, 255) * 16, true, rg.int(2, 4) * 2048);
  // Other requesters: the NIC's sibling function and a device on another bus have no context entry.
  add(`guest RAM, from ${spoofers[0]!.label}`, rg.pick(regions).gpa + rg.int(0, 15) * PAGE_4K, rg.chance(1, 2), 64, spoofers[0]!.sourceId);
  add(`guest RAM, from ${spoofers[1]!.label}`, rg.pick(regions).gpa, true, 64, spoofers[1]!.sourceId);
  // Shuffle, then cut into fault-event batches: the first 5–8 long, then up to 4 each, so that
  // later events find old (handled) records in the upper registers.
  for (let i = rogue.length - 1; i > 0; i--) {
    const j = rg.int(0, i);
    [rogue[i], rogue[j]] = [rogue[j]!, rogue[i]!];
  }
  const rogueBatches: RogueDma[][] = [];
  let at = 0;
  const first = Math.min(rogue.length, rg.int(5, 8));
  rogueBatches.push(rogue.slice(0, first));
  at = first;
  while (at < rogue.length) {
    const n = rg.int(1, 4);
    rogueBatches.push(rogue.slice(at, at + n));
    at += n;
  }

  // ── The hot-unplug ─────────────────────────────────────────────────────────────────────────
  const unplugCands = regions.map((_, i) => i).filter((i) => i !== bufferIndex && regions[i]!.name !== 'low RAM');
  const unplugIndex = unplugCands.length > 0 ? rg.pick(unplugCands) : regions.findIndex((_, i) => i !== bufferIndex);
  const ur = regions[unplugIndex]!;
  const upages = ur.size / PAGE_4K;
  const pagesPick = (n: number): number[] => {
    const s = new Set<number>();
    while (s.size < Math.min(n, upages)) s.add(rg.int(0, upages - 1));
    return [...s].map((p) => ur.gpa + p * PAGE_4K);
  };
  const hot = pagesPick(rg.int(2, 4));
  const cold = pagesPick(6).filter((a) => !hot.includes(a)).slice(0, 2);

  const traffic = rng.fork('traffic');
  return {
    seed,
    regions,
    abutIndex,
    bufferIndex,
    bufferBase,
    unplugIndex,
    unplugHot: hot,
    unplugCold: cold,
    nic,
    vcpus,
    vectors,
    spoofers,
    rogueBatches,
    ramTop,
    neighbourBytes: 8 * MiB,
    txFrames: traffic.int(300, 500),
    rxFrames: traffic.int(300, 500),
    ringSize: traffic.pick([256, 512, 1024]),
    itrUs: traffic.pick([10, 16, 20, 30]),
    offeredGbps: traffic.int(4, 8),
    trafficRogueAt: [traffic.int(20, 60) * 1000, traffic.int(100, 160) * 1000, traffic.int(200, 260) * 1000],
    trafficRng: traffic.fork('frames'),
  };
}

function nicAddress(sid: number): string {
  const h2 = (n: number): string => n.toString(16).padStart(2, '0');
  return `${h2((sid >> 8) & 0xff)}:${h2((sid >> 3) & 0x1f)}.${sid & 7}`;
}

/** The layout in words, for the run's log and the tests ("RAM 0x100000+0x5f3000 → HPA 0x1…, huge"). */
export function describeLayout(c: SeedConfig): string[] {
  return c.regions.map((r) => `${r.name}: GPA ${hex(r.gpa)}–${hex(r.gpa + r.size)} (${(r.size / MiB).toFixed(2)} MiB) → HPA ${hex(r.hpa)}, ${r.hugepages ? '2 MiB huge pages' : '4 KiB pages'}`);
}
