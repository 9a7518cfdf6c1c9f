/** The code learners start from: it compiles and runs, and transmits nothing yet. */
export const EMULATED_NIC_STARTER = `// The device-model side of an emulated e1000's transmit path.
// QEMU calls onRegisterWrite() on the vCPU's exit each time the guest writes a register
// (after storing the value, so dev.reg(offset) already returns it).
import {
  type Device,
  E1000_TDT, E1000_TDH, E1000_TDBAL, E1000_TDBAH, E1000_TDLEN, E1000_IMS,
  E1000_DESC_SIZE, E1000_TXD_CMD_EOP, E1000_TXD_CMD_RS, E1000_TXD_STAT_DD,
  E1000_ICR_TXDW, E1000_ICR_TXQE, E1000_ITR, ITR_UNIT_NS,
} from 'iovlab/emulated-nic';

export function onRegisterWrite(dev: Device, offset: number, value: number): void {
  if (offset === E1000_TDT) {
    // Part 1: the guest rang the doorbell. Process every descriptor from TDH up to (not
    // including) TDT:
    //   1. read the 16-byte descriptor at base + TDH * 16 (base = TDBAL + TDBAH * 2^32);
    //   2. read its buffer; a frame may span several descriptors: send it at EOP;
    //   3. if RS is set, write DD back into the descriptor's status;
    //   4. advance TDH (the ring wraps: it has TDLEN / 16 descriptors).
    // Then set the interrupt causes (TXDW, TXQE) and raise the interrupt.
  }
  // Part 2: interrupt moderation. Honour ITR (dev.reg(E1000_ITR) × ITR_UNIT_NS): after an
  // interrupt, hold the next one back until the interval has passed, using dev.startTimer().
  // Hint: the guest writes IMS when it re-enables interrupts. Causes may be pending then.
}

export function onTimer(dev: Device): void {
  // Part 2: the moderation window closed.
}
`;
