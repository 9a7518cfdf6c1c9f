/**
 * Noon: the maintenance window. Every VM on the drained host, and every VM of a tenant that must
 * be migratable, live-migrates to its placement's migrateTo with the migration model of its I/O
 * model (lab-engine/migration: pre-copy rounds against the guest's dirty rate, the backend's
 * dirty log, device state, the failover pair's unplug/re-plug; a plain VF or a passthrough port
 * is refused, as QEMU's migration blockers refuse them). The VMs of one group are identical
 * (same memory, workload and traffic), so one run per group stands for each of them; they go one
 * after another over the migration link.
 */
import { runMigration, type MigrationReport } from '../../migration/index.ts';
import type { Cloud } from './cloud.ts';
import type { Group } from './plan.ts';

export interface GroupMigration {
  group: Group;
  /** Why the VMs must move: their host is drained, or the tenant must be migratable. */
  why: 'drained' | 'must-migrate';
  /** No run: no destination, or the destination is the drained host. */
  missing?: 'no-destination' | 'to-drained';
  report?: MigrationReport;
}

export function mustMove(cloud: Cloud, g: Group): 'drained' | 'must-migrate' | undefined {
  if (g.host.id === cloud.maintenance.host) return 'drained';
  return g.tenant.mustMigrate ? 'must-migrate' : undefined;
}

export function runMaintenance(cloud: Cloud, groups: Group[], seed: number): GroupMigration[] {
  const out: GroupMigration[] = [];
  for (const g of groups) {
    const why = mustMove(cloud, g);
    if (!why) continue;
    if (!g.migrateTo) {
      out.push({ group: g, why, missing: 'no-destination' });
      continue;
    }
    if (g.migrateTo.id === cloud.maintenance.host) {
      out.push({ group: g, why, missing: 'to-drained' });
      continue;
    }
    const t = g.tenant;
    const report = runMigration({
      model: g.model,
      seed: (Math.imul(seed, 31) + g.index * 7919 + 1) >>> 0,
      memMiB: t.memMiB,
      dirtyMBps: t.dirtyMBps,
      wssMiB: t.wssMiB,
      linkGbps: cloud.migrationLinkGbps,
      trafficGbps: t.gbpsPerVm,
      ...(g.downtimeLimitMs !== undefined ? { downtimeLimitMs: g.downtimeLimitMs } : {}),
    });
    out.push({ group: g, why, report });
  }
  return out;
}
