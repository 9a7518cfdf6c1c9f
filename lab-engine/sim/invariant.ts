/** An engine bug (never a learner's mistake): these must not reach learners (STYLE.md §3.9). */
export class EngineInvariantError extends Error {
  override name = 'EngineInvariantError';
}

export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new EngineInvariantError(message);
}
