/**
 * Intel 8254x (82540EM) registers and bit fields used by the model.
 * Source: Intel PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual
 * (8254x SDM) §13 "Register Descriptions"; names and values as in Linux
 * drivers/net/ethernet/intel/e1000/e1000_hw.h and QEMU hw/net/e1000_regs.h
 * (CALIBRATION.md §3.4). Offsets are byte offsets in BAR0 (memory-mapped).
 */
export const E1000_CTRL = 0x0000; // Device Control
export const E1000_STATUS = 0x0008; // Device Status (read only)
export const E1000_ICR = 0x00c0; // Interrupt Cause Read (clear on read)
export const E1000_ITR = 0x00c4; // Interrupt Throttling Rate (256 ns units)
export const E1000_ICS = 0x00c8; // Interrupt Cause Set
export const E1000_IMS = 0x00d0; // Interrupt Mask Set/Read
export const E1000_IMC = 0x00d8; // Interrupt Mask Clear
export const E1000_RCTL = 0x0100; // RX Control
export const E1000_TCTL = 0x0400; // TX Control
export const E1000_RDBAL = 0x2800; // RX Descriptor Base Address Low
export const E1000_RDBAH = 0x2804; // RX Descriptor Base Address High
export const E1000_RDLEN = 0x2808; // RX Descriptor Length (bytes)
export const E1000_RDH = 0x2810; // RX Descriptor Head
export const E1000_RDT = 0x2818; // RX Descriptor Tail
export const E1000_RDTR = 0x2820; // RX Delay Timer
export const E1000_RADV = 0x282c; // RX Interrupt Absolute Delay Timer
export const E1000_TDBAL = 0x3800; // TX Descriptor Base Address Low
export const E1000_TDBAH = 0x3804; // TX Descriptor Base Address High
export const E1000_TDLEN = 0x3808; // TX Descriptor Length (bytes)
export const E1000_TDH = 0x3810; // TX Descriptor Head
export const E1000_TDT = 0x3818; // TX Descriptor Tail
export const E1000_TIDV = 0x3820; // TX Interrupt Delay Value
export const E1000_TADV = 0x382c; // TX Interrupt Absolute Delay Value

// Interrupt causes (ICR/ICS/IMS/IMC bits), e1000_hw.h.
export const E1000_ICR_TXDW = 0x00000001; // Transmit desc written back
export const E1000_ICR_TXQE = 0x00000002; // Transmit queue empty
export const E1000_ICR_LSC = 0x00000004; // Link status change
export const E1000_ICR_RXSEQ = 0x00000008; // RX sequence error
export const E1000_ICR_RXDMT0 = 0x00000010; // RX desc min. threshold
export const E1000_ICR_RXO = 0x00000040; // RX overrun
export const E1000_ICR_RXT0 = 0x00000080; // RX timer interrupt
/** What Linux's e1000 enables (IMS_ENABLE_MASK in e1000_main.c). */
export const E1000_IMS_ENABLE_MASK =
  E1000_ICR_RXT0 | E1000_ICR_TXDW | E1000_ICR_RXDMT0 | E1000_ICR_RXSEQ | E1000_ICR_LSC;

export const E1000_CTRL_RST = 0x04000000;
export const E1000_STATUS_LU = 0x00000002; // link up
export const E1000_STATUS_FD = 0x00000001; // full duplex
export const E1000_STATUS_SPEED_1000 = 0x00000080;
export const E1000_TCTL_EN = 0x00000002;
export const E1000_TCTL_PSP = 0x00000008;
export const E1000_RCTL_EN = 0x00000002;

/** The device id QEMU's default e1000 presents: 82540EM (CALIBRATION §3.4). */
export const E1000_DEV_ID_82540EM = 0x100e;

export interface RegisterInfo {
  offset: number;
  name: string;
  group: 'control' | 'interrupt' | 'rx' | 'tx';
  access: 'R/W' | 'RO' | 'RC' | 'WO';
  description: string;
}

