/**
 * PCI Express extended capabilities (PCIe Base 4.0 §7.6.3): the 4 KiB part of a function's
 * configuration space above 0x100, a list of 32-bit headers (ID 15:0, version 19:16, next 31:20,
 * the PCI_EXT_CAP_* macros of ./regs.ts), and the capabilities this engine models:
 * - AER (ID 0x01, §7.8.4) at 0x100: header only, its registers read 0 (no errors are modelled).
 * - Device Serial Number (ID 0x03, §7.9.3): a 64-bit serial, read-only.
 * - ARI (ID 0x0E, §7.8.8): Next Function Number, control bits read-only 0 (no MFVC/ACS groups).
 * - SR-IOV (ID 0x10, SR-IOV 1.1 §3.3; CALIBRATION §3.5): every register of Linux pci_regs.h.
 *
 * SR-IOV write rules. The spec leaves several sequences "undefined"; this model makes each of
 * them a write the function ignores, so software reads back the old value (what Linux iov.c
 * avoids doing in the first place — sriov_enable() checks nr_virtfn ≤ TotalVFs before writing):
 * - NumVFs (§3.3.10) is RW only while VF Enable is 0; written while VFE = 1, it keeps its value.
 * - NumVFs > TotalVFs is ignored (spec: results undefined).
 * - Setting VF Enable with NumVFs = 0 is ignored: VFE reads back 0 (model choice).
 * - ARI Capable Hierarchy and System Page Size change only while VFE = 0 (§3.3.3.5, §3.3.13);
 *   a System Page Size that is not exactly one of the Supported Page Sizes bits is ignored.
 * - VF Migration is not supported: VFM Capable reads 0, VF Migration Enable / Interrupt Enable
 *   are read-only 0 and the VF Migration State Array Offset reads 0.
 * - First VF Offset and VF Stride are constant per device model. The spec allows them to change
 *   with NumVFs and ARI Capable Hierarchy (§3.3.11–12); neither the 82599 nor the XL710 model
 *   here does that, which Linux tolerates (it re-reads both after writing NumVFs).
 * - VF BARs (§3.3.14) size like ordinary BARs: write all ones, read back ~(size − 1) | flags.
 *   The size is one VF's; VF i's BAR k is at VF_BARk + size_k × i (./sriov.ts).
 */
import * as P from './regs.ts';
import type { BarSpec } from './config-space.ts';

export interface SriovCapSpec {
  kind: 'sriov';
  offset: number;
  initialVfs: number;
  totalVfs: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
  /** Supported Page Sizes: bit n set = page size 2^(n+12) supported. */
  supportedPageSizes: number;
  /** VF BAR0–5 as one VF sees them; a 64-bit BAR takes its index and the next. */
  vfBars: (BarSpec | undefined)[];
}
export type ExtCapSpec =
  | { kind: 'aer'; offset: number }
  | { kind: 'dsn'; offset: number; serial: bigint }
  | { kind: 'ari'; offset: number; nextFunction: number }
  | SriovCapSpec;

/** How the constructor of PciConfigSpace lets a layout write initial bytes and write masks. */
export interface CapWriter {
  put16(o: number, v: number): void;
  put32(o: number, v: number): void;
  rw(o: number, mask: number, width: number): void;
  bar(o: number, bar: BarSpec): void;
}

const EXT_VERSION: Record<ExtCapSpec['kind'], number> = { aer: 2, dsn: 1, ari: 1, sriov: 1 };
const EXT_ID: Record<ExtCapSpec['kind'], number> = { aer: P.PCI_EXT_CAP_ID_ERR, dsn: P.PCI_EXT_CAP_ID_DSN, ari: P.PCI_EXT_CAP_ID_ARI, sriov: P.PCI_EXT_CAP_ID_SRIOV };

