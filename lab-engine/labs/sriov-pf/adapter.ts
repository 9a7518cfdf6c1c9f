/**
 * The learner's capabilities, never engine objects:
 *   PfConfig   — the PF's configuration space through config accessors (offsets and widths, as
 *                pci_read_config_word() and friends), the driver's VF limit, and a sleep in
 *                virtual time (msleep);
 *   SwitchView — the PF driver's `ip link set <pf> vf N …` operations on the embedded switch;
 *   MailboxView — what the PF driver knows when a VF's mailbox message arrives.
 * Every call is checked (argument types and ranges, a view kept past its call) and counted: more
 * than MAX_CALLS in one call of the learner's is a runaway loop and stops the run. A thrown
 * exception stops the run with the learner's line.
 */
import type { PciConfigSpace } from '../../hw/pci/config-space.ts';
import type { PfDriver, PolicyVerdict, VfRequest } from '../../hw/sriov-nic/mailbox.ts';
import { learnerThrew } from '../../sandbox/compile.ts';
import type { Diagnostic } from '../../sim/types.ts';
import type { HostEnv } from '../../hv/host.ts';

export interface LearnerExports {
  enableVfs: (pf: unknown, want: unknown) => unknown;
  configureTenants: (sw: unknown, vfs: unknown, tenants: unknown) => unknown;
  onMailbox: (vf: unknown, req: unknown, view: unknown) => unknown;
}

/** Capability calls allowed in one call of the learner's before it counts as a runaway loop. */
export const MAX_CALLS = 100_000;
const MAX_LOG_LINES = 200;
/** The longest sleep one call may ask for (a second of virtual time). */
const MAX_SLEEP_MS = 1000;

export class LabStop extends Error {
  override name = 'LabStop';
  readonly diagnostic: Diagnostic;
  constructor(d: Diagnostic) {
    super(d.message);
    this.diagnostic = d;
  }
}

export const describe = (v: unknown): string => {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  try {
    const s = JSON.stringify(v);
    return s.length > 60 ? `${s.slice(0, 60)}…` : s;
  } catch {
    return 'an object';
  }
};

interface Live {
  valid: boolean;
  calls: number;
  fn: string;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Runs one call of the learner's with a fresh budget; converts throws into a stop diagnostic. */
export class Caller {
  readonly logs: string[];
  stopped: Diagnostic | undefined;
  constructor(logs: string[]) {
    this.logs = logs;
  }

  call<T>(fn: string, handling: string, body: (live: Live) => T): { ok: true; value: T } | { ok: false } {
    if (this.stopped) return { ok: false };
    const live: Live = { valid: true, calls: 0, fn };
    try {
      return { ok: true, value: body(live) };
    } catch (e) {
      this.stopped = e instanceof LabStop ? e.diagnostic : learnerThrew(fn, e, handling);
      return { ok: false };
    } finally {
      live.valid = false;
    }
  }

  /** Count one capability call; a view used after its call, or too many calls, stops the run. */
  tick(live: Live, what: string): void {
    if (!live.valid) {
      throw new LabStop({ severity: 'error', code: 'stale-view', message: `${what} was used after ${live.fn}() returned; the engine's views are only valid during the call they were passed to. The run stopped there.` });
    }
    if (++live.calls > MAX_CALLS) {
      throw new LabStop({ severity: 'error', code: 'learner-loop', message: `Your ${live.fn}() made more than ${MAX_CALLS.toLocaleString('en')} calls (${what} was the last): a runaway loop? The run stopped there.` });
    }
  }

  log(live: Live, msg: unknown): void {
    this.tick(live, 'log()');
    if (this.logs.length < MAX_LOG_LINES) this.logs.push(`${live.fn}: ${String(msg)}`);
  }
}

export interface PfAccess {
  env: HostEnv;
  config: PciConfigSpace;
  bus: number;
  devfn: number;
  driverMaxVfs: number;
  /** Every configuration write the learner made, for messages. */
  writes: { offset: number; width: number; value: number; t: number }[];
}

/** The PfConfig view of `a` for one enableVfs call. */
export function pfConfigView(c: Caller, live: Live, a: PfAccess): object {
  const off = (what: string, o: unknown, width: number): number => {
    c.tick(live, what);
    if (!isInt(o) || o < 0 || o + width > 4096) throw new RangeError(`${what}: offset ${describe(o)} is not inside the 4 KiB configuration space (0–${4096 - width})`);
    if (o % width) throw new RangeError(`${what}: offset 0x${o.toString(16)} is not ${width}-byte aligned (configuration accesses are naturally aligned)`);
    return o;
  };
  const val = (what: string, v: unknown, max: number): number => {
    if (!isInt(v) || v < 0 || v > max) throw new TypeError(`${what}: value ${describe(v)} is not an integer in 0–0x${max.toString(16)}`);
    return v;
  };
  const write = (what: string, o: unknown, v: unknown, width: 2 | 4): void => {
    const at = off(what, o, width);
    const value = val(what, v, width === 2 ? 0xffff : 0xffffffff);
    a.writes.push({ offset: at, width, value, t: a.env.sched.now });
    a.config.write(at, width, value);
  };
  return Object.freeze({
    bus: a.bus,
    devfn: a.devfn,
    driverMaxVfs: a.driverMaxVfs,
    read8: (o: unknown) => a.config.read(off('read8()', o, 1), 1),
    read16: (o: unknown) => a.config.read(off('read16()', o, 2), 2),
    read32: (o: unknown) => a.config.read(off('read32()', o, 4), 4),
    write16: (o: unknown, v: unknown) => write('write16()', o, v, 2),
    write32: (o: unknown, v: unknown) => write('write32()', o, v, 4),
    sleep: (ms: unknown) => {
      c.tick(live, 'sleep()');
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) throw new RangeError(`sleep(): ${describe(ms)} is not a number of milliseconds in 0–${MAX_SLEEP_MS}`);
      const target = a.env.sched.now + Math.round(ms * 1e6);
      a.env.sched.at(target, () => {});
      a.env.sched.run({ until: target });
    },
    log: (m: unknown) => c.log(live, m),
  });
}