/** The registers a driver touches, as data: lessons render it, the device model dispatches on it. */
export const E1000_REGISTER_TABLE: readonly RegisterInfo[] = [
  { offset: E1000_CTRL, name: 'CTRL', group: 'control', access: 'R/W', description: 'Device control: reset, link setup.' },
  { offset: E1000_STATUS, name: 'STATUS', group: 'control', access: 'RO', description: 'Link up, speed, duplex. Drivers read it to flush posted writes.' },
  { offset: E1000_ICR, name: 'ICR', group: 'interrupt', access: 'RC', description: 'Interrupt causes. Reading returns them and clears them (clear-on-read).' },
  { offset: E1000_ITR, name: 'ITR', group: 'interrupt', access: 'R/W', description: 'Interrupt throttling: minimum interval between interrupts, in 256 ns units (0 = off).' },
  { offset: E1000_ICS, name: 'ICS', group: 'interrupt', access: 'WO', description: 'Writing sets cause bits, as if the event had happened.' },
  { offset: E1000_IMS, name: 'IMS', group: 'interrupt', access: 'R/W', description: 'Writing 1s enables (unmasks) causes; reading returns the mask.' },
  { offset: E1000_IMC, name: 'IMC', group: 'interrupt', access: 'WO', description: 'Writing 1s disables (masks) causes.' },
  { offset: E1000_RCTL, name: 'RCTL', group: 'rx', access: 'R/W', description: 'Receive control: enable, buffer size, filters.' },
  { offset: E1000_RDBAL, name: 'RDBAL/RDBAH', group: 'rx', access: 'R/W', description: 'Guest-physical base address of the RX descriptor ring (low/high 32 bits).' },
  { offset: E1000_RDLEN, name: 'RDLEN', group: 'rx', access: 'R/W', description: 'Size of the RX ring in bytes (16 bytes per descriptor).' },
  { offset: E1000_RDH, name: 'RDH', group: 'rx', access: 'R/W', description: 'RX head: the next descriptor the device will fill.' },
  { offset: E1000_RDT, name: 'RDT', group: 'rx', access: 'R/W', description: 'RX tail: one past the last descriptor the driver has given to the device.' },
  { offset: E1000_RADV, name: 'RADV', group: 'rx', access: 'R/W', description: 'RX absolute interrupt delay (1.024 µs units).' },
  { offset: E1000_TCTL, name: 'TCTL', group: 'tx', access: 'R/W', description: 'Transmit control: enable, pad short packets.' },
  { offset: E1000_TDBAL, name: 'TDBAL/TDBAH', group: 'tx', access: 'R/W', description: 'Guest-physical base address of the TX descriptor ring (low/high 32 bits).' },
  { offset: E1000_TDLEN, name: 'TDLEN', group: 'tx', access: 'R/W', description: 'Size of the TX ring in bytes (16 bytes per descriptor).' },
  { offset: E1000_TDH, name: 'TDH', group: 'tx', access: 'R/W', description: 'TX head: the next descriptor the device will process. The device advances it.' },
  { offset: E1000_TDT, name: 'TDT', group: 'tx', access: 'R/W', description: 'TX tail: one past the last descriptor the driver has filled. Writing it is the doorbell.' },
  { offset: E1000_TIDV, name: 'TIDV', group: 'tx', access: 'R/W', description: 'TX interrupt delay (1.024 µs units), for descriptors with IDE set.' },
  { offset: E1000_TADV, name: 'TADV', group: 'tx', access: 'R/W', description: 'TX absolute interrupt delay (1.024 µs units).' },
];

/** Name of a register offset for labels and messages ('0x3818' when unknown). */
export function registerName(offset: number): string {
  if (offset === E1000_RDBAH) return 'RDBAH';
  if (offset === E1000_TDBAH) return 'TDBAH';
  if (offset === E1000_RDTR) return 'RDTR';
  const r = E1000_REGISTER_TABLE.find((x) => x.offset === offset);
  if (r) return r.name.split('/')[0]!;
  return '0x' + offset.toString(16).padStart(4, '0');
}
