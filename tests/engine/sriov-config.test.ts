/**
 * The SR-IOV extended capability as registers (hw/pci/ext-caps.ts, SR-IOV 1.1 §3.3): the 4 KiB
 * space and its list, read-only fields, VF BAR sizing, and the writes the function ignores.
 */
import { describe, expect, it } from 'vitest';
import * as P from '../../lab-engine/hw/pci/regs.ts';
import { PciConfigSpace } from '../../lab-engine/hw/pci/config-space.ts';
import { findExtCapability, listExtCapabilities, type SriovWriteEffect } from '../../lab-engine/hw/pci/ext-caps.ts';
import { MODEL_82599, MODEL_XL710 } from '../../lab-engine/hw/sriov-nic/models.ts';

const pf = (): PciConfigSpace => new PciConfigSpace(MODEL_82599.pf);
const S = 0x160;

describe('extended configuration space', () => {
  it('is 4 KiB with AER 0x100 → DSN 0x140 → ARI 0x150 → SR-IOV 0x160 (82599 layout); a conventional space has none', () => {
    const cfg = pf();
    expect(cfg.bytes.length).toBe(P.PCI_CFG_SPACE_EXP_SIZE);
    expect(listExtCapabilities(cfg)).toEqual([[0x100, P.PCI_EXT_CAP_ID_ERR, 2], [0x140, P.PCI_EXT_CAP_ID_DSN, 1], [0x150, P.PCI_EXT_CAP_ID_ARI, 1], [0x160, P.PCI_EXT_CAP_ID_SRIOV, 1]]);
    expect(findExtCapability(cfg, P.PCI_EXT_CAP_ID_ARI)).toBe(0x150);
    expect(P.PCI_ARI_CAP_NFN(cfg.read(0x150 + P.PCI_ARI_CAP, 2))).toBe(1);
    expect(findExtCapability(cfg, 0x0d)).toBe(0); // no ACS
    // Standard capability 0x10 is PCI Express, not SR-IOV (CALIBRATION §3.5).
    expect(P.PCI_CAP_ID_EXP).toBe(P.PCI_EXT_CAP_ID_SRIOV);
    const conventional = new PciConfigSpace({ ...MODEL_82599.pf, extended: undefined });
    expect(conventional.read(0x100, 4)).toBe(0xffffffff);
    expect(findExtCapability(conventional, P.PCI_EXT_CAP_ID_SRIOV)).toBe(0);
  });

  it('a looping list ends (Linux\'s ttl bound)', () => {
    const cfg = pf();
    cfg.bytes[0x162] = 0x00; // SR-IOV header's next → 0x100 (bits 31:20 = 0x100)
    cfg.bytes[0x163] = 0x10;
    expect(findExtCapability(cfg, 0x1b)).toBe(0);
    expect(listExtCapabilities(cfg).length).toBe((4096 - 256) / 8);
  });
});

