/**
 * The choose-io-model lab (the capstone, GitHub issue 7): a small cloud of tenants with different
 * needs on three hosts, and the learner decides, as TypeScript, where each tenant's VMs run and
 * with which I/O model — emulation, virtio with QEMU, vhost-net or vhost-user as the backend,
 * an SR-IOV VF, a whole passthrough port, or a VF + virtio failover pair — with its queues,
 * polling cores, guest poll-mode driver and interrupt delivery, and where each VM goes when its
 * host is drained.
 *
 * Design (DESIGN.md §4):
 *   - The learner module exports plan(cloud: Cloud): Plan. cloud.ts says what a seed varies
 *     (hosts' cores, NICs, IOMMU/SR-IOV; the trading VM's p99 bound and message size; the web
 *     tier's size and per-VM rate; the storage gateway; the migratable tenants' memory, dirty rate
 *     and outage budget; the drained host; the migration link; the CPU headroom).
 *   - A day compressed into one run: the morning peak runs every group's traffic through the
 *     engine's scenarios with its model (measure.ts: p99 for the trading VM, receive throughput
 *     for the others, host-side I/O threads' CPU); at noon the drained host's VMs and every
 *     migratable tenant's VMs live-migrate (maintenance.ts, lab-engine/migration); the afternoon
 *     peak runs again on the placement after the moves.
 *   - Checks (numbered, weighted, with parents): the plan is well-formed; it fits the hosts
 *     (vCPUs + polling cores, VFs a port, a passthrough port owned whole, SR-IOV/IOMMU, port line
 *     rate); the trading VM's p99; the web tier's throughput; the storage gateway's and the
 *     migratable tenants' throughput; the CPU every host keeps idle at peak; the maintenance
 *     migrations complete with no page differing; each within its tenant's outage budget; the
 *     afternoon on the new placement still fits and meets every SLO.
 *   - Thresholds: every SLO bound is the tenant's, from the seed; the one lab constant,
 *     DELIVERED_MIN, is frozen below the reference's worst delivered share with its margin stated.
 *   - Several different good plans pass (tests/labs/choose-io-model.test.ts holds three): the
 *     trading VM on vhost-user with a guest PMD or on a VF with a guest PMD; the web tier on VFs
 *     or on vhost-net; the migratable tenants as failover pairs or on vhost-net.
 */
import { hashText } from '../../sim/hash.ts';
import type { Diagnostic, RunResult } from '../../sim/types.ts';
import { compileModule, instantiateExporting, learnerThrew } from '../../sandbox/compile.ts';
import type { CheckInfo, Finding, LabInfo, SeedOutcome } from '../types.ts';
import { cloudFor, describeCloud, type Cloud, type Host } from './cloud.ts';
import { CHOOSE_IO_MODEL_API } from './api.ts';
import { CHOOSE_IO_MODEL_DTS } from './api-dts.ts';
import { CHOOSE_IO_MODEL_STARTER } from './starter.ts';
import { afterMaintenance, readPlan, resourceProblems, type Group, type Problem } from './plan.ts';
import { Measurer, type Measured } from './measure.ts';
import { runMaintenance, type GroupMigration } from './maintenance.ts';
import { DELIVERED_MIN } from './limits.ts';
import { MetricsRecorder } from '../../sim/metrics.ts';
import { ENGINE_VERSION } from '../../version.ts';

export { cloudFor } from './cloud.ts';

export const LAB_ID = 'choose-io-model';
const API_MODULE = 'iovlab/choose-io-model';

export { DELIVERED_MIN } from './limits.ts';

