/**
 * The host side of assigning one PCI function to one VM (DESIGN.md §3 model 3; CALIBRATION §3.6,
 * §3.7, §3.9): host-physical memory with the VM's RAM regions (and a neighbour VM's, so isolation
 * can be tested), the VT-d unit with its DMA-remapping domain and interrupt-remapping table, one
 * posted-interrupt descriptor per vCPU, and VFIO.
 *
 * The seam the scenario and the iommu-assign lab share is `HostSetup`: what the host kernel does
 * when QEMU maps guest RAM for DMA (VFIO_IOMMU_MAP_DMA → the type-1 backend → intel-iommu), when
 * memory goes away, when the guest programs an MSI-X vector (QEMU traps the write and asks KVM and
 * VFIO to route it), and when the IOMMU reports faults. `STANDARD_SETUP` is what Linux + QEMU do;
 * the lab replaces it with the learner's code. The data path (the NIC's DMA through the IOMMU, its
 * MSIs through the remapper) belongs to the scenario (scenarios/passthrough.ts).
 *
 * Host-physical layout (all sparse: memory costs what it touches):
 *   0x0000_0000  host kernel memory, 64 MiB: the IRT at IRT_BASE, the PI descriptors at PID_BASE
 *   0x0400_0000  IOMMU page-table pool, TABLE_POOL_PAGES pages
 *   0x1_0000_0000 …  the guest's RAM regions (their `hpa`), the neighbour VM's RAM after them
 */
import { GuestMemory } from '../hw/memory.ts';
import {
  createTablePool, describeFault, HostRam, IommuDomain, PAGE_2M, PAGE_4K, VtdIommu,
  type Fault, type InvalidationPolicy, type PageAllocator, type PageSize,
} from '../hw/iommu/dma-remap.ts';
import { encodeRemappableMsi, InterruptRemapper, DLM_FIXED, SVT_SID_SQ, requesterId } from '../hw/iommu/irq-remap.ts';
import { initPid, POSTED_INTR_VECTOR, ndstFor, PID_SIZE } from '../hw/iommu/posted.ts';
import { VfioHost, assignDevice, type VfioContainer, type VfioDevice, type VfioResult } from './vfio.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const KERNEL_MEM_BYTES = 64 * MiB;
/** IRTA: the interrupt-remapping table's host-physical base and size (entries). */
export const IRT_BASE = 0x10_0000;
export const IRT_ENTRIES = 256;
/** Posted-interrupt descriptors, one per vCPU, 64-byte aligned (KVM keeps them in struct vcpu_vmx). */
export const PID_BASE = 0x20_0000;
export const TABLE_POOL_HPA = 0x400_0000;
export const TABLE_POOL_PAGES = 4096;
/** Where guest RAM starts in host-physical space when a layout does not say. */
export const GUEST_HPA_BASE = 4 * GiB;
/** Host vectors Linux hands vfio-pci's MSI-X interrupts in remapped mode (first of them). */
export const HOST_VECTOR_BASE = 0x30;
/** The first IRTE index the host allocates for the assigned device (index = base + MSI-X vector). */
export const IRTE_INDEX_BASE = 0x20;

/** One region of the guest's RAM as QEMU lays it out and the host backs it. */
export interface GuestRamRegion {
  /** For messages: 'low RAM', 'RAM below 4G', … */
  name: string;
  /** Guest-physical start (= the IOVA the device uses: VFIO maps IOVA = GPA). */
  gpa: number;
  size: number;
  /** Host-physical start of the backing memory (contiguous here). */
  hpa: number;
  /** QEMU's host-virtual address of it, what VFIO_IOMMU_MAP_DMA receives. */
  vaddr: number;
  /** Backed by 2 MiB huge pages (hugetlbfs): 2 MiB IOMMU pages are allowed where aligned. */
  hugepages: boolean;
}

