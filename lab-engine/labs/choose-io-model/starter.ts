/** The code learners start from: it compiles and runs, and puts every VM on virtio with QEMU's backend on the first host. */
export const CHOOSE_IO_MODEL_STARTER = `// Place the cloud's tenants. The engine calls plan(cloud) once and runs a day with the result.
import { type Cloud, type Plan, type Placement } from 'iovlab/choose-io-model';

export function plan(cloud: Cloud): Plan {
  const first = cloud.hosts[0]!;
  const placements: Placement[] = cloud.tenants.map((t) => ({
    tenant: t.id,
    host: first.id,
    model: 'virtio-qemu',
  }));
  // TODO: which model does each tenant need (the trading VM's p99, the web tier's density, the
  // storage gateway's throughput, the migratable tenants' outage budgets)? Which host has room?
  // Where does each VM go when cloud.maintenance.host is drained (migrateTo)?
  return { placements };
}
`;
