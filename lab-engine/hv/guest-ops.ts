/**
 * What guest code (drivers, workloads) asks the vCPU to do. Guest code is written as generators
 * that yield these operations; the vCPU executes them, exiting to KVM/QEMU where real hardware
 * would trap (STYLE.md §3.7 rule 3: generator processes, no async).
 */
import type { Ns } from '../sim/time.ts';

export type GuestOp =
  /** Run guest instructions for `ns` (no exit). */
  | { op: 'compute'; ns: Ns; kind: string; label: string; pkt?: number }
  /** A load from the device's BAR: EPT_MISCONFIG exit; the generator receives the value. */
  | { op: 'mmio-read'; offset: number; pkt?: number }
  /** A store to the device's BAR: EPT_MISCONFIG exit. */
  | { op: 'mmio-write'; offset: number; value: number; pkt?: number }
  /** End of interrupt to the local APIC (xAPIC without APICv: APIC_ACCESS exit, in KVM). */
  | { op: 'eoi'; edge?: boolean }
  /** HLT: nothing to do until an interrupt arrives, or until the guest timer at `untilNs`. */
  | { op: 'halt'; reason: string; untilNs?: number };

/** A guest activity. `next(value)` passes the result of an mmio-read back in. */
export type GuestTask = Generator<GuestOp, void, number>;

/** The guest side a vCPU runs: its main activity and its interrupt handler. */
export interface GuestProgram {
  main(): GuestTask;
  /** Handler for the device interrupt (hardirq + the softirq work that follows). */
  interrupt(): GuestTask;
}

/** Something on the MMIO bus: the device model behind a BAR (Cloud Hypervisor's BusDevice). */
export interface MmioDevice {
  readonly name: string;
  mmioRead(offset: number, m: import('./host.ts').Meter): number;
  mmioWrite(offset: number, value: number, m: import('./host.ts').Meter): void;
  /** Register name for exit labels (default: the e1000's names). */
  regName?(offset: number): string;
  /**
   * An ioeventfd registered for a write to `offset` (KVM_IOEVENTFD): its name when there is one.
   * Such writes exit to KVM only, which signals the eventfd; mmioWrite then runs as the signal.
   */
  ioeventfd?(offset: number, m: import('./host.ts').Meter): string | undefined;
  /** The exit a notification write causes (default EPT_MISCONFIG; a Xen event-channel send is a VMCALL). */
  readonly notifyExit?: import('../sim/types.ts').ExitReason;
}
