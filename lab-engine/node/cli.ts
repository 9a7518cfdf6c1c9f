/**
 * The IOV Lab command line (DESIGN.md §8): `grade` and `sim`. Text to stdout, errors to stderr,
 * exit 2 on bad usage or bad input, exit 0 whenever grading ran (whatever the score).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import {
  compileModule,
  formatGradeText,
  getLabInfo,
  gradeOutcomes,
  hashText,
  listLabs,
  listScenarios,
  runScenario,
  type GradeResult,
  type Metrics,
} from '../index.ts';
import { runSeedsIsolated } from './run-seeds.ts';

/** Charged contexts that are hardware, not CPUs (sim/types.ts CONTEXTS). */
const DEVICE_CONTEXTS: readonly string[] = ['wire', 'nic'];

class UsageError extends Error {}

const USAGE = `usage:
  npm run grade -- [--lab <id>] <file.ts | submission.json | folder> [--json <path|->] [--seed-salt <secret>] [--out <dir>]
  npm run sim -- --list
  npm run sim -- <scenario> [--seed N] [--packets N] [--size BYTES] [--vms N] [--param key=value]... [--json]`;

function parseArgs(argv: string[], flags: Record<string, 'value' | 'bool' | 'multi'>): { opts: Record<string, string | boolean | string[]>; rest: string[] } {
  const opts: Record<string, string | boolean | string[]> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      const kind = flags[name];
      if (!kind) throw new UsageError(`unknown option --${name}`);
      if (kind === 'bool') opts[name] = true;
      else {
        const v = inline ?? argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        if (kind === 'multi') opts[name] = [...((opts[name] as string[]) ?? []), v];
        else opts[name] = v;
      }
    } else rest.push(a);
  }
  return { opts, rest };
}

// ── grade ────────────────────────────────────────────────────────────────────────────────────
interface Submission {
  schema?: string;
  lab: string;
  code: string;
  seeds?: number[];
  mode?: 'check' | 'grade';
  student?: { name?: string; id?: string };
  results?: GradeResult;
}

function readSubmission(path: string): Submission {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path}: not a valid JSON submission (${(e as Error).message})`);
  }
  const s = data as Partial<Submission>;
  if (!s || typeof s !== 'object' || typeof s.lab !== 'string' || typeof s.code !== 'string') {
    throw new UsageError(`${path}: a submission needs "lab" (string) and "code" (string)`);
  }
  if (s.seeds !== undefined && (!Array.isArray(s.seeds) || !s.seeds.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff))) {
    throw new UsageError(`${path}: "seeds" must be an array of uint32 integers`);
  }
  return s as Submission;
}

/** Hidden seeds derived from a secret salt (same for every submission of a lab). */
function saltedSeeds(salt: string, labId: string, n: number): number[] {
  return Array.from({ length: n }, (_, i) => parseInt(hashText(`${salt}:${labId}:${i}`).slice(0, 8), 16) >>> 0);
}

interface GradeJob {
  item: string;
  labId: string;
  code: string;
  seeds: number[];
  mode: 'check' | 'grade';
  student: string;
  stored?: GradeResult;
}

function jobFor(path: string, labArg: string | undefined, salt: string | undefined): GradeJob {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file`);
  const ext = extname(path).toLowerCase();
  let job: GradeJob;
  if (ext === '.json') {
    const s = readSubmission(path);
    if (labArg && labArg !== s.lab) throw new UsageError(`${path}: the submission is for lab '${s.lab}', not '${labArg}'`);
    const info = getLabInfo(s.lab);
    if (!info) throw new UsageError(`${path}: unknown lab '${s.lab}' (known: ${listLabs().map((l) => l.id).join(', ')})`);
    const seeds = s.seeds && s.seeds.length > 0 ? s.seeds : info.publicSeeds;
    job = { item: path, labId: s.lab, code: s.code, seeds, mode: s.mode === 'check' ? 'check' : 'grade', student: s.student?.id || s.student?.name || basename(path, ext), ...(s.results ? { stored: s.results } : {}) };
  } else if (ext === '.ts' || ext === '.js') {
    if (!labArg) throw new UsageError(`${path}: say which lab it is for with --lab <id> (known: ${listLabs().map((l) => l.id).join(', ')})`);
    const info = getLabInfo(labArg);
    if (!info) throw new UsageError(`unknown lab '${labArg}' (known: ${listLabs().map((l) => l.id).join(', ')})`);
    job = { item: path, labId: labArg, code: readFileSync(path, 'utf8'), seeds: info.publicSeeds, mode: 'check', student: basename(path, ext) };
  } else {
    throw new UsageError(`${path}: expected a .ts file, a .json submission or a folder`);
  }
  if (salt) {
    job.seeds = [...job.seeds, ...saltedSeeds(salt, job.labId, 3)];
    job.mode = 'grade';
  }
  return job;
}

