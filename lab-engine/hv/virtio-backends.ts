/**
 * The back ends of a virtio-net device (CALIBRATION §3.9, DESIGN.md §3 model 2). They share the
 * device model (hw/virtio/net-device.ts) and the data-plane routine (serve TX: pop chains, copy,
 * hand to the host, publish used, maybe interrupt; serve RX: fill a posted chain); they differ in
 * WHERE that routine runs and what each step costs:
 *   qemu       QEMU's main loop (user space): the kick reaches it through an ioeventfd (or a full
 *              exit to user space without one); tap write()/read() and eventfd write() for the
 *              interrupt are system calls.
 *   vhost-net  a kernel worker thread per queue pair ("vhost-$pid"): woken by the ioeventfd, it
 *              talks to the tap socket inside the kernel and signals the irqfd itself.
 *   xen-netback / vmxnet3  the same split-driver shape with their own notification mechanism
 *              (event-channel hypercall; doorbell handled by the hypervisor's backend).
 * vhost-user (a polling core) is in hv/vhost-user.ts. While a backend works it suppresses kicks
 * and re-enables them with a re-check before it sleeps, as vhost's handle_tx does.
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import type { Context } from '../sim/types.ts';
import type { Ns } from '../sim/time.ts';
import * as S from '../hw/virtio/spec.ts';
import type { DeviceQueue, Chain } from '../hw/virtio/split-ring.ts';
import type { VirtioBackend, VirtioNetDevice } from '../hw/virtio/net-device.ts';
import { SerialThread, type HostEnv, type Meter } from './host.ts';

export type BackendKind = 'qemu' | 'vhost-net' | 'vhost-user' | 'xen-netback' | 'vmxnet3';
export const BACKEND_KINDS: readonly BackendKind[] = ['qemu', 'vhost-net', 'vhost-user', 'xen-netback', 'vmxnet3'];

/** What the data plane may do besides touching the rings: the host side of the device. */
export interface PlaneIo {
  readonly m: Meter;
  readonly dev: VirtioNetDevice;
  /**
   * Hand a frame (without the virtio-net header) to the host network (tap / socket / NIC). With
   * `gso`, the frame is a TCP segmentation-offload super-frame that the host NIC cuts into
   * segments of `gso.size` payload bytes, each behind a copy of the first `gso.hdrLen` bytes.
   */
  transmit(frame: Uint8Array, pkt?: number, gso?: Gso): void;
  /** Signal the queue's interrupt (irqfd). */
  interrupt(q: number): void;
  /** The host network cannot take more now (socket buffer, qdisc or NIC ring full): stop popping. */
  blocked?(): boolean;
}

/**
 * The data plane: serve one queue's available buffers. Built-in: BUILTIN_PLANE. The
 * virtio-backend lab replaces it with the learner's. `budget` caps chains per call (vhost's
 * weight); the routine returns true when it stopped early and wants to be called again.
 */
export interface DataPlane {
  serveTx(q: number, queue: DeviceQueue, io: PlaneIo, budget: number): boolean;
  /** Put one received frame into the RX queue; false when no buffer is posted (frame dropped). */
  receive(q: number, queue: DeviceQueue, frame: Uint8Array, io: PlaneIo): boolean;
  /** After a batch of receives: publish/interrupt decisions. */
  flushRx?(q: number, queue: DeviceQueue, io: PlaneIo): void;
}

/** §5.1.6.2: a GSO request from the virtio-net header (gso_type ≠ NONE). */
export interface Gso {
  /** gso_size: payload bytes per segment (the MSS). */
  size: number;
  /** hdr_len: bytes of Ethernet + IP + TCP headers repeated in every segment. */
  hdrLen: number;
}

/** The GSO request in a TX chain's virtio-net header, if any (§5.1.6.2). */
export function gsoOf(dev: VirtioNetDevice, c: Chain): Gso | undefined {
  const s = c.segments[0];
  if (!s || s.write || s.len < S.NET_HDR_SIZE) return undefined;
  const type = dev.mem.read8(s.addr + S.NET_HDR.gsoType) & 0x7f;
  if (type === S.NET_HDR_GSO_NONE) return undefined;
  const size = dev.mem.read16(s.addr + S.NET_HDR.gsoSize);
  const hdrLen = dev.mem.read16(s.addr + S.NET_HDR.hdrLen);
  return size > 0 ? { size, hdrLen } : undefined;
}

