/**
 * Intel VT-d DMA-remapping facts: constants, layouts and small pure encoders/decoders, no
 * behaviour (STYLE.md §3.5 "spec holds facts"). Legacy (non-scalable) translation mode only.
 *
 * Source: Intel® Virtualization Technology for Directed I/O, Architecture Specification, rev 4.x —
 *   §9.1 "Root Entry", §9.3 "Context Entry", §9.8 second-stage ("second-level" before rev 4.0)
 *   paging entries, Chapter 6 "Caching Translation Information" (IOTLB tagged by domain id,
 *   context cache, invalidation), Chapter 7 "Address Translation Faults" (primary fault logging),
 *   the Fault Status and Fault Recording registers, and Appendix A "Non-Recoverable Fault Reason
 *   Encodings". Field names as in Linux drivers/iommu/intel/iommu.h (formerly
 *   include/linux/intel-iommu.h): `struct root_entry`, `struct context_entry`, `struct dma_pte`,
 *   `context_set_*()`, `DMA_PTE_*`, `DMA_FSTS_*`, `dma_frcd_*()`.
 *
 * What was checked, and against what (CALIBRATION.md tags):
 *   - Bit positions of root/context/PTE fields [V]: Linux iommu.h accessors (`context_set_present`,
 *     `context_set_fault_enable` clears bit 1, `context_set_translation_type` bits 3:2,
 *     `context_set_address_width` hi 2:0, `context_set_domain_id` hi 23:8, `dma_pte_superpage` bit 7,
 *     `VTD_PAGE_MASK` 63:12) and QEMU hw/i386/intel_iommu_internal.h.
 *   - Fault reason numbers 0x1–0xC [V]: the index of each string in Linux drivers/iommu/dmar.c
 *     `dma_remap_fault_reasons[]` and QEMU's `enum VTDFaultReason` (VTD_FR_ROOT_ENTRY_P = 1, …), both
 *     transcriptions of Appendix A. The constant names below are QEMU's; the spec has only numbers.
 *   - Section numbers §9.1/§9.3/§9.8 [R]: as cited by QEMU's tests/qtest/libqos VT-d helpers and
 *     other public VT-d code, NOT checked against the rev 4.x PDF itself; chapter titles are the
 *     reliable part. They agree with ./irq-remap.ts, whose author checked rev 5.10 and found §9.9/
 *     §9.10/§9.11 = the two IRTE formats and the posted-interrupt descriptor (the fault record left
 *     chapter 9 after rev 3.x), which leaves §9.8 for the second-stage entries. Chapter-level
 *     citations (6, 7, Appendix A) are given without § numbers for the same reason.
 */

// ── Geometry ────────────────────────────────────────────────────────────────────────────────
/** VTD_PAGE_SHIFT: remapping structures and the base page are 4 KiB. */
export const VTD_PAGE_SHIFT = 12;
export const VTD_PAGE_SIZE = 4096;
/** LEVEL_STRIDE: each second-stage table level translates 9 bits (512 × 8-byte entries). */
export const LEVEL_STRIDE = 9;
export const PTES_PER_TABLE = 512;
export const PTE_SIZE = 8;

/** Bytes covered by one entry of a table at `level` (1 = leaf table: 4 KiB; 2: 2 MiB; 3: 1 GiB). */
export const levelSpan = (level: number): number => 2 ** (VTD_PAGE_SHIFT + LEVEL_STRIDE * (level - 1));
/** Index into the table at `level` for `iova` (Linux pfn_level_offset, in bytes rather than pfns). */
export const levelIndex = (iova: number, level: number): number => Math.floor(iova / levelSpan(level)) % PTES_PER_TABLE;

// ── §9.1 Root Entry (legacy mode) ───────────────────────────────────────────────────────────
/** struct root_entry { u64 lo; u64 hi; }: 128 bits, 256 per 4 KiB root table, indexed by bus. */
export const ROOT_ENTRY_SIZE = 16;
export const ROOT_TABLE_ENTRIES = 256;
/** lo bit 0: Present. */
export const ROOT_ENTRY_P = 1;
/** lo bits 63:12: Context-table Pointer (CTP), a 4 KiB-aligned host-physical address. */
export const ROOT_ENTRY_CTP_SHIFT = 12;
/** lo bits 11:1 are reserved (0xffe); the whole hi qword is reserved in legacy mode. */
export const ROOT_ENTRY_LO_RSVD = 0xffe;

