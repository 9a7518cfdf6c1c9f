/**
 * What every notebook cell test asks of a cell (tests/engine/cells-*.test.ts): it runs once per
 * file (outputs cached), with no diagnostics, draws plots with titles, axis labels and a summary
 * computed from the run, only finite values (positive ones on a log axis), short category labels
 * where asked, and at least one table.
 */
import { expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { runCell, type CellOutput } from '../../lab-engine/index.ts';

const DIR = new URL('../../content/cells/', import.meta.url);
const outputs = new Map<string, CellOutput>();

/** The cell content/cells/<file>'s output (run once per test file). */
export function cellOutput(file: string): CellOutput {
  let out = outputs.get(file);
  if (!out) {
    out = runCell(readFileSync(new URL(file, DIR), 'utf8'));
    outputs.set(file, out);
  }
  return out;
}

/** The first table's rows of a cell. */
export const cellRows = (file: string): Record<string, number | string>[] => cellOutput(file).tables[0]!.rows;

export function expectWellFormedCell(file: string, opts: { maxCategoryLabel?: number } = {}): void {
  const out = cellOutput(file);
  expect(out.diagnostics, file).toEqual([]);
  expect(out.plots.length, file).toBeGreaterThan(0);
  for (const p of out.plots) {
    expect(p.title.length).toBeGreaterThan(0);
    expect(p.x.label.length).toBeGreaterThan(0);
    expect(p.y.label.length).toBeGreaterThan(0);
    expect(p.summary ?? '', p.title).toMatch(/\d/); // computed from the run, not canned
    if (opts.maxCategoryLabel !== undefined) {
      for (const v of p.x.values) expect(String(v).length, `${p.title}: '${v}' is too long for a bar label`).toBeLessThanOrEqual(opts.maxCategoryLabel);
    }
    for (const s of p.series) {
      for (const v of s.values) {
        expect(Number.isFinite(v), `${p.title} / ${s.label}`).toBe(true);
        if (p.y.log) expect(v, `${p.title} / ${s.label}: a log axis cannot show ${v}`).toBeGreaterThan(0);
      }
    }
  }
  expect(out.tables.length, file).toBeGreaterThan(0);
  expect(out.tables[0]!.rows.length, file).toBeGreaterThan(0);
}
