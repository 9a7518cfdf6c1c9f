/** The L5 notebook cells (SR-IOV) run against the engine, draw charts and fill tables. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runCell, type CellOutput } from '../../lab-engine/index.ts';

const DIR = new URL('../../content/cells/', import.meta.url);
const CELLS = ['l5-scaling.ts', 'l5-hairpin.ts'];

const outputs = new Map<string, CellOutput>();
function output(f: string): CellOutput {
  let out = outputs.get(f);
  if (!out) {
    out = runCell(readFileSync(new URL(f, DIR), 'utf8'));
    outputs.set(f, out);
  }
  return out;
}
const rows = (f: string): Record<string, number | string>[] => output(f).tables[0]!.rows;

describe('notebook cells for L5 (SR-IOV)', () => {
  for (const f of CELLS) {
    it(`${f} runs without diagnostics and draws labelled plots with short category labels, summaries and a table`, () => {
      const out = output(f);
      expect(out.diagnostics, f).toEqual([]);
      expect(out.plots.length, f).toBeGreaterThan(0);
      for (const p of out.plots) {
        expect(p.title.length).toBeGreaterThan(0);
        expect(p.x.label.length).toBeGreaterThan(0);
        expect(p.y.label.length).toBeGreaterThan(0);
        expect(p.summary ?? '', p.title).toMatch(/\d/);
        for (const v of p.x.values) expect(String(v).length, `${p.title}: '${v}' is too long for a bar label`).toBeLessThanOrEqual(12);
        for (const s of p.series) for (const v of s.values) expect(Number.isFinite(v), `${p.title} / ${s.label}`).toBe(true);
      }
      expect(out.tables[0]!.rows.length, f).toBeGreaterThan(0);
    });
  }

  it('l5-scaling: every mode holds the wire to 64 VMs; SR-IOV\'s host CPU grows 1–3 % of a core per VM and stays far below VMDq and vhost-net; VMDq off ≈ half (C11, C12)', () => {
    const r = rows('l5-scaling.ts');
    const at = (name: RegExp, vms: number): Record<string, number | string> => r.find((x) => name.test(String(x['set-up'])) && x.VMs === vms)!;
    for (const name of [/^SR-IOV/, /^VMDq \(/, /^vhost-net/]) for (const n of [1, 8, 32, 64]) expect(Number(at(name, n)['Gbit/s']), `${name} ${n}`).toBeGreaterThan(9.3);
    expect(at(/^SR-IOV/, 64).NIC).toBe('xl710');
    expect(at(/^SR-IOV/, 32).NIC).toBe('82599');
    const perVm = (Number(at(/^SR-IOV/, 64)['host cores']) - Number(at(/^SR-IOV/, 1)['host cores'])) / 63;
    expect(perVm).toBeGreaterThanOrEqual(0.01);
    expect(perVm).toBeLessThanOrEqual(0.03);
    for (const n of [8, 32, 64]) {
      expect(Number(at(/^SR-IOV/, n)['host cores'])).toBeLessThan(Number(at(/^VMDq \(/, n)['host cores']) / 2);
      expect(Number(at(/^SR-IOV/, n)['host cores'])).toBeLessThan(Number(at(/^vhost-net/, n)['host cores']) / 2);
    }
    const off = at(/switched off/, 8);
    expect(Number(off['Gbit/s'])).toBeGreaterThanOrEqual(4.2 * 0.9);
    expect(Number(off['Gbit/s'])).toBeLessThanOrEqual(4.2 * 1.1);
    expect(off.bottleneck).toBe('vSwitch thread (all VMs)');
  });

  it('l5-hairpin: out to the wire stops at the 10 GbE wire; the hairpin never touches the wire, loads PCIe equally both ways and, with enough VMs, beats the wire with PCIe as the bottleneck', () => {
    const r = rows('l5-hairpin.ts');
    const out = r.filter((x) => /^out/.test(String(x.path)));
    const hair = r.filter((x) => /^hairpin/.test(String(x.path)));
    expect(out.length).toBe(hair.length);
    for (const x of out) {
      expect(x.bottleneck).toBe('wire');
      expect(Number(x['Gbit/s'])).toBeLessThanOrEqual(10);
      expect(Number(x['PCIe NIC→host %'])).toBe(0);
    }
    for (const x of hair) {
      expect(Number(x['wire %'])).toBe(0);
      expect(Number(x['PCIe NIC→host %'])).toBeCloseTo(Number(x['PCIe host→NIC %']), 0);
    }
    const big = hair[hair.length - 1]!;
    expect(String(big.bottleneck)).toMatch(/^PCIe/);
    expect(Number(big['Gbit/s'])).toBeGreaterThan(2 * Number(out[out.length - 1]!['Gbit/s']));
    for (const x of [...out, ...hair]) expect(Number(x['host cores'])).toBeLessThan(0.05 * Number(x.VMs));
  });
});
