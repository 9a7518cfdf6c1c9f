/** grades.csv rows (lab-engine/node/csv.ts): quoting, the notes column, mixed labs. */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLabInfo, gradeSeeds } from '../../lab-engine/index.ts';
import { csvLine, gradedItemRow, checkColumns, toCsv } from '../../lab-engine/node/csv.ts';
import type { GradedItem } from '../../lab-engine/node/grade-item.ts';
import { browserSubmission, cli, parseCsv, readGrades, referenceOf, tmp } from './kit.ts';

const item = (lab: string, code: string, over: Partial<GradedItem> = {}): GradedItem => ({
  item: 'x.json', status: 'graded', labId: lab, student: { name: 'N', id: 'id-1' }, studentLabel: 'id-1', result: gradeSeeds(lab, code, [1], 'grade'), tampered: false, diffs: [], warnings: [], error: '', ...over,
});

describe('csv', () => {
  it('quotes commas, quotes, newlines and edge spaces (RFC 4180) and parses back to the same cells', () => {
    const cells = ['plain', 'a,b', 'say "hi"', 'two\nlines', ' padded', 42];
    const line = csvLine(cells);
    expect(line).toBe('plain,"a,b","say ""hi""","two\nlines"," padded",42');
    expect(parseCsv(line + '\n')).toEqual([cells.map(String)]);
  });

  it('one row per item: score, max, each check, status, tampered, error, notes (warnings then diffs)', () => {
    const info = getLabInfo('emulated-nic')!;
    const g = item('emulated-nic', info.starter, { tampered: true, diffs: ['score 100 stored, 0 recomputed'], warnings: ['an older submission (no schema): no student or versions recorded'] });
    const cols = checkColumns([g]);
    expect(cols.map((c) => c.header)).toEqual(info.checks.map((c) => `${c.number}. ${c.name}`));
    const row = gradedItemRow(g, cols);
    expect(row.slice(0, 4)).toEqual(['id-1', 'emulated-nic', g.result!.score, 100]);
    expect(row.slice(4, 4 + cols.length)).toEqual(g.result!.tests.map((t) => t.score));
    expect(row.slice(-4)).toEqual(['graded', 'yes', '', 'an older submission (no schema): no student or versions recorded | tampered: score 100 stored, 0 recomputed']);
  });

  it('mixed labs get one prefixed column set per lab; each row fills only its own lab', () => {
    const a = item('emulated-nic', referenceOf('emulated-nic'));
    const b = item('virtio-backend', getLabInfo('virtio-backend')!.starter, { studentLabel: 'id-2' });
    const [header, ra, rb] = parseCsv(toCsv([a, b]));
    const nA = getLabInfo('emulated-nic')!.checks.length;
    const nB = getLabInfo('virtio-backend')!.checks.length;
    expect(header!.length).toBe(4 + nA + nB + 4);
    expect(header![4]).toMatch(/^emulated-nic#1\. /);
    expect(header![4 + nA]).toMatch(/^virtio-backend#1\. /);
    expect(ra!.slice(4 + nA, 4 + nA + nB).every((c) => c === '')).toBe(true);
    expect(rb!.slice(4, 4 + nA).every((c) => c === '')).toBe(true);
    expect(rb!.slice(4 + nA, 4 + nA + nB)).toEqual(b.result!.tests.map((t) => String(t.score)));
  });

  it('a folder mixing labs without --lab grades each item on its own lab; .ts items need --lab', () => {
    const d = tmp();
    writeFileSync(join(d, 'e.json'), JSON.stringify(browserSubmission('emulated-nic', referenceOf('emulated-nic'), [1], { name: '', id: 'e' })));
    writeFileSync(join(d, 'v.json'), JSON.stringify(browserSubmission('virtio-backend', referenceOf('virtio-backend'), [1], { name: '', id: 'v' })));
    writeFileSync(join(d, 'bare.ts'), referenceOf('emulated-nic'));
    const r = cli('grade', d);
    expect(r.code).toBe(0);
    const { header, rows } = readGrades(join(d, 'grades.csv'));
    expect(header.some((h) => h.startsWith('emulated-nic#1. '))).toBe(true);
    expect(header.some((h) => h.startsWith('virtio-backend#1. '))).toBe(true);
    expect(rows.find((x) => x['student'] === 'e')).toMatchObject({ lab: 'emulated-nic', score: '100' });
    expect(rows.find((x) => x['student'] === 'v')).toMatchObject({ lab: 'virtio-backend', score: '100' });
    expect(rows.find((x) => x['student'] === 'bare')!['error']).toMatch(/^say which lab it is for with --lab <id>/);
  });
});
