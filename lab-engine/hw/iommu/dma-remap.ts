/**
 * VT-d DMA remapping, both sides of it (layouts and citations in vtd-spec.ts):
 *   HostRam / PageAllocator — host-physical memory: which HPA ranges are which VM's guest RAM, and
 *                 a pool of host pages where the IOMMU's tables live (real bytes, little-endian).
 *   IommuDomain — what the host kernel does (Linux intel-iommu under VFIO type-1 or the DMA API):
 *                 builds 4-level second-stage tables in host memory, map/unmap with 4 KiB and 2 MiB
 *                 pages, and the unmap path's IOTLB invalidation policy — strict, or deferred through
 *                 a flush queue (Linux drivers/iommu/dma-iommu.c, IOVA_DEFAULT_FQ_SIZE = 256).
 *   VtdIommu    — what the hardware does: root table → context entry (by source-id) → page walk,
 *                 every step a READ of host memory, so a missing or corrupted entry really faults;
 *                 a context cache and an IOTLB tagged by domain id (LRU); primary fault logging with
 *                 the overflow bit; all-or-nothing DMA helpers that translate before touching memory.
 * Nothing here throws on device or guest input: a bad DMA is a fault record or an error value.
 *
 * Simplifications (STYLE.md §3.5: what the spec says, what we do, why it is fine):
 *   - Legacy translation mode only (no scalable mode, PASIDs, first-stage tables or nesting): that
 *     is what device assignment to a VM needs. Pass-through (TT = 10b) is reported as unsupported
 *     (ECAP.PT = 0) and faults as an invalid context entry; device-TLB (TT = 01b) is treated as 00b
 *     for the untranslated requests modelled here (no ATS).
 *   - The hardware supports AW 39 and 48 bits (SAGAW = 0b0110), 2 MiB and 1 GiB superpages in the
 *     walk; domains always build 48-bit, 4-level tables and map 4 KiB or 2 MiB pages.
 *   - No paging-structure caches: every IOTLB miss walks from the top (walkReads = levels on a 4 KiB
 *     miss, levels − 1 for 2 MiB). The context cache is modelled, so root + context reads are paid
 *     once per source-id until it is invalidated (contextReads).
 *   - Reserved-bit checks cover what a corrupted table most plausibly trips: root lo 11:1 and hi,
 *     context lo 11:4, hi bit 7 and 63:24, PS in a level-4 entry, a superpage address that is not
 *     aligned, and any address at or above the host address width.
 *   - Faults are recorded in a bounded log; once it is full further faults set Primary Fault Overflow
 *     and are dropped until software clears the log (the register ring, without the collapsing of
 *     repeated faults from one source-id that hardware may do). Fault events (MSI) are not modelled.
 *   - A translation denied by the permissions of a cached IOTLB entry faults without a re-walk.
 *   - DMA is split into requests that never cross a 4 KiB boundary (the PCIe rule for memory
 *     requests), each translated separately; a DMA with any faulting or unbacked page touches
 *     NOTHING (all-or-nothing per call), a deliberate strengthening that keeps isolation checks crisp.
 *   - Only VM RAM regions are DMA targets. An HPA in host-owned memory (the table pool) or in no
 *     region is reported, never written.
 *   - Deferred policy: Linux flushes the queue when it is full or after a 10 ms timer; the timer is
 *     the caller's (schedule `domain.flush()`), and mapping over an IOVA still in the queue flushes
 *     first — Linux's IOVA allocator never hands out an IOVA before its flush, which is the same thing.
 *   - "Stale" is an observer's annotation, not hardware state: when a domain unmaps a range, IOTLB
 *     entries that cover it are flagged, and a later hit on one counts in stats.staleHits.
 */
import { GuestMemory } from '../memory.ts';
import { COSTS } from '../../sim/costs.ts';
import { invariant } from '../../sim/invariant.ts';
import type { Ns } from '../../sim/time.ts';
import * as V from './vtd-spec.ts';

export const PAGE_4K = 0x1000;
export const PAGE_2M = 0x20_0000;
export const PAGE_1G = 0x4000_0000;
export type PageSize = typeof PAGE_4K | typeof PAGE_2M;
export type Access = 'read' | 'write';

const ZERO_PAGE = new Uint8Array(V.VTD_PAGE_SIZE);
const isU = (n: number): boolean => Number.isInteger(n) && n >= 0;
const hex = (n: number): string => `0x${n.toString(16)}`;

// ═══ Host-physical memory ════════════════════════════════════════════════════════════════════

export type RegionKind = 'vm' | 'host';
export interface RamRegion {
  /** 'vm': guest RAM of `owner`, a DMA target. 'host': host-owned memory (IOMMU tables). */
  readonly kind: RegionKind;
  readonly owner: string;
  readonly hpa: number;
  readonly size: number;
  readonly mem: GuestMemory;
  /** Address in `mem` of the region's first byte (the GPA it backs, for a VM region). */
  readonly offset: number;
}
export interface HostRamError {
  ok: false;
  code: 'unaligned' | 'overlap' | 'outside-memory';
  message: string;
}

/** Host-physical address space: disjoint, 4 KiB-aligned regions, each backed by a GuestMemory. */
export class HostRam {
  #regions: RamRegion[] = [];
  #last: RamRegion | undefined = undefined;

  /** Back [hpa, hpa+size) with `mem` from guest-physical `gpa` on: this VM's RAM as the host sees it. */
  addVmRam(vm: string, hpa: number, mem: GuestMemory, gpa = 0, size = mem.size - gpa): { ok: true; region: RamRegion } | HostRamError {
    return this.#add({ kind: 'vm', owner: vm, hpa, size, mem, offset: gpa });
  }

  /** Host-owned memory (not a DMA target), e.g. the pool the IOMMU tables are allocated from. */
  addHostRam(owner: string, hpa: number, mem: GuestMemory): { ok: true; region: RamRegion } | HostRamError {
    return this.#add({ kind: 'host', owner, hpa, size: mem.size, mem, offset: 0 });
  }

