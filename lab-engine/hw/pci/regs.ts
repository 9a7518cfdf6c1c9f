/**
 * PCI configuration-space constants, named and valued exactly as Linux's uapi header
 * include/uapi/linux/pci_regs.h names them (STYLE.md: copy these names unchanged). Offsets are
 * from the start of the function's 256-byte configuration space (PCI Local Bus 3.0 §6.1, type 0
 * header) or from the start of a capability; tests/engine/pci-linux-headers.test.ts compiles a C
 * program against /usr/include/linux/pci_regs.h and checks every value below.
 */

export const PCI_CFG_SPACE_SIZE = 256;
/** PCI Express: 4 KiB per function, extended capabilities from 0x100 (PCIe Base 4.0 §7.2.2). */
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
export const PCI_STD_HEADER_SIZEOF = 64;

// ── Type 0 header ─────────────────────────────────────────────────────────────────────────────
export const PCI_VENDOR_ID = 0x00; // 16 bits
export const PCI_DEVICE_ID = 0x02; // 16 bits
export const PCI_COMMAND = 0x04; // 16 bits
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06; // 16 bits
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_CLASS_REVISION = 0x08; // high 24 bits class, low 8 revision
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_BIST = 0x0f;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_1 = 0x14;
export const PCI_BASE_ADDRESS_2 = 0x18;
export const PCI_BASE_ADDRESS_3 = 0x1c;
export const PCI_BASE_ADDRESS_4 = 0x20;
export const PCI_BASE_ADDRESS_5 = 0x24;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
export const PCI_BASE_ADDRESS_SPACE_MEMORY = 0x00;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
/** (~0x0fUL) truncated to the 32-bit register. */
export const PCI_BASE_ADDRESS_MEM_MASK = 0xfffffff0;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

// ── Capability list ───────────────────────────────────────────────────────────────────────────
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_LIST_NEXT = 1;
export const PCI_CAP_FLAGS = 2;
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;

// Power management (PCI PM 1.2)
export const PCI_PM_PMC = 2;
export const PCI_PM_CTRL = 4;
export const PCI_PM_SIZEOF = 8;

// PCI Express capability (only its version/type word and the link status are filled in)
export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x32;

// MSI-X (PCI Local Bus 3.0 §6.8.2)
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_TABLE_BIR = 0x00000007;
export const PCI_MSIX_TABLE_OFFSET = 0xfffffff8;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_PBA_BIR = 0x00000007;
export const PCI_MSIX_PBA_OFFSET = 0xfffffff8;
export const PCI_CAP_MSIX_SIZEOF = 12;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_LOWER_ADDR = 0x0;
export const PCI_MSIX_ENTRY_UPPER_ADDR = 0x4;
export const PCI_MSIX_ENTRY_DATA = 0x8;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 0xc;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 0x00000001;

// ── Extended capabilities (PCIe Base 4.0 §7.6.3): a 32-bit header at 0x100 and after ──────────
/** Header bits 15:0: the capability ID. */
export const PCI_EXT_CAP_ID = (header: number): number => header & 0x0000ffff;
/** Header bits 19:16: the capability version. */
export const PCI_EXT_CAP_VER = (header: number): number => (header >>> 16) & 0xf;
/** Header bits 31:20: the next capability's offset (dword aligned; 0 ends the list). */
export const PCI_EXT_CAP_NEXT = (header: number): number => (header >>> 20) & 0xffc;
export const PCI_EXT_CAP_ID_ERR = 0x01;
export const PCI_EXT_CAP_ID_DSN = 0x03;
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;
export const PCI_EXT_CAP_DSN_SIZEOF = 12;

// Alternative Routing-ID Interpretation (PCIe Base 4.0 §7.8.8)
export const PCI_ARI_CAP = 0x04; // 16 bits
export const PCI_ARI_CAP_MFVC = 0x0001;
export const PCI_ARI_CAP_ACS = 0x0002;
/** ARI Capability bits 15:8: the Next Function Number (0 ends the device's function chain). */
export const PCI_ARI_CAP_NFN = (x: number): number => (x >>> 8) & 0xff;
export const PCI_ARI_CTRL = 0x06; // 16 bits
export const PCI_ARI_CTRL_MFVC = 0x0001;
export const PCI_ARI_CTRL_ACS = 0x0002;
export const PCI_EXT_CAP_ARI_SIZEOF = 8;

// Single Root I/O Virtualization (SR-IOV 1.1 §3.3; CALIBRATION §3.5)
export const PCI_SRIOV_CAP = 0x04; // 32 bits
export const PCI_SRIOV_CAP_VFM = 0x00000001;
/** SR-IOV Capabilities bits 31:21: the VF Migration Interrupt Message Number. */
export const PCI_SRIOV_CAP_INTR = (x: number): number => x >>> 21;
export const PCI_SRIOV_CTRL = 0x08; // 16 bits
export const PCI_SRIOV_CTRL_VFE = 0x0001;
export const PCI_SRIOV_CTRL_VFM = 0x0002;
export const PCI_SRIOV_CTRL_INTR = 0x0004;
export const PCI_SRIOV_CTRL_MSE = 0x0008;
export const PCI_SRIOV_CTRL_ARI = 0x0010;
export const PCI_SRIOV_STATUS = 0x0a; // 16 bits
export const PCI_SRIOV_STATUS_VFM = 0x0001;
export const PCI_SRIOV_INITIAL_VF = 0x0c; // 16 bits
export const PCI_SRIOV_TOTAL_VF = 0x0e; // 16 bits
export const PCI_SRIOV_NUM_VF = 0x10; // 16 bits
export const PCI_SRIOV_FUNC_LINK = 0x12; // 8 bits
export const PCI_SRIOV_VF_OFFSET = 0x14; // 16 bits
export const PCI_SRIOV_VF_STRIDE = 0x16; // 16 bits
export const PCI_SRIOV_VF_DID = 0x1a; // 16 bits
export const PCI_SRIOV_SUP_PGSIZE = 0x1c; // 32 bits
export const PCI_SRIOV_SYS_PGSIZE = 0x20; // 32 bits
export const PCI_SRIOV_BAR = 0x24; // VF BAR0; VF BARk at PCI_SRIOV_BAR + 4k
export const PCI_SRIOV_NUM_BARS = 6;
export const PCI_SRIOV_VFM = 0x3c; // 32 bits
export const PCI_SRIOV_VFM_BIR = (x: number): number => x & 7;
export const PCI_SRIOV_VFM_OFFSET = (x: number): number => (x & ~7) >>> 0;
export const PCI_SRIOV_VFM_UA = 0x0;
export const PCI_SRIOV_VFM_MI = 0x1;
export const PCI_SRIOV_VFM_MO = 0x2;
export const PCI_SRIOV_VFM_AV = 0x3;
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;

// ── Configuration mechanism #1 (PCI Local Bus 3.0 §3.2.2.3.2): I/O ports 0xCF8 / 0xCFC ───────
/** CONFIG_ADDRESS: bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2. */
export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
/** CONFIG_DATA: the dword (or a byte/word of it, at 0xCFC + (reg & 3)). */
export const PCI_CONFIG_DATA_PORT = 0xcfc;
export const PCI_CONFIG_ENABLE = 0x8000_0000;

/** The CONFIG_ADDRESS value for bus:dev.fn register `reg` (Linux arch/x86/pci/direct.c PCI_CONF1_ADDRESS). */
export const conf1Address = (bus: number, devfn: number, reg: number): number =>
  (PCI_CONFIG_ENABLE | ((bus & 0xff) << 16) | ((devfn & 0xff) << 8) | (reg & 0xfc)) >>> 0;
