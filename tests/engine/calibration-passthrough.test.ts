/**
 * Calibration of the passthrough model as a test suite (DESIGN.md §7): one test per CALIBRATION.md
 * row the passthrough-tx / -rx / -rr scenarios claim, each running the scenario and asserting the
 * measured metric lies in the row's range. Rows in the titles: §3.9 and §6 invariant 3 (exits per
 * interrupt), C5 (ELI), C6 (DID), C7 (vIOMMU, invalidation policies), §1.2 (IOTLB reach and miss
 * cost). Nothing is computed here but ratios of what the runs measured.
 */
import { describe, expect, it } from 'vitest';
import { runScenario, type Metrics, type ScenarioOptions } from '../../lab-engine/index.ts';

const cache = new Map<string, Metrics>();
function run(id: string, opts: ScenarioOptions = {}): Metrics {
  const key = `${id} ${JSON.stringify(opts)}`;
  let m = cache.get(key);
  if (!m) {
    const r = runScenario(id, { seed: 1, ...opts });
    expect(r.diagnostics.filter((d) => d.severity === 'error'), key).toEqual([]);
    m = r.metrics;
    cache.set(key, m);
  }
  return m;
}
/** The ELI/DID workload: passthrough-tx with its defaults (64 B, itr 20 µs, 4000 frames). */
const eli = (params: ScenarioOptions['params'] = {}): Metrics => run('passthrough-tx', { params });
const rx1518 = (params: ScenarioOptions['params'], packets = 4000): Metrics => run('passthrough-rx', { size: 1518, packets, params: { offeredGbps: 10, ...params } });

const nonIdleExits = (m: Metrics): number => m.counters.exitsTotal - (m.counters.exits.HLT ?? 0);
const perInterrupt = (m: Metrics, n: number): number => n / m.counters.interruptsInjected;
/** 10 GbE goodput of 1518 B frames (C16 arithmetic: 20 B of preamble, SFD and gap per frame). */
const LINE_1518 = (10 * 1518) / (1518 + 20);
const meanIrqLatency = (m: Metrics): number => m.counters.irqDeliveryNs / m.counters.interruptsInjected;

describe('§3.9 / §6 invariant 3: VM exits per interrupt of an assigned NIC', () => {
  it('the default workload keeps the vCPU running and delivers every frame', () => {
    for (const irq of ['remapped', 'apicv', 'posted']) {
      const m = eli({ irq });
      expect(m.stop).toBe('done');
      expect(m.counters.packetsTx).toBe(4000);
      expect(m.counters.interruptsInjected, irq).toBeGreaterThan(100);
    }
  });

  it('irq=remapped (no APICv): ≈ 2 exits per interrupt — EXTERNAL_INTERRUPT on arrival, APIC_ACCESS for the EOI', () => {
    const m = eli({ irq: 'remapped' });
    expect(perInterrupt(m, nonIdleExits(m))).toBeGreaterThanOrEqual(1.9);
    expect(perInterrupt(m, nonIdleExits(m))).toBeLessThanOrEqual(2.1);
    expect(perInterrupt(m, m.counters.exits.EXTERNAL_INTERRUPT ?? 0)).toBeCloseTo(1, 1);
    expect(perInterrupt(m, m.counters.exits.APIC_ACCESS ?? 0)).toBeCloseTo(1, 1);
  });

  it('irq=apicv (no VT-d posting): ≈ 1 exit per interrupt — the EOI of an edge MSI is virtualized', () => {
    const m = eli({ irq: 'apicv' });
    expect(perInterrupt(m, nonIdleExits(m))).toBeGreaterThanOrEqual(0.9);
    expect(perInterrupt(m, nonIdleExits(m))).toBeLessThanOrEqual(1.1);
    expect(m.counters.exits.APIC_ACCESS ?? 0).toBe(0);
  });

  it('irq=posted (VT-d PI + APICv): 0 exits per interrupt while the vCPU runs; only HLT when it idles', () => {
    const m = eli({ irq: 'posted' });
    expect(nonIdleExits(m)).toBe(0);
    expect(m.counters.postedInterrupts).toBeGreaterThanOrEqual(m.counters.interruptsInjected);
    // An idle receiver: each interrupt finds the vCPU halted — one HLT exit, no other.
    const idle = rx1518({ irq: 'posted', offeredGbps: 2 }, 2000);
    expect(Object.keys(idle.counters.exits)).toEqual(['HLT']);
    expect(perInterrupt(idle, idle.counters.exitsTotal)).toBeLessThanOrEqual(1.05);
  });

  it('data-path exits are 0 in every VFIO run (no EPT_MISCONFIG for doorbells), whatever the workload and mode', () => {
    for (const irq of ['remapped', 'apicv', 'posted']) {
      for (const m of [eli({ irq }), rx1518({ irq }), run('passthrough-rr', { packets: 200, params: { irq } })]) {
        expect(m.counters.exits.EPT_MISCONFIG ?? 0, `${m.scenario} ${irq}`).toBe(0);
        expect(m.counters.exits.IO_INSTRUCTION ?? 0, `${m.scenario} ${irq}`).toBe(0);
      }
    }
  });
});

