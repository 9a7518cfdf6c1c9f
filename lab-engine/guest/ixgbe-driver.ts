/**
 * A NIC driver for the 82599 model (hw/ixgbe/), touching it the way Linux's ixgbe does
 * (drivers/net/ethernet/intel/ixgbe/ixgbe_main.c), one queue pair, legacy descriptors:
 *   probe/open  config space through 0xCF8/0xCFC (enable MEMORY|MASTER, find the MSI-X capability),
 *               MSI-X enable with the function masked, one table entry per vector used (queue 0 on
 *               vector 0, "other" causes on vector 1), then unmask; reset; GPIE/EIAC/IVAR/EITR;
 *               TX and RX rings (dma_alloc_coherent), RX buffers mapped and given to the device;
 *   xmit        descriptors in guest RAM (EOP|IFCS|RS), each buffer dma_map'ed, then the TDT
 *               doorbell — a posted BAR write, no exit;
 *   interrupt   ixgbe_msix_clean_rings: mask the vector (EIMC, a posted write), EOI, then the NAPI
 *               poll: reclaim TX (unmap), receive up to the budget of 64 (unmap, deliver), give
 *               buffers back every IXGBE_RX_BUFFER_WRITE = 16 (map + RDT), and napi_complete_done
 *               re-enables the vector (EIMS);
 *   pmd         with `pmd`, a DPDK-like poll-mode driver instead: no interrupts, RX bursts of 32.
 * The EOI comes at the end of the hard interrupt, before the softirq's poll, as on Linux x86
 * (handle_edge_irq acks the APIC first); the brief's order "re-enable → EOI" would count the same.
 * Every address the driver hands the device comes from the DMA API (./dma-api.ts): the buffer's
 * guest-physical address with 'none', an IOVA behind an IOMMU otherwise.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { GuestMemory } from '../hw/memory.ts';
import type { GuestOp, GuestTask } from '../hv/guest-ops.ts';
import * as P from '../hw/pci/regs.ts';
import * as R from '../hw/ixgbe/regs.ts';
import { E1000_DESC_SIZE, E1000_RXD_STAT_DD, E1000_TXD_CMD_EOP, E1000_TXD_CMD_IFCS, E1000_TXD_CMD_RS, E1000_TXD_STAT_DD } from '../hw/e1000/desc.ts';
import type { GuestFrame } from './e1000-driver.ts';
import type { DmaApi } from './dma-api.ts';

type Task<T> = Generator<GuestOp, T, number>;

const NAPI_BUDGET = 64;
const TX_WORK_LIMIT = 256; // IXGBE_DEFAULT_TX_WORK
const RX_BUFFER_WRITE = 16; // IXGBE_RX_BUFFER_WRITE
const PMD_BURST = 32;
/** The guest IDT vector Linux gives MSI-X vector v (any free vector would do). */
export const GUEST_VECTOR_BASE = 0x21;
const PAGE = 4096;

export interface IxgbeLayout {
  /** Guest-physical address of the rings and buffers (4 KiB aligned). */
  base: number;
  txCount: number;
  rxCount: number;
  rxBufferSize: number;
  /** Interrupt moderation: EITR interval in µs (0 = none; 2 µs resolution). */
  itrUs: number;
}

/** Bytes the layout needs from `base`: rings, RX buffers, then the TX frame area (a FrameMaker region). */
export function layoutBytes(l: IxgbeLayout, txAreaBytes: number): number {
  return roundUp(l.txCount * E1000_DESC_SIZE, PAGE) + roundUp(l.rxCount * E1000_DESC_SIZE, PAGE) + l.rxCount * l.rxBufferSize + txAreaBytes;
}

export interface IxgbeDriverOptions {
  layout: IxgbeLayout;
  dma: DmaApi;
  /** Where the function sits as this OS sees it (QEMU's guest slot, or the host's BDF). */
  bus: number;
  devfn: number;
  /** MSI-X vectors to use (1 or 2), at most what the function has. */
  vectors: number;
  /** APIC id the interrupts go to (vCPU 0 in a guest, the core on bare metal). */
  apicId: number;
  pmd: boolean;
}

interface TxSlot {
  pkt: number;
  addr: number;
  len: number;
  eop: boolean;
}

