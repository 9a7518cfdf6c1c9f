/**
 * The e1000 (82540EM) device model as QEMU runs it in user space: a register file behind BAR0,
 * interrupt causes (ICR clear-on-read, IMS/IMC masks), the interrupt line, QEMU's interrupt
 * mitigation, and the receive path. The transmit path is pluggable (TxModel): the built-in
 * QEMU-like one (qemu-tx.ts) for scenarios, or a learner's code in the emulated-nic lab.
 *
 * Sources: 8254x SDM §13; QEMU hw/net/e1000.c (set_interrupt_cause, mac_icr_read, set_ims,
 * e1000_receive_iov, e1000_mit_timer), CALIBRATION §3.4.
 * Deviations: no EEPROM/PHY/MDIC, no TSO or checksum offload, no VLANs, no multicast filters;
 * the link is always up at 1000 Mb/s full duplex. RX uses RDTR/RADV only for mitigation delay.
 */
import { COSTS, copyCost } from '../../sim/costs.ts';
import type { Ns } from '../../sim/time.ts';
import { diagnose, Meter, type HostEnv } from '../../hv/host.ts';
import type { MmioDevice } from '../../hv/guest-ops.ts';
import type { GuestMemory } from '../memory.ts';
import * as R from './regs.ts';
import { E1000_DESC_SIZE, E1000_RXD_STAT_DD, E1000_RXD_STAT_EOP } from './desc.ts';

/** The transmit half of the device model. Called on the thread that caused the event. */
export interface TxModel {
  /** Every guest register write, after the device stored it (and applied ICR/IMS/IMC semantics). */
  onRegisterWrite(offset: number, value: number, m: Meter): void;
  /** The device timer armed with E1000.startTimer fired (runs on QEMU's main loop). */
  onTimer(m: Meter): void;
}

export interface E1000Options {
  /**
   * Interrupt mitigation in the built-in paths (QEMU's E1000_FLAG_MIT). QEMU ≥ 8.2 always
   * moderates: the `mitigation` property went away with commit fa4ec9ffda7 ("e1000: remove old
   * compatibility code", 2023). The switch is kept here so learners can see what it buys.
   */
  mitigation: boolean;
}

export const QEMU_MAIN_LOOP = 'QEMU main loop';

export class E1000 implements MmioDevice {
  readonly name = 'e1000';
  readonly regs = new Uint32Array(0x10000 / 4);
  tx: TxModel | undefined;
  /** Level of the interrupt line (QEMU's mit_irq_level). */
  lineLevel = false;
  /** Mitigation state (QEMU: mit_timer_on, mit_ide). */
  mitTimerOn = false;
  mitIde = false;
  /** RX frames waiting for descriptors (QEMU holds them in the net queue until RDT moves). */
  rxPending: { bytes: Uint8Array; pkt: number }[] = [];
  #timer: ReturnType<HostEnv['sched']['schedule']> | undefined;

  /** Called on a rising/falling edge of the interrupt line, stamped with the meter time. */
  onLine: (level: boolean, at: Ns) => void = () => {};
  /** Called when a received frame has been written into guest memory. */
  onRxStored: (pkt: number, at: Ns) => void = () => {};
  /** Schedule a job on QEMU's main loop (timers, RX). Set by the scenario. */
  runOnMainLoop: (at: Ns, job: (m: Meter) => void) => void = () => {};

  readonly env: HostEnv;
  readonly mem: GuestMemory;
  readonly opts: E1000Options;

  constructor(env: HostEnv, mem: GuestMemory, opts: E1000Options) {
    this.env = env;
    this.mem = mem;
    this.opts = opts;
    this.reset();
  }

  reg(offset: number): number {
    return this.regs[offset >>> 2]! >>> 0;
  }
  /** Store a register. The ring indices (TDH, TDT, RDH, RDT) are 16-bit registers. */
  setReg(offset: number, value: number): void {
    const index16 = offset === R.E1000_TDH || offset === R.E1000_TDT || offset === R.E1000_RDH || offset === R.E1000_RDT;
    this.regs[offset >>> 2] = index16 ? value & 0xffff : value >>> 0;
  }

  reset(): void {
    this.regs.fill(0);
    this.setReg(R.E1000_STATUS, R.E1000_STATUS_LU | R.E1000_STATUS_FD | R.E1000_STATUS_SPEED_1000);
    this.lineLevel = false;
    this.mitTimerOn = false;
    this.rxPending = [];
  }

