/**
 * The split virtqueue in guest memory, both sides of it (virtio 1.2 §2.7):
 *   DeviceQueue — what a device (QEMU, vhost, a poll-mode backend) does: read avail, walk chains,
 *                 write used, decide on interrupts, suppress kicks. Never throws on guest input:
 *                 a malformed chain is returned as a RingError with a reason, and the device
 *                 model sets NEEDS_RESET (§2.1.2).
 *   DriverQueue — what Linux's drivers/virtio/virtio_ring.c does: a free list of descriptors,
 *                 add buffers (direct or indirect), kick decisions, reclaim used buffers, enable
 *                 and disable callbacks.
 * Every structure lives in GuestMemory at its real offset, little-endian (spec.ts has the layout).
 *
 * Simplification (STYLE.md §3.5): memory barriers are implicit — the simulator is sequentially
 * consistent, so the orderings §2.7.13 requires hold by construction. The race the barriers
 * protect against (a buffer made available just as the other side re-enables notifications) is
 * still modelled in time, because the two sides run on different simulated threads.
 */
import type { GuestMemory } from '../memory.ts';
import * as S from './spec.ts';

export interface QueueLayout {
  size: number;
  /** Guest-physical addresses of the three parts (§2.7: descriptor area, driver area, device area). */
  desc: number;
  avail: number;
  used: number;
}

/** Lay out a queue from `base` with each part at its §2.7 alignment (packed, as Linux's vring_init would with align 4). */
export function layoutQueue(base: number, size: number): QueueLayout {
  const align = (v: number, a: number): number => Math.ceil(v / a) * a;
  const desc = align(base, S.DESC_ALIGN);
  const avail = align(desc + S.descTableBytes(size), S.AVAIL_ALIGN);
  const used = align(avail + S.availRingBytes(size), S.USED_ALIGN);
  return { size, desc, avail, used };
}

export const queueBytes = (l: QueueLayout): number => l.used + S.usedRingBytes(l.size) - l.desc;

/** One buffer of a chain, as the device sees it. */
export interface Segment {
  addr: number;
  len: number;
  /** Device-writable (VIRTQ_DESC_F_WRITE). */
  write: boolean;
}

export interface Chain {
  head: number;
  segments: Segment[];
  readableBytes: number;
  writableBytes: number;
  /** Descriptors visited (ring + indirect), for costs. */
  descriptors: number;
  indirect: boolean;
}

export interface RingError {
  code: 'head-out-of-range' | 'next-out-of-range' | 'chain-too-long' | 'indirect-with-next' | 'nested-indirect'
    | 'bad-indirect-len' | 'indirect-not-negotiated' | 'readable-after-writable' | 'buffer-outside-memory' | 'avail-idx-jump' | 'zero-length';
  message: string;
}

export type PopResult = { ok: true; chain: Chain } | { ok: false; error: RingError };

/** Device side of one split virtqueue. */
export class DeviceQueue {
  readonly mem: GuestMemory;
  readonly layout: QueueLayout;
  /** VIRTIO_F_EVENT_IDX negotiated. */
  readonly eventIdx: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated. */
  readonly indirect: boolean;
  /** Next avail entry to process (QEMU last_avail_idx). */
  lastAvail = 0;
  /** Shadow of used.idx (QEMU used_idx). */
  usedIdx = 0;
  /** used.idx when the driver was last interrupted (vhost signalled_used). */
  #signalledUsed = 0;
  #signalledValid = false;

  constructor(mem: GuestMemory, layout: QueueLayout, opts: { eventIdx: boolean; indirect: boolean; startIdx?: number }) {
    this.mem = mem;
    this.layout = layout;
    this.eventIdx = opts.eventIdx;
    this.indirect = opts.indirect;
    this.lastAvail = opts.startIdx ?? 0;
    this.usedIdx = opts.startIdx ?? 0;
    this.#signalledUsed = this.usedIdx;
  }

  get size(): number {
    return this.layout.size;
  }

  /** avail.idx as the driver last published it. */
  availIdx(): number {
    return this.mem.read16(this.layout.avail + S.AVAIL_IDX);
  }

  /** Chains the driver made available that the device has not taken yet. */
  pending(): number {
    return S.wrap16(this.availIdx() - this.lastAvail);
  }

  availFlags(): number {
    return this.mem.read16(this.layout.avail + S.AVAIL_FLAGS);
  }

