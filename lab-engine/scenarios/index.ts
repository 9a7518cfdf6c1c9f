/** The scenario registry: ready-made hosts that lessons, the CLI and benchmarks run by id. */
import type { RunResult, ScenarioInfo, ScenarioOptions } from '../sim/types.ts';
import { runEmulation, type EmulationConfig } from './emulation.ts';
import { runParavirt, paravirtDefaults } from './paravirt.ts';
import { BACKEND_KINDS, type BackendKind } from '../hv/virtio-backends.ts';

interface ScenarioDef extends ScenarioInfo {
  workload: EmulationConfig['workload'];
  model?: 'paravirt';
}

const PV_PARAMS = { backend: 'vhost-net', eventIdx: true, ioeventfd: true, indirect: true, guestPmd: false, queues: 1, queueSize: 256, burst: 1, wireGbps: 10, apicv: false, tso: false };
const PV_NOTE = 'backend = qemu | vhost-net | vhost-user | xen-netback | vmxnet3; guestPmd=true runs a DPDK virtio PMD in the guest (with vhost-user: no interrupts, no exits); tso=true (TX) sends 64 KiB TSO super-frames that the NIC cuts into size-byte frames.';

const EMU_PARAMS = { mitigation: true, itr: 195, tadv: 32, burst: 1, wireGbps: 10, apicv: false };

const SCENARIOS: ScenarioDef[] = [
  {
    id: 'emulation-tx',
    title: 'Emulated e1000: guest transmits a stream',
    description: 'The guest streams frames to a peer through an emulated e1000 (QEMU device model, KVM exits, tap, 10 GbE wire). mitigation=false shows what QEMU before 8.2 did without its interrupt mitigation.',
    params: EMU_PARAMS,
    defaults: { packets: 2000, size: 1518 },
    workload: 'tx',
  },
  {
    id: 'emulation-rr',
    title: 'Emulated e1000: request/response',
    description: 'The guest sends a request and waits for the peer\'s answer (netperf-RR-like): latency and exits per transaction.',
    params: { mitigation: true, itr: 195, tadv: 32, wireGbps: 10, apicv: false },
    defaults: { packets: 500, size: 64 },
    workload: 'rr',
  },
  {
    id: 'emulation-rx',
    title: 'Emulated e1000: guest receives a stream',
    description: 'A peer streams frames into the guest at an offered load; interrupts are throttled by QEMU\'s mitigation.',
    params: { mitigation: true, itr: 195, tadv: 32, wireGbps: 10, offeredGbps: 1, apicv: false },
    defaults: { packets: 2000, size: 1518 },
    workload: 'rx',
  },
  {
    id: 'virtio-tx',
    title: 'virtio-net: guest transmits a stream',
    description: `The guest streams frames through a virtio-net device (split rings, kicks, used-ring interrupts) to a peer. ${PV_NOTE}`,
    params: PV_PARAMS,
    defaults: { packets: 4000, size: 64 },
    workload: 'tx',
    model: 'paravirt',
  },
  {
    id: 'virtio-rr',
    title: 'virtio-net: request/response',
    description: `One request out, one answer back (netperf-RR-like) through virtio-net: latency and exits per transaction. ${PV_NOTE}`,
    params: PV_PARAMS,
    defaults: { packets: 500, size: 64 },
    workload: 'rr',
    model: 'paravirt',
  },
  {
    id: 'virtio-rx',
    title: 'virtio-net: guest receives a stream',
    description: `A peer streams frames into the guest at an offered load through virtio-net. ${PV_NOTE}`,
    params: { ...PV_PARAMS, offeredGbps: 1 },
    defaults: { packets: 4000, size: 64 },
    workload: 'rx',
    model: 'paravirt',
  },
];

export function listScenarios(): ScenarioInfo[] {
  return SCENARIOS.map(({ workload: _w, ...info }) => structuredCloneInfo(info));
}

