/**
 * Plugs the learner's serveTx/receive into a backend as its data plane (hv/virtio-backends.ts
 * DataPlane). The learner gets a `Queue` capability — the queue's addresses, its negotiated
 * features, the device-side indices it owns, and guest memory — and a `Host` capability; never
 * the device. Every guest-memory access is charged to the backend's thread and checked: outside
 * guest RAM or a write anywhere but the used ring / posted RX buffers is recorded for the checks;
 * more than MAX_ACCESSES accesses in one call is a runaway loop (a NEXT cycle the code did not
 * catch) and stops the run. A thrown exception stops the run with the learner's line.
 */
import { copyCost } from '../../sim/costs.ts';
import { formatNs } from '../../sim/time.ts';
import type { DeviceQueue } from '../../hw/virtio/split-ring.ts';
import type { DataPlane, PlaneCosts, PlaneIo } from '../../hv/virtio-backends.ts';
import { learnerThrew } from '../../sandbox/compile.ts';
import type { Diagnostic } from '../../sim/types.ts';
import type { VirtioLabObserver } from './observe.ts';

export interface LearnerPlaneExports {
  serveTx: (q: unknown, host: unknown) => void;
  receive: (q: unknown, frame: Uint8Array, host: unknown) => unknown;
}

/** Guest-memory accesses allowed in one call before it counts as a runaway loop. */
export const MAX_ACCESSES = 200_000;
const MAX_COPY = 65_536;
/** Simulated cost of one guest-memory access by the backend (a cache-line touch). */
const ACCESS_NS = 5;

class StopRun extends Error {
  override name = 'StopRun';
}

interface QueueState {
  lastAvail: number;
  usedIdx: number;
  scratch: Record<string, number>;
}

export class LearnerPlane implements DataPlane {
  readonly learner: LearnerPlaneExports;
  readonly costs: PlaneCosts;
  readonly observer: VirtioLabObserver;
  readonly logs: string[];
  readonly fail: (d: Diagnostic) => void;
  readonly #state = new Map<number, QueueState>();

  constructor(learner: LearnerPlaneExports, costs: PlaneCosts, observer: VirtioLabObserver, logs: string[], fail: (d: Diagnostic) => void) {
    this.learner = learner;
    this.costs = costs;
    this.observer = observer;
    this.logs = logs;
    this.fail = fail;
  }

