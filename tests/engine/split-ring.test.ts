/**
 * The split virtqueue (virtio 1.2 §2.7), both sides against each other in one GuestMemory:
 * DriverQueue (Linux virtio_ring.c) adds and reclaims, DeviceQueue (QEMU/vhost) pops and
 * completes, with indices starting near 65535 so they wrap. Then notification suppression (kicks
 * and interrupts, with and without VIRTIO_F_EVENT_IDX, including the re-enable races), and
 * malformed rings written byte by byte, which the device must reject with a reason, never a throw
 * or an endless walk.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import * as S from '../../lab-engine/hw/virtio/spec.ts';
import { DeviceQueue, DriverQueue, DriverRingError, layoutQueue, queueBytes, type Buf, type QueueLayout, type RingError, type Segment } from '../../lab-engine/hw/virtio/split-ring.ts';

const MEM = 4 << 20;
const RING = 0x1000;
const INDIRECT = 0x10_0000;
const MAX_INDIRECT = 4;
const DATA = 0x20_0000;

interface Opts {
  eventIdx?: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated: the driver gets an indirect area, the device accepts INDIRECT. */
  indirect?: boolean;
  startIdx?: number;
}

function setup(size: number, o: Opts = {}, mem: GuestMemory = new GuestMemory(MEM)) {
  const eventIdx = o.eventIdx ?? false;
  const indirect = o.indirect ?? false;
  const startIdx = o.startIdx ?? 0;
  const layout = layoutQueue(RING, size);
  const drv = new DriverQueue<number>(mem, layout, indirect ? { eventIdx, indirectBase: INDIRECT, maxIndirect: MAX_INDIRECT, startIdx } : { eventIdx, startIdx });
  const dev = new DeviceQueue(mem, layout, { eventIdx, indirect, startIdx });
  return { mem, layout, drv, dev };
}

const availIdxInMem = (mem: GuestMemory, l: QueueLayout): number => mem.read16(l.avail + S.AVAIL_IDX);
const usedIdxInMem = (mem: GuestMemory, l: QueueLayout): number => mem.read16(l.used + S.USED_IDX);
const usedEventInMem = (mem: GuestMemory, l: QueueLayout): number => mem.read16(l.avail + S.usedEventOffset(l.size));
const availEventInMem = (mem: GuestMemory, l: QueueLayout): number => mem.read16(l.used + S.availEventOffset(l.size));

function popOk(dev: DeviceQueue) {
  const r = dev.pop();
  if (!r) throw new Error('expected a chain, the ring is empty');
  if (!r.ok) throw new Error(`expected a chain, got ${r.error.code}: ${r.error.message}`);
  return r.chain;
}

const segs = (out: Buf[], inb: Buf[]): Segment[] => [...out.map((b) => ({ ...b, write: false })), ...inb.map((b) => ({ ...b, write: true }))];

describe('layoutQueue', () => {
  it('aligns each part (desc 16, avail 2, used 4) and packs them, from any base', () => {
    expect(layoutQueue(5, 8)).toEqual({ size: 8, desc: 16, avail: 144, used: 168 }); // 144 + 22 = 166 → 168
    // size 1: the avail ring is 6 + 2 = 8 bytes, so used = ALIGN(16 + 8, 4) = 24
    expect(layoutQueue(0, 1)).toEqual({ size: 1, desc: 0, avail: 16, used: 24 });
    expect(layoutQueue(0, 2)).toEqual({ size: 2, desc: 0, avail: 32, used: 44 }); // 32 + 10 = 42 → 44
    expect(queueBytes(layoutQueue(0, 2))).toBe(44 + 22);
  });
});