/** Per-backend costs of the data-plane steps, and who pays them. */
export interface PlaneCosts {
  ctx: Context;
  pop: Ns;
  perDescriptor: Ns;
  push: Ns;
  /** Handing one frame to the host network, excluding the copy. */
  hostTx: Ns;
  hostTxLabel: string;
  /** Signalling an interrupt. */
  signal: Ns;
  signalLabel: string;
  /** Syscalls per hostTx and per signal (user-space backends). */
  txSyscalls: number;
  signalSyscalls: number;
}

export const PLANE_COSTS: Record<Exclude<BackendKind, 'vhost-user'>, PlaneCosts> = {
  qemu: {
    ctx: 'qemu', pop: COSTS.qemuVirtqueuePop.ns, perDescriptor: COSTS.qemuPerDescriptor.ns, push: COSTS.qemuVirtqueuePush.ns,
    hostTx: COSTS.qemuTxPerFrame.ns + COSTS.tapWriteSyscall.ns, hostTxLabel: 'qemu_sendv_packet → tap writev()',
    signal: COSTS.eventfdWriteSyscall.ns, signalLabel: 'virtio_notify → irqfd write()', txSyscalls: 1, signalSyscalls: 1,
  },
  'vhost-net': {
    ctx: 'vhost', pop: COSTS.vhostGetDesc.ns, perDescriptor: COSTS.vhostPerDescriptor.ns, push: COSTS.vhostAddUsed.ns,
    hostTx: COSTS.vhostTunMsg.ns, hostTxLabel: 'tun_sendmsg (in kernel)',
    signal: COSTS.eventfdSignal.ns, signalLabel: 'vhost_signal → eventfd_signal(irqfd)', txSyscalls: 0, signalSyscalls: 0,
  },
  'xen-netback': {
    ctx: 'host-kernel', pop: COSTS.vhostGetDesc.ns, perDescriptor: COSTS.vhostPerDescriptor.ns, push: COSTS.vhostAddUsed.ns,
    hostTx: COSTS.xenGrantCopyPerPacket.ns, hostTxLabel: 'netback: grant copy from the guest page',
    signal: COSTS.xenEvtchnHypercall.ns, signalLabel: 'notify_remote_via_irq (event channel)', txSyscalls: 0, signalSyscalls: 0,
  },
  vmxnet3: {
    ctx: 'host-kernel', pop: COSTS.vhostGetDesc.ns, perDescriptor: COSTS.vhostPerDescriptor.ns, push: COSTS.vhostAddUsed.ns,
    hostTx: COSTS.vmxnet3Backend.ns, hostTxLabel: 'vmxnet3 backend → virtual switch',
    signal: COSTS.eventfdSignal.ns, signalLabel: 'raise MSI-X', txSyscalls: 0, signalSyscalls: 0,
  },
};

/** The built-in data plane: what QEMU's virtio_net_flush_tx and vhost's handle_tx/handle_rx do. */
export function builtinPlane(costs: PlaneCosts): DataPlane {
  const chainCost = (c: Chain): Ns => costs.pop + costs.perDescriptor * c.descriptors;
  return {
    serveTx(q, queue, io, budget) {
      const { m, dev } = io;
      let served = 0;
      let blocked = false;
      while (served < budget) {
        if (io.blocked?.()) {
          blocked = true;
          break;
        }
        const r = queue.pop();
        if (!r) break;
        if (!r.ok) {
          dev.ringError(q, r.error, m.t);
          return false;
        }
        const c = r.chain;
        dev.env.trace.mixData(c.segments[c.segments.length - 1]?.addr ?? 0);
        m.charge(costs.ctx, chainCost(c), 'vq-pop', () => `pop TX chain head ${c.head} (${c.descriptors} desc)`);
        const frame = gather(dev, c);
        if (!frame) {
          dev.needsReset(`queue ${q} (TX): chain head ${c.head} has ${c.readableBytes} readable bytes, fewer than the 12-byte virtio-net header`, m.t);
          return false;
        }
        io.transmit(frame, undefined, dev.has(S.VIRTIO_NET_F_HOST_TSO4) ? gsoOf(dev, c) : undefined);
        queue.addUsed(c.head, 0);
        m.charge(costs.ctx, costs.push, 'vq-push', () => `used ← head ${c.head}`);
        served++;
      }
      // Decide on the interrupt for what was served, also when the host network stopped us.
      if (served > 0 && queue.shouldInterrupt()) io.interrupt(q);
      return (blocked || served >= budget) && queue.pending() > 0;
    },
    receive(q, queue, frame, io) {
      const { m, dev } = io;
      const r = queue.pop();
      if (!r) return false;
      if (!r.ok) {
        dev.ringError(q, r.error, m.t);
        return false;
      }
      const c = r.chain;
      dev.env.trace.mixData(c.segments[c.segments.length - 1]?.addr ?? 0);
      m.charge(costs.ctx, chainCost(c), 'vq-pop', () => `pop RX chain head ${c.head}`);
      const need = S.NET_HDR_SIZE + frame.length;
      if (c.readableBytes > 0 || c.writableBytes < need) {
        dev.needsReset(`queue ${q} (RX): chain head ${c.head} offers ${c.writableBytes} writable bytes${c.readableBytes ? ` after ${c.readableBytes} readable ones` : ''}; a ${frame.length}-byte frame needs ${need}`, m.t);
        return false;
      }
      const hdr = new Uint8Array(S.NET_HDR_SIZE);
      hdr[S.NET_HDR.numBuffers] = 1; // num_buffers = 1 (le16)
      scatter(dev, c, hdr, frame);
      m.charge(costs.ctx, copyCost(frame.length), 'copy', () => `copy ${frame.length} B into guest buffer`);
      dev.env.metrics.count(m.t, 'bytesCopied', frame.length);
      queue.addUsed(c.head, need);
      m.charge(costs.ctx, costs.push, 'vq-push', () => `used ← head ${c.head} len ${need}`);
      return true;
    },
    flushRx(q, queue, io) {
      if (queue.shouldInterrupt()) io.interrupt(q);
    },
  };
}

