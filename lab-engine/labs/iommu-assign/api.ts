/**
 * The runtime values of the module learners import as 'iovlab/iommu-assign'. Its declarations
 * (what Monaco shows) are in api-dts.ts; a test checks the two agree. Every value comes from the
 * engine's spec files, so the lab and the hardware model cannot disagree.
 */
import { PAGE_2M, PAGE_4K } from '../../hw/iommu/dma-remap.ts';
import * as V from '../../hw/iommu/vtd-spec.ts';
import { DLM_FIXED, SVT_BUS_RANGE, SVT_NONE, SVT_SID_SQ } from '../../hw/iommu/irq-remap.ts';

export const IOMMU_ASSIGN_API = Object.freeze({
  PAGE_4K,
  PAGE_2M,
  SVT_NONE,
  SVT_SID_SQ,
  SVT_BUS_RANGE,
  SQ_ALL_BITS: 0,
  DLM_FIXED,
  DMA_FRCD_F: V.DMA_FRCD_F,
  DMA_FRCD_T_READ: V.DMA_FRCD_T_READ,
  DMA_FSTS_PFO: V.DMA_FSTS_PFO,
  DMA_FSTS_PPF: V.DMA_FSTS_PPF,
  VTD_FR_ROOT_ENTRY_P: V.VTD_FR_ROOT_ENTRY_P,
  VTD_FR_CONTEXT_ENTRY_P: V.VTD_FR_CONTEXT_ENTRY_P,
  VTD_FR_ADDR_BEYOND_MGAW: V.VTD_FR_ADDR_BEYOND_MGAW,
  VTD_FR_WRITE: V.VTD_FR_WRITE,
  VTD_FR_READ: V.VTD_FR_READ,
  formatSourceId: (sid: number): string => V.formatSourceId(Number(sid) & 0xffff),
});