// ── §9.3 Context Entry (legacy mode) ────────────────────────────────────────────────────────
/** struct context_entry { u64 lo; u64 hi; }: 128 bits, 256 per context table, indexed by devfn. */
export const CONTEXT_ENTRY_SIZE = 16;
export const CONTEXT_TABLE_ENTRIES = 256;
/** lo bit 0: Present. */
export const CONTEXT_P = 1 << 0;
/** lo bit 1: Fault Processing Disable — faults from this device are not recorded or reported. */
export const CONTEXT_FPD = 1 << 1;
/** lo bits 3:2: Translation Type. */
export const CONTEXT_TT_SHIFT = 2;
export const CONTEXT_TT_MASK = 3;
/** TT 00b (Linux CONTEXT_TT_MULTI_LEVEL): untranslated requests walk the second-stage tables. */
export const CONTEXT_TT_MULTI_LEVEL = 0;
/** TT 01b (CONTEXT_TT_DEV_IOTLB): as 00b, and ATS translation requests are allowed. */
export const CONTEXT_TT_DEV_IOTLB = 1;
/** TT 10b (CONTEXT_TT_PASS_THROUGH): untranslated requests use their address as the HPA (needs ECAP.PT). */
export const CONTEXT_TT_PASS_THROUGH = 2;
/** lo bits 11:4 are reserved (0xff0). lo bits 63:12: Second-Level Page-Table Pointer (SLPTPTR). */
export const CONTEXT_LO_RSVD = 0xff0;
/** hi bits 2:0: Address Width (AW). hi bits 6:3: ignored (Linux: "aval"). hi bit 7: reserved. */
export const CONTEXT_AW_MASK = 7;
export const CONTEXT_HI_RSVD_BIT7 = 1 << 7;
/** hi bits 23:8: Domain Identifier (DID, 16 bits); hi bits 63:24 (entry bits 127:88) reserved. */
export const CONTEXT_DID_SHIFT = 8;
export const CONTEXT_DID_MASK = 0xffff;

// ── Address widths (context AW; CAP_REG.SAGAW bit n ⇔ AW encoding n) ───────────────────────
/** AW 001b: 39-bit adjusted guest address width, 3-level table. */
export const AGAW_39 = 1;
/** AW 010b: 48-bit, 4-level table (Linux ADDR_WIDTH_4LEVEL = 48). */
export const AGAW_48 = 2;
/** AW 011b: 57-bit, 5-level table (Linux ADDR_WIDTH_5LEVEL = 57). */
export const AGAW_57 = 3;
/** Linux agaw_to_level(): levels = AW + 2. */
export const agawToLevels = (aw: number): number => aw + 2;
/** Linux agaw_to_width(): 30 + 9 × AW bits. */
export const agawToWidth = (aw: number): number => 30 + LEVEL_STRIDE * aw;

// ── §9.8 Second-stage paging entries (struct dma_pte) ───────────────────────────────────────
/** bit 0: Read permission (DMA_PTE_READ). An entry with R = W = 0 is not present. */
export const DMA_PTE_READ = 1 << 0;
/** bit 1: Write permission (DMA_PTE_WRITE). */
export const DMA_PTE_WRITE = 1 << 1;
/** bit 7: Page Size (DMA_PTE_LARGE_PAGE) — in a level-2 entry maps a 2 MiB page, in level 3 a 1 GiB page. */
export const DMA_PTE_LARGE_PAGE = 1 << 7;
/** bit 11: Snoop behaviour (DMA_PTE_SNP). Not modelled; listed so a decoded entry can name it. */
export const DMA_PTE_SNP = 1 << 11;
/** bits 51:12: address of the next table or of the page. */
export const PTE_ADDR_LOW_BIT = 12;
export const PTE_ADDR_HIGH_BIT = 51;

/**
 * Bits 51:12 of a little-endian 64-bit entry given as its two dwords, as an exact JS number
 * (below 2^52). Reading the halves separately keeps the decode exact even when garbage sets
 * bits 63:52, which a single 64-bit read into a double would round away.
 */
export function qwordAddr(lo32: number, hi32: number): number {
  return ((lo32 >>> 0) - ((lo32 >>> 0) % VTD_PAGE_SIZE)) + (hi32 & 0xf_ffff) * 0x1_0000_0000;
}

/** A second-stage entry as Linux writes it: address | R | W (| PS for a superpage). */
export function encodePte(addr: number, read: boolean, write: boolean, largePage: boolean): number {
  return addr + (read ? DMA_PTE_READ : 0) + (write ? DMA_PTE_WRITE : 0) + (largePage ? DMA_PTE_LARGE_PAGE : 0);
}

/** Root entry lo qword (hi is 0): CTP | P. */
export const encodeRootLo = (contextTable: number): number => contextTable + ROOT_ENTRY_P;

/** Context entry lo qword: SLPTPTR | TT << 2 | FPD | P (Linux context_set_*). */
export function encodeContextLo(slptptr: number, tt: number, fpd: boolean): number {
  return slptptr + (tt & CONTEXT_TT_MASK) * 4 + (fpd ? CONTEXT_FPD : 0) + CONTEXT_P;
}
/** Context entry hi qword: DID << 8 | AW. */
export const encodeContextHi = (did: number, aw: number): number => (did & CONTEXT_DID_MASK) * 256 + (aw & CONTEXT_AW_MASK);

