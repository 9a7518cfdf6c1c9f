/**
 * L5's capability figure (scenarios/sriov-demo.ts): every value comes from the engine's config
 * space, and it agrees with what SR-IOV says the registers hold before and after enabling VFs.
 */
import { describe, expect, it } from 'vitest';
import { sriovCapabilitySnapshot } from '../../lab-engine/index.ts';
import * as P from '../../lab-engine/hw/pci/regs.ts';
import { virtfnRid, ridString } from '../../lab-engine/hw/pci/sriov.ts';

describe('sriovCapabilitySnapshot (L5 figure)', () => {
  const s = sriovCapabilitySnapshot(8);
  const field = (o: number) => s.fields.find((f) => f.offset === o)!;
  it('walks the extended list from 0x100 to the SR-IOV capability and its end', () => {
    expect(s.list[0]!.offset).toBe(0x100);
    expect(s.list.at(-1)).toMatchObject({ offset: s.cap, id: P.PCI_EXT_CAP_ID_SRIOV, next: 0 });
    for (let i = 1; i < s.list.length; i++) expect(s.list[i]!.offset).toBe(s.list[i - 1]!.next);
  });
  it('reads NumVFs 0 → 8 and Control ARI → ARI|VFE|MSE after enabling; TotalVFs, offset, stride unchanged', () => {
    expect(field(P.PCI_SRIOV_NUM_VF)).toMatchObject({ before: 0, after: 8 });
    expect(field(P.PCI_SRIOV_CTRL)).toMatchObject({ before: P.PCI_SRIOV_CTRL_ARI, after: 0x0019 }); // ARI | VFE | MSE, as L5 says
    expect(field(P.PCI_SRIOV_SYS_PGSIZE).after).toBe(1);
    for (const o of [P.PCI_SRIOV_TOTAL_VF, P.PCI_SRIOV_VF_OFFSET, P.PCI_SRIOV_VF_STRIDE, P.PCI_SRIOV_VF_DID]) expect(field(o).after).toBe(field(o).before);
    expect(field(0).before & 0xffff).toBe(P.PCI_EXT_CAP_ID_SRIOV);
    expect(s.fields.map((f) => f.offset)).toEqual([...s.fields.map((f) => f.offset)].sort((a, b) => a - b));
    expect(s.bytes).toHaveLength(P.PCI_EXT_CAP_SRIOV_SIZEOF);
  });
  it('lists the 8 VFs at PF + offset + i × stride, with BAR0 at base + i × size', () => {
    const off = field(P.PCI_SRIOV_VF_OFFSET).before;
    const stride = field(P.PCI_SRIOV_VF_STRIDE).before;
    expect(s.vfs.map((v) => v.rid)).toEqual(Array.from({ length: 8 }, (_, i) => ridString(virtfnRid(0x3b00, off, stride, i))));
    const size = s.vfs[1]!.bar0 - s.vfs[0]!.bar0;
    expect(size).toBe(16 * 1024);
    s.vfs.forEach((v, i) => expect(v.bar0).toBe(s.vfs[0]!.bar0 + i * size));
  });
});