  #add(r: RamRegion): { ok: true; region: RamRegion } | HostRamError {
    if (!isU(r.hpa) || !isU(r.size) || r.size === 0 || r.hpa % PAGE_4K || r.size % PAGE_4K || r.offset % PAGE_4K) {
      return { ok: false, code: 'unaligned', message: `region ${r.owner} at HPA ${hex(r.hpa)} size ${hex(r.size)}: base, size and offset must be 4 KiB multiples` };
    }
    if (!r.mem.contains(r.offset, r.size)) {
      return { ok: false, code: 'outside-memory', message: `region ${r.owner}: [${hex(r.offset)}, +${hex(r.size)}) is outside its memory of ${hex(r.mem.size)} bytes` };
    }
    const clash = this.#regions.find((o) => r.hpa < o.hpa + o.size && o.hpa < r.hpa + r.size);
    if (clash) return { ok: false, code: 'overlap', message: `region ${r.owner} at HPA ${hex(r.hpa)} overlaps ${clash.owner} at ${hex(clash.hpa)}` };
    this.#regions.push(r);
    this.#regions.sort((a, b) => a.hpa - b.hpa);
    return { ok: true, region: r };
  }

  get regions(): readonly RamRegion[] {
    return this.#regions;
  }

  /** The region holding `hpa`, or undefined (binary search; the last hit is cached). */
  find(hpa: number): RamRegion | undefined {
    const l = this.#last;
    if (l && hpa >= l.hpa && hpa < l.hpa + l.size) return l;
    let lo = 0;
    let hi = this.#regions.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.#regions[mid]!;
      if (hpa < r.hpa) hi = mid - 1;
      else if (hpa >= r.hpa + r.size) lo = mid + 1;
      else return (this.#last = r);
    }
    return undefined;
  }

  /** A little-endian dword of host memory, or undefined when no region backs it. */
  read32(hpa: number): number | undefined {
    const r = this.find(hpa);
    if (!r || hpa + 4 > r.hpa + r.size) return undefined;
    return r.mem.read32(r.offset + (hpa - r.hpa));
  }
  write32(hpa: number, v: number): boolean {
    const r = this.find(hpa);
    if (!r || hpa + 4 > r.hpa + r.size) return false;
    r.mem.write32(r.offset + (hpa - r.hpa), v);
    return true;
  }
  /** 64-bit read as a number (exact below 2^53; decode entries with read32 pairs when bits 63:53 matter). */
  read64(hpa: number): number | undefined {
    const lo = this.read32(hpa);
    const hi = this.read32(hpa + 4);
    return lo === undefined || hi === undefined ? undefined : lo + hi * 0x1_0000_0000;
  }
  write64(hpa: number, v: number): boolean {
    return this.write32(hpa, v >>> 0) && this.write32(hpa + 4, Math.floor(v / 0x1_0000_0000) >>> 0);
  }
}

/**
 * A deterministic allocator of zeroed 4 KiB host pages for remapping tables (Linux
 * iommu_alloc_page): a LIFO free list, then a bump pointer. Freed pages are zeroed at once.
 */
export class PageAllocator {
  readonly ram: HostRam;
  readonly base: number;
  readonly pages: number;
  #next = 0;
  #free: number[] = [];

  constructor(ram: HostRam, base: number, pages: number) {
    const r = ram.find(base);
    invariant(r && r.kind === 'host' && base % PAGE_4K === 0 && base + pages * PAGE_4K <= r.hpa + r.size, `page pool at ${hex(base)} (${pages} pages) must lie inside one host-owned region`);
    this.ram = ram;
    this.base = base;
    this.pages = pages;
  }

  /** A zeroed page's HPA, or undefined when the pool is exhausted. */
  alloc(): number | undefined {
    const f = this.#free.pop();
    if (f !== undefined) return f;
    if (this.#next >= this.pages) return undefined;
    return this.base + PAGE_4K * this.#next++;
  }

  free(hpa: number): void {
    invariant(hpa >= this.base && hpa < this.base + this.pages * PAGE_4K && hpa % PAGE_4K === 0, `freeing ${hex(hpa)}, not a page of this pool`);
    const r = this.ram.find(hpa)!;
    r.mem.write(r.offset + (hpa - r.hpa), ZERO_PAGE);
    this.#free.push(hpa);
  }

  get inUse(): number {
    return this.#next - this.#free.length;
  }
  get available(): number {
    return this.pages - this.inUse;
  }
}

/** Create a host-owned region of `pages` pages at `hpa` and an allocator over it. */
export function createTablePool(ram: HostRam, hpa: number, pages: number, owner = 'iommu-tables'): PageAllocator {
  const added = ram.addHostRam(owner, hpa, new GuestMemory(pages * PAGE_4K));
  invariant(added.ok, added.ok ? '' : added.message);
  return new PageAllocator(ram, hpa, pages);
}

// ═══ Host side: the IOMMU domain (Linux dmar_domain) ═════════════════════════════════════════

export type InvalidationPolicy = 'strict' | 'deferred';
export interface Perm {
  read: boolean;
  write: boolean;
}
/** One leaf translation (coalesced when neighbours are contiguous in IOVA and HPA with equal rights). */
export interface Mapping {
  iova: number;
  hpa: number;
  size: number;
  /** 4 KiB, 2 MiB (or 1 GiB, found only in tables written by hand). */
  pageSize: number;
  read: boolean;
  write: boolean;
}
export type DomainErrorCode =
  /** Size is zero, not an integer, or the page size is neither 4 KiB nor 2 MiB. */
  | 'bad-size'
  /** IOVA, HPA or size is not a multiple of the page size. */
  | 'unaligned'
  /** The range runs past the 48-bit IOVA space or the 52-bit address field. */
  | 'out-of-range'
  /** Neither read nor write: VT-d has no "present but inaccessible" entry. */
  | 'no-permission'
  /** Part of the range is already mapped. */
  | 'overlap'
  /** The table pool has too few free pages for the tables this mapping needs. */
  | 'no-memory';
export interface DomainError {
  ok: false;
  code: DomainErrorCode;
  message: string;
  iova?: number;
}
export type MapResult = { ok: true; pages: number; tablesAllocated: number; flushed: boolean; ns: Ns } | DomainError;
export type UnmapResult = { ok: true; unmapped: Mapping[]; bytes: number; invalidations: number; flushed: boolean; ns: Ns } | DomainError;
export interface FlushResult {
  invalidations: number;
  /** Unmap calls whose IOVAs the flush released. */
  ranges: number;
  ns: Ns;
}
export interface DomainOptions {
  /** Domain id (DID), 1–65535, unique per IOMMU. */
  id: number;
  policy?: InvalidationPolicy;
  /** Deferred: flush after this many queued unmaps (Linux IOVA_DEFAULT_FQ_SIZE = 256). */
  flushEvery?: number;
}

/** Linux drivers/iommu/dma-iommu.c: IOVA_DEFAULT_FQ_SIZE (entries per flush queue). */
export const IOVA_DEFAULT_FQ_SIZE = 256;
/** Linux drivers/iommu/dma-iommu.c: IOVA_DEFAULT_FQ_TIMEOUT, ms. The caller owns this timer. */
export const IOVA_DEFAULT_FQ_TIMEOUT_MS = 10;

const DOMAIN_LEVELS = 4;
const IOVA_LIMIT_48 = 2 ** 48;
const ADDR_LIMIT = 2 ** 52;

/** A second-stage entry as software reads it back (from two dwords, exact). */
interface Pte {
  present: boolean;
  read: boolean;
  write: boolean;
  large: boolean;
  addr: number;
}
function readPte(ram: HostRam, slot: number): Pte {
  const lo = ram.read32(slot) ?? 0;
  const hi = ram.read32(slot + 4) ?? 0;
  const read = (lo & V.DMA_PTE_READ) !== 0;
  const write = (lo & V.DMA_PTE_WRITE) !== 0;
  return { present: read || write, read, write, large: (lo & V.DMA_PTE_LARGE_PAGE) !== 0, addr: V.qwordAddr(lo, hi) };
}

/**
 * An IOMMU domain: one second-stage page-table tree in host memory and the host's policy for
 * changing it. Attach it to devices with VtdIommu.attach(); it then invalidates those IOMMUs'
 * IOTLBs on unmap according to its policy.
 */
export class IommuDomain {
  readonly id: number;
  readonly policy: InvalidationPolicy;
  readonly flushEvery: number;
  /** AW written into context entries: 48-bit, 4-level. */
  readonly aw = V.AGAW_48;
  readonly levels = DOMAIN_LEVELS;
  /** HPA of the top-level table (the context entry's SLPTPTR). */
  readonly root: number;
  readonly ram: HostRam;
  readonly alloc: PageAllocator;
  readonly stats = { maps: 0, unmaps: 0, mappedBytes: 0, tables: 1, invalidations: 0, invalidationNs: 0, flushes: 0 };
  #queue: { iova: number; size: number; tables: number[] }[] = [];
  #iommus: VtdIommu[] = [];

