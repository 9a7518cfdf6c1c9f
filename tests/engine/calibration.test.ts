/**
 * Calibration as a test suite (DESIGN.md §7): one test per CALIBRATION.md row the emulation
 * model claims, running the scenario and asserting the metric lies in the row's range.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../lab-engine/index.ts';
import { COSTS } from '../../lab-engine/sim/costs.ts';
import { CLOCK_GHZ } from '../../lab-engine/sim/time.ts';

const ioExits = (m: ReturnType<typeof runScenario>['metrics']): number => m.counters.exitsTotal - (m.counters.exits.HLT ?? 0);

describe('CALIBRATION §1.1 processor transitions', () => {
  it('C1: hardware exit+entry ≈ 400–600 cycles', () => {
    const c = COSTS.exitHardware.ns * CLOCK_GHZ;
    expect(c).toBeGreaterThanOrEqual(400);
    expect(c).toBeLessThanOrEqual(600);
  });
  it('C2: a trivial exit handled in KVM ≈ 1,100–1,500 cycles', () => {
    const c = (COSTS.exitHardware.ns + COSTS.exitKvmHandler.ns) * CLOCK_GHZ;
    expect(c).toBeGreaterThanOrEqual(1100);
    expect(c).toBeLessThanOrEqual(1500);
  });
  it('C4: an MMIO exit to QEMU costs ≈ 3.1× an exit handled in the kernel (2.5–4×)', () => {
    const kernel = COSTS.exitHardware.ns + COSTS.exitKvmHandler.ns;
    const user = kernel + COSTS.mmioDecode.ns + COSTS.exitToUserKvm.ns + COSTS.qemuMmioDispatch.ns;
    expect(user / kernel).toBeGreaterThan(2.5);
    expect(user / kernel).toBeLessThan(4);
  });
});

describe('CALIBRATION §3.4 e1000 exits (emulation-tx, emulation-rr)', () => {
  it('each interrupt costs 5 MMIO exits to QEMU + 1 EOI exit (mitigation off: 7 exits per packet)', () => {
    const m = runScenario('emulation-tx', { packets: 400, size: 64, params: { mitigation: false } }).metrics;
    expect(m.stop).toBe('done');
    expect(m.counters.interruptsInjected).toBe(400);
    expect(m.counters.exits.EPT_MISCONFIG).toBe(400 * 6); // TDT + ICR, IMC, STATUS, IMS, STATUS
    expect(m.counters.exits.APIC_ACCESS).toBe(400); // EOI
    expect(m.counters.exitsToUser).toBe(400 * 6);
    expect(m.derived.exitsPerPacket).toBe(7);
  });

  it('request/response with mitigation: 7–8 I/O exits per transaction (1 TX + 6–7 on the interrupt path)', () => {
    const m = runScenario('emulation-rr', { packets: 300 }).metrics;
    expect(m.counters.transactions).toBe(300);
    const perTx = ioExits(m) / m.counters.transactions;
    expect(perTx).toBeGreaterThanOrEqual(7);
    expect(perTx).toBeLessThanOrEqual(8.2);
  });

  it('C17: with mitigation no two interrupts come closer than 500 × 256 ns (≤ 7,813 interrupts/s)', () => {
    for (const id of ['emulation-tx', 'emulation-rr', 'emulation-rx'] as const) {
      const m = runScenario(id, { packets: 600, params: id === 'emulation-rx' ? { offeredGbps: 3 } : {} }).metrics;
      expect(m.derived.minInterruptGapNs, id).toBeGreaterThanOrEqual(128_000);
      // N edges span N−1 gaps inside the window.
      expect((m.counters.interruptsRaised - 1) / (m.windowNs / 1e9), id).toBeLessThanOrEqual(7_813);
    }
  });

  it('C17: QEMU uses min(TADV×4, ITR) for TX causes: a higher ITR lowers the rate only once TADV allows it', () => {
    const capped = runScenario('emulation-rr', { packets: 200, params: { itr: 2000 } }).metrics;
    expect(capped.derived.minInterruptGapNs).toBeLessThan(2000 * 256); // TADV×4 = 128 < 2000 wins
    const slow = runScenario('emulation-rr', { packets: 200, params: { itr: 2000, tadv: 0 } }).metrics;
    expect(slow.derived.minInterruptGapNs).toBeGreaterThanOrEqual(2000 * 256);
    const off = runScenario('emulation-rr', { packets: 200, params: { mitigation: false } }).metrics;
    expect(off.derived.minInterruptGapNs).toBeLessThan(128_000);
    expect(off.latency!.p50Ns).toBeLessThan(slow.latency!.p50Ns);
  });

  it('bulk RX under mitigation: ~7,813 interrupts/s and ~6 exits per interrupt from the interrupt path', () => {
    const m = runScenario('emulation-rx', { packets: 3000, params: { offeredGbps: 3 } }).metrics;
    expect(m.derived.interruptsPerSec).toBeGreaterThan(7_000);
    const perInterrupt = ((m.counters.exits.EPT_MISCONFIG ?? 0) + (m.counters.exits.APIC_ACCESS ?? 0)) / m.counters.interruptsInjected;
    expect(perInterrupt).toBeGreaterThanOrEqual(6); // 5 MMIO + EOI (+ one RDT refill per poll)
    expect(perInterrupt).toBeLessThanOrEqual(7.5);
  });
});

describe('CALIBRATION §0 packet-rate ranges and §5 #10', () => {
  it('QEMU e1000 emulation moves 0.05–0.3 Mpps of 64 B frames, with and without mitigation', () => {
    for (const mitigation of [true, false]) {
      const m = runScenario('emulation-tx', { packets: 2000, size: 64, params: { mitigation } }).metrics;
      expect(m.derived.mpps, `mitigation=${mitigation}`).toBeGreaterThanOrEqual(0.05);
      expect(m.derived.mpps, `mitigation=${mitigation}`).toBeLessThanOrEqual(0.3);
    }
  });

  it('#10: the emulated "gigabit" NIC has no 1 Gbit/s limiter: 1518 B frames exceed 1 Gbit/s on a 10 GbE wire', () => {
    const m = runScenario('emulation-tx', { packets: 2000, size: 1518 }).metrics;
    expect(m.derived.throughputGbps).toBeGreaterThan(1);
    expect(m.derived.bottleneck).toBe('vCPU thread'); // bounded by exits and copies, not the wire
  });

  it('throughput is emergent: a 1 GbE wire becomes the bottleneck only when the vCPU is fast enough', () => {
    const fast = runScenario('emulation-tx', { packets: 2000, size: 1518, params: { wireGbps: 1 } }).metrics;
    expect(fast.derived.bottleneck).toBe('wire →peer');
    expect(fast.derived.throughputGbps).toBeLessThanOrEqual(1.0);
    const slow = runScenario('emulation-tx', { packets: 2000, size: 1518, params: { wireGbps: 1, mitigation: false } }).metrics;
    expect(slow.derived.bottleneck).toBe('vCPU thread');
    expect(slow.derived.throughputGbps).toBeLessThan(fast.derived.throughputGbps);
  });

  it('xmit_more batching (one TDT write per burst) cuts exits per packet', () => {
    const one = runScenario('emulation-tx', { packets: 1000, size: 64, params: { mitigation: false, burst: 1 } }).metrics;
    const eight = runScenario('emulation-tx', { packets: 1000, size: 64, params: { mitigation: false, burst: 8 } }).metrics;
    expect(eight.derived.exitsPerPacket).toBeLessThan(one.derived.exitsPerPacket / 3);
  });
});

describe('KVM with and without APICv (CALIBRATION §1.1, §3.8)', () => {
  it('without APICv an interrupt for a running vCPU costs a kick (EXTERNAL_INTERRUPT) and the EOI exits as APIC_ACCESS', () => {
    const m = runScenario('emulation-tx', { packets: 2000, size: 64 }).metrics;
    expect(m.counters.exits.EXTERNAL_INTERRUPT ?? 0).toBeGreaterThan(0);
    expect(m.counters.exits.APIC_ACCESS).toBe(m.counters.interruptsInjected);
    expect(m.counters.exits.EOI_INDUCED ?? 0).toBe(0);
  });
  it('with APICv the interrupt is posted (no kick exit) and the level-triggered EOI exits as EOI_INDUCED', () => {
    const m = runScenario('emulation-tx', { packets: 2000, size: 64, params: { apicv: true } }).metrics;
    expect(m.counters.exits.EXTERNAL_INTERRUPT ?? 0).toBe(0);
    expect(m.counters.exits.APIC_ACCESS ?? 0).toBe(0);
    expect(m.counters.exits.EOI_INDUCED).toBe(m.counters.interruptsInjected);
    // The five exits to QEMU per interrupt are untouched: APICv virtualizes the APIC, not the NIC.
    const off = runScenario('emulation-tx', { packets: 400, size: 64, params: { apicv: true, mitigation: false } }).metrics;
    expect(off.counters.exits.EPT_MISCONFIG).toBe(400 * 6);
  });
});