  usedEvent(): number {
    return this.mem.read16(this.layout.avail + S.usedEventOffset(this.layout.size));
  }

  /** Take the next available chain (§2.7.6, §2.7.5), or undefined when none is pending. */
  pop(): PopResult | undefined {
    const n = this.pending();
    if (n === 0) return undefined;
    if (n > this.layout.size) {
      return fail('avail-idx-jump', `avail.idx is ${this.availIdx()} but the device has only taken ${this.lastAvail}: ${n} new entries in a queue of ${this.layout.size}`);
    }
    const slot = this.lastAvail % this.layout.size;
    const head = this.mem.read16(this.layout.avail + S.AVAIL_RING + S.AVAIL_ELEM_SIZE * slot);
    const r = this.walk(head);
    if (r.ok) this.lastAvail = S.wrap16(this.lastAvail + 1);
    return r;
  }

  /** Follow a chain from `head` through NEXT and at most one INDIRECT table, validating as §2.7.5 requires. */
  walk(head: number): PopResult {
    const size = this.layout.size;
    if (head >= size) return fail('head-out-of-range', `avail ring entry names descriptor ${head}, out of range for queue size ${size}`);
    const chain: Chain = { head, segments: [], readableBytes: 0, writableBytes: 0, descriptors: 0, indirect: false };
    let table = this.layout.desc;
    let tableLen = size;
    let i = head;
    let inIndirect = false;
    let seenWrite = false;
    let steps = 0;
    for (;;) {
      chain.descriptors++;
      if (++steps > tableLen) {
        return fail('chain-too-long', `the chain from head ${head} is longer than ${inIndirect ? 'its indirect table' : `the queue size (${size})`}: a NEXT loop?`);
      }
      const d = table + S.DESC_SIZE * i;
      const addr = this.mem.read64(d + S.DESC_ADDR);
      const len = this.mem.read32(d + S.DESC_LEN);
      const flags = this.mem.read16(d + S.DESC_FLAGS);
      const next = this.mem.read16(d + S.DESC_NEXT);
      if (flags & S.VIRTQ_DESC_F_INDIRECT) {
        if (inIndirect) return fail('nested-indirect', `descriptor ${i} of the indirect table of head ${head} is itself INDIRECT (§2.7.5.3.1 forbids nesting)`);
        if (!this.indirect) return fail('indirect-not-negotiated', `descriptor ${i} is INDIRECT but VIRTIO_F_INDIRECT_DESC was not negotiated`);
        if (flags & S.VIRTQ_DESC_F_NEXT) return fail('indirect-with-next', `descriptor ${i} sets both INDIRECT and NEXT (§2.7.5.3.1 forbids it)`);
        if (len === 0 || len % S.DESC_SIZE !== 0) return fail('bad-indirect-len', `indirect descriptor ${i} has length ${len}, not a non-zero multiple of 16`);
        if (!this.mem.contains(addr, len)) return fail('buffer-outside-memory', `indirect table at 0x${addr.toString(16)} (+${len}) lies outside guest memory`);
        table = addr;
        tableLen = len / S.DESC_SIZE;
        i = 0;
        steps = 0;
        inIndirect = true;
        chain.indirect = true;
        continue;
      }
      if (!this.mem.contains(addr, len)) return fail('buffer-outside-memory', `descriptor ${i} points at 0x${addr.toString(16)} (+${len}), outside guest memory`);
      const write = (flags & S.VIRTQ_DESC_F_WRITE) !== 0;
      if (!write && seenWrite) return fail('readable-after-writable', `descriptor ${i} is device-readable after a device-writable one (§2.7.4.2)`);
      if (len === 0) return fail('zero-length', `descriptor ${i} has length 0`);
      seenWrite ||= write;
      chain.segments.push({ addr, len, write });
      if (write) chain.writableBytes += len;
      else chain.readableBytes += len;
      if (!(flags & S.VIRTQ_DESC_F_NEXT)) return { ok: true, chain };
      if (next >= tableLen) {
        return fail('next-out-of-range', `descriptor ${i} continues to ${next}, out of range for ${inIndirect ? `an indirect table of ${tableLen}` : `queue size ${size}`}`);
      }
      i = next;
    }
  }