  constructor(ram: HostRam, alloc: PageAllocator, opts: DomainOptions) {
    invariant(Number.isInteger(opts.id) && opts.id >= 1 && opts.id <= V.CONTEXT_DID_MASK, `domain id ${opts.id} must be 1–65535`);
    this.id = opts.id;
    this.policy = opts.policy ?? 'strict';
    this.flushEvery = opts.flushEvery ?? IOVA_DEFAULT_FQ_SIZE;
    invariant(Number.isInteger(this.flushEvery) && this.flushEvery >= 1, 'flushEvery must be a positive integer');
    this.ram = ram;
    this.alloc = alloc;
    const root = alloc.alloc();
    invariant(root !== undefined, `table pool exhausted creating domain ${opts.id}`);
    this.root = root;
  }

  /** IOMMUs with at least one device attached to this domain (what unmap invalidates). */
  get iommus(): readonly VtdIommu[] {
    return this.#iommus;
  }
  /** Unmapped ranges waiting in the flush queue (deferred policy): the stale window. */
  get pendingUnmaps(): { iova: number; size: number }[] {
    return this.#queue.map((q) => ({ iova: q.iova, size: q.size }));
  }

  /** @internal VtdIommu.attach/detach keep this list. */
  linkIommu(iommu: VtdIommu, linked: boolean): void {
    const i = this.#iommus.indexOf(iommu);
    if (linked && i < 0) this.#iommus.push(iommu);
    if (!linked && i >= 0) this.#iommus.splice(i, 1);
  }

  /**
   * Map [iova, iova+size) → [hpa, hpa+size) with `perm`, in pages of `pageSize` (Linux
   * intel_iommu_map / __domain_mapping). All or nothing: on any error nothing has changed (not even
   * the flush queue).
   */
  map(iova: number, hpa: number, size: number, perm: Perm, pageSize: PageSize = PAGE_4K): MapResult {
    if ((pageSize !== PAGE_4K && pageSize !== PAGE_2M) || !Number.isInteger(size) || size <= 0) {
      return derr('bad-size', `map: size ${size} with page size ${pageSize}: size must be a positive multiple of 4 KiB or 2 MiB pages`);
    }
    if (!isU(iova) || !isU(hpa) || iova % pageSize || hpa % pageSize || size % pageSize) {
      return derr('unaligned', `map: IOVA ${hex(iova)}, HPA ${hex(hpa)} and size ${hex(size)} must be multiples of ${hex(pageSize)}`, iova);
    }
    if (iova + size > IOVA_LIMIT_48 || hpa + size > ADDR_LIMIT) {
      return derr('out-of-range', `map: [${hex(iova)}, +${hex(size)}) runs past the 48-bit IOVA space of domain ${this.id}`, iova);
    }
    if (!perm.read && !perm.write) return derr('no-permission', 'map: a mapping must allow read or write (R = W = 0 means not present)', iova);

    // Pass 1: find overlaps and count the tables to allocate, writing nothing.
    const target = pageSize === PAGE_2M ? 2 : 1;
    const missing = new Set<number>();
    const replace: number[] = [];
    // Pages of one table at the target level share the walk down to it: walk once per such block.
    const blockSpan = V.levelSpan(target + 1);
    let blockKey = -1;
    let blockTable: number | undefined;
    for (let a = iova; a < iova + size; a += pageSize) {
      const key = Math.floor(a / blockSpan);
      if (key !== blockKey) {
        blockKey = key;
        let table = this.root;
        let level = DOMAIN_LEVELS;
        for (; level > target; level--) {
          const e = readPte(this.ram, table + V.levelIndex(a, level) * V.PTE_SIZE);
          if (!e.present) break;
          if (e.large) return derr('overlap', `map: IOVA ${hex(a)} is already mapped by a superpage in domain ${this.id}`, a);
          table = e.addr;
        }
        blockTable = level > target ? undefined : table;
        if (level > target) for (let l = level - 1; l >= target; l--) missing.add(l + 8 * Math.floor(a / (V.levelSpan(l) * V.PTES_PER_TABLE)));
      }
      if (blockTable === undefined) continue;
      const table = blockTable;
      const e = readPte(this.ram, table + V.levelIndex(a, target) * V.PTE_SIZE);
      if (!e.present) continue;
      if (target === 2 && !e.large && this.#tableEmpty(e.addr)) {
        replace.push(e.addr);
        continue;
      }
      return derr('overlap', `map: IOVA ${hex(a)} is already mapped in domain ${this.id}`, a);
    }
    if (missing.size > this.alloc.available) {
      return derr('no-memory', `map: ${missing.size} page-table pages needed, ${this.alloc.available} left in the pool`, iova);
    }

    // The map will succeed. An IOVA still in the flush queue may still sit in an IOTLB: flush first
    // (Linux never reuses an IOVA before its flush; see the header).
    let ns = 0;
    let flushed = false;
    if (this.#queue.some((q) => iova < q.iova + q.size && q.iova < iova + size)) {
      ns += this.flush().ns;
      flushed = true;
    }

    // Pass 2: install. Non-leaf entries get R|W as Linux writes them; rights live in the leaves.
    blockKey = -1;
    let table = this.root;
    for (let off = 0; off < size; off += pageSize) {
      const a = iova + off;
      const key = Math.floor(a / blockSpan);
      if (key !== blockKey) {
        blockKey = key;
        table = this.root;
        for (let level = DOMAIN_LEVELS; level > target; level--) {
          const slot = table + V.levelIndex(a, level) * V.PTE_SIZE;
          const e = readPte(this.ram, slot);
          if (e.present) {
            table = e.addr;
            continue;
          }
          const t = this.alloc.alloc();
          invariant(t !== undefined, 'page-table pool ran out after the pre-count');
          this.stats.tables++;
          this.ram.write64(slot, V.encodePte(t, true, true, false));
          table = t;
        }
      }
      this.ram.write64(table + V.levelIndex(a, target) * V.PTE_SIZE, V.encodePte(hpa + off, perm.read, perm.write, target === 2));
    }
    for (const t of replace) {
      this.alloc.free(t);
      this.stats.tables--;
    }
    this.stats.maps++;
    this.stats.mappedBytes += size;
    return { ok: true, pages: size / pageSize, tablesAllocated: missing.size, flushed, ns };
  }

