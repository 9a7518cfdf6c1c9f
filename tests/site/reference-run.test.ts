import { describe, expect, it } from 'vitest';
import { describeOptions, formatMetric, pickMetric, runKey, toEngineOptions } from '../../src/lib/reference-run.ts';
import { runScenario } from '../../lab-engine/index.ts';

describe('toEngineOptions', () => {
  it('keeps engine keys and turns the rest into scenario parameters', () => {
    expect(toEngineOptions({ size: 64, packets: 2000 })).toEqual({ size: 64, packets: 2000 });
    expect(toEngineOptions({ size: 64, itr: 0, mitigation: false })).toEqual({ size: 64, params: { itr: 0, mitigation: false } });
    expect(toEngineOptions({ params: { itr: 0 }, burst: 4 })).toEqual({ params: { itr: 0, burst: 4 } });
  });
  it('rejects wrong types with the option name', () => {
    expect(() => toEngineOptions({ size: '64' })).toThrow(/'size'/);
    expect(() => toEngineOptions({ nested: { a: 1 } })).toThrow(/'nested'/);
  });
});

describe('pickMetric / formatMetric', () => {
  const m = { derived: { exitsPerPacket: 1.2849, cpu: { qemu: 0.5 } }, counters: { exitsTotal: 2566, exits: { mmio: 12 } }, latency: { p99: 12345.6 }, params: { itr: 0 } };
  it('looks a bare name up in derived, counters, latency, busyNs, params; or follows a dotted path', () => {
    expect(pickMetric(m, 'exitsPerPacket')).toBe(1.2849);
    expect(pickMetric(m, 'exitsTotal')).toBe(2566);
    expect(pickMetric(m, 'p99')).toBe(12345.6);
    expect(pickMetric(m, 'itr')).toBe(0);
    expect(pickMetric(m, 'counters.exits.mmio')).toBe(12);
    expect(pickMetric(m, 'cpu.qemu')).toBe(0.5);
    expect(pickMetric(m, 'nope')).toBeUndefined();
  });
  it('formats numbers for a table', () => {
    expect(formatMetric(1.2849)).toBe('1.28');
    expect(formatMetric(0.09981)).toBe('0.0998');
    expect(formatMetric(2566)).toBe('2\u2009566');
    expect(formatMetric(12345.6)).toBe('12\u2009346');
    expect(formatMetric(7)).toBe('7');
    expect(formatMetric(0)).toBe('0');
    expect(formatMetric(-2.5)).toBe('−2.50');
    expect(formatMetric(1e-9)).toBe('1.00e-9');
    expect(formatMetric(true)).toBe('yes');
    expect(formatMetric(undefined)).toBe('—');
    expect(formatMetric('wire')).toBe('wire');
  });
  it('describes a run and keys it stably', () => {
    expect(describeOptions({ size: 64, packets: 2000, params: { itr: 0, mitigation: false } })).toBe('64 B frames · 2\u2009000 packets · itr 0 · mitigation off · seed 1');
    expect(runKey('s', { size: 1, params: { b: 1, a: 2 } })).toBe(runKey('s', { params: { a: 2, b: 1 }, size: 1 }));
  });
});

describe('the metrics <ReferenceRun> reads exist in the engine', () => {
  it('emulation-tx reports the fields the lessons name', () => {
    const { metrics } = runScenario('emulation-tx', toEngineOptions({ size: 64, packets: 200 }));
    for (const key of ['exitsPerPacket', 'throughputGbps', 'mpps', 'exitsTotal', 'interruptsInjected', 'bottleneck']) {
      expect(pickMetric(metrics, key), key).not.toBeUndefined();
    }
  });
});

describe('pickMetric extensions for L6', () => {
  const m = {
    derived: { cpu: { kvm: 0.25, qemu: 0.5, vhost: 0 }, bottleneck: 'wire' },
    migration: { outcome: 'completed', downtimeMs: 212.5, rounds: [{ round: 1 }, { round: 2 }, { round: 3 }] },
  };
  it('sums the terms of a key joined by +, skipping absent terms', () => {
    expect(pickMetric(m, 'derived.cpu.kvm+derived.cpu.qemu+derived.cpu.vhost')).toBe(0.75);
    expect(pickMetric(m, 'cpu.kvm + cpu.qemu')).toBe(0.75);
    expect(pickMetric(m, 'derived.cpu.kvm+derived.cpu.poll')).toBe(0.25);
  });
  it('a sum with no present term, or with a string term, is no metric', () => {
    expect(pickMetric(m, 'derived.cpu.poll+derived.cpu.nic')).toBeUndefined();
    expect(pickMetric(m, 'derived.cpu.kvm+derived.bottleneck')).toBeUndefined();
    expect(() => pickMetric(m, 'derived.cpu.kvm+')).toThrow(/empty term/);
  });
  it('finds the migrate scenario\'s block by path or by bare name', () => {
    expect(pickMetric(m, 'migration.downtimeMs')).toBe(212.5);
    expect(pickMetric(m, 'downtimeMs')).toBe(212.5);
    expect(pickMetric(m, 'outcome')).toBe('completed');
    expect(pickMetric(m, 'migration.rounds.length')).toBe(3);
    expect(formatMetric(pickMetric(m, 'migration.outcome'))).toBe('completed');
  });
  it('a metrics object without a migration block still answers undefined, not a throw', () => {
    expect(pickMetric({ derived: {} }, 'migration.downtimeMs')).toBeUndefined();
    expect(pickMetric({ derived: {} }, 'downtimeMs')).toBeUndefined();
  });
  it('host CPU of a real run is the sum of its host contexts', () => {
    const { metrics } = runScenario('virtio-tx', toEngineOptions({ size: 64, packets: 200, backend: 'vhost-net' }));
    const cpu = (metrics as { derived: { cpu: Record<string, number> } }).derived.cpu;
    const sum = pickMetric(metrics, 'derived.cpu.kvm+derived.cpu.qemu+derived.cpu.vhost+derived.cpu.host-kernel+derived.cpu.poll') as number;
    expect(sum).toBeCloseTo(cpu.kvm! + cpu.qemu! + cpu.vhost! + cpu['host-kernel']! + cpu.poll!, 12);
    expect(sum).toBeGreaterThan(0);
  });
});
