/**
 * VF creation (hw/pci/sriov.ts): the enable sequence of Linux sriov_enable() against the 82599-
 * and XL710-like models, routing-ID arithmetic as Linux computes it (fast-check), VF BAR
 * placement, VF ids, the 100 ms wait, and refused sequences.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as P from '../../lab-engine/hw/pci/regs.ts';
import { PciConfigSpace } from '../../lab-engine/hw/pci/config-space.ts';
import { SriovPf, virtfnBus, virtfnDevfn, virtfnRid, ridString } from '../../lab-engine/hw/pci/sriov.ts';
import { MODEL_82599, MODEL_XL710, vfBarAperture, type SriovNicModel } from '../../lab-engine/hw/sriov-nic/models.ts';
import { newHostEnv } from '../../lab-engine/scenarios/run-common.ts';

const S = 0x160;
const PF_RID = 0x0300; // 03:00.0

function pfOf(m: SriovNicModel, rid = PF_RID) {
  const env = newHostEnv(1);
  const pf = new SriovPf(env, new PciConfigSpace(m.pf), rid, m.vf);
  return { env, pf };
}
/** Linux sriov_enable(): NumVFs, then VFE|MSE, then msleep(100). */
function enable(env: ReturnType<typeof newHostEnv>, pf: SriovPf, n: number, wait = true): void {
  pf.configWrite(pf.rid, S + P.PCI_SRIOV_NUM_VF, 2, n);
  pf.configWrite(pf.rid, S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE);
  if (wait) {
    env.sched.at(pf.vfsReadyAt, () => {});
    env.sched.run();
  }
}

describe('routing IDs of VFs (Linux pci_iov_virtfn_bus/devfn)', () => {
  it('property: PF RID + offset + i × stride equals Linux\'s bus:devfn, spilling onto the next buses', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 1, max: 0xffff }), fc.integer({ min: 1, max: 0xff }), fc.integer({ min: 0, max: 0xffff }),
      (bus, devfn, offset, stride, i) => {
        const b = virtfnBus(bus, devfn, offset, stride, i);
        const d = virtfnDevfn(devfn, offset, stride, i);
        // Linux: dev->bus->number + ((dev->devfn + offset + stride * vf_id) >> 8), devfn & 0xff.
        expect(b).toBe(bus + Math.floor((devfn + offset + stride * i) / 256));
        expect(d).toBe((devfn + offset + stride * i) % 256);
        // The spec's 16-bit RID sum is the same number while the bus fits in 8 bits.
        if (b <= 0xff) expect(virtfnRid((bus << 8) | devfn, offset, stride, i)).toBe((b << 8) | d);
      },
    ), { seed: 5, numRuns: 2000 });
  });

  it('property: the VFs the PF creates sit where the formula says, distinct, and none at the PF', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xfe }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 64 }), fc.boolean(), (bus, fn, n, xl) => {
      const m = xl ? MODEL_XL710 : MODEL_82599;
      const { env, pf } = pfOf(m, (bus << 8) | fn);
      enable(env, pf, n, false);
      expect(pf.vfs.length).toBe(n);
      const rids = pf.vfs.map((v) => v.rid);
      expect(new Set(rids).size).toBe(n);
      expect(rids).not.toContain(pf.rid);
      pf.vfs.forEach((v, i) => {
        expect(v.rid).toBe(((bus << 8) | fn) + m.sriov.firstVfOffset + i * m.sriov.vfStride & 0xffff);
        expect([v.bus, v.devfn]).toEqual([virtfnBus(bus, fn, m.sriov.firstVfOffset, m.sriov.vfStride, i), virtfnDevfn(fn, m.sriov.firstVfOffset, m.sriov.vfStride, i)]);
      });
    }), { seed: 7, numRuns: 200 });
  });

  it('82599 PF 03:00.0 with 63 VFs: 03:10.0, 03:10.2, …, 03:1f.4; PF 03:00.1 interleaves at odd functions; XL710 spills past devfn 0xff', () => {
    const { env, pf } = pfOf(MODEL_82599);
    enable(env, pf, 63);
    expect(pf.vfs.map((v) => ridString(v.rid)).slice(0, 3)).toEqual(['03:10.0', '03:10.2', '03:10.4']);
    expect(ridString(pf.vfs[62]!.rid)).toBe('03:1f.4');
    const pf1 = pfOf(MODEL_82599, 0x0301);
    enable(pf1.env, pf1.pf, 2);
    expect(pf1.pf.vfs.map((v) => ridString(v.rid))).toEqual(['03:10.1', '03:10.3']);
    // XL710 PF at 03:1f.0 (devfn 0xf8): VF 0 at devfn 0xf8 + 16 = 0x108 → bus 4, devfn 0x08.
    const x = pfOf(MODEL_XL710, 0x03f8);
    enable(x.env, x.pf, 64);
    expect([x.pf.vfs[0]!.bus, x.pf.vfs[0]!.devfn, ridString(x.pf.vfs[0]!.rid)]).toEqual([4, 0x08, '04:01.0']);
    expect(x.pf.vfAt(0x0408)).toBe(x.pf.vfs[0]);
  });
});

