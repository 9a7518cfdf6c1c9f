/**
 * The interrupt half of the VT-d model: IRTE layouts bit by bit (VT-d 5.10 §9.9, §9.10, with
 * hand-computed bytes and the bit positions of Linux's struct irte), the remappable MSI format
 * (§5.1.2.2), every remapping fault of Table 15 that the unit raises, source-id validation against
 * MSI spoofing, the interrupt-entry cache going stale until invalidated (§6.4, §6.5.2.8), and the
 * posted-interrupt descriptor (§9.11) under the hardware posting flow (§5.2.3) and KVM's vCPU
 * states (arch/x86/kvm/vmx/posted_intr.c).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import {
  DLM_LOWEST_PRIORITY,
  IRTE_POSTED_RESERVED,
  IRTE_REMAPPED_RESERVED,
  IRTE_SIZE,
  IR_FAULT_CODE,
  InterruptRemapper,
  SVT_BUS_RANGE,
  SVT_NONE,
  SVT_SID_SQ,
  decodeIrte,
  decodeRemappableMsi,
  encodeIrte,
  encodeRemappableMsi,
  irteFromHalves,
  irteReservedViolation,
  irteToHalves,
  requesterId,
  validateSourceId,
  type BitRange,
  type InterruptRemapperConfig,
  type Irte,
  type IrFault,
  type PostedIrte,
  type RemapResult,
  type RemappedIrte,
} from '../../lab-engine/hw/iommu/irq-remap.ts';
import {
  PID_CONTROL,
  PID_SIZE,
  POSTED_INTR_VECTOR,
  POSTED_INTR_WAKEUP_VECTOR,
  blockVcpu,
  drainPir,
  initPid,
  ndstFor,
  notificationKind,
  postInterrupt,
  preemptVcpu,
  readPid,
  runVcpu,
  setSuppressNotification,
} from '../../lab-engine/hw/iommu/posted.ts';

const MEM = 16 << 20;
const IRT = 0x10_0000;
const PID = 0x20_0040;
const DEV_A = requesterId(3, 0, 0); // 03:00.0, assigned to the VM
const DEV_B = requesterId(4, 0, 0); // 04:00.0, another device
const CTX = { x2apic: true, postedInterrupts: true, hostAddressWidth: 46 };

function unit(cfg: Partial<InterruptRemapperConfig> = {}, mem = new GuestMemory(MEM)) {
  return { mem, ir: new InterruptRemapper(mem, { base: IRT, entries: 256, ...cfg }) };
}

const remappedIrte = (o: Partial<RemappedIrte> = {}): RemappedIrte => ({
  mode: 'remapped', present: true, fpd: false, destinationMode: 'physical', redirectionHint: false, trigger: 'edge',
  deliveryMode: 0, avail: 0, vector: 0x41, destination: 3, sid: DEV_A, sq: 0, svt: SVT_SID_SQ, ...o,
});
const postedIrte = (o: Partial<PostedIrte> = {}): PostedIrte => ({
  mode: 'posted', present: true, fpd: false, avail: 0, urgent: false, vector: 0x51, pda: PID, sid: DEV_A, sq: 0, svt: SVT_SID_SQ, ...o,
});
const bytesOf = (...b: number[]) => Uint8Array.from(b);
const inRanges = (bit: number, rs: readonly BitRange[]) => rs.some(([hi, lo]) => bit >= lo && bit <= hi);
const flip = (bytes: Uint8Array, bit: number) => {
  const c = bytes.slice();
  c[bit >>> 3] = c[bit >>> 3]! ^ (1 << (bit & 7));
  return c;
};
const fault = (r: RemapResult): IrFault => {
  if (r.kind !== 'fault') throw new Error(`expected a fault, got ${r.kind}`);
  return r;
};
/** Send the MSI that a device programmed for IRTE `index` (§5.1.5.2, SHV = 1, data 0). */
const fire = (ir: InterruptRemapper, sid: number, index: number) => {
  const m = encodeRemappableMsi(index);
  return ir.remap(sid, m.address, m.data);
};

// ── Arbitraries for valid entries ─────────────────────────────────────────────────────────────
const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const arbRemapped: fc.Arbitrary<RemappedIrte> = fc.record({
  mode: fc.constant('remapped' as const), present: fc.boolean(), fpd: fc.boolean(),
  destinationMode: fc.constantFrom('physical' as const, 'logical' as const), redirectionHint: fc.boolean(),
  trigger: fc.constantFrom('edge' as const, 'level' as const), deliveryMode: fc.constantFrom(0, 1, 2, 4, 5, 7),
  avail: u(4), vector: u(8), destination: u(32), sid: u(16), sq: u(2), svt: fc.constantFrom(0, 1, 2),
});
const arbPosted: fc.Arbitrary<PostedIrte> = fc.record({
  mode: fc.constant('posted' as const), present: fc.boolean(), fpd: fc.boolean(), avail: u(4), urgent: fc.boolean(),
  vector: u(8), pda: fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((n) => n * 64), // 64-byte aligned, below 2^46
  sid: u(16), sq: u(2), svt: fc.constantFrom(0, 1, 2),
});

