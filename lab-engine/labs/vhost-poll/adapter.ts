/**
 * Plugs learner code into the vhost-user backend: implements the engine's PollPolicy by calling
 * the learner's burst()/idle()/wake() with a fresh `Core` capability each time (STYLE.md §3.6:
 * capabilities, never the device). The adapter is also where the notification protocol is
 * audited, at the moment the learner's idle() answers 'sleep' (DESIGN.md §4: observers watch the
 * run as it happens):
 *   - notifications still suppressed → the guest will not kick: a lost wake-up, certain;
 *   - enabled, but no look at the ring since enabling → a buffer published between the core's
 *     last poll and the enable would wait for a kick that never comes (the engine runs a policy
 *     call atomically, so the race cannot play out here; the protocol is checked instead);
 *   - enabled, looked, but chains are pending → slept on work it had seen.
 * The engine's own empty poll right before each idle() call counts as a look: notifications
 * enabled in an earlier call were followed by that poll. A learner exception stops the run
 * (the PMD thread would crash) with the learner's line; a bad return value is reported and
 * replaced by a safe one so the run goes on.
 */
import type { HostEnv } from '../../hv/host.ts';
import type { PollCtx, PollPolicy } from '../../hv/vhost-user.ts';
import { formatNs } from '../../sim/time.ts';
import { learnerThrew } from '../../sandbox/compile.ts';
import { VHOST_POLL_API } from './api.ts';
import type { PollObserver, SleepKind } from './observe.ts';

export interface LearnerPollExports {
  burst: (core: unknown) => unknown;
  idle: (core: unknown) => unknown;
  wake?: (core: unknown) => unknown;
}

/** The learner's exception, kept to rewrite the engine's diagnostic with the learner's line. */
export interface LearnerFault {
  message: string;
  line?: number;
}

/** What replaces a bad value so the run can go on: DPDK's burst; poll for another microsecond. */
const FALLBACK_BURST = VHOST_POLL_API.DPDK_BURST;
const FALLBACK_SPIN_NS = 1_000;
const MAX_LOG_LINES = 200;

export class LearnerPolicy implements PollPolicy {
  readonly learner: LearnerPollExports;
  readonly observer: PollObserver;
  readonly logs: string[];
  readonly eventIdx: boolean;
  env: HostEnv | undefined;
  fault: LearnerFault | undefined;
  /** Mirrors the backend: the engine starts the core with notifications suppressed. */
  #enabled = false;
  /** The ring was read (by the engine's poll or the learner's pendingTx()) since the last enable. */
  #looked = true;

  constructor(learner: LearnerPollExports, observer: PollObserver, logs: string[], eventIdx: boolean) {
    this.learner = learner;
    this.observer = observer;
    this.logs = logs;
    this.eventIdx = eventIdx;
  }

  attach(env: HostEnv): void {
    this.env = env;
    this.observer.attach(env);
  }

  burst(ctx: PollCtx): number {
    this.#looked = true;
    const v = this.#call('burst', ctx, 0, 'work was pending');
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= VHOST_POLL_API.MAX_BURST) return v;
    const used = typeof v === 'number' && Number.isFinite(v) ? Math.min(VHOST_POLL_API.MAX_BURST, Math.max(1, Math.round(v))) : FALLBACK_BURST;
    this.observer.badValue('burst', describeValue(v), ctx.now, String(used));
    return used;
  }

  idle(ctx: PollCtx): number | 'sleep' {
    this.#looked = true;
    const v = this.#call('idle', ctx, ctx.idleNs, `the core had been idle ${formatNs(ctx.idleNs)}`);
    if (v === 'sleep') {
      let kind: SleepKind = 'ok';
      let pending = 0;
      if (!this.#enabled) kind = 'suppressed';
      else if (!this.#looked) kind = 'no-recheck';
      else if ((pending = ctx.pendingTx()) > 0) kind = 'with-work';
      this.observer.sleep(ctx.now, kind, pending);
      return 'sleep';
    }
    if (typeof v === 'number' && v > 0) return v;
    this.observer.badValue('idle', describeValue(v), ctx.now, `kept polling for ${formatNs(FALLBACK_SPIN_NS)}`);
    return FALLBACK_SPIN_NS;
  }

  wake(ctx: PollCtx): void {
    this.observer.wake(ctx.now);
    if (typeof this.learner.wake === 'function') this.#call('wake', ctx, 0, 'a kick woke the core');
  }

  #call(fn: 'burst' | 'idle' | 'wake', ctx: PollCtx, idleNs: number, what: string): unknown {
    const state = { valid: true };
    const core = this.#core(ctx, idleNs, state);
    try {
      const f = this.learner[fn];
      return f!(core);
    } catch (e) {
      const d = learnerThrew(fn, e, `at ${formatNs(ctx.now)} (${what})`);
      this.fault = { message: d.message, ...(d.line ? { line: d.line } : {}) };
      // The backend turns this into its policy error and stops the run (the PMD crashed).
      throw new Error(d.message);
    } finally {
      state.valid = false;
    }
  }

  #core(ctx: PollCtx, idleNs: number, state: { valid: boolean }): object {
    const live = (name: string): void => {
      if (!state.valid) throw new Error(`core.${name}() was called after the call it was passed to returned; use the core of the current call`);
    };
    return Object.freeze({
      now: ctx.now,
      idleNs,
      eventIdx: this.eventIdx,
      pendingTx: (): number => {
        live('pendingTx');
        this.#looked = true;
        return ctx.pendingTx();
      },
      notificationsEnabled: (): boolean => {
        live('notificationsEnabled');
        return this.#enabled;
      },
      enableNotifications: (): void => {
        live('enableNotifications');
        this.#enabled = true;
        this.#looked = false;
        ctx.enableNotifications();
      },
      disableNotifications: (): void => {
        live('disableNotifications');
        this.#enabled = false;
        ctx.disableNotifications();
      },
      log: (...values: unknown[]): void => {
        if (this.logs.length < MAX_LOG_LINES) this.logs.push(`[${formatNs(ctx.now)}] ${values.map((v) => (typeof v === 'string' ? v : safeJson(v))).join(' ')}`);
        else if (this.logs.length === MAX_LOG_LINES) this.logs.push(`… more log lines were dropped (${MAX_LOG_LINES} max)`);
      },
    });
  }
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  return `a ${Array.isArray(v) ? 'array' : typeof v}`;
}

function safeJson(v: unknown): string {
  try {
    return typeof v === 'number' ? String(v) : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