/** The assigned function as the host knows it. */
export interface AssignedNic {
  /** "dddd:bb:dd.f" */
  address: string;
  bus: number;
  /** device << 3 | function */
  devfn: number;
  /** Requester id the NIC's DMAs and MSIs carry: bus << 8 | devfn. */
  sourceId: number;
  /** MSI-X vectors the function has. */
  vectors: number;
  /** IOMMU group. */
  group: number;
}

/** The guest wrote MSI-X table entry `vector` (trapped): it wants `guestVector` on vCPU `vcpu`. */
export interface MsixRequest {
  vector: number;
  guestVector: number;
  vcpu: number;
  /** The mask bit of the entry's Vector Control word. */
  masked: boolean;
}

/** How the assigned device's interrupts are delivered (CALIBRATION §3.9). */
export type IrqMode = 'remapped' | 'posted';

/** Everything the host side owns, handed to each HostSetup call. */
export interface AssignedHost {
  ram: HostRam;
  /** Host kernel memory (IRT, PI descriptors), mapped in `ram` at HPA 0 (address = HPA). */
  kernelMem: GuestMemory;
  tables: PageAllocator;
  iommu: VtdIommu;
  /** The VM's DMA-remapping domain (what VFIO's container uses). */
  domain: IommuDomain;
  irt: InterruptRemapper;
  /** Host-physical address of vCPU i's posted-interrupt descriptor. */
  pids: number[];
  /** APIC id of the physical CPU each vCPU runs on. */
  pcpuApicIds: number[];
  irqMode: IrqMode;
  nic: AssignedNic;
  /** The VM's name in `ram` (region owner). */
  vm: string;
  guestMem: GuestMemory;
  guestRam: GuestRamRegion[];
  /** Another VM on the same host: its RAM must never be reached by this VM's device. */
  neighbour: { vm: string; mem: GuestMemory; hpa: number; size: number };
  vfio: VfioHost;
  /** Set once assignment succeeded. */
  container?: VfioContainer;
  device?: VfioDevice;
}

export interface HostSetup {
  /** VFIO_IOMMU_MAP_DMA reached the type-1 backend for `region`: make the IOMMU translate it. */
  mapRegion(region: GuestRamRegion, h: AssignedHost): void;
  /** `region` is leaving the VM (hot-unplug, balloon): once this returns the device must not reach it. */
  unmapRegion(region: GuestRamRegion, h: AssignedHost): void;
  /**
   * The guest programmed MSI-X entry `req.vector`; QEMU trapped it. Point an IRTE at the right
   * place and return the remappable-format message to write into the physical MSI-X entry, or
   * null to leave the vector masked.
   */
  programVector(req: MsixRequest, h: AssignedHost): { address: number; data: number } | null;
  /** The IOMMU's fault event: `faults` were read from the fault recording registers (and cleared). */
  onFaults(faults: Fault[], h: AssignedHost): void;
}

/** 4 KiB / 2 MiB chunks covering a region: 2 MiB where IOVA and HPA are aligned and the backing is huge. */
export function pageChunks(region: GuestRamRegion): { iova: number; hpa: number; size: number; pageSize: PageSize }[] {
  const out: { iova: number; hpa: number; size: number; pageSize: PageSize }[] = [];
  const end = region.gpa + region.size;
  let iova = region.gpa;
  const push = (size: number, pageSize: PageSize): void => {
    const last = out[out.length - 1];
    if (last && last.pageSize === pageSize && last.iova + last.size === iova) last.size += size;
    else out.push({ iova, hpa: region.hpa + (iova - region.gpa), size, pageSize });
    iova += size;
  };
  while (iova < end) {
    const hpa = region.hpa + (iova - region.gpa);
    if (region.hugepages && iova % PAGE_2M === 0 && hpa % PAGE_2M === 0 && end - iova >= PAGE_2M) push(PAGE_2M, PAGE_2M);
    else push(PAGE_4K, PAGE_4K);
  }
  return out;
}