describe('C5 (ELI): removing interrupt exits on a CPU-bound passthrough workload', () => {
  it('posted reaches ≥ 97 % of bare metal', () => {
    const bare = eli({ setup: 'baremetal' });
    const posted = eli({ irq: 'posted' });
    expect(bare.derived.bottleneck).toBe('CPU core');
    expect(posted.derived.bottleneck).toBe('vCPU thread');
    expect(posted.derived.mpps / bare.derived.mpps).toBeGreaterThanOrEqual(0.97);
  });

  it('posted is 1.3×–1.6× remapped (the exits and their indirect cost come back as throughput)', () => {
    const ratio = eli({ irq: 'posted' }).derived.mpps / eli({ irq: 'remapped' }).derived.mpps;
    expect(ratio).toBeGreaterThanOrEqual(1.3);
    expect(ratio).toBeLessThanOrEqual(1.6);
    // APICv alone (1 exit per interrupt) lies in between.
    const apicv = eli({ irq: 'apicv' }).derived.mpps;
    expect(apicv).toBeGreaterThan(eli({ irq: 'remapped' }).derived.mpps);
    expect(apicv).toBeLessThan(eli({ irq: 'posted' }).derived.mpps);
  });
});

describe('C6 (DID): direct interrupt delivery', () => {
  it('posted has ≥ 100× fewer VM exits than remapped on the same workload', () => {
    const posted = eli({ irq: 'posted' });
    const remapped = eli({ irq: 'remapped' });
    expect(remapped.counters.exitsTotal / Math.max(1, posted.counters.exitsTotal)).toBeGreaterThanOrEqual(100);
  });

  it('and lower interrupt delivery latency (device MSI → guest handler): at least −70 % (DID: −80 %)', () => {
    const posted = meanIrqLatency(eli({ irq: 'posted' }));
    const remapped = meanIrqLatency(eli({ irq: 'remapped' }));
    expect(posted).toBeLessThan(remapped);
    expect(1 - posted / remapped).toBeGreaterThanOrEqual(0.7);
  });
});

describe('C7 (Amit et al., vIOMMU): a 10 GbE receiver mapping every buffer through the IOMMU, 1518 B frames', () => {
  const bare = (dmaApi: string): number => rx1518({ setup: 'baremetal', dmaApi }).derived.throughputGbps / LINE_1518;
  it('bare metal, no DMA API: 100 % of line rate', () => expect(bare('none')).toBeGreaterThanOrEqual(0.99));
  it('strict invalidation (invalidate + wait on every unmap): ≈ 43 % of line rate (38–48 %)', () => {
    expect(bare('strict')).toBeGreaterThanOrEqual(0.38);
    expect(bare('strict')).toBeLessThanOrEqual(0.48);
  });
  it('deferred (Linux flush queue, 256 entries / 10 ms): ≈ 91 % (86–96 %)', () => {
    expect(bare('deferred')).toBeGreaterThanOrEqual(0.86);
    expect(bare('deferred')).toBeLessThanOrEqual(0.96);
  });
  it('optimistic teardown: ≈ 100 % (≥ 97 %)', () => expect(bare('optimistic')).toBeGreaterThanOrEqual(0.97));
  it('the same policies in a VFIO guest with a vIOMMU fall well below bare metal (every guest map and invalidation exits to QEMU)', () => {
    for (const dmaApi of ['strict', 'deferred']) {
      const guest = rx1518({ dmaApi }).derived.throughputGbps / LINE_1518;
      expect(guest, dmaApi).toBeLessThan(0.5 * bare(dmaApi));
      expect(rx1518({ dmaApi }).counters.exits.EPT_MISCONFIG ?? 0, dmaApi).toBeGreaterThan(0);
    }
    // Optimistic teardown reuses live mappings: the guest rarely exits (C7's fourth figure: 100 % for the guest).
    expect(rx1518({ dmaApi: 'optimistic' }).derived.throughputGbps / LINE_1518).toBeGreaterThanOrEqual(0.97);
  });
});

