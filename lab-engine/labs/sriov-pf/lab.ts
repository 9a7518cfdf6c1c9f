/**
 * The sriov-pf lab: the learner writes the PF driver's part of SR-IOV — finding the SR-IOV
 * capability by walking the extended capability list, enabling VFs (NumVFs within TotalVFs and
 * the driver's limit, VF Enable | VF MSE, the 100 ms wait) and computing each VF's routing ID;
 * programming the embedded switch for the tenants (MAC, VLAN, anti-spoofing, rate limit); and
 * answering the VFs' mailbox requests safely. runs.ts says what each seed runs, seeds.ts what a
 * seed varies. Every check reads what the engine did: the SR-IOV capability's registers and the
 * VFs it created, the replies the mailbox sent, and the frames the switch delivered and sent.
 */
import { hashText } from '../../sim/hash.ts';
import type { Diagnostic, RunResult } from '../../sim/types.ts';
import { compileModule, instantiateExporting } from '../../sandbox/compile.ts';
import { ridString } from '../../hw/pci/sriov.ts';
import type { CheckInfo, Finding, LabInfo, SeedOutcome } from '../types.ts';
import { SRIOV_PF_API } from './api.ts';
import { SRIOV_PF_DTS } from './api-dts.ts';
import { SRIOV_PF_STARTER } from './starter.ts';
import { type LearnerExports } from './adapter.ts';
import { describeSeed, seedConfig, type SeedConfig } from './seeds.ts';
import { RATE_OFFER, THROUGHPUT_OFFER, rateWindow, result, runEnable, runFlows, runIsolation, throughputWindow, truthVfs, type EnableOutcome, type FlowOutcome, type IsolationOutcome } from './runs.ts';

export { seedConfig } from './seeds.ts';

export const LAB_ID = 'sriov-pf';
const API_MODULE = 'iovlab/sriov-pf';

/** Each tenant's measured TX rate within this fraction of the rate it was given (the issue: ±5 %). */
export const RATE_TOLERANCE = 0.05;
/** Aggregate throughput with 8, 32 and 64 tenants at least this share of line rate. */
export const LINE_RATE_FRACTION_MIN = 0.95;

export const CHECKS: CheckInfo[] = [
  { number: 1, id: 'enable', name: 'VFs enabled: NumVFs within TotalVFs and the driver\'s limit, VF Enable and VF MSE set, 100 ms before the VFs are touched', points: 15, parents: [], kind: 'correctness' },
  { number: 2, id: 'rids', name: 'enableVfs() returns every VF at the bus, devfn and routing ID where it enumerates', points: 10, parents: [], kind: 'correctness' },
  { number: 3, id: 'traffic', name: 'Tenants\' traffic flows intact: out of the port, in from the wire, VM to VM on a shared VLAN, broadcasts within a VLAN', points: 10, parents: [], kind: 'correctness' },
  { number: 4, id: 'spoof', name: 'Isolation: every frame with a spoofed source MAC is dropped', points: 15, parents: [3], kind: 'invariant' },
  { number: 5, id: 'vlan', name: 'Isolation: no frame crosses VLANs or reaches a tenant it was not addressed to', points: 15, parents: [3], kind: 'invariant' },
  { number: 6, id: 'mailbox', name: 'Mailbox: malicious VF requests are refused, benign ones accepted', points: 15, parents: [], kind: 'correctness' },
  { number: 7, id: 'rate', name: `Performance: every tenant's TX rate within ±${Math.round(RATE_TOLERANCE * 100)} % of its limit`, points: 10, parents: [3], kind: 'performance' },
  { number: 8, id: 'throughput', name: `Performance: aggregate throughput at least ${Math.round(LINE_RATE_FRACTION_MIN * 100)} % of line rate with 8, 32 and 64 tenants`, points: 10, parents: [3], kind: 'performance' },
];

const PUBLIC_SEEDS = [1, 2, 3];

export const LAB_INFO: LabInfo = {
  id: LAB_ID,
  title: 'The SR-IOV PF driver: enabling VFs, the embedded switch and the mailbox',
  version: hashText(['sriov-pf/1', SRIOV_PF_DTS, SRIOV_PF_STARTER, JSON.stringify(CHECKS), String([RATE_TOLERANCE, LINE_RATE_FRACTION_MIN])].join('\n')),
  apiModule: API_MODULE,
  apiDts: SRIOV_PF_DTS,
  starter: SRIOV_PF_STARTER,
  publicSeeds: PUBLIC_SEEDS,
  freshSeeds: 3,
  timeLimitMs: 5_000,
  checks: CHECKS,
  maxScore: CHECKS.reduce((s, c) => s + c.points, 0),
};

