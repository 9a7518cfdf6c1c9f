/** The L2 and L3 notebook cells (virtio) run against the engine, draw charts and fill tables. */
import { describe, expect, it } from 'vitest';
import { cellOutput as output, cellRows, expectWellFormedCell } from './cell-checks.ts';

const CELLS = ['l2-event-idx.ts', 'l3-backends.ts'];


describe('notebook cells for L2 and L3 (paravirtual I/O)', () => {
  for (const f of CELLS) {
    it(`${f} runs without diagnostics and draws labelled plots with summaries and a table`, () => {
      expectWellFormedCell(f);
    });
  }

  it('l2-event-idx compares EVENT_IDX on and off for vhost-net and QEMU: kicks, exits and interrupts per packet', () => {
    const out = output('l2-event-idx.ts');
    const rows = out.tables[0]!.rows;
    for (const backend of ['vhost-net', 'QEMU']) {
      for (const ev of ['on', 'off']) expect(rows.some((r) => r.backend === backend && r.EVENT_IDX === ev), `${backend} ${ev}`).toBe(true);
    }
    for (const p of out.plots) {
      expect(p.type).toBe('bar');
      expect(p.series.map((s) => s.label)).toEqual(['kicks', 'VM exits', 'interrupts']);
      expect(p.x.values.length).toBe(4);
    }
    // Every configuration delivered its frames.
    for (const r of rows) expect(r.dropped, JSON.stringify(r)).toBe(0);
  });

  it('l3-backends compares e1000, virtio+QEMU, vhost-net and vhost-user at 64 B and 1518 B: exits, Mpps, Gbit/s, cores', () => {
    const out = output('l3-backends.ts');
    const rows = out.tables[0]!.rows;
    expect(new Set(rows.map((r) => r['frame (B)']))).toEqual(new Set([64, 1518]));
    for (const col of ['exits/packet', 'Mpps', 'Gbit/s', 'CPU cores']) expect(Object.keys(rows[0]!)).toContain(col);
    const setups = new Set(rows.map((r) => String(r.setup)));
    for (const s of ['e1000', 'QEMU', 'vhost-net', 'vhost-user']) expect([...setups].some((x) => x.includes(s)), s).toBe(true);
    // The 64 B packet-rate chart spans two orders of magnitude: it needs its log axis.
    const rate = out.plots.find((p) => /packet rate/.test(p.title))!;
    expect(rate.y.log).toBe(true);
    const mpps = rate.series[0]!.values;
    expect(Math.max(...mpps) / Math.min(...mpps)).toBeGreaterThan(10);
  });
});
