/**
 * The 82599's interrupt logic in MSI-X mode (82599 datasheet §7.3; Linux ixgbe_type.h): causes
 * latch in EICR, EIMS/EIMC enable and mask them per vector, IVAR routes queue 0's RX and TX causes
 * to a vector, and EITR moderates each vector: after a vector fires it stays quiet for its
 * interval (bits 11:3, 2 µs units), then fires again if a cause is pending and it is enabled.
 * Firing sends the vector's MSI-X message (./../pci/msix.ts), auto-clearing its EICR bit when
 * EIAC says so. See ./regs.ts for what is left out (EIMS_EX, EIAM auto-mask, other causes).
 */
import type { Ns } from '../../sim/time.ts';
import type { HostEnv } from '../../hv/host.ts';
import type { MsixTable } from '../pci/msix.ts';
import * as R from './regs.ts';

/** Vectors the EICR/EIMS bit fields address (bits 15:0, the RTxQ causes). */
const EICR_VECTORS = 16;

export class IxgbeInterrupts {
  eicr = 0;
  eims = 0;
  eiac = 0;
  gpie = 0;
  ivar0 = 0;
  ivarMisc = 0;
  readonly eitr: number[];
  readonly #lastFire: number[];
  readonly #armed: boolean[];
  /** Messages sent per vector (statistics). */
  readonly fired: number[];

  readonly env: HostEnv;
  readonly msix: MsixTable;

  constructor(env: HostEnv, msix: MsixTable) {
    this.env = env;
    this.msix = msix;
    const n = msix.vectors;
    this.eitr = new Array<number>(n).fill(0);
    this.#lastFire = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
    this.#armed = new Array<boolean>(n).fill(false);
    this.fired = new Array<number>(n).fill(0);
  }

  reset(): void {
    this.eicr = this.eims = this.eiac = this.gpie = this.ivar0 = this.ivarMisc = 0;
    this.eitr.fill(0);
    this.#lastFire.fill(Number.NEGATIVE_INFINITY);
  }

  /** EITR(v)'s interval in ns (0 = no moderation). */
  intervalNs(v: number): Ns {
    return (((this.eitr[v] ?? 0) & R.IXGBE_EITR_ITR_INT_MASK) >>> 3) * 2_000;
  }

  /** The vector IVAR(0) maps queue 0's `kind` cause to, or undefined when not allocated. */
  vectorOf(kind: 'rx' | 'tx'): number | undefined {
    const byte = kind === 'rx' ? this.ivar0 & 0xff : (this.ivar0 >>> 8) & 0xff;
    if (!(byte & R.IXGBE_IVAR_ALLOC_VAL)) return undefined;
    const v = byte & 0x3f;
    return v < this.msix.vectors && v < EICR_VECTORS ? v : undefined;
  }

  /** Queue 0 reported `kind` work done at time `at` (a descriptor write-back). */
  queueCause(kind: 'rx' | 'tx', at: Ns): void {
    const v = this.vectorOf(kind);
    if (v === undefined) return;
    this.env.sched.at(at, () => {
      this.eicr = (this.eicr | (1 << v)) >>> 0;
      this.#tryFire(v);
    });
  }

  readEicr(): number {
    const v = this.eicr;
    this.eicr = 0; // clear on read (no EIAC needed for a read)
    return v;
  }
  writeEicr(value: number): void {
    this.eicr = (this.eicr & ~value) >>> 0; // write 1 to clear
  }
  writeEics(value: number): void {
    this.eicr = (this.eicr | value) >>> 0;
    this.#tryAll(value);
  }
  writeEims(value: number): void {
    this.eims = (this.eims | value) >>> 0;
    this.#tryAll(value);
  }
  writeEimc(value: number): void {
    this.eims = (this.eims & ~value) >>> 0;
  }

  #tryAll(bits: number): void {
    for (let v = 0; v < Math.min(EICR_VECTORS, this.msix.vectors); v++) if (bits & (1 << v)) this.#tryFire(v);
  }

  /** Fire vector v now if it is enabled with a cause pending and its interval has passed, else arm its timer. */
  #tryFire(v: number): void {
    const bit = 1 << v;
    if (!(this.eims & bit) || !(this.eicr & bit) || this.#armed[v]) return;
    const now = this.env.sched.now;
    const due = this.#lastFire[v]! + this.intervalNs(v);
    if (now >= due) {
      this.#fire(v);
      return;
    }
    this.#armed[v] = true;
    this.env.sched.at(due, () => {
      this.#armed[v] = false;
      this.#tryFire(v);
    });
  }

  #fire(v: number): void {
    const bit = 1 << v;
    this.#lastFire[v] = this.env.sched.now;
    if (this.eiac & bit) this.eicr = (this.eicr & ~bit) >>> 0;
    this.fired[v]!++;
    this.env.trace.emit(this.env.sched.now, 0, 'nic', 'msix', () => `MSI-X vector ${v} fires (EITR ${this.intervalNs(v) / 1000} µs)`);
    this.msix.raise(v);
  }
}
