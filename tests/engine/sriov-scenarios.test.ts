/**
 * sriov-tx (scenarios/sriov.ts + sriov-tx.ts): VMs transmitting through their VFs — line rate on
 * the shared port, exit-less doorbells, the switch's per-VF rate limit and anti-spoofing on the
 * frames' real bytes, VF-to-VF hairpin that never reaches the wire and crosses PCIe twice.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../lab-engine/scenarios/index.ts';
import { runSriov, sriovDefaults } from '../../lab-engine/scenarios/sriov.ts';
import { STANDARD_PF_SETUP } from '../../lab-engine/scenarios/sriov-host.ts';

describe('sriov-tx', () => {
  it('1, 8 and 64 VMs fill the 10 GbE port; doorbells are posted writes (kicks), the only exits are HLT', () => {
    for (const [vms, nic] of [[1, '82599'], [8, '82599'], [64, 'xl710']] as const) {
      const m = runScenario('sriov-tx', { vms, params: { nic } }).metrics;
      expect(m.stop).toBe('done');
      expect(m.counters.packetsTx).toBe(20000);
      expect(m.derived.throughputGbps).toBeGreaterThanOrEqual(9.3);
      expect(m.derived.bottleneck).toBe('wire');
      expect(m.counters.exitsTotal).toBe(m.counters.exits.HLT ?? 0);
      expect(m.counters.kicks).toBeGreaterThan(0);
    }
  });

  it("the switch paces each VF at its max_tx_rate: 4 VMs × 1000 Mbit/s ≈ 4 Gbit/s", () => {
    const m = runScenario('sriov-tx', { vms: 4, params: { rateMbps: 1000 } }).metrics;
    expect(m.derived.throughputGbps).toBeGreaterThan(3.8);
    expect(m.derived.throughputGbps).toBeLessThan(4.2);
  });

  it('hairpin: VM-to-VM frames never reach the wire and cross PCIe twice, so PCIe is the bottleneck', () => {
    const m = runScenario('sriov-tx', { vms: 8, params: { hairpin: true } }).metrics;
    expect(m.stop).toBe('done');
    expect(m.counters.packetsTx).toBe(0);
    expect(m.counters.packetsRx).toBe(20000);
    expect(m.derived.throughputGbps).toBeGreaterThan(10);
    expect(m.derived.bottleneck).toMatch(/^PCIe/);
  });

  it('anti-spoofing drops the frames of a VF whose MAC the PF set differently, and counts them', () => {
    const { result, host } = runSriov({
      ...sriovDefaults(), scenario: 'sriov-tx', seed: 1, workload: 'tx', packets: 2000, size: 1518, vms: 2,
      pfSetup: (pf) => {
        STANDARD_PF_SETUP(pf);
        pf.driver.setVfMac(0, '52:54:00:99:99:99');
      },
    });
    expect(result.metrics.stop).toBe('done');
    expect(result.diagnostics.map((d) => d.code)).toContain('vf-mac-mismatch');
    expect(host.veb.stats.spoofed).toBe(1000);
    expect(result.metrics.counters.packetsTx).toBe(1000);
  });

  it('is deterministic', () => {
    const a = runScenario('sriov-tx', { vms: 8, packets: 4000, seed: 3, params: { hairpin: true } });
    const b = runScenario('sriov-tx', { vms: 8, packets: 4000, seed: 3, params: { hairpin: true } });
    expect(a.traceHash).toBe(b.traceHash);
    expect(JSON.stringify(a.metrics)).toBe(JSON.stringify(b.metrics));
  });
});
