import { describe, expect, it } from 'vitest';
import { buildSubmission } from '../../lab-engine/grader/submission.ts';
import { PREFIX, PROGRESS_KEY, Store, keys, type BestScore, type StorageLike, type Submission } from '../../src/lab-runtime/storage.ts';
import { MemStorage } from './mem-storage.ts';

const best = (score: number, seeds = [1, 2, 3, 99]): BestScore => ({ schema: 'iovlab.best/1', score, maxScore: 100, seeds, at: 1000 + score, codeHash: `h${score}`, labVersion: 'v1' });
const sub = (code: string, seeds = [1, 2, 3, 99]): Submission =>
  buildSubmission({ lab: 'emulated-nic', labVersion: 'v1', student: { name: '', id: '' }, code, mode: 'grade', seeds, results: null, createdAt: '2026-01-01T00:00:00.000Z' });

describe('storage: namespacing', () => {
  it('puts every key under iovlab:v1:', () => {
    const mem = new MemStorage();
    const st = new Store(mem, () => 5);
    st.saveCode('lab', 'emulated-nic', 'x', 'v1');
    st.saveCode('cell', 'l1-itr', 'y', 'c1');
    st.saveBeforeReset('lab', 'emulated-nic', 'old', 'v1');
    st.recordGrade('emulated-nic', best(40), sub('x'));
    expect([...mem.map.keys()].sort()).toEqual([
      'iovlab:v1:cell:l1-itr:code',
      'iovlab:v1:lab:emulated-nic:before-reset',
      'iovlab:v1:lab:emulated-nic:best',
      'iovlab:v1:lab:emulated-nic:code',
      'iovlab:v1:lab:emulated-nic:submission',
      'iovlab:v1:progress',
    ]);
    for (const k of mem.map.keys()) expect(k.startsWith(PREFIX)).toBe(true);
  });

  it('keeps labs and cells with the same id apart', () => {
    const st = new Store(new MemStorage());
    st.saveCode('lab', 'same', 'lab code', 'v');
    st.saveCode('cell', 'same', 'cell code', 'v');
    expect(st.loadCode('lab', 'same')).toMatchObject({ state: 'ok', value: { code: 'lab code' } });
    expect(st.loadCode('cell', 'same')).toMatchObject({ state: 'ok', value: { code: 'cell code' } });
  });
});

describe('storage: versions', () => {
  it('returns saved code with the version it was written against', () => {
    const st = new Store(new MemStorage(), () => 42);
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'empty' });
    st.saveCode('lab', 'l', 'my code', 'old-version');
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'ok', value: { schema: 'iovlab.code/1', code: 'my code', version: 'old-version', savedAt: 42 } });
  });
});

