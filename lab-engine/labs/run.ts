import type { SeedOutcome } from './types.ts';
import { getLab } from './registry.ts';

/**
 * Compile the learner's source and run one seed of a lab. Synchronous: an infinite loop in the
 * learner's code never returns, so shells run this in a Worker with a watchdog.
 */
export function runLabSeed(labId: string, source: string, seed: number): SeedOutcome {
  const lab = getLab(labId);
  if (!lab) throw new Error(`unknown lab '${labId}'`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`seed must be an integer in [0, 2^32), got ${seed}`);
  return lab.runSeed(source, seed);
}