/**
 * Where gather() assembles frames: one buffer reused for every frame (a frame is handed on at
 * once; whoever keeps the bytes copies them), so the data path allocates nothing per packet.
 */
const GATHER = new Uint8Array(65_536 + 4_096);

/**
 * The device-readable bytes of a chain after the virtio-net header, or undefined if too short.
 * The result is a view of a shared buffer, valid until the next call: copy it to keep it.
 */
export function gather(dev: VirtioNetDevice, c: Chain): Uint8Array | undefined {
  if (c.readableBytes < S.NET_HDR_SIZE) return undefined;
  const n = c.readableBytes - S.NET_HDR_SIZE;
  const out = n <= GATHER.length ? GATHER.subarray(0, n) : new Uint8Array(n);
  let skip = S.NET_HDR_SIZE;
  let at = 0;
  for (const s of c.segments) {
    if (s.write) break;
    const from = Math.min(skip, s.len);
    skip -= from;
    if (s.len - from > 0) {
      dev.mem.readInto(s.addr + from, s.len - from, out, at);
      at += s.len - from;
    }
  }
  return out;
}

/** Write the header and then the frame across the chain's (writable) buffers. */
function scatter(dev: VirtioNetDevice, c: Chain, hdr: Uint8Array, frame: Uint8Array): void {
  const first = c.segments[0]!;
  if (first.len >= hdr.length + frame.length) {
    // The usual case: one buffer holds both (no concatenation, no allocation).
    dev.mem.write(first.addr, hdr);
    dev.mem.write(first.addr + hdr.length, frame);
    return;
  }
  const all = new Uint8Array(hdr.length + frame.length);
  all.set(hdr, 0);
  all.set(frame, hdr.length);
  let at = 0;
  for (const s of c.segments) {
    if (at >= all.length) break;
    const k = Math.min(s.len, all.length - at);
    dev.mem.write(s.addr, all.subarray(at, at + k));
    at += k;
  }
}

/**
 * Chains served per step of a backend thread. A step's ring effects (used entries, the
 * interrupt decision) happen when it starts while its cost runs on, so steps are kept short:
 * the thread then requeues itself at the step's end (as vhost requeues past its weight).
 */
export const TX_STEP = 8;

export interface ThreadBackendOptions {
  kind: Exclude<BackendKind, 'vhost-user'>;
  pairs: number;
  plane?: DataPlane;
  /** Hand a frame to the host network; called on the backend's thread with its meter. */
  hostTransmit: (frame: Uint8Array, m: Meter, ctx: Context, gso?: Gso) => void;
  /** Backpressure from the host network: until when TX must wait (a full socket buffer/qdisc). */
  txBlockedUntil?: (at: Ns) => Ns;
}

/**
 * A backend whose data plane runs on a thread that sleeps until kicked: QEMU's main loop (one
 * for all queues) or one vhost worker per queue pair.
 */
export class ThreadBackend implements VirtioBackend {
  readonly name: string;
  readonly env: HostEnv;
  readonly opts: ThreadBackendOptions;
  readonly costs: PlaneCosts;
  readonly plane: DataPlane;
  readonly threads: SerialThread[];
  dev: VirtioNetDevice | undefined;
  /** A service job is queued or running for this TX queue. */
  #scheduled = new Set<number>();

