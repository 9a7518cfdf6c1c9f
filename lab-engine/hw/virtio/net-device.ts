/**
 * A virtio-net device behind the virtio-over-PCI "modern" transport (virtio 1.2 §4.1): the
 * common configuration structure (§4.1.4.3), the notification area (§4.1.4.4), the ISR byte and
 * the device-specific configuration (§5.1.4), laid out in one memory BAR:
 *   0x0000 common cfg · 0x1000 ISR · 0x2000 device cfg · 0x3000 + 4 × queue_notify_off notify
 * The device handles status and feature negotiation itself (§3.1.1) and hands queue work to a
 * backend (QEMU user space, vhost-net, vhost-user …, in hv/virtio-backends.ts). A malformed ring
 * sets DEVICE_NEEDS_RESET (§2.1.2) with the reason; the queues stop; nothing throws.
 *
 * Simplifications: no config-change interrupt vector, no control virtqueue (queue pairs are set
 * directly from the negotiated MQ and `pairs`, where Linux would send
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET), one MSI-X vector per queue.
 */
import type { GuestMemory } from '../memory.ts';
import type { Meter, HostEnv } from '../../hv/host.ts';
import type { MmioDevice } from '../../hv/guest-ops.ts';
import { diagnose } from '../../hv/host.ts';
import * as S from './spec.ts';
import { DeviceQueue, type QueueLayout, type RingError } from './split-ring.ts';

/** virtio 1.2 §4.1.4.3 struct virtio_pci_common_cfg, byte offsets. */
export const COMMON = {
  deviceFeatureSelect: 0x00, deviceFeature: 0x04, driverFeatureSelect: 0x08, driverFeature: 0x0c,
  msixConfig: 0x10, numQueues: 0x12, deviceStatus: 0x14, configGeneration: 0x15,
  queueSelect: 0x16, queueSize: 0x18, queueMsixVector: 0x1a, queueEnable: 0x1c, queueNotifyOff: 0x1e,
  queueDescLo: 0x20, queueDescHi: 0x24, queueDriverLo: 0x28, queueDriverHi: 0x2c, queueDeviceLo: 0x30, queueDeviceHi: 0x34,
} as const;
export const BAR = { common: 0x0000, isr: 0x1000, device: 0x2000, notify: 0x3000, notifyMultiplier: 4 } as const;
/** §5.1.4 struct virtio_net_config: mac[6], status le16, max_virtqueue_pairs le16, mtu le16. */
export const NET_CONFIG = { mac: 0, status: 6, maxVirtqueuePairs: 8, mtu: 10 } as const;

const COMMON_NAMES = new Map<number, string>(Object.entries(COMMON).map(([k, v]) => [v, k]));

interface QueueConfig {
  size: number;
  maxSize: number;
  enable: boolean;
  desc: number;
  driver: number;
  device: number;
  msix: number;
}

export interface VirtioBackend {
  readonly name: string;
  /** The driver set DRIVER_OK: the queues are live. */
  activate(dev: VirtioNetDevice): void;
  /**
   * The driver notified queue `q`. Runs on the vCPU thread inside the exit (in KVM when an
   * ioeventfd caught the write, else in QEMU); real work belongs on the backend's own thread.
   */
  kick(q: number, m: Meter): void;
}

export interface VirtioNetOptions {
  mac: number[];
  maxPairs: number;
  queueMaxSize: number;
  /** Features the device offers (the backend's capabilities). */
  offered: S.Features;
  /** Register ioeventfds for the notify addresses (QEMU `ioeventfd=on`; required by vhost). */
  ioeventfd: boolean;
}

export class VirtioNetDevice implements MmioDevice {
  readonly name = 'virtio-net';
  readonly env: HostEnv;
  readonly mem: GuestMemory;
  readonly opts: VirtioNetOptions;
  status = 0;
  driverFeatures: S.Features = { lo: 0, hi: 0 };
  #devFeatureSel = 0;
  #drvFeatureSel = 0;
  #queueSel = 0;
  readonly #qcfg: QueueConfig[];
  /** Live device-side queues, by virtqueue index, once DRIVER_OK. */
  queues: (DeviceQueue | undefined)[] = [];
  needsResetReason: string | undefined;
  backend: VirtioBackend | undefined;
  /** The exit a notification causes: EPT_MISCONFIG (MMIO doorbell) or VMCALL (Xen event channel). */
  notifyExit: 'EPT_MISCONFIG' | 'VMCALL' = 'EPT_MISCONFIG';
  /** Deliver MSI-X vector `vector` at time `at` (set by the host: irqfd → KVM). */
  onInterrupt: ((vector: number, at: number) => void) | undefined;
  /** Called once when the device enters NEEDS_RESET. */
  onNeedsReset: ((reason: string, t: number) => void) | undefined;

  constructor(env: HostEnv, mem: GuestMemory, opts: VirtioNetOptions) {
    this.env = env;
    this.mem = mem;
    this.opts = opts;
    const nq = 2 * opts.maxPairs;
    this.#qcfg = Array.from({ length: nq }, () => ({ size: opts.queueMaxSize, maxSize: opts.queueMaxSize, enable: false, desc: 0, driver: 0, device: 0, msix: 0xffff }));
  }