function structuredCloneInfo(i: ScenarioInfo): ScenarioInfo {
  return { ...i, params: { ...i.params }, defaults: { ...i.defaults } };
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** Run a scenario by id. Throws ScenarioError on an unknown id or bad option (with the reason). */
export function runScenario(id: string, opts: ScenarioOptions = {}): RunResult {
  const def = SCENARIOS.find((s) => s.id === id);
  if (!def) throw new ScenarioError(`unknown scenario '${id}' (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const p = { ...def.params, ...(opts.params ?? {}) };
  for (const k of Object.keys(opts.params ?? {})) {
    if (!(k in def.params)) throw new ScenarioError(`scenario '${id}' has no parameter '${k}' (it has: ${Object.keys(def.params).join(', ')})`);
  }
  const packets = opts.packets ?? def.defaults.packets;
  const size = opts.size ?? def.defaults.size;
  const seed = opts.seed ?? 1;
  checkInt('packets', packets, 1, 1_000_000);
  checkInt('size', size, 64, 1518);
  checkInt('seed', seed, 0, 0xffffffff);
  const num = (k: string): number => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ScenarioError(`parameter '${k}' must be a non-negative number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (def.model === 'paravirt') {
    const backend = p['backend'];
    if (typeof backend !== 'string' || !(BACKEND_KINDS as readonly string[]).includes(backend)) {
      throw new ScenarioError(`parameter 'backend' must be one of ${BACKEND_KINDS.join(', ')}, got ${JSON.stringify(backend)}`);
    }
    const queues = num('queues');
    checkInt('queues', queues, 1, 8);
    const queueSize = num('queueSize');
    if (!Number.isInteger(queueSize) || queueSize < 2 || queueSize > 1024 || (queueSize & (queueSize - 1)) !== 0) {
      throw new ScenarioError(`queueSize must be a power of 2 from 2 to 1024 (virtio 1.2 §2.7), got ${queueSize}`);
    }
    const burst = num('burst');
    checkInt('burst', burst, 1, 64);
    const wireGbps = num('wireGbps');
    if (wireGbps <= 0 || wireGbps > 400) throw new ScenarioError(`wireGbps must be in (0, 400], got ${wireGbps}`);
    if (opts.vms !== undefined && opts.vms !== 1) throw new ScenarioError(`scenario '${id}' runs one VM (--vms ${opts.vms} is not supported yet)`);
    return runParavirt({
      ...paravirtDefaults(),
      scenario: id, seed, workload: def.workload, packets, size,
      backend: backend as BackendKind,
      eventIdx: Boolean(p['eventIdx']), ioeventfd: Boolean(p['ioeventfd']), indirect: Boolean(p['indirect']), guestPmd: Boolean(p['guestPmd']),
      queues, queueSize, burst, wireGbps, apicv: Boolean(p['apicv']), tso: Boolean(p['tso']),
      offeredGbps: 'offeredGbps' in p ? Math.max(0.001, num('offeredGbps')) : 1,
    }).result;
  }
  const itr = num('itr');
  checkInt('itr', itr, 0, 0xffff);
  const tadv = num('tadv');
  checkInt('tadv', tadv, 0, 0xffff);
  const burst = 'burst' in p ? num('burst') : 1;
  checkInt('burst', burst, 1, 64);
  const wireGbps = num('wireGbps');
  if (wireGbps <= 0 || wireGbps > 400) throw new ScenarioError(`wireGbps must be in (0, 400], got ${wireGbps}`);
  return runEmulation({
    scenario: id,
    seed,
    workload: def.workload,
    packets,
    size,
    mitigation: Boolean(p['mitigation']),
    apicv: Boolean(p['apicv']),
    itr,
    tadv,
    burst,
    wireGbps,
    offeredGbps: 'offeredGbps' in p ? Math.max(0.001, num('offeredGbps')) : 1,
    ramBytes: 64 * 1024 * 1024,
  }).result;
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ScenarioError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}
