/**
 * Discrete-event scheduler (SimPy's core, STYLE.md §3.7): a binary heap ordered by
 * (time, priority, seq). `seq` is a counter owned by the scheduler, so ties resolve in insertion
 * order and every run with the same inputs processes events in the same order.
 */
import type { Ns } from './time.ts';
import { invariant } from './invariant.ts';

/** Lower runs first at equal times. Hardware completes before software reacts. */
export const Priority = { Hardware: 0, Normal: 1, Late: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

export interface Scheduled {
  at: Ns;
  priority: number;
  seq: number;
  run: () => void;
  /** Set by cancel(); a cancelled event is skipped when popped (lazy deletion). */
  cancelled: boolean;
}

export type RunStop = 'until' | 'empty' | 'budget' | 'halted';

export class Scheduler {
  #now: Ns = 0;
  #seq = 0;
  #heap: Scheduled[] = [];
  #events = 0;
  #halted = false;

  get now(): Ns {
    return this.#now;
  }
  /** Events processed so far. */
  get events(): number {
    return this.#events;
  }
  get pending(): number {
    return this.#heap.length;
  }

  /** Run `fn` after `delay` ns. Returns a handle that cancel() accepts. */
  schedule(delay: Ns, fn: () => void, priority: number = Priority.Normal): Scheduled {
    invariant(Number.isInteger(delay) && delay >= 0, `schedule: bad delay ${delay}`);
    const ev: Scheduled = { at: this.#now + delay, priority, seq: this.#seq++, run: fn, cancelled: false };
    this.#push(ev);
    return ev;
  }

  /** Run `fn` at absolute time `at` (≥ now). */
  at(at: Ns, fn: () => void, priority: number = Priority.Normal): Scheduled {
    return this.schedule(Math.max(0, at - this.#now), fn, priority);
  }

  cancel(ev: Scheduled | undefined): void {
    if (ev) ev.cancelled = true;
  }

  /** Stop the current run() after the event being processed (used on fatal learner errors). */
  halt(): void {
    this.#halted = true;
  }

  run(opts: { until?: Ns; maxEvents?: number } = {}): RunStop {
    const until = opts.until ?? Number.MAX_SAFE_INTEGER;
    const budget = opts.maxEvents ?? Number.MAX_SAFE_INTEGER;
    const heap = this.#heap;
    while (heap.length > 0) {
      if (this.#halted) return 'halted';
      const top = heap[0]!;
      if (top.cancelled) {
        this.#pop();
        continue;
      }
      if (top.at > until) {
        this.#now = until;
        return 'until';
      }
      if (this.#events >= budget) return 'budget';
      this.#pop();
      this.#now = top.at;
      this.#events++;
      top.run();
    }
    return this.#halted ? 'halted' : 'empty';
  }

  #less(a: Scheduled, b: Scheduled): boolean {
    if (a.at !== b.at) return a.at < b.at;
    if (a.priority !== b.priority) return a.priority < b.priority;
    return a.seq < b.seq;
  }

  #push(ev: Scheduled): void {
    const heap = this.#heap;
    heap.push(ev);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Scheduled {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
