/**
 * virtio facts: constants and layouts only, no behaviour (STYLE.md §3.5 "spec/ holds facts").
 * Sources: Virtual I/O Device (VIRTIO) Version 1.2 (OASIS, 2022) — §2.1 device status, §2.2
 * feature bits, §2.7 split virtqueues, §5.1 network device, §6 reserved feature bits — and Linux's
 * uapi headers `linux/virtio_ring.h`, `linux/virtio_config.h`, `linux/virtio_net.h`, whose values
 * tests/engine/virtio-linux-headers.test.ts compares with these by compiling a C program.
 */

// ── §2.7.5 The virtqueue descriptor table ────────────────────────────────────────────────────
/** This marks a buffer as continuing via the next field. */
export const VIRTQ_DESC_F_NEXT = 1;
/** This marks a buffer as device write-only (otherwise device read-only). */
export const VIRTQ_DESC_F_WRITE = 2;
/** §2.7.5.3: the buffer contains a list of buffer descriptors (an indirect table). */
export const VIRTQ_DESC_F_INDIRECT = 4;
/** struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; } */
export const DESC_SIZE = 16;
export const DESC_ADDR = 0;
export const DESC_LEN = 8;
export const DESC_FLAGS = 12;
export const DESC_NEXT = 14;

// ── §2.7.6 The virtqueue available ring ──────────────────────────────────────────────────────
/** avail.flags: the driver asks the device not to interrupt (advisory; without EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** struct virtq_avail { le16 flags; le16 idx; le16 ring[size]; le16 used_event; } */
export const AVAIL_FLAGS = 0;
export const AVAIL_IDX = 2;
export const AVAIL_RING = 4;
export const AVAIL_ELEM_SIZE = 2;

// ── §2.7.8 The virtqueue used ring ───────────────────────────────────────────────────────────
/** used.flags: the device asks the driver not to notify (advisory; without EVENT_IDX). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;
/** struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem ring[size]; le16 avail_event; } */
export const USED_FLAGS = 0;
export const USED_IDX = 2;
export const USED_RING = 4;
/** struct virtq_used_elem { le32 id; le32 len; } */
export const USED_ELEM_SIZE = 8;

/** §2.7 table "Virtqueue Part Alignment": descriptor table 16, driver area 2, device area 4. */
export const DESC_ALIGN = 16;
export const AVAIL_ALIGN = 2;
export const USED_ALIGN = 4;
/** §2.7: "Queue Size value is always a power of 2. The maximum Queue Size value is 32768." */
export const MAX_QUEUE_SIZE = 32768;

/** §2.7 table: 16 × Queue Size. */
export const descTableBytes = (size: number): number => DESC_SIZE * size;
/** §2.7 table: 6 + 2 × Queue Size (flags, idx, ring, used_event). */
export const availRingBytes = (size: number): number => 6 + AVAIL_ELEM_SIZE * size;
/** §2.7 table: 6 + 8 × Queue Size (flags, idx, ring, avail_event). */
export const usedRingBytes = (size: number): number => 6 + USED_ELEM_SIZE * size;
/** Offset of used_event inside the available ring (Linux: vring_used_event(vr) = avail->ring[num]). */
export const usedEventOffset = (size: number): number => AVAIL_RING + AVAIL_ELEM_SIZE * size;
/** Offset of avail_event inside the used ring (Linux: vring_avail_event(vr) = used->ring[num]). */
export const availEventOffset = (size: number): number => USED_RING + USED_ELEM_SIZE * size;

/**
 * §2.7.10 / Linux `vring_need_event()`: having moved an index from `old` to `newIdx`, should we
 * notify a peer that asked to hear when `eventIdx` is passed? True iff eventIdx ∈ [old, newIdx)
 * modulo 2^16: `(u16)(new_idx - event_idx - 1) < (u16)(new_idx - old)`.
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}

/** 16-bit wrap-around of the free-running ring indices (§2.7.6: "idx … wraps naturally at 65536"). */
export const wrap16 = (n: number): number => n & 0xffff;

