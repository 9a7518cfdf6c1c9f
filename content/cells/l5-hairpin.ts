// L5 — VM-to-VM through the NIC's embedded switch (hairpin), VM-to-VM through the host's bridge
// (vhost-net), and the same VMs sending out to the wire.
//
// Each of the VMs streams 1518 B frames ('sriov-tx'). Three paths for the same frames:
//   • out: each VM sends through its own VF to a peer on the wire (hairpin=false) — doorbells
//     without exits, descriptors and buffers fetched through VT-d with the VF's RID; PCIe
//     host→NIC once, then the 10 GbE wire, which is the limit;
//   • hairpin: VM i sends to VM i+1's MAC through its VF (hairpin=true) — the switch turns the
//     frame around inside the NIC: it never reaches the wire, but crosses PCIe twice (fetched
//     from VM i, written into VM i+1), so PCIe, not the 10 GbE port, sets the ceiling once
//     enough VMs send;
//   • bridge: the same VM i → VM i+1 traffic with virtio-net VMs (path='bridge'): VM i's vhost
//     worker copies the frame out of guest memory into an skb, the host's Linux bridge forwards
//     it to VM i+1's tap, VM i+1's vhost worker copies it into VM i+1's RX ring and signals its
//     irqfd. No NIC, no wire, no PCIe: two copies in the host per frame, one vhost worker per VM,
//     so the busiest vhost worker (or vCPU) sets the pace and the host pays in cores.
// Throughput here is what leaves the port (out) or what the receiving VMs get (hairpin, bridge).
// Host CPU is the sum of derived.cpu over kvm, host-kernel, vhost and qemu: with VFs the host
// only does KVM's per-VM work, whichever way the frames go; through the bridge it moves them.
// Things to try: VMS = [2, 4, 8, 16, 32]; SIZE = 64 (per-frame costs: the VMs' CPUs, not PCIe,
// limit the hairpin, and the vhost workers' per-frame work dominates the bridge); RATE = 1000
// (max_tx_rate of 1 Gbit/s per VF: the switch paces each VM; VF paths only).
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
  vhost: number;
  hostCores: number;
  bottleneck: string;
}

const HOST = ['kvm', 'host-kernel', 'vhost', 'qemu'] as const;
const pct = (x: number | undefined): number => Math.round((x ?? 0) * 1000) / 10;

type Path = 'out' | 'hairpin' | 'bridge';

function measure(path: Path, vms: number): Row {
  const params: Record<string, string | number | boolean> = path === 'bridge' ? { path: 'bridge' } : { hairpin: path === 'hairpin', rateMbps: RATE };
  const m = sim('sriov-tx', { size: SIZE, packets: PACKETS, vms, params });
  const u = m.derived.utilization;
  const busiest = (re: RegExp): number => Object.keys(u).filter((k) => re.test(k)).reduce((mx, k) => Math.max(mx, u[k]!), 0);
  const vmCpu = busiest(/^VM \d+ pCPU$/);
  return {
    path,
    vms,
    gbps: Math.round(m.derived.throughputGbps * 100) / 100,
    wire: pct(u['wire']),
    pcieToNic: pct(u['PCIe host→NIC']),
    pcieToHost: pct(u['PCIe NIC→host']),
    vmCpu: pct(vmCpu),
    vhost: pct(busiest(/^vhost-\d+$/)),
    hostCores: Math.round(HOST.reduce((s, c) => s + m.derived.cpu[c], 0) * 1000) / 1000,
    bottleneck: m.derived.bottleneck,
  };
}

const out = VMS.map((n) => measure('out', n));
const hair = VMS.map((n) => measure('hairpin', n));
const bridge = VMS.map((n) => measure('bridge', n));
const last = VMS.length - 1;
const short = (b: string): string => (b.startsWith('PCIe') ? 'PCIe' : /^VM \d+ pCPU$/.test(b) ? 'VM CPU' : /^vhost-\d+$/.test(b) ? 'a vhost worker' : b);
const LABEL: Record<Path, string> = { out: 'out to the wire', hairpin: 'hairpin VM → VM', bridge: 'bridge VM → VM (vhost-net)' };
const x = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

