/**
 * The runs of one seed, each on a fresh host (virtual time from 0):
 *   enable      the learner's enableVfs() on a PF of the seed's NIC (hw/pci/sriov.ts); then the
 *               kernel enumerates the VFs it finds (a configuration read to each VF's RID) —
 *               twice: the seed's request, and one asking for more VFs than the PF can give;
 *   isolation   the embedded switch (hw/sriov-nic/switch.ts) and the PF↔VF mailbox
 *               (hw/sriov-nic/mailbox.ts): configureTenants(), every VF's mailbox requests through
 *               onMailbox() (benign and malicious), then the tenants' frames, spoofed frames,
 *               cross-VLAN attempts and frames from the wire, watched where the switch delivers;
 *   rate        every tenant sends at twice its rate; the rate each got is measured from the
 *               frames the port sent, in a window after the token buckets' bursts;
 *   throughput  8 and 32 tenants on the seed's NIC, 64 on an XL710 (the 82599's driver allows
 *               63), rates summing past line rate: the share of the wire's time the frames used.
 * This harness drives the switch and the mailbox directly, in virtual time; the shared wire and
 * PCIe links (SerialLink) make the throughput emerge.
 */
import { PciConfigSpace } from '../../hw/pci/config-space.ts';
import * as P from '../../hw/pci/regs.ts';
import { SriovPf, virtfnBus, virtfnDevfn, virtfnRid } from '../../hw/pci/sriov.ts';
import type { SriovNicModel } from '../../hw/sriov-nic/models.ts';
import { Veb, macBytes, macString, frameVlan } from '../../hw/sriov-nic/switch.ts';
import { PfDriver, encodeRequest, IXGBE_VT_MSGTYPE_ACK, type VfRequest } from '../../hw/sriov-nic/mailbox.ts';
import { newHostEnv } from '../../scenarios/run-common.ts';
import { COSTS, wireTime } from '../../sim/costs.ts';
import type { HostEnv } from '../../hv/host.ts';
import type { Diagnostic, RunResult } from '../../sim/types.ts';
import { ENGINE_VERSION } from '../../version.ts';
import { Rng } from '../../sim/rng.ts';
import { Caller, mailboxView, newSwitchRecord, pfConfigView, requestView, switchView, toVerdict, describe, type LearnerExports, type SwitchRecord } from './adapter.ts';
import { expectedVfs, type FramePlan, type SeedConfig, type Tenant } from './seeds.ts';

