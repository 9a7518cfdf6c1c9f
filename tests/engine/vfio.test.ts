/**
 * The VFIO flow (CALIBRATION §3.7, Linux Documentation/driver-api/vfio.rst): the happy path QEMU
 * takes, and every step out of order failing with the error a host gives — never an exception.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VfioHost, assignDevice, VFIO_TYPE1_IOMMU, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_CONFIG_REGION_INDEX, type PciFunctionInfo, type DmaMapping } from '../../lab-engine/hv/vfio.ts';

const MiB = 1024 * 1024;
const nic = (address: string, group: number, binding: PciFunctionInfo['binding'] = 'vfio-pci'): PciFunctionInfo => ({
  address, group, binding, bars: [128 * 1024, 0, 0, 16 * 1024, 0, 0], msixVectors: 4, msixTable: { bar: 3, offset: 0x2000, bytes: 64 },
});
const ram = [{ gpa: 0, size: 640 * 1024, vaddr: 0x7f00_0000_0000 }, { gpa: 1 * MiB, size: 63 * MiB, vaddr: 0x7f00_0010_0000 }];

describe('VFIO: assigning a device the way QEMU does', () => {
  it('runs the whole flow: container, group, type-1 IOMMU, MAP_DMA (pinned), device fd, MSI-X eventfds, reset', () => {
    const maps: DmaMapping[] = [];
    const host = new VfioHost([nic('0000:03:00.0', 12)], { onMap: (m) => maps.push(m) });
    const r = assignDevice(host, 'vm1', '0000:03:00.0', ram);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(maps.map((m) => [m.iova, m.size])).toEqual([[0, 640 * 1024], [1 * MiB, 63 * MiB]]);
    expect(r.container.pinnedPages).toBe((640 * 1024 + 63 * MiB) / 4096);
    expect(r.device.irqs).toEqual([0, 1, 2, 3]);
    expect(r.device.resets).toBe(1);
  });

  it('BARs can be mmapped (no exits on doorbells) except the page holding the MSI-X table; config space stays trapped', () => {
    const host = new VfioHost([nic('0000:03:00.0', 12)]);
    const r = assignDevice(host, 'vm1', '0000:03:00.0', ram);
    if (!r.ok) throw new Error(r.message);
    const bar0 = r.device.regionInfo(0);
    expect(bar0.ok && bar0.region).toEqual({ index: 0, size: 128 * 1024, mmap: true, trapped: [] });
    const bar3 = r.device.regionInfo(3);
    expect(bar3.ok && bar3.region.trapped).toEqual([{ offset: 0x2000, bytes: 4096 }]);
    const cfg = r.device.regionInfo(VFIO_PCI_CONFIG_REGION_INDEX);
    expect(cfg.ok && cfg.region.mmap).toBe(false);
    expect(r.device.regionInfo(9)).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('one device, one VM: a second VM is refused with EBUSY; after close it can be assigned again', () => {
    const host = new VfioHost([nic('0000:03:00.0', 12)]);
    const a = assignDevice(host, 'vm1', '0000:03:00.0', ram);
    expect(a.ok).toBe(true);
    const b = assignDevice(host, 'vm2', '0000:03:00.0', ram);
    expect(b).toMatchObject({ ok: false, errno: 'EBUSY' }); // the group file is already open in vm1's QEMU
    if (!b.ok) expect(b.message).toMatch(/group 12 is already open by vm1 .*one device, one VM/);
    // Even through vm1's own group object, a second open of the same device is refused.
    if (!a.ok) return;
    const again = a.device.group.getDeviceFd('0000:03:00.0');
    expect(again).toMatchObject({ ok: false, errno: 'EBUSY' });
    expect(host.bind('0000:03:00.0', 'host-driver')).toMatchObject({ ok: false, errno: 'EBUSY' });
    a.device.close();
    expect(host.bind('0000:03:00.0', 'host-driver')).toEqual({ ok: true });
  });

  it('a group is viable only when every function in it is bound to vfio-pci or to none', () => {
    const host = new VfioHost([nic('0000:03:00.0', 12), nic('0000:03:00.1', 12, 'host-driver')]);
    const r = assignDevice(host, 'vm1', '0000:03:00.0', ram);
    expect(r).toMatchObject({ ok: false, errno: 'EPERM' });
    if (!r.ok) expect(r.message).toMatch(/group 12 is not viable: 0000:03:00.1 still bound to a host driver/);
    expect(host.bind('0000:03:00.1', 'none')).toEqual({ ok: true });
    expect(assignDevice(host, 'vm1', '0000:03:00.0', ram).ok).toBe(true);
  });

  it('steps out of order fail with the errors a host gives', () => {
    const host = new VfioHost([nic('0000:03:00.0', 12), nic('0000:04:00.0', 13, 'host-driver')]);
    const c = host.openContainer('vm1');
    expect(c.setIommu(VFIO_TYPE1_IOMMU)).toMatchObject({ ok: false, errno: 'EINVAL', message: expect.stringMatching(/no group/) });
    expect(c.mapDma({ iova: 0, size: 4096, vaddr: 0, read: true, write: true })).toMatchObject({ ok: false, errno: 'EINVAL', message: expect.stringMatching(/before VFIO_SET_IOMMU/) });
    const g = host.openGroup(12);
    if (!g.ok) throw new Error(g.message);
    expect(g.group.getDeviceFd('0000:03:00.0')).toMatchObject({ ok: false, errno: 'EINVAL', message: expect.stringMatching(/SET_CONTAINER first/) });
    expect(g.group.setContainer(c)).toEqual({ ok: true });
    expect(g.group.setContainer(c)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(g.group.getDeviceFd('0000:03:00.0')).toMatchObject({ ok: false, errno: 'EINVAL', message: expect.stringMatching(/SET_IOMMU first/) });
    expect(c.setIommu(99)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(c.setIommu(VFIO_TYPE1_IOMMU)).toEqual({ ok: true });
    expect(c.setIommu(VFIO_TYPE1_IOMMU)).toMatchObject({ ok: false, errno: 'EBUSY' });
    expect(g.group.getDeviceFd('0000:04:00.0')).toMatchObject({ ok: false, errno: 'ENODEV' });
    expect(host.openGroup(99)).toMatchObject({ ok: false, errno: 'ENOENT' });
    const d = g.group.getDeviceFd('0000:03:00.0');
    if (!d.ok) throw new Error(d.message);
    expect(d.device.setIrqs(0, 0, [1])).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(d.device.setIrqs(VFIO_PCI_MSIX_IRQ_INDEX, 2, [1, 2, 3])).toMatchObject({ ok: false, errno: 'EINVAL', message: expect.stringMatching(/exceed the device's 4 MSI-X vectors/) });
    d.device.close();
    expect(d.device.reset()).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('MAP_DMA refuses unaligned, empty, permission-less and overlapping ranges; UNMAP refuses to split a mapping', () => {
    const host = new VfioHost([nic('0000:03:00.0', 12)]);
    const r = assignDevice(host, 'vm1', '0000:03:00.0', []);
    if (!r.ok) throw new Error(r.message);
    const c = r.container;
    expect(c.mapDma({ iova: 0x1001, size: 4096, vaddr: 0, read: true, write: true })).toMatchObject({ errno: 'EINVAL' });
    expect(c.mapDma({ iova: 0, size: 0, vaddr: 0, read: true, write: true })).toMatchObject({ errno: 'EINVAL' });
    expect(c.mapDma({ iova: 0, size: 4096, vaddr: 0, read: false, write: false })).toMatchObject({ errno: 'EINVAL' });
    expect(c.mapDma({ iova: 0x10000, size: 0x4000, vaddr: 0x10000, read: true, write: true })).toEqual({ ok: true });
    expect(c.mapDma({ iova: 0x12000, size: 0x4000, vaddr: 0x90000, read: true, write: false })).toMatchObject({ errno: 'EEXIST' });
    expect(c.unmapDma(0x11000, 0x1000)).toMatchObject({ errno: 'EINVAL', message: expect.stringMatching(/would split/) });
    expect(c.unmapDma(0x10000, 0x4000)).toEqual({ ok: true, unmapped: 0x4000 });
    expect(c.pinnedPages).toBe(0);
  });

  it('property: after any sequence of map/unmap calls, mappings never overlap and pinned pages equal mapped bytes / 4 KiB', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 63 }), fc.integer({ min: 1, max: 8 })), { maxLength: 60 }),
        (ops) => {
          const host = new VfioHost([nic('0000:03:00.0', 12)]);
          const r = assignDevice(host, 'vm', '0000:03:00.0', []);
          if (!r.ok) return false;
          const c = r.container;
          for (const [map, page, pages] of ops) {
            const res = map ? c.mapDma({ iova: page * 4096, size: pages * 4096, vaddr: page * 4096, read: true, write: true }) : c.unmapDma(page * 4096, pages * 4096);
            expect(typeof res.ok).toBe('boolean');
          }
          const sorted = [...c.mappings].sort((a, b) => a.iova - b.iova);
          for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.iova).toBeGreaterThanOrEqual(sorted[i - 1]!.iova + sorted[i - 1]!.size);
          expect(c.pinnedPages).toBe(c.mappings.reduce((s, m) => s + m.size, 0) / 4096);
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});