describe('driver add → device pop, byte by byte', () => {
  it('a direct chain: descriptors, avail ring and avail.idx where §2.7 puts them; the device sees the same buffers', () => {
    const { mem, layout, drv, dev } = setup(8, { startIdx: 65535 });
    const out = [{ addr: DATA, len: 12 }, { addr: DATA + 0x1000, len: 1500 }];
    const inb = [{ addr: DATA + 0x2000, len: 2048 }];
    expect(drv.add(out, inb, 7)).toBe(true);
    const desc = (i: number) => ({
      addr: mem.read64(layout.desc + 16 * i), len: mem.read32(layout.desc + 16 * i + 8),
      flags: mem.read16(layout.desc + 16 * i + 12), next: mem.read16(layout.desc + 16 * i + 14),
    });
    expect(desc(0)).toEqual({ addr: DATA, len: 12, flags: S.VIRTQ_DESC_F_NEXT, next: 1 });
    expect(desc(1)).toEqual({ addr: DATA + 0x1000, len: 1500, flags: S.VIRTQ_DESC_F_NEXT, next: 2 });
    expect(desc(2).addr).toBe(DATA + 0x2000);
    expect(desc(2).len).toBe(2048);
    expect(desc(2).flags).toBe(S.VIRTQ_DESC_F_WRITE);
    // slot 65535 % 8 = 7 of the avail ring holds head 0; avail.idx wrapped to 0
    expect(mem.read16(layout.avail + S.AVAIL_RING + 2 * 7)).toBe(0);
    expect(availIdxInMem(mem, layout)).toBe(0);
    expect(drv.availIdx).toBe(0);
    expect(drv.numFree).toBe(5);
    expect(drv.inFlight).toBe(1);
    expect(dev.pending()).toBe(1);
    const c = popOk(dev);
    expect(c).toEqual({ head: 0, segments: segs(out, inb), readableBytes: 1512, writableBytes: 2048, descriptors: 3, indirect: false });
    expect(dev.pop()).toBeUndefined();
    expect(dev.lastAvail).toBe(0);
  });

  it('an indirect chain: one ring descriptor (INDIRECT, len 16·n) pointing at a table in the indirect area', () => {
    const { mem, layout, drv, dev } = setup(4, { indirect: true });
    const out = [{ addr: DATA, len: 12 }, { addr: DATA + 100, len: 60 }];
    const inb = [{ addr: DATA + 0x1000, len: 4096 }];
    expect(drv.add([{ addr: DATA, len: 10 }], [], 1, true)).toBe(true); // single segment: direct (head 0)
    expect(drv.add(out, inb, 2, true)).toBe(true);
    expect(drv.numFree).toBe(2);
    const head = 1;
    const d = layout.desc + 16 * head;
    const table = INDIRECT + head * 16 * MAX_INDIRECT;
    expect(mem.read64(d)).toBe(table);
    expect(mem.read32(d + 8)).toBe(48);
    expect(mem.read16(d + 12)).toBe(S.VIRTQ_DESC_F_INDIRECT);
    expect([0, 1, 2].map((k) => mem.read16(table + 16 * k + 12))).toEqual([S.VIRTQ_DESC_F_NEXT, S.VIRTQ_DESC_F_NEXT, S.VIRTQ_DESC_F_WRITE]);
    expect([0, 1].map((k) => mem.read16(table + 16 * k + 14))).toEqual([1, 2]);
    expect(popOk(dev).indirect).toBe(false);
    expect(popOk(dev)).toEqual({ head, segments: segs(out, inb), readableBytes: 72, writableBytes: 4096, descriptors: 4, indirect: true });
  });

  it('indirect is only used when it fits: one segment, more than maxIndirect, or no indirect area all go direct', () => {
    const five = Array.from({ length: 5 }, (_, k) => ({ addr: DATA + 64 * k, len: 64 }));
    const a = setup(16, { indirect: true });
    expect(a.drv.add(five, [], 1, true)).toBe(true);
    expect(a.drv.numFree).toBe(11);
    expect(popOk(a.dev)).toMatchObject({ indirect: false, descriptors: 5 });
    const b = setup(16, { indirect: false });
    expect(b.drv.add(five.slice(0, 2), [], 1, true)).toBe(true);
    expect(b.drv.numFree).toBe(14);
    expect(popOk(b.dev)).toMatchObject({ indirect: false, descriptors: 2 });
  });

  it('add returns false and changes nothing when descriptors run out; an indirect chain needs only one; no segments throws', () => {
    const { mem, layout, drv } = setup(4, { indirect: true });
    expect(drv.add([{ addr: DATA, len: 1 }, { addr: DATA, len: 1 }, { addr: DATA, len: 1 }], [], 1)).toBe(true);
    expect(drv.add([{ addr: DATA, len: 1 }], [{ addr: DATA, len: 1 }], 2)).toBe(false);
    expect(drv.numFree).toBe(1);
    expect(availIdxInMem(mem, layout)).toBe(1);
    expect(drv.add([{ addr: DATA, len: 1 }], [{ addr: DATA, len: 1 }], 3, true)).toBe(true);
    expect(drv.numFree).toBe(0);
    expect(drv.add([{ addr: DATA, len: 1 }], [], 4, true)).toBe(false);
    expect(() => drv.add([], [], 5)).toThrow();
  });

  it('getBuf throws DriverRingError for a used id the driver never made available (and for one completed twice)', () => {
    for (const bogus of [3, 8, 0xffff, 0xdeadbeef]) {
      const { drv, dev } = setup(8);
      drv.add([{ addr: DATA, len: 10 }], [], 1);
      popOk(dev);
      dev.addUsed(bogus, 0);
      expect(() => drv.getBuf(), `used id ${bogus}`).toThrow(DriverRingError);
    }
    const { drv, dev } = setup(8);
    drv.add([{ addr: DATA, len: 10 }, { addr: DATA, len: 10 }], [], 1);
    drv.add([{ addr: DATA, len: 10 }], [], 2);
    expect(popOk(dev).head).toBe(0);
    dev.addUsed(1, 0); // the second descriptor of chain 0, not a head
    expect(() => drv.getBuf()).toThrow(DriverRingError);
    const { drv: d2, dev: v2 } = setup(8);
    d2.add([{ addr: DATA, len: 10 }], [], 1);
    const c2 = popOk(v2);
    v2.addUsed(c2.head, 0);
    v2.addUsed(c2.head, 0);
    expect(d2.getBuf()?.token).toBe(1);
    expect(() => d2.getBuf()).toThrow(/not a buffer the driver made available/);
  });
});

// ── Round trip property ──────────────────────────────────────────────────────────────────────
type Op =
  | { kind: 'add'; bufs: Buf[]; outCount: number; indirect: boolean }
  | { kind: 'pop'; n: number }
  | { kind: 'complete'; pick: number; fill: number }
  | { kind: 'get'; n: number };

const bufArb = fc.record({ addr: fc.integer({ min: DATA, max: MEM - 0x1_0000 }), len: fc.integer({ min: 1, max: 0x1_0000 }) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), bufs: fc.array(bufArb, { minLength: 1, maxLength: 4 }), outCount: fc.nat(4), indirect: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), fill: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('get' as const), n: fc.integer({ min: 1, max: 4 }) }) },
);
const startArb = fc.oneof(fc.integer({ min: 65535 - 40, max: 65535 }), fc.constantFrom(0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff), fc.integer({ min: 0, max: 65535 }));

interface Expect {
  token: number;
  segments: Segment[];
  indirect: boolean;
  needed: number;
}