export interface SeedRuns {
  enable: EnableOutcome[];
  isolation: IsolationOutcome;
  rate: FlowOutcome;
  throughput: FlowOutcome[];
}

export function runAll(cfg: SeedConfig, instance: () => LearnerExports | Diagnostic[], logs: string[]): SeedRuns | Diagnostic[] {
  const get = (): LearnerExports => {
    const e = instance();
    if (Array.isArray(e)) throw e;
    return e;
  };
  try {
    const enable = [runEnable(cfg, get(), cfg.want, 'the seed\'s PF', logs), runEnable(cfg, get(), cfg.wantOver, 'a second PF', logs)];
    const isolation = runIsolation(cfg, get(), logs);
    const [rw0, rw1] = rateWindow(cfg.model.portGbps);
    const rate = runFlows(cfg, cfg.model, cfg.tenants, get(), logs, 'rate run', RATE_OFFER, rw0, rw1, cfg.sizes, 0);
    const throughput = cfg.throughput.map((t) => {
      const [w0, w1] = throughputWindow(t.model.portGbps);
      return runFlows(cfg, t.model, t.tenants, get(), logs, `${t.n}-tenant run`, THROUGHPUT_OFFER, w0, w1, cfg.bulkSizes, 2 * 1514);
    });
    return { enable, isolation, rate, throughput };
  } catch (e) {
    if (Array.isArray(e)) return e as Diagnostic[];
    throw e;
  }
}

export function runSeed(source: string, seed: number): SeedOutcome {
  const compiled = compileModule(source, { [API_MODULE]: SRIOV_PF_API });
  if (!compiled.ok) return { seed, kind: 'compile-error', diagnostics: compiled.diagnostics };
  // A fresh module instance per run: module-level state cannot leak between runs.
  const instance = (): LearnerExports | Diagnostic[] =>
    instantiateExporting(compiled, ['enableVfs(pf, want)', 'configureTenants(sw, vfs, tenants)', 'onMailbox(vf, req, view)']) as LearnerExports | Diagnostic[];
  const cfg = seedConfig(seed);
  const logs: string[] = [];
  const runs = runAll(cfg, instance, logs);
  if (Array.isArray(runs)) return { seed, kind: 'compile-error', diagnostics: runs };
  const findings = evaluate(cfg, runs);
  const fig = figures(cfg, runs);
  const res: RunResult = result(runs.rate.env, cfg, { lab: LAB_ID, model: cfg.model.name, tenants: cfg.tenants.length, ...fig });
  const diag = res.diagnostics;
  const stops: [string, Diagnostic | undefined][] = [
    ...runs.enable.map((e) => [`enable, ${e.label}`, e.stopped] as [string, Diagnostic | undefined]),
    ['isolation run', runs.isolation.stopped],
    ['rate run', runs.rate.stopped],
    ...runs.throughput.map((t) => [t.label, t.stopped] as [string, Diagnostic | undefined]),
  ];
  for (const [where, d] of stops.reverse()) if (d) diag.unshift({ ...d, message: `(${where}) ${d.message}` });
  for (const e of runs.enable) for (const m of e.ignored) diag.push({ severity: 'warning', code: 'sriov-write-ignored', message: `(enable, ${e.label}) ${m}` });
  for (const line of describeSeed(cfg)) diag.push({ severity: 'info', code: 'layout', message: line });
  for (const line of logs) diag.push({ severity: 'info', code: 'log', message: line });
  return { seed, kind: 'ran', result: res, findings };
}

/** The graded figures of a seed (also in metrics.params, for tests and the leaderboard). */
export function figures(cfg: SeedConfig, r: SeedRuns): Record<string, number> {
  const out: Record<string, number> = {};
  out['rateErrorMax'] = Math.round(Math.max(...cfg.tenants.map((t, i) => Math.abs(r.rate.gbps[i]! / t.rateGbps - 1))) * 10000) / 10000;
  for (const f of r.throughput) out[`lineRateFraction${f.n}`] = Math.round(f.wireFraction * 10000) / 10000;
  return out;
}

