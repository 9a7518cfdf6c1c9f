/** The L5 notebook cells (SR-IOV) run against the engine, draw charts and fill tables. */
import { describe, expect, it } from 'vitest';
import { cellOutput as output, cellRows, expectWellFormedCell } from './cell-checks.ts';

const CELLS = ['l5-scaling.ts', 'l5-hairpin.ts'];

const rows = cellRows;

describe('notebook cells for L5 (SR-IOV)', () => {
  for (const f of CELLS) {
    it(`${f} runs without diagnostics and draws labelled plots with short category labels, summaries and a table`, () => {
      expectWellFormedCell(f, { maxCategoryLabel: 12 });
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
