/**
 * Where an MSI the NIC writes ends up (CALIBRATION §3.6 interrupt remapping and posting, §3.9):
 *   bare metal   a compatibility-format message straight to the core's local APIC;
 *   VFIO         interrupt remapping decides (hw/iommu/irq-remap.ts remap):
 *     remapped → a host vector on a physical CPU: vfio_msihandler → eventfd → irqfd → KVM injects
 *                into the vCPU the guest programmed (EXTERNAL_INTERRUPT exit if that pCPU runs it);
 *     posted   → the IOMMU sets the PIR bit in the vCPU's posted-interrupt descriptor (posted.ts);
 *                a notification with the active vector reaches the running vCPU without an exit,
 *                the wake-up vector wakes a blocked one through pi_wakeup_handler;
 *     fault    → nothing is delivered; counted (interruptFaults) and reported.
 * `installPosting` keeps each vCPU's descriptor in step with its state, as KVM's posted_intr.c
 * does: blockVcpu when it halts (NV = wake-up vector), runVcpu when it runs again, drainPir on entry.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { Diagnostic } from '../sim/types.ts';
import { diagnose, type HostEnv, type Meter, type SerialThread } from './host.ts';
import type { Vcpu } from './vcpu.ts';
import type { RemapResult } from '../hw/iommu/irq-remap.ts';
import { formatRequesterId, isInterruptAddress } from '../hw/iommu/irq-remap.ts';
import { blockVcpu, drainPir, ndstFor, postInterrupt, POSTED_INTR_VECTOR, POSTED_INTR_WAKEUP_VECTOR, runVcpu } from '../hw/iommu/posted.ts';
import { HOST_VECTOR_BASE, type AssignedHost } from './assignment.ts';

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Bare metal: the message is the APIC's (Intel SDM vol. 3 §11.11: destination in address bits 19:12). */
export function deliverNative(env: HostEnv, vcpus: Vcpu[], address: number, data: number, t: Ns): void {
  if (!isInterruptAddress(address)) {
    diagnose(env, { severity: 'warning', code: 'msi-not-interrupt', message: `The NIC's MSI-X write to ${hex(address)} is not an interrupt address (0xFEEx_xxxx).`, t });
    return;
  }
  const cpu = vcpus[(address >>> 12) & 0xff];
  if (!cpu) {
    diagnose(env, { severity: 'warning', code: 'msi-no-cpu', message: `The NIC's MSI (vector ${hex(data & 0xff)}) names APIC ${(address >>> 12) & 0xff}, which no core has.`, t });
    return;
  }
  cpu.nativeInterrupt(t);
}

export class AssignedIrqPath {
  readonly env: HostEnv;
  readonly h: AssignedHost;
  readonly vcpus: Vcpu[];
  /** The guest vCPU each MSI-X vector was programmed for (QEMU's routing of the eventfd). */
  readonly guestVcpuOf: number[] = [];
  readonly hostCpu: SerialThread;

  constructor(env: HostEnv, h: AssignedHost, vcpus: Vcpu[], hostCpu: SerialThread) {
    this.env = env;
    this.h = h;
    this.vcpus = vcpus;
    this.hostCpu = hostCpu;
  }

  /** KVM's side of VT-d posting for every vCPU (posted mode only). */
  installPosting(): void {
    const mem = this.h.kernelMem;
    this.vcpus.forEach((v, i) => {
      const pid = this.h.pids[i]!;
      v.onHalt = () => blockVcpu(mem, pid).wakeNow;
      v.onWake = () => {
        const r = runVcpu(mem, pid, { apicId: this.h.pcpuApicIds[i]! });
        if (r.pending && drainPir(mem, pid).length > 0) v.raise(this.env.sched.now);
      };
      v.onPostedDrain = () => drainPir(mem, pid).length > 0;
    });
  }

