/**
 * The passthrough scenario's fault-injection hooks (the iommu-assign lab's checks and the
 * isolation tests use them), each an event at its atNs:
 *   rogue     the NIC issues a DMA a hostile or buggy driver asked for, with its own requester id,
 *             through the IOMMU: it must fault unless the IOVA is mapped, and a fault raises the
 *             IOMMU's fault event (FaultEvents, via the DMA engine's onDma);
 *   spoofMsi  an interrupt request with another requester id naming the NIC's IRTE of `vector`
 *             (the address/data the host wrote into that physical MSI-X entry): interrupt
 *             remapping's source-id check must block it, unless the IRTE lets that id through;
 *   unplug    QEMU removes a guest RAM region (memory hot-unplug): HostSetup.unmapRegion on a host
 *             CPU, then VFIO_IOMMU_UNMAP_DMA's bookkeeping in the container.
 */
import { COSTS } from '../sim/costs.ts';
import type { Ns } from '../sim/time.ts';
import { formatRequesterId } from '../hw/iommu/irq-remap.ts';
import type { HostSetup } from '../hv/assignment.ts';
import type { AssignedIrqPath } from '../hv/assigned-irq.ts';
import { deliverNative } from '../hv/assigned-irq.ts';
import type { PassthroughConfig, PassthroughHost } from './passthrough.ts';

export function installHooks(cfg: PassthroughConfig, h: PassthroughHost, irqPath: AssignedIrqPath | undefined, setup: HostSetup, threw: (e: unknown, t: Ns) => boolean): void {
  const { env, nic } = h;
  for (const r of cfg.rogue ?? []) {
    env.sched.at(r.atNs, () => {
      const data = r.write ? new Uint8Array(r.len).fill(0xa5) : r.len;
      nic.dma.request(env.sched.now, r.iova, data, r.write, r.label, undefined, true);
    });
  }

  for (const s of cfg.spoofMsi ?? []) {
    env.sched.at(s.atNs, () => {
      const t = env.sched.now;
      const e = nic.msix.entry(s.vector);
      const who = formatRequesterId(s.sourceId);
      if (!irqPath) {
        // Bare metal has no interrupt remapping here: the write is an interrupt like any other.
        deliverNative(env, [h.vcpu], e.address, e.data, t);
        env.diagnostics.push({ severity: 'warning', code: 'msi-spoof-delivered', message: `A spoofed MSI from ${who} for vector ${s.vector} reached the CPU: bare metal has no interrupt remapping to check its source-id.`, t });
        return;
      }
      const res = irqPath.deliver(s.sourceId, e.address, e.data, t, true);
      if (res.kind === 'fault') {
        env.diagnostics.push({ severity: 'info', code: 'msi-spoof-blocked', message: `Interrupt remapping blocked a spoofed MSI from ${who} naming vector ${s.vector}'s IRTE: ${res.detail}.`, t });
      } else {
        env.diagnostics.push({ severity: 'warning', code: 'msi-spoof-delivered', message: `A spoofed MSI from ${who} naming vector ${s.vector}'s IRTE was delivered (${res.kind}): the IRTE's source-id validation let it through.`, t });
      }
    });
  }

  const u = cfg.unplug;
  if (u) {
    env.sched.at(u.atNs, () => {
      const region = h.guestRam.find((r) => r.name === u.region);
      if (!region) {
        h.fail({ severity: 'error', code: 'unplug-unknown-region', message: `There is no guest RAM region named '${u.region}' to unplug (regions: ${h.guestRam.map((r) => r.name).join(', ')}).`, t: env.sched.now });
        return;
      }
      const a = h.assigned;
      if (!a) return; // bare metal: nothing is assigned, the OS just stops using that memory
      h.hostCpu.submit(env.sched.now, (m) => {
        m.charge('host-kernel', COSTS.vfioDmaIoctl.ns, 'vfio-dma', () => `VFIO_IOMMU_UNMAP_DMA '${region.name}'`);
        const before = a.domain.stats.invalidationNs;
        try {
          setup.unmapRegion(region, a);
        } catch (e) {
          if (!threw(e, m.t)) throw e;
          return;
        }
        m.charge('host-kernel', a.domain.stats.invalidationNs - before, 'iotlb-inv', 'IOTLB invalidation after the unmap');
        const r = a.container?.unmapDma(region.gpa, region.size);
        if (r && !r.ok) env.diagnostics.push({ severity: 'warning', code: 'unplug-vfio', message: `VFIO_IOMMU_UNMAP_DMA of '${region.name}': ${r.errno}: ${r.message}`, t: m.t });
        env.diagnostics.push({ severity: 'info', code: 'region-unplugged', message: `QEMU removed '${region.name}' (GPA 0x${region.gpa.toString(16)}, ${region.size} bytes) from the VM.`, t: m.t });
      });
    });
  }
}