/** Drive both sides through `ops` then drain; throws (via expect) on the first disagreement. */
function roundTrip(size: number, o: Required<Opts>, ops: Op[]): { tokens: number } {
  const { mem, layout, drv, dev } = setup(size, o);
  let nextToken = 1;
  const notPopped: Expect[] = []; // added, FIFO as the avail ring
  const atDevice: { e: Expect; head: number; descs: number[]; writable: number }[] = [];
  const usedFifo: { e: Expect; head: number; len: number; descs: number[] }[] = [];
  const returned = new Set<number>();
  const added = new Set<number>();
  const descInUse = new Set<number>();
  let outstandingNeeded = 0;

  const check = (): void => {
    expect(drv.numFree + outstandingNeeded, 'numFree + descriptors held by outstanding buffers').toBe(size);
    expect(availIdxInMem(mem, layout), 'avail.idx in memory vs driver shadow').toBe(drv.availIdx);
    expect(usedIdxInMem(mem, layout), 'used.idx in memory vs device shadow').toBe(dev.usedIdx);
    expect(dev.pending()).toBe(notPopped.length);
    expect(drv.inFlight).toBe(notPopped.length + atDevice.length + usedFifo.length);
  };
  const pop = (): void => {
    const r = dev.pop();
    const e = notPopped.shift();
    if (!e) return void expect(r).toBeUndefined();
    expect(r?.ok, r && !r.ok ? `${r.error.code}: ${r.error.message}` : 'a chain').toBe(true);
    if (!r?.ok) return;
    const c = r.chain;
    expect(c.segments, `segments of token ${e.token}`).toEqual(e.segments);
    expect(c.indirect).toBe(e.indirect);
    expect(c.descriptors).toBe(e.segments.length + (e.indirect ? 1 : 0));
    expect(c.readableBytes).toBe(e.segments.filter((s) => !s.write).reduce((a, s) => a + s.len, 0));
    expect(c.writableBytes).toBe(e.segments.filter((s) => s.write).reduce((a, s) => a + s.len, 0));
    // The ring descriptors this chain occupies must not belong to any other outstanding chain.
    const descs = [c.head];
    for (let k = 1; k < e.needed; k++) descs.push(mem.read16(layout.desc + 16 * descs[k - 1]! + S.DESC_NEXT));
    for (const d of descs) {
      expect(descInUse.has(d), `descriptor ${d} of token ${e.token} is already in another outstanding chain`).toBe(false);
      descInUse.add(d);
    }
    atDevice.push({ e, head: c.head, descs, writable: c.writableBytes });
  };
  const complete = (pick: number, fill: number): void => {
    if (atDevice.length === 0) return;
    const [p] = atDevice.splice(pick % atDevice.length, 1);
    const len = fill % (p!.writable + 1);
    dev.addUsed(p!.head, len);
    usedFifo.push({ e: p!.e, head: p!.head, len, descs: p!.descs });
  };
  const get = (): void => {
    const r = drv.getBuf();
    const u = usedFifo.shift();
    if (!u) return void expect(r).toBeUndefined();
    expect(r).toEqual({ token: u.e.token, len: u.len, head: u.head });
    expect(returned.has(u.e.token), `token ${u.e.token} returned twice`).toBe(false);
    returned.add(u.e.token);
    outstandingNeeded -= u.e.needed;
    for (const d of u.descs) descInUse.delete(d);
  };

  for (const op of ops) {
    if (op.kind === 'add') {
      const k = Math.min(op.outCount, op.bufs.length);
      const out = op.bufs.slice(0, k);
      const inb = op.bufs.slice(k);
      const indirect = o.indirect && op.indirect && op.bufs.length > 1 && op.bufs.length <= MAX_INDIRECT;
      const needed = indirect ? 1 : op.bufs.length;
      const free = drv.numFree;
      const token = nextToken++;
      const ok = drv.add(out, inb, token, op.indirect);
      expect(ok, `add of ${needed} descriptors with ${free} free`).toBe(free >= needed);
      if (ok) {
        notPopped.push({ token, segments: segs(out, inb), indirect, needed });
        added.add(token);
        outstandingNeeded += needed;
      }
    } else if (op.kind === 'pop') {
      for (let k = 0; k < op.n; k++) pop();
    } else if (op.kind === 'complete') {
      complete(op.pick, op.fill);
    } else {
      for (let k = 0; k < op.n; k++) get();
    }
    check();
  }
  // Drain: the device takes everything and completes it newest first; the driver reclaims all.
  while (notPopped.length) pop();
  while (atDevice.length) complete(atDevice.length - 1, 0x7fffffff);
  while (usedFifo.length) get();
  check();
  expect(drv.getBuf()).toBeUndefined();
  expect([...returned].sort((a, b) => a - b)).toEqual([...added].sort((a, b) => a - b));
  expect(drv.numFree).toBe(size);
  expect(drv.inFlight).toBe(0);
  expect(dev.lastAvail).toBe(drv.availIdx);
  expect(drv.lastUsed).toBe(dev.usedIdx);
  return { tokens: added.size };
}

describe('driver and device against each other', () => {
  it('property: every token comes back exactly once with the length the device wrote, out-of-order completion, indices wrapping', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8, 16),
        fc.boolean(),
        fc.boolean(),
        startArb,
        fc.array(opArb, { minLength: 1, maxLength: 160 }),
        (size, eventIdx, indirect, startIdx, ops) => {
          roundTrip(size, { eventIdx, indirect, startIdx }, ops);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a long run through a small ring from 65500 wraps both indices and leaks nothing', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 400; i++) {
      const bufs = Array.from({ length: 1 + (i % 4) }, (_, k) => ({ addr: DATA + 0x1000 * k + i, len: 100 + i }));
      ops.push({ kind: 'add', bufs, outCount: i % 3, indirect: i % 2 === 0 }, { kind: 'pop', n: 1 }, { kind: 'complete', pick: i * 7, fill: i * 13 });
      if (i % 3 === 0) ops.push({ kind: 'get', n: 4 });
    }
    for (const indirect of [false, true]) {
      const { tokens } = roundTrip(4, { eventIdx: true, indirect, startIdx: 65500 }, ops);
      expect(tokens).toBeGreaterThan(100); // past 65535 → 0
    }
  });
});

