/**
 * sriov-tx with path=bridge (scenarios/sriov-bridge.ts): VM-to-VM traffic through vhost-net and
 * the host's Linux bridge instead of the NIC's embedded switch — no wire, no PCIe, two copies per
 * frame in the host, far more host CPU than the hairpin for the same frames; path=vf (the
 * default) is today's sriov-tx exactly.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../lab-engine/scenarios/index.ts';
import type { Metrics } from '../../lab-engine/sim/types.ts';

const HOST = ['kvm', 'host-kernel', 'vhost', 'qemu'] as const;
/** Host CPU time over the run's window, ns (cores × window). */
const hostNs = (m: Metrics): number => HOST.reduce((s, c) => s + m.derived.cpu[c], 0) * m.windowNs;

describe('sriov-tx path=bridge', () => {
  const SIZE = 1518;
  const PACKETS = 6000;
  const bridge = runScenario('sriov-tx', { vms: 8, size: SIZE, packets: PACKETS, params: { path: 'bridge' } }).metrics;
  const hairpin = runScenario('sriov-tx', { vms: 8, size: SIZE, packets: PACKETS, params: { hairpin: true } }).metrics;

  it('delivers every frame VM to VM without touching the wire or the NIC\'s PCIe link', () => {
    expect(bridge.stop).toBe('done');
    expect(bridge.counters.packetsRx).toBe(PACKETS);
    expect(bridge.counters.packetsTx).toBe(0);
    expect(bridge.counters.drops).toBe(0);
    const u = bridge.derived.utilization;
    for (const r of ['wire', 'PCIe host→NIC', 'PCIe NIC→host']) expect(u[r] ?? 0).toBe(0);
    expect(bridge.counters.dmaOps).toBe(0);
    expect(bridge.derived.bottleneck).toMatch(/^(vhost-\d+|VM \d+ pCPU)$/);
  });

  it('copies each frame twice in the host (out of the sender, into the receiver)', () => {
    expect(bridge.counters.bytesCopied).toBe(2 * (SIZE - 4) * PACKETS);
    expect(hairpin.counters.bytesCopied).toBe(0);
  });

  it('costs far more host CPU than the hairpin for the same frames, charged to vhost, host-kernel and kvm', () => {
    expect(hostNs(bridge)).toBeGreaterThan(5 * hostNs(hairpin));
    expect(bridge.derived.cpu.vhost).toBeGreaterThan(0);
    expect(bridge.derived.cpu['host-kernel']).toBeGreaterThan(0);
    expect(bridge.derived.cpu.kvm).toBeGreaterThan(0);
    expect(bridge.counters.kicks).toBeGreaterThan(0);
  });

  it('is deterministic', () => {
    const a = runScenario('sriov-tx', { vms: 4, packets: 4000, seed: 3, params: { path: 'bridge' } });
    const b = runScenario('sriov-tx', { vms: 4, packets: 4000, seed: 3, params: { path: 'bridge' } });
    expect(a.traceHash).toBe(b.traceHash);
    expect(JSON.stringify(a.metrics)).toBe(JSON.stringify(b.metrics));
  });

  it('rejects an unknown path and a VF rate limit on the bridge', () => {
    expect(() => runScenario('sriov-tx', { params: { path: 'ovs' } })).toThrow(/path/);
    expect(() => runScenario('sriov-tx', { params: { path: 'bridge', rateMbps: 1000 } })).toThrow(/rateMbps/);
  });
});

describe('sriov-tx path=vf', () => {
  it('is the default: exactly the metrics and trace of a run without the parameter', () => {
    for (const hairpin of [false, true]) {
      const a = runScenario('sriov-tx', { vms: 4, packets: 4000, seed: 2, params: { hairpin } });
      const b = runScenario('sriov-tx', { vms: 4, packets: 4000, seed: 2, params: { hairpin, path: 'vf' } });
      expect(b.traceHash).toBe(a.traceHash);
      expect(JSON.stringify(b.metrics)).toBe(JSON.stringify(a.metrics));
    }
  });
});
