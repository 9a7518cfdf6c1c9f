// L5 — VM-to-VM through the NIC's embedded switch (hairpin) against the same VMs sending out.
//
// Each of the VMs streams 1518 B frames out through its own VF ('sriov-tx': doorbells without
// exits, descriptors and buffers fetched through VT-d with the VF's RID, one posted vector per
// queue pair). Two destinations for the same frames:
//   • out: to a peer on the wire (hairpin=false) — PCIe host→NIC once, then the 10 GbE wire,
//     which is the limit;
//   • hairpin: VM i sends to VM i+1's MAC (hairpin=true) — the switch turns the frame around
//     inside the NIC: it never reaches the wire, but crosses PCIe twice (fetched from VM i,
//     written into VM i+1), so PCIe, not the 10 GbE port, sets the ceiling once enough VMs send.
// Throughput here is what leaves the port (out) or what the receiving VMs get (hairpin).
// Not compared: VM-to-VM through the host's bridge (vhost-net). 'sriov-tx' only runs VFs
// (it has no mode parameter) and 'sriov-rx' with mode=vhost-net only models traffic arriving
// from the wire, so the engine cannot run guest-to-guest traffic through a software switch yet;
// L5's text compares that path qualitatively (two copies in the host instead of two PCIe trips).
// Host CPU is the sum of derived.cpu over kvm, host-kernel, vhost and qemu: with VFs the host
// only does KVM's per-VM work, whichever way the frames go.
// Things to try: VMS = [2, 4, 8, 16, 32]; SIZE = 64 (per-frame costs: the VMs' CPUs, not PCIe,
// limit the hairpin); RATE = 1000 (max_tx_rate of 1 Gbit/s per VF: the switch paces each VM).
import { sim, plot, table } from 'iovlab';

const PACKETS = 6000; // split evenly over the VMs
const SIZE = 1518;
const VMS = [2, 4, 8, 16];
const RATE = 0; // Mbit/s per VF (max_tx_rate), 0 = none

interface Row {
  path: string;
  vms: number;
  gbps: number;
  wire: number;
  pcieToNic: number;
  pcieToHost: number;
  vmCpu: number;
  hostCores: number;
  bottleneck: string;
}

const HOST = ['kvm', 'host-kernel', 'vhost', 'qemu'] as const;
const pct = (x: number | undefined): number => Math.round((x ?? 0) * 1000) / 10;

function measure(hairpin: boolean, vms: number): Row {
  const m = sim('sriov-tx', { size: SIZE, packets: PACKETS, vms, params: { hairpin, rateMbps: RATE } });
  const u = m.derived.utilization;
  const vmCpu = Object.keys(u).filter((k) => /^VM \d+ pCPU$/.test(k)).reduce((mx, k) => Math.max(mx, u[k]!), 0);
  return {
    path: hairpin ? 'hairpin' : 'out',
    vms,
    gbps: Math.round(m.derived.throughputGbps * 100) / 100,
    wire: pct(u['wire']),
    pcieToNic: pct(u['PCIe host→NIC']),
    pcieToHost: pct(u['PCIe NIC→host']),
    vmCpu: pct(vmCpu),
    hostCores: Math.round(HOST.reduce((s, c) => s + m.derived.cpu[c], 0) * 1000) / 1000,
    bottleneck: m.derived.bottleneck,
  };
}

const out = VMS.map((n) => measure(false, n));
const hair = VMS.map((n) => measure(true, n));
const last = VMS.length - 1;
const short = (b: string): string => (b.startsWith('PCIe') ? 'PCIe' : /^VM \d+ pCPU$/.test(b) ? 'VM CPU' : b);

table(
  [...out, ...hair].map((r) => ({
    path: r.path === 'out' ? 'out to the wire' : 'hairpin VM → VM',
    VMs: r.vms,
    'Gbit/s': r.gbps,
    'wire %': r.wire,
    'PCIe host→NIC %': r.pcieToNic,
    'PCIe NIC→host %': r.pcieToHost,
    'busiest VM pCPU %': r.vmCpu,
    'host cores': r.hostCores,
    bottleneck: r.bottleneck,
  })),
  `${SIZE} B frames, ${PACKETS} per run split over the VMs${RATE ? `, max_tx_rate ${RATE} Mbit/s` : ''}`,
);

plot({
  type: 'line',
  title: 'Throughput: out to the wire against hairpin through the switch',
  x: { label: 'VMs sending', values: VMS },
  y: { label: 'Gbit/s' },
  series: [
    { label: 'out', values: out.map((r) => r.gbps) },
    { label: 'hairpin', values: hair.map((r) => r.gbps) },
  ],
  summary: `With ${VMS[last]} VMs the hairpin carries ${hair[last]!.gbps} Gbit/s, ${Math.round((hair[last]!.gbps / out[last]!.gbps) * 100) / 100}× the ${out[last]!.gbps} Gbit/s that go out (held by the ${out[last]!.bottleneck}); with ${VMS[0]} VMs the hairpin reaches ${hair[0]!.gbps} Gbit/s, limited by ${short(hair[0]!.bottleneck)}.`,
});

plot({
  type: 'bar',
  title: `Where the time goes with ${VMS[last]} VMs`,
  x: { label: 'resource', values: ['wire', 'PCIe →NIC', 'PCIe →host', 'VM pCPU'] },
  y: { label: '% busy' },
  series: [
    { label: 'out', values: [out[last]!.wire, out[last]!.pcieToNic, out[last]!.pcieToHost, out[last]!.vmCpu] },
    { label: 'hairpin', values: [hair[last]!.wire, hair[last]!.pcieToNic, hair[last]!.pcieToHost, hair[last]!.vmCpu] },
  ],
  summary: `Going out, the wire is ${out[last]!.wire} % busy and PCIe host→NIC ${out[last]!.pcieToNic} %; in the hairpin the wire is ${hair[last]!.wire} % busy and PCIe ${hair[last]!.pcieToNic} % in each direction (bottleneck: ${hair[last]!.bottleneck}).`,
});

plot({
  type: 'line',
  title: 'Host CPU (kvm + host-kernel + vhost + qemu)',
  x: { label: 'VMs sending', values: VMS },
  y: { label: 'host cores' },
  series: [
    { label: 'out', values: out.map((r) => r.hostCores) },
    { label: 'hairpin', values: hair.map((r) => r.hostCores) },
  ],
  summary: `The host spends ${out[last]!.hostCores} cores (out) and ${hair[last]!.hostCores} (hairpin) at ${VMS[last]} VMs — KVM's per-VM work only; the switch, not the host, moves every frame.`,
});
