/**
 * A guest virtio-net driver that drives the device the way Linux's drivers/net/virtio_net.c does
 * (and, with `pmd`, the way DPDK's virtio poll-mode driver does):
 * - init: reset, ACKNOWLEDGE, DRIVER, read the offered features, write the accepted subset,
 *   FEATURES_OK and re-read it, program each queue (size, ring addresses, MSI-X vector, enable),
 *   DRIVER_OK (virtio 1.2 §3.1.1) — every access an MMIO exit, before the measurement window;
 * - xmit (start_xmit): reclaim finished TX buffers first (free_old_xmit), add [12-byte header,
 *   frame fragments] as one chain (indirect when negotiated and the chain has several parts),
 *   kick unless the device suppressed it or more frames follow (xmit_more). TX interrupts stay
 *   off; when the ring is full the queue stops and asks for an interrupt after ¾ of the
 *   outstanding buffers (virtqueue_enable_cb_delayed), re-checking for the race;
 * - interrupt (vring_interrupt → NAPI): EOI, then poll RX up to the budget, refill RX buffers
 *   (kick the RX queue when the device wants it), then re-enable callbacks and re-check: if a
 *   buffer was used meanwhile, poll again instead of waiting (§2.7.7's race window).
 * - pmd: no interrupts at all; the application polls the used rings and never sleeps.
 * Simplifications: one MSI-X vector per queue pair (Linux uses one per virtqueue), no MRG_RXBUF
 * (2 KiB RX buffers, each holding one header + frame), no control virtqueue.
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { GuestMemory } from '../hw/memory.ts';
import type { GuestTask } from '../hv/guest-ops.ts';
import * as S from '../hw/virtio/spec.ts';
import { BAR, COMMON } from '../hw/virtio/net-device.ts';
import { DriverQueue, DriverRingError, layoutQueue, type QueueLayout } from '../hw/virtio/split-ring.ts';
import type { GuestFrame } from './e1000-driver.ts';

export interface VirtioDriverConfig {
  pairs: number;
  queueSize: number;
  /** Features the driver would like (it accepts their intersection with the offer). */
  wanted: S.Features;
  /** Use indirect descriptors for multi-part TX chains when negotiated. */
  indirect: boolean;
  /** DPDK-style poll-mode driver in the guest: no interrupts, busy polling. */
  pmd: boolean;
  /** Guest-physical region for rings, headers and indirect tables, and for RX buffers. */
  ringBase: number;
  rxBufferBase: number;
  /** Free-running index the queues start from (the lab starts near 65535 to force wrap-around). */
  startIdx: number;
  /** Guest-physical region for TCP segmentation-offload super-frames (one 64 KiB slot per ring entry). */
  gsoBase?: number;
}