export class IxgbeDriver {
  readonly mem: GuestMemory;
  readonly o: IxgbeDriverOptions;
  readonly txRing: number;
  readonly rxRing: number;
  readonly rxBuffers: number;
  /** Start of the area the default frame maker puts TX frames in. */
  readonly txArea: number;
  /** Bus addresses the device was given for the rings (IOVAs behind an IOMMU). */
  txRingAddr = 0;
  rxRingAddr = 0;
  #txSlots: (TxSlot | undefined)[];
  #rxAddr: number[];
  txNextToUse = 0;
  txNextToClean = 0;
  rxNextToClean = 0;
  rxNextToUse = 0;
  framesQueued = 0;
  /** Poll mode: frames whose descriptors are written but whose doorbell (TDT) is not yet. */
  #txUnflushed = 0;
  reclaimed = 0;
  received = 0;
  /** Set when init failed (no MSI-X capability, wrong device…): the scenario fails the run. */
  failure: string | undefined;
  onRxFrame: (bytes: Uint8Array, t: Ns) => void = () => {};
  now: () => Ns = () => 0;

  constructor(mem: GuestMemory, o: IxgbeDriverOptions) {
    this.mem = mem;
    this.o = o;
    const l = o.layout;
    this.txRing = l.base;
    this.rxRing = this.txRing + roundUp(l.txCount * E1000_DESC_SIZE, PAGE);
    this.rxBuffers = this.rxRing + roundUp(l.rxCount * E1000_DESC_SIZE, PAGE);
    this.txArea = this.rxBuffers + l.rxCount * l.rxBufferSize;
    this.#txSlots = new Array<TxSlot | undefined>(l.txCount).fill(undefined);
    this.#rxAddr = new Array<number>(l.rxCount).fill(0);
  }

  txFree(): number {
    const n = this.o.layout.txCount;
    return (this.txNextToClean - this.txNextToUse - 1 + n) % n;
  }

  // ── Probe and open ─────────────────────────────────────────────────────────────────────────

