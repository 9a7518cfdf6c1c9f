/**
 * Model 4 of DESIGN.md §3: many VMs on one NIC port, receiving (CALIBRATION §0 C8, C11, C12;
 * §3.5 VMDq vs VMDc; §3.9). A peer streams `packets` frames at offeredGbps (aggregate), spread
 * round-robin over the VMs by destination MAC; throughput emerges from the busiest serial
 * resource (the wire, the PCIe link, a host thread or a vCPU). Modes:
 *   'sriov'     VMDc: each VM owns a VF (./sriov-host.ts: VF Enable, the PF driver programs the
 *               switch, VFIO assigns each VF, the VF driver's mailbox RESET returns its MAC). The
 *               embedded switch (hw/sriov-nic/switch.ts) sorts by MAC and the VF DMAs into the
 *               VM through VT-d; posted interrupts (./sriov-vm.ts VfGuest). The host's only
 *               per-VM work is KVM's (wake-ups of halted vCPUs, housekeeping).
 *   'vmdq'      the NIC sorts into per-VM queues by MAC (VMDq pools of the same switch), but one
 *               host vSwitch thread per queue (NetQueue) still copies every frame into the VM's
 *               virtio ring and signals it (PvGuest).
 *   'vmdq-off'  no sorting: one host vSwitch thread receives everything, finds each frame's VM in
 *               software and copies it (the bottleneck of C12's 4.2 Gbit/s).
 *   'vhost-net' plain paravirtual I/O on Linux: the host NIC's RX softirq (one queue) bridges each
 *               frame to the VM's tap, one vhost worker per VM copies it into the ring (C8).
 * offload (sriov only): OVS hardware offload — the first packet of each flow takes the host's
 * OVS slow path, which installs an exact-match rule in the switch (hw/sriov-nic/flow-offload.ts);
 * later packets go straight to the VF. Each VM has one vCPU on its own core ("VM i pCPU").
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import { ENGINE_VERSION } from '../version.ts';
import { newHostEnv, RunControl } from './run-common.ts';
import { ms, type Ns } from '../sim/time.ts';
import type { Diagnostic, RunResult } from '../sim/types.ts';
import { Wire } from '../hw/wire.ts';
import { macString, Veb } from '../hw/sriov-nic/switch.ts';
import { MODEL_82599, MODEL_XL710, type SriovNicModel } from '../hw/sriov-nic/models.ts';
import { encodeRequest, IXGBE_VT_MSGTYPE_ACK, type PfPolicy } from '../hw/sriov-nic/mailbox.ts';
import { FlowTable, flowKey } from '../hw/sriov-nic/flow-offload.ts';
import { PCI_CLASS_REVISION } from '../hw/pci/regs.ts';
import { ridString } from '../hw/pci/sriov.ts';
import { SerialThread, type HostEnv, type Meter } from '../hv/host.ts';
import { buildSriovPlatform, tenantMac, type PfSetup, type SriovPlatform, type Tenant } from './sriov-host.ts';
import { PvGuest, VfGuest } from './sriov-vm.ts';
import { BatchWorker } from './sriov-workers.ts';
import { TxFifo, VfTx } from './sriov-tx.ts';
import { runSriovBridge } from './sriov-bridge.ts';

export type SriovMode = 'sriov' | 'vmdq' | 'vmdq-off' | 'vhost-net';
export const SRIOV_MODES: readonly SriovMode[] = ['sriov', 'vmdq', 'vmdq-off', 'vhost-net'];
export const SRIOV_NICS = { '82599': MODEL_82599, xl710: MODEL_XL710 } as const;
export type SriovNicName = keyof typeof SRIOV_NICS;

export interface SriovConfig {
  scenario: string;
  seed: number;
  /** rx: the peer streams into the VMs; tx (sriov mode): each VM streams out through its VF. */
  workload?: 'rx' | 'tx';
  /** tx: each VM sends to the next VM's MAC, so the switch hairpins (never reaches the wire). */
  hairpin?: boolean;
  /** tx: 'vf' (default) each VM sends through its VF; 'bridge' virtio-net VMs, VM i → VM i+1 through vhost-net and the host's Linux bridge (./sriov-bridge.ts). */
  txPath?: 'vf' | 'bridge';
  packets: number;
  size: number;
  vms: number;
  mode: SriovMode;
  nic: SriovNicName;
  wireGbps: number;
  /** Aggregate offered load, Gbit/s. */
  offeredGbps: number;
  /** RX descriptors per VF (virtio: RX ring entries per VM). */
  ringSize: number;
  /** VF interrupt moderation interval, µs (default COSTS.vfAdaptiveItr). */
  itrUs: number;
  iotlbEntries: number;
  /** OVS hardware offload with this many flows (0 = off; sriov mode only). */
  flows: number;
  /** Replaces the PF driver's bring-up (default STANDARD_PF_SETUP: what Linux does). */
  pfSetup?: PfSetup;
  /** The PF driver's mailbox policy (default ixgbePolicy). */
  pfPolicy?: PfPolicy;
  /** Tenants (default one per VM: tenantMac(i), no VLAN, no rate limit). */
  tenants?: Tenant[];
  untilNs?: Ns;
  maxEvents?: number;
  traceLimit?: number;
}

