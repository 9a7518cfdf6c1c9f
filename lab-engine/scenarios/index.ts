/** The scenario registry: ready-made hosts that lessons, the CLI and benchmarks run by id. */
import type { RunResult, ScenarioInfo, ScenarioOptions } from '../sim/types.ts';
import { runEmulation, type EmulationConfig } from './emulation.ts';
import { runParavirt, paravirtDefaults } from './paravirt.ts';
import { BACKEND_KINDS, type BackendKind } from '../hv/virtio-backends.ts';
import { runPassthrough, passthroughDefaults, type PassthroughIrq, type PassthroughSetup } from './passthrough.ts';
import { DMA_API_MODES, type DmaApiMode } from '../guest/dma-api.ts';
import { tenantMac } from './sriov-host.ts';
import { runSriov, sriovDefaults, sriovModelFor, SRIOV_MODES, SRIOV_NICS, type SriovMode, type SriovNicName } from './sriov.ts';
import { MIGRATE_NOTE, MIGRATE_PARAMS, runMigrateScenario } from './migrate.ts';
import { MigrationOptionError } from '../migration/index.ts';

interface ScenarioDef extends ScenarioInfo {
  workload: EmulationConfig['workload'];
  model?: 'paravirt' | 'passthrough' | 'sriov' | 'migrate';
}

const PV_PARAMS = { backend: 'vhost-net', eventIdx: true, ioeventfd: true, indirect: true, guestPmd: false, queues: 1, queueSize: 256, burst: 1, wireGbps: 10, apicv: false, tso: false };
const PV_NOTE = 'backend = qemu | vhost-net | vhost-user | xen-netback | vmxnet3; guestPmd=true runs a DPDK virtio PMD in the guest (with vhost-user: no interrupts, no exits); tso=true (TX) sends 64 KiB TSO super-frames that the NIC cuts into size-byte frames.';

const PT_PARAMS = { setup: 'vfio', irq: 'posted', hugepages: false, iotlbEntries: 64, dmaApi: 'none', itr: 20, ringSize: 512, wireGbps: 10, pmd: false, pcie: 'auto' };
const PT_NOTE = "setup = baremetal (the same NIC and driver on a host core: the 100 % reference) | vfio (the NIC assigned to a VM); irq = remapped (no APICv: ≈ 2 exits per interrupt) | apicv (1) | posted (VT-d posting + APICv: 0 while the vCPU runs), ignored on bare metal; dmaApi = none | strict | deferred | optimistic maps every buffer through the host's IOMMU on bare metal, through an emulated vIOMMU in a VFIO guest; hugepages backs guest RAM with 2 MiB pages (2 MiB IOMMU mappings); itr is the NIC's interrupt moderation interval (µs); pmd runs a DPDK-like poll-mode driver (no interrupts); pcie = auto | gen3x8 | gen4x16.";
const PT_SETUPS: readonly PassthroughSetup[] = ['baremetal', 'vfio'];
const PT_IRQS: readonly PassthroughIrq[] = ['remapped', 'apicv', 'posted'];

