/** A bounded-concurrency map: a folder's items graded `jobs` at a time, results in input order. */
import { availableParallelism } from 'node:os';

/** Each job runs learner code in its own worker (up to the heap limit): more than 8 rarely helps. */
export const MAX_DEFAULT_JOBS = 8;

export function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_DEFAULT_JOBS));
}

export async function mapPool<T, R>(items: readonly T[], jobs: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, lane));
  return out;
}
