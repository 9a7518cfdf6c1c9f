/**
 * The two platforms the passthrough scenarios run the same NIC and driver on (DESIGN.md §3 model 3):
 *   bare metal  the NIC's DMAs go straight to memory, or — with the DMA API on — through the
 *               host's own VT-d domain (physical RAM registered as the DMA target, IOVA → HPA);
 *   VFIO        hv/assignment.ts: the guest's RAM regions in host memory next to a neighbour VM,
 *               the VT-d unit with the VM's domain on the NIC's requester id, the IRT and PI
 *               descriptors; HostSetup programs them (STANDARD_SETUP, or the iommu-assign lab's).
 * Also here: the guard that turns an exception from a HostSetup call into the run's error, QEMU's
 * emulated vIOMMU (dmaApi in a VFIO guest), and the IOMMU's fault event (the DMAR fault handler).
 */
import { COSTS } from '../sim/costs.ts';
import { GuestMemory } from '../hw/memory.ts';
import type { Diagnostic } from '../sim/types.ts';
import { createTablePool, HostRam, IommuDomain, PAGE_4K, VtdIommu, type Fault } from '../hw/iommu/dma-remap.ts';
import { faultLogLine, type AssignedHost, type GuestRamRegion, type HostSetup } from '../hv/assignment.ts';
import { diagnose, type HostEnv, type Meter, type SerialThread } from '../hv/host.ts';
import type { MmioDevice } from '../hv/guest-ops.ts';
import { iommuPort, physicalPort, type DmaPort } from '../hw/ixgbe/dma.ts';
import type { DmaApi, DmaApiMode } from '../guest/dma-api.ts';

const GiB = 1024 * 1024 * 1024;

