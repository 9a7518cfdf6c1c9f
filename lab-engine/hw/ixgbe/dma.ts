/**
 * The NIC's DMA engine: where its memory requests go (a port) and how long they hold the engine
 * (a serial resource, DESIGN.md §3: throughput emerges from the busiest one).
 *
 * Ports: through the VT-d unit with the NIC's requester id (VFIO, or a host driver using the DMA
 * API behind an IOMMU), or straight to physical memory (bare metal with the IOMMU off or in
 * pass-through). Either way a request is all or nothing: a faulting or unbacked DMA touches
 * nothing and the device sees a failed transaction (hw/iommu/dma-remap.ts).
 *
 * Timing (CALIBRATION §1.2): each request occupies the engine for its translation (page-walk
 * reads × COSTS.iommuWalkRead on an IOTLB miss, the IOMMU's ns) plus its transfer on the PCIe
 * link (payload + one TLP header per 256-byte max payload, at the link's bandwidth). Latency that
 * PCIe pipelines (a read's round trip, COSTS.dmaReadLatency) delays the data, not the engine.
 */
import { PCIE_TLP } from '../../sim/costs.ts';
import type { Ns } from '../../sim/time.ts';
import type { HostEnv } from '../../hv/host.ts';
import type { ResourceSlot } from '../../sim/metrics.ts';
import type { GuestMemory } from '../memory.ts';
import type { DmaResult, VtdIommu } from '../iommu/dma-remap.ts';

/** What one request did in the IOMMU (all zero without one). */
export interface DmaOutcome {
  result: DmaResult;
  hits: number;
  misses: number;
  walkReads: number;
}

export interface DmaPort {
  readonly label: string;
  /** The IOMMU behind this port, if any (for fault handling). */
  readonly iommu?: VtdIommu;
  read(addr: number, len: number, into?: Uint8Array): DmaOutcome;
  write(addr: number, bytes: Uint8Array): DmaOutcome;
}

/** Requests with requester id `sourceId` through `iommu` (IOVA in, host memory out). */
export function iommuPort(iommu: VtdIommu, sourceId: number): DmaPort {
  const measured = (f: () => DmaResult): DmaOutcome => {
    const s = iommu.stats;
    const h0 = s.hits;
    const m0 = s.misses;
    const w0 = s.walkReads + s.contextReads;
    const result = f();
    return { result, hits: s.hits - h0, misses: s.misses - m0, walkReads: s.walkReads + s.contextReads - w0 };
  };
  return {
    label: 'VT-d',
    iommu,
    read: (addr, len, into) => measured(() => iommu.dmaRead(sourceId, addr, len, into)),
    write: (addr, bytes) => measured(() => iommu.dmaWrite(sourceId, addr, bytes)),
  };
}

/** Requests straight to `mem` (physical address = address in `mem`); outside it, a master abort. */
export function physicalPort(mem: GuestMemory, owner = 'host'): DmaPort {
  const abort = (addr: number, len: number, what: string): DmaOutcome => ({
    result: { ok: false, code: 'unbacked-hpa', message: `DMA ${what} of ${len} bytes at physical 0x${addr.toString(16)}: no memory there (master abort)`, hpa: addr, ns: 0 },
    hits: 0, misses: 0, walkReads: 0,
  });
  const ok = (addr: number, bytes: Uint8Array): DmaOutcome => ({
    result: { ok: true, bytes, segments: [{ iova: addr, hpa: addr, len: bytes.length, vm: owner, gpa: addr }], translations: 0, misses: 0, ns: 0 },
    hits: 0, misses: 0, walkReads: 0,
  });
  return {
    label: 'physical',
    read(addr, len, into) {
      if (!mem.contains(addr, len)) return abort(addr, len, 'read');
      const out = into ?? new Uint8Array(len);
      mem.readInto(addr, len, out, 0);
      return ok(addr, out.subarray(0, len));
    },
    write(addr, bytes) {
      if (!mem.contains(addr, bytes.length)) return abort(addr, bytes.length, 'write');
      mem.write(addr, bytes);
      return ok(addr, bytes);
    },
  };
}

/** One finished request, for observers (the scenario's onDma hook, fault handling). */
export interface DmaEvent {
  t: Ns;
  iova: number;
  len: number;
  write: boolean;
  /** Issued by a hostile or buggy driver through the scenario's `rogue` hook. */
  rogue: boolean;
  outcome: DmaOutcome;
}

const MPS = PCIE_TLP.maxPayloadBytes;
const TLP_OVERHEAD_BYTES = PCIE_TLP.overheadBytes;

export class DmaEngine {
  port: DmaPort;
  /** Link bandwidth, bytes per ns (= GB/s). */
  readonly bytesPerNs: number;
  onDma: ((e: DmaEvent) => void) | undefined;
  #freeAt: Ns = 0;

  readonly env: HostEnv;
  readonly #slot: ResourceSlot;

  constructor(env: HostEnv, port: DmaPort, gbytesPerSec: number, name = 'NIC DMA engine') {
    this.env = env;
    this.port = port;
    this.bytesPerNs = gbytesPerSec;
    this.#slot = env.metrics.resource(name);
  }

  /** When the engine can start the next request. */
  get freeAt(): Ns {
    return this.#freeAt;
  }

  /** Transfer time of `bytes` on the link, TLP overhead included. */
  transferNs(bytes: number): Ns {
    return Math.ceil((bytes + TLP_OVERHEAD_BYTES * Math.max(1, Math.ceil(bytes / MPS))) / this.bytesPerNs);
  }

  /**
   * Issue one request at `at` (or when the engine frees up): read `data` bytes (a length, or a
   * buffer to fill) or write them. Returns the outcome and when the engine is done with it.
   */
  request(at: Ns, addr: number, data: number | Uint8Array, write: boolean, label: string, pkt?: number, rogue = false): { outcome: DmaOutcome; end: Ns } {
    const start = Math.max(at, this.#freeAt);
    const len = typeof data === 'number' ? data : data.length;
    const outcome = write ? this.port.write(addr, data as Uint8Array) : this.port.read(addr, len, typeof data === 'number' ? undefined : data);
    // A failed request costs its translation attempt; no data crosses the link.
    const dur = outcome.result.ns + (outcome.result.ok ? this.transferNs(len) : 0);
    const m = this.env.metrics;
    m.charge('nic', this.#slot, start, dur);
    m.count(start, 'dmaOps');
    if (outcome.hits) m.count(start, 'iotlbHits', outcome.hits);
    if (outcome.misses) m.count(start, 'iotlbMisses', outcome.misses);
    if (outcome.walkReads) m.count(start, 'iommuWalkReads', outcome.walkReads);
    if (!outcome.result.ok) m.count(start, 'iommuFaults');
    this.env.trace.emit(start, dur, 'nic', outcome.result.ok ? 'dma' : 'dma-fault',
      () => `${rogue ? 'rogue ' : ''}DMA ${write ? 'write' : 'read'} ${label} ${len} B @0x${addr.toString(16)}${outcome.misses ? ` (${outcome.misses} IOTLB miss, ${outcome.walkReads} walk reads)` : ''}${outcome.result.ok ? '' : `: ${outcome.result.message}`}`, pkt);
    this.#freeAt = start + dur;
    this.onDma?.({ t: start, iova: addr, len, write, rogue, outcome });
    return { outcome, end: start + dur };
  }
}
