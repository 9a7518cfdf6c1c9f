/**
 * The cloud a seed of choose-io-model hands the learner (DESIGN.md §4: seeds vary what matters):
 * three hosts (cores, NIC — 82599-class 2 × 10 GbE with 63 VFs a port, or an XL710-class 1 × 40 GbE
 * with 64 VFs —, whether IOMMU and SR-IOV are on in the firmware), the tenants and their needs
 * (the trading VM's p99 bound and message size, the web tier's VM count and per-VM rate, the
 * storage gateway's VMs and rate, the migratable tenants' memory, dirty rate and outage budget),
 * which host is drained at noon, the migration link and the CPU headroom every host must keep.
 * The NIC facts come from the engine's NIC models (hw/sriov-nic/models.ts), not from here.
 */
import { Rng } from '../../sim/rng.ts';
import { MODEL_82599, MODEL_XL710 } from '../../hw/sriov-nic/models.ts';

export const IO_MODELS = ['emulation', 'virtio-qemu', 'vhost-net', 'vhost-user', 'sriov-vf', 'passthrough', 'failover'] as const;
export type IoModel = (typeof IO_MODELS)[number];
export const IRQ_MODES = ['posted', 'apicv', 'remapped'] as const;
export type IrqMode = (typeof IRQ_MODES)[number];

export interface HostNic {
  model: '82599' | 'xl710';
  ports: number;
  portGbps: number;
  /** VFs one port gives: what the operator enabled, at most the driver's limit (ixgbe 63, i40e 64). */
  maxVfsPerPort: number;
}

export interface Host {
  id: string;
  cores: number;
  nic: HostNic;
  /** VT-d on: devices (a whole port or a VF) can be assigned to VMs. */
  iommu: boolean;
  /** SR-IOV enabled in the firmware and the PF driver: VFs exist (needs the IOMMU too). */
  sriov: boolean;
}

export type TenantKind = 'trading' | 'web' | 'storage' | 'migratable';

export interface Tenant {
  id: string;
  kind: TenantKind;
  vms: number;
  vcpus: number;
  memMiB: number;
  /** How fast the guest's workload writes its memory, MB/s (what live migration must keep up with). */
  dirtyMBps: number;
  /** The writable working set those writes fall in, MiB. */
  wssMiB: number;
  /** Receive throughput each VM needs, Gbit/s (the trading VM's request/response traffic is negligible). */
  gbpsPerVm: number;
  /** The longest network outage a VM of this tenant tolerates when it is live-migrated, ms. */
  outageBudgetMs: number;
  /** Must survive a live migration of whatever host it sits on (the lab migrates it at noon). */
  mustMigrate: boolean;
  /** trading only: the p99 request/response latency bound, µs, and the message size, bytes. */
  p99Us?: number;
  messageBytes?: number;
}

export interface Cloud {
  hosts: Host[];
  tenants: Tenant[];
  /** The host drained at noon: every VM on it live-migrates to its placement's migrateTo. */
  maintenance: { host: string };
  /** The migration network, Gbit/s. */
  migrationLinkGbps: number;
  /** Fraction of its cores every host must keep idle at peak (vCPUs + host I/O threads + polling cores counted). */
  cpuHeadroom: number;
}

const NICS: Record<HostNic['model'], HostNic> = {
  '82599': { model: '82599', ports: 2, portGbps: MODEL_82599.portGbps, maxVfsPerPort: Math.min(MODEL_82599.driverMaxVfs, MODEL_82599.sriov.totalVfs) },
  xl710: { model: 'xl710', ports: 1, portGbps: MODEL_XL710.portGbps, maxVfsPerPort: Math.min(MODEL_XL710.driverMaxVfs, MODEL_XL710.sriov.totalVfs) },
};

