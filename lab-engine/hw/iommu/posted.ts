/**
 * The posted-interrupt descriptor (PID) in host memory, and the three parties that touch it:
 * the IOMMU posting an interrupt (VT-d 5.10 §5.2.3), the CPU or KVM draining it (posted-interrupt
 * processing), and KVM retargeting it as the vCPU runs, is preempted or blocks.
 *
 * Sources (section numbers checked against the text of Intel® VT for Directed I/O Architecture
 * Specification Rev. 5.10, Nov. 2025, D51397-018, "VT-d 5.10"):
 *   §5.2.2 the descriptor's fields; §5.2.3 interrupt-posting hardware operation (the atomic
 *   read-modify-write: set PIR[vector]; X = (ON == 0) & (URG | (SN == 0)); if X set ON and
 *   notify NDST with NV); §5.2.5 VMM usage (active notification vector ANV, wake-up notification
 *   vector WNV, SN while preempted); §9.11 Posted Interrupt Descriptor format; §5.1.4.1 Table 15
 *   faults 27h (descriptor access error) and 28h (reserved fields in the descriptor).
 *   (Revision 4.1 numbers the format §9.11 too, per secondary sources; older revisions' §9.12
 *   was not confirmed.)
 * Linux, kernel-internal (not in /usr/include): arch/x86/include/asm/posted_intr.h `struct pi_desc`
 * (pir[8] u32, then `control`: bit 0 ON, bit 1 SN, nv u8, ndst u32, rsvd[6]; __aligned(64));
 * arch/x86/include/asm/irq_vectors.h (POSTED_INTR_VECTOR 0xf2, POSTED_INTR_WAKEUP_VECTOR 0xf1,
 * POSTED_INTR_NESTED_VECTOR 0xf0); arch/x86/kvm/vmx/posted_intr.c: vmx_vcpu_pi_load() (runVcpu),
 * vmx_vcpu_pi_put() with pi_enable_wakeup_handler() (blockVcpu, preemptVcpu), pi_wakeup_handler(),
 * and vmx_sync_pir_to_irr() in vmx.c (drainPir on entry). The posted_intr.c semantics followed are
 * those of Linux ≥ 5.17 (the per-CPU wakeup list keyed by vcpu->cpu, NDST left alone on block).
 *
 * What the spec requires / what we do / why that is fine for the lab:
 * - Posting is an atomic, snooped read-modify-write of the descriptor's cache line; KVM updates
 *   `control` with cmpxchg. The engine is single-threaded and each function below is one such
 *   step, so interleavings happen only between calls, where the tests put them.
 * - On a notification with the active vector the CPU (SDM vol. 3, "posted-interrupt processing")
 *   clears ON, moves PIR into the virtual APIC's IRR and delivers without a VM exit; `drainPir`
 *   returns the vectors (highest first, the order the virtual APIC services them) and clears PIR
 *   and ON. The virtual-APIC page itself is the APIC model's business.
 * - NDST is stored as given. Its xAPIC-mode reserved bits (319:304, 295:288) are not checked,
 *   since whether they are reserved depends on the unit's mode; use `ndstFor` to build the field.
 */
import type { GuestMemory } from '../memory.ts';

// ── Facts: the descriptor (VT-d 5.10 §9.11) ───────────────────────────────────────────────────

/** §5.2.2: "a 64-byte aligned and sized structure". */
export const PID_SIZE = 64;
export const PID_ALIGN = 64;
/** Bits 255:0 PIR, one bit per vector: vector v is bit v % 8 of byte v / 8. */
export const PID_PIR = 0;
export const PID_PIR_BYTES = 32;
/** Byte 32 holds bit 256 ON (Outstanding Notification) and bit 257 SN (Suppress Notification). */
export const PID_CONTROL = 32;
export const PID_ON = 1 << 0;
export const PID_SN = 1 << 1;
/** Bits 279:272 NV, the physical notification vector. */
export const PID_NV = 34;
/** Bits 319:288 NDST, the notification destination (physical APIC ID; xAPIC: ID in 303:296). */
export const PID_NDST = 36;

