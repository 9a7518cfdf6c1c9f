/** The code learners start from: it compiles and runs, maps guest RAM with 4 KiB pages, and does nothing else yet. */
export const IOMMU_ASSIGN_STARTER = `// The host side of assigning a NIC to a VM (VFIO + VT-d). The engine calls:
//   mapRegion()     for each guest RAM region QEMU maps with VFIO_IOMMU_MAP_DMA,
//   unmapRegion()   when a region is hot-unplugged,
//   programVector() when the guest programs an MSI-X entry (mode 'remapped', later 'posted'),
//   onFaults()      when the IOMMU raises its fault event.
import {
  type RamRegion, type Iommu, type VectorRequest, type Irt, type VectorContext, type Msi,
  type FaultRegisters, type FaultHost, type DecodedFault,
  PAGE_4K, PAGE_2M, SVT_SID_SQ, SQ_ALL_BITS, DMA_FRCD_F, DMA_FRCD_T_READ,
} from 'iovlab/iommu-assign';

const RW = { read: true, write: true };

export function mapRegion(region: RamRegion, iommu: Iommu): void {
  // IOVA = GPA. This works, but 4 KiB pages make the NIC miss in the IOTLB on almost every
  // buffer. TODO: where the region is backed by huge pages and IOVA and HPA are 2 MiB aligned
  // alike, use 2 MiB pages — and never let a page reach past the region's start or end.
  const r = iommu.map(region.gpa, region.hpa, region.size, RW, PAGE_4K);
  if (!r.ok) iommu.log(\`mapping \${region.name} failed: \${r.message}\`);
  void PAGE_2M;
}

export function unmapRegion(region: RamRegion, iommu: Iommu): void {
  // TODO: once this returns the device must not reach the region: not through the page tables,
  // and not through a translation the IOTLB still holds.
  void region; void iommu;
}

export function programVector(req: VectorRequest, irt: Irt, ctx: VectorContext): Msi | null {
  // TODO: write the IRTE ctx.irteIndex — in ctx.mode 'remapped' the host vector on the physical
  // CPU that req.vcpu runs on; in 'posted' the guest's vector into that vCPU's posted-interrupt
  // descriptor — such that only the NIC (ctx.nic.sourceId) may use it (SVT_SID_SQ, SQ_ALL_BITS).
  // Then return the remappable-format MSI naming that entry: irt.msi(index).
  // Returning null leaves the vector masked: the guest never gets this interrupt.
  void req; void irt; void ctx; void SVT_SID_SQ; void SQ_ALL_BITS;
  return null;
}

export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {
  // TODO: for every fault recording register with F set (DMA_FRCD_F in dword 3), decode the
  // source-id, the page address (bits 63:12), the reason and the access type (DMA_FRCD_T_READ).
  void regs; void host; void DMA_FRCD_F; void DMA_FRCD_T_READ;
  return [];
}
`;
