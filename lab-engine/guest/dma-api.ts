/**
 * The DMA API a NIC driver calls around every buffer it hands the device (Linux dma_map_single /
 * dma_unmap_single, drivers/iommu/dma-iommu.c), behind an IOMMU (CALIBRATION §1.2, §3.6, C7):
 *   'none'        no IOMMU translation for this device (IOMMU off or identity): address = physical;
 *   'strict'      every unmap clears the PTEs and invalidates the IOTLB, waiting for completion;
 *   'deferred'    Linux's flush queue: unmapped IOVAs are invalidated in batches, when 256 are
 *                 queued (IOVA_DEFAULT_FQ_SIZE) or 10 ms after the first (IOVA_DEFAULT_FQ_TIMEOUT);
 *                 an IOVA is reused only after its flush;
 *   'optimistic'  Amit et al.'s optimistic teardown (vIOMMU, ATC 2011): an unmapped buffer keeps
 *                 its mapping for OPTIMISTIC_WINDOW_MS; mapping the same page again reuses it; idle
 *                 mappings are torn down in batches with one invalidation.
 * Where the IOMMU is:
 *   'host'    bare metal: the host's own IommuDomain (the driver runs on the host);
 *   'viommu'  a VFIO guest with a guest-visible (emulated) VT-d: each map, and each unmap or
 *             flush that invalidates, writes the vIOMMU's invalidation-queue tail — an MMIO exit to
 *             QEMU, which turns it into VFIO_IOMMU_MAP_DMA / UNMAP_DMA ioctls on the host's domain
 *             (intel-iommu with caching-mode=on reports new mappings too). No number is claimed.
 * IOVAs come from a top-down page allocator below 4 GiB (Linux tries 32-bit IOVAs first for PCI
 * devices), one IOVA range per map call, as dma-iommu does.
 *
 * Simplifications: the guest's vIOMMU page tables and invalidation descriptors are not laid out in
 * guest RAM — the pending requests travel in `viommuQueue`, and the IQT write that publishes them is
 * a real trapped MMIO write; the optimistic cache is keyed by host page and direction-blind.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { GuestOp } from '../hv/guest-ops.ts';
import { IOVA_DEFAULT_FQ_SIZE, IOVA_DEFAULT_FQ_TIMEOUT_MS, PAGE_4K, type IommuDomain } from '../hw/iommu/dma-remap.ts';
import type { MetricsRecorder } from '../sim/metrics.ts';

export type DmaApiMode = 'none' | 'strict' | 'deferred' | 'optimistic';
export const DMA_API_MODES: readonly DmaApiMode[] = ['none', 'strict', 'deferred', 'optimistic'];
/** How long an unmapped buffer stays mapped under optimistic teardown ("a few ms") [E]. */
export const OPTIMISTIC_WINDOW_MS = 2;
/** The vIOMMU's invalidation queue tail register (VT-d IQT_REG, offset 0x88) as the MMIO exit names it. */
export const VTD_IQT_REG = 0x88;

type Op = Generator<GuestOp, void, number>;
type Dma<T> = Generator<GuestOp, T, number>;

/** One request the guest's IOMMU driver published for QEMU's vIOMMU. */
export interface ViommuRequest {
  kind: 'map' | 'unmap';
  iova: number;
  /** Guest-physical page (map) — QEMU translates it to its vaddr, VFIO to the HPA. */
  gpa: number;
  size: number;
}

interface Live {
  iova: number;
  pages: number;
  refs: number;
  idleSince: Ns;
}

export class DmaApi {
  readonly mode: DmaApiMode;
  readonly where: 'host' | 'viommu';
  /** The domain the driver's maps reach directly ('host'); for 'viommu' QEMU owns the host's. */
  readonly domain: IommuDomain | undefined;
  /** Requests the guest published with its last IQT write ('viommu'); QEMU's vIOMMU empties it. */
  readonly viommuQueue: ViommuRequest[] = [];
  now: () => Ns = () => 0;
  /** 'host': schedule the flush-queue / teardown timer; the callback returns the host CPU time it took. */
  armTimer: ((at: Ns, run: () => Ns) => void) | undefined;
  readonly stats = { maps: 0, unmaps: 0, reused: 0, flushes: 0, exits: 0, maxStaleNs: 0 };

