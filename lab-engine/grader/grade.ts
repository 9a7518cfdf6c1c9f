/**
 * Aggregates per-seed outcomes into one result: a superset of Gradescope's results.json
 * (DESIGN.md §4). Pure: the browser and the CLI call it with the same outcomes and get the same
 * result, byte for byte (execution_time is left to the shells).
 */
import { getLab } from '../labs/registry.ts';
import type { Finding, GradeResult, GradedTest, SeedOutcome } from '../labs/types.ts';
import { renderFinding } from './messages/en.ts';
import { runLabSeed } from '../labs/run.ts';
import { hashText } from '../sim/hash.ts';
import { ENGINE_VERSION } from '../version.ts';

const MAX_LINES_PER_CHECK = 4;

export function gradeOutcomes(labId: string, outcomes: SeedOutcome[], meta: { mode: 'check' | 'grade'; codeHash: string }): GradeResult {
  const lab = getLab(labId);
  if (!lab) throw new Error(`unknown lab '${labId}'`);
  const info = lab.info;
  const byCheck = new Map<string, Finding[]>();
  for (const c of info.checks) byCheck.set(c.id, []);
  for (const o of outcomes) {
    if (o.kind === 'ran') {
      for (const f of o.findings) byCheck.get(f.check)?.push(f);
    } else {
      const f: Omit<Finding, 'check'> =
        o.kind === 'timeout'
          ? { code: 'timeout', data: { seed: o.seed, seconds: String(o.limitMs / 1000) } }
          : o.kind === 'crashed'
            ? { code: o.reason, data: { seed: o.seed, message: o.message } }
            : { code: 'compile-error', data: { seed: o.seed, message: o.diagnostics.map((d) => d.message).join(' ') } };
      for (const c of info.checks) byCheck.get(c.id)!.push({ check: c.id, ...f });
    }
  }
  const failed = new Set<number>();
  const tests: GradedTest[] = [];
  for (const c of info.checks) {
    let findings = byCheck.get(c.id)!;
    const parent = c.parents.find((p) => failed.has(p));
    if (parent !== undefined) {
      const pc = info.checks.find((x) => x.number === parent)!;
      findings = [{ check: c.id, code: 'parent-failed', data: { parent, name: pc.name } }, ...findings];
    }
    const pass = findings.length === 0;
    if (!pass) failed.add(c.number);
    const lines = findings.slice(0, MAX_LINES_PER_CHECK).map(renderFinding);
    if (findings.length > MAX_LINES_PER_CHECK) lines.push(`… and ${findings.length - MAX_LINES_PER_CHECK} more`);
    tests.push({
      name: c.name,
      number: String(c.number),
      score: pass ? c.points : 0,
      max_score: c.points,
      status: pass ? 'passed' : 'failed',
      output: pass ? 'passed on every seed' : lines.join('\n'),
      tags: [c.kind],
      visibility: 'visible',
    });
  }
  const seeds = outcomes.map((o) => o.seed);
  const score = tests.reduce((s, t) => s + t.score, 0);
  const perf = perfFigures(outcomes);
  return {
    score,
    max_score: info.maxScore,
    output: `${meta.mode === 'check' ? 'Check' : 'Grade'} of lab ${info.id} on seeds ${seeds.join(', ')}${meta.mode === 'check' ? ' (practice: public seeds, no score recorded)' : ''}.`,
    visibility: 'visible',
    stdout_visibility: 'visible',
    tests,
    ...(perf ? { leaderboard: perf } : {}),
    iovlab: { schema: 'iovlab.grade/1', lab: info.id, labVersion: info.version, engineVersion: ENGINE_VERSION, mode: meta.mode, seeds, codeHash: meta.codeHash },
  };
}

function perfFigures(outcomes: SeedOutcome[]): GradeResult['leaderboard'] {
  const ran = outcomes.filter((o) => o.kind === 'ran');
  if (ran.length === 0 || ran.length !== outcomes.length) return undefined;
  let exits = 0;
  let packets = 0;
  for (const o of ran) {
    exits += o.result.metrics.counters.exitsTotal;
    packets += o.result.metrics.counters.packetsTx;
  }
  if (packets === 0) return undefined;
  return [{ name: 'VM exits per packet', value: Math.round((exits / packets) * 1000) / 1000, order: 'asc' }];
}

/** Run and grade in one call (Node and tests: no watchdog here). */
export function gradeSeeds(labId: string, source: string, seeds: number[], mode: 'check' | 'grade'): GradeResult {
  const outcomes = seeds.map((seed) => runLabSeed(labId, source, seed));
  return gradeOutcomes(labId, outcomes, { mode, codeHash: hashText(source) });
}
