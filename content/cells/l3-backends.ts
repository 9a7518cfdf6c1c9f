// L3 — Where the backend runs, and what that buys: e1000 emulation, virtio with the QEMU
// backend, vhost-net and vhost-user, with small (64 B) and full-size (1518 B) frames.
//
// The guest streams frames out to a peer over a 10 GbE wire. The five set-ups:
//   • e1000 (emulated): every register access is an exit to QEMU ('emulation-tx');
//   • virtio + QEMU: virtio rings, kicks through an ioeventfd, QEMU's main loop does the work
//     and talks to the tap device with system calls;
//   • vhost-net: the same rings served by a kernel thread (vhost worker), no QEMU on the path;
//   • vhost-user, guest kernel driver: a DPDK process polls the rings on a dedicated core;
//   • vhost-user + guest PMD: the guest polls too (a DPDK virtio driver): no kicks, no interrupts.
// Look at four things: packets per second with small frames, Gbit/s with large ones, exits per
// packet, and how many CPU cores the host and guest burn to get there ("cores" = busy time of
// every context — guest vCPU, KVM, QEMU, vhost worker, host kernel, poll core — over the run).
// Things to try: PACKETS = 4000 (the figures barely move); add { params: { queues: 4 } } to the
// vhost-net runs (four vCPUs and four vhost workers); WIRE_GBPS = 25.
import { sim, plot, table } from 'iovlab';

const PACKETS = 2000; // frames per run
const WIRE_GBPS = 10;
const SIZES = [64, 1518];

const setups: { name: string; short: string; scenario: string; params: Record<string, number | string | boolean> }[] = [
  { name: 'e1000 (emulated)', short: 'e1000', scenario: 'emulation-tx', params: { wireGbps: WIRE_GBPS } },
  { name: 'virtio + QEMU', short: 'QEMU', scenario: 'virtio-tx', params: { backend: 'qemu', wireGbps: WIRE_GBPS } },
  { name: 'vhost-net', short: 'vhost-net', scenario: 'virtio-tx', params: { backend: 'vhost-net', wireGbps: WIRE_GBPS } },
  { name: 'vhost-user (guest kernel)', short: 'vhost-user', scenario: 'virtio-tx', params: { backend: 'vhost-user', wireGbps: WIRE_GBPS } },
  { name: 'vhost-user + guest PMD', short: 'v-user+PMD', scenario: 'virtio-tx', params: { backend: 'vhost-user', guestPmd: true, wireGbps: WIRE_GBPS } },
];

interface Result {
  exitsPerPacket: number;
  mpps: number;
  gbps: number;
  cores: number;
  dropped: number;
  bottleneck: string;
  /** Busy fraction of the poll-mode core (vhost-user), 0 elsewhere. */
  poll: number;
}

function measure(scenario: string, size: number, params: Record<string, number | string | boolean>): Result {
  const m = sim(scenario, { size, packets: PACKETS, params });
  const packets = Math.max(1, m.counters.packetsTx + m.counters.packetsRx);
  let cores = 0;
  for (const [ctx, busy] of Object.entries(m.derived.cpu)) if (ctx !== 'wire') cores += busy;
  return {
    // From the counters, not derived.exitsPerPacket (rounded to 3 decimals: tiny values would read 0).
    exitsPerPacket: m.counters.exitsTotal / packets,
    mpps: m.derived.mpps,
    gbps: m.derived.throughputGbps,
    cores: Math.round(cores * 100) / 100,
    dropped: m.counters.drops,
    bottleneck: m.derived.bottleneck,
    poll: m.derived.cpu.poll ?? 0,
  };
}

const results = SIZES.map((size) => setups.map((s) => measure(s.scenario, size, s.params)));
const [small, large] = results as [Result[], Result[]];
// Short names on the charts' axes (five bars side by side); the table has the full ones.
const names = setups.map((s) => s.short);
const sig = (v: number, digits = 3): number => Number(v.toPrecision(digits));

table(
  SIZES.flatMap((size, i) =>
    setups.map((s, j) => {
      const r = results[i]![j]!;
      return {
        setup: s.name,
        'frame (B)': size,
        'exits/packet': sig(r.exitsPerPacket),
        Mpps: sig(r.mpps),
        'Gbit/s': sig(r.gbps),
        'CPU cores': r.cores,
        'cores per Gbit/s': sig(r.cores / Math.max(r.gbps, 1e-9)),
        'frames dropped': r.dropped,
        'busiest resource': r.bottleneck,
      };
    }),
  ),
  `guest transmits ${PACKETS} frames per run on a ${WIRE_GBPS} GbE wire`,
);

