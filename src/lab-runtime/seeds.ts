/**
 * Seeds in the URL, OSTEP-style: `?seed=7` picks the seed Run uses and `?seeds=1,2,3` the seeds
 * Check runs; both are echoed at the top of every output so a result can be reproduced.
 */

export const MAX_URL_SEEDS = 16;

export type SeedParse = { ok: true; seeds: number[] } | { ok: false; error: string };

/** Parse "1,2,3" (commas or spaces) into distinct uint32 seeds, in order. */
export function parseSeedList(text: string): SeedParse {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, error: 'no seeds given' };
  const seeds: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,10}$/.test(p)) return { ok: false, error: `'${p}' is not a seed (seeds are whole numbers from 0 to 4294967295)` };
    const n = Number(p);
    if (n > 0xffffffff) return { ok: false, error: `${p} is too large (seeds are at most 4294967295)` };
    if (!seeds.includes(n)) seeds.push(n);
  }
  if (seeds.length > MAX_URL_SEEDS) return { ok: false, error: `at most ${MAX_URL_SEEDS} seeds at a time` };
  return { ok: true, seeds };
}

export interface UrlSeeds {
  /** `?seed=N`: the seed Run uses. */
  run?: number;
  /** `?seeds=a,b,c`: the seeds Check runs. */
  check?: number[];
  /** Problems to show (a bad value is ignored, never fatal). */
  errors: string[];
}

export function seedsFromSearch(search: string): UrlSeeds {
  const q = new URLSearchParams(search);
  const out: UrlSeeds = { errors: [] };
  const one = q.get('seed');
  if (one !== null) {
    const r = parseSeedList(one);
    if (r.ok && r.seeds.length === 1) out.run = r.seeds[0];
    else out.errors.push(`?seed=${one} ignored: ${r.ok ? 'give one seed' : r.error}`);
  }
  const many = q.get('seeds');
  if (many !== null) {
    const r = parseSeedList(many);
    if (r.ok) out.check = r.seeds;
    else out.errors.push(`?seeds=${many} ignored: ${r.error}`);
  }
  return out;
}

/** The same URL with `?seeds=` set (commas kept readable) and `?seed` left alone. */
export function urlWithSeeds(href: string, seeds: number[]): string {
  const u = new URL(href);
  u.searchParams.set('seeds', seeds.join(','));
  return u.toString().replace(/seeds=([0-9%2C]+)/i, (_m, v: string) => `seeds=${v.replace(/%2C/gi, ',')}`);
}

/** `n` distinct uint32 seeds not among `avoid`, from a CSPRNG (crypto.getRandomValues). */
export function freshSeeds(n: number, avoid: readonly number[], fill: (a: Uint32Array<ArrayBuffer>) => Uint32Array = (a) => crypto.getRandomValues(a)): number[] {
  const out: number[] = [];
  let guard = 0;
  while (out.length < n && guard++ < 100) {
    const buf = fill(new Uint32Array(n));
    for (const s of buf) if (out.length < n && !avoid.includes(s) && !out.includes(s)) out.push(s);
  }
  return out;
}

export function formatSeeds(seeds: readonly number[]): string {
  return seeds.join(', ');
}
