/**
 * Helpers for `<ReferenceRun>`: turning the props a lesson writes into engine options, picking
 * metrics out of a run, and formatting them. Pure; the component calls the engine at build time.
 * Unit-tested in tests/site/reference-run.test.ts.
 */

/** What the engine's runScenario accepts (lab-engine/sim/types.ts ScenarioOptions). */
export interface EngineOptions {
  seed?: number;
  packets?: number;
  size?: number;
  vms?: number;
  params?: Record<string, number | string | boolean>;
}

/**
 * A lesson may write options flat: `{ size: 64, packets: 2000, itr: 0 }`. The engine's own keys
 * (seed, packets, size, vms, params) stay; every other key becomes a scenario parameter.
 */
export function toEngineOptions(opts: Record<string, unknown> = {}): EngineOptions {
  const out: EngineOptions = {};
  const params: Record<string, number | string | boolean> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'seed' || k === 'packets' || k === 'size' || k === 'vms') {
      if (typeof v !== 'number') throw new TypeError(`ReferenceRun option '${k}' must be a number, got ${JSON.stringify(v)}`);
      out[k] = v;
    } else if (k === 'params') {
      if (v && typeof v === 'object') Object.assign(params, v);
    } else if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
      params[k] = v;
    } else {
      throw new TypeError(`ReferenceRun option '${k}' must be a number, string or boolean`);
    }
  }
  if (Object.keys(params).length) out.params = params;
  return out;
}

/**
 * Where a bare metric name is looked up, in this order. `migration` is the block the `migrate`
 * scenario adds (Metrics.migration: outcome, downtimeMs, totalMs, outageMs, rounds, …), so a
 * lesson may write 'downtimeMs' as well as 'migration.downtimeMs'.
 */
const SECTIONS = ['derived', 'counters', 'latency', 'busyNs', 'params', 'migration'] as const;

/**
 * Picks one metric: a dotted path from the metrics root ('counters.exits.mmio', 'latency.p99',
 * 'derived.cpu.qemu', 'migration.rounds.length'), or a bare name looked up in derived, counters,
 * latency, busyNs, params, migration. Returns undefined when absent.
 *
 * A key of several terms joined by '+' ('derived.cpu.kvm+derived.cpu.qemu+derived.cpu.vhost') is
 * their sum, for a row such as "host CPU" that the engine reports per context: terms that are
 * absent count as nothing, and the sum is undefined when no term is present or a present term is
 * not a number (a sum of a string is no metric).
 */
export function pickMetric(metrics: unknown, key: string): unknown {
  if (key.includes('+')) return sumOf(metrics, key.split('+').map((k) => k.trim()));
  return pickOne(metrics, key);
}

function sumOf(metrics: unknown, keys: string[]): number | undefined {
  if (keys.some((k) => k === '')) throw new TypeError(`ReferenceRun row '${keys.join('+')}': an empty term in a sum`);
  let total = 0;
  let found = false;
  for (const k of keys) {
    const v = pickOne(metrics, k);
    if (v === undefined) continue;
    if (typeof v !== 'number') return undefined;
    total += v;
    found = true;
  }
  return found ? total : undefined;
}

function pickOne(metrics: unknown, key: string): unknown {
  const walk = (root: unknown, path: string[]): unknown => {
    let cur: unknown = root;
    for (const p of path) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[p];
    }
    return cur;
  };
  const parts = key.split('.');
  const direct = walk(metrics, parts);
  if (direct !== undefined) return direct;
  for (const s of SECTIONS) {
    const v = walk(metrics, [s, ...parts]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Formats a metric for a table: integers with thin-space thousands separators, other numbers to
 * 3 significant digits (exponent form only below 1e-6), booleans as yes/no, missing as an em dash.
 */
export function formatMetric(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v !== 'number') return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return groupDigits(String(Math.abs(v)), v < 0);
  const abs = Math.abs(v);
  if (abs >= 1000) return groupDigits(String(Math.round(abs)), v < 0);
  // toPrecision switches to exponent form only below 1e-6 here ("1.00e-9"): fine for a table.
  return (v < 0 ? '−' : '') + abs.toPrecision(3);
}

function groupDigits(digits: string, negative: boolean): string {
  const g = digits.replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
  return (negative ? '−' : '') + g;
}

/** One line describing a run's inputs: "64 B frames · 2 000 packets · itr 0 · mitigation off · seed 1". */
export function describeOptions(o: EngineOptions): string {
  const parts: string[] = [];
  if (o.size !== undefined) parts.push(`${o.size} B frames`);
  if (o.packets !== undefined) parts.push(`${formatMetric(o.packets)} packets`);
  if (o.vms !== undefined) parts.push(`${o.vms} VMs`);
  for (const [k, v] of Object.entries(o.params ?? {})) parts.push(`${k} ${typeof v === 'boolean' ? (v ? 'on' : 'off') : formatMetric(v)}`);
  parts.push(`seed ${o.seed ?? 1}`);
  return parts.join(' · ');
}

/** A stable cache key for a run. */
export function runKey(scenario: string, o: EngineOptions): string {
  const sortObj = (x: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.keys(x).sort().map((k) => [k, x[k]]));
  return scenario + ' ' + JSON.stringify(sortObj({ ...o, params: o.params ? sortObj(o.params) : undefined }));
}
