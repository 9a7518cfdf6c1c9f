/**
 * The learner's Plan, read defensively: every placement's fields are checked (type, range, known
 * ids and models) and turned into Groups — a number of one tenant's VMs on one host port with one
 * I/O model. Then the resource accounting a scheduler (Nova's, say) does before it places VMs:
 * vCPUs + dedicated polling cores within the host's cores, VFs within what a port can give
 * (ixgbe max_vfs, i40e), a passthrough NIC owning its whole port, SR-IOV and the IOMMU on where
 * devices are assigned, and the traffic each port carries within its line rate.
 */
import { MAX_POLLING_CORES, MAX_QUEUES, PORT_FILL_MAX } from './limits.ts';
import { IO_MODELS, IRQ_MODES, type Cloud, type Host, type IoModel, type IrqMode, type Tenant } from './cloud.ts';

export interface Group {
  /** Index of the placement it came from (messages name it). */
  index: number;
  tenant: Tenant;
  host: Host;
  port: number;
  vms: number;
  model: IoModel;
  queues: number;
  guestPmd: boolean;
  pollingCores: number;
  irq: IrqMode;
  migrateTo: Host | undefined;
  migrateToPort: number;
  downtimeLimitMs: number | undefined;
}

export interface Problem {
  code: string;
  data: Record<string, number | string>;
}

/** Models whose VMs hold a VF (a plain one, or the primary of a failover pair). */
export const USES_VF: ReadonlySet<IoModel> = new Set(['sriov-vf', 'failover']);
/** Models whose data path is a device assigned through VFIO (needs the IOMMU). */
export const ASSIGNED: ReadonlySet<IoModel> = new Set(['sriov-vf', 'failover', 'passthrough']);
/** Models that may run a DPDK poll-mode driver in the guest. */
export const GUEST_PMD_MODELS: ReadonlySet<IoModel> = new Set(['vhost-user', 'sriov-vf', 'passthrough', 'failover']);

const describe = (v: unknown): string => {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'function') return 'a function';
  try {
    const s = JSON.stringify(v);
    return s.length > 50 ? `${s.slice(0, 50)}…` : s;
  } catch {
    return 'an object';
  }
};

