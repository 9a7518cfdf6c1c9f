/**
 * The runtime values of the module learners import as 'iovlab/sriov-pf'. Its declarations (what
 * Monaco shows) are in api-dts.ts; a test checks the two agree. Every value comes from the
 * engine's pci_regs.h copy (hw/pci/regs.ts), so the lab and the hardware model cannot disagree.
 */
import * as P from '../../hw/pci/regs.ts';
import { ridString } from '../../hw/pci/sriov.ts';

export const SRIOV_PF_API = Object.freeze({
  PCI_CFG_SPACE_SIZE: P.PCI_CFG_SPACE_SIZE,
  PCI_CFG_SPACE_EXP_SIZE: P.PCI_CFG_SPACE_EXP_SIZE,
  PCI_EXT_CAP_ID_ERR: P.PCI_EXT_CAP_ID_ERR,
  PCI_EXT_CAP_ID_DSN: P.PCI_EXT_CAP_ID_DSN,
  PCI_EXT_CAP_ID_ARI: P.PCI_EXT_CAP_ID_ARI,
  PCI_EXT_CAP_ID_SRIOV: P.PCI_EXT_CAP_ID_SRIOV,
  PCI_SRIOV_CTRL: P.PCI_SRIOV_CTRL,
  PCI_SRIOV_CTRL_VFE: P.PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_CTRL_MSE: P.PCI_SRIOV_CTRL_MSE,
  PCI_SRIOV_INITIAL_VF: P.PCI_SRIOV_INITIAL_VF,
  PCI_SRIOV_TOTAL_VF: P.PCI_SRIOV_TOTAL_VF,
  PCI_SRIOV_NUM_VF: P.PCI_SRIOV_NUM_VF,
  PCI_SRIOV_VF_OFFSET: P.PCI_SRIOV_VF_OFFSET,
  PCI_SRIOV_VF_STRIDE: P.PCI_SRIOV_VF_STRIDE,
  PCI_SRIOV_VF_DID: P.PCI_SRIOV_VF_DID,
  formatRid: (rid: number): string => ridString(Number(rid) & 0xffff),
});