describe('§1.2 IOTLB reach: 4 KiB against 2 MiB IOMMU pages', () => {
  const ring = (hugepages: boolean): Metrics => rx1518({ ringSize: 1024, hugepages });
  it('a 1024-buffer receive ring (512 pages of 4 KiB, 64 IOTLB entries) misses about once per new page; 2 MiB pages almost never', () => {
    const small = ring(false);
    const huge = ring(true);
    const pkts = small.counters.packetsRx;
    // Two 2 KiB buffers per 4 KiB page: one miss per page is 0.5 per packet.
    expect(small.counters.iotlbMisses / pkts).toBeGreaterThanOrEqual(0.45);
    expect(small.counters.iotlbMisses / pkts).toBeLessThanOrEqual(0.55);
    expect(small.counters.iommuWalkReads / small.counters.iotlbMisses).toBeCloseTo(4, 1); // four levels per 4 KiB miss
    expect(huge.counters.iotlbMisses / huge.counters.packetsRx).toBeLessThan(0.01);
  });

  it('at 100 Gbit/s with a poll-mode driver, 4 KiB mappings lose throughput to the NIC\'s DMA engine; 2 MiB do not', () => {
    const at100 = (hugepages: boolean): Metrics => rx1518({ ringSize: 1024, hugepages, pmd: true, wireGbps: 100, offeredGbps: 100 });
    const small = at100(false);
    const huge = at100(true);
    expect(small.derived.bottleneck).toBe('NIC DMA engine');
    expect(small.derived.throughputGbps).toBeLessThan(0.8 * huge.derived.throughputGbps);
    expect(huge.derived.throughputGbps).toBeGreaterThanOrEqual(0.95 * (100 * 1518) / 1538);
    // At 10 GbE the same 4 KiB misses cost nothing visible: the wire is the limit.
    expect(ring(false).derived.throughputGbps).toBeGreaterThanOrEqual(0.99 * LINE_1518);
  });
});

describe('§0 "SR-IOV VF with DPDK: line rate (14.88 Mpps at 10 G)" and C15: a poll-mode driver on an assigned NIC', () => {
  const pmd64 = (params: ScenarioOptions['params']): Metrics => run('passthrough-tx', { size: 64, packets: 20_000, params: { pmd: true, ...params } });
  it('with 2 MiB pages a DPDK-like PMD fills 10 GbE with 64 B frames (≥ 95 % of 14.88 Mpps), on the wire, like bare metal', () => {
    const vm = pmd64({ hugepages: true });
    const bare = pmd64({ setup: 'baremetal' });
    expect(vm.derived.mpps).toBeGreaterThanOrEqual(0.95 * 14.88);
    expect(vm.derived.mpps).toBeLessThanOrEqual(14.88);
    expect(vm.derived.bottleneck).toBe('wire →peer');
    expect(vm.derived.mpps / bare.derived.mpps).toBeGreaterThan(0.98);
    expect(vm.counters.exitsTotal - (vm.counters.exits.HLT ?? 0)).toBe(0);
    // one doorbell per burst of 32, not per frame
    expect(vm.counters.kicks).toBeLessThan(vm.counters.packetsTx / 16);
  });
  it('with 4 KiB pages the same PMD is held back by the NIC\'s DMA engine walking the IOMMU; a kernel driver is CPU-bound at 1–3 Mpps', () => {
    const small = pmd64({});
    const kernel = run('passthrough-tx', { size: 64, packets: 20_000, params: { hugepages: true } });
    expect(small.derived.bottleneck).toBe('NIC DMA engine');
    expect(small.derived.mpps).toBeLessThan(0.5 * 14.88);
    // the kernel driver is CPU-bound in the guest (C: "VF with a kernel driver: ~1–3 Mpps per queue")
    expect(kernel.derived.mpps).toBeGreaterThan(0.8);
    expect(kernel.derived.mpps).toBeLessThan(3);
  });
});

describe('determinism (DESIGN.md §3): same seed ⇒ same trace hash and metrics, twice', () => {
  // The last column: does the seed change the run? (Seeded TX buffer slots show through IOTLB misses
  // under VFIO; with the DMA API on bare metal the NIC sees recycled IOVAs, so nothing seeded remains.)
  const cases: [string, ScenarioOptions, boolean][] = [
    ['passthrough-tx', { packets: 500, params: { irq: 'remapped' } }, true],
    ['passthrough-tx', { packets: 500, params: { setup: 'baremetal', dmaApi: 'deferred' } }, false],
    ['passthrough-rx', { packets: 500, params: { dmaApi: 'strict' } }, true],
    ['passthrough-rx', { packets: 500, params: { pmd: true, hugepages: true } }, true],
    ['passthrough-rr', { packets: 100, params: { irq: 'posted' } }, true],
  ];
  for (const [id, opts, seeded] of cases) {
    it(`${id} ${JSON.stringify(opts.params)}`, () => {
      const a = runScenario(id, { seed: 5, ...opts });
      const b = runScenario(id, { seed: 5, ...opts });
      expect(b.traceHash).toBe(a.traceHash);
      expect(JSON.stringify(b.metrics)).toBe(JSON.stringify(a.metrics));
      const c = runScenario(id, { seed: 6, ...opts });
      if (seeded) expect(c.traceHash).not.toBe(a.traceHash); // seeded frame slots, arrival jitter, peer service time
    });
  }
});
