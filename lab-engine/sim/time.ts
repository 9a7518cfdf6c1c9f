/**
 * Virtual time: integer nanoseconds (a plain number; 2^53 ns ≈ 104 days). Integers keep sums
 * exact, so Node and every browser agree to the nanosecond (STYLE.md §3.7).
 */
export type Ns = number;

export const ns = (n: number): Ns => Math.round(n);
export const us = (n: number): Ns => Math.round(n * 1_000);
export const ms = (n: number): Ns => Math.round(n * 1_000_000);

/** Cycles at the engine's nominal clock (CLOCK_GHZ) to ns, rounded to an integer. */
export const CLOCK_GHZ = 2;
export const cycles = (c: number): Ns => Math.round(c / CLOCK_GHZ);

/** "12.3 µs"-style rendering for messages and labels. */
export function formatNs(t: Ns): string {
  if (t < 1_000) return `${t} ns`;
  if (t < 1_000_000) return `${(t / 1_000).toFixed(t < 10_000 ? 2 : 1)} µs`;
  if (t < 1_000_000_000) return `${(t / 1_000_000).toFixed(2)} ms`;
  return `${(t / 1_000_000_000).toFixed(3)} s`;
}
