/**
 * A guest e1000 driver that touches the device the way Linux's does
 * (drivers/net/ethernet/intel/e1000/e1000_main.c; CALIBRATION §3.4):
 * - xmit: fill legacy descriptors in guest RAM (EOP|IFCS|RS|IDE on the last one of a frame),
 *   then write TDT once per frame, or once per burst when the stack batches (xmit_more);
 * - e1000_intr: read ICR, write IMC=~0, read STATUS (flush), EOI; then the NAPI poll reclaims TX
 *   descriptors whose DD is set, receives RX frames, refills RX buffers (one RDT write per poll),
 *   and re-enables interrupts with an IMS write and a STATUS read.
 * That is 5 MMIO exits to QEMU + 1 EOI exit per interrupt without APICv.
 * Simplifications: no TX timeout watchdog, no link/PHY handling, no TSO; fixed NAPI budget 64.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { GuestMemory } from '../hw/memory.ts';
import * as R from '../hw/e1000/regs.ts';
import {
  E1000_DESC_SIZE,
  E1000_RXD_STAT_DD,
  E1000_TXD_CMD_EOP,
  E1000_TXD_CMD_IDE,
  E1000_TXD_CMD_IFCS,
  E1000_TXD_CMD_RS,
  E1000_TXD_STAT_DD,
} from '../hw/e1000/desc.ts';
import type { GuestTask } from '../hv/guest-ops.ts';

export interface GuestFrame {
  /** Sequence number, 0-based. */
  pkt: number;
  bytes: Uint8Array;
  /** Where each fragment lives in guest RAM; their lengths add up to bytes.length. */
  fragments: { gpa: number; len: number }[];
}

export interface DriverLayout {
  txBase: number;
  txCount: number;
  /** Index at which the driver starts using the TX ring (TDH = TDT = txStart at init). */
  txStart: number;
  rxBase: number;
  rxCount: number;
  rxBuffers: number;
  rxBufferSize: number;
  itr: number;
  /** TADV the driver programs (Linux TxAbsIntDelay, default 32 × 1.024 µs). */
  tadv: number;
}

/** One use of one TX descriptor, as the guest filled it (observers compare the device to this). */
export interface TxSlotUse {
  index: number;
  pkt: number;
  eop: boolean;
  rs: boolean;
  /** Position of this descriptor within its frame's chain, and the chain length. */
  part: number;
  parts: number;
  /** The frame's descriptors cross the end of the ring. */
  wraps: boolean;
}

const NAPI_BUDGET = 64;

export class E1000Driver {
  nextToUse: number;
  nextToClean: number;
  /** Per TX descriptor index: the use in flight, if any. */
  readonly txInFlight: (TxSlotUse | undefined)[];
  rxNextToClean = 0;
  rxNextToUse = 0;
  /** Callbacks to the workload. */
  onTxReclaimed: (pkt: number, t: Ns) => void = () => {};
  onRxFrame: (bytes: Uint8Array, t: Ns) => void = () => {};
  onTxFill: (use: TxSlotUse) => void = () => {};
  now: () => Ns = () => 0;
  /** Frames put on the ring so far, and frames reclaimed after the device reported them done. */
  framesQueued = 0;
  reclaimed = 0;
  stoppedQueue = false;

  readonly mem: GuestMemory;
  readonly layout: DriverLayout;

  constructor(mem: GuestMemory, layout: DriverLayout) {
    this.mem = mem;
    this.layout = layout;
    this.nextToUse = layout.txStart;
    this.nextToClean = layout.txStart;
    this.txInFlight = new Array(layout.txCount).fill(undefined);
  }

  /** Free TX descriptors (one slot is always left empty, as Linux's E1000_DESC_UNUSED). */
  txFree(): number {
    const n = this.layout.txCount;
    return (this.nextToClean - this.nextToUse - 1 + n) % n;
  }