describe('IRTE layout (VT-d 5.10 §9.9 remapped, §9.10 posted; Linux struct irte)', () => {
  it('a remapped entry has the hand-computed bytes: P bit 0, V 23:16, DST 63:32, SID 79:64, SVT 83:82', () => {
    const b = encodeIrte(remappedIrte({ vector: 0x41, destination: 3, sid: 0x0300, sq: 0, svt: 1 }));
    // w0 = P | V<<16 = 0x00410001; w1 = DST = 3; w2 = SID | SVT<<18 = 0x00040300; w3 = 0
    expect([...b]).toEqual([0x01, 0x00, 0x41, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]);
    expect(irteToHalves(b)).toEqual({ lo: 0x0000_0003_0041_0001n, hi: 0x0000_0000_0004_0300n });
    expect(decodeIrte(b)).toEqual(remappedIrte({ vector: 0x41, destination: 3, sid: 0x0300, sq: 0, svt: 1 }));
  });

  it('every remapped flag lands on its own bit: FPD 1, DM 2, RH 3, TM 4, DLM 7:5, AVAIL 11:8, SQ 81:80', () => {
    const e = remappedIrte({
      fpd: true, destinationMode: 'logical', redirectionHint: true, trigger: 'level', deliveryMode: DLM_LOWEST_PRIORITY,
      avail: 0xa, vector: 0xec, destination: 0x1234_5678, sid: 0xabcd, sq: 3, svt: SVT_BUS_RANGE,
    });
    // w0 = 1|2|4|8|0x10 | 1<<5 | 0xA<<8 | 0xEC<<16 = 0x00EC0A3F; w2 = 0xABCD | 3<<16 | 2<<18 = 0x000BABCD
    expect([...encodeIrte(e)]).toEqual([0x3f, 0x0a, 0xec, 0x00, 0x78, 0x56, 0x34, 0x12, 0xcd, 0xab, 0x0b, 0x00, 0, 0, 0, 0]);
    expect(decodeIrte(encodeIrte(e))).toEqual(e);
  });

  it('a posted entry has the hand-computed bytes, at the bit positions of struct irte (p_urgent 14, pst 15, pda_l 63:38, pda_h 127:96)', () => {
    const e = postedIrte({ urgent: true, vector: 0x51, pda: 0x1_2345_6780, sid: 0x0310, sq: 0, svt: 1 });
    const b = encodeIrte(e);
    // w0 = P | URG<<14 | IM<<15 | VV<<16 = 0x0051C001; w1 = PDA[31:6]<<6 = 0x23456780; w2 = 0x00040310; w3 = PDA[63:32] = 1
    expect([...b]).toEqual([0x01, 0xc0, 0x51, 0x00, 0x80, 0x67, 0x45, 0x23, 0x10, 0x03, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00]);
    const { lo, hi } = irteToHalves(b);
    expect((lo >> 14n) & 1n).toBe(1n); // p_urgent
    expect((lo >> 15n) & 1n).toBe(1n); // pst (IM)
    expect((lo >> 16n) & 0xffn).toBe(0x51n); // p_vector
    expect(lo >> 38n).toBe(BigInt(0x2345_6780 >>> 6)); // pda_l: address bits 31:6
    expect(hi >> 32n).toBe(1n); // pda_h: address bits 63:32
    expect(hi & 0xffffn).toBe(0x0310n); // p_sid
    expect(decodeIrte(b)).toEqual(e);
    expect(irteFromHalves(lo, hi)).toEqual(b);
  });

  it('decode(encode(x)) == x for every valid remapped and posted entry (property)', () => {
    fc.assert(fc.property(fc.oneof(arbRemapped, arbPosted), (e: Irte) => {
      expect(decodeIrte(encodeIrte(e))).toEqual(e);
    }), { numRuns: 2000 });
  });

  it('encode(decode(b)) == b for any 16 bytes whose reserved bits are clear: no field overlaps another (property)', () => {
    const clear = (b: Uint8Array, rs: readonly BitRange[]) => {
      const c = b.slice();
      for (let bit = 0; bit < 128; bit++) if (inRanges(bit, rs)) c[bit >>> 3] = c[bit >>> 3]! & ~(1 << (bit & 7));
      return c;
    };
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (raw) => {
      const posted = (raw[1]! & 0x80) !== 0;
      // PDA bits 63:53 (entry bits 127:117) are above any HAW we allow (≤ 52) and beyond exact JS numbers.
      const b = clear(raw, posted ? [...IRTE_POSTED_RESERVED, [127, 117]] : IRTE_REMAPPED_RESERVED);
      expect(encodeIrte(decodeIrte(b))).toEqual(b);
      expect(irteFromHalves(irteToHalves(b).lo, irteToHalves(b).hi)).toEqual(b);
    }), { numRuns: 2000 });
  });

  it('each of the 128 bits of a present remapped entry: exactly the reserved ones (14:12, 31:24, 127:84) and SVT = 11b are rejected', () => {
    const good = encodeIrte(remappedIrte());
    expect(irteReservedViolation(good, CTX)).toBeNull();
    for (let bit = 1; bit < 128; bit++) {
      if (bit === 15) continue; // IM: turns it into a posted entry (next test)
      const expected = inRanges(bit, IRTE_REMAPPED_RESERVED) || bit === 83; // SVT 01b → 11b
      expect(irteReservedViolation(flip(good, bit), CTX) !== null, `bit ${bit}`).toBe(expected);
    }
    expect(irteReservedViolation(flip(good, 0), CTX)).toBeNull(); // P = 0: reserved fields are not evaluated
  });

  it('each of the 128 bits of a present posted entry: exactly 7:2, 13:12, 37:24, 95:84, SVT = 11b and PDA bits above HAW are rejected', () => {
    const good = encodeIrte(postedIrte({ pda: 0x1_2345_6780 }));
    expect(irteReservedViolation(good, CTX)).toBeNull();
    for (let bit = 1; bit < 128; bit++) {
      if (bit === 15) continue;
      const aboveHaw = bit >= 96 + (CTX.hostAddressWidth - 32);
      const expected = inRanges(bit, IRTE_POSTED_RESERVED) || bit === 83 || aboveHaw;
      expect(irteReservedViolation(flip(good, bit), CTX) !== null, `bit ${bit}`).toBe(expected);
    }
  });

  it('conditional reserved fields: xAPIC DST bits, undefined delivery modes, IM = 1 without posted-interrupt support', () => {
    const xapic = { ...CTX, x2apic: false };
    expect(irteReservedViolation(encodeIrte(remappedIrte({ destination: 0x0300 })), xapic)).toBeNull(); // APIC ID 3 in 47:40
    expect(irteReservedViolation(encodeIrte(remappedIrte({ destination: 0x0003 })), xapic)).toMatch(/DST bits 39:32/);
    expect(irteReservedViolation(encodeIrte(remappedIrte({ destination: 0x0003 })), CTX)).toBeNull();
    expect(irteReservedViolation(encodeIrte(remappedIrte({ deliveryMode: 3 })), CTX)).toMatch(/DLM = 011b/);
    expect(irteReservedViolation(encodeIrte(remappedIrte({ deliveryMode: 6 })), CTX)).toMatch(/DLM = 110b/);
    expect(irteReservedViolation(encodeIrte(postedIrte()), { ...CTX, postedInterrupts: false })).toMatch(/IM = 1/);
  });
});

