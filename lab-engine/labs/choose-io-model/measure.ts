/**
 * What a group's VMs get, measured by running the engine's scenarios with the group's I/O model
 * and load (lab-engine/API.md): the trading VM's request/response p99 (emulation-rr, virtio-rr
 * with the chosen backend and guest PMD, passthrough-rr through VFIO for a VF or a whole port —
 * a VF's data path is the same assigned-device path, with the chosen interrupt delivery); the
 * receive throughput of the other tenants (the web tier's VFs or vhost-net VMs together on one
 * port: sriov-rx with that many VMs; any other group: one VM's run, whose host threads each VM
 * has its own copy of); and the host cores its host-side I/O threads keep busy (QEMU, vhost
 * workers, the host kernel's softirqs — the vCPUs' own exits run on the vCPUs' cores). Nothing is
 * computed from a formula: every figure is read from a run's Metrics.
 */
import { runScenario } from '../../scenarios/index.ts';
import type { RunResult } from '../../sim/types.ts';
import type { Group } from './plan.ts';

export const TRADING_PACKETS = 150;
/** Frames of a shared-port run: 60 a VM, at least STREAM_PACKETS, at most this. */
export const WEB_PACKETS = 3000;
export const STREAM_PACKETS = 600;
const FRAME = 1518;

export interface Measured {
  /** Trading: p99 request/response latency, µs. */
  p99Us?: number;
  /** Receive throughput delivered per VM, Gbit/s, and its share of what was offered. */
  gbpsPerVm?: number;
  delivered?: number;
  drops: number;
  /** Host cores the group's host-side I/O threads keep busy (not counting dedicated polling cores). */
  hostCores: number;
  bottleneck: string;
  scenario: string;
  run: RunResult;
}

type Spec = { id: string; packets: number; size: number; vms?: number; params: Record<string, number | string | boolean>; perVm: number; share: number; offered: number };

function streamSpec(g: Group): Spec {
  const port = g.host.nic.portGbps;
  const per = g.tenant.gbpsPerVm;
  const together = g.vms > 1 && (g.model === 'sriov-vf' || g.model === 'failover' || g.model === 'vhost-net');
  if (together) {
    const mode = g.model === 'vhost-net' ? 'vhost-net' : 'sriov';
    return { id: 'sriov-rx', packets: Math.min(WEB_PACKETS, Math.max(STREAM_PACKETS, 60 * g.vms)), size: FRAME, vms: g.vms, params: { mode, nic: g.host.nic.model, wireGbps: port, offeredGbps: per * g.vms }, perVm: 1, share: g.vms, offered: per * g.vms };
  }
  switch (g.model) {
    case 'emulation':
      return { id: 'emulation-rx', packets: STREAM_PACKETS, size: FRAME, params: { wireGbps: port, offeredGbps: per }, perVm: g.vms, share: 1, offered: per };
    case 'virtio-qemu':
    case 'vhost-net':
      return { id: 'virtio-rx', packets: STREAM_PACKETS, size: FRAME, params: { backend: g.model === 'virtio-qemu' ? 'qemu' : 'vhost-net', queues: g.queues, wireGbps: port, offeredGbps: per }, perVm: g.vms, share: 1, offered: per };
    case 'vhost-user': {
      // One DPDK vSwitch serves every VM of the group from its polling cores: one run carries the
      // load one polling core takes.
      const load = (per * g.vms) / g.pollingCores;
      return { id: 'virtio-rx', packets: STREAM_PACKETS, size: FRAME, params: { backend: 'vhost-user', guestPmd: g.guestPmd, queues: g.queues, wireGbps: port, offeredGbps: load }, perVm: 0, share: load / per, offered: load };
    }
    default:
      return { id: 'passthrough-rx', packets: STREAM_PACKETS, size: FRAME, params: { setup: 'vfio', irq: g.irq, pmd: g.guestPmd, wireGbps: port, offeredGbps: per }, perVm: g.vms, share: 1, offered: per };
  }
}

function rrSpec(g: Group): Spec {
  const size = g.tenant.messageBytes ?? 64;
  const base = { packets: TRADING_PACKETS, size, perVm: g.vms, share: 1, offered: 0 };
  switch (g.model) {
    case 'emulation':
      return { ...base, id: 'emulation-rr', params: {} };
    case 'virtio-qemu':
    case 'vhost-net':
    case 'vhost-user':
      return { ...base, id: 'virtio-rr', params: { backend: g.model === 'virtio-qemu' ? 'qemu' : g.model, guestPmd: g.guestPmd, queues: g.queues }, perVm: g.model === 'vhost-user' ? 0 : g.vms };
    default:
      return { ...base, id: 'passthrough-rr', params: { setup: 'vfio', irq: g.irq, pmd: g.guestPmd } };
  }
}

/** Host-side I/O threads: QEMU, vhost workers, the host kernel (the vCPUs' exits run on the vCPUs' cores; polling cores are counted whole). */
const hostThreads = (r: RunResult): number => r.metrics.derived.cpu.qemu + r.metrics.derived.cpu.vhost + r.metrics.derived.cpu['host-kernel'];

/** Runs within one seed are memoized by their options (identical runs give identical results). */
export class Measurer {
  readonly seed: number;
  readonly cache = new Map<string, RunResult>();
  runs = 0;
  constructor(seed: number) {
    this.seed = seed;
  }

  private run(s: Spec): RunResult {
    const opts = { seed: this.seed, packets: s.packets, size: s.size, ...(s.vms ? { vms: s.vms } : {}), params: s.params };
    const key = `${s.id} ${JSON.stringify(opts)}`;
    let r = this.cache.get(key);
    if (!r) {
      r = runScenario(s.id, opts);
      this.runs++;
      this.cache.set(key, r);
    }
    return r;
  }

  measure(g: Group): Measured {
    const trading = g.tenant.kind === 'trading';
    const s = trading ? rrSpec(g) : streamSpec(g);
    const run = this.run(s);
    const m = run.metrics;
    const hostCores = hostThreads(run) * s.perVm;
    const base = { drops: m.counters.drops, hostCores, bottleneck: m.derived.bottleneck, scenario: s.id, run };
    if (trading) return { ...base, p99Us: (m.latency?.p99Ns ?? Infinity) / 1000 };
    const got = m.derived.throughputGbps;
    return { ...base, gbpsPerVm: got / s.share, delivered: s.offered > 0 ? got / s.offered : 0 };
  }
}
