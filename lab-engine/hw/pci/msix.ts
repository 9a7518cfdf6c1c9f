/**
 * An MSI-X table and pending bit array as real bytes in a BAR (PCI Local Bus 3.0 §6.8.2.6–§6.8.2.9;
 * Linux pci_regs.h PCI_MSIX_ENTRY_*): 16 bytes per entry — Message Address, Message Upper Address,
 * Message Data, Vector Control (bit 0 mask) — and one pending bit per vector. Entries come out of
 * reset masked (§6.8.2.9). When the function raises vector v:
 *   - masked (the entry's mask bit, or the function mask / MSI-X disabled): set pending bit v;
 *   - otherwise: send the message — a DWORD write of Message Data to Message Address — now.
 * When software unmasks an entry whose pending bit is set, the message goes out then (§6.8.2.9).
 * The table holds whatever was written: under VFIO that is the host's remappable-format message,
 * never the guest's (QEMU traps the guest's writes and asks the host to program this table).
 */
import * as P from './regs.ts';

export interface MsiMessage {
  vector: number;
  address: number;
  data: number;
}

export class MsixTable {
  readonly vectors: number;
  readonly tableOffset: number;
  readonly pbaOffset: number;
  readonly table: Uint8Array;
  readonly pba: Uint8Array;
  /** MSI-X enable and function mask, as the config space's Message Control says. */
  enabled = false;
  functionMasked = false;
  /** A message the function sends: the platform (IOMMU, interrupt controller) takes it from here. */
  onMessage: ((m: MsiMessage) => void) | undefined;

  constructor(vectors: number, tableOffset: number, pbaOffset: number) {
    this.vectors = vectors;
    this.tableOffset = tableOffset;
    this.pbaOffset = pbaOffset;
    this.table = new Uint8Array(vectors * P.PCI_MSIX_ENTRY_SIZE);
    this.pba = new Uint8Array(Math.ceil(vectors / 64) * 8);
    for (let v = 0; v < vectors; v++) this.table[v * P.PCI_MSIX_ENTRY_SIZE + P.PCI_MSIX_ENTRY_VECTOR_CTRL] = P.PCI_MSIX_ENTRY_CTRL_MASKBIT;
  }

  /** Does a BAR offset fall in the table (the page QEMU keeps trapped)? */
  inTable(offset: number): boolean {
    return offset >= this.tableOffset && offset < this.tableOffset + this.table.length;
  }

  /** A DWORD read at `offset` within the BAR (table or PBA); elsewhere 0. */
  read(offset: number): number {
    const [buf, o] = this.#locate(offset);
    if (!buf || o + 4 > buf.length) return 0;
    return (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
  }

  /** A DWORD write within the BAR; the PBA is read-only. Unmasking a pending vector sends it. */
  write(offset: number, value: number): void {
    if (!this.inTable(offset) || offset % 4 !== 0) return;
    const o = offset - this.tableOffset;
    for (let i = 0; i < 4; i++) this.table[o + i] = (value >>> (8 * i)) & 0xff;
    if (o % P.PCI_MSIX_ENTRY_SIZE === P.PCI_MSIX_ENTRY_VECTOR_CTRL) this.#retry(o / P.PCI_MSIX_ENTRY_SIZE);
  }

  entry(v: number): { address: number; upper: number; data: number; masked: boolean } {
    const base = this.tableOffset + v * P.PCI_MSIX_ENTRY_SIZE;
    return {
      address: this.read(base + P.PCI_MSIX_ENTRY_LOWER_ADDR),
      upper: this.read(base + P.PCI_MSIX_ENTRY_UPPER_ADDR),
      data: this.read(base + P.PCI_MSIX_ENTRY_DATA),
      masked: (this.read(base + P.PCI_MSIX_ENTRY_VECTOR_CTRL) & P.PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0,
    };
  }

  /** Host software (vfio-pci, the IRQ layer) programs entry v directly. */
  program(v: number, msg: { address: number; data: number } | null): void {
    const base = this.tableOffset + v * P.PCI_MSIX_ENTRY_SIZE;
    if (msg) {
      this.write(base + P.PCI_MSIX_ENTRY_LOWER_ADDR, msg.address >>> 0);
      this.write(base + P.PCI_MSIX_ENTRY_UPPER_ADDR, 0);
      this.write(base + P.PCI_MSIX_ENTRY_DATA, msg.data >>> 0);
    }
    this.write(base + P.PCI_MSIX_ENTRY_VECTOR_CTRL, msg ? 0 : P.PCI_MSIX_ENTRY_CTRL_MASKBIT);
  }

  pending(v: number): boolean {
    return (this.pba[v >> 3]! & (1 << (v & 7))) !== 0;
  }

  /** The function raises vector v (§6.8.2.9): send it, or hold it as pending while masked. */
  raise(v: number): 'sent' | 'pending' {
    if (v < 0 || v >= this.vectors) return 'pending';
    const e = this.entry(v);
    if (!this.enabled || this.functionMasked || e.masked) {
      this.pba[v >> 3]! |= 1 << (v & 7);
      return 'pending';
    }
    this.onMessage?.({ vector: v, address: e.upper ? e.upper * 0x1_0000_0000 + e.address : e.address, data: e.data });
    return 'sent';
  }

  /** Message Control changed (enable, function mask): pending vectors that are now unmasked go out. */
  setControl(enabled: boolean, functionMasked: boolean): void {
    this.enabled = enabled;
    this.functionMasked = functionMasked;
    for (let v = 0; v < this.vectors; v++) this.#retry(v);
  }

  #retry(v: number): void {
    if (!this.pending(v) || !this.enabled || this.functionMasked || this.entry(v).masked) return;
    this.pba[v >> 3]! &= ~(1 << (v & 7));
    this.raise(v);
  }

  #locate(offset: number): [Uint8Array | undefined, number] {
    if (this.inTable(offset)) return [this.table, offset - this.tableOffset];
    if (offset >= this.pbaOffset && offset < this.pbaOffset + this.pba.length) return [this.pba, offset - this.pbaOffset];
    return [undefined, 0];
  }
}
