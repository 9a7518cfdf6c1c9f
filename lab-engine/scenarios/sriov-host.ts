/**
 * The host of the multi-VM SR-IOV scenarios (DESIGN.md §3 model 4): one SR-IOV NIC (PF config
 * space with the SR-IOV capability, hw/pci/sriov.ts; the embedded switch and its shared links,
 * hw/sriov-nic/switch.ts; the PF driver and mailbox, hw/sriov-nic/mailbox.ts) and, per VM, what
 * device assignment needs on the host (as hv/assignment.ts builds for one VM):
 *   - guest RAM (sparse: a VM costs the pages it touches) registered in HostRam at its own HPA;
 *   - its own VT-d domain, attached to its VF's routing ID (every DMA of that VF carries it);
 *   - its own VFIO group (each VF is its own IOMMU group: ACS/ARI) and container, assigned with
 *     the VFIO flow (hv/vfio.ts), whose MAP_DMA maps the VM's RAM into its domain;
 *   - one posted-interrupt descriptor and one IRTE (posted format) for its VF's RX vector.
 * The PF bring-up is a replaceable hook (pfSetup); the default does what Linux's PF driver does.
 */
import type { Diagnostic } from '../sim/types.ts';
import { GuestMemory } from '../hw/memory.ts';
import { createTablePool, HostRam, IommuDomain, PAGE_2M, VtdIommu } from '../hw/iommu/dma-remap.ts';
import { encodeRemappableMsi, InterruptRemapper, SVT_SID_SQ } from '../hw/iommu/irq-remap.ts';
import { initPid, ndstFor, PID_SIZE, POSTED_INTR_VECTOR } from '../hw/iommu/posted.ts';
import { PciConfigSpace } from '../hw/pci/config-space.ts';
import { findExtCapability } from '../hw/pci/ext-caps.ts';
import * as P from '../hw/pci/regs.ts';
import { SriovPf, ridString } from '../hw/pci/sriov.ts';
import type { SriovNicModel } from '../hw/sriov-nic/models.ts';
import { Veb } from '../hw/sriov-nic/switch.ts';
import { PfDriver, type PfPolicy } from '../hw/sriov-nic/mailbox.ts';
import { VfioHost, assignDevice } from '../hv/vfio.ts';
import type { HostEnv } from '../hv/host.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Each VM declares this much RAM (sparse: only touched pages exist). */
export const VM_RAM_BYTES = 64 * MiB;
/** Host-physical base of VM i's RAM: 4 GiB + i × 1 GiB. */
const vmHpa = (i: number): number => 4 * GiB + i * GiB;
const KERNEL_MEM_BYTES = 8 * MiB;
const IRT_BASE = 0x10_0000;
const PID_BASE = 0x20_0000;
const TABLE_POOL_HPA = 0x100_0000;
/** The PF: 0000:03:00.0. */
export const PF_RID = 0x0300;
/** VF i's guest vector (what its driver programs in MSI-X entry 0). */
export const VF_GUEST_VECTOR = 0x40;

/** A tenant: VM `vm` gets VF `vm` with this MAC, port VLAN (undefined = none) and TX rate (0 = none). */
export interface Tenant {
  vm: number;
  mac: string;
  vlan: number | undefined;
  rateMbps: number;
}

/** What the pfSetup hook gets: the PF as its driver sees it, and the tenants to configure. */
export interface PfSetupContext {
  /** pci_read_config_byte/word/dword on the PF (offset in its 4 KiB configuration space). */
  read8(offset: number): number;
  read16(offset: number): number;
  read32(offset: number): number;
  write8(offset: number, value: number): void;
  write16(offset: number, value: number): void;
  write32(offset: number, value: number): void;
  /** Linux pci_find_ext_capability(): the offset of extended capability `id`, or 0. */
  findExtCapability(id: number): number;
  /** msleep(): virtual time passes (the 100 ms wait after VF Enable). */
  sleepMs(ms: number): void;
  /** Virtual time now (ns), advanced by sleepMs. */
  readonly now: number;
  readonly pf: SriovPf;
  readonly veb: Veb;
  readonly driver: PfDriver;
  readonly tenants: readonly Tenant[];
  readonly model: SriovNicModel;
  /** Stop the run with this diagnostic (code 'pf-setup-failed'). */
  fail(message: string): void;
}

export type PfSetup = (pf: PfSetupContext) => void;

