// L0 — How many VM exits fit into the time one packet occupies a 10 GbE wire?
//
// Pure arithmetic: this cell runs no simulation. It puts the published cost of a VM exit next to
// the time budget of one packet at line rate. Things to try:
//   • set CPU_GHZ to 3.5 (a fast desktop core): the budgets grow, the conclusion does not change;
//   • set LINK_GBPS to 100: a 64-byte frame then lasts 6.7 ns, about the cost of a cache miss;
//   • raise USER_EXIT_RATIO to 6: newer CPUs with speculative-execution mitigations pay more.
import { plot, table } from 'iovlab';

/** Nominal core clock. The simulator uses 2 GHz too (1 cycle = 0.5 ns). */
const CPU_GHZ = 2.0;
/** Link speed in Gbit/s. */
const LINK_GBPS = 10;
/** How much dearer an exit is when it returns to QEMU in user space than when KVM handles it. */
const USER_EXIT_RATIO = 3.1; // CALIBRATION C4 [V]: inl_from_qemu / inl_from_kernel ≈ 3.1 (a ratio; measured nested)

// Every frame also occupies 8 bytes of preamble + start delimiter and a 12-byte inter-frame gap on
// the wire (IEEE 802.3). Frame sizes include the 4-byte FCS, as benchmarks quote them.
const WIRE_OVERHEAD_BYTES = 20;
const frameNs = (frameBytes: number): number => ((frameBytes + WIRE_OVERHEAD_BYTES) * 8) / LINK_GBPS;

const frames = [
  // 64 B: the minimum Ethernet frame. 10e9 / (8 × 84) = 14.88 Mpps at 10 GbE (CALIBRATION C15).
  { label: '64 B frame', bytes: 64 },
  // 1518 B: a full frame for a 1500-byte MTU, 1538 B on the wire = 812,744 frames/s (CALIBRATION C16).
  { label: '1518 B frame (1500 B MTU)', bytes: 1518 },
];

// What one event costs, in cycles. [R] = recalled from the named paper by the project's research
// notes (not re-checked against the PDF); [V] = read in the source; [E] = estimate.
const events = [
  { label: 'function call', cycles: 5, source: '[E] call + return, order of magnitude' },
  { label: 'VM exit + entry (hardware only)', cycles: 500, source: 'C1 [R] Agesen et al., USENIX ATC 2012' },
  { label: 'exit handled in KVM', cycles: 1300, source: 'C2 [R] Dall et al., ISCA 2016 (x86 hypercall)' },
  { label: 'exit to QEMU (user space)', cycles: Math.round(1300 * USER_EXIT_RATIO), source: 'C2 × C4 ratio [V]' },
];

const budgetCycles = frames.map((f) => frameNs(f.bytes) * CPU_GHZ);
const fits = (cycles: number, i: number): number => Math.round((budgetCycles[i]! / cycles) * 1000) / 1000;

table(
  events.map((e) => ({
    event: e.label,
    cycles: e.cycles,
    'ns at this clock': Math.round((e.cycles / CPU_GHZ) * 10) / 10,
    [`fit in one ${frames[0]!.label}`]: fits(e.cycles, 0),
    [`fit in one ${frames[1]!.label}`]: fits(e.cycles, 1),
    source: e.source,
  })),
  `Packet time at ${LINK_GBPS} Gbit/s: ${frames.map((f) => `${f.label} ${frameNs(f.bytes).toFixed(1)} ns`).join(', ')}`,
);

const userExit = events[3]!;
plot({
  type: 'bar',
  title: `How many of each event fit in one packet time at ${LINK_GBPS} GbE (${CPU_GHZ} GHz core)`,
  x: { label: 'event', values: events.map((e) => e.label) },
  // Log scale: the values span four orders of magnitude. A bar below 1 means "does not fit once".
  y: { label: 'events per packet time (log scale)', log: true },
  series: frames.map((f, i) => ({ label: f.label, values: events.map((e) => fits(e.cycles, i)) })),
  summary:
    `A ${frames[0]!.label} lasts ${frameNs(frames[0]!.bytes).toFixed(1)} ns (${Math.round(budgetCycles[0]!)} cycles): ` +
    `not even one hardware exit round trip fits. A ${frames[1]!.label} lasts ${frameNs(frames[1]!.bytes).toFixed(0)} ns, ` +
    (fits(userExit.cycles, 1) < 1
      ? `yet not even one exit to QEMU fits (${fits(userExit.cycles, 1)} of one).`
      : `room for ${fits(userExit.cycles, 1)} exits to QEMU.`),
});
