/**
 * A split virtqueue of 8 entries driven step by step by the engine's own driver and device
 * sides (hw/virtio/split-ring.ts), then read back from guest memory: the data behind the ring
 * diagrams of lesson L2. Nothing here is drawn by hand; every field is a byte in GuestMemory.
 */
import { GuestMemory } from '../hw/memory.ts';
import * as S from '../hw/virtio/spec.ts';
import { DeviceQueue, DriverQueue, layoutQueue } from '../hw/virtio/split-ring.ts';

export type RingStep = 'empty' | 'driver-added' | 'device-popped' | 'device-used' | 'wrapped';
export const RING_STEPS: readonly RingStep[] = ['empty', 'driver-added', 'device-popped', 'device-used', 'wrapped'];

export interface RingSnapshot {
  queueSize: number;
  descAddr: number;
  availAddr: number;
  usedAddr: number;
  eventIdx: boolean;
  desc: { index: number; addr: number; len: number; flags: number; flagNames: string[]; next: number; state: 'free' | 'avail' | 'in-flight' | 'used' }[];
  avail: { flags: number; idx: number; ring: number[]; usedEvent: number };
  used: { flags: number; idx: number; ring: { id: number; len: number }[]; availEvent: number };
  driver: { lastUsedIdx: number; numFree: number };
  device: { lastAvailIdx: number };
  /** Raw little-endian bytes of each descriptor table entry, hex, as a driver/device reads them. */
  descBytesHex: string[];
  caption: string;
}

const SIZE = 8;
const RING_BASE = 0x10000;
const BUF = 0x20000;

const CAPTIONS: Record<RingStep, string> = {
  empty: 'A fresh queue of 8: every descriptor is on the driver\'s free list, avail.idx = used.idx = 0.',
  'driver-added': 'The driver made three chains available: a one-descriptor TX frame, a two-descriptor TX frame (header, then data, linked by NEXT), and a device-writable RX buffer (WRITE). avail.idx moved from 0 to 3.',
  'device-popped': 'The device read avail.idx = 3 and took the first two chains (last_avail_idx = 2); it owns them now, but the driver cannot tell until they appear in the used ring.',
  'device-used': 'The device returned both TX chains: used.ring holds their head indices, and used.idx moved to 2. The driver has not reclaimed them yet.',
  wrapped: 'A queue whose indices started at 65,534: three chains later avail.idx and used.idx have wrapped past 65,535 to 1, while ring slots are still index mod 8 (slots 6, 7, then 0). The device has used all three; the driver has reclaimed the first two.',
};

/** Run the demo up to `step` and read the queue back from guest memory. */
export function ringSnapshot(step: RingStep): RingSnapshot {
  if (!RING_STEPS.includes(step)) throw new Error(`unknown ring step '${String(step)}' (steps: ${RING_STEPS.join(', ')})`);
  const mem = new GuestMemory(1 << 20);
  const layout = layoutQueue(RING_BASE, SIZE);
  const start = step === 'wrapped' ? 65534 : 0;
  const drv = new DriverQueue<string>(mem, layout, { eventIdx: true, startIdx: start });
  const dev = new DeviceQueue(mem, layout, { eventIdx: true, indirect: false, startIdx: start });
  const state = new Map<number, 'avail' | 'in-flight' | 'used'>();
  const heads: number[] = [];
  const add = (out: { addr: number; len: number }[], inb: { addr: number; len: number }[], token: string): void => {
    heads.push(drv.peekFreeHead());
    drv.add(out, inb, token);
    state.set(heads[heads.length - 1]!, 'avail');
  };
  if (step !== 'empty') {
    add([{ addr: BUF, len: 12 + 60 }], [], 'tx-a');
    add([{ addr: BUF + 0x800, len: 12 }, { addr: BUF + 0x1000, len: 1514 }], [], 'tx-b');
    add([], [{ addr: BUF + 0x2000, len: 12 + 1514 }], 'rx-c');
  }
  if (step === 'device-popped' || step === 'device-used' || step === 'wrapped') {
    for (let k = 0; k < (step === 'wrapped' ? 3 : 2); k++) {
      const r = dev.pop();
      if (!r || !r.ok) throw new Error('ring demo: pop failed');
      state.set(r.chain.head, 'in-flight');
    }
  }
  if (step === 'device-used' || step === 'wrapped') {
    for (const h of heads.slice(0, step === 'wrapped' ? 3 : 2)) {
      dev.addUsed(h, h === heads[2] ? 12 + 60 : 0);
      state.set(h, 'used');
    }
  }
  if (step === 'wrapped') {
    for (let k = 0; k < 2; k++) {
      const r = drv.getBuf();
      if (r) state.delete(r.head);
    }
  }
  // Descriptor states: follow each live chain from its head.
  const descState = new Array<RingSnapshot['desc'][number]['state']>(SIZE).fill('free');
  for (const [head, st] of state) {
    let i = head;
    for (let n = 0; n < SIZE; n++) {
      descState[i] = st;
      const flags = mem.read16(layout.desc + S.DESC_SIZE * i + S.DESC_FLAGS);
      if (!(flags & S.VIRTQ_DESC_F_NEXT)) break;
      i = mem.read16(layout.desc + S.DESC_SIZE * i + S.DESC_NEXT);
    }
  }
  const desc: RingSnapshot['desc'] = [];
  const descBytesHex: string[] = [];
  for (let i = 0; i < SIZE; i++) {
    const d = layout.desc + S.DESC_SIZE * i;
    const flags = mem.read16(d + S.DESC_FLAGS);
    const flagNames: string[] = [];
    if (flags & S.VIRTQ_DESC_F_NEXT) flagNames.push('NEXT');
    if (flags & S.VIRTQ_DESC_F_WRITE) flagNames.push('WRITE');
    if (flags & S.VIRTQ_DESC_F_INDIRECT) flagNames.push('INDIRECT');
    desc.push({ index: i, addr: mem.read64(d), len: mem.read32(d + S.DESC_LEN), flags, flagNames, next: mem.read16(d + S.DESC_NEXT), state: descState[i]! });
    descBytesHex.push([...mem.read(d, S.DESC_SIZE)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  const availRing: number[] = [];
  const usedRing: { id: number; len: number }[] = [];
  for (let k = 0; k < SIZE; k++) {
    availRing.push(mem.read16(layout.avail + S.AVAIL_RING + S.AVAIL_ELEM_SIZE * k));
    const e = layout.used + S.USED_RING + S.USED_ELEM_SIZE * k;
    usedRing.push({ id: mem.read32(e), len: mem.read32(e + 4) });
  }
  return {
    queueSize: SIZE,
    descAddr: layout.desc,
    availAddr: layout.avail,
    usedAddr: layout.used,
    eventIdx: true,
    desc,
    avail: { flags: mem.read16(layout.avail + S.AVAIL_FLAGS), idx: mem.read16(layout.avail + S.AVAIL_IDX), ring: availRing, usedEvent: mem.read16(layout.avail + S.usedEventOffset(SIZE)) },
    used: { flags: mem.read16(layout.used + S.USED_FLAGS), idx: mem.read16(layout.used + S.USED_IDX), ring: usedRing, availEvent: mem.read16(layout.used + S.availEventOffset(SIZE)) },
    driver: { lastUsedIdx: drv.lastUsed, numFree: drv.numFree },
    device: { lastAvailIdx: dev.lastAvail },
    descBytesHex,
    caption: CAPTIONS[step],
  };
}
