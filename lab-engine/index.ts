/*
 * ## lab-engine public API (lab-engine/index.ts) — what the site and the Worker may call
 * 
 * All functions are synchronous and pure (deterministic for the same inputs). Types are in
 * lab-engine/sim/types.ts (Metrics, RunResult, TraceEvent, Diagnostic, ScenarioOptions, ScenarioInfo)
 * and lab-engine/labs/types.ts (LabInfo, CheckInfo, SeedOutcome, GradeResult, GradedTest).
 * 
 * - `listScenarios(): ScenarioInfo[]` and `runScenario(id, opts: ScenarioOptions): RunResult`
 *   RunResult = { metrics: Metrics, trace: TraceEvent[] (first ~2000 events, for a swimlane),
 *   traceHash: string, diagnostics: Diagnostic[] }. Scenario ids: 'emulation-tx' (guest streams
 *   frames out through an emulated e1000; opts.size, opts.packets, params {mitigation: boolean,
 *   itr: number, burst: number}), 'emulation-rr' (request/response, latency; params {mitigation, itr}),
 *   'emulation-rx' (host streams into the guest).
 *   Metrics has counters (exits by reason, exitsToUser, exitsInKernel, interrupts, eois, ...),
 *   busyNs per context ('guest','kvm','qemu','host-kernel','wire'), derived (throughputGbps, mpps,
 *   exitsPerPacket, exitsPerSec, interruptsPerSec, exitsPerTransaction, cpu per context, bottleneck),
 *   series (bucketNs, t[], throughputGbps[], mpps[], exitsPerSec by exit reason, cpu by context) and
 *   latency (p50/p90/p99/max, histogram) or null.
 *   TraceEvent = { t (ns), dur (ns), lane: 'guest'|'kvm'|'qemu'|'host-kernel'|'wire'|'peer', kind, label, pkt? }.
 * - `listLabs(): LabInfo[]`, `getLabInfo(id): LabInfo | undefined`
 *   LabInfo = { id, title, version (content hash), apiModule ('iovlab/emulated-nic'), apiDts (a
 *   `declare module 'iovlab/emulated-nic' {…}` string for Monaco addExtraLib), starter (source),
 *   publicSeeds: number[], freshSeeds: number (how many fresh seeds Grade adds), timeLimitMs (per
 *   seed), checks: CheckInfo[] ({number, id, name, points, parents, kind}), maxScore }.
 * - `runLabSeed(labId, source: string, seed: number): SeedOutcome` — compiles the learner's
 *   TypeScript (sucrase) and runs ONE seed. SeedOutcome = {seed, kind:'ran', result: RunResult,
 *   findings} | {seed, kind:'compile-error', diagnostics} (diagnostics carry `line`). A learner
 *   infinite loop makes this call never return: the shell must run it in a Worker and terminate
 *   the Worker after LabInfo.timeLimitMs, then record {seed, kind:'timeout', limitMs}.
 * - `gradeOutcomes(labId, outcomes: SeedOutcome[], meta: {mode:'check'|'grade', codeHash: string}): GradeResult`
 *   — pure aggregation; Gradescope results.json superset with `iovlab: {lab, labVersion,
 *   engineVersion, mode, seeds, codeHash}`. Check = publicSeeds only (practice, sets no score);
 *   Grade = publicSeeds + LabInfo.freshSeeds fresh seeds (the shell draws them with
 *   crypto.getRandomValues, uint32) and sets the best score.
 * - `formatGradeText(result: GradeResult): string` — the exact text the CLI prints (checks, points,
 *   messages, then `Score: X/Y`); the browser may show it verbatim or render result.tests.
 * - `hashText(s: string): string` — stable hex hash (used for codeHash).
 * - `runCell(source: string): CellOutput` — compiles and runs a notebook cell's TypeScript. Cell code
 *   imports from 'iovlab': `sim(id, opts) → Metrics`, `scenarios()`, `plot(spec: PlotSpec)`,
 *   `table(rows, title?)`, `print(...)`. CellOutput = { plots: PlotSpec[], tables: {title?, rows}[],
 *   logs: string[], diagnostics: Diagnostic[] }. PlotSpec = { type: 'line'|'bar', title, x: {label,
 *   values: (number|string)[]}, y: {label, log?}, y2?: {label}, series: {label, values: number[],
 *   axis?: 'y'|'y2'}[], summary?: string }. `CELL_API_DTS` is the `declare module 'iovlab'` text
 *   for Monaco. Cells can also loop forever: run them in a Worker with a watchdog too.
 */
/**
 * lab-engine public entry. The browser Worker, the CLI and the tests use only what is exported
 * here (plus lab-engine/node/ for Node-only adapters). Pure: no DOM, no Node built-ins.
 */
export { ENGINE_VERSION } from './version.ts';

export type * from './sim/types.ts';
export type * from './labs/types.ts';
export type { PlotSpec, CellOutput } from './sandbox/cell.ts';

export { METRICS_SCHEMA, CONTEXTS } from './sim/types.ts';
export { listScenarios, runScenario } from './scenarios/index.ts';
export { listLabs, getLabInfo } from './labs/registry.ts';
export { runLabSeed } from './labs/run.ts';
export { gradeOutcomes, gradeSeeds } from './grader/grade.ts';
export { formatGradeText } from './grader/format.ts';
export { runCell, CELL_API_DTS } from './sandbox/cell.ts';
export { compileModule } from './sandbox/compile.ts';
export { E1000_REGISTER_TABLE } from './hw/e1000/regs.ts';
export { ringSnapshot, RING_STEPS, type RingSnapshot, type RingStep } from './scenarios/ring-demo.ts';
export { hashText } from './sim/hash.ts';
