/**
 * Watches a virtio-backend run as it happens (DESIGN.md §4: invariants are checked by observers
 * over the whole run, not from the bounded trace): what the guest queued and how (chain shape,
 * indirect, before/after the 16-bit wrap), what reached the peer or the guest and whether it is
 * byte-identical and in order, every device write to guest memory against where a device may
 * write, used.idx publications, interrupts, and NEEDS_RESET reports.
 */
import * as S from '../../hw/virtio/spec.ts';
import type { GuestFrame } from '../../guest/e1000-driver.ts';
import type { QueueLayout } from '../../hw/virtio/split-ring.ts';

export type TxClass = 'short' | 'long' | 'indirect';

export interface SentTx {
  pkt: number;
  bytes: Uint8Array;
  cls: TxClass;
  /** Added after avail.idx wrapped past 65535. */
  afterWrap: boolean;
  head: number;
  descriptors: number;
}

export interface Mismatch {
  pkt: number;
  code: 'frame-differs' | 'frame-length';
  byte?: number;
  expected?: number;
  got?: number;
}

export class VirtioLabObserver {
  readonly startIdx: number;
  /** Allowed write ranges per queue index: [start, end). */
  readonly #allowed = new Map<number, [number, number][]>();
  readonly #usedIdxAddr = new Map<number, number>();
  readonly #lastUsedIdx = new Map<number, number>();
  readonly sent: SentTx[] = [];
  readonly #pending = new Map<number, GuestFrame>();
  delivered = 0;
  extra = 0;
  readonly mismatches: (Mismatch & { sent: SentTx })[] = [];
  /** RX: what the peer sent, and what the guest got. */
  readonly rxSent: Uint8Array[] = [];
  rxDelivered = 0;
  readonly rxMismatches: Mismatch[] = [];
  readonly strayWrites: { q: number; gpa: number; len: number; t: number }[] = [];
  readonly usedRegressions: { q: number; from: number; to: number; t: number }[] = [];
  readonly outside: { name: string; gpa: number; len: number; t: number }[] = [];
  readonly resets: { q: number; reason: string; t: number }[] = [];
  interrupts = 0;
  transmits = 0;

  constructor(startIdx: number) {
    this.startIdx = startIdx;
  }

  /** Declare where the device may write for queue `q`: its used ring, plus `extra` (RX buffers). */
  queue(q: number, layout: QueueLayout, extra: [number, number][] = []): void {
    this.#allowed.set(q, [[layout.used, layout.used + S.usedRingBytes(layout.size)], ...extra]);
    this.#usedIdxAddr.set(q, layout.used + S.USED_IDX);
    this.#lastUsedIdx.set(q, this.startIdx);
  }

  frameSent(f: GuestFrame): void {
    this.#pending.set(f.pkt, f);
  }

  txAdded(f: GuestFrame, head: number, availIdx: number, indirect: boolean): void {
    this.#pending.delete(f.pkt);
    const descriptors = 1 + f.fragments.length;
    const cls: TxClass = indirect ? 'indirect' : descriptors > 2 ? 'long' : 'short';
    // Wrapped: the free-running index went past 65535 before this chain (start is near 65535).
    const afterWrap = availIdx < this.startIdx;
    this.sent.push({ pkt: f.pkt, bytes: f.bytes.slice(), cls, afterWrap, head, descriptors });
  }

  frameAtPeer(bytes: Uint8Array): void {
    const k = this.delivered;
    const s = this.sent[k];
    if (!s) {
      this.extra++;
      return;
    }
    this.delivered++;
    const m = compare(s.pkt, s.bytes, bytes);
    if (m) this.mismatches.push({ ...m, sent: s });
  }

  rxFrameSent(bytes: Uint8Array): void {
    this.rxSent.push(bytes.slice());
  }

  rxAtGuest(bytes: Uint8Array): void {
    const k = this.rxDelivered++;
    const want = this.rxSent[k];
    if (!want) return;
    const m = compare(k, want, bytes);
    if (m) this.rxMismatches.push(m);
  }

  deviceWrite(q: number, gpa: number, len: number, t: number, value?: number): void {
    const ranges = this.#allowed.get(q) ?? [];
    if (!ranges.some(([a, b]) => gpa >= a && gpa + len <= b)) this.strayWrites.push({ q, gpa, len, t });
    if (value !== undefined && gpa === this.#usedIdxAddr.get(q)) {
      const prev = this.#lastUsedIdx.get(q) ?? value;
      // used.idx only moves forward (mod 2^16) by at most a ring's worth (§2.7.8).
      if (((value - prev) & 0xffff) > 0x8000) this.usedRegressions.push({ q, from: prev, to: value, t });
      this.#lastUsedIdx.set(q, value);
    }
  }

  outsideRam(name: string, gpa: number, len: number, t: number): void {
    this.outside.push({ name, gpa, len, t });
  }

  interrupted(_q: number, _t: number): void {
    this.interrupts++;
  }

  transmitted(_t: number): void {
    this.transmits++;
  }

  needsReset(q: number, reason: string, t: number): void {
    this.resets.push({ q, reason, t });
  }
}

function compare(pkt: number, want: Uint8Array, got: Uint8Array): Mismatch | undefined {
  if (got.length !== want.length) return { pkt, code: 'frame-length', expected: want.length, got: got.length };
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) return { pkt, code: 'frame-differs', byte: i, expected: want[i]!, got: got[i]! };
  }
  return undefined;
}