describe('MSI in remappable format (VT-d 5.10 §5.1.2.2 Table 13/14, §5.1.5.2)', () => {
  it('handle 0x8123: FEEh in 31:20, Handle[14:0] in 19:5, IF bit 4, SHV bit 3, Handle[15] bit 2', () => {
    // 0xFEE00000 | 0x0123<<5 (0x2460) | 0x10 | 0x8 | 0x4 = 0xFEE0247C
    expect(encodeRemappableMsi(0x8123)).toEqual({ address: 0xfee0_247c, data: 0 });
    expect(decodeRemappableMsi(0xfee0_247c, 0)).toEqual({ handle: 0x8123, shv: true, subhandle: 0, index: 0x8123 });
    expect(encodeRemappableMsi(5, { shv: false })).toEqual({ address: 0xfee0_00b0, data: 0 });
    expect(decodeRemappableMsi(0xfee0_00b0, 0xdead_beef).index).toBe(5); // SHV = 0: data ignored
  });

  it('with SHV = 1 the index is handle + subhandle (multi-vector MSI, §5.1.3)', () => {
    const m = encodeRemappableMsi(8, { subhandle: 3 });
    expect(decodeRemappableMsi(m.address, m.data).index).toBe(11);
  });

  it('every 16-bit handle survives encode → decode (property)', () => {
    fc.assert(fc.property(u(16), fc.boolean(), (h, shv) => {
      const m = encodeRemappableMsi(h, { shv });
      expect(decodeRemappableMsi(m.address, m.data)).toMatchObject({ handle: h, shv, index: h });
      expect(m.address >>> 20).toBe(0xfee);
    }));
  });
});

describe('remapping an MSI (VT-d 5.10 §5.1.4)', () => {
  it('a remapped-format entry yields the host vector, destination and trigger mode it holds', () => {
    const { ir } = unit();
    ir.writeIrte(7, remappedIrte({ vector: 0x41, destination: 5, trigger: 'level' }));
    expect(fire(ir, DEV_A, 7)).toEqual({
      kind: 'remapped', index: 7, sourceId: DEV_A, vector: 0x41, destination: 5, destinationMode: 'physical',
      trigger: 'level', deliveryMode: 0, redirectionHint: false,
    });
  });

  it('xAPIC mode reads the APIC ID from DST bits 47:40', () => {
    const { ir } = unit({ x2apic: false });
    ir.writeIrte(1, remappedIrte({ destination: 0x0700 }));
    expect(fire(ir, DEV_A, 1)).toMatchObject({ kind: 'remapped', destination: 7 });
  });

  it('a posted-format entry yields the guest vector, the descriptor address and URG — nothing is delivered yet', () => {
    const { ir } = unit();
    ir.writeIrte(9, postedIrte({ vector: 0x51, pda: PID, urgent: true }));
    expect(fire(ir, DEV_A, 9)).toEqual({ kind: 'posted', index: 9, sourceId: DEV_A, vector: 0x51, pda: PID, urgent: true });
  });

  it('interrupt remapping ≠ posted interrupts (CALIBRATION §5 #11): without CAP.PI the same IM = 1 entry is a 24h fault', () => {
    const { ir } = unit({ postedInterrupts: false });
    ir.writeIrte(9, postedIrte());
    expect(fault(fire(ir, DEV_A, 9))).toMatchObject({ reason: 'irte-reserved', code: 0x24 });
    ir.writeIrte(9, remappedIrte());
    expect(fire(ir, DEV_A, 9).kind).toBe('remapped'); // remapping (and its source-id check) still works
  });
});

