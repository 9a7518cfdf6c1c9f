/** `sim` (DESIGN.md §8): list scenarios, or run one and print a table or the metrics JSON. */
import { listScenarios, runScenario, type Metrics } from '../index.ts';
import { intOpt, parseArgs, UsageError } from './args.ts';

/** Charged contexts that are hardware, not CPUs (sim/types.ts CONTEXTS). */
const DEVICE_CONTEXTS: readonly string[] = ['wire', 'nic'];

function table(m: Metrics): string {
  const rows: [string, string][] = [
    ['scenario', `${m.scenario} (seed ${m.seed})`],
    ['params', Object.entries(m.params).map(([k, v]) => `${k}=${v}`).join(' ')],
    ['stopped', m.stop],
    ['window', `${(m.windowNs / 1e6).toFixed(3)} ms simulated, ${m.events} events`],
    ['throughput', `${m.derived.throughputGbps} Gbit/s, ${m.derived.mpps} Mpps`],
    ['packets', `tx ${m.counters.packetsTx}, rx ${m.counters.packetsRx}, drops ${m.counters.drops}`],
    ['VM exits', `${m.counters.exitsTotal} (${m.counters.exitsToUser} to QEMU, ${m.counters.exitsInKernel} in KVM)`],
    ['exits by reason', Object.entries(m.counters.exits).map(([k, v]) => `${k} ${v}`).join(', ') || '-'],
    ['exits/packet', String(m.derived.exitsPerPacket)],
    ['exits/s', String(m.derived.exitsPerSec)],
    ['interrupts/s', String(m.derived.interruptsPerSec)],
    // The wire and a NIC's DMA engine are charged like contexts but are not CPUs: listed apart.
    ['CPU busy', Object.entries(m.derived.cpu).filter(([k]) => !DEVICE_CONTEXTS.includes(k)).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')],
    ['devices busy', Object.entries(m.derived.cpu).filter(([k]) => DEVICE_CONTEXTS.includes(k)).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')],
    ['bottleneck', `${m.derived.bottleneck} (${Object.entries(m.derived.utilization).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`).join(', ')})`],
  ];
  if (m.counters.transactions) rows.push(['transactions', `${m.counters.transactions}, ${m.derived.exitsPerTransaction} exits each`]);
  const mg = m.migration;
  if (mg) {
    rows.push(['migration', `${mg.model}: ${mg.outcome}${mg.rounds.length ? ` after ${mg.rounds.length} pre-copy round${mg.rounds.length === 1 ? '' : 's'}` : ''}, ${mg.transferredMiB} MiB sent`]);
    if (mg.outcome === 'completed') rows.push(['downtime', `${mg.downtimeMs} ms (limit ${String(m.params['downtimeLimitMs'] ?? '-')} ms); guest network outage ${mg.outageMs} ms; total ${(mg.totalMs / 1000).toFixed(2)} s`]);
    if (mg.outcome === 'refused') mg.reasons.forEach((r, i) => rows.push([`why (${i + 1})`, r]));
    rows.push(['device state', `${mg.deviceStateBytes} bytes; dirty logs: ${mg.dirtyLoggers.join(', ') || 'none'}; pages mismatched ${mg.pagesMismatched}`]);
  }
  if (m.latency) rows.push(['latency', `p50 ${(m.latency.p50Ns / 1000).toFixed(1)} µs, p99 ${(m.latency.p99Ns / 1000).toFixed(1)} µs, max ${(m.latency.maxNs / 1000).toFixed(1)} µs`]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export function sim(argv: string[]): number {
  const { opts, rest } = parseArgs(argv, { list: 'bool', seed: 'value', packets: 'value', size: 'value', vms: 'value', json: 'bool', param: 'multi' });
  if (opts['list']) {
    for (const s of listScenarios()) console.log(`${s.id}\t${s.description}`);
    return 0;
  }
  if (rest.length !== 1) throw new UsageError(rest.length === 0 ? 'sim needs a scenario id (see --list)' : `sim takes one scenario id, got ${rest.length}`);
  const id = rest[0]!;
  if (!listScenarios().some((s) => s.id === id)) throw new UsageError(`unknown scenario '${id}' (known: ${listScenarios().map((s) => s.id).join(', ')})`);
  const vms = intOpt(opts, 'vms');
  if (vms !== undefined && vms !== 1 && !id.startsWith('sriov-')) throw new UsageError(`scenario '${id}' models one VM; --vms ${vms} is not supported yet`);
  const params: Record<string, number | boolean | string> = {};
  for (const p of (opts['param'] as string[] | undefined) ?? []) {
    const m = /^([A-Za-z]\w*)=(.*)$/.exec(p);
    if (!m) throw new UsageError(`--param expects key=value, got '${p}'`);
    const v = m[2]!;
    params[m[1]!] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) && v !== '' ? Number(v) : v;
  }
  const seed = intOpt(opts, 'seed');
  const packets = intOpt(opts, 'packets');
  const size = intOpt(opts, 'size');
  let result;
  try {
    result = runScenario(id, { ...(seed !== undefined ? { seed } : {}), ...(packets !== undefined ? { packets } : {}), ...(size !== undefined ? { size } : {}), ...(vms !== undefined ? { vms } : {}), params });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (opts['json']) process.stdout.write(JSON.stringify(result.metrics, null, 2) + '\n');
  else {
    console.log(table(result.metrics));
    for (const d of result.diagnostics) console.log(`${d.severity}: ${d.message}`);
  }
  return 0;
}

