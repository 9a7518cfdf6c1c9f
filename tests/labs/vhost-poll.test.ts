/**
 * The vhost-poll lab both ways (STYLE.md §3.8): the reference scores full marks on every seed
 * tried and keeps a margin under each frozen threshold; the starter fails with the expected
 * checks; busy polling, an eager sleeper and each way of breaking the notification protocol
 * fail with the expected domain messages; learner exceptions, garbage and endless loops are
 * reported; a solution hard-coded to the Check seeds fails Grade; runs are deterministic.
 */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { getLabInfo, gradeSeeds, runLabSeed, formatGradeText } from '../../lab-engine/index.ts';
import { gradeOutcomes } from '../../lab-engine/grader/grade.ts';
import { MESSAGES } from '../../lab-engine/grader/messages/en.ts';
import { runSeedIsolated } from '../../lab-engine/node/run-seeds.ts';
import { VHOST_POLL_API } from '../../lab-engine/labs/vhost-poll/api.ts';
import { CPU_PER_GBPS_MAX, EXITS_PER_PACKET_MAX, P99_MAX_NS, pollFigures, seedConfig } from '../../lab-engine/labs/vhost-poll/lab.ts';

const LAB = 'vhost-poll';
const info = getLabInfo(LAB)!;
const reference = readFileSync(new URL('../../lab-engine/labs/vhost-poll/reference.ts', import.meta.url), 'utf8');
const FRESH = [987654321, 123456789, 555555555];

const failing = (r: ReturnType<typeof gradeSeeds>) => r.tests.filter((t) => t.status === 'failed').map((t) => Number(t.number));
const output = (r: ReturnType<typeof gradeSeeds>, n: number) => r.tests[n - 1]!.output;

function mutate(find: string, replace: string): string {
  expect(reference.includes(find), `reference contains: ${find}`).toBe(true);
  return reference.replace(find, replace);
}

const RECHECK = `  core.enableNotifications();
  // The re-check: anything published before the guest could see the enable got no kick.
  if (core.pendingTx() > 0) {
    core.disableNotifications();
    return SPIN_BUDGET_NS;
  }
  return 'sleep';`;

/** Variants a learner might write on the way. */
const V = {
  busyPoll: `import type { Core } from 'iovlab/vhost-poll';
export function burst(_core: Core): number { return 32; }
export function idle(_core: Core): number | 'sleep' { return Infinity; }
`,
  eager: mutate('const SPIN_BUDGET_NS = 50_000;', 'const SPIN_BUDGET_NS = 0;'),
  sleepWithoutEnable: mutate(RECHECK, "  return 'sleep';"),
  enableWithoutRecheck: mutate(RECHECK, "  core.enableNotifications();\n  return 'sleep';"),
  checkThenEnable: mutate(RECHECK, "  if (core.pendingTx() > 0) return SPIN_BUDGET_NS;\n  core.enableNotifications();\n  return 'sleep';"),
  noDisableOnWake: mutate('  // Polling again: the guest need not kick (each kick is a VM exit).\n  core.disableNotifications();\n', ''),
};

const figures = (source: string, seed: number) => {
  const o = runLabSeed(LAB, source, seed);
  if (o.kind !== 'ran') throw new Error(`seed ${seed} did not run`);
  return { o, p: pollFigures(o.result.metrics, seedConfig(seed).frames) };
};

describe('vhost-poll: reference and starter', () => {
  it('the reference scores 100 on the public seeds and on 40 more', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 40 }, (_, i) => 1000 + i * 7919)];
    const r = gradeSeeds(LAB, reference, seeds, 'grade');
    expect(formatGradeText(r)).toContain('Score: 100/100');
    expect(r.score).toBe(100);
  });

  it('the frozen thresholds keep a margin of at least 20 % over the reference on 120 seeds', () => {
    const worst = { p99: 0, cpu: 0, exits: 0 };
    for (let seed = 1; seed <= 120; seed++) {
      const { o, p } = figures(reference, seed);
      expect(o.result.metrics.stop, `seed ${seed}`).toBe('done');
      worst.p99 = Math.max(worst.p99, p.p99Ns / P99_MAX_NS);
      worst.cpu = Math.max(worst.cpu, p.cpuPerGbps / CPU_PER_GBPS_MAX);
      worst.exits = Math.max(worst.exits, p.exitsPerPacket / EXITS_PER_PACKET_MAX);
    }
    expect(worst.p99).toBeLessThan(0.8);
    expect(worst.cpu).toBeLessThan(0.8);
    expect(worst.exits).toBeLessThan(0.8);
  });

  it('one seed runs well under a second of wall time', () => {
    for (const seed of [...info.publicSeeds, ...FRESH]) {
      const t0 = performance.now();
      runLabSeed(LAB, reference, seed);
      expect(performance.now() - t0, `seed ${seed}`).toBeLessThan(1_000);
    }
  });

  it('the starter compiles, runs, stalls on a lost wake-up and fails the expected checks', () => {
    const r = gradeSeeds(LAB, info.starter, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([1, 2, 5, 6, 7]);
    expect(r.score).toBe(15);
    expect(output(r, 1)).toMatch(/seed 1: frame \d+ never reached the peer; \d+ of the \d+ frames did\. Nothing was left to happen/);
    expect(output(r, 2)).toMatch(/seed 1: at [\d.]+ µs the core went to sleep with notifications still suppressed \(VIRTQ_USED_F_NO_NOTIFY still set in used\.flags\): the guest will not kick/);
    expect(output(r, 2)).toMatch(/seed 2: at [\d.]+ µs the core went to sleep with notifications still suppressed \(avail_event left behind/);
    expect(output(r, 2)).toMatch(/frame \d+ never reached the peer: the core went to sleep at .* — a lost wake-up/);
    expect(output(r, 6)).toMatch(/not run: check 1 .* failed first/);
  });
});

