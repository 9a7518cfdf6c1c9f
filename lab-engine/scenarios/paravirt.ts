/**
 * Model 2 of DESIGN.md §3: paravirtualization. One VM with `queues` vCPUs and a virtio-net
 * device (virtio-pci modern, split rings) whose data plane runs in one of the backends of
 * hv/virtio-backends.ts or hv/vhost-user.ts, then the host network, a 10 GbE wire and a peer.
 * Workloads as in emulation.ts: tx (the guest streams), rr (request/response), rx (the peer
 * streams in). Queue pair p is served by vCPU p; frames are spread over pairs round-robin.
 * Simplification: no TSO/GSO (every frame is one buffer), so bulk figures are per-frame costs.
 */
import { COSTS } from '../sim/costs.ts';
import { ENGINE_VERSION } from '../version.ts';
import { newHostEnv, peerServiceNs, RunControl } from './run-common.ts';
import { ms, type Ns } from '../sim/time.ts';
import type { Context, Diagnostic, RunResult } from '../sim/types.ts';
import { GuestMemory } from '../hw/memory.ts';
import { Wire } from '../hw/wire.ts';
import * as S from '../hw/virtio/spec.ts';
import { VirtioNetDevice } from '../hw/virtio/net-device.ts';
import { SerialThread, type HostEnv, type Meter } from '../hv/host.ts';
import { Vcpu, VCPU_THREAD } from '../hv/vcpu.ts';
import type { GuestTask } from '../hv/guest-ops.ts';
import { ThreadBackend, type BackendKind, type DataPlane, type Gso } from '../hv/virtio-backends.ts';
import { PollBackend, BUSY_POLL, type PollPolicy } from '../hv/vhost-user.ts';
import { TSO_HDR_LEN, VirtioNetDriver, type VirtioPair } from '../guest/virtio-net-driver.ts';
import { FrameMaker, GUEST_MAC, frameSeq } from '../guest/frames.ts';
import type { GuestFrame } from '../guest/e1000-driver.ts';

export interface ParavirtConfig {
  scenario: string;
  seed: number;
  workload: 'tx' | 'rr' | 'rx';
  backend: BackendKind;
  packets: number;
  size: number;
  eventIdx: boolean;
  ioeventfd: boolean;
  indirect: boolean;
  /** DPDK virtio PMD in the guest (polling, no interrupts). */
  guestPmd: boolean;
  queues: number;
  queueSize: number;
  wireGbps: number;
  apicv: boolean;
  /** Frames per kick (xmit_more batching). */
  burst: number;
  /** RX workload offered load, Gbit/s; 'bursty' adds seeded on/off bursts (vhost-poll lab). */
  offeredGbps: number;
  arrival?: 'steady' | 'bursty';
  /**
   * TX workload in bursts: after every `frames` frames the guest application idles for
   * `gapNs(i)` (the vCPU halts until a guest timer), so backends see on/off traffic.
   */
  txBursts?: { frames: number; gapNs: (burstIndex: number) => Ns };
  /** Record each TX frame's latency (guest xmit → peer) in metrics.latency. */
  txLatency?: boolean;
  /**
   * TCP segmentation offload on TX (VIRTIO_NET_F_CSUM + HOST_TSO4): the guest hands over up to
   * 64 KiB super-frames, the host NIC cuts them into `size`-byte frames on the wire. `packets`
   * still counts wire frames. The RX path has no GRO/LRO.
   */
  tso?: boolean;
  startIdx?: number;
  ramBytes: number;
  /** Replace the backend's data plane (virtio-backend lab) or the poll policy (vhost-poll lab). */
  plane?: DataPlane;
  policy?: PollPolicy;
  makeFrame?: (pkt: number) => GuestFrame;
  onFrameToPeer?: (bytes: Uint8Array, t: Ns) => void;
  onGuestFrameSent?: (frame: GuestFrame) => void;
  onGuestFrameReceived?: (bytes: Uint8Array, t: Ns) => void;
  /** A TX chain was added to the avail ring (before any kick): observers and fault injection. */
  onTxAdded?: (pair: VirtioPair, frame: GuestFrame, head: number, availIdx: number, indirect: boolean) => void;
  /** The peer sends these bytes for RX frame `pkt` (default: a pattern frame). */
  makeRxFrame?: (pkt: number) => Uint8Array;
  /** Called once the host is built, before it runs (lab adapters that must stop the run). */
  onStart?: (host: ParavirtHost) => void;
  untilNs?: Ns;
  maxEvents?: number;
  traceLimit?: number;
  extraParams?: Record<string, number | string | boolean>;
}

