/**
 * The passthrough model end to end (DESIGN.md §3 model 3): the 82599-class NIC, the ixgbe-like
 * driver, bare metal and VFIO, the three interrupt modes, the scenario registry and its errors,
 * and the contract hooks the iommu-assign lab relies on (hostSetup, onStart, assignment errors).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../lab-engine/index.ts';
import { passthroughDefaults, runPassthrough, type PassthroughConfig } from '../../lab-engine/scenarios/passthrough.ts';
import { assignNic, IRTE_INDEX_BASE, STANDARD_SETUP, type HostSetup } from '../../lab-engine/hv/assignment.ts';
import { decodeRemappableMsi } from '../../lab-engine/hw/iommu/irq-remap.ts';
import { frameSeq } from '../../lab-engine/guest/frames.ts';

const base = (over: Partial<PassthroughConfig> = {}): PassthroughConfig => ({
  ...passthroughDefaults(), scenario: 'passthrough-test', seed: 1, workload: 'tx', packets: 300, size: 64, ...over,
});
const errors = (r: { diagnostics: { severity: string }[] }) => r.diagnostics.filter((d) => d.severity === 'error');

describe('passthrough: frames arrive intact on every platform and interrupt mode', () => {
  const setups: Partial<PassthroughConfig>[] = [
    { setup: 'baremetal' },
    { setup: 'vfio', irq: 'remapped' },
    { setup: 'vfio', irq: 'apicv' },
    { setup: 'vfio', irq: 'posted' },
    { setup: 'vfio', irq: 'posted', hugepages: true },
    { setup: 'vfio', irq: 'posted', pmd: true },
  ];
  for (const s of setups) {
    it(`tx and rx, ${JSON.stringify(s)}: every frame reaches the other side byte for byte`, () => {
      const sent = new Map<number, Uint8Array>();
      const tx = runPassthrough(base({ ...s, workload: 'tx', size: 256, onFrameToPeer: (b) => sent.set(frameSeq(b)!, b) }));
      expect(errors(tx.result), JSON.stringify(tx.result.diagnostics)).toEqual([]);
      expect(tx.result.metrics.stop).toBe('done');
      expect(tx.result.metrics.counters.packetsTx).toBe(300);
      expect(sent.size).toBe(300);
      const got: Uint8Array[] = [];
      const made: Uint8Array[] = [];
      const rx = runPassthrough(base({ ...s, workload: 'rx', size: 1518, offeredGbps: 5, makeRxFrame: (pkt) => {
        const b = new Uint8Array(1514).map((_, i) => (i * 7 + pkt) & 0xff);
        b.set([0, 0, 0, 0], 14);
        b[17] = pkt & 0xff;
        b[16] = pkt >> 8;
        made.push(b);
        return b;
      }, onGuestFrameReceived: (b) => got.push(b) }));
      expect(errors(rx.result)).toEqual([]);
      expect(rx.result.metrics.counters.packetsRx).toBe(300);
      expect(got.length).toBe(300);
      for (let i = 0; i < 300; i++) expect(got[i], `frame ${i}`).toEqual(made[i]);
    });
  }

  it('data-path exits are 0 in every VFIO run: doorbells are posted writes, no EPT_MISCONFIG or IO_INSTRUCTION in the window', () => {
    for (const irq of ['remapped', 'apicv', 'posted'] as const) {
      for (const workload of ['tx', 'rx', 'rr'] as const) {
        const m = runPassthrough(base({ irq, workload, packets: 200 })).result.metrics;
        expect(m.counters.exits.EPT_MISCONFIG ?? 0, `${irq} ${workload}`).toBe(0);
        expect(m.counters.exits.IO_INSTRUCTION ?? 0, `${irq} ${workload}`).toBe(0);
        expect(m.counters.mmioWrites + m.counters.mmioReads).toBe(0);
      }
    }
  });

  it('bare metal never exits; the NIC DMAs straight to memory (no IOMMU counters)', () => {
    const m = runPassthrough(base({ setup: 'baremetal' })).result.metrics;
    expect(m.counters.exitsTotal).toBe(0);
    expect(m.counters.iotlbHits + m.counters.iotlbMisses).toBe(0);
    expect(m.counters.eois).toBeGreaterThan(0);
    expect(m.derived.bottleneck).toBe('CPU core');
  });

  it('init goes through trapped config space (IO_INSTRUCTION) and trapped MSI-X writes; the host programs a remappable message', () => {
    let seen: { address: number; data: number } | null = null;
    const setup: HostSetup = { ...STANDARD_SETUP, programVector: (req, h) => (seen = STANDARD_SETUP.programVector(req, h)) };
    const { host, result } = runPassthrough(base({ hostSetup: setup, packets: 10 }));
    expect(errors(result)).toEqual([]);
    const msg = seen as unknown as { address: number; data: number };
    expect(decodeRemappableMsi(msg.address, msg.data).index).toBe(IRTE_INDEX_BASE + 1); // the last vector programmed: "other"
    const e0 = host.nic.msix.entry(0);
    expect(decodeRemappableMsi(e0.address, e0.data).index).toBe(IRTE_INDEX_BASE);
    expect(e0.masked).toBe(false);
    expect(host.assigned!.irt.readIrte(IRTE_INDEX_BASE)).toMatchObject({ mode: 'posted', present: true, sid: host.assigned!.nic.sourceId });
    // The guest's own table (QEMU's copy) holds what the guest wrote: a compatibility-format message.
    expect(host.bus.virtMsix!.entry(0).address >>> 20).toBe(0xfee);
  });
});

describe('passthrough: the scenario registry', () => {
  it('lists passthrough-tx, -rx, -rr with their parameters', () => {
    for (const id of ['passthrough-tx', 'passthrough-rx', 'passthrough-rr']) {
      const r = runScenario(id, { packets: 100 });
      expect(r.metrics.stop, id).toBe('done');
      expect(r.metrics.params).toMatchObject({ setup: 'vfio', irq: 'posted', dmaApi: 'none', ringSize: 512 });
    }
  });

  it('rejects bad parameters with the reason', () => {
    expect(() => runScenario('passthrough-tx', { params: { setup: 'xen' } })).toThrow(/'setup' must be one of baremetal, vfio/);
    expect(() => runScenario('passthrough-tx', { params: { irq: 'msi' } })).toThrow(/'irq' must be one of remapped, apicv, posted/);
    expect(() => runScenario('passthrough-tx', { params: { dmaApi: 'lazy' } })).toThrow(/'dmaApi' must be one of none, strict, deferred, optimistic/);
    expect(() => runScenario('passthrough-tx', { params: { ringSize: 100 } })).toThrow(/ringSize must be a multiple of 8/);
    expect(() => runScenario('passthrough-tx', { params: { ringSize: 32 } })).toThrow(/'ringSize' must be an integer in \[64, 4096\]/);
    expect(() => runScenario('passthrough-tx', { params: { itr: -1 } })).toThrow(/'itr' must be an integer/);
    expect(() => runScenario('passthrough-tx', { params: { iotlbEntries: 0 } })).toThrow(/'iotlbEntries'/);
    expect(() => runScenario('passthrough-tx', { params: { pcie: 'gen5' } })).toThrow(/'pcie' must be one of auto, gen3x8, gen4x16/);
    expect(() => runScenario('passthrough-rx', { params: { colour: 1 } })).toThrow(/has no parameter 'colour'/);
  });
});

describe('passthrough: the host-side contract (iommu-assign lab)', () => {
  it('an assignment VFIO refuses fails the run with assign-failed, errno and message; assigning the assigned device again is refused', () => {
    let again: ReturnType<typeof assignNic> | undefined;
    const { result } = runPassthrough(base({
      onStart: (h) => {
        // Another VM (here: this host, once more) takes the device first.
        const first = assignNic(h.assigned!, STANDARD_SETUP);
        expect(first.ok).toBe(true);
        again = assignNic(h.assigned!, STANDARD_SETUP);
      },
    }));
    expect(again).toMatchObject({ ok: false, errno: 'EBUSY' });
    if (again && !again.ok) expect(again.message).toMatch(/already open by guest .*one device, one VM/);
    const d = result.diagnostics.find((x) => x.code === 'assign-failed');
    expect(d?.message).toMatch(/VFIO refused to assign 0000:03:00\.0: EBUSY: .*one device, one VM/);
    expect(result.metrics.stop).toBe('error');
  });

  it('a group mate bound to a host driver makes the group not viable: EPERM', () => {
    const { result } = runPassthrough(base({ onStart: (h) => { h.assigned!.vfio.devices.get('0000:03:00.0')!.binding = 'host-driver'; } }));
    expect(result.diagnostics.find((x) => x.code === 'assign-failed')?.message).toMatch(/ENODEV|EPERM/);
  });

  for (const call of ['mapRegion', 'programVector', 'onFaults', 'unmapRegion'] as const) {
    it(`an exception thrown by hostSetup.${call} stops the run with host-setup-threw naming the call`, () => {
      const setup: HostSetup = { ...STANDARD_SETUP, [call]: () => { throw new Error('learner bug'); } };
      const { result } = runPassthrough(base({
        hostSetup: setup,
        rogue: [{ atNs: 200_000, iova: 0xc0000, len: 64, write: true, label: 'into the VGA hole' }],
        unplug: { region: 'low RAM', atNs: 250_000 },
      }));
      const d = result.diagnostics.find((x) => x.code === 'host-setup-threw');
      expect(d?.message).toBe(`hostSetup.${call} threw: learner bug`);
      expect(result.metrics.stop).toBe('error');
    });
  }

  it('onStart sees the host before assignment and can stop the run with fail()', () => {
    const { result, host } = runPassthrough(base({ onStart: (h) => {
      expect(h.assigned?.container).toBeUndefined();
      expect(h.done).toBe(false);
      h.fail({ severity: 'error', code: 'learner-threw', message: 'stopped by the lab' });
    } }));
    expect(result.metrics.stop).toBe('error');
    expect(host.assigned?.container).toBeUndefined();
  });

  it('a layout whose buffers fall outside guest RAM fails clearly', () => {
    const { result } = runPassthrough(base({ bufferBase: 0xf000_0000 }));
    expect(result.diagnostics.find((d) => d.code === 'layout-outside-ram')).toBeDefined();
  });
});
