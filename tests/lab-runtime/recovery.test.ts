/**
 * Damaged storage (a write cut short, a flipped byte): salvage.ts reads what it can, and the
 * Store's start-up check never throws, never touches other keys, and always keeps the raw text
 * of a blob it could not accept as a backup (fast-check properties over every record kind).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildSubmission } from '../../lab-engine/grader/submission.ts';
import { kindOf } from '../../src/lab-runtime/records.ts';
import { salvageJson } from '../../src/lab-runtime/salvage.ts';
import { Store } from '../../src/lab-runtime/storage.ts';
import { MemStorage } from './mem-storage.ts';

function course(): Record<string, string> {
  const sub = buildSubmission({ lab: 'emulated-nic', labVersion: 'lv', student: { name: 'Ada', id: 's1' }, code: 'export function f() {}\n', mode: 'grade', seeds: [1, 2], results: null, createdAt: '2026-01-01T00:00:00.000Z' });
  return {
    'iovlab:meta': '{"schema":2}',
    'iovlab:v1:lab:emulated-nic:code': JSON.stringify({ schema: 'iovlab.code/1', code: 'const x = "a \\"quoted\\" word";\n\tline 2 — ünïcode ✓\n', version: 'lv', savedAt: 12 }),
    'iovlab:v1:lab:emulated-nic:before-reset': JSON.stringify({ schema: 'iovlab.code/1', code: 'old', version: 'lv0', savedAt: 3 }),
    'iovlab:v1:lab:emulated-nic:best': JSON.stringify({ schema: 'iovlab.best/1', score: 90, maxScore: 100, seeds: [1, 2, 3, 4000000000], at: 5, codeHash: 'abc', labVersion: 'lv' }),
    'iovlab:v1:lab:emulated-nic:submission': JSON.stringify(sub),
    'iovlab:v1:lab:emulated-nic:history': JSON.stringify({ schema: 'iovlab.history/1', runs: 4, checks: 2, grades: 1, lastScore: 90, lastMaxScore: 100, lastMode: 'grade', lastAt: 5 }),
    'iovlab:v1:cell:l1-itr:code': JSON.stringify({ schema: 'iovlab.code/1', code: 'cell()', version: 'c', savedAt: 1 }),
    'iovlab:v1:progress': JSON.stringify({ labs: { 'emulated-nic': { bestScore: 90, maxScore: 100, completed: false }, 'virtio-backend': { bestScore: 100, maxScore: 100, completed: true } }, lessonsVisited: { a: true, b: true } }),
    'iovlab:v1:identity': JSON.stringify({ schema: 'iovlab.identity/1', name: 'Ada Lovelace', id: 's123' }),
    'iovlab:v1:theme': 'dark',
  };
}

const KEYS = Object.keys(course());

describe('salvageJson', () => {
  it('returns complete JSON as it is', () => {
    expect(salvageJson('{"a":[1,2,{"b":"c"}]}')).toEqual({ value: { a: [1, 2, { b: 'c' }] }, complete: true, truncatedStrings: [] });
  });
  it('keeps every complete member of a cut object and the prefix of a cut string', () => {
    expect(salvageJson('{"a":1,"b":[true,null],"code":"abc\\ndef')).toEqual({ value: { a: 1, b: [true, null], code: 'abc\ndef' }, complete: false, truncatedStrings: ['code'] });
  });
  it('drops a number that may be cut ("12" of "1234") and a key without value', () => {
    expect(salvageJson('{"a":"x","n":12').value).toEqual({ a: 'x' });
    expect(salvageJson('{"a":"x","n"').value).toEqual({ a: 'x' });
  });
  it('never throws, even on deep nesting or garbage', () => {
    expect(() => salvageJson('['.repeat(100_000))).not.toThrow();
    fc.assert(fc.property(fc.string(), (s) => void salvageJson(s)));
    fc.assert(fc.property(fc.json(), fc.nat(), (j, n) => void salvageJson(j.slice(0, n % (j.length + 1)))));
  });
  it('a truncated JSON text salvages to a value whose complete parts equal the original', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string(), fc.boolean(), fc.constant(null))), fc.nat(), (obj, n) => {
        const text = JSON.stringify(obj);
        const s = salvageJson(text.slice(0, n % (text.length + 1)));
        if (s.value === undefined) return;
        for (const [k, v] of Object.entries(s.value as Record<string, unknown>)) {
          if (s.truncatedStrings.includes(k)) expect((obj[k] as string).startsWith(v as string)).toBe(true);
          else expect(v).toEqual(obj[k]);
        }
      }),
    );
  });
});

/** A damaged version of `raw`: cut at a byte, a byte replaced, or a slice removed. */
const damage = fc.oneof(
  fc.record({ how: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ how: fc.constant('flip' as const), at: fc.nat(), ch: fc.constantFrom('"', '}', ']', ',', ':', '\\', 'x', '0', '\u0000', '{') }),
  fc.record({ how: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
);

function apply(raw: string, d: { how: 'truncate' | 'flip' | 'cut'; at: number; ch?: string; len?: number }): string {
  const at = d.at % (raw.length + 1);
  if (d.how === 'truncate') return raw.slice(0, at);
  if (d.how === 'flip') return raw.slice(0, at) + d.ch + raw.slice(at + 1);
  return raw.slice(0, at) + raw.slice(at + d.len!);
}

describe('start-up recovery of damaged blobs (property)', () => {
  it('never throws, never changes another key, and keeps a backup of any blob it could not accept', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEYS), damage, (key, d) => {
        const data = course();
        const bad = apply(data[key]!, d);
        data[key] = bad;
        const mem = new MemStorage(Infinity, data);
        let t = 1;
        const st = new Store(mem, () => t++);
        const report = st.startup();
        // Other keys: byte for byte as they were.
        for (const k of KEYS) if (k !== key) expect(mem.getItem(k), k).toBe(data[k]);
        const kind = kindOf(key);
        let acceptable = false;
        try {
          acceptable = kind ? kind.valid(JSON.parse(bad)) : true;
        } catch {
          acceptable = !kind;
        }
        const backups = [...mem.map.entries()].filter(([k]) => k.startsWith('iovlab:v1:backup:'));
        if (acceptable) {
          expect(mem.getItem(key)).toBe(bad);
          expect(backups).toEqual([]);
        } else {
          // The raw text is kept, and the learner is told.
          expect(backups.map(([, v]) => v)).toEqual([bad]);
          expect(report.recovered.map((n) => n.key)).toEqual([key]);
          // What is left under the key (if anything) is a valid record.
          const now = mem.getItem(key);
          if (now !== null) expect(kind!.valid(JSON.parse(now))).toBe(true);
        }
        // A second start-up finds nothing more to do.
        const again = new Store(mem, () => t++).startup();
        expect(again.recovered).toEqual([]);
      }),
      { numRuns: 600 },
    );
  });

  it('a truncated code record keeps the code up to the cut', () => {
    const data = course();
    const key = 'iovlab:v1:lab:emulated-nic:code';
    const raw = data[key]!;
    const code = (JSON.parse(raw) as { code: string }).code;
    for (let cut = raw.indexOf('"code":"') + 9; cut < raw.indexOf('","version'); cut += 7) {
      const mem = new MemStorage(Infinity, { ...data, [key]: raw.slice(0, cut) });
      const st = new Store(mem);
      st.startup();
      const r = st.loadCode('lab', 'emulated-nic');
      expect(r.state).toBe('ok');
      const got = r.state === 'ok' ? r.value.code : '';
      expect(code.startsWith(got)).toBe(true);
      expect(got.length).toBeGreaterThan(0);
    }
  });
});
