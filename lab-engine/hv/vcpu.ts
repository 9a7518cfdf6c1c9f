/**
 * One vCPU thread under KVM, without APICv (the configuration CALIBRATION §3.4 counts):
 * guest code runs natively until it touches the emulated device or the local APIC; then the CPU
 * exits to KVM (root mode), which either handles the exit itself (EOI via APIC_ACCESS, HLT, a
 * kick IPI) or returns to QEMU in user space (KVM_EXIT_MMIO), where the device model runs on this
 * same thread. Interrupts are injected at VM entry; a vCPU running guest code is kicked with an
 * IPI (EXTERNAL_INTERRUPT exit) and a halted one is woken first.
 *
 * With APICv (CALIBRATION §1.1 t_irqfd_inject, t_eoi_exit): an interrupt for a running vCPU is
 * posted (the notification IPI is handled by the CPU without an exit) and delivered at the next
 * instruction boundary; the EOI of a level-triggered interrupt (the e1000's INTx) still exits,
 * as EOI_INDUCED (45), because KVM keeps that vector in the EOI-exit bitmap to re-check the line.
 *
 * Directly driven devices (device assignment, DESIGN.md §3 model 3; CALIBRATION §3.9): 'bar-*'
 * operations reach the device through `bus` with no exit (a posted store, or a load that waits a
 * PCIe round trip) unless QEMU traps the page (the MSI-X table); 'pio-*' (config space through
 * 0xCF8/0xCFC) exits as IO_INSTRUCTION. The assigned device's interrupts arrive as
 *   hostInterrupt   a physical interrupt for this vCPU's pCPU (remapped IRTE, or the posting
 *                   wake-up vector): EXTERNAL_INTERRUPT exit if the guest runs, the host ISR (the
 *                   caller's `isr`, charged here), injection at entry; a halted vCPU is woken;
 *   postedNotification  VT-d posting with the active vector: delivered without an exit;
 *   nativeInterrupt     bare metal (`native`): the same driver on a host core, no exits at all —
 *                   EOI is an x2APIC MSR write, HLT idles and wakes after COSTS.nativeIdleWakeup.
 * `onHalt`/`onWake` let the scenario keep a posted-interrupt descriptor in step (KVM's
 * pi_enable_wakeup_handler / vmx_vcpu_pi_load). With `exitIndirectNs` every exit also costs the
 * guest a cache/TLB refill after it re-enters (ELI's indirect cost; the passthrough model sets it).
 *
 * Simplification (written down as STYLE.md §3.5 asks): guest code is preempted only between
 * operations, so an interrupt waits for the current `compute` slice (≤ ~1 µs) to end. The ISR and
 * the NAPI poll after it run as one non-reentrant task; a second interrupt is injected after it.
 */
import { COSTS } from '../sim/costs.ts';
import { formatNs, type Ns } from '../sim/time.ts';
import type { ExitReason } from '../sim/types.ts';
import { registerName } from '../hw/e1000/regs.ts';
import { Meter, type HostEnv } from './host.ts';
import type { ResourceSlot } from '../sim/metrics.ts';
import type { DirectBus, GuestOp, GuestProgram, GuestTask, MmioDevice } from './guest-ops.ts';
import { directAccess, type DirectAccessCtx } from './direct-access.ts';

export const VCPU_THREAD = 'vCPU thread';

type Mode = 'guest' | 'exit' | 'halted' | 'stopped';

