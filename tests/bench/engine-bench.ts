/** Engine throughput figures: events/s, simulated packets/s and how fast against real time. */
import { runScenario, gradeSeeds, getLabInfo, listLabs, runCell } from '../../lab-engine/index.ts';
import { readdirSync, readFileSync } from 'node:fs';

export interface EngineFigure {
  what: string;
  wallMs: number;
  events: number;
  eventsPerSec: number;
  packetsPerSec: number;
  /** Simulated time / wall time: > 1 means faster than real time. */
  speedVsRealTime: number;
  /** The packet rate the simulated system reached (metrics.derived.mpps); also shown in `what`. */
  simMpps?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function engineFigures(): EngineFigure[] {
  const out: EngineFigure[] = [];
  const cases: [string, string, Parameters<typeof runScenario>[1]][] = [
    ['emulation-tx 1518 B × 20000', 'emulation-tx', { size: 1518, packets: 20_000 }],
    ['emulation-tx 64 B × 20000', 'emulation-tx', { size: 64, packets: 20_000 }],
    ['emulation-rr 64 B × 5000', 'emulation-rr', { size: 64, packets: 5_000 }],
    ['emulation-rx 1518 B × 20000', 'emulation-rx', { size: 1518, packets: 20_000, params: { offeredGbps: 2 } }],
  ];
  // Paravirtual models: virtio-tx with each backend at 64 B and 1518 B, then virtio-rx on vhost-net.
  const backends: [string, Record<string, string | boolean>][] = [
    ['qemu', { backend: 'qemu' }],
    ['vhost-net', { backend: 'vhost-net' }],
    ['vhost-user', { backend: 'vhost-user' }],
    ['vhost-user + guest PMD', { backend: 'vhost-user', guestPmd: true }],
    ['xen-netback', { backend: 'xen-netback' }],
    ['vmxnet3', { backend: 'vmxnet3' }],
  ];
  for (const size of [64, 1518]) {
    for (const [name, params] of backends) cases.push([`virtio-tx ${name} ${size} B × 20000`, 'virtio-tx', { size, packets: 20_000, params }]);
  }
  // Bulk TCP as real stacks send it: TSO super-frames, 100000 wire frames of 1518 B.
  for (const b of ['qemu', 'vhost-net', 'vhost-user']) cases.push([`virtio-tx ${b} TSO 1518 B × 100000`, 'virtio-tx', { size: 1518, packets: 100_000, params: { backend: b, tso: true } }]);
  cases.push(['virtio-rx vhost-net 64 B × 20000, 1 Gbit/s offered', 'virtio-rx', { size: 64, packets: 20_000, params: { backend: 'vhost-net', offeredGbps: 1 } }]);
  cases.push(['virtio-rx vhost-net 1518 B × 20000, 5 Gbit/s offered', 'virtio-rx', { size: 1518, packets: 20_000, params: { backend: 'vhost-net', offeredGbps: 5 } }]);
  // Passthrough: the assigned 82599-class NIC on bare metal and under VFIO (each interrupt mode), the
  // IOTLB with 4 KiB and 2 MiB pages, the DMA API through the host IOMMU, a poll-mode driver at 100 Gbit/s.
  for (const [name, params] of [['bare metal', { setup: 'baremetal' }], ['VFIO remapped', { irq: 'remapped' }], ['VFIO posted', { irq: 'posted' }]] as const) {
    cases.push([`passthrough-tx ${name} 64 B × 20000`, 'passthrough-tx', { size: 64, packets: 20_000, params }]);
  }
  cases.push(['passthrough-tx VFIO guest PMD, 2 MiB pages 64 B × 20000', 'passthrough-tx', { size: 64, packets: 20_000, params: { pmd: true, hugepages: true } }]);
  cases.push(['passthrough-rx VFIO 4 KiB pages 1518 B × 20000', 'passthrough-rx', { size: 1518, packets: 20_000 }]);
  cases.push(['passthrough-rx VFIO 2 MiB pages 1518 B × 20000', 'passthrough-rx', { size: 1518, packets: 20_000, params: { hugepages: true } }]);
  cases.push(['passthrough-rx bare metal, DMA API strict 1518 B × 20000', 'passthrough-rx', { size: 1518, packets: 20_000, params: { setup: 'baremetal', dmaApi: 'strict' } }]);
  cases.push(['passthrough-rx VFIO PMD 100 Gbit/s 1518 B × 20000', 'passthrough-rx', { size: 1518, packets: 20_000, params: { pmd: true, wireGbps: 100, offeredGbps: 100, ringSize: 1024 } }]);
  cases.push(['passthrough-rr VFIO posted 64 B × 5000', 'passthrough-rr', { size: 64, packets: 5_000 }]);
  // SR-IOV: one port shared by 1, 8 and 64 VMs (cost should grow about linearly with VMs), VMDq vs none, vhost-net, OVS offload.
  for (const vms of [1, 8, 64]) cases.push([`sriov-rx sriov ${vms} VM(s) 1518 B × 20000`, 'sriov-rx', { vms, size: 1518, packets: 20_000, params: vms > 63 ? { nic: 'xl710' } : {} }]);
  for (const mode of ['vmdq', 'vmdq-off', 'vhost-net']) cases.push([`sriov-rx ${mode} 8 VMs 1518 B × 20000`, 'sriov-rx', { vms: 8, size: 1518, packets: 20_000, params: { mode } }]);
  cases.push(['sriov-ovs-offload 4 VMs, 64 flows, 1518 B × 8000', 'sriov-ovs-offload', { packets: 8_000 }]);
  for (const vms of [1, 8, 64]) cases.push([`sriov-tx ${vms} VM(s) 1518 B × 20000`, 'sriov-tx', { vms, size: 1518, packets: 20_000, params: vms > 63 ? { nic: 'xl710' } : {} }]);
  cases.push(['sriov-tx hairpin 8 VMs 1518 B × 20000', 'sriov-tx', { vms: 8, size: 1518, packets: 20_000, params: { hairpin: true } }]);
  // Live migration: each model at the defaults (4 GiB, 200 MB/s dirtied, 10 Gbit/s), a run that does not converge, and a 64 GiB guest.
  for (const model of ['emulation', 'vhost-net', 'failover', 'vfio-migration']) cases.push([`migrate ${model} 4 GiB`, 'migrate', { params: { model } }]);
  cases.push(['migrate vhost-net 1 GiB not converging (500 MB/s, 1 Gbit/s, 30 rounds)', 'migrate', { params: { model: 'vhost-net', memMiB: 1024, wssMiB: 256, dirtyMBps: 500, linkGbps: 1 } }]);
  cases.push(['migrate vhost-net 64 GiB', 'migrate', { params: { model: 'vhost-net', memMiB: 65536 } }]);
  cases.push(['migrate vhost-net 1 GiB post-copy (500 MB/s, 1 Gbit/s)', 'migrate', { params: { model: 'vhost-net', memMiB: 1024, wssMiB: 256, dirtyMBps: 500, linkGbps: 1, postcopy: true } }]);
  runScenario('emulation-tx', { packets: 2000 }); // warm up the JIT
  runScenario('passthrough-tx', { packets: 2000 });
  runScenario('virtio-tx', { packets: 2000 });
  for (const [what, id, opts] of cases) {
    const times: number[] = [];
    let r = runScenario(id, opts);
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      r = runScenario(id, opts);
      times.push(performance.now() - t0);
    }
    const wall = median(times);
    const m = r.metrics;
    const packets = m.counters.packetsTx + m.counters.packetsRx + m.counters.transactions;
    const mig = m.migration;
    const simRate = mig
      ? ` → ${mig.outcome}, ${mig.rounds.length} rounds, downtime ${mig.downtimeMs} ms, ${Math.round(mig.totalMs) / 1000} s simulated`
      : m.derived.mpps > 0
      ? ` → ${m.derived.mpps} Mpps simulated`
      : m.counters.transactions > 0 ? ` → ${Math.round(m.counters.transactions / (m.windowNs / 1e9))} transactions/s simulated` : '';
    out.push({
      what: what + simRate,
      simMpps: m.derived.mpps,
      wallMs: Math.round(wall),
      events: m.events,
      eventsPerSec: Math.round(m.events / (wall / 1000)),
      packetsPerSec: Math.round(packets / (wall / 1000)),
      speedVsRealTime: Math.round((m.windowNs / 1e6 / wall) * 100) / 100,
    });
  }
  // Each lab's reference graded in-process on its public seeds plus three more (what one Grade costs in Node).
  for (const lab of listLabs().map((l) => l.id)) {
    const ref = readFileSync(new URL(`../../lab-engine/labs/${lab}/reference.ts`, import.meta.url), 'utf8');
    const seeds = [...getLabInfo(lab)!.publicSeeds, 11, 12, 13];
    gradeSeeds(lab, ref, [99], 'grade'); // warm up
    const t0 = performance.now();
    gradeSeeds(lab, ref, seeds, 'grade');
    const ms = performance.now() - t0;
    out.push({ what: `grade ${lab} reference, ${seeds.length} seeds (Node, in-process; ${Math.round(ms / seeds.length)} ms per seed)`, wallMs: Math.round(ms), events: 0, eventsPerSec: 0, packetsPerSec: 0, speedVsRealTime: 0 });
  }
  // Every notebook cell, run once in Node (what pressing Run costs before the chart is drawn).
  const cellDir = new URL('../../content/cells/', import.meta.url);
  for (const f of readdirSync(cellDir).filter((n) => n.endsWith('.ts')).sort()) {
    const src = readFileSync(new URL(f, cellDir), 'utf8');
    const t0 = performance.now();
    runCell(src);
    out.push({ what: `cell ${f} (Node, one run)`, wallMs: Math.round(performance.now() - t0), events: 0, eventsPerSec: 0, packetsPerSec: 0, speedVsRealTime: 0 });
  }
  return out;
}