  *init(): GuestTask {
    const L = this.layout;
    yield { op: 'mmio-write', offset: R.E1000_CTRL, value: R.E1000_CTRL_RST };
    yield { op: 'mmio-read', offset: R.E1000_STATUS };
    yield { op: 'mmio-write', offset: R.E1000_IMC, value: 0xffffffff };
    // TX ring (e1000_configure_tx)
    yield { op: 'mmio-write', offset: R.E1000_TDBAL, value: L.txBase >>> 0 };
    yield { op: 'mmio-write', offset: R.E1000_TDBAH, value: Math.floor(L.txBase / 0x1_0000_0000) };
    yield { op: 'mmio-write', offset: R.E1000_TDLEN, value: L.txCount * E1000_DESC_SIZE };
    yield { op: 'mmio-write', offset: R.E1000_TDH, value: L.txStart };
    yield { op: 'mmio-write', offset: R.E1000_TDT, value: L.txStart };
    yield { op: 'mmio-write', offset: R.E1000_TADV, value: L.tadv };
    yield { op: 'mmio-write', offset: R.E1000_TCTL, value: R.E1000_TCTL_EN | R.E1000_TCTL_PSP };
    // RX ring (e1000_configure_rx + e1000_alloc_rx_buffers)
    for (let i = 0; i < L.rxCount; i++) {
      const d = L.rxBase + i * E1000_DESC_SIZE;
      this.mem.write64(d, L.rxBuffers + i * L.rxBufferSize);
      this.mem.write32(d + 8, 0);
      this.mem.write32(d + 12, 0);
    }
    yield { op: 'compute', ns: 2_000, kind: 'guest-driver', label: 'allocate RX buffers' };
    yield { op: 'mmio-write', offset: R.E1000_RDBAL, value: L.rxBase >>> 0 };
    yield { op: 'mmio-write', offset: R.E1000_RDBAH, value: Math.floor(L.rxBase / 0x1_0000_0000) };
    yield { op: 'mmio-write', offset: R.E1000_RDLEN, value: L.rxCount * E1000_DESC_SIZE };
    yield { op: 'mmio-write', offset: R.E1000_RDH, value: 0 };
    this.rxNextToUse = L.rxCount - 1;
    yield { op: 'mmio-write', offset: R.E1000_RDT, value: L.rxCount - 1 };
    yield { op: 'mmio-write', offset: R.E1000_RCTL, value: R.E1000_RCTL_EN };
    yield { op: 'mmio-write', offset: R.E1000_ITR, value: L.itr };
    // e1000_irq_enable
    yield { op: 'mmio-write', offset: R.E1000_IMS, value: R.E1000_IMS_ENABLE_MASK };
    yield { op: 'mmio-read', offset: R.E1000_STATUS };
  }

  /** Number of descriptors a frame needs. */
  descriptorsFor(frame: GuestFrame): number {
    return frame.fragments.length;
  }

  /**
   * Put one frame on the ring (e1000_tx_map + e1000_tx_queue). The caller checked txFree().
   * With `doorbell` the driver writes TDT now; otherwise it defers (xmit_more).
   */
  *xmit(frame: GuestFrame, doorbell: boolean): GuestTask {
    const n = this.layout.txCount;
    const parts = frame.fragments.length;
    const first = this.nextToUse;
    const wraps = first + parts > n;
    this.framesQueued++;
    let off = 0;
    frame.fragments.forEach((f, part) => {
      // The guest CPU writes the payload and the descriptor into its own RAM: no exit.
      this.mem.write(f.gpa, frame.bytes.subarray(off, off + f.len));
      off += f.len;
      const i = this.nextToUse;
      const d = this.layout.txBase + i * E1000_DESC_SIZE;
      const last = part === parts - 1;
      let lower = (f.len & 0xffff) | E1000_TXD_CMD_IFCS;
      if (last) lower |= E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS | E1000_TXD_CMD_IDE;
      this.mem.write64(d, f.gpa);
      this.mem.write32(d + 8, lower >>> 0);
      this.mem.write32(d + 12, 0);
      const use: TxSlotUse = { index: i, pkt: frame.pkt, eop: last, rs: last, part, parts, wraps };
      this.txInFlight[i] = use;
      this.onTxFill(use);
      this.nextToUse = (i + 1) % n;
    });
    yield { op: 'compute', ns: COSTS.guestXmitPerPacket.ns, kind: 'guest-xmit', label: `xmit frame ${frame.pkt} (${frame.bytes.length} B, ${parts} desc)`, pkt: frame.pkt };
    if (doorbell) yield* this.doorbell(frame.pkt);
  }