describe('storage: damaged data', () => {
  it.each([
    ['wrong shape', '{"schema":"iovlab.code/1","code":42,"version":"v"}'],
    ['an array', '[1,2,3]'],
    ['another schema', '{"schema":"iovlab.code/9","code":"x","version":"v"}'],
    ['not JSON at all', 'garbage'],
  ])('backs up %s under a backup key, then clears the damaged key so it is reported once', (_name, raw) => {
    const mem = new MemStorage();
    const key = keys.code('lab', 'l');
    mem.setItem(key, raw);
    const st = new Store(mem, () => 777);
    const r = st.loadCode('lab', 'l');
    expect(r).toEqual({ state: 'corrupt', raw, backupKey: 'iovlab:v1:backup:lab:l:code@777' });
    expect(mem.getItem('iovlab:v1:backup:lab:l:code@777')).toBe(raw);
    expect(st.recovered).toEqual([{ key, what: 'lab l: code', backupKey: 'iovlab:v1:backup:lab:l:code@777', outcome: 'backed-up', lost: expect.any(String) }]);
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'empty' });
    expect(st.saveCode('lab', 'l', 'new', 'v')).toBe(true);
    expect(mem.getItem('iovlab:v1:backup:lab:l:code@777')).toBe(raw);
  });

  it('recovers the code of a record cut short, says the end was lost, and keeps the raw text', () => {
    const mem = new MemStorage();
    const key = keys.code('lab', 'l');
    const whole = JSON.stringify({ schema: 'iovlab.code/1', code: 'line 1\nline 2\nline 3', version: 'v7', savedAt: 5 });
    const cut = whole.slice(0, whole.indexOf('line 3') + 4);
    mem.setItem(key, cut);
    const st = new Store(mem, () => 9);
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'recovered', value: { schema: 'iovlab.code/1', code: 'line 1\nline 2\nline', version: '', savedAt: 0 }, backupKey: 'iovlab:v1:backup:lab:l:code@9', partial: true, lost: 'the end of the code was lost' });
    expect(mem.getItem('iovlab:v1:backup:lab:l:code@9')).toBe(cut);
    // The repaired record is valid from now on (an unknown version makes the lab say it changed).
    expect(st.loadCode('lab', 'l')).toMatchObject({ state: 'ok', value: { code: 'line 1\nline 2\nline', version: '' } });
  });

  it('recovers a whole code string whose record lost only its tail', () => {
    const mem = new MemStorage();
    const whole = JSON.stringify({ schema: 'iovlab.code/1', code: 'all of it', version: 'v7', savedAt: 5 });
    mem.setItem(keys.code('lab', 'l'), whole.slice(0, whole.length - 4));
    const st = new Store(mem, () => 9);
    expect(st.loadCode('lab', 'l')).toMatchObject({ state: 'recovered', value: { code: 'all of it', version: 'v7' }, partial: false });
  });

  it('freezes a damaged key it could not back up, so the raw text survives', () => {
    const mem = new MemStorage(1);
    const key = keys.code('lab', 'l');
    mem.setItem(key, 'garbage');
    const st = new Store(mem, () => 1);
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'corrupt', raw: 'garbage', backupKey: null });
    expect(st.saveCode('lab', 'l', 'new', 'v')).toBe(false);
    expect(mem.getItem(key)).toBe('garbage');
  });

  it('survives a storage that throws on every call', () => {
    const broken: StorageLike = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('SecurityError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
    };
    const st = new Store(broken);
    expect(st.loadCode('lab', 'l')).toEqual({ state: 'empty' });
    expect(st.saveCode('lab', 'l', 'x', 'v')).toBe(false);
    expect(st.recordGrade('l', best(10), sub('x')).saved).toBe(false);
  });

  it('works without any storage (private mode): nothing saved, nothing thrown', () => {
    const st = new Store(null);
    expect(st.available).toBe(false);
    expect(st.saveCode('lab', 'l', 'x', 'v')).toBe(false);
    expect(st.loadBest('l')).toEqual({ state: 'empty' });
  });
});

