/**
 * The VM side of the multi-VM scenarios (./sriov.ts), kept minimal so 64 VMs stay fast: one
 * vCPU per VM on its own physical CPU (a serial resource, "VM i pCPU", that also runs KVM's and
 * the host's per-VM work), frames counted rather than kept.
 *
 * VfGuest — a VF assigned to the VM (VMDc/SR-IOV, CALIBRATION §3.5, §3.9): the VF's RX queue
 * DMA-writes each frame and its descriptor write-back into guest RAM through VT-d with the VF's
 * routing ID (the VM's own domain); the PCIe transfer itself is the switch's shared link
 * (hw/sriov-nic/switch.ts Veb.pcieUp), so it is charged once. The VF's MSI-X vector is moderated
 * (adaptive coalescing, COSTS.vfAdaptiveItr) and auto-masked until NAPI re-enables it; the MSI is
 * remapped by the host's IRT to the VM's posted-interrupt descriptor (hw/iommu/posted.ts): a
 * running vCPU takes it without an exit, a halted one is woken by pi_wakeup_handler.
 *
 * PvGuest — a virtio-net guest whose RX ring a host thread fills (VMDq's per-queue vSwitch
 * thread, the single vSwitch thread without VMDq, or a vhost-net worker): the thread calls
 * `deliver()` per frame it copied, then `notify()` signals the irqfd when the guest has its
 * callbacks enabled (NAPI not running: event-index suppression otherwise).
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import { SerialThread, type HostEnv, type Meter } from '../hv/host.ts';
import type { VtdIommu } from '../hw/iommu/dma-remap.ts';
import type { InterruptRemapper } from '../hw/iommu/irq-remap.ts';
import type { GuestMemory } from '../hw/memory.ts';
import { blockVcpu, drainPir, postInterrupt, POSTED_INTR_VECTOR, runVcpu } from '../hw/iommu/posted.ts';
import type { ResourceSlot } from '../sim/metrics.ts';
import type { VmPlatform } from './sriov-host.ts';

/** The VT-d unit's translation pipeline shared by every VF: a serial resource. */
export interface IommuLane {
  readonly slot: ResourceSlot;
  freeAt: Ns;
}

/** NAPI budget per poll (Linux's default weight). */
const NAPI_WEIGHT = 64;
/** GPA of the VF driver's RX descriptor ring and of its 2 KiB buffers. */
const RX_DESC_GPA = 0x10_0000;
const RX_BUF_GPA = 0x20_0000;

/** What every guest model shares: its pCPU, halting, the per-VM host tick, delivery accounting. */
abstract class GuestBase {
  readonly env: HostEnv;
  readonly cpu: SerialThread;
  readonly index: number;
  /** Frames the driver has not processed yet (written by the device, not yet polled). */
  pending = 0;
  polling = false;
  halted = true;
  received = 0;
  drops = 0;
  /** Arrival time of each pending frame at the port (only when latency is tracked). */
  readonly arrivals: { t: Ns; slow: boolean; first?: boolean }[] = [];
  trackLatency = false;
  onReceived: (bytes: number, t: Ns, arrival: { t: Ns; slow: boolean; first?: boolean } | undefined) => void = () => {};
  readonly ringSize: number;

  constructor(env: HostEnv, index: number, ringSize: number) {
    this.env = env;
    this.index = index;
    this.ringSize = ringSize;
    this.cpu = new SerialThread(env, `VM ${index} pCPU`);
  }

  /** KVM's per-VM housekeeping on the vCPU's core, every vmHostTickPeriod from `from` until `stop()`. */
  startTick(from: Ns, stop: () => boolean): void {
    const period = COSTS.vmHostTickPeriod.ns;
    const tick = (): void => {
      if (stop()) return;
      this.cpu.submit(this.env.sched.now, (m) => m.charge('kvm', COSTS.vmHostTick.ns, 'vm-tick', () => `KVM: VM ${this.index} timer, scheduling, housekeeping`));
      this.env.sched.schedule(period, tick);
    };
    this.env.sched.at(from + (this.index * 7919) % period, tick);
  }

  protected poll(m: Meter, frameBytes: number, perFrameRefill: number): void {
    const n = Math.min(this.pending, NAPI_WEIGHT);
    this.pending -= n;
    m.charge('guest', COSTS.guestNapiPoll.ns, 'napi', () => `VM ${this.index}: NAPI poll, ${n} frame(s)`);
    for (let i = 0; i < n; i++) {
      m.charge('guest', COSTS.guestRxPerPacket.ns + perFrameRefill, 'guest-rx', 'netif_receive_skb + refill');
      this.received++;
      const a = this.trackLatency ? this.arrivals.shift() : undefined;
      this.onReceived(frameBytes, m.t, a);
    }
  }