export interface VfInfo {
  index: number;
  bus: number;
  devfn: number;
  rid: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

// ── enable ─────────────────────────────────────────────────────────────────────────────────

export interface EnableOutcome {
  label: string;
  want: number;
  expected: number;
  model: SriovNicModel;
  numVfs: number;
  vfEnabled: boolean;
  mse: boolean;
  /** The VFs the engine created, as the kernel enumerates them. */
  vfs: VfInfo[];
  /** VFs whose configuration read at enumeration came back all ones (too early). */
  notReady: number;
  /** ms between VF Enable and the return of enableVfs (undefined if VFE never set). */
  waitedMs: number | undefined;
  returned?: VfInfo[];
  bad?: string;
  ignored: string[];
  stopped: Diagnostic | undefined;
  capOffset: number;
  /** Did the learner write the SR-IOV capability at all (and where). */
  writes: { offset: number; width: number; value: number }[];
}

export const VF_BAR0_BASE = 0xc000_0000;
export const VF_BAR3_BASE = 0xd000_0000;

export function runEnable(cfg: SeedConfig, learner: LearnerExports, want: number, label: string, logs: string[]): EnableOutcome {
  const env = newHostEnv(cfg.seed);
  const model = cfg.model;
  const config = new PciConfigSpace(model.pf);
  const pfRid = (cfg.pfBus << 8) | cfg.pfDevfn;
  const pf = new SriovPf(env, config, pfRid, model.vf);
  // Firmware has placed the VF BARs (pci_assign_resource); System Page Size stays at 4 KiB.
  pf.assignVfBar(0, VF_BAR0_BASE);
  pf.assignVfBar(3, VF_BAR3_BASE);
  const access = { env, config, bus: cfg.pfBus, devfn: cfg.pfDevfn, driverMaxVfs: model.driverMaxVfs, writes: [] as { offset: number; width: number; value: number; t: number }[] };
  const caller = new Caller(logs);
  const r = caller.call('enableVfs', `enabling VFs (${label}, want = ${want})`, (live) => learner.enableVfs(pfConfigView(caller, live, access), want));
  const returnedAt = env.sched.now;
  // What Linux does next (pci_iov_add_virtfn): a configuration read of every new VF.
  let notReady = 0;
  for (const vf of pf.vfs) if (pf.configRead(vf.rid, P.PCI_CLASS_REVISION, 4) === 0xffffffff) notReady++;
  const enabledAt = pf.vfsReadyAt - COSTS.sriovVfEnableWait.ns;
  const out: EnableOutcome = {
    label, want, expected: expectedVfs(model, want), model,
    numVfs: pf.numVfs, vfEnabled: pf.vfEnabled, mse: pf.vfMemoryEnabled,
    vfs: pf.vfs.map((v) => ({ index: v.index, bus: v.bus, devfn: v.devfn, rid: v.rid })),
    notReady,
    waitedMs: pf.stats.vfEnables > 0 ? (returnedAt - enabledAt) / 1e6 : undefined,
    ignored: env.diagnostics.filter((d) => d.code === 'sriov-write-ignored').map((d) => d.message),
    stopped: caller.stopped,
    capOffset: config.sriovCap,
    writes: access.writes,
  };
  if (r.ok) {
    const v = r.value;
    if (!Array.isArray(v)) out.bad = describe(v);
    else {
      const list: VfInfo[] = [];
      for (const [i, e] of v.entries()) {
        const o = e as Record<string, unknown> | null;
        const ok = o && typeof o === 'object' && ['index', 'bus', 'devfn', 'rid'].every((k) => Number.isInteger(o[k]));
        if (!ok) {
          out.bad = `element ${i} is ${describe(e)}, not {index, bus, devfn, rid}`;
          break;
        }
        list.push({ index: o!['index'] as number, bus: o!['bus'] as number, devfn: o!['devfn'] as number, rid: o!['rid'] as number });
      }
      if (!out.bad) out.returned = list;
    }
  }
  return out;
}

/** The VFs a correct enable creates (what configureTenants is given, so its grading does not depend on enableVfs). */
export function truthVfs(cfg: SeedConfig, model: SriovNicModel, n: number): VfInfo[] {
  const { firstVfOffset: off, vfStride: st } = model.sriov;
  const rid = (cfg.pfBus << 8) | cfg.pfDevfn;
  return Array.from({ length: n }, (_, i) => ({ index: i, bus: virtfnBus(cfg.pfBus, cfg.pfDevfn, off, st, i), devfn: virtfnDevfn(cfg.pfDevfn, off, st, i), rid: virtfnRid(rid, off, st, i) }));
}

// ── the switch ─────────────────────────────────────────────────────────────────────────────

interface Nic {
  env: HostEnv;
  veb: Veb;
  pfd: PfDriver;
  caller: Caller;
  rec: SwitchRecord;
  configured: boolean;
}

function buildNic(cfg: SeedConfig, model: SriovNicModel, vfCount: number, tenants: Tenant[], learner: LearnerExports, logs: string[], label: string): Nic {
  const env = newHostEnv(cfg.seed);
  const veb = new Veb(env, { portGbps: model.portGbps, pcieGBps: model.pcieGBps });
  veb.pool('pf').mac = cfg.pfMac;
  const pfd = new PfDriver(env, veb);
  for (let i = 0; i < vfCount; i++) {
    pfd.addVf(i);
    veb.pool(i).antiSpoof = false; // the switch's reset state: the PF driver turns checks on
  }
  const caller = new Caller(logs);
  const rec = newSwitchRecord();
  const vfs = truthVfs(cfg, model, vfCount).map((v) => Object.freeze(v));
  const ts = tenants.map((t) => Object.freeze({ ...t }));
  const r = caller.call('configureTenants', `configuring ${tenants.length} tenants (${label})`, (live) =>
    learner.configureTenants(switchView(caller, live, pfd, vfCount, model.portGbps * 1000, rec), Object.freeze(vfs), Object.freeze(ts)),
  );
  return { env, veb, pfd, caller, rec, configured: r.ok };
}

function frameBytes(rng: Rng | undefined, dst: string, src: string, vlan: number | undefined, len: number, id: number): Uint8Array {
  const f = rng ? rng.bytes(len) : new Uint8Array(len).fill(0x5a);
  f.set(macBytes(dst), 0);
  f.set(macBytes(src), 6);
  if (vlan !== undefined) f.set([0x81, 0x00, (vlan >> 8) & 0x0f, vlan & 0xff, 0x08, 0x00], 12);
  else f.set([0x08, 0x00], 12);
  new DataView(f.buffer).setUint32(len - 4, id, true);
  return f;
}
const frameId = (f: Uint8Array): number => new DataView(f.buffer, f.byteOffset, f.byteLength).getUint32(f.length - 4, true);

export function result(env: HostEnv, cfg: SeedConfig, params: Record<string, number | string | boolean>): RunResult {
  const metrics = env.metrics.finish({ engineVersion: ENGINE_VERSION, scenario: 'lab:sriov-pf', seed: cfg.seed, params, events: env.sched.events, stop: 'done' });
  return { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics };
}

// ── isolation ──────────────────────────────────────────────────────────────────────────────

export interface Arrival {
  at: number | 'wire';
  id: number;
  vlan: number | undefined;
  dst: string;
  intact: boolean;
}

export interface IsolationOutcome {
  vfCount: number;
  configured: boolean;
  stopped: Diagnostic | undefined;
  rec: SwitchRecord;
  /** Per mailbox plan: accepted (ACK) or not, and a bad return. */
  replies: { accepted: boolean; bad?: string; reason?: string }[];
  frames: FramePlan[];
  arrivals: Arrival[];
  sentDrops: number;
  env: HostEnv;
}

export function runIsolation(cfg: SeedConfig, learner: LearnerExports, logs: string[]): IsolationOutcome {
  const vfCount = cfg.tenants.length;
  const nic = buildNic(cfg, cfg.model, vfCount, cfg.tenants, learner, logs, 'isolation run');
  const { env, veb, pfd, caller } = nic;
  const replies: IsolationOutcome['replies'] = [];
  let current: { bad?: string } = {};
  pfd.policy = (vf: number, req: VfRequest) => {
    const r = caller.call('onMailbox', `answering VF ${vf}'s ${req.type} request`, (live) => learner.onMailbox(vf, requestView(req), mailboxView(caller, live, pfd, vfCount)));
    if (!r.ok) {
      env.sched.halt();
      return { ok: false, reason: 'the run stopped' };
    }
    const v = toVerdict(r.value);
    if (v.bad) current.bad = v.bad;
    return v.verdict;
  };
  const out: IsolationOutcome = { vfCount, configured: nic.configured, stopped: undefined, rec: nic.rec, replies, frames: cfg.frames, arrivals: [], sentDrops: 0, env };
  if (!nic.configured) {
    out.stopped = caller.stopped;
    return out;
  }
  // The mailbox: one message at a time, each sent when the previous reply has been read.
  const send = (i: number, at: number): void => {
    const m = cfg.mailbox[i];
    if (!m) return;
    pfd.buffers.get(m.vf)!.set(encodeRequest(m.req));
    current = {};
    pfd.vfRequest(m.vf, at, (reply, t) => {
      const accepted = (reply[0]! & IXGBE_VT_MSGTYPE_ACK) !== 0;
      const refusal = pfd.refusals.at(-1);
      replies.push({ accepted, ...(current.bad ? { bad: current.bad } : {}), ...(!accepted && refusal ? { reason: refusal.reason } : {}) });
      pfd.vfAck(m.vf);
      send(i + 1, t + 500);
    });
  };
  send(0, 1000);
  env.sched.run();
  if (caller.stopped) {
    out.stopped = caller.stopped;
    return out;
  }
  // Frames, 300 ns apart.
  const rng = new Rng(cfg.seed ^ 0x15a7);
  const sent = new Map<number, Uint8Array>();
  const t0 = env.sched.now + 1000;
  const seen = (at: number | 'wire', f: Uint8Array): void => {
    const id = frameId(f);
    const orig = sent.get(id);
    out.arrivals.push({ at, id, vlan: frameVlan(f), dst: macString(f, 0), intact: !!orig && orig.length === f.length && orig.every((b, k) => b === f[k]) });
  };
  veb.deliver = (pool, f) => {
    if (pool.id !== 'pf') seen(pool.id, f);
  };
  veb.uplink = (f) => seen('wire', f);
  cfg.frames.forEach((fp, id) => {
    const f = frameBytes(rng, fp.dst, fp.src, fp.vlan, fp.bytes, id);
    sent.set(id, f.slice());
    env.sched.at(t0 + id * 300, () => {
      if (fp.from === 'wire') veb.receive(f, env.sched.now);
      else veb.transmit(fp.from, f, env.sched.now, id);
    });
  });
  env.sched.run();
  out.sentDrops = veb.stats.spoofed;
  return out;
}

// ── rate and throughput ─────────────────────────────────────────────────────────────────────

export interface FlowOutcome {
  label: string;
  n: number;
  portGbps: number;
  configured: boolean;
  stopped: Diagnostic | undefined;
  rec: SwitchRecord;
  /** Per tenant: Gbit/s of frame bytes the port sent in the window. */
  gbps: number[];
  /** Share of the window the wire spent sending the tenants' frames. */
  wireFraction: number;
  windowNs: [number, number];
  env: HostEnv;
}

/**
 * Every tenant sends frames (sizes from the seed) to the outside peer at `offer` × its rate from
 * t = 0; frames whose last bit leaves the port inside [w0, w1] count.
 */
export function runFlows(cfg: SeedConfig, model: SriovNicModel, tenants: Tenant[], learner: LearnerExports, logs: string[], label: string, offer: number, w0: number, w1: number, sizes: number[], initialTokens: number): FlowOutcome {
  const nic = buildNic(cfg, model, tenants.length, tenants, learner, logs, label);
  const { env, veb } = nic;
  const out: FlowOutcome = { label, n: tenants.length, portGbps: model.portGbps, configured: nic.configured, stopped: nic.caller.stopped, rec: nic.rec, gbps: tenants.map(() => 0), wireFraction: 0, windowNs: [w0, w1], env };
  if (!nic.configured) return out;
  const rng = new Rng(cfg.seed ^ 0xf10 ^ tenants.length);
  // The buckets start (nearly) empty: what is measured is the steady state, not the burst of
  // COSTS.vebRateBurstBytes a full bucket lets out first (and simulating those bursts for 64
  // tenants would cost more than the measurement).
  for (const t of tenants) veb.pool(t.vf).bucket.tokens = initialTokens;
  const first = tenants.map((): number | undefined => undefined);
  const last = tenants.map(() => 0);
  const bytesAfterFirst = tenants.map(() => 0);
  let wireNs = 0;
  const owner: number[] = [];
  // The window is what the page charts too: wire and PCIe busy, frames out of the port, a trace of them.
  env.metrics.beginWindow(w0);
  veb.uplink = (f, t) => {
    if (t <= w0) return;
    const vf = owner[frameId(f)];
    if (vf === undefined) return;
    const onWire = wireTime(f.length + COSTS.wireFcsBytes.ns, model.portGbps);
    env.metrics.delivered(t, f.length + COSTS.wireFcsBytes.ns, 'tx');
    env.trace.emit(t - onWire, onWire, 'wire', 'wire-tx', () => `VF ${vf} → port: ${f.length + COSTS.wireFcsBytes.ns} B`, frameId(f));
    if (t > w1) return; // the backlog draining after the window is charted, not graded
    if (first[vf] === undefined) first[vf] = t;
    else bytesAfterFirst[vf]! += f.length;
    last[vf] = t;
    // The part of the frame's wire time inside the window.
    wireNs += t - Math.max(w0, t - onWire);
  };
  let id = 0;
  for (const t of tenants) {
    const perNs = (t.rateGbps * offer) / 8; // bytes per ns offered
    let at = rng.int(0, 2000);
    while (at < w1) {
      const len = rng.pick(sizes);
      owner[id] = t.vf;
      const f = frameBytes(undefined, cfg.peerMac, t.mac, t.vlan, len, id++);
      const when = at;
      env.sched.at(when, () => veb.transmit(t.vf, f, when));
      at += Math.max(1, Math.round(len / perNs));
    }
  }
  env.sched.run({ until: w1 });
  const win = w1 - w0;
  // A paced flow's rate: the bytes after its first frame in the window over the time from that
  // frame to its last (no quantization to whole frames in the window).
  out.gbps = tenants.map((_, i) => (first[i] !== undefined && last[i]! > first[i]! ? (bytesAfterFirst[i]! * 8) / (last[i]! - first[i]!) : 0));
  out.wireFraction = wireNs / win;
  // Let the frames already queued behind the rate limiters leave the port, so the charted run
  // ends when the wire does (nothing after w1 changes the figures above).
  env.sched.run();
  return out;
}

/** Window of the rate run (ns), scaled to the port so every port sends about as many frames. */
export const rateWindow = (portGbps: number): [number, number] => [Math.round(20_000 * (10 / portGbps)), Math.round(1_500_000 * (10 / portGbps))];
export const throughputWindow = (portGbps: number): [number, number] => [Math.round(20_000 * (10 / portGbps)), Math.round(200_000 * (10 / portGbps))];
/** Offered load: 1.25 × each tenant's rate in the rate run, 1.1 × in the throughput runs (rates already sum past line rate). */
export const RATE_OFFER = 1.25;
export const THROUGHPUT_OFFER = 1.1;

export { hex };
