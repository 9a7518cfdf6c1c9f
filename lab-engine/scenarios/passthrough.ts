/**
 * Model 3 of DESIGN.md §3: device passthrough. An Intel 82599-class NIC (hw/ixgbe/) driven by an
 * ixgbe-like driver (guest/ixgbe-driver.ts), on two platforms (./passthrough-host.ts):
 *   setup 'baremetal'  the driver on a host core — the 100 % reference: no VM, no exits;
 *   setup 'vfio'       the NIC assigned to a VM with VFIO (hv/assignment.ts): BAR0 mapped into the
 *                      guest, DMA through VT-d with IOVA = guest-physical address, interrupts through
 *                      interrupt remapping — irq 'remapped' (no APICv: ≈ 2 exits per interrupt),
 *                      'apicv' (the EOI is virtualized: 1), 'posted' (VT-d posting + APICv: 0 while
 *                      the vCPU runs). CALIBRATION §3.9, §6 invariant 3; C5, C6.
 * Workloads: tx (the driver streams frames to the peer), rx (the peer streams at offeredGbps), rr
 * (request/response). dmaApi maps every buffer (C7): through the host's IOMMU on bare metal,
 * through an emulated vIOMMU in a VFIO guest. pmd runs a DPDK-like poll-mode driver instead of
 * NAPI (no interrupts), which lets the NIC's DMA engine, not the CPU, set the pace at high rates.
 * Hooks for the iommu-assign lab and for isolation tests: hostSetup, guestRam, nic, bufferBase,
 * rogue DMAs, spoofed MSIs, a RAM region unplugged mid-run, onDma.
 */
import { COSTS, PCIE_GBPS } from '../sim/costs.ts';
import { ENGINE_VERSION } from '../version.ts';
import { newHostEnv, peerServiceNs, RunControl } from './run-common.ts';
import { ms, type Ns } from '../sim/time.ts';
import type { Diagnostic, RunResult } from '../sim/types.ts';
import { GuestMemory } from '../hw/memory.ts';
import { Wire } from '../hw/wire.ts';
import type { DmaResult, IommuDomain } from '../hw/iommu/dma-remap.ts';
import { iommuPort, type DmaPort } from '../hw/ixgbe/dma.ts';
import { Ixgbe } from '../hw/ixgbe/device.ts';
import { SerialThread, type HostEnv } from '../hv/host.ts';
import { Vcpu, VCPU_THREAD } from '../hv/vcpu.ts';
import type { GuestTask, MmioDevice } from '../hv/guest-ops.ts';
import { NicPciBus } from '../hv/pci-bus.ts';
import { AssignedIrqPath, deliverNative } from '../hv/assigned-irq.ts';
import { assignNic, buildAssignedHost, defaultGuestRam, defaultNic, STANDARD_SETUP, type AssignedHost, type AssignedNic, type GuestRamRegion, type HostSetup } from '../hv/assignment.ts';
import { IxgbeDriver, layoutBytes, type IxgbeLayout } from '../guest/ixgbe-driver.ts';
import { DmaApi, type DmaApiMode } from '../guest/dma-api.ts';
import { FrameMaker, frameSeq } from '../guest/frames.ts';
import type { GuestFrame } from '../guest/e1000-driver.ts';
import { bareMetalPort, FaultEvents, guardSetup, HostSetupError, viommuDevice, viommuSetup } from './passthrough-host.ts';
import { installHooks } from './passthrough-hooks.ts';

export type PassthroughSetup = 'baremetal' | 'vfio';
export type PassthroughIrq = 'remapped' | 'apicv' | 'posted';

export interface RogueDma {
  atNs: number;
  iova: number;
  len: number;
  write: boolean;
  label: string;
}

