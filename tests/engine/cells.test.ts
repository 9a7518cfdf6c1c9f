/** Every notebook cell shipped in content/cells runs against the engine and draws something. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const dir = mkdtempSync(join(tmpdir(), 'iovlab-cells-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/iovlab.d.ts'), CELL_API_DTS);
    for (const f of cells) writeFileSync(join(dir, 'src', f), readFileSync(new URL(f, DIR), 'utf8'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022'], types: [], module: 'ESNext', moduleResolution: 'Bundler', noUnusedLocals: false }, include: ['src'] }));
    const tsc = new URL('../../node_modules/typescript/bin/tsc', import.meta.url).pathname;
    let out = '';
    try {
      out = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
    } catch (e) {
      out = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(out.trim()).toBe('');
  });
});