export class Vcpu {
  #stack: GuestTask[] = [];
  #inInterrupt = false;
  #mode: Mode = 'stopped';
  /** Level of the device's interrupt line as KVM's IOAPIC model sees it. */
  #line = false;
  /** An interrupt is waiting to be injected. */
  #pending = false;
  /** An IPI was sent while the guest ran: the next boundary is an EXTERNAL_INTERRUPT exit. */
  #kicked = false;
  #resumeValue = 0;
  /** Identifies the current halt, so a stale guest-timer wake-up is ignored. */
  #haltToken = 0;
  #stepScheduled = false;
  /** True while this thread is executing an operation (device code runs synchronously in it). */
  #executing = false;
  /** Time of the previous rising edge of the line, for the smallest-gap figure. */
  #lastRaiseAt = -1;
  /** APICv / posted interrupts on (set by the scenario). */
  apicv = false;
  /** Bare metal: the guest program runs on a host core; nothing exits. */
  native = false;
  /** The bus a directly driven device sits on ('bar-*' and 'pio-*' operations). */
  bus: DirectBus | undefined;
  /** Cache/TLB refill charged to the guest after each exit (0: not modelled). */
  exitIndirectNs = 0;
  /** The vCPU blocks on HLT: return true to wake it at once (an interrupt was posted meanwhile). */
  onHalt: (() => boolean) | undefined;
  /** The vCPU thread was woken and is about to enter (re-point the PI descriptor, drain it). */
  onWake: (() => void) | undefined;
  /** A posted-interrupt notification is being processed: drain the PIR, true when it held a vector. */
  onPostedDrain: (() => boolean) | undefined;
  /** Host interrupts for this pCPU waiting for the next instruction boundary (and whether they arrived in root mode). */
  #hostIrqs: { isr: (m: Meter) => void; inRoot: boolean }[] = [];
  /** An interrupt to deliver at the next boundary without an exit (posted, or bare metal). */
  #noExit: 'posted' | 'native' | undefined;
  /** Time of the device MSI behind the oldest interrupt not yet delivered (delivery latency). */
  #origin: Ns | undefined;
  /** The thread is busy (guest or root mode) until this time. */
  #busyUntil: Ns = 0;
  /** Root mode (an exit being handled) until this time. */
  #rootUntil: Ns = 0;
  /** The last operation exited: the next entry pays exitIndirectNs. */
  #exited = false;
  /** Set by the scenario: called when an error must stop the run. */
  fatal: ((message: string) => void) | undefined;

  readonly env: HostEnv;
  readonly program: GuestProgram;
  readonly device: MmioDevice;

  readonly #slot: ResourceSlot;

  /** What directAccess (./direct-access.ts) may do to this vCPU. */
  readonly #direct: DirectAccessCtx = {
    native: () => this.native,
    bus: () => this.bus,
    exitToUser: (m, reason, label, userLabel, pkt) => {
      this.#exitStart(m, reason, true, label, pkt);
      if (reason === 'IO_INSTRUCTION') {
        m.charge('kvm', COSTS.exitKvmHandler.ns, 'kvm-handle', 'PIO exit: no instruction decode');
        m.charge('kvm', COSTS.exitToUserKvm.ns, 'exit-to-user', userLabel, pkt);
        m.charge('qemu', COSTS.qemuMmioDispatch.ns, 'qemu-dispatch', 'QEMU: I/O port dispatch', pkt);
      } else this.#toUser(m, userLabel, pkt);
    },
    deviceCall: (f) => this.#deviceCall(f),
    resume: (v) => void (this.#resumeValue = v),
    enter: (m) => this.#enter(m),
    next: (t) => this.#schedule(t),
    fail: (message) => {
      this.fatal?.(message);
      this.#mode = 'stopped';
    },
  };

  constructor(env: HostEnv, program: GuestProgram, device: MmioDevice, threadName: string = VCPU_THREAD) {
    this.#slot = env.metrics.resource(threadName);
    this.env = env;
    this.program = program;
    this.device = device;
  }

  get mode(): Mode {
    return this.#mode;
  }

  start(at: Ns): void {
    this.#stack = [this.program.main()];
    this.#mode = 'guest';
    this.#schedule(at);
  }

