/**
 * VT-d interrupt remapping: the Interrupt Remapping Table (IRT) in host memory, both IRTE formats
 * (remapped and posted), MSIs in remappable format, source-id validation, and the interrupt-entry
 * cache (IEC). What a device's MSI becomes: a remapped interrupt, a posted interrupt (handed to
 * ./posted.ts), or a fault, never an exception.
 *
 * Sources. Section numbers were checked against the text of:
 *   Intel® Virtualization Technology for Directed I/O, Architecture Specification, Rev. 5.10
 *   (November 2025, order no. D51397-018), cited "VT-d 5.10" below:
 *   §5.1.2.1 compatibility-format requests (Figure 5-1); §5.1.2.2 remappable-format requests
 *   (Table 13 address fields, Table 14 data fields); §5.1.3 the IRT and interrupt_index;
 *   §5.1.4 hardware operation; §5.1.4.1 fault conditions (Table 15, reasons 20h–2Bh);
 *   §5.1.5.2 MSI/MSI-X programming; §5.2.1 the IM field; §6.4 interrupt entry cache;
 *   §6.5.2.8 IEC invalidate descriptor (Table 25 index mask); §9.9 IRTE for remapped interrupts;
 *   §9.10 IRTE for posted interrupts; §11.4.10 IRTA_REG (2^(S+1) entries, EIME).
 * Revision 4.1 uses the same chapter-9 numbers (§9.9 remapped, §9.10 posted, §9.11 PID) according
 * to two secondary sources (Genode's intel/irq_remap_table.h cites "section 9.9 … Revision 4.1,
 * March 2023" for the IRT). Citations elsewhere to §9.10/§9.11/§9.12 for these three structures
 * come from older revisions, where chapter 9 still held the fault record; that older numbering
 * was NOT confirmed here, so cite "VT-d 5.10".
 * Linux `struct irte` (include/linux/dmar.h, kernel-internal, not in /usr/include) has the same
 * bit positions: present 0, fpd 1, dst_mode 2, redir_hint 3, trigger_mode 4, dlvry_mode 7:5,
 * avail 11:8, pst 15, vector 23:16, dest_id 63:32; posted p_urgent 14, pda_l 63:38; high half
 * sid 79:64, sq 81:80, svt 83:82, pda_h 127:96. QEMU hw/i386/intel_iommu.c (vtd_irte_get,
 * vtd_interrupt_remap_msi) is a second implementation the checks below were compared with.
 *
 * What the spec requires / what we do / why that is fine for the lab:
 * - Hardware reads the whole 128-bit IRTE as one operation (§5.1.4). We read 16 bytes in one
 *   call; the engine is single-threaded, so no torn reads exist to model.
 * - The IEC (§6.4) is modelled as a small FIFO of decoded entries (capacity configurable; real
 *   capacities are not published). As with CM=0 hardware, an entry that faulted is not cached,
 *   and a cached entry stays in use, stale, until software invalidates it (§6.5.2.8), which is why
 *   Linux's modify_irte() always follows the write with an IEC flush. `writeIrte` does the same.
 * - Fault recording registers and the fault event MSI are not modelled here: a fault is returned
 *   with its reason code (Table 15) and whether it would be recorded (FPD suppresses the
 *   "qualified" ones), counted in `stats`, and left to the caller to report.
 * - Interrupt requests whose address is outside FEEx_xxxxh, or has bits 63:32 set, are treated as
 *   malformed remappable requests (20h), as QEMU does; on real hardware such a write is not an
 *   interrupt at all and goes to DMA remapping instead.
 * - "Conditional reserved fields programmed wrongly" (24h) is read to include SVT=11b, the
 *   undefined delivery modes 011b/110b, DST bits that are reserved in xAPIC mode, PDA bits above
 *   the host address width, and IM=1 on hardware without posted-interrupt support (PI=0 makes
 *   IM and URG reserved, §9.10). QEMU reports SVT=11b as a source-id fault (26h) instead.
 * - I/OxAPIC requests and the EIMER/EIME=0 condition (2Ah) are not modelled.
 *
 * Facts (layouts, encoders, decoders) come first, behaviour (InterruptRemapper) after, so the facts
 * can move to a spec file without change.
 */
import type { GuestMemory } from '../memory.ts';

// ── Facts: the IRT and the IRTE (VT-d 5.10 §5.1.3, §9.9, §9.10, §11.4.10) ─────────────────────

/** §5.1.3: "Each entry in the table is 128-bits in size". */
export const IRTE_SIZE = 16;
/** §5.1.3: "maximum number of IRTEs in an Interrupt Remapping Table is 64K". */
export const IRT_MAX_ENTRIES = 65536;
/** §11.4.10: IRTA points to a 4 KB-aligned table of 2^(S+1) entries, S in 3:0 (2 … 65536). */
export const IRT_ALIGN = 4096;