  *doorbell(pkt?: number): GuestTask {
    yield { op: 'mmio-write', offset: R.E1000_TDT, value: this.nextToUse, pkt };
  }

  /** e1000_intr + the NAPI poll that follows it. */
  *interrupt(): GuestTask {
    const icr: number = yield { op: 'mmio-read', offset: R.E1000_ICR };
    yield { op: 'compute', ns: COSTS.guestIsr.ns, kind: 'guest-isr', label: `e1000_intr: ICR=0x${icr.toString(16)}` };
    if (icr === 0) {
      yield { op: 'eoi' }; // not ours (IRQ_NONE)
      return;
    }
    yield { op: 'mmio-write', offset: R.E1000_IMC, value: 0xffffffff };
    yield { op: 'mmio-read', offset: R.E1000_STATUS }; // E1000_WRITE_FLUSH
    yield { op: 'eoi' };
    // softirq: e1000_clean (NAPI)
    for (;;) {
      yield { op: 'compute', ns: COSTS.guestNapiPoll.ns, kind: 'guest-napi', label: 'NAPI poll' };
      const cleaned = this.#cleanTx();
      if (cleaned > 0) {
        yield { op: 'compute', ns: cleaned * COSTS.guestTxCleanPerDesc.ns, kind: 'guest-napi', label: `reclaim ${cleaned} TX descriptors` };
      }
      const received = yield* this.#cleanRx();
      if (received < NAPI_BUDGET) break;
    }
    // napi_complete_done → e1000_irq_enable
    yield { op: 'mmio-write', offset: R.E1000_IMS, value: R.E1000_IMS_ENABLE_MASK };
    yield { op: 'mmio-read', offset: R.E1000_STATUS };
  }

  /** e1000_clean_tx_irq: reclaim whole frames whose EOP descriptor has DD set. */
  #cleanTx(): number {
    const n = this.layout.txCount;
    let cleaned = 0;
    for (;;) {
      if (this.nextToClean === this.nextToUse) break;
      // Find the EOP descriptor of the frame starting at nextToClean (next_to_watch).
      let eop = this.nextToClean;
      let steps = 0;
      while (!this.txInFlight[eop]?.eop && steps++ < n) eop = (eop + 1) % n;
      const d = this.layout.txBase + eop * E1000_DESC_SIZE;
      if (!(this.mem.read32(d + 12) & E1000_TXD_STAT_DD)) break;
      const pkt = this.txInFlight[eop]!.pkt;
      for (let i = this.nextToClean; ; i = (i + 1) % n) {
        this.mem.write32(this.layout.txBase + i * E1000_DESC_SIZE + 12, 0); // tx_desc->upper.data = 0
        this.txInFlight[i] = undefined;
        cleaned++;
        if (i === eop) break;
      }
      this.nextToClean = (eop + 1) % n;
      this.reclaimed++;
      this.onTxReclaimed(pkt, this.now());
    }
    return cleaned;
  }

  /** e1000_clean_rx_irq + e1000_alloc_rx_buffers (one RDT write per poll that refilled). */
  *#cleanRx(): Generator<import('../hv/guest-ops.ts').GuestOp, number, number> {
    const L = this.layout;
    let received = 0;
    while (received < NAPI_BUDGET) {
      const d = L.rxBase + this.rxNextToClean * E1000_DESC_SIZE;
      if (!(this.mem.read8(d + 12) & E1000_RXD_STAT_DD)) break;
      const len = this.mem.read16(d + 8);
      const bytes = this.mem.read(this.mem.read64(d), len);
      this.mem.write32(d + 12, 0);
      yield { op: 'compute', ns: COSTS.guestRxPerPacket.ns, kind: 'guest-rx', label: `receive ${len} B` };
      this.onRxFrame(bytes, this.now());
      this.rxNextToClean = (this.rxNextToClean + 1) % L.rxCount;
      received++;
    }
    if (received > 0) {
      // Give the cleaned buffers back: RDT = one before next_to_clean.
      this.rxNextToUse = (this.rxNextToClean - 1 + L.rxCount) % L.rxCount;
      yield { op: 'mmio-write', offset: R.E1000_RDT, value: this.rxNextToUse };
    }
    return received;
  }
}
