/**
 * What the learner sees while Check or Grade runs: "Grading: seed 3 of 8 — checks 1–10", a
 * progress bar, and the list of checks filling in seed by seed. The live status follows the
 * grader's rule (lab-engine/grader/grade.ts): a check passes when no seed produced a finding for
 * it, a seed that did not run (timeout, crash, compile error) fails every check, and a failed
 * parent fails its children. The final report (gradeReport) replaces this view.
 */
import type { CheckInfo, SeedOutcome } from '../../lab-engine/index.ts';
import { clear, h } from './dom.ts';

export type LiveStatus = 'waiting' | 'passing' | 'failed';

/** Status of every check after the outcomes so far (in check order). */
export function liveCheckStates(checks: readonly CheckInfo[], outcomes: readonly SeedOutcome[]): { status: LiveStatus; failedSeed?: number; parentFailed?: number }[] {
  const firstFail = new Map<string, number>();
  for (const o of outcomes) {
    if (o.kind === 'ran') {
      for (const f of o.findings) if (!firstFail.has(f.check)) firstFail.set(f.check, o.seed);
    } else {
      for (const c of checks) if (!firstFail.has(c.id)) firstFail.set(c.id, o.seed);
    }
  }
  const failed = new Set<number>();
  return checks.map((c) => {
    const seed = firstFail.get(c.id);
    const parent = c.parents.find((p) => failed.has(p));
    if (seed !== undefined || parent !== undefined) {
      failed.add(c.number);
      return seed !== undefined ? { status: 'failed', failedSeed: seed } : { status: 'failed', parentFailed: parent };
    }
    return { status: outcomes.length === 0 ? 'waiting' : 'passing' };
  });
}

/** "checks 1–10" */
export function checkRange(checks: readonly CheckInfo[]): string {
  if (checks.length === 0) return 'no checks';
  const nums = checks.map((c) => c.number);
  return checks.length === 1 ? `check ${nums[0]}` : `checks ${Math.min(...nums)}–${Math.max(...nums)}`;
}

export class GradingProgress {
  readonly el: HTMLElement;
  private readonly label: HTMLElement;
  private readonly bar: HTMLProgressElement;
  private readonly list: HTMLOListElement;
  private readonly checks: readonly CheckInfo[];
  private readonly verb: string;
  private readonly total: number;

  constructor(checks: readonly CheckInfo[], mode: 'check' | 'grade', total: number) {
    this.checks = checks;
    this.total = total;
    this.verb = mode === 'check' ? 'Checking' : 'Grading';
    this.label = h('span', { class: 'iov-gp-label' });
    this.bar = h('progress', { class: 'iov-gp-bar', max: total, value: 0, 'aria-label': `${this.verb} progress` });
    this.list = h('ol', { class: 'iov-gp-checks', 'aria-label': 'Checks so far' });
    this.el = h('div', { class: 'iov-grading', role: 'status', 'aria-live': 'polite' }, h('p', { class: 'iov-gp-head' }, this.label, ' ', this.bar), this.list);
    this.update(0, []);
  }

  /** Seed `index` (0-based) is about to run; `outcomes` are those finished so far. */
  update(index: number, outcomes: readonly SeedOutcome[]): void {
    const running = index < this.total;
    this.label.textContent = running ? `${this.verb}: seed ${index + 1} of ${this.total} — ${checkRange(this.checks)}` : `${this.verb}: all ${this.total} seeds ran — scoring…`;
    this.bar.value = outcomes.length;
    this.el.dataset['seed'] = String(Math.min(index + 1, this.total));
    const states = liveCheckStates(this.checks, outcomes);
    clear(this.list);
    this.checks.forEach((c, i) => {
      const s = states[i]!;
      const text =
        s.status === 'failed'
          ? s.failedSeed !== undefined
            ? `failed on seed ${s.failedSeed}`
            : `failed (check ${s.parentFailed} failed)`
          : s.status === 'passing'
            ? `passing on ${outcomes.length} of ${this.total} seeds`
            : 'waiting';
      this.list.append(h('li', { class: `iov-gp-${s.status}`, 'data-check': c.number }, h('span', { class: 'iov-gp-num' }, `${c.number}.`), ' ', h('span', { class: 'iov-gp-name' }, c.name), ' ', h('span', { class: 'iov-gp-state' }, text)));
    });
  }
}
