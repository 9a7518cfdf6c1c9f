/** What learners see in the editor for `import … from 'iovlab/emulated-nic'`. */
export const EMULATED_NIC_DTS = `declare module 'iovlab/emulated-nic' {
  // ── Registers: byte offsets in BAR0 (Intel 8254x SDM §13; Linux e1000_hw.h names) ──────────
  /** Device Control. */
  export const E1000_CTRL: 0x0000;
  /** Device Status (read only). */
  export const E1000_STATUS: 0x0008;
  /** Interrupt Cause Read: reading returns the causes and clears them (the device does this). */
  export const E1000_ICR: 0x00c0;
  /** Interrupt Throttling Rate: minimum interval between interrupts, in 256 ns units; 0 = no limit. */
  export const E1000_ITR: 0x00c4;
  /** Interrupt Cause Set. */
  export const E1000_ICS: 0x00c8;
  /** Interrupt Mask Set: the guest writes 1s to enable causes (it re-enables them after its NAPI poll). */
  export const E1000_IMS: 0x00d0;
  /** Interrupt Mask Clear: the guest writes 1s to disable causes (at the start of its ISR). */
  export const E1000_IMC: 0x00d8;
  /** Transmit Control (bit E1000_TCTL_EN enables the transmitter). */
  export const E1000_TCTL: 0x0400;
  /** TX ring base address, low 32 bits (guest-physical). */
  export const E1000_TDBAL: 0x3800;
  /** TX ring base address, high 32 bits. */
  export const E1000_TDBAH: 0x3804;
  /** TX ring length in BYTES (16 bytes per descriptor). */
  export const E1000_TDLEN: 0x3808;
  /** TX head: the next descriptor the device processes. The device (you) advances it. */
  export const E1000_TDH: 0x3810;
  /** TX tail: one past the last descriptor the driver filled. Writing it is the doorbell. */
  export const E1000_TDT: 0x3818;
  /** TX interrupt delay value (1.024 µs units). */
  export const E1000_TIDV: 0x3820;
  /** TX absolute interrupt delay value (1.024 µs units). */
  export const E1000_TADV: 0x382c;

  export const E1000_TCTL_EN: 0x00000002;
  /** ICR cause: transmit descriptor written back (a descriptor with RS got DD). */
  export const E1000_ICR_TXDW: 0x00000001;
  /** ICR cause: transmit queue empty (the device reached TDT). */
  export const E1000_ICR_TXQE: 0x00000002;
  /** ICR cause: receive timer (not used in this lab). */
  export const E1000_ICR_RXT0: 0x00000080;

  // ── Legacy TX descriptor (8254x SDM §3.3.3), 16 bytes, little-endian ─────────────────────────
  //   bytes 0–7   buffer address (guest-physical, le64)
  //   bytes 8–11  "lower" (le32): length (bits 15:0) | CSO (23:16) | CMD (31:24)
  //   bytes 12–15 "upper" (le32): STA (bits 3:0) | RSV | CSS (15:8) | special (31:16)
  export const E1000_DESC_SIZE: 16;
  /** CMD bits, as bits of the 32-bit "lower" word: end of packet (last descriptor of a frame). */
  export const E1000_TXD_CMD_EOP: 0x01000000;
  /** Insert FCS (the wire adds it: you transmit the frame without FCS). */
  export const E1000_TXD_CMD_IFCS: 0x02000000;
  /** Report status: write back DD in this descriptor when it is done. */
  export const E1000_TXD_CMD_RS: 0x08000000;
  /** Report packet sent (older parts): treat like RS. */
  export const E1000_TXD_CMD_RPS: 0x10000000;
  /** Descriptor extension: 0 = legacy descriptor (all descriptors in this lab are legacy). */
  export const E1000_TXD_CMD_DEXT: 0x20000000;
  /** Interrupt delay enable. */
  export const E1000_TXD_CMD_IDE: 0x80000000;
  /** STA bit, as a bit of the 32-bit "upper" word: descriptor done. */
  export const E1000_TXD_STAT_DD: 0x00000001;
  /** ITR counts in units of this many nanoseconds. */
  export const ITR_UNIT_NS: 256;

  /**
   * The device as QEMU's e1000 model sees it while handling one event. A fresh Device is passed
   * to each call; do not keep it for later. Everything you do costs simulated time.
   */
  export interface Device {
    /** Current virtual time in nanoseconds. */
    readonly now: number;
    /** Read a device register (no side effects; ICR is NOT cleared by this). */
    reg(offset: number): number;
    /** Set a device register's stored value (e.g. advance E1000_TDH). */
    setReg(offset: number, value: number): void;
    /** DMA: copy \`length\` bytes of guest RAM starting at guest-physical \`gpa\`. */
    dmaRead(gpa: number, length: number): Uint8Array;
    /** DMA: write bytes into guest RAM at \`gpa\`. */
    dmaWrite(gpa: number, bytes: Uint8Array): void;
    /** Little-endian helpers over dmaRead/dmaWrite. */
    dmaRead32(gpa: number): number;
    dmaWrite32(gpa: number, value: number): void;
    /** Hand one complete Ethernet frame (without FCS) to the tap device: it goes to the wire. */
    transmit(frame: Uint8Array): void;
    /** ICR |= causes (does not signal anything by itself). */
    setCause(causes: number): void;
    /**
     * Drive the interrupt line from the causes: it goes up if ICR & IMS ≠ 0 (the guest has not
     * masked them). A line that is already up stays up until the guest reads ICR. Returns
     * whether the line is up.
     */
    raiseInterrupt(): boolean;
    /** (Re)arm the device's one timer: onTimer(dev) runs after \`delayNs\` on QEMU's main loop. */
    startTimer(delayNs: number): void;
    cancelTimer(): void;
    /** Is the timer armed? */
    timerArmed(): boolean;
    /** Print to the run's log (shown under the charts). */
    log(...values: unknown[]): void;
  }
}
`;