/** §9.9/§9.10 bit 15 IM: 0 = remapped format, 1 = posted format. */
export const IRTE_IM_BIT = 15;

/** §9.9 DLM (bits 7:5) encodings. 011b and 110b are not defined. */
export const DLM_FIXED = 0;
export const DLM_LOWEST_PRIORITY = 1;
export const DLM_SMI = 2;
export const DLM_NMI = 4;
export const DLM_INIT = 5;
export const DLM_EXTINT = 7;

/** §9.9 SVT (bits 83:82). 11b is reserved. */
export const SVT_NONE = 0;
export const SVT_SID_SQ = 1;
export const SVT_BUS_RANGE = 2;

/**
 * §9.9 SQ (bits 81:80), used when SVT = 01b: which requester-id bits take part in the compare.
 * 00b all 16 bits; 01b ignore bit 2; 10b ignore bits 2:1; 11b ignore bits 2:0 (phantom functions).
 * The same masks as QEMU's vtd_svt_mask[] = {0xffff, 0xfffb, 0xfff9, 0xfff8}.
 */
export const SQ_MASKS: readonly number[] = [0xffff, 0xfffb, 0xfff9, 0xfff8];

/** Inclusive bit ranges [high, low] of a 128-bit IRTE, bit 0 = bit 0 of byte 0 (little-endian). */
export type BitRange = readonly [high: number, low: number];

/** §9.9: reserved in a remapped-format IRTE: 14:12, 31:24, 127:84 (evaluated only when P = 1). */
export const IRTE_REMAPPED_RESERVED: readonly BitRange[] = [[14, 12], [31, 24], [127, 84]];
/** §9.9 DST in xAPIC mode (IRTA.EIME = 0): 63:48 and 39:32 are reserved; the APIC ID is 47:40. */
export const IRTE_XAPIC_DST_RESERVED: readonly BitRange[] = [[39, 32], [63, 48]];
/** §9.10: reserved in a posted-format IRTE: 7:2, 13:12, 37:24, 95:84 (evaluated only when P = 1). */
export const IRTE_POSTED_RESERVED: readonly BitRange[] = [[7, 2], [13, 12], [37, 24], [95, 84]];

interface IrteSourceFields {
  /** SID, bits 79:64: the requester-id allowed to use this entry (SVT 01b), or StartBus:EndBus (SVT 10b). */
  sid: number;
  /** SQ, bits 81:80. */
  sq: number;
  /** SVT, bits 83:82. */
  svt: number;
}

/** §9.9 Interrupt Remapping Table Entry for Remapped Interrupts (IM = 0). */
export interface RemappedIrte extends IrteSourceFields {
  mode: 'remapped';
  /** P, bit 0. */
  present: boolean;
  /** FPD, bit 1: fault processing disable (suppresses recording of "qualified" faults). */
  fpd: boolean;
  /** DM, bit 2: 0 physical, 1 logical destination. */
  destinationMode: 'physical' | 'logical';
  /** RH, bit 3: redirection hint. */
  redirectionHint: boolean;
  /** TM, bit 4: 0 edge, 1 level. */
  trigger: 'edge' | 'level';
  /** DLM, bits 7:5. */
  deliveryMode: number;
  /** AVAIL, bits 11:8: free for software, ignored by hardware. */
  avail: number;
  /** V, bits 23:16: the vector of the remapped interrupt. */
  vector: number;
  /**
   * DST, bits 63:32, as stored. x2APIC mode: the 32-bit APIC ID. xAPIC mode: APIC ID in bits
   * 47:40, i.e. this field holds apicId << 8 (Linux IRTE_DEST(), QEMU VTD_IR_APIC_DEST_SHIFT).
   */
  destination: number;
}

/** §9.10 Interrupt Remapping Table Entry for Posted Interrupts (IM = 1). */
export interface PostedIrte extends IrteSourceFields {
  mode: 'posted';
  present: boolean;
  fpd: boolean;
  avail: number;
  /** URG, bit 14: urgent, notify even when the descriptor's SN is set. */
  urgent: boolean;
  /** VV, bits 23:16: the guest (virtual) vector to set in the descriptor's PIR. */
  vector: number;
  /**
   * Host-physical address of the 64-byte-aligned posted-interrupt descriptor: PDA_L (bits 63:38)
   * holds address bits 31:6, PDA_H (bits 127:96) address bits 63:32. A JS number: exact below 2^53.
   */
  pda: number;
}

export type Irte = RemappedIrte | PostedIrte;

const TWO32 = 0x1_0000_0000;

function words(bytes: Uint8Array, offset: number): [number, number, number, number] {
  const w = (i: number): number =>
    (bytes[offset + i]! | (bytes[offset + i + 1]! << 8) | (bytes[offset + i + 2]! << 16) | (bytes[offset + i + 3]! << 24)) >>> 0;
  return [w(0), w(4), w(8), w(12)];
}