/** A HostSetup call threw: the scenario stops with 'host-setup-threw' naming the call. */
export class HostSetupError extends Error {
  override name = 'HostSetupError';
  readonly call: string;
  constructor(call: string, cause: unknown) {
    super(`hostSetup.${call} threw: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.call = call;
  }
}

/** Wrap every method of `s` so that what it throws is tagged with the call's name. */
export function guardSetup(s: HostSetup): HostSetup {
  const wrap = <A extends unknown[], R>(call: string, f: (...a: A) => R) => (...a: A): R => {
    try {
      return f(...a);
    } catch (e) {
      throw e instanceof HostSetupError ? e : new HostSetupError(call, e);
    }
  };
  return {
    mapRegion: wrap('mapRegion', (r, h) => s.mapRegion(r, h)),
    unmapRegion: wrap('unmapRegion', (r, h) => s.unmapRegion(r, h)),
    programVector: wrap('programVector', (r, h) => s.programVector(r, h)),
    onFaults: wrap('onFaults', (f, h) => s.onFaults(f, h)),
  };
}

/** QEMU with an emulated VT-d: the guest's IOMMU starts with nothing mapped, so MAP_DMA of RAM does nothing. */
export function viommuSetup(s: HostSetup): HostSetup {
  return { ...s, mapRegion: () => {} };
}

export interface BareMetalIommu {
  ram: HostRam;
  iommu: VtdIommu;
  domain: IommuDomain;
}

/**
 * Bare metal: the DMA port, and the host's own IOMMU when the driver uses the DMA API (physical
 * RAM is the only DMA target; the table pool sits above it, at the next GiB).
 */
export function bareMetalPort(mem: GuestMemory, regions: GuestRamRegion[], dmaApi: DmaApiMode, iotlbEntries: number, bus: number, devfn: number): { port: DmaPort; iommu?: BareMetalIommu } {
  if (dmaApi === 'none') return { port: physicalPort(mem) };
  const ram = new HostRam();
  for (const r of regions) {
    const added = ram.addVmRam('host RAM', r.gpa, mem, r.gpa, r.size);
    if (!added.ok) throw new Error(added.message);
  }
  const poolAt = Math.ceil((mem.size + 1) / GiB) * GiB;
  const tables = createTablePool(ram, poolAt, 4096);
  const iommu = new VtdIommu(ram, tables, { iotlbEntries });
  const domain = new IommuDomain(ram, tables, { id: 1, policy: dmaApi === 'strict' ? 'strict' : 'deferred', flushEvery: dmaApi === 'optimistic' ? 1 << 30 : undefined });
  const att = iommu.attach(bus, devfn, domain);
  if (!att.ok) throw new Error(att.message);
  return { port: iommuPort(iommu, (bus << 8) | devfn), iommu: { ram, iommu, domain } };
}

/**
 * QEMU's emulated VT-d as the guest's IOMMU driver reaches it: a write of the invalidation-queue
 * tail exits to QEMU, which processes what the guest published (guest/dma-api.ts viommuQueue) —
 * each map a VFIO_IOMMU_MAP_DMA of the page, each unmap an UNMAP_DMA with the host's strict
 * invalidation — on the VM's host domain.
 */
export function viommuDevice(h: AssignedHost, dma: () => DmaApi | undefined, fail: (d: Diagnostic) => void): MmioDevice {
  const hpaOf = (gpa: number): number | undefined => {
    const r = h.guestRam.find((g) => gpa >= g.gpa && gpa < g.gpa + g.size);
    return r ? r.hpa + (gpa - r.gpa) : undefined;
  };
  return {
    name: 'intel-iommu (QEMU)',
    regName: () => 'vIOMMU IQT',
    mmioRead: () => 0,
    mmioWrite(_offset, _value, m: Meter) {
      const api = dma();
      if (!api) return;
      m.charge('qemu', COSTS.viommuEmulation.ns, 'viommu', () => `vIOMMU: process ${api.viommuQueue.length} invalidation(s)`);
      for (const q of api.viommuQueue.splice(0)) {
        m.charge('host-kernel', COSTS.vfioDmaIoctl.ns, 'vfio-dma', () => `VFIO_IOMMU_${q.kind === 'map' ? 'MAP' : 'UNMAP'}_DMA IOVA 0x${q.iova.toString(16)}`);
        if (q.kind === 'map') {
          const hpa = hpaOf(q.gpa);
          const r = hpa === undefined ? undefined : h.domain.map(q.iova, hpa, q.size, { read: true, write: true }, PAGE_4K);
          if (!r || !r.ok) fail({ severity: 'error', code: 'viommu-map-failed', message: `QEMU could not map guest page 0x${q.gpa.toString(16)} for the vIOMMU: ${r && !r.ok ? r.message : 'not guest RAM'}.`, t: m.t });
          continue;
        }
        const u = h.domain.unmap(q.iova, q.size);
        if (u.ok && u.ns > 0) m.charge('host-kernel', u.ns, 'iotlb-inv', 'host IOTLB invalidation (VFIO unmaps strictly)');
        if (u.ok && u.invalidations) m.env.metrics.count(m.t, 'iotlbInvalidations', u.invalidations);
      }
    },
  };
}

/** How many fault lines a run logs before it only counts them. */
export const MAX_FAULT_LINES = 20;

/**
 * The IOMMU's fault event: the DMAR fault handler runs on a host CPU once a DMA left records in
 * the fault log: read and clear them, hand them to HostSetup.onFaults (VFIO), log each line.
 */
export class FaultEvents {
  #pending = false;
  logged = 0;
  total = 0;
  readonly env: HostEnv;
  readonly hostCpu: SerialThread;
  readonly iommu: VtdIommu;
  readonly onFaults: ((faults: Fault[], m: Meter) => void) | undefined;

  constructor(env: HostEnv, hostCpu: SerialThread, iommu: VtdIommu, onFaults?: (faults: Fault[], m: Meter) => void) {
    this.env = env;
    this.hostCpu = hostCpu;
    this.iommu = iommu;
    this.onFaults = onFaults;
  }

  /** After any DMA: raise the fault event if records are waiting (one handler run at a time). */
  check(t: number): void {
    if (this.#pending || this.iommu.faultLog.length === 0) return;
    this.#pending = true;
    this.hostCpu.submit(t, (m) => {
      this.#pending = false;
      m.charge('host-kernel', COSTS.hostDmarFault.ns, 'dmar-fault', 'DMAR fault handler: read and clear the fault records');
      const faults = this.iommu.clearFaults();
      for (const f of faults) {
        this.total++;
        if (this.logged < MAX_FAULT_LINES) {
          this.logged++;
          this.env.diagnostics.push({ severity: 'info', code: 'iommu-fault', message: faultLogLine(f), t: m.t });
        }
      }
      this.onFaults?.(faults, m);
    });
  }

  /** At the end of the run: how many fault lines were not logged. */
  summary(): void {
    if (this.total > this.logged) diagnose(this.env, { severity: 'info', code: 'iommu-faults-more', message: `${this.total - this.logged} more IOMMU faults were recorded (${this.total} in all); only the first ${MAX_FAULT_LINES} are listed.` });
  }
}
