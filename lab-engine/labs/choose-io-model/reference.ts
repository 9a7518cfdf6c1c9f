// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the choose-io-model lab, written as a learner would, against 'iovlab/choose-io-model'.
// The reasoning: the trading VM's p99 bound is below what any interrupt-driven path gives, so it
// polls (a DPDK PMD in the guest over vhost-user, with a host polling core); the web tier is
// dense and modest per VM, so it takes VFs where the host has SR-IOV (no host copy, almost no
// host CPU) and vhost-net elsewhere; the storage gateway needs several Gbit/s, which vhost-net
// carries; the tenants that must migrate stay on virtio (vhost-net logs its writes to guest
// memory). Nothing is placed on the host that is drained at noon, and every host keeps its
// headroom in the morning and after the migratable tenants have moved.
import { type Cloud, type Plan, type Placement, type Host, type Tenant, type IoModel, PORT_FILL_MAX } from 'iovlab/choose-io-model';

// The choices another good plan may make differently.
const CHOICES = { trading: 'vhost-user' as IoModel, web: 'sriov-vf' as IoModel, migratable: 'vhost-net' as IoModel, useDrained: false };

/** Host cores kept aside for host I/O threads (vhost workers, softirqs) on top of the headroom. */
const IO_RESERVE = 3;

interface Ledger { cores: number; gbps: number[]; vfs: number[]; owned: boolean[] }

export function plan(cloud: Cloud): Plan {
  const drained = cloud.maintenance.host;
  const alive = cloud.hosts.filter((h) => h.id !== drained);
  const usable = (h: Host): number => Math.floor(h.cores * (1 - cloud.cpuHeadroom)) - IO_RESERVE;
  // One ledger per host for the whole day (a VM that moves at noon is counted on both ends).
  const ledger = new Map<string, Ledger>(cloud.hosts.map((h) => [h.id, { cores: usable(h), gbps: Array(h.nic.ports).fill(h.nic.portGbps * PORT_FILL_MAX - 0.2), vfs: Array(h.nic.ports).fill(h.nic.maxVfsPerPort), owned: Array(h.nic.ports).fill(false) }]));
  const placements: Placement[] = [];
  const hasVfs = (h: Host): boolean => h.sriov && h.iommu;

  /** The first port of `h` with room for `vms` VMs of `t` (VFs when `vf`), or -1. */
  const portFor = (h: Host, t: Tenant, vms: number, vf: boolean): number => {
    const l = ledger.get(h.id)!;
    for (let p = 0; p < h.nic.ports; p++) if (!l.owned[p] && l.gbps[p]! >= vms * t.gbpsPerVm && (!vf || l.vfs[p]! >= vms)) return p;
    return -1;
  };
  const take = (h: Host, port: number, t: Tenant, vms: number, vf: boolean, cores: number): void => {
    const l = ledger.get(h.id)!;
    l.cores -= cores;
    l.gbps[port]! -= vms * t.gbpsPerVm;
    if (vf) l.vfs[port]! -= vms;
  };

  /** Place up to `t.vms` VMs of `t` with `model` on the hosts in `order`, split as room allows; how many were placed. */
  const placeSome = (t: Tenant, model: IoModel, order: Host[], extra: Partial<Placement> = {}, moveTo?: (h: Host) => Host): number => {
    let left = t.vms;
    for (const h of order) {
      if (left === 0) break;
      const vf = model === 'sriov-vf' || model === 'failover';
      if (vf && !hasVfs(h)) continue;
      const polling = extra.pollingCores ?? 0;
      const dest = moveTo?.(h);
      const room = (x: Host): number => Math.floor((ledger.get(x.id)!.cores - polling) / t.vcpus);
      let n = Math.min(left, room(h), dest ? room(dest) : Infinity);
      while (n > 0 && (portFor(h, t, n, vf) < 0 || (dest && portFor(dest, t, n, vf) < 0))) n--;
      if (n <= 0) continue;
      const port = portFor(h, t, n, vf);
      take(h, port, t, n, vf, n * t.vcpus + polling);
      const p: Placement = { tenant: t.id, host: h.id, model, vms: n, port, ...extra };
      if (dest) {
        const dp = portFor(dest, t, n, vf);
        if (dp < 0) throw new Error(`no port on ${dest.id} for ${t.id}`);
        take(dest, dp, t, n, vf, n * t.vcpus + polling);
        p.migrateTo = dest.id;
        p.migrateToPort = dp;
      }
      placements.push(p);
      left -= n;
    }
    return t.vms - left;
  };
  const place = (t: Tenant, model: IoModel, order: Host[], extra: Partial<Placement> = {}, moveTo?: (h: Host) => Host): void => {
    const n = placeSome(t, model, order, extra, moveTo);
    if (n < t.vms) throw new Error(`no room for ${t.vms - n} VM(s) of ${t.id}`);
  };

  const byRoom = (hs: Host[]): Host[] => [...hs].sort((a, b) => ledger.get(b.id)!.cores - ledger.get(a.id)!.cores);
  const other = (h: Host): Host => alive.find((x) => x !== h)!;
  for (const t of cloud.tenants.filter((x) => x.kind === 'trading')) {
    const vfHost = alive.filter(hasVfs);
    if (CHOICES.trading === 'sriov-vf' && vfHost.length) place(t, 'sriov-vf', byRoom(vfHost), { guestPmd: true });
    else place(t, 'vhost-user', byRoom(alive), { guestPmd: true, pollingCores: 1 });
  }
  for (const t of cloud.tenants.filter((x) => x.kind === 'migratable')) {
    const failover = CHOICES.migratable === 'failover' && alive.every(hasVfs);
    // QEMU's default downtime limit (300 ms) is above these budgets: half the budget, less the
    // failover pair's unplug/re-plug gap, keeps the outage inside it.
    const downtimeLimitMs = Math.max(10, Math.floor(t.outageBudgetMs / 2) - (failover ? 40 : 0));
    place(t, failover ? 'failover' : 'vhost-net', byRoom(alive), { downtimeLimitMs }, other);
  }
  for (const t of cloud.tenants.filter((x) => x.kind === 'storage')) place(t, 'vhost-net', byRoom(alive));
  for (const t of cloud.tenants.filter((x) => x.kind === 'web')) {
    // VFs where the host has them (port by port), vhost-net for the rest.
    let left = t.vms;
    if (CHOICES.useDrained) {
      // Spread the morning over the drained host too, on vhost-net (it migrates), the VMs
      // moving at noon to the alive host with the most room.
      const d = cloud.hosts.find((h) => h.id === drained)!;
      left -= placeSome({ ...t, vms: Math.min(left, 16) }, 'vhost-net', [d], {}, () => byRoom(alive)[0]!);
    }
    for (const h of byRoom(alive)) {
      const models: IoModel[] = CHOICES.web === 'sriov-vf' && hasVfs(h) ? ['sriov-vf', 'vhost-net'] : ['vhost-net'];
      for (const model of models) {
        for (let n = -1; left > 0 && n !== 0; ) {
          n = placeSome({ ...t, vms: left }, model, [h]);
          left -= n;
        }
      }
    }
    if (left > 0) throw new Error(`no room for ${left} web VM(s)`);
  }
  return { placements };
}