  // ── Register access (QEMU macreg_readops / macreg_writeops) ───────────────────────────────
  mmioRead(offset: number, m: Meter): number {
    m.charge('qemu', COSTS.qemuRegisterAccess.ns, 'qemu-reg', `e1000: read ${R.registerName(offset)}`);
    if (offset === R.E1000_ICR) {
      // Clear-on-read (mac_icr_read): the causes are returned and cleared; the line drops.
      const v = this.reg(R.E1000_ICR);
      this.setReg(R.E1000_ICR, 0);
      this.#updateLine(m);
      return v;
    }
    if (offset === R.E1000_IMC || offset === R.E1000_ICS) return 0; // write-only
    return this.reg(offset);
  }

  mmioWrite(offset: number, value: number, m: Meter): void {
    m.charge('qemu', COSTS.qemuRegisterAccess.ns, 'qemu-reg', () => `e1000: write ${R.registerName(offset)}=0x${(value >>> 0).toString(16)}`);
    value >>>= 0;
    switch (offset) {
      case R.E1000_CTRL:
        if (value & R.E1000_CTRL_RST) {
          this.reset();
          return;
        }
        this.setReg(offset, value);
        break;
      case R.E1000_STATUS:
      case R.E1000_ICR:
        return; // read-only
      case R.E1000_ICS:
        this.setCause(value);
        this.#updateLine(m);
        return;
      case R.E1000_IMS:
        this.setReg(R.E1000_IMS, this.reg(R.E1000_IMS) | value);
        break;
      case R.E1000_IMC:
        this.setReg(R.E1000_IMS, this.reg(R.E1000_IMS) & ~value);
        this.#updateLine(m);
        return;
      case R.E1000_RDT:
        this.setReg(offset, value);
        // e1000_set_rdt → qemu_flush_queued_packets: buffers are back, deliver what waited.
        if (this.rxPending.length > 0) this.runOnMainLoop(m.t, (mm) => this.#drainRxPending(mm));
        return;
      default:
        this.setReg(offset, value);
    }
    this.tx?.onRegisterWrite(offset, value, m);
  }

  // ── Interrupts ─────────────────────────────────────────────────────────────────────────────
  setCause(bits: number): void {
    this.setReg(R.E1000_ICR, this.reg(R.E1000_ICR) | bits);
  }

  /** Line = (ICR & IMS) ≠ 0, without mitigation. Used for ICR reads, IMC and the lab's raise. */
  #updateLine(m: Meter): void {
    this.setLineLevel((this.reg(R.E1000_ICR) & this.reg(R.E1000_IMS)) !== 0, m);
  }

  setLineLevel(level: boolean, m: Meter): void {
    if (level === this.lineLevel) return;
    this.lineLevel = level;
    m.mark('qemu', level ? 'irq-raise' : 'irq-lower', level ? 'e1000: interrupt line up' : 'e1000: interrupt line down');
    this.onLine(level, m.t);
  }

  /** Assert the line if an unmasked cause is pending (no mitigation). Returns whether it is up. */
  raiseNow(m: Meter): boolean {
    this.#updateLine(m);
    return this.lineLevel;
  }

  /**
   * QEMU's set_interrupt_cause() with E1000_FLAG_MIT: a rising edge is allowed at once, then the
   * mitigation timer blocks the next one for max(500, min(TADV×4 if IDE, RADV×4 if RDTR, ITR))
   * × 256 ns — hence the ≤ 7,813 interrupts/s ceiling (CALIBRATION C17).
   */
  raiseMitigated(m: Meter): void {
    const pending = this.reg(R.E1000_ICR) & this.reg(R.E1000_IMS);
    if (!this.lineLevel && pending) {
      if (this.mitTimerOn) return;
      if (this.opts.mitigation) {
        let delay = 0;
        const upd = (v: number): void => {
          if (v && (delay === 0 || v < delay)) delay = v;
        };
        if (this.mitIde && pending & (R.E1000_ICR_TXQE | R.E1000_ICR_TXDW)) upd(this.reg(R.E1000_TADV) * 4);
        if (this.reg(R.E1000_RDTR) && pending & R.E1000_ICR_RXT0) upd(this.reg(R.E1000_RADV) * 4);
        upd(this.reg(R.E1000_ITR) & 0xffff);
        if (delay < 500) delay = 500;
        this.mitTimerOn = true;
        this.mitIde = false;
        this.startTimer(delay * 256, m, () => {
          // e1000_mit_timer: the window closed; deliver what accumulated.
          this.runOnMainLoop(this.env.sched.now, (mm) => {
            this.mitTimerOn = false;
            this.raiseMitigated(mm);
          });
        });
      }
    }
    this.setLineLevel(pending !== 0, m);
  }