  /**
   * Unmap [iova, iova+size) (Linux intel_iommu_unmap): a superpage the range touches is removed
   * whole, as Linux does, so `unmapped` may extend past the range. Page tables that the range
   * covers entirely are freed — after the invalidation, which under 'deferred' means at the flush.
   */
  unmap(iova: number, size: number): UnmapResult {
    if (!Number.isInteger(size) || size <= 0) return derr('bad-size', `unmap: size ${size} must be a positive multiple of 4 KiB`);
    if (!isU(iova) || iova % PAGE_4K || size % PAGE_4K) return derr('unaligned', `unmap: IOVA ${hex(iova)} and size ${hex(size)} must be 4 KiB multiples`, iova);
    if (iova + size > IOVA_LIMIT_48) return derr('out-of-range', `unmap: [${hex(iova)}, +${hex(size)}) runs past the 48-bit IOVA space`, iova);
    const removed: Mapping[] = [];
    const freed: number[] = [];
    this.#clear(this.root, DOMAIN_LEVELS, 0, iova, iova + size, removed, freed);
    if (removed.length === 0) return { ok: true, unmapped: [], bytes: 0, invalidations: 0, flushed: false, ns: 0 };
    this.stats.unmaps++;
    const unmapped = coalesce(removed);
    let bytes = 0;
    for (const m of unmapped) bytes += m.size;
    this.stats.mappedBytes -= bytes;
    const start = unmapped[0]!.iova;
    const last = unmapped[unmapped.length - 1]!;
    const extent = last.iova + last.size - start;
    for (const u of this.#iommus) for (const m of unmapped) u.noteUnmapped(this.id, m.iova, m.size);

    if (this.policy === 'strict') {
      // Page-selective invalidation of the unmapped extent on every IOMMU, then free the tables.
      let invalidations = 0;
      for (const u of this.#iommus) {
        u.invalidate(this.id, start, extent);
        invalidations++;
      }
      const ns = this.#charge(invalidations);
      this.#freeTables(freed);
      return { ok: true, unmapped, bytes, invalidations, flushed: false, ns };
    }
    this.#queue.push({ iova: start, size: extent, tables: freed });
    if (this.#queue.length >= this.flushEvery) {
      const f = this.flush();
      return { ok: true, unmapped, bytes, invalidations: f.invalidations, flushed: true, ns: f.ns };
    }
    return { ok: true, unmapped, bytes, invalidations: 0, flushed: false, ns: 0 };
  }

  /**
   * Empty the flush queue: one domain-selective IOTLB invalidation per IOMMU (Linux's fq flush
   * calls iommu_flush_iotlb_all), then release the queued page tables. Closes the stale window.
   */
  flush(): FlushResult {
    if (this.#queue.length === 0) return { invalidations: 0, ranges: 0, ns: 0 };
    let invalidations = 0;
    for (const u of this.#iommus) {
      u.invalidate(this.id);
      invalidations++;
    }
    const ranges = this.#queue.length;
    for (const q of this.#queue) this.#freeTables(q.tables);
    this.#queue = [];
    this.stats.flushes++;
    return { invalidations, ranges, ns: this.#charge(invalidations) };
  }

  /** Software walk of this domain's tables (Linux iommu_iova_to_phys): the leaf covering `iova`. */
  lookup(iova: number): Mapping | undefined {
    if (!isU(iova) || iova >= IOVA_LIMIT_48) return undefined;
    let table = this.root;
    for (let level = DOMAIN_LEVELS; level >= 1; level--) {
      const e = readPte(this.ram, table + V.levelIndex(iova, level) * V.PTE_SIZE);
      if (!e.present) return undefined;
      if (level === 1 || e.large) {
        const span = V.levelSpan(level);
        const base = iova - (iova % span);
        return { iova: base, hpa: e.addr, size: span, pageSize: span, read: e.read, write: e.write };
      }
      table = e.addr;
    }
    return undefined;
  }

  #charge(invalidations: number): Ns {
    const ns = invalidations * COSTS.iotlbInvalidate.ns;
    this.stats.invalidations += invalidations;
    this.stats.invalidationNs += ns;
    return ns;
  }

  #freeTables(tables: number[]): void {
    for (const t of tables) {
      this.alloc.free(t);
      this.stats.tables--;
    }
  }

  #tableEmpty(table: number): boolean {
    for (let i = 0; i < V.PTES_PER_TABLE; i++) if (readPte(this.ram, table + i * V.PTE_SIZE).present) return false;
    return true;
  }

  /** Clear leaves of the table at `level` (covering IOVAs from `base`) that meet [start, end). */
  #clear(table: number, level: number, base: number, start: number, end: number, removed: Mapping[], freed: number[]): void {
    const span = V.levelSpan(level);
    const first = Math.max(0, Math.floor((start - base) / span));
    const last = Math.min(V.PTES_PER_TABLE - 1, Math.floor((end - 1 - base) / span));
    for (let i = first; i <= last; i++) {
      const slot = table + i * V.PTE_SIZE;
      const e = readPte(this.ram, slot);
      if (!e.present) continue;
      const at = base + i * span;
      if (level === 1 || e.large) {
        removed.push({ iova: at, hpa: e.addr, size: span, pageSize: span, read: e.read, write: e.write });
        this.ram.write64(slot, 0);
        continue;
      }
      this.#clear(e.addr, level - 1, at, start, end, removed, freed);
      if (start <= at && at + span <= end) {
        // The range covers this whole child table: unlink it now, free it after the invalidation.
        this.ram.write64(slot, 0);
        freed.push(e.addr);
      }
    }
  }
}

function derr(code: DomainErrorCode, message: string, iova?: number): DomainError {
  return iova === undefined ? { ok: false, code, message } : { ok: false, code, message, iova };
}

function coalesce(ms: Mapping[]): Mapping[] {
  const out: Mapping[] = [];
  for (const m of ms) {
    const p = out[out.length - 1];
    if (p && p.iova + p.size === m.iova && p.hpa + p.size === m.hpa && p.read === m.read && p.write === m.write && p.pageSize === m.pageSize) p.size += m.size;
    else out.push({ ...m });
  }
  return out;
}

// ═══ Hardware side: the remapping unit ═══════════════════════════════════════════════════════

export interface Fault {
  /** Requester id of the DMA: bus 15:8, devfn 7:0. */
  sourceId: number;
  /** The request's address (the fault recording register keeps bits 63:12 of it). */
  address: number;
  reason: V.VtdFaultReason;
  write: boolean;
}

export type TranslateResult =
  | {
      ok: true;
      hpa: number;
      /** Answered by the IOTLB. */
      hit: boolean;
      /** Second-stage paging-entry reads (0 on a hit). */
      walkReads: number;
      /** Root + context entry reads (2 on a context-cache miss, else 0). */
      contextReads: number;
      pageSize: number;
      domainId: number;
      /** The IOTLB entry used covers a range the domain has unmapped (deferred policy's window). */
      stale: boolean;
    }
  | { ok: false; fault: Fault; walkReads: number; contextReads: number; /** In the fault log (not FPD, no overflow). */ recorded: boolean };

/** One read the walker made, with the raw dwords it saw (for tests and page-table diagrams). */
export interface WalkStep {
  what: 'root-entry' | 'context-entry' | 'pte';
  /** For 'pte': the table level (4 = top of a 48-bit tree). */
  level: number;
  addr: number;
  /** The entry as little-endian dwords (4 for 128-bit root/context entries, 2 for a PTE). */
  dwords: number[];
}
export type WalkResult =
  | { ok: true; hpa: number; pageSize: number; read: boolean; write: boolean; domainId: number; steps: WalkStep[] }
  | { ok: false; reason: V.VtdFaultReason; steps: WalkStep[] };

export type AttachErrorCode =
  /** bus or devfn is not 0–255. */
  | 'bad-source-id'
  /** The device already has a present context entry: detach it first. */
  | 'already-attached'
  /** Detach of a device that has no context entry written by attach. */
  | 'not-attached'
  /** No free page for the bus's context table. */
  | 'no-memory'
  /** The root entry for the bus points at memory that is not there. */
  | 'bad-root-entry';
export type AttachResult = { ok: true; sourceId: number } | { ok: false; code: AttachErrorCode; message: string };

export interface DmaSegment {
  iova: number;
  hpa: number;
  len: number;
  /** The VM whose RAM the bytes landed in (or came from). */
  vm: string;
  gpa: number;
}
export type DmaErrorCode =
  /** A page of the DMA faulted in the IOMMU; `fault` says which and why. */
  | 'iommu-fault'
  /** A page translated to an HPA that no RAM backs. */
  | 'unbacked-hpa'
  /** A page translated to host-owned memory (e.g. the IOMMU's tables), which is no DMA target here. */
  | 'host-memory'
  /** Negative or non-integer address or length, or a write without data. */
  | 'bad-request';
export type DmaResult =
  | { ok: true; bytes: Uint8Array; segments: DmaSegment[]; translations: number; misses: number; ns: Ns }
  | { ok: false; code: DmaErrorCode; message: string; fault?: Fault; iova?: number; hpa?: number; ns: Ns };

export interface VtdOptions {
  /** IOTLB capacity in entries (LRU). CALIBRATION §1.2: "tens of entries effective". */
  iotlbEntries?: number;
  /** Fault recording registers (CAP_REG.NFR + 1). */
  faultRecords?: number;
  /** Host address width (DMAR HAW + 1): address bits at or above it are reserved. */
  hostAddressWidth?: number;
}

/** AW encodings this unit supports (CAP_REG.SAGAW = 0b0110: 39- and 48-bit). */
export const VTD_SAGAW = [V.AGAW_39, V.AGAW_48] as const;

interface ContextInfo {
  did: number;
  slptptr: number;
  levels: number;
  width: number;
  fpd: boolean;
}
interface IotlbEntry {
  did: number;
  /** 0: 4 KiB, 1: 2 MiB, 2: 1 GiB. */
  size: 0 | 1 | 2;
  iovaBase: number;
  hpaBase: number;
  read: boolean;
  write: boolean;
  stale: boolean;
}

const SPAN = [PAGE_4K, PAGE_2M, PAGE_1G] as const;
// Key = (code) × 2^16 + did, code = page number offset per size class; exact below 2^53 for 48-bit IOVAs.
const KEY_BASE = [0, 2 ** 36, 2 ** 36 + 2 ** 27] as const;
const iotlbKey = (did: number, iova: number, size: 0 | 1 | 2): number => (KEY_BASE[size] + Math.floor(iova / SPAN[size])) * 65536 + did;

/** Context lookup outcome (internal). */
type CtxOutcome = { ok: true; ctx: ContextInfo; reads: number } | { ok: false; reason: V.VtdFaultReason; reads: number; fpd: boolean };
/** Page walk outcome (internal). */
type WalkOutcome = { ok: true; hpa: number; size: 0 | 1 | 2; read: boolean; write: boolean; reads: number } | { ok: false; reason: V.VtdFaultReason; reads: number };

/** One VT-d DMA-remapping hardware unit (a DRHD). */
export class VtdIommu {
  readonly ram: HostRam;
  readonly alloc: PageAllocator;
  /** RTADDR_REG: HPA of the 4 KiB root table (allocated at construction, all entries not present). */
  readonly rootTable: number;
  readonly iotlbEntries: number;
  readonly faultRecords: number;
  readonly hostAddressWidth: number;
  readonly stats = {
    translations: 0, hits: 0, misses: 0, walkReads: 0, contextReads: 0, contextCacheMisses: 0,
    invalidations: 0, contextInvalidations: 0, evictions: 0, staleHits: 0,
    faults: 0, faultsRecorded: 0, faultsSuppressed: 0, faultsDropped: 0,
    dmas: 0, dmaBytes: 0,
  };
  #iotlb = new Map<number, IotlbEntry>();
  #bySize = [0, 0, 0];
  #ctxCache = new Map<number, ContextInfo>();
  #faultLog: Fault[] = [];
  #pfo = false;
  #devices = new Map<number, IommuDomain>();
  readonly #haLimit: number;

