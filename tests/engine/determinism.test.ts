import { describe, expect, it } from 'vitest';
import { runScenario, listScenarios } from '../../lab-engine/index.ts';

describe('determinism (DESIGN.md §3)', () => {
  it('same scenario + seed ⇒ identical metrics and trace hash', () => {
    for (const s of listScenarios()) {
      const a = runScenario(s.id, { seed: 7, packets: 300 });
      const b = runScenario(s.id, { seed: 7, packets: 300 });
      expect(JSON.stringify(b.metrics), s.id).toBe(JSON.stringify(a.metrics));
      expect(b.traceHash, s.id).toBe(a.traceHash);
      expect(b.trace).toEqual(a.trace);
    }
  });

  it('the seed matters where randomness is modelled (peer service time)', () => {
    const a = runScenario('emulation-rr', { seed: 1, packets: 200 });
    const b = runScenario('emulation-rr', { seed: 2, packets: 200 });
    expect(a.traceHash).not.toBe(b.traceHash);
  });

  it('golden: the first events of a 64 B transmit (one packet, mitigation off)', () => {
    const r = runScenario('emulation-tx', { packets: 1, size: 64, params: { mitigation: false } });
    const firstPacket = r.trace.filter((e) => e.pkt === 0 || e.kind === 'irq-inject').slice(0, 12).map((e) => `${e.t} ${e.dur} ${e.lane} ${e.kind}: ${e.label}`);
    expect(firstPacket).toMatchInlineSnapshot(`
      [
        "42565 700 guest guest-xmit: xmit frame 0 (60 B, 1 desc)",
        "43265 250 kvm vm-exit: VM exit EPT_MISCONFIG: MMIO write TDT=0x1",
        "43515 575 kvm kvm-handle: decode MMIO, no in-kernel handler",
        "44090 1000 kvm exit-to-user: KVM_EXIT_MMIO write TDT",
        "45090 250 qemu qemu-dispatch: QEMU: memory region dispatch",
        "45492 300 qemu qemu-tx: qemu_send_packet 60 B",
        "45792 906 host-kernel tap-write: tap write() 60 B",
        "46698 400 host-kernel bridge: bridge → NIC driver",
        "47098 68 wire wire-tx: 64 B on wire →peer",
        "47138 100 kvm irq-inject: inject interrupt at 47.1 µs",
        "48166 0 peer peer-rx: peer received 64 B",
      ]
    `);
  });

  it('bad options are rejected with a clear reason', () => {
    expect(() => runScenario('nope')).toThrow(/unknown scenario 'nope'/);
    expect(() => runScenario('emulation-tx', { size: 20 })).toThrow(/size must be an integer in \[64, 1518\]/);
    expect(() => runScenario('emulation-tx', { params: { color: 1 } })).toThrow(/has no parameter 'color'/);
    expect(() => runScenario('emulation-tx', { packets: 1.5 })).toThrow(/packets must be an integer/);
  });
});
