/**
 * Hidden seeds for instructor grading (DESIGN.md §4, §8): a static site cannot hide tests, so
 * the instructor adds seeds no learner has seen, derived from a secret salt. Each learner's
 * seeds differ (the student id is part of the hash), so sharing "the hidden seeds" is useless.
 * HMAC-SHA-256 keyed by the salt, not the engine's FNV hash: the seeds show up in the graded
 * output, and a keyed cryptographic hash does not let anyone work back to the salt from them.
 */
import { createHmac } from 'node:crypto';

/** At least this many hidden seeds, whatever the lab's freshSeeds says. */
export const MIN_HIDDEN_SEEDS = 3;

/**
 * `k` seeds from HMAC(salt; lab, student, i), none of them in `avoid` (the public and recorded
 * seeds) and no duplicates. Deterministic: the same inputs give the same seeds.
 */
export function saltedSeeds(salt: string, labId: string, student: string, k: number, avoid: readonly number[] = []): number[] {
  const out: number[] = [];
  const taken = new Set(avoid);
  for (let i = 0; out.length < Math.max(k, MIN_HIDDEN_SEEDS); i++) {
    const seed = createHmac('sha256', salt).update(`iovlab.hidden-seed/1\n${labId}\n${student}\n${i}`).digest().readUInt32BE(0);
    if (taken.has(seed)) continue;
    taken.add(seed);
    out.push(seed);
  }
  return out;
}