export function cloudFor(seed: number): Cloud {
  const rng = new Rng(seed ^ 0xc0de10);
  // Hosts: at least two with SR-IOV (so a VF tenant and its failover destination exist), one
  // possibly without (IOMMU off, or on with SR-IOV off in the firmware).
  const noSriov = rng.int(0, 3); // 3 = every host has SR-IOV
  const hosts: Host[] = [0, 1, 2].map((i) => {
    const base = rng.chance(1, 4) ? NICS.xl710 : NICS['82599'];
    // The VFs the operator had the PF driver create (ixgbe max_vfs / i40e sriov_numvfs), up to the NIC's limit.
    const nic = { ...base, maxVfsPerPort: rng.pick([16, 32, base.maxVfsPerPort]) };
    const cores = rng.pick([56, 64, 72, 80]);
    const off = i === noSriov;
    const iommu = !off || rng.chance(1, 2);
    return { id: `host-${String.fromCharCode(97 + i)}`, cores, nic, iommu, sriov: !off };
  });
  const web = rng.int(40, 56);
  const storageVms = rng.int(1, 2);
  const storageGbps = rng.int(50, 80) / 10;
  const tenants: Tenant[] = [
    { id: 'trading', kind: 'trading', vms: 1, vcpus: 4, memMiB: 8192, dirtyMBps: rng.int(100, 300), wssMiB: 1024, gbpsPerVm: 0.05, outageBudgetMs: 500, mustMigrate: false, p99Us: rng.int(185, 200) / 10, messageBytes: rng.pick([64, 128, 256, 512]) },
    { id: 'web', kind: 'web', vms: web, vcpus: 1, memMiB: 1024, dirtyMBps: rng.int(10, 40), wssMiB: 128, gbpsPerVm: rng.int(8, 13) / 100, outageBudgetMs: 2000, mustMigrate: false },
    { id: 'storage', kind: 'storage', vms: storageVms, vcpus: 4, memMiB: 16384, dirtyMBps: rng.int(100, 250), wssMiB: 2048, gbpsPerVm: Math.round((storageGbps / storageVms) * 100) / 100, outageBudgetMs: 1000, mustMigrate: false },
  ];
  const nMig = rng.int(1, 2);
  for (let i = 0; i < nMig; i++) {
    tenants.push({
      id: `erp-${i + 1}`, kind: 'migratable', vms: rng.int(1, 3), vcpus: 2, memMiB: rng.pick([2048, 4096]),
      dirtyMBps: rng.int(40, 400), wssMiB: rng.pick([256, 512, 1024]), gbpsPerVm: rng.int(2, 8) / 10, outageBudgetMs: rng.int(80, 250), mustMigrate: true,
    });
  }
  return {
    hosts,
    tenants,
    maintenance: { host: rng.pick(hosts).id },
    migrationLinkGbps: rng.pick([10, 25]),
    cpuHeadroom: rng.pick([0.1, 0.15, 0.2]),
  };
}

export function describeCloud(c: Cloud): string[] {
  return [
    ...c.hosts.map((h) => `${h.id}: ${h.cores} cores, ${h.nic.model} ${h.nic.ports} × ${h.nic.portGbps} GbE (${h.nic.maxVfsPerPort} VFs a port), IOMMU ${h.iommu ? 'on' : 'off'}, SR-IOV ${h.sriov ? 'on' : 'off'}${h.id === c.maintenance.host ? ' — drained at noon' : ''}`),
    ...c.tenants.map((t) => `${t.id} (${t.kind}): ${t.vms} VM(s) × ${t.vcpus} vCPU, ${t.memMiB} MiB, ${t.kind === 'trading' ? `p99 ≤ ${t.p99Us} µs with ${t.messageBytes}-byte messages` : `${t.gbpsPerVm} Gbit/s a VM`}, dirties ${t.dirtyMBps} MB/s, outage budget ${t.outageBudgetMs} ms${t.mustMigrate ? ', must be migratable' : ''}`),
    `migration link ${c.migrationLinkGbps} Gbit/s; every host keeps ${Math.round(c.cpuHeadroom * 100)} % of its cores idle`,
  ];
}
