/** The code learners start from: it compiles and runs, gives each VF its MAC and VLAN, accepts every mailbox request, and enables nothing yet. */
export const SRIOV_PF_STARTER = `// The PF driver's part of SR-IOV. The engine calls:
//   enableVfs()         once per PF, to turn on \`want\` VFs,
//   configureTenants()  to program the NIC's embedded switch for the tenants' VMs,
//   onMailbox()         for every message a VF's driver sends the PF.
import {
  type PfConfig, type VfInfo, type SwitchView, type Tenant, type VfRequest, type MailboxView, type Verdict,
  PCI_CFG_SPACE_SIZE, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_TOTAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE,
} from 'iovlab/sriov-pf';

export function enableVfs(pf: PfConfig, want: number): VfInfo[] {
  // The extended capability list starts at PCI_CFG_SPACE_SIZE (0x100): each header has the
  // capability ID in bits 15:0 and the next header's offset in bits 31:20 (0 = end).
  const header = pf.read32(PCI_CFG_SPACE_SIZE);
  pf.log(\`first extended capability: ID 0x\${(header & 0xffff).toString(16)}, next at 0x\${((header >>> 20) & 0xffc).toString(16)}\`);
  // TODO: walk the list to PCI_EXT_CAP_ID_SRIOV; read TotalVFs; write NumVFs (never more than
  // TotalVFs or pf.driverMaxVfs); set VF Enable and VF MSE; wait 100 ms; then compute every
  // VF's bus, devfn and routing ID from First VF Offset and VF Stride.
  void want; void PCI_EXT_CAP_ID_SRIOV; void PCI_SRIOV_CTRL; void PCI_SRIOV_CTRL_VFE; void PCI_SRIOV_CTRL_MSE;
  void PCI_SRIOV_TOTAL_VF; void PCI_SRIOV_NUM_VF; void PCI_SRIOV_VF_OFFSET; void PCI_SRIOV_VF_STRIDE;
  return [];
}

export function configureTenants(sw: SwitchView, vfs: VfInfo[], tenants: Tenant[]): void {
  for (const t of tenants) {
    sw.setMac(t.vf, t.mac);
    sw.setVlan(t.vf, t.vlan);
    // TODO: anti-spoofing, and the tenant's rate limit (sw.setRate takes Mbit/s).
  }
  void vfs;
}

export function onMailbox(vf: number, req: VfRequest, view: MailboxView): Verdict {
  // TODO: a VM may be malicious. Refuse a MAC or VLAN that is not the tenant's own.
  void vf; void req; void view;
  return { ok: true };
}
`;
