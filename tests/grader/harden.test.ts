/**
 * Frozen built-ins in the runners (lab-engine/sandbox/harden.ts): learner code cannot patch what
 * the engine and the checks use, ordinary code still runs, and every lab's reference still
 * scores full marks in a hardened realm. Run in child processes so the test runner's own realm
 * stays as it is.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const CLI = join(root, 'lab-engine/node/cli.ts');

function node(script: string) {
  const dir = mkdtempSync(join(tmpdir(), 'iovlab-harden-'));
  const file = join(dir, 'probe.mts');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hardenIntrinsics', () => {
  it('refuses patches of built-ins and prototype pollution, keeps the override patterns ordinary code uses', () => {
    const r = node(`
      import { hardenIntrinsics } from ${JSON.stringify(join(root, 'lab-engine/sandbox/harden.ts'))};
      const frozen = hardenIntrinsics();
      const tries = {
        push: () => { Array.prototype.push = function () { return 0; }; },
        max: () => { Math.max = () => 0; },
        stringify: () => { JSON.stringify = () => '{}'; },
        pollute: () => { Object.prototype.polluted = 1; },
        freeze: () => { Object.freeze = (x) => x; },
        globalMath: () => { globalThis.Math = {}; },
        typed: () => { Object.getPrototypeOf(Uint8Array).prototype.set = () => undefined; },
      };
      const refused = Object.entries(tries).filter(([, f]) => { try { f(); return false; } catch (e) { return e instanceof TypeError; } }).map(([k]) => k);
      class LabError extends Error { constructor(m) { super(m); this.name = 'LabError'; } }
      const e = new LabError('x');
      const o = {}; o.toString = () => 'mine'; o.constructor = 'c';
      const f = function () {}; f.toString = () => 'fn';
      console.log(JSON.stringify({ frozen, refused, name: e.name, str: String(o), c: o.constructor, fn: String(f), push: [1].concat([2]).length, max: Math.max(1, 2) }));
    `);
    expect(r.err).toBe('');
    const out = JSON.parse(r.out);
    expect(out.frozen).toBeGreaterThan(500);
    expect(out.refused).toEqual(['push', 'max', 'stringify', 'pollute', 'freeze', 'globalMath', 'typed']);
    expect(out).toMatchObject({ name: 'LabError', str: 'mine', c: 'c', fn: 'fn', push: 2, max: 2 });
  });

  it("every lab's reference still scores full marks on its public seeds in a hardened realm", () => {
    const r = node(`
      import { hardenIntrinsics } from ${JSON.stringify(join(root, 'lab-engine/sandbox/harden.ts'))};
      import { readFileSync } from 'node:fs';
      hardenIntrinsics();
      const { listLabs, gradeSeeds } = await import(${JSON.stringify(join(root, 'lab-engine/index.ts'))});
      const out = {};
      for (const lab of listLabs()) {
        const ref = readFileSync(${JSON.stringify(join(root, 'lab-engine/labs/'))} + lab.id + '/reference.ts', 'utf8');
        const g = gradeSeeds(lab.id, ref, lab.publicSeeds.slice(0, 2), 'check');
        out[lab.id] = g.score + '/' + g.max_score;
      }
      console.log(JSON.stringify(out));
    `);
    expect(r.err).toBe('');
    const out = JSON.parse(r.out) as Record<string, string>;
    expect(Object.keys(out).length).toBeGreaterThanOrEqual(6);
    for (const [lab, score] of Object.entries(out)) expect(`${lab} ${score}`).toBe(`${lab} 100/100`);
  });
});

describe('the grader runs learner code with frozen built-ins', () => {
  it('a submission that patches Math.max to fool the checks is stopped at its line, with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iovlab-harden-cli-'));
    const cheat = join(dir, 'cheat.ts');
    writeFileSync(cheat, `(Math as any).max = () => 0;\n${readFileSync(join(root, 'lab-engine/labs/emulated-nic/reference.ts'), 'utf8')}`);
    const r = spawnSync(process.execPath, [CLI, 'grade', '--lab', 'emulated-nic', cheat], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Cannot assign to read only property 'max'.*\(line 1\)/);
  });
});
