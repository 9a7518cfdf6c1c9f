/**
 * Throughput is emergent, not a formula (DESIGN.md §3, issue 2): the same host with a 1 GbE wire
 * is bottlenecked by the vCPU thread under the learner's Part 1 code (an interrupt per doorbell)
 * and by the wire under the reference (moderated interrupts). Only the learner's code differs.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileModule } from '../../lab-engine/sandbox/compile.ts';
import { EMULATED_NIC_API } from '../../lab-engine/labs/emulated-nic/api.ts';
import { LearnerTx, type LearnerTxExports } from '../../lab-engine/labs/emulated-nic/adapter.ts';
import { LabObserver } from '../../lab-engine/labs/emulated-nic/observe.ts';
import { runEmulation } from '../../lab-engine/scenarios/emulation.ts';

function runWith(source: string) {
  const c = compileModule(source, { 'iovlab/emulated-nic': EMULATED_NIC_API });
  if (!c.ok) throw new Error('compile failed');
  const inst = c.instantiate();
  if (!inst.ok) throw new Error('instantiate failed');
  return runEmulation({
    scenario: 'bottleneck', seed: 5, workload: 'tx', packets: 3000, size: 1518, mitigation: false, itr: 500, tadv: 32, burst: 1,
    wireGbps: 1, offeredGbps: 1, ramBytes: 64 << 20,
    makeTx: (h) => new LearnerTx(h, inst.exports as unknown as LearnerTxExports, new LabObserver(h.driver), []),
  }).result.metrics;
}

describe('the learner\'s code moves the bottleneck', () => {
  it('Part 1 code is vCPU-bound; moderated code saturates the 1 GbE wire', () => {
    const part1 = runWith(readFileSync(new URL('./fixtures/part1-no-moderation.ts', import.meta.url), 'utf8'));
    const reference = runWith(readFileSync(new URL('../../lab-engine/labs/emulated-nic/reference.ts', import.meta.url), 'utf8'));
    expect(part1.stop).toBe('done');
    expect(reference.stop).toBe('done');
    expect(part1.derived.bottleneck).toBe('vCPU thread');
    expect(reference.derived.bottleneck).toBe('wire →peer');
    expect(reference.derived.throughputGbps).toBeGreaterThan(part1.derived.throughputGbps * 1.2);
    expect(reference.derived.utilization['wire →peer']).toBeGreaterThan(0.95);
  });
});