  /**
   * An interrupt request (a DWORD write to 0xFEEx_xxxx) from requester `sourceId` at `t`. A blocked
   * request is counted (interruptFaults) and reported, unless `quiet` (the caller reports it).
   */
  deliver(sourceId: number, address: number, data: number, t: Ns, quiet = false): RemapResult {
    const res = this.h.irt.remap(sourceId, address, data);
    switch (res.kind) {
      case 'remapped':
        this.#remapped(res.vector, res.destination, t);
        break;
      case 'posted':
        this.#posted(res.pda, res.vector, res.urgent, t);
        break;
      case 'fault':
        this.env.metrics.count(t, 'interruptFaults');
        if (!quiet) diagnose(this.env, { severity: 'warning', code: 'msi-blocked', message: `Interrupt remapping blocked an MSI from ${formatRequesterId(sourceId)}: ${res.detail} (fault ${hex(res.code)}).`, t });
        break;
      case 'compatibility':
        diagnose(this.env, { severity: 'warning', code: 'msi-compatibility', message: `An MSI from ${formatRequesterId(sourceId)} passed un-remapped (compatibility format).`, t });
        break;
    }
    return res;
  }

  #remapped(hostVector: number, destination: number, t: Ns): void {
    const v = hostVector - HOST_VECTOR_BASE;
    if (v < 0 || v >= this.h.nic.vectors) {
      this.#warn('irq-spurious', `A remapped interrupt arrived on host vector ${hex(hostVector)}, where vfio-pci has no handler (its vectors start at ${hex(HOST_VECTOR_BASE)}): dropped.`, t);
      return;
    }
    const target = this.vcpus[this.guestVcpuOf[v] ?? 0] ?? this.vcpus[0]!;
    const here = this.vcpus.find((_, i) => this.h.pcpuApicIds[i] === destination);
    const isr = (m: Meter, kick: boolean): void => {
      m.charge('host-kernel', COSTS.hostIrqEntry.ns, 'host-irq', () => `host vector ${hex(hostVector)}: vfio_msihandler`);
      m.charge('host-kernel', COSTS.vfioMsiToIrqfd.ns, 'irqfd', 'eventfd_signal → irqfd → kvm_set_msi');
      if (kick) target.pulse(m.t);
      else target.raise(m.t);
    };
    if (here === target) target.hostInterrupt(t, (m) => isr(m, false));
    else if (here) here.hostInterrupt(t, (m) => isr(m, true));
    else this.hostCpu.submit(t, (m) => isr(m, true));
  }

  #posted(pda: number, vector: number, urgent: boolean, t: Ns): void {
    const r = postInterrupt(this.h.kernelMem, pda, vector, urgent);
    this.env.metrics.count(t, 'postedInterrupts');
    if (r.kind === 'fault') {
      this.env.metrics.count(t, 'interruptFaults');
      this.#warn('posting-fault', `Posting vector ${hex(vector)} to the descriptor at ${hex(pda)} failed: ${r.detail}.`, t);
      return;
    }
    if (r.kind !== 'notify') return; // suppressed or already pending: it waits in the PIR
    const cpu = this.h.pcpuApicIds.findIndex((a) => ndstFor(a) === r.ndst);
    const owner = this.h.pids.indexOf(pda);
    if (cpu < 0) {
      this.#warn('posting-no-cpu', `A posted-interrupt notification went to APIC ${r.ndst}, which runs none of this VM's vCPUs: the interrupt waits in the PIR.`, t);
      return;
    }
    const vcpu = this.vcpus[cpu]!;
    if (r.nv === POSTED_INTR_VECTOR) {
      if (owner === cpu) vcpu.postedNotification(t);
      else this.#warn('posting-elsewhere', `The descriptor at ${hex(pda)} is not vCPU ${cpu}'s, whose CPU got the notification: the interrupt waits in the PIR.`, t);
      return;
    }
    if (r.nv === POSTED_INTR_WAKEUP_VECTOR) {
      const blocked = this.vcpus[owner];
      if (!blocked) return;
      vcpu.hostInterrupt(t, (m) => {
        m.charge('host-kernel', COSTS.hostIrqEntry.ns, 'host-irq', 'wake-up notification vector');
        m.charge('host-kernel', COSTS.piWakeupHandler.ns, 'pi-wakeup', 'pi_wakeup_handler: wake the blocked vCPU');
        blocked.wake(m.t);
      });
      return;
    }
    this.#warn('posting-vector', `A posted-interrupt notification used vector ${hex(r.nv)}, which KVM does not handle.`, t);
  }

  #warn(code: string, message: string, t: Ns): void {
    const d: Diagnostic = { severity: 'warning', code, message, t };
    diagnose(this.env, d);
  }
}
