/**
 * Model 1 of DESIGN.md §3: device emulation. One VM with one vCPU and an emulated e1000 whose
 * device model runs in QEMU (user space): guest driver → MMIO → VM exit → KVM → QEMU → tap →
 * bridge → wire → peer, and interrupts back through KVM. Three workloads:
 *   tx  the guest streams `packets` frames of `size` bytes to the peer;
 *   rr  request/response: the guest sends a request, the peer answers after its service time;
 *   rx  the peer streams frames into the guest.
 * The transmit half of the device model is pluggable (the emulated-nic lab swaps in the
 * learner's); everything else is the engine's.
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import { ENGINE_VERSION } from '../version.ts';
import { newHostEnv, peerServiceNs, RunControl } from './run-common.ts';
import { ms, type Ns } from '../sim/time.ts';
import type { Diagnostic, RunResult } from '../sim/types.ts';
import { GuestMemory } from '../hw/memory.ts';
import { E1000, QEMU_MAIN_LOOP, type TxModel } from '../hw/e1000/device.ts';
import { QemuE1000Tx } from '../hw/e1000/qemu-tx.ts';
import { Wire } from '../hw/wire.ts';
import { SerialThread, type HostEnv, type Meter } from '../hv/host.ts';
import { Vcpu, VCPU_THREAD } from '../hv/vcpu.ts';
import type { GuestTask } from '../hv/guest-ops.ts';
import { E1000Driver, type DriverLayout, type GuestFrame } from '../guest/e1000-driver.ts';
import { FrameMaker, frameSeq } from '../guest/frames.ts';


export interface EmulationConfig {
  scenario: string;
  seed: number;
  workload: 'tx' | 'rr' | 'rx';
  packets: number;
  /** Frame size as benchmarks quote it, FCS included (64–1518). */
  size: number;
  mitigation: boolean;
  itr: number;
  /** TADV the guest programs; QEMU's mitigation uses min(TADV×4, ITR) for TX causes. */
  tadv: number;
  /** Frames per TDT write (xmit_more batching in the guest stack). */
  burst: number;
  wireGbps: number;
  /** APICv with posted interrupts (no kick exits; level-triggered EOIs exit as EOI_INDUCED). */
  apicv?: boolean;
  /** RX workload: offered load from the peer, Gbit/s. */
  offeredGbps: number;
  ramBytes: number;
  /** Replace the built-in (QEMU-like) transmit path. */
  makeTx?: (host: EmulationHost) => TxModel;
  /** Override the ring layout (the lab varies it by seed). */
  layout?: Partial<DriverLayout>;
  /** Override frame making (the lab makes seeded multi-descriptor frames). */
  makeFrame?: (pkt: number) => GuestFrame;
  /** Hooks for observers (the lab's invariant checks). */
  onFrameToPeer?: (bytes: Uint8Array, t: Ns) => void;
  onGuestFrameSent?: (frame: GuestFrame) => void;
  untilNs?: Ns;
  maxEvents?: number;
  traceLimit?: number;
  /** Extra parameters to echo into metrics.params. */
  extraParams?: Record<string, number | string | boolean>;
}

export interface EmulationHost {
  env: HostEnv;
  mem: GuestMemory;
  dev: E1000;
  driver: E1000Driver;
  vcpu: Vcpu;
  mainLoop: SerialThread;
  /** Hand a frame from the device model to the tap (charges QEMU and the host kernel). */
  transmit: (frame: Uint8Array, m: Meter) => void;
  /** Stop the run with an error diagnostic. */
  fail: (d: Diagnostic) => void;
  readonly done: boolean;
}

const MiB = 1024 * 1024;

export function defaultLayout(): DriverLayout {
  return {
    txBase: 1 * MiB,
    txCount: 256,
    txStart: 0,
    rxBase: 1 * MiB + 64 * 1024,
    rxCount: 256,
    rxBuffers: 4 * MiB,
    rxBufferSize: 2048,
    itr: 195, // Linux e1000 InterruptThrottleRate=3: 20,000 ints/s → 1e9 / (20000 × 256)
    tadv: 32, // Linux e1000 TxAbsIntDelay default
  };
}

