/**
 * The traffic runs of an iommu-assign seed, on the passthrough scenario (scenarios/passthrough.ts)
 * with the learner's code as the host's HostSetup:
 *   remapped  the peer streams frames into the guest, interrupts remapped (vfio-pci's handler,
 *             eventfd, irqfd, injection: exits);
 *   posted    the guest streams small frames out, interrupts posted to the vCPU;
 *   bare      the posted run's workload on bare metal, no VM: the 100 % of the throughput check.
 * During the VFIO runs the NIC also issues a few rogue DMAs (each must fault; the fault event
 * reaches the learner's onFaults) and two requesters spoof the NIC's MSI. Observers watch every
 * DMA and every frame as the run goes (observe.ts TrafficObserver).
 */
import { ENGINE_VERSION } from '../../version.ts';
import { MetricsRecorder } from '../../sim/metrics.ts';
import { Trace } from '../../sim/trace.ts';
import type { RunResult } from '../../sim/types.ts';
import { FrameMaker } from '../../guest/frames.ts';
import { runPassthrough, passthroughDefaults, TX_SLOTS, type PassthroughHost, type RogueDma } from '../../scenarios/passthrough.ts';
import { LearnerSetup, type LearnerExports } from './adapter.ts';
import { TrafficObserver } from './observe.ts';
import type { SeedConfig } from './seeds.ts';

export type TrafficRun = 'remapped' | 'posted' | 'bare';

export interface TrafficOutcome {
  run: TrafficRun;
  result: RunResult;
  obs: TrafficObserver;
  logs: string[];
  setup?: LearnerSetup;
  txExpected: number;
  rxExpected: number;
  /** Spoofed MSIs the remapping unit delivered (from the run's record of each attempt). */
  spoofDelivered: string[];
}

export function runTraffic(run: TrafficRun, cfg: SeedConfig, exp: LearnerExports | undefined): TrafficOutcome {
  const obs = new TrafficObserver();
  const logs: string[] = [];
  const setup = run === 'bare' || !exp ? undefined : new LearnerSetup(exp, logs, () => {});
  if (setup) setup.phase = run;
  const tx = run !== 'remapped';
  const packets = tx ? cfg.txFrames : cfg.rxFrames;
  const rng = cfg.trafficRng.fork(tx ? 'tx' : 'rx');
  const sizes = rng.fork('sizes');
  // TX: small frames, so the vCPU (not the wire) sets the pace and exits show in throughput.
  const txSize = (): number => (sizes.chance(1, 5) ? sizes.int(257, 1514) : sizes.int(60, 256));
  const rxSize = (): number => sizes.int(60, 1514);
  let maker: FrameMaker | undefined;
  let host: PassthroughHost | undefined;
  const rogueLabels: string[] = [];
  const rogue: RogueDma[] = [];
  if (run !== 'bare') {
    const own = cfg.rogueBatches.flat().filter((r) => r.sourceId === cfg.nic.sourceId);
    cfg.trafficRogueAt.forEach((at, i) => {
      const r = own[(i * 3 + (tx ? 1 : 0)) % own.length]!;
      rogue.push({ atNs: at, iova: r.iova, len: r.len, write: r.write, label: r.label });
    });
    for (const r of rogue) rogueLabels.push(r.label);
  }
  let nextRogue = 0;
  const { result } = runPassthrough({
    ...passthroughDefaults(),
    scenario: `lab:iommu-assign`,
    seed: cfg.seed,
    workload: tx ? 'tx' : 'rx',
    packets,
    size: 1518,
    setup: run === 'bare' ? 'baremetal' : 'vfio',
    irq: run === 'posted' || run === 'bare' ? 'posted' : 'remapped',
    hugepages: true,
    ringSize: cfg.ringSize,
    itr: cfg.itrUs,
    offeredGbps: cfg.offeredGbps,
    guestRam: cfg.regions,
    nic: cfg.nic,
    bufferBase: cfg.bufferBase,
    ...(setup ? { hostSetup: setup } : {}),
    rogue,
    spoofMsi: run === 'bare' ? [] : cfg.spoofers.map((s, i) => ({ atNs: cfg.trafficRogueAt[i + 1]! + 7_000, sourceId: s.sourceId, vector: 0 })),
    onStart: (h) => {
      host = h;
      maker = new FrameMaker(rng.fork('frames'), h.driver.txArea, TX_SLOTS, 30);
    },
    makeFrame: (pkt) => {
      const f = maker!.make(pkt, txSize(), 'random');
      obs.txSent(f.bytes);
      return f;
    },
    makeRxFrame: (pkt) => {
      const bytes = maker!.make(pkt, rxSize(), 'random').bytes;
      obs.rxSent(bytes);
      return bytes;
    },
    onFrameToPeer: (bytes) => obs.atPeer(bytes),
    onGuestFrameReceived: (bytes) => obs.atGuest(bytes),
    onDma: (e) => obs.dma({ ...e, rogue: e.rogue ? (rogueLabels[nextRogue++] ?? 'a rogue DMA') : false }),
    untilNs: 50_000_000,
    maxEvents: 2_000_000,
    extraParams: { lab: 'iommu-assign', run },
  });
  void host;
  // The learner's stop (a throw, a runaway loop) in the learner's words, with its line.
  const stopped = setup?.record.stopped;
  if (stopped) {
    const i = result.diagnostics.findIndex((d) => d.code === 'host-setup-threw');
    const d = { ...stopped, message: `(${run} run) ${stopped.message}`, ...(result.diagnostics[i]?.t !== undefined ? { t: result.diagnostics[i]!.t } : {}) };
    if (i >= 0) result.diagnostics[i] = d;
    else result.diagnostics.push(d);
  }
  const spoofDelivered = result.diagnostics.filter((d) => d.code === 'msi-spoof-delivered').map((d) => d.message);
  return { run, result, obs, logs, ...(setup ? { setup } : {}), txExpected: tx ? packets : 0, rxExpected: tx ? 0 : packets, spoofDelivered };
}