/** What Linux (vfio type-1 + intel-iommu, strict unmap for VFIO) and QEMU do. */
export const STANDARD_SETUP: HostSetup = {
  mapRegion(region, h) {
    for (const c of pageChunks(region)) {
      const r = h.domain.map(c.iova, c.hpa, c.size, { read: true, write: true }, c.pageSize);
      if (!r.ok) throw new Error(`mapping ${region.name}: ${r.message}`);
    }
  },
  unmapRegion(region, h) {
    const r = h.domain.unmap(region.gpa, region.size);
    if (!r.ok) throw new Error(`unmapping ${region.name}: ${r.message}`);
    // VFIO's type-1 backend unmaps strictly (iommu_iotlb_sync before it unpins): flush whatever is queued.
    h.domain.flush();
  },
  programVector(req, h) {
    if (req.masked) return null;
    const index = IRTE_INDEX_BASE + req.vector;
    const source = { sid: h.nic.sourceId, sq: 0, svt: SVT_SID_SQ };
    const ok = h.irqMode === 'posted'
      ? h.irt.writeIrte(index, { mode: 'posted', present: true, fpd: false, avail: 0, urgent: false, vector: req.guestVector, pda: h.pids[req.vcpu]!, ...source })
      : h.irt.writeIrte(index, {
          mode: 'remapped', present: true, fpd: false, destinationMode: 'physical', redirectionHint: false, trigger: 'edge',
          deliveryMode: DLM_FIXED, avail: 0, vector: HOST_VECTOR_BASE + req.vector, destination: h.pcpuApicIds[req.vcpu]!, ...source,
        });
    if (!ok) throw new Error(`IRTE ${index} is outside the interrupt-remapping table`);
    return encodeRemappableMsi(index);
  },
  onFaults() {
    // Linux's dmar_fault() prints each record ("DMAR: [DMA Write] Request device [..] fault addr …")
    // and clears it; the device's driver sees a failed transaction. Nothing else to do.
  },
};

/** Linux's DMAR log line for a fault (drivers/iommu/intel/dmar.c dmar_fault_do_one). */
export const faultLogLine = (f: Fault): string => `DMAR: ${describeFault(f)}`;

export interface AssignedHostOptions {
  vm?: string;
  guestMem: GuestMemory;
  guestRam: GuestRamRegion[];
  nic: AssignedNic;
  vcpus: number;
  irqMode: IrqMode;
  /** Policy of the VM's domain (VFIO: strict). */
  policy?: InvalidationPolicy;
  /** Deferred policy: unmaps queued before a flush (IommuDomain's flushEvery, Linux IOVA_DEFAULT_FQ_SIZE). */
  flushEvery?: number;
  iotlbEntries?: number;
  /** Neighbour VM RAM size (its HPA follows the guest's highest region). */
  neighbourBytes?: number;
  /** Other functions in the NIC's IOMMU group, with their binding (group viability). */
  groupMates?: { address: string; binding: 'vfio-pci' | 'host-driver' | 'none' }[];
}

