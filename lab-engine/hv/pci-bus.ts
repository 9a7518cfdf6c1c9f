/**
 * The NIC as the driver's CPU reaches it (hv/guest-ops.ts DirectBus), in two set-ups:
 *   'native'  bare metal: BARs and config space are the device's own; port I/O is the chipset's
 *             configuration mechanism #1 (0xCF8 latches the address, 0xCFC carries the data).
 *   'vfio'    QEMU's vfio-pci for a VM (CALIBRATION §3.7; QEMU hw/vfio/pci.c): BAR0 is mmapped
 *             into the guest (no exits), the MSI-X table page of BAR3 stays trapped, and config
 *             space is emulated — QEMU keeps its own copy, virtualizes the BARs and the MSI-X
 *             capability, and passes other accesses to the device through the VFIO device fd
 *             (pread/pwrite, COSTS.vfioConfigAccess). A guest MSI-X table write lands in QEMU's copy;
 *             when it unmasks an entry of an enabled table QEMU asks the host to route it
 *             (vfio_msix_vector_use → VFIO_DEVICE_SET_IRQS + KVM irqfd): `programVector` returns the
 *             message the host wrote into the physical entry, or null to leave it masked.
 * The guest sees the function at its own slot (`guestBdf`); other slots read as all ones.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import type { Meter, HostEnv } from './host.ts';
import type { DirectBus } from './guest-ops.ts';
import type { MsixRequest } from './assignment.ts';
import type { Ixgbe } from '../hw/ixgbe/device.ts';
import { PciConfigSpace, MSIX_CAP_OFFSET } from '../hw/pci/config-space.ts';
import { MsixTable } from '../hw/pci/msix.ts';
import * as P from '../hw/pci/regs.ts';
import { ixgbeRegisterName } from '../hw/ixgbe/regs.ts';

export interface PciBusOptions {
  mode: 'native' | 'vfio';
  /** The function's slot as this OS enumerates it. */
  bus: number;
  devfn: number;
  /** vfio: QEMU asks the host to route a vector the guest unmasked (or masked). */
  programVector?: (req: MsixRequest, m: Meter) => { address: number; data: number } | null;
}

const BAR_LO = P.PCI_BASE_ADDRESS_0;
const BAR_HI = P.PCI_BASE_ADDRESS_5 + 4;
const MSIX_LO = MSIX_CAP_OFFSET;
const MSIX_HI = MSIX_CAP_OFFSET + P.PCI_CAP_MSIX_SIZEOF;

export class NicPciBus implements DirectBus {
  readonly env: HostEnv;
  readonly nic: Ixgbe;
  readonly o: PciBusOptions;
  /** QEMU's emulated copy of config space (vfio) — the guest's view of BARs and MSI-X control. */
  readonly virtConfig: PciConfigSpace | undefined;
  /** QEMU's emulated MSI-X table: what the guest wrote (vfio). */
  readonly virtMsix: MsixTable | undefined;
  #configAddress = 0;

  constructor(env: HostEnv, nic: Ixgbe, o: PciBusOptions) {
    this.env = env;
    this.nic = nic;
    this.o = o;
    if (o.mode === 'vfio') {
      this.virtConfig = new PciConfigSpace(nic.config.spec);
      this.virtConfig.assignBar(0, 0xfe00_0000); // the guest's BARs, as SeaBIOS/OVMF placed them
      this.virtConfig.assignBar(3, 0xfe08_0000);
      this.virtMsix = new MsixTable(nic.msix.vectors, nic.msix.tableOffset, nic.msix.pbaOffset);
    }
  }

  regName(bar: number, offset: number): string {
    if (bar === 3) return `MSI-X ${this.nic.msix.inTable(offset) ? `entry ${Math.floor((offset - this.nic.msix.tableOffset) / 16)} +${offset % 16}` : 'PBA'}`;
    return bar === 0 ? ixgbeRegisterName(offset) : `BAR${bar}+0x${offset.toString(16)}`;
  }

  trapped(bar: number, offset: number): boolean {
    return this.o.mode === 'vfio' && bar === this.nic.config.spec.msix.tableBar && this.nic.msix.inTable(offset);
  }

  read(bar: number, offset: number): number {
    return this.nic.barRead(bar, offset);
  }

  write(bar: number, offset: number, value: number, at: Ns): void {
    this.env.sched.at(at, () => this.nic.barWrite(bar, offset, value));
  }

  trappedRead(bar: number, offset: number, m: Meter): number {
    m.charge('qemu', COSTS.qemuRegisterAccess.ns, 'qemu-reg', () => `vfio-pci: read ${this.regName(bar, offset)} (emulated table)`);
    return this.virtMsix?.read(offset) ?? 0;
  }

