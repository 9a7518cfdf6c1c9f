/**
 * vhost-user: the virtio data plane in a user-space process on a dedicated core (DPDK's vhost
 * library, OVS-DPDK), CALIBRATION §3.9. Guest memory is shared with the process (the regions
 * arrive as fds in VHOST_USER_SET_MEM_TABLE over a UNIX socket), so the core reads the rings
 * directly. It polls: while it spins, it sets VIRTQ_USED_F_NO_NOTIFY so the guest does not kick
 * (no exits), and it reads frames from the physical NIC with a poll-mode driver too.
 *
 * What the core does when there is nothing to do is a policy (the vhost-poll lab's subject):
 * spin for a while, or re-enable notifications, re-check, and sleep until a kick (the kickfd,
 * an ioeventfd) wakes it — saving the core at the price of latency and exits. The policy owns
 * the notification protocol once the core runs: the backend suppresses kicks when the rings are
 * enabled and never touches them again, so enabling them before sleeping, re-checking, and
 * disabling them again when the core resumes (wake()) are the policy's calls, as they are a
 * DPDK application's (rte_vhost_enable_guest_notification). The backend only models what the
 * kernel does: a kick to a core that is awake leaves the kickfd readable (an eventfd counts),
 * so the core's next sleep returns at once.
 *
 * Modelling note: a spinning core is charged for the whole time it spins, but it does not cost
 * one simulator event per empty poll: it "sees" a ring change at the first poll iteration
 * (COSTS.pmdEmptyPoll apart) after the guest or the NIC published it.
 */
import { COSTS, copyCost } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import * as S from '../hw/virtio/spec.ts';
import type { VirtioBackend, VirtioNetDevice } from '../hw/virtio/net-device.ts';
import { Meter, type HostEnv } from './host.ts';
import type { ResourceSlot } from '../sim/metrics.ts';
import { builtinPlane, type DataPlane, type Gso, type PlaneCosts, type PlaneIo } from './virtio-backends.ts';

/** The control plane QEMU sends before the data plane runs (vhost-user protocol messages). */
export const VHOST_USER_SETUP = [
  'VHOST_USER_GET_FEATURES', 'VHOST_USER_SET_FEATURES', 'VHOST_USER_SET_OWNER', 'VHOST_USER_SET_MEM_TABLE (guest RAM as fds)',
  'VHOST_USER_SET_VRING_NUM', 'VHOST_USER_SET_VRING_ADDR', 'VHOST_USER_SET_VRING_BASE',
  'VHOST_USER_SET_VRING_KICK (kickfd = the ioeventfd)', 'VHOST_USER_SET_VRING_CALL (callfd = the irqfd)', 'VHOST_USER_SET_VRING_ENABLE',
] as const;

export interface PollCtx {
  readonly now: Ns;
  /** How long the core has found nothing to do. */
  readonly idleNs: number;
  /** Chains waiting in the TX queue(s) and frames waiting at the NIC. */
  pendingTx(): number;
  pendingRx(): number;
  /** Ask the guest to kick again (clear NO_NOTIFY / set avail_event); returns pendingTx() afterwards. */
  enableNotifications(): number;
  disableNotifications(): void;
}

/** The core's policy (the learner's code in the vhost-poll lab). */
export interface PollPolicy {
  /** Work is pending: how many chains/frames to take in this burst (1–256). */
  burst(ctx: PollCtx): number;
  /** Nothing pending: spin `ns` more and ask again, or 'sleep' until a kick. */
  idle(ctx: PollCtx): number | 'sleep';
  /** A kick woke the sleeping core (the kickfd was read); it polls again right after. */
  wake?(ctx: PollCtx): void;
  /** Lab adapters: the host the backend runs on (clock, metrics), once, at construction. */
  attach?(env: HostEnv): void;
}

/** DPDK's default: bursts of 32, never sleep. */
export const BUSY_POLL: PollPolicy = {
  burst: () => 32,
  idle: () => Number.POSITIVE_INFINITY,
};