  #next = 0x1_0000_0000;
  #free: number[] = [];
  /** IOVAs unmapped but not yet invalidated: reused only after the flush (Linux's flush queue). */
  #fq: { iova: number; pages: number; at: Ns }[] = [];
  #timerArmed = false;
  #lastSweep = 0;
  #live = new Map<number, Live>();
  #byIova = new Map<number, Live>();
  readonly #metrics: MetricsRecorder;

  constructor(mode: DmaApiMode, where: 'host' | 'viommu', domain: IommuDomain | undefined, metrics: MetricsRecorder) {
    this.mode = mode;
    this.where = where;
    this.domain = domain;
    this.#metrics = metrics;
  }

  get active(): boolean {
    return this.mode !== 'none';
  }

  /** dma_map_single(gpa, len): the bus address to put in a descriptor. */
  *map(gpa: number, len: number, pkt?: number): Dma<number> {
    if (!this.active) return gpa;
    yield* this.#housekeeping();
    const page = gpa - (gpa % PAGE_4K);
    const pages = Math.ceil((gpa - page + len) / PAGE_4K);
    this.stats.maps++;
    this.#metrics.count(this.now(), 'dmaMaps');
    if (this.mode === 'optimistic') {
      const live = this.#live.get(page);
      if (live && live.pages >= pages) {
        live.refs++;
        this.stats.reused++;
        yield { op: 'compute', ns: COSTS.optimisticReuse.ns, kind: 'dma-map', label: 'dma_map: reuse a live mapping (optimistic teardown)', pkt };
        return live.iova + (gpa - page);
      }
    }
    const iova = this.#allocIova(pages);
    yield { op: 'compute', ns: COSTS.dmaMapSoftware.ns, kind: 'dma-map', label: 'dma_map: allocate an IOVA, write the PTEs', pkt };
    if (this.where === 'host') {
      const r = this.domain!.map(iova, page, pages * PAGE_4K, { read: true, write: true });
      if (r.ok && r.ns > 0) yield { op: 'compute', ns: r.ns, kind: 'iotlb-inv', label: 'flush the queue before reusing an IOVA' };
    } else yield* this.#publish([{ kind: 'map', iova, gpa: page, size: pages * PAGE_4K }]);
    if (this.mode === 'optimistic') {
      const e: Live = { iova, pages, refs: 1, idleSince: 0 };
      this.#live.set(page, e);
      this.#byIova.set(iova, e);
    }
    return iova + (gpa - page);
  }