// ── Notification suppression ─────────────────────────────────────────────────────────────────
const one = (a = DATA): Buf[] => [{ addr: a, len: 64 }];

describe('kicks: kickPrepare vs disableKicks/enableKicks', () => {
  it.each([0, 65534])('without EVENT_IDX (startIdx %i): used.flags NO_NOTIFY decides, enableKicks re-checks', (startIdx) => {
    const { mem, layout, drv, dev } = setup(8, { startIdx });
    expect(drv.kickPrepare()).toBe(false); // nothing added
    drv.add(one(), [], 1);
    expect(drv.kickPrepare()).toBe(true);
    dev.disableKicks();
    expect(mem.read16(layout.used + S.USED_FLAGS)).toBe(S.VIRTQ_USED_F_NO_NOTIFY);
    drv.add(one(), [], 2);
    expect(drv.kickPrepare()).toBe(false);
    popOk(dev);
    popOk(dev);
    expect(dev.enableKicks()).toBe(false); // nothing pending: safe to sleep
    expect(mem.read16(layout.used + S.USED_FLAGS)).toBe(0);
    drv.add(one(), [], 3);
    drv.add(one(), [], 4);
    expect(drv.kickPrepare()).toBe(true); // one kick for the batch
    dev.disableKicks();
    drv.add(one(), [], 5); // arrives while the device is re-enabling
    expect(drv.kickPrepare()).toBe(false);
    expect(dev.enableKicks()).toBe(true); // the race: the device must look again
  });

  it.each([0, 65534])('with EVENT_IDX (startIdx %i): avail_event decides; one kick per batch; disableKicks leaves used.flags alone', (startIdx) => {
    const { mem, layout, drv, dev } = setup(8, { eventIdx: true, startIdx });
    expect(dev.enableKicks()).toBe(false);
    expect(availEventInMem(mem, layout)).toBe(startIdx);
    drv.add(one(), [], 1);
    drv.add(one(), [], 2);
    expect(drv.kickPrepare()).toBe(true);
    dev.disableKicks();
    expect(mem.read16(layout.used + S.USED_FLAGS)).toBe(0);
    drv.add(one(), [], 3);
    expect(drv.kickPrepare()).toBe(false); // avail_event already passed
    popOk(dev);
    popOk(dev);
    drv.add(one(), [], 4);
    expect(drv.kickPrepare()).toBe(false);
    popOk(dev);
    popOk(dev);
    expect(dev.enableKicks()).toBe(false);
    expect(availEventInMem(mem, layout)).toBe(S.wrap16(startIdx + 4));
    drv.add(one(), [], 5);
    expect(drv.kickPrepare()).toBe(true);
    drv.add(one(), [], 6);
    expect(dev.enableKicks()).toBe(true); // pending: look again
  });

  it.each([0, 1, 30000, 65535])('with EVENT_IDX, a fresh queue pair at startIdx %i kicks on the first buffer (as Linux does on a zeroed ring at 0)', (startIdx) => {
    // Nothing but the constructors ran: the device is idle and waits for a kick.
    const { drv, dev } = setup(8, { eventIdx: true, startIdx });
    drv.add(one(), [], 1);
    expect(drv.kickPrepare(), `first kick at avail.idx ${startIdx} → ${S.wrap16(startIdx + 1)}`).toBe(true);
    expect(dev.pending()).toBe(1);
  });
});