export interface ParavirtHost {
  env: HostEnv;
  mem: GuestMemory;
  dev: VirtioNetDevice;
  driver: VirtioNetDriver;
  vcpus: Vcpu[];
  backend: ThreadBackend | PollBackend;
  fail: (d: Diagnostic) => void;
  readonly done: boolean;
}

const MiB = 1024 * 1024;

export function paravirtDefaults(): Omit<ParavirtConfig, 'scenario' | 'seed' | 'workload' | 'packets' | 'size'> {
  return {
    backend: 'vhost-net', eventIdx: true, ioeventfd: true, indirect: true, guestPmd: false, queues: 1, queueSize: 256,
    wireGbps: 10, apicv: false, burst: 1, offeredGbps: 1, ramBytes: 1024 * MiB,
  };
}

export function runParavirt(cfg: ParavirtConfig): { result: RunResult; host: ParavirtHost } {
  const env = newHostEnv(cfg.seed, cfg.traceLimit);
  const run = new RunControl(env);
  const mem = new GuestMemory(cfg.ramBytes);
  const pairsWanted = Math.max(1, cfg.queues);
  const pollBackend = cfg.backend === 'vhost-user';
  const ioeventfd = cfg.ioeventfd || cfg.backend !== 'qemu'; // vhost and vhost-user need the kick eventfd
  const offered = S.features(
    S.VIRTIO_F_VERSION_1, S.VIRTIO_NET_F_MAC, S.VIRTIO_NET_F_STATUS, S.VIRTIO_NET_F_MTU,
    ...(cfg.tso ? [S.VIRTIO_NET_F_CSUM, S.VIRTIO_NET_F_HOST_TSO4] : []),
    ...(cfg.eventIdx ? [S.VIRTIO_F_EVENT_IDX] : []), ...(cfg.indirect ? [S.VIRTIO_F_INDIRECT_DESC] : []),
    ...(pairsWanted > 1 ? [S.VIRTIO_NET_F_MQ] : []),
  );
  const dev = new VirtioNetDevice(env, mem, { mac: GUEST_MAC, maxPairs: pairsWanted, queueMaxSize: Math.max(cfg.queueSize, 256), offered, ioeventfd });
  const driver = new VirtioNetDriver(mem, {
    pairs: pairsWanted, queueSize: cfg.queueSize, indirect: cfg.indirect, pmd: cfg.guestPmd,
    wanted: S.features(S.VIRTIO_F_VERSION_1, S.VIRTIO_NET_F_MAC, S.VIRTIO_NET_F_STATUS, S.VIRTIO_NET_F_MTU, S.VIRTIO_F_EVENT_IDX, S.VIRTIO_F_INDIRECT_DESC, S.VIRTIO_NET_F_MQ, S.VIRTIO_NET_F_CSUM, S.VIRTIO_NET_F_HOST_TSO4),
    ringBase: 1 * MiB, rxBufferBase: 16 * MiB, startIdx: cfg.startIdx ?? 0, gsoBase: 128 * MiB,
  });
  driver.now = () => env.sched.now;
  const toPeer = new Wire(env, 'wire →peer', cfg.wireGbps);
  const fromPeer = new Wire(env, 'wire ←peer', cfg.wireGbps);
  const hostRx = new SerialThread(env, 'host RX softirq');
  const frameLen = Math.min(1514, Math.max(60, cfg.size - 4));
  const frames = new FrameMaker(env.rng.fork('frames'), 64 * MiB, 8192);
  const makeFrame = cfg.makeFrame ?? ((pkt: number) => frames.make(pkt, frameLen, 'scratch'));
  const peerRng = env.rng.fork('peer');

  const host: ParavirtHost = {
    env, mem, dev, driver, vcpus: [],
    backend: undefined as unknown as ThreadBackend,
    fail: run.fail,
    get done() {
      return run.done;
    },
  };
  const finish = run.finish;

  // ── Peer ────────────────────────────────────────────────────────────────────────────────
  let deliveredTx = 0;
  let wireDrops = 0;
  const sentAt = new Map<number, Ns>();
  const reclaimedAll = (): number => driver.pairs.reduce((s, p) => s + p.reclaimed, 0);
  const txSettled = (): boolean => deliveredTx + wireDrops >= cfg.packets;
  // With TSO the guest sends super-frames of up to `perSuper` segments of `mss` payload bytes.
  const tso = Boolean(cfg.tso) && cfg.workload === 'tx';
  const mss = frameLen - TSO_HDR_LEN;
  const perSuper = Math.max(1, Math.floor(64_000 / mss));
  const txBuffers = tso ? Math.ceil(cfg.packets / perSuper) : cfg.packets;
  const txDone = (): boolean => txSettled() && reclaimedAll() >= txBuffers;
  const peerReceive = (bytes: Uint8Array | undefined, len: number, pkt: number | undefined, t: Ns): void => {
    env.trace.emit(t, 0, 'peer', 'peer-rx', () => `peer received ${len + 4} B`, pkt);
    if (bytes) cfg.onFrameToPeer?.(bytes, t);
    if (cfg.workload === 'tx') {
      if (cfg.txLatency && pkt !== undefined) {
        const t0 = sentAt.get(pkt);
        if (t0 !== undefined) {
          env.metrics.latency(t, t - t0);
          sentAt.delete(pkt);
        }
      }
      env.metrics.delivered(t, len + 4, 'tx');
      deliveredTx++;
      if (txDone()) finish();
    } else if (cfg.workload === 'rr') {
      const reply = frames.make(pkt ?? 0, frameLen, 'pattern').bytes;
      env.sched.schedule(peerServiceNs(peerRng), () => sendToHost(reply, env.sched.now, 0));
    }
  };

  const hostTransmit = (frame: Uint8Array, m: Meter, ctx: Context, gso?: Gso): void => {
    const pkt = frameSeq(frame);
    if (ctx !== 'poll') m.charge('host-kernel', COSTS.bridgeForward.ns, 'bridge', gso ? 'bridge → NIC driver (one GSO skb)' : 'bridge → NIC driver', pkt);
    const toWire = (len: number, kept: Uint8Array | undefined): void => {
      if (!toPeer.send(len + 4, m.t, (t) => peerReceive(kept, len, pkt, t), pkt)) {
        wireDrops++;
        if (txDone()) env.sched.at(m.t, finish);
      }
    };
    if (gso && frame.length > gso.hdrLen + gso.size) {
      // The NIC's TSO engine cuts the super-frame: every segment carries the headers again.
      for (let off = gso.hdrLen; off < frame.length; off += gso.size) toWire(gso.hdrLen + Math.min(gso.size, frame.length - off), undefined);
      return;
    }
    toWire(frame.length, cfg.onFrameToPeer ? frame.slice() : undefined);
  };

  const sendToHost = (bytes: Uint8Array, at: Ns, pair: number): void => {
    const pkt = frameSeq(bytes);
    fromPeer.send(bytes.length + 4, at, (t) => {
      if (pollBackend) {
        (host.backend as PollBackend).deliver(pair, [bytes], t);
        return;
      }
      hostRx.submit(t, (m) => {
        m.charge('host-kernel', COSTS.hostRxPerFrame.ns, 'host-rx', 'NIC RX → bridge → tap', pkt);
        (host.backend as ThreadBackend).deliver(pair, [bytes], m.t);
      });
    }, pkt);
  };

  const txBlockedUntil = (at: Ns): Ns => toPeer.blockedUntil(at);
  const policyError = (message: string, t: Ns): void => host.fail({ severity: 'error', code: 'learner-threw', message, t });
  host.backend = pollBackend
    ? new PollBackend(env, { pairs: pairsWanted, policy: cfg.policy ?? BUSY_POLL, plane: cfg.plane, hostTransmit: (f, m, gso) => hostTransmit(f, m, 'poll', gso), onPolicyError: policyError, txBlockedUntil })
    : new ThreadBackend(env, { kind: cfg.backend as Exclude<BackendKind, 'vhost-user'>, pairs: pairsWanted, plane: cfg.plane, hostTransmit, txBlockedUntil });
  dev.backend = host.backend;
  if (cfg.backend === 'xen-netback') dev.notifyExit = 'VMCALL';
  dev.onNeedsReset = run.stopWithError;

  // ── Guest ───────────────────────────────────────────────────────────────────────────────
  let responseArrived = false;
  let rxDelivered = 0;
  let ready = false;
  const waiting: Vcpu[] = [];
  const deliverRx = (bytes: Uint8Array, t: Ns): void => {
    cfg.onGuestFrameReceived?.(bytes, t);
    if (cfg.workload === 'rr') responseArrived = true;
    else if (cfg.workload === 'rx') {
      env.metrics.delivered(t, bytes.length + 4, 'rx');
      rxDelivered++;
      if (rxDelivered + env.metrics.counters.drops >= cfg.packets) finish();
    }
  };
  const publish = (): void => {
    if (pollBackend) (host.backend as PollBackend).observe(env.sched.now);
  };
  const pmdSpin = (label: string): GuestTask => (function* () {
    yield { op: 'compute', ns: 200, kind: 'guest-pmd-poll', label };
  })();

  function* pairMain(p: number, vcpuIndex: number): GuestTask {
    if (vcpuIndex === 0) {
      yield* driver.init();
      if (driver.failure) {
        host.fail({ severity: 'error', code: 'virtio-init-failed', message: driver.failure, t: env.sched.now });
        return;
      }
      ready = true;
      env.metrics.beginWindow(env.sched.now);
      for (const v of waiting) v.start(env.sched.now);
    }
    const pair = driver.pairs[p];
    if (!pair) return;
    pair.onRxFrame = deliverRx;
    if (cfg.onTxAdded) pair.onTxAdded = (frame, head, availIdx, indirect) => cfg.onTxAdded!(pair, frame, head, availIdx, indirect);
    const pmd = cfg.guestPmd;
    if (cfg.workload === 'tx') {
      const mine: number[] = [];
      for (let pkt = p; pkt < txBuffers; pkt += driver.pairs.length) mine.push(pkt);
      for (let i = 0; i < mine.length; i++) {
        if (cfg.txBursts && i > 0 && i % cfg.txBursts.frames === 0) {
          yield* pair.kick();
          const until = env.sched.now + Math.max(0, Math.round(cfg.txBursts.gapNs(i / cfg.txBursts.frames - 1)));
          while (env.sched.now < until) {
            if (pmd) yield { op: 'compute', ns: Math.min(1_000, until - env.sched.now), kind: 'guest-app', label: 'application idle between bursts' };
            else yield { op: 'halt', reason: 'application idle between bursts', untilNs: until };
          }
        }
        const more = cfg.burst > 1 && (i + 1) % cfg.burst !== 0 && i < mine.length - 1;
        if (tso) {
          const segments = Math.min(perSuper, cfg.packets - mine[i]! * perSuper);
          for (;;) {
            const ok = yield* pair.xmitGso(mine[i]!, segments * mss, mss, more);
            if (ok) break;
            if (pmd) yield* pmdSpin('TX ring full: poll for completions');
            else if (pair.stopQueue()) yield { op: 'halt', reason: 'TX ring full: queue stopped' };
          }
          publish();
          continue;
        }
        const frame = makeFrame(mine[i]!);
        cfg.onGuestFrameSent?.(frame);
        if (cfg.txLatency) sentAt.set(frame.pkt, env.sched.now);
        for (;;) {
          const ok = yield* pair.xmit(frame, more);
          if (ok) break;
          if (pmd) yield* pmdSpin('TX ring full: poll for completions');
          else if (pair.stopQueue()) yield { op: 'halt', reason: 'TX ring full: queue stopped' };
        }
        publish();
      }
      yield* pair.kick();
      while (pair.reclaimed < mine.length) {
        pair.reclaimTx();
        if (pair.reclaimed >= mine.length) break;
        if (pmd) yield* pmdSpin('wait for TX completions');
        else if (pair.stopQueue()) yield { op: 'halt', reason: 'waiting for TX completions' };
      }
      if (txDone()) finish();
      return;
    }
    if (cfg.workload === 'rr') {
      if (p !== 0) return;
      for (let pkt = 0; pkt < cfg.packets; pkt++) {
        yield { op: 'compute', ns: COSTS.guestAppPerMessage.ns, kind: 'guest-app', label: `app: request ${pkt}`, pkt };
        const t0 = env.sched.now;
        responseArrived = false;
        const frame = makeFrame(pkt);
        for (;;) {
          const ok = yield* pair.xmit(frame, false);
          if (ok) break;
          if (pmd) yield* pmdSpin('TX ring full');
          else if (pair.stopQueue()) yield { op: 'halt', reason: 'TX ring full' };
        }
        publish();
        while (!responseArrived) {
          if (pmd) {
            yield* pair.receive(32);
            if (!responseArrived) yield* pmdSpin('poll RX for the response');
          } else yield { op: 'halt', reason: 'waiting for the response' };
        }
        publish();
        env.metrics.latency(env.sched.now, env.sched.now - t0);
        env.metrics.count(env.sched.now, 'transactions');
        env.metrics.touch(env.sched.now);
      }
      finish();
      return;
    }
    // rx: the peer streams (started by pair 0's vCPU); the guest idles between interrupts.
    if (p === 0) startRxSource();
    for (;;) {
      if (pmd) {
        const got = yield* pair.receive(32);
        if (got > 0) publish();
        else yield* pmdSpin('poll RX');
      } else yield { op: 'halt', reason: 'idle' };
    }
  }

  const startRxSource = (): void => {
    const gap = Math.max(1, Math.round(((cfg.size + 20) * 8) / cfg.offeredGbps));
    const burstRng = env.rng.fork('arrival');
    let next = 0;
    const sendNext = (): void => {
      const pkt = next++;
      const bytes = cfg.makeRxFrame ? cfg.makeRxFrame(pkt) : frames.make(pkt, frameLen, 'pattern').bytes;
      sendToHost(bytes, env.sched.now, pkt % driver.pairs.length);
      if (next >= cfg.packets) return;
      // A real sender's gaps jitter a little (±5 %, seeded); bursty traffic adds idle periods.
      let wait = gap + burstRng.int(-Math.floor(gap / 20), Math.floor(gap / 20));
      if (cfg.arrival === 'bursty' && next % 16 === 0) wait = gap + burstRng.int(20_000, 200_000);
      env.sched.schedule(wait, sendNext);
    };
    env.sched.schedule(0, sendNext);
  };

  const vcpus: Vcpu[] = [];
  for (let v = 0; v < pairsWanted; v++) {
    const name = pairsWanted === 1 ? VCPU_THREAD : `vCPU ${v} thread`;
    const vcpu = new Vcpu(env, {
      main: () => pairMain(v, v),
      interrupt: () => driver.pairs[v]?.interrupt() ?? (function* () {})(),
    }, dev, name);
    vcpu.fatal = (message) => host.fail({ severity: 'error', code: 'engine-error', message, t: env.sched.now });
    vcpu.apicv = cfg.apicv;
    vcpus.push(vcpu);
  }
  host.vcpus = vcpus;
  dev.onInterrupt = (vector, at) => {
    const v = vcpus[vector];
    if (v) v.pulse(at);
  };
  cfg.onStart?.(host);
  vcpus[0]!.start(0);
  for (let v = 1; v < vcpus.length; v++) waiting.push(vcpus[v]!);
  void ready;

  const stop = env.sched.run({ until: cfg.untilNs ?? ms(2_000), maxEvents: cfg.maxEvents ?? 20_000_000 });
  if (host.backend instanceof PollBackend) host.backend.finish(env.sched.now);
  // A driver that found the device's used ring inconsistent failed the run, stalled or not.
  if (driver.failure && !env.diagnostics.some((d) => d.severity === 'error')) {
    run.fail({ severity: 'error', code: 'virtio-driver-error', message: driver.failure, t: env.sched.now });
  }
  const final = run.outcome(stop, () => stallWhat(cfg, host, deliveredTx, rxDelivered));
  for (const v of vcpus) v.stop();
  const metrics = env.metrics.finish({
    engineVersion: ENGINE_VERSION,
    scenario: cfg.scenario,
    seed: cfg.seed,
    params: {
      packets: cfg.packets, size: cfg.size, backend: cfg.backend, eventIdx: cfg.eventIdx, ioeventfd, indirect: cfg.indirect,
      guestPmd: cfg.guestPmd, queues: pairsWanted, queueSize: cfg.queueSize, wireGbps: cfg.wireGbps, apicv: cfg.apicv, burst: cfg.burst, tso: Boolean(cfg.tso),
      ...(cfg.workload === 'rx' ? { offeredGbps: cfg.offeredGbps } : {}),
      ...cfg.extraParams,
    },
    events: env.sched.events,
    stop: final,
  });
  return { result: { metrics, trace: env.trace.events, traceHash: env.trace.hash(), diagnostics: env.diagnostics }, host };
}

/** What the workload had achieved when the run stalled (for the guest-stalled diagnostic). */
function stallWhat(cfg: ParavirtConfig, host: ParavirtHost, deliveredTx: number, rxDelivered: number): string {
  const pairs: VirtioPair[] = host.driver.pairs;
  let what: string;
  if (cfg.workload === 'tx') {
    const queued = pairs.reduce((s, p) => s + p.framesQueued, 0);
    const reclaimed = pairs.reduce((s, p) => s + p.reclaimed, 0);
    const inFlight = pairs.reduce((s, p) => s + p.tx.inFlight, 0);
    what = `the guest queued ${queued} of its ${cfg.packets} frames; ${reclaimed} were reclaimed and ${deliveredTx} reached the peer`;
    if (inFlight > 0) what += `; ${inFlight} TX buffers are still outstanding, the driver waiting for an interrupt that never came`;
  } else if (cfg.workload === 'rr') {
    what = `${host.env.metrics.counters.transactions} of ${cfg.packets} transactions completed`;
  } else {
    what = `the guest received ${rxDelivered} of ${cfg.packets} frames`;
  }
  return what;
}