  /** dma_unmap_single(addr, len) after the device is done with the buffer. */
  *unmap(addr: number, len: number, pkt?: number): Op {
    if (!this.active) return;
    yield* this.#housekeeping();
    const iova = addr - (addr % PAGE_4K);
    const pages = Math.ceil((addr - iova + len) / PAGE_4K);
    this.stats.unmaps++;
    this.#metrics.count(this.now(), 'dmaUnmaps');
    if (this.mode === 'optimistic') {
      const e = this.#byIova.get(iova);
      if (e) {
        e.refs--;
        if (e.refs === 0) e.idleSince = this.now();
        yield { op: 'compute', ns: COSTS.optimisticReuse.ns, kind: 'dma-unmap', label: 'dma_unmap: keep the mapping alive (optimistic teardown)', pkt };
        this.#armTimer();
        return;
      }
    }
    yield { op: 'compute', ns: COSTS.dmaUnmapSoftware.ns, kind: 'dma-unmap', label: 'dma_unmap: clear the PTEs', pkt };
    const strict = this.mode === 'strict';
    if (this.where === 'host') {
      const r = this.domain!.unmap(iova, pages * PAGE_4K);
      if (!r.ok) return;
      if (r.invalidations) this.#metrics.count(this.now(), 'iotlbInvalidations', r.invalidations);
      if (r.ns > 0) yield { op: 'compute', ns: r.ns, kind: 'iotlb-inv', label: strict ? 'strict unmap: invalidate the IOTLB and wait' : 'flush queue full: invalidate the batch' };
      if (strict) this.#recycle(iova, pages);
      else {
        this.#fq.push({ iova, pages, at: this.now() });
        if (r.flushed) this.#releaseFq();
        else this.#armTimer();
      }
      return;
    }
    if (strict) {
      yield* this.#publish([{ kind: 'unmap', iova, gpa: 0, size: pages * PAGE_4K }]);
      this.#recycle(iova, pages);
      return;
    }
    this.#fq.push({ iova, pages, at: this.now() });
    if (this.#fq.length >= IOVA_DEFAULT_FQ_SIZE) yield* this.#flushGuest();
  }

  /**
   * 'viommu': the guest's own timers (the flush-queue timeout, the optimistic sweep) run on its
   * vCPU, so they are checked here, at the next DMA-API call, and exit like any invalidation.
   */
  *#housekeeping(): Op {
    if (this.where !== 'viommu') return;
    const t = this.now();
    if (this.#fq.length > 0 && t - this.#fq[0]!.at >= IOVA_DEFAULT_FQ_TIMEOUT_MS * 1_000_000) yield* this.#flushGuest();
    if (this.mode === 'optimistic' && t - this.#lastSweep >= OPTIMISTIC_WINDOW_MS * 1_000_000) {
      this.#lastSweep = t;
      this.#sweep(t);
      if (this.#fq.length > 0) yield* this.#flushGuest();
    }
  }

  /** The guest flushes its queue: one IQT write carrying every queued unmap. */
  *#flushGuest(): Op {
    const reqs = this.#fq.map((q) => ({ kind: 'unmap' as const, iova: q.iova, gpa: 0, size: q.pages * PAGE_4K }));
    yield* this.#publish(reqs);
    this.#releaseFq();
    this.stats.flushes++;
  }

  /** Optimistic teardown: idle mappings older than the window leave (into the flush queue). */
  #sweep(t: Ns): number {
    let ns = 0;
    for (const [page, e] of this.#live) {
      if (e.refs > 0 || t - e.idleSince < OPTIMISTIC_WINDOW_MS * 1_000_000) continue;
      this.#live.delete(page);
      this.#byIova.delete(e.iova);
      ns += COSTS.dmaUnmapSoftware.ns;
      if (this.where === 'host') this.domain?.unmap(e.iova, e.pages * PAGE_4K);
      this.#fq.push({ iova: e.iova, pages: e.pages, at: e.idleSince });
    }
    return ns;
  }

  /** 'host': the timer fired (a timer softirq on the host): flush, sweep; returns the CPU time. */
  #timerFired(): Ns {
    const t = this.now();
    let ns = this.mode === 'optimistic' ? this.#sweep(t) : 0;
    if (this.#fq.length > 0 && this.domain) {
      const f = this.domain.flush();
      ns += f.ns;
      if (f.invalidations) this.#metrics.count(t, 'iotlbInvalidations', f.invalidations);
      this.stats.flushes++;
    }
    this.#releaseFq();
    return ns;
  }

  #armTimer(): void {
    if (this.#timerArmed || !this.armTimer || this.where !== 'host') return;
    this.#timerArmed = true;
    const period = this.mode === 'optimistic' ? OPTIMISTIC_WINDOW_MS : IOVA_DEFAULT_FQ_TIMEOUT_MS;
    this.armTimer(this.now() + period * 1_000_000, () => {
      this.#timerArmed = false;
      const ns = this.#timerFired();
      if (this.#fq.length > 0 || [...this.#live.values()].some((e) => e.refs === 0)) this.#armTimer();
      return ns;
    });
  }

  *#publish(reqs: ViommuRequest[]): Op {
    this.viommuQueue.push(...reqs);
    this.stats.exits++;
    yield { op: 'mmio-write', offset: VTD_IQT_REG, value: this.viommuQueue.length };
  }

  #allocIova(pages: number): number {
    if (pages === 1 && this.#free.length > 0) return this.#free.pop()!;
    this.#next -= pages * PAGE_4K;
    return this.#next;
  }

  /** Single-page IOVAs go back to the allocator (LIFO, like its per-CPU cache); longer ones are not reused. */
  #recycle(iova: number, pages: number): void {
    if (pages === 1) this.#free.push(iova);
  }

  #releaseFq(): void {
    const t = this.now();
    for (const q of this.#fq) {
      if (t - q.at > this.stats.maxStaleNs) this.stats.maxStaleNs = t - q.at;
      this.#recycle(q.iova, q.pages);
    }
    this.#fq = [];
  }
}