function fromWords(w: readonly number[]): Uint8Array {
  const out = new Uint8Array(IRTE_SIZE);
  for (let i = 0; i < 4; i++) {
    const v = w[i]! >>> 0;
    out[i * 4] = v & 0xff;
    out[i * 4 + 1] = (v >>> 8) & 0xff;
    out[i * 4 + 2] = (v >>> 16) & 0xff;
    out[i * 4 + 3] = (v >>> 24) & 0xff;
  }
  return out;
}

/** The four 32-bit word masks covering some bit ranges of a 128-bit entry. */
function rangeMasks(ranges: readonly BitRange[]): [number, number, number, number] {
  const m: [number, number, number, number] = [0, 0, 0, 0];
  for (const [hi, lo] of ranges) {
    for (let b = lo; b <= hi; b++) m[b >>> 5] = (m[b >>> 5]! | (1 << (b & 31))) >>> 0;
  }
  return m;
}

const anyBits = (w: readonly number[], m: readonly number[]): boolean =>
  ((w[0]! & m[0]!) | (w[1]! & m[1]!) | (w[2]! & m[2]!) | (w[3]! & m[3]!)) !== 0;

const masksOf = (ranges: readonly BitRange[]): { range: BitRange; mask: readonly number[] }[] =>
  ranges.map((range) => ({ range, mask: rangeMasks([range]) }));
const REMAPPED_MASKS = masksOf(IRTE_REMAPPED_RESERVED);
const POSTED_MASKS = masksOf(IRTE_POSTED_RESERVED);
const XAPIC_DST_MASKS = masksOf(IRTE_XAPIC_DST_RESERVED);

const fmtRange = ([hi, lo]: BitRange): string => (hi === lo ? `bit ${hi}` : `bits ${hi}:${lo}`);

/**
 * Encode an IRTE into its 16 bytes (little-endian). Like assigning to C bit-fields (Linux's
 * struct irte), every value is truncated to its field width; the PDA's low 6 bits are dropped
 * (the descriptor is 64-byte aligned). Reserved bits are written as 0.
 */
export function encodeIrte(e: Irte): Uint8Array {
  const src = ((e.sid & 0xffff) | ((e.sq & 3) << 16) | ((e.svt & 3) << 18)) >>> 0;
  if (e.mode === 'remapped') {
    const w0 =
      (e.present ? 1 : 0) |
      ((e.fpd ? 1 : 0) << 1) |
      ((e.destinationMode === 'logical' ? 1 : 0) << 2) |
      ((e.redirectionHint ? 1 : 0) << 3) |
      ((e.trigger === 'level' ? 1 : 0) << 4) |
      ((e.deliveryMode & 7) << 5) |
      ((e.avail & 0xf) << 8) |
      ((e.vector & 0xff) << 16);
    return fromWords([w0 >>> 0, e.destination >>> 0, src, 0]);
  }
  const w0 =
    (e.present ? 1 : 0) |
    ((e.fpd ? 1 : 0) << 1) |
    ((e.avail & 0xf) << 8) |
    ((e.urgent ? 1 : 0) << 14) |
    (1 << IRTE_IM_BIT) |
    ((e.vector & 0xff) << 16);
  const pdaLow = (e.pda % TWO32) >>> 0;
  const pdaHigh = Math.floor(e.pda / TWO32) >>> 0;
  return fromWords([w0 >>> 0, (pdaLow & 0xffff_ffc0) >>> 0, src, pdaHigh]);
}

/**
 * Decode the IRTE at `offset` in `bytes`. Reserved bits are ignored here (see
 * irteReservedViolation). A posted entry's `pda` is exact below 2^53; higher PDA bits lie above
 * every host address width allowed here (≤ 52), so such an entry fails the reserved check anyway.
 */
export function decodeIrte(bytes: Uint8Array, offset = 0): Irte {
  const [w0, w1, w2, w3] = words(bytes, offset);
  const common = {
    present: (w0 & 1) !== 0,
    fpd: ((w0 >>> 1) & 1) !== 0,
    avail: (w0 >>> 8) & 0xf,
    vector: (w0 >>> 16) & 0xff,
    sid: w2 & 0xffff,
    sq: (w2 >>> 16) & 3,
    svt: (w2 >>> 18) & 3,
  };
  if (((w0 >>> IRTE_IM_BIT) & 1) === 0) {
    return {
      mode: 'remapped',
      ...common,
      destinationMode: ((w0 >>> 2) & 1) !== 0 ? 'logical' : 'physical',
      redirectionHint: ((w0 >>> 3) & 1) !== 0,
      trigger: ((w0 >>> 4) & 1) !== 0 ? 'level' : 'edge',
      deliveryMode: (w0 >>> 5) & 7,
      destination: w1,
    };
  }
  return {
    mode: 'posted',
    ...common,
    urgent: ((w0 >>> 14) & 1) !== 0,
    pda: w3 * TWO32 + ((w1 & 0xffff_ffc0) >>> 0),
  };
}

