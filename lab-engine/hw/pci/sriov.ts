/**
 * SR-IOV Virtual Functions (SR-IOV 1.1 §2–§3; CALIBRATION §3.5): a Physical Function whose
 * SR-IOV capability (./ext-caps.ts) creates, places and removes its VFs.
 *
 * - Setting VF Enable (with NumVFs ≥ 1, ext-caps.ts refuses the rest) creates NumVFs functions at
 *   routing IDs PF RID + First VF Offset + i × VF Stride (§2.1.2; 16-bit bus:devfn arithmetic,
 *   so VFs past devfn 0xFF land on the next bus numbers: Linux pci_iov_virtfn_bus/devfn()).
 *   Clearing VF Enable removes them (their state is lost, §3.3.3.1).
 * - Each VF has its own configuration space (hw/pci/config-space.ts with `isVf`): Vendor and
 *   Device ID read 0xFFFF (§3.4.1.1–2); software takes the vendor from the PF and the device id
 *   from the PF's VF Device ID field, as Linux pci_iov_add_virtfn() does (linuxVfIds()).
 * - VF i's BAR k is at VF_BARk + size_k × i (§3.3.14, Linux pci_iov_add_virtfn()); memory
 *   decoding of every VF is gated by the PF's VF MSE bit (§3.3.3.4), not by the VF's Command.
 * - Software must wait 100 ms after setting VF Enable before a configuration request to a VF
 *   (§3.3.3.1; Linux sriov_enable() msleep(100)). A request earlier than that is, in this model,
 *   completed as the Root Complex completes one to a function that is not there: reads return
 *   all ones, writes are dropped, and each counts in `earlyConfigRequests` with a diagnostic.
 *   (Real hardware may instead answer Configuration Request Retry Status; with CRS Software
 *   Visibility a Vendor ID read would then return 0x0001. Neither is modelled.)
 */
import * as P from './regs.ts';
import { PciConfigSpace, type PciFunctionSpec } from './config-space.ts';
import type { SriovWriteEffect } from './ext-caps.ts';
import { COSTS } from '../../sim/costs.ts';
import { diagnose, type HostEnv } from '../../hv/host.ts';
import type { Ns } from '../../sim/time.ts';

/** Linux pci_iov_virtfn_bus(): the VF's bus number (may exceed the PF's bus). */
export const virtfnBus = (pfBus: number, pfDevfn: number, offset: number, stride: number, vfId: number): number =>
  pfBus + ((pfDevfn + offset + stride * vfId) >> 8);
/** Linux pci_iov_virtfn_devfn(). */
export const virtfnDevfn = (pfDevfn: number, offset: number, stride: number, vfId: number): number =>
  (pfDevfn + offset + stride * vfId) & 0xff;
/** The VF's 16-bit routing ID as the spec writes it: PF RID + offset + i × stride (bus in 15:8). */
export const virtfnRid = (pfRid: number, offset: number, stride: number, vfId: number): number =>
  (pfRid + offset + stride * vfId) & 0xffff;
export const ridString = (rid: number): string =>
  `${((rid >>> 8) & 0xff).toString(16).padStart(2, '0')}:${((rid >>> 3) & 0x1f).toString(16).padStart(2, '0')}.${rid & 7}`;

export interface VirtualFunction {
  /** 0-based VF number (Linux vf_id; sysfs virtfn<i>). */
  readonly index: number;
  readonly rid: number;
  readonly bus: number;
  readonly devfn: number;
  readonly config: PciConfigSpace;
}

export class SriovPf {
  readonly env: HostEnv;
  readonly config: PciConfigSpace;
  readonly rid: number;
  readonly cap: number;
  readonly #vfSpec: PciFunctionSpec;
  #vfs: VirtualFunction[] = [];
  #byRid = new Map<number, VirtualFunction>();
  #enabledAt: Ns = 0;
  readonly stats = { vfEnables: 0, vfDisables: 0, ignoredWrites: 0, earlyConfigRequests: 0 };
  /** After VFs appear (VF Enable set) or go (cleared): the scenario wires or unwires them. */
  onVfsChanged: ((vfs: readonly VirtualFunction[]) => void) | undefined;