describe('remapping faults (VT-d 5.10 §5.1.4.1, Table 15)', () => {
  it('20h: reserved request fields — data 31:16 with SHV = 1, an address outside FEEx_xxxxh, address bits 63:32', () => {
    const { ir } = unit();
    ir.writeIrte(0, remappedIrte());
    const m = encodeRemappableMsi(0);
    expect(fault(ir.remap(DEV_A, m.address, 0x1_0000))).toMatchObject({ reason: 'request-reserved', code: 0x20, index: null, sourceId: DEV_A });
    expect(ir.remap(DEV_A, encodeRemappableMsi(0, { shv: false }).address, 0x1_0000).kind).toBe('remapped'); // SHV = 0: data ignored
    expect(fault(ir.remap(DEV_A, 0xfef0_0010, 0))).toMatchObject({ reason: 'request-reserved' });
    expect(fault(ir.remap(DEV_A, 2 ** 32 + m.address, 0))).toMatchObject({ reason: 'request-reserved' });
  });

  it('21h: the index is beyond the table — also when handle + subhandle overflows it', () => {
    const { ir } = unit({ entries: 256 });
    expect(fault(fire(ir, DEV_A, 256))).toMatchObject({ reason: 'index-out-of-range', code: 0x21, index: 256 });
    const m = encodeRemappableMsi(255, { subhandle: 1 });
    expect(fault(ir.remap(DEV_A, m.address, m.data))).toMatchObject({ reason: 'index-out-of-range', index: 256 });
    expect(fault(fire(ir, DEV_A, 0xffff)).detail).toMatch(/IRTE 65535, beyond the table of 256 entries/);
  });

  it('22h: the entry is not present; FPD (read even when P = 0) stops it being recorded', () => {
    const { ir } = unit();
    expect(fault(fire(ir, DEV_A, 3))).toMatchObject({ reason: 'not-present', code: 0x22, index: 3, recorded: true });
    ir.writeIrte(3, remappedIrte({ present: false, fpd: true }));
    expect(fault(fire(ir, DEV_A, 3))).toMatchObject({ reason: 'not-present', recorded: false });
  });

  it('23h: the entry lies outside host memory', () => {
    const { ir } = unit({ base: IRT, entries: 512 }, new GuestMemory(IRT + 4096)); // 256 entries fit
    expect(fire(ir, DEV_A, 255).kind).toBe('fault');
    expect(fault(fire(ir, DEV_A, 255)).reason).toBe('not-present');
    expect(fault(fire(ir, DEV_A, 256))).toMatchObject({ reason: 'table-access-error', code: 0x23, index: 256 });
  });

  it('24h: reserved bits in a present entry, recorded unless FPD', () => {
    const { ir, mem } = unit();
    mem.write(ir.irteAddress(4), flip(encodeIrte(remappedIrte()), 24));
    const f = fault(fire(ir, DEV_A, 4));
    expect(f).toMatchObject({ reason: 'irte-reserved', code: 0x24, recorded: true });
    expect(f.detail).toMatch(/bits 31:24/);
    mem.write(ir.irteAddress(5), flip(encodeIrte(remappedIrte({ fpd: true })), 100));
    expect(fault(fire(ir, DEV_A, 5))).toMatchObject({ reason: 'irte-reserved', recorded: false });
  });

  it('25h: compatibility format is blocked in x2APIC mode and when CFIS = 0; with CFIS = 1 in xAPIC mode it bypasses the table', () => {
    const compat = { address: 0xfee0_3000, data: 0x8031 }; // destination 3, level, vector 0x31
    expect(fault(unit().ir.remap(DEV_A, compat.address, compat.data))).toMatchObject({ reason: 'compatibility-blocked', code: 0x25, index: null });
    expect(fault(unit({ x2apic: false }).ir.remap(DEV_A, compat.address, compat.data)).detail).toMatch(/CFIS = 0/);
    expect(unit({ x2apic: false, compatibilityFormat: true }).ir.remap(DEV_B, compat.address, compat.data)).toEqual({
      kind: 'compatibility', sourceId: DEV_B, vector: 0x31, destination: 3, destinationMode: 'physical',
      redirectionHint: false, trigger: 'level', deliveryMode: 0,
    });
  });

  it('26h: the requester is not the one the entry names (see the spoofing tests below)', () => {
    const { ir } = unit();
    ir.writeIrte(2, remappedIrte({ sid: DEV_A }));
    expect(fault(fire(ir, DEV_B, 2))).toMatchObject({ reason: 'source-id-invalid', code: 0x26, index: 2, sourceId: DEV_B, recorded: true });
  });

  it('2Bh: remapping required but not enabled blocks everything; not required, interrupts pass in compatibility format', () => {
    const m = encodeRemappableMsi(0);
    expect(fault(unit({ enabled: false, remappingRequired: true }).ir.remap(DEV_A, m.address, m.data))).toMatchObject({ reason: 'remapping-disabled', code: 0x2b });
    expect(unit({ enabled: false }).ir.remap(DEV_A, 0xfee0_2000, 0x30).kind).toBe('compatibility');
  });

  it('codes match Table 15, and stats count faults by reason and what FPD suppressed', () => {
    expect(IR_FAULT_CODE).toEqual({
      'request-reserved': 0x20, 'index-out-of-range': 0x21, 'not-present': 0x22, 'table-access-error': 0x23,
      'irte-reserved': 0x24, 'compatibility-blocked': 0x25, 'source-id-invalid': 0x26, 'remapping-disabled': 0x2b,
    });
    const { ir } = unit();
    ir.writeIrte(1, remappedIrte({ present: false, fpd: true }));
    ir.writeIrte(2, remappedIrte());
    fire(ir, DEV_A, 1);
    fire(ir, DEV_A, 0);
    fire(ir, DEV_B, 2);
    fire(ir, DEV_A, 2);
    const s = ir.stats;
    expect(s).toMatchObject({ remapped: 1, faults: 3, faultsRecorded: 2 });
    expect(s.faultsByReason).toMatchObject({ 'not-present': 2, 'source-id-invalid': 1 });
  });

  it('never throws on anything a device can send (property)', () => {
    const { ir, mem } = unit({ entries: 64 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 64 * 16, maxLength: 64 * 16 }), fc.array(fc.tuple(u(16), fc.oneof(u(32), fc.double()), fc.oneof(u(32), fc.integer())), { maxLength: 20 }), (table, reqs) => {
      mem.write(IRT, table);
      ir.invalidateIec();
      for (const [sid, a, d] of reqs) {
        expect(() => ir.remap(sid, a, d)).not.toThrow();
        expect(() => fire(ir, sid, d & 0x7f)).not.toThrow();
      }
    }), { numRuns: 200 });
  });
});