async function runJob(job: GradeJob): Promise<GradeResult> {
  const info = getLabInfo(job.labId)!;
  const t0 = performance.now();
  const outcomes = await runSeedsIsolated(job.labId, job.code, job.seeds, info.timeLimitMs);
  const result = gradeOutcomes(job.labId, outcomes, { mode: job.mode, codeHash: hashText(job.code) });
  result.execution_time = Math.round((performance.now() - t0) / 10) / 100;
  return result;
}

function tampered(stored: GradeResult | undefined, fresh: GradeResult): boolean {
  if (!stored || !Array.isArray(stored.tests)) return false;
  if (stored.score !== fresh.score) return true;
  return fresh.tests.some((t) => {
    const s = stored.tests.find((x) => x.number === t.number);
    return !s || s.score !== t.score || s.status !== t.status;
  });
}

function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function grade(argv: string[]): Promise<number> {
  const { opts, rest } = parseArgs(argv, { lab: 'value', json: 'value', 'seed-salt': 'value', out: 'value' });
  if (rest.length !== 1) throw new UsageError(rest.length === 0 ? 'grade needs a file or folder to grade' : `grade takes one path, got ${rest.length}`);
  const target = resolve(rest[0]!);
  const labArg = opts['lab'] as string | undefined;
  if (labArg && !getLabInfo(labArg)) throw new UsageError(`unknown lab '${labArg}' (known: ${listLabs().map((l) => l.id).join(', ')})`);
  const salt = (opts['seed-salt'] as string | undefined) ?? process.env['IOVLAB_SEED_SALT'];
  const jsonOut = opts['json'] as string | undefined;
  if (!existsSync(target)) throw new UsageError(`${rest[0]}: no such file or folder`);

  if (statSync(target).isDirectory()) {
    const items = readdirSync(target).filter((f) => /\.(json|ts)$/i.test(f) && !f.endsWith('.result.json')).sort();
    const outDir = opts['out'] ? resolve(opts['out'] as string) : target;
    mkdirSync(outDir, { recursive: true });
    const rows: (string | number)[][] = [];
    let checkNames: string[] | undefined;
    for (const f of items) {
      const path = join(target, f);
      try {
        const job = jobFor(path, labArg, salt);
        const r = await runJob(job);
        checkNames ??= r.tests.map((t) => `${t.number}. ${t.name}`);
        writeFileSync(join(outDir, `${basename(f, extname(f))}.result.json`), JSON.stringify(r, null, 2));
        rows.push([job.student, job.labId, r.score, r.max_score, ...r.tests.map((t) => t.score), 'graded', tampered(job.stored, r) ? 'yes' : 'no', '']);
        console.log(`${f}: ${r.score}/${r.max_score}`);
      } catch (e) {
        rows.push([basename(f), labArg ?? '', '', '', ...(checkNames ?? []).map(() => ''), 'error', '', (e as Error).message]);
        console.log(`${f}: error: ${(e as Error).message}`);
      }
    }
    const header = ['student', 'lab', 'score', 'max', ...(checkNames ?? []), 'status', 'tampered', 'error'];
    const csv = [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
    writeFileSync(join(outDir, 'grades.csv'), csv);
    console.log(`Wrote ${join(outDir, 'grades.csv')} (${items.length} item${items.length === 1 ? '' : 's'})`);
    return 0;
  }

  const job = jobFor(target, labArg, salt);
  // Code that does not compile is bad input for a single file (exit 2), not a graded zero.
  const compiled = compileModule(job.code, { [getLabInfo(job.labId)!.apiModule]: {} });
  if (!compiled.ok) throw new UsageError(`${rest[0]}: ${compiled.diagnostics.map((d) => d.message).join(' ')}`);
  const result = await runJob(job);
  const text = formatGradeText(result);
  if (jsonOut === '-') process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    console.log(text);
    if (job.stored && tampered(job.stored, result)) console.log('Note: the scores stored in the submission differ from the recomputed ones (tampered).');
    if (jsonOut) writeFileSync(resolve(jsonOut), JSON.stringify(result, null, 2) + '\n');
  }
  return 0;
}

// ── sim ──────────────────────────────────────────────────────────────────────────────────────
function intOpt(opts: Record<string, unknown>, name: string): number | undefined {
  const v = opts[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got '${String(v)}'`);
  return n;
}

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
  if (m.latency) rows.push(['latency', `p50 ${(m.latency.p50Ns / 1000).toFixed(1)} µs, p99 ${(m.latency.p99Ns / 1000).toFixed(1)} µs, max ${(m.latency.maxNs / 1000).toFixed(1)} µs`]);
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

function sim(argv: string[]): number {
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

async function main(): Promise<number> {
  const [cmd, ...argv] = process.argv.slice(2);
  try {
    if (cmd === 'grade') return await grade(argv);
    if (cmd === 'sim') return sim(argv);
    throw new UsageError(cmd ? `unknown command '${cmd}'` : 'missing command');
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n${USAGE}`);
      return 2;
    }
    console.error(`error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

process.exitCode = await main();