  serveTx(q: number, queue: DeviceQueue, io: PlaneIo): boolean {
    this.#call('serveTx', q, queue, io, 'a kick of the TX queue', (view, host) => {
      this.learner.serveTx(view, host);
    });
    return false;
  }

  receive(q: number, queue: DeviceQueue, frame: Uint8Array, io: PlaneIo): boolean {
    let ok = false;
    const copy = frame.slice();
    this.#call('receive', q, queue, io, `a ${frame.length}-byte frame for the guest`, (view, host) => {
      const r = this.learner.receive(view, copy, host);
      if (typeof r !== 'boolean') throw new TypeError(`receive() must return true or false, got ${String(r)}`);
      ok = r;
    });
    return ok;
  }

  #call(fn: string, q: number, queue: DeviceQueue, io: PlaneIo, what: string, body: (view: object, host: object) => void): void {
    const { m, dev } = io;
    if (!dev.live) return;
    let st = this.#state.get(q);
    if (!st) {
      st = { lastAvail: queue.lastAvail, usedIdx: queue.usedIdx, scratch: {} };
      this.#state.set(q, st);
    }
    const live = { valid: true, accesses: 0, pendingNs: 0, pendingCount: 0 };
    const view = this.#queueView(q, queue, io, st, live);
    const host = this.#host(q, io, live, fn);
    try {
      body(view, host);
      flushAccesses(m, this.costs.ctx, live);
    } catch (e) {
      flushAccesses(m, this.costs.ctx, live);
      if (e instanceof StopRun) return;
      this.fail({ ...learnerThrew(fn, e, `while handling ${what} at ${formatNs(m.t)}`), t: m.t });
    } finally {
      live.valid = false;
      // Keep the engine's view of the queue in step with the learner's indices: kick
      // suppression and its re-check (vhost_enable_notify) read them.
      queue.lastAvail = toIdx(st.lastAvail);
      queue.usedIdx = toIdx(st.usedIdx);
    }
  }

  #queueView(q: number, queue: DeviceQueue, io: PlaneIo, st: QueueState, live: Live): object {
    const { m, dev } = io;
    const mem = dev.mem;
    const obs = this.observer;
    const ctx = this.costs.ctx;
    const check = (name: string, gpa: unknown, len: number): number => {
      if (!live.valid) throw new Error(`q.mem.${name}() was called after the call it was passed to returned`);
      if (++live.accesses > MAX_ACCESSES) {
        this.fail({ severity: 'error', code: 'runaway-loop', message: `Your code made more than ${MAX_ACCESSES.toLocaleString('en-US')} guest-memory accesses while serving queue ${q} at ${formatNs(m.t)}: a descriptor chain that loops (NEXT pointing back) and was never stopped? The run stopped there.`, t: m.t });
        throw new StopRun();
      }
      if (typeof gpa !== 'number' || !Number.isInteger(gpa) || gpa < 0) throw new TypeError(`q.mem.${name}: the guest-physical address must be a non-negative integer, got ${String(gpa)}`);
      if (!mem.contains(gpa, len)) {
        obs.outsideRam(name, gpa, len, m.t);
        this.fail({ severity: 'error', code: 'dma-outside-ram', message: `q.mem.${name} of ${len} B at 0x${gpa.toString(16)} is outside guest RAM: the device would fault. The run stopped there.`, t: m.t });
        throw new StopRun();
      }
      // Accesses are charged in runs (one trace segment each), flushed before anything the host
      // or the guest can see: a transmit, an interrupt, a reset.
      live.pendingNs += ACCESS_NS;
      live.pendingCount++;
      return gpa;
    };
    const writing = (gpa: number, len: number, value?: number): void => {
      obs.deviceWrite(q, gpa, len, m.t, value);
    };
    const num = (name: string, v: unknown): number => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`q.mem.${name}: the value must be a number, got ${String(v)}`);
      return v;
    };
    const memView = Object.freeze({
      read8: (gpa: number) => mem.read8(check('read8', gpa, 1)),
      read16: (gpa: number) => mem.read16(check('read16', gpa, 2)),
      read32: (gpa: number) => mem.read32(check('read32', gpa, 4)),
      read64: (gpa: number) => mem.read64(check('read64', gpa, 8)),
      write16: (gpa: number, v: number) => {
        check('write16', gpa, 2);
        const v16 = num('write16', v) & 0xffff;
        writing(gpa, 2, v16);
        mem.write16(gpa, v16);
      },
      write32: (gpa: number, v: number) => {
        check('write32', gpa, 4);
        writing(gpa, 4);
        mem.write32(gpa, num('write32', v) >>> 0);
      },
      read: (gpa: number, len: number) => {
        if (!Number.isInteger(len) || len < 0 || len > MAX_COPY) throw new RangeError(`q.mem.read: the length must be an integer in [0, ${MAX_COPY}], got ${String(len)}`);
        check('read', gpa, len);
        live.pendingNs += copyCost(len);
        dev.env.metrics.count(m.t, 'bytesCopied', len);
        return mem.read(gpa, len);
      },
      write: (gpa: number, bytes: Uint8Array) => {
        if (!(bytes instanceof Uint8Array)) throw new TypeError('q.mem.write: bytes must be a Uint8Array');
        if (bytes.length > MAX_COPY) throw new RangeError(`q.mem.write: at most ${MAX_COPY} bytes at a time, got ${bytes.length}`);
        check('write', gpa, bytes.length);
        writing(gpa, bytes.length);
        live.pendingNs += copyCost(bytes.length);
        dev.env.metrics.count(m.t, 'bytesCopied', bytes.length);
        mem.write(gpa, bytes.slice());
      },
    });
    const L = queue.layout;
    return {
      index: q,
      kind: q % 2 === 0 ? 'rx' : 'tx',
      size: L.size,
      desc: L.desc,
      avail: L.avail,
      used: L.used,
      eventIdx: queue.eventIdx,
      indirect: queue.indirect,
      get lastAvail() {
        return st.lastAvail;
      },
      set lastAvail(v: number) {
        st.lastAvail = num('lastAvail', v);
      },
      get usedIdx() {
        return st.usedIdx;
      },
      set usedIdx(v: number) {
        st.usedIdx = num('usedIdx', v);
      },
      scratch: st.scratch,
      mem: memView,
    };
  }

  #host(q: number, io: PlaneIo, live: Live, fn: string): object {
    const { m, dev } = io;
    const flush = (): void => flushAccesses(m, this.costs.ctx, live);
    const alive = (name: string): void => {
      if (!live.valid) throw new Error(`host.${name}() was called after ${fn}() returned`);
    };
    return Object.freeze({
      transmit: (frame: Uint8Array) => {
        alive('transmit');
        if (!(frame instanceof Uint8Array)) throw new TypeError('host.transmit: the frame must be a Uint8Array');
        if (q % 2 === 0) throw new Error('host.transmit() is for TX; receive() delivers into the guest instead');
        if (frame.length < 14 || frame.length > 16_384) throw new RangeError(`host.transmit: a ${frame.length}-byte frame cannot be an Ethernet frame (14–16384 bytes)`);
        flush();
        this.observer.transmitted(m.t);
        io.transmit(frame.slice());
      },
      interrupt: () => {
        alive('interrupt');
        flush();
        this.observer.interrupted(q, m.t);
        io.interrupt(q);
      },
      needsReset: (reason: unknown) => {
        alive('needsReset');
        const text = typeof reason === 'string' && reason.trim() ? reason.trim().slice(0, 300) : 'no reason given';
        flush();
        this.observer.needsReset(q, text, m.t);
        dev.needsReset(`queue ${q}: your device reported: ${text}`, m.t);
      },
      log: (...values: unknown[]) => {
        if (this.logs.length < 200) this.logs.push(`[${formatNs(m.t)}] ${values.map((v) => (typeof v === 'string' ? v : safeJson(v))).join(' ')}`);
        else if (this.logs.length === 200) this.logs.push('… more log lines were dropped (200 max)');
      },
    });
  }
}

interface Live {
  valid: boolean;
  accesses: number;
  /** Accesses not yet charged to the clock, and their cost. */
  pendingNs: number;
  pendingCount: number;
}

function flushAccesses(m: PlaneIo['m'], ctx: PlaneCosts['ctx'], live: Live): void {
  if (live.pendingNs === 0) return;
  const n = live.pendingCount;
  m.charge(ctx, live.pendingNs, 'ring-access', () => `your code: ${n} guest-memory access${n === 1 ? '' : 'es'}`);
  live.pendingNs = 0;
  live.pendingCount = 0;
}

const toIdx = (v: number): number => (Number.isFinite(v) ? Math.trunc(v) & 0xffff : 0);

function safeJson(v: unknown): string {
  try {
    return typeof v === 'number' ? String(v) : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