/** What Linux's PF driver does: sriov_enable() (NumVFs, VFE|MSE, msleep(100)), then `ip link set … vf N mac/vlan/max_tx_rate/spoofchk`. */
export const STANDARD_PF_SETUP: PfSetup = (ctx) => {
  const cap = ctx.findExtCapability(P.PCI_EXT_CAP_ID_SRIOV);
  if (!cap) return ctx.fail('the PF has no SR-IOV capability');
  const total = ctx.read16(cap + P.PCI_SRIOV_TOTAL_VF);
  const n = ctx.tenants.length;
  if (n > total) return ctx.fail(`${n} VFs asked, TotalVFs is ${total}`);
  ctx.write16(cap + P.PCI_SRIOV_NUM_VF, n);
  ctx.write16(cap + P.PCI_SRIOV_CTRL, ctx.read16(cap + P.PCI_SRIOV_CTRL) | P.PCI_SRIOV_CTRL_VFE | P.PCI_SRIOV_CTRL_MSE);
  ctx.sleepMs(100);
  for (const t of ctx.tenants) {
    ctx.driver.setVfMac(t.vm, t.mac);
    if (t.vlan !== undefined) ctx.driver.setVfVlan(t.vm, t.vlan);
    if (t.rateMbps) ctx.driver.setVfRate(t.vm, t.rateMbps);
    ctx.driver.setSpoofCheck(t.vm, true);
  }
};

export interface VmPlatform {
  index: number;
  name: string;
  mem: GuestMemory;
  domain: IommuDomain;
  /** The VF's routing ID (= VT-d source-id of its DMAs and MSIs). */
  rid: number;
  /** Host-physical address of the VM's posted-interrupt descriptor. */
  pid: number;
  /** APIC id of the physical CPU its vCPU runs on. */
  apicId: number;
  /** The remappable-format MSI the host wrote into the VF's MSI-X entry 0. */
  msi: { address: number; data: number };
}

export interface SriovPlatform {
  ram: HostRam;
  kernelMem: GuestMemory;
  iommu: VtdIommu;
  irt: InterruptRemapper;
  pf: SriovPf;
  veb: Veb;
  driver: PfDriver;
  vfio: VfioHost;
  vms: VmPlatform[];
}

export const tenantMac = (vm: number): string => `52:54:00:12:${((vm >> 8) & 0xff).toString(16).padStart(2, '0')}:${(vm & 0xff).toString(16).padStart(2, '0')}`;

/**
 * Build the NIC and bring the PF up with `setup` (at virtual time 0; returns when the VFs are
 * usable, i.e. `now` after the hook's sleeps). Errors go to `fail`; returns undefined then.
 */
