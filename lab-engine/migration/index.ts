/**
 * Live migration (GitHub issue 7, CALIBRATION §4, C18/C19): the public entry. `runMigration`
 * migrates one VM between two simulated hosts over a migration link and reports what happened:
 * pre-copy rounds, switch-over, downtime, the guest's network outage, the bytes moved, and
 * whether the destination's memory matches the source's.
 */
import { simulateMigration } from './engine.ts';
import { resolveOptions, type MigrationModel, type MigrationOptions, type MigrationReport } from './types.ts';

export {
  MIGRATION_DEFAULTS,
  MIGRATION_LIMITS,
  MIGRATION_MODELS,
  MigrationOptionError,
  resolveOptions,
  type MigrationModel,
  type MigrationOptions,
  type MigrationPhase,
  type MigrationReport,
  type MigrationRound,
} from './types.ts';
export { simulateMigration, type MigrationRun, CHUNK_PAGES, TICK_NS, LINK_GOODPUT } from './engine.ts';
export { refusalReasons, modelProfile } from './models.ts';
export {
  VFIO_STATE,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_MIGRATION_P2P,
  VFIO_MIGRATION_PRE_COPY,
  VfioMigrationDevice,
  VfioFsmError,
  vfioNextState,
  vfioDirectArcs,
  vfioStateName,
  type VfioState,
} from './vfio-fsm.ts';
export { e1000StateParts, virtioNetStateParts, VFIO_DEVICE_STATE } from './device-state.ts';

/** Migrate one VM; throws MigrationOptionError on a bad option (naming it and the accepted range). */
export function runMigration(opts: Partial<MigrationOptions> & { model: MigrationModel; seed?: number }): MigrationReport {
  return simulateMigration(resolveOptions(opts)).report;
}