  constructor(env: HostEnv, opts: ThreadBackendOptions) {
    this.env = env;
    this.opts = opts;
    this.name = opts.kind;
    this.costs = PLANE_COSTS[opts.kind];
    this.plane = opts.plane ?? builtinPlane(this.costs);
    const names = opts.kind === 'qemu' ? ['QEMU main loop'] : Array.from({ length: opts.pairs }, (_, p) => threadName(opts.kind, p));
    this.threads = names.map((n) => new SerialThread(env, n));
  }

  thread(pair: number): SerialThread {
    return this.threads[Math.min(pair, this.threads.length - 1)]!;
  }

  activate(dev: VirtioNetDevice): void {
    this.dev = dev;
  }

  kick(q: number, m: Meter): void {
    if (q % 2 === 0) {
      this.#rxKick(q, m.t);
      return;
    }
    if (this.#scheduled.has(q)) return;
    this.#scheduled.add(q);
    const wake = this.opts.kind === 'qemu' ? 0 : COSTS.kthreadWakeLatency.ns;
    this.thread(q >> 1).submit(m.t + wake, (tm) => this.#serveTx(q, tm, true));
  }

  #serveTx(q: number, m: Meter, woken: boolean): void {
    const dev = this.dev;
    const queue = dev?.queues[q];
    if (!dev || !queue || !dev.live) {
      this.#scheduled.delete(q);
      return;
    }
    const c = this.costs;
    if (woken) {
      if (this.opts.kind === 'qemu') {
        m.charge('qemu', COSTS.qemuEventLoopWake.ns, 'qemu-wakeup', `main loop: ioeventfd of vq ${q} readable`);
        this.env.metrics.count(m.t, 'syscalls', 2); // ppoll + read(eventfd)
      } else {
        m.charge(c.ctx, COSTS.eventfdSignal.ns, 'backend-wakeup', `${this.name}: worker runs handle_tx`);
      }
    }
    queue.disableKicks();
    const again = (at: Ns): void => this.thread(q >> 1).submit(at, (tm) => this.#serveTx(q, tm, false));
    const blocked = this.opts.txBlockedUntil?.(m.t) ?? m.t;
    if (blocked > m.t) {
      // The socket/qdisc is full: sleep until it drains (vhost waits for the socket's write
      // space), kicks still off. No CPU is used meanwhile.
      again(blocked);
      return;
    }
    const before = queue.lastAvail;
    const more = this.plane.serveTx(q, queue, this.#io(m), TX_STEP);
    if (!dev.live) {
      this.#scheduled.delete(q);
      return;
    }
    if (more) {
      again(m.t);
      return;
    }
    // Drained: ask for kicks again, then re-check (the race window): buffers that arrived
    // meanwhile are served at once instead of waiting for a kick that will not come.
    if (queue.enableKicks() && queue.lastAvail !== before) {
      queue.disableKicks();
      again(m.t);
      return;
    }
    // (A data plane that made no progress on pending chains is not polled again: it would spin.)
    this.#scheduled.delete(q);
  }

  #io(m: Meter): PlaneIo {
    const dev = this.dev!;
    const c = this.costs;
    return {
      m,
      dev,
      transmit: (frame, pkt, gso) => {
        m.charge(c.ctx, c.hostTx + copyCost(frame.length), 'host-tx', () => `${c.hostTxLabel} ${frame.length} B${gso ? ' (GSO)' : ''}`, pkt);
        this.env.metrics.count(m.t, 'bytesCopied', frame.length);
        if (c.txSyscalls) this.env.metrics.count(m.t, 'syscalls', c.txSyscalls);
        this.opts.hostTransmit(frame, m, c.ctx, gso);
      },
      interrupt: (q) => {
        m.charge(c.ctx, c.signal, 'irqfd', c.signalLabel);
        if (c.signalSyscalls) this.env.metrics.count(m.t, 'syscalls', c.signalSyscalls);
        dev.interrupt(q, m.t);
      },
      blocked: () => (this.opts.txBlockedUntil?.(m.t) ?? m.t) > m.t,
    };
  }

  /**
   * Per pair: frames waiting in the tap/socket queue, whether a job to serve them is queued,
   * and whether the backend is waiting for the guest to post RX buffers (an RX kick).
   */
  #rx = new Map<number, { frames: Uint8Array[]; scheduled: boolean; waitingForBuffers: boolean }>();

  #rxState(pair: number) {
    let st = this.#rx.get(pair);
    if (!st) {
      st = { frames: [], scheduled: false, waitingForBuffers: false };
      this.#rx.set(pair, st);
    }
    return st;
  }

  /** Frames from the host network for queue pair `pair` (tap readable / socket data ready) at `at`. */
  deliver(pair: number, frames: Uint8Array[], at: Ns): void {
    this.env.sched.at(at, () => {
      const st = this.#rxState(pair);
      for (const f of frames) {
        // The tap's queue is bounded (txqueuelen 1000): beyond it the host drops.
        if (st.frames.length >= TAP_QUEUE_LEN) this.env.metrics.count(at, 'drops');
        else st.frames.push(f);
      }
      if (!st.scheduled && !st.waitingForBuffers) this.#scheduleRx(pair, at, true);
    });
  }

  #scheduleRx(pair: number, at: Ns, woken: boolean): void {
    const st = this.#rxState(pair);
    st.scheduled = true;
    const wake = woken && this.opts.kind !== 'qemu' ? COSTS.kthreadWakeLatency.ns : 0;
    this.thread(pair).submit(at + wake, (m) => this.#serveRx(pair, m, woken));
  }

  /** The guest posted RX buffers after the backend ran out: resume delivering (qemu_flush_queued_packets / vhost handle_rx). */
  #rxKick(q: number, at: Ns): void {
    const pair = q >> 1;
    const st = this.#rxState(pair);
    if (!st.waitingForBuffers || st.scheduled) return;
    st.waitingForBuffers = false;
    this.#scheduleRx(pair, at, true);
  }