describe('source-id validation blocks MSI spoofing (VT-d 5.10 §9.9 SVT/SID/SQ)', () => {
  it('another device sending the very same address/data as the assigned device is blocked', () => {
    const { ir } = unit();
    ir.writeIrte(7, postedIrte({ sid: DEV_A, svt: SVT_SID_SQ, sq: 0 }));
    const m = encodeRemappableMsi(7);
    expect(ir.remap(DEV_A, m.address, m.data).kind).toBe('posted');
    const f = fault(ir.remap(DEV_B, m.address, m.data));
    expect(f.reason).toBe('source-id-invalid');
    expect(f.detail).toBe('interrupt from 04:00.0 names IRTE 7, but only 03:00.0 may use it (SVT = 01b, SQ = 00b)');
  });

  it('with SVT = 00b (no verification) the spoof succeeds: the check is what isolates interrupts', () => {
    const { ir } = unit();
    ir.writeIrte(7, postedIrte({ svt: SVT_NONE }));
    expect(fire(ir, DEV_B, 7)).toMatchObject({ kind: 'posted', sourceId: DEV_B, vector: 0x51 });
  });

  it('SQ masks function bits for phantom functions: 01b ignores bit 2, 10b bits 2:1, 11b bits 2:0', () => {
    const e = (sq: number) => ({ sid: requesterId(3, 0, 0), sq, svt: SVT_SID_SQ });
    const fns = (sq: number) => [0, 1, 2, 3, 4, 5, 6, 7].filter((f) => validateSourceId(e(sq), requesterId(3, 0, f)));
    expect(fns(0)).toEqual([0]);
    expect(fns(1)).toEqual([0, 4]);
    expect(fns(2)).toEqual([0, 2, 4, 6]);
    expect(fns(3)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(validateSourceId(e(3), requesterId(3, 1, 0))).toBe(false); // device bits always compared
    expect(validateSourceId(e(3), requesterId(2, 0, 0))).toBe(false);
  });

  it('SVT = 10b accepts any requester on buses StartBus (SID 15:8) … EndBus (SID 7:0), e.g. behind a PCIe-to-PCI bridge', () => {
    const e = { sid: 0x0507, sq: 0, svt: SVT_BUS_RANGE };
    expect([4, 5, 6, 7, 8].map((bus) => validateSourceId(e, requesterId(bus, 9, 3)))).toEqual([false, true, true, true, false]);
  });

  it('SVT = 01b, SQ = 00b accepts exactly one requester-id (property)', () => {
    fc.assert(fc.property(u(16), u(16), (sid, rid) => {
      expect(validateSourceId({ sid, sq: 0, svt: SVT_SID_SQ }, rid)).toBe(sid === rid);
    }));
  });

  it('whatever the table holds, a device only ever gets an entry whose SID/SQ/SVT admit it (property)', () => {
    const { ir } = unit({ entries: 16 });
    fc.assert(fc.property(
      fc.array(fc.oneof(arbRemapped, arbPosted), { minLength: 16, maxLength: 16 }),
      fc.array(fc.tuple(fc.constantFrom(DEV_A, DEV_B, requesterId(3, 0, 1), requesterId(5, 2, 0)), u(4)), { maxLength: 40 }),
      (entries, reqs) => {
        entries.forEach((e, i) => ir.writeIrte(i, e));
        for (const [sid, index] of reqs) {
          const r = fire(ir, sid, index);
          if (r.kind === 'remapped' || r.kind === 'posted') expect(validateSourceId(entries[index]!, sid)).toBe(true);
          if (r.kind === 'fault' && r.reason === 'source-id-invalid') expect(validateSourceId(entries[index]!, sid)).toBe(false);
        }
      },
    ), { numRuns: 300 });
  });
});

describe('interrupt entry cache (VT-d 5.10 §6.4, §6.5.2.8)', () => {
  it('a cached entry stays in use, stale, until software invalidates it — as on hardware', () => {
    const { ir, mem } = unit();
    ir.writeIrte(5, remappedIrte({ vector: 0x30 }));
    expect(fire(ir, DEV_A, 5)).toMatchObject({ vector: 0x30 }); // miss, now cached
    mem.write(ir.irteAddress(5), encodeIrte(remappedIrte({ vector: 0x31 }))); // table updated behind the IEC's back
    expect(fire(ir, DEV_A, 5)).toMatchObject({ vector: 0x30 }); // hit: stale
    ir.invalidateIec(5);
    expect(fire(ir, DEV_A, 5)).toMatchObject({ vector: 0x31 });
    expect(ir.stats).toMatchObject({ iecHits: 1, iecMisses: 2, iecInvalidations: 2 }); // writeIrte invalidated once too
  });

  it('writeIrte invalidates like Linux modify_irte(): the new entry takes effect at once', () => {
    const { ir } = unit();
    ir.writeIrte(5, remappedIrte({ vector: 0x30 }));
    fire(ir, DEV_A, 5);
    ir.writeIrte(5, postedIrte({ vector: 0x60 }));
    expect(fire(ir, DEV_A, 5)).toMatchObject({ kind: 'posted', vector: 0x60 });
  });

  it('entries that faulted are not cached: a not-present entry, once filled in, works without invalidation', () => {
    const { ir, mem } = unit();
    expect(fault(fire(ir, DEV_A, 6)).reason).toBe('not-present');
    mem.write(ir.irteAddress(6), encodeIrte(remappedIrte({ vector: 0x44 })));
    expect(fire(ir, DEV_A, 6)).toMatchObject({ kind: 'remapped', vector: 0x44 });
    expect(ir.cachedIndices()).toEqual([6]);
  });

  it('a cached entry is still checked against every requester', () => {
    const { ir } = unit();
    ir.writeIrte(5, remappedIrte());
    fire(ir, DEV_A, 5);
    expect(fault(fire(ir, DEV_B, 5)).reason).toBe('source-id-invalid');
    expect(ir.stats.iecHits).toBe(1);
  });

  it('index-selective invalidation covers 2^IM aligned indexes (Table 25); no index means global', () => {
    const { ir } = unit();
    for (const i of [4, 5, 6, 7, 9]) ir.writeIrte(i, remappedIrte());
    for (const i of [4, 5, 6, 7, 9]) fire(ir, DEV_A, i);
    ir.invalidateIec(5, 1); // masks bit 0: 4 and 5
    expect(ir.cachedIndices()).toEqual([6, 7, 9]);
    ir.invalidateIec(6, 2); // masks bits 1:0: 4 … 7
    expect(ir.cachedIndices()).toEqual([9]);
    ir.invalidateIec();
    expect(ir.cachedIndices()).toEqual([]);
  });

  it('a full cache evicts its oldest entry; with no cache, table writes take effect at once and nothing is counted', () => {
    const small = unit({ iecEntries: 2 }).ir;
    for (const i of [1, 2, 3]) small.writeIrte(i, remappedIrte());
    for (const i of [1, 2, 3]) fire(small, DEV_A, i);
    expect(small.cachedIndices()).toEqual([2, 3]);
    const { ir, mem } = unit({ iecEntries: 0 });
    ir.writeIrte(1, remappedIrte({ vector: 0x30 }));
    fire(ir, DEV_A, 1);
    mem.write(ir.irteAddress(1), encodeIrte(remappedIrte({ vector: 0x31 })));
    expect(fire(ir, DEV_A, 1)).toMatchObject({ vector: 0x31 });
    expect(ir.stats).toMatchObject({ iecHits: 0, iecMisses: 0 });
  });
});

describe('posted-interrupt descriptor (VT-d 5.10 §9.11) and the posting flow (§5.2.3)', () => {
  const fresh = (nv = POSTED_INTR_VECTOR, ndst = ndstFor(3)) => {
    const mem = new GuestMemory(MEM);
    expect(initPid(mem, PID, { nv, ndst })).toBe(true);
    return mem;
  };

  it('has the hand-computed bytes: PIR bit v in byte v/8, ON bit 256, SN bit 257, NV 279:272, NDST 319:288', () => {
    const mem = fresh(POSTED_INTR_VECTOR, ndstFor(3, false)); // xAPIC: ID 3 in bits 303:296
    postInterrupt(mem, PID, 0x41, false);
    setSuppressNotification(mem, PID, true);
    const want = new Uint8Array(PID_SIZE);
    want[8] = 0x02; // 0x41 = 65 → byte 8, bit 1
    want[32] = 0x03; // ON | SN
    want[34] = 0xf2; // NV
    want.set([0x00, 0x03, 0x00, 0x00], 36); // NDST = 0x0300
    expect([...mem.read(PID, PID_SIZE)]).toEqual([...want]);
    expect(readPid(mem, PID)).toEqual({ pir: [0x41], on: true, sn: true, nv: 0xf2, ndst: 0x300, reservedSet: false });
  });

  it('notifies once, then only records, until the PIR is drained; drain returns vectors highest first and clears PIR and ON', () => {
    const mem = fresh();
    expect(postInterrupt(mem, PID, 0x41, false)).toEqual({ kind: 'notify', vector: 0x41, nv: 0xf2, ndst: 3, coalesced: false });
    expect(postInterrupt(mem, PID, 0x42, false)).toEqual({ kind: 'already-pending', vector: 0x42, coalesced: false });
    expect(postInterrupt(mem, PID, 0x41, true)).toEqual({ kind: 'already-pending', vector: 0x41, coalesced: true }); // URG does not renotify
    expect(drainPir(mem, PID)).toEqual([0x42, 0x41]);
    expect(readPid(mem, PID)).toMatchObject({ pir: [], on: false });
    expect(drainPir(mem, PID)).toEqual([]);
    expect(postInterrupt(mem, PID, 0x20, false).kind).toBe('notify');
  });

  it('SN suppresses non-urgent notifications (ON stays 0); URG overrides SN', () => {
    const mem = fresh();
    setSuppressNotification(mem, PID, true);
    expect(postInterrupt(mem, PID, 0x41, false)).toEqual({ kind: 'suppressed', vector: 0x41, coalesced: false });
    expect(postInterrupt(mem, PID, 0x41, false)).toEqual({ kind: 'suppressed', vector: 0x41, coalesced: true });
    expect(readPid(mem, PID)).toMatchObject({ pir: [0x41], on: false, sn: true });
    expect(postInterrupt(mem, PID, 0x90, true)).toMatchObject({ kind: 'notify', nv: 0xf2 });
    expect(postInterrupt(mem, PID, 0x91, true).kind).toBe('already-pending');
    expect(drainPir(mem, PID)).toEqual([0x91, 0x90, 0x41]);
    expect(readPid(mem, PID)?.sn).toBe(true); // draining leaves SN alone
  });

  it('all 256 vectors, posted in any order: one notification, then 255 already pending; drain gives 255 … 0 (property)', () => {
    const mem = fresh();
    const all = Array.from({ length: 256 }, (_, v) => v);
    fc.assert(fc.property(fc.shuffledSubarray(all, { minLength: 256, maxLength: 256 }), (order) => {
      const kinds = order.map((v) => postInterrupt(mem, PID, v, false).kind);
      expect(kinds[0]).toBe('notify');
      expect(kinds.slice(1).every((k) => k === 'already-pending')).toBe(true);
      expect(readPid(mem, PID)?.pir).toEqual(all);
      expect(drainPir(mem, PID)).toEqual([...all].reverse());
      expect(readPid(mem, PID)).toMatchObject({ pir: [], on: false });
    }), { numRuns: 50 });
  });

  it('matches a model of §5.2.3 over any sequence of posts, SN changes and drains (property)', () => {
    type Op = { op: 'post'; v: number; urg: boolean } | { op: 'sn'; on: boolean } | { op: 'drain' };
    const arbOp: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('post' as const), v: u(8), urg: fc.boolean() }),
      fc.record({ op: fc.constant('sn' as const), on: fc.boolean() }),
      fc.constant({ op: 'drain' as const }),
    );
    fc.assert(fc.property(fc.array(arbOp, { maxLength: 60 }), (ops) => {
      const mem = fresh();
      const pir = new Set<number>();
      let on = false;
      let sn = false;
      for (const o of ops) {
        if (o.op === 'sn') {
          sn = o.on;
          setSuppressNotification(mem, PID, o.on);
        } else if (o.op === 'drain') {
          expect(drainPir(mem, PID)).toEqual([...pir].sort((a, b) => b - a));
          pir.clear();
          on = false;
        } else {
          const coalesced = pir.has(o.v);
          pir.add(o.v);
          const x = !on && (o.urg || !sn);
          const want = on ? 'already-pending' : x ? 'notify' : 'suppressed';
          if (x) on = true;
          expect(postInterrupt(mem, PID, o.v, o.urg)).toMatchObject({ kind: want, vector: o.v, coalesced });
        }
        expect(readPid(mem, PID)).toMatchObject({ on, sn, pir: [...pir].sort((a, b) => a - b) });
      }
    }), { numRuns: 300 });
  });

  it('blocks the request and changes nothing on a bad descriptor: 27h misaligned or outside memory, 28h reserved bits', () => {
    const mem = fresh();
    expect(postInterrupt(mem, PID + 8, 0x41, false)).toMatchObject({ kind: 'fault', reason: 'pid-access-error', code: 0x27 });
    expect(postInterrupt(mem, MEM - 32, 0x41, false)).toMatchObject({ kind: 'fault', reason: 'pid-access-error', code: 0x27 });
    expect(postInterrupt(mem, PID, 256, false)).toMatchObject({ kind: 'fault', reason: 'bad-vector', code: null });
    for (const [offset, value] of [[PID_CONTROL, 0x04], [33, 0x01], [35, 0x80], [40, 0x01], [63, 0x80]] as const) {
      const m = fresh();
      m.write8(PID + offset, m.read8(PID + offset) | value);
      expect(postInterrupt(m, PID, 0x41, false), `byte ${offset}`).toMatchObject({ kind: 'fault', reason: 'pid-reserved', code: 0x28 });
      expect(readPid(m, PID)).toMatchObject({ pir: [], on: false, reservedSet: true });
    }
    expect(drainPir(mem, PID + 8)).toEqual([]);
    expect(readPid(mem, PID + 8)).toBeNull();
  });
});