export const RX_BUFFER_SIZE = 2048;
const ZERO_NET_HDR = new Uint8Array(S.NET_HDR_SIZE);
/** Ethernet + IPv4 + TCP headers of a TSO super-frame, repeated in every segment (§5.1.6.2 hdr_len). */
export const TSO_HDR_LEN = 54;
const GSO_SLOT = 65_536;
/** Bytes of a super-frame (headers + payload), made once; a send copies them into guest RAM. */
const SUPER = (() => {
  const b = new Uint8Array(GSO_SLOT);
  let x = 0x9e3779b9;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();
const NAPI_BUDGET = 64;
const PAIR_STRIDE = 0x80000;

/** Where pair `p`'s structures live. */
export function pairLayout(cfg: Pick<VirtioDriverConfig, 'ringBase' | 'rxBufferBase' | 'queueSize'>, p: number) {
  const base = cfg.ringBase + p * PAIR_STRIDE;
  const rx = layoutQueue(base, cfg.queueSize);
  const tx = layoutQueue(base + 0x20000, cfg.queueSize);
  return {
    rx,
    tx,
    txHeaders: base + 0x40000,
    indirect: base + 0x50000,
    rxBuffers: cfg.rxBufferBase + p * cfg.queueSize * RX_BUFFER_SIZE,
  };
}

export class VirtioNetDriver {
  readonly mem: GuestMemory;
  readonly cfg: VirtioDriverConfig;
  negotiated: S.Features = { lo: 0, hi: 0 };
  pairs: VirtioPair[] = [];
  /** Set when the device refused the features or a ring error was seen. */
  failure: string | undefined;
  now: () => Ns = () => 0;

  constructor(mem: GuestMemory, cfg: VirtioDriverConfig) {
    this.mem = mem;
    this.cfg = cfg;
  }

  has(bit: number): boolean {
    return S.hasFeature(this.negotiated, bit);
  }

  /** virtio 1.2 §3.1.1 driver initialization, as MMIO accesses to the common configuration. */
  *init(): GuestTask {
    const w = (off: number, value: number): GuestTask => (function* () {
      yield { op: 'mmio-write', offset: BAR.common + off, value };
    })();
    yield* w(COMMON.deviceStatus, 0);
    yield* w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE);
    yield* w(COMMON.deviceStatus, S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER);
    yield* w(COMMON.deviceFeatureSelect, 0);
    const lo = yield { op: 'mmio-read', offset: COMMON.deviceFeature };
    yield* w(COMMON.deviceFeatureSelect, 1);
    const hi = yield { op: 'mmio-read', offset: COMMON.deviceFeature };
    this.negotiated = S.featureAnd({ lo, hi }, this.cfg.wanted);
    yield* w(COMMON.driverFeatureSelect, 0);
    yield* w(COMMON.driverFeature, this.negotiated.lo);
    yield* w(COMMON.driverFeatureSelect, 1);
    yield* w(COMMON.driverFeature, this.negotiated.hi);
    const base = S.STATUS_ACKNOWLEDGE | S.STATUS_DRIVER;
    yield* w(COMMON.deviceStatus, base | S.STATUS_FEATURES_OK);
    const st = yield { op: 'mmio-read', offset: COMMON.deviceStatus };
    if (!(st & S.STATUS_FEATURES_OK)) {
      this.failure = 'the device did not accept the feature subset (FEATURES_OK did not stick)';
      yield* w(COMMON.deviceStatus, base | S.STATUS_FAILED);
      return;
    }
    const maxPairs = this.has(S.VIRTIO_NET_F_MQ) ? this.cfg.pairs : 1;
    const eventIdx = this.has(S.VIRTIO_F_EVENT_IDX);
    for (let p = 0; p < maxPairs; p++) {
      const L = pairLayout(this.cfg, p);
      for (const [q, lay] of [[S.rxQueueIndex(p), L.rx], [S.txQueueIndex(p), L.tx]] as [number, QueueLayout][]) {
        yield* w(COMMON.queueSelect, q);
        yield* w(COMMON.queueSize, this.cfg.queueSize);
        yield* w(COMMON.queueDescLo, lay.desc);
        yield* w(COMMON.queueDriverLo, lay.avail);
        yield* w(COMMON.queueDeviceLo, lay.used);
        // A poll-mode driver takes no interrupts: VIRTIO_MSI_NO_VECTOR (§4.1.5.1.2).
        yield* w(COMMON.queueMsixVector, this.cfg.pmd ? 0xffff : p);
        yield* w(COMMON.queueEnable, 1);
      }
      this.pairs.push(new VirtioPair(this, p, L, eventIdx));
    }
    // RX buffers are posted before DRIVER_OK (virtnet_open fills the rings).
    for (const pair of this.pairs) pair.fillRx();
    yield* w(COMMON.deviceStatus, base | S.STATUS_FEATURES_OK | S.STATUS_DRIVER_OK);
    // virtnet_open: kick each RX queue for the buffers just posted, if the device wants it.
    for (const pair of this.pairs) {
      if (pair.rx.kickPrepare()) yield { op: 'mmio-write', offset: BAR.notify + BAR.notifyMultiplier * S.rxQueueIndex(pair.index), value: S.rxQueueIndex(pair.index) };
    }
  }
}

interface TxToken {
  pkt: number;
}

/** One queue pair: a TX and an RX virtqueue and the NAPI context that serves them. */
export class VirtioPair {
  readonly drv: VirtioNetDriver;
  readonly index: number;
  readonly tx: DriverQueue<TxToken>;
  readonly rx: DriverQueue<number>;
  readonly layout: ReturnType<typeof pairLayout>;
  /** Workload callbacks. */
  onRxFrame: (bytes: Uint8Array, t: Ns) => void = () => {};
  onTxReclaimed: (pkt: number) => void = () => {};
  /** A TX chain was made available: its head, the avail index it went in at, and whether it is indirect. */
  onTxAdded: (frame: GuestFrame, head: number, availIdx: number, indirect: boolean) => void = () => {};
  reclaimed = 0;
  framesQueued = 0;
  stopped = false;
  #unkicked = 0;

  constructor(drv: VirtioNetDriver, index: number, layout: ReturnType<typeof pairLayout>, eventIdx: boolean) {
    this.drv = drv;
    this.index = index;
    this.layout = layout;
    const start = drv.cfg.startIdx;
    this.tx = new DriverQueue(drv.mem, layout.tx, { eventIdx, indirectBase: layout.indirect, maxIndirect: 8, startIdx: start });
    this.rx = new DriverQueue(drv.mem, layout.rx, { eventIdx, startIdx: start });
    // TX completions are reaped in start_xmit; interrupts only when the queue stops.
    this.tx.disableCb();
    if (drv.cfg.pmd) this.rx.disableCb();
  }

  get notifyOffset(): number {
    return BAR.notify + BAR.notifyMultiplier * S.txQueueIndex(this.index);
  }

  /** Post RX buffers until the ring is full (try_fill_recv); returns how many were added. */
  fillRx(): number {
    let n = 0;
    while (this.rx.numFree > 0) {
      const slot = (this.rx.availIdx + n) % this.drv.cfg.queueSize;
      const addr = this.layout.rxBuffers + slot * RX_BUFFER_SIZE;
      if (!this.rx.add([], [{ addr, len: RX_BUFFER_SIZE }], slot)) break;
      n++;
    }
    return n;
  }

  /** Free TX descriptors (a frame needs 1 with indirect, else 1 + fragments). */
  txFree(): number {
    return this.tx.numFree;
  }

  descriptorsFor(frame: GuestFrame): number {
    const parts = 1 + frame.fragments.length;
    return this.drv.cfg.indirect && this.drv.has(S.VIRTIO_F_INDIRECT_DESC) && frame.fragments.length >= 2 ? 1 : parts;
  }

  /** free_old_xmit: reclaim every TX buffer the device has used. */
  reclaimTx(): number {
    let n = 0;
    for (;;) {
      const r = this.#get(this.tx);
      if (!r) break;
      this.reclaimed++;
      this.onTxReclaimed(r.token.pkt);
      n++;
    }
    return n;
  }

  #get<T>(q: DriverQueue<T>): { token: T; len: number } | undefined {
    try {
      return q.getBuf();
    } catch (e) {
      if (e instanceof DriverRingError) {
        this.drv.failure ??= `virtio-net driver: ${e.message}`;
        return undefined;
      }
      throw e;
    }
  }

  /**
   * start_xmit for one frame: reclaim, write the header and frame into guest RAM, add the chain,
   * and kick unless `more` frames follow or the device suppressed notifications. Returns false
   * (having added nothing) when the ring is full: the caller stops the queue.
   */
  *xmit(frame: GuestFrame, more: boolean): Generator<import('../hv/guest-ops.ts').GuestOp, boolean, number> {
    const pmd = this.drv.cfg.pmd;
    const cost = pmd ? COSTS.pmdGuestPerPacket.ns : COSTS.guestXmitPerPacket.ns + COSTS.guestVirtioAdd.ns;
    yield { op: 'compute', ns: cost, kind: pmd ? 'guest-pmd-tx' : 'guest-xmit', label: `${pmd ? 'virtio PMD tx_burst' : 'start_xmit'}: frame ${frame.pkt}`, pkt: frame.pkt };
    const reclaimed = this.reclaimTx();
    if (reclaimed > 0) yield { op: 'compute', ns: COSTS.guestTxCleanPerDesc.ns * reclaimed, kind: 'guest-tx-clean', label: `free_old_xmit: ${reclaimed} buffers` };
    if (this.tx.numFree < this.descriptorsFor(frame)) {
      if (this.#unkicked > 0) yield* this.kick(frame.pkt);
      return false;
    }
    const hdrAddr = this.layout.txHeaders + S.NET_HDR_SIZE * (this.framesQueued % this.drv.cfg.queueSize);
    const mem = this.drv.mem;
    mem.write(hdrAddr, ZERO_NET_HDR); // flags 0, GSO_NONE: no offloads requested
    let off = 0;
    for (const f of frame.fragments) {
      mem.write(f.gpa, frame.bytes.subarray(off, off + f.len));
      off += f.len;
    }
    const out = [{ addr: hdrAddr, len: S.NET_HDR_SIZE }, ...frame.fragments.map((f) => ({ addr: f.gpa, len: f.len }))];
    // Like Linux, indirect only pays for chains of several parts (here: header + 2 or more fragments).
    const useIndirect = this.drv.cfg.indirect && this.drv.has(S.VIRTIO_F_INDIRECT_DESC) && frame.fragments.length >= 2;
    const head = this.tx.peekFreeHead();
    const availSlot = this.tx.availIdx;
    this.tx.add(out, [], { pkt: frame.pkt }, useIndirect);
    this.onTxAdded(frame, head, availSlot, useIndirect);
    this.framesQueued++;
    this.#unkicked++;
    if (!more) yield* this.kick(frame.pkt);
    return true;
  }

  /**
   * start_xmit for a TCP super-frame with segmentation offloaded (VIRTIO_NET_F_HOST_TSO4): one
   * header asking for GSO_TCPV4 with `mss`-byte segments, then up to 64 KiB of headers + payload
   * in one buffer. The guest pays its stack once per super-frame, plus the send() copy.
   */
  *xmitGso(pkt: number, payloadBytes: number, mss: number, more: boolean): Generator<import('../hv/guest-ops.ts').GuestOp, boolean, number> {
    const len = TSO_HDR_LEN + payloadBytes;
    yield { op: 'compute', ns: COSTS.guestXmitPerPacket.ns + COSTS.guestVirtioAdd.ns + copyCost(payloadBytes), kind: 'guest-xmit', label: `start_xmit: TSO super-frame ${pkt} (${len} B, MSS ${mss})`, pkt };
    const reclaimed = this.reclaimTx();
    if (reclaimed > 0) yield { op: 'compute', ns: COSTS.guestTxCleanPerDesc.ns * reclaimed, kind: 'guest-tx-clean', label: `free_old_xmit: ${reclaimed} buffers` };
    if (this.tx.numFree < 2) {
      if (this.#unkicked > 0) yield* this.kick(pkt);
      return false;
    }
    const mem = this.drv.mem;
    const slot = this.framesQueued % this.drv.cfg.queueSize;
    const hdrAddr = this.layout.txHeaders + S.NET_HDR_SIZE * slot;
    const data = (this.drv.cfg.gsoBase ?? 0) + GSO_SLOT * (this.index * this.drv.cfg.queueSize + slot);
    const hdr = new Uint8Array(S.NET_HDR_SIZE);
    hdr[S.NET_HDR.flags] = S.NET_HDR_F_NEEDS_CSUM;
    hdr[S.NET_HDR.gsoType] = S.NET_HDR_GSO_TCPV4;
    hdr[S.NET_HDR.hdrLen] = TSO_HDR_LEN;
    hdr[S.NET_HDR.gsoSize] = mss & 0xff;
    hdr[S.NET_HDR.gsoSize + 1] = mss >>> 8;
    hdr[S.NET_HDR.csumStart] = 34; // TCP header after Ethernet (14) + IPv4 (20)
    hdr[S.NET_HDR.csumOffset] = 16; // the TCP checksum field
    mem.write(hdrAddr, hdr);
    const bytes = SUPER.subarray(0, len);
    bytes[14] = (pkt >>> 24) & 0xff;
    bytes[15] = (pkt >>> 16) & 0xff;
    bytes[16] = (pkt >>> 8) & 0xff;
    bytes[17] = pkt & 0xff;
    mem.write(data, bytes);
    this.tx.add([{ addr: hdrAddr, len: S.NET_HDR_SIZE }, { addr: data, len }], [], { pkt }, false);
    this.framesQueued++;
    this.#unkicked++;
    if (!more) yield* this.kick(pkt);
    return true;
  }

  /** virtqueue_kick: notify the device if it wants to hear about the buffers added. */
  *kick(pkt?: number): GuestTask {
    this.#unkicked = 0;
    if (this.tx.kickPrepare()) yield { op: 'mmio-write', offset: this.notifyOffset, value: S.txQueueIndex(this.index), pkt };
  }

  /**
   * The TX ring is full: stop the queue and ask for an interrupt after most outstanding buffers
   * complete. Returns true when the caller may wait (no race), false to retry at once.
   */
  stopQueue(): boolean {
    this.stopped = true;
    if (this.drv.cfg.pmd) return false;
    if (!this.tx.enableCbDelayed()) {
      this.tx.disableCb();
      return false;
    }
    return true;
  }

  /** The MSI-X handler and the NAPI poll it schedules (vring_interrupt → virtnet_poll). */
  *interrupt(): GuestTask {
    yield { op: 'compute', ns: COSTS.guestIsr.ns, kind: 'guest-isr', label: 'vring_interrupt → napi_schedule' };
    yield { op: 'eoi', edge: true };
    this.rx.disableCb();
    for (;;) {
      yield { op: 'compute', ns: COSTS.guestNapiPoll.ns, kind: 'guest-napi', label: 'virtnet_poll' };
      const got = yield* this.receive(NAPI_BUDGET);
      if (this.stopped) {
        const n = this.reclaimTx();
        if (n > 0) {
          this.stopped = false;
          this.tx.disableCb();
          yield { op: 'compute', ns: COSTS.guestTxCleanPerDesc.ns * n, kind: 'guest-tx-clean', label: `TX completion: ${n} buffers, wake queue` };
        }
      }
      if (got >= NAPI_BUDGET) continue;
      // napi_complete_done → virtqueue_enable_cb: re-check closes the race window.
      if (this.rx.enableCb()) break;
      this.rx.disableCb();
      yield { op: 'compute', ns: 50, kind: 'guest-napi', label: 'race: buffer used while re-enabling, poll again' };
    }
  }

  /** Take up to `budget` received frames, deliver them, refill and kick RX if needed. */
  *receive(budget: number): Generator<import('../hv/guest-ops.ts').GuestOp, number, number> {
    let got = 0;
    const pmd = this.drv.cfg.pmd;
    while (got < budget) {
      const r = this.#get(this.rx);
      if (!r) break;
      got++;
      const addr = this.layout.rxBuffers + r.token * RX_BUFFER_SIZE;
      const len = Math.max(0, Math.min(r.len, RX_BUFFER_SIZE) - S.NET_HDR_SIZE);
      const bytes = this.drv.mem.read(addr + S.NET_HDR_SIZE, len);
      const cost = pmd ? COSTS.pmdGuestPerPacket.ns : COSTS.guestRxPerPacket.ns + copyCost(0);
      yield { op: 'compute', ns: cost, kind: pmd ? 'guest-pmd-rx' : 'guest-rx', label: `receive ${len} B` };
      this.onRxFrame(bytes, this.drv.now());
    }
    if (got > 0) {
      this.fillRx();
      if (this.rx.kickPrepare()) yield { op: 'mmio-write', offset: BAR.notify + BAR.notifyMultiplier * S.rxQueueIndex(this.index), value: S.rxQueueIndex(this.index) };
    }
    return got;
  }
}
