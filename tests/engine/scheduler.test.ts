import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Scheduler, Priority } from '../../lab-engine/sim/scheduler.ts';

describe('Scheduler', () => {
  it('runs events in (time, priority, insertion) order', () => {
    const s = new Scheduler();
    const seen: string[] = [];
    s.schedule(10, () => seen.push('b'));
    s.schedule(10, () => seen.push('a-hw'), Priority.Hardware);
    s.schedule(5, () => seen.push('first'));
    s.schedule(10, () => seen.push('c'));
    expect(s.run()).toBe('empty');
    expect(seen).toEqual(['first', 'a-hw', 'b', 'c']);
    expect(s.now).toBe(10);
  });

  it('stops at `until` and at the event budget, and skips cancelled events', () => {
    const s = new Scheduler();
    let n = 0;
    const tick = (): void => {
      n++;
      s.schedule(100, tick);
    };
    s.schedule(0, tick);
    const dead = s.schedule(50, () => {
      throw new Error('cancelled event ran');
    });
    s.cancel(dead);
    expect(s.run({ until: 1_000 })).toBe('until');
    expect(n).toBe(11);
    expect(s.run({ maxEvents: 15 })).toBe('budget');
    expect(s.events).toBe(15);
  });

  it('rejects negative or fractional delays (an engine bug, not a learner error)', () => {
    const s = new Scheduler();
    expect(() => s.schedule(-1, () => {})).toThrow(/bad delay/);
    expect(() => s.schedule(0.5, () => {})).toThrow(/bad delay/);
  });

  it('property: any set of delays is processed in non-decreasing time, ties in insertion order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2 })), { maxLength: 200 }), (items) => {
        const s = new Scheduler();
        const out: [number, number, number][] = [];
        items.forEach(([d, p], i) => s.schedule(d, () => out.push([s.now, p, i]), p));
        s.run();
        expect(out.length).toBe(items.length);
        for (let i = 1; i < out.length; i++) {
          const [t0, p0, i0] = out[i - 1]!;
          const [t1, p1, i1] = out[i]!;
          expect(t0 < t1 || (t0 === t1 && (p0 < p1 || (p0 === p1 && i0 < i1)))).toBe(true);
        }
      }),
    );
  });
});
