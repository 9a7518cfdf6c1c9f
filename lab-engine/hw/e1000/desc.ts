/**
 * Legacy descriptor layouts (16 bytes, little-endian).
 * Source: 8254x SDM §3.3.3 "Legacy Transmit Descriptor Format" and §3.2.3 "Receive Descriptor
 * Format"; Linux e1000_hw.h `struct e1000_tx_desc` / `struct e1000_rx_desc` (CALIBRATION §3.4).
 *
 *   TX:  0 buffer_addr (le64) | 8 length (le16) | 10 CSO | 11 CMD | 12 STA(3:0)+RSV | 13 CSS | 14 special (le16)
 *        As Linux sees it: `lower` (le32 at 8) = length | CSO<<16 | CMD<<24;
 *                          `upper` (le32 at 12) = STA | CSS<<8 | special<<16.
 *   RX:  0 buffer_addr (le64) | 8 length (le16) | 10 csum (le16) | 12 status | 13 errors | 14 special
 */
export const E1000_DESC_SIZE = 16;

// TX command bits, as bits of `lower` (Linux names and values).
export const E1000_TXD_CMD_EOP = 0x01000000; // End of packet
export const E1000_TXD_CMD_IFCS = 0x02000000; // Insert FCS
export const E1000_TXD_CMD_IC = 0x04000000; // Insert checksum
export const E1000_TXD_CMD_RS = 0x08000000; // Report status
export const E1000_TXD_CMD_RPS = 0x10000000; // Report packet sent
export const E1000_TXD_CMD_DEXT = 0x20000000; // Descriptor extension (0 = legacy)
export const E1000_TXD_CMD_VLE = 0x40000000; // Add VLAN tag
export const E1000_TXD_CMD_IDE = 0x80000000; // Interrupt delay enable
// TX status bits, as bits of `upper`.
export const E1000_TXD_STAT_DD = 0x00000001; // Descriptor done
export const E1000_TXD_STAT_EC = 0x00000002; // Excess collisions
export const E1000_TXD_STAT_LC = 0x00000004; // Late collision
export const E1000_TXD_STAT_TU = 0x00000008; // Transmit underrun
// RX status bits (byte at offset 12).
export const E1000_RXD_STAT_DD = 0x01;
export const E1000_RXD_STAT_EOP = 0x02;

/** Byte offsets inside a descriptor. */
export const TXD_ADDR = 0;
export const TXD_LOWER = 8;
export const TXD_UPPER = 12;
export const TXD_STATUS_BYTE = 12;