export interface SriovHost {
  env: HostEnv;
  platform?: SriovPlatform;
  veb: Veb;
  guests: (VfGuest | PvGuest)[];
  flowTable?: FlowTable;
  /** OVS offload: per flow, first-packet latency (ns); and the mean latency of later packets. */
  ovs?: { slowPath: number; fastPath: number; firstPacketNs: number[]; slowMeanNs: number; laterMeanNs: number; hostNsPerFlow: number; rules: number };
  /** Guest pages touched (sparse RAM), per VM. */
  pagesTouched: number[];
}

export function sriovDefaults(): Omit<SriovConfig, 'scenario' | 'seed' | 'packets' | 'size'> {
  return { vms: 1, mode: 'sriov', nic: '82599', wireGbps: 10, offeredGbps: 10, ringSize: 512, itrUs: COSTS.vfAdaptiveItr.ns / 1000, iotlbEntries: 64, flows: 0 };
}

/** The model for a run, or why not: `vms` must fit the model's VFs (the vendor driver's limit). */
export function sriovModelFor(nic: SriovNicName, vms: number, mode: SriovMode): { model: SriovNicModel } | { error: string } {
  const model = SRIOV_NICS[nic];
  if (mode !== 'sriov') return { model };
  if (vms > model.driverMaxVfs) return { error: `${vms} VMs need ${vms} VFs, but the ${model.name}'s driver allows at most ${model.driverMaxVfs} (TotalVFs ${model.sriov.totalVfs})${nic === '82599' ? '; use nic=xl710 for 64' : ''}` };
  return { model };
}

const PEER_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

/** An untagged IPv4/TCP-like frame of `len` bytes for flow `flow` to VM `vm`. */
function flowFrame(len: number, vm: number, flow: number): Uint8Array {
  const f = new Uint8Array(len);
  tenantMac(vm).split(':').forEach((h, i) => (f[i] = parseInt(h, 16)));
  f.set(PEER_MAC, 6);
  f[12] = 0x08;
  f[14] = 0x45;
  f[16] = ((len - 14) >> 8) & 0xff;
  f[17] = (len - 14) & 0xff;
  f[22] = 64;
  f[23] = 6;
  f.set([10, 0, 0, 1], 26);
  f.set([10, 1, (vm >> 8) & 0xff, vm & 0xff], 30);
  f[34] = ((10000 + flow) >> 8) & 0xff;
  f[35] = (10000 + flow) & 0xff;
  f[36] = 0x13;
  f[37] = 0x89; // 5001
  return f;
}

