/**
 * Short labels for the numbers lessons put in their front-matter: the seed articles (`seeds`,
 * seeds/README.md) and the misconceptions of CALIBRATION.md §5 (`corrects`). The lesson layout
 * prints them in its "Seeds covered" and "Misconceptions corrected" notes. One line each, in the
 * course's own words; the lessons carry the full corrections and their sources.
 */

/** What each seed article covers (seeds/README.md). */
export const SEED_TITLES: Readonly<Record<string, string>> = {
  '000': 'The four network I/O models of VMware, Red Hat, Citrix and Microsoft: emulation, para-virtualization, pass-through and SR-IOV',
  '001': "KVM's I/O path: device models, virtio over QEMU, vhost-net, vhost-user, virtio versions and multiqueue",
  '002': 'Intel VT-d, device emulation vs paravirtual interfaces, direct assignment, SR-IOV and VMDc vs VMDq',
  '003': 'SR-IOV in depth: PF and VF, routing IDs, benefits and limits, smart-NIC offload, the Hyper-V architecture',
  '004': 'Virtualization overview: layers, hypervisor types, device-model placement, full vs para-virtualized I/O, assignment',
};

/** A misconception of CALIBRATION.md §5: what is often said, and what is true. */
export interface Misconception {
  myth: string;
  truth: string;
}

export const MISCONCEPTIONS: Readonly<Record<number, Misconception>> = {
  1: { myth: 'SR-IOV fixes the number of VFs per PF (64 or 256).', truth: 'TotalVFs is a 16-bit field; the count is a device limit, e.g. 63 or 32 per port.' },
  2: { myth: 'VMXNET3 is an upgraded VMXNET2.', truth: 'VMXNET3 is a new design, unrelated to VMXNET and VMXNET2.' },
  3: { myth: 'VMDc is a hypervisor pass-through feature, or an enhanced VMDq.', truth: "VMDc is Intel's name for SR-IOV VFs assigned to VMs; VMDq only sorts packets into queues." },
  4: { myth: 'Pass-through and SR-IOV have no VM exits.', truth: 'The data path has none, but without posted interrupts every device interrupt costs exits.' },
  5: { myth: 'virtio has no VM exits and is zero-copy.', truth: 'Kicks are exits (cheaper with ioeventfd, suppressed with EVENT_IDX); vhost-net copies.' },
  6: { myth: 'SR-IOV depends on the IOMMU, or is the IOMMU.', truth: 'SR-IOV virtualizes PCIe functions; the IOMMU isolates the DMA of whatever is assigned. They complement each other.' },
  7: { myth: 'A VF has a complete, independent configuration space and BARs.', truth: "VF BARs are declared in the PF's SR-IOV capability; a VF's Vendor/Device ID read 0xFFFF." },
  8: { myth: 'SR-IOV capability offsets as some headers print them (VF Offset at 0x16).', truth: 'First VF Offset is at 0x14, VF Stride at 0x16, VF Device ID at 0x1A.' },
  9: { myth: 'Full virtualization means QEMU emulates every guest instruction.', truth: 'Under KVM guest code runs natively; only device accesses and a few privileged events trap.' },
  10: { myth: 'The emulated e1000 is a gigabit NIC, so it is capped at 1 Gbit/s.', truth: 'It has no rate limiter; exits and copies bound it.' },
  11: { myth: 'Interrupt remapping is the same as posted interrupts.', truth: 'They are different IRTE formats with different purposes: validation and redirection vs exit-less delivery.' },
  12: { myth: 'VMs with SR-IOV VFs cannot live-migrate.', truth: 'They can: failover bonding with a virtio standby, VFIO migration, or vDPA.' },
  13: { myth: 'vhost-user is the user-space copy of vhost-net, so it is slower.', truth: 'Its polling user-space data plane is the faster option for packet rate, at the cost of cores.' },
  14: { myth: 'A virtqueue can have any size (and packed rings must be powers of 2).', truth: 'Split rings: a power of 2 up to 32768; packed rings: up to 2^15, not necessarily a power of 2.' },
  15: { myth: 'virtio and VMXNET3 raise one interrupt per packet.', truth: 'Notification suppression and coalescing give at most about one interrupt per NAPI poll cycle.' },
};

/** The label of a seed, or a neutral one for a number the table does not know. */
export function seedTitle(seed: string): string {
  return SEED_TITLES[seed] ?? `Seed article ${seed}`;
}

/** The misconception with that number, or undefined. */
export function misconception(n: number): Misconception | undefined {
  return MISCONCEPTIONS[n];
}