const SR_PARAMS = { mode: 'sriov', nic: '82599', wireGbps: 10, offeredGbps: 10, ringSize: 512, itr: 250, iotlbEntries: 64 };
const SR_NOTE = "vms (ScenarioOptions.vms, --vms) = 1–63 with nic=82599 (ixgbe's max_vfs), 1–64 with nic=xl710; mode = sriov (a VF assigned to each VM: VMDc, posted interrupts, no host copy) | vmdq (the NIC sorts frames into per-VM queues by MAC, one host vSwitch thread per queue still copies them into the VM's virtio ring) | vmdq-off (one host vSwitch thread sorts and copies everything) | vhost-net (the host NIC's RX softirq bridges to taps, one vhost worker per VM copies); offeredGbps is the aggregate, spread round-robin over the VMs by destination MAC; itr = the VF's interrupt moderation interval (µs; 250 = adaptive coalescing at line rate). Each VM has one vCPU on its own core.";

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
  {
    id: 'passthrough-tx',
    title: 'Assigned NIC (82599-class): the driver transmits a stream',
    description: `An ixgbe-like driver streams frames through an Intel 82599-class NIC, on bare metal or assigned to a VM with VFIO (doorbells without exits, DMA through VT-d, MSI-X through interrupt remapping). The defaults (64 B, itr 20 µs, 4000 frames, irq=posted) are the CPU-bound workload calibrated against ELI (C5: posted ≥ 97 % of bare metal, 1.3–1.6× remapped) and DID (C6). ${PT_NOTE}`,
    params: PT_PARAMS,
    defaults: { packets: 4000, size: 64 },
    workload: 'tx',
    model: 'passthrough',
  },
  {
    id: 'passthrough-rr',
    title: 'Assigned NIC: request/response',
    description: `One request out, one answer back (netperf-RR-like) through the 82599-class NIC: latency and exits per transaction (itr defaults to 0 here, as RR latency is measured without moderation). ${PT_NOTE}`,
    params: { ...PT_PARAMS, itr: 0 },
    defaults: { packets: 500, size: 64 },
    workload: 'rr',
    model: 'passthrough',
  },
  {
    id: 'passthrough-rx',
    title: 'Assigned NIC: the driver receives a stream',
    description: `A peer streams frames into the 82599-class NIC at offeredGbps (default: 10 GbE line rate of 1518 B frames); NAPI polls with the NIC's interrupt moderation. ${PT_NOTE}`,
    params: { ...PT_PARAMS, offeredGbps: 10 },
    defaults: { packets: 4000, size: 1518 },
    workload: 'rx',
    model: 'passthrough',
  },
  {
    id: 'sriov-rx',
    title: 'SR-IOV, VMDq and vhost-net: 1 to 64 VMs receive on one port',
    description: `A peer streams frames at offeredGbps into one NIC port shared by \`vms\` VMs. C11: SR-IOV holds line rate up to 60 VMs at ≈ 1.8 % host CPU per VM; C12: VMDq ≈ 9.3 vs ≈ 4.2 Gbit/s without; C8: vhost-net's host CPU per Gbit/s grows as VMs are added. ${SR_NOTE}`,
    params: SR_PARAMS,
    defaults: { packets: 20000, size: 1518 },
    workload: 'rx',
    model: 'sriov',
  },
  {
    id: 'sriov-tx',
    title: 'SR-IOV: 1 to 64 VMs transmit through their VFs',
    description: 'Each of `vms` VMs streams frames out through its own VF (doorbells without exits, DMA through VT-d with the VF\'s RID, descriptors written back, one posted vector per queue pair). The embedded switch checks each frame\'s source MAC (anti-spoofing), paces each VF at rateMbps (max_tx_rate; 0 = none) and sends it out of the shared port — or, with hairpin=true, to the next VM\'s VF without touching the wire (PCIe crossed twice). path=\'bridge\' runs the same VM-to-VM traffic (VM i → VM i+1) with virtio-net VMs through vhost-net and the host\'s Linux bridge instead: no NIC, no wire, no PCIe, two copies per frame in the host (one vhost worker per VM). nic, wireGbps, ringSize, itr, iotlbEntries as sriov-rx.',
    params: { nic: '82599', wireGbps: 10, ringSize: 512, itr: 250, iotlbEntries: 64, hairpin: false, rateMbps: 0, path: 'vf' },
    defaults: { packets: 20000, size: 1518 },
    workload: 'tx',
    model: 'sriov',
  },
  {
    id: 'sriov-ovs-offload',
    title: 'SR-IOV with OVS hardware offload: the first packet of a flow takes the slow path',
    description: 'VFs assigned to `vms` VMs (default 4) in switchdev mode: the NIC\'s flow table starts empty, so the first packet of each of `flows` flows goes up to the host\'s OVS (upcall, an exact-match rule installed in the NIC, re-injected through the VF representor); later packets go straight to the VF. The latency histogram and the ovs-offload diagnostic show first packets against the rest. Parameters as sriov-rx, plus flows.',
    params: { nic: '82599', wireGbps: 10, offeredGbps: 2, ringSize: 512, itr: 10, iotlbEntries: 64, flows: 64 },
    defaults: { packets: 8000, size: 1518 },
    workload: 'rx',
    model: 'sriov',
  },
  {
    id: 'migrate',
    title: 'Live migration: pre-copy of one VM to another host, per I/O model',
    description: `A VM with a NIC of the chosen model is live-migrated over a migration link while its guest dirties memory and it receives traffic: pre-copy rounds with dirty logging (KVM's log for guest writes, QEMU's bitmap / the vhost log / a device's DMA log for received frames), a switch-over when the expected downtime fits QEMU's limit, stop-and-copy with the device state, resume and announce on the destination. Passthrough and a plain VF are refused (four reasons) unless forced; failover unplugs the VF and migrates on the virtio standby; vfio-migration walks the VFIO device-state FSM. Metrics carry a migration block (outcome, rounds, downtimeMs, totalMs, outageMs, transferredMiB, pagesMismatched). ${MIGRATE_NOTE}`,
    params: MIGRATE_PARAMS,
    defaults: { packets: 1, size: 1518 },
    workload: 'rx',
    model: 'migrate',
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
  if (def.model === 'migrate') {
    if (opts.vms !== undefined && opts.vms !== 1) throw new ScenarioError(`scenario '${id}' migrates one VM (--vms ${opts.vms} is not supported)`);
    const seed = opts.seed ?? 1;
    checkInt('seed', seed, 0, 0xffffffff);
    try {
      const ignored = (['packets', 'size'] as const).filter((k) => opts[k] !== undefined);
      if (ignored.length) checkInt(ignored[0]!, opts[ignored[0]!]!, 1, 1_000_000);
      return runMigrateScenario(p, seed, ignored.map((k) => `${k}=${opts[k]}`), opts.params ?? {});
    } catch (e) {
      if (e instanceof MigrationOptionError) throw new ScenarioError(e.message);
      throw e;
    }
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
  if (def.model === 'passthrough') return runPassthroughScenario(id, def, p, packets, size, seed, opts);
  if (def.model === 'sriov') return runSriovScenario(id, p, packets, size, seed, opts);
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

function runPassthroughScenario(id: string, def: ScenarioDef, p: Record<string, number | string | boolean>, packets: number, size: number, seed: number, opts: ScenarioOptions): RunResult {
  const oneOf = <T extends string>(k: string, allowed: readonly T[]): T => {
    const v = p[k];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new ScenarioError(`parameter '${k}' must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  };
  const num = (k: string, lo: number, hi: number, int = true): number => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) throw new ScenarioError(`parameter '${k}' must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  };
  const ringSize = num('ringSize', 64, 4096);
  if (ringSize % 8 !== 0) throw new ScenarioError(`ringSize must be a multiple of 8 (the 82599's RDLEN/TDLEN are multiples of 128 bytes), got ${ringSize}`);
  const wireGbps = num('wireGbps', 0.001, 400, false);
  if (opts.vms !== undefined && opts.vms !== 1) throw new ScenarioError(`scenario '${id}' runs one VM (--vms ${opts.vms} is not supported)`);
  return runPassthrough({
    ...passthroughDefaults(),
    scenario: id, seed, workload: def.workload, packets, size,
    setup: oneOf('setup', PT_SETUPS),
    irq: oneOf('irq', PT_IRQS),
    hugepages: Boolean(p['hugepages']),
    iotlbEntries: num('iotlbEntries', 1, 4096),
    dmaApi: oneOf<DmaApiMode>('dmaApi', DMA_API_MODES),
    itr: num('itr', 0, 1022),
    ringSize,
    wireGbps,
    pmd: Boolean(p['pmd']),
    pcie: oneOf('pcie', ['auto', 'gen3x8', 'gen4x16'] as const),
    offeredGbps: 'offeredGbps' in p ? num('offeredGbps', 0.001, 400, false) : wireGbps,
  }).result;
}

function runSriovScenario(id: string, p: Record<string, number | string | boolean>, packets: number, size: number, seed: number, opts: ScenarioOptions): RunResult {
  const offload = id === 'sriov-ovs-offload';
  const vms = opts.vms ?? (offload ? 4 : 1);
  checkInt('vms', vms, 1, 64);
  const mode = (p['mode'] ?? 'sriov') as string;
  if (!(SRIOV_MODES as readonly string[]).includes(mode)) throw new ScenarioError(`parameter 'mode' must be one of ${SRIOV_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
  const nic = p['nic'];
  if (typeof nic !== 'string' || !(nic in SRIOV_NICS)) throw new ScenarioError(`parameter 'nic' must be one of ${Object.keys(SRIOV_NICS).join(', ')}, got ${JSON.stringify(nic)}`);
  const tx = id === 'sriov-tx';
  const path = tx ? p['path'] : 'vf';
  if (path !== 'vf' && path !== 'bridge') throw new ScenarioError(`parameter 'path' must be one of vf, bridge, got ${JSON.stringify(path)}`);
  const fit = sriovModelFor(nic as SriovNicName, vms, path === 'bridge' ? 'vhost-net' : mode as SriovMode);
  if ('error' in fit) throw new ScenarioError(fit.error);
  const num = (k: string, lo: number, hi: number, int = true): number => {
    const v = p[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) throw new ScenarioError(`parameter '${k}' must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  };
  const rateMbps = tx ? num('rateMbps', 0, 400_000, false) : 0;
  if (path === 'bridge' && rateMbps > 0) throw new ScenarioError(`parameter 'rateMbps' is a VF's max_tx_rate: path=bridge uses no VF`);
  return runSriov({
    ...sriovDefaults(),
    scenario: id, seed, packets, size, vms, mode: mode as SriovMode, nic: nic as SriovNicName,
    ...(tx ? { workload: 'tx' as const, hairpin: Boolean(p['hairpin']), ...(path === 'bridge' ? { txPath: 'bridge' as const } : {}), tenants: Array.from({ length: vms }, (_, vm) => ({ vm, mac: tenantMac(vm), vlan: undefined, rateMbps })) } : {}),
    wireGbps: num('wireGbps', 0.001, 400, false), offeredGbps: tx ? 10 : num('offeredGbps', 0.001, 400, false),
    ringSize: num('ringSize', 8, 4096), itrUs: num('itr', 0, 10_000), iotlbEntries: num('iotlbEntries', 1, 4096),
    flows: offload ? num('flows', 1, 65536) : 0,
  }).result;
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ScenarioError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}
