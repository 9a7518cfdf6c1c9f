/** Storage schema migrations (src/lab-runtime/migrations.ts): v1 data upgraded once, in order. */
import { describe, expect, it } from 'vitest';
import { parseSubmission } from '../../lab-engine/grader/submission.ts';
import { CURRENT_SCHEMA, MIGRATIONS, mapKV, migrate, storedSchema } from '../../src/lab-runtime/migrations.ts';
import { Store } from '../../src/lab-runtime/storage.ts';
import { MemStorage } from './mem-storage.ts';
import { v1Data } from './v1-fixture.ts';

describe('storage migrations', () => {
  it('are a chain from 1 to the current schema', () => {
    let at = 1;
    for (const m of MIGRATIONS) {
      expect(m.from).toBe(at);
      expect(m.to).toBe(at + 1);
      at = m.to;
    }
    expect(at).toBe(CURRENT_SCHEMA);
  });

  it('detect v1 data (no meta key), fresh storage, and a stored schema', () => {
    expect(storedSchema(mapKV(new Map(Object.entries(v1Data()))))).toBe(1);
    expect(storedSchema(mapKV(new Map()))).toBe(CURRENT_SCHEMA);
    expect(storedSchema(mapKV(new Map([['iovlab:v1:theme', 'dark']])))).toBe(CURRENT_SCHEMA);
    expect(storedSchema(mapKV(new Map([['iovlab:meta', '{"schema":7}']])))).toBe(7);
  });

  it('1 → 2: the submission becomes lab-engine schema 2 (the CLI reads it), a run history starts, the rest is kept', () => {
    const mem = new MemStorage(Infinity, v1Data());
    const before = mem.snapshot();
    const st = new Store(mem);
    const r = st.startup();
    expect(r.migration).toEqual({ ok: true, from: 1, to: 2, steps: ['emulated-nic: submission upgraded to iovlab.submission/2', 'emulated-nic: run history started from the best score'] });
    expect(mem.getItem('iovlab:meta')).toBe('{"schema":2}');
    const sub = st.loadSubmission('emulated-nic')!;
    expect(sub).toMatchObject({ schema: 'iovlab.submission/2', lab: 'emulated-nic', labVersion: 'lv1', code: 'graded code', seeds: [1, 2, 3, 77], mode: 'grade', student: { name: '', id: '' }, createdAt: new Date(1_700_000_000_000).toISOString() });
    // What the CLI will read: no warnings (schema 2, hashes consistent).
    expect(parseSubmission(mem.getItem('iovlab:v1:lab:emulated-nic:submission')!)).toMatchObject({ ok: true, warnings: [] });
    expect(st.loadHistory('emulated-nic')).toEqual({ schema: 'iovlab.history/1', runs: 0, checks: 0, grades: 1, lastScore: 70, lastMaxScore: 100, lastMode: 'grade', lastAt: 1_700_000_000_000 });
    for (const k of ['iovlab:v1:lab:emulated-nic:code', 'iovlab:v1:lab:emulated-nic:best', 'iovlab:v1:progress', 'iovlab:v1:theme']) expect(mem.getItem(k)).toBe(before[k]);
  });

  it('run once: a second start-up changes nothing', () => {
    const mem = new MemStorage(Infinity, v1Data());
    new Store(mem).startup();
    const once = mem.snapshot();
    const again = new Store(mem).startup();
    expect(again.migration).toEqual({ ok: true, from: 2, to: 2, steps: [] });
    expect(mem.snapshot()).toEqual(once);
  });

  it('leave data from a newer course untouched and say so', () => {
    const future = JSON.stringify({ schema: 'iovlab.code/3', text: 'a newer record shape' });
    const mem = new MemStorage(Infinity, { ...v1Data(), 'iovlab:meta': '{"schema":9}', 'iovlab:v1:lab:vhost-poll:code': future });
    const before = mem.snapshot();
    const st = new Store(mem);
    const r = st.startup();
    expect(r.migration).toMatchObject({ ok: false, from: 9 });
    expect(r.migration.ok ? '' : r.migration.error).toContain('newer version of the course');
    expect(r.recovered).toEqual([]);
    // A record this page does not understand is not damage: no backup, no rewrite, and saving over it is refused.
    expect(st.loadCode('lab', 'vhost-poll')).toEqual({ state: 'corrupt', raw: future, backupKey: null });
    expect(st.saveCode('lab', 'vhost-poll', 'x', 'v')).toBe(false);
    expect(mem.snapshot()).toEqual(before);
  });

  it('a full storage stops the migration before the meta key is written, so it runs again later', () => {
    const data = v1Data();
    const mem = new MemStorage(Object.keys(data).length, data);
    const r = new Store(mem).startup();
    expect(r.migration.ok).toBe(false);
    expect(mem.getItem('iovlab:meta')).toBeNull();
    expect(migrate(mapKV(new Map(Object.entries(data)))).ok).toBe(true);
  });
});