  /** `pfRid` = bus << 8 | devfn of the PF; `vfSpec` = each VF's own header. */
  constructor(env: HostEnv, config: PciConfigSpace, pfRid: number, vfSpec: PciFunctionSpec) {
    if (!config.sriovCap) throw new Error('the function has no SR-IOV capability');
    this.env = env;
    this.config = config;
    this.rid = pfRid & 0xffff;
    this.cap = config.sriovCap;
    this.#vfSpec = vfSpec;
    config.onSriovWrite = (e) => this.#written(e);
  }

  #reg(o: number, w: 1 | 2 | 4): number {
    return this.config.read(this.cap + o, w);
  }
  get totalVfs(): number {
    return this.#reg(P.PCI_SRIOV_TOTAL_VF, 2);
  }
  get numVfs(): number {
    return this.#reg(P.PCI_SRIOV_NUM_VF, 2);
  }
  get firstVfOffset(): number {
    return this.#reg(P.PCI_SRIOV_VF_OFFSET, 2);
  }
  get vfStride(): number {
    return this.#reg(P.PCI_SRIOV_VF_STRIDE, 2);
  }
  get vfEnabled(): boolean {
    return (this.#reg(P.PCI_SRIOV_CTRL, 2) & P.PCI_SRIOV_CTRL_VFE) !== 0;
  }
  get vfMemoryEnabled(): boolean {
    return (this.#reg(P.PCI_SRIOV_CTRL, 2) & P.PCI_SRIOV_CTRL_MSE) !== 0;
  }
  get vfs(): readonly VirtualFunction[] {
    return this.#vfs;
  }
  /** When configuration requests to the VFs may start (VF Enable + 100 ms). */
  get vfsReadyAt(): Ns {
    return this.#enabledAt + COSTS.sriovVfEnableWait.ns;
  }

  #written(e: SriovWriteEffect): void {
    const t = this.env.sched.now;
    for (const what of e.ignored) {
      this.stats.ignoredWrites++;
      diagnose(this.env, { severity: 'warning', code: 'sriov-write-ignored', t, message: `PF ${ridString(this.rid)}: write to ${what} ignored by the SR-IOV capability` });
    }
    const was = (e.ctrlBefore & P.PCI_SRIOV_CTRL_VFE) !== 0;
    const is = (e.ctrlAfter & P.PCI_SRIOV_CTRL_VFE) !== 0;
    if (was === is) return;
    if (is) {
      this.stats.vfEnables++;
      this.#enabledAt = t;
      const [pfBus, pfDevfn] = [this.rid >>> 8, this.rid & 0xff];
      for (let i = 0; i < this.numVfs; i++) {
        const bus = virtfnBus(pfBus, pfDevfn, this.firstVfOffset, this.vfStride, i);
        const devfn = virtfnDevfn(pfDevfn, this.firstVfOffset, this.vfStride, i);
        const vf: VirtualFunction = { index: i, rid: virtfnRid(this.rid, this.firstVfOffset, this.vfStride, i), bus, devfn, config: new PciConfigSpace(this.#vfSpec) };
        this.#vfs.push(vf);
        this.#byRid.set(vf.rid, vf);
      }
      this.env.trace.emit(t, 0, 'nic', 'sriov-enable', () => `PF ${ridString(this.rid)}: VF Enable, ${this.numVfs} VFs from ${ridString(this.#vfs[0]!.rid)}`);
    } else {
      this.stats.vfDisables++;
      this.#vfs = [];
      this.#byRid.clear();
      this.env.trace.emit(t, 0, 'nic', 'sriov-disable', () => `PF ${ridString(this.rid)}: VF Enable cleared, VFs removed`);
    }
    this.onVfsChanged?.(this.#vfs);
  }

  /** The VF at routing ID `rid`, if VF Enable created one there. */
  vfAt(rid: number): VirtualFunction | undefined {
    return this.#byRid.get(rid & 0xffff);
  }

  #early(rid: number, what: string): boolean {
    const t = this.env.sched.now;
    if (t >= this.vfsReadyAt) return false;
    this.stats.earlyConfigRequests++;
    diagnose(this.env, { severity: 'error', code: 'sriov-vf-not-ready', t, message: `configuration ${what} to VF ${ridString(rid)} ${((t - this.#enabledAt) / 1e6).toFixed(6)} ms after VF Enable: the spec requires 100 ms; ${what === 'read' ? 'read as all ones' : 'dropped'}` });
    return true;
  }

  /** A configuration read routed by RID: the PF, one of its VFs, or nothing there (all ones). */
  configRead(rid: number, offset: number, size: 1 | 2 | 4): number {
    const ones = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    if ((rid & 0xffff) === this.rid) return this.config.read(offset, size);
    const vf = this.vfAt(rid);
    if (!vf || this.#early(rid, 'read')) return ones;
    return vf.config.read(offset, size);
  }

  configWrite(rid: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if ((rid & 0xffff) === this.rid) return this.config.write(offset, size, value);
    const vf = this.vfAt(rid);
    if (vf && !this.#early(rid, 'write')) vf.config.write(offset, size, value);
  }

  /** One VF's size of VF BAR k (0 if not implemented). */
  vfBarSize(k: number): number {
    return this.config.spec.extended?.flatMap((c) => (c.kind === 'sriov' ? [c.vfBars[k]?.size ?? 0] : []))[0] ?? 0;
  }

  /** VF BAR k's base as programmed in the PF (64-bit BARs combine both dwords), flag bits removed. */
  vfBarBase(k: number): number {
    const o = this.cap + P.PCI_SRIOV_BAR + 4 * k;
    const lo = this.config.read(o, 4);
    const base = (lo & P.PCI_BASE_ADDRESS_MEM_MASK) >>> 0;
    return lo & P.PCI_BASE_ADDRESS_MEM_TYPE_64 ? base + this.config.read(o + 4, 4) * 0x1_0000_0000 : base;
  }

  /** What firmware / Linux pci_assign_resource does: program VF BAR k's base. */
  assignVfBar(k: number, address: number): void {
    const o = this.cap + P.PCI_SRIOV_BAR + 4 * k;
    this.config.write(o, 4, address >>> 0);
    if (this.config.read(o, 4) & P.PCI_BASE_ADDRESS_MEM_TYPE_64) this.config.write(o + 4, 4, Math.floor(address / 0x1_0000_0000) >>> 0);
  }

  /** VF i's BAR k address (base + size × i), or undefined if not implemented, VF i does not exist or VF MSE is off. */
  vfBarAddress(i: number, k: number): number | undefined {
    const size = this.vfBarSize(k);
    if (!size || !this.vfMemoryEnabled || i < 0 || i >= this.#vfs.length) return undefined;
    return this.vfBarBase(k) + size * i;
  }

  /** Which VF and BAR decode a memory address (VF MSE on), with the offset inside that BAR. */
  decode(addr: number): { vf: VirtualFunction; bar: number; offset: number } | undefined {
    if (!this.vfMemoryEnabled) return undefined;
    for (let k = 0; k < P.PCI_SRIOV_NUM_BARS; k++) {
      const size = this.vfBarSize(k);
      if (!size) continue;
      const rel = addr - this.vfBarBase(k);
      const i = Math.floor(rel / size);
      if (rel >= 0 && i < this.#vfs.length) return { vf: this.#vfs[i]!, bar: k, offset: rel - i * size };
    }
    return undefined;
  }

  /** The ids Linux gives VF i (pci_iov_add_virtfn: vendor from the PF, device from PCI_SRIOV_VF_DID), not what the VF reads. */
  linuxVfIds(): { vendor: number; device: number } {
    return { vendor: this.config.read(P.PCI_VENDOR_ID, 2), device: this.#reg(P.PCI_SRIOV_VF_DID, 2) };
  }
}