describe('interrupts: shouldInterrupt vs disableCb/enableCb/enableCbDelayed', () => {
  /** Driver adds n buffers; the device takes them all. Returns their heads. */
  function inflight(drv: DriverQueue<number>, dev: DeviceQueue, n: number): number[] {
    for (let i = 0; i < n; i++) expect(drv.add([], one(DATA + 64 * i), i + 1)).toBe(true);
    return Array.from({ length: n }, () => popOk(dev).head);
  }

  it.each([0, 65534])('without EVENT_IDX (startIdx %i): avail.flags NO_INTERRUPT decides', (startIdx) => {
    const { mem, layout, drv, dev } = setup(8, { startIdx });
    const heads = inflight(drv, dev, 4);
    expect(drv.enableCb()).toBe(true);
    dev.addUsed(heads[0]!, 10);
    expect(dev.shouldInterrupt()).toBe(true);
    drv.disableCb(); // the interrupt handler
    expect(mem.read16(layout.avail + S.AVAIL_FLAGS)).toBe(S.VIRTQ_AVAIL_F_NO_INTERRUPT);
    dev.addUsed(heads[1]!, 10);
    expect(dev.shouldInterrupt()).toBe(false);
    expect(drv.getBuf()?.token).toBe(1);
    expect(drv.getBuf()?.token).toBe(2);
    expect(drv.enableCb()).toBe(true);
    expect(mem.read16(layout.avail + S.AVAIL_FLAGS)).toBe(0);
    dev.addUsed(heads[2]!, 10);
    expect(dev.shouldInterrupt()).toBe(true);
  });

  it.each([0, 65534, 65535])('with EVENT_IDX (startIdx %i): after enableCb the next used buffer interrupts exactly once', (startIdx) => {
    const { mem, layout, drv, dev } = setup(8, { eventIdx: true, startIdx });
    const heads = inflight(drv, dev, 6);
    expect(drv.enableCb()).toBe(true);
    expect(usedEventInMem(mem, layout)).toBe(startIdx);
    dev.addUsed(heads[0]!, 1);
    expect(dev.shouldInterrupt(), 'first used buffer after enableCb').toBe(true);
    dev.addUsed(heads[1]!, 1);
    expect(dev.shouldInterrupt(), 'second one, the driver has not looked yet').toBe(false);
    expect(dev.shouldInterrupt(), 'asking again with nothing new').toBe(false);
    expect(drv.getBuf()?.token).toBe(1);
    expect(drv.getBuf()?.token).toBe(2);
    expect(usedEventInMem(mem, layout)).toBe(S.wrap16(startIdx + 2)); // getBuf moves used_event along
    dev.addUsed(heads[2]!, 1);
    expect(dev.shouldInterrupt()).toBe(true);
    // disableCb parks used_event behind: no interrupt for the next buffers
    drv.disableCb();
    expect(drv.getBuf()?.token).toBe(3);
    dev.addUsed(heads[3]!, 1);
    expect(dev.shouldInterrupt()).toBe(false);
    dev.addUsed(heads[4]!, 1);
    expect(dev.shouldInterrupt()).toBe(false);
  });

  it.each([false, true])('enableCb re-check (EVENT_IDX %s): a buffer used while callbacks were off makes enableCb return false', (eventIdx) => {
    const { drv, dev } = setup(8, { eventIdx, startIdx: 65535 });
    const heads = inflight(drv, dev, 3);
    drv.disableCb();
    dev.addUsed(heads[0]!, 0);
    dev.shouldInterrupt();
    expect(drv.enableCb(), 'used in between: poll again').toBe(false);
    expect(drv.getBuf()?.token).toBe(1);
    expect(drv.enableCb(), 'nothing pending: safe to wait').toBe(true);
  });

  it('enableCbDelayed with EVENT_IDX: interrupt once ¾ of the outstanding buffers are used, not before; false if they already are', () => {
    const { mem, layout, drv, dev } = setup(16, { eventIdx: true, startIdx: 65532 });
    const [first, ...heads] = inflight(drv, dev, 9);
    dev.addUsed(first!, 0);
    expect(dev.shouldInterrupt()).toBe(true); // callbacks were on; the device has now signalled once
    expect(drv.getBuf()?.token).toBe(1);
    drv.disableCb();
    expect(drv.enableCbDelayed()).toBe(true); // 8 outstanding → interrupt after 6 more are used
    expect(usedEventInMem(mem, layout)).toBe(S.wrap16(65533 + 6));
    const irq = heads.map((h) => {
      dev.addUsed(h, 0);
      return dev.shouldInterrupt();
    });
    expect(irq).toEqual([false, false, false, false, false, false, true, false]); // used.idx passes used_event at the 7th

    const b = setup(8, { eventIdx: true });
    const hb = inflight(b.drv, b.dev, 8);
    b.drv.disableCb();
    for (const h of hb.slice(0, 7)) b.dev.addUsed(h, 0);
    expect(b.drv.enableCbDelayed(), '7 of 8 already used, more than 6').toBe(false);
  });

  it('enableCbDelayed without EVENT_IDX is enableCb', () => {
    const { mem, layout, drv, dev } = setup(8);
    const heads = inflight(drv, dev, 4);
    drv.disableCb();
    expect(drv.enableCbDelayed()).toBe(true);
    expect(mem.read16(layout.avail + S.AVAIL_FLAGS)).toBe(0);
    dev.addUsed(heads[0]!, 0);
    expect(dev.shouldInterrupt()).toBe(true);
    drv.disableCb();
    dev.addUsed(heads[1]!, 0);
    expect(drv.enableCbDelayed()).toBe(false);
  });

  it.each([0, 1, 30000, 65535])('with EVENT_IDX and nothing used yet, shouldInterrupt is false (startIdx %i)', (startIdx) => {
    const { dev } = setup(8, { eventIdx: true, startIdx });
    expect(dev.shouldInterrupt()).toBe(false);
  });
});

// ── The two protocols together: no lost wakeups, whatever the interleaving ──────────────────
type ProtoOp = 'xmit1' | 'xmit3' | 'devWake' | 'devServe' | 'devSleep' | 'drvIrq' | 'drvPoll' | 'drvSleep' | 'drvSleepDelayed';
const protoOps: ProtoOp[] = ['xmit1', 'xmit3', 'devWake', 'devServe', 'devSleep', 'drvIrq', 'drvPoll', 'drvSleep', 'drvSleepDelayed'];

/**
 * The driver adds and kicks (virtqueue_kick_prepare); the device sleeps until kicked, serves with
 * kicks disabled, and re-enables with a re-check (vhost handle_tx); each completion asks
 * shouldInterrupt; the driver sleeps until interrupted, polls with callbacks off and re-enables
 * with enableCb/enableCbDelayed (NAPI). Each op is atomic, so a random sequence is a random
 * interleaving of the two threads. Returns the decisions made and the first lost wakeup.
 */
