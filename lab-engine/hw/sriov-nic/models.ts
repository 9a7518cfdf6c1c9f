/**
 * SR-IOV NIC device models (DESIGN.md §3 model 4): what the PF's configuration space declares
 * and what each VF's looks like. VF counts are implementation limits, not spec constants
 * (CALIBRATION §3.5, §5 #1), so each model states its own.
 *
 * 82599-like (Intel 82599ES, 8086:10FB, VF 8086:10ED): the datasheet's SR-IOV capability says
 * TotalVFs = InitialVFs = 64 [R 82599 datasheet §9.4 / lspci of an X520], First VF Offset 0x80
 * and VF Stride 2 (PF0's VFs at dev 0x10 fn 0, 2, 4, …, PF1's interleaved at fn 1, 3, …) [R],
 * capabilities AER 0x100 → DSN 0x140 → ARI 0x150 → SR-IOV 0x160 [R]. The register field is 64,
 * but ixgbe keeps one of the 64 VMDq pools for the PF, so its `max_vfs` is 1–63 [V CALIBRATION
 * §3.5]: `driverMaxVfs` = 63 is that driver limit, and the scenarios' 63/64-VM runs use it.
 * VF BAR0 16 KiB (registers) and BAR3 16 KiB (MSI-X, 3 vectors), 64-bit prefetchable [R].
 * PCIe 2.0 x8: 5 GT/s × 8 × 8/10 / 8 = 4 GB/s per direction [D].
 *
 * XL710-like (Intel XL710, 8086:1583, VF 8086:154C): 64 VFs per port as Intel's KVM tutorial
 * lists (CALIBRATION §3.5) and i40e allows; First VF Offset 16, Stride 1 [R]; the capability
 * offsets copy the 82599's [E, not from the datasheet]; VF BAR0 64 KiB, BAR3 16 KiB (MSI-X,
 * 5 vectors) [E]. PCIe 3.0 x8: 7.88 GB/s (CALIBRATION §1.2).
 *
 * First VF Offset and VF Stride are constant per model (./ext-caps.ts explains why that is
 * allowed). The port speed is a parameter of the NIC (10/25/40/100 GbE), defaulting as below.
 */
import type { PciFunctionSpec } from '../pci/config-space.ts';
import type { SriovCapSpec } from '../pci/ext-caps.ts';
import { PCIE_GBPS } from '../../sim/costs.ts';

export interface SriovNicModel {
  name: string;
  pf: PciFunctionSpec;
  /** The SR-IOV capability inside `pf.extended`. */
  sriov: SriovCapSpec;
  /** The VF's own header (ids 0xFFFF, no header BARs, MSI-X in VF BAR3). */
  vf: PciFunctionSpec;
  /** What the vendor's PF driver accepts for sriov_numvfs (≤ TotalVFs). */
  driverMaxVfs: number;
  /** PCIe link per direction, GB/s. */
  pcieGBps: number;
  /** The port's default line rate, Gbit/s. */
  portGbps: number;
}

const KIB = 1024;
/** 4K, 8K, 64K, 256K, 1M, 4M: the Supported Page Sizes Intel NICs report (0x553) [R]. */
const SUP_PGSIZE = 0x553;

function model(o: {
  name: string; deviceId: number; vfDeviceId: number; totalVfs: number; driverMaxVfs: number; firstVfOffset: number; vfStride: number;
  vfBar0: number; vfVectors: number; pfVectors: number; link: { speed: number; width: number }; pcieGBps: number; portGbps: number; serial: bigint;
}): SriovNicModel {
  const sriov: SriovCapSpec = {
    kind: 'sriov', offset: 0x160, initialVfs: o.totalVfs, totalVfs: o.totalVfs, firstVfOffset: o.firstVfOffset, vfStride: o.vfStride,
    vfDeviceId: o.vfDeviceId, supportedPageSizes: SUP_PGSIZE,
    vfBars: [{ size: o.vfBar0, kind: 'mem64', prefetchable: true }, undefined, undefined, { size: 16 * KIB, kind: 'mem64', prefetchable: true }, undefined, undefined],
  };
  const common = { revision: 0x01, classCode: 0x020000, subsystemVendorId: 0x8086, subsystemId: 0x000c, link: o.link };
  return {
    name: o.name,
    sriov,
    pf: {
      ...common, vendorId: 0x8086, deviceId: o.deviceId,
      bars: [{ size: 512 * KIB, kind: 'mem64', prefetchable: false }, undefined, undefined, { size: 16 * KIB, kind: 'mem64' }, undefined, undefined],
      msix: { vectors: o.pfVectors, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
      extended: [
        { kind: 'aer', offset: 0x100 },
        { kind: 'dsn', offset: 0x140, serial: o.serial },
        { kind: 'ari', offset: 0x150, nextFunction: 1 },
        sriov,
      ],
    },
    vf: {
      ...common, vendorId: 0xffff, deviceId: 0xffff, isVf: true, bars: [],
      msix: { vectors: o.vfVectors, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
      extended: [{ kind: 'aer', offset: 0x100 }, { kind: 'ari', offset: 0x150, nextFunction: 0 }],
    },
    driverMaxVfs: o.driverMaxVfs,
    pcieGBps: o.pcieGBps,
    portGbps: o.portGbps,
  };
}

export const MODEL_82599 = model({
  name: '82599', deviceId: 0x10fb, vfDeviceId: 0x10ed, totalVfs: 64, driverMaxVfs: 63, firstVfOffset: 0x80, vfStride: 2,
  vfBar0: 16 * KIB, vfVectors: 3, pfVectors: 64, link: { speed: 2, width: 8 }, pcieGBps: PCIE_GBPS.gen2x8.gbps, portGbps: 10, serial: 0x0000_1b21_ffff_0001n,
});

export const MODEL_XL710 = model({
  name: 'XL710', deviceId: 0x1583, vfDeviceId: 0x154c, totalVfs: 64, driverMaxVfs: 64, firstVfOffset: 16, vfStride: 1,
  vfBar0: 64 * KIB, vfVectors: 5, pfVectors: 129, link: { speed: 3, width: 8 }, pcieGBps: PCIE_GBPS.gen3x8.gbps, portGbps: 40, serial: 0x0000_3cfd_ffff_0001n,
});

/** Bytes of MMIO one model's VFs need for BAR k: size × TotalVFs, as Linux sriov_init() sizes the PF's resource. */
export const vfBarAperture = (m: SriovNicModel, k: number): number => (m.sriov.vfBars[k]?.size ?? 0) * m.sriov.totalVfs;
