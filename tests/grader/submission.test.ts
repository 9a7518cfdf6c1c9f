/** The submission contract (lab-engine/grader/submission.ts) the browser writes and the CLI reads. */
import { describe, expect, it } from 'vitest';
import { ENGINE_VERSION, MAX_SUBMISSION_BYTES, SUBMISSION_SCHEMA, getLabInfo, gradeSeeds, parseSubmission, resultsDiffer } from '../../lab-engine/index.ts';
import { browserSubmission, forged } from './kit.ts';

const LAB = 'emulated-nic';
const info = getLabInfo(LAB)!;

describe('parseSubmission', () => {
  it('reads back what buildSubmission wrote, with no warning', () => {
    const s = browserSubmission(LAB, info.starter, [1, 2], { name: ' Ada ', id: ' a-1 ' });
    expect(s).toMatchObject({ schema: SUBMISSION_SCHEMA, engineVersion: ENGINE_VERSION, student: { name: 'Ada', id: 'a-1' }, mode: 'grade', seeds: [1, 2] });
    const p = parseSubmission(JSON.stringify(s));
    expect(p).toEqual({ ok: true, submission: s, warnings: [] });
  });

  it('migrates schema 1 and a bare {lab, code}, saying so', () => {
    const v1 = parseSubmission(JSON.stringify({ schema: 'iovlab.submission/1', lab: LAB, code: 'x', seeds: [1], mode: 'grade' }));
    expect(v1.ok && v1.warnings).toEqual(['an older submission (iovlab.submission/1): no student or versions recorded']);
    const bare = parseSubmission(JSON.stringify({ lab: LAB, code: 'x' }));
    expect(bare.ok && bare.submission).toMatchObject({ mode: 'check', seeds: [], student: { name: '', id: '' }, results: null });
    expect(bare.ok && bare.warnings[0]).toMatch(/^an older submission \(no schema\)/);
  });

  it('refuses, each with its own sentence: too large, not JSON, not an object, no lab, no code, bad seeds, unknown schema, newer engine', () => {
    const err = (text: string, n?: number) => {
      const p = parseSubmission(text, n);
      return p.ok ? 'accepted' : p.error;
    };
    expect(err('{}', MAX_SUBMISSION_BYTES + 1)).toMatch(/^the file is 2\.0 MiB; a submission is at most 2 MiB/);
    expect(err('{ nope')).toMatch(/^not valid JSON \(/);
    expect(err('[1, 2]')).toBe('not a submission: the JSON is not an object');
    expect(err('{"code": ""}')).toBe('not a submission: "lab" (the lab id, a string) is missing');
    expect(err('{"lab": "x"}')).toBe('not a submission: "code" (the learner\'s source, a string) is missing');
    expect(err('{"lab": "x", "code": "", "seeds": [-1]}')).toBe('"seeds" must be an array of integers in [0, 2^32)');
    expect(err('{"lab": "x", "code": "", "schema": "iovlab.submission/9"}')).toMatch(/^unknown submission schema 'iovlab.submission\/9'/);
    expect(err(JSON.stringify({ lab: 'x', code: '', engineVersion: '99.0.0' }))).toMatch(/^made with engine 99\.0\.0, newer than this grader's/);
  });

  it('warns when the file or the code was edited after download', () => {
    const s = browserSubmission(LAB, info.starter, [1], { name: 'A', id: 'a' });
    const edited = parseSubmission(JSON.stringify({ ...s, code: s.code + '\n// changed' }));
    expect(edited.ok && edited.warnings).toEqual(['the file was edited after the browser wrote it (content hash differs)', 'the code was edited after the browser wrote it (code hash differs)']);
  });
});

describe('resultsDiffer', () => {
  it('is empty for the same grade (times ignored) and lists score and per-check differences otherwise', () => {
    const fresh = gradeSeeds(LAB, info.starter, [1], 'grade');
    expect(resultsDiffer({ ...fresh, execution_time: 123 }, fresh)).toEqual([]);
    expect(resultsDiffer(null, fresh)).toEqual([]);
    const f = forged(browserSubmission(LAB, info.starter, [1], { name: '', id: '' })).results!;
    const diffs = resultsDiffer(f, fresh);
    expect(diffs[0]).toBe(`score 100 stored, ${fresh.score} recomputed`);
    const failedChecks = fresh.tests.filter((t) => t.status === 'failed');
    expect(diffs.slice(1)).toEqual(failedChecks.map((t) => `check ${t.number}: passed ${t.max_score} stored, failed 0 recomputed`));
  });
});
