/** Live migration: determinism and properties over random options (fast-check). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { runMigration, runScenario, type MigrationModel } from '../../lab-engine/index.ts';

const LOGGED: MigrationModel[] = ['emulation', 'virtio-qemu', 'vhost-net', 'vhost-user', 'failover', 'vfio-migration'];

describe('determinism', () => {
  it('same seed ⇒ identical report and trace hash; different seeds differ', () => {
    const opts = { model: 'vhost-net' as const, memMiB: 1024, wssMiB: 128, dirtyMBps: 300 };
    const a = runMigration({ ...opts, seed: 7 });
    const b = runMigration({ ...opts, seed: 7 });
    const c = runMigration({ ...opts, seed: 8 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(c));
    expect(a.rounds[0]!.dirtiedDuring).not.toBe(c.rounds[0]!.dirtiedDuring);
    const s1 = runScenario('migrate', { seed: 3, params: { model: 'failover', memMiB: 512, wssMiB: 64 } });
    const s2 = runScenario('migrate', { seed: 3, params: { model: 'failover', memMiB: 512, wssMiB: 64 } });
    expect(s1.traceHash).toBe(s2.traceHash);
    expect(JSON.stringify(s1.metrics)).toBe(JSON.stringify(s2.metrics));
  });
});

describe('properties over options in range', () => {
  // The ranges are the accepted ones (MIGRATION_LIMITS) narrowed where only run time grows: RAM up
  // to 1 GiB and 12 rounds keep 40 runs to a couple of seconds; the 64 GiB and long-run cases
  // have their own tests in migration.test.ts.
  it('downtime ≤ totalMs, transferred ≥ memory, completed ⇒ downtime ≤ limit, pagesMismatched = 0 for logged models', () => {
    fc.assert(
      fc.property(
        fc.record({
          model: fc.constantFrom(...LOGGED),
          seed: fc.integer({ min: 0, max: 0xffffffff }),
          memMiB: fc.integer({ min: 64, max: 1024 }),
          wssFrac: fc.double({ min: 0, max: 1, noNaN: true }),
          dirtyMBps: fc.integer({ min: 0, max: 1500 }),
          linkGbps: fc.constantFrom(1, 2.5, 10, 25, 100),
          downtimeLimitMs: fc.integer({ min: 5, max: 1000 }),
          maxRounds: fc.integer({ min: 1, max: 12 }),
          trafficGbps: fc.constantFrom(0, 0.5, 1, 5),
          autoConverge: fc.boolean(),
          postcopy: fc.boolean(),
        }),
        ({ wssFrac, ...o }) => {
          const r = runMigration({ ...o, wssMiB: Math.max(1, Math.floor(o.memMiB * wssFrac)) });
          expect(r.outcome).not.toBe('refused');
          expect(r.downtimeMs).toBeLessThanOrEqual(r.totalMs);
          expect(r.outageMs).toBeGreaterThanOrEqual(0);
          expect(r.transferredMiB).toBeGreaterThanOrEqual(o.memMiB); // round 1 sends every page the guest holds
          expect(r.pagesMismatched).toBe(0);
          expect(r.rounds.length).toBeLessThanOrEqual(o.maxRounds);
          if (r.outcome === 'completed') {
            expect(r.downtimeMs).toBeGreaterThan(0);
            expect(r.downtimeMs).toBeLessThanOrEqual(o.downtimeLimitMs);
            expect(r.outageMs).toBeGreaterThanOrEqual(r.downtimeMs);
          } else {
            expect(r.rounds.length).toBe(o.maxRounds);
            expect(r.expectedDowntimeMs).toBeGreaterThan(o.downtimeLimitMs);
            expect(r.downtimeMs).toBe(0);
          }
          for (const round of r.rounds) {
            expect(round.pagesSent).toBeGreaterThanOrEqual(0);
            expect(round.remainingDirty).toBeLessThanOrEqual((o.memMiB * 1024) / 4);
          }
        },
      ),
      { numRuns: 40, seed: 20261202 },
    );
  });
});
