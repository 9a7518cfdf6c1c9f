/**
 * The Gradescope bundle (DESIGN.md §8 `package:autograder`): built, unzipped with fflate,
 * run with bash on a fake /autograder tree (AUTOGRADER_ROOT), with the provisioned Node on PATH.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { getLabInfo, listLabs } from '../../lab-engine/index.ts';
import { saltedSeeds } from '../../lab-engine/node/hidden-seeds.ts';
import { browserSubmission, cli, forged, parseCsv, referenceOf, ROOT, tmp } from './kit.ts';

const LAB = 'emulated-nic';
const info = getLabInfo(LAB)!;
const PACKAGER = join(ROOT, 'src/build/package-autograder.mjs');
const MARKER = 'IOVLAB-REFERENCE-SOLUTION';

function pack(...args: string[]): { zip: Record<string, Uint8Array>; out: string; code: number | null; err: string } {
  const outDir = tmp('iovlab-agzip-');
  const r = spawnSync(process.execPath, [PACKAGER, ...args, '--out', outDir], { encoding: 'utf8', cwd: ROOT });
  const path = join(outDir, `iov-lab-autograder-${args[1]}.zip`);
  return { zip: r.status === 0 ? unzipSync(readFileSync(path)) : {}, out: r.stdout, code: r.status, err: r.stderr };
}

/** A fresh fake /autograder with the zip unpacked into source/ (as Gradescope does). */
function fakeTree(zip: Record<string, Uint8Array>): string {
  const root = tmp('iovlab-autograder-');
  for (const [name, bytes] of Object.entries(zip)) {
    const p = join(root, 'source', name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }
  chmodSync(join(root, 'source', 'run_autograder'), 0o755);
  mkdirSync(join(root, 'submission'), { recursive: true });
  return root;
}

function runAutograder(root: string, extraEnv: Record<string, string> = {}): { results: Record<string, any>; csv: string[][]; code: number | null; out: string } {
  const r = spawnSync('bash', [join(root, 'source', 'run_autograder')], {
    encoding: 'utf8',
    env: { ...process.env, ...extraEnv, AUTOGRADER_ROOT: root, PATH: `${dirname(process.execPath)}:${process.env['PATH']}` },
    timeout: 120_000,
  });
  const results = JSON.parse(readFileSync(join(root, 'results', 'results.json'), 'utf8'));
  const csvPath = join(root, 'results', 'results.csv');
  return { results, csv: existsSync(csvPath) ? parseCsv(readFileSync(csvPath, 'utf8')) : [], code: r.status, out: r.stdout + r.stderr };
}

const GRADESCOPE_TOP = ['score', 'execution_time', 'output', 'visibility', 'stdout_visibility', 'tests', 'leaderboard', 'extra_data'];
const GRADESCOPE_TEST = ['name', 'number', 'score', 'max_score', 'status', 'output', 'tags', 'visibility'];

let plain: ReturnType<typeof pack>;
beforeAll(() => {
  plain = pack('--lab', LAB);
}, 120_000);

describe('package:autograder', () => {
  it('writes a zip with setup.sh and run_autograder at its root and self-contained grader bundles', () => {
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out.trim().split('\n').at(-1)).toMatch(/iov-lab-autograder-emulated-nic\.zip$/);
    expect(Object.keys(plain.zip).sort()).toEqual(['README.txt', 'grader/autograder.mjs', 'grader/config.json', 'grader/seed-worker.mjs', 'run_autograder', 'setup.sh']);
    expect(JSON.parse(strFromU8(plain.zip['grader/config.json']!))).toEqual({ lab: LAB });
    // Self-contained: the run tests below unpack it under the system temp folder, where no
    // node_modules can be found, and run it there.
    expect(Object.keys(plain.zip).some((f) => f.includes('node_modules'))).toBe(false);
  });

  it('ships no reference solution: the marker every reference.ts carries is nowhere in the zip', () => {
    expect(referenceOf(LAB)).toContain(MARKER);
    for (const [name, bytes] of Object.entries(plain.zip)) expect(strFromU8(bytes).includes(MARKER), name).toBe(false);
  });

  it('refuses bad usage with exit 2', () => {
    expect(pack('--lab', 'no-such-lab').err).toMatch(/unknown lab 'no-such-lab'/);
    const r = spawnSync(process.execPath, [PACKAGER], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/say which lab with --lab/);
  });

  it('setup.sh is valid bash and does nothing when a recent Node is already on PATH', () => {
    const root = fakeTree(plain.zip);
    expect(spawnSync('bash', ['-n', join(root, 'source', 'setup.sh')]).status).toBe(0);
    const r = spawnSync('bash', [join(root, 'source', 'setup.sh')], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/setup\.sh: Node v\d+\.\d+\.\d+ is already installed; nothing to do\./);
  });
});