/** Lay out `caps` in the order given, each header pointing at the next; the first must sit at 0x100. */
export function layoutExtCaps(w: CapWriter, caps: readonly ExtCapSpec[]): void {
  if (caps.length && caps[0]!.offset !== P.PCI_CFG_SPACE_SIZE) throw new Error('the extended capability list starts at 0x100');
  caps.forEach((cap, i) => {
    const next = caps[i + 1]?.offset ?? 0;
    const o = cap.offset;
    if (o % 4 || o < P.PCI_CFG_SPACE_SIZE || (next && next <= o)) throw new Error(`bad extended capability offset 0x${o.toString(16)}`);
    w.put32(o, (EXT_ID[cap.kind] | (EXT_VERSION[cap.kind] << 16) | (next << 20)) >>> 0);
    if (cap.kind === 'dsn') {
      w.put32(o + 4, Number(cap.serial & 0xffffffffn));
      w.put32(o + 8, Number((cap.serial >> 32n) & 0xffffffffn));
    } else if (cap.kind === 'ari') {
      w.put16(o + P.PCI_ARI_CAP, (cap.nextFunction & 0xff) << 8);
    } else if (cap.kind === 'sriov') {
      w.put16(o + P.PCI_SRIOV_INITIAL_VF, cap.initialVfs);
      w.put16(o + P.PCI_SRIOV_TOTAL_VF, cap.totalVfs);
      w.put16(o + P.PCI_SRIOV_VF_OFFSET, cap.firstVfOffset);
      w.put16(o + P.PCI_SRIOV_VF_STRIDE, cap.vfStride);
      w.put16(o + P.PCI_SRIOV_VF_DID, cap.vfDeviceId);
      w.put32(o + P.PCI_SRIOV_SUP_PGSIZE, cap.supportedPageSizes);
      w.put32(o + P.PCI_SRIOV_SYS_PGSIZE, 0x1); // 4 KiB, the reset value (§3.3.13)
      w.rw(o + P.PCI_SRIOV_CTRL, P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE | P.PCI_SRIOV_CTRL_ARI, 2);
      w.rw(o + P.PCI_SRIOV_NUM_VF, 0xffff, 2);
      w.rw(o + P.PCI_SRIOV_SYS_PGSIZE, 0xffffffff, 4);
      for (let k = 0; k < P.PCI_SRIOV_NUM_BARS; k++) {
        const bar = cap.vfBars[k];
        if (bar) w.bar(o + P.PCI_SRIOV_BAR + 4 * k, bar);
      }
    }
  });
}

/** What an SR-IOV register write did, after the rules above. */
export interface SriovWriteEffect {
  ctrlBefore: number;
  ctrlAfter: number;
  /** Bytes of the write the function ignored, by register name, for diagnostics. */
  ignored: string[];
}

type Cfg = { read(o: number, s: 1 | 2 | 4): number; readonly bytes: Uint8Array };
const get16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const set16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
};
const get32 = (b: Uint8Array, o: number): number => (get16(b, o) | (get16(b, o + 2) << 16)) >>> 0;
const set32 = (b: Uint8Array, o: number, v: number): void => {
  set16(b, o, v & 0xffff);
  set16(b, o + 2, v >>> 16);
};

/** The SR-IOV registers a write may touch, captured before it is applied. */
export function sriovSnapshot(b: Uint8Array, cap: number): [number, number, number] {
  return [get16(b, cap + P.PCI_SRIOV_CTRL), get16(b, cap + P.PCI_SRIOV_NUM_VF), get32(b, cap + P.PCI_SRIOV_SYS_PGSIZE)];
}