  /** The vCPU has nothing left: HLT (an exit, handled in KVM); the caller arms its wake-up. */
  protected halt(m: Meter): void {
    this.halted = true;
    this.env.metrics.exit(m.t, 'HLT', false);
    m.charge('kvm', COSTS.exitHardware.ns + COSTS.exitKvmHandler.ns, 'exit', () => `VM ${this.index}: HLT exit, vCPU blocks`);
  }

  /** KVM wakes the halted vCPU thread (schedule(), VM entry) on its core. */
  protected wake(m: Meter): void {
    this.halted = false;
    m.charge('kvm', COSTS.haltWakeup.ns, 'wakeup', () => `KVM: wake VM ${this.index}'s vCPU`);
  }
}

/** A VF assigned to the VM (SR-IOV): DMA through VT-d, posted interrupts, a NAPI driver. */
export class VfGuest extends GuestBase {
  readonly vm: VmPlatform;
  readonly iommu: VtdIommu;
  readonly irt: InterruptRemapper;
  readonly kernelMem: GuestMemory;
  readonly itrNs: Ns;
  readonly #lane: IommuLane;
  #slot = 0;
  #masked = false;
  #irqArmed = false;
  #lastIrq = -Infinity;
  readonly #desc = new Uint8Array(16);
  frameBytes = 0;

  constructor(env: HostEnv, vm: VmPlatform, o: { iommu: VtdIommu; irt: InterruptRemapper; kernelMem: GuestMemory; ringSize: number; itrNs: Ns; iommuLane: IommuLane }) {
    super(env, vm.index, o.ringSize);
    this.vm = vm;
    this.iommu = o.iommu;
    this.irt = o.irt;
    this.kernelMem = o.kernelMem;
    this.itrNs = o.itrNs;
    this.#lane = o.iommuLane;
    blockVcpu(this.kernelMem, vm.pid);
  }