  *#cfgRead(reg: number, size: 1 | 2 | 4): Task<number> {
    yield { op: 'pio-write', port: P.PCI_CONFIG_ADDRESS_PORT, size: 4, value: P.conf1Address(this.o.bus, this.o.devfn, reg) };
    return yield { op: 'pio-read', port: P.PCI_CONFIG_DATA_PORT + (reg & 3), size };
  }
  *#cfgWrite(reg: number, size: 1 | 2 | 4, value: number): Task<void> {
    yield { op: 'pio-write', port: P.PCI_CONFIG_ADDRESS_PORT, size: 4, value: P.conf1Address(this.o.bus, this.o.devfn, reg) };
    yield { op: 'pio-write', port: P.PCI_CONFIG_DATA_PORT + (reg & 3), size, value };
  }
  #reg(offset: number, value: number): GuestOp {
    return { op: 'bar-write', bar: 0, offset, value };
  }

  *init(): GuestTask {
    const ids = yield* this.#cfgRead(P.PCI_VENDOR_ID, 4);
    if ((ids & 0xffff) !== 0x8086) {
      this.failure = `no Intel device at ${this.o.bus}:${this.o.devfn >> 3}.${this.o.devfn & 7} (vendor/device 0x${(ids >>> 0).toString(16)})`;
      return;
    }
    const cmd = yield* this.#cfgRead(P.PCI_COMMAND, 2);
    yield* this.#cfgWrite(P.PCI_COMMAND, 2, cmd | P.PCI_COMMAND_MEMORY | P.PCI_COMMAND_MASTER | P.PCI_COMMAND_INTX_DISABLE);
    // pci_find_capability(PCI_CAP_ID_MSIX): walk the list from PCI_CAPABILITY_LIST.
    let cap = (yield* this.#cfgRead(P.PCI_CAPABILITY_LIST, 1)) & 0xfc;
    for (let hops = 0; cap && hops < 48; hops++) {
      const head = yield* this.#cfgRead(cap, 2);
      if ((head & 0xff) === P.PCI_CAP_ID_MSIX) break;
      cap = (head >>> 8) & 0xfc;
    }
    if (!cap) {
      this.failure = 'the device has no MSI-X capability';
      return;
    }
    const ctl = yield* this.#cfgRead(cap + P.PCI_MSIX_FLAGS, 2);
    const table = yield* this.#cfgRead(cap + P.PCI_MSIX_TABLE, 4);
    const tableSize = (ctl & P.PCI_MSIX_FLAGS_QSIZE) + 1;
    const bir = table & P.PCI_MSIX_TABLE_BIR;
    const tableOff = (table & P.PCI_MSIX_TABLE_OFFSET) >>> 0;
    const used = this.o.pmd ? 0 : Math.min(this.o.vectors, tableSize, 2);
    if (!this.o.pmd) {
      // msix_capability_init: enable with the function masked, write the entries, unmask the function.
      yield* this.#cfgWrite(cap + P.PCI_MSIX_FLAGS, 2, P.PCI_MSIX_FLAGS_ENABLE | P.PCI_MSIX_FLAGS_MASKALL);
      for (let v = 0; v < used; v++) {
        const e = tableOff + v * P.PCI_MSIX_ENTRY_SIZE;
        yield { op: 'bar-write', bar: bir, offset: e + P.PCI_MSIX_ENTRY_LOWER_ADDR, value: (0xfee0_0000 | (this.o.apicId << 12)) >>> 0 };
        yield { op: 'bar-write', bar: bir, offset: e + P.PCI_MSIX_ENTRY_UPPER_ADDR, value: 0 };
        yield { op: 'bar-write', bar: bir, offset: e + P.PCI_MSIX_ENTRY_DATA, value: GUEST_VECTOR_BASE + v };
      }
      yield* this.#cfgWrite(cap + P.PCI_MSIX_FLAGS, 2, P.PCI_MSIX_FLAGS_ENABLE);
      // request_irq → the irq chip unmasks each vector.
      for (let v = 0; v < used; v++) yield { op: 'bar-write', bar: bir, offset: tableOff + v * P.PCI_MSIX_ENTRY_SIZE + P.PCI_MSIX_ENTRY_VECTOR_CTRL, value: 0 };
    }
    // ixgbe_reset_hw, then ixgbe_configure_msix.
    const L = this.o.layout;
    yield this.#reg(R.IXGBE_CTRL, R.IXGBE_CTRL_RST);
    yield { op: 'bar-read', bar: 0, offset: R.IXGBE_STATUS };
    yield this.#reg(R.IXGBE_GPIE, R.IXGBE_GPIE_MSIX_MODE | R.IXGBE_GPIE_PBA_SUPPORT);
    if (used > 0) {
      yield this.#reg(R.IXGBE_IVAR0, (R.IXGBE_IVAR_ALLOC_VAL | 0) | ((R.IXGBE_IVAR_ALLOC_VAL | 0) << 8));
      if (used > 1) yield this.#reg(R.IXGBE_IVAR_MISC, R.IXGBE_IVAR_ALLOC_VAL | 1);
      yield this.#reg(R.IXGBE_EIAC, 1);
      yield this.#reg(R.IXGBE_EITR0, ((L.itrUs << 2) & R.IXGBE_EITR_ITR_INT_MASK) | R.IXGBE_EITR_CNT_WDIS);
    }
    // Rings: dma_alloc_coherent (mapped once, for the life of the device).
    this.txRingAddr = yield* this.o.dma.map(this.txRing, L.txCount * E1000_DESC_SIZE);
    this.rxRingAddr = yield* this.o.dma.map(this.rxRing, L.rxCount * E1000_DESC_SIZE);
    yield this.#reg(R.IXGBE_TDBAL0, this.txRingAddr >>> 0);
    yield this.#reg(R.IXGBE_TDBAH0, Math.floor(this.txRingAddr / 0x1_0000_0000));
    yield this.#reg(R.IXGBE_TDLEN0, L.txCount * E1000_DESC_SIZE);
    yield this.#reg(R.IXGBE_TDH0, 0);
    yield this.#reg(R.IXGBE_TDT0, 0);
    yield this.#reg(R.IXGBE_DMATXCTL, R.IXGBE_DMATXCTL_TE);
    yield this.#reg(R.IXGBE_TXDCTL0, R.IXGBE_TXDCTL_ENABLE);
    yield this.#reg(R.IXGBE_SRRCTL0, L.rxBufferSize >> 10);
    yield this.#reg(R.IXGBE_RDBAL0, this.rxRingAddr >>> 0);
    yield this.#reg(R.IXGBE_RDBAH0, Math.floor(this.rxRingAddr / 0x1_0000_0000));
    yield this.#reg(R.IXGBE_RDLEN0, L.rxCount * E1000_DESC_SIZE);
    yield this.#reg(R.IXGBE_RDH0, 0);
    yield this.#reg(R.IXGBE_RXDCTL0, R.IXGBE_RXDCTL_ENABLE);
    yield this.#reg(R.IXGBE_RXCTRL, R.IXGBE_RXCTRL_RXEN);
    this.rxNextToUse = 0;
    yield* this.#refill(L.rxCount - 1);
    if (used > 0) yield this.#reg(R.IXGBE_EIMS, 1);
  }

  // ── Transmit ───────────────────────────────────────────────────────────────────────────────

  /** ixgbe_xmit_frame: map each fragment, fill descriptors, ring the doorbell. The caller checked txFree(). */
  *xmit(frame: GuestFrame): GuestTask {
    const n = this.o.layout.txCount;
    const dma = this.o.dma;
    this.framesQueued++;
    let off = 0;
    for (let part = 0; part < frame.fragments.length; part++) {
      const f = frame.fragments[part]!;
      this.mem.write(f.gpa, frame.bytes.subarray(off, off + f.len));
      off += f.len;
      const addr = dma.active ? yield* dma.map(f.gpa, f.len, frame.pkt) : f.gpa;
      const last = part === frame.fragments.length - 1;
      const i = this.txNextToUse;
      const d = this.txRing + i * E1000_DESC_SIZE;
      this.mem.write64(d, addr);
      this.mem.write32(d + 8, ((f.len & 0xffff) | E1000_TXD_CMD_IFCS | (last ? E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS : 0)) >>> 0);
      this.mem.write32(d + 12, 0);
      this.#txSlots[i] = { pkt: frame.pkt, addr, len: f.len, eop: last };
      this.txNextToUse = (i + 1) % n;
    }
    if (this.o.pmd) {
      // rte_eth_tx_burst: descriptors filled per packet, the tail written once per burst
      // (flushTx), as DPDK's ixgbe PMD does — the doorbell is not per frame.
      yield { op: 'compute', ns: COSTS.pmdNicPerPacket.ns, kind: 'guest-xmit', label: `tx burst: frame ${frame.pkt} (${frame.bytes.length} B)`, pkt: frame.pkt };
      this.#txUnflushed++;
      if (this.#txUnflushed >= PMD_BURST) yield* this.flushTx(frame.pkt);
      return;
    }
    yield { op: 'compute', ns: COSTS.guestXmitPerPacket.ns, kind: 'guest-xmit', label: `xmit frame ${frame.pkt} (${frame.bytes.length} B)`, pkt: frame.pkt };
    yield { op: 'bar-write', bar: 0, offset: R.IXGBE_TDT0, value: this.txNextToUse, pkt: frame.pkt };
  }

  /** Poll mode: write TDT for the frames queued since the last doorbell (the end of a tx burst). */
  *flushTx(pkt?: number): GuestTask {
    if (this.#txUnflushed === 0) return;
    this.#txUnflushed = 0;
    yield { op: 'bar-write', bar: 0, offset: R.IXGBE_TDT0, value: this.txNextToUse, ...(pkt !== undefined ? { pkt } : {}) };
  }

  /** ixgbe_clean_tx_irq: reclaim whole frames whose EOP descriptor has DD, unmapping their buffers. */
  *cleanTx(limit = TX_WORK_LIMIT): Task<number> {
    const n = this.o.layout.txCount;
    const dma = this.o.dma;
    let frames = 0;
    let descs = 0;
    while (this.txNextToClean !== this.txNextToUse && frames < limit) {
      let eop = this.txNextToClean;
      for (let k = 0; k < n && !this.#txSlots[eop]?.eop; k++) eop = (eop + 1) % n;
      if (!(this.mem.read32(this.txRing + eop * E1000_DESC_SIZE + 12) & E1000_TXD_STAT_DD)) break;
      for (let i = this.txNextToClean; ; i = (i + 1) % n) {
        const s = this.#txSlots[i];
        if (s && dma.active) yield* dma.unmap(s.addr, s.len, s.pkt);
        this.#txSlots[i] = undefined;
        descs++;
        if (i === eop) break;
      }
      this.txNextToClean = (eop + 1) % n;
      this.reclaimed++;
      frames++;
    }
    if (descs > 0) yield { op: 'compute', ns: descs * COSTS.guestTxCleanPerDesc.ns, kind: 'guest-napi', label: `reclaim ${descs} TX descriptors` };
    return frames;
  }

  // ── Receive ────────────────────────────────────────────────────────────────────────────────

  /** ixgbe_clean_rx_irq: up to `budget` frames; buffers go back every RX_BUFFER_WRITE. */
  *cleanRx(budget = NAPI_BUDGET): Task<number> {
    const L = this.o.layout;
    const dma = this.o.dma;
    let received = 0;
    let cleaned = 0;
    while (received < budget) {
      const i = this.rxNextToClean;
      const d = this.rxRing + i * E1000_DESC_SIZE;
      if (!(this.mem.read8(d + 12) & E1000_RXD_STAT_DD)) break;
      const len = this.mem.read16(d + 8);
      if (dma.active) yield* dma.unmap(this.#rxAddr[i]!, L.rxBufferSize);
      const bytes = this.mem.read(this.rxBuffers + i * L.rxBufferSize, Math.min(len, L.rxBufferSize));
      this.mem.write32(d + 12, 0);
      yield { op: 'compute', ns: this.o.pmd ? COSTS.pmdNicPerPacket.ns : COSTS.guestRxPerPacket.ns, kind: 'guest-rx', label: `receive ${len} B` };
      this.received++;
      this.onRxFrame(bytes, this.now());
      this.rxNextToClean = (i + 1) % L.rxCount;
      received++;
      if (++cleaned >= RX_BUFFER_WRITE) {
        yield* this.#refill(cleaned);
        cleaned = 0;
      }
    }
    if (cleaned > 0) yield* this.#refill(cleaned);
    return received;
  }

  /** ixgbe_alloc_rx_buffers: give `count` descriptors from next_to_use back, then write RDT. */
  *#refill(count: number): Task<void> {
    const L = this.o.layout;
    const dma = this.o.dma;
    for (let k = 0; k < count; k++) {
      const i = this.rxNextToUse;
      const gpa = this.rxBuffers + i * L.rxBufferSize;
      const addr = dma.active ? yield* dma.map(gpa, L.rxBufferSize) : gpa;
      this.#rxAddr[i] = addr;
      const d = this.rxRing + i * E1000_DESC_SIZE;
      this.mem.write64(d, addr);
      this.mem.write32(d + 8, 0);
      this.mem.write32(d + 12, 0);
      this.rxNextToUse = (i + 1) % L.rxCount;
    }
    if (!this.o.pmd) yield { op: 'compute', ns: count * COSTS.guestRxRefill.ns, kind: 'guest-napi', label: `refill ${count} RX buffers` };
    yield { op: 'bar-write', bar: 0, offset: R.IXGBE_RDT0, value: this.rxNextToUse };
  }

  // ── Interrupt and NAPI ─────────────────────────────────────────────────────────────────────

  /** ixgbe_msix_clean_rings (hard interrupt) and ixgbe_poll (softirq). */
  *interrupt(): GuestTask {
    yield { op: 'compute', ns: COSTS.guestIsr.ns, kind: 'guest-isr', label: 'ixgbe_msix_clean_rings: schedule NAPI' };
    yield { op: 'bar-write', bar: 0, offset: R.IXGBE_EIMC, value: 1 };
    yield { op: 'eoi', edge: true };
    for (;;) {
      yield { op: 'compute', ns: COSTS.guestNapiPoll.ns, kind: 'guest-napi', label: 'NAPI poll' };
      yield* this.cleanTx();
      const received = yield* this.cleanRx();
      if (received < NAPI_BUDGET) break;
    }
    yield { op: 'bar-write', bar: 0, offset: R.IXGBE_EIMS, value: 1 }; // napi_complete_done → ixgbe_irq_enable_queues
  }

  /** Poll mode: one RX burst and a TX reclaim (rte_eth_rx_burst / tx free). Returns frames received. */
  *pollOnce(): Task<number> {
    yield* this.flushTx();
    const got = yield* this.cleanRx(PMD_BURST);
    if (this.txNextToClean !== this.txNextToUse) yield* this.cleanTx(PMD_BURST);
    if (got === 0) yield { op: 'compute', ns: COSTS.pmdEmptyPoll.ns, kind: 'guest-pmd-poll', label: 'poll: RX ring empty' };
    return got;
  }
}

function roundUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