export const CHECKS: CheckInfo[] = [
  { number: 1, id: 'plan', name: 'The plan is well-formed: every tenant\'s VMs placed exactly once, on known hosts, with valid models and settings', points: 10, parents: [], kind: 'correctness' },
  { number: 2, id: 'fit', name: 'The plan fits the hosts: vCPUs and polling cores, VFs a port, whole ports for passthrough, SR-IOV and IOMMU where devices are assigned, port line rate', points: 10, parents: [1], kind: 'invariant' },
  { number: 3, id: 'trading', name: 'Trading: the request/response p99 within the tenant\'s bound', points: 15, parents: [2], kind: 'performance' },
  { number: 4, id: 'web', name: `Web tier: every VM gets its throughput (at least ${Math.round(DELIVERED_MIN * 100)} % of its offer, no drops)`, points: 10, parents: [2], kind: 'performance' },
  { number: 5, id: 'bulk', name: 'Storage gateway and migratable tenants get their throughput', points: 10, parents: [2], kind: 'performance' },
  { number: 6, id: 'cpu', name: 'Every host keeps its CPU headroom at peak (vCPUs + host I/O threads + polling cores)', points: 10, parents: [2], kind: 'performance' },
  { number: 7, id: 'migrate', name: 'Maintenance: every VM on the drained host and every migratable VM live-migrates, with no page differing', points: 15, parents: [2], kind: 'correctness' },
  { number: 8, id: 'outage', name: 'Maintenance: each migration\'s network outage within its tenant\'s budget', points: 10, parents: [7], kind: 'performance' },
  { number: 9, id: 'afternoon', name: 'Afternoon on the new placement: it still fits, and the moved VMs and the hosts that took them keep their SLOs and headroom', points: 10, parents: [7], kind: 'performance' },
];

const PUBLIC_SEEDS = [1, 2, 3];

export const LAB_INFO: LabInfo = {
  id: LAB_ID,
  title: 'Choosing the I/O model: placing a small cloud, SLOs, density and a maintenance migration',
  version: hashText(['choose-io-model/1', CHOOSE_IO_MODEL_DTS, CHOOSE_IO_MODEL_STARTER, JSON.stringify(CHECKS), String(DELIVERED_MIN)].join('\n')),
  apiModule: API_MODULE,
  apiDts: CHOOSE_IO_MODEL_DTS,
  starter: CHOOSE_IO_MODEL_STARTER,
  publicSeeds: PUBLIC_SEEDS,
  freshSeeds: 3,
  timeLimitMs: 10_000,
  checks: CHECKS,
  maxScore: CHECKS.reduce((s, c) => s + c.points, 0),
};

export interface PhaseRun {
  groups: Group[];
  measured: Map<Group, Measured>;
}

export interface DayRuns {
  cloud: Cloud;
  stopped?: Diagnostic;
  planProblems: Problem[];
  fit: Problem[];
  morning?: PhaseRun;
  migrations: GroupMigration[];
  afternoonFit: Problem[];
  afternoon?: PhaseRun;
  measurer: Measurer;
}

function measurePhase(m: Measurer, groups: Group[]): PhaseRun {
  const measured = new Map<Group, Measured>();
  for (const g of groups) measured.set(g, m.measure(g));
  return { groups, measured };
}

/** The learner's plan through JSON: getters run once here, functions and cycles are refused. */
function sanitize(v: unknown): unknown {
  const text = JSON.stringify(v);
  if (text === undefined) return v;
  if (text.length > 200_000) throw new RangeError(`the plan is ${text.length} characters of JSON; a plan for this cloud fits in a few kilobytes`);
  return JSON.parse(text);
}

const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
};

export function runDay(seed: number, plan: (cloud: Cloud) => unknown): DayRuns {
  const cloud = cloudFor(seed);
  const measurer = new Measurer(seed);
  const day: DayRuns = { cloud, planProblems: [], fit: [], migrations: [], afternoonFit: [], measurer };
  let raw: unknown;
  try {
    raw = sanitize(plan(deepFreeze(JSON.parse(JSON.stringify(cloud)) as Cloud)));
  } catch (e) {
    day.stopped = learnerThrew('plan', e, 'planning the cloud');
    return day;
  }
  const read = readPlan(cloud, raw);
  if (!read.ok) {
    day.planProblems = read.problems;
    return day;
  }
  day.fit = resourceProblems(cloud, read.groups, 'morning');
  if (day.fit.length) return day;
  day.morning = measurePhase(measurer, read.groups);
  day.migrations = runMaintenance(cloud, read.groups, seed);
  const moved = new Set(day.migrations.filter((x) => x.report?.outcome === 'completed').map((x) => x.group));
  if (moved.size < day.migrations.length) return day;
  const after = afterMaintenance(read.groups, moved);
  day.afternoonFit = resourceProblems(cloud, after, 'afternoon', cloud.maintenance.host);
  if (day.afternoonFit.length === 0) day.afternoon = measurePhase(measurer, after);
  return day;
}

