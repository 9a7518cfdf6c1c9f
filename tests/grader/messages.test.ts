import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MESSAGES } from '../../lab-engine/grader/messages/en.ts';

describe('grader messages', () => {
  it('every finding code the labs and the grader emit has an English message', () => {
    const read = (p: string) => readFileSync(new URL(p, import.meta.url), 'utf8');
    const codes = new Set<string>();
    // Findings made by the lab's evaluate() and by the grader's aggregation.
    for (const m of read('../../lab-engine/labs/emulated-nic/lab.ts').matchAll(/\bf\('[\w-]+', '([\w-]+)'/g)) codes.add(m[1]!);
    for (const m of read('../../lab-engine/grader/grade.ts').matchAll(/code: '([\w-]+)'/g)) codes.add(m[1]!);
    expect(codes.size).toBeGreaterThan(12);
    for (const c of codes) expect(MESSAGES[c], c).toBeTypeOf('function');
  });
});