export function buildSriovPlatform(env: HostEnv, o: {
  model: SriovNicModel; portGbps: number; tenants: Tenant[]; assignVfs: boolean; iotlbEntries: number;
  pfSetup?: PfSetup; pfPolicy?: PfPolicy; fail: (d: Diagnostic) => void;
}): { platform: SriovPlatform; readyAt: number } | undefined {
  const ram = new HostRam();
  const kernelMem = new GuestMemory(KERNEL_MEM_BYTES);
  must(ram.addHostRam('host kernel', 0, kernelMem));
  const tables = createTablePool(ram, TABLE_POOL_HPA, 1024);
  const iommu = new VtdIommu(ram, tables, { iotlbEntries: o.iotlbEntries });
  const irt = new InterruptRemapper(kernelMem, { base: IRT_BASE, entries: 256 });
  const config = new PciConfigSpace(o.model.pf);
  const pf = new SriovPf(env, config, PF_RID, o.model.vf);
  pf.assignVfBar(0, 0xe000_0000);
  pf.assignVfBar(3, 0xe800_0000);
  const veb = new Veb(env, { portGbps: o.portGbps, pcieGBps: o.model.pcieGBps });
  const driver = new PfDriver(env, veb);
  if (o.pfPolicy) driver.policy = o.pfPolicy;
  pf.onVfsChanged = (vfs) => vfs.forEach((vf) => driver.addVf(vf.index));

  // ── The PF driver's bring-up (pfSetup), at virtual time 0 ─────────────────────────────────
  let now = 0;
  let failed = false;
  const failSetup = (message: string): void => {
    if (!failed) o.fail({ severity: 'error', code: 'pf-setup-failed', message: `PF bring-up failed: ${message}`, t: now });
    failed = true;
  };
  const cfgAt = (w: 1 | 2 | 4) => (offset: number): number => config.read(offset, w);
  const cfgPut = (w: 1 | 2 | 4) => (offset: number, value: number): void => config.write(offset, w, value);
  const ctx: PfSetupContext = {
    read8: cfgAt(1), read16: cfgAt(2), read32: cfgAt(4), write8: cfgPut(1), write16: cfgPut(2), write32: cfgPut(4),
    findExtCapability: (id) => findExtCapability(config, id),
    sleepMs: (ms) => {
      if (Number.isFinite(ms) && ms > 0) now += Math.round(ms * 1e6);
    },
    get now() {
      return now;
    },
    pf, veb, driver, tenants: o.tenants, model: o.model, fail: failSetup,
  };
  // Writes made by the hook happen "now": the SR-IOV model reads the scheduler's clock.
  const clock = env.sched as unknown as { now: number };
  const setup = o.pfSetup ?? STANDARD_PF_SETUP;
  try {
    withClock(clock, () => now, () => setup(ctx));
  } catch (e) {
    failSetup(`pfSetup threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (failed) return undefined;
  if (!pf.vfEnabled || pf.vfs.length < o.tenants.length) {
    failSetup(`after pfSetup ${pf.vfs.length} VFs exist (VF Enable ${pf.vfEnabled ? 'set' : 'clear'}), ${o.tenants.length} tenants need one each`);
    return undefined;
  }
  if (!pf.vfMemoryEnabled) {
    failSetup('VF MSE is clear: the VFs\' BARs do not decode, the VF drivers cannot reach their registers');
    return undefined;
  }
  // The VF drivers probe when the bring-up returns: a hook that skipped the 100 ms wait is caught there.
  const readyAt = now;

  // ── Per VM: RAM, domain, VFIO group, PI descriptor, IRTE ─────────────────────────────────
  const vfio = new VfioHost(pf.vfs.slice(0, o.tenants.length).map((vf) => ({
    address: `0000:${ridString(vf.rid)}`, group: 100 + vf.index, binding: 'vfio-pci' as const,
    bars: [pf.vfBarSize(0), 0, 0, pf.vfBarSize(3), 0, 0], msixVectors: 1, msixTable: { bar: 3, offset: 0, bytes: 16 },
  })));
  const vms: VmPlatform[] = [];
  for (const t of o.tenants) {
    const vf = pf.vfs[t.vm]!;
    const name = `VM ${t.vm}`;
    const mem = new GuestMemory(VM_RAM_BYTES);
    must(ram.addVmRam(name, vmHpa(t.vm), mem, 0, VM_RAM_BYTES));
    const domain = new IommuDomain(ram, tables, { id: 1 + t.vm, policy: 'strict' });
    const pid = PID_BASE + t.vm * PID_SIZE;
    const apicId = 2 + t.vm;
    initPid(kernelMem, pid, { nv: POSTED_INTR_VECTOR, ndst: ndstFor(apicId) });
    const index = 0x20 + t.vm;
    irt.writeIrte(index, { mode: 'posted', present: true, fpd: false, avail: 0, urgent: false, vector: VF_GUEST_VECTOR, pda: pid, sid: vf.rid, sq: 0, svt: SVT_SID_SQ });
    const vm: VmPlatform = { index: t.vm, name, mem, domain, rid: vf.rid, pid, apicId, msi: encodeRemappableMsi(index) };
    if (o.assignVfs) {
      const att = iommu.attach(vf.bus, vf.devfn, domain);
      if (!att.ok) {
        failSetup(`attaching ${name}'s domain to VF ${ridString(vf.rid)}: ${att.message}`);
        return undefined;
      }
      (vfio.hooks as { onMap?: (m: { iova: number; size: number }) => void }).onMap = (m) => {
        const r = domain.map(m.iova, vmHpa(t.vm) + m.iova, m.size, { read: true, write: true }, PAGE_2M);
        if (!r.ok) throw new Error(r.message);
      };
      const a = assignDevice(vfio, name, `0000:${ridString(vf.rid)}`, [{ gpa: 0, size: VM_RAM_BYTES, vaddr: 0x7f00_0000_0000 + t.vm * GiB }]);
      if (!a.ok) {
        failSetup(`VFIO refused to assign VF ${ridString(vf.rid)} to ${name}: ${a.errno}: ${a.message}`);
        return undefined;
      }
    }
    vms.push(vm);
  }
  env.trace.emit(readyAt, 0, 'host-kernel', 'sriov-ready', () => `PF driver: ${o.tenants.length} VFs configured, bring-up done at ${(readyAt / 1e6).toFixed(1)} ms`);
  return { platform: { ram, kernelMem, iommu, irt, pf, veb, driver, vfio, vms }, readyAt };
}

/** Run `f` with the scheduler's `now` reading `t()` (the PF bring-up runs before the event loop). */
function withClock(clock: { now: number }, t: () => number, f: () => void): void {
  const proto = Object.getPrototypeOf(clock) as object;
  const desc = Object.getOwnPropertyDescriptor(proto, 'now');
  if (!desc || !desc.get) return f();
  Object.defineProperty(clock, 'now', { get: t, configurable: true });
  try {
    f();
  } finally {
    delete (clock as { now?: number }).now;
  }
}

function must(r: { ok: true } | { ok: false; message: string }): void {
  if (!r.ok) throw new Error(r.message);
}
