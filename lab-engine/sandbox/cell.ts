/**
 * Notebook cells: small TypeScript programs that run scenarios and describe charts. They import
 * from 'iovlab'; plots are returned as data (PlotSpec) for the page to draw with chart.js.
 */
import type { Diagnostic, Metrics, ScenarioInfo, ScenarioOptions } from '../sim/types.ts';
import { listScenarios, runScenario } from '../scenarios/index.ts';
import { compileModule, describeThrown, learnerLine } from './compile.ts';

export interface PlotSpec {
  type: 'line' | 'bar';
  title: string;
  x: { label: string; values: (number | string)[] };
  /** A linear axis starts at zero unless `zero: false` (honest charts by default). */
  y: { label: string; log?: boolean; zero?: boolean };
  y2?: { label: string; log?: boolean; zero?: boolean };
  series: { label: string; values: number[]; axis?: 'y' | 'y2' }[];
  /** One-line text summary; the page derives one when absent. */
  summary?: string;
}

export interface CellOutput {
  plots: PlotSpec[];
  tables: { title?: string; rows: Record<string, number | string>[] }[];
  logs: string[];
  diagnostics: Diagnostic[];
}

const MAX_PLOTS = 8;
const MAX_POINTS = 2000;
const MAX_SIM_CALLS = 64;

export const CELL_API_DTS = `declare module 'iovlab' {
  export interface ScenarioOptions {
    seed?: number;
    packets?: number;
    /** Frame size in bytes, FCS included (64–1518). */
    size?: number;
    /** Number of VMs sharing the NIC (the sriov-* scenarios; 1 elsewhere). */
    vms?: number;
    /** Scenario knobs, e.g. { mitigation: false, itr: 500 }. */
    params?: Record<string, number | string | boolean>;
  }
  export type Context = 'guest' | 'kvm' | 'qemu' | 'vhost' | 'host-kernel' | 'poll' | 'wire' | 'nic';
  export interface Metrics {
    scenario: string; seed: number; windowNs: number; events: number;
    stop: 'done' | 'until' | 'budget' | 'stalled' | 'error';
    params: Record<string, number | string | boolean>;
    counters: {
      packetsTx: number; packetsRx: number; bytesTx: number; bytesRx: number; transactions: number;
      exits: Partial<Record<'EXTERNAL_INTERRUPT' | 'HLT' | 'IO_INSTRUCTION' | 'APIC_ACCESS' | 'EOI_INDUCED' | 'EPT_MISCONFIG' | 'MSR_WRITE' | 'VMCALL' | 'PML_FULL', number>>;
      exitsTotal: number; exitsToUser: number; exitsInKernel: number; mmioReads: number; mmioWrites: number;
      interruptsRaised: number; interruptsInjected: number; eois: number; dmaOps: number; bytesCopied: number; kicks: number; syscalls: number; drops: number;
      /** Passthrough: IOMMU and interrupt counters (0 elsewhere); irqDeliveryNs sums MSI → guest handler times. */
      iotlbHits: number; iotlbMisses: number; iommuWalkReads: number; iommuFaults: number; interruptFaults: number; postedInterrupts: number;
      dmaMaps: number; dmaUnmaps: number; iotlbInvalidations: number; irqDeliveryNs: number;
    };
    busyNs: Record<Context, number>;
    derived: {
      throughputGbps: number; mpps: number; exitsPerPacket: number; exitsPerSec: number; interruptsPerSec: number;
      exitsPerTransaction: number; minInterruptGapNs: number; cpu: Record<Context, number>;
      utilization: Record<string, number>; bottleneck: string;
    };
    latency: { count: number; meanNs: number; p50Ns: number; p90Ns: number; p99Ns: number; maxNs: number } | null;
    /** Time series in buckets of bucketNs from the window's start (t[i] = start of bucket i, ns). */
    series: {
      bucketNs: number; t: number[]; throughputGbps: number[]; mpps: number[];
      exitsPerSec: Partial<Record<'EXTERNAL_INTERRUPT' | 'HLT' | 'IO_INSTRUCTION' | 'APIC_ACCESS' | 'EOI_INDUCED' | 'EPT_MISCONFIG' | 'MSR_WRITE' | 'VMCALL' | 'PML_FULL', number[]>>;
      cpu: Record<Context, number[]>;
    };
    /** Live migration (scenario 'migrate' only). Times in ms of virtual time, sizes in MiB or bytes. */
    migration?: {
      model: 'emulation' | 'virtio-qemu' | 'vhost-net' | 'vhost-user' | 'passthrough' | 'sriov-vf' | 'failover' | 'vfio-migration';
      outcome: 'completed' | 'refused' | 'not-converged';
      /** Refusal: the four reasons; not-converged: the diagnosis with its numbers. */
      reasons: string[];
      rounds: { round: number; startMs: number; durationMs: number; pagesSent: number; dirtiedDuring: number; remainingDirty: number }[];
      totalMs: number; downtimeMs: number; outageMs: number; transferredMiB: number; deviceStateBytes: number;
      /** Destination pages that differ from the source at switch-over (0 unless a write was not logged). */
      pagesMismatched: number;
      events: number; expectedDowntimeMs: number; dirtyLogExits: number; cpuThrottlePct: number; postcopyFaults: number; postcopyStallMs: number; bandwidthMBps: number; stopCopyPages: number; framesLost: number;
      dirtyLoggers: string[];
      rxQueueIndices: { name: string; value: number }[];
      deviceStateParts: { name: string; bytes: number }[];
      phases: { name: string; startMs: number; durationMs: number }[];
      vfioArcs: string[];
    };
  }
  export interface ScenarioInfo { id: string; title: string; description: string; params: Record<string, number | string | boolean>; defaults: { packets: number; size: number } }
  export interface PlotSpec {
    type: 'line' | 'bar';
    title: string;
    x: { label: string; values: (number | string)[] };
    /** A linear axis starts at zero unless zero: false. */
    y: { label: string; log?: boolean; zero?: boolean };
    y2?: { label: string; log?: boolean; zero?: boolean };
    series: { label: string; values: number[]; axis?: 'y' | 'y2' }[];
    summary?: string;
  }
  /** Run a scenario (synchronously) and return its metrics. */
  export function sim(scenario: string, options?: ScenarioOptions): Metrics;
  /** The scenarios you can run. */
  export function scenarios(): ScenarioInfo[];
  /** Draw a chart below the cell. */
  export function plot(spec: PlotSpec): void;
  /** Show a table below the cell. */
  export function table(rows: Record<string, number | string>[], title?: string): void;
  /** Print values below the cell. */
  export function print(...values: unknown[]): void;
}
`;

