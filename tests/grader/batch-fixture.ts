/**
 * A class's worth of hand-ins for one lab (shared by the 100-submission test and the grade
 * bench): reference, starter and partial solutions as .ts files and as browser submissions,
 * code that does not compile, files that are not JSON, and tampered copies — with what each
 * row of grades.csv must say.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getLabInfo, gradeSeeds } from '../../lab-engine/index.ts';
import { browserSubmission, forged, referenceOf } from './kit.ts';

export interface Expected {
  student: string;
  status: 'graded' | 'compile-error' | 'error';
  score: string;
  tampered: 'yes' | 'no' | '';
}

/** The cheapest lab to grade (measured: emulated-nic's reference runs a seed in ~35 ms). */
export const BATCH_LAB = 'emulated-nic';

export function writeBatch(dir: string, n = 100): Expected[] {
  const lab = BATCH_LAB;
  const info = getLabInfo(lab)!;
  const reference = referenceOf(lab);
  const partial = readFileSync(new URL('../labs/fixtures/part1-no-moderation.ts', import.meta.url), 'utf8');
  const seeds = [...info.publicSeeds, 31337];
  const score = (code: string, s: number[]) => String(gradeSeeds(lab, code, s, 'grade').score);
  const full = { reference: score(reference, info.publicSeeds), starter: score(info.starter, info.publicSeeds), partial: score(partial, info.publicSeeds) };
  const recorded = { reference: score(reference, seeds), starter: score(info.starter, seeds), partial: score(partial, seeds) };
  const kinds = ['reference', 'starter', 'partial', 'broken', 'tampered'] as const;
  const out: Expected[] = [];
  for (let i = 0; i < n; i++) {
    const kind = kinds[i % kinds.length]!;
    const who = `s${String(i).padStart(3, '0')}`;
    const asJson = i % 2 === 0;
    if (kind === 'broken') {
      if (asJson) {
        writeFileSync(join(dir, `${who}.json`), '{"schema": "iovlab.submission/2", "lab": ');
        out.push({ student: who, status: 'error', score: '', tampered: '' });
      } else {
        writeFileSync(join(dir, `${who}.ts`), `export function onRegisterWrite(dev, offset {\n}\n`);
        out.push({ student: who, status: 'compile-error', score: '0', tampered: 'no' });
      }
    } else if (kind === 'tampered') {
      writeFileSync(join(dir, `${who}.json`), JSON.stringify(forged(browserSubmission(lab, info.starter, seeds, { name: `Student ${i}`, id: who }))));
      out.push({ student: who, status: 'graded', score: recorded.starter, tampered: 'yes' });
    } else {
      const code = kind === 'reference' ? reference : kind === 'starter' ? info.starter : partial;
      if (asJson) {
        writeFileSync(join(dir, `${who}.json`), JSON.stringify(browserSubmission(lab, code, seeds, { name: `Student ${i}`, id: who })));
        out.push({ student: who, status: 'graded', score: recorded[kind], tampered: 'no' });
      } else {
        writeFileSync(join(dir, `${who}.ts`), code);
        out.push({ student: who, status: 'graded', score: full[kind], tampered: 'no' });
      }
    }
  }
  return out;
}