  get numQueues(): number {
    return this.#qcfg.length;
  }

  has(bit: number): boolean {
    return S.hasFeature(this.driverFeatures, bit);
  }

  get live(): boolean {
    return (this.status & S.STATUS_DRIVER_OK) !== 0 && (this.status & S.STATUS_NEEDS_RESET) === 0;
  }

  queueLayout(q: number): QueueLayout {
    const c = this.#qcfg[q]!;
    return { size: c.size, desc: c.desc, avail: c.driver, used: c.device };
  }

  msixVector(q: number): number {
    return this.#qcfg[q]?.msix ?? 0xffff;
  }

  regName(offset: number): string {
    if (offset >= BAR.notify) return `notify vq ${(offset - BAR.notify) / BAR.notifyMultiplier}`;
    if (offset >= BAR.device) return `net config +${offset - BAR.device}`;
    if (offset >= BAR.isr) return 'ISR';
    return COMMON_NAMES.get(offset) ?? `common cfg +0x${offset.toString(16)}`;
  }

  ioeventfd(offset: number): string | undefined {
    if (!this.opts.ioeventfd || offset < BAR.notify) return undefined;
    const q = (offset - BAR.notify) / BAR.notifyMultiplier;
    return this.notifyExit === 'VMCALL' ? `event channel of vq ${q}` : `ioeventfd of vq ${q}`;
  }

  mmioRead(offset: number): number {
    if (offset >= BAR.notify) return 0;
    if (offset >= BAR.device) return this.#readConfig(offset - BAR.device);
    if (offset >= BAR.isr) return 0; // MSI-X in use: the ISR byte is not needed (§4.1.4.5)
    const q = this.#qcfg[this.#queueSel];
    switch (offset) {
      case COMMON.deviceFeatureSelect: return this.#devFeatureSel;
      case COMMON.deviceFeature: return this.#devFeatureSel === 0 ? this.opts.offered.lo : this.#devFeatureSel === 1 ? this.opts.offered.hi : 0;
      case COMMON.driverFeatureSelect: return this.#drvFeatureSel;
      case COMMON.driverFeature: return this.#drvFeatureSel === 0 ? this.driverFeatures.lo : this.driverFeatures.hi;
      case COMMON.numQueues: return this.#qcfg.length;
      case COMMON.deviceStatus: return this.status;
      case COMMON.configGeneration: return 0;
      case COMMON.queueSelect: return this.#queueSel;
      case COMMON.queueSize: return q ? q.size : 0;
      case COMMON.queueMsixVector: return q ? q.msix : 0xffff;
      case COMMON.queueEnable: return q?.enable ? 1 : 0;
      case COMMON.queueNotifyOff: return this.#queueSel;
      default: return 0;
    }
  }