table(
  [...out, ...hair, ...bridge].map((r) => ({
    path: LABEL[r.path as Path],
    VMs: r.vms,
    'Gbit/s': r.gbps,
    'wire %': r.wire,
    'PCIe host→NIC %': r.pcieToNic,
    'PCIe NIC→host %': r.pcieToHost,
    'busiest VM pCPU %': r.vmCpu,
    'busiest vhost %': r.vhost,
    'host cores': r.hostCores,
    bottleneck: r.bottleneck,
  })),
  `${SIZE} B frames, ${PACKETS} per run split over the VMs${RATE ? `, max_tx_rate ${RATE} Mbit/s on the VF paths` : ''}`,
);

plot({
  type: 'line',
  title: 'Throughput: out to the wire, hairpin through the switch, through the host bridge',
  x: { label: 'VMs sending', values: VMS },
  y: { label: 'Gbit/s' },
  series: [
    { label: 'out', values: out.map((r) => r.gbps) },
    { label: 'hairpin', values: hair.map((r) => r.gbps) },
    { label: 'bridge', values: bridge.map((r) => r.gbps) },
  ],
  summary: `With ${VMS[last]} VMs the hairpin carries ${hair[last]!.gbps} Gbit/s, ${x(hair[last]!.gbps, out[last]!.gbps)}× the ${out[last]!.gbps} Gbit/s that go out (held by the ${out[last]!.bottleneck}); with ${VMS[0]} VMs the hairpin reaches ${hair[0]!.gbps} Gbit/s, limited by ${short(hair[0]!.bottleneck)}. Through the host bridge the same VM-to-VM frames reach ${bridge[last]!.gbps} Gbit/s with ${VMS[last]} VMs (${bridge[0]!.gbps} with ${VMS[0]}), limited by ${short(bridge[last]!.bottleneck)}${bridge[last]!.gbps > hair[last]!.gbps ? ': every VM has its own vhost worker, so the bridge grows with the VMs (and the host\'s cores) while the hairpin shares one PCIe link' : ''}.`,
});

plot({
  type: 'bar',
  title: `Where the time goes with ${VMS[last]} VMs`,
  x: { label: 'resource', values: ['wire', 'PCIe →NIC', 'PCIe →host', 'VM pCPU', 'vhost'] },
  y: { label: '% busy' },
  series: [out, hair, bridge].map((rs) => ({ label: rs[last]!.path, values: [rs[last]!.wire, rs[last]!.pcieToNic, rs[last]!.pcieToHost, rs[last]!.vmCpu, rs[last]!.vhost] })),
  summary: `Going out, the wire is ${out[last]!.wire} % busy and PCIe host→NIC ${out[last]!.pcieToNic} %; in the hairpin the wire is ${hair[last]!.wire} % busy and PCIe ${hair[last]!.pcieToNic} % in each direction (bottleneck: ${hair[last]!.bottleneck}); through the bridge wire and PCIe stay at ${bridge[last]!.wire} % and ${bridge[last]!.pcieToNic} % while the busiest vhost worker is ${bridge[last]!.vhost} % busy and the busiest VM pCPU ${bridge[last]!.vmCpu} % (bottleneck: ${bridge[last]!.bottleneck}).`,
});

plot({
  type: 'line',
  title: 'Host CPU (kvm + host-kernel + vhost + qemu)',
  x: { label: 'VMs sending', values: VMS },
  y: { label: 'host cores' },
  series: [
    { label: 'out', values: out.map((r) => r.hostCores) },
    { label: 'hairpin', values: hair.map((r) => r.hostCores) },
    { label: 'bridge', values: bridge.map((r) => r.hostCores) },
  ],
  summary: `The host spends ${out[last]!.hostCores} cores (out) and ${hair[last]!.hostCores} (hairpin) at ${VMS[last]} VMs — KVM's per-VM work only; the switch, not the host, moves every frame. Through the bridge it spends ${bridge[last]!.hostCores} cores, ${x(bridge[last]!.hostCores, hair[last]!.hostCores)}× the hairpin's, copying each frame twice (${x(bridge[last]!.hostCores, VMS[last]!)} cores per VM).`,
});
