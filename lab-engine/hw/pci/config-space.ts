/**
 * A PCI function's 256-byte configuration space as real bytes (PCI Local Bus 3.0 §6.1–§6.2,
 * type 0 header; §6.7 capability list; §6.8.2 MSI-X): read and written at byte, word or dword
 * width, little-endian, with per-bit write masks, write-1-to-clear status bits and BAR sizing
 * (write all ones, read back the size mask, §6.2.5.1). Names and offsets from ./regs.ts
 * (Linux pci_regs.h). The capability list is PM → MSI-X → PCI Express, at the offsets the Intel
 * 82599 uses (0x40, 0x70, 0xA0; its MSI capability at 0x50 is left out here).
 *
 * With `extended` in the spec the space is 4 KiB (PCIe Base 4.0 §7.2.2) and carries the extended
 * capability list of ./ext-caps.ts (AER, DSN, ARI, SR-IOV); without it, 256 bytes and reads
 * above 0xFF return all ones, which Linux pci_cfg_space_size() takes as "conventional PCI only".
 * `isVf` makes the space a Virtual Function's (SR-IOV 1.1 §3.4–3.5): Memory Space and I/O Space
 * enables read-only 0 (the PF's VF MSE decodes all VFs), no header BARs (the PF's VF BARs
 * place them), no INTx, and the ids given in the spec (0xFFFF for a VF, ./sriov.ts).
 *
 * Simplifications: no expansion ROM (reads 0), the PCIe capability
 * carries only its flags, device capabilities and link fields; writes to read-only bits are
 * dropped silently, as hardware drops them.
 */
import * as P from './regs.ts';
import { layoutExtCaps, sriovAfterWrite, sriovSnapshot, type ExtCapSpec, type SriovWriteEffect } from './ext-caps.ts';

export interface BarSpec {
  /** Size in bytes, a power of two ≥ 16 (memory) or ≥ 4 (I/O). */
  size: number;
  kind: 'mem32' | 'mem64' | 'io';
  prefetchable?: boolean;
}

export interface MsixSpec {
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

export interface PciFunctionSpec {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** 24-bit class code: base class, subclass, programming interface (0x020000 = Ethernet). */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  /** BAR0–BAR5; a 64-bit BAR takes its index and the next one (leave that slot undefined). */
  bars: (BarSpec | undefined)[];
  msix: MsixSpec;
  /** PCIe link as the Link Status register reports it: speed code (1 = 2.5, 2 = 5, 3 = 8, 4 = 16 GT/s) and width. */
  link: { speed: number; width: number };
  /** Extended capabilities (4 KiB configuration space), first at 0x100. */
  extended?: readonly ExtCapSpec[];
  /** A Virtual Function's header (SR-IOV 1.1 §3.5). */
  isVf?: boolean;
}

export const PM_CAP_OFFSET = 0x40;
export const MSIX_CAP_OFFSET = 0x70;
export const EXP_CAP_OFFSET = 0xa0;

export class PciConfigSpace {
  readonly bytes: Uint8Array;
  /** Bits software may change, per byte. */
  readonly #rw: Uint8Array;
  /** Bits that clear when written with 1, per byte (status error bits). */
  readonly #rw1c: Uint8Array;
  readonly spec: PciFunctionSpec;
  /** Offset of the SR-IOV extended capability, or 0. */
  readonly sriovCap: number;
  /** Called after a write that touched the MSI-X Message Control word. */
  onMsixControl: ((enabled: boolean, maskAll: boolean) => void) | undefined;
  /** Called after every write that touched the SR-IOV capability (./sriov.ts listens). */
  onSriovWrite: ((e: SriovWriteEffect) => void) | undefined;

