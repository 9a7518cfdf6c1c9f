/**
 * The choose-io-model lab both ways (STYLE.md §3.8): the reference scores full marks on every seed
 * tried and keeps a margin inside the frozen threshold; two other good plans — different models
 * for the trading VM, the web tier and the migratable tenants, or a morning that uses the drained
 * host too — also score full marks; the starter fails the expected checks; bad plans (everything
 * emulated, too few cores, the trading VM on virtio-qemu or without a poll-mode driver, a plain
 * VF on the drained host, no downtime limit for tight outage budgets, more VFs than a port has)
 * fail with domain messages; exceptions, loops and garbage are reported; a plan hard-coded to the
 * Check seeds fails Grade; runs are deterministic; the API agrees with its declarations.
 */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { getLabInfo, gradeSeeds, runLabSeed, formatGradeText } from '../../lab-engine/index.ts';
import { gradeOutcomes } from '../../lab-engine/grader/grade.ts';
import { MESSAGES } from '../../lab-engine/grader/messages/en.ts';
import { runSeedIsolated } from '../../lab-engine/node/run-seeds.ts';
import { CHOOSE_IO_MODEL_API } from '../../lab-engine/labs/choose-io-model/api.ts';
import { cloudFor, type Cloud } from '../../lab-engine/labs/choose-io-model/cloud.ts';
import { DELIVERED_MIN } from '../../lab-engine/labs/choose-io-model/lab.ts';
import { readPlan } from '../../lab-engine/labs/choose-io-model/plan.ts';
import { compileModule } from '../../lab-engine/sandbox/compile.ts';
import { failing, mutator, output, seedsWhere as seedsWhereIn } from './kit.ts';

const LAB = 'choose-io-model';
const info = getLabInfo(LAB)!;
const reference = readFileSync(new URL('../../lab-engine/labs/choose-io-model/reference.ts', import.meta.url), 'utf8');
const mutate = mutator(reference);
const seedsWhere = (pred: (c: Cloud) => boolean, n: number, from = 1): number[] => seedsWhereIn(cloudFor, pred, n, from, 2_000);

const CHOICES = "const CHOICES = { trading: 'vhost-user' as IoModel, web: 'sriov-vf' as IoModel, migratable: 'vhost-net' as IoModel, useDrained: false };";
/** Other good plans: what the reference's CHOICES let a learner decide differently. */
const GOOD = {
  // The trading VM on a VF with a guest PMD, the web tier on vhost-net, the migratable tenants as VF + virtio failover pairs.
  vfTradingVirtioWebFailover: mutate(CHOICES, CHOICES.replace("trading: 'vhost-user'", "trading: 'sriov-vf'").replace("web: 'sriov-vf'", "web: 'vhost-net'").replace("migratable: 'vhost-net'", "migratable: 'failover'")),
  // The morning spread over the drained host too: part of the web tier there on vhost-net, migrating away at noon.
  useDrainedHost: mutate(CHOICES, CHOICES.replace('useDrained: false', 'useDrained: true')),
};
const TRADING = "else place(t, 'vhost-user', byRoom(alive), { guestPmd: true, pollingCores: 1 });";
const RETURN = '  return { placements };\n}';
const BAD = {
  allEmulation: mutate(RETURN, "  return { placements: placements.map((p) => ({ ...p, model: 'emulation' as IoModel, guestPmd: undefined, pollingCores: undefined })) };\n}"),
  tooFewCores: mutate('const IO_RESERVE = 3;', 'const IO_RESERVE = -2;', mutate(CHOICES, CHOICES.replace("web: 'sriov-vf'", "web: 'vhost-net'"))),
  tradingQemu: mutate(TRADING, "else place(t, 'virtio-qemu', byRoom(alive));"),
  tradingNoPmd: mutate(TRADING, "else place(t, 'vhost-user', byRoom(alive), { pollingCores: 1 });"),
  vfOnDrained: mutate("    if (CHOICES.trading === 'sriov-vf' && vfHost.length) place(t, 'sriov-vf', byRoom(vfHost), { guestPmd: true });", "    const d = cloud.hosts.find((h) => h.id === drained)!;\n    if (hasVfs(d)) place(t, 'sriov-vf', [d], { guestPmd: true }, () => byRoom(alive)[0]!);"),
  noDowntimeLimit: mutate('{ downtimeLimitMs }, other);', '{}, other);'),
  vfsUnchecked: mutate('(!vf || l.vfs[p]! >= vms)', 'true'),
  storagePassthroughShared: mutate("for (const t of cloud.tenants.filter((x) => x.kind === 'storage')) place(t, 'vhost-net', byRoom(alive));", "for (const t of cloud.tenants.filter((x) => x.kind === 'storage')) place(t, 'passthrough', byRoom(alive));"),
  vfsEverywhere: mutate('const hasVfs = (h: Host): boolean => h.sriov && h.iommu;', 'const hasVfs = (h: Host): boolean => h.cores > 0;'),
  noRoomAtDestination: mutate('        take(dest, dp, t, n, vf, n * t.vcpus + polling);\n', ''),
};