function runProtocol(size: number, eventIdx: boolean, startIdx: number, ops: ProtoOp[]): { trace: string[]; lost?: string } {
  const { mem, layout, drv, dev } = setup(size, { eventIdx, startIdx });
  let devRunning = false;
  let kick = false;
  let drvPolling = false;
  let threshold = 0;
  let irq = false;
  let token = 0;
  const trace: string[] = [];
  for (const [i, op] of ops.entries()) {
    switch (op) {
      case 'xmit1':
      case 'xmit3': {
        let n = 0;
        for (let k = 0; k < (op === 'xmit1' ? 1 : 3); k++) if (drv.add(one(), one(DATA + 0x1000), ++token)) n++;
        const k = drv.kickPrepare();
        kick ||= k;
        trace.push(`add ${n} kick ${k}`);
        break;
      }
      case 'devWake':
        if (kick) {
          kick = false;
          devRunning = true;
          dev.disableKicks();
          trace.push('wake');
        }
        break;
      case 'devServe':
        if (devRunning) {
          const r = dev.pop();
          if (r && !r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
          if (r) {
            dev.addUsed(r.chain.head, 64);
            const s = dev.shouldInterrupt();
            irq ||= s;
            trace.push(`used irq ${s}`);
          }
        }
        break;
      case 'devSleep':
        if (devRunning) {
          const again = dev.enableKicks();
          if (again) dev.disableKicks();
          else devRunning = false;
          trace.push(`enableKicks ${again}`);
        }
        break;
      case 'drvIrq':
        if (irq) {
          irq = false;
          if (!drvPolling) {
            drvPolling = true;
            drv.disableCb();
          }
          trace.push('irq');
        }
        break;
      case 'drvPoll':
        if (drvPolling) trace.push(`get ${drv.getBuf()?.token}`);
        break;
      case 'drvSleep':
      case 'drvSleepDelayed':
        if (drvPolling) {
          const delayed = op === 'drvSleepDelayed';
          const th = delayed && eventIdx ? Math.floor((3 * drv.inFlight) / 4) : 0;
          const ok = delayed ? drv.enableCbDelayed() : drv.enableCb();
          if (ok) {
            drvPolling = false;
            threshold = th;
          } else drv.disableCb();
          trace.push(`${delayed ? 'enableCbDelayed' : 'enableCb'} ${ok}`);
        }
        break;
    }
    if (!devRunning && !kick && dev.pending() > 0) {
      return { trace, lost: `lost kick after op #${i} (${op}): the device sleeps with ${dev.pending()} buffer(s) pending and no kick coming (avail.idx ${drv.availIdx}, avail_event ${availEventInMem(mem, layout)})` };
    }
    const unseen = S.wrap16(usedIdxInMem(mem, layout) - drv.lastUsed);
    if (!drvPolling && !irq && unseen > threshold) {
      return { trace, lost: `lost interrupt after op #${i} (${op}): the driver waits with ${unseen} used buffer(s) unreclaimed (threshold ${threshold}) and no interrupt coming (used.idx ${dev.usedIdx}, used_event ${usedEventInMem(mem, layout)})` };
    }
  }
  return { trace };
}

describe('kick and interrupt protocols together', () => {
  it.each([false, true])('property (EVENT_IDX %s): no interleaving loses a kick or an interrupt, indices wrapping', (eventIdx) => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 8), startArb, fc.array(fc.constantFrom(...protoOps), { minLength: 1, maxLength: 300 }), (size, startIdx, ops) => {
        const { lost } = runProtocol(size, eventIdx, startIdx, ops);
        expect(lost, `size ${size}, startIdx ${startIdx}`).toBeUndefined();
      }),
      // Always tried: the first kick from a fresh pair off 0, and the first completion landing on used.idx 0.
      { numRuns: 300, examples: [[8, 1, ['xmit1']], [4, 65535, ['xmit1', 'devWake', 'devServe']]] },
    );
  });

  it.each([false, true])('property (EVENT_IDX %s): the decisions do not depend on where the indices start', (eventIdx) => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 8), startArb, fc.array(fc.constantFrom(...protoOps), { minLength: 1, maxLength: 200 }), (size, startIdx, ops) => {
        expect(runProtocol(size, eventIdx, startIdx, ops).trace).toEqual(runProtocol(size, eventIdx, 0, ops).trace);
      }),
      { numRuns: 200, examples: [[8, 1, ['xmit1']], [4, 65535, ['xmit1', 'devWake', 'devServe']]] },
    );
  });
});

// ── Malformed rings ──────────────────────────────────────────────────────────────────────────
interface RawDesc {
  addr: number;
  len: number;
  flags: number;
  next: number;
}
const NEXT = S.VIRTQ_DESC_F_NEXT;
const WRITE = S.VIRTQ_DESC_F_WRITE;
const IND = S.VIRTQ_DESC_F_INDIRECT;
const TABLE = 0x8_0000;

function putDesc(mem: GuestMemory, at: number, d: RawDesc): void {
  mem.write64(at + S.DESC_ADDR, d.addr);
  mem.write32(at + S.DESC_LEN, d.len);
  mem.write16(at + S.DESC_FLAGS, d.flags);
  mem.write16(at + S.DESC_NEXT, d.next);
}

/**
 * GuestMemory that counts descriptor visits (read64 is only used for desc.addr) and throws past
 * `limit`, so a walk that would never end fails the test instead of hanging it.
 */
class CountingMemory extends GuestMemory {
  reads64 = 0;
  limit = Infinity;
  override read64(gpa: number): number {
    if (++this.reads64 > this.limit) throw new Error(`the walk read more than ${this.limit} descriptors: an endless chain?`);
    return super.read64(gpa);
  }
}

