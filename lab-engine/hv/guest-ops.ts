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
  /**
   * A load from BAR `bar` of a PCI device the guest drives directly (an assigned NIC, or the NIC
   * of a bare-metal host): a PCIe round trip, no exit — unless the page is trapped by QEMU (the
   * MSI-X table under VFIO), then an EPT_MISCONFIG exit to user space. Returns the value.
   */
  | { op: 'bar-read'; bar: number; offset: number; pkt?: number }
  /** A store to such a BAR: a posted write (no exit, the CPU does not wait) unless trapped. */
  | { op: 'bar-write'; bar: number; offset: number; value: number; pkt?: number }
  /**
   * Port I/O (IN/OUT), e.g. PCI configuration mechanism #1 (0xCF8/0xCFC): in a VM an
   * IO_INSTRUCTION exit to QEMU, on bare metal a bus cycle. Returns the value read.
   */
  | { op: 'pio-read'; port: number; size: 1 | 2 | 4 }
  | { op: 'pio-write'; port: number; size: 1 | 2 | 4; value: number }
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

/**
 * The PCI bus as a directly driven device sees it (hv/vcpu.ts 'bar-*' and 'pio-*' operations):
 * the device's own registers, and — in a VM — what QEMU traps. On bare metal nothing is trapped
 * and port I/O reaches the chipset.
 */
export interface DirectBus {
  /** Is this BAR access trapped by QEMU (the page is not mapped into the guest)? */
  trapped(bar: number, offset: number): boolean;
  /** The device's register value (the CPU waits for the completion). */
  read(bar: number, offset: number): number;
  /** A posted write that reaches the device at time `at`. */
  write(bar: number, offset: number, value: number, at: import('../sim/time.ts').Ns): void;
  /** QEMU's handling of a trapped BAR access, charging its work to `m`. */
  trappedRead(bar: number, offset: number, m: import('./host.ts').Meter): number;
  trappedWrite(bar: number, offset: number, value: number, m: import('./host.ts').Meter): void;
  /** Port I/O: QEMU's emulation in a VM (charged to `m`), the chipset on bare metal. */
  pioRead(port: number, size: 1 | 2 | 4, m: import('./host.ts').Meter): number;
  pioWrite(port: number, size: 1 | 2 | 4, value: number, m: import('./host.ts').Meter): void;
  /** Register name for trace labels. */
  regName(bar: number, offset: number): string;
}