  /** Arm (or re-arm) the device timer; `fire` runs at expiry on the scheduler. */
  startTimer(delayNs: Ns, m: Meter, fire: () => void): void {
    this.env.sched.cancel(this.#timer);
    this.#timer = this.env.sched.at(m.t + Math.max(0, Math.round(delayNs)), () => {
      this.#timer = undefined;
      fire();
    });
  }
  cancelTimer(): void {
    this.env.sched.cancel(this.#timer);
    this.#timer = undefined;
  }
  get timerArmed(): boolean {
    return this.#timer !== undefined && !this.#timer.cancelled;
  }

  // ── Receive (QEMU e1000_receive_iov), on the main loop ─────────────────────────────────────
  /** A frame arrived from the tap. Returns false when it was dropped. */
  receive(bytes: Uint8Array, pkt: number, m: Meter): boolean {
    if (!(this.reg(R.E1000_RCTL) & R.E1000_RCTL_EN)) {
      this.env.metrics.count(m.t, 'drops');
      return false;
    }
    if (!this.#rxHasBuffer()) {
      if (this.rxPending.length < 256) {
        this.rxPending.push({ bytes, pkt });
        return true;
      }
      this.setCause(R.E1000_ICR_RXO);
      this.env.metrics.count(m.t, 'drops');
      return false;
    }
    this.#store(bytes, pkt, m);
    return true;
  }

  #rxCount(): number {
    return Math.floor(this.reg(R.E1000_RDLEN) / E1000_DESC_SIZE);
  }
  #rxHasBuffer(): boolean {
    const n = this.#rxCount();
    return n > 0 && this.reg(R.E1000_RDH) !== this.reg(R.E1000_RDT);
  }

  #drainRxPending(m: Meter): void {
    while (this.rxPending.length > 0 && this.#rxHasBuffer()) {
      const f = this.rxPending.shift()!;
      this.#store(f.bytes, f.pkt, m);
    }
  }

  #store(bytes: Uint8Array, pkt: number, m: Meter): void {
    const n = this.#rxCount();
    const head = this.reg(R.E1000_RDH);
    const base = this.reg(R.E1000_RDBAL) + this.reg(R.E1000_RDBAH) * 0x1_0000_0000;
    const desc = base + head * E1000_DESC_SIZE;
    m.charge('qemu', COSTS.qemuRxPerFrame.ns, 'qemu-rx', 'e1000_receive: fetch RX descriptor', pkt);
    if (!this.mem.contains(desc, E1000_DESC_SIZE)) {
      diagnose(this.env, { severity: 'error', code: 'rx-ring-outside-ram', message: `RX descriptor ${head} at 0x${desc.toString(16)} is outside guest RAM`, t: m.t });
      return;
    }
    const buf = this.mem.read64(desc);
    if (this.mem.contains(buf, bytes.length)) this.mem.write(buf, bytes);
    this.env.metrics.count(m.t, 'dmaOps', 2);
    this.env.metrics.count(m.t, 'bytesCopied', bytes.length + E1000_DESC_SIZE);
    m.charge('qemu', COSTS.qemuDmaOp.ns * 2 + copyCost(bytes.length), 'dma-write', () => `DMA ${bytes.length} B into RX buffer, desc ${head}`, pkt);
    this.mem.write16(desc + 8, bytes.length);
    this.mem.write8(desc + 12, E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP);
    const next = (head + 1) % n;
    this.setReg(R.E1000_RDH, next);
    this.onRxStored(pkt, m.t);
    let cause = R.E1000_ICR_RXT0;
    const free = (this.reg(R.E1000_RDT) - next + n) % n;
    if (free <= n >> 1) cause |= R.E1000_ICR_RXDMT0;
    this.setCause(cause);
    this.raiseMitigated(m);
  }
}