// ── §2.1 Device Status Field ─────────────────────────────────────────────────────────────────
export const STATUS_ACKNOWLEDGE = 1;
export const STATUS_DRIVER = 2;
export const STATUS_DRIVER_OK = 4;
export const STATUS_FEATURES_OK = 8;
export const STATUS_NEEDS_RESET = 0x40;
export const STATUS_FAILED = 0x80;

export function statusNames(s: number): string {
  const names: string[] = [];
  if (s & STATUS_ACKNOWLEDGE) names.push('ACKNOWLEDGE');
  if (s & STATUS_DRIVER) names.push('DRIVER');
  if (s & STATUS_FEATURES_OK) names.push('FEATURES_OK');
  if (s & STATUS_DRIVER_OK) names.push('DRIVER_OK');
  if (s & STATUS_NEEDS_RESET) names.push('NEEDS_RESET');
  if (s & STATUS_FAILED) names.push('FAILED');
  return names.length ? names.join('|') : 'reset (0)';
}

// ── §6 Reserved feature bits (transport) ─────────────────────────────────────────────────────
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;
export const VIRTIO_F_ACCESS_PLATFORM = 33;
export const VIRTIO_F_RING_PACKED = 34;
export const VIRTIO_F_IN_ORDER = 35;

// ── §5.1.3 Network device feature bits ───────────────────────────────────────────────────────
export const VIRTIO_NET_F_CSUM = 0;
export const VIRTIO_NET_F_GUEST_CSUM = 1;
export const VIRTIO_NET_F_MAC = 5;
export const VIRTIO_NET_F_GUEST_TSO4 = 7;
export const VIRTIO_NET_F_HOST_TSO4 = 11;
export const VIRTIO_NET_F_MRG_RXBUF = 15;
export const VIRTIO_NET_F_STATUS = 16;
export const VIRTIO_NET_F_CTRL_VQ = 17;
export const VIRTIO_NET_F_MQ = 22;
export const VIRTIO_NET_F_MTU = 3;
export const VIRTIO_NET_F_STANDBY = 62;

/** A feature set as a bigint-free pair of 32-bit words (low = bits 0–31, high = bits 32–63). */
export interface Features {
  lo: number;
  hi: number;
}
export const hasFeature = (f: Features, bit: number): boolean =>
  bit < 32 ? ((f.lo >>> bit) & 1) === 1 : ((f.hi >>> (bit - 32)) & 1) === 1;
export function features(...bits: number[]): Features {
  let lo = 0;
  let hi = 0;
  for (const b of bits) {
    if (b < 32) lo = (lo | (1 << b)) >>> 0;
    else hi = (hi | (1 << (b - 32))) >>> 0;
  }
  return { lo, hi };
}
export const featureAnd = (a: Features, b: Features): Features => ({ lo: (a.lo & b.lo) >>> 0, hi: (a.hi & b.hi) >>> 0 });
export const featureSubset = (a: Features, of: Features): boolean => ((a.lo & ~of.lo) >>> 0) === 0 && ((a.hi & ~of.hi) >>> 0) === 0;

// ── §5.1.6 Device operation: struct virtio_net_hdr (VERSION_1 ⇒ 12 bytes with num_buffers) ──
export const NET_HDR_SIZE = 12;
export const NET_HDR_F_NEEDS_CSUM = 1;
export const NET_HDR_F_DATA_VALID = 2;
export const NET_HDR_GSO_NONE = 0;
export const NET_HDR_GSO_TCPV4 = 1;
/** Field offsets: flags u8, gso_type u8, hdr_len le16, gso_size le16, csum_start le16, csum_offset le16, num_buffers le16. */
export const NET_HDR = { flags: 0, gsoType: 1, hdrLen: 2, gsoSize: 4, csumStart: 6, csumOffset: 8, numBuffers: 10 } as const;

/** §5.1.2: receiveq1 = 0, transmitq1 = 1, …, receiveqN = 2(N−1), transmitqN = 2(N−1)+1. */
export const rxQueueIndex = (pair: number): number => 2 * pair;
export const txQueueIndex = (pair: number): number => 2 * pair + 1;
