/**
 * The SR-IOV NIC's embedded switch, a Virtual Ethernet Bridge (DESIGN.md §3 model 4;
 * CALIBRATION §3.5 "VEB"), between one physical port and the pools of the PF and its VFs, plus
 * the two links every pool shares: the port's wire and the PCIe link (serial resources, so
 * throughput emerges from whichever is busiest).
 *
 * Frames are real Ethernet bytes: destination MAC 0–5, source 6–11, an optional 802.1Q tag
 * (TPID 0x8100 at 12, VID in the low 12 bits of 14–15). Per pool (82599 datasheet §7.10 "virtual
 * pools" [R]): one unicast MAC filter, a VLAN filter set, multicast addresses, anti-spoofing
 * (the pool's TX source MAC and VLAN must be its own; otherwise the frame is dropped and counted,
 * like the 82599's SSVPC spoofed-packet counter [R]) and a TX rate limit (a token bucket in
 * virtual time that delays, not drops: the 82599's per-queue RTTBCNRC pacing [R]).
 *
 * Switching: a frame a VF sends crosses PCIe host→device (the VF's DMA read), then the VEB looks
 * up its destination. A unicast to another pool's MAC (same VLAN) hairpins: it never reaches the
 * wire and crosses PCIe a second time device→host into that pool. Anything else goes out of the
 * port; broadcast and multicast also reach every other pool that accepts them. A frame from the
 * wire goes to the pool whose filters match (or, if none, is dropped as "no pool").
 * Model choice: a promiscuous PF pool receives a copy of every frame the switch forwards (from
 * the wire, and VF to VF), i.e. a mirror; real parts differ in what PF promiscuity covers.
 */
import { COSTS, PCIE_TLP, wireTime } from '../../sim/costs.ts';
import type { Ns } from '../../sim/time.ts';
import type { HostEnv } from '../../hv/host.ts';
import type { ResourceSlot } from '../../sim/metrics.ts';

export const ETH_P_8021Q = 0x8100;
export const BROADCAST = 'ff:ff:ff:ff:ff:ff';

export const macString = (b: Uint8Array, at = 0): string =>
  Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
export const macBytes = (mac: string): Uint8Array => Uint8Array.from(mac.split(':'), (h) => parseInt(h, 16));
/** The 802.1Q VID of `frame`, or undefined when untagged. */
export const frameVlan = (frame: Uint8Array): number | undefined =>
  frame.length >= 16 && ((frame[12]! << 8) | frame[13]!) === ETH_P_8021Q ? ((frame[14]! << 8) | frame[15]!) & 0xfff : undefined;
const isMulticast = (frame: Uint8Array): boolean => (frame[0]! & 1) === 1;
/** The 12-bit multicast table index of the MAC at `frame[at]` (ixgbe_mta_vector(), filter type 0). */
export const mtaHash = (frame: Uint8Array, at = 0): number => ((frame[at + 4]! >> 4) | (frame[at + 5]! << 4)) & 0xfff;

