/**
 * Observers for the emulated-nic lab: they watch the whole run as it happens (DESIGN.md §4:
 * invariants are not read from the bounded trace afterwards) and record coded findings.
 */
import type { Ns } from '../../sim/time.ts';
import type { E1000 } from '../../hw/e1000/device.ts';
import * as R from '../../hw/e1000/regs.ts';
import { E1000_DESC_SIZE, E1000_TXD_STAT_DD } from '../../hw/e1000/desc.ts';
import type { E1000Driver, GuestFrame, TxSlotUse } from '../../guest/e1000-driver.ts';

export type FrameClass = 'single' | 'multi' | 'wrap';

interface SentFrame {
  pkt: number;
  bytes: Uint8Array;
  cls: FrameClass;
  first: number;
  last: number;
}

export interface Mismatch {
  pkt: number;
  cls: FrameClass;
  code: 'frame-differs' | 'frame-length';
  byte?: number;
  expected?: number;
  got?: number;
  first: number;
  last: number;
}

export class LabObserver {
  readonly driver: E1000Driver;
  readonly sent: SentFrame[] = [];
  /** Every descriptor use with RS, in fill order, and whether DD was written while in flight. */
  readonly rsUses: { use: TxSlotUse; dd: boolean }[] = [];
  readonly mismatches: Mismatch[] = [];
  delivered = 0;
  extra = 0;
  strayWrites: { gpa: number; len: number }[] = [];
  corrupted: { index: number; field: string }[] = [];
  outsideRam: { dir: string; gpa: number; len: number }[] = [];
  tdhOutOfRange: number[] = [];
  interruptTimes: Ns[] = [];
  #descUsed = 0;
  #current = new Map<number, { use: TxSlotUse; dd: boolean }>();

  constructor(driver: E1000Driver) {
    this.driver = driver;
  }

  /** The guest put a frame on the ring (called before its descriptors are filled). */
  frameSent(frame: GuestFrame): void {
    const n = this.driver.layout.txCount;
    const first = (this.driver.layout.txStart + this.#descUsed) % n;
    const pass = Math.floor((this.driver.layout.txStart + this.#descUsed) / n);
    const parts = frame.fragments.length;
    // A frame that ends on the ring's last descriptor also wraps: its doorbell moves TDT to 0.
    const crosses = first + parts >= n;
    this.#descUsed += parts;
    const cls: FrameClass = pass >= 1 || crosses ? 'wrap' : parts > 1 ? 'multi' : 'single';
    this.sent.push({ pkt: frame.pkt, bytes: frame.bytes.slice(), cls, first, last: (first + parts - 1) % n });
  }

  descriptorFilled(use: TxSlotUse): void {
    if (!use.rs) return;
    const rec = { use, dd: false };
    this.rsUses.push(rec);
    this.#current.set(use.index, rec);
  }

  /** A frame reached the peer: compare it with the k-th frame the guest sent. */
  frameAtPeer(bytes: Uint8Array): void {
    const k = this.delivered++;
    const exp = this.sent[k];
    if (!exp) {
      this.extra++;
      return;
    }
    if (bytes.length !== exp.bytes.length) {
      this.mismatches.push({ pkt: k, cls: exp.cls, code: 'frame-length', expected: exp.bytes.length, got: bytes.length, first: exp.first, last: exp.last });
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== exp.bytes[i]) {
        this.mismatches.push({ pkt: k, cls: exp.cls, code: 'frame-differs', byte: i, expected: exp.bytes[i]!, got: bytes[i]!, first: exp.first, last: exp.last });
        return;
      }
    }
  }

  /** A learner DMA write inside RAM, before it lands. */
  beforeDmaWrite(gpa: number, bytes: Uint8Array, _t: Ns): void {
    const L = this.driver.layout;
    const ringEnd = L.txBase + L.txCount * E1000_DESC_SIZE;
    if (gpa < L.txBase || gpa + bytes.length > ringEnd) {
      this.strayWrites.push({ gpa, len: bytes.length });
      return;
    }
    const mem = this.driver.mem;
    for (let i = 0; i < bytes.length; i++) {
      const a = gpa + i;
      const index = Math.floor((a - L.txBase) / E1000_DESC_SIZE);
      const off = (a - L.txBase) % E1000_DESC_SIZE;
      if (off < 12 && mem.read8(a) !== bytes[i]) {
        const field = off < 8 ? 'buffer address' : off < 10 ? 'length' : off === 10 ? 'CSO' : 'CMD';
        if (!this.corrupted.some((c) => c.index === index && c.field === field)) this.corrupted.push({ index, field });
      }
      if (off === 12 && bytes[i]! & E1000_TXD_STAT_DD) {
        const rec = this.#current.get(index);
        if (rec && this.driver.txInFlight[index] === rec.use) rec.dd = true;
      }
    }
  }

  dmaOutsideRam(dir: string, gpa: number, len: number, _t: Ns): void {
    if (this.outsideRam.length < 20) this.outsideRam.push({ dir, gpa, len });
  }

  setReg(offset: number, value: number, dev: E1000, _t: Ns): void {
    if (offset === R.E1000_TDH) {
      const n = Math.floor(dev.reg(R.E1000_TDLEN) / E1000_DESC_SIZE);
      if (!Number.isInteger(value) || value < 0 || value >= n) this.tdhOutOfRange.push(value);
    }
  }

  interruptRaised(t: Ns): void {
    this.interruptTimes.push(t);
  }
}
