/**
 * lab-engine public entry. The browser Worker, the CLI and the tests use only what is exported
 * here (plus lab-engine/node/ for Node-only adapters). Pure: no DOM, no Node built-ins.
 * What each export does and returns: lab-engine/API.md.
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
export { sriovCapabilitySnapshot, type SriovCapabilitySnapshot } from './scenarios/sriov-demo.ts';
export {
  buildSubmission,
  parseSubmission,
  tooLarge,
  resultsDiffer,
  compareVersions,
  SUBMISSION_SCHEMA,
  MAX_SUBMISSION_BYTES,
  type Submission,
  type SubmissionDraft,
  type ParsedSubmission,
  type Student,
} from './grader/submission.ts';
export {
  runMigration,
  MIGRATION_DEFAULTS,
  MIGRATION_MODELS,
  MIGRATION_LIMITS,
  MigrationOptionError,
  VFIO_STATE,
  VfioMigrationDevice,
  VfioFsmError,
  vfioNextState,
  vfioDirectArcs,
  vfioStateName,
  refusalReasons,
  type MigrationModel,
  type MigrationOptions,
  type MigrationReport,
  type MigrationRound,
  type MigrationPhase,
} from './migration/index.ts';