/** Undo the parts of a write to the SR-IOV capability at `cap` that the function ignores. */
export function sriovAfterWrite(b: Uint8Array, cap: number, before: [number, number, number]): SriovWriteEffect {
  const [ctrl0, num0, pg0] = before;
  const ignored: string[] = [];
  let ctrl = get16(b, cap + P.PCI_SRIOV_CTRL);
  const total = get16(b, cap + P.PCI_SRIOV_TOTAL_VF);
  const enabled = (ctrl0 & P.PCI_SRIOV_CTRL_VFE) !== 0;
  if (get16(b, cap + P.PCI_SRIOV_NUM_VF) !== num0 && (enabled || get16(b, cap + P.PCI_SRIOV_NUM_VF) > total)) {
    ignored.push(enabled ? 'NumVFs (VF Enable is set)' : `NumVFs ${get16(b, cap + P.PCI_SRIOV_NUM_VF)} > TotalVFs ${total}`);
    set16(b, cap + P.PCI_SRIOV_NUM_VF, num0);
  }
  const pg = get32(b, cap + P.PCI_SRIOV_SYS_PGSIZE);
  if (pg !== pg0) {
    const sup = get32(b, cap + P.PCI_SRIOV_SUP_PGSIZE);
    const single = pg !== 0 && (pg & (pg - 1)) === 0 && (pg & sup) === pg;
    if (enabled || !single) {
      ignored.push(enabled ? 'System Page Size (VF Enable is set)' : `System Page Size 0x${pg.toString(16)} (supported 0x${sup.toString(16)})`);
      set32(b, cap + P.PCI_SRIOV_SYS_PGSIZE, pg0);
    }
  }
  if (enabled && (ctrl & P.PCI_SRIOV_CTRL_ARI) !== (ctrl0 & P.PCI_SRIOV_CTRL_ARI)) {
    ignored.push('ARI Capable Hierarchy (VF Enable is set)');
    ctrl = (ctrl & ~P.PCI_SRIOV_CTRL_ARI) | (ctrl0 & P.PCI_SRIOV_CTRL_ARI);
  }
  if (!enabled && (ctrl & P.PCI_SRIOV_CTRL_VFE) && get16(b, cap + P.PCI_SRIOV_NUM_VF) === 0) {
    ignored.push('VF Enable with NumVFs = 0');
    ctrl &= ~P.PCI_SRIOV_CTRL_VFE;
  }
  set16(b, cap + P.PCI_SRIOV_CTRL, ctrl);
  return { ctrlBefore: ctrl0, ctrlAfter: ctrl, ignored };
}

/**
 * The offset of extended capability `id` in `cfg`, or 0: the walk of Linux
 * pci_find_next_ext_capability() (drivers/pci/pci.c), with its loop bound (at most
 * (4096 − 256) / 8 headers), so a looping list ends.
 */
export function findExtCapability(cfg: Cfg, id: number): number {
  if (cfg.bytes.length < P.PCI_CFG_SPACE_EXP_SIZE) return 0;
  let ttl = (P.PCI_CFG_SPACE_EXP_SIZE - P.PCI_CFG_SPACE_SIZE) / 8;
  let pos = P.PCI_CFG_SPACE_SIZE;
  let header = cfg.read(pos, 4);
  if (header === 0 || header === 0xffffffff) return 0;
  while (ttl-- > 0) {
    if (P.PCI_EXT_CAP_ID(header) === id) return pos;
    pos = P.PCI_EXT_CAP_NEXT(header);
    if (pos < P.PCI_CFG_SPACE_SIZE) break;
    header = cfg.read(pos, 4);
  }
  return 0;
}

/** Every extended capability as [offset, id, version], in list order. */
export function listExtCapabilities(cfg: Cfg): [number, number, number][] {
  const out: [number, number, number][] = [];
  if (cfg.bytes.length < P.PCI_CFG_SPACE_EXP_SIZE) return out;
  let ttl = (P.PCI_CFG_SPACE_EXP_SIZE - P.PCI_CFG_SPACE_SIZE) / 8;
  for (let pos = P.PCI_CFG_SPACE_SIZE; pos >= P.PCI_CFG_SPACE_SIZE && ttl-- > 0;) {
    const h = cfg.read(pos, 4);
    if (h === 0 || h === 0xffffffff) break;
    out.push([pos, P.PCI_EXT_CAP_ID(h), P.PCI_EXT_CAP_VER(h)]);
    pos = P.PCI_EXT_CAP_NEXT(h);
  }
  return out;
}