/** The IRTE as two 64-bit halves (bits 63:0 and 127:64), for display and for comparing with C. */
export function irteToHalves(bytes: Uint8Array, offset = 0): { lo: bigint; hi: bigint } {
  const [w0, w1, w2, w3] = words(bytes, offset);
  return { lo: (BigInt(w1) << 32n) | BigInt(w0), hi: (BigInt(w3) << 32n) | BigInt(w2) };
}

/** Bytes of the IRTE whose halves are lo (bits 63:0) and hi (bits 127:64). */
export function irteFromHalves(lo: bigint, hi: bigint): Uint8Array {
  const l = BigInt.asUintN(64, lo);
  const h = BigInt.asUintN(64, hi);
  return fromWords([Number(l & 0xffff_ffffn), Number(l >> 32n), Number(h & 0xffff_ffffn), Number(h >> 32n)]);
}

/** What the hardware is configured with when it evaluates reserved fields. */
export interface IrteCheckContext {
  /** IRTA_REG.EIME (§11.4.10): x2APIC mode, all 32 DST bits are meaningful. */
  x2apic: boolean;
  /** CAP_REG.PI: posted interrupts supported; if not, IM and URG are reserved (§9.10). */
  postedInterrupts: boolean;
  /** Host address width (HAW): PDA bits 63:HAW are reserved (§9.10). 32 … 52 here. */
  hostAddressWidth: number;
}

/**
 * §5.1.4.1 fault 24h: "one or more reserved fields that are not initialized to zero in an IRTE
 * with Present (P) field Set", including "conditional reserved fields" programmed wrongly. Returns
 * a description of the first offending field, or null when the entry is well formed. Reserved
 * fields are evaluated only when P = 1, so a not-present entry is always null here.
 */
export function irteReservedViolation(bytes: Uint8Array, ctx: IrteCheckContext, offset = 0): string | null {
  const w = words(bytes, offset);
  const w0 = w[0];
  if ((w0 & 1) === 0) return null;
  if (((w[2] >>> 18) & 3) === 3) return 'SVT = 11b (reserved encoding)';
  const posted = ((w0 >>> IRTE_IM_BIT) & 1) !== 0;
  if (posted) {
    if (!ctx.postedInterrupts) return 'IM = 1 (reserved: posted interrupts not supported, CAP.PI = 0)';
    for (const r of POSTED_MASKS) if (anyBits(w, r.mask)) return `${fmtRange(r.range)} (reserved in the posted format)`;
    const haw = ctx.hostAddressWidth;
    if (haw < 64 && Math.floor(w[3] / 2 ** (haw - 32)) !== 0) {
      return `PDA bits 63:${haw} (above the host address width)`;
    }
    return null;
  }
  for (const r of REMAPPED_MASKS) if (anyBits(w, r.mask)) return `${fmtRange(r.range)} (reserved in the remapped format)`;
  const dlm = (w0 >>> 5) & 7;
  if (dlm === 3 || dlm === 6) return `DLM = ${dlm.toString(2).padStart(3, '0')}b (undefined delivery mode)`;
  if (!ctx.x2apic) {
    for (const r of XAPIC_DST_MASKS) if (anyBits(w, r.mask)) return `DST ${fmtRange(r.range)} (reserved in xAPIC mode)`;
  }
  return null;
}

/**
 * §9.9 SVT/SID/SQ: may a request with this requester-id (bus << 8 | device << 3 | function) use
 * the entry? SVT 00b: anyone. 01b: SID compared under the SQ mask. 10b: the requester's bus must
 * lie in StartBus (SID 15:8) … EndBus (SID 7:0). 11b: reserved, never valid.
 */
export function validateSourceId(e: IrteSourceFields, requesterId: number): boolean {
  const rid = requesterId & 0xffff;
  switch (e.svt & 3) {
    case SVT_NONE:
      return true;
    case SVT_SID_SQ: {
      const mask = SQ_MASKS[e.sq & 3]!;
      return (rid & mask) === (e.sid & mask);
    }
    case SVT_BUS_RANGE: {
      const bus = rid >>> 8;
      return bus >= ((e.sid >>> 8) & 0xff) && bus <= (e.sid & 0xff);
    }
    default:
      return false;
  }
}

/** PCI requester-id (source-id) of bus:device.function, as the IOMMU sees it (§3.4.1). */
export const requesterId = (bus: number, device: number, fn: number): number =>
  ((bus & 0xff) << 8) | ((device & 0x1f) << 3) | (fn & 7);

/** "bb:dd.f" for messages. */
export const formatRequesterId = (rid: number): string =>
  `${((rid >>> 8) & 0xff).toString(16).padStart(2, '0')}:${((rid >>> 3) & 0x1f).toString(16).padStart(2, '0')}.${rid & 7}`;

