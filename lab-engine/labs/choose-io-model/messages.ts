/** The choose-io-model lab's grader prose, keyed by finding code (grader/messages/en.ts takes them in). */
import type { Finding } from '../types.ts';

type Data = Finding['data'];
const s = (d: Data, k: string): string => String(d[k]);
const at = (d: Data): string => `seed ${s(d, 'seed')}${d['phase'] ? ` (${s(d, 'phase')})` : ''}`;

export const CHOOSE_IO_MODEL_MESSAGES: Record<string, (d: Data) => string> = {
  'cm-stopped': (d) => `seed ${s(d, 'seed')}: ${s(d, 'message')}`,
  'cm-plan-shape': (d) => `seed ${s(d, 'seed')}: plan() returned ${s(d, 'value')}; it should return { placements: Placement[] }`,
  'cm-field': (d) => `seed ${s(d, 'seed')}: ${s(d, 'where')}.${s(d, 'field')} is ${s(d, 'value')}; expected ${s(d, 'want')}`,
  'cm-combo': (d) => `seed ${s(d, 'seed')}: ${s(d, 'where')}: ${s(d, 'what')} does not work — ${s(d, 'why')}`,
  'cm-tenant-count': (d) => `seed ${s(d, 'seed')}: tenant ${s(d, 'tenant')} has ${s(d, 'vms')} VM(s), but your placements put ${s(d, 'placed')}; every VM must be placed exactly once`,
  'cm-still-on-drained': (d) => `${at(d)}: ${s(d, 'host')} is drained for maintenance, yet ${s(d, 'tenants')} still run(s) on it`,
  'cm-cores': (d) => `${at(d)}: ${s(d, 'host')} has ${s(d, 'cores')} cores, but its VMs need ${s(d, 'vcpus')} vCPU(s) and ${s(d, 'polling')} dedicated polling core(s)`,
  'cm-no-iommu': (d) => `${at(d)}: ${s(d, 'tenant')} uses ${s(d, 'model')} on ${s(d, 'host')}, whose IOMMU is off: VFIO cannot assign a device without VT-d`,
  'cm-no-sriov': (d) => `${at(d)}: ${s(d, 'tenant')} uses ${s(d, 'model')} on ${s(d, 'host')}, where SR-IOV is off: that host has no VFs`,
  'cm-vfs': (d) => `${at(d)}: ${s(d, 'host')} port ${s(d, 'port')} would need ${s(d, 'vfs')} VFs; an ${s(d, 'model')} port gives at most ${s(d, 'max')}`,
  'cm-port-taken': (d) => `${at(d)}: ${s(d, 'host')} port ${s(d, 'port')} is assigned whole to ${s(d, 'owner')} (passthrough), so ${s(d, 'others')} cannot use it too — a passthrough port serves one VM and nothing else`,
  'cm-port-rate': (d) => `${at(d)}: the VMs on ${s(d, 'host')} port ${s(d, 'port')} need ${s(d, 'gbps')} Gbit/s together; a ${s(d, 'line')} GbE port can carry ${s(d, 'max')} % of that line rate`,
  'cm-p99': (d) => `${at(d)}: ${s(d, 'tenant')}'s ${s(d, 'at')} answered with a p99 of ${s(d, 'p99')} µs for ${s(d, 'bytes')}-byte messages; its bound is ${s(d, 'bound')} µs`,
  'cm-throughput': (d) => `${at(d)}: ${s(d, 'tenant')}'s ${s(d, 'at')} received ${s(d, 'got')} Gbit/s a VM of the ${s(d, 'want')} offered (${s(d, 'share')}, ${s(d, 'drops')} drop(s); at least ${s(d, 'min')} % and no drop expected); the bottleneck was the ${s(d, 'bottleneck')}`,
  'cm-headroom': (d) => `${at(d)}: ${s(d, 'host')} (${s(d, 'cores')} cores) runs ${s(d, 'vcpus')} vCPU(s), ${s(d, 'polling')} polling core(s) and ${s(d, 'io')} cores of host I/O threads, leaving ${s(d, 'idle')} idle; it must keep ${s(d, 'want')} %`,
  'cm-no-destination': (d) => `seed ${s(d, 'seed')}: ${s(d, 'tenant')}'s ${s(d, 'vms')} VM(s) on ${s(d, 'from')} must live-migrate at noon (${s(d, 'why')}), but the placement has no migrateTo`,
  'cm-to-drained': (d) => `seed ${s(d, 'seed')}: ${s(d, 'tenant')}'s ${s(d, 'vms')} VM(s) on ${s(d, 'from')} would migrate to ${s(d, 'to')}, the host being drained`,
  'cm-refused': (d) => `seed ${s(d, 'seed')}: ${s(d, 'tenant')}'s ${s(d, 'vms')} VM(s) on ${s(d, 'from')} must live-migrate at noon (${s(d, 'why')}), but with ${s(d, 'model')} the migration is refused: ${s(d, 'reason')}`,
  'cm-not-converged': (d) => `seed ${s(d, 'seed')}: the live migration of ${s(d, 'tenant')}'s VM(s) on ${s(d, 'from')} (${s(d, 'model')}, downtime limit ${s(d, 'limit')}) did not converge: ${s(d, 'reason')}`,
  'cm-mismatched': (d) => `seed ${s(d, 'seed')}: ${s(d, 'tenant')}'s VM(s) migrated from ${s(d, 'from')} with ${s(d, 'pages')} page(s) differing on the destination: something wrote guest memory without the dirty log seeing it`,
  'cm-outage': (d) => `seed ${s(d, 'seed')}: migrating ${s(d, 'tenant')}'s VM(s) from ${s(d, 'from')} (${s(d, 'model')}) cut their network for ${s(d, 'outage')} ms (downtime ${s(d, 'downtime')} ms); their budget is ${s(d, 'budget')} ms`,
};
