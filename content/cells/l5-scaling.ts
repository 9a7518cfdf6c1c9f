// L5 — Sharing one NIC port among more and more VMs: SR-IOV, VMDq and vhost-net side by side.
//
// A peer streams 1518 B frames at 10 GbE line rate into one port ('sriov-rx'), spread round-robin
// over the VMs by destination MAC, as the VM count goes 1 → 64. Three ways to share the port:
//   • SR-IOV: each VM owns a VF (VFIO, its own VT-d domain, posted interrupts); the NIC's switch
//     DMAs each frame straight into the VM — no host copy, only KVM's per-VM housekeeping;
//   • VMDq: the NIC sorts frames into per-VM queues by MAC, but one host vSwitch thread per queue
//     still copies each frame into the VM's virtio ring and signals its irqfd;
//   • vhost-net: the host NIC's single RX softirq bridges to taps, one vhost worker per VM copies.
// And once, at VMDQ_OFF_VMS VMs, VMDq switched off: one host thread sorts and copies everything.
// Host CPU is in cores: the sum of derived.cpu over kvm, host-kernel, vhost and qemu (the guests'
// own vCPUs are not counted). The 82599's driver allows 63 VFs, so the 64-VM point runs on the
// XL710 (nic=xl710), still on a 10 GbE link (wireGbps is 10 for both NICs), so every point
// shares the same wire. Published anchors: Dong et al. (C11) SR-IOV at line rate to 60 VMs with
// ≈ 1.76 % of a core per added VM; Intel/vSphere (C12) VMDq ≈ 9.3 Gbit/s against ≈ 4.2 without.
// Things to try: OFFERED = 5 (below line rate: who still needs more cores?); VMS = [1, 2, 4, 8]
// (where VMDq's per-queue threads start to add up); SIZE = 64 (small frames: per-frame costs rule).
import { sim, plot, table } from 'iovlab';

const PACKETS = 6000;
const SIZE = 1518;
const OFFERED = 10; // Gbit/s, aggregate over all VMs
const VMS = [1, 8, 32, 64];
const VMDQ_OFF_VMS = 8;

const modes: { name: string; short: string; mode: string }[] = [
  { name: 'SR-IOV (a VF per VM)', short: 'SR-IOV', mode: 'sriov' },
  { name: 'VMDq (per-VM queues, host copy)', short: 'VMDq', mode: 'vmdq' },
  { name: 'vhost-net (host bridge)', short: 'vhost-net', mode: 'vhost-net' },
];

interface Row {
  name: string;
  short: string;
  vms: number;
  nic: string;
  gbps: number;
  hostCores: number;
  bottleneck: string;
}

const HOST = ['kvm', 'host-kernel', 'vhost', 'qemu'] as const;

function measure(name: string, short: string, mode: string, vms: number): Row {
  const nic = vms > 63 ? 'xl710' : '82599';
  const m = sim('sriov-rx', { size: SIZE, packets: PACKETS, vms, params: { mode, nic, offeredGbps: OFFERED } });
  const cores = HOST.reduce((s, c) => s + m.derived.cpu[c], 0);
  return {
    name,
    short,
    vms,
    nic,
    gbps: Math.round(m.derived.throughputGbps * 100) / 100,
    hostCores: Math.round(cores * 1000) / 1000,
    bottleneck: m.derived.bottleneck,
  };
}

const runs = modes.map((md) => VMS.map((n) => measure(md.name, md.short, md.mode, n)));
const off = measure('VMDq switched off (one host thread)', 'VMDq off', 'vmdq-off', VMDQ_OFF_VMS);
const [sr, vmdq, vhost] = runs as [Row[], Row[], Row[]];

/** Least-squares slope of host cores against VMs, in % of a core per VM. */
function slopePct(rs: Row[]): number {
  const n = rs.length;
  const mx = rs.reduce((s, r) => s + r.vms, 0) / n;
  const my = rs.reduce((s, r) => s + r.hostCores, 0) / n;
  const sxy = rs.reduce((s, r) => s + (r.vms - mx) * (r.hostCores - my), 0);
  const sxx = rs.reduce((s, r) => s + (r.vms - mx) ** 2, 0);
  return Math.round((sxy / sxx) * 1000) / 10;
}
const at = (rs: Row[], vms: number): Row => rs.find((r) => r.vms === vms)!;
const last = VMS[VMS.length - 1]!;
const onAtOff = VMS.includes(VMDQ_OFF_VMS) ? at(vmdq, VMDQ_OFF_VMS) : measure(modes[1]!.name, 'VMDq', 'vmdq', VMDQ_OFF_VMS);
const lastGbps = runs.map((rs) => at(rs, last).gbps);
const spread = Math.round((Math.max(...lastGbps) - Math.min(...lastGbps)) * 100) / 100;

table(
  [...runs.flat(), off].map((r) => ({
    'set-up': r.name,
    VMs: r.vms,
    NIC: r.nic,
    'Gbit/s': r.gbps,
    'host cores': r.hostCores,
    'host % of a core per VM': Math.round((r.hostCores / r.vms) * 1000) / 10,
    bottleneck: r.bottleneck,
  })),
  `${SIZE} B frames, ${PACKETS} per run, ${OFFERED} Gbit/s offered in aggregate`,
);

plot({
  type: 'line',
  title: `Aggregate receive throughput as VMs are added (${OFFERED} Gbit/s offered)`,
  x: { label: 'VMs', values: VMS },
  y: { label: 'Gbit/s' },
  series: runs.map((rs) => ({ label: rs[0]!.short, values: rs.map((r) => r.gbps) })),
  summary: `At ${last} VMs SR-IOV delivers ${at(sr, last).gbps} Gbit/s, VMDq ${at(vmdq, last).gbps} and vhost-net ${at(vhost, last).gbps} (bottleneck: ${at(sr, last).bottleneck}); ${spread < 0.5 ? `within ${spread} Gbit/s of each other, so throughput alone does not tell them apart` : `a spread of ${spread} Gbit/s`}.`,
});

plot({
  type: 'line',
  title: 'Host CPU as VMs are added (kvm + host-kernel + vhost + qemu)',
  x: { label: 'VMs', values: VMS },
  y: { label: 'host cores' },
  series: runs.map((rs) => ({ label: rs[0]!.short, values: rs.map((r) => r.hostCores) })),
  summary: `SR-IOV's host CPU grows by ${slopePct(sr)} % of a core per VM (C11: 1.76 %), to ${at(sr, last).hostCores} cores at ${last} VMs; VMDq needs ${at(vmdq, last).hostCores} and vhost-net ${at(vhost, last).hostCores} cores for the same traffic.`,
});

plot({
  type: 'bar',
  title: `VMDq on and off at ${VMDQ_OFF_VMS} VMs`,
  x: { label: 'set-up', values: [onAtOff.short, off.short] },
  y: { label: 'Gbit/s' },
  y2: { label: 'host cores' },
  series: [
    { label: 'Gbit/s', values: [onAtOff.gbps, off.gbps] },
    { label: 'host cores', values: [onAtOff.hostCores, off.hostCores], axis: 'y2' },
  ],
  summary: `With VMDq ${onAtOff.gbps} Gbit/s, without ${off.gbps} Gbit/s (${Math.round((onAtOff.gbps / off.gbps) * 100) / 100}×; C12: 9.3 vs 4.2): without it one host thread sorts and copies every frame (bottleneck: ${off.bottleneck}).`,
});