const pct = (x: number): string => `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;

export function evaluate(cfg: SeedConfig, r: SeedRuns): Finding[] {
  const seed = cfg.seed;
  const out: Finding[] = [];
  const once = new Set<string>();
  const f1 = (check: string, code: string, data: Record<string, number | string>): void => {
    if (once.has(check)) return;
    once.add(check);
    out.push({ check, code, data: { seed, ...data } });
  };

  // 1 and 2: enabling.
  for (const e of r.enable) {
    const where = e.label;
    if (e.stopped) {
      f1('enable', 'sp-stopped', { run: `enable, ${where}`, message: e.stopped.message });
      f1('rids', 'sp-stopped', { run: `enable, ${where}`, message: e.stopped.message });
      continue;
    }
    const limits = `TotalVFs ${e.model.sriov.totalVfs}, driver limit ${e.model.driverMaxVfs}`;
    const ignored = e.ignored.length ? `; the capability ignored: ${e.ignored.join('; ')}` : '';
    const wroteCap = e.writes.some((w) => w.offset >= e.capOffset && w.offset < e.capOffset + 0x40);
    const hint = !wroteCap && e.writes.length ? ` (your writes went to ${e.writes.slice(0, 3).map((w) => `0x${w.offset.toString(16)}`).join(', ')}; the SR-IOV capability is at 0x${e.capOffset.toString(16)} on this seed)` : !wroteCap ? ` (enableVfs() never wrote the SR-IOV capability, which is at 0x${e.capOffset.toString(16)} on this seed)` : '';
    if (!e.vfEnabled) f1('enable', 'sp-no-vfe', { where, want: e.want, expected: e.expected, numvfs: e.numVfs, limits, hint: hint + ignored });
    else if (e.numVfs !== e.expected) f1('enable', 'sp-numvfs', { where, want: e.want, expected: e.expected, numvfs: e.numVfs, limits });
    else if (!e.mse) f1('enable', 'sp-no-mse', { where, vfs: e.numVfs });
    else if (e.notReady > 0) f1('enable', 'sp-not-ready', { where, vfs: e.notReady, ms: (e.waitedMs ?? 0).toFixed(3) });

    // The right answer: the VFs a correct enable creates (the engine's, when check 1 passes).
    const right = e.vfs.length === e.expected ? e.vfs : truthVfs(cfg, e.model, e.expected);
    if (e.bad) f1('rids', 'sp-vfs-bad-return', { where, value: e.bad });
    else if (e.returned) {
      const got = e.returned;
      if (got.length !== right.length) f1('rids', 'sp-vfs-count', { where, got: got.length, vfs: right.length });
      else {
        for (const [i, v] of right.entries()) {
          const g = got[i]!;
          const bad = (['index', 'rid', 'bus', 'devfn'] as const).find((k) => g[k] !== v[k]);
          if (bad) {
            const show = (x: number): string => (bad === 'rid' ? `0x${x.toString(16)} (${ridString(x)})` : `0x${x.toString(16)}`);
            f1('rids', 'sp-vf-rid', { where, vf: i, field: bad, got: show(g[bad]), expected: show(v[bad]) });
            break;
          }
        }
      }
    }
  }

  // 3–5: isolation run.
  const iso = r.isolation;
  if (iso.stopped) {
    for (const c of ['traffic', 'spoof', 'vlan', 'mailbox']) f1(c, 'sp-stopped', { run: 'isolation run', message: iso.stopped.message });
  } else {
    const tenantOf = new Map(cfg.tenants.map((t) => [t.vf, t]));
    const attackers = new Set(cfg.attackers);
    const byId = new Map<number, typeof iso.arrivals>();
    for (const a of iso.arrivals) {
      const l = byId.get(a.id) ?? [];
      l.push(a);
      byId.set(a.id, l);
    }
    const where = (a: number | 'wire'): string => (a === 'wire' ? 'the wire' : `VF ${a}`);
    iso.frames.forEach((fp, id) => {
      const got = byId.get(id) ?? [];
      if (fp.kind === 'spoof-src') {
        const g = got[0];
        if (g) f1('spoof', 'sp-spoof-passed', { what: fp.what, to: where(g.at), hint: iso.rec.spoof.get(fp.from as number) === true ? '' : ` (anti-spoofing is off for VF ${fp.from}: setSpoofCheck())` });
        return;
      }
      if (fp.kind === 'cross-vlan') {
        const g = got[0];
        if (g) f1('vlan', 'sp-vlan-sent', { what: fp.what, to: where(g.at) });
        return;
      }
      if (fp.kind === 'out' || fp.kind === 'hairpin' || fp.kind === 'rx' || fp.kind === 'bcast') {
        // The well-behaved tenants' traffic: a malicious VM's own frames may suffer from what it did.
        if (typeof fp.from === 'number' && attackers.has(fp.from)) return;
        for (const dest of fp.to) {
          if (typeof dest === 'number' && attackers.has(dest)) continue;
          const g = got.find((a) => a.at === dest);
          if (!g) {
            const vf = fp.from === 'wire' ? dest : fp.from;
            const t = typeof vf === 'number' ? tenantOf.get(vf) : undefined;
            const hint = t ? configHint(iso, t) : '';
            f1('traffic', 'sp-frame-missing', { what: fp.what, kind: fp.kind, to: where(dest), hint });
          } else if (!g.intact) f1('traffic', 'sp-frame-differs', { what: fp.what, to: where(dest) });
        }
      }
    });
    // Every delivery into a VF: its VLAN and, for unicast, its MAC.
    for (const a of iso.arrivals) {
      if (a.at === 'wire') continue;
      const t = tenantOf.get(a.at);
      const fp = iso.frames[a.id];
      if (!fp) continue;
      if (!t) {
        f1('vlan', 'sp-leak', { what: fp.what, vf: a.at, why: 'a VF no tenant uses' });
        continue;
      }
      if (a.vlan !== t.vlan) f1('vlan', 'sp-vlan-crossed', { what: fp.what, vf: a.at, vlan: a.vlan === undefined ? 'untagged' : `VLAN ${a.vlan}`, own: t.vlan });
      else if (a.dst !== 'ff:ff:ff:ff:ff:ff' && a.dst !== t.mac && (parseInt(a.dst.slice(0, 2), 16) & 1) === 0) f1('vlan', 'sp-leak', { what: fp.what, vf: a.at, why: `its MAC is ${t.mac}, the frame was for ${a.dst}` });
    }
    // 6: the mailbox.
    cfg.mailbox.forEach((m, i) => {
      const rep = iso.replies[i];
      if (!rep) return;
      if (rep.bad) f1('mailbox', 'sp-mbx-bad-return', { vf: m.vf, req: m.req.type, value: rep.bad });
      else if (rep.accepted && !m.benign) f1('mailbox', 'sp-mbx-accepted', { vf: m.vf, req: m.req.type, what: m.what });
      else if (!rep.accepted && m.benign) f1('mailbox', 'sp-mbx-refused', { vf: m.vf, req: m.req.type, what: m.what, reason: rep.reason ?? '' });
    });
    if (iso.replies.length < cfg.mailbox.length) f1('mailbox', 'sp-mbx-unanswered', { answered: iso.replies.length, sent: cfg.mailbox.length });
  }

  // 7: rates.
  const rt = r.rate;
  if (rt.stopped) f1('rate', 'sp-stopped', { run: rt.label, message: rt.stopped.message });
  else {
    const worst = cfg.tenants
      .map((t, i) => ({ t, got: rt.gbps[i]!, err: Math.abs(rt.gbps[i]! / t.rateGbps - 1) }))
      .sort((a, b) => b.err - a.err)[0];
    if (worst && worst.err > RATE_TOLERANCE) {
      const set = rt.rec.rates.get(worst.t.vf);
      const hint = !set ? '; setRate() was never called for it' : set.refused ? `; setRate(${worst.t.vf}, ${set.mbps}) was refused: ${set.refused}` : `; you set ${set.mbps} Mbit/s`;
      f1('rate', 'sp-rate', { vf: worst.t.vf, got: worst.got.toFixed(3), want: worst.t.rateGbps.toFixed(2), off: pct(worst.got / worst.t.rateGbps - 1), tol: Math.round(RATE_TOLERANCE * 100), hint });
    }
  }

  // 8: throughput.
  for (const tp of r.throughput) {
    if (tp.stopped) {
      f1('throughput', 'sp-stopped', { run: tp.label, message: tp.stopped.message });
      continue;
    }
    if (tp.wireFraction < LINE_RATE_FRACTION_MIN) {
      const sum = tp.gbps.reduce((a, b) => a + b, 0);
      f1('throughput', 'sp-throughput', { n: tp.n, got: `${(tp.wireFraction * 100).toFixed(1)} %`, gbps: sum.toFixed(2), port: tp.portGbps, limit: Math.round(LINE_RATE_FRACTION_MIN * 100) });
    }
  }
  return out;
}

function configHint(iso: IsolationOutcome, t: { vf: number; mac: string; vlan: number }): string {
  const rec = iso.rec;
  const mac = rec.macs.get(t.vf);
  const vlan = rec.vlans.get(t.vf);
  if (mac === undefined) return ` (VF ${t.vf} has no MAC: setMac() was never called for it)`;
  if (mac !== t.mac) return ` (VF ${t.vf}'s MAC is ${mac}, its tenant's is ${t.mac})`;
  if (vlan === undefined) return ` (VF ${t.vf} has no VLAN: its tenant's frames are tagged ${t.vlan})`;
  if (vlan !== t.vlan) return ` (VF ${t.vf} is on VLAN ${vlan}, its tenant on ${t.vlan})`;
  return '';
}
