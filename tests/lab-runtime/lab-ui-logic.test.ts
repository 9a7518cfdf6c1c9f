/** Pure parts of the lab UI: the plain diff, the live check states while grading, crash reasons, submission file. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getLabInfo, gradeOutcomes, hashText, runLabSeed, type SeedOutcome } from '../../lab-engine/index.ts';
import { buildSubmission, parseSubmission } from '../../lab-engine/grader/submission.ts';
import { liveCheckStates, checkRange } from '../../src/lab-runtime/grading-progress.ts';
import { diffStats, lineDiff } from '../../src/lab-runtime/line-diff.ts';
import { crashReason } from '../../src/lab-runtime/runner.ts';
import { submissionFileName, withStudent } from '../../src/lab-runtime/submission-panel.ts';

describe('lineDiff', () => {
  it('rebuilds both texts from its lines (property)', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c', '', 'x = 1;', '}'), { maxLength: 30 });
    fc.assert(
      fc.property(lines, lines, (a, b) => {
        const d = lineDiff(a.join('\n'), b.join('\n'));
        expect(d.filter((l) => l.op !== 'add').map((l) => l.text).join('\n')).toBe(a.join('\n'));
        expect(d.filter((l) => l.op !== 'del').map((l) => l.text).join('\n')).toBe(b.join('\n'));
      }),
    );
  });
  it('finds a minimal change', () => {
    const d = lineDiff('a\nb\nc\nd', 'a\nB\nc\nd\ne');
    expect(diffStats(d)).toEqual({ added: 2, removed: 1 });
    expect(d.map((l) => `${l.op}:${l.text}`)).toEqual(['same:a', 'del:b', 'add:B', 'same:c', 'same:d', 'add:e']);
  });
});

describe('live check states while grading', () => {
  const info = getLabInfo('emulated-nic')!;
  const starter = info.starter;
  it('end equal to the grader’s statuses (starter code, public seeds)', () => {
    const outcomes: SeedOutcome[] = info.publicSeeds.map((s) => runLabSeed('emulated-nic', starter, s));
    const live = liveCheckStates(info.checks, outcomes);
    const graded = gradeOutcomes('emulated-nic', outcomes, { mode: 'check', codeHash: hashText(starter) });
    expect(live.map((s) => (s.status === 'passing' ? 'passed' : s.status))).toEqual(graded.tests.map((t) => t.status));
    expect(live.some((s) => s.status === 'failed')).toBe(true);
  });
  it('a seed that did not run fails every check; before any seed all wait', () => {
    expect(liveCheckStates(info.checks, []).every((s) => s.status === 'waiting')).toBe(true);
    const s = liveCheckStates(info.checks, [{ seed: 4, kind: 'crashed', reason: 'worker-died', message: 'x' }]);
    expect(s.every((x) => x.status === 'failed')).toBe(true);
    expect(s[0]).toEqual({ status: 'failed', failedSeed: 4 });
    expect(checkRange(info.checks)).toBe(`checks 1–${info.checks.length}`);
  });
});

describe('crashReason', () => {
  it.each([
    ['Uncaught RangeError: Array buffer allocation failed', 'out-of-memory'],
    ['Out of memory', 'out-of-memory'],
    ['Uncaught RangeError: Invalid array length', 'out-of-memory'],
    ['Uncaught Error: boom', 'worker-died'],
    ['', 'worker-died'],
  ])('%s → %s', (m, r) => expect(crashReason(m)).toBe(r));
});

describe('the downloaded submission', () => {
  it('carries the student fields and a content hash the CLI accepts without warnings', () => {
    const stored = buildSubmission({ lab: 'emulated-nic', labVersion: 'lv', student: { name: '', id: '' }, code: 'c', mode: 'grade', seeds: [1, 2], results: null, createdAt: '2026-01-01T00:00:00.000Z' });
    const file = withStudent(stored, ' Ada Lovelace ', 's-1 ');
    expect(file.student).toEqual({ name: 'Ada Lovelace', id: 's-1' });
    expect(file.contentHash).not.toBe(stored.contentHash);
    expect(parseSubmission(JSON.stringify(file))).toMatchObject({ ok: true, warnings: [] });
    expect(submissionFileName(file)).toBe('emulated-nic-s-1-submission.json');
  });
});
