// L1 — What interrupt throttling buys and what it costs.
//
// Scenario 'emulation-rr': the guest sends a small request, the peer answers about 10 µs later,
// the guest waits for the answer, then sends the next request (like netperf TCP_RR). We count
// exits and interrupts per second and measure each transaction's latency.
//
// How QEMU's e1000 moderates (hw/net/e1000.c, set_interrupt_cause): the first interrupt after a
// quiet spell is raised at once and opens a window. Its length is the smallest non-zero value of
//   TADV × 4 (if the TX descriptors asked for delayed interrupts), RADV × 4 (if RDTR ≠ 0), ITR
// in 256 ns units, raised to at least 500 units = 128 µs. Causes that arrive inside the window
// wait for it to close. The Linux driver programs TADV = 32 and ITR = 195, so the floor wins.
// To see longer windows, the last two rows set TADV = 0 so that ITR alone decides.
//
// Look at three columns: exits per transaction, transactions per second, and latency. Ask which of
// the savings are real (less work per transaction) and which come from doing fewer transactions.
//
// Things to try: add { label: 'on, ITR 400, TADV 0', params: { mitigation: true, itr: 400, tadv: 0 } }
// (below the floor: no change); or set SCENARIO = 'emulation-tx' (a stream, no replies) and watch
// exits per packet fall as the window grows: there, batching really does save work.
import { sim, plot, table } from 'iovlab';

const SCENARIO = 'emulation-rr';
const TRANSACTIONS = 400; // for 'emulation-tx' this is the number of frames

const configs: { label: string; params: Record<string, number | boolean> }[] = [
  { label: 'mitigation off', params: { mitigation: false, itr: 195 } },
  { label: 'on, ITR 195 (Linux default)', params: { mitigation: true, itr: 195 } },
  { label: 'on, ITR 1000, TADV 0', params: { mitigation: true, itr: 1000, tadv: 0 } },
  { label: 'on, ITR 2000, TADV 0', params: { mitigation: true, itr: 2000, tadv: 0 } },
];

const runs = configs.map((c) => sim(SCENARIO, { packets: TRANSACTIONS, size: 64, params: c.params }));
const us = (ns: number | undefined): number => Math.round((ns ?? 0) / 100) / 10; // ns → µs, 1 decimal

table(
  runs.map((m, i) => ({
    configuration: configs[i]!.label,
    // A stream has packets, request/response has transactions: show whichever this scenario has.
    ...(m.counters.transactions > 0
      ? { 'exits/transaction': m.derived.exitsPerTransaction, 'transactions/s': Math.round(m.counters.transactions / (m.windowNs / 1e9)) }
      : { 'exits/packet': m.derived.exitsPerPacket, 'Mpps': m.derived.mpps }),
    'exits/s': m.derived.exitsPerSec,
    'interrupts/s': m.derived.interruptsPerSec,
    'min gap between interrupts (µs)': us(m.derived.minInterruptGapNs),
    ...(m.latency ? { 'p50 latency (µs)': us(m.latency.p50Ns), 'p99 latency (µs)': us(m.latency.p99Ns) } : {}),
  })),
  `${SCENARIO}, packets: ${TRANSACTIONS}, 64-byte frames`,
);

const labels = configs.map((c) => c.label);
const first = runs[0]!;
const last = runs[runs.length - 1]!;
// Request/response runs have transactions and latencies; streams have packets.
const isRR = first.counters.transactions > 0;
plot({
  type: 'bar',
  title: 'Exits and interrupts per second',
  x: { label: 'configuration', values: labels },
  y: { label: 'per second (log scale)', log: true },
  series: [
    { label: 'VM exits/s', values: runs.map((m) => m.derived.exitsPerSec) },
    { label: 'interrupts/s', values: runs.map((m) => m.derived.interruptsPerSec) },
  ],
  summary:
    `Exits per second fall from ${first.derived.exitsPerSec} with mitigation off to ${last.derived.exitsPerSec} with the longest window. ` +
    (isRR
      ? `Per transaction they drop once, from ${first.derived.exitsPerTransaction} to ${runs[1]!.derived.exitsPerTransaction} ` +
        `(the TX and RX causes share one interrupt); after that, longer windows only slow the transactions down.`
      : `Per packet they fall from ${first.derived.exitsPerPacket} to ${last.derived.exitsPerPacket}: one interrupt now reports many packets.`),
});

if (isRR) {
  const p50 = runs.map((m) => us(m.latency?.p50Ns));
  plot({
    type: 'bar',
    title: 'Request/response latency',
    x: { label: 'configuration', values: labels },
    y: { label: 'latency (µs)' },
    series: [
      { label: 'p50', values: p50 },
      { label: 'p99', values: runs.map((m) => us(m.latency?.p99Ns)) },
    ],
    summary:
      `Median latency rises from ${p50[0]} µs with mitigation off to ${p50[1]} µs with QEMU's 128 µs floor ` +
      `and ${p50[p50.length - 1]} µs with the longest window: the answer waits for the window to close.`,
  });
}