/** A device over a ring whose descriptor table (and an indirect table at TABLE) are written raw; avail offers `heads`. */
function rawRing(size: number, ring: (RawDesc | undefined)[], heads: number[], o: { indirect?: boolean; table?: RawDesc[]; availIdx?: number } = {}) {
  const mem = new CountingMemory(MEM);
  // One pop visits at most the ring (size descriptors + the one that loops) and one indirect table (≤ MEM/16 entries).
  mem.limit = size + 1 + MEM / 16;
  const layout = layoutQueue(RING, size);
  ring.forEach((d, i) => d && putDesc(mem, layout.desc + 16 * i, d));
  (o.table ?? []).forEach((d, i) => putDesc(mem, TABLE + 16 * i, d));
  heads.forEach((h, k) => mem.write16(layout.avail + S.AVAIL_RING + 2 * (k % size), h));
  mem.write16(layout.avail + S.AVAIL_IDX, o.availIdx ?? heads.length);
  return { mem, layout, dev: new DeviceQueue(mem, layout, { eventIdx: false, indirect: o.indirect ?? true }) };
}

const rd = (addr: number, len = 64, flags = 0, next = 0): RawDesc => ({ addr, len, flags, next });

function expectError(dev: DeviceQueue, code: RingError['code'], names: RegExp): void {
  let r: ReturnType<DeviceQueue['pop']>;
  (dev.mem as CountingMemory).reads64 = 0;
  expect(() => (r = dev.pop())).not.toThrow();
  const res = r!;
  expect(res?.ok, res && res.ok ? `a chain of ${res.chain.segments.length}` : 'an error').toBe(false);
  if (!res || res.ok) return;
  expect(res.error.code, res.error.message).toBe(code);
  expect(res.error.message).toMatch(names);
  const before = dev.lastAvail;
  expect(dev.pop()).toEqual(res); // not consumed: the same error again
  expect(dev.lastAvail).toBe(before);
}