const FIELDS = new Set(['tenant', 'host', 'vms', 'model', 'port', 'queues', 'guestPmd', 'pollingCores', 'irq', 'migrateTo', 'migrateToPort', 'downtimeLimitMs']);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The plan as Groups, or the first problems that make it ill-formed (check 1). */
export function readPlan(cloud: Cloud, plan: unknown): { ok: true; groups: Group[] } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (code: string, data: Record<string, number | string>): void => void problems.push({ code, data });
  const placements = plan && typeof plan === 'object' ? (plan as { placements?: unknown }).placements : undefined;
  if (!Array.isArray(placements)) return { ok: false, problems: [{ code: 'cm-plan-shape', data: { value: describe(plan) } }] };
  if (placements.length > 500) return { ok: false, problems: [{ code: 'cm-plan-shape', data: { value: `${placements.length} placements` } }] };
  const hosts = new Map(cloud.hosts.map((h) => [h.id, h]));
  const tenants = new Map(cloud.tenants.map((t) => [t.id, t]));
  const groups: Group[] = [];
  placements.forEach((p: unknown, index) => {
    const where = `placements[${index}]`;
    if (!p || typeof p !== 'object' || Array.isArray(p)) return bad('cm-field', { where, field: 'itself', value: describe(p), want: 'an object { tenant, host, model, … }' });
    const o = p as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => !FIELDS.has(k));
    if (extra) return bad('cm-field', { where, field: extra, value: describe(o[extra]), want: `one of the Placement fields (${[...FIELDS].join(', ')})` });
    const tenant = typeof o['tenant'] === 'string' ? tenants.get(o['tenant']) : undefined;
    if (!tenant) return bad('cm-field', { where, field: 'tenant', value: describe(o['tenant']), want: `a tenant id: ${[...tenants.keys()].join(', ')}` });
    const at = `${where} (${tenant.id})`;
    const host = typeof o['host'] === 'string' ? hosts.get(o['host']) : undefined;
    if (!host) return bad('cm-field', { where: at, field: 'host', value: describe(o['host']), want: `a host id: ${[...hosts.keys()].join(', ')}` });
    if (!(IO_MODELS as readonly unknown[]).includes(o['model'])) return bad('cm-field', { where: at, field: 'model', value: describe(o['model']), want: IO_MODELS.join(' | ') });
    const model = o['model'] as IoModel;
    const vms = o['vms'] === undefined ? tenant.vms : o['vms'];
    if (!isInt(vms) || vms < 1 || vms > tenant.vms) return bad('cm-field', { where: at, field: 'vms', value: describe(vms), want: `an integer in 1–${tenant.vms} (the tenant has ${tenant.vms} VM(s))` });
    const intField = (name: string, dflt: number, lo: number, hi: number, why: string): number | undefined => {
      const v = o[name] === undefined ? dflt : o[name];
      if (!isInt(v) || v < lo || v > hi) {
        bad('cm-field', { where: at, field: name, value: describe(v), want: `an integer in ${lo}–${hi}${why}` });
        return undefined;
      }
      return v;
    };
    const port = intField('port', 0, 0, host.nic.ports - 1, ` (${host.id} has ${host.nic.ports} port(s))`);
    const queues = intField('queues', 1, 1, MAX_QUEUES, '');
    const pollingCores = intField('pollingCores', model === 'vhost-user' ? 1 : 0, 0, MAX_POLLING_CORES, '');
    if (port === undefined || queues === undefined || pollingCores === undefined) return;
    const guestPmd = o['guestPmd'] === undefined ? false : o['guestPmd'];
    if (typeof guestPmd !== 'boolean') return bad('cm-field', { where: at, field: 'guestPmd', value: describe(guestPmd), want: 'true or false' });
    const irq = o['irq'] === undefined ? 'posted' : o['irq'];
    if (!(IRQ_MODES as readonly unknown[]).includes(irq)) return bad('cm-field', { where: at, field: 'irq', value: describe(irq), want: IRQ_MODES.join(' | ') });
    if (guestPmd && !GUEST_PMD_MODELS.has(model)) return bad('cm-combo', { where: at, what: `guestPmd with ${model}`, why: `a guest poll-mode driver needs a device it can poll without exits: ${[...GUEST_PMD_MODELS].join(', ')}` });
    if (guestPmd && tenant.vcpus < 2) return bad('cm-combo', { where: at, what: 'guestPmd', why: `the PMD spins on a vCPU of its own, and ${tenant.id}'s VMs have ${tenant.vcpus}` });
    if (model === 'vhost-user' && pollingCores < 1) return bad('cm-combo', { where: at, what: 'vhost-user with pollingCores 0', why: 'the vhost-user backend (a DPDK vSwitch) needs at least one host core polling the rings' });
    if (model !== 'vhost-user' && pollingCores > 0) return bad('cm-combo', { where: at, what: `pollingCores ${pollingCores} with ${model}`, why: 'dedicated host polling cores serve a vhost-user backend only' });
    let migrateTo: Host | undefined;
    if (o['migrateTo'] !== undefined) {
      migrateTo = typeof o['migrateTo'] === 'string' ? hosts.get(o['migrateTo']) : undefined;
      if (!migrateTo || migrateTo === host) return bad('cm-field', { where: at, field: 'migrateTo', value: describe(o['migrateTo']), want: `another host's id (${[...hosts.keys()].filter((k) => k !== host.id).join(', ')})` });
    }
    const migrateToPort = o['migrateToPort'] === undefined ? 0 : o['migrateToPort'];
    const destPorts = (migrateTo ?? host).nic.ports;
    if (!isInt(migrateToPort) || migrateToPort < 0 || migrateToPort >= destPorts) return bad('cm-field', { where: at, field: 'migrateToPort', value: describe(migrateToPort), want: `a port of the destination (0–${destPorts - 1})` });
    const dl = o['downtimeLimitMs'];
    if (dl !== undefined && (typeof dl !== 'number' || !Number.isFinite(dl) || dl < 1 || dl > 10_000)) return bad('cm-field', { where: at, field: 'downtimeLimitMs', value: describe(dl), want: 'a number of milliseconds in 1–10000 (QEMU\'s downtime-limit)' });
    groups.push({ index, tenant, host, port, vms, model, queues, guestPmd, pollingCores, irq: irq as IrqMode, migrateTo, migrateToPort, downtimeLimitMs: dl as number | undefined });
  });
  if (problems.length) return { ok: false, problems };
  for (const t of cloud.tenants) {
    const n = groups.filter((g) => g.tenant === t).reduce((s, g) => s + g.vms, 0);
    if (n !== t.vms) problems.push({ code: 'cm-tenant-count', data: { tenant: t.id, placed: n, vms: t.vms } });
  }
  return problems.length ? { ok: false, problems } : { ok: true, groups };
}