  #readConfig(off: number): number {
    if (off < 6) return this.opts.mac[off] ?? 0;
    if (off === NET_CONFIG.status) return 1; // VIRTIO_NET_S_LINK_UP
    if (off === NET_CONFIG.maxVirtqueuePairs) return this.opts.maxPairs;
    if (off === NET_CONFIG.mtu) return 1500;
    return 0;
  }

  mmioWrite(offset: number, value: number, m: Meter): void {
    if (offset >= BAR.notify) {
      const q = (offset - BAR.notify) / BAR.notifyMultiplier;
      if (!this.live || !Number.isInteger(q) || q >= this.#qcfg.length) return;
      this.env.metrics.count(m.t, 'kicks');
      this.backend?.kick(q, m);
      return;
    }
    if (offset >= BAR.isr) return;
    const q = this.#qcfg[this.#queueSel];
    const locked = (this.status & S.STATUS_DRIVER_OK) !== 0;
    switch (offset) {
      case COMMON.deviceFeatureSelect: this.#devFeatureSel = value >>> 0; return;
      case COMMON.driverFeatureSelect: this.#drvFeatureSel = value >>> 0; return;
      case COMMON.driverFeature:
        if (this.status & S.STATUS_FEATURES_OK) return; // §3.1.1: features are fixed once accepted
        if (this.#drvFeatureSel === 0) this.driverFeatures = { ...this.driverFeatures, lo: value >>> 0 };
        else if (this.#drvFeatureSel === 1) this.driverFeatures = { ...this.driverFeatures, hi: value >>> 0 };
        return;
      case COMMON.deviceStatus: this.#writeStatus(value & 0xff, m); return;
      case COMMON.queueSelect: this.#queueSel = value & 0xffff; return;
    }
    if (!q || locked) return;
    switch (offset) {
      case COMMON.queueSize: {
        const v = value & 0xffff;
        // §4.1.4.3.2: the driver may only reduce it, to a power of 2 (split ring).
        if (v > 0 && v <= q.maxSize && (v & (v - 1)) === 0) q.size = v;
        return;
      }
      case COMMON.queueMsixVector: q.msix = value & 0xffff; return;
      case COMMON.queueEnable: q.enable = (value & 1) === 1; return;
      case COMMON.queueDescLo: q.desc = q.desc - (q.desc % 2 ** 32) + (value >>> 0); return;
      case COMMON.queueDescHi: q.desc = (value >>> 0) * 2 ** 32 + (q.desc % 2 ** 32); return;
      case COMMON.queueDriverLo: q.driver = q.driver - (q.driver % 2 ** 32) + (value >>> 0); return;
      case COMMON.queueDriverHi: q.driver = (value >>> 0) * 2 ** 32 + (q.driver % 2 ** 32); return;
      case COMMON.queueDeviceLo: q.device = q.device - (q.device % 2 ** 32) + (value >>> 0); return;
      case COMMON.queueDeviceHi: q.device = (value >>> 0) * 2 ** 32 + (q.device % 2 ** 32); return;
    }
  }

  #writeStatus(v: number, m: Meter): void {
    if (v === 0) {
      this.#reset();
      return;
    }
    if (v & S.STATUS_FEATURES_OK && !(this.status & S.STATUS_FEATURES_OK)) {
      // §3.1.1 step 5 / §2.2.2: accept the subset only if it is one we offered and includes VERSION_1.
      const ok = S.featureSubset(this.driverFeatures, this.opts.offered) && S.hasFeature(this.driverFeatures, S.VIRTIO_F_VERSION_1);
      if (!ok) v &= ~S.STATUS_FEATURES_OK;
    }
    const wasOk = (this.status & S.STATUS_DRIVER_OK) !== 0;
    this.status = (this.status & S.STATUS_NEEDS_RESET) | v;
    if (!wasOk && v & S.STATUS_DRIVER_OK) this.#activate(m);
  }

  #reset(): void {
    this.status = 0;
    this.driverFeatures = { lo: 0, hi: 0 };
    this.queues = [];
    this.needsResetReason = undefined;
    for (const q of this.#qcfg) Object.assign(q, { size: q.maxSize, enable: false, desc: 0, driver: 0, device: 0, msix: 0xffff });
  }

  #activate(m: Meter): void {
    const eventIdx = this.has(S.VIRTIO_F_EVENT_IDX);
    const indirect = this.has(S.VIRTIO_F_INDIRECT_DESC);
    this.queues = this.#qcfg.map((c, i) => {
      if (!c.enable) return undefined;
      const size = c.size;
      const ends = [[c.desc, S.descTableBytes(size)], [c.driver, S.availRingBytes(size)], [c.device, S.usedRingBytes(size)]] as const;
      for (const [addr, len] of ends) {
        if (!this.mem.contains(addr, len)) {
          this.needsReset(`queue ${i}: ring area 0x${addr.toString(16)} (+${len}) lies outside guest memory`, m.t);
          return undefined;
        }
      }
      // The base index: rings start zeroed (base 0); a driver resuming at another base (the lab
      // starts near 65535) leaves it in used.idx, standing in for VHOST_SET_VRING_BASE.
      const q = new DeviceQueue(this.mem, this.queueLayout(i), { eventIdx, indirect, startIdx: this.mem.read16(c.device + S.USED_IDX) });
      // A TX queue starts with kicks wanted: avail_event = the base index (as vhost_enable_notify
      // does after VHOST_SET_VRING_BASE), so the first buffer made available is notified. RX
      // queues want no kicks: the backend takes posted buffers when frames arrive (vhost's
      // handle_rx keeps notifications off while the guest keeps the ring stocked).
      if (i % 2 === 1) q.enableKicks();
      else q.disableKicks();
      return q;
    });
    m.mark('qemu', 'virtio-status', () => `virtio-net DRIVER_OK: features lo=0x${this.driverFeatures.lo.toString(16)} hi=0x${this.driverFeatures.hi.toString(16)}`);
    this.backend?.activate(this);
  }

  /** §2.1.2: the device hit an error it cannot recover from; the driver must reset it. */
  needsReset(reason: string, t: number): void {
    if (this.status & S.STATUS_NEEDS_RESET) return;
    this.status |= S.STATUS_NEEDS_RESET;
    this.needsResetReason = reason;
    diagnose(this.env, { severity: 'error', code: 'virtio-needs-reset', message: `virtio-net set DEVICE_NEEDS_RESET: ${reason}.`, t });
    this.env.trace.emit(t, 0, 'qemu', 'needs-reset', () => `DEVICE_NEEDS_RESET: ${reason}`);
    this.onNeedsReset?.(reason, t);
  }

  /** Report a malformed chain on queue `q` (used by backends when pop() fails). */
  ringError(q: number, e: RingError, t: number): void {
    this.needsReset(`queue ${q} (${q % 2 === 0 ? 'RX' : 'TX'}): ${e.message}`, t);
  }

  /** Signal the queue's MSI-X vector (through an irqfd). */
  interrupt(q: number, at: number): void {
    const v = this.msixVector(q);
    if (v === 0xffff) return; // §4.1.5.1.2: VIRTIO_MSI_NO_VECTOR — no interrupt for this queue
    this.onInterrupt?.(v, at);
  }
}
