/**
 * The `migrate` scenario: one VM live-migrated between two simulated hosts (lab-engine/migration/),
 * returned as a regular RunResult. Its Metrics carry the `migration` block (the MigrationReport
 * without its diagnostics, which become the run's diagnostics); the counters and series show the
 * VM's received traffic (stalled while it is paused or unreachable: drops), the migration link
 * ('wire', resource 'migration link') and the migration thread ('qemu'; its dirty-log syncs as 'kvm').
 */
import { ENGINE_VERSION } from '../version.ts';
import type { Diagnostic, RunResult } from '../sim/types.ts';
import { MIGRATION_DEFAULTS, MigrationOptionError, resolveOptions, simulateMigration, type MigrationModel } from '../migration/index.ts';

export const MIGRATE_PARAMS: Record<string, number | string | boolean> = { model: 'virtio-qemu', ...MIGRATION_DEFAULTS, force: false, autoConverge: false, postcopy: false };

export const MIGRATE_NOTE =
  "model = emulation | virtio-qemu | vhost-net | vhost-user | passthrough | sriov-vf | failover | vfio-migration; memMiB guest RAM (16–65536); dirtyMBps how fast the guest writes memory (MB/s) inside a wssMiB working set; linkGbps the migration link; downtimeLimitMs QEMU's downtime limit (300 = default, C18); maxRounds pre-copy rounds before giving up; trafficGbps traffic the VM receives during migration (written into guest memory by the backend or the device); force=true migrates a passthrough/VF anyway (its DMA is not logged: pages silently differ); autoConverge=true throttles the vCPUs (20 %, +10 % a step) while the guest dirties more than half of what a round sends; postcopy=true switches to post-copy when a round's estimate does not fit (the VM resumes on the destination and faults its missing pages in).";

/** Run the `migrate` scenario. Throws MigrationOptionError on a bad parameter (the registry turns it into a ScenarioError). */
/**
 * `ignored`: generic options that mean nothing here (packets, size, as 'packets=300'): the run
 * notes them in an info diagnostic instead of failing, so callers that sweep every scenario
 * with a packet count still get a run. `given`: the parameters the caller set (the rest are
 * defaults): a default working set shrinks to a smaller guest's RAM, as in runMigration.
 */
export function runMigrateScenario(p: Record<string, number | string | boolean>, seed: number, ignored: string[] = [], given: Record<string, unknown> = p): RunResult {
  const num = (k: string): number => {
    const v = p[k];
    if (typeof v !== 'number') throw new MigrationOptionError(`parameter '${k}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  if (typeof p['model'] !== 'string') throw new MigrationOptionError(`parameter 'model' must be a string, got ${JSON.stringify(p['model'])}`);
  if (typeof p['force'] !== 'boolean') throw new MigrationOptionError(`parameter 'force' must be true or false, got ${JSON.stringify(p['force'])}`);
  if (typeof p['postcopy'] !== 'boolean') throw new MigrationOptionError(`parameter 'postcopy' must be true or false, got ${JSON.stringify(p['postcopy'])}`);
  if (typeof p['autoConverge'] !== 'boolean') throw new MigrationOptionError(`parameter 'autoConverge' must be true or false, got ${JSON.stringify(p['autoConverge'])}`);
  const o = resolveOptions({
    model: p['model'] as MigrationModel, seed, force: p['force'], autoConverge: p['autoConverge'], postcopy: p['postcopy'],
    memMiB: num('memMiB'), dirtyMBps: num('dirtyMBps'), ...('wssMiB' in given ? { wssMiB: num('wssMiB') } : {}), linkGbps: num('linkGbps'),
    downtimeLimitMs: num('downtimeLimitMs'), maxRounds: num('maxRounds'), trafficGbps: num('trafficGbps'),
  });
  const run = simulateMigration(o);
  const { diagnostics, ...migration } = run.report;
  const metrics = run.metrics.finish({
    engineVersion: ENGINE_VERSION,
    scenario: 'migrate',
    seed,
    params: { model: o.model, memMiB: o.memMiB, dirtyMBps: o.dirtyMBps, wssMiB: o.wssMiB, linkGbps: o.linkGbps, downtimeLimitMs: o.downtimeLimitMs, maxRounds: o.maxRounds, trafficGbps: o.trafficGbps, force: o.force ?? false, autoConverge: o.autoConverge ?? false, postcopy: o.postcopy ?? false },
    events: run.sched.events,
    stop: 'done',
  });
  metrics.migration = migration;
  const diags: Diagnostic[] = diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message }));
  if (ignored.length) diags.push({ severity: 'info', code: 'migrate-option-ignored', message: `${ignored.join(' and ')} ignored: the migrate scenario has no packet count or frame size (its traffic is trafficGbps of 1518 B frames for as long as the migration takes).` });
  return { metrics, trace: run.trace.events, traceHash: run.trace.hash(), diagnostics: diags };
}