  trappedWrite(bar: number, offset: number, value: number, m: Meter): void {
    const t = this.virtMsix;
    if (!t) return;
    m.charge('qemu', COSTS.qemuRegisterAccess.ns, 'qemu-reg', () => `vfio-pci: write ${this.regName(bar, offset)} (emulated table)`);
    const before = t.inTable(offset) ? t.entry(Math.floor((offset - t.tableOffset) / P.PCI_MSIX_ENTRY_SIZE)).masked : true;
    t.write(offset, value);
    if (!t.inTable(offset) || (offset - t.tableOffset) % P.PCI_MSIX_ENTRY_SIZE !== P.PCI_MSIX_ENTRY_VECTOR_CTRL) return;
    const v = Math.floor((offset - t.tableOffset) / P.PCI_MSIX_ENTRY_SIZE);
    if (before !== t.entry(v).masked && t.enabled && !t.functionMasked) this.#route(v, m);
  }

  /** QEMU: the guest's entry `v` changed state — ask the host to (re)program the physical one. */
  #route(v: number, m: Meter): void {
    const e = this.virtMsix!.entry(v);
    const req: MsixRequest = { vector: v, guestVector: e.data & 0xff, vcpu: (e.address >>> 12) & 0xff, masked: e.masked };
    m.charge('qemu', COSTS.vfioMsixProgram.ns, 'vfio-irq', () => `vfio_msix_vector_${e.masked ? 'release' : 'use'}(${v}): SET_IRQS, irqfd, IRTE`);
    const msg = this.o.programVector?.(req, m) ?? null;
    this.nic.msix.program(v, msg);
  }

  pioRead(port: number, size: 1 | 2 | 4, m: Meter): number {
    if (port === P.PCI_CONFIG_ADDRESS_PORT && size === 4) return this.#configAddress;
    const reg = this.#selected(port, size);
    if (reg === undefined) return size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    if (this.o.mode === 'native') return this.nic.config.read(reg, size);
    m.charge('qemu', COSTS.vfioConfigAccess.ns, 'vfio-config', () => `vfio-pci: config read 0x${reg.toString(16)}`);
    return this.#emulated(reg) ? this.virtConfig!.read(reg, size) : this.nic.config.read(reg, size);
  }

  pioWrite(port: number, size: 1 | 2 | 4, value: number, m: Meter): void {
    if (port === P.PCI_CONFIG_ADDRESS_PORT && size === 4) {
      this.#configAddress = value >>> 0;
      return;
    }
    const reg = this.#selected(port, size);
    if (reg === undefined) return;
    if (this.o.mode === 'native') {
      this.nic.config.write(reg, size, value);
      return;
    }
    m.charge('qemu', COSTS.vfioConfigAccess.ns, 'vfio-config', () => `vfio-pci: config write 0x${reg.toString(16)}`);
    if (!this.#emulated(reg)) {
      this.nic.config.write(reg, size, value);
      return;
    }
    const vc = this.virtConfig!;
    vc.write(reg, size, value);
    if (reg >= MSIX_LO && reg < MSIX_HI) this.#msixControl(vc.msixEnabled, vc.msixFunctionMasked, m);
  }

  /** The guest enabled or masked MSI-X: the host enables the physical table (vfio_msix_enable) and routes unmasked entries. */
  #msixControl(enabled: boolean, masked: boolean, m: Meter): void {
    const t = this.virtMsix!;
    const was = t.enabled && !t.functionMasked;
    t.enabled = enabled;
    t.functionMasked = masked;
    const phys = P.PCI_MSIX_FLAGS_ENABLE; // the host owns the physical function mask
    this.nic.config.write(MSIX_CAP_OFFSET + P.PCI_MSIX_FLAGS, 2, enabled ? phys : 0);
    if (!was && enabled && !masked) for (let v = 0; v < t.vectors; v++) if (!t.entry(v).masked) this.#route(v, m);
  }

  /** BARs and the MSI-X capability are QEMU's; the rest goes to the device. */
  #emulated(reg: number): boolean {
    return (reg >= BAR_LO && reg < BAR_HI) || (reg >= MSIX_LO && reg < MSIX_HI);
  }

  /** The config register a data-port access addresses, when CONFIG_ADDRESS selects this function. */
  #selected(port: number, size: number): number | undefined {
    if (port < P.PCI_CONFIG_DATA_PORT || port + size > P.PCI_CONFIG_DATA_PORT + 4) return undefined;
    const a = this.#configAddress;
    if (!(a & P.PCI_CONFIG_ENABLE) || ((a >>> 16) & 0xff) !== this.o.bus || ((a >>> 8) & 0xff) !== this.o.devfn) return undefined;
    return (a & 0xfc) + (port - P.PCI_CONFIG_DATA_PORT);
  }
}
