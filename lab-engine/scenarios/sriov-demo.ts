/**
 * A build-time look at an SR-IOV capability (lesson L5's figure): the 82599-like PF at 03:00.0,
 * its extended capability list walked as Linux's pci_find_ext_capability() walks it, and the
 * 64-byte SR-IOV capability (PCI_EXT_CAP_SRIOV_SIZEOF) read back from the engine's config space
 * register by register: "before" is the state after enumeration (Linux sriov_init() set ARI
 * Capable Hierarchy, as it does when the port above forwards ARI, and System Page Size), "after"
 * is once the PF driver has enabled `vfs` VFs the way sriov_enable() does (NumVFs, re-read offset
 * and stride, VF Enable | VF MSE keeping ARI, then the 100 ms wait). Offsets and names
 * are pci_regs.h's (hw/pci/regs.ts); nothing here is typed in: every value is read from the bytes.
 */
import * as P from '../hw/pci/regs.ts';
import { PciConfigSpace } from '../hw/pci/config-space.ts';
import { listExtCapabilities, findExtCapability } from '../hw/pci/ext-caps.ts';
import { SriovPf, ridString } from '../hw/pci/sriov.ts';
import { MODEL_82599 } from '../hw/sriov-nic/models.ts';
import { newHostEnv } from './run-common.ts';

export interface SriovField {
  /** Offset inside the capability. */
  offset: number;
  width: 8 | 16 | 32;
  /** Linux's name (pci_regs.h). */
  name: string;
  meaning: string;
  before: number;
  after: number;
}

export interface SriovCapabilitySnapshot {
  device: string;
  pf: string;
  /** The extended list as walked from 0x100: offset, capability id, version, next. */
  list: { offset: number; id: number; version: number; next: number; name: string }[];
  /** Where the SR-IOV capability was found. */
  cap: number;
  fields: SriovField[];
  /** What enabling created: VF number, routing id, VF BAR0 address. */
  vfs: { index: number; rid: string; bar0: number }[];
  /** The PF's raw capability bytes after enabling, little-endian, 16 per row. */
  bytes: number[];
}

const EXT_NAMES: Record<number, string> = {
  [P.PCI_EXT_CAP_ID_ERR]: 'Advanced Error Reporting',
  [P.PCI_EXT_CAP_ID_DSN]: 'Device Serial Number',
  [P.PCI_EXT_CAP_ID_ARI]: 'Alternative Routing-ID Interpretation',
  [P.PCI_EXT_CAP_ID_SRIOV]: 'Single Root I/O Virtualization',
};

const FIELDS: { offset: number; width: 8 | 16 | 32; name: string; meaning: string }[] = [
  { offset: 0x00, width: 32, name: 'header', meaning: 'capability ID 0x0010, version, next capability' },
  { offset: P.PCI_SRIOV_CAP, width: 32, name: 'PCI_SRIOV_CAP', meaning: 'SR-IOV Capabilities (VF Migration Capable, interrupt message number)' },
  { offset: P.PCI_SRIOV_CTRL, width: 16, name: 'PCI_SRIOV_CTRL', meaning: 'SR-IOV Control: VF Enable (bit 0), VF MSE (bit 3), ARI Capable Hierarchy (bit 4)' },
  { offset: P.PCI_SRIOV_STATUS, width: 16, name: 'PCI_SRIOV_STATUS', meaning: 'SR-IOV Status (VF Migration Status)' },
  { offset: P.PCI_SRIOV_INITIAL_VF, width: 16, name: 'PCI_SRIOV_INITIAL_VF', meaning: 'InitialVFs' },
  { offset: P.PCI_SRIOV_TOTAL_VF, width: 16, name: 'PCI_SRIOV_TOTAL_VF', meaning: 'TotalVFs: the most this PF can create' },
  { offset: P.PCI_SRIOV_NUM_VF, width: 16, name: 'PCI_SRIOV_NUM_VF', meaning: 'NumVFs: how many software asks for' },
  { offset: P.PCI_SRIOV_FUNC_LINK, width: 8, name: 'PCI_SRIOV_FUNC_LINK', meaning: 'Function Dependency Link' },
  { offset: P.PCI_SRIOV_VF_OFFSET, width: 16, name: 'PCI_SRIOV_VF_OFFSET', meaning: 'First VF Offset (routing-ID distance from the PF)' },
  { offset: P.PCI_SRIOV_VF_STRIDE, width: 16, name: 'PCI_SRIOV_VF_STRIDE', meaning: 'VF Stride (routing-ID distance between VFs)' },
  { offset: P.PCI_SRIOV_VF_DID, width: 16, name: 'PCI_SRIOV_VF_DID', meaning: 'VF Device ID (the VFs\' own register reads 0xFFFF)' },
  { offset: P.PCI_SRIOV_SUP_PGSIZE, width: 32, name: 'PCI_SRIOV_SUP_PGSIZE', meaning: 'Supported Page Sizes (bit n: 2^(n+12) bytes)' },
  { offset: P.PCI_SRIOV_SYS_PGSIZE, width: 32, name: 'PCI_SRIOV_SYS_PGSIZE', meaning: 'System Page Size (one bit set: 4 KiB here)' },
  ...Array.from({ length: P.PCI_SRIOV_NUM_BARS }, (_, k) => ({ offset: P.PCI_SRIOV_BAR + 4 * k, width: 32 as const, name: `PCI_SRIOV_BAR + ${4 * k}`, meaning: `VF BAR${k}: one VF's BAR${k}; VF i's is this + i × its size` })),
  { offset: P.PCI_SRIOV_VFM, width: 32, name: 'PCI_SRIOV_VFM', meaning: 'VF Migration State Array Offset' },
];