// ── Facts: MSI address/data (VT-d 5.10 §5.1.2, Tables 13 and 14; §5.1.5.2) ──────────────────

/** Table 13, bits 31:20: "DWORD DMA write request with value of FEEh in these bits are decoded as interrupt requests". */
export const MSI_ADDRESS_BASE = 0xfee0_0000;
/** Table 13 bit 4: Interrupt Format, 1 = remappable. */
export const MSI_ADDR_IF = 1 << 4;
/** Table 13 bit 3: SubHandle Valid. */
export const MSI_ADDR_SHV = 1 << 3;
/** Table 13 bit 2: Handle[15]. */
export const MSI_ADDR_HANDLE15 = 1 << 2;
/** Table 13 bits 19:5: Handle[14:0]. */
export const MSI_ADDR_HANDLE_SHIFT = 5;

/** Is this DWORD write an interrupt request (address FEEx_xxxxh, upper 32 bits zero)? */
export const isInterruptAddress = (address: number): boolean =>
  Number.isInteger(address) && address >= 0 && address <= 0xffff_ffff && address >>> 20 === 0xfee;

/** The fields of a remappable-format request (§5.1.2.2). */
export interface RemappableRequest {
  handle: number;
  shv: boolean;
  /** Data bits 15:0; meaningful only when SHV = 1. */
  subhandle: number;
  /** §5.1.3: handle, or handle + subhandle when SHV = 1 (may exceed 0xffff: then out of range). */
  index: number;
}

export function decodeRemappableMsi(address: number, data: number): RemappableRequest {
  const handle = ((address >>> MSI_ADDR_HANDLE_SHIFT) & 0x7fff) | (((address >>> 2) & 1) << 15);
  const shv = (address & MSI_ADDR_SHV) !== 0;
  const subhandle = data & 0xffff;
  return { handle, shv, subhandle, index: shv ? handle + subhandle : handle };
}

/**
 * §5.1.5.2: address and data that make a device's MSI name IRTE `handle`: FEEh in 31:20,
 * Handle[14:0] in 19:5, Interrupt Format = 1, SHV, Handle[15] in bit 2; data = subhandle.
 * Linux (intel irq_remapping fill_msi_msg) programs SHV = 1 and data = sub_handle, which is the
 * default here. With multi-vector MSI the device puts the vector number in the low data bits.
 */
export function encodeRemappableMsi(handle: number, opts: { shv?: boolean; subhandle?: number } = {}): { address: number; data: number } {
  const h = handle & 0xffff;
  const shv = opts.shv ?? true;
  const address =
    (MSI_ADDRESS_BASE | ((h & 0x7fff) << MSI_ADDR_HANDLE_SHIFT) | MSI_ADDR_IF | (shv ? MSI_ADDR_SHV : 0) | ((h >>> 15) << 2)) >>> 0;
  return { address, data: shv ? (opts.subhandle ?? 0) & 0xffff : 0 };
}

/** Figure 5-1: a compatibility-format request (Interrupt Format = 0) as the APIC reads it. */
export interface CompatibilityMsi {
  vector: number;
  /** Address bits 19:12. */
  destination: number;
  destinationMode: 'physical' | 'logical';
  redirectionHint: boolean;
  trigger: 'edge' | 'level';
  deliveryMode: number;
}

export function decodeCompatibilityMsi(address: number, data: number): CompatibilityMsi {
  return {
    vector: data & 0xff,
    destination: (address >>> 12) & 0xff,
    destinationMode: ((address >>> 2) & 1) !== 0 ? 'logical' : 'physical',
    redirectionHint: ((address >>> 3) & 1) !== 0,
    trigger: ((data >>> 15) & 1) !== 0 ? 'level' : 'edge',
    deliveryMode: (data >>> 8) & 7,
  };
}

// ── Facts: fault reasons (VT-d 5.10 §5.1.4.1, Table 15) ─────────────────────────────────────

export type IrFaultReason =
  | 'request-reserved'
  | 'index-out-of-range'
  | 'not-present'
  | 'table-access-error'
  | 'irte-reserved'
  | 'compatibility-blocked'
  | 'source-id-invalid'
  | 'remapping-disabled';

/** Table 15 fault reason codes. (27h/28h, descriptor faults, belong to ./posted.ts.) */
export const IR_FAULT_CODE: Readonly<Record<IrFaultReason, number>> = {
  'request-reserved': 0x20,
  'index-out-of-range': 0x21,
  'not-present': 0x22,
  'table-access-error': 0x23,
  'irte-reserved': 0x24,
  'compatibility-blocked': 0x25,
  'source-id-invalid': 0x26,
  'remapping-disabled': 0x2b,
};

/** Table 15 "Qualified": reported only when the IRTE's FPD is clear. */
export const IR_FAULT_QUALIFIED: Readonly<Record<IrFaultReason, boolean>> = {
  'request-reserved': false,
  'index-out-of-range': false,
  'not-present': true,
  'table-access-error': false,
  'irte-reserved': true,
  'compatibility-blocked': false,
  'source-id-invalid': true,
  'remapping-disabled': false,
};