describe('vhost-poll: the trade-off and the protocol', () => {
  it('busy polling is correct and fast but fails the CPU check on every seed', () => {
    const seeds = [...info.publicSeeds, ...Array.from({ length: 20 }, (_, i) => 500 + i * 104729)];
    const r = gradeSeeds(LAB, V.busyPoll, seeds, 'grade');
    expect(failing(r)).toEqual([7]);
    expect(r.score).toBe(85);
    expect(output(r, 7)).toMatch(/seed 1: the poll-mode core was busy 100 % of the time \(spinning on an empty ring \d+ %\) for [\d.]+ Gbit\/s delivered = [\d.]+ cores per Gbit\/s; the target is at most 1\.25/);
    expect(output(r, 7)).toMatch(/… and 19 more/);
    for (const seed of seeds.slice(0, 8)) expect(figures(V.busyPoll, seed).p.cpuPerGbps, `seed ${seed}`).toBeGreaterThan(CPU_PER_GBPS_MAX * 1.2);
  });

  it('sleeping as soon as the ring is empty fails latency and exits', () => {
    const r = gradeSeeds(LAB, V.eager, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([5, 6]);
    expect(output(r, 5)).toMatch(/seed 1: [\d.]+ VM exits per packet \(\d+ exits, \d+ of them kicks, for \d+ frames\); the target is at most 0\.25: the core went to sleep \d+ times, and the guest had to kick it awake each time/);
    expect(output(r, 6)).toMatch(/seed 1: p99 latency 4\.\d+ µs \(p50 [\d.]+ µs\); the target is at most 3\.50 µs — \d+ wake-ups/);
  });

  it('sleeping without enabling notifications is a lost wake-up, diagnosed as such', () => {
    const r = gradeSeeds(LAB, V.sleepWithoutEnable, info.publicSeeds, 'check');
    expect(failing(r)).toContain(2);
    expect(output(r, 2)).toMatch(/seed 1: at [\d.]+ µs the core went to sleep with notifications still suppressed \(VIRTQ_USED_F_NO_NOTIFY still set in used\.flags\)/);
    expect(output(r, 2)).toMatch(/Call core\.enableNotifications\(\) before sleeping/);
  });

  it('enabling without re-checking the ring fails check 2 only, with the race explained', () => {
    for (const src of [V.enableWithoutRecheck, V.checkThenEnable]) {
      const r = gradeSeeds(LAB, src, info.publicSeeds, 'check');
      expect(failing(r)).toEqual([2, 5, 6, 7]);
      expect(r.tests.slice(4).every((t) => t.output.startsWith('not run: check 2'))).toBe(true);
      expect(output(r, 2)).toMatch(
        /seed 1: at [\d.]+ µs the core went to sleep without looking at the ring after core\.enableNotifications\(\) \(\d+ of \d+ sleeps\): a chain the guest published between the core's last poll and the enable got no kick/,
      );
      expect(output(r, 2)).toMatch(/Re-check core\.pendingTx\(\) after enabling/);
      expect(output(r, 2)).not.toMatch(/suppressed/);
    }
  });

  it('leaving notifications on after waking makes the guest kick a polling core (without EVENT_IDX)', () => {
    expect(info.publicSeeds.map((s) => seedConfig(s).eventIdx)).toEqual([false, true, false]);
    const r = gradeSeeds(LAB, V.noDisableOnWake, info.publicSeeds, 'check');
    expect(failing(r)).toEqual([4, 5]);
    expect(output(r, 4)).toMatch(/seed 1: \d+ kicks reached the core while it was polling with notifications enabled \(the first at .*; EVENT_IDX off\)/);
    expect(output(r, 4)).not.toMatch(/seed 2:/); // with EVENT_IDX, avail_event already stopped them
    expect(output(r, 5)).toMatch(/seed 1: [\d.]+ VM exits per packet .*: \d+ of those kicks reached a core that was already polling \(check 4\)/);
  });

  it('the burst size is the learner\'s but matters little when the core outruns the guest', () => {
    const one = figures(mutate('return DPDK_BURST;', 'return 1;'), 2).p;
    const ref = figures(reference, 2).p;
    expect(Math.abs(one.p99Ns - ref.p99Ns)).toBeLessThan(100);
    expect(gradeSeeds(LAB, mutate('return DPDK_BURST;', 'return 1;'), [2], 'check').score).toBe(100);
  });
});

describe('vhost-poll: learner errors are reported', () => {
  it('a policy that throws stops the run with the learner line and fails every check', () => {
    const src = mutate('  core.enableNotifications();\n  // The re-check', '  core.enableNotifications();\n  (core as any).nope.x = 1;\n  // The re-check');
    const line = src.split('\n').findIndex((l) => l.includes('(core as any).nope.x')) + 1;
    const o = runLabSeed(LAB, src, 1);
    expect(o.kind).toBe('ran');
    if (o.kind !== 'ran') return;
    const d = o.result.diagnostics.find((x) => x.code === 'learner-threw')!;
    expect(d.line).toBe(line);
    expect(d.message).toMatch(new RegExp(`^Your idle\\(\\) threw TypeError: .* at line ${line}, at [\\d.]+ .s \\(the core had been idle 50\\.0 µs\\)\\. The run stopped there\\.$`));
    const r = gradeSeeds(LAB, src, [1], 'check');
    expect(r.score).toBe(0);
    expect(output(r, 3)).toMatch(/seed 1: Your idle\(\) threw TypeError/);
  });

  it('garbage return values are named, replaced, and fail check 3 (and the performance checks under it)', () => {
    // A branch that forgot its return value: the core polls on in 1 µs steps instead.
    const undef = mutate('if (core.idleNs < SPIN_BUDGET_NS) return SPIN_BUDGET_NS - core.idleNs;', 'if (core.idleNs < SPIN_BUDGET_NS) return undefined as any;');
    const r = gradeSeeds(LAB, undef, [1], 'check');
    expect(failing(r)).toEqual([3, 5, 6, 7]);
    expect(output(r, 3)).toMatch(/seed 1: idle\(\) returned undefined at [\d.]+ µs; it must return a number of ns > 0 to keep polling, or 'sleep' \(did a branch forget to return\?\)\. The core kept polling for 1\.00 µs instead; \d+ bad value\(s\) in all/);
    expect(output(r, 7)).toMatch(/not run: check 3/);
    const zero = gradeSeeds(LAB, mutate('return DPDK_BURST;', 'return 0;'), [1], 'check');
    expect(output(zero, 3)).toMatch(/seed 1: burst\(\) returned 0 at [\d.]+ µs; it must return an integer from 1 to 256 \(the core took 1 instead; \d+ bad value\(s\) in all\)/);
    const str = gradeSeeds(LAB, mutate("  return 'sleep';\n}", "  return 'Sleep' as any;\n}"), [1], 'check');
    expect(output(str, 3)).toMatch(/idle\(\) returned "Sleep"/);
  });

  it('syntax errors, missing exports and a Core kept past its call are reported', () => {
    const o = runLabSeed(LAB, 'export function burst(core {\n}', 1);
    expect(o.kind === 'compile-error' && o.diagnostics[0]!.message).toMatch(/Syntax error: .*line 1/);
    const m = runLabSeed(LAB, 'export function burst() { return 32; }', 1);
    expect(m.kind === 'compile-error' && m.diagnostics[0]!.message).toMatch(/must export the functions burst\(core\) and idle\(core\).*idle is missing/);
    const kept = `let saved: any;\nexport function burst(core: any) { if (saved) saved.pendingTx(); saved = core; return 32; }\nexport function idle() { return 1000; }`;
    const k = runLabSeed(LAB, kept, 1);
    expect(k.kind === 'ran' && k.result.diagnostics.find((d) => d.code === 'learner-threw')?.message).toMatch(/core\.pendingTx\(\) was called after the call it was passed to returned/);
  });

  it('an endless loop in idle() is stopped by the watchdog and graded as a timeout', async () => {
    const loop = reference.replace('export function idle(core: Core): number | \'sleep\' {', "export function idle(core: Core): number | 'sleep' {\n  while (core.idleNs >= 0) {}");
    const o = await runSeedIsolated(LAB, loop, 1, 1_500);
    expect(o.kind).toBe('timeout');
    const r = gradeOutcomes(LAB, [o], { mode: 'check', codeHash: 'x' });
    expect(r.score).toBe(0);
    expect(output(r as ReturnType<typeof gradeSeeds>, 1)).toMatch(/seed 1: your code ran for more than 1\.5 s without returning/);
  }, 30_000);
});

describe('vhost-poll: seeds and integrity', () => {
  it('seeds vary what matters', () => {
    const cfgs = Array.from({ length: 16 }, (_, i) => seedConfig(i + 1));
    for (const k of ['frames', 'burst', 'thinkMaxNs', 'queueSize', 'startIdx', 'bufferBase', 'eventIdx'] as const) {
      expect(new Set(cfgs.map((c) => c[k])).size, k).toBeGreaterThan(1);
    }
    for (const c of cfgs) {
      expect(c.startIdx + c.frames, 'the indices wrap past 65535').toBeGreaterThan(65536);
      expect(c.idleAt.length).toBeGreaterThanOrEqual(2);
      expect(Math.min(...c.idleAt.map((i) => c.gaps[i]!)), 'idle periods dwarf the think time').toBeGreaterThan(10 * c.thinkMaxNs);
    }
  });

  it('the same source and seed give the same run', () => {
    const a = runLabSeed(LAB, reference, 3);
    const b = runLabSeed(LAB, reference, 3);
    if (a.kind !== 'ran' || b.kind !== 'ran') throw new Error('did not run');
    expect(a.result.traceHash).toBe(b.result.traceHash);
    expect(JSON.stringify(a.result.metrics)).toBe(JSON.stringify(b.result.metrics));
    expect(a.findings).toEqual(b.findings);
    const s1 = gradeSeeds(LAB, V.noDisableOnWake, [1], 'check');
    const s2 = gradeSeeds(LAB, V.noDisableOnWake, [1], 'check');
    expect(s1).toEqual(s2);
  });

  it('a solution hard-coded to the Check seeds passes Check but fails Grade', () => {
    // Record when the reference went to sleep on each public seed, keyed by when its first
    // idle() came (a fingerprint of the seed), then replay that schedule: poll until the next
    // recorded moment, then sleep properly. Unknown seeds get seed 1's schedule.
    const spy = reference
      .replace("export function idle(core: Core): number | 'sleep' {", "export function idle(core: Core): number | 'sleep' {\n  (globalThis as any).__first ??= core.now;")
      .replace("  return 'sleep';\n}", "  (globalThis as any).__sleeps.push(core.now);\n  return 'sleep';\n}");
    const plans: Record<string, number[]> = {};
    for (const seed of info.publicSeeds) {
      const g = globalThis as unknown as { __first?: number; __sleeps: number[] };
      g.__first = undefined;
      g.__sleeps = [];
      runLabSeed(LAB, spy, seed);
      plans[String(g.__first)] = g.__sleeps.slice();
    }
    expect(Object.keys(plans)).toHaveLength(3);
    const cheat = `
      import type { Core } from 'iovlab/vhost-poll';
      const PLANS: Record<string, number[]> = ${JSON.stringify(plans)};
      let plan: number[] | undefined;
      export function burst(_core: Core): number {
        return 32;
      }
      export function idle(core: Core): number | 'sleep' {
        plan ??= PLANS[String(core.now)] ?? Object.values(PLANS)[0]!;
        const next = (plan ?? []).find((t) => t >= core.now);
        if (next === undefined) return Infinity;
        if (core.now < next) return next - core.now;
        core.enableNotifications();
        if (core.pendingTx() > 0) { core.disableNotifications(); return 1000; }
        return 'sleep';
      }
      export function wake(core: Core): void { core.disableNotifications(); }
    `;
    const check = gradeSeeds(LAB, cheat, info.publicSeeds, 'check');
    expect(check.score).toBe(100);
    const grade = gradeSeeds(LAB, cheat, [...info.publicSeeds, ...FRESH], 'grade');
    expect(grade.score).toBeLessThan(check.score);
    expect(formatGradeText(grade)).toMatch(/seed 987654321/);
  });

  it('every finding code of the lab has an English message', () => {
    const src = readFileSync(new URL('../../lab-engine/labs/vhost-poll/lab.ts', import.meta.url), 'utf8');
    const codes = new Set([...src.matchAll(/\bf\((?:'[\w-]+'|c\.id), '([\w-]+)'/g)].map((m) => m[1]!));
    expect(codes.size).toBeGreaterThan(12);
    for (const c of codes) expect(MESSAGES[c], c).toBeTypeOf('function');
  });

  it('the API declarations agree with the runtime values, and reference, starter and variants type-check against them', () => {
    for (const [name, value] of Object.entries(VHOST_POLL_API)) {
      const m = new RegExp(`export const ${name}: (\\d+);`).exec(info.apiDts);
      expect(m, name).not.toBeNull();
      expect(Number(m![1]), name).toBe(value);
    }
    expect(typecheck(info.apiDts, { reference, starter: info.starter, ...V })).toBe('');
  });
});
