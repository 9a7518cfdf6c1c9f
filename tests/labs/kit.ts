/** What the lab tests share: reading a grade result, mutating a reference, picking seeds by property. */
import { expect } from 'vitest';
import type { gradeSeeds } from '../../lab-engine/index.ts';

export type Graded = ReturnType<typeof gradeSeeds>;
/** Numbers of the checks that failed. */
export const failing = (r: Graded): number[] => r.tests.filter((t) => t.status === 'failed').map((t) => Number(t.number));
/** Check n's output text. */
export const output = (r: Graded, n: number): string => r.tests[n - 1]!.output;

/** `mutate(find, replace, src = reference)`: one wrong solution, failing the test if `find` is not in the source. */
export function mutator(reference: string): (find: string, replace: string, src?: string) => string {
  return (find, replace, src = reference) => {
    expect(src.includes(find), `reference contains: ${find}`).toBe(true);
    return src.replace(find, replace);
  };
}

/** The first `n` seeds from `from` whose config has a property (a deterministic scan of at most `limit` seeds). */
export function seedsWhere<C>(config: (seed: number) => C, pred: (c: C) => boolean, n: number, from = 1, limit = 10_000): number[] {
  const out: number[] = [];
  for (let s = from; out.length < n && s < from + limit; s++) if (pred(config(s))) out.push(s);
  return out;
}