export interface PassthroughConfig {
  scenario: string;
  seed: number;
  workload: 'tx' | 'rx' | 'rr';
  packets: number;
  size: number;
  setup: PassthroughSetup;
  /** Interrupt delivery in a VFIO guest (ignored on bare metal). */
  irq: PassthroughIrq;
  /** Guest RAM backed by 2 MiB huge pages: STANDARD_SETUP maps it with 2 MiB IOMMU pages. */
  hugepages: boolean;
  iotlbEntries: number;
  dmaApi: DmaApiMode;
  /** Interrupt moderation (EITR) interval, µs. */
  itr: number;
  /** Descriptors per ring (TX and RX). */
  ringSize: number;
  wireGbps: number;
  /** rx: the peer's offered load, Gbit/s. */
  offeredGbps: number;
  /** A DPDK-like poll-mode driver (no interrupts). */
  pmd: boolean;
  /** PCIe link of the NIC; 'auto' = Gen3 x8 up to 40 GbE, Gen4 x16 above. */
  pcie: 'auto' | 'gen3x8' | 'gen4x16';
  /** Where QEMU and the host kernel assign the NIC (default STANDARD_SETUP). */
  hostSetup?: HostSetup;
  /** The guest's RAM layout (default defaultGuestRam(256 MiB, hugepages)). */
  guestRam?: GuestRamRegion[];
  /** The assigned function (default defaultNic(2)). */
  nic?: AssignedNic;
  /** GPA of the driver's rings and buffers (default: the largest region's start, rounded up to 2 MiB). */
  bufferBase?: number;
  /** DMAs a hostile or buggy guest driver makes the NIC issue, with the NIC's own requester id. */
  rogue?: RogueDma[];
  /** MSI writes with another requester id naming the NIC's IRTE of `vector`. */
  spoofMsi?: { atNs: number; sourceId: number; vector: number }[];
  /** QEMU removes guest RAM region `region` (by name) at atNs. */
  unplug?: { region: string; atNs: number };
  /** Every NIC DMA (data path and rogue) with the IOMMU's result. */
  onDma?: (e: { t: number; iova: number; len: number; write: boolean; rogue: boolean; result: DmaResult }) => void;
  /** Called once the host is built, before QEMU assigns the NIC and the guest runs. */
  onStart?: (h: PassthroughHost) => void;
  makeFrame?: (pkt: number) => GuestFrame;
  makeRxFrame?: (pkt: number) => Uint8Array;
  onFrameToPeer?: (bytes: Uint8Array, t: Ns) => void;
  onGuestFrameReceived?: (bytes: Uint8Array, t: Ns) => void;
  untilNs?: Ns;
  maxEvents?: number;
  traceLimit?: number;
  extraParams?: Record<string, number | string | boolean>;
}

export interface PassthroughHost {
  env: HostEnv;
  /** The host side of the assignment (undefined on bare metal). */
  assigned?: AssignedHost;
  guestMem: GuestMemory;
  guestRam: GuestRamRegion[];
  nic: Ixgbe;
  driver: IxgbeDriver;
  vcpu: Vcpu;
  bus: NicPciBus;
  dma: DmaApi;
  /** A host CPU for host work that is not the vCPU's (fault handler, hot-unplug, timers). */
  hostCpu: SerialThread;
  fail: (d: Diagnostic) => void;
  readonly done: boolean;
}

const MiB = 1024 * 1024;
/** The guest's view of the NIC: slot 00:04.0 (QEMU -device vfio-pci,addr=4). */
const GUEST_BUS = 0;
const GUEST_DEVFN = 4 << 3;
/** Default frames area for TX: 8192 slots of 2 KiB (guest/frames.ts), at driver.txArea. */
export const TX_SLOTS = 8192;

export function passthroughDefaults(): Omit<PassthroughConfig, 'scenario' | 'seed' | 'workload' | 'packets' | 'size'> {
  return {
    setup: 'vfio', irq: 'posted', hugepages: false, iotlbEntries: 64, dmaApi: 'none', itr: 20, ringSize: 512,
    wireGbps: 10, offeredGbps: 10, pmd: false, pcie: 'auto',
  };
}

