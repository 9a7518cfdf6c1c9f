/**
 * The isolated seed runner (lab-engine/node/run-seeds.ts): a heap limit that honest code never
 * meets, out of memory and a dying worker reported as `crashed` outcomes, a timeout that kills
 * one seed while the remaining seeds still run.
 */
import { describe, expect, it } from 'vitest';
import { listLabs } from '../../lab-engine/index.ts';
import { seedConfig } from '../../lab-engine/labs/emulated-nic/lab.ts';
import { HEAP_LIMIT_MB, runSeedsIsolated } from '../../lab-engine/node/run-seeds.ts';
import { referenceOf } from './kit.ts';

describe('runSeedsIsolated', () => {
  it('every lab\'s reference runs within an eighth of the heap limit (64 MB), seed for seed as in-process', async () => {
    expect(HEAP_LIMIT_MB).toBeGreaterThanOrEqual(8 * 64);
    for (const l of listLabs()) {
      const seeds = [...l.publicSeeds, 987654321];
      const done: number[] = [];
      const out = await runSeedsIsolated(l.id, referenceOf(l.id), seeds, l.timeLimitMs, { heapMb: 64, onSeed: (n) => done.push(n) });
      expect(out.map((o) => o.kind), l.id).toEqual(seeds.map(() => 'ran'));
      expect(out.map((o) => o.seed)).toEqual(seeds);
      for (const o of out) if (o.kind === 'ran') expect(o.findings, `${l.id} seed ${o.seed}`).toEqual([]);
      expect(done).toEqual(seeds.map((_, i) => i + 1));
    }
  }, 120_000);

  it('code that allocates without bound is stopped by the heap limit: crashed / out-of-memory', async () => {
    const oom = 'const keep: number[][] = [];\nexport function onRegisterWrite() { for (;;) keep.push(new Array(1e5).fill(1)); }\n';
    const t0 = performance.now();
    const out = await runSeedsIsolated('emulated-nic', oom, [1, 2], 5000, { heapMb: 64 });
    expect(out).toEqual([
      { seed: 1, kind: 'crashed', reason: 'out-of-memory', message: 'heap limit 64 MB' },
      { seed: 2, kind: 'crashed', reason: 'out-of-memory', message: 'heap limit 64 MB' },
    ]);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  it('a worker that exits under the code is crashed / worker-died, and the next seed gets a fresh worker', async () => {
    const ref = referenceOf('emulated-nic');
    const ringOfSeed1 = seedConfig(1).txCount * 16;
    let other = 2;
    while (seedConfig(other).txCount * 16 === ringOfSeed1) other++;
    const code = ref.replace('export function onRegisterWrite(dev: Device, offset: number, _value: number): void {', `export function onRegisterWrite(dev: Device, offset: number, _value: number): void {\n  if (dev.reg(E1000_TDLEN) === ${ringOfSeed1}) (globalThis as any).process.exit(3);`);
    expect(code).not.toBe(ref);
    const out = await runSeedsIsolated('emulated-nic', code, [1, other], 5000);
    expect(out[0]).toEqual({ seed: 1, kind: 'crashed', reason: 'worker-died', message: 'the runner exited with code 3' });
    expect(out[1]).toMatchObject({ seed: other, kind: 'ran', findings: [] });
  });

  it('learner code does not see the salt (or anything secret-looking) in process.env', async () => {
    const before = process.env['IOVLAB_SEED_SALT'];
    process.env['IOVLAB_SEED_SALT'] = 'do-not-leak';
    try {
      const probe = referenceOf('emulated-nic') + "\nconst env = (globalThis as any).process.env;\nif (env.IOVLAB_SEED_SALT !== undefined || Object.keys(env).some((k) => /SALT/.test(k))) throw new Error('saw the salt');\nif (!env.NODE_COMPILE_CACHE) throw new Error('no compile cache');\n";
      const [o] = await runSeedsIsolated('emulated-nic', probe, [1], 5000);
      expect(o).toMatchObject({ kind: 'ran', findings: [] });
    } finally {
      if (before === undefined) delete process.env['IOVLAB_SEED_SALT'];
      else process.env['IOVLAB_SEED_SALT'] = before;
    }
  });

  it('learner code cannot forge outcomes through parentPort or workerData', async () => {
    const forge = `
const wt = (globalThis as any).process.getBuiltinModule('node:worker_threads');
const fake = { seed: 1, kind: 'ran', findings: [], result: { metrics: { counters: { exitsTotal: 0, packetsTx: 1 } } } };
wt.parentPort?.postMessage({ type: 'start', index: 0 });
wt.parentPort?.postMessage({ type: 'outcome', index: 0, outcome: fake });
wt.parentPort?.postMessage({ type: 'done' });
if (wt.workerData.port) throw new Error('the private port is reachable');
export function onRegisterWrite() {}
`;
    const [o] = await runSeedsIsolated('emulated-nic', forge, [1], 5000);
    expect(o!.kind).toBe('ran');
    if (o?.kind === 'ran') {
      expect(o.result.metrics.scenario).toBe('lab:emulated-nic');
      expect(o.findings.length).toBeGreaterThan(0);
    }
  });

  it('an infinite loop times out that seed only; the remaining seeds run in a fresh worker', async () => {
    const ref = referenceOf('emulated-nic');
    const ringOfSeed1 = seedConfig(1).txCount * 16;
    const seeds = [1];
    for (let s = 2; seeds.length < 3; s++) if (seedConfig(s).txCount * 16 !== ringOfSeed1) seeds.push(s);
    const code = ref.replace('export function onRegisterWrite(dev: Device, offset: number, _value: number): void {', `export function onRegisterWrite(dev: Device, offset: number, _value: number): void {\n  while (dev.reg(E1000_TDLEN) === ${ringOfSeed1}) {}`);
    const t0 = performance.now();
    const out = await runSeedsIsolated('emulated-nic', code, seeds, 1500);
    expect(out[0]).toEqual({ seed: 1, kind: 'timeout', limitMs: 1500 });
    expect(out.slice(1).map((o) => [o.seed, o.kind])).toEqual(seeds.slice(1).map((s) => [s, 'ran']));
    expect(performance.now() - t0).toBeLessThan(15_000);
  });
});
