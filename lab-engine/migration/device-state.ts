/**
 * The device state each model carries to the destination, counted field by field.
 * Emulated e1000: QEMU's `vmstate_e1000` (hw/net/e1000.c) [R]: the PCI device, the registers the
 * engine's e1000 model has (lab-engine/hw/e1000/regs.ts), the receive-address, multicast and
 * VLAN tables, PHY and EEPROM words, the TX context, and the "full MAC state" subsection that
 * newer machine types send (the whole 0x8000-entry mac_reg array) [R].
 * virtio-net: `vmstate_virtio_net` + the virtio core (hw/virtio/virtio.c `virtio_save`) [R]:
 * features, status, per-virtqueue ring addresses and indices (last_avail_idx, used_idx), the
 * device config, the MAC and VLAN filter tables. vhost backends hold the ring indices in the
 * kernel / backend process, fetched with VHOST_GET_VRING_BASE when the device stops.
 */
import { E1000_REGISTER_TABLE } from '../hw/e1000/regs.ts';

export interface StatePart {
  name: string;
  bytes: number;
}

/** PCI configuration space and the interrupt pin state (vmstate_pci_device). */
const PCI_DEVICE: StatePart = { name: 'PCI configuration space + irq state (vmstate_pci_device)', bytes: 256 + 4 * 4 };

/** Bytes of the e1000 registers modelled in hw/e1000/regs.ts (32-bit each; RDBAL/RDBAH and TDBAL/TDBAH are two). */
export function e1000RegisterBytes(): number {
  return E1000_REGISTER_TABLE.reduce((s, r) => s + (r.name.includes('/') ? 8 : 4), 0);
}

/** vmstate_e1000's parts and their sizes. */
export function e1000StateParts(): StatePart[] {
  return [
    PCI_DEVICE,
    { name: `e1000 registers the driver touches (${E1000_REGISTER_TABLE.length} in hw/e1000/regs.ts)`, bytes: e1000RegisterBytes() },
    { name: 'other mac_reg scalars in vmstate_e1000 (statistics, EECD, MANC, LEDCTL, …) [R]', bytes: 24 * 4 },
    { name: 'RA[32] + MTA[128] + VFTA[128] tables', bytes: (32 + 128 + 128) * 4 },
    { name: 'PHY registers (32 × u16) + EEPROM (64 × u16)', bytes: 32 * 2 + 64 * 2 },
    { name: 'TX context and header buffer (tx.props, tx.header[256], vlan_header[4])', bytes: 32 + 256 + 4 },
    { name: 'EEPROM bit-bang state, rxbuf size, mitigation timers', bytes: 5 * 4 + 3 * 2 + 5 * 4 },
    { name: 'subsection full_mac_state: the whole mac_reg[0x8000] (u32) [R]', bytes: 0x8000 * 4 },
  ];
}

/** Virtqueues of a single-queue-pair virtio-net with a control queue: rx, tx, ctrl. */
const VIRTQUEUES = 3;

/** vmstate_virtio_net's parts (with the virtio core's) and their sizes. */
export function virtioNetStateParts(): StatePart[] {
  return [
    PCI_DEVICE,
    { name: 'MSI-X table (3 vectors × 16 B) + PBA', bytes: VIRTQUEUES * 16 + 8 },
    { name: 'virtio core: status, isr, queue_sel, guest/host feature bits (2 × u64), config vector', bytes: 1 + 1 + 2 + 16 + 2 },
    { name: `virtqueues × ${VIRTQUEUES}: num, desc/avail/used addresses, last_avail_idx, used_idx, vector`, bytes: VIRTQUEUES * (4 + 3 * 8 + 2 + 2 + 2) },
    { name: 'virtio_net_config: mac, status, max_virtqueue_pairs, mtu, speed, duplex', bytes: 6 + 2 + 2 + 2 + 4 + 1 },
    { name: 'MAC filter table (64 × 6 B + counters) and rx mode flags', bytes: 64 * 6 + 4 * 4 + 6 },
    { name: 'VLAN filter bitmap (4096 bits)', bytes: 4096 / 8 },
    { name: 'offloads, mergeable buffers, tx_waiting, announce state', bytes: 8 + 4 + 4 + 8 },
  ];
}

/** The VFIO-migration NIC's state sizes as it reports them through vfio_precopy_info and MIG_DATA_SIZE [E]. */
export const VFIO_DEVICE_STATE = {
  /** precopy initial_bytes: the device's configuration (queues, MAC/VLAN steering, firmware context). */
  initialBytes: 2 * 1024 * 1024,
  /** stop_copy_length: what only a stopped device can give (in-flight descriptors, ring heads, counters). */
  stopCopyBytes: 256 * 1024,
  /** dirty_bytes per received frame (the device's context changes as it works), capped. */
  dirtyBytesPerFrame: 16,
  dirtyBytesCap: 1024 * 1024,
  source: '[E] mlx5-vfio-pci-class NIC: a few MiB of device state, most of it sendable in PRE_COPY',
} as const;

/** Total bytes of a list of state parts. */
export const sumBytes = (parts: readonly StatePart[]): number => parts.reduce((s, p) => s + p.bytes, 0);
