/**
 * The built-in transmit path, as QEMU's hw/net/e1000.c does it: a TDT write runs start_xmit()
 * synchronously in the vCPU's exit — walk descriptors from TDH to TDT, DMA-read each buffer,
 * send the frame at EOP, write back DD where RS asked for it, then raise TXDW|TXQE through the
 * mitigation logic. (The emulated-nic lab asks learners to write this part themselves; this one
 * is deliberately written against the device internals, not the lab's API.)
 */
import { COSTS, copyCost } from '../../sim/costs.ts';
import type { Meter } from '../../hv/host.ts';
import type { E1000, TxModel } from './device.ts';
import * as R from './regs.ts';
import {
  E1000_DESC_SIZE,
  E1000_TXD_CMD_EOP,
  E1000_TXD_CMD_IDE,
  E1000_TXD_CMD_RPS,
  E1000_TXD_CMD_RS,
  E1000_TXD_STAT_DD,
} from './desc.ts';

export class QemuE1000Tx implements TxModel {
  /** QEMU's tx.data: the frame being assembled from its descriptors (reused, like QEMU's). */
  #frame = new Uint8Array(65536);
  #size = 0;

  readonly dev: E1000;
  readonly transmit: (frame: Uint8Array, m: Meter) => void;

  constructor(dev: E1000, transmit: (frame: Uint8Array, m: Meter) => void) {
    this.dev = dev;
    this.transmit = transmit;
  }

  onRegisterWrite(offset: number, _value: number, m: Meter): void {
    if (offset === R.E1000_TDT) this.#startXmit(m);
    else if (offset === R.E1000_IMS) this.dev.raiseMitigated(m); // set_ims → set_ics(0)
  }

  onTimer(_m: Meter): void {}

  #startXmit(m: Meter): void {
    const d = this.dev;
    if (!(d.reg(R.E1000_TCTL) & R.E1000_TCTL_EN)) return;
    const count = Math.floor(d.reg(R.E1000_TDLEN) / E1000_DESC_SIZE);
    if (count === 0) return;
    const base = d.reg(R.E1000_TDBAL) + d.reg(R.E1000_TDBAH) * 0x1_0000_0000;
    let cause = R.E1000_ICR_TXQE;
    let guard = 0;
    while (d.reg(R.E1000_TDH) !== d.reg(R.E1000_TDT) && guard++ < count) {
      const head = d.reg(R.E1000_TDH);
      const at = base + head * E1000_DESC_SIZE;
      if (!d.mem.contains(at, E1000_DESC_SIZE)) break;
      const addr = d.mem.read64(at);
      const lower = d.mem.read32(at + 8);
      const len = lower & 0xffff;
      m.charge('qemu', COSTS.qemuDmaOp.ns + copyCost(E1000_DESC_SIZE), 'dma-read', `read TX descriptor ${head}`);
      if (d.mem.contains(addr, len) && this.#size + len <= this.#frame.length) {
        d.mem.readInto(addr, len, this.#frame, this.#size);
        this.#size += len;
        m.charge('qemu', COSTS.qemuDmaOp.ns + copyCost(len), 'dma-read', `DMA ${len} B from TX buffer`);
        d.env.metrics.count(m.t, 'dmaOps', 2);
        d.env.metrics.count(m.t, 'bytesCopied', len + E1000_DESC_SIZE);
      }
      if (lower & E1000_TXD_CMD_EOP) {
        // A view, valid during the call: the host copies it only if someone keeps the bytes.
        const frame = this.#frame.subarray(0, this.#size);
        this.#size = 0;
        this.transmit(frame, m);
      }
      if (lower & (E1000_TXD_CMD_RS | E1000_TXD_CMD_RPS)) {
        d.mem.write32(at + 12, d.mem.read32(at + 12) | E1000_TXD_STAT_DD);
        m.charge('qemu', COSTS.qemuDmaOp.ns, 'dma-write', `write back DD, descriptor ${head}`);
        cause |= R.E1000_ICR_TXDW;
      }
      if (lower & E1000_TXD_CMD_IDE) d.mitIde = true;
      d.setReg(R.E1000_TDH, (head + 1) % count);
    }
    d.setCause(cause);
    d.raiseMitigated(m);
  }
}