/** Serial link in one direction (PCIe or the wire): a transfer starts when the previous one ends. */
export class SerialLink {
  #freeAt: Ns = 0;
  readonly env: HostEnv;
  readonly #slot: ResourceSlot;
  readonly #ns: (bytes: number) => Ns;
  readonly #ctx: 'nic' | 'wire';
  constructor(env: HostEnv, name: string, ctx: 'nic' | 'wire', ns: (bytes: number) => Ns) {
    this.env = env;
    this.#ctx = ctx;
    this.#slot = env.metrics.resource(name);
    this.#ns = ns;
  }
  get freeAt(): Ns {
    return this.#freeAt;
  }
  /** Occupy the link with `bytes` from `at` (or when free); returns when the transfer ends. */
  transfer(bytes: number, at: Ns): Ns {
    const start = Math.max(at, this.#freeAt);
    const dur = this.#ns(bytes);
    this.#freeAt = start + dur;
    this.env.metrics.charge(this.#ctx, this.#slot, start, dur);
    return this.#freeAt;
  }
}
/** PCIe transfer time of `bytes` at `gbytesPerSec`, with one TLP header per max payload (CALIBRATION §1.2, as hw/ixgbe/dma.ts). */
export const pcieNs = (gbytesPerSec: number) => (bytes: number): Ns =>
  Math.ceil((bytes + PCIE_TLP.overheadBytes * Math.max(1, Math.ceil(bytes / PCIE_TLP.maxPayloadBytes))) / gbytesPerSec);

export interface Pool {
  /** 'pf' or the VF index. */
  readonly id: 'pf' | number;
  mac: string | undefined;
  /** VLANs the pool accepts/may send; empty = untagged only. */
  vlans: Set<number>;
  /** Multicast table hashes (mtaHash) the pool accepts. */
  multicast: Set<number>;
  antiSpoof: boolean;
  /** PF only: receive a copy of everything the switch forwards. */
  promiscuous: boolean;
  /** TX rate limit, Mbit/s (0 = none), with the bucket's state. */
  rateMbps: number;
  bucket: { tokens: number; at: Ns };
  readonly stats: { txFrames: number; txSpoofed: number; txHairpin: number; rxFrames: number; rxBytes: number; txBytes: number };
}

export type Delivery = (pool: Pool, frame: Uint8Array, t: Ns) => void;

/** Token-bucket depth (COSTS.vebRateBurstBytes). */
const BUCKET_BYTES = COSTS.vebRateBurstBytes.ns;

export class Veb {
  readonly env: HostEnv;
  readonly pools = new Map<'pf' | number, Pool>();
  readonly pcieDown: SerialLink;
  readonly pcieUp: SerialLink;
  readonly wireTx: SerialLink;
  readonly stats = { wireTx: 0, wireRx: 0, rxNoPool: 0, hairpin: 0, spoofed: 0 };
  /** A frame handed up to a pool (after its PCIe transfer). */
  deliver: Delivery = () => {};
  /** A frame that left through the port (after its wire time). */
  uplink: (frame: Uint8Array, t: Ns) => void = () => {};

  constructor(env: HostEnv, opts: { portGbps: number; pcieGBps: number }) {
    this.env = env;
    this.pcieDown = new SerialLink(env, 'PCIe host→NIC', 'nic', pcieNs(opts.pcieGBps));
    this.pcieUp = new SerialLink(env, 'PCIe NIC→host', 'nic', pcieNs(opts.pcieGBps));
    this.wireTx = new SerialLink(env, 'wire', 'wire', (bytes) => wireTime(bytes + COSTS.wireFcsBytes.ns, opts.portGbps));
    this.addPool('pf');
  }

  addPool(id: 'pf' | number): Pool {
    const p: Pool = {
      id, mac: undefined, vlans: new Set(), multicast: new Set(), antiSpoof: id !== 'pf', promiscuous: false, rateMbps: 0,
      bucket: { tokens: BUCKET_BYTES, at: 0 },
      stats: { txFrames: 0, txSpoofed: 0, txHairpin: 0, rxFrames: 0, rxBytes: 0, txBytes: 0 },
    };
    this.pools.set(id, p);
    return p;
  }
  removePool(id: number): void {
    this.pools.delete(id);
  }
  pool(id: 'pf' | number): Pool {
    const p = this.pools.get(id);
    if (!p) throw new Error(`no pool ${id}`);
    return p;
  }

  /** Does `p`'s filter accept `frame` on receive? */
  accepts(p: Pool, frame: Uint8Array, dst = macString(frame, 0)): boolean {
    const vid = frameVlan(frame);
    if (vid !== undefined ? !p.vlans.has(vid) : p.vlans.size > 0 && p.id !== 'pf') return false;
    if (dst === BROADCAST) return true;
    return isMulticast(frame) ? p.multicast.has(mtaHash(frame)) : dst === p.mac;
  }

  /** When the rate limiter lets `bytes` leave pool `p`, refilling the bucket at the pool's rate. */
  #paced(p: Pool, bytes: number, at: Ns): Ns {
    if (!p.rateMbps) return at;
    const perNs = p.rateMbps / 8000; // bytes per ns
    const b = p.bucket;
    const now = Math.max(at, b.at);
    b.tokens = Math.min(BUCKET_BYTES, b.tokens + (now - b.at) * perNs);
    b.at = now;
    if (b.tokens >= bytes) {
      b.tokens -= bytes;
      return now;
    }
    const wait = Math.ceil((bytes - b.tokens) / perNs);
    b.tokens = 0;
    b.at = now + wait;
    return now + wait;
  }

  /**
   * Pool `from` transmits `frame` at `at` (its descriptor is done; the data is still in host
   * memory). Returns false when anti-spoofing dropped it.
   */
  transmit(from: 'pf' | number, frame: Uint8Array, at: Ns, pkt?: number): boolean {
    const p = this.pool(from);
    const src = macString(frame, 6);
    const vid = frameVlan(frame);
    const badVlan = vid !== undefined ? !p.vlans.has(vid) : false;
    if (p.antiSpoof && (src !== p.mac || badVlan)) {
      p.stats.txSpoofed++;
      this.stats.spoofed++;
      this.env.metrics.count(at, 'drops');
      this.env.trace.emit(at, 0, 'nic', 'veb-spoof', () => `VEB: pool ${from} sent ${badVlan ? `VLAN ${vid}` : `source ${src}`}, not its own (${p.mac}${p.vlans.size ? ` VLAN ${[...p.vlans].join(',')}` : ''}): dropped`, pkt);
      return false;
    }
    const inNic = this.pcieDown.transfer(frame.length, at);
    const go = this.#paced(p, frame.length, inNic);
    p.stats.txFrames++;
    p.stats.txBytes += frame.length;
    const copy = frame.slice();
    const dst = macString(copy, 0);
    const unicast = !isMulticast(copy);
    const local: Pool[] = [];
    for (const q of this.pools.values()) {
      if (q === p || (unicast && q.mac !== dst && !q.promiscuous)) continue;
      if (this.accepts(q, copy, dst) || (q.promiscuous && q.id === 'pf')) local.push(q);
    }
    const unicastHit = unicast && local.some((q) => q.mac === dst && this.accepts(q, copy, dst));
    for (const q of local) {
      const end = this.pcieUp.transfer(copy.length, go);
      if (q.mac === dst) {
        p.stats.txHairpin++;
        this.stats.hairpin++;
      }
      this.env.sched.at(end, () => this.#up(q, copy, end));
    }
    if (!unicastHit) {
      const end = this.wireTx.transfer(copy.length, go);
      this.stats.wireTx++;
      this.env.sched.at(end, () => this.uplink(copy, end));
    }
    return true;
  }

  /** A frame arrives from the wire at `at`. */
  receive(frame: Uint8Array, at: Ns): void {
    this.stats.wireRx++;
    const dst = macString(frame, 0);
    const to: Pool[] = [];
    // A unicast frame can only match a pool whose MAC is its destination (or the promiscuous PF).
    const unicast = !isMulticast(frame);
    for (const q of this.pools.values()) {
      if (unicast && q.mac !== dst && !q.promiscuous) continue;
      if (this.accepts(q, frame, dst) || (q.promiscuous && q.id === 'pf')) to.push(q);
    }
    if (!to.length) {
      this.stats.rxNoPool++;
      this.env.metrics.count(at, 'drops');
      return;
    }
    const copy = frame.slice();
    for (const q of to) {
      const end = this.pcieUp.transfer(copy.length, at);
      this.env.sched.at(end, () => this.#up(q, copy, end));
    }
  }

  #up(q: Pool, frame: Uint8Array, t: Ns): void {
    q.stats.rxFrames++;
    q.stats.rxBytes += frame.length;
    this.deliver(q, frame, t);
  }
}
