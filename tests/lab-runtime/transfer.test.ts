/** Export / import of all progress (src/lab-runtime/transfer.ts). */
import { describe, expect, it } from 'vitest';
import { ENGINE_VERSION } from '../../lab-engine/version.ts';
import { Store } from '../../src/lab-runtime/storage.ts';
import { EXPORT_SCHEMA, buildExport, describeImport, importExport, parseExport } from '../../src/lab-runtime/transfer.ts';
import { MemStorage } from './mem-storage.ts';
import { v1Data } from './v1-fixture.ts';

function learner(): { mem: MemStorage; st: Store } {
  const mem = new MemStorage(Infinity, v1Data());
  let t = 1000;
  const st = new Store(mem, () => t++);
  st.startup();
  st.saveIdentity('Ada', 's1');
  st.saveCode('cell', 'c1', 'cell code', 'cv');
  st.backup('iovlab:v1:lab:x:code', 'damaged{');
  return { mem, st };
}

function importText(st: Store, text: string) {
  const p = parseExport(text);
  if (!p.ok) throw new Error(p.error);
  return importExport(st, p);
}

describe('export', () => {
  it('holds every iovlab: entry, exactly as stored, with backups flagged, the engine version and the time', () => {
    const { mem, st } = learner();
    mem.setItem('other-site:key', 'not ours');
    const e = buildExport(st, new Date('2026-03-04T05:06:07Z'));
    expect(e).toMatchObject({ schema: EXPORT_SCHEMA, engineVersion: ENGINE_VERSION, storageSchema: 2, exportedAt: '2026-03-04T05:06:07.000Z' });
    const ours = [...mem.map.keys()].filter((k) => k.startsWith('iovlab:')).sort();
    expect(e.entries.map((x) => x.key)).toEqual(ours);
    for (const x of e.entries) {
      expect(x.value).toBe(mem.getItem(x.key));
      expect(x.backup).toBe(x.key.startsWith('iovlab:v1:backup:'));
    }
    expect(e.entries.filter((x) => x.backup)).toHaveLength(1);
  });

  it('leaves out the marker of a run in progress (it would report a false crash in another browser)', () => {
    const { st } = learner();
    st.markRunning('emulated-nic', { mode: 'run', seed: 1, at: 1 });
    expect(buildExport(st).entries.map((x) => x.key)).not.toContain('iovlab:v1:lab:emulated-nic:running');
    const legacy = JSON.stringify({ schema: 'iovlab.export/1', keys: { 'iovlab:v1:lab:emulated-nic:running': '{"mode":"run","seed":1}' } });
    const p = parseExport(legacy);
    expect(p.ok && [...p.entries.keys()]).toEqual([]);
  });
});