export function runSeed(source: string, seed: number): SeedOutcome {
  const compiled = compileModule(source, { [API_MODULE]: CHOOSE_IO_MODEL_API });
  if (!compiled.ok) return { seed, kind: 'compile-error', diagnostics: compiled.diagnostics };
  const inst = instantiateExporting(compiled, ['plan(cloud)']);
  if (Array.isArray(inst)) return { seed, kind: 'compile-error', diagnostics: inst };
  const learnerPlan = inst['plan'] as (cloud: Cloud) => unknown;
  const day = runDay(seed, (c) => learnerPlan(c));
  const findings = evaluate(day);
  return { seed, kind: 'ran', result: dayResult(day), findings };
}

// ── figures and the run result ───────────────────────────────────────────────────────────────

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** A host's cores: vCPUs, dedicated polling cores, host I/O threads (measured), and the share left idle. */
export function hostUse(h: Host, phase: PhaseRun): { vcpus: number; polling: number; io: number; idle: number } {
  const on = phase.groups.filter((g) => g.host === h);
  const vcpus = on.reduce((s, g) => s + g.vms * g.tenant.vcpus, 0);
  const polling = on.reduce((s, g) => s + g.pollingCores, 0);
  const io = on.reduce((s, g) => s + phase.measured.get(g)!.hostCores, 0);
  return { vcpus, polling, io, idle: (h.cores - vcpus - polling - io) / h.cores };
}

/** The graded figures of a seed (also in metrics.params, for tests and the lesson). */
export function figures(day: DayRuns): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, phase] of [['morning', day.morning], ['afternoon', day.afternoon]] as const) {
    if (!phase) continue;
    const trading = phase.groups.find((g) => g.tenant.kind === 'trading');
    if (trading) out[`${name}TradingP99Us`] = r3(phase.measured.get(trading)!.p99Us!);
    const shares = phase.groups.filter((g) => g.tenant.kind !== 'trading').map((g) => phase.measured.get(g)!.delivered!);
    if (shares.length) out[`${name}DeliveredMin`] = r3(Math.min(...shares));
    const used = day.cloud.hosts.filter((h) => phase.groups.some((g) => g.host === h));
    if (used.length) out[`${name}IdleMin`] = r3(Math.min(...used.map((h) => hostUse(h, phase).idle)));
  }
  const done = day.migrations.filter((m) => m.report?.outcome === 'completed');
  out['migrations'] = day.migrations.length;
  if (done.length) out['outageToBudgetMax'] = r3(Math.max(...done.map((m) => m.report!.outageMs / m.group.tenant.outageBudgetMs)));
  out['scenarioRuns'] = day.measurer.runs;
  return out;
}

function dayResult(day: DayRuns): RunResult {
  const runs = [...day.measurer.cache.values()];
  const first = runs[0];
  const params = { lab: LAB_ID, ...figures(day) };
  const hash = hashText([...day.measurer.cache.keys(), ...runs.map((r) => r.traceHash), ...day.migrations.map((m) => JSON.stringify(m.report ? { ...m.report, diagnostics: undefined } : m.missing))].join('\n'));
  const diagnostics: Diagnostic[] = [];
  if (day.stopped) diagnostics.push(day.stopped);
  for (const line of describeCloud(day.cloud)) diagnostics.push({ severity: 'info', code: 'layout', message: line });
  for (const m of day.migrations) {
    const g = m.group;
    const r = m.report;
    diagnostics.push({
      severity: r?.outcome === 'completed' ? 'info' : 'warning',
      code: 'migration',
      message: `noon: ${g.tenant.id} × ${g.vms} (${g.model}) ${g.host.id} → ${g.migrateTo?.id ?? '?'}: ${r ? `${r.outcome}${r.outcome === 'completed' ? `, ${r.rounds.length} rounds, ${r.totalMs.toFixed(0)} ms, downtime ${r.downtimeMs.toFixed(1)} ms, outage ${r.outageMs.toFixed(1)} ms` : `: ${r.reasons[0] ?? ''}`}` : m.missing}`,
    });
  }
  if (!first) {
    // No scenario ran (the plan was refused before the morning): the metrics of an empty window.
    const metrics = new MetricsRecorder().finish({ engineVersion: ENGINE_VERSION, scenario: `lab:${LAB_ID}`, seed: day.measurer.seed, params, events: 0, stop: 'done' });
    return { metrics, trace: [], traceHash: hash, diagnostics };
  }
  const metrics = { ...first.metrics, scenario: `lab:${LAB_ID}`, seed: day.measurer.seed, params };
  return { metrics, trace: first.trace, traceHash: hash, diagnostics: [...diagnostics, ...first.diagnostics.filter((d) => d.severity !== 'info')] };
}

// ── evaluation ───────────────────────────────────────────────────────────────────────────────