export function runCell(source: string): CellOutput {
  const out: CellOutput = { plots: [], tables: [], logs: [], diagnostics: [] };
  let simCalls = 0;
  const api = Object.freeze({
    sim: (id: string, opts?: ScenarioOptions): Metrics => {
      if (++simCalls > MAX_SIM_CALLS) throw new Error(`a cell may run at most ${MAX_SIM_CALLS} simulations`);
      const r = runScenario(id, opts ?? {});
      for (const d of r.diagnostics) if (d.severity === 'error') out.diagnostics.push({ ...d, message: `${id}: ${d.message}` });
      return r.metrics;
    },
    scenarios: (): ScenarioInfo[] => listScenarios(),
    plot: (spec: PlotSpec): void => {
      const problem = checkPlot(spec);
      if (problem) throw new TypeError(`plot(): ${problem}`);
      if (out.plots.length >= MAX_PLOTS) throw new Error(`a cell may draw at most ${MAX_PLOTS} plots`);
      out.plots.push(JSON.parse(JSON.stringify(spec)) as PlotSpec);
    },
    table: (rows: Record<string, number | string>[], title?: string): void => {
      if (!Array.isArray(rows)) throw new TypeError('table(): rows must be an array of objects');
      out.tables.push({ ...(title ? { title } : {}), rows: JSON.parse(JSON.stringify(rows.slice(0, 500))) });
    },
    print: (...values: unknown[]): void => {
      if (out.logs.length < 500) out.logs.push(values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' '));
    },
  });
  const compiled = compileModule(source, { iovlab: api });
  if (!compiled.ok) {
    out.diagnostics.push(...compiled.diagnostics);
    return out;
  }
  try {
    const inst = compiled.instantiate();
    if (!inst.ok) out.diagnostics.push(...inst.diagnostics);
  } catch (e) {
    const line = learnerLine(e);
    out.diagnostics.push({ severity: 'error', code: 'cell-threw', message: `The cell threw ${describeThrown(e)}${line ? ` at line ${line}` : ''}.`, ...(line ? { line } : {}) });
  }
  return out;
}

function checkPlot(p: PlotSpec): string | undefined {
  if (!p || typeof p !== 'object') return 'expected an object';
  if (p.type !== 'line' && p.type !== 'bar') return `type must be 'line' or 'bar', got ${JSON.stringify(p.type)}`;
  if (!p.x || !Array.isArray(p.x.values)) return 'x.values must be an array';
  if (p.x.values.length > MAX_POINTS) return `at most ${MAX_POINTS} points`;
  if (!Array.isArray(p.series) || p.series.length === 0) return 'series must be a non-empty array';
  for (const s of p.series) {
    if (!Array.isArray(s.values)) return `series '${s.label}' has no values array`;
    if (s.values.length !== p.x.values.length) return `series '${s.label}' has ${s.values.length} values but x has ${p.x.values.length}`;
    if (s.values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) return `series '${s.label}' has a value that is not a finite number`;
  }
  return undefined;
}