describe('KVM vCPU states and the descriptor (arch/x86/kvm/vmx/posted_intr.c; VT-d 5.10 §5.2.5)', () => {
  const setup = () => {
    const mem = new GuestMemory(MEM);
    initPid(mem, PID, { nv: POSTED_INTR_VECTOR, ndst: 0 });
    expect(runVcpu(mem, PID, { apicId: 2 })).toEqual({ ok: true, pending: false });
    return mem;
  };

  it('running: NDST = this CPU, NV = POSTED_INTR_VECTOR (0xf2), SN = 0 — a post notifies the CPU, which delivers without an exit', () => {
    const mem = setup();
    expect(readPid(mem, PID)).toMatchObject({ nv: 0xf2, ndst: 2, sn: false });
    const r = postInterrupt(mem, PID, 0x51, false);
    expect(r).toMatchObject({ kind: 'notify', nv: POSTED_INTR_VECTOR, ndst: 2 });
    if (r.kind === 'notify') expect(notificationKind(r.nv)).toBe('posted-interrupt');
    expect(drainPir(mem, PID)).toEqual([0x51]);
  });

  it('blocked: the wake-up vector (0xf1) goes out for any post; running again restores 0xf2 and finds the vector pending', () => {
    const mem = setup();
    expect(blockVcpu(mem, PID)).toEqual({ ok: true, wakeNow: false });
    expect(readPid(mem, PID)).toMatchObject({ nv: POSTED_INTR_WAKEUP_VECTOR, ndst: 2 });
    const r = postInterrupt(mem, PID, 0x51, false);
    expect(r).toMatchObject({ kind: 'notify', nv: 0xf1, ndst: 2 });
    if (r.kind === 'notify') expect(notificationKind(r.nv)).toBe('wakeup'); // pi_wakeup_handler() kicks the vCPU
    expect(runVcpu(mem, PID, { apicId: 2 })).toEqual({ ok: true, pending: true });
    expect(readPid(mem, PID)).toMatchObject({ nv: 0xf2, on: true, sn: false });
    expect(drainPir(mem, PID)).toEqual([0x51]); // vmx_sync_pir_to_irr() on entry
  });

  it('blocking while a notification is outstanding asks for an immediate wake-up IPI', () => {
    const mem = setup();
    postInterrupt(mem, PID, 0x51, false); // ON set, not yet processed
    expect(blockVcpu(mem, PID)).toEqual({ ok: true, wakeNow: true });
  });

  it('preempted: SN = 1, non-urgent posts are only recorded; urgent ones still notify; running again clears SN and sets ON', () => {
    const mem = setup();
    expect(preemptVcpu(mem, PID)).toBe(true);
    expect(postInterrupt(mem, PID, 0x51, false).kind).toBe('suppressed');
    expect(postInterrupt(mem, PID, 0x52, false).kind).toBe('suppressed');
    expect(runVcpu(mem, PID, { apicId: 6 })).toEqual({ ok: true, pending: true }); // migrated to another CPU
    expect(readPid(mem, PID)).toMatchObject({ on: true, sn: false, ndst: 6, nv: 0xf2 });
    expect(drainPir(mem, PID)).toEqual([0x52, 0x51]);
    preemptVcpu(mem, PID);
    expect(postInterrupt(mem, PID, 0x60, true)).toMatchObject({ kind: 'notify', nv: 0xf2, ndst: 6 });
  });

  it('NDST follows the APIC mode: x2APIC 32-bit ID, xAPIC ID in bits 15:8', () => {
    const mem = setup();
    runVcpu(mem, PID, { apicId: 0x1_0002 });
    expect(readPid(mem, PID)?.ndst).toBe(0x1_0002);
    runVcpu(mem, PID, { apicId: 5, x2apic: false });
    expect(readPid(mem, PID)?.ndst).toBe(0x0500);
    expect(runVcpu(mem, PID + 1, { apicId: 5 })).toEqual({ ok: false, pending: false });
  });
});