/** Bytes holding only reserved bits: 271:258 (byte 32 bits 7:2, byte 33), 287:280, 511:320. */
const RESERVED_BYTES: readonly (readonly [offset: number, mask: number])[] = [
  [32, 0xfc],
  [33, 0xff],
  [35, 0xff],
  ...Array.from({ length: 24 }, (_, i) => [40 + i, 0xff] as const),
];

/** arch/x86/include/asm/irq_vectors.h: KVM's active notification vector (ANV in §5.2.5). */
export const POSTED_INTR_VECTOR = 0xf2;
/** …its wake-up notification vector (WNV in §5.2.5), used while the vCPU is blocked. */
export const POSTED_INTR_WAKEUP_VECTOR = 0xf1;
/** …and the vector for nested (L2) posted interrupts. */
export const POSTED_INTR_NESTED_VECTOR = 0xf0;

/** NDST for an APIC ID: x2APIC all 32 bits; xAPIC the 8-bit ID in bits 15:8 (Linux: (dest << 8) & 0xFF00). */
export const ndstFor = (apicId: number, x2apic = true): number => (x2apic ? apicId >>> 0 : (apicId << 8) & 0xff00);

/** What a notification interrupt arriving with this vector means to a Linux/KVM host. */
export function notificationKind(nv: number): 'posted-interrupt' | 'wakeup' | 'nested' | 'other' {
  if (nv === POSTED_INTR_VECTOR) return 'posted-interrupt';
  if (nv === POSTED_INTR_WAKEUP_VECTOR) return 'wakeup';
  if (nv === POSTED_INTR_NESTED_VECTOR) return 'nested';
  return 'other';
}

export interface PiDescriptor {
  /** Vectors whose PIR bit is set, ascending. */
  pir: number[];
  on: boolean;
  sn: boolean;
  nv: number;
  ndst: number;
  /** Some reserved bit is set: the IOMMU would refuse to post here (fault 28h). */
  reservedSet: boolean;
}

export type PiFaultReason = 'pid-access-error' | 'pid-reserved' | 'bad-vector';

export interface PiFault {
  kind: 'fault';
  reason: PiFaultReason;
  /** Table 15 code (27h, 28h); null for 'bad-vector', which is a software error, not a VT-d fault. */
  code: number | null;
  pda: number;
  detail: string;
}

export type PostResult =
  /** ON was 0 and (URG or SN = 0): ON is now set; interrupt vector `nv` goes to APIC `ndst`. */
  | { kind: 'notify'; vector: number; nv: number; ndst: number; coalesced: boolean }
  /** SN = 1 and the interrupt is not urgent: recorded in PIR, no notification, ON left 0. */
  | { kind: 'suppressed'; vector: number; coalesced: boolean }
  /** ON was already 1: a notification is outstanding, this one rides along. */
  | { kind: 'already-pending'; vector: number; coalesced: boolean }
  | PiFault;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Why the descriptor at `pda` cannot be accessed (27h), or null. */
export function pidAddressError(mem: GuestMemory, pda: number): string | null {
  if (!Number.isInteger(pda) || pda < 0) return `descriptor address ${pda} is not a host-physical address`;
  if (pda % PID_ALIGN !== 0) return `descriptor address ${hex(pda)} is not 64-byte aligned`;
  if (!mem.contains(pda, PID_SIZE)) return `descriptor at ${hex(pda)} lies outside host memory`;
  return null;
}

const reservedSet = (mem: GuestMemory, pda: number): boolean => RESERVED_BYTES.some(([o, m]) => (mem.read8(pda + o) & m) !== 0);

/**
 * Zero the 64 bytes at `pda` and set NV and NDST: what KVM does when it creates a vCPU (the
 * descriptor lives in struct vcpu_vmx, zero-allocated). Returns false when the address is invalid.
 */
export function initPid(mem: GuestMemory, pda: number, fields: { nv: number; ndst: number }): boolean {
  if (pidAddressError(mem, pda) !== null) return false;
  mem.write(pda, new Uint8Array(PID_SIZE));
  mem.write8(pda + PID_NV, fields.nv);
  mem.write32(pda + PID_NDST, fields.ndst >>> 0);
  return true;
}