export function evaluate(day: DayRuns): Finding[] {
  const seed = day.measurer.seed;
  const out: Finding[] = [];
  const perCheck = new Map<string, number>();
  const f = (check: string, code: string, data: Record<string, number | string>): void => {
    const n = perCheck.get(check) ?? 0;
    perCheck.set(check, n + 1);
    if (n < 3) out.push({ check, code, data: { seed, ...data } });
  };
  if (day.stopped) {
    f('plan', 'cm-stopped', { message: day.stopped.message });
    return out;
  }
  for (const p of day.planProblems) f('plan', p.code, p.data);
  if (day.planProblems.length) return out;
  for (const p of day.fit) f('fit', p.code, p.data);
  if (!day.morning) return out;

  // The afternoon reports what the moves changed (a group that stayed put was judged in the morning
  // and measures the same): the moved groups and the hosts that received them.
  const slo = (phase: PhaseRun, name: string, route: (check: string) => string, only?: ReadonlySet<Group>): void => {
    const hosts = only ? new Set([...only].map((g) => g.host)) : undefined;
    for (const g of phase.groups) {
      if (only && !only.has(g)) continue;
      const m = phase.measured.get(g)!;
      const t = g.tenant;
      const at = `${g.vms > 1 ? `${g.vms} VMs` : 'VM'} on ${g.host.id} (${g.model}${g.guestPmd ? ', guest PMD' : ''})`;
      if (t.kind === 'trading') {
        if (!(m.p99Us! <= t.p99Us!)) f(route('trading'), 'cm-p99', { phase: name, tenant: t.id, at, p99: m.p99Us!.toFixed(1), bound: t.p99Us!, bytes: t.messageBytes ?? 64 });
      } else if (m.drops > 0 || m.delivered! < DELIVERED_MIN) {
        f(route(t.kind === 'web' ? 'web' : 'bulk'), 'cm-throughput', { phase: name, tenant: t.id, at, got: m.gbpsPerVm!.toFixed(3), want: t.gbpsPerVm, share: `${(m.delivered! * 100).toFixed(1)} %`, min: Math.round(DELIVERED_MIN * 100), drops: m.drops, bottleneck: m.bottleneck });
      }
    }
    for (const h of day.cloud.hosts) {
      if (!phase.groups.some((g) => g.host === h) || (hosts && !hosts.has(h))) continue;
      const u = hostUse(h, phase);
      if (u.idle < day.cloud.cpuHeadroom) f(route('cpu'), 'cm-headroom', { phase: name, host: h.id, cores: h.cores, vcpus: u.vcpus, polling: u.polling, io: u.io.toFixed(2), idle: `${(u.idle * 100).toFixed(1)} %`, want: Math.round(day.cloud.cpuHeadroom * 100) });
    }
  };
  slo(day.morning, 'morning', (c) => c);

  for (const mg of day.migrations) {
    const g = mg.group;
    const who = { tenant: g.tenant.id, vms: g.vms, model: g.model, from: g.host.id, why: mg.why === 'drained' ? `${g.host.id} is drained at noon` : `${g.tenant.id} must be migratable` };
    if (mg.missing === 'no-destination') f('migrate', 'cm-no-destination', who);
    else if (mg.missing === 'to-drained') f('migrate', 'cm-to-drained', { ...who, to: g.migrateTo!.id });
    else {
      const r = mg.report!;
      if (r.outcome === 'refused') f('migrate', 'cm-refused', { ...who, reason: r.reasons[0] ?? 'the migration was refused' });
      else if (r.outcome === 'not-converged') f('migrate', 'cm-not-converged', { ...who, reason: r.reasons[0] ?? '', limit: g.downtimeLimitMs ?? 'the default' });
      else if (r.pagesMismatched > 0) f('migrate', 'cm-mismatched', { ...who, pages: r.pagesMismatched });
      else if (r.outageMs > g.tenant.outageBudgetMs) f('outage', 'cm-outage', { ...who, outage: r.outageMs.toFixed(1), downtime: r.downtimeMs.toFixed(1), budget: g.tenant.outageBudgetMs });
    }
  }
  for (const p of day.afternoonFit) f('afternoon', p.code, p.data);
  if (day.afternoon) {
    const stayed = new Set(day.morning.groups);
    slo(day.afternoon, 'afternoon', () => 'afternoon', new Set(day.afternoon.groups.filter((g) => !stayed.has(g))));
  }
  return out;
}