export interface TrafficFigures {
  missesPerPacket?: number;
  misses: number;
  packets: number;
  exitsPerInterrupt?: number;
  exits: number;
  interrupts: number;
  fraction?: number;
  gbps?: number;
  bareGbps?: number;
  params: Record<string, number | string | boolean>;
}

const round = (v: number, d: number): number => Math.round(v * 10 ** d) / 10 ** d;

/**
 * The graded figures: IOTLB misses per packet over both VFIO runs; VM exits per interrupt in the
 * posted run; the posted run's throughput as a fraction of bare metal's on the same frames.
 */
export function trafficFigures(traffic: TrafficOutcome[]): TrafficFigures {
  const by = (r: TrafficRun): TrafficOutcome | undefined => traffic.find((t) => t.run === r);
  const out: TrafficFigures = { misses: 0, packets: 0, exits: 0, interrupts: 0, params: {} };
  // Figures only from runs that finished their workload (a stalled run fails check 2 instead).
  const vfio = traffic.filter((t) => t.run !== 'bare');
  if (vfio.length === 0 || vfio.some((t) => t.result.metrics.stop !== 'done')) return out;
  for (const t of vfio) {
    const c = t.result.metrics.counters;
    out.misses += c.iotlbMisses;
    out.packets += c.packetsTx + c.packetsRx;
  }
  if (out.packets > 0) out.missesPerPacket = out.misses / out.packets;
  const posted = by('posted');
  const bare = by('bare');
  if (posted) {
    const c = posted.result.metrics.counters;
    out.exits = c.exitsTotal;
    out.interrupts = c.interruptsInjected;
    out.exitsPerInterrupt = out.interrupts > 0 ? out.exits / out.interrupts : out.exits > 0 ? Infinity : 0;
    if (bare && bare.result.metrics.stop === 'done') {
      out.gbps = posted.result.metrics.derived.throughputGbps;
      out.bareGbps = bare.result.metrics.derived.throughputGbps;
      out.fraction = out.bareGbps > 0 ? out.gbps / out.bareGbps : 0;
    }
  }
  out.params = {
    gradedIotlbMisses: out.misses,
    gradedPackets: out.packets,
    gradedExits: out.exits,
    gradedInterrupts: out.interrupts,
    ...(out.fraction !== undefined ? { gradedThroughputFraction: round(out.fraction, 4) } : {}),
  };
  return out;
}

/** A run result for a seed without traffic (no window, no trace). */
export function emptyResult(scenario: string, seed: number): RunResult {
  const metrics = new MetricsRecorder().finish({ engineVersion: ENGINE_VERSION, scenario, seed, params: {}, events: 0, stop: 'done' });
  const trace = new Trace(0);
  return { metrics, trace: [], traceHash: trace.hash(), diagnostics: [] };
}