/** The descriptor's fields, or null when the address is invalid. */
export function readPid(mem: GuestMemory, pda: number): PiDescriptor | null {
  if (pidAddressError(mem, pda) !== null) return null;
  const pir: number[] = [];
  for (let byte = 0; byte < PID_PIR_BYTES; byte++) {
    const b = mem.read8(pda + PID_PIR + byte);
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) pir.push(byte * 8 + bit);
  }
  const c = mem.read8(pda + PID_CONTROL);
  return {
    pir,
    on: (c & PID_ON) !== 0,
    sn: (c & PID_SN) !== 0,
    nv: mem.read8(pda + PID_NV),
    ndst: mem.read32(pda + PID_NDST),
    reservedSet: reservedSet(mem, pda),
  };
}

/**
 * VT-d 5.10 §5.2.3: post `vector` to the descriptor at `pda`, as the IOMMU does for an IRTE in
 * posted format (or KVM does in software for its own virtual interrupts, §5.2.5). One atomic
 * step: check the descriptor (27h/28h block the request and change nothing), set PIR[vector],
 * compute X = (ON == 0) & (URG | (SN == 0)); if X, set ON and return the notification to send.
 */
export function postInterrupt(mem: GuestMemory, pda: number, vector: number, urgent: boolean): PostResult {
  const bad = pidAddressError(mem, pda);
  if (bad !== null) return { kind: 'fault', reason: 'pid-access-error', code: 0x27, pda, detail: bad };
  if (!Number.isInteger(vector) || vector < 0 || vector > 255) {
    return { kind: 'fault', reason: 'bad-vector', code: null, pda, detail: `vector ${vector} is not 0 … 255` };
  }
  if (reservedSet(mem, pda)) {
    return { kind: 'fault', reason: 'pid-reserved', code: 0x28, pda, detail: `descriptor at ${hex(pda)} has reserved bits set` };
  }
  const byteAddr = pda + PID_PIR + (vector >>> 3);
  const bit = 1 << (vector & 7);
  const old = mem.read8(byteAddr);
  const coalesced = (old & bit) !== 0;
  mem.write8(byteAddr, old | bit);
  const c = mem.read8(pda + PID_CONTROL);
  if ((c & PID_ON) !== 0) return { kind: 'already-pending', vector, coalesced };
  if ((c & PID_SN) !== 0 && !urgent) return { kind: 'suppressed', vector, coalesced };
  mem.write8(pda + PID_CONTROL, c | PID_ON);
  return { kind: 'notify', vector, nv: mem.read8(pda + PID_NV), ndst: mem.read32(pda + PID_NDST), coalesced };
}

/**
 * Take every posted vector: clear ON, read-and-clear PIR (Linux pi_test_and_clear_on() then an
 * xchg per PIR word in vmx_sync_pir_to_irr()/kvm_apic_update_irr(); the CPU does the same on a
 * notification while the vCPU runs in VMX non-root mode). Returns the vectors highest first; SN,
 * NV and NDST are untouched. An invalid address holds nothing and yields [].
 */
export function drainPir(mem: GuestMemory, pda: number): number[] {
  if (pidAddressError(mem, pda) !== null) return [];
  mem.write8(pda + PID_CONTROL, mem.read8(pda + PID_CONTROL) & ~PID_ON);
  const out: number[] = [];
  for (let byte = PID_PIR_BYTES - 1; byte >= 0; byte--) {
    const a = pda + PID_PIR + byte;
    const b = mem.read8(a);
    if (b === 0) continue;
    mem.write8(a, 0);
    for (let bit = 7; bit >= 0; bit--) if (b & (1 << bit)) out.push(byte * 8 + bit);
  }
  return out;
}

/** Is any PIR bit set (Linux pi_is_pir_empty() negated)? */
export function pirPending(mem: GuestMemory, pda: number): boolean {
  if (pidAddressError(mem, pda) !== null) return false;
  for (let byte = 0; byte < PID_PIR_BYTES; byte++) if (mem.read8(pda + PID_PIR + byte) !== 0) return true;
  return false;
}