/** Where each group runs in the afternoon: VMs that migrated at noon sit on their destination. */
export function afterMaintenance(groups: Group[], moved: ReadonlySet<Group>): Group[] {
  return groups.map((g) => (moved.has(g) && g.migrateTo ? { ...g, host: g.migrateTo, port: g.migrateToPort, migrateTo: undefined } : g));
}


/** Resource accounting of a placement (check 2 before noon, check 9 after): vCPUs, polling cores, VFs, ports, features. */
export function resourceProblems(cloud: Cloud, groups: Group[], phase: string, drained?: string): Problem[] {
  const out: Problem[] = [];
  for (const h of cloud.hosts) {
    const on = groups.filter((g) => g.host === h);
    if (drained === h.id && on.length) {
      out.push({ code: 'cm-still-on-drained', data: { phase, host: h.id, tenants: [...new Set(on.map((g) => g.tenant.id))].join(', ') } });
      continue;
    }
    const vcpus = on.reduce((s, g) => s + g.vms * g.tenant.vcpus, 0);
    const polling = on.reduce((s, g) => s + g.pollingCores, 0);
    if (vcpus + polling > h.cores) out.push({ code: 'cm-cores', data: { phase, host: h.id, vcpus, polling, cores: h.cores } });
    for (const g of on) {
      if (ASSIGNED.has(g.model) && !h.iommu) out.push({ code: 'cm-no-iommu', data: { phase, host: h.id, tenant: g.tenant.id, model: g.model } });
      else if (USES_VF.has(g.model) && !h.sriov) out.push({ code: 'cm-no-sriov', data: { phase, host: h.id, tenant: g.tenant.id, model: g.model } });
    }
    for (let port = 0; port < h.nic.ports; port++) {
      const here = on.filter((g) => g.port === port);
      const vfs = here.filter((g) => USES_VF.has(g.model)).reduce((s, g) => s + g.vms, 0);
      if (vfs > h.nic.maxVfsPerPort) out.push({ code: 'cm-vfs', data: { phase, host: h.id, port, vfs, max: h.nic.maxVfsPerPort, model: h.nic.model } });
      const pt = here.filter((g) => g.model === 'passthrough');
      const ptVms = pt.reduce((s, g) => s + g.vms, 0);
      if (pt.length && (ptVms > 1 || here.length > pt.length)) {
        const others = here.filter((g) => !pt.includes(g) || ptVms > 1).map((g) => g.tenant.id);
        out.push({ code: 'cm-port-taken', data: { phase, host: h.id, port, owner: pt[0]!.tenant.id, others: [...new Set(others)].join(', ') } });
      }
      const gbps = here.reduce((s, g) => s + g.vms * g.tenant.gbpsPerVm, 0);
      if (gbps > h.nic.portGbps * PORT_FILL_MAX) out.push({ code: 'cm-port-rate', data: { phase, host: h.id, port, gbps: gbps.toFixed(2), line: h.nic.portGbps, max: Math.round(PORT_FILL_MAX * 100) } });
    }
  }
  return out;
}
