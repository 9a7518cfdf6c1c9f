/**
 * What each I/O model means for live migration (CALIBRATION §4): who writes guest memory on the
 * receive path and which dirty log sees it, what device state travels, what the stop costs,
 * and how the destination announces itself. Passthrough and a plain VF are refused with the
 * four reasons of §4 unless forced.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import { e1000StateParts, virtioNetStateParts, type StatePart } from './device-state.ts';
import type { MigrationModel } from './types.ts';

/** Who writes received frames into guest memory, and whether that write reaches a dirty log. */
export type RxWriter =
  | 'qemu' // QEMU's device model writes with address_space_write(): marked in QEMU's own dirty bitmap (DIRTY_MEMORY_MIGRATION)
  | 'vhost' // the vhost-net worker: logged in the vhost log (VHOST_F_LOG_ALL, log_write() in drivers/vhost/vhost.c)
  | 'vhost-user' // the vhost-user backend process: logged in the shared log (VHOST_USER_SET_LOG_BASE, LOG_SHMFD)
  | 'device-logged' // a VFIO-migration device's DMA: logged by the device (VFIO_DEVICE_FEATURE_DMA_LOGGING_START)
  | 'device-unlogged'; // a plain assigned device's DMA: bypasses the CPU, so no dirty log ever sees it

export interface ModelProfile {
  model: MigrationModel;
  /** False: QEMU registers a migration blocker for the device (passthrough, a plain VF). */
  migratable: boolean;
  rxWriter: RxWriter;
  /** Name of the log the RX writes land in (besides KVM's, which logs the guest's own writes). */
  rxLog: string | undefined;
  /** Device state sent during stop-and-copy (VFIO devices: see device-state.ts VFIO_DEVICE_STATE). */
  stateParts: StatePart[];
  /** Extra work while the vCPUs are stopped, before the device state can be read (GET_VRING_BASE per ring). */
  stopExtra: { name: string; ns: Ns }[];
  /** How the switch learns where the VM now is. */
  announce: { name: string; ns: Ns };
  failover: boolean;
  vfio: boolean;
}

const RINGS = 2; // one RX and one TX virtqueue (the control queue has no vhost ring)

const RARP = { name: 'QEMU self-announce (RARP) reaches the switch', ns: COSTS.migAnnounceRarp.ns };
const GUEST_ANNOUNCE = { name: 'VIRTIO_NET_F_GUEST_ANNOUNCE: the guest sends a gratuitous ARP', ns: COSTS.migGuestAnnounce.ns };
const GUEST_TRAFFIC = { name: 'no announce for an assigned NIC: the switch learns when the guest next transmits', ns: COSTS.migGuestAnnounce.ns };

/** The profile of one model: its RX writer and log, device state, stop costs, announce. */
export function modelProfile(model: MigrationModel): ModelProfile {
  const base = { model, migratable: true, stopExtra: [], failover: false, vfio: false };
  switch (model) {
    case 'emulation':
      return { ...base, rxWriter: 'qemu', rxLog: 'QEMU dirty bitmap', stateParts: e1000StateParts(), announce: RARP };
    case 'virtio-qemu':
      return { ...base, rxWriter: 'qemu', rxLog: 'QEMU dirty bitmap', stateParts: virtioNetStateParts(), announce: GUEST_ANNOUNCE };
    case 'vhost-net':
      return { ...base, rxWriter: 'vhost', rxLog: 'vhost log', stateParts: virtioNetStateParts(), announce: GUEST_ANNOUNCE, stopExtra: [{ name: `VHOST_GET_VRING_BASE × ${RINGS}`, ns: RINGS * COSTS.vhostGetVringBase.ns }] };
    case 'vhost-user':
      return { ...base, rxWriter: 'vhost-user', rxLog: 'vhost-user shared log', stateParts: virtioNetStateParts(), announce: GUEST_ANNOUNCE, stopExtra: [{ name: `VHOST_USER_GET_VRING_BASE × ${RINGS}`, ns: RINGS * COSTS.vhostUserGetVringBase.ns }] };
    case 'failover':
      // During the migration the VM runs on its virtio standby, a vhost-net device.
      return { ...base, failover: true, rxWriter: 'vhost', rxLog: 'vhost log', stateParts: virtioNetStateParts(), announce: GUEST_ANNOUNCE, stopExtra: [{ name: `VHOST_GET_VRING_BASE × ${RINGS}`, ns: RINGS * COSTS.vhostGetVringBase.ns }] };
    case 'vfio-migration':
      return { ...base, vfio: true, rxWriter: 'device-logged', rxLog: 'device DMA log', stateParts: [], announce: GUEST_TRAFFIC };
    case 'passthrough':
    case 'sriov-vf':
      return { ...base, migratable: false, rxWriter: 'device-unlogged', rxLog: undefined, stateParts: [], announce: GUEST_TRAFFIC };
  }
}

/** Why QEMU refuses to migrate a VM with an assigned NIC or plain VF (CALIBRATION §4, four reasons). */
export function refusalReasons(model: MigrationModel): string[] {
  const what = model === 'sriov-vf' ? 'The VF' : 'The assigned NIC';
  const it = what === 'The VF' ? 'the VF' : 'the NIC';
  return [
    `Device DMA bypasses dirty tracking: ${it} writes received frames into guest memory by DMA, without the CPU, so neither KVM's dirty log (EPT dirty bits / PML) nor any other log sees those writes and pages already copied would silently go stale on the destination.`,
    `Device state is opaque: ${it}'s ring heads, in-flight descriptors, MAC/VLAN filters and firmware context live inside the hardware; without a VFIO migration driver QEMU cannot read them out or load them into another device.`,
    `Pinned memory and an identical device: the IOMMU mappings pin all of guest RAM on the source, and the destination would need an identical device (same model, firmware and ${model === 'sriov-vf' ? 'VF configuration on its PF' : 'configuration'}) assigned the same way before the VM could resume there.`,
    `Interrupt routing is per host: the IRTEs and posted-interrupt descriptors that deliver ${it}'s MSI-X vectors to the VM's vCPUs belong to the source's IOMMU and would have to be rebuilt on the destination while the device is live.`,
  ];
}