describe('choose-io-model: reference, other good plans and starter', () => {
  it('the reference scores 100 on the public seeds and on 20 more', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 20 }, (_, i) => 1000 + i * 7919)];
    const r = gradeSeeds(LAB, reference, seeds, 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
    expect(r.score).toBe(100);
  }, 120_000);

  it.each(Object.entries(GOOD))('another good plan (%s) scores 100 on 12 seeds', (_, src) => {
    const r = gradeSeeds(LAB, src, [...info.publicSeeds, ...Array.from({ length: 9 }, (_, i) => 500 + i * 104729)], 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
  }, 120_000);

  it('the good plans really differ: models and hosts the reference does not use', () => {
    const c = (src: string) => {
      const m = compileModule(src, { 'iovlab/choose-io-model': CHOOSE_IO_MODEL_API });
      if (!m.ok) throw new Error('does not compile');
      const i = m.instantiate();
      if (!i.ok) throw new Error('does not load');
      return i.exports['plan'] as (c: Cloud) => { placements: { tenant: string; host: string; model: string }[] };
    };
    const models = (src: string, seed: number) => new Set(c(src)(cloudFor(seed)).placements.map((p) => `${p.tenant.replace(/-\d+$/, '')}:${p.model}`));
    const seed = seedsWhere((x) => x.hosts.filter((h) => h.id !== x.maintenance.host).every((h) => h.sriov && h.iommu), 1)[0]!;
    expect([...models(reference, seed)]).toEqual(expect.arrayContaining(['trading:vhost-user', 'web:sriov-vf', 'erp:vhost-net']));
    expect([...models(GOOD.vfTradingVirtioWebFailover, seed)]).toEqual(expect.arrayContaining(['trading:sriov-vf', 'web:vhost-net', 'erp:failover']));
    const cloud = cloudFor(2);
    expect(c(reference)(cloud).placements.some((p) => p.host === cloud.maintenance.host)).toBe(false);
    expect(c(GOOD.useDrainedHost)(cloud).placements.some((p) => p.host === cloud.maintenance.host)).toBe(true);
  });

  it('the frozen threshold keeps its margin over the reference on 40 other seeds, which vary what matters', () => {
    // DELIVERED_MIN (0.90) was frozen from seeds 1–200 (worst 0.955); these are other seeds. The
    // trading bound and the outage budgets are the tenants' own (from the seed).
    let worstDelivered = Infinity;
    let worstP99 = 0;
    let worstOutage = 0;
    for (let seed = 7001; seed <= 7040; seed++) {
      const o = runLabSeed(LAB, reference, seed);
      if (o.kind !== 'ran') throw new Error('reference did not run');
      expect(o.findings, `seed ${seed}`).toEqual([]);
      const p = o.result.metrics.params as Record<string, number>;
      const c = cloudFor(seed);
      worstDelivered = Math.min(worstDelivered, p['morningDeliveredMin']!, p['afternoonDeliveredMin']!);
      worstP99 = Math.max(worstP99, p['morningTradingP99Us']! / c.tenants[0]!.p99Us!);
      worstOutage = Math.max(worstOutage, p['outageToBudgetMax']!);
      expect(p['migrations']).toBeGreaterThan(0);
    }
    expect(worstDelivered).toBeGreaterThan(DELIVERED_MIN + 0.03);
    expect(worstP99).toBeLessThan(0.85);
    expect(worstOutage).toBeLessThan(0.8);
  }, 180_000);

  it('the starter compiles, runs, and fails the expected checks', () => {
    const r = gradeSeeds(LAB, info.starter, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.score).toBe(10);
    expect(output(r, 2)).toMatch(/seed \d \(morning\): host-a has \d+ cores, but its VMs need \d+ vCPU\(s\) and 0 dedicated polling core\(s\)/);
    expect(output(r, 3)).toMatch(/not run: check 2/);
    expect(output(r, 3)).toMatch(/trading's VM on host-a \(virtio-qemu\) answered with a p99 of 2\d\.\d µs .* its bound is 1\d\.\d µs/);
    expect(output(r, 7)).toMatch(/erp-\d's \d VM\(s\) on host-a must live-migrate at noon \(erp-\d must be migratable\), but the placement has no migrateTo/);
  }, 60_000);

  it('one seed runs in well under the time limit', () => {
    runLabSeed(LAB, reference, 4);
    const t0 = performance.now();
    runLabSeed(LAB, reference, 5);
    expect(performance.now() - t0).toBeLessThan(info.timeLimitMs / 4);
  }, 30_000);
});

describe('choose-io-model: bad plans fail with domain messages', () => {
  it('everything emulated: the trading p99, the storage gateway\'s throughput, the host CPU', () => {
    const r = gradeSeeds(LAB, BAD.allEmulation, info.publicSeeds, 'check');
    expect(failing(r)).toEqual(expect.arrayContaining([3, 5]));
    expect(failing(r)).not.toContain(7);
    expect(output(r, 3)).toMatch(/trading's VM on host-\w \(emulation\) answered with a p99 of 1\d\d\.\d µs/);
    expect(output(r, 5)).toMatch(/storage's VM on host-\w \(emulation\) received [\d.]+ Gbit\/s a VM of the [\d.]+ offered .*the bottleneck was the QEMU main loop/);
  }, 60_000);

  it('the web tier on vhost-net packed without the headroom', () => {
    const r = gradeSeeds(LAB, BAD.tooFewCores, info.publicSeeds, 'check');
    expect(failing(r)).toContain(6);
    expect(output(r, 6)).toMatch(/host-\w \(\d+ cores\) runs \d+ vCPU\(s\), \d polling core\(s\) and [\d.]+ cores of host I\/O threads, leaving [\d.]+ % idle; it must keep \d+ %/);
  }, 60_000);

  it('the trading VM on virtio-qemu, or on vhost-user without a guest PMD, misses its p99', () => {
    const q = gradeSeeds(LAB, BAD.tradingQemu, [1], 'check');
    expect(failing(q)).toEqual([3]);
    expect(output(q, 3)).toMatch(/trading's VM on host-\w \(virtio-qemu\) answered with a p99 of 2\d\.\d µs for \d+-byte messages; its bound is 1\d\.\d µs/);
    const n = gradeSeeds(LAB, BAD.tradingNoPmd, [1], 'check');
    expect(failing(n)).toEqual([3]);
    expect(output(n, 3)).toMatch(/\(vhost-user\) answered with a p99 of 2\d\.\d µs/);
  }, 60_000);

  it('a plain VF on the drained host cannot migrate', () => {
    const seeds = seedsWhere((c) => { const d = c.hosts.find((h) => h.id === c.maintenance.host)!; return d.sriov && d.iommu; }, 2);
    const r = gradeSeeds(LAB, BAD.vfOnDrained, seeds, 'grade');
    expect(failing(r)).toEqual([7, 8, 9]);
    expect(output(r, 7)).toMatch(/trading's 1 VM\(s\) on host-\w must live-migrate at noon \(host-\w is drained at noon\), but with sriov-vf the migration is refused: .*DMA/);
  }, 60_000);

  it('QEMU\'s default downtime limit breaks the tighter outage budgets', () => {
    const r = gradeSeeds(LAB, BAD.noDowntimeLimit, Array.from({ length: 10 }, (_, i) => i + 1), 'grade');
    expect(failing(r)).toEqual([8]);
    expect(output(r, 8)).toMatch(/migrating erp-\d's VM\(s\) from host-\w \(vhost-net\) cut their network for [\d.]+ ms \(downtime [\d.]+ ms\); their budget is \d+ ms/);
  }, 120_000);

  it('migrating to a destination without room for the moved VMs fails the afternoon', () => {
    const r = gradeSeeds(LAB, BAD.noRoomAtDestination, Array.from({ length: 10 }, (_, i) => i + 1), 'grade');
    expect(failing(r)).toEqual([9]);
    expect(output(r, 9)).toMatch(/seed \d+ \(afternoon\): (the VMs on host-\w port \d need [\d.]+ Gbit\/s together|host-\w has \d+ cores, but|host-\w \(\d+ cores\) runs)/);
  }, 120_000);

  it('a passthrough port shared with other VMs, and VFs on a host without SR-IOV or IOMMU', () => {
    const p = gradeSeeds(LAB, BAD.storagePassthroughShared, info.publicSeeds, 'check');
    expect(failing(p)).toContain(2);
    expect(output(p, 2)).toMatch(/host-\w port \d is assigned whole to storage \(passthrough\), so [\w, -]+ cannot use it too/);
    const seeds = seedsWhere((c) => c.hosts.some((h) => h.id !== c.maintenance.host && !h.sriov), 2);
    const v = gradeSeeds(LAB, BAD.vfsEverywhere, seeds, 'grade');
    expect(failing(v)).toContain(2);
    expect(output(v, 2)).toMatch(/uses (sriov-vf|failover) on host-\w, (where SR-IOV is off: that host has no VFs|whose IOMMU is off: VFIO cannot assign a device without VT-d)/);
  }, 60_000);

  it('more VFs on a port than the PF driver enabled', () => {
    const seeds = seedsWhere((c) => c.hosts.some((h) => h.id !== c.maintenance.host && h.sriov && h.iommu && h.nic.maxVfsPerPort < 32), 2);
    const r = gradeSeeds(LAB, BAD.vfsUnchecked, seeds, 'grade');
    expect(failing(r)).toContain(2);
    expect(output(r, 2)).toMatch(/host-\w port \d would need \d+ VFs; an? (82599|xl710) port gives at most (16|32)/);
  }, 60_000);
});

describe('choose-io-model: learner errors', () => {
  it('a throw is reported with the learner\'s line', () => {
    const src = mutate(RETURN, '  if (placements.length > 0) throw new Error("boom");\n  return { placements };\n}');
    const line = src.split('\n').findIndex((l) => l.includes('"boom"')) + 1;
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(failing(r)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(output(r, 1)).toBe(`seed 1: Your plan() threw Error: boom at line ${line}, planning the cloud. The run stopped there.`);
  });

  it('garbage, unknown models, VMs placed twice and impossible settings are named', () => {
    const g = gradeSeeds(LAB, mutate(RETURN, '  return 42 as any;\n}'), [1], 'check');
    expect(output(g, 1)).toBe('seed 1: plan() returned 42; it should return { placements: Placement[] }');
    const m = gradeSeeds(LAB, mutate(RETURN, "  placements[0]!.model = 'virtio' as any;\n  return { placements };\n}"), [1], 'check');
    expect(output(m, 1)).toMatch(/placements\[0\] \(trading\)\.model is "virtio"; expected emulation \| virtio-qemu \| vhost-net/);
    const t = gradeSeeds(LAB, mutate(RETURN, '  placements.push({ ...placements[0]! });\n  return { placements };\n}'), [1], 'check');
    expect(output(t, 1)).toBe('seed 1: tenant trading has 1 VM(s), but your placements put 2; every VM must be placed exactly once');
    const p = gradeSeeds(LAB, mutate(TRADING, "else place(t, 'vhost-net', byRoom(alive), { guestPmd: true });"), [1], 'check');
    expect(output(p, 1)).toMatch(/placements\[0\] \(trading\): guestPmd with vhost-net does not work — a guest poll-mode driver needs a device it can poll without exits/);
    const c = gradeSeeds(LAB, mutate(TRADING, "else place(t, 'vhost-user', byRoom(alive), { guestPmd: true, pollingCores: 0 });"), [1], 'check');
    expect(output(c, 1)).toMatch(/vhost-user with pollingCores 0 does not work — the vhost-user backend \(a DPDK vSwitch\) needs at least one host core/);
    expect(failing(c)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('an endless loop is stopped by the watchdog and graded as a timeout', async () => {
    const loop = mutate(RETURN, '  while (placements.length > 0) {}\n  return { placements };\n}');
    const o = await runSeedIsolated(LAB, loop, 1, 1_500);
    expect(o.kind).toBe('timeout');
    expect(gradeOutcomes(LAB, [o], { mode: 'check', codeHash: 'x' }).score).toBe(0);
  }, 30_000);

  it('readPlan never throws, whatever plan() returns', () => {
    const cloud = cloudFor(1);
    const field = fc.oneof(fc.constantFrom('trading', 'web', 'storage', 'erp-1', 'host-a', 'host-b', 'host-c', 'vhost-net', 'sriov-vf', 'failover', 'passthrough', 'posted'), fc.integer({ min: -2, max: 70 }), fc.boolean(), fc.constant(undefined), fc.string());
    const placement = fc.record({ tenant: field, host: field, model: field, vms: field, port: field, queues: field, guestPmd: field, pollingCores: field, irq: field, migrateTo: field, migrateToPort: field, downtimeLimitMs: field }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ placements: fc.array(placement, { maxLength: 12 }) })), (plan) => {
        const r = readPlan(cloud, JSON.parse(JSON.stringify(plan ?? null)));
        if (!r.ok) for (const p of r.problems) expect(MESSAGES[p.code], p.code).toBeTypeOf('function');
      }),
      { numRuns: 400 },
    );
  });

  it('a plan hard-coded to the Check seeds passes Check and fails Grade', () => {
    const compiled = compileModule(reference, { 'iovlab/choose-io-model': CHOOSE_IO_MODEL_API });
    if (!compiled.ok) throw new Error('reference does not compile');
    const known: Record<string, unknown> = {};
    for (const s of info.publicSeeds) {
      const i = compiled.instantiate();
      if (!i.ok) throw new Error('reference does not load');
      const cloud = cloudFor(s);
      known[JSON.stringify(cloud)] = (i.exports['plan'] as (c: Cloud) => unknown)(cloud);
    }
    const cheat = `import { type Cloud, type Plan } from 'iovlab/choose-io-model';\nconst KNOWN: Record<string, Plan> = ${JSON.stringify(known)};\nexport function plan(cloud: Cloud): Plan {\n  return KNOWN[JSON.stringify(cloud)] ?? Object.values(KNOWN)[0]!;\n}\n`;
    expect(gradeSeeds(LAB, cheat, info.publicSeeds, 'check').score).toBe(100);
    const grade = gradeSeeds(LAB, cheat, [...info.publicSeeds, 987654321, 123456789, 555555555], 'grade');
    expect(grade.score).toBeLessThan(100);
    expect(failing(grade)).toContain(1);
  }, 60_000);
});

describe('choose-io-model: determinism, seeds, messages, declarations', () => {
  it('the same source and seed give the same run', () => {
    const a = runLabSeed(LAB, reference, 3);
    const b = runLabSeed(LAB, reference, 3);
    if (a.kind !== 'ran' || b.kind !== 'ran') throw new Error('did not run');
    expect(a.result.traceHash).toBe(b.result.traceHash);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = runLabSeed(LAB, reference, 4);
    if (c.kind !== 'ran') throw new Error('did not run');
    expect(c.result.traceHash).not.toBe(a.result.traceHash);
  }, 30_000);

  it('seeds vary the tenants, the SLO bounds, the hosts, the drained host, the dirty rates and the NICs', () => {
    const cs = Array.from({ length: 40 }, (_, i) => cloudFor(i + 1));
    const distinct = (f: (c: Cloud) => unknown): number => new Set(cs.map((c) => JSON.stringify(f(c)))).size;
    expect(distinct((c) => c.tenants.find((t) => t.kind === 'web')!.vms)).toBeGreaterThan(8);
    expect(distinct((c) => c.tenants[0]!.p99Us)).toBeGreaterThan(6);
    expect(distinct((c) => c.tenants.length)).toBe(2);
    expect(distinct((c) => c.hosts.map((h) => h.cores))).toBeGreaterThan(20);
    expect(distinct((c) => c.maintenance.host)).toBe(3);
    expect(distinct((c) => c.tenants.filter((t) => t.mustMigrate).map((t) => [t.dirtyMBps, t.outageBudgetMs]))).toBe(40);
    expect(distinct((c) => c.hosts.map((h) => [h.nic.model, h.nic.maxVfsPerPort]))).toBeGreaterThan(15);
    expect(cs.some((c) => c.hosts.some((h) => !h.sriov))).toBe(true);
  });

  it('every finding code of the lab has an English message', () => {
    const src = ['lab.ts', 'plan.ts'].map((f) => readFileSync(new URL(`../../lab-engine/labs/choose-io-model/${f}`, import.meta.url), 'utf8')).join('\n');
    const codes = new Set([...src.matchAll(/'(cm-[\w-]+)'/g)].map((m) => m[1]!));
    expect(codes.size).toBeGreaterThan(18);
    for (const c of codes) expect(MESSAGES[c], c).toBeTypeOf('function');
  });

  it('the API declarations agree with the runtime values, and reference, starter and variants type-check against them', () => {
    for (const [name, value] of Object.entries(CHOOSE_IO_MODEL_API)) {
      expect(info.apiDts, name).toMatch(new RegExp(`export const ${name}: `));
      if (Array.isArray(value)) {
        const type = name === 'IO_MODELS' ? 'IoModel' : 'IrqMode';
        const m = new RegExp(`export type ${type} =([\\s\\S]+?)\\n  export const ${name}`).exec(info.apiDts)!;
        expect([...m[1]!.replace(/\/\/.*$/gm, '').matchAll(/'([\w-]+)'/g)].map((x) => x[1])).toEqual(value);
      }
    }
    expect(typecheck(info.apiDts, { reference, starter: info.starter, ...GOOD, ...BAD })).toBe('');
  }, 60_000);
});
