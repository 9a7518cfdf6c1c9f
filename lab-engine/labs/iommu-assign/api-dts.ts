/** What learners see in the editor for `import … from 'iovlab/iommu-assign'`. */
export const IOMMU_ASSIGN_DTS = `declare module 'iovlab/iommu-assign' {
  // ── The setting ─────────────────────────────────────────────────────────────────────────────
  // A NIC is being assigned to a VM with VFIO. You are the host kernel under QEMU:
  //   • QEMU calls VFIO_IOMMU_MAP_DMA for each of the guest's RAM regions; the type-1 backend
  //     hands each region to mapRegion(), where you build the VT-d second-stage mappings
  //     IOVA (= guest-physical address) → host-physical address, choosing page sizes.
  //   • When a region leaves the VM (hot-unplug) you get unmapRegion(): once it returns, the
  //     device must never reach that memory again — not through the page tables, and not
  //     through a translation the IOTLB still caches.
  //   • When the guest programs an MSI-X entry (QEMU traps the write), programVector() writes
  //     the vector's interrupt-remapping table entry (IRTE) and returns the remappable-format
  //     message to put in the physical MSI-X entry. VFIO programs it in remapped format first;
  //     when KVM can post the interrupt straight to the vCPU it asks again with mode 'posted'.
  //   • When the IOMMU raises its fault event, onFaults() gets the fault registers: decode
  //     each record that is in use and return what it says.
  // Other devices and another VM share this host: nothing but the guest's own RAM may ever be
  // reachable by this NIC.

  /** VT-d page sizes: 4 KiB (leaf in a level-1 table) and 2 MiB (PS = 1 in a level-2 entry). */
  export const PAGE_4K: 4096;
  export const PAGE_2M: 2097152;

  // ── IRTE source validation (VT-d 5.10 §9.9, bits 83:64) ────────────────────────────────────
  /** SVT 00b: any requester may use the entry (no validation). */
  export const SVT_NONE: 0;
  /** SVT 01b: the requester-id must equal SID, compared under the SQ mask. */
  export const SVT_SID_SQ: 1;
  /** SVT 10b: the requester's bus must lie in SID[15:8] … SID[7:0]. */
  export const SVT_BUS_RANGE: 2;
  /** SQ 00b: compare all 16 bits of the requester-id (01b/10b/11b ignore function bits for phantom functions). */
  export const SQ_ALL_BITS: 0;
  /** DLM 000b: fixed delivery. */
  export const DLM_FIXED: 0;

  // ── Fault recording (VT-d Chapter 7; Linux DMA_FRCD_*, DMA_FSTS_*) ───────────────────────
  // A fault recording register is 128 bits, given to you as four little-endian dwords:
  //   dword 0 = bits 31:0, dword 1 = bits 63:32, dword 2 = bits 95:64, dword 3 = bits 127:96.
  //   bits 63:12   FI: the page address of the faulting request (bits 11:0 read as 0)
  //   bits 79:64   SID: source-id (requester-id, bus << 8 | device << 3 | function)
  //   bits 103:96  FR: fault reason (VTD_FR_*)
  //   bit 126      T: 0 = write request, 1 = read request
  //   bit 127      F: the register holds a fault not yet handled
  /** Dword 3 bit 31 (register bit 127): F, fault recorded. */
  export const DMA_FRCD_F: 0x80000000;
  /** Dword 3 bit 30 (register bit 126): T, set for a read request. */
  export const DMA_FRCD_T_READ: 0x40000000;
  /** Fault Status: Primary Fault Overflow (a fault was dropped: every register was in use). */
  export const DMA_FSTS_PFO: 1;
  /** Fault Status: Primary Pending Fault (some register has F set). */
  export const DMA_FSTS_PPF: 2;
  /** Appendix A fault reasons you will meet (there are others: decode the number, whatever it is). */
  export const VTD_FR_ROOT_ENTRY_P: 1;
  export const VTD_FR_CONTEXT_ENTRY_P: 2;
  export const VTD_FR_ADDR_BEYOND_MGAW: 4;
  export const VTD_FR_WRITE: 5;
  export const VTD_FR_READ: 6;
  /** "bb:dd.f" for a requester-id, as Linux prints it. */
  export function formatSourceId(sourceId: number): string;

  // ── DMA remapping ──────────────────────────────────────────────────────────────────────────

  /** One region of guest RAM, as QEMU lays it out and the host backs it. */
  export interface RamRegion {
    /** For messages: 'low RAM', 'RAM', 'hotplug DIMM 1', … */
    readonly name: string;
    /** Guest-physical start: the IOVA the device uses (VFIO maps IOVA = GPA). 4 KiB aligned. */
    readonly gpa: number;
    /** Bytes: a multiple of 4 KiB, not necessarily of 2 MiB. */
    readonly size: number;
    /** Host-physical address of the region's first byte; the region is contiguous in HPA. */
    readonly hpa: number;
    /**
     * Backed by 2 MiB huge pages (hugetlbfs). Only then is memory physically contiguous in 2 MiB
     * units, so only then may a 2 MiB IOMMU page cover it — and only where IOVA and HPA are both
     * 2 MiB aligned and the whole 2 MiB lies inside the region. Elsewhere use 4 KiB pages.
     */
    readonly hugepages: boolean;
  }

  export interface Perm {
    read: boolean;
    write: boolean;
  }

  /** A leaf translation: [iova, iova + size) → [hpa, hpa + size). */
  export interface Mapping {
    readonly iova: number;
    readonly hpa: number;
    readonly size: number;
    /** 4096 or 2097152. */
    readonly pageSize: number;
    readonly read: boolean;
    readonly write: boolean;
  }

  export type IommuErrorCode =
    /** Size is zero or not an integer, or the page size is neither 4 KiB nor 2 MiB. */
    | 'bad-size'
    /** IOVA, HPA or size is not a multiple of the page size. */
    | 'unaligned'
    /** The range runs past the 48-bit IOVA space. */
    | 'out-of-range'
    /** Neither read nor write. */
    | 'no-permission'
    /** Part of the range is already mapped. */
    | 'overlap'
    /** The page-table pool ran out. */
    | 'no-memory';

  export type IommuError = { ok: false; code: IommuErrorCode; message: string };

  /**
   * The VM's VT-d domain (Linux's dmar_domain under VFIO), as the host kernel drives it. map and
   * unmap edit the second-stage page tables in host memory; they do NOT touch the IOTLB.
   */
  export interface Iommu {
    /** The domain id (DID) tagging this domain's IOTLB entries. */
    readonly domainId: number;
    /**
     * Map [iova, iova + size) → [hpa, hpa + size) with \`perm\`, in pages of \`pageSize\`. All or
     * nothing: on an error nothing changed. Cost: one call, whatever the size.
     */
    map(iova: number, hpa: number, size: number, perm: Perm, pageSize: 4096 | 2097152): { ok: true; pages: number } | IommuError;
    /**
     * Clear the page-table entries of [iova, iova + size) (4 KiB aligned). A 2 MiB page the range
     * touches is removed whole (\`unmapped\` says what went). The IOTLB may still hold any of
     * these translations until you invalidate them.
     */
    unmap(iova: number, size: number): { ok: true; bytes: number; unmapped: Mapping[] } | IommuError;
    /**
     * IOTLB invalidation (VT-d Chapter 6), waited for: with no arguments domain-selective (every
     * entry tagged with this domain); with a range, page-selective over [iova, iova + size).
     */
    invalidate(iova?: number, size?: number): void;
    /** Software walk of the page tables (Linux iommu_iova_to_phys): the leaf covering \`iova\`, or null. */
    lookup(iova: number): Mapping | null;
    /** Print to the run's log (200 lines at most). */
    log(...values: unknown[]): void;
  }

  // ── Interrupt remapping (VT-d 5.10 §5.1, §9.9, §9.10) ──────────────────────────────────────

  interface IrteSource {
    /** P: the entry is in use. */
    present: boolean;
    /** SID, bits 79:64: the requester-id allowed to use this entry (with SVT = 01b). */
    sid: number;
    /** SQ, bits 81:80: which requester-id bits take part in the compare (00b: all). */
    sq: number;
    /** SVT, bits 83:82: how the requester is validated (SVT_*). */
    svt: number;
    /** FPD, bit 1: fault processing disable. Default false. */
    fpd?: boolean;
    /** AVAIL, bits 11:8: free for software. Default 0. */
    avail?: number;
  }

  /** §9.9: IM = 0, the interrupt is remapped to a host vector on a physical CPU. */
  export interface RemappedIrte extends IrteSource {
    mode: 'remapped';
    /** V, bits 23:16: the vector the host CPU receives. */
    vector: number;
    /** DST, bits 63:32: the destination APIC ID (the IOMMU is in x2APIC mode: all 32 bits). */
    destination: number;
    /** DM, bit 2. Default 'physical'. */
    destinationMode?: 'physical' | 'logical';
    /** RH, bit 3. Default false. */
    redirectionHint?: boolean;
    /** TM, bit 4. MSIs are edge-triggered. Default 'edge'. */
    trigger?: 'edge' | 'level';
    /** DLM, bits 7:5. Default DLM_FIXED. */
    deliveryMode?: number;
  }

  /** §9.10: IM = 1, the interrupt is posted into a vCPU's posted-interrupt descriptor. */
  export interface PostedIrte extends IrteSource {
    mode: 'posted';
    /** VV, bits 23:16: the GUEST vector to set in the descriptor's PIR. */
    vector: number;
    /** PDA: host-physical address of the 64-byte-aligned posted-interrupt descriptor. */
    pda: number;
    /** URG, bit 14: notify even when the descriptor's SN is set. Default false. */
    urgent?: boolean;
  }

  export type Irte = RemappedIrte | PostedIrte;

  /** An MSI as the device sends it: a DWORD write of \`data\` to \`address\`. */
  export interface Msi {
    address: number;
    data: number;
  }

  /** The interrupt-remapping table, restricted to the IRTEs the host allocated to this NIC. */
  export interface Irt {
    /** Size of the whole table. */
    readonly entries: number;
    /** Write IRTE \`index\` (all 128 bits) and invalidate its interrupt-entry cache slot, as Linux's modify_irte() does. */
    write(index: number, entry: Irte): void;
    /** The IRTE as it is in memory, decoded (every default filled in), or null for an index that is not this NIC's. */
    read(index: number): Required<RemappedIrte> | Required<PostedIrte> | null;
    /**
     * §5.1.2.2: the remappable-format MSI naming IRTE \`index\` (address FEEh in 31:20, handle in
     * 19:5 and bit 2, IF = 1, SHV = 1; data = subhandle 0). A device that sends it gets IRTE \`index\`.
     */
    msi(index: number): Msi;
  }

  /** The guest wrote MSI-X table entry \`vector\`: it wants \`guestVector\` on its vCPU \`vcpu\`. */
  export interface VectorRequest {
    /** The MSI-X table entry (0 … vectors − 1). */
    readonly vector: number;
    /** The vector the guest's driver asked for (what its vCPU must see). */
    readonly guestVector: number;
    /** Which vCPU of the guest the interrupt is for. */
    readonly vcpu: number;
    /** The entry's mask bit: return null to leave the physical entry masked. */
    readonly masked: boolean;
  }

  export interface VcpuInfo {
    /** APIC ID of the physical CPU this vCPU runs on. */
    readonly apicId: number;
    /** Host-physical address of this vCPU's posted-interrupt descriptor (KVM's pi_desc). */
    readonly pid: number;
  }

  export interface VectorContext {
    /** 'remapped': deliver to the host (vfio-pci's handler, then KVM injects); 'posted': post to the vCPU. */
    readonly mode: 'remapped' | 'posted';
    /** The IRTE the host allocated for this MSI-X entry. */
    readonly irteIndex: number;
    /** The host vector Linux allocated for this MSI-X entry (vfio-pci's interrupt handler). */
    readonly hostVector: number;
    /** The assigned NIC. */
    readonly nic: { readonly address: string; readonly sourceId: number; readonly vectors: number };
    /** The guest's vCPUs, by index. */
    readonly vcpus: readonly VcpuInfo[];
    log(...values: unknown[]): void;
  }

  // ── Faults ────────────────────────────────────────────────────────────────────────────────

  export interface FaultRegisters {
    /** Fault Status register: DMA_FSTS_PFO | DMA_FSTS_PPF. */
    readonly fsts: number;
    /**
     * Every fault recording register, index 0 first, each as [dword0, dword1, dword2, dword3].
     * Registers whose F bit is clear are not in use: they may still hold an old, handled fault.
     */
    readonly records: readonly (readonly [number, number, number, number])[];
  }

  /** One decoded fault record. */
  export interface DecodedFault {
    /** Requester-id, bits 79:64. */
    sourceId: number;
    /** The page address, bits 63:12 (low 12 bits 0). Exact: it may lie above 2^32. */
    address: number;
    /** Fault reason, bits 103:96. */
    reason: number;
    /** True for a write request (T = 0). */
    write: boolean;
  }

  export interface FaultHost {
    log(...values: unknown[]): void;
  }

  // Your module must export:
  //   export function mapRegion(region: RamRegion, iommu: Iommu): void
  //   export function unmapRegion(region: RamRegion, iommu: Iommu): void
  //   export function programVector(req: VectorRequest, irt: Irt, ctx: VectorContext): Msi | null
  //   export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[]
  //       — the records with F set, in register order. The host clears them when you return.
}
`;