/** What the switch calls did, for messages. */
export interface SwitchRecord {
  macs: Map<number, string>;
  vlans: Map<number, number>;
  spoof: Map<number, boolean>;
  rates: Map<number, { mbps: number; refused?: string }>;
}
export const newSwitchRecord = (): SwitchRecord => ({ macs: new Map(), vlans: new Map(), spoof: new Map(), rates: new Map() });

export function switchView(c: Caller, live: Live, pf: PfDriver, vfCount: number, portMbps: number, rec: SwitchRecord): object {
  const vfArg = (what: string, vf: unknown): number => {
    c.tick(live, what);
    if (!isInt(vf) || vf < 0 || vf >= vfCount) throw new RangeError(`${what}: ${describe(vf)} is not a VF number (this PF has VFs 0–${vfCount - 1})`);
    return vf;
  };
  return Object.freeze({
    portMbps,
    setMac: (vf: unknown, mac: unknown) => {
      const v = vfArg('setMac()', vf);
      if (typeof mac !== 'string' || !MAC_RE.test(mac.toLowerCase())) throw new TypeError(`setMac(): ${describe(mac)} is not a MAC address like "02:00:00:00:00:01"`);
      const m = mac.toLowerCase();
      if (m === '00:00:00:00:00:00' || (parseInt(m.slice(0, 2), 16) & 1) === 1) throw new RangeError(`setMac(): ${m} is not a valid unicast address (ip link says EINVAL)`);
      rec.macs.set(v, m);
      pf.setVfMac(v, m);
    },
    setVlan: (vf: unknown, vid: unknown) => {
      const v = vfArg('setVlan()', vf);
      if (!isInt(vid) || vid < 1 || vid > 4094) throw new RangeError(`setVlan(): ${describe(vid)} is not a VLAN id in 1–4094`);
      rec.vlans.set(v, vid);
      pf.setVfVlan(v, vid);
    },
    setSpoofCheck: (vf: unknown, on: unknown) => {
      const v = vfArg('setSpoofCheck()', vf);
      if (typeof on !== 'boolean') throw new TypeError(`setSpoofCheck(): ${describe(on)} is not true or false`);
      rec.spoof.set(v, on);
      pf.setSpoofCheck(v, on);
    },
    setRate: (vf: unknown, mbps: unknown) => {
      const v = vfArg('setRate()', vf);
      if (typeof mbps !== 'number' || !Number.isFinite(mbps) || mbps < 0) throw new TypeError(`setRate(): ${describe(mbps)} is not a rate in Mbit/s (a number ≥ 0; 0 = no limit)`);
      if (mbps > portMbps) {
        const refused = `${mbps} Mbit/s exceeds the port's ${portMbps} Mbit/s (ip link says EINVAL)`;
        rec.rates.set(v, { mbps, refused });
        return { ok: false, message: refused };
      }
      rec.rates.set(v, { mbps });
      pf.setVfRate(v, mbps);
      return { ok: true };
    },
    log: (m: unknown) => c.log(live, m),
  });
}

export function mailboxView(c: Caller, live: Live, pf: PfDriver, vfCount: number): object {
  const vfArg = (what: string, vf: unknown): number => {
    c.tick(live, what);
    if (!isInt(vf) || vf < 0 || vf >= vfCount) throw new RangeError(`${what}: ${describe(vf)} is not a VF number (VFs 0–${vfCount - 1})`);
    return vf;
  };
  return Object.freeze({
    vfCount,
    adminMac: (vf: unknown) => pf.view.adminMac(vfArg('adminMac()', vf)),
    portVlan: (vf: unknown) => pf.view.portVlan(vfArg('portVlan()', vf)),
    macOwner: (mac: unknown) => {
      c.tick(live, 'macOwner()');
      if (typeof mac !== 'string') throw new TypeError(`macOwner(): ${describe(mac)} is not a MAC address string`);
      return pf.view.macOwner(mac.toLowerCase());
    },
    log: (m: unknown) => c.log(live, m),
  });
}

/** The learner's verdict as the PF driver takes it, or why it is not one. */
export function toVerdict(r: unknown): { verdict: PolicyVerdict; bad?: string } {
  if (r && typeof r === 'object' && (r as { ok?: unknown }).ok === true) return { verdict: { ok: true } };
  if (r && typeof r === 'object' && (r as { ok?: unknown }).ok === false) {
    const reason = (r as { reason?: unknown }).reason;
    return { verdict: { ok: false, reason: typeof reason === 'string' && reason ? reason : 'refused' } };
  }
  return { verdict: { ok: false, reason: 'no verdict' }, bad: describe(r) };
}

export const requestView = (req: VfRequest): VfRequest => Object.freeze(req.type === 'set-multicast' ? { ...req, hashes: Object.freeze([...req.hashes]) as number[] } : { ...req });
