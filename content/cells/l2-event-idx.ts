// L2 — Notification suppression: VIRTIO_F_EVENT_IDX on and off.
//
// Both sides of a virtqueue can ask the other to stay quiet. Without EVENT_IDX they use flags:
// the device sets NO_NOTIFY in the used ring ("don't kick me"), the driver sets NO_INTERRUPT in
// the avail ring ("don't interrupt me"). With EVENT_IDX each side writes an index instead:
// avail_event ("kick me when you pass this entry") and used_event ("interrupt me when you pass
// this one"), and the other side asks vring_need_event() whether it just crossed it.
//
// A kick is a VM exit (an MMIO write caught by an ioeventfd); an interrupt costs an EOI exit
// and often a HLT exit, because the vCPU slept while it waited. So we count, per packet:
// kicks, VM exits of every kind, and interrupts injected into the guest.
//
// Two workloads, each with vhost-net and with the QEMU backend:
//   • RX: a peer sends 64 B frames into the guest at a moderate rate (RATE_GBPS), below
//     what either backend can carry, so the backends are not always busy;
//   • TX: the guest sends as fast as it can (a TX stream sets its own pace).
// Things to try: RATE_GBPS = 0.05 (every frame alone: suppression has nothing to merge) or 0.5
// (busier: fewer notifications either way); SIZE = 1518.
import { sim, plot, table } from 'iovlab';

const SIZE = 64; // frame size in bytes, FCS included
const PACKETS = 2000; // frames per run
const RATE_GBPS = 0.2; // RX offered load: 0.2 Gbit/s of 64 B frames ≈ 0.3 Mpps

const backends = [
  { id: 'vhost-net', name: 'vhost-net' },
  { id: 'qemu', name: 'QEMU' },
];
const settings = [true, false];

interface Row {
  workload: string;
  backend: string;
  eventIdx: boolean;
  kicks: number;
  exits: number;
  interrupts: number;
  mpps: number;
  dropped: number;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function measure(scenario: 'virtio-rx' | 'virtio-tx', workload: string): Row[] {
  const rows: Row[] = [];
  for (const b of backends) {
    for (const eventIdx of settings) {
      const params: Record<string, number | string | boolean> = { backend: b.id, eventIdx };
      if (scenario === 'virtio-rx') params.offeredGbps = RATE_GBPS;
      const m = sim(scenario, { size: SIZE, packets: PACKETS, params });
      const n = Math.max(1, m.counters.packetsTx + m.counters.packetsRx);
      rows.push({
        workload,
        backend: b.name,
        eventIdx,
        kicks: round3(m.counters.kicks / n),
        exits: round3(m.counters.exitsTotal / n),
        interrupts: round3(m.counters.interruptsInjected / n),
        mpps: m.derived.mpps,
        dropped: m.counters.drops,
      });
    }
  }
  return rows;
}

const rxLabel = `RX at ${RATE_GBPS} Gbit/s`;
const rx = measure('virtio-rx', rxLabel);
const tx = measure('virtio-tx', 'TX stream');

table(
  [...rx, ...tx].map((r) => ({
    workload: r.workload,
    backend: r.backend,
    EVENT_IDX: r.eventIdx ? 'on' : 'off',
    'kicks/packet': r.kicks,
    'exits/packet': r.exits,
    'interrupts/packet': r.interrupts,
    Mpps: r.mpps,
    dropped: r.dropped,
  })),
  `${SIZE} B frames, ${PACKETS} per run`,
);

// Short bar labels: four of them must fit side by side on a narrow chart.
const label = (r: Row): string => `${r.backend} ${r.eventIdx ? 'on' : 'off'}`;
const find = (rows: Row[], backend: string, eventIdx: boolean): Row => rows.find((r) => r.backend === backend && r.eventIdx === eventIdx)!;
const change = (rows: Row[], backend: string, key: 'kicks' | 'exits' | 'interrupts'): string =>
  `from ${find(rows, backend, false)[key]} to ${find(rows, backend, true)[key]}`;

function chart(rows: Row[], title: string, summary: string): void {
  plot({
    type: 'bar',
    title,
    x: { label: 'backend, EVENT_IDX on/off', values: rows.map(label) },
    y: { label: 'per packet' },
    series: [
      { label: 'kicks', values: rows.map((r) => r.kicks) },
      { label: 'VM exits', values: rows.map((r) => r.exits) },
      { label: 'interrupts', values: rows.map((r) => r.interrupts) },
    ],
    summary,
  });
}

chart(
  rx,
  `Guest receives ${SIZE} B frames at ${RATE_GBPS} Gbit/s: notifications per packet`,
  `Receiving at ${RATE_GBPS} Gbit/s, switching EVENT_IDX from off to on moves interrupts per packet ${change(rx, 'vhost-net', 'interrupts')} ` +
    `with vhost-net and ${change(rx, 'QEMU', 'interrupts')} with QEMU, and exits per packet ${change(rx, 'vhost-net', 'exits')} ` +
    `and ${change(rx, 'QEMU', 'exits')}.`,
);

chart(
  tx,
  `Guest transmits ${SIZE} B frames as fast as it can: notifications per packet`,
  `Sending, switching EVENT_IDX from off to on moves kicks per packet ${change(tx, 'vhost-net', 'kicks')} with vhost-net ` +
    `and ${change(tx, 'QEMU', 'kicks')} with QEMU, and exits per packet ${change(tx, 'vhost-net', 'exits')} and ${change(tx, 'QEMU', 'exits')}.`,
);
