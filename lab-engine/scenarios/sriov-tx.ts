/**
 * The VF's transmit queue for sriov-tx (./sriov.ts): the guest's ixgbevf-like driver writes each
 * frame into a 2 KiB buffer in guest RAM and a descriptor, rings the doorbell (a posted write to
 * the VF's BAR mapped into the guest: no exit), and cleans completed descriptors in its NAPI poll
 * (./sriov-vm.ts VfGuest.tx). The VF fetches descriptor and buffer through VT-d with its routing
 * ID, hands the real bytes to the embedded switch (anti-spoofing, the VF's rate limit, hairpin to
 * another VF or out through the port; Veb.transmit charges the shared PCIe link), and writes back
 * DD. The NIC's TX packet buffer holds about TX_FIFO_NS of wire time: a VF fetches no further
 * ahead of the wire than that (back-pressure), so the wire, not memory, sets the pace.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { HostEnv, Meter } from '../hv/host.ts';
import type { Veb } from '../hw/sriov-nic/switch.ts';
import type { VtdIommu } from '../hw/iommu/dma-remap.ts';
import type { IommuLane, VfGuest } from './sriov-vm.ts';

const TX_DESC_GPA = 0x40_0000;
const TX_BUF_GPA = 0x60_0000;
/** ~160 KiB of TX packet buffer at 10 GbE (82599: 160 KB TX packet buffer [R]). */
export const TX_FIFO_NS = 128_000;
const BATCH = 64;

/**
 * The port's TX packet buffer shared by every VF: VFs that find it full wait in FIFO order and
 * are let in one at a time as the wire drains (one timer, not one per waiting VF).
 */
export class TxFifo {
  readonly env: HostEnv;
  readonly veb: Veb;
  readonly #waiting: VfTx[] = [];
  #armed = false;
  constructor(env: HostEnv, veb: Veb) {
    this.env = env;
    this.veb = veb;
  }
  /** When a frame may enter the buffer. */
  get roomAt(): Ns {
    return this.veb.wireTx.freeAt - TX_FIFO_NS;
  }
  wait(q: VfTx): void {
    if (!this.#waiting.includes(q)) this.#waiting.push(q);
    this.#arm();
  }
  #arm(): void {
    if (this.#armed || this.#waiting.length === 0) return;
    this.#armed = true;
    this.env.sched.at(Math.max(this.env.sched.now, this.roomAt), () => {
      this.#armed = false;
      while (this.#waiting.length && this.roomAt <= this.env.sched.now) this.#waiting.shift()!.resume();
      this.#arm();
    });
  }
}

export class VfTx {
  readonly env: HostEnv;
  readonly guest: VfGuest;
  readonly veb: Veb;
  readonly iommu: VtdIommu;
  readonly lane: IommuLane;
  readonly frame: Uint8Array;
  readonly ringSize: number;
  toSend: number;
  inFlight = 0;
  /** Written back by the VF, not yet reclaimed by the driver. */
  done = 0;
  sent = 0;
  spoofed = 0;
  #slot = 0;
  #fetchSlot = 0;
  /** Descriptors the doorbell published that the VF has not fetched. */
  #queued = 0;
  #fetching = false;
  readonly #desc = new Uint8Array(16);
  readonly #buf: Uint8Array;
  onSpoofed: () => void = () => {};
  readonly fifo: TxFifo;

  /** Let in by the TX packet buffer. */
  resume(): void {
    this.#fetching = false;
    this.#fetch();
  }

  constructor(env: HostEnv, guest: VfGuest, o: { veb: Veb; fifo: TxFifo; iommu: VtdIommu; lane: IommuLane; frame: Uint8Array; frames: number; ringSize: number }) {
    this.env = env;
    this.guest = guest;
    this.veb = o.veb;
    this.fifo = o.fifo;
    this.iommu = o.iommu;
    this.lane = o.lane;
    this.frame = o.frame;
    this.toSend = o.frames;
    this.ringSize = o.ringSize;
    this.#buf = new Uint8Array(o.frame.length);
  }

  get hasWork(): boolean {
    return this.done > 0 || (this.toSend > 0 && this.inFlight < this.ringSize);
  }

  /** ixgbevf_clean_tx_irq: reclaim written-back descriptors. */
  clean(m: Meter): void {
    if (!this.done) return;
    m.charge('guest', COSTS.guestTxCleanPerDesc.ns * this.done, 'tx-clean', () => `VM ${this.guest.index}: reclaim ${this.done} TX descriptor(s)`);
    this.inFlight -= this.done;
    this.done = 0;
  }

  /** The application's sends: up to BATCH frames into free descriptors, then one doorbell. */
  xmit(m: Meter): void {
    const n = Math.min(this.toSend, this.ringSize - this.inFlight, BATCH);
    if (n <= 0) return;
    const mem = this.guest.vm.mem;
    for (let i = 0; i < n; i++) {
      m.charge('guest', COSTS.guestXmitPerPacket.ns, 'xmit', 'guest stack + ixgbevf_xmit_frame');
      const slot = this.#slot;
      this.#slot = (slot + 1) % this.ringSize;
      mem.write(TX_BUF_GPA + slot * 2048, this.frame);
    }
    this.toSend -= n;
    this.inFlight += n;
    m.charge('guest', COSTS.pciePostedWrite.ns, 'doorbell', () => `VM ${this.guest.index}: TDT doorbell (posted write to the VF's BAR, no exit)`);
    this.env.metrics.count(m.t, 'kicks');
    const at = m.t + COSTS.pcieWriteLatency.ns;
    this.env.sched.at(at, () => {
      this.#queued += n;
      this.#fetch();
    });
  }

  /** The VF's DMA engine: one descriptor at a time, no further ahead of the wire than its FIFO. */
  #fetch(): void {
    if (this.#fetching || this.#queued === 0) return;
    const env = this.env;
    const now = env.sched.now;
    if (this.fifo.roomAt > now) {
      this.#fetching = true;
      this.fifo.wait(this);
      return;
    }
    this.#queued--;
    const slot = this.#fetchSlot;
    this.#fetchSlot = (slot + 1) % this.ringSize;
    const rid = this.guest.vm.rid;
    const d = this.iommu.dmaRead(rid, TX_DESC_GPA + slot * 16, 16, this.#desc);
    const b = d.ok ? this.iommu.dmaRead(rid, TX_BUF_GPA + slot * 2048, this.frame.length, this.#buf) : d;
    const ns = d.ns + (d.ok ? b.ns : 0);
    const start = Math.max(now, this.lane.freeAt);
    this.lane.freeAt = start + ns;
    if (ns > 0) env.metrics.charge('nic', this.lane.slot, start, ns);
    env.metrics.count(now, 'dmaOps', 3);
    this.#fetching = true;
    let end = start + ns;
    if (!d.ok || !b.ok) env.metrics.count(now, 'iommuFaults');
    else if (this.veb.transmit(this.guest.index, this.#buf, end)) {
      this.sent++;
      end = Math.max(end, this.veb.pcieDown.freeAt);
    } else {
      this.spoofed++;
      this.onSpoofed();
    }
    env.sched.at(end, () => {
      this.iommu.dmaWrite(rid, TX_DESC_GPA + slot * 16, this.#desc);
      this.done++;
      this.guest.txCompleted(end);
      this.#fetching = false;
      this.#fetch();
    });
  }
}
