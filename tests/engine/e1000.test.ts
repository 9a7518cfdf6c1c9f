/**
 * The e1000 model from the driver's side (STYLE.md §3.10): byte layouts, register semantics, and
 * a property test that the built-in (QEMU-like) transmit path delivers every frame intact for
 * random ring sizes, starting indices, frame sizes and descriptor chains.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GuestMemory } from '../../lab-engine/hw/memory.ts';
import { E1000Driver } from '../../lab-engine/guest/e1000-driver.ts';
import { FrameMaker } from '../../lab-engine/guest/frames.ts';
import { E1000 } from '../../lab-engine/hw/e1000/device.ts';
import * as R from '../../lab-engine/hw/e1000/regs.ts';
import { Meter, type HostEnv } from '../../lab-engine/hv/host.ts';
import { Scheduler } from '../../lab-engine/sim/scheduler.ts';
import { MetricsRecorder } from '../../lab-engine/sim/metrics.ts';
import { Trace } from '../../lab-engine/sim/trace.ts';
import { Rng } from '../../lab-engine/sim/rng.ts';
import { runEmulation, defaultLayout } from '../../lab-engine/scenarios/emulation.ts';

function env(): HostEnv {
  return { sched: new Scheduler(), metrics: new MetricsRecorder(), trace: new Trace(10), rng: new Rng(1), diagnostics: [] };
}

describe('legacy TX descriptor layout (8254x SDM §3.3.3)', () => {
  it('the driver writes addr, length, CMD and a zero status where the manual puts them', () => {
    const mem = new GuestMemory(8 << 20);
    const d = new E1000Driver(mem, { ...defaultLayout(), txBase: 0x10000, txCount: 8, txStart: 6 });
    const frame = { pkt: 0, bytes: new Uint8Array(100).fill(0xab), fragments: [{ gpa: 0x20000, len: 40 }, { gpa: 0x30010, len: 60 }] };
    const task = d.xmit(frame, false);
    while (!task.next(0).done);
    const desc = (i: number) => [...mem.read(0x10000 + i * 16, 16)];
    // descriptor 6: first fragment, no EOP/RS; descriptor 7: last fragment with EOP|IFCS|RS|IDE.
    expect(desc(6)).toEqual([0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 40, 0, 0, 0x02, 0, 0, 0, 0]);
    expect(desc(7)).toEqual([0x10, 0x00, 0x03, 0, 0, 0, 0, 0, 60, 0, 0, 0x8b, 0, 0, 0, 0]);
    expect(d.nextToUse).toBe(0); // wrapped
    expect([...mem.read(0x30010, 60)].every((b) => b === 0xab)).toBe(true);
  });
});

describe('e1000 registers (QEMU e1000.c semantics)', () => {
  it('ICR is clear-on-read, IMS sets and IMC clears mask bits, and the line follows ICR & IMS', () => {
    const e = env();
    const dev = new E1000(e, new GuestMemory(1 << 20), { mitigation: false });
    const edges: boolean[] = [];
    dev.onLine = (level) => edges.push(level);
    const m = new Meter(e, e.metrics.resource('t'), 0);
    dev.mmioWrite(R.E1000_IMS, R.E1000_ICR_TXDW | R.E1000_ICR_RXT0, m);
    expect(dev.mmioRead(R.E1000_IMS, m)).toBe(R.E1000_ICR_TXDW | R.E1000_ICR_RXT0);
    dev.mmioWrite(R.E1000_IMC, R.E1000_ICR_RXT0, m);
    expect(dev.mmioRead(R.E1000_IMS, m)).toBe(R.E1000_ICR_TXDW);
    dev.mmioWrite(R.E1000_ICS, R.E1000_ICR_RXT0, m); // masked cause: line stays low
    expect(edges).toEqual([]);
    dev.mmioWrite(R.E1000_ICS, R.E1000_ICR_TXDW, m);
    expect(edges).toEqual([true]);
    expect(dev.mmioRead(R.E1000_ICR, m)).toBe(R.E1000_ICR_TXDW | R.E1000_ICR_RXT0);
    expect(edges).toEqual([true, false]);
    expect(dev.mmioRead(R.E1000_ICR, m)).toBe(0);
    expect(dev.mmioRead(R.E1000_STATUS, m) & R.E1000_STATUS_LU).toBeTruthy();
  });

  it('QEMU mitigation: the first edge goes at once, the next waits ≥ 500 × 256 ns', () => {
    const e = env();
    const dev = new E1000(e, new GuestMemory(1 << 20), { mitigation: true });
    const edges: [boolean, number][] = [];
    dev.onLine = (level, at) => edges.push([level, at]);
    dev.runOnMainLoop = (at, job) => e.sched.at(at, () => job(new Meter(e, e.metrics.resource('main'), e.sched.now)));
    const m = new Meter(e, e.metrics.resource('t'), 0);
    dev.mmioWrite(R.E1000_IMS, R.E1000_ICR_TXDW, m);
    dev.setCause(R.E1000_ICR_TXDW);
    dev.raiseMitigated(m);
    dev.mmioRead(R.E1000_ICR, m); // guest acks
    dev.setCause(R.E1000_ICR_TXDW);
    dev.raiseMitigated(m); // inside the window: held
    expect(edges.filter(([l]) => l).length).toBe(1);
    e.sched.run();
    const ups = edges.filter(([l]) => l).map(([, t]) => t);
    expect(ups.length).toBe(2);
    expect(ups[1]! - ups[0]!).toBeGreaterThanOrEqual(128_000);
  });
});

describe('built-in transmit path (property)', () => {
  it('regression (found by the property below): a deferred doorbell with a full ring does not strand the guest', () => {
    const maker = new FrameMaker(new Rng(0), 8 << 20, 1024, 49);
    const sizes = new Rng(0x55);
    const { result } = runEmulation({
      scenario: 'regression', seed: 0, workload: 'tx', packets: 34, size: 1518, mitigation: true, itr: 0, tadv: 32, burst: 2,
      wireGbps: 10, offeredGbps: 1, ramBytes: 64 << 20, layout: { txCount: 64, txStart: 0 },
      makeFrame: (pkt) => maker.make(pkt, sizes.int(60, 1514), 'random'), untilNs: 1e9,
    });
    expect(result.metrics.stop).toBe('done');
  });

  it('delivers every frame intact and in order for random rings, starts, sizes and chains', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(8, 16, 64, 256),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffffffff }),
        (txCount, startRaw, packets, multi, burst, mitigation, seed) => {
          const maker = new FrameMaker(new Rng(seed), 8 << 20, 1024, multi);
          const sizes = new Rng(seed ^ 0x55);
          const sent: Uint8Array[] = [];
          const got: Uint8Array[] = [];
          const { result } = runEmulation({
            scenario: 'prop', seed, workload: 'tx', packets, size: 1518, mitigation, itr: 0, tadv: 32, burst,
            wireGbps: 10, offeredGbps: 1, ramBytes: 64 << 20,
            layout: { txCount, txStart: startRaw % txCount },
            makeFrame: (pkt) => maker.make(pkt, sizes.int(60, 1514), 'random'),
            onGuestFrameSent: (f) => sent.push(f.bytes.slice()),
            onFrameToPeer: (b) => got.push(b),
            untilNs: 1e9,
          });
          expect(result.metrics.stop).toBe('done');
          expect(got.length).toBe(packets);
          for (let i = 0; i < packets; i++) expect(got[i]).toEqual(sent[i]);
        },
      ),
      { numRuns: 40 },
    );
  });
});
