/**
 * The registers of an Intel 82599-class 10 GbE controller that a driver of one queue pair
 * touches, with Linux's names and offsets (drivers/net/ethernet/intel/ixgbe/ixgbe_type.h; Intel
 * 82599 10 GbE Controller Datasheet §8.2.3). BAR0 is the 128 KiB register file; BAR3 holds the
 * MSI-X table (IXGBE_MSIXT, 0x0000) and the pending bit array (IXGBE_MSIXPBA, 0x2000).
 *
 * What the model keeps of the 82599 (STYLE.md §3.5: spec, model, why it is fine):
 *   - Legacy descriptors (16 B, the e1000 layouts of hw/e1000/desc.ts): the 82599 accepts them
 *     when SRRCTL.DESCTYPE = 0 and TX descriptors have DEXT = 0. No advanced descriptors, RSS,
 *     TSO, DCB, flow director or VMDq; queue 0 only (registers of queue n are at +0x40 × n).
 *   - MSI-X mode (GPIE.MSIX_MODE): EICR/EICS/EIMS/EIMC bit v is MSI-X vector v (v < 16, the
 *     datasheet's RTxQ bits; the EIMS_EX registers for vectors 16–63 are not modelled). IVAR(0)
 *     maps queue 0's RX cause (bits 7:0) and TX cause (bits 15:8) to a vector, bit 7 of each byte
 *     the "allocation valid" bit; IVAR_MISC maps the other causes (never raised here).
 *   - EICR auto-clears when the vector's message is sent if EIAC has its bit (ixgbe sets EIAC
 *     for its queue vectors); auto-mask (EIAM) is not modelled: the driver masks with EIMC.
 *   - EITR(v) bits 11:3 hold the minimum interval between two interrupts of vector v in 2 µs
 *     units (Linux: "microsecond values … shifted by 2", IXGBE_20K_ITR = 200 = 50 µs).
 */

// General
export const IXGBE_CTRL = 0x00000;
export const IXGBE_CTRL_RST = 0x04000000;
export const IXGBE_STATUS = 0x00008;
export const IXGBE_STATUS_LU = 0x00000080; // link up
// Interrupts
export const IXGBE_EICR = 0x00800;
export const IXGBE_EICS = 0x00808;
export const IXGBE_EIAC = 0x00810;
export const IXGBE_EITR0 = 0x00820;
export const IXGBE_EITR = (v: number): number => (v <= 23 ? 0x00820 + v * 4 : 0x012300 + (v - 24) * 4);
export const IXGBE_EITR_ITR_INT_MASK = 0x00000ff8;
export const IXGBE_EITR_CNT_WDIS = 0x80000000;
export const IXGBE_EIMS = 0x00880;
export const IXGBE_EIMC = 0x00888;
export const IXGBE_GPIE = 0x00898;
export const IXGBE_GPIE_MSIX_MODE = 0x00000010;
export const IXGBE_GPIE_PBA_SUPPORT = 0x80000000;
export const IXGBE_IVAR0 = 0x00900;
export const IXGBE_IVAR_MISC = 0x00a00;
export const IXGBE_IVAR_ALLOC_VAL = 0x80;
// Receive queue 0
export const IXGBE_RDBAL0 = 0x01000;
export const IXGBE_RDBAH0 = 0x01004;
export const IXGBE_RDLEN0 = 0x01008;
export const IXGBE_RDH0 = 0x01010;
export const IXGBE_RDT0 = 0x01018;
export const IXGBE_RXDCTL0 = 0x01028;
export const IXGBE_RXDCTL_ENABLE = 0x02000000;
export const IXGBE_SRRCTL0 = 0x02100;
export const IXGBE_RXCTRL = 0x03000;
export const IXGBE_RXCTRL_RXEN = 0x00000001;
// Transmit queue 0
export const IXGBE_DMATXCTL = 0x04a80;
export const IXGBE_DMATXCTL_TE = 0x1;
export const IXGBE_TDBAL0 = 0x06000;
export const IXGBE_TDBAH0 = 0x06004;
export const IXGBE_TDLEN0 = 0x06008;
export const IXGBE_TDH0 = 0x06010;
export const IXGBE_TDT0 = 0x06018;
export const IXGBE_TXDCTL0 = 0x06028;
export const IXGBE_TXDCTL_ENABLE = 0x02000000;
// Statistics (clear on read)
export const IXGBE_MPC0 = 0x03fa0; // missed packets: RX dropped for lack of descriptors / buffer
export const IXGBE_GPRC = 0x04074;
export const IXGBE_GPTC = 0x04080;

/** BAR3 layout: MSI-X table and PBA (ixgbe_type.h IXGBE_MSIXT / IXGBE_MSIXPBA). */
export const IXGBE_MSIXT = 0x00000;
export const IXGBE_MSIXPBA = 0x02000;
/** BAR sizes: 128 KiB of registers (BAR0/1, 64-bit), 16 KiB for MSI-X (BAR3/4, 64-bit). */
export const IXGBE_BAR0_SIZE = 128 * 1024;
export const IXGBE_BAR3_SIZE = 16 * 1024;
/** The 82599's limit on MSI-X vectors (Message Control table size 63 = 64 vectors). */
export const IXGBE_MAX_MSIX_VECTORS = 64;

const NAMES: Record<number, string> = {
  [IXGBE_CTRL]: 'CTRL', [IXGBE_STATUS]: 'STATUS', [IXGBE_EICR]: 'EICR', [IXGBE_EICS]: 'EICS', [IXGBE_EIAC]: 'EIAC',
  [IXGBE_EIMS]: 'EIMS', [IXGBE_EIMC]: 'EIMC', [IXGBE_GPIE]: 'GPIE', [IXGBE_IVAR0]: 'IVAR0', [IXGBE_IVAR_MISC]: 'IVAR_MISC',
  [IXGBE_RDBAL0]: 'RDBAL', [IXGBE_RDBAH0]: 'RDBAH', [IXGBE_RDLEN0]: 'RDLEN', [IXGBE_RDH0]: 'RDH', [IXGBE_RDT0]: 'RDT',
  [IXGBE_RXDCTL0]: 'RXDCTL', [IXGBE_SRRCTL0]: 'SRRCTL', [IXGBE_RXCTRL]: 'RXCTRL', [IXGBE_DMATXCTL]: 'DMATXCTL',
  [IXGBE_TDBAL0]: 'TDBAL', [IXGBE_TDBAH0]: 'TDBAH', [IXGBE_TDLEN0]: 'TDLEN', [IXGBE_TDH0]: 'TDH', [IXGBE_TDT0]: 'TDT',
  [IXGBE_TXDCTL0]: 'TXDCTL', [IXGBE_MPC0]: 'MPC', [IXGBE_GPRC]: 'GPRC', [IXGBE_GPTC]: 'GPTC',
};

/** "TDT", "EITR(0)", or the hex offset: for trace labels. */
export function ixgbeRegisterName(offset: number): string {
  const n = NAMES[offset];
  if (n) return n;
  if (offset >= 0x00820 && offset < 0x00880) return `EITR(${(offset - 0x00820) / 4})`;
  return `0x${offset.toString(16).padStart(5, '0')}`;
}