export function runPassthrough(cfg: PassthroughConfig): { result: RunResult; host: PassthroughHost } {
  const env = newHostEnv(cfg.seed, cfg.traceLimit);
  const run = new RunControl(env);
  let failed = false;
  const fail = (d: Diagnostic): void => {
    failed = true;
    run.fail(d);
  };
  const vfio = cfg.setup === 'vfio';
  const guestRam = cfg.guestRam ?? defaultGuestRam(256 * MiB, cfg.hugepages);
  const nicInfo = cfg.nic ?? defaultNic(2);
  const guestMem = new GuestMemory(Math.max(...guestRam.map((r) => r.gpa + r.size)));
  const setup = guardSetup(cfg.hostSetup ?? STANDARD_SETUP);
  const hostCpu = new SerialThread(env, 'host CPU');
  const threw = (e: unknown, t: Ns): boolean => {
    if (!(e instanceof HostSetupError)) return false;
    fail({ severity: 'error', code: 'host-setup-threw', message: e.message, t });
    return true;
  };

  // ── Platform: memory, IOMMU, DMA port ────────────────────────────────────────────────────
  let assigned: AssignedHost | undefined;
  let port: DmaPort;
  let hostDomain: IommuDomain | undefined;
  if (vfio) {
    assigned = buildAssignedHost({ guestMem, guestRam, nic: nicInfo, vcpus: 1, irqMode: cfg.irq === 'posted' ? 'posted' : 'remapped', iotlbEntries: cfg.iotlbEntries });
    // Every NIC DMA: VT-d with the NIC's requester id, IOVA = guest-physical address (VFIO maps IOVA = GPA).
    port = iommuPort(assigned.iommu, assigned.nic.sourceId);
  } else {
    const bm = bareMetalPort(guestMem, guestRam, cfg.dmaApi, cfg.iotlbEntries, nicInfo.bus, nicInfo.devfn);
    port = bm.port;
    hostDomain = bm.iommu?.domain;
  }
  const pcieGBps = cfg.pcie === 'gen4x16' || (cfg.pcie === 'auto' && cfg.wireGbps > 40) ? PCIE_GBPS.gen4x16.gbps : PCIE_GBPS.gen3x8.gbps;
  const nic = new Ixgbe(env, { vectors: nicInfo.vectors, pcieGBps, port });
  const dma = new DmaApi(cfg.dmaApi, vfio ? 'viommu' : 'host', hostDomain, env.metrics);
  dma.now = () => env.sched.now;
  dma.armTimer = (at, job) => env.sched.at(at, () => hostCpu.submit(at, (m) => m.charge('host-kernel', job(), 'iotlb-inv', 'IOMMU flush-queue timer')));

  // ── Driver layout ──────────────────────────────────────────────────────────────────────────
  const largest = [...guestRam].sort((a, b) => b.size - a.size || a.gpa - b.gpa)[0]!;
  const layout: IxgbeLayout = { base: cfg.bufferBase ?? Math.ceil(largest.gpa / (2 * MiB)) * 2 * MiB, txCount: cfg.ringSize, rxCount: cfg.ringSize, rxBufferSize: 2048, itrUs: cfg.itr };
  const need = layoutBytes(layout, TX_SLOTS * 2048);
  const home = guestRam.find((r) => layout.base >= r.gpa && layout.base + need <= r.gpa + r.size);
  const driver = new IxgbeDriver(guestMem, { layout, dma, bus: vfio ? GUEST_BUS : nicInfo.bus, devfn: vfio ? GUEST_DEVFN : nicInfo.devfn, vectors: nicInfo.vectors, apicId: 0, pmd: cfg.pmd });
  driver.now = () => env.sched.now;

  // ── vCPU (or host core), bus, interrupts ──────────────────────────────────────────────────
  const irqPath = assigned ? new AssignedIrqPath(env, assigned, [], hostCpu) : undefined;
  const bus = new NicPciBus(env, nic, {
    mode: vfio ? 'vfio' : 'native', bus: driver.o.bus, devfn: driver.o.devfn,
    programVector: (req, m) => {
      if (!assigned || failed) return null;
      irqPath!.guestVcpuOf[req.vector] = req.vcpu;
      try {
        const msg = setup.programVector(req, assigned);
        if (msg === null || msg === undefined) return null;
        if (typeof msg.address !== 'number' || typeof msg.data !== 'number') {
          fail({ severity: 'error', code: 'host-setup-bad-message', message: `hostSetup.programVector returned ${JSON.stringify(msg)}, not { address, data } or null.`, t: m.t });
          return null;
        }
        return msg;
      } catch (e) {
        if (!threw(e, m.t)) throw e;
        return null;
      }
    },
  });
  const qemuDevice: MmioDevice = assigned && cfg.dmaApi !== 'none' ? viommuDevice(assigned, () => dma, fail) : { name: 'none', mmioRead: () => 0, mmioWrite: () => {} };

  const host: PassthroughHost = {
    env, assigned, guestMem, guestRam, nic, driver, vcpu: undefined as unknown as Vcpu, bus, dma, hostCpu, fail,
    get done() {
      return run.done;
    },
  };

  // ── Wire and peer ──────────────────────────────────────────────────────────────────────────
  const toPeer = new Wire(env, 'wire →peer', cfg.wireGbps);
  const fromPeer = new Wire(env, 'wire ←peer', cfg.wireGbps);
  const frameLen = Math.min(1514, Math.max(60, cfg.size - 4));
  const frames = new FrameMaker(env.rng.fork('frames'), driver.txArea, TX_SLOTS);
  const makeFrame = cfg.makeFrame ?? ((pkt: number) => frames.make(pkt, frameLen, 'scratch'));
  const peerRng = env.rng.fork('peer');
  let deliveredTx = 0;
  let rxDelivered = 0;
  let responseArrived = false;
  const finish = run.finish;
  const counters = env.metrics.counters;
  const txDone = (): boolean => deliveredTx + counters.drops >= cfg.packets && driver.reclaimed >= cfg.packets;

  const sendToNic = (bytes: Uint8Array, at: Ns): void => {
    fromPeer.send(bytes.length + 4, at, (t) => nic.receive(bytes, t), frameSeq(bytes));
  };
  nic.txPort = {
    blockedUntil: (at) => toPeer.blockedUntil(at),
    send: (frame, at) => {
      const len = frame.length;
      const pkt = frameSeq(frame);
      const kept = cfg.onFrameToPeer ? frame.slice() : undefined;
      return toPeer.send(len + 4, at, (t) => {
        env.trace.emit(t, 0, 'peer', 'peer-rx', () => `peer received ${len + 4} B`, pkt);
        if (kept) cfg.onFrameToPeer!(kept, t);
        if (cfg.workload === 'tx') {
          env.metrics.delivered(t, len + 4, 'tx');
          deliveredTx++;
          if (txDone()) finish();
        } else if (cfg.workload === 'rr') {
          const reply = cfg.makeRxFrame ? cfg.makeRxFrame(pkt ?? 0) : frames.make(pkt ?? 0, frameLen, 'pattern').bytes;
          env.sched.schedule(peerServiceNs(peerRng), () => sendToNic(reply, env.sched.now));
        }
      }, pkt);
    },
  };
  nic.onDrop = () => {
    if (cfg.workload === 'rx' && rxDelivered + counters.drops >= cfg.packets) finish();
    if (cfg.workload === 'tx' && txDone()) finish();
  };
  driver.onRxFrame = (bytes, t) => {
    cfg.onGuestFrameReceived?.(bytes, t);
    if (cfg.workload === 'rr') responseArrived = true;
    else if (cfg.workload === 'rx') {
      env.metrics.delivered(t, bytes.length + 4, 'rx');
      rxDelivered++;
      if (rxDelivered + counters.drops >= cfg.packets) finish();
    }
  };

  // ── The guest program ──────────────────────────────────────────────────────────────────────
  const idle = (reason: string): GuestTask => (function* () {
    if (cfg.pmd) yield* driver.pollOnce();
    else yield { op: 'halt', reason };
  })();

  function* main(): GuestTask {
    yield* driver.init();
    if (driver.failure) {
      fail({ severity: 'error', code: 'nic-init-failed', message: driver.failure, t: env.sched.now });
      return;
    }
    env.metrics.beginWindow(env.sched.now);
    if (cfg.workload === 'tx') {
      for (let pkt = 0; pkt < cfg.packets; pkt++) {
        const frame = makeFrame(pkt);
        while (driver.txFree() < frame.fragments.length) yield* idle('TX ring full: queue stopped');
        yield* driver.xmit(frame);
      }
      while (driver.reclaimed < cfg.packets) yield* idle('waiting for TX completions');
      if (txDone()) finish();
      return;
    }
    if (cfg.workload === 'rr') {
      for (let pkt = 0; pkt < cfg.packets; pkt++) {
        yield { op: 'compute', ns: COSTS.guestAppPerMessage.ns, kind: 'guest-app', label: `app: request ${pkt}`, pkt };
        const t0 = env.sched.now;
        responseArrived = false;
        while (driver.txFree() < 1) yield* idle('TX ring full');
        yield* driver.xmit(makeFrame(pkt));
        while (!responseArrived) yield* idle('waiting for the response');
        env.metrics.latency(env.sched.now, env.sched.now - t0);
        env.metrics.count(env.sched.now, 'transactions');
        env.metrics.touch(env.sched.now);
      }
      finish();
      return;
    }
    startRxSource();
    for (;;) yield* idle('idle');
  }

  const startRxSource = (): void => {
    const gap = Math.max(1, Math.round(((cfg.size + 20) * 8) / cfg.offeredGbps));
    const jitter = env.rng.fork('arrival');
    let next = 0;
    const sendNext = (): void => {
      const pkt = next++;
      sendToNic(cfg.makeRxFrame ? cfg.makeRxFrame(pkt) : frames.make(pkt, frameLen, 'pattern').bytes, env.sched.now);
      if (next < cfg.packets) env.sched.schedule(gap + jitter.int(-Math.floor(gap / 20), Math.floor(gap / 20)), sendNext);
    };
    env.sched.schedule(0, sendNext);
  };

  const thread = vfio ? VCPU_THREAD : 'CPU core';
  // A poll-mode driver keeps its core 100 % busy by design: report it, never call it the bottleneck.
  if (cfg.pmd) env.metrics.resource(thread, true);
  const vcpu = new Vcpu(env, { main, interrupt: () => driver.interrupt() }, qemuDevice, thread);
  vcpu.fatal = (message) => fail({ severity: 'error', code: 'engine-error', message, t: env.sched.now });
  vcpu.native = !vfio;
  vcpu.apicv = vfio && cfg.irq !== 'remapped';
  vcpu.bus = bus;
  if (vfio) vcpu.exitIndirectNs = COSTS.exitIndirect.ns;
  host.vcpu = vcpu;
  if (irqPath) {
    irqPath.vcpus.push(vcpu);
    if (cfg.irq === 'posted') irqPath.installPosting();
  }
  nic.msix.onMessage = (msg) => {
    const t = env.sched.now + COSTS.pcieWriteLatency.ns;
    if (irqPath && assigned) irqPath.deliver(assigned.nic.sourceId, msg.address, msg.data, t);
    else deliverNative(env, [vcpu], msg.address, msg.data, t);
  };

  // ── Faults, hooks, assignment ──────────────────────────────────────────────────────────────
  const iommu = port.iommu;
  const faults = iommu ? new FaultEvents(env, hostCpu, iommu, assigned ? (f, m) => {
    try {
      setup.onFaults(f, assigned!);
    } catch (e) {
      if (!threw(e, m.t)) throw e;
    }
  } : undefined) : undefined;
  nic.dma.onDma = (e) => {
    cfg.onDma?.({ t: e.t, iova: e.iova, len: e.len, write: e.write, rogue: e.rogue, result: e.outcome.result });
    faults?.check(e.t);
  };
  installHooks(cfg, host, irqPath, setup, threw);

  if (!home) fail({ severity: 'error', code: 'layout-outside-ram', message: `The driver's rings and buffers need ${need} bytes from GPA 0x${layout.base.toString(16)}, which no single guest RAM region holds.`, t: 0 });
  if (!failed) cfg.onStart?.(host);
  if (!failed && assigned) {
    try {
      const a = assignNic(assigned, cfg.dmaApi !== 'none' ? viommuSetup(setup) : setup);
      if (!a.ok) fail({ severity: 'error', code: 'assign-failed', message: `VFIO refused to assign ${assigned.nic.address}: ${a.errno}: ${a.message}`, t: 0 });
    } catch (e) {
      if (!threw(e, 0)) throw e;
    }
  }
  if (!failed) vcpu.start(0);

  const stop = failed ? 'halted' : env.sched.run({ until: cfg.untilNs ?? ms(2_000), maxEvents: cfg.maxEvents ?? 20_000_000 });
  faults?.summary();
  const final = run.outcome(stop, () => stallWhat(cfg, host, deliveredTx, rxDelivered));
  vcpu.stop();
  const metrics = env.metrics.finish({
    engineVersion: ENGINE_VERSION,
    scenario: cfg.scenario,
    seed: cfg.seed,
    params: {
      packets: cfg.packets, size: cfg.size, setup: cfg.setup, irq: cfg.irq, hugepages: cfg.hugepages, iotlbEntries: cfg.iotlbEntries,
      dmaApi: cfg.dmaApi, itr: cfg.itr, ringSize: cfg.ringSize, wireGbps: cfg.wireGbps, pmd: cfg.pmd, pcie: cfg.pcie,
      ...(cfg.workload === 'rx' ? { offeredGbps: cfg.offeredGbps } : {}),
      ...cfg.extraParams,
    },
    events: env.sched.events,
    stop: final,
  });
  return { result: { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics }, host };
}

/** What the workload had achieved when the run stalled (for the guest-stalled diagnostic). */
function stallWhat(cfg: PassthroughConfig, host: PassthroughHost, deliveredTx: number, rxDelivered: number): string {
  const d = host.driver;
  if (cfg.workload === 'tx') return `the driver queued ${d.framesQueued} of its ${cfg.packets} frames; ${d.reclaimed} were reclaimed and ${deliveredTx} reached the peer`;
  if (cfg.workload === 'rr') return `${host.env.metrics.counters.transactions} of ${cfg.packets} transactions completed`;
  return `the driver received ${rxDelivered} of ${cfg.packets} frames`;
}