/** The PF lesson L5 follows: 3b:00.0. */
const PF_RID = 0x3b00;
/** Where the PF driver's platform put the VF BAR0 aperture (an illustrative 64-bit address). */
const VF_BAR0_BASE = 0x3_8000_0000;

/** The capability before and after enabling `vfs` VFs on the 82599-like model. */
export function sriovCapabilitySnapshot(vfs = 8): SriovCapabilitySnapshot {
  const env = newHostEnv(1);
  const m = MODEL_82599;
  const pf = new SriovPf(env, new PciConfigSpace(m.pf), PF_RID, m.vf);
  const cfg = pf.config;
  const list = listExtCapabilities(cfg).map(([offset, id, version]) => {
    const next = P.PCI_EXT_CAP_NEXT(pf.configRead(PF_RID, offset, 4));
    return { offset, id, version, next, name: EXT_NAMES[id] ?? `capability 0x${id.toString(16)}` };
  });
  const cap = findExtCapability(cfg, P.PCI_EXT_CAP_ID_SRIOV);
  const read = (): number[] => FIELDS.map((f) => pf.configRead(PF_RID, cap + f.offset, (f.width / 8) as 1 | 2 | 4));
  // Enumeration (Linux sriov_init()): ARI Capable Hierarchy, System Page Size = 4 KiB.
  pf.configWrite(PF_RID, cap + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_ARI);
  pf.configWrite(PF_RID, cap + P.PCI_SRIOV_SYS_PGSIZE, 4, 1);
  const before = read();
  // Linux sriov_enable(): the VF BAR aperture is assigned, NumVFs written, then VFE | MSE (ARI kept), then msleep(100).
  pf.assignVfBar(0, VF_BAR0_BASE);
  pf.configWrite(PF_RID, cap + P.PCI_SRIOV_NUM_VF, 2, vfs);
  pf.configWrite(PF_RID, cap + P.PCI_SRIOV_CTRL, 2, P.PCI_SRIOV_CTRL_ARI | P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE);
  env.sched.at(pf.vfsReadyAt, () => {});
  env.sched.run();
  const after = read();
  // A 64-bit VF BAR takes two registers: the second holds the upper address bits, not a BAR of its own.
  const barWords = (offset: number, i: number): { name?: string; meaning?: string } => {
    const k = (offset - P.PCI_SRIOV_BAR) / 4;
    if (offset < P.PCI_SRIOV_BAR || k < 1 || k >= P.PCI_SRIOV_NUM_BARS) return {};
    // (VF BAR0 is described by FIELDS itself.)
    const lower = before[i - 1]!;
    const lowerIsBar = (FIELDS[i - 1]!.offset - P.PCI_SRIOV_BAR) / 4 === k - 1 && (lower & P.PCI_BASE_ADDRESS_MEM_TYPE_64) !== 0;
    const pairedBelow = k >= 2 && (before[i - 2]! & P.PCI_BASE_ADDRESS_MEM_TYPE_64) !== 0;
    if (lowerIsBar && !pairedBelow) return { meaning: `upper 32 bits of 64-bit VF BAR${k - 1}` };
    return before[i] === 0 && after[i] === 0 ? { meaning: `VF BAR${k}: not implemented on this device` } : {};
  };
  const bytes = Array.from({ length: P.PCI_EXT_CAP_SRIOV_SIZEOF }, (_, i) => pf.configRead(PF_RID, cap + i, 1));
  return {
    device: `Intel ${m.name}-like PF, vendor 0x${m.pf.vendorId.toString(16)}, device 0x${m.pf.deviceId.toString(16)}`,
    pf: ridString(PF_RID),
    list,
    cap,
    fields: FIELDS.map((f, i) => ({ ...f, ...barWords(f.offset, i), before: before[i]!, after: after[i]! })),
    vfs: pf.vfs.map((v) => ({ index: v.index, rid: ridString(v.rid), bar0: pf.vfBarAddress(v.index, 0) ?? 0 })),
    bytes,
  };
}