export function runEmulation(cfg: EmulationConfig): { result: RunResult; host: EmulationHost } {
  const env = newHostEnv(cfg.seed, cfg.traceLimit);
  const run = new RunControl(env);
  const mem = new GuestMemory(cfg.ramBytes);
  const layout: DriverLayout = { ...defaultLayout(), itr: cfg.itr, tadv: cfg.tadv, ...cfg.layout };
  const dev = new E1000(env, mem, { mitigation: cfg.mitigation });
  const driver = new E1000Driver(mem, layout);
  driver.now = () => env.sched.now;
  const mainLoop = new SerialThread(env, QEMU_MAIN_LOOP);
  const hostRx = new SerialThread(env, 'host RX softirq');
  const toPeer = new Wire(env, 'wire →peer', cfg.wireGbps);
  const fromPeer = new Wire(env, 'wire ←peer', cfg.wireGbps);
  const frameLen = Math.min(1514, Math.max(60, cfg.size - 4));
  const frames = new FrameMaker(env.rng.fork('frames'), 16 * MiB, 4096);
  // The TX loop copies each frame into guest RAM before making the next: a scratch buffer is safe.
  const makeFrame = cfg.makeFrame ?? ((pkt: number) => frames.make(pkt, frameLen, 'scratch'));
  const peerRng = env.rng.fork('peer');

  const host: EmulationHost = {
    env, mem, dev, driver, mainLoop,
    vcpu: undefined as unknown as Vcpu,
    transmit: () => {},
    fail: run.fail,
    get done() {
      return run.done;
    },
  };
  const finish = run.finish;

  // ── Peer: sink (tx), responder (rr), source (rx) ─────────────────────────────────────────
  let deliveredTx = 0;
  /** Frames the host's queue toward the wire dropped (txqueuelen full): they never arrive. */
  let wireDrops = 0;
  const txSettled = (): boolean => deliveredTx + wireDrops >= cfg.packets;
  const peerReceive = (bytes: Uint8Array | undefined, len: number, pkt: number | undefined, t: Ns): void => {
    env.trace.emit(t, 0, 'peer', 'peer-rx', () => `peer received ${len + 4} B`, pkt);
    if (bytes) cfg.onFrameToPeer?.(bytes, t);
    if (cfg.workload === 'tx') {
      env.metrics.delivered(t, len + 4, 'tx');
      deliveredTx++;
      if (txSettled() && driver.reclaimed >= cfg.packets) finish();
    } else if (cfg.workload === 'rr') {
      const reply = frames.make(pkt ?? 0, frameLen, 'pattern').bytes;
      // Service time with ±20 % seeded jitter, so latency has a distribution.
      env.sched.schedule(peerServiceNs(peerRng), () => sendToHost(reply, env.sched.now));
    }
  };

  host.transmit = (frame: Uint8Array, m: Meter): void => {
    const pkt = frameSeq(frame);
    m.charge('qemu', COSTS.qemuTxPerFrame.ns, 'qemu-tx', () => `qemu_send_packet ${frame.length} B`, pkt);
    m.charge('host-kernel', COSTS.tapWriteSyscall.ns + copyCost(frame.length), 'tap-write', () => `tap write() ${frame.length} B`, pkt);
    m.charge('host-kernel', COSTS.bridgeForward.ns, 'bridge', 'bridge → NIC driver', pkt);
    env.metrics.count(m.t, 'bytesCopied', frame.length);
    // `frame` may be a view the device reuses: copy it only when an observer keeps the bytes.
    const kept = cfg.onFrameToPeer ? frame.slice() : undefined;
    const len = frame.length;
    if (!toPeer.send(len + 4, m.t, (t) => peerReceive(kept, len, pkt, t), pkt)) {
      wireDrops++;
      if (txSettled() && driver.reclaimed >= cfg.packets) env.sched.at(m.t, finish);
    }
  };

  // Host RX path: NIC → bridge → tap (softirq), then QEMU's main loop reads the tap.
  const sendToHost = (bytes: Uint8Array, at: Ns): void => {
    const pkt = frameSeq(bytes);
    fromPeer.send(bytes.length + 4, at, (t) => {
      hostRx.submit(t, (m) => {
        m.charge('host-kernel', COSTS.hostRxPerFrame.ns, 'host-rx', 'NIC RX → bridge → tap', pkt);
        mainLoop.submit(m.t, (mm) => {
          mm.charge('qemu', COSTS.qemuRxWakeup.ns, 'qemu-wakeup', 'main loop wakes: tap readable', pkt);
          mm.charge('host-kernel', COSTS.tapReadSyscall.ns + copyCost(bytes.length), 'tap-read', () => `tap read() ${bytes.length} B`, pkt);
          env.metrics.count(mm.t, 'bytesCopied', bytes.length);
          dev.receive(bytes, pkt ?? 0, mm);
        });
      });
    }, pkt);
  };

  dev.tx = cfg.makeTx ? cfg.makeTx(host) : new QemuE1000Tx(dev, (f, m) => host.transmit(f, m));
  dev.runOnMainLoop = (at, job) => mainLoop.submit(at, job);

  // ── Guest program ───────────────────────────────────────────────────────────────────────
  let responseArrived = false;
  let rxDelivered = 0;
  driver.onRxFrame = (bytes, t) => {
    if (cfg.workload === 'rr') responseArrived = true;
    else if (cfg.workload === 'rx') {
      env.metrics.delivered(t, bytes.length + 4, 'rx');
      rxDelivered++;
      if (rxDelivered + env.metrics.counters.drops >= cfg.packets) finish();
    }
  };

  function* main(): GuestTask {
    yield* driver.init();
    env.metrics.beginWindow(env.sched.now);
    if (cfg.workload === 'tx') {
      let unsignalled = 0;
      for (let pkt = 0; pkt < cfg.packets; pkt++) {
        const frame = makeFrame(pkt);
        cfg.onGuestFrameSent?.(frame);
        while (driver.txFree() < frame.fragments.length) {
          if (unsignalled > 0) {
            // Flush deferred descriptors first, then look again: the interrupt taken at this
            // doorbell's VM entry may already have freed the ring (Linux re-checks after
            // netif_stop_queue for the same race).
            yield* driver.doorbell();
            unsignalled = 0;
            continue;
          }
          driver.stoppedQueue = true;
          yield { op: 'halt', reason: 'TX ring full: queue stopped' };
        }
        driver.stoppedQueue = false;
        unsignalled++;
        const ring = unsignalled >= cfg.burst || pkt === cfg.packets - 1;
        yield* driver.xmit(frame, ring);
        if (ring) unsignalled = 0;
      }
      while (driver.reclaimed < cfg.packets) yield { op: 'halt', reason: 'waiting for TX completions' };
      if (txSettled()) finish();
      return;
    }
    if (cfg.workload === 'rr') {
      for (let pkt = 0; pkt < cfg.packets; pkt++) {
        yield { op: 'compute', ns: COSTS.guestAppPerMessage.ns, kind: 'guest-app', label: `app: request ${pkt}`, pkt };
        const t0 = env.sched.now;
        responseArrived = false;
        while (driver.txFree() < 1) yield { op: 'halt', reason: 'TX ring full' };
        yield* driver.xmit(makeFrame(pkt), true);
        while (!responseArrived) yield { op: 'halt', reason: 'waiting for the response' };
        env.metrics.latency(env.sched.now, env.sched.now - t0);
        env.metrics.count(env.sched.now, 'transactions');
        env.metrics.touch(env.sched.now);
      }
      finish();
      return;
    }
    // rx: the peer streams; the guest idles between interrupts.
    // The peer makes each frame when it sends it, so memory stays bounded however long the run.
    const gap = Math.max(1, Math.round(((cfg.size + 20) * 8) / cfg.offeredGbps));
    let next = 0;
    const sendNext = (): void => {
      const pkt = next++;
      sendToHost(frames.make(pkt, frameLen, 'pattern').bytes, env.sched.now);
      if (next < cfg.packets) env.sched.schedule(gap, sendNext);
    };
    env.sched.schedule(0, sendNext);
    for (;;) yield { op: 'halt', reason: 'idle' };
  }

  const vcpu = new Vcpu(env, { main, interrupt: () => driver.interrupt() }, dev);
  vcpu.fatal = (message) => host.fail({ severity: 'error', code: 'engine-error', message, t: env.sched.now });
  vcpu.apicv = cfg.apicv ?? false;
  host.vcpu = vcpu;
  dev.onLine = (level, at) => vcpu.setLine(level, at);

  vcpu.start(0);
  const stop = env.sched.run({ until: cfg.untilNs ?? ms(2_000), maxEvents: cfg.maxEvents ?? 20_000_000 });
  const final = run.outcome(stop, () => stallWhat(cfg, host, deliveredTx, rxDelivered));
  vcpu.stop();
  const metrics = env.metrics.finish({
    engineVersion: ENGINE_VERSION,
    scenario: cfg.scenario,
    seed: cfg.seed,
    params: {
      packets: cfg.packets, size: cfg.size, mitigation: cfg.mitigation, itr: cfg.itr, tadv: cfg.tadv,
      burst: cfg.burst, wireGbps: cfg.wireGbps, apicv: cfg.apicv ?? false, ...(cfg.workload === 'rx' ? { offeredGbps: cfg.offeredGbps } : {}),
      ...cfg.extraParams,
    },
    events: env.sched.events,
    stop: final,
  });
  return { result: { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics }, host };
}

/** What the workload had achieved when the run stalled (for the guest-stalled diagnostic). */
function stallWhat(cfg: EmulationConfig, host: EmulationHost, deliveredTx: number, rxDelivered: number): string {
  const d = host.driver;
  const outstanding = (d.nextToUse - d.nextToClean + d.layout.txCount) % d.layout.txCount;
  let what: string;
  if (cfg.workload === 'tx') {
    what = `the guest queued ${d.framesQueued} of its ${cfg.packets} frames; ${d.reclaimed} were reclaimed and ${deliveredTx} reached the peer`;
    if (outstanding > 0) what += `; ${outstanding} TX descriptors are still outstanding${d.stoppedQueue ? ' (TX ring full, queue stopped)' : ''}, waiting for an interrupt that never came`;
  } else if (cfg.workload === 'rr') {
    what = `${host.env.metrics.counters.transactions} of ${cfg.packets} transactions completed`;
  } else {
    what = `the guest received ${rxDelivered} of ${cfg.packets} frames`;
  }
  return what;
}