describe('run_autograder on a fake /autograder', () => {
  it('the reference (.ts) gets full marks in Gradescope\'s format, with results.csv beside it', () => {
    const root = fakeTree(plain.zip);
    writeFileSync(join(root, 'submission', 'solution.ts'), referenceOf(LAB));
    const { results, csv, code } = runAutograder(root);
    expect(code).toBe(0);
    expect(Object.keys(results).every((k) => GRADESCOPE_TOP.includes(k))).toBe(true);
    expect(results.score).toBe(100);
    expect(results.tests).toHaveLength(info.checks.length);
    for (const t of results.tests) expect(Object.keys(t).sort()).toEqual([...GRADESCOPE_TEST].sort());
    expect(results.tests.every((t: { status: string }) => t.status === 'passed')).toBe(true);
    expect(results.leaderboard).toEqual([{ name: 'VM exits per packet', value: expect.any(Number), order: 'asc' }]);
    expect(results.execution_time).toBeGreaterThan(0);
    expect(results.extra_data.iovlab).toMatchObject({ lab: LAB, max_score: 100, seeds: info.publicSeeds, mode: 'grade', tampered: false, status: 'graded', codeHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(csv[0]!.slice(0, 4)).toEqual(['student', 'lab', 'score', 'max']);
    expect(csv[1]!.slice(1, 4)).toEqual([LAB, '100', '100']);
  });

  it('a browser submission of the starter gets the partial score the CLI gives it; a forged copy is flagged', () => {
    const d = tmp();
    const sub = browserSubmission(LAB, info.starter, [...info.publicSeeds, 99], { name: 'Sam', id: 'sam-1' });
    writeFileSync(join(d, 'sam.json'), JSON.stringify(sub));
    const viaCli = JSON.parse(cli('grade', join(d, 'sam.json'), '--json', '-').out);
    expect(viaCli.score).toBeLessThan(100);
    const root = fakeTree(plain.zip);
    writeFileSync(join(root, 'submission', 'sam.json'), JSON.stringify(sub));
    const { results } = runAutograder(root);
    expect(results.score).toBe(viaCli.score);
    expect(results.tests.map((t: { score: number }) => t.score)).toEqual(viaCli.tests.map((t: { score: number }) => t.score));
    expect(results.extra_data.iovlab).toMatchObject({ seeds: [...info.publicSeeds, 99], tampered: false, student: { name: 'Sam', id: 'sam-1' } });
    const root2 = fakeTree(plain.zip);
    writeFileSync(join(root2, 'submission', 'sam.json'), JSON.stringify(forged(sub)));
    const f = runAutograder(root2).results;
    expect(f.score).toBe(viaCli.score);
    expect(f.extra_data.iovlab.tampered).toBe(true);
    expect(f.output).toMatch(/The scores stored in the submission differ from the recomputed ones: score 100 stored/);
  });

  it('garbage, a submission for another lab and an empty upload each give a clear failing results.json', () => {
    const cases: [(root: string) => void, RegExp][] = [
      [(r) => writeFileSync(join(r, 'submission', 'x.json'), 'this is not json'), /^Could not grade x\.json: not valid JSON/],
      [(r) => writeFileSync(join(r, 'submission', 'v.json'), JSON.stringify({ lab: 'virtio-backend', code: '' })), /^Could not grade v\.json: the submission is for lab 'virtio-backend', not 'emulated-nic'/],
      [() => {}, /^Could not grade your submission: no submission found: upload the \.json file that "Download submission" saves/],
    ];
    for (const [prepare, message] of cases) {
      const root = fakeTree(plain.zip);
      prepare(root);
      const { results, code } = runAutograder(root);
      expect(code).toBe(0);
      expect(results).toMatchObject({ score: 0, tests: [], visibility: 'visible' });
      expect(results.output).toMatch(message);
    }
    // Code that does not compile: graded 0 with every check failed and the learner's line.
    const root = fakeTree(plain.zip);
    mkdirSync(join(root, 'submission', 'nested'));
    writeFileSync(join(root, 'submission', 'nested', 'lab.ts'), 'export function onRegisterWrite(dev {\n');
    const { results } = runAutograder(root);
    expect(results.score).toBe(0);
    expect(results.tests.every((t: { status: string }) => t.status === 'failed')).toBe(true);
    expect(results.output).toMatch(/Your code does not compile: Syntax error: .*line 1/);
  });

  it('with a packaged salt, hidden seeds come from the Gradescope student id (sid, else email)', () => {
    const salted = pack('--lab', LAB, '--seed-salt', 'gs-salt');
    expect(JSON.parse(strFromU8(salted.zip['grader/config.json']!))).toEqual({ lab: LAB, salt: 'gs-salt' });
    const seedsFor = (meta: unknown) => {
      const root = fakeTree(salted.zip);
      writeFileSync(join(root, 'submission', 'ref.ts'), referenceOf(LAB));
      writeFileSync(join(root, 'submission_metadata.json'), JSON.stringify(meta));
      const { results } = runAutograder(root);
      expect(results.score).toBe(100);
      expect(existsSync(join(root, 'source', 'grader', 'config.json'))).toBe(true);
      return results.extra_data.iovlab.seeds as number[];
    };
    const a = seedsFor({ users: [{ sid: '20261234', email: 'a@uni.example' }] });
    expect(a).toEqual([...info.publicSeeds, ...saltedSeeds('gs-salt', LAB, '20261234', info.freshSeeds, info.publicSeeds)]);
    const b = seedsFor({ users: [{ email: 'b@uni.example' }] });
    expect(b).toEqual([...info.publicSeeds, ...saltedSeeds('gs-salt', LAB, 'b@uni.example', info.freshSeeds, info.publicSeeds)]);
    expect(b.slice(3)).not.toEqual(a.slice(3));
    // In Gradescope's container run_autograder asks the grader to delete the config (the salt)
    // once read, before learner code runs; the grade is the same.
    const root = fakeTree(salted.zip);
    writeFileSync(join(root, 'submission', 'ref.ts'), referenceOf(LAB));
    writeFileSync(join(root, 'submission_metadata.json'), JSON.stringify({ users: [{ sid: '20261234' }] }));
    const forgot = runAutograder(root, { IOVLAB_FORGET_CONFIG: '1' }).results;
    expect(forgot.extra_data.iovlab.seeds).toEqual(a);
    expect(existsSync(join(root, 'source', 'grader', 'config.json'))).toBe(false);
  });
});

describe('every lab of the registry', () => {
  it('packages without its reference, and the reference gets full marks through run_autograder', () => {
    for (const l of listLabs()) {
      const p = pack('--lab', l.id);
      expect(p.code, `${l.id}: ${p.err}`).toBe(0);
      for (const [name, bytes] of Object.entries(p.zip)) expect(strFromU8(bytes).includes(MARKER), `${l.id} ${name}`).toBe(false);
      const root = fakeTree(p.zip);
      writeFileSync(join(root, 'submission', 'solution.ts'), referenceOf(l.id));
      const { results } = runAutograder(root);
      expect(results.score, l.id).toBe(l.maxScore);
      expect(results.tests).toHaveLength(l.checks.length);
    }
  }, 180_000);
});
