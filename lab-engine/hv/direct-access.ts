/**
 * The vCPU's side of a directly driven PCI device (CALIBRATION §1.2, §3.7, §3.9): what a BAR load
 * or store and port I/O cost and whether they exit. Called by hv/vcpu.ts for the 'bar-*' and
 * 'pio-*' guest operations.
 *   - BAR pages mapped into the guest (VFIO mmaps them, EPT maps them): a store is a posted PCIe
 *     write (COSTS.pciePostedWrite on the CPU; it reaches the device COSTS.pcieWriteLatency later),
 *     a load stalls the CPU for a PCIe round trip (COSTS.pcieMmioRead). No exit either way.
 *   - Trapped BAR pages (the MSI-X table page, vfio.ts regionInfo): EPT_MISCONFIG → KVM_EXIT_MMIO →
 *     QEMU, whose handler is the bus's trappedRead/trappedWrite.
 *   - Port I/O (configuration mechanism #1, 0xCF8/0xCFC, which Linux uses for the first 256 bytes
 *     of config space on x86): IO_INSTRUCTION → KVM_EXIT_IO → QEMU. On bare metal a bus cycle.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { ExitReason } from '../sim/types.ts';
import type { Meter } from './host.ts';
import type { DirectBus, GuestOp } from './guest-ops.ts';

type DirectOp = Extract<GuestOp, { op: 'bar-read' | 'bar-write' | 'pio-read' | 'pio-write' }>;

export interface DirectAccessCtx {
  native(): boolean;
  bus(): DirectBus | undefined;
  /** An exit to QEMU in user space for `reason`, with its hardware, KVM and dispatch costs. */
  exitToUser(m: Meter, reason: ExitReason, label: () => string, userLabel: () => string, pkt?: number): void;
  deviceCall<T>(f: () => T): T | undefined;
  resume(value: number): void;
  /** VM entry after an exit. */
  enter(m: Meter): void;
  /** Continue with the next guest operation at `t` (no exit happened). */
  next(t: Ns): void;
  fail(message: string): void;
}

export function directAccess(op: DirectOp, m: Meter, v: DirectAccessCtx): void {
  const bus = v.bus();
  if (op.op === 'pio-read' || op.op === 'pio-write') {
    pio(op, m, v, bus);
    return;
  }
  if (!bus) {
    v.fail(`guest code accessed BAR${op.bar} but no device is assigned`);
    return;
  }
  const name = (): string => bus.regName(op.bar, op.offset);
  if (op.op === 'bar-write') {
    if (!v.native() && bus.trapped(op.bar, op.offset)) {
      v.exitToUser(m, 'EPT_MISCONFIG', () => `MMIO write ${name()}=0x${(op.value >>> 0).toString(16)} (trapped page)`, () => `KVM_EXIT_MMIO write ${name()}`, op.pkt);
      m.env.metrics.count(m.t, 'mmioWrites');
      v.deviceCall(() => bus.trappedWrite(op.bar, op.offset, op.value, m));
      v.enter(m);
      return;
    }
    m.charge('guest', COSTS.pciePostedWrite.ns, 'bar-write', () => `write ${name()}=0x${(op.value >>> 0).toString(16)} (posted, no exit)`, op.pkt);
    bus.write(op.bar, op.offset, op.value, m.t + COSTS.pcieWriteLatency.ns);
    v.next(m.t);
    return;
  }
  if (!v.native() && bus.trapped(op.bar, op.offset)) {
    v.exitToUser(m, 'EPT_MISCONFIG', () => `MMIO read ${name()} (trapped page)`, () => `KVM_EXIT_MMIO read ${name()}`, op.pkt);
    m.env.metrics.count(m.t, 'mmioReads');
    v.resume(v.deviceCall(() => bus.trappedRead(op.bar, op.offset, m)) ?? 0);
    v.enter(m);
    return;
  }
  m.charge('guest', COSTS.pcieMmioRead.ns, 'bar-read', () => `read ${name()} (PCIe round trip, no exit)`, op.pkt);
  v.resume(bus.read(op.bar, op.offset));
  v.next(m.t);
}

function pio(op: Extract<DirectOp, { op: 'pio-read' | 'pio-write' }>, m: Meter, v: DirectAccessCtx, bus: DirectBus | undefined): void {
  const write = op.op === 'pio-write';
  const what = (): string => `${write ? 'OUT' : 'IN'} port 0x${op.port.toString(16)}${write ? `=0x${(op.value >>> 0).toString(16)}` : ''}`;
  if (v.native() || !bus) {
    m.charge('guest', COSTS.pciConfigCycle.ns, 'pio', what);
    if (write) bus?.pioWrite(op.port, op.size, op.value, m);
    else v.resume(bus?.pioRead(op.port, op.size, m) ?? 0xffffffff);
    v.next(m.t);
    return;
  }
  v.exitToUser(m, 'IO_INSTRUCTION', what, () => `KVM_EXIT_IO ${what()}`);
  if (write) v.deviceCall(() => bus.pioWrite(op.port, op.size, op.value, m));
  else v.resume(v.deviceCall(() => bus.pioRead(op.port, op.size, m)) ?? 0);
  v.enter(m);
}