function setControlBit(mem: GuestMemory, pda: number, bit: number, on: boolean): boolean {
  if (pidAddressError(mem, pda) !== null) return false;
  const c = mem.read8(pda + PID_CONTROL);
  mem.write8(pda + PID_CONTROL, on ? c | bit : c & ~bit);
  return true;
}

/** Set or clear SN (Linux pi_set_sn / pi_clear_sn). False when the address is invalid. */
export const setSuppressNotification = (mem: GuestMemory, pda: number, sn: boolean): boolean => setControlBit(mem, pda, PID_SN, sn);

/** Set NV. False when the address is invalid or nv is not 0 … 255. */
export function setNotificationVector(mem: GuestMemory, pda: number, nv: number): boolean {
  if (pidAddressError(mem, pda) !== null || !Number.isInteger(nv) || nv < 0 || nv > 255) return false;
  mem.write8(pda + PID_NV, nv);
  return true;
}

/** Set NDST (build it with ndstFor). False when the address is invalid. */
export function setNotificationDestination(mem: GuestMemory, pda: number, ndst: number): boolean {
  if (pidAddressError(mem, pda) !== null) return false;
  mem.write32(pda + PID_NDST, ndst >>> 0);
  return true;
}

// ── Behaviour: KVM's side (arch/x86/kvm/vmx/posted_intr.c) ──────────────────────────────────

/**
 * The vCPU is (re)loaded on a physical CPU and is about to run (vmx_vcpu_pi_load()): NDST = that
 * CPU, SN = 0, NV = POSTED_INTR_VECTOR (undoing blockVcpu; KVM also takes the vCPU off the wake-up
 * list). If interrupts were posted while it was away (PIR not empty), ON is set so that they are
 * processed on VM entry (then call drainPir, as vmx_sync_pir_to_irr() does). While it runs, a
 * post with URG or SN = 0 notifies with POSTED_INTR_VECTOR: the CPU delivers without a VM exit.
 */
export function runVcpu(mem: GuestMemory, pda: number, cpu: { apicId: number; x2apic?: boolean }): { ok: boolean; pending: boolean } {
  if (pidAddressError(mem, pda) !== null) return { ok: false, pending: false };
  setNotificationDestination(mem, pda, ndstFor(cpu.apicId, cpu.x2apic ?? true));
  setSuppressNotification(mem, pda, false);
  setNotificationVector(mem, pda, POSTED_INTR_VECTOR);
  const pending = pirPending(mem, pda);
  if (pending) setControlBit(mem, pda, PID_ON, true);
  return { ok: true, pending };
}

/**
 * The vCPU was preempted (vmx_vcpu_pi_put() with vcpu->preempted): SN = 1, so non-urgent posts
 * land in PIR without disturbing whoever now runs on that CPU (§5.2.5 "ready-to-run"). Urgent
 * ones still notify with the active vector. Returns false when the address is invalid.
 */
export const preemptVcpu = (mem: GuestMemory, pda: number): boolean => setSuppressNotification(mem, pda, true);

/**
 * The vCPU halted and KVM blocks it (vmx_vcpu_pi_put() → pi_enable_wakeup_handler()): NV =
 * POSTED_INTR_WAKEUP_VECTOR and the vCPU goes on the wake-up list of its CPU (NDST unchanged).
 * Any later post, urgent or not, then notifies with the wake-up vector and the host's
 * pi_wakeup_handler() wakes the vCPU (§5.2.5 "halted"). SN is expected clear here (Linux WARNs
 * otherwise) and is left as it is. `wakeNow`: ON was already set, so an interrupt may have been
 * posted before NV changed; KVM then sends itself a wake-up IPI at once.
 */
export function blockVcpu(mem: GuestMemory, pda: number): { ok: boolean; wakeNow: boolean } {
  if (pidAddressError(mem, pda) !== null) return { ok: false, wakeNow: false };
  setNotificationVector(mem, pda, POSTED_INTR_WAKEUP_VECTOR);
  return { ok: true, wakeNow: (mem.read8(pda + PID_CONTROL) & PID_ON) !== 0 };
}