export const POLL_COSTS: PlaneCosts = {
  ctx: 'poll', pop: COSTS.pmdVhostPerPacket.ns, perDescriptor: 0, push: 0,
  hostTx: COSTS.pmdNicPerPacket.ns, hostTxLabel: 'NIC PMD tx_burst',
  signal: COSTS.eventfdWriteSyscall.ns, signalLabel: 'callfd write() (irqfd)', txSyscalls: 0, signalSyscalls: 1,
};

export interface PollBackendOptions {
  pairs: number;
  policy: PollPolicy;
  plane?: DataPlane;
  hostTransmit: (frame: Uint8Array, m: Meter, gso?: Gso) => void;
  /** Backpressure: until when the NIC's TX ring is full (tx_burst would take nothing). */
  txBlockedUntil?: (at: Ns) => Ns;
  /** A policy call threw or misbehaved: stop the run with this message. */
  onPolicyError: (message: string, t: Ns) => void;
}

type CoreState = 'spinning' | 'busy' | 'sleeping';

export class PollBackend implements VirtioBackend {
  readonly name = 'vhost-user';
  readonly env: HostEnv;
  readonly opts: PollBackendOptions;
  readonly plane: DataPlane;
  dev: VirtioNetDevice | undefined;
  #slot: ResourceSlot;
  #spinSlot: ResourceSlot;
  #state: CoreState = 'sleeping';
  #spinSince = 0;
  #idleSince = 0;
  #wakeEvent: ReturnType<HostEnv['sched']['at']> | undefined;
  #rxFrames: { pair: number; frame: Uint8Array }[] = [];
  #kicksEnabled = true;
  /** Between a kick that wakes the sleeping core and its read() of the kickfd. */
  #waking = false;
  /** A kick arrived while the core was awake: the eventfd counter is non-zero. */
  #kickfdReadable = false;
  /** Times the core went to sleep, and times a kick (or a readable kickfd) woke it. */
  sleeps = 0;
  wakeups = 0;
  /** Kicks that reached the core while it was awake with notifications enabled (each a wasted VM exit). */
  awakeKicks = 0;
  firstAwakeKickAt: Ns | undefined;

  constructor(env: HostEnv, opts: PollBackendOptions) {
    this.env = env;
    this.opts = opts;
    this.plane = opts.plane ?? builtinPlane(POLL_COSTS);
    this.#slot = env.metrics.resource('poll-mode core');
    this.#spinSlot = env.metrics.resource('poll-mode core (spinning)', true);
    opts.policy.attach?.(env);
  }

  /** Whether the TX queues currently ask the guest to kick (the last enable/disable). */
  get notificationsEnabled(): boolean {
    return this.#kicksEnabled;
  }

  activate(dev: VirtioNetDevice): void {
    this.dev = dev;
    const m = new Meter(this.env, this.#slot, this.env.sched.now);
    for (const msg of VHOST_USER_SETUP) m.mark('poll', 'vhost-user-msg', msg);
    this.#setKicks(false);
    this.#idleSince = this.env.sched.now;
    this.#startSpin(this.env.sched.now);
  }

  #txQueues() {
    const out: { q: number; queue: NonNullable<VirtioNetDevice['queues'][number]> }[] = [];
    const dev = this.dev;
    if (!dev) return out;
    for (let p = 0; p < this.opts.pairs; p++) {
      const q = S.txQueueIndex(p);
      const queue = dev.queues[q];
      if (queue) out.push({ q, queue });
    }
    return out;
  }