  #schedule(at: Ns): void {
    if (at > this.#busyUntil) this.#busyUntil = at;
    if (this.#stepScheduled) return;
    this.#stepScheduled = true;
    this.env.sched.at(at, () => {
      this.#stepScheduled = false;
      this.#step();
    });
  }

  /**
   * The device's interrupt line changed level at time `at` (INTx through the IOAPIC; the e1000
   * uses a level-triggered legacy interrupt). A rising edge makes an interrupt pending.
   */
  setLine(level: boolean, at: Ns): void {
    // Raised by device code running inside this vCPU's own exit: it takes effect before the
    // VM entry that ends the exit (injected there, no kick). From other threads: at time `at`.
    if (this.#executing) this.#applyLine(level, at);
    else this.env.sched.at(at, () => this.#applyLine(level, at));
  }

  /**
   * An edge-triggered message-signalled interrupt (MSI/MSI-X, e.g. through an irqfd) arrives at
   * time `at` from another thread: it becomes pending (an edge that arrives while one is pending
   * merges with it, as an IRR bit does).
   */
  pulse(at: Ns): void {
    this.env.sched.at(at, () => {
      this.#line = false;
      this.#applyLine(true, at);
    });
  }

  #applyLine(level: boolean, at: Ns): void {
    const rising = level && !this.#line;
    this.#line = level;
    if (!level) {
      // Level-triggered: a line that drops before injection delivers nothing.
      if (!this.#inInterrupt) this.#pending = false;
      return;
    }
    if (!rising) return;
    this.env.metrics.count(at, 'interruptsRaised');
    if (this.#lastRaiseAt >= 0) this.env.metrics.interruptGap(at, at - this.#lastRaiseAt);
    this.#lastRaiseAt = at;
    this.#pending = true;
    if (this.#mode === 'guest' && !this.#inInterrupt) this.#kicked = true;
    // Wake the blocked vCPU thread (kvm_vcpu_kick → scheduler wake-up), then inject.
    if (this.#mode === 'halted') this.#wakeThread(at, 'wake the halted vCPU thread');
  }

  /**
   * The halted thread wakes at `at`: scheduler latency (not CPU work; on bare metal the C1 exit),
   * then `onWake` and VM entry, which injects what is pending.
   */
  #wakeThread(at: Ns, label: string): void {
    this.#mode = 'exit';
    this.#haltToken++;
    const latency = this.native ? COSTS.nativeIdleWakeup.ns : COSTS.haltWakeup.ns;
    this.env.trace.emit(at, latency, this.native ? 'guest' : 'kvm', 'wakeup', this.native ? 'the interrupt wakes the idle core (C1 exit)' : label);
    this.env.sched.at(at + latency, () => {
      this.onWake?.();
      this.#enter(new Meter(this.env, this.#slot, this.env.sched.now));
    });
  }

  /** An interrupt for the guest, raised by host code (an ISR: irqfd → KVM) at time `t`. */
  raise(t: Ns): void {
    this.#line = false;
    this.#applyLine(true, t);
  }

  /**
   * A physical interrupt for the pCPU this vCPU runs on, at `at` (the device's MSI, remapped to
   * a host vector; or the posting wake-up vector). In guest mode: an EXTERNAL_INTERRUPT exit at
   * the next boundary, then `isr` (charged on this thread), then entry. In root mode: `isr` runs
   * before the entry, no extra exit. Halted: the pCPU is idle and runs `isr` at once.
   */
  hostInterrupt(at: Ns, isr: (m: Meter) => void): void {
    this.env.sched.at(at, () => {
      if (this.#mode === 'stopped') return;
      if (this.#origin === undefined) this.#origin = at;
      if (this.#mode === 'halted') {
        const m = new Meter(this.env, this.#slot, Math.max(at, this.#busyUntil));
        isr(m);
        if (m.t > this.#busyUntil) this.#busyUntil = m.t;
        return;
      }
      this.#hostIrqs.push({ isr, inRoot: this.#mode === 'exit' || at < this.#rootUntil });
    });
  }

  /** VT-d posting notified with the active vector at `at`: delivered at the next boundary, no exit. */
  postedNotification(at: Ns): void {
    this.env.sched.at(at, () => {
      // Halted, the descriptor's NV is the wake-up vector; an active-vector notification to an idle pCPU finds no vCPU (it stays in the PIR).
      if (this.#mode === 'stopped' || this.#mode === 'halted') return;
      if (this.#origin === undefined) this.#origin = at;
      this.#noExit = 'posted';
    });
  }

  /** Bare metal: the device's interrupt reaches this core at `at`. */
  nativeInterrupt(at: Ns): void {
    this.env.sched.at(at, () => {
      if (this.#mode === 'stopped') return;
      if (this.#origin === undefined) this.#origin = at;
      if (this.#mode === 'halted') this.raise(at);
      else this.#noExit = 'native';
    });
  }

  /** kvm_vcpu_wake_up from a host handler (the posting wake-up vector): the halted thread runs again. */
  wake(at: Ns): void {
    if (this.#mode === 'halted') this.#wakeThread(at, 'wake-up vector: wake the blocked vCPU thread');
  }

  /** At a boundary: take host interrupts that arrived (EXTERNAL_INTERRUPT exit if they found the guest running). */
  #takeHostInterrupts(now: Ns): void {
    const irqs = this.#hostIrqs;
    this.#hostIrqs = [];
    const m = new Meter(this.env, this.#slot, now);
    if (!this.native && irqs.some((i) => !i.inRoot)) {
      this.#exitStart(m, 'EXTERNAL_INTERRUPT', false, 'physical interrupt for this pCPU');
      m.charge('kvm', COSTS.exitKvmHandler.ns, 'kvm-handle', 'EXTERNAL_INTERRUPT: dispatch the host handler');
    }
    for (const i of irqs) i.isr(m);
    this.#enter(m);
  }

  /** At a boundary: an interrupt that needs no exit (posted with the active vector, or bare metal). */
  #deliverWithoutExit(now: Ns): void {
    const kind = this.#noExit;
    this.#noExit = undefined;
    if (kind === 'posted' && this.onPostedDrain && !this.onPostedDrain()) {
      this.#origin = undefined; // the PIR was empty (already drained at an entry): nothing to deliver
      this.#schedule(now);
      return;
    }
    const m = new Meter(this.env, this.#slot, now);
    this.#line = true;
    this.env.metrics.count(now, 'interruptsRaised');
    if (this.#lastRaiseAt >= 0) this.env.metrics.interruptGap(now, now - this.#lastRaiseAt);
    this.#lastRaiseAt = now;
    this.#pending = true;
    if (kind === 'posted') this.#inject(m, 'posted interrupt: the CPU delivers it without an exit');
    else this.#inject(m, 'device interrupt taken (bare metal)', 'guest');
    this.#schedule(m.t);
  }

  /** One guest operation per event, so virtual time advances between operations. */
  #step(): void {
    if (this.#mode === 'stopped' || this.#mode === 'halted') return;
    const now = this.env.sched.now;
    if (this.#hostIrqs.length > 0) {
      this.#takeHostInterrupts(now);
      return;
    }
    if (this.#noExit && !this.#inInterrupt) {
      this.#deliverWithoutExit(now);
      return;
    }
    if (this.#kicked && this.#pending && !this.#inInterrupt && this.apicv) {
      // Posted interrupt: the CPU merges it into the virtual APIC and delivers it, no exit.
      this.#kicked = false;
      const m = new Meter(this.env, this.#slot, now);
      this.#inject(m, 'posted interrupt delivered without an exit');
      this.#schedule(m.t);
      return;
    }
    if (this.#kicked && this.#pending && !this.#inInterrupt) {
      // The kick IPI forced an exit while the guest ran: handled in KVM, then inject on entry.
      this.#kicked = false;
      const m = new Meter(this.env, this.#slot, now);
      this.#exitStart(m, 'EXTERNAL_INTERRUPT', false, 'kick IPI');
      m.charge('kvm', COSTS.kickIpi.ns, 'kvm-handle', 'EXTERNAL_INTERRUPT: kick IPI');
      this.#enter(m);
      return;
    }
    this.#kicked = false;
    const task = this.#stack[this.#stack.length - 1];
    if (!task) {
      this.#mode = 'stopped';
      return;
    }
    let r: IteratorResult<GuestOp, void>;
    try {
      r = task.next(this.#resumeValue);
    } catch (e) {
      this.fatal?.(`guest code failed: ${(e as Error).message}`);
      this.#mode = 'stopped';
      return;
    }
    this.#resumeValue = 0;
    if (r.done) {
      this.#stack.pop();
      if (this.#stack.length === 0) {
        this.#mode = 'stopped';
        return;
      }
      if (this.#inInterrupt && this.#stack.length === 1) {
        this.#inInterrupt = false;
        // A new interrupt may have been raised while the handler ran.
        if (this.#pending && this.#line) {
          const m = new Meter(this.env, this.#slot, now);
          this.#inject(m);
          this.#schedule(m.t);
          return;
        }
        this.#pending = false;
      }
      this.#schedule(now);
      return;
    }
    this.#executing = true;
    try {
      this.#execute(r.value, now);
    } finally {
      this.#executing = false;
    }
  }

  #execute(op: GuestOp, now: Ns): void {
    const m = new Meter(this.env, this.#slot, now);
    switch (op.op) {
      case 'compute':
        this.#mode = 'guest';
        m.charge('guest', op.ns, op.kind, op.label, op.pkt);
        this.#schedule(m.t);
        return;
      case 'mmio-read': {
        if (this.native) {
          this.fatal?.('an emulated device was accessed on bare metal');
          this.#mode = 'stopped';
          return;
        }
        this.#exitStart(m, 'EPT_MISCONFIG', true, () => `MMIO read ${this.#reg(op.offset)}`, op.pkt);
        this.#toUser(m, () => `KVM_EXIT_MMIO read ${this.#reg(op.offset)}`, op.pkt);
        this.env.metrics.count(m.t, 'mmioReads');
        this.#resumeValue = this.#deviceCall(() => this.device.mmioRead(op.offset, m)) ?? 0;
        this.#enter(m);
        return;
      }
      case 'mmio-write': {
        const label = (): string => `MMIO write ${this.#reg(op.offset)}=0x${(op.value >>> 0).toString(16)}`;
        const fd = this.device.ioeventfd?.(op.offset, m);
        if (fd) {
          // ioeventfd on KVM's fast-MMIO bus (CALIBRATION §1.1): handled in the kernel without
          // decoding the instruction; the eventfd wakes the backend thread and the vCPU re-enters.
          this.#exitStart(m, this.device.notifyExit ?? 'EPT_MISCONFIG', false, () => `${label()} (${fd})`, op.pkt);
          m.charge('kvm', COSTS.exitKvmHandler.ns, 'kvm-handle', 'fast MMIO: ioeventfd matches, no decode', op.pkt);
          m.charge('kvm', COSTS.eventfdSignal.ns, 'eventfd', () => `signal ${fd}`, op.pkt);
          this.env.metrics.count(m.t, 'mmioWrites');
          this.#deviceCall(() => this.device.mmioWrite(op.offset, op.value, m));
          this.#enter(m);
          return;
        }
        this.#exitStart(m, 'EPT_MISCONFIG', true, label, op.pkt);
        this.#toUser(m, () => `KVM_EXIT_MMIO write ${this.#reg(op.offset)}`, op.pkt);
        this.env.metrics.count(m.t, 'mmioWrites');
        this.#deviceCall(() => this.device.mmioWrite(op.offset, op.value, m));
        this.#enter(m);
        return;
      }
      case 'eoi':
        if (this.native) {
          m.charge('guest', COSTS.x2apicEoi.ns, 'eoi', 'EOI: x2APIC MSR write (bare metal)');
          this.env.metrics.count(m.t, 'eois');
          this.#schedule(m.t);
          return;
        }
        if (this.apicv && op.edge) {
          // Virtual-interrupt delivery: the EOI of an edge-triggered MSI completes in the virtual APIC, no exit.
          this.env.metrics.count(m.t, 'eois');
          this.#schedule(m.t);
          return;
        }
        if (this.apicv) {
          this.#exitStart(m, 'EOI_INDUCED', false, 'EOI of a level-triggered vector (EOI-exit bitmap)');
          m.charge('kvm', COSTS.exitKvmHandler.ns, 'kvm-handle', 'EOI_INDUCED: IOAPIC re-checks the line');
        } else {
          this.#exitStart(m, 'APIC_ACCESS', false, 'EOI write to the xAPIC');
          m.charge('kvm', COSTS.exitKvmHandler.ns, 'kvm-handle', 'APIC_ACCESS: emulate EOI in KVM');
        }
        this.env.metrics.count(m.t, 'eois');
        this.#enter(m);
        return;
      case 'halt':
        if (this.native) {
          // sti; hlt on a host core: an interrupt already waiting is taken at once, else the core idles.
          if (this.#noExit || (this.#pending && this.#line && !this.#inInterrupt)) this.#enter(m);
          else {
            this.#mode = 'halted';
            this.#busyUntil = m.t;
            if (op.untilNs !== undefined) this.#armGuestTimer(op.untilNs, m.t);
          }
          return;
        }
        this.#exitStart(m, 'HLT', false, `HLT (${op.reason})`);
        if (this.#pending && this.#line && !this.#inInterrupt) {
          this.#enter(m); // an interrupt is already pending: re-enter and take it
          return;
        }
        this.#mode = 'halted';
        this.#busyUntil = m.t;
        if (this.onHalt?.()) {
          this.#wakeThread(m.t, 'an interrupt was posted while blocking: wake at once');
          return;
        }
        if (op.untilNs !== undefined) this.#armGuestTimer(op.untilNs, m.t);
        return;
      case 'bar-read':
      case 'bar-write':
      case 'pio-read':
      case 'pio-write':
        directAccess(op, m, this.#direct);
        return;
    }
  }

  /** A guest timer (hrtimer → local APIC timer, which KVM emulates) ends the idle period at `untilNs`. */
  #armGuestTimer(untilNs: Ns, from: Ns): void {
    const due = Math.max(untilNs, from);
    const token = ++this.#haltToken;
    this.env.sched.at(due, () => {
      if (this.#mode !== 'halted' || token !== this.#haltToken) return;
      this.#wakeThread(due, 'guest timer fires: wake the halted vCPU thread');
    });
  }

  /** Run device-model code; a thrown engine error stops the run with a diagnostic. */
  #deviceCall<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      this.fatal?.((e as Error).message);
      return undefined;
    }
  }

  #reg(offset: number): string {
    return this.device.regName ? this.device.regName(offset) : registerName(offset);
  }

  #exitStart(m: Meter, reason: ExitReason, toUser: boolean, label: string | (() => string), pkt?: number): void {
    this.#mode = 'exit';
    this.#exited = true;
    this.env.metrics.exit(m.t, reason, toUser);
    m.charge('kvm', COSTS.exitHardware.ns, 'vm-exit', () => `VM exit ${reason}: ${typeof label === 'string' ? label : label()}`, pkt);
  }

  #toUser(m: Meter, label: () => string, pkt?: number): void {
    m.charge('kvm', COSTS.exitKvmHandler.ns + COSTS.mmioDecode.ns, 'kvm-handle', 'decode MMIO, no in-kernel handler', pkt);
    m.charge('kvm', COSTS.exitToUserKvm.ns, 'exit-to-user', label, pkt);
    m.charge('qemu', COSTS.qemuMmioDispatch.ns, 'qemu-dispatch', 'QEMU: memory region dispatch', pkt);
  }

  /** VM entry: inject a pending interrupt if the guest can take it, then resume the guest. */
  #enter(m: Meter): void {
    if (this.#mode === 'stopped') return;
    if (this.#pending && this.#line && !this.#inInterrupt) this.#inject(m, this.native ? 'device interrupt taken (bare metal)' : undefined, this.native ? 'guest' : 'kvm');
    if (this.#exited) {
      this.#exited = false;
      this.#rootUntil = m.t;
      if (this.exitIndirectNs > 0) m.charge('guest', this.exitIndirectNs, 'exit-indirect', 'cache and TLB refill after the exit');
    }
    this.#mode = 'guest';
    this.#schedule(m.t);
  }

  #inject(m: Meter, how?: string, lane: 'kvm' | 'guest' = 'kvm'): void {
    this.#pending = false;
    this.#inInterrupt = true;
    this.env.metrics.count(m.t, 'interruptsInjected');
    if (how) m.mark(lane, 'irq-posted', how);
    else m.charge('kvm', COSTS.injectInterrupt.ns, 'irq-inject', () => `inject interrupt at ${formatNs(m.t)}`);
    if (this.#origin !== undefined) {
      this.env.metrics.count(m.t, 'irqDeliveryNs', m.t - this.#origin);
      this.#origin = undefined;
    }
    this.#stack.push(this.program.interrupt());
  }

  stop(): void {
    this.#mode = 'stopped';
  }
}