describe('malformed rings: a reason, never a throw, never an endless walk', () => {
  it('a NEXT loop → chain-too-long (naming the head)', () => {
    expectError(rawRing(8, [rd(DATA, 64, NEXT, 1), rd(DATA, 64, NEXT, 2), rd(DATA, 64, NEXT, 0)], [0]).dev, 'chain-too-long', /head 0\b/);
    expectError(rawRing(8, [undefined, undefined, undefined, rd(DATA, 64, NEXT, 3)], [3]).dev, 'chain-too-long', /head 3\b/);
    // inside an indirect table
    expectError(rawRing(8, [rd(TABLE, 32, IND)], [0], { table: [rd(DATA, 8, NEXT, 1), rd(DATA, 8, NEXT, 0)] }).dev, 'chain-too-long', /head 0\b.*indirect/);
  });

  it('a chain exactly as long as the queue (or the indirect table) is fine', () => {
    const ring = [0, 1, 2, 3].map((i) => rd(DATA + 64 * i, 64, i < 3 ? NEXT : WRITE, i + 1));
    const r = rawRing(4, ring, [0]).dev.pop();
    expect(r?.ok && r.chain.segments.length).toBe(4);
    const t = rawRing(4, [rd(TABLE, 48, IND)], [0], { table: [rd(DATA, 8, NEXT, 1), rd(DATA, 8, NEXT, 2), rd(DATA, 8)] }).dev.pop();
    expect(t?.ok && t.chain).toMatchObject({ descriptors: 4, indirect: true, readableBytes: 24 });
  });

  it('a next index ≥ size → next-out-of-range (ring and indirect table)', () => {
    expectError(rawRing(8, [rd(DATA, 64, NEXT, 1), rd(DATA, 64, NEXT, 8)], [0]).dev, 'next-out-of-range', /descriptor 1\b.*\b8\b/);
    expectError(rawRing(8, [rd(TABLE, 32, IND)], [0], { table: [rd(DATA, 8, NEXT, 2), rd(DATA, 8)] }).dev, 'next-out-of-range', /descriptor 0\b/);
  });

  it('a head ≥ size → head-out-of-range', () => {
    expectError(rawRing(8, [], [8]).dev, 'head-out-of-range', /descriptor 8\b/);
    expectError(rawRing(8, [], [0xffff]).dev, 'head-out-of-range', /descriptor 65535\b/);
  });

  it('INDIRECT together with NEXT → indirect-with-next', () => {
    expectError(rawRing(8, [rd(TABLE, 32, IND | NEXT, 1), rd(DATA)], [0], { table: [rd(DATA), rd(DATA)] }).dev, 'indirect-with-next', /descriptor 0\b/);
  });

  it('an INDIRECT descriptor inside an indirect table → nested-indirect', () => {
    expectError(rawRing(8, [rd(TABLE, 32, IND)], [0], { table: [rd(DATA, 8, NEXT, 1), rd(TABLE, 32, IND)] }).dev, 'nested-indirect', /descriptor 1\b/);
  });

  it('an indirect length that is 0 or not a multiple of 16 → bad-indirect-len', () => {
    for (const len of [0, 8, 24, 17, 0xffff_ffff]) {
      expectError(rawRing(8, [rd(TABLE, len, IND)], [0], { table: [rd(DATA), rd(DATA)] }).dev, 'bad-indirect-len', /descriptor 0\b/);
    }
  });

  it('INDIRECT when VIRTIO_F_INDIRECT_DESC was not negotiated → indirect-not-negotiated', () => {
    expectError(rawRing(8, [rd(DATA, 64, NEXT, 1), rd(TABLE, 16, IND)], [0], { indirect: false, table: [rd(DATA)] }).dev, 'indirect-not-negotiated', /descriptor 1\b/);
  });

  it('a device-readable descriptor after a device-writable one → readable-after-writable (ring and indirect)', () => {
    expectError(rawRing(8, [rd(DATA, 64, WRITE | NEXT, 1), rd(DATA, 64, 0)], [0]).dev, 'readable-after-writable', /descriptor 1\b/);
    expectError(rawRing(8, [rd(TABLE, 48, IND)], [0], { table: [rd(DATA, 8, NEXT, 1), rd(DATA, 8, WRITE | NEXT, 2), rd(DATA, 8)] }).dev, 'readable-after-writable', /descriptor 2\b/);
    // ...even across the jump into an indirect table (§2.7.5.3.1 allows direct descriptors before it)
    expectError(rawRing(8, [rd(DATA, 64, WRITE | NEXT, 1), rd(TABLE, 16, IND)], [0], { table: [rd(DATA, 8)] }).dev, 'readable-after-writable', /descriptor 0\b/);
  });

  it('§2.7.5.3.1: direct descriptors followed by one INDIRECT are accepted, and WRITE on the INDIRECT descriptor itself is ignored', () => {
    const r = rawRing(8, [rd(DATA, 10, NEXT, 1), rd(TABLE, 32, IND | WRITE)], [0], { table: [rd(DATA + 64, 20, NEXT, 1), rd(DATA + 128, 30, WRITE)] }).dev.pop();
    expect(r?.ok && r.chain).toEqual({
      head: 0, indirect: true, descriptors: 4, readableBytes: 30, writableBytes: 30,
      segments: [{ addr: DATA, len: 10, write: false }, { addr: DATA + 64, len: 20, write: false }, { addr: DATA + 128, len: 30, write: true }],
    });
  });

  it('a buffer or indirect table outside guest memory → buffer-outside-memory', () => {
    expectError(rawRing(8, [rd(MEM - 10, 20)], [0]).dev, 'buffer-outside-memory', /descriptor 0\b/);
    expectError(rawRing(8, [rd(DATA, 8, NEXT, 1), rd(2 ** 40, 8)], [0]).dev, 'buffer-outside-memory', /descriptor 1\b/);
    expectError(rawRing(8, [rd(DATA, 8, NEXT, 1), rd(0xffff_ffff_0000, 0xffff_ffff)], [0]).dev, 'buffer-outside-memory', /descriptor 1\b/);
    expectError(rawRing(8, [rd(MEM - 16, 32, IND)], [0]).dev, 'buffer-outside-memory', /indirect table/);
  });

  it('a zero-length buffer → zero-length', () => {
    expectError(rawRing(8, [rd(DATA, 8, NEXT, 1), rd(DATA, 0)], [0]).dev, 'zero-length', /descriptor 1\b/);
  });

  it('avail.idx jumped by more than the queue size → avail-idx-jump (and exactly size is fine)', () => {
    expectError(rawRing(8, [rd(DATA)], [0], { availIdx: 9 }).dev, 'avail-idx-jump', /avail\.idx is 9\b/);
    expectError(rawRing(8, [rd(DATA)], [0], { availIdx: 0xffff }).dev, 'avail-idx-jump', /avail\.idx is 65535\b/);
    const ok = rawRing(8, [rd(DATA)], [0, 0, 0, 0, 0, 0, 0, 0], { availIdx: 8 }).dev;
    expect(ok.pending()).toBe(8);
    expect(ok.pop()?.ok).toBe(true);
  });

  it('property: random garbage in the descriptor table and an indirect table → a valid chain or a RingError, in a bounded number of descriptor reads', () => {
    const codes: RingError['code'][] = ['head-out-of-range', 'next-out-of-range', 'chain-too-long', 'indirect-with-next', 'nested-indirect', 'bad-indirect-len',
      'indirect-not-negotiated', 'readable-after-writable', 'buffer-outside-memory', 'avail-idx-jump', 'zero-length'];
    const seen = new Set<string>();
    const descArb = (size: number): fc.Arbitrary<RawDesc> => fc.record({
      addr: fc.oneof(fc.integer({ min: 0, max: MEM }), fc.constantFrom(TABLE, RING, MEM - 16, 2 ** 40), fc.integer({ min: 0, max: 2 ** 52 })),
      len: fc.oneof(fc.integer({ min: 0, max: 256 }), fc.constantFrom(16, 32, 64, 4096), fc.nat({ max: 0xffff_ffff })),
      flags: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 7 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
      next: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: Math.max(0, size - 1) }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8, 64, 256).chain((size) => fc.record({
          size: fc.constant(size),
          ring: fc.array(descArb(size), { minLength: size, maxLength: size }),
          table: fc.array(descArb(16), { maxLength: 16 }),
          heads: fc.array(fc.oneof({ weight: 5, arbitrary: fc.nat({ max: size - 1 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }), { minLength: 1, maxLength: 4 }),
          availIdx: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
          indirect: fc.boolean(),
        })),
        ({ size, ring, table, heads, availIdx, indirect }) => {
          const { dev, mem } = rawRing(size, ring, heads, { indirect, table, availIdx });
          for (let k = 0; k < 4; k++) {
            mem.reads64 = 0; // CountingMemory throws past size + 1 + MEM/16 descriptor reads in one pop
            const r = dev.pop();
            if (!r) break;
            if (!r.ok) {
              seen.add(r.error.code);
              expect(codes).toContain(r.error.code);
              expect(r.error.message.length).toBeGreaterThan(10);
              break;
            }
            seen.add('ok');
            const c = r.chain;
            expect(c.segments.length).toBeGreaterThan(0);
            let w = false;
            for (const s of c.segments) {
              expect(mem.contains(s.addr, s.len) && s.len > 0).toBe(true);
              expect(w && !s.write, 'readable after writable accepted').toBe(false);
              w ||= s.write;
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(seen.size).toBeGreaterThan(6); // the garbage reached many different checks
  });
});
