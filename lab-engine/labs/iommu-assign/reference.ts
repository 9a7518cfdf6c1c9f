// IOVLAB-REFERENCE-SOLUTION — never shipped in the site or the zip (a test greps the build).
// Reference for the iommu-assign lab, written as a learner would, against 'iovlab/iommu-assign'.
// Mapping follows Linux's vfio type-1 + intel-iommu (the largest page that fits where IOVA and HPA
// are aligned alike and the backing is huge, 4 KiB elsewhere); unmapping is strict (unmap, then an
// IOTLB invalidation before returning, as vfio_unmap_unpin does with iommu_iotlb_sync); IRTEs as
// intel_irq_remapping's modify_irte() and KVM's vmx_pi_update_irte() write them; fault decoding as
// drivers/iommu/intel/dmar.c dmar_fault() reads the fault recording registers.
import {
  type RamRegion, type Iommu, type VectorRequest, type Irt, type VectorContext, type Msi,
  type FaultRegisters, type FaultHost, type DecodedFault,
  PAGE_4K, PAGE_2M, SVT_SID_SQ, SQ_ALL_BITS, DMA_FRCD_F, DMA_FRCD_T_READ,
} from 'iovlab/iommu-assign';

const RW = { read: true, write: true };

function mapOrThrow(iommu: Iommu, iova: number, hpa: number, size: number, pageSize: 4096 | 2097152): void {
  if (size === 0) return;
  const r = iommu.map(iova, hpa, size, RW, pageSize);
  if (!r.ok) throw new Error(`map ${iova.toString(16)}+${size.toString(16)}: ${r.message}`);
}

export function mapRegion(region: RamRegion, iommu: Iommu): void {
  const start = region.gpa;
  const end = region.gpa + region.size;
  const delta = region.hpa - region.gpa;
  // 2 MiB pages only where the backing is huge and IOVA and HPA share their offset in 2 MiB.
  if (!region.hugepages || region.gpa % PAGE_2M !== region.hpa % PAGE_2M) {
    mapOrThrow(iommu, start, region.hpa, region.size, PAGE_4K);
    return;
  }
  const bigStart = Math.ceil(start / PAGE_2M) * PAGE_2M;
  const bigEnd = Math.floor(end / PAGE_2M) * PAGE_2M;
  if (bigEnd <= bigStart) {
    mapOrThrow(iommu, start, region.hpa, region.size, PAGE_4K);
    return;
  }
  mapOrThrow(iommu, start, start + delta, bigStart - start, PAGE_4K); // head
  mapOrThrow(iommu, bigStart, bigStart + delta, bigEnd - bigStart, PAGE_2M); // body
  mapOrThrow(iommu, bigEnd, bigEnd + delta, end - bigEnd, PAGE_4K); // tail
}

export function unmapRegion(region: RamRegion, iommu: Iommu): void {
  const r = iommu.unmap(region.gpa, region.size);
  if (!r.ok) throw new Error(`unmap ${region.name}: ${r.message}`);
  // Strict: the translations may still sit in the IOTLB until this invalidation completes.
  iommu.invalidate(region.gpa, region.size);
}

export function programVector(req: VectorRequest, irt: Irt, ctx: VectorContext): Msi | null {
  if (req.masked) return null;
  const vcpu = ctx.vcpus[req.vcpu];
  if (!vcpu) throw new Error(`vector ${req.vector} targets vCPU ${req.vcpu}, which does not exist`);
  // Only the NIC itself may use this entry: SVT = 01b, SQ = 00b, SID = its requester-id.
  const source = { present: true, sid: ctx.nic.sourceId, sq: SQ_ALL_BITS, svt: SVT_SID_SQ };
  if (ctx.mode === 'posted') {
    irt.write(ctx.irteIndex, { mode: 'posted', ...source, vector: req.guestVector, pda: vcpu.pid });
  } else {
    irt.write(ctx.irteIndex, { mode: 'remapped', ...source, vector: ctx.hostVector, destination: vcpu.apicId });
  }
  return irt.msi(ctx.irteIndex);
}

export function onFaults(regs: FaultRegisters, host: FaultHost): DecodedFault[] {
  const out: DecodedFault[] = [];
  for (const [d0, d1, d2, d3] of regs.records) {
    if ((d3 & DMA_FRCD_F) === 0) continue; // not in use (maybe an old record, already handled)
    const fault = {
      sourceId: d2 & 0xffff,
      // Bits 63:12: the low dword without its 12 low bits (unsigned!), plus the high dword × 2^32.
      address: ((d0 >>> 12) * 4096) + d1 * 0x1_0000_0000,
      reason: d3 & 0xff,
      write: (d3 & DMA_FRCD_T_READ) === 0,
    };
    host.log(`DMAR: [DMA ${fault.write ? 'Write' : 'Read'}] Request device [${fault.sourceId.toString(16)}] fault addr 0x${fault.address.toString(16)} [fault reason 0x${fault.reason.toString(16)}]`);
    out.push(fault);
  }
  return out;
}
