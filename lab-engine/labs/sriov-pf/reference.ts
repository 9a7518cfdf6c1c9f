// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the sriov-pf lab, written as a learner would, against 'iovlab/sriov-pf'.
// enableVfs follows Linux: pci_find_ext_capability() (drivers/pci/pci.c, with its loop bound),
// sriov_enable() in drivers/pci/iov.c (NumVFs, then VFE|MSE, msleep(100)) and
// pci_iov_virtfn_bus()/devfn(); configureTenants does what `ip link set <pf> vf N mac … vlan …
// spoofchk on max_tx_rate …` does; onMailbox keeps ixgbe_sriov.c's rules (no override of the
// administrator's MAC or VLAN, valid unicast only, no MAC another pool owns).
import {
  type PfConfig, type VfInfo, type SwitchView, type Tenant, type VfRequest, type MailboxView, type Verdict,
  PCI_CFG_SPACE_SIZE, PCI_CFG_SPACE_EXP_SIZE, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_TOTAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE,
} from 'iovlab/sriov-pf';

function findExtCap(pf: PfConfig, id: number): number {
  let pos: number = PCI_CFG_SPACE_SIZE;
  let ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; // a looping list must end
  let header = pf.read32(pos);
  if (header === 0 || header === 0xffffffff) return 0;
  while (ttl-- > 0) {
    if ((header & 0xffff) === id) return pos;
    pos = (header >>> 20) & 0xffc;
    if (pos < PCI_CFG_SPACE_SIZE) break;
    header = pf.read32(pos);
  }
  return 0;
}

export function enableVfs(pf: PfConfig, want: number): VfInfo[] {
  const cap = findExtCap(pf, PCI_EXT_CAP_ID_SRIOV);
  if (cap === 0) throw new Error('no SR-IOV capability');
  const total = pf.read16(cap + PCI_SRIOV_TOTAL_VF);
  const n = Math.max(0, Math.min(want, total, pf.driverMaxVfs));
  if (n === 0) return [];
  pf.write16(cap + PCI_SRIOV_NUM_VF, n);
  // First VF Offset and VF Stride may change with NumVFs: read them after writing it.
  const offset = pf.read16(cap + PCI_SRIOV_VF_OFFSET);
  const stride = pf.read16(cap + PCI_SRIOV_VF_STRIDE);
  const ctrl = pf.read16(cap + PCI_SRIOV_CTRL);
  pf.write16(cap + PCI_SRIOV_CTRL, ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
  pf.sleep(100);
  const vfs: VfInfo[] = [];
  for (let i = 0; i < n; i++) {
    const x = pf.devfn + offset + i * stride;
    const bus = pf.bus + (x >> 8);
    const devfn = x & 0xff;
    vfs.push({ index: i, bus, devfn, rid: ((bus << 8) | devfn) & 0xffff });
  }
  return vfs;
}

export function configureTenants(sw: SwitchView, vfs: VfInfo[], tenants: Tenant[]): void {
  for (const t of tenants) {
    if (!vfs[t.vf]) throw new Error(`tenant on VF ${t.vf}, which does not exist`);
    sw.setMac(t.vf, t.mac);
    sw.setVlan(t.vf, t.vlan);
    sw.setSpoofCheck(t.vf, true);
    const r = sw.setRate(t.vf, Math.round(t.rateGbps * 1000)); // Gbit/s → Mbit/s
    if (!r.ok) throw new Error(r.message);
  }
}

const validUnicast = (mac: string): boolean => mac !== '00:00:00:00:00:00' && (parseInt(mac.slice(0, 2), 16) & 1) === 0;

export function onMailbox(vf: number, req: VfRequest, view: MailboxView): Verdict {
  switch (req.type) {
    case 'reset':
    case 'set-multicast':
      return { ok: true };
    case 'set-mac': {
      if (!validUnicast(req.mac)) return { ok: false, reason: `VF ${vf} attempted to set invalid MAC address ${req.mac}` };
      const admin = view.adminMac(vf);
      if (admin !== undefined && admin !== req.mac) return { ok: false, reason: `VF ${vf} attempted to override administratively set MAC address ${admin}` };
      const owner = view.macOwner(req.mac);
      if (owner !== undefined && owner !== vf) return { ok: false, reason: `VF ${vf} attempted to take MAC address ${req.mac} of ${owner === 'pf' ? 'the PF' : `VF ${owner}`}` };
      return { ok: true };
    }
    case 'set-vlan': {
      const port = view.portVlan(vf);
      if (port !== undefined && !(req.add && req.vid === port)) return { ok: false, reason: `VF ${vf} attempted to override administratively set VLAN ${port}` };
      if (port === undefined) return { ok: false, reason: `VF ${vf} has no VLAN of its own to ask for` };
      return { ok: true };
    }
    default:
      return { ok: false, reason: `VF ${vf}: unhandled message` };
  }
}
