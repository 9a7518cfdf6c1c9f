/**
 * Parity: the runner Worker that ships inside public/generated/lab.js gives exactly what calling
 * lab-engine directly in Node gives (same trace hash, same grade, same cell output). The built
 * source is taken from lab.js itself and run in a worker thread with a Web-Worker-like `self`.
 * The browser side of the same comparison is in tests/e2e/lab.e2e.test.ts and labs-more.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { getLabInfo, gradeOutcomes, gradeSeeds, hashText, runCell, runLabSeed, type SeedOutcome } from '../../lab-engine/index.ts';
import type { Job, Reply } from '../../src/lab-runtime/protocol.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const REFERENCE = readFileSync(join(ROOT, 'lab-engine/labs/emulated-nic/reference.ts'), 'utf8');
const info = getLabInfo('emulated-nic')!;

/** The runner source embedded in lab.js (a JSON string constant on the script's second line). */
function runnerSourceFromLabJs(labJs: string): string {
  const m = /const __IOVLAB_RUNNER_SRC__=("(?:[^"\\]|\\.)*");\n/.exec(labJs);
  if (!m) throw new Error('lab.js does not embed __IOVLAB_RUNNER_SRC__');
  return JSON.parse(m[1]!) as string;
}

let runnerSrc = '';
beforeAll(() => {
  // Build (fast and idempotent) so the test never looks at a stale lab.js.
  execFileSync(process.execPath, [join(ROOT, 'src/build/bundle.mjs')], { cwd: ROOT, stdio: 'pipe' });
  runnerSrc = runnerSourceFromLabJs(readFileSync(join(ROOT, 'public/generated/lab.js'), 'utf8'));
}, 120_000);

/** Run the built worker source on one job in a worker thread, as a browser Worker would. */
function runBuilt(job: Job): Promise<Reply> {
  const boot = `
    const { parentPort, workerData } = require('node:worker_threads');
    const listeners = [];
    const self = globalThis;
    self.self = self;
    self.postMessage = (m) => parentPort.postMessage(m);
    self.addEventListener = (type, fn) => { if (type === 'message') listeners.push(fn); };
    (0, eval)(workerData.src);
    for (const fn of listeners) fn({ data: workerData.job });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(boot, { eval: true, workerData: { src: runnerSrc, job } });
    w.once('message', (m: Reply) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

async function builtOutcome(source: string, seed: number): Promise<SeedOutcome> {
  const r = await runBuilt({ kind: 'lab-seed', labId: 'emulated-nic', source, seed });
  if (!r.ok || r.kind !== 'lab-seed') throw new Error(`unexpected reply ${JSON.stringify(r).slice(0, 200)}`);
  return r.outcome;
}

describe('runner Worker build ≡ lab-engine in Node', () => {
  it.each([
    ['reference', REFERENCE],
    ['starter', info.starter],
  ])('%s: same trace hash and metrics on every public seed', async (_name, source) => {
    for (const seed of info.publicSeeds) {
      const built = await builtOutcome(source, seed);
      const direct = runLabSeed('emulated-nic', source, seed);
      expect(built.kind).toBe('ran');
      if (built.kind !== 'ran' || direct.kind !== 'ran') throw new Error('did not run');
      expect(built.result.traceHash).toBe(direct.result.traceHash);
      expect(built.result.metrics).toEqual(direct.result.metrics);
      expect(built.findings).toEqual(direct.findings);
    }
  });

  it('grades the same: the reference scores full marks, the starter does not', async () => {
    for (const [source, full] of [
      [REFERENCE, true],
      [info.starter, false],
    ] as const) {
      const outcomes = await Promise.all(info.publicSeeds.map((s) => builtOutcome(source, s)));
      const r = await runBuilt({ kind: 'grade', labId: 'emulated-nic', source, mode: 'check', outcomes });
      if (!r.ok || r.kind !== 'grade') throw new Error('grade job failed');
      const direct = gradeOutcomes('emulated-nic', info.publicSeeds.map((s) => runLabSeed('emulated-nic', source, s)), { mode: 'check', codeHash: hashText(source) });
      expect(r.result).toEqual(direct);
      expect(r.result.score === r.result.max_score).toBe(full);
      expect(r.text.split('\n').at(-1)).toBe(`Score: ${direct.score}/${direct.max_score}`);
    }
  });

  it('reports a syntax error with the learner line, like Node', async () => {
    const bad = info.starter.replace('export function onTimer(dev: Device): void {', 'export function onTimer(dev: Device): void {{{');
    const built = await builtOutcome(bad, 1);
    expect(built).toEqual(runLabSeed('emulated-nic', bad, 1));
    expect(built.kind === 'compile-error' && built.diagnostics[0]?.line).toBeGreaterThan(20);
  });

  it('runs a notebook cell to the same output', async () => {
    const cell = readFileSync(join(ROOT, 'content/cells/l1-itr.ts'), 'utf8');
    const r = await runBuilt({ kind: 'cell', source: cell });
    if (!r.ok || r.kind !== 'cell') throw new Error('cell job failed');
    expect(r.output).toEqual(runCell(cell));
    expect(r.output.plots.length).toBeGreaterThan(0);
  });

  it('shadows the network before learner code runs', async () => {
    const r = await runBuilt({ kind: 'cell', source: "import { print } from 'iovlab';\nprint(typeof fetch === 'function' ? 'fn' : 'none');\nfetch('http://example.com/');\n" });
    if (!r.ok || r.kind !== 'cell') throw new Error('cell job failed');
    expect(r.output.diagnostics.map((d) => d.message).join(' ')).toContain('fetch is not available to lab code');
    expect(r.output.diagnostics[0]?.line).toBe(3);
  });
});

describe.each(['virtio-backend', 'vhost-poll', 'iommu-assign', 'sriov-pf', 'choose-io-model'])('runner Worker build ≡ lab-engine in Node: %s', (lab) => {
  const labInfo = getLabInfo(lab)!;
  const reference = readFileSync(join(ROOT, `lab-engine/labs/${lab}/reference.ts`), 'utf8');
  it('reference and starter: same outcomes, trace hashes and grade on the public seeds', async () => {
    for (const source of [reference, labInfo.starter]) {
      const outcomes: SeedOutcome[] = [];
      for (const seed of labInfo.publicSeeds) {
        const r = await runBuilt({ kind: 'lab-seed', labId: lab, source, seed });
        if (!r.ok || r.kind !== 'lab-seed') throw new Error(`unexpected reply ${JSON.stringify(r).slice(0, 200)}`);
        expect(JSON.stringify(r.outcome)).toBe(JSON.stringify(runLabSeed(lab, source, seed)));
        outcomes.push(r.outcome);
      }
      const g = await runBuilt({ kind: 'grade', labId: lab, source, mode: 'check', outcomes });
      if (!g.ok || g.kind !== 'grade') throw new Error('grade job failed');
      const direct = gradeSeeds(lab, source, labInfo.publicSeeds, 'check');
      expect(g.result).toEqual(direct);
      expect(g.text.split('\n').at(-1)).toBe(`Score: ${direct.score}/${direct.max_score}`);
    }
    expect(reference).toContain('IOVLAB-' + 'REFERENCE-SOLUTION');
  }, 120_000);
});
