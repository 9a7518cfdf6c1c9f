/**
 * Bad input (DESIGN.md §8: "every bad input gets a clear, specific error and loses nothing"):
 * one folder holding every kind of bad item next to good ones, graded in one batch. Each bad
 * item gets its own message; the good items in the same batch are still graded exactly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { getLabInfo, gradeSeeds, ENGINE_VERSION } from '../../lab-engine/index.ts';
import { browserSubmission, cli, forged, readGrades, referenceOf, tmp } from './kit.ts';

const LAB = 'emulated-nic';
const info = getLabInfo(LAB)!;
const reference = referenceOf(LAB);
const partial = readFileSync(new URL('../labs/fixtures/part1-no-moderation.ts', import.meta.url), 'utf8');
const SEEDS = [...info.publicSeeds, 4242, 777];

const dir = tmp('iovlab-bad-');
const out = join(dir, 'graded');
let run: ReturnType<typeof cli>;
let grades: ReturnType<typeof readGrades>;
const row = (student: string) => {
  const r = grades.rows.find((x) => x['student'] === student);
  expect(r, `a row for ${student}`).toBeDefined();
  return r!;
};
const resultOf = (name: string) => JSON.parse(readFileSync(join(out, `${name}.result.json`), 'utf8'));

beforeAll(() => {
  const honest = browserSubmission(LAB, partial, SEEDS, { name: 'Hana Honest', id: 'honest-1' });
  writeFileSync(join(dir, 'alice.ts'), reference);
  writeFileSync(join(dir, 'honest.json'), JSON.stringify(honest, null, 2));
  writeFileSync(join(dir, 'tampered.json'), JSON.stringify({ ...forged(browserSubmission(LAB, partial, SEEDS, { name: 'Tom Tamper', id: 'tamper-1' })) }, null, 2));
  writeFileSync(join(dir, 'malformed.json'), '{"lab": "emulated-nic", "code": ');
  writeFileSync(join(dir, 'not-a-submission.json'), JSON.stringify({ name: 'iov-lab', version: '1.0.0' }));
  writeFileSync(join(dir, 'wrong-lab.json'), JSON.stringify({ lab: 'no-such-lab', code: reference }));
  writeFileSync(join(dir, 'other-lab.json'), JSON.stringify(browserSubmission('virtio-backend', getLabInfo('virtio-backend')!.starter, [1], { name: 'Otto', id: 'other-1' })));
  writeFileSync(join(dir, 'newer.json'), JSON.stringify({ ...honest, engineVersion: '999.0.0', student: { name: 'Nia', id: 'newer-1' } }));
  writeFileSync(join(dir, 'no-compile.ts'), 'export function onRegisterWrite(dev {\n  return 1;\n}\n');
  writeFileSync(join(dir, 'wrong-exports.ts'), 'export function onRegisterWritten(dev: unknown) {}\n');
  writeFileSync(join(dir, 'loop.ts'), 'export function onRegisterWrite() {\n  for (;;) {}\n}\n');
  writeFileSync(join(dir, 'oom.ts'), 'const keep: number[][] = [];\nexport function onRegisterWrite() {\n  for (;;) keep.push(new Array(100000).fill(keep.length));\n}\n');
  writeFileSync(join(dir, 'huge.json'), '');
  truncateSync(join(dir, 'huge.json'), 50 * 1024 * 1024);
  writeFileSync(join(dir, 'README.txt'), 'hand-ins for lab 1\n');
  writeFileSync(join(dir, '.DS_Store'), 'x');
  writeFileSync(join(dir, 'photo.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
  mkdirSync(join(dir, 'late'));
  writeFileSync(join(dir, 'late', 'zed.ts'), reference);
  run = cli('grade', '--lab', LAB, dir, '--out', out, '--jobs', '2');
  grades = readGrades(join(out, 'grades.csv'));
}, 240_000);

describe('one batch full of bad input', () => {
  it('runs to the end (exit 0), with one row per .json/.ts item and none for anything else', () => {
    expect(run.code, run.err).toBe(0);
    expect(grades.rows.map((r) => r['student']).sort()).toEqual(
      ['alice', 'honest-1', 'tamper-1', 'malformed', 'not-a-submission', 'wrong-lab', 'other-1', 'newer', 'no-compile', 'wrong-exports', 'loop', 'oom', 'huge'].sort(),
    );
  });

  it('the good items of the same batch are graded exactly as the engine grades them', () => {
    expect(row('alice')).toMatchObject({ score: '100', max: '100', status: 'graded', tampered: 'no', error: '' });
    const honest = gradeSeeds(LAB, partial, SEEDS, 'grade');
    expect(honest.score).toBeGreaterThan(0);
    expect(honest.score).toBeLessThan(100);
    expect(row('honest-1')).toMatchObject({ score: String(honest.score), status: 'graded', tampered: 'no', notes: '' });
    for (const t of honest.tests) expect(row('honest-1')[`${t.number}. ${t.name}`]).toBe(String(t.score));
  });

  it('malformed JSON, a JSON that is not a submission, an unknown lab, another lab, a newer engine: error rows with the reason', () => {
    expect(row('malformed')).toMatchObject({ status: 'error', score: '', tampered: '' });
    expect(row('malformed')['error']).toMatch(/^not valid JSON \(/);
    expect(row('not-a-submission')['error']).toBe('not a submission: "lab" (the lab id, a string) is missing');
    expect(row('wrong-lab')['error']).toMatch(/^unknown lab 'no-such-lab' \(known: emulated-nic, virtio-backend/);
    expect(row('other-1')['error']).toBe("the submission is for lab 'virtio-backend', not 'emulated-nic'");
    expect(row('newer')['error']).toBe(`made with engine 999.0.0, newer than this grader's ${ENGINE_VERSION}: update the grader (git pull) before grading it`);
    expect(resultOf('malformed')).toMatchObject({ item: 'malformed.json', error: expect.stringMatching(/^not valid JSON/), review: { status: 'error' } });
  });

  it('code that does not compile or exports the wrong names: 0 with the learner-facing reason', () => {
    expect(row('no-compile')).toMatchObject({ status: 'compile-error', score: '0', max: '100' });
    expect(row('no-compile')['error']).toMatch(/^Syntax error: .*\(line 1, column \d+\)\.$/);
    expect(row('wrong-exports')).toMatchObject({ status: 'compile-error', score: '0' });
    expect(row('wrong-exports')['error']).toBe('Your module must export a function onRegisterWrite(dev, offset, value).');
  });

  it('an infinite loop is killed on every seed and graded 0; the batch goes on', () => {
    expect(row('loop')).toMatchObject({ status: 'graded', score: '0' });
    const r = resultOf('loop');
    expect(r.tests[0].output).toMatch(/seed 1: your code ran for more than 5 s without returning — an infinite loop\? The run was stopped/);
    expect(r.tests[0].output).toMatch(/seed 3: your code ran for more than 5 s/);
  });

  it('code that allocates without bound is reported as out of memory, seed by seed', () => {
    expect(row('oom')).toMatchObject({ status: 'graded', score: '0' });
    const r = resultOf('oom');
    expect(r.tests[0].output).toMatch(/seed 1: your code used more memory than the grader allows and was stopped \(heap limit 512 MB\)/);
    expect(r.iovlab.seeds).toEqual(info.publicSeeds);
  });

  it('a 50 MB file is refused by its size', () => {
    expect(row('huge')['error']).toBe('the file is 50.0 MiB; a submission is at most 2 MiB (is it really a submission?)');
  });

  it('non-submission files and folders are skipped with one line each; our own outputs are not items', () => {
    for (const name of ['README.txt', '.DS_Store', 'photo.png', 'late/']) expect(run.out).toContain(`skipped ${name}: not a submission (.json or .ts)`);
    expect(existsSync(join(out, 'README.result.json'))).toBe(false);
    // Grading the output folder itself: grades.csv and *.result.json are not items, and the CSV survives.
    const again = cli('grade', '--lab', LAB, out, '--jobs', '1');
    expect(again.code).toBe(0);
    expect(again.out).not.toMatch(/skipped (grades\.csv|\S+\.result\.json)/);
    expect(again.out).toContain('No submissions (.json or .ts) in');
    expect(readGrades(join(out, 'grades.csv')).rows).toHaveLength(13);
  });

  it('a tampered copy is flagged (tampered = yes, the diff in notes) and graded on its real code', () => {
    const honest = gradeSeeds(LAB, partial, SEEDS, 'grade');
    const t = row('tamper-1');
    expect(t).toMatchObject({ tampered: 'yes', score: String(honest.score) });
    expect(t['notes']).toMatch(/the file was edited after the browser wrote it \(content hash differs\)/);
    expect(t['notes']).toMatch(new RegExp(`tampered: score 100 stored, ${honest.score} recomputed; check \\d+: passed \\d+ stored, failed 0 recomputed`));
    expect(resultOf('tampered').review).toMatchObject({ student: { name: 'Tom Tamper', id: 'tamper-1' }, tampered: true });
    expect(run.out).toMatch(/items\s+graded\s+compile errors\s+errors\s+tampered\s+skipped\n13\s+5\s+2\s+6\s+1\s+4\n/);
  });
});

describe('bad input to a single file (exit 2, the same words)', () => {
  it('a 50 MB file is refused quickly, without being parsed', () => {
    const d = tmp();
    const f = join(d, 'huge.json');
    writeFileSync(f, '');
    truncateSync(f, 50 * 1024 * 1024);
    const r = cli('grade', f);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/huge\.json: the file is 50\.0 MiB; a submission is at most 2 MiB/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('a submission saved with a UTF-8 byte-order mark is read as the same submission', () => {
    const d = tmp();
    const s = browserSubmission(LAB, partial, SEEDS, { name: 'B', id: 'b' });
    writeFileSync(join(d, 'bom.json'), '\uFEFF' + JSON.stringify(s));
    const r = cli('grade', join(d, 'bom.json'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`Score: ${s.results!.score}/100`);
    expect(r.out).not.toMatch(/TAMPERED|Note:/);
  });

  it('code that does not compile names the learner line; a submission for another lab names both', () => {
    const d = tmp();
    writeFileSync(join(d, 'x.ts'), '// line 1\n\nexport function onRegisterWrite(dev {\n}\n');
    expect(cli('grade', '--lab', LAB, join(d, 'x.ts')).err).toMatch(/x\.ts: Syntax error: .*line 3/);
    writeFileSync(join(d, 'v.json'), JSON.stringify({ lab: 'virtio-backend', code: '' }));
    const r = cli('grade', '--lab', LAB, join(d, 'v.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/v\.json: the submission is for lab 'virtio-backend', not 'emulated-nic'/);
  });

  it('a tampered submission prints a TAMPERED line; an honest one prints none and scores what it stored', () => {
    const d = tmp();
    const s = browserSubmission(LAB, partial, SEEDS, { name: 'A', id: 'a' });
    writeFileSync(join(d, 'ok.json'), JSON.stringify(s));
    writeFileSync(join(d, 'bad.json'), JSON.stringify(forged(s)));
    const ok = cli('grade', join(d, 'ok.json'));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`Score: ${s.results!.score}/100`);
    expect(ok.out).not.toMatch(/TAMPERED|Note:/);
    const bad = cli('grade', join(d, 'bad.json'));
    expect(bad.out).toContain(`Score: ${s.results!.score}/100`);
    expect(bad.out).toMatch(/^TAMPERED: the scores stored in the submission differ from the recomputed ones: score 100 stored/m);
    expect(bad.out).toMatch(/^Note: the file was edited after the browser wrote it/m);
    expect(bad.out.trim().split('\n').at(-1)).toBe(`Score: ${s.results!.score}/100`);
  });
});
