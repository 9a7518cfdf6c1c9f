/**
 * Determinism of the paravirtual scenarios (DESIGN.md §3): the same config + seed gives
 * byte-identical metrics and the same trace hash, for every backend and the knobs that change
 * the event flow; a different seed gives a different run (a different trace hash).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../lab-engine/index.ts';

const SCENARIOS = ['virtio-tx', 'virtio-rr', 'virtio-rx'] as const;
const CONFIGS: Record<string, number | string | boolean>[] = [
  { backend: 'qemu' },
  { backend: 'qemu', ioeventfd: false, eventIdx: false },
  { backend: 'vhost-net' },
  { backend: 'vhost-net', queues: 2, eventIdx: false },
  { backend: 'vhost-user' },
  { backend: 'vhost-user', guestPmd: true },
  { backend: 'xen-netback' },
  { backend: 'vmxnet3' },
];

describe('determinism of the virtio scenarios (DESIGN.md §3)', () => {
  for (const id of SCENARIOS) {
    it(`${id}: same seed ⇒ identical metrics JSON, trace and trace hash, for every backend`, () => {
      for (const params of CONFIGS) {
        const label = `${id} ${JSON.stringify(params)}`;
        const a = runScenario(id, { seed: 7, packets: 300, params });
        const b = runScenario(id, { seed: 7, packets: 300, params });
        expect(a.metrics.stop, label).toBe('done');
        expect(JSON.stringify(b.metrics), label).toBe(JSON.stringify(a.metrics));
        expect(b.traceHash, label).toBe(a.traceHash);
        expect(b.trace, label).toEqual(a.trace);
        expect(b.diagnostics, label).toEqual(a.diagnostics);
      }
    });
  }

  it('a run does not depend on what ran before it (interleaved scenarios give the same answers)', () => {
    const alone = runScenario('virtio-tx', { seed: 3, packets: 300, params: { backend: 'vhost-net' } });
    runScenario('virtio-rx', { seed: 9, packets: 200, params: { backend: 'qemu' } });
    runScenario('emulation-tx', { seed: 9, packets: 200 });
    const after = runScenario('virtio-tx', { seed: 3, packets: 300, params: { backend: 'vhost-net' } });
    expect(after.traceHash).toBe(alone.traceHash);
    expect(JSON.stringify(after.metrics)).toBe(JSON.stringify(alone.metrics));
  });

  for (const id of SCENARIOS) {
    it(`${id}: different seeds ⇒ different trace hashes, for every backend`, () => {
      for (const params of CONFIGS) {
        const label = `${id} ${JSON.stringify(params)}`;
        const a = runScenario(id, { seed: 1, packets: 300, params });
        const b = runScenario(id, { seed: 2, packets: 300, params });
        expect(b.metrics.seed, label).toBe(2);
        expect(b.traceHash, label).not.toBe(a.traceHash);
      }
    });
  }
});