// ── Appendix A: non-recoverable fault reasons (legacy mode), QEMU's VTDFaultReason names ───
/** The Present (P) field of the root entry used to process the request is 0. */
export const VTD_FR_ROOT_ENTRY_P = 0x1;
/** The Present (P) field of the context entry used to process the request is 0. */
export const VTD_FR_CONTEXT_ENTRY_P = 0x2;
/** Invalid programming of a context entry (a reserved TT value, an AW the hardware does not support). */
export const VTD_FR_CONTEXT_ENTRY_INV = 0x3;
/** Input address above 2^X − 1, X = min(MGAW, the context's AW width) ("Access beyond MGAW"). */
export const VTD_FR_ADDR_BEYOND_MGAW = 0x4;
/** Write request blocked: no write permission ("PTE Write access is not set"). */
export const VTD_FR_WRITE = 0x5;
/** Read request blocked: no read permission ("PTE Read access is not set"). */
export const VTD_FR_READ = 0x6;
/** Error accessing a second-stage paging entry ("Next page table ptr is invalid"). */
export const VTD_FR_PAGING_ENTRY_INV = 0x7;
/** Error accessing the root entry ("Root table address invalid"). */
export const VTD_FR_ROOT_TABLE_INV = 0x8;
/** Error accessing the context entry ("Context table ptr is invalid"). */
export const VTD_FR_CONTEXT_TABLE_INV = 0x9;
/** Non-zero reserved field in a present root entry. */
export const VTD_FR_ROOT_ENTRY_RSVD = 0xa;
/** Non-zero reserved field in a present context entry. */
export const VTD_FR_CONTEXT_ENTRY_RSVD = 0xb;
/** Non-zero reserved field in a second-stage paging entry with R or W set. */
export const VTD_FR_PAGING_ENTRY_RSVD = 0xc;

export type VtdFaultReason = 0x1 | 0x2 | 0x3 | 0x4 | 0x5 | 0x6 | 0x7 | 0x8 | 0x9 | 0xa | 0xb | 0xc;

/** The words Linux prints for each reason (drivers/iommu/dmar.c dma_remap_fault_reasons[]). */
export const FAULT_REASON_TEXT: Record<VtdFaultReason, string> = {
  0x1: 'Present bit in root entry is clear',
  0x2: 'Present bit in context entry is clear',
  0x3: 'Invalid context entry',
  0x4: 'Access beyond MGAW',
  0x5: 'PTE Write access is not set',
  0x6: 'PTE Read access is not set',
  0x7: 'Next page table ptr is invalid',
  0x8: 'Root table address invalid',
  0x9: 'Context table ptr is invalid',
  0xa: 'non-zero reserved fields in RTP',
  0xb: 'non-zero reserved fields in CTP',
  0xc: 'non-zero reserved fields in PTE',
};

// ── Fault Status register and Fault Recording registers (Linux DMA_FSTS_*, dma_frcd_*) ─────
/** FSTS bit 0: Primary Fault Overflow — a fault arrived with every fault recording register full. */
export const DMA_FSTS_PFO = 1 << 0;
/** FSTS bit 1: Primary Pending Fault — at least one fault recording register holds a fault. */
export const DMA_FSTS_PPF = 1 << 1;
/** FSTS bits 15:8: Fault Record Index (dma_fsts_fault_record_index). */
export const DMA_FSTS_FRI_SHIFT = 8;
/**
 * A fault recording register is 128 bits: bits 63:12 fault info (the page address of the
 * request), bits 79:64 source-id, bits 103:96 fault reason, bit 126 type T (0 = write, 1 = read),
 * bit 127 F (fault recorded). As four little-endian dwords, Linux reads dword 2 for the source-id
 * and dword 3 for the reason, T (dword bit 30) and F (DMA_FRCD_F, dword bit 31).
 */
export const DMA_FRCD_F = 0x8000_0000;
export const DMA_FRCD_T_READ = 0x4000_0000;
export function encodeFaultRecord(address: number, sourceId: number, reason: number, write: boolean): [number, number, number, number] {
  const page = address - (address % VTD_PAGE_SIZE);
  return [
    (page % 0x1_0000_0000) >>> 0,
    Math.floor(page / 0x1_0000_0000) >>> 0,
    sourceId & 0xffff,
    ((reason & 0xff) | (write ? 0 : DMA_FRCD_T_READ) | DMA_FRCD_F) >>> 0,
  ];
}

// ── PCI source-id (requester id): bus 15:8, device 7:3, function 2:0 ───────────────────────
export const sourceIdOf = (bus: number, devfn: number): number => ((bus & 0xff) << 8) | (devfn & 0xff);
export const devfnOf = (dev: number, fn: number): number => ((dev & 0x1f) << 3) | (fn & 7);
/** "bb:dd.f", the form Linux prints in DMAR fault messages. */
export function formatSourceId(sid: number): string {
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  return `${h((sid >> 8) & 0xff, 2)}:${h((sid >> 3) & 0x1f, 2)}.${sid & 7}`;
}
