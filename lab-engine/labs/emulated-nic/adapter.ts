/**
 * Plugs learner code into the device model: implements the engine's TxModel by calling the
 * learner's exports with a fresh `Device` capability object (STYLE.md §3.6: capabilities, never
 * the device). Every call is charged to the simulated clock; every misuse becomes a diagnostic
 * with the learner's line; an exception stops the run (QEMU would abort), never the engine.
 */
import { COSTS, copyCost } from '../../sim/costs.ts';
import { formatNs } from '../../sim/time.ts';
import type { Meter } from '../../hv/host.ts';
import { diagnose } from '../../hv/host.ts';
import type { TxModel } from '../../hw/e1000/device.ts';
import { registerName } from '../../hw/e1000/regs.ts';
import type { EmulationHost } from '../../scenarios/emulation.ts';
import { learnerThrew } from '../../sandbox/compile.ts';
import type { LabObserver } from './observe.ts';

export interface LearnerTxExports {
  onRegisterWrite: (dev: unknown, offset: number, value: number) => void;
  onTimer?: (dev: unknown) => void;
}

const MAX_DMA = 64 * 1024;

export class LearnerTx implements TxModel {
  readonly host: EmulationHost;
  readonly learner: LearnerTxExports;
  readonly observer: LabObserver;
  readonly logs: string[];

  constructor(host: EmulationHost, learner: LearnerTxExports, observer: LabObserver, logs: string[]) {
    this.host = host;
    this.learner = learner;
    this.observer = observer;
    this.logs = logs;
  }

  onRegisterWrite(offset: number, value: number, m: Meter): void {
    const what = `the guest's write of ${registerName(offset)}=0x${(value >>> 0).toString(16)}`;
    this.#call('onRegisterWrite', what, m, (dev) => this.learner.onRegisterWrite(dev, offset, value));
  }

  onTimer(m: Meter): void {
    const fn = this.learner.onTimer;
    if (typeof fn !== 'function') {
      diagnose(this.host.env, { severity: 'warning', code: 'no-on-timer', message: 'Your timer fired but the module exports no onTimer(dev) function.', t: m.t });
      return;
    }
    this.#call('onTimer', 'the device timer', m, (dev) => fn(dev));
  }

