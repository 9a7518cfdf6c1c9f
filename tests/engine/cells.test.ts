/** Every notebook cell shipped in content/cells runs against the engine and draws something. */
import { typecheck } from '../typecheck.ts';
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { runCell, CELL_API_DTS } from '../../lab-engine/index.ts';

const DIR = new URL('../../content/cells/', import.meta.url);
const cells = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort() : [];

describe('notebook cells', () => {
  it('the course ships cells', () => expect(cells.length).toBeGreaterThanOrEqual(2));
  for (const f of cells) {
    it(`${f} runs without errors and plots`, () => {
      const out = runCell(readFileSync(new URL(f, DIR), 'utf8'));
      expect(out.diagnostics.filter((d) => d.severity === 'error'), f).toEqual([]);
      expect(out.plots.length, f).toBeGreaterThan(0);
      for (const p of out.plots) {
        expect(p.title.length).toBeGreaterThan(0);
        expect(p.x.label.length).toBeGreaterThan(0);
        expect(p.y.label.length).toBeGreaterThan(0);
      }
    });
  }

  it('cell errors come back as diagnostics with the line, never as exceptions', () => {
    const out = runCell("import { sim } from 'iovlab';\n\nsim('no-such-scenario');\n");
    expect(out.diagnostics[0]!.message).toMatch(/unknown scenario 'no-such-scenario'.*line 3/);
    expect(out.diagnostics[0]!.line).toBe(3);
    const bad = runCell("import { plot } from 'iovlab';\nplot({ type: 'line', title: 't', x: { label: 'x', values: [1, 2] }, y: { label: 'y' }, series: [{ label: 's', values: [1] }] });");
    expect(bad.diagnostics[0]!.message).toMatch(/series 's' has 1 values but x has 2/);
  });

  it('every cell type-checks against the declarations the editor gets (no false red squiggles)', () => {
    expect(typecheck(CELL_API_DTS, Object.fromEntries(cells.map((f) => [f, readFileSync(new URL(f, DIR), 'utf8')])))).toBe('');
  });
});