  /** Put a used element and publish used.idx (§2.7.8; QEMU virtqueue_push = fill + flush). */
  addUsed(head: number, len: number): void {
    const slot = this.usedIdx % this.layout.size;
    const e = this.layout.used + S.USED_RING + S.USED_ELEM_SIZE * slot;
    this.mem.write32(e, head >>> 0);
    this.mem.write32(e + 4, len >>> 0);
    this.usedIdx = S.wrap16(this.usedIdx + 1);
    this.mem.write16(this.layout.used + S.USED_IDX, this.usedIdx);
  }

  /**
   * Should the device interrupt the driver now (§2.7.7, vhost_notify)? With EVENT_IDX: iff
   * used_event lies in (last signalled used.idx, current used.idx]; else unless the driver set
   * VIRTQ_AVAIL_F_NO_INTERRUPT. Records the decision point when it answers yes.
   */
  shouldInterrupt(): boolean {
    let yes: boolean;
    if (this.eventIdx) {
      const old = this.#signalledUsed;
      const valid = this.#signalledValid;
      yes = !valid || S.vringNeedEvent(this.usedEvent(), this.usedIdx, old);
      if (!valid && this.usedIdx === old) yes = false;
    } else {
      yes = (this.availFlags() & S.VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    }
    this.#signalledUsed = this.usedIdx;
    this.#signalledValid = true;
    return yes;
  }

  /**
   * Ask the driver not to kick: used.flags NO_NOTIFY, or with EVENT_IDX (where the flag is
   * ignored, §2.7.10) park avail_event just behind last_avail_idx, a point the driver has already
   * passed, so no window [old, new) contains it until the index wraps all the way round.
   * (vhost merely stops moving avail_event, which allows one more kick when it is passed.)
   */
  disableKicks(): void {
    if (!this.eventIdx) this.mem.write16(this.layout.used + S.USED_FLAGS, S.VIRTQ_USED_F_NO_NOTIFY);
    else this.mem.write16(this.layout.used + S.availEventOffset(this.layout.size), S.wrap16(this.lastAvail - 1));
  }

  /**
   * Ask for a kick at the next buffer (vhost_enable_notify): clear NO_NOTIFY, or set avail_event
   * to last_avail_idx. Returns true when buffers arrived meanwhile (the caller must look again
   * instead of sleeping: the re-check that closes the race window).
   */
  enableKicks(): boolean {
    if (this.eventIdx) this.mem.write16(this.layout.used + S.availEventOffset(this.layout.size), this.lastAvail);
    else this.mem.write16(this.layout.used + S.USED_FLAGS, 0);
    return this.pending() > 0;
  }

  /** Reset device-side state to the driver's current indices (after a reset/re-enable). */
  resync(idx: number): void {
    this.lastAvail = idx;
    this.usedIdx = idx;
    this.#signalledUsed = idx;
    this.#signalledValid = false;
  }
}

function fail(code: RingError['code'], message: string): PopResult {
  return { ok: false, error: { code, message } };
}

/** A guest buffer handed to the driver queue: out = device-readable, in = device-writable. */
export interface Buf {
  addr: number;
  len: number;
}

/** Driver side of one split virtqueue (Linux drivers/virtio/virtio_ring.c, split variant). */
export class DriverQueue<T> {
  readonly mem: GuestMemory;
  readonly layout: QueueLayout;
  readonly eventIdx: boolean;
  /** Where indirect tables live: one slot of `indirectSlotBytes` per head descriptor. */
  readonly indirectBase: number;
  readonly indirectSlotBytes: number;
  #freeHead = 0;
  numFree: number;
  /** avail.idx shadow (vq->split.avail_idx_shadow). */
  #availShadow = 0;
  #numAdded = 0;
  lastUsed = 0;
  #cbDisabled = false;
  #tokens: (T | undefined)[];
  #chainLen: number[];

  constructor(mem: GuestMemory, layout: QueueLayout, opts: { eventIdx: boolean; indirectBase?: number; maxIndirect?: number; startIdx?: number }) {
    this.mem = mem;
    this.layout = layout;
    this.eventIdx = opts.eventIdx;
    this.indirectBase = opts.indirectBase ?? 0;
    this.indirectSlotBytes = S.DESC_SIZE * (opts.maxIndirect ?? 8);
    const size = layout.size;
    this.numFree = size;
    this.#tokens = new Array<T | undefined>(size).fill(undefined);
    this.#chainLen = new Array<number>(size).fill(0);
    for (let i = 0; i < size; i++) this.mem.write16(layout.desc + S.DESC_SIZE * i + S.DESC_NEXT, (i + 1) % size);
    const start = S.wrap16(opts.startIdx ?? 0);
    this.#availShadow = start;
    this.lastUsed = start;
    this.mem.write16(layout.avail + S.AVAIL_IDX, start);
    this.mem.write16(layout.used + S.USED_IDX, start);
    this.mem.write16(layout.avail + S.AVAIL_FLAGS, 0);
    this.mem.write16(layout.avail + S.usedEventOffset(size), start);
    // Ring memory starts out describing the base index (a zeroed ring when start = 0): the
    // device's avail_event too, as if it had resumed at this base (VHOST_SET_VRING_BASE).
    this.mem.write16(layout.used + S.availEventOffset(size), start);
  }