// Line rate: frame + 20 B of preamble, start delimiter and inter-frame gap on the wire.
const lineMpps = (size: number): number => (WIRE_GBPS * 1e3) / ((size + 20) * 8);
const lineGbps1518 = (lineMpps(1518) * 1518 * 8) / 1e3;
const at = (rs: Result[], name: string): Result => rs[setups.findIndex((s) => s.name === name)]!;
const ratio = (a: number, b: number): string => `${sig(a / b, 2)}×`;

plot({
  type: 'bar',
  title: '64 B frames: packet rate',
  x: { label: 'setup', values: names },
  y: { label: 'Mpps (log scale)', log: true },
  series: [{ label: 'Mpps', values: small.map((r) => r.mpps) }],
  summary:
    `With 64 B frames, vhost-user with a guest PMD moves ${sig(at(small, 'vhost-user + guest PMD').mpps)} Mpps ` +
    `(${Math.round((100 * at(small, 'vhost-user + guest PMD').mpps) / lineMpps(64))} % of the ${sig(lineMpps(64), 4)} Mpps line rate), ` +
    `${ratio(at(small, 'vhost-user + guest PMD').mpps, at(small, 'vhost-net').mpps)} vhost-net's ${sig(at(small, 'vhost-net').mpps)} Mpps, ` +
    `${ratio(at(small, 'vhost-user + guest PMD').mpps, at(small, 'virtio + QEMU').mpps)} virtio + QEMU and ` +
    `${ratio(at(small, 'vhost-user + guest PMD').mpps, at(small, 'e1000 (emulated)').mpps)} the emulated e1000.`,
});

const list = (xs: string[]): string => (xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);
const atLine = setups.map((s) => s.name).filter((_, j) => large[j]!.gbps >= 0.95 * lineGbps1518);
const below = setups.map((s) => s.name).filter((_, j) => large[j]!.gbps < 0.95 * lineGbps1518);

plot({
  type: 'bar',
  title: '1518 B frames: throughput',
  x: { label: 'setup', values: names },
  y: { label: 'Gbit/s' },
  series: [{ label: 'Gbit/s delivered', values: large.map((r) => r.gbps) }],
  summary:
    `With 1518 B frames the wire tops out at ${sig(lineGbps1518)} Gbit/s: ${list(atLine) || 'no setup'} ` +
    `${atLine.length === 1 ? 'reaches' : 'reach'} at least 95 % of it` +
    (below.length ? `, while ${list(below)} ${below.length === 1 ? 'stays' : 'stay'} below (the lowest at ${sig(Math.min(...large.map((r) => r.gbps)))} Gbit/s).` : '.'),
});

// How much the frame size changes exits per packet, at most, over the setups that exit on the
// data path (≥ 0.01 per packet; below that only a few start-up exits are left).
const exiting = small.map((r, j) => [r.exitsPerPacket, large[j]!.exitsPerPacket] as const).filter(([a, b]) => Math.max(a, b) >= 0.01);
const sizeEffect = Math.max(0, ...exiting.map(([a, b]) => Math.abs(b - a) / Math.max(a, b)));

plot({
  type: 'bar',
  title: 'VM exits per packet',
  x: { label: 'setup', values: names },
  // Linear: a setup with no exits at all (vhost-user with a guest PMD) must show as 0.
  y: { label: 'exits per packet' },
  series: [
    { label: '64 B', values: small.map((r) => sig(r.exitsPerPacket)) },
    { label: '1518 B', values: large.map((r) => sig(r.exitsPerPacket)) },
  ],
  summary:
    `With 64 B frames, exits per packet go from ${sig(at(small, 'e1000 (emulated)').exitsPerPacket)} for the emulated e1000 ` +
    `to ${sig(at(small, 'vhost-net').exitsPerPacket)} for vhost-net and ${sig(at(small, 'vhost-user + guest PMD').exitsPerPacket, 2)} ` +
    `for vhost-user with a guest PMD. Where the data path exits at all, 1518 B frames change exits per packet by at most ${Math.round(100 * sizeEffect)} %: they are paid per packet, not per byte.`,
});

const net = at(large, 'vhost-net');
const user = at(large, 'vhost-user (guest kernel)');
plot({
  type: 'bar',
  title: 'CPU cores consumed (guest, KVM, QEMU, vhost, host kernel, poll core)',
  x: { label: 'setup', values: names },
  y: { label: 'cores busy' },
  series: [
    { label: '64 B', values: small.map((r) => r.cores) },
    { label: '1518 B', values: large.map((r) => r.cores) },
  ],
  summary:
    `At 1518 B, vhost-net and vhost-user (guest kernel) both deliver about ${sig(net.gbps, 2)} Gbit/s, vhost-net with ` +
    `${sig(net.exitsPerPacket, 2)} exits per packet on ${net.cores} cores and vhost-user with ${sig(user.exitsPerPacket, 2)} on ` +
    `${user.cores} cores, one of them a poll core busy ${Math.round(100 * user.poll)} % of the time whether or not frames arrive: they differ in exits and CPU, not in Gbit/s.`,
});