  constructor(spec: PciFunctionSpec) {
    this.spec = spec;
    const size = spec.extended ? P.PCI_CFG_SPACE_EXP_SIZE : P.PCI_CFG_SPACE_SIZE;
    this.bytes = new Uint8Array(size);
    this.#rw = new Uint8Array(size);
    this.#rw1c = new Uint8Array(size);
    const b = this.bytes;
    const put16 = (o: number, v: number): void => {
      b[o] = v & 0xff;
      b[o + 1] = (v >>> 8) & 0xff;
    };
    const put32 = (o: number, v: number): void => {
      put16(o, v & 0xffff);
      put16(o + 2, (v >>> 16) & 0xffff);
    };
    const rw = (o: number, mask: number, width: number): void => {
      for (let i = 0; i < width; i++) this.#rw[o + i] = (mask >>> (8 * i)) & 0xff;
    };
    put16(P.PCI_VENDOR_ID, spec.vendorId);
    put16(P.PCI_DEVICE_ID, spec.deviceId);
    put16(P.PCI_STATUS, P.PCI_STATUS_CAP_LIST);
    put32(P.PCI_CLASS_REVISION, ((spec.classCode & 0xffffff) << 8 | (spec.revision & 0xff)) >>> 0);
    b[P.PCI_HEADER_TYPE] = P.PCI_HEADER_TYPE_NORMAL;
    put16(P.PCI_SUBSYSTEM_VENDOR_ID, spec.subsystemVendorId);
    put16(P.PCI_SUBSYSTEM_ID, spec.subsystemId);
    b[P.PCI_CAPABILITY_LIST] = PM_CAP_OFFSET;
    b[P.PCI_INTERRUPT_PIN] = spec.isVf ? 0 : 1; // INTA#, unused once MSI-X is on; VFs have no INTx
    rw(P.PCI_COMMAND, (spec.isVf ? 0 : P.PCI_COMMAND_IO | P.PCI_COMMAND_MEMORY) | P.PCI_COMMAND_MASTER | 0x40 | 0x100 | (spec.isVf ? 0 : P.PCI_COMMAND_INTX_DISABLE), 2);
    this.#rw1c[P.PCI_STATUS + 1] = 0xf9; // parity, target/master abort, SERR, detected parity
    rw(P.PCI_CACHE_LINE_SIZE, 0xff, 1);
    rw(P.PCI_LATENCY_TIMER, 0xff, 1);
    rw(P.PCI_INTERRUPT_LINE, 0xff, 1);
    const barAt = (o: number, bar: BarSpec): void => {
      if (bar.kind === 'io') {
        b[o] = P.PCI_BASE_ADDRESS_SPACE_IO;
        rw(o, (~(bar.size - 1) & ~0x3) >>> 0, 4);
        return;
      }
      b[o] = (bar.kind === 'mem64' ? P.PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (bar.prefetchable ? P.PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
      rw(o, (~(bar.size - 1) & P.PCI_BASE_ADDRESS_MEM_MASK) >>> 0, 4);
      if (bar.kind === 'mem64') rw(o + 4, 0xffffffff, 4); // sizes < 4 GiB: the upper dword is all address
    };
    for (let i = 0; i < 6; i++) {
      const bar = spec.bars[i];
      if (bar) barAt(P.PCI_BASE_ADDRESS_0 + 4 * i, bar);
    }
    if (spec.extended) layoutExtCaps({ put16, put32, rw, bar: barAt }, spec.extended);
    this.sriovCap = spec.extended?.find((c) => c.kind === 'sriov')?.offset ?? 0;
    // Power management, version 3, D0.
    b[PM_CAP_OFFSET + P.PCI_CAP_LIST_ID] = P.PCI_CAP_ID_PM;
    b[PM_CAP_OFFSET + P.PCI_CAP_LIST_NEXT] = MSIX_CAP_OFFSET;
    put16(PM_CAP_OFFSET + P.PCI_PM_PMC, 0x0003);
    rw(PM_CAP_OFFSET + P.PCI_PM_CTRL, 0x0003, 2);
    // MSI-X: Message Control (table size N − 1; enable and function mask writable), table and PBA.
    const m = spec.msix;
    b[MSIX_CAP_OFFSET + P.PCI_CAP_LIST_ID] = P.PCI_CAP_ID_MSIX;
    b[MSIX_CAP_OFFSET + P.PCI_CAP_LIST_NEXT] = EXP_CAP_OFFSET;
    put16(MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS, (m.vectors - 1) & P.PCI_MSIX_FLAGS_QSIZE);
    rw(MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS, P.PCI_MSIX_FLAGS_ENABLE | P.PCI_MSIX_FLAGS_MASKALL, 2);
    put32(MSIX_CAP_OFFSET + P.PCI_MSIX_TABLE, ((m.tableOffset & P.PCI_MSIX_TABLE_OFFSET) | (m.tableBar & P.PCI_MSIX_TABLE_BIR)) >>> 0);
    put32(MSIX_CAP_OFFSET + P.PCI_MSIX_PBA, ((m.pbaOffset & P.PCI_MSIX_PBA_OFFSET) | (m.pbaBar & P.PCI_MSIX_PBA_BIR)) >>> 0);
    // PCI Express endpoint, capability version 2; link capability = link status (trained at its best).
    b[EXP_CAP_OFFSET + P.PCI_CAP_LIST_ID] = P.PCI_CAP_ID_EXP;
    b[EXP_CAP_OFFSET + P.PCI_CAP_LIST_NEXT] = 0;
    put16(EXP_CAP_OFFSET + P.PCI_EXP_FLAGS, 0x0002 | (P.PCI_EXP_TYPE_ENDPOINT << 4));
    put32(EXP_CAP_OFFSET + P.PCI_EXP_DEVCAP, 0x1); // max payload 256 B
    put32(EXP_CAP_OFFSET + P.PCI_EXP_LNKCAP, (spec.link.speed & 0xf) | ((spec.link.width & 0x3f) << 4));
    put16(EXP_CAP_OFFSET + P.PCI_EXP_LNKSTA, (spec.link.speed & 0xf) | ((spec.link.width & 0x3f) << 4));
  }

  /** A configuration read of `size` bytes (1, 2 or 4) at `offset`, naturally aligned; out of range reads all ones. */
  read(offset: number, size: 1 | 2 | 4): number {
    if (!aligned(offset, size, this.bytes.length)) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.bytes[offset + i]!;
    return v >>> 0;
  }

  /** A configuration write: writable bits take the new value, RW1C bits clear where 1 is written. */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    if (!aligned(offset, size, this.bytes.length)) return;
    const cap = this.sriovCap;
    const sriov = cap !== 0 && offset < cap + P.PCI_EXT_CAP_SRIOV_SIZEOF && offset + size > cap;
    const before = sriov ? sriovSnapshot(this.bytes, cap) : undefined;
    for (let i = 0; i < size; i++) {
      const o = offset + i;
      const v = (value >>> (8 * i)) & 0xff;
      const rw = this.#rw[o]!;
      this.bytes[o] = ((this.bytes[o]! & ~rw) | (v & rw)) & ~(v & this.#rw1c[o]!) & 0xff;
    }
    const ctl = MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS;
    if (offset <= ctl + 1 && offset + size > ctl) this.onMsixControl?.(this.msixEnabled, this.msixFunctionMasked);
    if (before) {
      const effect = sriovAfterWrite(this.bytes, cap, before); // always applied, listener or not
      this.onSriovWrite?.(effect);
    }
  }

  get command(): number {
    return this.read(P.PCI_COMMAND, 2);
  }
  get busMaster(): boolean {
    return (this.command & P.PCI_COMMAND_MASTER) !== 0;
  }
  get memoryEnabled(): boolean {
    return (this.command & P.PCI_COMMAND_MEMORY) !== 0;
  }
  get msixEnabled(): boolean {
    return (this.read(MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS, 2) & P.PCI_MSIX_FLAGS_ENABLE) !== 0;
  }
  get msixFunctionMasked(): boolean {
    return (this.read(MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS, 2) & P.PCI_MSIX_FLAGS_MASKALL) !== 0;
  }

  /** The address BAR `i` was programmed with (64-bit BARs combine both dwords), flag bits removed. */
  barAddress(i: number): number {
    const bar = this.spec.bars[i];
    if (!bar) return 0;
    const lo = this.read(P.PCI_BASE_ADDRESS_0 + 4 * i, 4);
    if (bar.kind === 'io') return (lo & ~0x3) >>> 0;
    const base = (lo & P.PCI_BASE_ADDRESS_MEM_MASK) >>> 0;
    return bar.kind === 'mem64' ? base + this.read(P.PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4) * 0x1_0000_0000 : base;
  }

  /** What firmware does at boot: program BAR `i` with `address` (a multiple of its size). */
  assignBar(i: number, address: number): void {
    const bar = this.spec.bars[i];
    if (!bar) return;
    this.write(P.PCI_BASE_ADDRESS_0 + 4 * i, 4, address >>> 0);
    if (bar.kind === 'mem64') this.write(P.PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4, Math.floor(address / 0x1_0000_0000) >>> 0);
  }
}

const aligned = (offset: number, size: number, limit: number): boolean =>
  Number.isInteger(offset) && offset >= 0 && offset + size <= limit && offset % size === 0;