  /** The descriptor the next add() will use as its head. */
  peekFreeHead(): number {
    return this.#freeHead;
  }

  /** Buffers the driver has made available and not yet reclaimed. */
  get inFlight(): number {
    return S.wrap16(this.#availShadow - this.lastUsed);
  }

  get availIdx(): number {
    return this.#availShadow;
  }

  /**
   * Expose a chain: `out` buffers (device-readable) then `in` buffers (device-writable)
   * (virtqueue_add_split). With `indirect`, one ring descriptor points at a table of them.
   * Returns false when there are not enough free descriptors.
   */
  add(out: Buf[], inb: Buf[], token: T, indirect = false): boolean {
    const total = out.length + inb.length;
    if (total === 0) throw new Error('a virtqueue buffer needs at least one segment');
    const useIndirect = indirect && total > 1 && this.indirectBase > 0 && total * S.DESC_SIZE <= this.indirectSlotBytes;
    const needed = useIndirect ? 1 : total;
    if (this.numFree < needed) return false;
    const head = this.#freeHead;
    const desc = (i: number): number => this.layout.desc + S.DESC_SIZE * i;
    const writeDesc = (at: number, b: Buf, flags: number, next: number): void => {
      this.mem.write64(at + S.DESC_ADDR, b.addr);
      this.mem.write32(at + S.DESC_LEN, b.len);
      this.mem.write16(at + S.DESC_FLAGS, flags);
      this.mem.write16(at + S.DESC_NEXT, next);
    };
    const all = [...out.map((b) => ({ b, w: 0 })), ...inb.map((b) => ({ b, w: S.VIRTQ_DESC_F_WRITE }))];
    if (useIndirect) {
      const table = this.indirectBase + head * this.indirectSlotBytes;
      all.forEach(({ b, w }, k) => {
        const last = k === all.length - 1;
        writeDesc(table + S.DESC_SIZE * k, b, w | (last ? 0 : S.VIRTQ_DESC_F_NEXT), last ? 0 : k + 1);
      });
      const nextFree = this.mem.read16(desc(head) + S.DESC_NEXT);
      writeDesc(desc(head), { addr: table, len: all.length * S.DESC_SIZE }, S.VIRTQ_DESC_F_INDIRECT, nextFree);
      this.#freeHead = nextFree;
    } else {
      let i = head;
      all.forEach(({ b, w }, k) => {
        const last = k === all.length - 1;
        const next = this.mem.read16(desc(i) + S.DESC_NEXT);
        writeDesc(desc(i), b, w | (last ? 0 : S.VIRTQ_DESC_F_NEXT), next);
        if (!last) i = next;
        else this.#freeHead = next;
      });
    }
    this.numFree -= needed;
    this.#tokens[head] = token;
    this.#chainLen[head] = needed;
    // §2.7.13 steps 2–4: put the head in the next ring slot, then publish idx.
    const slot = this.#availShadow % this.layout.size;
    this.mem.write16(this.layout.avail + S.AVAIL_RING + S.AVAIL_ELEM_SIZE * slot, head);
    this.#availShadow = S.wrap16(this.#availShadow + 1);
    this.mem.write16(this.layout.avail + S.AVAIL_IDX, this.#availShadow);
    this.#numAdded++;
    return true;
  }

  /**
   * §2.7.13 steps 6–7 (virtqueue_kick_prepare): must the driver notify the device about what it
   * added since the last call? With EVENT_IDX: vring_need_event(avail_event, new, old); else
   * unless the device set VIRTQ_USED_F_NO_NOTIFY.
   */
  kickPrepare(): boolean {
    const newIdx = this.#availShadow;
    const old = S.wrap16(newIdx - this.#numAdded);
    this.#numAdded = 0;
    if (newIdx === old) return false;
    if (this.eventIdx) {
      const availEvent = this.mem.read16(this.layout.used + S.availEventOffset(this.layout.size));
      return S.vringNeedEvent(availEvent, newIdx, old);
    }
    return (this.mem.read16(this.layout.used + S.USED_FLAGS) & S.VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** Used buffers not yet reclaimed (virtqueue_more_used). */
  moreUsed(): boolean {
    return this.lastUsed !== this.mem.read16(this.layout.used + S.USED_IDX);
  }

  /**
   * Reclaim the next used buffer (virtqueue_get_buf): returns its token and the length the
   * device wrote, or undefined. A used id the driver never made available throws: the caller
   * (the guest driver) reports a device bug, as Linux's BAD_RING does.
   */
  getBuf(): { token: T; len: number; head: number } | undefined {
    if (!this.moreUsed()) return undefined;
    const slot = this.lastUsed % this.layout.size;
    const e = this.layout.used + S.USED_RING + S.USED_ELEM_SIZE * slot;
    const head = this.mem.read32(e);
    const len = this.mem.read32(e + 4);
    const token = head < this.layout.size ? this.#tokens[head] : undefined;
    if (token === undefined) throw new DriverRingError(`used ring entry ${this.lastUsed} names descriptor ${head}, which is not a buffer the driver made available`);
    this.#tokens[head] = undefined;
    // Return the chain's descriptors to the free list.
    let n = this.#chainLen[head]!;
    let last = head;
    while (n > 1) {
      last = this.mem.read16(this.layout.desc + S.DESC_SIZE * last + S.DESC_NEXT);
      n--;
    }
    this.mem.write16(this.layout.desc + S.DESC_SIZE * last + S.DESC_NEXT, this.#freeHead);
    this.#freeHead = head;
    this.numFree += this.#chainLen[head]!;
    this.#chainLen[head] = 0;
    this.lastUsed = S.wrap16(this.lastUsed + 1);
    // With EVENT_IDX and callbacks on, move used_event along (virtqueue_get_buf_ctx_split).
    if (this.eventIdx && !this.#cbDisabled) this.#writeUsedEvent(this.lastUsed);
    return { token, len, head };
  }

  /** virtqueue_disable_cb: ask for no interrupts (advisory). */
  disableCb(): void {
    this.#cbDisabled = true;
    if (!this.eventIdx) this.mem.write16(this.layout.avail + S.AVAIL_FLAGS, S.VIRTQ_AVAIL_F_NO_INTERRUPT);
    // With EVENT_IDX the flag is ignored (§2.7.7): park used_event just behind the last used
    // entry, a point the device has already passed, so no window [old, new) contains it until
    // the index wraps all the way round. (Linux writes a fixed "hack" value here; the effect,
    // best-effort suppression that tolerates a spurious interrupt, is the same.)
    else this.#writeUsedEvent(S.wrap16(this.lastUsed - 1));
  }

  /**
   * virtqueue_enable_cb: ask for an interrupt at the next used buffer, then re-check. Returns
   * true when nothing is pending (safe to wait); false when buffers were used meanwhile — the
   * race window of §2.7.7 note: the caller must poll again instead of waiting.
   */
  enableCb(): boolean {
    this.#cbDisabled = false;
    if (this.eventIdx) this.#writeUsedEvent(this.lastUsed);
    else this.mem.write16(this.layout.avail + S.AVAIL_FLAGS, 0);
    return !this.moreUsed();
  }

  /**
   * virtqueue_enable_cb_delayed: with EVENT_IDX, ask for the interrupt only after ¾ of the
   * outstanding buffers are used (used by TX to batch completions). Same return as enableCb.
   */
  enableCbDelayed(): boolean {
    if (!this.eventIdx) return this.enableCb();
    this.#cbDisabled = false;
    const bufs = Math.floor((3 * this.inFlight) / 4);
    this.#writeUsedEvent(S.wrap16(this.lastUsed + bufs));
    return S.wrap16(this.mem.read16(this.layout.used + S.USED_IDX) - this.lastUsed) <= bufs;
  }

  #writeUsedEvent(v: number): void {
    this.mem.write16(this.layout.avail + S.usedEventOffset(this.layout.size), v);
  }
}

export class DriverRingError extends Error {
  override name = 'DriverRingError';
}