  /** The switch handed the VF pool a frame at `t` (its PCIe transfer is done): DMA it into the ring. */
  receive(frame: Uint8Array, t: Ns, arrival?: { t: Ns; slow: boolean; first?: boolean }): void {
    const m = this.env.metrics;
    if (this.pending >= this.ringSize) {
      this.drops++;
      m.count(t, 'drops');
      return;
    }
    const slot = this.#slot;
    this.#slot = (slot + 1) % this.ringSize;
    const s = this.iommu.stats;
    const h0 = s.hits;
    const m0 = s.misses;
    const w0 = s.walkReads + s.contextReads;
    const data = this.iommu.dmaWrite(this.vm.rid, RX_BUF_GPA + slot * 2048, frame);
    this.#desc[8] = 1; // DD in the write-back status
    this.#desc[12] = frame.length & 0xff;
    this.#desc[13] = frame.length >> 8;
    const wb = data.ok ? this.iommu.dmaWrite(this.vm.rid, RX_DESC_GPA + slot * 16, this.#desc) : data;
    const ns = data.ns + (data.ok ? wb.ns : 0);
    m.count(t, 'dmaOps', 2);
    if (s.hits > h0) m.count(t, 'iotlbHits', s.hits - h0);
    if (s.misses > m0) m.count(t, 'iotlbMisses', s.misses - m0);
    if (s.walkReads + s.contextReads > w0) m.count(t, 'iommuWalkReads', s.walkReads + s.contextReads - w0);
    // The IOMMU translates one request at a time: a walk delays the frames behind it.
    const start = Math.max(t, this.#lane.freeAt);
    this.#lane.freeAt = start + ns;
    if (ns > 0) m.charge('nic', this.#lane.slot, start, ns);
    if (!data.ok || !wb.ok) {
      m.count(t, 'iommuFaults');
      this.drops++;
      return;
    }
    this.frameBytes = frame.length;
    this.pending++;
    if (this.trackLatency && arrival) this.arrivals.push(arrival);
    if (!this.#masked) this.#armIrq(start + ns);
  }

  /** EITR: the vector fires at most once per itrNs; the 82599 auto-masks it (EIAM) until NAPI is done. */
  #armIrq(t: Ns): void {
    if (this.#irqArmed) return;
    this.#irqArmed = true;
    this.env.sched.at(Math.max(t, this.#lastIrq + this.itrNs), () => this.#fire());
  }

  #fire(): void {
    const env = this.env;
    const t = env.sched.now;
    this.#irqArmed = false;
    this.#lastIrq = t;
    this.#masked = true;
    env.metrics.count(t, 'interruptsRaised');
    const r = this.irt.remap(this.vm.rid, this.vm.msi.address, this.vm.msi.data);
    if (r.kind !== 'posted') {
      env.metrics.count(t, 'interruptFaults');
      return;
    }
    const p = postInterrupt(this.kernelMem, r.pda, r.vector, r.urgent);
    env.metrics.count(t, 'postedInterrupts');
    if (p.kind !== 'notify') return;
    const at = t + COSTS.pcieWriteLatency.ns;
    this.cpu.submit(at, (m) => {
      if (p.nv !== POSTED_INTR_VECTOR) {
        // Blocked vCPU: the wake-up vector reaches the host, pi_wakeup_handler wakes the vCPU.
        m.charge('host-kernel', COSTS.piWakeupHandler.ns, 'pi-wakeup', () => `pi_wakeup_handler: wake VM ${this.index}`);
        this.wake(m);
        runVcpu(this.kernelMem, this.vm.pid, { apicId: this.vm.apicId });
      }
      drainPir(this.kernelMem, this.vm.pid);
      env.metrics.count(m.t, 'interruptsInjected');
      env.metrics.count(m.t, 'irqDeliveryNs', m.t - t);
      m.charge('guest', COSTS.guestIsr.ns, 'isr', () => `VM ${this.index}: VF interrupt (posted, no exit)`);
      this.#napi(m);
    });
  }

  /** The VF's TX queue (sriov-tx), cleaned and refilled in the same NAPI poll (one vector per queue pair, as ixgbevf). */
  tx: { clean(m: Meter): void; xmit(m: Meter): void; readonly hasWork: boolean } | undefined;

  /** A TX descriptor was written back at `t`: the queue pair's cause, moderated like RX. */
  txCompleted(t: Ns): void {
    if (!this.#masked) this.#armIrq(t);
  }

  /** The application starts sending at `t`: the halted vCPU is woken (as by its own timer). */
  start(t: Ns): void {
    this.cpu.submit(t, (m) => {
      this.wake(m);
      runVcpu(this.kernelMem, this.vm.pid, { apicId: this.vm.apicId });
      this.#masked = true;
      this.#napi(m);
    });
  }

  #napi(m: Meter): void {
    this.poll(m, this.frameBytes, COSTS.guestRxRefill.ns);
    if (this.tx) {
      this.tx.clean(m);
      this.tx.xmit(m);
    }
    const done = m.t;
    this.cpu.submit(done, (m2) => {
      if (this.pending > 0 || this.tx?.hasWork) return this.#napi(m2);
      // napi_complete_done: re-enable the vector (EIMS, a posted write: no exit), then idle.
      this.#masked = false;
      this.halt(m2);
      const b = blockVcpu(this.kernelMem, this.vm.pid);
      if (this.pending > 0 || b.wakeNow) this.#armIrq(m2.t);
    });
  }
}

/** A virtio-net guest fed by a host thread (VMDq, no VMDq, vhost-net). */
export class PvGuest extends GuestBase {
  frameBytes = 0;

  /** The backend copied one frame into the RX ring at `t`; false if the ring was full (dropped). */
  deliver(bytes: number, t: Ns, arrival?: { t: Ns; slow: boolean; first?: boolean }): boolean {
    if (this.pending >= this.ringSize) {
      this.drops++;
      this.env.metrics.count(t, 'drops');
      return false;
    }
    this.frameBytes = bytes;
    this.pending++;
    if (this.trackLatency && arrival) this.arrivals.push(arrival);
    return true;
  }

  /** Does the backend need to signal the irqfd (callbacks enabled)? */
  get wantsInterrupt(): boolean {
    return !this.polling && this.pending > 0;
  }

  /** The irqfd fired at `t`: KVM injects (waking the vCPU if it halted). */
  interrupt(t: Ns): void {
    if (this.polling) return;
    this.polling = true;
    const t0 = t;
    this.cpu.submit(t, (m) => {
      if (this.halted) this.wake(m);
      m.charge('kvm', COSTS.injectInterrupt.ns, 'inject', () => `KVM: inject virtio-net RX interrupt into VM ${this.index}`);
      this.env.metrics.count(m.t, 'interruptsInjected');
      this.env.metrics.count(m.t, 'irqDeliveryNs', m.t - t0);
      m.charge('guest', COSTS.guestIsr.ns, 'isr', () => `VM ${this.index}: virtio-net interrupt`);
      this.#napi(m);
    });
  }

  #napi(m: Meter): void {
    this.poll(m, this.frameBytes, COSTS.guestVirtioAdd.ns);
    this.cpu.submit(m.t, (m2) => {
      if (this.pending > 0) return this.#napi(m2);
      this.polling = false;
      this.halt(m2);
    });
  }
}
