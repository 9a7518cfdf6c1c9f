import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../lab-engine/sim/rng.ts';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { wireTime, copyCost, COSTS } from '../../lab-engine/sim/costs.ts';
import { hashText } from '../../lab-engine/sim/hash.ts';

describe('Rng', () => {
  it('is a pure function of the seed, and forks are independent streams', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(new Rng(43).u32()).not.toBe(new Rng(42).u32());
    const f1 = new Rng(7).fork('peer');
    const parent = new Rng(7);
    parent.u32(); // drawing from the parent does not shift a fork
    expect(parent.fork('peer').u32()).toBe(f1.u32());
  });

  it('property: int(lo, hi) stays in range', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (seed, lo, span) => {
        const r = new Rng(seed >>> 0);
        for (let i = 0; i < 20; i++) {
          const v = r.int(lo, lo + span);
          expect(v >= lo && v <= lo + span && Number.isInteger(v)).toBe(true);
        }
      }),
    );
  });
});

describe('GuestMemory', () => {
  it('is little-endian and zero where untouched', () => {
    const m = new GuestMemory(1 << 20);
    expect(m.read32(0x1000)).toBe(0);
    m.write64(0x10, 0x1_2345_6789);
    expect([...m.read(0x10, 8)]).toEqual([0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0]);
    expect(m.read64(0x10)).toBe(0x1_2345_6789);
    expect(m.pagesTouched).toBe(1);
  });

  it('property: writes across page boundaries read back intact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60_000 }), fc.uint8Array({ minLength: 1, maxLength: 9000 }), (gpa, bytes) => {
        const m = new GuestMemory(1 << 20);
        m.write(gpa, bytes);
        expect(m.read(gpa, bytes.length)).toEqual(bytes);
      }),
      { numRuns: 50 },
    );
  });

  it('knows its bounds', () => {
    const m = new GuestMemory(4096);
    expect(m.contains(0, 4096)).toBe(true);
    expect(m.contains(1, 4096)).toBe(false);
    expect(m.contains(-1, 1)).toBe(false);
  });
});

describe('cost helpers', () => {
  it('line-rate arithmetic matches CALIBRATION C15/C16', () => {
    // C15: 64 B at 10 GbE = 84 B on the wire = 67.2 ns → 14.88 Mpps.
    expect(wireTime(64, 10)).toBe(68); // ceil(67.2)
    expect(1e9 / ((64 + 20) * 8 / 10)).toBeCloseTo(14.88e6, -4);
    // C16: 1518 B frames (1500 MTU) → 812,744 frames/s at 10 GbE.
    expect(Math.round(10e9 / ((1518 + 20) * 8))).toBe(812_744);
    expect(wireTime(1518, 10)).toBe(1231); // ceil(1230.4)
  });

  it('copies cost per 64-byte line', () => {
    expect(copyCost(1)).toBe(COSTS.copyPer64B.ns);
    expect(copyCost(1500)).toBe(24 * COSTS.copyPer64B.ns);
  });

  it('every cost entry names its source', () => {
    for (const [name, e] of Object.entries(COSTS)) {
      expect(e.source.length, name).toBeGreaterThan(5);
      expect(Number.isInteger(e.ns), name).toBe(true);
    }
  });

  it('hashText is stable', () => {
    expect(hashText('iov')).toBe(hashText('iov'));
    expect(hashText('iov')).not.toBe(hashText('iow'));
    expect(hashText('')).toMatch(/^[0-9a-f]{16}$/);
  });
});
