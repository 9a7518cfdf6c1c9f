import { describe, expect, it } from 'vitest';
import { PREFIX, PROGRESS_KEY, Store, keys, type BestScore, type StorageLike, type Submission } from '../../src/lab-runtime/storage.ts';

/** localStorage stand-in; `quota` = max number of keys (setItem throws past it, as a full store does). */
class MemStorage implements StorageLike {
  map = new Map<string, string>();
  readonly quota: number;
  constructor(quota = Infinity) {
    this.quota = quota;
  }
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    if (!this.map.has(k) && this.map.size >= this.quota) throw new DOMException('full', 'QuotaExceededError');
    this.map.set(k, v);
  }
  removeItem(k: string): void {
    this.map.delete(k);
  }
}

const best = (score: number, seeds = [1, 2, 3, 99]): BestScore => ({ schema: 'iovlab.best/1', score, maxScore: 100, seeds, at: 1000 + score, codeHash: `h${score}`, labVersion: 'v1' });
const sub = (code: string, seeds = [1, 2, 3, 99]): Submission => ({ schema: 'iovlab.submission/1', lab: 'emulated-nic', code, seeds, mode: 'grade', results: { score: 1 } });

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
    ['not JSON', '{"schema":"iovlab.code/1","code":"unterminated'],
    ['wrong shape', '{"schema":"iovlab.code/1","code":42,"version":"v"}'],
    ['an array', '[1,2,3]'],
    ['another schema', '{"schema":"iovlab.code/9","code":"x","version":"v"}'],
  ])('backs up %s under a backup key and never deletes it', (_name, raw) => {
    const mem = new MemStorage();
    const key = keys.code('lab', 'l');
    mem.setItem(key, raw);
    const st = new Store(mem, () => 777);
    const r = st.loadCode('lab', 'l');
    expect(r).toEqual({ state: 'corrupt', raw, backupKey: 'iovlab:v1:backup:lab:l:code@777' });
    expect(mem.getItem('iovlab:v1:backup:lab:l:code@777')).toBe(raw);
    // The original text is still there until the learner saves new code.
    expect(mem.getItem(key)).toBe(raw);
    expect(st.saveCode('lab', 'l', 'new', 'v')).toBe(true);
    expect(mem.getItem('iovlab:v1:backup:lab:l:code@777')).toBe(raw);
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

  it('starts a fresh progress summary when the stored one is damaged, keeping a backup', () => {
    const mem = new MemStorage();
    mem.setItem(PROGRESS_KEY, 'not json');
    const st = new Store(mem, () => 3);
    st.recordGrade('emulated-nic', best(50), sub('x'));
    expect(mem.getItem('iovlab:v1:backup:progress@3')).toBe('not json');
    expect(JSON.parse(mem.getItem(PROGRESS_KEY)!)).toEqual({ labs: { 'emulated-nic': { bestScore: 50, maxScore: 100, completed: false } }, lessonsVisited: {} });
  });
});