describe('SR-IOV capability registers', () => {
  it('TotalVFs, InitialVFs, offset, stride, VF Device ID, supported page sizes are read-only', () => {
    const cfg = pf();
    for (const [o, w, v] of [[P.PCI_SRIOV_TOTAL_VF, 2, 64], [P.PCI_SRIOV_INITIAL_VF, 2, 64], [P.PCI_SRIOV_VF_OFFSET, 2, 0x80], [P.PCI_SRIOV_VF_STRIDE, 2, 2], [P.PCI_SRIOV_VF_DID, 2, 0x10ed], [P.PCI_SRIOV_SUP_PGSIZE, 4, 0x553], [P.PCI_SRIOV_CAP, 4, 0], [P.PCI_SRIOV_VFM, 4, 0]] as const) {
      cfg.write(S + o, w, 0xffffffff);
      expect([o, cfg.read(S + o, w)]).toEqual([o, v]);
    }
    expect(cfg.read(S + P.PCI_SRIOV_SYS_PGSIZE, 4)).toBe(1);
  });

  it('control: VFE, MSE and ARI are writable; VF Migration bits read 0', () => {
    const cfg = pf();
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 4);
    cfg.write(S + P.PCI_SRIOV_CTRL, 2, 0xffff);
    expect(cfg.read(S + P.PCI_SRIOV_CTRL, 2)).toBe(P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE | P.PCI_SRIOV_CTRL_ARI);
  });

  it('VF BARs size like BARs: all ones reads back one VF\'s size (16 KiB, 64-bit prefetchable); XL710 BAR0 is 64 KiB', () => {
    const cfg = pf();
    cfg.write(S + P.PCI_SRIOV_BAR, 4, 0xffffffff);
    expect(cfg.read(S + P.PCI_SRIOV_BAR, 4)).toBe((~(16 * 1024 - 1) & P.PCI_BASE_ADDRESS_MEM_MASK | P.PCI_BASE_ADDRESS_MEM_TYPE_64 | P.PCI_BASE_ADDRESS_MEM_PREFETCH) >>> 0);
    cfg.write(S + P.PCI_SRIOV_BAR + 4, 4, 0xffffffff);
    expect(cfg.read(S + P.PCI_SRIOV_BAR + 4, 4)).toBe(0xffffffff); // upper dword, all address
    expect(cfg.read(S + P.PCI_SRIOV_BAR + 8, 4)).toBe(0); // VF BAR2 not implemented
    const xl = new PciConfigSpace(MODEL_XL710.pf);
    xl.write(S + P.PCI_SRIOV_BAR, 4, 0xffffffff);
    expect((xl.read(S + P.PCI_SRIOV_BAR, 4) & P.PCI_BASE_ADDRESS_MEM_MASK) >>> 0).toBe((~(64 * 1024 - 1)) >>> 0);
  });

  it('NumVFs is writable only while VF Enable is 0; while enabled the write is ignored and reported', () => {
    const cfg = pf();
    const seen: SriovWriteEffect[] = [];
    cfg.onSriovWrite = (e) => seen.push(e);
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 8);
    cfg.write(S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE);
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 16);
    expect(cfg.read(S + P.PCI_SRIOV_NUM_VF, 2)).toBe(8);
    expect(seen.at(-1)!.ignored).toEqual(['NumVFs (VF Enable is set)']);
    // ARI and System Page Size are frozen too.
    cfg.write(S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE | P.PCI_SRIOV_CTRL_ARI);
    expect(cfg.read(S + P.PCI_SRIOV_CTRL, 2) & P.PCI_SRIOV_CTRL_ARI).toBe(0);
    cfg.write(S + P.PCI_SRIOV_SYS_PGSIZE, 4, 0x10);
    expect(cfg.read(S + P.PCI_SRIOV_SYS_PGSIZE, 4)).toBe(1);
    // Disabled again, NumVFs changes.
    cfg.write(S + P.PCI_SRIOV_CTRL, 2, 0);
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 16);
    expect(cfg.read(S + P.PCI_SRIOV_NUM_VF, 2)).toBe(16);
    // A dword write covering CTRL+STATUS that sets VFE in the same write as other bytes: VFE was 0 before, so it applies.
    expect(seen.filter((e) => (e.ctrlBefore ^ e.ctrlAfter) & P.PCI_SRIOV_CTRL_VFE).length).toBe(2);
  });

  it('NumVFs > TotalVFs is ignored; VF Enable with NumVFs = 0 reads back 0; an unsupported page size is ignored', () => {
    const cfg = pf();
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 65);
    expect(cfg.read(S + P.PCI_SRIOV_NUM_VF, 2)).toBe(0);
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 64);
    expect(cfg.read(S + P.PCI_SRIOV_NUM_VF, 2)).toBe(64);
    cfg.write(S + P.PCI_SRIOV_NUM_VF, 2, 0);
    cfg.write(S + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_VFE);
    expect(cfg.read(S + P.PCI_SRIOV_CTRL, 2)).toBe(0);
    cfg.write(S + P.PCI_SRIOV_SYS_PGSIZE, 4, 0x3); // two sizes at once
    expect(cfg.read(S + P.PCI_SRIOV_SYS_PGSIZE, 4)).toBe(1);
    cfg.write(S + P.PCI_SRIOV_SYS_PGSIZE, 4, 0x4); // 16 KiB: not in 0x553
    expect(cfg.read(S + P.PCI_SRIOV_SYS_PGSIZE, 4)).toBe(1);
    cfg.write(S + P.PCI_SRIOV_SYS_PGSIZE, 4, 0x10); // 64 KiB
    expect(cfg.read(S + P.PCI_SRIOV_SYS_PGSIZE, 4)).toBe(0x10);
  });

  it('a VF header: ids as given (0xFFFF), Memory Space Enable read-only 0, no header BARs, no INTx pin', () => {
    const vf = new PciConfigSpace(MODEL_82599.vf);
    expect(vf.read(P.PCI_VENDOR_ID, 4)).toBe(0xffffffff);
    vf.write(P.PCI_COMMAND, 2, P.PCI_COMMAND_MEMORY | P.PCI_COMMAND_MASTER | P.PCI_COMMAND_IO);
    expect(vf.read(P.PCI_COMMAND, 2)).toBe(P.PCI_COMMAND_MASTER);
    vf.write(P.PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    expect(vf.read(P.PCI_BASE_ADDRESS_0, 4)).toBe(0);
    expect(vf.read(P.PCI_INTERRUPT_PIN, 1)).toBe(0);
    expect(vf.read(P.PCI_CLASS_DEVICE, 2)).toBe(0x0200);
  });
});
