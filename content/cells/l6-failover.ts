// L6 — Migrating a VM whose fast path is an SR-IOV VF: refused on its own, or migrated with a
// net_failover pair (VF primary + virtio standby), against a plain virtio NIC and a
// VFIO-migration-capable device.
//
// The same guest (MEM_MIB of RAM, DIRTY MB/s into a 512 MiB working set, TRAFFIC Gbit/s
// received) is migrated over a 10 Gbit/s link ('migrate' scenario) with four NIC set-ups:
//   • a VF alone ('sriov-vf'): QEMU refuses — the migration block lists the four reasons;
//   • failover: QEMU asks the guest to hot-unplug the VF, the guest removes its driver (the VF
//     stops receiving), net_failover switches to the virtio standby, the VM migrates as virtio
//     (vhost-net), the destination resumes and announces itself, a VF is hot-plugged there and
//     becomes the primary again (one more short switch);
//   • a plain virtio NIC on vhost-net: only the stop-and-copy and the announce;
//   • a VFIO-migration device: the device stays assigned; its state streams through the data_fd
//     (PRE_COPY, then STOP_COPY) and its DMA is tracked by the device's own dirty log.
// What is measured: outageMs, the time the guest's received traffic saw no path (paused,
// unreachable, or between NICs), against downtimeMs, the time its vCPUs were paused; and the
// received throughput over the run, from the scenario's series (1518 B frames).
// Things to try: TRAFFIC = 10; DIRTY = 800 (a longer pre-copy, the same outage); MEM_MIB = 8192.
import { sim, plot, table } from 'iovlab';

const MEM_MIB = 2048;
const DIRTY = 200;
const TRAFFIC = 1; // Gbit/s received during the migration

const SETUPS: { short: string; name: string; model: string }[] = [
  { short: 'VF alone', name: 'SR-IOV VF, no migration support', model: 'sriov-vf' },
  { short: 'failover', name: 'VF primary + virtio standby (net_failover)', model: 'failover' },
  { short: 'virtio', name: 'virtio-net on vhost-net', model: 'vhost-net' },
  { short: 'VFIO mig.', name: 'VFIO migration v2 device', model: 'vfio-migration' },
];

const params = (model: string) => ({ model, memMiB: MEM_MIB, wssMiB: 512, dirtyMBps: DIRTY, trafficGbps: TRAFFIC });
const runs = SETUPS.map((s) => ({ ...s, m: sim('migrate', { params: params(s.model) }) }));
const mig = (short: string) => runs.find((r) => r.short === short)!.m.migration!;
const vf = mig('VF alone');
const fo = mig('failover');
const vio = mig('virtio');
const vfio = mig('VFIO mig.');

table(
  runs.map((r) => {
    const m = r.m.migration!;
    return {
      'set-up': r.name,
      outcome: m.outcome,
      'downtime ms': m.downtimeMs,
      'outage ms': m.outageMs,
      'total ms': m.totalMs,
      'frames lost': m.framesLost,
      'device state B': m.deviceStateBytes,
      // Each refusal reason opens with its name ('Device DMA bypasses dirty tracking: …').
      why: m.outcome === 'refused' ? m.reasons.map((s) => s.split(':')[0]).join(' / ') : `logs: ${m.dirtyLoggers.join(' + ')}`,
    };
  }),
  `${MEM_MIB} MiB guest, ${DIRTY} MB/s dirtied, ${TRAFFIC} Gbit/s received, 10 Gbit/s migration link`,
);

const migrated = runs.filter((r) => r.m.migration!.outcome === 'completed');
plot({
  type: 'bar',
  title: 'What the guest feels: vCPUs paused (downtime) and no network path (outage)',
  x: { label: 'set-up', values: migrated.map((r) => r.short) },
  y: { label: 'ms' },
  series: [
    { label: 'downtime', values: migrated.map((r) => r.m.migration!.downtimeMs) },
    { label: 'outage', values: migrated.map((r) => r.m.migration!.outageMs) },
  ],
  summary: `A VF alone is ${vf.outcome} (${vf.reasons.length} reasons). Failover's outage is ${fo.outageMs} ms against ${vio.outageMs} ms for plain virtio (${Math.round((fo.outageMs - vio.outageMs) * 10) / 10} ms more: the VF's removal and two net_failover switches) with nearly the same downtime (${fo.downtimeMs} vs ${vio.downtimeMs} ms); the VFIO-migration device keeps its VF and is out for ${vfio.outageMs} ms.`,
});

// Received throughput over the run, resampled onto one time grid (the runs last different times).
const POINTS = 120;
// Up to the shortest run's end (each run follows its traffic for a second after the switch-over).
const shortest = Math.min(...migrated.map((r) => r.m.windowNs));
const grid = Array.from({ length: POINTS }, (_, i) => Math.round(((i * shortest) / POINTS) / 1e6));
const at = (m: (typeof runs)[number]['m'], ms: number): number => {
  const i = Math.floor((ms * 1e6) / m.series.bucketNs);
  return Math.round((m.series.throughputGbps[i] ?? 0) * 1000) / 1000;
};
const gbps = migrated.map((r) => ({ short: r.short, values: grid.map((ms) => at(r.m, ms)) }));
const removal = fo.phases.find((p) => /removes the VF driver/.test(p.name));
const takeover = [...fo.phases].reverse().find((p) => /active primary/.test(p.name));
const dips = gbps.map((g) => `${g.short} min ${Math.min(...g.values.slice(1, -1))} Gbit/s`).join(', ');
plot({
  type: 'line',
  title: `Received traffic during the migration (${TRAFFIC} Gbit/s offered; buckets of the scenario's series)`,
  x: { label: 'time (ms)', values: grid },
  y: { label: 'received Gbit/s' },
  series: gbps.map((g) => ({ label: g.short, values: g.values })),
  summary: `Traffic stops while each VM is paused or unreachable (${dips}); failover also loses it while the VF is removed (from ${removal ? removal.startMs : '?'} ms, ${removal ? removal.durationMs : '?'} ms plus a ${takeover ? takeover.durationMs : '?'} ms switch) and again for ${takeover ? takeover.durationMs : '?'} ms at ${takeover ? Math.round(takeover.startMs) : '?'} ms, when the destination's new VF takes over.`,
});
