// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the emulated-nic lab, written as a learner would, against 'iovlab/emulated-nic'.
// Part 1 follows QEMU's start_xmit(); Part 2 follows QEMU's set_interrupt_cause() mitigation:
// raise at once on a rising edge, then hold further interrupts for the ITR interval.
import {
  type Device,
  E1000_TDT, E1000_TDH, E1000_TDBAL, E1000_TDBAH, E1000_TDLEN, E1000_IMS, E1000_ITR,
  E1000_DESC_SIZE, E1000_TXD_CMD_EOP, E1000_TXD_CMD_RS, E1000_TXD_CMD_RPS, E1000_TXD_STAT_DD,
  E1000_ICR_TXDW, E1000_ICR_TXQE, ITR_UNIT_NS,
} from 'iovlab/emulated-nic';

let pending: Uint8Array[] = [];
let holdOff = false;

export function onRegisterWrite(dev: Device, offset: number, _value: number): void {
  if (offset === E1000_TDT) transmitRing(dev);
  else if (offset === E1000_IMS) signal(dev);
}

export function onTimer(dev: Device): void {
  holdOff = false;
  signal(dev);
}

function transmitRing(dev: Device): void {
  const count = Math.floor(dev.reg(E1000_TDLEN) / E1000_DESC_SIZE);
  if (count === 0) return;
  const base = dev.reg(E1000_TDBAL) + dev.reg(E1000_TDBAH) * 2 ** 32;
  let causes = E1000_ICR_TXQE;
  while (dev.reg(E1000_TDH) !== dev.reg(E1000_TDT)) {
    const head = dev.reg(E1000_TDH);
    const at = base + head * E1000_DESC_SIZE;
    const desc = new DataView(dev.dmaRead(at, E1000_DESC_SIZE).buffer);
    const addr = desc.getUint32(0, true) + desc.getUint32(4, true) * 2 ** 32;
    const lower = desc.getUint32(8, true);
    const length = lower & 0xffff;
    pending.push(dev.dmaRead(addr, length));
    if (lower & E1000_TXD_CMD_EOP) {
      const frame = new Uint8Array(pending.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of pending) {
        frame.set(p, o);
        o += p.length;
      }
      pending = [];
      dev.transmit(frame);
    }
    if (lower & (E1000_TXD_CMD_RS | E1000_TXD_CMD_RPS)) {
      dev.dmaWrite32(at + 12, desc.getUint32(12, true) | E1000_TXD_STAT_DD);
      causes |= E1000_ICR_TXDW;
    }
    dev.setReg(E1000_TDH, (head + 1) % count);
  }
  dev.setCause(causes);
  signal(dev);
}

/** Deliver pending causes, at most one interrupt per ITR interval. */
function signal(dev: Device): void {
  if (holdOff) return;
  if (!dev.raiseInterrupt()) return;
  const interval = (dev.reg(E1000_ITR) & 0xffff) * ITR_UNIT_NS;
  if (interval > 0) {
    holdOff = true;
    dev.startTimer(interval);
  }
}
