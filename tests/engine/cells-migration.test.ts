/** The L6 notebook cells (live migration) run against the engine, draw charts and fill tables. */
import { describe, expect, it } from 'vitest';
import { cellOutput, cellRows, expectWellFormedCell } from './cell-checks.ts';

const CELLS = ['l6-downtime.ts', 'l6-failover.ts'];

describe('notebook cells for L6 (live migration)', () => {
  for (const f of CELLS) {
    it(`${f} runs without diagnostics and draws labelled plots with short category labels, summaries and a table`, () => {
      expectWellFormedCell(f, { maxCategoryLabel: 12 });
    });
  }

  it('l6-downtime: every model completes at low dirty rates and stops converging at high ones; the NIC model barely moves the downtime; every completed run respects the 300 ms limit', () => {
    const rows = cellRows('l6-downtime.ts');
    const models = [...new Set(rows.map((r) => String(r.model)))];
    expect(models.length).toBe(5);
    for (const m of models) {
      const mine = rows.filter((r) => r.model === m);
      expect(mine[0]!.outcome, m).toBe('completed');
      expect(mine[mine.length - 1]!.outcome, m).toBe('not-converged');
      expect(Number(mine[mine.length - 1]!['needed ms']), m).toBeGreaterThan(300);
      for (const r of mine) {
        if (r.outcome === 'completed') expect(Number(r['downtime ms'])).toBeLessThanOrEqual(300);
        else expect(Number(r['downtime ms'])).toBe(0);
      }
      // Total time grows with the dirty rate (more rounds, then the cell's 15 rounds before giving up).
      expect(Number(mine[mine.length - 1]!['total s'])).toBeGreaterThan(Number(mine[0]!['total s']));
    }
    const low = rows.filter((r) => r['dirty MB/s'] === 50).map((r) => Number(r['downtime ms']));
    expect(Math.max(...low) - Math.min(...low)).toBeLessThan(10);
    const plot = cellOutput('l6-downtime.ts').plots[0]!;
    expect(plot.summary).toMatch(/stops converging at \d+ MB\/s/);
    const rounds = cellOutput('l6-downtime.ts').plots[2]!;
    const limitLine = rounds.series.find((x) => /fits/.test(x.label))!.values[0]!;
    const worst = rounds.series.find((x) => x.label === '3000 MB/s')!.values;
    expect(worst[worst.length - 1]!).toBeGreaterThan(limitLine); // never fits: not converged
    const easy = rounds.series.find((x) => x.label === '50 MB/s')!.values;
    expect(easy[0]!).toBeLessThan(limitLine); // fits after round 1: switched over
    expect(easy.slice(1).every((v) => v === 0)).toBe(true);
  });

  it('l6-failover: a VF alone is refused with four reasons; failover completes with a longer outage than plain virtio at nearly the same downtime', () => {
    const rows = cellRows('l6-failover.ts');
    const by = (re: RegExp): Record<string, number | string> => rows.find((r) => re.test(String(r['set-up'])))!;
    const vf = by(/^SR-IOV VF/);
    const fo = by(/failover/);
    const vio = by(/^virtio-net/);
    const vfio = by(/^VFIO/);
    expect(vf.outcome).toBe('refused');
    expect(String(vf.why).split(' / ').length).toBe(4);
    expect(fo.outcome).toBe('completed');
    expect(vio.outcome).toBe('completed');
    expect(vfio.outcome).toBe('completed');
    expect(Number(fo['outage ms'])).toBeGreaterThan(Number(vio['outage ms']) + 30);
    expect(Math.abs(Number(fo['downtime ms']) - Number(vio['downtime ms']))).toBeLessThan(20);
    expect(Number(vfio['device state B'])).toBeGreaterThan(1024 * 1024);
    expect(Number(fo['frames lost'])).toBeGreaterThan(Number(vio['frames lost']));
  });
});