describe('passthrough interrupt path end to end (CALIBRATION §3.9)', () => {
  it('device MSI → IRTE (posted) → descriptor → notification → guest vector; flipping IM back gives a host interrupt instead', () => {
    const mem = new GuestMemory(MEM);
    const ir = new InterruptRemapper(mem, { base: IRT, entries: 1024 });
    initPid(mem, PID, { nv: POSTED_INTR_VECTOR, ndst: 0 });
    runVcpu(mem, PID, { apicId: 1 });
    // KVM programs IRTE 17 for the device's MSI-X vector 0 (pi_update_irte → posted format).
    ir.writeIrte(17, postedIrte({ vector: 0x51, pda: PID }));
    const msi = encodeRemappableMsi(17); // what vfio-pci/Linux wrote into the device's MSI-X table
    const r = ir.remap(DEV_A, msi.address, msi.data);
    expect(r.kind).toBe('posted');
    if (r.kind !== 'posted') return;
    const p = postInterrupt(mem, r.pda, r.vector, r.urgent);
    expect(p).toMatchObject({ kind: 'notify', nv: 0xf2, ndst: 1 });
    expect(drainPir(mem, PID)).toEqual([0x51]); // the guest sees vector 0x51; no VM exit was needed
    // Without posting the same MSI is remapped to a host vector: vfio-pci's handler runs, KVM injects.
    ir.writeIrte(17, remappedIrte({ vector: 0x24, destination: 1 }));
    expect(ir.remap(DEV_A, msi.address, msi.data)).toMatchObject({ kind: 'remapped', vector: 0x24, destination: 1 });
    // The spoofer gets nothing either way.
    expect(fault(ir.remap(DEV_B, msi.address, msi.data)).reason).toBe('source-id-invalid');
    expect(mem.read(ir.irteAddress(17), IRTE_SIZE)).toEqual(encodeIrte(remappedIrte({ vector: 0x24, destination: 1 })));
  });
});
