/** What learners see in the editor for `import … from 'iovlab/choose-io-model'`. */
export const CHOOSE_IO_MODEL_DTS = `declare module 'iovlab/choose-io-model' {
  // ── The setting ─────────────────────────────────────────────────────────────────────────────
  // You run a small cloud: three hosts and a few tenants with different needs. Export
  //   plan(cloud: Cloud): Plan
  // placing every tenant's VMs on a host port with an I/O model. The lab then runs a day:
  //   • morning peak: every group's traffic through the simulator with the model you chose —
  //     the trading VM's request/response p99, the others' receive throughput, and the host
  //     cores QEMU, vhost workers and the host kernel keep busy;
  //   • noon: cloud.maintenance.host is drained — every VM on it, and every VM of a tenant with
  //     mustMigrate, live-migrates to its placement's migrateTo (a VM with a plain VF or a
  //     passthrough port cannot: QEMU refuses to migrate it);
  //   • afternoon peak: the same measurements on the placement after the moves.

  /** How a VM's NIC is provided. */
  export type IoModel =
    | 'emulation'    // an e1000 emulated by QEMU: every register access exits
    | 'virtio-qemu'  // virtio-net, QEMU's own backend thread
    | 'vhost-net'    // virtio-net, the in-kernel vhost worker
    | 'vhost-user'   // virtio-net, a DPDK vSwitch polling the rings on pollingCores host cores
    | 'sriov-vf'     // an SR-IOV VF assigned with VFIO (needs IOMMU + SR-IOV on the host)
    | 'passthrough'  // a whole NIC port assigned with VFIO (needs the IOMMU; nobody else on that port)
    | 'failover';    // a VF primary + a virtio standby (net_failover): VF speed, and it migrates
  export const IO_MODELS: readonly IoModel[];
  /** Interrupt delivery for assigned devices: VT-d posted interrupts, APICv only, plain remapping. */
  export type IrqMode = 'posted' | 'apicv' | 'remapped';
  export const IRQ_MODES: readonly IrqMode[];

  export interface HostNic {
    model: '82599' | 'xl710';
    ports: number;
    portGbps: number;
    /** VFs one port can give. */
    maxVfsPerPort: number;
  }
  export interface Host {
    id: string;
    cores: number;
    nic: HostNic;
    /** VT-d on: devices can be assigned to VMs. */
    iommu: boolean;
    /** SR-IOV on in the firmware and the PF driver: VFs exist. */
    sriov: boolean;
  }
  export type TenantKind = 'trading' | 'web' | 'storage' | 'migratable';
  export interface Tenant {
    id: string;
    kind: TenantKind;
    vms: number;
    vcpus: number;
    memMiB: number;
    /** How fast the guest writes its memory, MB/s (live migration must keep up). */
    dirtyMBps: number;
    /** The working set those writes fall in, MiB. */
    wssMiB: number;
    /** Receive throughput each VM needs, Gbit/s. */
    gbpsPerVm: number;
    /** The longest network outage a VM tolerates when live-migrated, ms. */
    outageBudgetMs: number;
    /** The lab live-migrates this tenant's VMs at noon wherever they are. */
    mustMigrate: boolean;
    /** trading: p99 request/response bound (µs) and message size (bytes). */
    p99Us?: number;
    messageBytes?: number;
  }
  export interface Cloud {
    readonly hosts: readonly Host[];
    readonly tenants: readonly Tenant[];
    readonly maintenance: { readonly host: string };
    readonly migrationLinkGbps: number;
    /** Fraction of its cores every host must keep idle at peak. */
    readonly cpuHeadroom: number;
  }

  /** Some (or all) of one tenant's VMs on one host port. */
  export interface Placement {
    tenant: string;
    host: string;
    model: IoModel;
    /** How many of the tenant's VMs (default: all of them). */
    vms?: number;
    /** The host NIC port (default 0). */
    port?: number;
    /** virtio queue pairs (1–MAX_QUEUES, default 1). */
    queues?: number;
    /** A DPDK poll-mode driver in the guest (vhost-user, sriov-vf, passthrough, failover): no interrupts, one vCPU spinning. */
    guestPmd?: boolean;
    /** Host cores dedicated to polling for vhost-user (default 1; 0 for every other model). */
    pollingCores?: number;
    /** Interrupt delivery of an assigned device (default 'posted'). */
    irq?: IrqMode;
    /** Where these VMs live-migrate at noon (required if they must move). */
    migrateTo?: string;
    /** The port they use on migrateTo (default 0). */
    migrateToPort?: number;
    /** QEMU's downtime-limit for their migration, ms (default 300). */
    downtimeLimitMs?: number;
  }
  export interface Plan {
    placements: Placement[];
  }

  /** A streaming tenant must get this share of its offer, with no drop. */
  export const DELIVERED_MIN: number;
  /** The share of a port's line rate its placements may need together. */
  export const PORT_FILL_MAX: number;
  export const MAX_QUEUES: number;
  export const MAX_POLLING_CORES: number;
}
`;