describe('VF enable sequence', () => {
  it('each VF\'s Vendor/Device ID read 0xFFFF; Linux takes 8086 from the PF and the device id from PCI_SRIOV_VF_DID', () => {
    for (const [m, did] of [[MODEL_82599, 0x10ed], [MODEL_XL710, 0x154c]] as const) {
      const { env, pf } = pfOf(m);
      enable(env, pf, 4);
      for (const vf of pf.vfs) expect(pf.configRead(vf.rid, P.PCI_VENDOR_ID, 4)).toBe(0xffffffff);
      expect(pf.linuxVfIds()).toEqual({ vendor: 0x8086, device: did });
      expect(pf.configRead(pf.vfs[0]!.rid, P.PCI_CLASS_DEVICE, 2)).toBe(0x0200); // a VF does answer: its class code
    }
  });

  it('VF BAR k of VF i = VF_BARk base + size × i; the aperture is size × TotalVFs; VF MSE gates decoding', () => {
    const { env, pf } = pfOf(MODEL_82599);
    pf.assignVfBar(0, 0x3_8000_0000);
    pf.assignVfBar(3, 0x3_8010_0000);
    expect(vfBarAperture(MODEL_82599, 0)).toBe(64 * 16 * 1024);
    enable(env, pf, 8);
    expect(pf.vfBarAddress(0, 0)).toBe(0x3_8000_0000);
    expect(pf.vfBarAddress(5, 0)).toBe(0x3_8000_0000 + 5 * 0x4000);
    expect(pf.vfBarAddress(7, 3)).toBe(0x3_8010_0000 + 7 * 0x4000);
    expect(pf.vfBarAddress(8, 0)).toBeUndefined(); // only 8 VFs
    expect(pf.vfBarAddress(0, 1)).toBeUndefined(); // upper half of the 64-bit BAR0
    expect(pf.decode(0x3_8000_0000 + 5 * 0x4000 + 0x10)).toMatchObject({ bar: 0, offset: 0x10, vf: { index: 5 } });
    expect(pf.decode(0x3_8000_0000 + 8 * 0x4000)).toBeUndefined();
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE); // MSE off
    expect(pf.vfBarAddress(5, 0)).toBeUndefined();
    expect(pf.decode(0x3_8000_0000)).toBeUndefined();
    expect(pf.vfs.length).toBe(8); // VFs stay; only decoding stops
  });

  it('configuration requests before 100 ms after VF Enable read all ones, drop writes and are diagnosed; after, they work', () => {
    const { env, pf } = pfOf(MODEL_82599);
    enable(env, pf, 2, false);
    const vf = pf.vfs[1]!;
    env.sched.at(99_999_999, () => {
      expect(pf.configRead(vf.rid, P.PCI_CLASS_DEVICE, 2)).toBe(0xffff);
      pf.configWrite(vf.rid, P.PCI_COMMAND, 2, P.PCI_COMMAND_MASTER);
    });
    env.sched.at(100_000_000, () => {
      expect(pf.configRead(vf.rid, P.PCI_CLASS_DEVICE, 2)).toBe(0x0200);
      expect(pf.configRead(vf.rid, P.PCI_COMMAND, 2)).toBe(0); // the early write was dropped
    });
    env.sched.run();
    expect(pf.stats.earlyConfigRequests).toBe(2);
    expect(env.diagnostics.map((d) => d.code)).toEqual(['sriov-vf-not-ready', 'sriov-vf-not-ready']);
    expect(env.diagnostics[0]!.message).toMatch(/read to VF 03:10.2 99\.999999 ms after VF Enable: the spec requires 100 ms; read as all ones/);
    expect(env.diagnostics[1]!.message).toMatch(/write to VF 03:10.2 .*; dropped$/);
  });

  it('clearing VF Enable removes the VFs; their RIDs answer all ones; re-enabling makes fresh ones', () => {
    const { env, pf } = pfOf(MODEL_82599);
    const seen: number[] = [];
    pf.onVfsChanged = (v) => seen.push(v.length);
    enable(env, pf, 3);
    const rid = pf.vfs[0]!.rid;
    pf.configWrite(rid, P.PCI_COMMAND, 2, P.PCI_COMMAND_MASTER);
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_CTRL, 2, 0);
    expect(pf.vfs.length).toBe(0);
    expect(pf.configRead(rid, P.PCI_CLASS_DEVICE, 2)).toBe(0xffff);
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_NUM_VF, 2, 5);
    enable(env, pf, 5);
    expect(pf.configRead(rid, P.PCI_COMMAND, 2)).toBe(0); // state lost
    expect(seen).toEqual([3, 0, 5]);
  });

  it('refused: NumVFs > TotalVFs, VFE with NumVFs = 0, NumVFs changed while enabled — the write is ignored and software reads back the old value', () => {
    const { env, pf } = pfOf(MODEL_82599);
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_NUM_VF, 2, 65);
    expect(pf.numVfs).toBe(0);
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE);
    expect(pf.vfEnabled).toBe(false);
    expect(pf.vfs.length).toBe(0);
    expect(pf.configRead(pf.rid, S + P.PCI_SRIOV_CTRL, 2)).toBe(P.PCI_SRIOV_CTRL_MSE);
    enable(env, pf, 4);
    pf.configWrite(pf.rid, S + P.PCI_SRIOV_NUM_VF, 2, 8);
    expect([pf.numVfs, pf.vfs.length]).toEqual([4, 4]);
    expect(pf.stats.ignoredWrites).toBe(3);
    expect(env.diagnostics.filter((d) => d.code === 'sriov-write-ignored').map((d) => d.message)).toEqual([
      'PF 03:00.0: write to NumVFs 65 > TotalVFs 64 ignored by the SR-IOV capability',
      'PF 03:00.0: write to VF Enable with NumVFs = 0 ignored by the SR-IOV capability',
      'PF 03:00.0: write to NumVFs (VF Enable is set) ignored by the SR-IOV capability',
    ]);
  });

  it('VF counts per model: the 82599 field says 64 and ixgbe\'s limit is 63; the XL710 says and allows 64', () => {
    expect([MODEL_82599.sriov.totalVfs, MODEL_82599.driverMaxVfs]).toEqual([64, 63]);
    expect([MODEL_XL710.sriov.totalVfs, MODEL_XL710.driverMaxVfs]).toEqual([64, 64]);
    const { env, pf } = pfOf(MODEL_XL710);
    enable(env, pf, 64);
    expect(pf.vfs.length).toBe(64);
  });
});
