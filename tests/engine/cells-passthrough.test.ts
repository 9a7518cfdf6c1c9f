/** The L4 notebook cells (device assignment) run against the engine, draw charts and fill tables. */
import { describe, expect, it } from 'vitest';
import { cellOutput as output, cellRows, expectWellFormedCell } from './cell-checks.ts';

const CELLS = ['l4-posted-interrupts.ts', 'l4-iotlb-pages.ts', 'l4-invalidation.ts'];

const rows = cellRows;

describe('notebook cells for L4 (device assignment)', () => {
  for (const f of CELLS) {
    it(`${f} runs without diagnostics and draws labelled plots with short category labels, summaries and a table`, () => {
      expectWellFormedCell(f, { maxCategoryLabel: 12 });
    });
  }

  it('l4-posted-interrupts: bare metal, remapped, APICv, posted — ≈ 2, ≈ 1 and 0 exits per interrupt; posted ≥ 97 % of bare metal', () => {
    const r = rows('l4-posted-interrupts.ts').filter((x) => x['ITR (µs)'] === 20);
    const get = (name: RegExp): Record<string, number | string> => r.find((x) => name.test(String(x['set-up'])))!;
    expect(get(/remapped/)['exits/interrupt']).toBeCloseTo(2, 0);
    expect(get(/APICv$/)['exits/interrupt']).toBeCloseTo(1, 0);
    expect(get(/posted/)['exits/interrupt']).toBe(0);
    expect(get(/bare/)['exits/s']).toBe(0);
    expect(Number(get(/posted/)['% of bare metal'])).toBeGreaterThanOrEqual(97);
    expect(Number(get(/posted/)['MSI → handler (µs)'])).toBeLessThan(Number(get(/remapped/)['MSI → handler (µs)']));
  });

  it('l4-iotlb-pages: 4 KiB pages miss once per new page once the ring outgrows the IOTLB, 2 MiB almost never; the wall at 100 Gbit/s', () => {
    const r = rows('l4-iotlb-pages.ts');
    const at = (pages: string, ring: number, link: number): Record<string, number | string> => r.find((x) => x['IOMMU pages'] === pages && x['ring (buffers)'] === ring && x['link (Gbit/s)'] === link)!;
    expect(Number(at('4 KiB', 1024, 10)['IOTLB misses/packet'])).toBeCloseTo(0.5, 1);
    expect(Number(at('4 KiB', 64, 10)['IOTLB misses/packet'])).toBeLessThan(0.05);
    expect(Number(at('2 MiB', 1024, 10)['IOTLB misses/packet'])).toBeLessThan(0.01);
    expect(Number(at('4 KiB', 1024, 100)['Gbit/s'])).toBeLessThan(0.8 * Number(at('2 MiB', 1024, 100)['Gbit/s']));
  });

  it('l4-invalidation: bare metal in C7\'s order (strict < deferred < optimistic ≤ none) and every vIOMMU policy at or below bare metal', () => {
    const r = rows('l4-invalidation.ts');
    const f = (where: string, policy: string): number => Number(r.find((x) => x.where === where && x.policy === policy)!['% of line rate']);
    expect(f('bare metal', 'strict')).toBeLessThan(f('bare metal', 'deferred'));
    expect(f('bare metal', 'deferred')).toBeLessThan(f('bare metal', 'optimistic'));
    expect(f('bare metal', 'optimistic')).toBeLessThanOrEqual(f('bare metal', 'none') + 0.5);
    for (const p of ['strict', 'deferred']) expect(f('vIOMMU guest', p)).toBeLessThan(f('bare metal', p) / 2);
  });
});