describe('storage: best score and progress', () => {
  it('keeps the best grade with its seeds, and a later equal score replaces it', () => {
    const st = new Store(new MemStorage());
    expect(st.recordGrade('lab', best(60, [1, 2, 3, 7]), sub('a', [1, 2, 3, 7]))).toEqual({ isBest: true, saved: true });
    expect(st.recordGrade('lab', best(40, [1, 2, 3, 8]), sub('b', [1, 2, 3, 8]))).toEqual({ isBest: false, saved: true });
    expect(st.loadBest('lab')).toMatchObject({ state: 'ok', value: { score: 60, seeds: [1, 2, 3, 7] } });
    expect(st.loadSubmission('lab')).toMatchObject({ code: 'a', seeds: [1, 2, 3, 7] });
    st.recordGrade('lab', best(60, [1, 2, 3, 9]), sub('c', [1, 2, 3, 9]));
    expect(st.loadSubmission('lab')).toMatchObject({ code: 'c', seeds: [1, 2, 3, 9] });
  });

  it('merges the progress summary without clobbering what nav.js or other labs wrote', () => {
    const mem = new MemStorage();
    mem.setItem(PROGRESS_KEY, JSON.stringify({ lessonsVisited: { 'l0-where-io-fits': true }, labs: { other: { bestScore: 5, maxScore: 10, completed: false, note: 'keep' } }, future: 1 }));
    const st = new Store(mem);
    st.recordGrade('emulated-nic', best(100), sub('x'));
    st.recordGrade('emulated-nic', best(70), sub('y'));
    expect(JSON.parse(mem.getItem(PROGRESS_KEY)!)).toEqual({
      lessonsVisited: { 'l0-where-io-fits': true },
      labs: { other: { bestScore: 5, maxScore: 10, completed: false, note: 'keep' }, 'emulated-nic': { bestScore: 100, maxScore: 100, completed: true } },
      future: 1,
    });
  });

  it('keeps the valid labs of a damaged progress summary, with a backup', () => {
    const mem = new MemStorage();
    const raw = '{"labs":{"a":{"bestScore":5,"maxScore":10,"completed":false},"b":{"bestScore":"x"},"c":{"bestScore":10,"maxScore":10,"completed":true}},"lessonsVisited":{"l1":true,"l2":tr';
    mem.setItem(PROGRESS_KEY, raw);
    const st = new Store(mem, () => 3);
    st.recordGrade('emulated-nic', best(50), sub('x'));
    expect(mem.getItem('iovlab:v1:backup:progress@3')).toBe(raw);
    expect(JSON.parse(mem.getItem(PROGRESS_KEY)!)).toEqual({
      labs: { a: { bestScore: 5, maxScore: 10, completed: false }, c: { bestScore: 10, maxScore: 10, completed: true }, 'emulated-nic': { bestScore: 50, maxScore: 100, completed: false } },
      lessonsVisited: { l1: true },
    });
  });
});

describe('storage: submissions', () => {
  it('reads a schema-1 submission that arrived after the migration as the CLI would', () => {
    const mem = new MemStorage(Infinity, { 'iovlab:meta': '{"schema":2}', [keys.submission('l')]: JSON.stringify({ schema: 'iovlab.submission/1', lab: 'l', code: 'c', seeds: [4, 5], mode: 'grade', results: null }) });
    const st = new Store(mem);
    st.startup();
    expect(st.loadSubmission('l')).toMatchObject({ schema: 'iovlab.submission/2', lab: 'l', code: 'c', seeds: [4, 5], student: { name: '', id: '' } });
  });
});

describe('storage: identity and run history', () => {
  it('remembers the name and student id course-wide, trimmed', () => {
    const mem = new MemStorage();
    new Store(mem).saveIdentity('  Ada Lovelace ', ' s123 ');
    expect(new Store(mem).loadIdentity()).toEqual({ schema: 'iovlab.identity/1', name: 'Ada Lovelace', id: 's123' });
    expect(mem.getItem('iovlab:v1:identity')).not.toBeNull();
  });

  it('counts runs, checks and grades with the last score and time', () => {
    let t = 100;
    const st = new Store(new MemStorage(), () => t);
    expect(st.loadHistory('l')).toBeUndefined();
    st.recordRun('l', 'run');
    t = 200;
    st.recordRun('l', 'check', { score: 40, maxScore: 100 });
    t = 300;
    st.recordRun('l', 'grade', { score: 75, maxScore: 100 });
    st.recordRun('l', 'run');
    expect(st.loadHistory('l')).toEqual({ schema: 'iovlab.history/1', runs: 2, checks: 1, grades: 1, lastScore: 75, lastMaxScore: 100, lastMode: 'run', lastAt: 300 });
  });

  it('a run marker left by a killed page is found once', () => {
    const st = new Store(new MemStorage());
    st.markRunning('l', { mode: 'grade', seed: 7, at: 1 });
    expect(st.takeRunning('l')).toEqual({ mode: 'grade', seed: 7, at: 1 });
    expect(st.takeRunning('l')).toBeUndefined();
    st.markRunning('l', { mode: 'run', seed: 1, at: 1 });
    st.markRunning('l', null);
    expect(st.takeRunning('l')).toBeUndefined();
  });
});