// ── Behaviour: the remapping unit ─────────────────────────────────────────────────────────────

export interface RemappedInterrupt {
  kind: 'remapped';
  index: number;
  sourceId: number;
  vector: number;
  /** The APIC ID the interrupt goes to (xAPIC mode: DST bits 47:40; x2APIC: DST 63:32). */
  destination: number;
  destinationMode: 'physical' | 'logical';
  trigger: 'edge' | 'level';
  deliveryMode: number;
  redirectionHint: boolean;
}

/** A request the IRTE says to post: ./posted.ts postInterrupt(mem, pda, vector, urgent) does the rest (§5.2.3). */
export interface PostedInterrupt {
  kind: 'posted';
  index: number;
  sourceId: number;
  /** The guest vector to set in the descriptor's PIR. */
  vector: number;
  pda: number;
  urgent: boolean;
}

/** A compatibility-format request let through un-remapped (remapping off, or CFIS = 1 in xAPIC mode). */
export interface CompatibilityInterrupt extends CompatibilityMsi {
  kind: 'compatibility';
  sourceId: number;
}

export interface IrFault {
  kind: 'fault';
  reason: IrFaultReason;
  /** Table 15 fault reason code. */
  code: number;
  /** interrupt_index, when one was computed. */
  index: number | null;
  sourceId: number;
  /** Would hardware record it? Qualified faults are not recorded when the IRTE's FPD = 1. */
  recorded: boolean;
  /** In domain words, for diagnostics. */
  detail: string;
}

export type RemapResult = RemappedInterrupt | PostedInterrupt | CompatibilityInterrupt | IrFault;

export interface InterruptRemapperConfig {
  /** IRTA_REG.IRTA: host-physical base of the table, 4 KiB aligned. */
  base: number;
  /** Number of IRTEs: a power of two, 2 … 65536 (IRTA_REG.S = log2(entries) − 1). */
  entries: number;
  /** IRTA_REG.EIME: x2APIC mode (32-bit destinations). Also blocks compatibility format. Default true. */
  x2apic?: boolean;
  /** GSTS_REG.IRES: interrupt remapping enabled. Default true. */
  enabled?: boolean;
  /** ECAP_REG.IRREQ: while remapping is disabled, block every interrupt (fault 2Bh). Default false. */
  remappingRequired?: boolean;
  /** GSTS_REG.CFIS: let compatibility-format interrupts through un-remapped (xAPIC mode only). Default false. */
  compatibilityFormat?: boolean;
  /** CAP_REG.PI: posted interrupts supported. Default true. */
  postedInterrupts?: boolean;
  /** Host address width, 32 … 52 (JS numbers are exact below 2^53). Default 46. */
  hostAddressWidth?: number;
  /** Interrupt-entry cache capacity in entries; 0 = no cache. Default 64. */
  iecEntries?: number;
}

export interface InterruptRemapperStats {
  remapped: number;
  posted: number;
  compatibility: number;
  faults: number;
  /** Faults hardware would record (FPD did not suppress them). */
  faultsRecorded: number;
  faultsByReason: Record<IrFaultReason, number>;
  iecHits: number;
  iecMisses: number;
  /** Invalidation requests (global or index-selective) received. */
  iecInvalidations: number;
}

const emptyByReason = (): Record<IrFaultReason, number> => ({
  'request-reserved': 0,
  'index-out-of-range': 0,
  'not-present': 0,
  'table-access-error': 0,
  'irte-reserved': 0,
  'compatibility-blocked': 0,
  'source-id-invalid': 0,
  'remapping-disabled': 0,
});

const hex = (n: number, w = 2): string => `0x${n.toString(16).padStart(w, '0')}`;

/**
 * One interrupt-remapping hardware unit (§5.1.4) over host memory holding its IRT.
 * Host configuration errors (a misaligned table, a size that is not a power of two) throw a
 * RangeError when the unit is built; everything a device sends (`remap`) returns a value.
 */