  constructor(ram: HostRam, alloc: PageAllocator, opts: VtdOptions = {}) {
    this.ram = ram;
    this.alloc = alloc;
    this.iotlbEntries = opts.iotlbEntries ?? 64;
    this.faultRecords = opts.faultRecords ?? 8;
    this.hostAddressWidth = opts.hostAddressWidth ?? 46;
    invariant(Number.isInteger(this.iotlbEntries) && this.iotlbEntries >= 1, 'iotlbEntries must be ≥ 1');
    invariant(Number.isInteger(this.faultRecords) && this.faultRecords >= 1 && this.faultRecords <= 256, 'faultRecords must be 1–256');
    invariant(this.hostAddressWidth >= 32 && this.hostAddressWidth <= 52, 'hostAddressWidth must be 32–52');
    this.#haLimit = 2 ** this.hostAddressWidth;
    const root = alloc.alloc();
    invariant(root !== undefined, 'table pool exhausted allocating the root table');
    this.rootTable = root;
  }

  // ── Software's side of the tables: attach / detach (Linux domain_context_mapping_one) ────

  /** Point device bus:devfn at `domain`: writes the root entry (first device on the bus) and the context entry. */
  attach(bus: number, devfn: number, domain: IommuDomain, opts: { faultProcessingDisable?: boolean } = {}): AttachResult {
    if (!isByte(bus) || !isByte(devfn)) return { ok: false, code: 'bad-source-id', message: `attach: bus ${bus} / devfn ${devfn} must be 0–255` };
    const sid = V.sourceIdOf(bus, devfn);
    const rootSlot = this.rootTable + bus * V.ROOT_ENTRY_SIZE;
    let rootLo = this.ram.read32(rootSlot) ?? 0;
    if (!(rootLo & V.ROOT_ENTRY_P)) {
      const ct = this.alloc.alloc();
      if (ct === undefined) return { ok: false, code: 'no-memory', message: `attach ${V.formatSourceId(sid)}: no free page for bus ${bus}'s context table` };
      this.ram.write64(rootSlot + 8, 0);
      this.ram.write64(rootSlot, V.encodeRootLo(ct));
      rootLo = this.ram.read32(rootSlot)!;
    }
    const ctp = V.qwordAddr(rootLo, this.ram.read32(rootSlot + 4) ?? 0);
    const slot = ctp + devfn * V.CONTEXT_ENTRY_SIZE;
    const ctxLo = this.ram.read32(slot);
    if (ctxLo === undefined) return { ok: false, code: 'bad-root-entry', message: `attach ${V.formatSourceId(sid)}: root entry for bus ${bus} points at ${hex(ctp)}, which no memory backs` };
    if (ctxLo & V.CONTEXT_P) {
      const did = ((this.ram.read32(slot + 8) ?? 0) >>> V.CONTEXT_DID_SHIFT) & V.CONTEXT_DID_MASK;
      return { ok: false, code: 'already-attached', message: `attach ${V.formatSourceId(sid)}: already has a present context entry (domain ${did}); detach first` };
    }
    // The high qword first, then the low one that carries P, so hardware never sees half an entry.
    this.ram.write64(slot + 8, V.encodeContextHi(domain.id, domain.aw));
    this.ram.write64(slot, V.encodeContextLo(domain.root, V.CONTEXT_TT_MULTI_LEVEL, opts.faultProcessingDisable ?? false));
    this.#devices.set(sid, domain);
    domain.linkIommu(this, true);
    this.invalidateContext(sid);
    return { ok: true, sourceId: sid };
  }

