/**
 * Frames the guest sends: an Ethernet header, a 4-byte sequence number, then seeded payload
 * bytes. Buffers are spread over a region of guest RAM through a seeded permutation of 2 KiB
 * slots, so every seed puts them at different guest-physical addresses.
 */
import type { Rng } from '../sim/rng.ts';
import type { GuestFrame } from './e1000-driver.ts';

export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const PEER_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const SLOT = 2048;

export class FrameMaker {
  #slots: number[];
  #next = 0;

  readonly rng: Rng;
  /** Start of the buffer region in guest RAM. */
  readonly regionBase: number;
  /** Probability (percent) that a frame is split over 2–3 descriptors. */
  readonly multiPercent: number;

  constructor(rng: Rng, regionBase: number, slots: number, multiPercent = 0) {
    this.rng = rng;
    this.regionBase = regionBase;
    this.multiPercent = multiPercent;
    this.#slots = Array.from({ length: slots }, (_, i) => i);
    for (let i = slots - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [this.#slots[i], this.#slots[j]] = [this.#slots[j]!, this.#slots[i]!];
    }
  }

  #slot(maxLen: number): number {
    const s = this.#slots[this.#next++ % this.#slots.length]!;
    const slack = SLOT - maxLen;
    return this.regionBase + s * SLOT + (slack > 0 ? this.rng.int(0, slack >> 1) * 2 : 0);
  }

  #scratch = new Uint8Array(1514);

  /**
   * A frame of `len` bytes (without FCS). With 'scratch' the bytes live in a buffer that the next
   * call reuses: only for callers that copy them into guest RAM at once (the TX workload).
   */
  make(pkt: number, len: number, payload: 'random' | 'pattern' | 'scratch' = 'random'): GuestFrame {
    let bytes: Uint8Array;
    if (payload === 'random') bytes = this.rng.bytes(len);
    else if (payload === 'pattern') bytes = patternBytes(pkt, len).slice();
    else {
      bytes = this.#scratch.subarray(0, len);
      bytes.set(patternBytes(pkt, len));
    }
    bytes.set(PEER_MAC, 0);
    bytes.set(GUEST_MAC, 6);
    bytes[12] = 0x08;
    bytes[13] = 0x00;
    bytes[14] = (pkt >>> 24) & 0xff;
    bytes[15] = (pkt >>> 16) & 0xff;
    bytes[16] = (pkt >>> 8) & 0xff;
    bytes[17] = pkt & 0xff;
    let parts = 1;
    if (this.multiPercent > 0 && len >= 64 && this.rng.chance(this.multiPercent, 100)) parts = this.rng.int(2, 3);
    const cuts: number[] = [];
    if (parts >= 2) cuts.push(this.rng.int(14, Math.min(54, len - 8)));
    if (parts === 3) cuts.push(this.rng.int(cuts[0]! + 1, len - 1));
    const fragments: GuestFrame['fragments'] = [];
    let prev = 0;
    for (const c of [...cuts, len]) {
      fragments.push({ gpa: this.#slot(c - prev), len: c - prev });
      prev = c;
    }
    return { pkt, bytes, fragments };
  }
}

/**
 * Cheap deterministic payload for long scenario runs: 64 xorshift patterns, computed once, then
 * copied (the sequence number written at bytes 14–17 still makes every frame unique).
 */
const PATTERNS: Uint8Array[] = [];
function patternBytes(pkt: number, len: number): Uint8Array {
  const k = pkt & 63;
  let p = PATTERNS[k];
  if (!p) {
    const words = new Uint32Array(1516 / 4 + 1);
    let x = (k * 2654435761 + 1) >>> 0;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    p = new Uint8Array(words.buffer);
    PATTERNS[k] = p;
  }
  return p.subarray(0, len);
}

/** The sequence number a frame carries at bytes 14..17 (for trace labels only). */
export function frameSeq(bytes: Uint8Array): number | undefined {
  if (bytes.length < 18) return undefined;
  return ((bytes[14]! << 24) | (bytes[15]! << 16) | (bytes[16]! << 8) | bytes[17]!) >>> 0;
}