export function runSriov(cfg: SriovConfig): { result: RunResult; host: SriovHost } {
  if (cfg.workload === 'tx' && cfg.txPath === 'bridge') return runSriovBridge(cfg);
  const env = newHostEnv(cfg.seed, cfg.traceLimit);
  const run = new RunControl(env);
  const fail = (d: Diagnostic): void => run.fail(d);
  const sr = cfg.mode === 'sriov';
  const chosen = sriovModelFor(cfg.nic, cfg.vms, cfg.mode);
  const model = 'model' in chosen ? chosen.model : MODEL_82599;
  const tenants = cfg.tenants ?? Array.from({ length: cfg.vms }, (_, vm) => ({ vm, mac: tenantMac(vm), vlan: undefined, rateMbps: 0 }));
  const frameLen = Math.min(1514, Math.max(60, cfg.size - 4));
  const counters = env.metrics.counters;
  let received = 0;
  let drops = 0;
  const offload = sr && cfg.flows > 0;
  const firstPacketNs: number[] = [];
  let laterSum = 0;
  let slowSum = 0;
  let slow = 0;
  const seenFlows = new Set<string>();
  let later = 0;

  // ── The NIC (and, for SR-IOV, the PF bring-up and the VMs' assignment) ─────────────────────
  let platform: SriovPlatform | undefined;
  let readyAt = 0;
  let veb: Veb;
  if ('error' in chosen) {
    fail({ severity: 'error', code: 'too-many-vms', message: chosen.error, t: 0 });
    veb = new Veb(env, { portGbps: cfg.wireGbps, pcieGBps: model.pcieGBps });
  } else if (sr) {
    const built = buildSriovPlatform(env, { model, portGbps: cfg.wireGbps, tenants, assignVfs: true, iotlbEntries: cfg.iotlbEntries, pfSetup: cfg.pfSetup, pfPolicy: cfg.pfPolicy, fail });
    platform = built?.platform;
    readyAt = built?.readyAt ?? 0;
    veb = platform?.veb ?? new Veb(env, { portGbps: cfg.wireGbps, pcieGBps: model.pcieGBps });
  } else {
    veb = new Veb(env, { portGbps: cfg.wireGbps, pcieGBps: model.pcieGBps });
    if (cfg.mode === 'vmdq') for (const t of tenants) veb.addPool(t.vm).mac = t.mac;
    else veb.pool('pf').promiscuous = true;
  }

  // ── The VMs ────────────────────────────────────────────────────────────────────────────────
  const iommuLane = { slot: env.metrics.resource('VT-d (VF DMA translation)'), freeAt: 0 };
  const guests: (VfGuest | PvGuest)[] = platform
    ? platform.vms.map((vm) => new VfGuest(env, vm, { iommu: platform!.iommu, irt: platform!.irt, kernelMem: platform!.kernelMem, ringSize: cfg.ringSize, itrNs: Math.round(cfg.itrUs * 1000), iommuLane }))
    : tenants.map((t) => new PvGuest(env, t.vm, cfg.ringSize));
  let txDelivered = 0;
  const tx = cfg.workload === 'tx' && sr;
  const done = (): boolean => received + drops + txDelivered >= cfg.packets;
  for (const g of guests) {
    g.trackLatency = offload;
    g.onReceived = (bytes, t, a) => {
      env.metrics.delivered(t, bytes + 4, 'rx');
      received++;
      if (a) {
        const lat = t - a.t;
        env.metrics.latency(t, lat);
        if (a.first) firstPacketNs.push(lat);
        if (a.slow) {
          slowSum += lat;
          slow++;
        }
        else {
          laterSum += lat;
          later++;
        }
      }
      if (done()) run.finish();
    };
  }
  const dropped = (): void => {
    drops++;
    if (done()) run.finish();
  };

  // ── Host data paths of the paravirtual modes ────────────────────────────────────────────────
  const pvSignal = (m: Meter, g: PvGuest, ctx: 'host-kernel' | 'vhost'): void => {
    if (!g.wantsInterrupt) return;
    m.charge(ctx, COSTS.eventfdSignal.ns, 'irqfd', () => `signal VM ${g.index}'s irqfd`);
    g.interrupt(m.t);
  };
  const pvCopy = (m: Meter, g: PvGuest, bytes: number, ctx: 'host-kernel' | 'vhost'): void => {
    m.charge(ctx, copyCost(bytes) + COSTS.vhostGetDesc.ns + COSTS.vhostAddUsed.ns, 'copy', () => `copy ${bytes} B into VM ${g.index}'s RX ring`);
    env.metrics.count(m.t, 'bytesCopied', bytes);
    if (!g.deliver(bytes, m.t)) dropped();
  };
  let ingressPv: ((frame: Uint8Array, t: Ns, vm: number) => void) | undefined;
  if (!sr) {
    const pv = guests as PvGuest[];
    if (cfg.mode === 'vmdq') {
      const queues = pv.map((g) => new BatchWorker<number>(env, `VMDq queue ${g.index} vSwitch thread`, COSTS.hostNicItr.ns, (m) => m.charge('host-kernel', COSTS.hostIrqEntry.ns, 'host-irq', () => `queue ${g.index} MSI-X: NetQueue poll`),
        (m, bytes) => {
          m.charge('host-kernel', COSTS.hostRxPerFrame.ns + COSTS.vswitchQueueLookup.ns, 'vswitch', () => `VMDq queue ${g.index}: frame already sorted by the NIC`);
          pvCopy(m, g, bytes, 'host-kernel');
        }, (m) => pvSignal(m, g, 'host-kernel')));
      ingressPv = (f, t, vm) => queues[vm]!.push(t, f.length);
    } else if (cfg.mode === 'vmdq-off') {
      const touched = new Set<PvGuest>();
      const one = new BatchWorker<{ vm: number; bytes: number }>(env, 'vSwitch thread (all VMs)', COSTS.hostNicItr.ns, (m) => m.charge('host-kernel', COSTS.hostIrqEntry.ns, 'host-irq', 'NIC MSI-X: vSwitch poll'),
        (m, it) => {
          m.charge('host-kernel', COSTS.hostRxPerFrame.ns + COSTS.vswitchSoftSort.ns, 'vswitch', () => `vSwitch: sort a frame for VM ${it.vm} in software`);
          pvCopy(m, pv[it.vm]!, it.bytes, 'host-kernel');
          touched.add(pv[it.vm]!);
        }, (m) => {
          for (const g of touched) pvSignal(m, g, 'host-kernel');
          touched.clear();
        });
      ingressPv = (f, t, vm) => one.push(t, { vm, bytes: f.length });
    } else {
      const workers = pv.map((g) => new BatchWorker<number>(env, `vhost-${g.index}`, COSTS.kthreadWakeLatency.ns, () => {},
        (m, bytes) => {
          m.charge('vhost', COSTS.vhostTunMsg.ns + COSTS.vhostPerDescriptor.ns, 'vhost', () => `vhost-net: tun_recvmsg for VM ${g.index}`);
          pvCopy(m, g, bytes, 'vhost');
        }, (m) => pvSignal(m, g, 'vhost')));
      const softirq = new BatchWorker<{ vm: number; bytes: number }>(env, 'host RX softirq', COSTS.hostNicItr.ns, (m) => m.charge('host-kernel', COSTS.hostIrqEntry.ns, 'host-irq', 'NIC MSI-X: NAPI'),
        (m, it) => {
          m.charge('host-kernel', COSTS.hostRxPerFrame.ns + COSTS.bridgeForward.ns, 'bridge', () => `bridge → tap of VM ${it.vm}`);
          const w = workers[it.vm]!;
          if (!w.running) m.charge('host-kernel', COSTS.eventfdSignal.ns, 'wake', () => `wake vhost-${it.vm}`);
          w.push(m.t, it.bytes);
        }, () => {});
      ingressPv = (f, t, vm) => softirq.push(t, { vm, bytes: f.length });
    }
  }

  // ── Switch delivery ────────────────────────────────────────────────────────────────────────
  const vmOfMac = new Map(tenants.map((t) => [t.mac, t.vm]));
  veb.deliver = (pool, frame, t) => {
    if (sr) {
      if (typeof pool.id === 'number') (guests[pool.id] as VfGuest).receive(frame, t);
      return;
    }
    const vm = typeof pool.id === 'number' ? pool.id : vmOfMac.get(macString(frame, 0));
    if (vm === undefined || !ingressPv) return dropped();
    ingressPv(frame, t, vm);
  };

  // ── OVS offload: flow table in the switch, slow path on the host ──────────────────────────
  const table = offload ? new FlowTable() : undefined;
  const ovsThread = offload ? new SerialThread(env, 'ovs-vswitchd (slow path)') : undefined;
  let slowPath = 0;
  let fastPath = 0;
  let ovsBusy = 0;
  const upcalled = new Set<string>();
  const offloadIngress = (frame: Uint8Array, t: Ns): void => {
    const rule = table!.lookup(frame, t);
    const k = flowKey(frame);
    const arrival = { t, slow: !rule, first: !seenFlows.has(k) };
    seenFlows.add(k);
    if (rule) {
      fastPath++;
      const end = veb.pcieUp.transfer(frame.length, t + COSTS.nicFlowLookup.ns);
      env.sched.at(end, () => (guests[rule.vf] as VfGuest).receive(frame, end, arrival));
      return;
    }
    slowPath++;
    const up = veb.pcieUp.transfer(frame.length, t);
    ovsThread!.submit(up, (m) => {
      const m0 = m.t;
      const vm = vmOfMac.get(macString(frame, 0));
      const key = k;
      // The first miss of a flow is an upcall to ovs-vswitchd, which installs a megaflow in the
      // kernel datapath and the hardware rule; misses before the rule is active take that megaflow.
      if (!upcalled.has(key)) {
        upcalled.add(key);
        m.charge('host-kernel', COSTS.ovsUpcall.ns, 'ovs-upcall', () => `OVS: upcall for a new flow to VM ${vm}`);
      } else m.charge('host-kernel', COSTS.hostRxPerFrame.ns, 'ovs-datapath', () => `OVS kernel datapath: megaflow hit, rule for VM ${vm} not yet in the NIC`);
      if (vm === undefined) {
        ovsBusy += m.t - m0;
        return dropped();
      }
      if (table!.install(frame, vm, m.t + COSTS.ovsFlowInstall.ns)) m.charge('host-kernel', COSTS.ovsFlowInstall.ns, 'flow-install', () => `tc flower: exact-match rule → VF ${vm}`);
      m.charge('host-kernel', copyCost(frame.length), 'copy', 'OVS: re-inject through the VF representor');
      ovsBusy += m.t - m0;
      const down = veb.pcieDown.transfer(frame.length, m.t);
      const end = veb.pcieUp.transfer(frame.length, down);
      env.sched.at(end, () => (guests[vm] as VfGuest).receive(frame, end, arrival));
    });
  };

  // ── The VF drivers: mailbox RESET, MAC from the PF, then traffic ──────────────────────────
  const templates = new Map<number, Uint8Array>();
  const nFlows = offload ? cfg.flows : cfg.vms;
  const frameFor = (pkt: number): Uint8Array => {
    const flow = pkt % nFlows;
    let f = templates.get(flow);
    if (!f) templates.set(flow, (f = flowFrame(frameLen, tenants[flow % tenants.length]!.vm, flow)));
    return f;
  };
  const fromPeer = new Wire(env, 'wire ←peer', cfg.wireGbps);
  const startTraffic = (t0: Ns): void => {
    env.metrics.beginWindow(t0);
    for (const g of guests) g.startTick(t0, () => run.done);
    if (tx) {
      veb.uplink = (frame, t) => {
        env.metrics.delivered(t, frame.length + 4, 'tx');
        txDelivered++;
        if (done()) run.finish();
      };
      const fifo = new TxFifo(env, veb);
      for (const [i, g] of (guests as VfGuest[]).entries()) {
        const frames = Math.floor(cfg.packets / guests.length) + (i < cfg.packets % guests.length ? 1 : 0);
        const f = flowFrame(frameLen, g.index, g.index);
        const dst = cfg.hairpin ? tenants[(i + 1) % tenants.length]!.mac : undefined;
        f.set(dst ? dst.split(':').map((h) => parseInt(h, 16)) : PEER_MAC, 0);
        tenants[i]!.mac.split(':').forEach((h, k) => (f[6 + k] = parseInt(h, 16)));
        const q = new VfTx(env, g, { veb, fifo, iommu: platform!.iommu, lane: iommuLane, frame: f, frames, ringSize: cfg.ringSize });
        q.onSpoofed = dropped;
        g.tx = q;
        g.start(t0);
      }
      return;
    }
    const gap = Math.max(1, Math.round(((cfg.size + 20) * 8) / cfg.offeredGbps));
    const jitter = env.rng.fork('arrival');
    let next = 0;
    const sendNext = (): void => {
      const frame = frameFor(next++);
      fromPeer.send(frame.length + 4, env.sched.now, (t) => (offload ? offloadIngress(frame, t) : veb.receive(frame, t)));
      if (next < cfg.packets) env.sched.schedule(gap + jitter.int(-Math.floor(gap / 20), Math.floor(gap / 20)), sendNext);
    };
    env.sched.at(t0, sendNext);
  };
  if (platform) {
    const drv = platform.driver;
    let ready = 0;
    for (const t of tenants) {
      env.sched.at(readyAt, () => {
        const vf = platform!.vms[tenants.indexOf(t)]!;
        // ixgbevf's probe: the VF's own header (its Vendor ID reads 0xFFFF by the spec; its class must not).
        const cls = platform!.pf.configRead(vf.rid, PCI_CLASS_REVISION, 4);
        if (cls === 0xffffffff) {
          fail({ severity: 'error', code: 'vf-probe-failed', message: `VF ${t.vm} (${ridString(vf.rid)}) answered its configuration read with all ones ${(env.sched.now / 1e6).toFixed(3)} ms after the bring-up started: it is not there yet (VF Enable + 100 ms) or not enabled`, t: env.sched.now });
          return;
        }
        drv.buffers.get(t.vm)?.set(encodeRequest({ type: 'reset' }));
        drv.vfRequest(t.vm, env.sched.now, (reply, at) => {
          const mac = macString(new Uint8Array(reply.buffer, 4, 6));
          drv.vfAck(t.vm);
          if (!(reply[0]! & IXGBE_VT_MSGTYPE_ACK)) fail({ severity: 'error', code: 'vf-reset-nacked', message: `the PF refused VF ${t.vm}'s RESET`, t: at });
          else if (mac !== t.mac) diagnoseOnce(env, { severity: 'warning', code: 'vf-mac-mismatch', message: `VF ${t.vm} got MAC ${mac} from the PF, tenant ${t.mac}: frames for the tenant will not reach it`, t: at });
          if (++ready === tenants.length) startTraffic(at);
        });
      });
    }
  } else if (!run.done) startTraffic(0);

  const stop = env.sched.run({ until: cfg.untilNs ?? readyAt + ms(2_000), maxEvents: cfg.maxEvents ?? 20_000_000 });
  const final = run.outcome(stop, () => tx ? `${txDelivered} of ${cfg.packets} frames left the port, ${received} hairpinned frames were received (${drops} dropped)` : `the VMs received ${received} of ${cfg.packets} frames (${drops} dropped)`);
  if (offload && table) diagnoseOnce(env, { severity: 'info', code: 'ovs-offload', message: `OVS offload: ${table.stats.installs} rules installed, ${slowPath} frames on the slow path, ${fastPath} straight to the VFs`, t: env.sched.now });
  const metrics = env.metrics.finish({
    engineVersion: ENGINE_VERSION, scenario: cfg.scenario, seed: cfg.seed,
    params: { packets: cfg.packets, size: cfg.size, vms: cfg.vms, mode: cfg.mode, ...(tx ? { workload: 'tx', hairpin: Boolean(cfg.hairpin) } : {}), nic: cfg.nic, wireGbps: cfg.wireGbps, ...(tx ? {} : { offeredGbps: cfg.offeredGbps }), ringSize: cfg.ringSize, itr: cfg.itrUs, iotlbEntries: cfg.iotlbEntries, ...(offload ? { flows: cfg.flows } : {}) },
    events: env.sched.events,
    stop: final,
  });
  void counters;
  const host: SriovHost = {
    env, platform, veb, guests, flowTable: table,
    ovs: offload ? { slowPath, fastPath, firstPacketNs, slowMeanNs: slow ? slowSum / slow : 0, laterMeanNs: later ? laterSum / later : 0, rules: table!.stats.installs, hostNsPerFlow: table!.stats.installs ? ovsBusy / table!.stats.installs : 0 } : undefined,
    pagesTouched: platform ? platform.vms.map((v) => v.mem.pagesTouched) : guests.map(() => 0),
  };
  return { result: { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics }, host };
}

function diagnoseOnce(env: HostEnv, d: Diagnostic): void {
  if (!env.diagnostics.some((x) => x.code === d.code)) env.diagnostics.push(d);
}