export class InterruptRemapper {
  readonly mem: GuestMemory;
  readonly base: number;
  readonly entries: number;
  readonly x2apic: boolean;
  readonly enabled: boolean;
  readonly remappingRequired: boolean;
  readonly compatibilityFormat: boolean;
  readonly postedInterrupts: boolean;
  readonly hostAddressWidth: number;
  readonly iecEntries: number;
  readonly #iec = new Map<number, Irte>();
  readonly #stats: InterruptRemapperStats = {
    remapped: 0,
    posted: 0,
    compatibility: 0,
    faults: 0,
    faultsRecorded: 0,
    faultsByReason: emptyByReason(),
    iecHits: 0,
    iecMisses: 0,
    iecInvalidations: 0,
  };

  constructor(hostMemory: GuestMemory, config: InterruptRemapperConfig) {
    const { base, entries } = config;
    if (!Number.isInteger(base) || base < 0 || base % IRT_ALIGN !== 0) {
      throw new RangeError(`IRT base ${base} must be a non-negative multiple of ${IRT_ALIGN} (IRTA_REG, VT-d 5.10 §11.4.10)`);
    }
    if (!Number.isInteger(entries) || entries < 2 || entries > IRT_MAX_ENTRIES || (entries & (entries - 1)) !== 0) {
      throw new RangeError(`IRT size ${entries} must be a power of two from 2 to ${IRT_MAX_ENTRIES} (2^(S+1), VT-d 5.10 §11.4.10)`);
    }
    const haw = config.hostAddressWidth ?? 46;
    if (!Number.isInteger(haw) || haw < 32 || haw > 52) throw new RangeError(`host address width ${haw} must be 32 … 52`);
    const iec = config.iecEntries ?? 64;
    if (!Number.isInteger(iec) || iec < 0) throw new RangeError(`IEC capacity ${iec} must be a non-negative integer`);
    this.mem = hostMemory;
    this.base = base;
    this.entries = entries;
    this.x2apic = config.x2apic ?? true;
    this.enabled = config.enabled ?? true;
    this.remappingRequired = config.remappingRequired ?? false;
    this.compatibilityFormat = config.compatibilityFormat ?? false;
    this.postedInterrupts = config.postedInterrupts ?? true;
    this.hostAddressWidth = haw;
    this.iecEntries = iec;
  }

  /** Counters so far (a copy). */
  get stats(): InterruptRemapperStats {
    return { ...this.#stats, faultsByReason: { ...this.#stats.faultsByReason } };
  }

  /** Host-physical address of IRTE `index` (no range check). */
  irteAddress(index: number): number {
    return this.base + index * IRTE_SIZE;
  }

  /** The IRTE in memory (not the cached copy), or null when the index or its address is invalid. */
  readIrte(index: number): Irte | null {
    if (!Number.isInteger(index) || index < 0 || index >= this.entries) return null;
    const a = this.irteAddress(index);
    if (!this.mem.contains(a, IRTE_SIZE)) return null;
    return decodeIrte(this.mem.read(a, IRTE_SIZE));
  }

  /**
   * Program IRTE `index` the way Linux's modify_irte() does: write the 128 bits, then invalidate
   * that index in the IEC (qi_flush_iec). Returns false when the index or address is invalid.
   * Writing the table through `mem` directly leaves any cached copy stale until `invalidateIec`.
   */
  writeIrte(index: number, e: Irte): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.entries) return false;
    const a = this.irteAddress(index);
    if (!this.mem.contains(a, IRTE_SIZE)) return false;
    this.mem.write(a, encodeIrte(e));
    this.invalidateIec(index, 0);
    return true;
  }

  /**
   * §6.5.2.8 Interrupt Entry Cache Invalidate: with no index, global (G = 0); otherwise
   * index-selective (G = 1) over 2^indexMask entries, the low indexMask bits of `index` masked
   * (Table 25).
   */
  invalidateIec(index?: number, indexMask = 0): void {
    this.#stats.iecInvalidations++;
    if (index === undefined) {
      this.#iec.clear();
      return;
    }
    const m = Math.max(0, Math.min(16, Math.floor(indexMask)));
    const count = 2 ** m;
    const first = Math.floor(index / count) * count;
    for (let i = first; i < first + count; i++) this.#iec.delete(i);
  }

  /** Indices currently held in the IEC, oldest first. */
  cachedIndices(): number[] {
    return [...this.#iec.keys()];
  }

  /**
   * Process one interrupt request: a DWORD write of `msiData` to `msiAddress` by requester
   * `sourceId` (bus << 8 | devfn), following §5.1.4 step by step.
   */
  remap(sourceId: number, msiAddress: number, msiData: number): RemapResult {
    const sid = sourceId & 0xffff;
    const who = formatRequesterId(sid);
    const dataOk = Number.isInteger(msiData) && msiData >= 0 && msiData <= 0xffff_ffff;

    if (!this.enabled) {
      if (this.remappingRequired) {
        return this.#fault('remapping-disabled', null, sid, null, `interrupt from ${who} blocked: remapping is required (IRREQ) but not enabled`);
      }
      if (!isInterruptAddress(msiAddress) || !dataOk) {
        return this.#fault('request-reserved', null, sid, null, `write by ${who} to ${hex(msiAddress, 8)} is not a well-formed interrupt request`);
      }
      return this.#compat(sid, msiAddress, msiData);
    }

    if (!isInterruptAddress(msiAddress)) {
      return this.#fault('request-reserved', null, sid, null, `write by ${who} to ${hex(msiAddress, 8)} is not an interrupt address (FEEx_xxxxh)`);
    }
    if (!dataOk) {
      return this.#fault('request-reserved', null, sid, null, `interrupt data ${msiData} from ${who} is not a 32-bit value`);
    }
    if ((msiAddress & MSI_ADDR_IF) === 0) {
      if (this.x2apic || !this.compatibilityFormat) {
        const why = this.x2apic ? 'x2APIC mode (EIME = 1)' : 'compatibility format disabled (CFIS = 0)';
        return this.#fault('compatibility-blocked', null, sid, null, `compatibility-format interrupt from ${who} blocked: ${why}`);
      }
      return this.#compat(sid, msiAddress, msiData);
    }

    const req = decodeRemappableMsi(msiAddress, msiData);
    if (req.shv && msiData >>> 16 !== 0) {
      return this.#fault('request-reserved', null, sid, null, `interrupt from ${who}: data bits 31:16 must be 0 when SHV = 1 (data ${hex(msiData, 8)})`);
    }
    const index = req.index;
    if (index >= this.entries) {
      return this.#fault('index-out-of-range', index, sid, null, `interrupt from ${who} names IRTE ${index}, beyond the table of ${this.entries} entries`);
    }

    let e = this.#iec.get(index);
    if (e) {
      this.#stats.iecHits++;
    } else {
      if (this.iecEntries > 0) this.#stats.iecMisses++;
      const a = this.irteAddress(index);
      if (!this.mem.contains(a, IRTE_SIZE)) {
        return this.#fault('table-access-error', index, sid, null, `IRTE ${index} at ${hex(a, 8)} lies outside host memory`);
      }
      const bytes = this.mem.read(a, IRTE_SIZE);
      const fetched = decodeIrte(bytes);
      if (!fetched.present) {
        return this.#fault('not-present', index, sid, fetched.fpd, `interrupt from ${who} names IRTE ${index}, which is not present`);
      }
      const bad = irteReservedViolation(bytes, this);
      if (bad !== null && bad.startsWith('SVT')) {
        return this.#fault('irte-reserved', index, sid, fetched.fpd, `IRTE ${index}: ${bad}`);
      }
      // §5.1.4: source-id verification comes before the entry is interpreted per its IM field.
      if (!validateSourceId(fetched, sid)) return this.#sidFault(fetched, index, sid);
      if (bad !== null) return this.#fault('irte-reserved', index, sid, fetched.fpd, `IRTE ${index}: ${bad}`);
      e = fetched;
      this.#cache(index, e);
      return this.#deliver(e, index, sid);
    }
    if (!validateSourceId(e, sid)) return this.#sidFault(e, index, sid);
    return this.#deliver(e, index, sid);
  }

  #cache(index: number, e: Irte): void {
    if (this.iecEntries === 0) return;
    if (this.#iec.size >= this.iecEntries) {
      const oldest = this.#iec.keys().next();
      if (!oldest.done) this.#iec.delete(oldest.value);
    }
    this.#iec.set(index, e);
  }

  #deliver(e: Irte, index: number, sid: number): RemappedInterrupt | PostedInterrupt {
    if (e.mode === 'posted') {
      this.#stats.posted++;
      return { kind: 'posted', index, sourceId: sid, vector: e.vector, pda: e.pda, urgent: e.urgent };
    }
    this.#stats.remapped++;
    return {
      kind: 'remapped',
      index,
      sourceId: sid,
      vector: e.vector,
      destination: this.x2apic ? e.destination >>> 0 : (e.destination >>> 8) & 0xff,
      destinationMode: e.destinationMode,
      trigger: e.trigger,
      deliveryMode: e.deliveryMode,
      redirectionHint: e.redirectionHint,
    };
  }

  #compat(sid: number, address: number, data: number): CompatibilityInterrupt {
    this.#stats.compatibility++;
    return { kind: 'compatibility', sourceId: sid, ...decodeCompatibilityMsi(address, data) };
  }

  #sidFault(e: Irte, index: number, sid: number): IrFault {
    const who = formatRequesterId(sid);
    const rule =
      e.svt === SVT_BUS_RANGE
        ? `only buses ${hex((e.sid >>> 8) & 0xff)}–${hex(e.sid & 0xff)} may use it (SVT = 10b)`
        : `only ${formatRequesterId(e.sid)} may use it (SVT = 01b, SQ = ${e.sq.toString(2).padStart(2, '0')}b)`;
    return this.#fault('source-id-invalid', index, sid, e.fpd, `interrupt from ${who} names IRTE ${index}, but ${rule}`);
  }

  #fault(reason: IrFaultReason, index: number | null, sid: number, fpd: boolean | null, detail: string): IrFault {
    const recorded = !(IR_FAULT_QUALIFIED[reason] && fpd === true);
    this.#stats.faults++;
    this.#stats.faultsByReason[reason]++;
    if (recorded) this.#stats.faultsRecorded++;
    return { kind: 'fault', reason, code: IR_FAULT_CODE[reason], index, sourceId: sid, recorded, detail };
  }
}
