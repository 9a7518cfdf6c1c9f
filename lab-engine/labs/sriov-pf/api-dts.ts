/** What learners see in the editor for `import … from 'iovlab/sriov-pf'`. */
export const SRIOV_PF_DTS = `declare module 'iovlab/sriov-pf' {
  // ── The setting ─────────────────────────────────────────────────────────────────────────────
  // You are the PF driver of an SR-IOV NIC (an 82599-like 10 GbE or an XL710-like 40 GbE part).
  //   • enableVfs(pf, want): find the SR-IOV extended capability by walking the extended
  //     capability list from 0x100 with the config accessors, read TotalVFs, First VF Offset and
  //     VF Stride, write NumVFs (no more than TotalVFs and the driver's limit), set VF Enable and
  //     VF MSE, wait 100 ms (the spec: no configuration request to a VF before), and return every
  //     VF's bus, devfn and routing ID as the kernel will enumerate them.
  //   • configureTenants(sw, vfs, tenants): tenant i runs in a VM on VF tenants[i].vf. Give each
  //     VF its tenant's MAC and VLAN, turn anti-spoofing on and limit its TX rate.
  //   • onMailbox(vf, req, view): a VF's driver asks the PF for something through the mailbox.
  //     The VM may be malicious: refuse what would let it impersonate or reach another tenant,
  //     accept what a well-behaved VF driver asks for.

  // ── Configuration space (Linux pci_regs.h) ─────────────────────────────────────────────────
  export const PCI_CFG_SPACE_SIZE: 256;
  export const PCI_CFG_SPACE_EXP_SIZE: 4096;
  // An extended capability header is 32 bits: ID in 15:0, version in 19:16, next in 31:20
  // (the offset of the next header, 0 at the end of the list).
  export const PCI_EXT_CAP_ID_ERR: 0x01;
  export const PCI_EXT_CAP_ID_DSN: 0x03;
  export const PCI_EXT_CAP_ID_ARI: 0x0e;
  /** SR-IOV. (In the standard list, ID 0x10 is PCI Express — a different list.) */
  export const PCI_EXT_CAP_ID_SRIOV: 0x10;
  // Registers inside the SR-IOV capability, offsets from its header.
  /** SR-IOV Control, 16 bits. */
  export const PCI_SRIOV_CTRL: 0x08;
  /** VF Enable. */
  export const PCI_SRIOV_CTRL_VFE: 0x0001;
  /** VF Memory Space Enable: decoding of every VF's BARs. */
  export const PCI_SRIOV_CTRL_MSE: 0x0008;
  export const PCI_SRIOV_INITIAL_VF: 0x0c;
  export const PCI_SRIOV_TOTAL_VF: 0x0e;
  export const PCI_SRIOV_NUM_VF: 0x10;
  export const PCI_SRIOV_VF_OFFSET: 0x14;
  export const PCI_SRIOV_VF_STRIDE: 0x16;
  export const PCI_SRIOV_VF_DID: 0x1a;
  /** "bb:dd.f" of a routing ID (bus << 8 | device << 3 | function). */
  export function formatRid(rid: number): string;

  /** The PF's configuration space. Accesses are naturally aligned; offsets 0–4095. */
  export interface PfConfig {
    /** The PF's bus number and devfn (device << 3 | function): its routing ID is bus << 8 | devfn. */
    readonly bus: number;
    readonly devfn: number;
    /** The most VFs this vendor's driver supports (ixgbe's max_vfs is 63, whatever TotalVFs says). */
    readonly driverMaxVfs: number;
    read8(offset: number): number;
    read16(offset: number): number;
    read32(offset: number): number;
    write16(offset: number, value: number): void;
    write32(offset: number, value: number): void;
    /** msleep(): virtual time passes. */
    sleep(ms: number): void;
    log(message: string): void;
  }

  export interface VfInfo {
    /** 0-based VF number (sysfs virtfn<index>). */
    index: number;
    bus: number;
    devfn: number;
    /** bus << 8 | devfn. */
    rid: number;
  }

  export interface Tenant {
    /** The VF the tenant's VM is given. */
    vf: number;
    mac: string;
    /** The tenant's VLAN: its VM sends and expects frames tagged with it. */
    vlan: number;
    /** The TX rate the tenant paid for, Gbit/s. */
    rateGbps: number;
  }

  /** The PF driver's \`ip link set <pf> vf N …\` operations on the NIC's embedded switch. */
  export interface SwitchView {
    /** The port's line rate, Mbit/s. */
    readonly portMbps: number;
    /** \`mac\`: the VF's MAC filter and (with anti-spoofing) the only source MAC it may send; the VF may not change it. */
    setMac(vf: number, mac: string): void;
    /** \`vlan\`: the only VLAN the VF may send on and receive from; the VF may not change it. */
    setVlan(vf: number, vid: number): void;
    /** \`spoofchk\`: drop the VF's frames whose source MAC or VLAN are not its own. */
    setSpoofCheck(vf: number, on: boolean): void;
    /** \`max_tx_rate\`, in Mbit/s (0 = no limit); refused above the port's rate. */
    setRate(vf: number, mbps: number): { ok: true } | { ok: false; message: string };
    log(message: string): void;
  }

  /** A message a VF's driver sent through the mailbox (ixgbe's, decoded). */
  export type VfRequest =
    | { type: 'reset' }
    | { type: 'set-mac'; mac: string }
    | { type: 'set-vlan'; vid: number; add: boolean }
    | { type: 'set-multicast'; hashes: number[] }
    | { type: 'unknown'; msgType: number };

  /** What the PF driver knows when a message arrives. */
  export interface MailboxView {
    readonly vfCount: number;
    /** The MAC you gave this VF with setMac(), if any. */
    adminMac(vf: number): string | undefined;
    /** The VLAN you gave this VF with setVlan(), if any. */
    portVlan(vf: number): number | undefined;
    /** Whose MAC filter holds \`mac\`: 'pf', a VF number, or undefined. */
    macOwner(mac: string): 'pf' | number | undefined;
    log(message: string): void;
  }

  /** ACK (ok: true) or NACK with the reason the PF driver logs. */
  export type Verdict = { ok: true } | { ok: false; reason: string };
}
`;