describe('import', () => {
  it('export → erase → import gives back exactly what was there (round trip)', () => {
    const { mem, st } = learner();
    const before = mem.snapshot();
    const text = JSON.stringify(buildExport(st));
    st.eraseAll();
    expect(mem.map.size).toBe(0);
    const r = importText(st, text);
    expect(r).toMatchObject({ ok: true, backupKey: null, replaced: [], keptOurs: [], failed: [] });
    const after = mem.snapshot();
    expect(after).toEqual(before);
  });

  it('backs up the current data first, then merges: newer code and the higher score win, and says so', () => {
    const a = learner();
    const exported = JSON.stringify(buildExport(a.st));
    const mem = new MemStorage();
    let t = 5000;
    const b = new Store(mem, () => t++);
    b.saveCode('lab', 'emulated-nic', 'newer code here', 'lv1'); // savedAt 5000 > 10
    b.recordGrade('emulated-nic', { schema: 'iovlab.best/1', score: 40, maxScore: 100, seeds: [1], at: 1, codeHash: '', labVersion: 'lv1' }, a.st.loadSubmission('emulated-nic')!);
    b.saveCode('lab', 'only-here', 'mine', 'v');
    const r = importText(b, exported);
    expect(r.ok).toBe(true);
    expect(r.backupKey).toMatch(/^iovlab:v1:backup:before-import@\d+$/);
    // The backup is itself an importable export of what was here.
    const backup = parseExport(mem.getItem(r.backupKey!)!);
    expect(backup.ok && backup.entries.get('iovlab:v1:lab:only-here:code')).toContain('mine');
    expect(b.loadCode('lab', 'emulated-nic')).toMatchObject({ value: { code: 'newer code here' } });
    expect(b.loadBest('emulated-nic')).toMatchObject({ value: { score: 70 } });
    expect(b.loadCode('lab', 'only-here')).toMatchObject({ value: { code: 'mine' } });
    expect(b.loadIdentity()).toMatchObject({ name: 'Ada', id: 's1' });
    expect(r.keptOurs).toContain('lab emulated-nic: code');
    expect(r.replaced).toContain('lab emulated-nic: best score');
    const words = describeImport(r, 'p.json').join(' ');
    expect(words).toContain('backup');
    expect(words).toContain('Kept what this browser had');
  });

  it('migrates an export from the About page (iovlab.export/1, v1 data) on the way in', () => {
    const legacy = JSON.stringify({ schema: 'iovlab.export/1', exportedAt: '2026-01-01T00:00:00Z', keys: v1Data() });
    const p = parseExport(legacy);
    expect(p).toMatchObject({ ok: true, migrated: ['emulated-nic: submission upgraded to iovlab.submission/2', 'emulated-nic: run history started from the best score'] });
    const st = new Store(new MemStorage());
    st.startup();
    importExport(st, p as Extract<typeof p, { ok: true }>);
    expect(st.loadSubmission('emulated-nic')).toMatchObject({ schema: 'iovlab.submission/2', code: 'graded code' });
    expect(st.loadHistory('emulated-nic')).toMatchObject({ grades: 1 });
  });

  it.each([
    ['empty', '', 'the file is empty'],
    ['cut short', JSON.stringify({ schema: EXPORT_SCHEMA, entries: [] }).slice(0, 20), 'not valid JSON — cut short or damaged?'],
    ['a submission', JSON.stringify({ schema: 'iovlab.submission/2', lab: 'x', code: '' }), 'this is a lab submission, not a progress export'],
    ['another file', '{"name":"package"}', 'not an IOV Lab progress export (schema missing'],
    ['a foreign key', JSON.stringify({ schema: EXPORT_SCHEMA, storageSchema: 2, entries: [{ key: 'evil', value: '1', backup: false }] }), 'is not IOV Lab data'],
    ['a damaged record', JSON.stringify({ schema: EXPORT_SCHEMA, storageSchema: 2, entries: [{ key: 'iovlab:v1:lab:a:best', value: '{"score":1', backup: false }] }), 'damaged data for lab a: best score (not valid JSON)'],
    ['a newer course', JSON.stringify({ schema: EXPORT_SCHEMA, storageSchema: 99, entries: [] }), 'from a newer version of the course'],
    ['an entry without value', JSON.stringify({ schema: EXPORT_SCHEMA, storageSchema: 2, entries: [{ key: 'iovlab:v1:theme' }] }), 'entry 1 is damaged'],
  ])('refuses %s with a specific message and changes nothing', (_n, text, message) => {
    const { mem } = learner();
    const before = mem.snapshot();
    const p = parseExport(text);
    expect(p.ok).toBe(false);
    expect(p.ok ? '' : p.error).toContain(message);
    expect(mem.snapshot()).toEqual(before);
  });

  it('refuses to import when the current data cannot be backed up first (storage full)', () => {
    const a = learner();
    const text = JSON.stringify(buildExport(a.st));
    const mem = new MemStorage(1);
    const st = new Store(mem);
    st.saveCode('lab', 'l', 'mine', 'v');
    const r = importText(st, text);
    expect(r.ok).toBe(false);
    expect(r.error).toContain('no room in this browser to back up');
    expect(mem.snapshot()).toEqual({ 'iovlab:v1:lab:l:code': mem.getItem('iovlab:v1:lab:l:code') });
  });
});