  #serveRx(pair: number, m: Meter, woken: boolean): void {
    const st = this.#rxState(pair);
    st.scheduled = false;
    const dev = this.dev;
    const q = S.rxQueueIndex(pair);
    const queue = dev?.queues[q];
    if (!dev || !queue || !dev.live) return;
    const c = this.costs;
    if (woken) {
      if (this.opts.kind === 'qemu') {
        m.charge('qemu', COSTS.qemuEventLoopWake.ns, 'qemu-wakeup', 'main loop: tap readable');
        this.env.metrics.count(m.t, 'syscalls', 1);
      } else m.charge(c.ctx, COSTS.eventfdSignal.ns, 'backend-wakeup', `${this.name}: handle_rx`);
    }
    const io = this.#io(m);
    let served = 0;
    while (st.frames.length > 0 && served < TX_STEP) {
      const f = st.frames[0]!;
      const before = queue.lastAvail;
      if (!this.plane.receive(q, queue, f, io)) {
        if (!dev.live) return;
        if (queue.lastAvail !== before) {
          // The data plane took a buffer yet refused the frame: it is lost.
          st.frames.shift();
          this.env.metrics.count(m.t, 'drops');
          m.mark(c.ctx, 'drop', 'RX buffer taken but frame not delivered: dropped');
          continue;
        }
        if (queue.pending() > 0) {
          // Buffers are there but the data plane would not take one: drop rather than spin.
          st.frames.shift();
          this.env.metrics.count(m.t, 'drops');
          m.mark(c.ctx, 'drop', 'RX buffer available but not used: frame dropped');
          continue;
        }
        // No buffer posted: the frame stays queued; ask the guest to kick when it refills, and
        // re-check (buffers may have been posted meanwhile).
        if (queue.enableKicks()) {
          queue.disableKicks();
          continue;
        }
        st.waitingForBuffers = true;
        m.mark(c.ctx, 'rx-wait', 'RX ring empty: frames wait in the tap queue for a refill kick');
        break;
      }
      st.frames.shift();
      served++;
      if (this.opts.kind === 'qemu') {
        m.charge('host-kernel', COSTS.tapReadSyscall.ns + copyCost(f.length), 'tap-read', () => `tap read() ${f.length} B`);
        this.env.metrics.count(m.t, 'syscalls', 1);
        this.env.metrics.count(m.t, 'bytesCopied', f.length);
      } else m.charge(c.ctx, c.hostTx, 'host-rx', () => `${this.name}: recvmsg ${f.length} B`);
    }
    if (served > 0) this.plane.flushRx?.(q, queue, io);
    if (!st.waitingForBuffers) queue.disableKicks();
    if (st.frames.length > 0 && !st.waitingForBuffers && dev.live) this.#scheduleRx(pair, m.t, false);
  }
}

/** Frames a tap device queues toward its reader before dropping (Linux tun txqueuelen default). */
export const TAP_QUEUE_LEN = 1000;

export function threadName(kind: BackendKind, pair: number): string {
  if (kind === 'vhost-net') return `vhost worker ${pair}`;
  if (kind === 'xen-netback') return `netback ${pair}`;
  if (kind === 'vmxnet3') return `vmxnet3 backend ${pair}`;
  return 'QEMU main loop';
}