  /** Clear the device's context entry, then invalidate its context-cache entry and the domain's IOTLB entries. */
  detach(bus: number, devfn: number): AttachResult {
    if (!isByte(bus) || !isByte(devfn)) return { ok: false, code: 'bad-source-id', message: `detach: bus ${bus} / devfn ${devfn} must be 0–255` };
    const sid = V.sourceIdOf(bus, devfn);
    const domain = this.#devices.get(sid);
    const slot = this.contextEntryAddress(bus, devfn);
    if (!domain || slot === undefined) return { ok: false, code: 'not-attached', message: `detach ${V.formatSourceId(sid)}: not attached` };
    this.ram.write64(slot, 0); // P first
    this.ram.write64(slot + 8, 0);
    this.#devices.delete(sid);
    if (![...this.#devices.values()].includes(domain)) domain.linkIommu(this, false);
    this.invalidateContext(sid);
    this.invalidate(domain.id);
    return { ok: true, sourceId: sid };
  }

  /** The domain a source-id was attached to by attach(), if any (software's record, not the tables). */
  domainOf(sourceId: number): IommuDomain | undefined {
    return this.#devices.get(sourceId);
  }

  /** HPA of the root entry for `bus`. */
  rootEntryAddress(bus: number): number {
    return this.rootTable + (bus & 0xff) * V.ROOT_ENTRY_SIZE;
  }
  /** HPA of the context entry for bus:devfn, read through the root entry; undefined if that is not present. */
  contextEntryAddress(bus: number, devfn: number): number | undefined {
    const slot = this.rootEntryAddress(bus);
    const lo = this.ram.read32(slot);
    if (lo === undefined || !(lo & V.ROOT_ENTRY_P)) return undefined;
    return V.qwordAddr(lo, this.ram.read32(slot + 4) ?? 0) + (devfn & 0xff) * V.CONTEXT_ENTRY_SIZE;
  }

  // ── Translation ──────────────────────────────────────────────────────────────────────────

  /**
   * Translate one untranslated DMA request. On an IOTLB hit this is one Map lookup; on a miss the
   * unit reads the tables in host memory, and on a fault it records it (unless FPD or overflow).
   */
  translate(sourceId: number, iova: number, access: Access): TranslateResult {
    invariant(Number.isInteger(sourceId) && sourceId >= 0 && sourceId <= 0xffff, `source-id ${sourceId} is not a 16-bit requester id`);
    this.stats.translations++;
    const write = access === 'write';
    let ctx = this.#ctxCache.get(sourceId);
    let contextReads = 0;
    if (!ctx) {
      const c = this.#context(sourceId, undefined);
      contextReads = c.reads;
      this.stats.contextReads += c.reads;
      this.stats.contextCacheMisses++;
      if (!c.ok) return this.#fault(sourceId, iova, c.reason, write, c.fpd, 0, contextReads);
      ctx = c.ctx;
      this.#ctxCache.set(sourceId, ctx);
    }
    if (!isU(iova) || iova >= 2 ** ctx.width) return this.#fault(sourceId, iova, V.VTD_FR_ADDR_BEYOND_MGAW, write, ctx.fpd, 0, contextReads);

    // IOTLB: one entry per page size; try 4 KiB, then 2 MiB and 1 GiB if any are cached.
    for (let s = 0 as 0 | 1 | 2; s <= 2; s = (s + 1) as 0 | 1 | 2) {
      if (s > 0 && this.#bySize[s] === 0) continue;
      const key = iotlbKey(ctx.did, iova, s);
      const e = this.#iotlb.get(key);
      if (!e) continue;
      this.stats.hits++;
      this.#iotlb.delete(key); // LRU: move to the most-recent end
      this.#iotlb.set(key, e);
      if (write ? !e.write : !e.read) return this.#fault(sourceId, iova, write ? V.VTD_FR_WRITE : V.VTD_FR_READ, write, ctx.fpd, 0, contextReads);
      if (e.stale) this.stats.staleHits++;
      return { ok: true, hpa: e.hpaBase + (iova - e.iovaBase), hit: true, walkReads: 0, contextReads, pageSize: SPAN[e.size], domainId: ctx.did, stale: e.stale };
    }

    this.stats.misses++;
    const w = this.#walk(ctx, iova, write, undefined);
    this.stats.walkReads += w.reads;
    if (!w.ok) return this.#fault(sourceId, iova, w.reason, write, ctx.fpd, w.reads, contextReads);
    this.#fill({ did: ctx.did, size: w.size, iovaBase: iova - (iova % SPAN[w.size]), hpaBase: w.hpa - (iova % SPAN[w.size]), read: w.read, write: w.write, stale: false });
    return { ok: true, hpa: w.hpa, hit: false, walkReads: w.reads, contextReads, pageSize: SPAN[w.size], domainId: ctx.did, stale: false };
  }

  /**
   * The walk hardware would do for this request, ignoring and leaving untouched every cache,
   * counter and the fault log; every step with the raw entry it read. For tests and diagrams.
   */
  walk(sourceId: number, iova: number, access: Access = 'read'): WalkResult {
    const steps: WalkStep[] = [];
    const c = this.#context(sourceId & 0xffff, steps);
    if (!c.ok) return { ok: false, reason: c.reason, steps };
    if (!isU(iova) || iova >= 2 ** c.ctx.width) return { ok: false, reason: V.VTD_FR_ADDR_BEYOND_MGAW, steps };
    const w = this.#walk(c.ctx, iova, access === 'write', steps);
    if (!w.ok) return { ok: false, reason: w.reason, steps };
    return { ok: true, hpa: w.hpa, pageSize: SPAN[w.size], read: w.read, write: w.write, domainId: c.ctx.did, steps };
  }

  /** Simulated time of one translation: ≈ 0 on a hit; each table read costs a DRAM access. */
  translationNs(r: TranslateResult): Ns {
    return (r.walkReads + r.contextReads) * COSTS.iommuWalkRead.ns;
  }

  // ── Invalidation (Chapter 6) ─────────────────────────────────────────────────────────────

  /**
   * IOTLB invalidation: domain-selective when `iova` is omitted, else page-selective over
   * [iova, iova+size) (size defaults to 4 KiB). Hardware's page-selective form takes an
   * address mask (2^AM aligned pages); removing exactly the overlapping entries is what a mask
   * wide enough for the range does.
   */
  invalidate(domainId: number, iova?: number, size = PAGE_4K): void {
    this.stats.invalidations++;
    for (const [k, e] of this.#iotlb) {
      if (e.did !== domainId) continue;
      if (iova !== undefined && !(e.iovaBase < iova + size && iova < e.iovaBase + SPAN[e.size])) continue;
      this.#iotlb.delete(k);
      this.#bySize[e.size]!--;
    }
  }

  /** Global IOTLB invalidation. */
  invalidateAll(): void {
    this.stats.invalidations++;
    this.#iotlb.clear();
    this.#bySize = [0, 0, 0];
  }

  /** Context-cache invalidation: one device (source-id) or, with no argument, global. */
  invalidateContext(sourceId?: number): void {
    this.stats.contextInvalidations++;
    if (sourceId === undefined) this.#ctxCache.clear();
    else this.#ctxCache.delete(sourceId);
  }

  /** @internal Observer hook from IommuDomain.unmap: flag IOTLB entries that now translate an unmapped range. */
  noteUnmapped(domainId: number, iova: number, size: number): void {
    for (const e of this.#iotlb.values()) {
      if (e.did === domainId && e.iovaBase < iova + size && iova < e.iovaBase + SPAN[e.size]) e.stale = true;
    }
  }

  /** Number of IOTLB entries cached now (all domains). */
  get iotlbSize(): number {
    return this.#iotlb.size;
  }
  /** Snapshot of the IOTLB, least recently used first. */
  iotlbSnapshot(): { domainId: number; iova: number; hpa: number; pageSize: number; read: boolean; write: boolean; stale: boolean }[] {
    return [...this.#iotlb.values()].map((e) => ({ domainId: e.did, iova: e.iovaBase, hpa: e.hpaBase, pageSize: SPAN[e.size], read: e.read, write: e.write, stale: e.stale }));
  }

  // ── Fault recording (Chapter 7, primary fault logging) ───────────────────────────────────

  /** Faults held in the fault recording registers, oldest first. */
  get faultLog(): readonly Fault[] {
    return this.#faultLog;
  }
  /** FSTS.PFO: a fault was dropped because every recording register was full. */
  get primaryFaultOverflow(): boolean {
    return this.#pfo;
  }
  /** The Fault Status register: PFO, PPF, FRI (always 0 here: software clears the whole log). */
  faultStatus(): number {
    return (this.#pfo ? V.DMA_FSTS_PFO : 0) | (this.#faultLog.length > 0 ? V.DMA_FSTS_PPF : 0);
  }
  /** The fault recording registers as hardware lays them out (four dwords each). */
  faultRecordRegisters(): [number, number, number, number][] {
    return this.#faultLog.map((f) => V.encodeFaultRecord(f.address, f.sourceId, f.reason, f.write));
  }
  /** Software's fault handler: read the records, clear their F bits and PFO. Returns what it read. */
  clearFaults(): Fault[] {
    const out = this.#faultLog;
    this.#faultLog = [];
    this.#pfo = false;
    return out;
  }

  // ── DMA helpers (the device's side) ──────────────────────────────────────────────────────

  /** Device write of `bytes` at `iova`: all pages translate and land in VM RAM, or nothing is written. */
  dmaWrite(sourceId: number, iova: number, bytes: Uint8Array): DmaResult {
    return this.#dma(sourceId, iova, bytes.length, 'write', bytes);
  }
  /** Device read of `len` bytes at `iova` (into `into` when given). All or nothing. */
  dmaRead(sourceId: number, iova: number, len: number, into?: Uint8Array): DmaResult {
    return this.#dma(sourceId, iova, len, 'read', into);
  }
  /** dmaWrite (data = bytes) or dmaRead (data = length, or a buffer to fill) by `access`. */
  dma(sourceId: number, iova: number, data: Uint8Array | number, access: Access): DmaResult {
    if (access === 'write') {
      if (typeof data === 'number') return { ok: false, code: 'bad-request', message: 'DMA write without data', ns: 0 };
      return this.dmaWrite(sourceId, iova, data);
    }
    return typeof data === 'number' ? this.dmaRead(sourceId, iova, data) : this.dmaRead(sourceId, iova, data.length, data);
  }

  #dma(sid: number, iova: number, len: number, access: Access, data: Uint8Array | undefined): DmaResult {
    if (!isU(iova) || !isU(len) || (data && access === 'read' && data.length < len)) {
      return { ok: false, code: 'bad-request', message: `DMA ${access} of ${len} bytes at ${iova}: address and length must be non-negative integers`, ns: 0 };
    }
    this.stats.dmas++;
    // Pass 1: translate every ≤ 4 KiB request (PCIe requests never cross a 4 KiB boundary).
    const hpas: number[] = [];
    const lens: number[] = [];
    let ns = 0;
    let misses = 0;
    for (let off = 0; off < len; ) {
      const a = iova + off;
      const n = Math.min(len - off, PAGE_4K - (a % PAGE_4K));
      const r = this.translate(sid, a, access);
      ns += this.translationNs(r);
      if (!r.ok) return { ok: false, code: 'iommu-fault', fault: r.fault, message: describeFault(r.fault), iova: a, ns };
      if (!r.hit) misses++;
      hpas.push(r.hpa);
      lens.push(n);
      off += n;
    }
    // Pass 2: every page must land in some VM's RAM.
    const regions: RamRegion[] = [];
    for (let i = 0, off = 0; i < hpas.length; off += lens[i]!, i++) {
      const h = hpas[i]!;
      const r = this.ram.find(h);
      if (!r || h + lens[i]! > r.hpa + r.size) {
        return { ok: false, code: 'unbacked-hpa', message: `DMA ${access} by ${V.formatSourceId(sid)}: IOVA ${hex(iova + off)} translates to HPA ${hex(h)}, which no RAM backs; nothing was ${access === 'write' ? 'written' : 'read'}`, iova: iova + off, hpa: h, ns };
      }
      if (r.kind !== 'vm') {
        return { ok: false, code: 'host-memory', message: `DMA ${access} by ${V.formatSourceId(sid)}: IOVA ${hex(iova + off)} translates to HPA ${hex(h)} in host memory (${r.owner}); refused`, iova: iova + off, hpa: h, ns };
      }
      regions.push(r);
    }
    // Pass 3: touch memory.
    const out = access === 'read' ? (data ?? new Uint8Array(len)) : data!;
    const segments: DmaSegment[] = [];
    for (let i = 0, off = 0; i < hpas.length; off += lens[i]!, i++) {
      const r = regions[i]!;
      const h = hpas[i]!;
      const n = lens[i]!;
      const gpa = r.offset + (h - r.hpa);
      if (access === 'write') r.mem.write(gpa, out.subarray(off, off + n));
      else r.mem.readInto(gpa, n, out, off);
      const p = segments[segments.length - 1];
      if (p && p.vm === r.owner && p.iova + p.len === iova + off && p.gpa + p.len === gpa && p.hpa + p.len === h) p.len += n;
      else segments.push({ iova: iova + off, hpa: h, len: n, vm: r.owner, gpa });
    }
    this.stats.dmaBytes += len;
    return { ok: true, bytes: out, segments, translations: hpas.length, misses, ns };
  }

  // ── Internals ────────────────────────────────────────────────────────────────────────────

  #fault(sourceId: number, address: number, reason: V.VtdFaultReason, write: boolean, fpd: boolean, walkReads: number, contextReads: number): TranslateResult {
    const fault: Fault = { sourceId, address, reason, write };
    this.stats.faults++;
    let recorded = false;
    if (fpd) this.stats.faultsSuppressed++;
    else if (this.#faultLog.length < this.faultRecords) {
      this.#faultLog.push(fault);
      this.stats.faultsRecorded++;
      recorded = true;
    } else {
      this.#pfo = true;
      this.stats.faultsDropped++;
    }
    return { ok: false, fault, walkReads, contextReads, recorded };
  }

  #fill(e: IotlbEntry): void {
    if (this.#iotlb.size >= this.iotlbEntries) {
      const [k, old] = this.#iotlb.entries().next().value!;
      this.#iotlb.delete(k);
      this.#bySize[old.size]!--;
      this.stats.evictions++;
    }
    this.#iotlb.set(iotlbKey(e.did, e.iovaBase, e.size), e);
    this.#bySize[e.size]!++;
  }

  /** Root entry → context entry for a source-id, checking what §9.1/§9.3 make checkable. */
  #context(sid: number, steps: WalkStep[] | undefined): CtxOutcome {
    const bus = sid >> 8;
    const devfn = sid & 0xff;
    const rs = this.rootTable + bus * V.ROOT_ENTRY_SIZE;
    const r = this.#read128(rs);
    if (!r) return { ok: false, reason: V.VTD_FR_ROOT_TABLE_INV, reads: 0, fpd: false };
    steps?.push({ what: 'root-entry', level: 0, addr: rs, dwords: r });
    if (!(r[0] & V.ROOT_ENTRY_P)) return { ok: false, reason: V.VTD_FR_ROOT_ENTRY_P, reads: 1, fpd: false };
    const ctp = V.qwordAddr(r[0], r[1]);
    if (r[0] & V.ROOT_ENTRY_LO_RSVD || r[1] >>> 20 || r[2] || r[3] || ctp >= this.#haLimit) {
      return { ok: false, reason: V.VTD_FR_ROOT_ENTRY_RSVD, reads: 1, fpd: false };
    }
    const cs = ctp + devfn * V.CONTEXT_ENTRY_SIZE;
    const c = this.#read128(cs);
    if (!c) return { ok: false, reason: V.VTD_FR_CONTEXT_TABLE_INV, reads: 1, fpd: false };
    steps?.push({ what: 'context-entry', level: 0, addr: cs, dwords: c });
    if (!(c[0] & V.CONTEXT_P)) return { ok: false, reason: V.VTD_FR_CONTEXT_ENTRY_P, reads: 2, fpd: false };
    const slptptr = V.qwordAddr(c[0], c[1]);
    if (c[0] & V.CONTEXT_LO_RSVD || c[1] >>> 20 || c[2] & V.CONTEXT_HI_RSVD_BIT7 || c[2] >>> 24 || c[3] || slptptr >= this.#haLimit) {
      return { ok: false, reason: V.VTD_FR_CONTEXT_ENTRY_RSVD, reads: 2, fpd: false };
    }
    // From here on the entry is well-formed, so its FPD bit governs fault recording.
    const fpd = (c[0] & V.CONTEXT_FPD) !== 0;
    const tt = (c[0] >>> V.CONTEXT_TT_SHIFT) & V.CONTEXT_TT_MASK;
    const aw = c[2] & V.CONTEXT_AW_MASK;
    if (tt === V.CONTEXT_TT_PASS_THROUGH || tt === 3 || !(VTD_SAGAW as readonly number[]).includes(aw)) {
      return { ok: false, reason: V.VTD_FR_CONTEXT_ENTRY_INV, reads: 2, fpd };
    }
    const did = (c[2] >>> V.CONTEXT_DID_SHIFT) & V.CONTEXT_DID_MASK;
    return { ok: true, ctx: { did, slptptr, levels: V.agawToLevels(aw), width: V.agawToWidth(aw), fpd }, reads: 2 };
  }

  /** Second-stage walk from SLPTPTR: one 8-byte read per level until a leaf. */
  #walk(ctx: ContextInfo, iova: number, write: boolean, steps: WalkStep[] | undefined): WalkOutcome {
    let table = ctx.slptptr;
    let read = true;
    let wr = true;
    let reads = 0;
    for (let level = ctx.levels; level >= 1; level--) {
      const slot = table + V.levelIndex(iova, level) * V.PTE_SIZE;
      const lo = this.ram.read32(slot);
      const hi = this.ram.read32(slot + 4);
      if (lo === undefined || hi === undefined) return { ok: false, reason: V.VTD_FR_PAGING_ENTRY_INV, reads };
      reads++;
      steps?.push({ what: 'pte', level, addr: slot, dwords: [lo, hi] });
      const r = (lo & V.DMA_PTE_READ) !== 0;
      const w = (lo & V.DMA_PTE_WRITE) !== 0;
      // R = W = 0 is "not present"; the fault is the permission the request lacked.
      if (!r && !w) return { ok: false, reason: write ? V.VTD_FR_WRITE : V.VTD_FR_READ, reads };
      read &&= r;
      wr &&= w;
      const addr = V.qwordAddr(lo, hi);
      if (addr >= this.#haLimit) return { ok: false, reason: V.VTD_FR_PAGING_ENTRY_RSVD, reads };
      const large = level > 1 && (lo & V.DMA_PTE_LARGE_PAGE) !== 0;
      if (large && level > 3) return { ok: false, reason: V.VTD_FR_PAGING_ENTRY_RSVD, reads };
      if (level === 1 || large) {
        const span = V.levelSpan(level);
        if (addr % span) return { ok: false, reason: V.VTD_FR_PAGING_ENTRY_RSVD, reads };
        if (write ? !wr : !read) return { ok: false, reason: write ? V.VTD_FR_WRITE : V.VTD_FR_READ, reads };
        return { ok: true, hpa: addr + (iova % span), size: (level - 1) as 0 | 1 | 2, read, write: wr, reads };
      }
      table = addr;
    }
    return { ok: false, reason: V.VTD_FR_PAGING_ENTRY_INV, reads }; // unreachable: level 1 is always a leaf
  }

  #read128(hpa: number): [number, number, number, number] | undefined {
    const d0 = this.ram.read32(hpa);
    const d1 = this.ram.read32(hpa + 4);
    const d2 = this.ram.read32(hpa + 8);
    const d3 = this.ram.read32(hpa + 12);
    return d0 === undefined || d1 === undefined || d2 === undefined || d3 === undefined ? undefined : [d0, d1, d2, d3];
  }
}

const isByte = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 255;

/** The sentence for a fault, in the words Linux's DMAR fault message uses. */
export function describeFault(f: Fault): string {
  return `IOMMU fault: device ${V.formatSourceId(f.sourceId)} ${f.write ? 'wrote' : 'read'} IOVA ${hex(f.address)}: ${V.FAULT_REASON_TEXT[f.reason]} (reason ${hex(f.reason)})`;
}