/** Build the host: memory, IOMMU (domain attached to the NIC's source-id), IRT, PI descriptors, VFIO. */
export function buildAssignedHost(o: AssignedHostOptions): AssignedHost {
  const vm = o.vm ?? 'guest';
  const ram = new HostRam();
  const kernelMem = new GuestMemory(KERNEL_MEM_BYTES);
  must(ram.addHostRam('host kernel', 0, kernelMem));
  const tables = createTablePool(ram, TABLE_POOL_HPA, TABLE_POOL_PAGES);
  for (const r of o.guestRam) must(ram.addVmRam(vm, r.hpa, o.guestMem, r.gpa, r.size));
  const top = Math.max(...o.guestRam.map((r) => r.hpa + r.size));
  const nSize = o.neighbourBytes ?? 16 * MiB;
  const neighbourMem = new GuestMemory(nSize);
  must(ram.addVmRam('neighbour VM', top, neighbourMem, 0, nSize));
  const iommu = new VtdIommu(ram, tables, { iotlbEntries: o.iotlbEntries ?? 64 });
  const domain = new IommuDomain(ram, tables, { id: 1, policy: o.policy ?? 'strict', ...(o.flushEvery !== undefined ? { flushEvery: o.flushEvery } : {}) });
  const att = iommu.attach(o.nic.bus, o.nic.devfn, domain);
  if (!att.ok) throw new Error(att.message);
  const irt = new InterruptRemapper(kernelMem, { base: IRT_BASE, entries: IRT_ENTRIES });
  const pcpuApicIds = Array.from({ length: o.vcpus }, (_, i) => 2 + i);
  const pids = pcpuApicIds.map((apic, i) => {
    const pda = PID_BASE + i * PID_SIZE;
    initPid(kernelMem, pda, { nv: POSTED_INTR_VECTOR, ndst: ndstFor(apic) });
    return pda;
  });
  const vfio = new VfioHost([
    { address: o.nic.address, group: o.nic.group, binding: 'vfio-pci', bars: [128 * 1024, 0, 0, 16 * 1024, 0, 0], msixVectors: o.nic.vectors, msixTable: { bar: 3, offset: 0, bytes: 16 * o.nic.vectors } },
    ...(o.groupMates ?? []).map((m) => ({ address: m.address, group: o.nic.group, binding: m.binding, bars: [0, 0, 0, 0, 0, 0], msixVectors: 0, msixTable: { bar: 0, offset: 0, bytes: 0 } })),
  ]);
  return {
    ram, kernelMem, tables, iommu, domain, irt, pids, pcpuApicIds, irqMode: o.irqMode, nic: o.nic, vm,
    guestMem: o.guestMem, guestRam: o.guestRam, neighbour: { vm: 'neighbour VM', mem: neighbourMem, hpa: top, size: nSize }, vfio,
  };
}

/**
 * QEMU's `-device vfio-pci,host=…` for this host: the VFIO flow (vfio.ts assignDevice), with every
 * MAP_DMA handed to `setup.mapRegion` as the type-1 backend would hand it to the IOMMU driver.
 * Returns VFIO's error (errno + sentence) when a step is refused, e.g. a device already assigned.
 */
export function assignNic(h: AssignedHost, setup: HostSetup): VfioResult<{ container: VfioContainer; device: VfioDevice }> {
  const byIova = new Map(h.guestRam.map((r) => [r.gpa, r]));
  const prev = h.vfio.hooks.onMap;
  (h.vfio.hooks as { onMap?: typeof prev }).onMap = (m) => {
    const region = byIova.get(m.iova);
    if (region) setup.mapRegion(region, h);
  };
  let out: ReturnType<typeof assignDevice>;
  try {
    out = assignDevice(h.vfio, h.vm, h.nic.address, h.guestRam.map((r) => ({ gpa: r.gpa, size: r.size, vaddr: r.vaddr })));
  } finally {
    // Restore the hook even when setup.mapRegion threw (the caller reports the exception).
    (h.vfio.hooks as { onMap?: typeof prev }).onMap = prev;
  }
  if (out.ok) {
    h.container = out.container;
    h.device = out.device;
  }
  return out;
}

/** The default guest: low RAM below 640 KiB (4 KiB pages) and `mainBytes` from 1 MiB (huge pages when asked). */
export function defaultGuestRam(mainBytes: number, hugepages: boolean): GuestRamRegion[] {
  return [
    { name: 'low RAM', gpa: 0, size: 0xa_0000, hpa: GUEST_HPA_BASE, vaddr: 0x7f00_0000_0000, hugepages: false },
    { name: 'RAM', gpa: 0x10_0000, size: mainBytes - 0x10_0000, hpa: GUEST_HPA_BASE + 0x10_0000, vaddr: 0x7f00_0010_0000, hugepages },
  ];
}

/** The default assigned NIC: 0000:03:00.0, IOMMU group 12. */
export function defaultNic(vectors: number): AssignedNic {
  const bus = 3;
  const devfn = 0;
  return { address: '0000:03:00.0', bus, devfn, sourceId: requesterId(bus, 0, 0), vectors, group: 12 };
}

function must(r: { ok: true } | { ok: false; message: string }): void {
  if (!r.ok) throw new Error(r.message);
}
