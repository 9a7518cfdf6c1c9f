import { describe, expect, it } from 'vitest';
import { formatSeeds, freshSeeds, parseSeedList, seedsFromSearch, urlWithSeeds } from '../../src/lab-runtime/seeds.ts';

describe('seeds in the URL', () => {
  it('parses ?seeds=1,2,3 for Check and ?seed=7 for Run', () => {
    expect(seedsFromSearch('?seeds=1,2,3')).toEqual({ check: [1, 2, 3], errors: [] });
    expect(seedsFromSearch('?seed=7')).toEqual({ run: 7, errors: [] });
    expect(seedsFromSearch('?seed=7&seeds=4%2C5')).toEqual({ run: 7, check: [4, 5], errors: [] });
    expect(seedsFromSearch('')).toEqual({ errors: [] });
  });

  it('accepts spaces, drops duplicates, keeps the order', () => {
    expect(parseSeedList(' 3, 1 1,2 ')).toEqual({ ok: true, seeds: [3, 1, 2] });
    expect(parseSeedList('4294967295')).toEqual({ ok: true, seeds: [4294967295] });
  });

  it.each([
    ['-1', "'-1' is not a seed"],
    ['1.5', "'1.5' is not a seed"],
    ['abc', "'abc' is not a seed"],
    ['4294967296', 'too large'],
    ['', 'no seeds'],
    [Array.from({ length: 17 }, (_, i) => i).join(','), 'at most 16'],
  ])('rejects %j', (text, why) => {
    const r = parseSeedList(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(why);
  });

  it('reports a bad value instead of failing, and ignores it', () => {
    const r = seedsFromSearch('?seeds=1,x&seed=2,3');
    expect(r.check).toBeUndefined();
    expect(r.run).toBeUndefined();
    expect(r.errors).toEqual(["?seed=2,3 ignored: give one seed", "?seeds=1,x ignored: 'x' is not a seed (seeds are whole numbers from 0 to 4294967295)"]);
  });

  it('writes ?seeds= readably and keeps the rest of the URL', () => {
    expect(urlWithSeeds('file:///tmp/site/lessons/l1/index.html?seed=2#lab', [1, 2, 3])).toBe('file:///tmp/site/lessons/l1/index.html?seed=2&seeds=1,2,3#lab');
    expect(urlWithSeeds('http://x/a/?seeds=9', [4])).toBe('http://x/a/?seeds=4');
    expect(seedsFromSearch(new URL(urlWithSeeds('http://x/?a=1', [5, 6])).search).check).toEqual([5, 6]);
  });

  it('formats seeds as the output header shows them', () => {
    expect(formatSeeds([1, 2, 3])).toBe('1, 2, 3');
  });
});

describe('fresh seeds', () => {
  it('draws n distinct uint32 seeds that are not public ones', () => {
    let calls = 0;
    // A generator that first repeats itself and hits a public seed, then behaves.
    const fill = (a: Uint32Array): Uint32Array => {
      const script = [[2, 2, 2], [5, 2, 4000000000]][calls++] ?? [9, 9, 9];
      a.set(script.slice(0, a.length));
      return a;
    };
    expect(freshSeeds(3, [1, 2, 3], fill)).toEqual([5, 4000000000, 9]);
  });

  it('uses crypto.getRandomValues by default', () => {
    const s = freshSeeds(5, [1, 2, 3]);
    expect(new Set(s).size).toBe(5);
    for (const x of s) expect(Number.isInteger(x) && x >= 0 && x <= 0xffffffff).toBe(true);
  });
});