  #pendingTx(): number {
    return this.#txQueues().reduce((s, { queue }) => s + queue.pending(), 0);
  }

  #setKicks(on: boolean): number {
    this.#kicksEnabled = on;
    for (const { queue } of this.#txQueues()) {
      if (on) queue.enableKicks();
      else queue.disableKicks();
    }
    return this.#pendingTx();
  }

  #ctx(now: Ns): PollCtx {
    return {
      now,
      idleNs: now - this.#idleSince,
      pendingTx: () => this.#pendingTx(),
      pendingRx: () => this.#rxFrames.length,
      enableNotifications: () => this.#setKicks(true),
      disableNotifications: () => void this.#setKicks(false),
    };
  }

  /** The guest published buffers on the avail ring, or the NIC received a frame, at time `t`. */
  observe(t: Ns): void {
    if (this.#state !== 'spinning') return;
    // The spinning core notices at its next poll iteration.
    const iter = COSTS.pmdEmptyPoll.ns;
    const seen = this.#spinSince + Math.ceil((t - this.#spinSince) / iter) * iter;
    this.env.sched.cancel(this.#wakeEvent);
    this.#wakeEvent = this.env.sched.at(Math.max(seen, t), () => this.#loop());
  }

  /** A frame from the wire lands in the NIC's RX queue for pair `pair`. */
  deliver(pair: number, frames: Uint8Array[], at: Ns): void {
    this.env.sched.at(at, () => {
      for (const frame of frames) this.#rxFrames.push({ pair, frame });
      if (this.#rxFrames.length > 4096) {
        const dropped = this.#rxFrames.length - 4096;
        this.#rxFrames.splice(0, dropped);
        this.env.metrics.count(at, 'drops', dropped);
      }
      this.observe(at);
    });
  }

  kick(q: number, m: Meter): void {
    if (q % 2 === 0) return;
    if (this.#state !== 'sleeping') {
      // The eventfd counts the kick; the read() of a waking core drains it, otherwise the
      // core's next sleep (epoll_wait) returns at once.
      if (this.#waking) return;
      this.#kickfdReadable = true;
      if (this.#kicksEnabled) {
        this.awakeKicks++;
        this.firstAwakeKickAt ??= m.t;
      }
      return;
    }
    // kickfd readable: the process's thread wakes (read() on the eventfd).
    this.#wake(m.t + COSTS.kthreadWakeLatency.ns);
  }

  #wake(at: Ns): void {
    this.#state = 'busy';
    this.#waking = true;
    this.env.sched.at(at, () => {
      this.#waking = false;
      this.#kickfdReadable = false;
      this.wakeups++;
      const mm = new Meter(this.env, this.#slot, this.env.sched.now);
      mm.charge('poll', COSTS.eventfdWriteSyscall.ns, 'backend-wakeup', 'kickfd readable: read() the eventfd, resume polling');
      this.env.metrics.count(mm.t, 'syscalls');
      const wake = this.opts.policy.wake;
      if (wake) {
        const ok = this.#policy(() => (wake.call(this.opts.policy, this.#ctx(mm.t)), true), mm.t);
        if (!ok) return;
      }
      this.#idleSince = mm.t;
      this.env.sched.at(mm.t, () => this.#loop());
    });
  }

  #startSpin(t: Ns): void {
    this.#state = 'spinning';
    this.#spinSince = t;
  }

  /** Charge the spin that ends now (from #spinSince). */
  #endSpin(m: Meter): void {
    const now = this.env.sched.now;
    if (this.#state === 'spinning' && now > this.#spinSince) {
      new Meter(this.env, this.#spinSlot, this.#spinSince).charge('poll', now - this.#spinSince, 'spin', 'poll: rings empty');
    }
    m.t = now;
  }

  #policy<T>(f: () => T, t: Ns): T | undefined {
    try {
      return f();
    } catch (e) {
      this.opts.onPolicyError(`the poll policy threw: ${(e as Error).message}`, t);
      return undefined;
    }
  }

  /** One pass of the service loop at the current time. */
  #loop(): void {
    this.#wakeEvent = undefined;
    const dev = this.dev;
    if (!dev || !dev.live) return;
    const now = this.env.sched.now;
    const m = new Meter(this.env, this.#slot, now);
    this.#endSpin(m);
    this.#state = 'busy';
    const blockedUntil = this.opts.txBlockedUntil?.(now) ?? now;
    const txBlocked = blockedUntil > now;
    const pending = (txBlocked ? 0 : this.#pendingTx()) + this.#rxFrames.length;
    if (pending === 0 && txBlocked && this.#pendingTx() > 0) {
      // The NIC's TX ring is full: keep polling until it has room again.
      this.#startSpin(now);
      this.#wakeEvent = this.env.sched.at(blockedUntil, () => this.#loop());
      return;
    }
    if (pending === 0) return this.#idle(m);
    const burst = this.#policy(() => this.opts.policy.burst(this.#ctx(now)), now);
    if (burst === undefined) return;
    if (!Number.isInteger(burst) || burst < 1 || burst > 256) {
      this.opts.onPolicyError(`burst() must return an integer from 1 to 256, got ${String(burst)}`, now);
      return;
    }
    m.charge('poll', COSTS.pmdEmptyPoll.ns, 'poll', 'poll: rings have work');
    const io = this.#io(m);
    if (!txBlocked) {
      for (const { q, queue } of this.#txQueues()) {
        this.plane.serveTx(q, queue, io, burst);
        if (!dev.live) return;
      }
    }
    const n = Math.min(burst, this.#rxFrames.length);
    const byPair = new Map<number, Uint8Array[]>();
    for (const { pair, frame } of this.#rxFrames.splice(0, n)) {
      m.charge('poll', COSTS.pmdNicPerPacket.ns, 'nic-rx', () => `NIC PMD rx_burst ${frame.length} B`);
      (byPair.get(pair) ?? byPair.set(pair, []).get(pair)!).push(frame);
    }
    for (const [pair, frames] of byPair) {
      const q = S.rxQueueIndex(pair);
      const queue = dev.queues[q];
      if (!queue) continue;
      for (const f of frames) {
        if (!this.plane.receive(q, queue, f, io)) {
          if (!dev.live) return;
          this.env.metrics.count(m.t, 'drops');
        }
      }
      this.plane.flushRx?.(q, queue, io);
    }
    this.#idleSince = m.t;
    this.env.sched.at(m.t, () => this.#loop());
  }

  #idle(m: Meter): void {
    const now = m.t;
    const decision = this.#policy(() => this.opts.policy.idle(this.#ctx(now)), now);
    if (decision === undefined) return;
    if (decision === 'sleep') {
      // Whatever the policy did about notifications, the core now sleeps: if it did not ask for
      // kicks (or did not re-check after asking), a buffer can wait forever — the lost wake-up.
      this.#state = 'sleeping';
      this.sleeps++;
      m.mark('poll', 'sleep', this.#kicksEnabled ? 'poll core sleeps until a kick' : 'poll core sleeps with kicks still suppressed');
      // A kick counted while the core was awake: epoll_wait returns at once.
      if (this.#kickfdReadable) this.#wake(now);
      return;
    }
    if (typeof decision !== 'number' || !(decision > 0)) {
      this.opts.onPolicyError(`idle() must return a positive number of ns or 'sleep', got ${String(decision)}`, now);
      return;
    }
    this.#startSpin(now);
    if (Number.isFinite(decision)) {
      const until = now + Math.max(COSTS.pmdEmptyPoll.ns, Math.round(decision));
      this.#wakeEvent = this.env.sched.at(until, () => this.#loop());
    }
    // An arrival observed meanwhile re-schedules the loop (observe()).
    if (this.#pendingTx() + this.#rxFrames.length > 0) this.observe(now);
  }

  /** Close the books at the end of the run: a spinning core was busy until now. */
  finish(t: Ns): void {
    if (this.#state !== 'spinning') return;
    const m = new Meter(this.env, this.#spinSlot, this.#spinSince);
    if (t > this.#spinSince) m.charge('poll', t - this.#spinSince, 'spin', 'poll: rings empty');
    this.#spinSince = t;
  }

  #io(m: Meter): PlaneIo {
    const dev = this.dev!;
    return {
      m,
      dev,
      transmit: (frame, pkt, gso) => {
        m.charge('poll', COSTS.pmdNicPerPacket.ns + copyCost(frame.length), 'host-tx', () => `copy to mbuf + NIC tx_burst ${frame.length} B${gso ? ' (TSO)' : ''}`, pkt);
        this.env.metrics.count(m.t, 'bytesCopied', frame.length);
        this.opts.hostTransmit(frame, m, gso);
      },
      interrupt: (q) => {
        m.charge('poll', COSTS.eventfdWriteSyscall.ns, 'irqfd', 'callfd write() (irqfd)');
        this.env.metrics.count(m.t, 'syscalls');
        dev.interrupt(q, m.t);
      },
      blocked: () => (this.opts.txBlockedUntil?.(m.t) ?? m.t) > m.t,
    };
  }
}