  #call(fn: string, what: string, m: Meter, body: (dev: object) => void): void {
    const state = { valid: true };
    const dev = this.#device(m, state);
    try {
      body(dev);
    } catch (e) {
      this.host.fail({ ...learnerThrew(fn, e, `while handling ${what} at ${formatNs(m.t)}`), t: m.t });
    } finally {
      state.valid = false;
    }
  }

  #device(m: Meter, state: { valid: boolean }): object {
    const host = this.host;
    const d = host.dev;
    const mem = host.mem;
    const obs = this.observer;
    const env = host.env;
    const live = (name: string): void => {
      if (!state.valid) throw new Error(`dev.${name}() was called after the handler it was passed to returned; use the dev of the current call`);
    };
    const addr = (name: string, gpa: unknown, len: unknown): void => {
      if (typeof gpa !== 'number' || !Number.isInteger(gpa) || gpa < 0) throw new TypeError(`dev.${name}: the guest-physical address must be a non-negative integer, got ${String(gpa)}`);
      if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > MAX_DMA) throw new RangeError(`dev.${name}: the length must be an integer in [0, ${MAX_DMA}], got ${String(len)}`);
    };
    const dmaCharge = (dir: string, gpa: number, len: number): void => {
      m.charge('qemu', COSTS.qemuDmaOp.ns + copyCost(len), dir === 'read' ? 'dma-read' : 'dma-write', () => `DMA ${dir} ${len} B at 0x${gpa.toString(16)}`);
      env.metrics.count(m.t, 'dmaOps');
      env.metrics.count(m.t, 'bytesCopied', len);
    };
    const read = (gpa: number, len: number): Uint8Array => {
      dmaCharge('read', gpa, len);
      if (!mem.contains(gpa, len)) {
        obs.dmaOutsideRam('read', gpa, len, m.t);
        return new Uint8Array(len);
      }
      return mem.read(gpa, len);
    };
    const write = (gpa: number, bytes: Uint8Array): void => {
      dmaCharge('write', gpa, bytes.length);
      if (!mem.contains(gpa, bytes.length)) {
        obs.dmaOutsideRam('write', gpa, bytes.length, m.t);
        return;
      }
      obs.beforeDmaWrite(gpa, bytes, m.t);
      mem.write(gpa, bytes);
    };
    return Object.freeze({
      get now() {
        return m.t;
      },
      reg: (offset: number): number => {
        live('reg');
        if (!Number.isInteger(offset) || offset < 0 || offset >= 0x10000 || offset % 4) throw new RangeError(`dev.reg: ${String(offset)} is not a register offset (a multiple of 4 below 0x10000)`);
        return d.reg(offset);
      },
      setReg: (offset: number, value: number): void => {
        live('setReg');
        if (!Number.isInteger(offset) || offset < 0 || offset >= 0x10000 || offset % 4) throw new RangeError(`dev.setReg: ${String(offset)} is not a register offset (a multiple of 4 below 0x10000)`);
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`dev.setReg(${registerName(offset)}): the value must be a number, got ${String(value)}`);
        obs.setReg(offset, value, d, m.t);
        d.setReg(offset, value);
      },
      dmaRead: (gpa: number, length: number): Uint8Array => {
        live('dmaRead');
        addr('dmaRead', gpa, length);
        return read(gpa, length);
      },
      dmaWrite: (gpa: number, bytes: Uint8Array): void => {
        live('dmaWrite');
        if (!(bytes instanceof Uint8Array)) throw new TypeError('dev.dmaWrite: bytes must be a Uint8Array');
        addr('dmaWrite', gpa, bytes.length);
        write(gpa, bytes.slice());
      },
      dmaRead32: (gpa: number): number => {
        live('dmaRead32');
        addr('dmaRead32', gpa, 4);
        const b = read(gpa, 4);
        return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
      },
      dmaWrite32: (gpa: number, value: number): void => {
        live('dmaWrite32');
        addr('dmaWrite32', gpa, 4);
        const v = value >>> 0;
        write(gpa, new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]));
      },
      transmit: (frame: Uint8Array): void => {
        live('transmit');
        if (!(frame instanceof Uint8Array)) throw new TypeError('dev.transmit: the frame must be a Uint8Array');
        if (frame.length < 14 || frame.length > 16_384) throw new RangeError(`dev.transmit: a ${frame.length}-byte frame cannot be an Ethernet frame (14–16384 bytes)`);
        host.transmit(frame.slice(), m);
      },
      setCause: (causes: number): void => {
        live('setCause');
        d.setCause(causes >>> 0);
      },
      raiseInterrupt: (): boolean => {
        live('raiseInterrupt');
        const wasUp = d.lineLevel;
        const up = d.raiseNow(m);
        if (up && !wasUp) obs.interruptRaised(m.t);
        return up;
      },
      startTimer: (delayNs: number): void => {
        live('startTimer');
        if (typeof delayNs !== 'number' || !Number.isFinite(delayNs) || delayNs < 0 || delayNs > 1e9) throw new RangeError(`dev.startTimer: the delay must be between 0 and 1e9 ns, got ${String(delayNs)}`);
        d.startTimer(delayNs, m, () => host.mainLoop.submit(env.sched.now, (mm) => this.onTimer(mm)));
      },
      cancelTimer: (): void => {
        live('cancelTimer');
        d.cancelTimer();
      },
      timerArmed: (): boolean => d.timerArmed,
      log: (...values: unknown[]): void => {
        if (this.logs.length < 200) this.logs.push(`[${formatNs(m.t)}] ${values.map((v) => (typeof v === 'string' ? v : safeJson(v))).join(' ')}`);
        else if (this.logs.length === 200) this.logs.push('… more log lines were dropped (200 max)');
      },
    });
  }
}

function safeJson(v: unknown): string {
  try {
    return typeof v === 'number' ? String(v) : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
