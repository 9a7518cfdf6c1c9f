/**
 * The traffic runs of an iommu-assign seed (remapped, posted, bare metal) on the passthrough
 * scenario. Placeholder until scenarios/passthrough.ts lands.
 */
import { ENGINE_VERSION } from '../../version.ts';
import { MetricsRecorder } from '../../sim/metrics.ts';
import { Trace } from '../../sim/trace.ts';
import type { RunResult } from '../../sim/types.ts';
import type { LearnerExports, LearnerSetup } from './adapter.ts';
import { TrafficObserver } from './observe.ts';
import type { SeedConfig } from './seeds.ts';

export type TrafficRun = 'remapped' | 'posted' | 'bare';

export interface TrafficOutcome {
  run: TrafficRun;
  result: RunResult;
  obs: TrafficObserver;
  logs: string[];
  setup?: LearnerSetup;
  txExpected: number;
  rxExpected: number;
}

export function runTraffic(run: TrafficRun, cfg: SeedConfig, exp: LearnerExports): TrafficOutcome | undefined {
  void run; void cfg; void exp; void TrafficObserver;
  return undefined;
}

export interface TrafficFigures {
  missesPerPacket?: number;
  misses: number;
  packets: number;
  exitsPerInterrupt?: number;
  exits: number;
  interrupts: number;
  fraction?: number;
  gbps?: number;
  bareGbps?: number;
  params: Record<string, number | string | boolean>;
}

export function trafficFigures(traffic: TrafficOutcome[]): TrafficFigures {
  void traffic;
  return { misses: 0, packets: 0, exits: 0, interrupts: 0, params: {} };
}

/** A run result for a seed without traffic (no window, no trace). */
export function emptyResult(scenario: string, seed: number): RunResult {
  const metrics = new MetricsRecorder().finish({ engineVersion: ENGINE_VERSION, scenario, seed, params: {}, events: 0, stop: 'done' });
  const trace = new Trace(0);
  return { metrics, trace: [], traceHash: trace.hash(), diagnostics: [] };
}
