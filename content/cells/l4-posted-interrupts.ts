// L4 — Which VM exits remain with an assigned NIC, and what removing them buys.
//
// The same 82599-class NIC and the same ixgbe-like driver stream small (64 B) frames as fast as
// the CPU allows ('passthrough-tx', the workload the ELI calibration uses), in four set-ups:
//   • bare metal: the driver on a host core, no VM — the 100 % reference;
//   • remapped: assigned with VFIO, no APICv: each interrupt arrives in the host
//     (EXTERNAL_INTERRUPT exit), vfio-pci's handler signals KVM through an irqfd, and the guest's
//     EOI exits again (APIC_ACCESS) — about 2 exits per interrupt;
//   • APICv: the EOI is virtualized — 1 exit per interrupt;
//   • posted: VT-d posts the interrupt into the vCPU's descriptor — 0 exits while it runs.
// Doorbells never exit in any of them: BAR0 is mapped into the guest.
// Then remapped and posted again with the NIC's interrupt moderation at ITR_FAST µs, which
// doubles the interrupt rate. Latency here is the delivery time from the NIC's MSI to the
// guest's handler. Published anchors: ELI (C5) 1.3–1.6× and 97–100 % of bare metal; DID (C6)
// 100× fewer exits and −80 % interrupt latency.
// Things to try: ITR_FAST = 50 (fewer interrupts: the exits cost less); SIZE = 1518 (the wire,
// not the CPU, becomes the limit and every set-up reaches line rate).
import { sim, plot, table } from 'iovlab';

const PACKETS = 2000;
const SIZE = 64;
const ITR = 20; // µs, the scenario's default moderation
const ITR_FAST = 10;

const setups: { name: string; short: string; params: Record<string, string> }[] = [
  { name: 'bare metal', short: 'bare', params: { setup: 'baremetal' } },
  { name: 'VFIO, remapped (no APICv)', short: 'remapped', params: { irq: 'remapped' } },
  { name: 'VFIO, APICv', short: 'APICv', params: { irq: 'apicv' } },
  { name: 'VFIO, posted (VT-d PI + APICv)', short: 'posted', params: { irq: 'posted' } },
];

interface Row {
  name: string;
  short: string;
  itr: number;
  mpps: number;
  exitsPerSec: number;
  exitsPerIrq: number;
  irqPerSec: number;
  latencyUs: number;
}

function measure(s: { name: string; short: string; params: Record<string, string> }, itr: number): Row {
  const m = sim('passthrough-tx', { size: SIZE, packets: PACKETS, params: { ...s.params, itr } });
  const irqs = Math.max(1, m.counters.interruptsInjected);
  // Exits of the interrupts themselves: leave out the one HLT while the last frames drain.
  const exits = m.counters.exitsTotal - (m.counters.exits.HLT ?? 0);
  return {
    name: s.name,
    short: s.short,
    itr,
    mpps: m.derived.mpps,
    exitsPerSec: Math.round(exits / (m.windowNs / 1e9)),
    exitsPerIrq: Math.round((exits / irqs) * 100) / 100,
    irqPerSec: m.derived.interruptsPerSec,
    latencyUs: Math.round(m.counters.irqDeliveryNs / irqs / 10) / 100,
  };
}

const rows = setups.map((s) => measure(s, ITR));
const fast = [setups[1]!, setups[3]!].map((s) => measure(s, ITR_FAST));
const bare = rows[0]!;
const pct = (r: Row): number => Math.round((r.mpps / bare.mpps) * 1000) / 10;
const by = (short: string, list: Row[] = rows): Row => list.find((r) => r.short === short)!;

table(
  [...rows, ...fast].map((r) => ({
    'set-up': r.name,
    'ITR (µs)': r.itr,
    Mpps: r.mpps,
    '% of bare metal': pct(r),
    'interrupts/s': r.irqPerSec,
    'exits/s': r.exitsPerSec,
    'exits/interrupt': r.exitsPerIrq,
    'MSI → handler (µs)': r.latencyUs,
  })),
  `${SIZE} B frames, ${PACKETS} per run`,
);

plot({
  type: 'bar',
  title: `Throughput with ${SIZE} B frames, % of bare metal (ITR ${ITR} µs)`,
  x: { label: 'set-up', values: rows.map((r) => r.short) },
  y: { label: '% of bare metal' },
  series: [{ label: 'throughput', values: rows.map(pct) }],
  summary: `Posted interrupts keep ${pct(by('posted'))} % of bare metal, ${Math.round((by('posted').mpps / by('remapped').mpps) * 100) / 100}× the remapped set-up (${pct(by('remapped'))} %); APICv alone reaches ${pct(by('APICv'))} %.`,
});

plot({
  type: 'bar',
  title: 'VM exits per interrupt and per second',
  x: { label: 'set-up', values: rows.map((r) => r.short) },
  y: { label: 'exits per interrupt' },
  y2: { label: 'exits/s' },
  series: [
    { label: 'exits/interrupt', values: rows.map((r) => r.exitsPerIrq) },
    { label: 'exits/s', values: rows.map((r) => r.exitsPerSec), axis: 'y2' },
  ],
  summary: `Each interrupt costs ${by('remapped').exitsPerIrq} exits remapped, ${by('APICv').exitsPerIrq} with APICv and ${by('posted').exitsPerIrq} posted: ${by('remapped').exitsPerSec.toLocaleString('en-US')} exits/s against ${by('posted').exitsPerSec.toLocaleString('en-US')}.`,
});

plot({
  type: 'bar',
  title: 'Interrupt delivery: NIC MSI → guest handler',
  x: { label: 'set-up', values: rows.map((r) => r.short) },
  y: { label: 'µs' },
  series: [{ label: 'mean latency', values: rows.map((r) => r.latencyUs) }],
  summary: `An interrupt reaches the handler in ${by('posted').latencyUs} µs posted and ${by('remapped').latencyUs} µs remapped (${Math.round((1 - by('posted').latencyUs / by('remapped').latencyUs) * 100)} % less; bare metal ${bare.latencyUs} µs).`,
});

plot({
  type: 'bar',
  title: 'Twice the interrupt rate: remapped against posted',
  x: { label: 'interrupt moderation (ITR)', values: [`${ITR} µs`, `${ITR_FAST} µs`] },
  y: { label: '% of bare metal' },
  series: [
    { label: 'remapped', values: [pct(by('remapped')), pct(by('remapped', fast))] },
    { label: 'posted', values: [pct(by('posted')), pct(by('posted', fast))] },
  ],
  summary: `From ITR ${ITR} to ${ITR_FAST} µs (${by('remapped').irqPerSec.toLocaleString('en-US')} → ${by('remapped', fast).irqPerSec.toLocaleString('en-US')} interrupts/s) remapped falls from ${pct(by('remapped'))} % to ${pct(by('remapped', fast))} % of bare metal; posted stays at ${pct(by('posted', fast))} %.`,
});
