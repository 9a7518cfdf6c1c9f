/** The command contracts of DESIGN.md §8, exercised as a user runs them. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLabInfo, gradeSeeds } from '../../lab-engine/index.ts';
import { readGrades } from './kit.ts';

const CLI = new URL('../../lab-engine/node/cli.ts', import.meta.url).pathname;
const REF = new URL('../../lab-engine/labs/emulated-nic/reference.ts', import.meta.url).pathname;
const info = getLabInfo('emulated-nic')!;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'iovlab-cli-'));
}

describe('grade', () => {
  it('grades a bare .ts on the public seeds, with the same score the engine (and so the browser) computes', () => {
    const r = cli('grade', '--lab', 'emulated-nic', REF);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/seeds 1, 2, 3/);
    expect(r.out.trim().split('\n').at(-1)).toBe('Score: 100/100');
    const dir = tmp();
    const starter = join(dir, 'starter.ts');
    writeFileSync(starter, info.starter);
    const s = cli('grade', '--lab', 'emulated-nic', starter, '--json', join(dir, 'out.json'));
    expect(s.code).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    const engine = gradeSeeds('emulated-nic', info.starter, info.publicSeeds, 'check');
    expect(json.score).toBe(engine.score);
    expect(json.tests.map((t: { status: string }) => t.status)).toEqual(engine.tests.map((t) => t.status));
    expect(s.out).toContain(`Score: ${engine.score}/100`);
  });

  it('--json - prints only a Gradescope-compatible result on stdout', () => {
    const r = cli('grade', '--lab', 'emulated-nic', REF, '--json', '-');
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ score: 100, max_score: 100, visibility: 'visible', iovlab: { lab: 'emulated-nic', mode: 'check', seeds: [1, 2, 3] } });
    for (const t of j.tests) expect(Object.keys(t).sort()).toEqual(['max_score', 'name', 'number', 'output', 'score', 'status', 'tags', 'visibility']);
  });

  it('bad input exits 2 with a clear message', () => {
    const dir = tmp();
    const bad = join(dir, 'bad.ts');
    writeFileSync(bad, 'export function onRegisterWrite(dev {\n');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    const cases: [string[], RegExp][] = [
      [['grade', '--lab', 'emulated-nic', join(dir, 'missing.ts')], /no such file or folder/],
      [['grade', '--lab', 'no-such-lab', REF], /unknown lab 'no-such-lab'/],
      [['grade', REF], /say which lab it is for with --lab/],
      [['grade', '--lab', 'emulated-nic', bad], /Syntax error: .*line 1/],
      [['grade', '--lab', 'emulated-nic', REF, '--colour'], /unknown option --colour/],
      [['frobnicate'], /unknown command/],
      [['grade', '--lab', 'emulated-nic', REF, '--jobs', '0'], /--jobs must be at least 1/],
      [['grade', '--lab', 'emulated-nic', dir, '--json', '-'], /--json is for one file/],
      [['grade', '--lab', 'emulated-nic', join(dir, 'notes.txt')], /notes\.txt: not a submission \(\.json or \.ts\)/],
    ];
    for (const [args, msg] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(msg);
    }
  });

  it('an infinite loop is stopped by the watchdog and graded as a timeout (exit 0)', () => {
    const dir = tmp();
    const loop = join(dir, 'loop.ts');
    writeFileSync(loop, 'export function onRegisterWrite(dev: unknown, offset: number) {\n  while (true) {}\n}\n');
    const r = cli('grade', '--lab', 'emulated-nic', loop);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/seed 1: your code ran for more than 5 s without returning/);
    expect(r.out).toContain('Score: 0/100');
  }, 60_000);

  it('grades a folder: one result per item, grades.csv, tampering flagged, a bad item does not stop the batch', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'alice.ts'), readFileSync(REF, 'utf8'));
    writeFileSync(join(dir, 'bob.ts'), info.starter);
    const honest = gradeSeeds('emulated-nic', info.starter, [1, 2], 'grade');
    const forged = { ...honest, score: 100, tests: honest.tests.map((t) => ({ ...t, score: t.max_score, status: 'passed' })) };
    writeFileSync(join(dir, 'carol.json'), JSON.stringify({ schema: 'iovlab.submission/1', lab: 'emulated-nic', code: info.starter, seeds: [1, 2], mode: 'grade', student: { id: 'carol-42' }, results: forged }));
    writeFileSync(join(dir, 'dave.json'), '{ not json');
    const out = join(dir, 'graded');
    const r = cli('grade', '--lab', 'emulated-nic', dir, '--out', out);
    expect(r.code).toBe(0);
    const { header, rows } = readGrades(join(out, 'grades.csv'));
    expect(header.slice(0, 5)).toEqual(['student', 'lab', 'score', 'max', '1. Frames reach the wire intact and in order']);
    expect(header.slice(-5)).toEqual(['9. Performance: interrupts are spaced by at least the ITR interval', 'status', 'tampered', 'error', 'notes']);
    const row = (who: string) => rows.find((r) => r['student'] === who)!;
    expect([row('alice')['score'], row('alice')['max']]).toEqual(['100', '100']);
    expect(row('bob')['score']).toBe('0');
    const carol = row('carol-42');
    expect(carol['score']).toBe(String(honest.score));
    expect(carol['tampered']).toBe('yes');
    expect(carol['notes']).toMatch(/older submission .*\| tampered: score 100 stored/);
    expect(row('dave')).toMatchObject({ status: 'error', tampered: '', score: '' });
    expect(row('dave')['error']).toMatch(/^not valid JSON/);
    expect(existsSync(join(out, 'alice.result.json'))).toBe(true);
  });

  it('--seed-salt adds hidden seeds, the same for the same salt', () => {
    const a = JSON.parse(cli('grade', '--lab', 'emulated-nic', REF, '--seed-salt', 's3cret', '--json', '-').out);
    const b = JSON.parse(cli('grade', '--lab', 'emulated-nic', REF, '--seed-salt', 's3cret', '--json', '-').out);
    expect(a.iovlab.seeds).toHaveLength(6);
    expect(a.iovlab.seeds.slice(0, 3)).toEqual([1, 2, 3]);
    expect(b.iovlab.seeds).toEqual(a.iovlab.seeds);
    expect(a.iovlab.mode).toBe('grade');
    expect(a.score).toBe(100);
  });
});

describe('sim', () => {
  it('lists scenarios, one id per line then a description', () => {
    const r = cli('sim', '--list');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^emulation-tx\t.+/);
  });

  it('same arguments ⇒ byte-identical JSON', () => {
    const args = ['sim', 'emulation-rr', '--seed', '9', '--packets', '200', '--size', '128', '--json'];
    const a = cli(...args);
    const b = cli(...args);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    const m = JSON.parse(a.out);
    expect(m).toMatchObject({ schema: 'iovlab.metrics/1', scenario: 'emulation-rr', seed: 9, params: { packets: 200, size: 128 } });
  });

  it('prints a readable table, and rejects bad input with exit 2', () => {
    const r = cli('sim', 'emulation-tx', '--packets', '300', '--param', 'mitigation=false');
    expect(r.out).toMatch(/exits\/packet\s+7\b/);
    expect(cli('sim', 'nope').code).toBe(2);
    expect(cli('sim', 'emulation-tx', '--size', '9000').err).toMatch(/size must be an integer in \[64, 1518\]/);
    expect(cli('sim', 'emulation-tx', '--vms', '4').err).toMatch(/models one VM/);
  });

  it('--vms runs the multi-VM SR-IOV scenarios and names the VF limit', () => {
    const m = JSON.parse(cli('sim', 'sriov-rx', '--vms', '8', '--packets', '2000', '--json').out);
    expect(m).toMatchObject({ scenario: 'sriov-rx', stop: 'done', params: { vms: 8, mode: 'sriov' } });
    expect(cli('sim', 'sriov-rx', '--vms', '64').err).toMatch(/at most 63/);
  });
});
