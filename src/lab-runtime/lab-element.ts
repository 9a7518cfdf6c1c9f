/**
 * <iov-lab data-lab="…">: the lab island. Lab.astro renders the static markup (title, the
 * starter in a textarea, disabled buttons, the LabInfo as JSON); this element brings it to life:
 * editor, Run / Check / Grade / Reset, progress, output, saving.
 *
 * All engine work happens in Workers (one per seed) so the page never freezes; the watchdog of
 * runner.ts stops learner code that never returns.
 */
import type { GradeResult, LabInfo, SeedOutcome } from '../../lab-engine/index.ts';
import { buildSubmission } from '../../lab-engine/grader/submission.ts';
import { AutoSaver } from './autosave.ts';
import { destroyCharts, watchTheme } from './charts.ts';
import { clear, h, required } from './dom.ts';
import { CodeEditor, touchOnly, type EditorProblem } from './editor.ts';
import { diffView } from './diff-view.ts';
import { gradeReport } from './grade-report.ts';
import { GradingProgress } from './grading-progress.ts';
import { outcomeView, problemLines } from './run-view.ts';
import { prewarm, startJob, timeoutMessage, type JobHandle } from './runner.ts';
import type { JobResult } from './protocol.ts';
import { formatSeeds, freshSeeds, seedsFromSearch, urlWithSeeds } from './seeds.ts';
import { Store, keys, type BestScore, type RecoveryNote } from './storage.ts';
import { submissionPanel } from './submission-panel.ts';

export type LabPageInfo = Pick<LabInfo, 'id' | 'title' | 'version' | 'apiModule' | 'apiDts' | 'starter' | 'publicSeeds' | 'freshSeeds' | 'timeLimitMs' | 'checks' | 'maxScore'>;

let sharedStore: Store | undefined;
/** The page's store; the first call migrates older data and recovers damaged records (once). */
export function store(): Store {
  if (!sharedStore) {
    sharedStore = Store.fromWindow();
    sharedStore.startup();
  }
  return sharedStore;
}

/** Relative URL of the "Your progress" page (from <html data-root>, set by BaseLayout). */
export function progressPageHref(): string {
  return `${document.documentElement.dataset['root'] ?? ''}progress/index.html`;
}

/** Time limit for the aggregation job (no learner code runs in it). */
const GRADE_JOB_MS = 20_000;

function ago(at: number): string {
  const s = Math.round((Date.now() - at) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(at).toLocaleDateString();
}

function setUrlSeeds(seeds: number[]): void {
  try {
    history.replaceState(history.state, '', urlWithSeeds(location.href, seeds));
  } catch {
    /* some file:// setups refuse; the seeds are echoed in the output anyway */
  }
}

export class IovLab extends HTMLElement {
  private started = false;
  private info!: LabPageInfo;
  private editor!: CodeEditor;
  private saver!: AutoSaver;
  private out!: HTMLElement;
  private progress!: HTMLElement;
  private notices!: HTMLElement;
  private bestEl!: HTMLElement;
  private typeEl!: HTMLElement;
  private buttons: Record<'run' | 'check' | 'grade' | 'reset' | 'stop', HTMLButtonElement> = {} as never;
  private job: JobHandle | undefined;
  private stopped = false;

  connectedCallback(): void {
    if (this.started) return;
    this.started = true;
    try {
      this.setup();
    } catch (e) {
      this.prepend(h('p', { class: 'iov-alert error', role: 'alert' }, `This lab could not start: ${(e as Error).message}`));
    }
  }

  private setup(): void {
    const infoEl = this.querySelector('script.iov-lab-info');
    if (!infoEl?.textContent) throw new Error('lab data missing');
    this.info = JSON.parse(infoEl.textContent) as LabPageInfo;
    const info = this.info;
    watchTheme();
    prewarm();

    const q = <T extends Element>(sel: string): T => required<T>(this, sel);
    this.out = q('.iov-output');
    this.progress = q('.iov-progress');
    this.notices = q('.iov-notices');
    this.bestEl = q('.iov-best');
    this.typeEl = q('.iov-typecheck');
    const status = q<HTMLElement>('.iov-saved');
    for (const a of ['run', 'check', 'grade', 'reset', 'stop'] as const) this.buttons[a] = q<HTMLButtonElement>(`button[data-action="${a}"]`);

    const st = store();
    const report = st.startup();
    this.saver = new AutoSaver(st, 'lab', info.id, info.version, status);
    let initial = info.starter;
    const saved = st.loadCode('lab', info.id);
    let stale = false;
    if (saved.state === 'ok' || saved.state === 'recovered') {
      initial = saved.value.code;
      status.dataset['state'] = 'saved';
      status.textContent = saved.value.savedAt ? `Your saved code (${ago(saved.value.savedAt)})` : 'Your saved code';
      if (saved.value.version !== info.version) {
        // Keep the old version on the saved code until the learner decides.
        this.saver.version = saved.value.version;
        stale = true;
      }
    }
    this.startupNotices(report.migration, saved.state === 'corrupt' ? saved.backupKey : undefined);
    const crashed = st.takeRunning(info.id);
    // Leaving or closing the page mid-run is not a crash: only a killed page keeps the marker.
    addEventListener('pagehide', () => store().markRunning(info.id, null));
    if (crashed) {
      this.notice(
        'error',
        `The page stopped while your code was running (${crashed.mode}${Number.isNaN(crashed.seed) ? "" : `, seed ${crashed.seed}`}) — most likely the code used up the memory and the browser closed the page. Your code was saved before the run and is shown as you left it; look for a loop that keeps allocating.`,
      );
    }

    this.editor = new CodeEditor({
      host: q('.iov-editor-host'),
      value: initial,
      uri: `file:///lab/${info.id}.ts`,
      extraLibs: [{ path: `file:///iovlab/${info.id}.d.ts`, content: info.apiDts }],
      ariaLabel: `Code editor for the lab “${info.title}”`,
      minHeight: 320,
      maxHeight: Math.max(360, Math.round(window.innerHeight * 0.7)),
      onChange: (code) => this.saver.schedule(code),
      onLeave: () => this.buttons.run.focus(),
      onTypeProblems: (p) => this.showTypeProblems(p),
      onUpgraded: () => this.classList.add('iov-has-monaco'),
    });
    if (touchOnly()) {
      // Monaco has no touch support: the plain editor stays, and Run always shows the charts.
      this.classList.add('iov-touch');
      this.notice('info', 'On a touch screen the code is a plain text box. You can still press Run and watch the charts and the trace.');
    }

    this.buttons.run.addEventListener('click', () => void this.run());
    this.buttons.check.addEventListener('click', () => void this.checkOrGrade('check'));
    this.buttons.grade.addEventListener('click', () => void this.checkOrGrade('grade'));
    this.buttons.reset.addEventListener('click', () => this.reset());
    this.buttons.stop.addEventListener('click', () => this.stop());
    if (stale) this.versionNotice();
    for (const b of Object.values(this.buttons)) b.disabled = false;
    this.buttons.stop.hidden = true;
    this.showBest();
    const urlErrors = seedsFromSearch(location.search).errors;
    if (urlErrors.length) this.notice('warning', urlErrors.join('; '));
    this.dataset['ready'] = 'true';
  }

  // ── notices ────────────────────────────────────────────────────────────────────────────────

  private notice(kind: 'info' | 'warning' | 'error', text: string, ...actions: [string, () => void][]): HTMLElement {
    const el = h('div', { class: `iov-alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', {}, text));
    for (const [label, fn] of actions) {
      el.append(' ', h('button', { type: 'button', class: 'iov-btn iov-btn-small', onclick: () => fn() }, label));
    }
    el.append(' ', h('button', { type: 'button', class: 'iov-btn iov-btn-small iov-dismiss', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×'));
    this.notices.append(el);
    return el;
  }

  private versionNotice(): void {
    let diff: { el: HTMLElement; dispose(): void } | undefined;
    const closeDiff = (): void => {
      diff?.dispose();
      diff?.el.remove();
      diff = undefined;
    };
    const el = this.notice(
      'warning',
      'This lab has changed since you saved your code. Your code is shown as you left it; it may not match the new lab.',
      [
        'Show differences',
        () => {
          if (diff) return closeDiff();
          void diffView({ yours: this.editor.value, theirs: this.info.starter, yoursLabel: 'your code', theirsLabel: 'the new starter' }).then((d) => {
            closeDiff();
            diff = d;
            el.append(d.el);
          });
        },
      ],
      [
        'Keep my code',
        () => {
          this.saver.version = this.info.version;
          this.saver.schedule(this.editor.value);
          closeDiff();
          el.remove();
        },
      ],
      [
        'Use the new starter',
        () => {
          closeDiff();
          el.remove();
          this.reset(true);
        },
      ],
    );
    el.classList.add('iov-stale');
  }

  /** Damaged data found at start-up: this lab's records are named; others point to the progress page. */
  private startupNotices(migration: ReturnType<Store['startup']>['migration'], codeBackup: string | null | undefined): void {
    if (!migration.ok) this.notice('warning', `Your saved progress could not be upgraded: ${migration.error}.`);
    const notes = store().recovered;
    const mine = (n: RecoveryNote): boolean => n.key.startsWith(`${keys.code('lab', this.info.id).replace(/code$/, '')}`);
    const codeKey = keys.code('lab', this.info.id);
    for (const n of notes.filter(mine)) {
      if (n.key === codeKey && n.outcome === 'frozen') continue;
      const fate = n.outcome === 'repaired' ? 'it was repaired' : n.outcome === 'partly-repaired' ? `what could be read was kept (${n.lost})` : n.lost;
      this.notice('error', `Your saved ${n.what.replace(/^lab [^:]+: /, '')} for this lab was damaged: ${fate}. A copy of the damaged data is kept as a backup you can download from “Your progress”.`, ['Open “Your progress”', () => void (location.href = progressPageHref())]);
    }
    const others = notes.filter((n) => !mine(n));
    if (others.length) {
      this.notice('warning', `Some saved course data was damaged (${others.map((n) => n.what).join('; ')}); it was repaired as far as possible and the damaged copies are kept as backups.`, ['Open “Your progress”', () => void (location.href = progressPageHref())]);
    }
    if (codeBackup === null) this.corruptNotice(null);
  }

  private corruptNotice(backupKey: string | null): void {
    if (backupKey) {
      this.notice('error', `Your saved code for this lab could not be read (the stored data is damaged). A copy of the raw data was kept as a backup (“${backupKey}”), downloadable from “Your progress”. The starter code is shown.`);
    } else {
      this.saver.enabled = false;
      this.saver.show('paused', 'Saving paused');
      this.notice('error', 'Your saved code for this lab could not be read here (there was no room to keep a copy, or a newer version of the course wrote it), so saving is paused to leave it untouched. Copy your code elsewhere before freeing browser storage.');
    }
  }

  private showBest(): void {
    const best = store().loadBest(this.info.id);
    clear(this.bestEl);
    if (best.state === 'ok') {
      const b = best.value;
      this.bestEl.append(h('strong', {}, `Best score: ${b.score}/${b.maxScore}`), ` (Grade on seeds ${formatSeeds(b.seeds)}, ${ago(b.at)})`);
      if (b.labVersion !== this.info.version) this.bestEl.append(' — graded on an earlier version of this lab');
      if (store().loadSubmission(this.info.id)) this.bestEl.append(' ', submissionPanel(store(), this.info.id, () => store().loadSubmission(this.info.id)));
    } else if (best.state === 'recovered') {
      this.bestEl.append(h('strong', {}, `Best score: ${best.value.score}/${best.value.maxScore}`), ' (recovered from damaged data)');
    } else if (best.state === 'corrupt') {
      this.bestEl.append(`Your best score could not be read (damaged data${best.backupKey ? '; a copy is kept as a backup' : ''}).`);
    } else {
      this.bestEl.append(`Not graded yet (max ${this.info.maxScore} points).`);
    }
  }

  private showTypeProblems(problems: EditorProblem[]): void {
    clear(this.typeEl);
    if (problems.length === 0) {
      this.typeEl.dataset['state'] = 'ok';
      this.typeEl.textContent = 'Type check: no problems.';
      return;
    }
    this.typeEl.dataset['state'] = 'problems';
    const first = problems[0]!;
    this.typeEl.append(
      `Type check: ${problems.length} problem${problems.length === 1 ? '' : 's'} (they do not stop Run) — `,
      h('button', { type: 'button', class: 'iov-line', onclick: () => this.editor.revealLine(first.line) }, `line ${first.line}`),
      `: ${first.message.split('\n')[0]}`,
    );
  }

  // ── running ────────────────────────────────────────────────────────────────────────────────

  private setBusy(busy: boolean): void {
    this.buttons.run.disabled = busy;
    this.buttons.check.disabled = busy;
    this.buttons.grade.disabled = busy;
    this.buttons.stop.hidden = !busy;
    this.toggleAttribute('data-busy', busy);
    if (!busy) this.progress.textContent = '';
  }

  private stop(): void {
    this.stopped = true;
    this.job?.stop();
  }

  private async runJob<T>(make: () => JobHandle, pick: (r: JobResult) => T): Promise<T> {
    this.job = make();
    const r = await this.job.result;
    this.job = undefined;
    return pick(r);
  }

  private jump = (line: number): void => this.editor.revealLine(line);

  private startOutput(title: string): HTMLElement {
    destroyCharts(this.out);
    clear(this.out);
    const head = h('p', { class: 'iov-out-head' }, title);
    this.out.append(head);
    return head;
  }

  /** One seed in a fresh Worker; a timeout, stop or crash becomes an outcome or a message. */
  private async runSeed(source: string, seed: number, mode: 'run' | 'check' | 'grade'): Promise<SeedOutcome | { stopped: true } | { error: string }> {
    // If the browser kills the whole page (an out-of-memory crash takes the tab with it), the
    // next visit finds this marker and says what happened (setup()).
    store().markRunning(this.info.id, { mode, seed, at: Date.now() });
    const out = await this.runJob(
      () => startJob({ kind: 'lab-seed', labId: this.info.id, source, seed }, this.info.timeLimitMs),
      (r): SeedOutcome | { stopped: true } | { error: string } => {
        if (r.status === 'timeout') return { seed, kind: 'timeout', limitMs: r.limitMs };
        if (r.status === 'stopped') return { stopped: true };
        // The Worker died under the code; runner.ts has already started a fresh one.
        if (r.status === 'crashed') return { seed, kind: 'crashed', reason: r.reason, message: r.message };
        if (!r.reply.ok) return { error: `The lab engine failed: ${r.reply.error}. This is a bug in the course, not in your code.` };
        if (r.reply.kind !== 'lab-seed') return { error: 'unexpected reply' };
        return r.reply.outcome;
      },
    );
    store().markRunning(this.info.id, null);
    return out;
  }

  async run(): Promise<void> {
    const info = this.info;
    const url = seedsFromSearch(location.search);
    const seed = url.run ?? info.publicSeeds[0] ?? 1;
    const source = this.editor.value;
    this.saver.flush();
    this.setBusy(true);
    this.stopped = false;
    this.progress.textContent = `Running seed ${seed}…`;
    const t0 = performance.now();
    const o = await this.runSeed(source, seed, 'run');
    this.setBusy(false);
    if (!('stopped' in o)) store().recordRun(info.id, 'run');
    this.startOutput(`Run on seed ${seed}${url.run !== undefined ? ' (from ?seed= in the URL)' : ' (the first public seed; add ?seed=N to the URL for another)'}`);
    if ('stopped' in o) return void this.out.append(h('p', { class: 'iov-alert info' }, 'Stopped. Your code is safe.'));
    if ('error' in o) return void this.out.append(h('p', { class: 'iov-alert error', role: 'alert' }, o.error));
    this.editor.setRunProblems(problemLines(o));
    this.out.append(outcomeView(o, this.jump, timeoutMessage, false));
    // The determinism fingerprint: the same code and seed give the same hash in Node (tests).
    if (o.kind === 'ran') this.dataset['traceHash'] = o.result.traceHash;
    this.dataset['lastRunMs'] = String(Math.round(performance.now() - t0));
  }

  async checkOrGrade(mode: 'check' | 'grade'): Promise<void> {
    const info = this.info;
    const url = seedsFromSearch(location.search);
    const fromUrl = mode === 'check' && url.check !== undefined;
    const seeds = mode === 'check' ? (url.check ?? info.publicSeeds) : [...info.publicSeeds, ...freshSeeds(info.freshSeeds, info.publicSeeds)];
    const source = this.editor.value;
    this.saver.flush();
    if (mode === 'check') setUrlSeeds(seeds);
    const title =
      mode === 'check'
        ? `Check on ${fromUrl ? 'seeds' : 'public seeds'} ${formatSeeds(seeds)} (practice: no score)`
        : `Grade on seeds ${formatSeeds(seeds)} (the ${info.publicSeeds.length} public seeds and ${seeds.length - info.publicSeeds.length} fresh ones; sets your best score)`;
    this.startOutput(title);
    const live = new GradingProgress(info.checks, mode, seeds.length);
    this.out.append(live.el);
    this.setBusy(true);
    this.stopped = false;
    const t0 = performance.now();
    const outcomes: SeedOutcome[] = [];
    let failure: string | undefined;
    for (let i = 0; i < seeds.length; i++) {
      const seed = seeds[i]!;
      live.update(i, outcomes);
      this.progress.textContent = `seed ${i + 1} of ${seeds.length}…`;
      const o = await this.runSeed(source, seed, mode);
      if ('stopped' in o) {
        failure = 'Stopped before every seed ran, so there is no result. Your code is safe.';
        break;
      }
      if ('error' in o) {
        failure = o.error;
        break;
      }
      outcomes.push(o);
      live.update(i + 1, outcomes);
      // Compiling does not depend on the seed: one compile error stands for every seed.
      if (o.kind === 'compile-error') {
        for (const s of seeds.slice(i + 1)) outcomes.push({ ...o, seed: s });
        break;
      }
    }
    if (failure) {
      this.setBusy(false);
      live.el.remove();
      this.out.append(h('p', { class: `iov-alert ${this.stopped ? 'info' : 'error'}`, role: 'alert' }, failure));
      return;
    }
    live.update(seeds.length, outcomes);
    const graded = await this.runJob(
      () => startJob({ kind: 'grade', labId: info.id, source, mode, outcomes }, GRADE_JOB_MS),
      (r): { result: GradeResult; text: string } | { error: string } => {
        if (r.status !== 'done') return { error: r.status === 'stopped' ? 'Stopped.' : 'Scoring did not finish.' };
        if (!r.reply.ok) return { error: `The grader failed: ${r.reply.error}. This is a bug in the course, not in your code.` };
        if (r.reply.kind !== 'grade') return { error: 'unexpected reply' };
        return { result: r.reply.result, text: r.reply.text };
      },
    );
    this.setBusy(false);
    const ms = Math.round(performance.now() - t0);
    this.dataset[mode === 'check' ? 'lastCheckMs' : 'lastGradeMs'] = String(ms);
    live.el.remove();
    if ('error' in graded) {
      this.out.append(h('p', { class: 'iov-alert error', role: 'alert' }, graded.error));
      return;
    }
    graded.result.execution_time = Math.round(ms / 10) / 100;
    store().recordRun(info.id, mode, { score: graded.result.score, maxScore: graded.result.max_score });
    if (mode === 'grade') this.recordGrade(graded.result, source, seeds);
    else this.out.append(h('p', { class: 'iov-note' }, 'Practice run: no score is recorded. Press Grade to record a score.'));
    this.out.append(gradeReport(graded.result, graded.text));
    this.showSeedOutcomes(outcomes);
  }

  private recordGrade(result: GradeResult, code: string, seeds: number[]): void {
    const best: BestScore = {
      schema: 'iovlab.best/1',
      score: result.score,
      maxScore: result.max_score,
      seeds,
      at: Date.now(),
      codeHash: result.iovlab.codeHash,
      labVersion: result.iovlab.labVersion,
    };
    // The student is filled in when the learner downloads it (submission-panel.ts).
    const me = store().loadIdentity();
    const submission = buildSubmission({ lab: this.info.id, labVersion: result.iovlab.labVersion, student: { name: me?.name ?? '', id: me?.id ?? '' }, code, mode: 'grade', seeds, results: result, createdAt: new Date().toISOString() });
    const r = store().recordGrade(this.info.id, best, submission);
    this.showBest();
    // nav.js refreshes the progress marks (sidebar, home page) on this event.
    window.dispatchEvent(new Event('iovlab:progress'));
    this.out.append(
      h(
        'p',
        { class: `iov-alert ${r.saved ? 'info' : 'error'}`, role: 'status' },
        r.saved
          ? r.isBest
            ? `Recorded: your best score is now ${result.score}/${result.max_score}. “Download submission…” next to the best score gives the file to hand in.`
            : `Your best score stays higher than this one (${result.score}/${result.max_score}); the submission stays the one of your best Grade.`
          : 'The score could not be saved in this browser (storage full?).',
      ),
    );
  }

  /** Charts and trace of one seed at a time, picked from a list. */
  private showSeedOutcomes(outcomes: SeedOutcome[]): void {
    if (outcomes.length === 0) return;
    const first = outcomes.find((o) => o.kind === 'ran') ?? outcomes[0]!;
    if (first.kind === 'compile-error') {
      this.editor.setRunProblems(problemLines(first));
      this.out.append(outcomeView(first, this.jump, timeoutMessage));
      return;
    }
    const slot = h('div', { class: 'iov-seed-view' });
    const select = h('select', { 'aria-label': 'Seed to show' });
    for (const o of outcomes) select.append(h('option', { value: o.seed, selected: o === first }, `seed ${o.seed}${o.kind === 'timeout' ? ' (timed out)' : ''}`));
    const show = (): void => {
      const o = outcomes.find((x) => String(x.seed) === select.value) ?? first;
      destroyCharts(slot);
      clear(slot);
      this.editor.setRunProblems(problemLines(o));
      slot.append(outcomeView(o, this.jump, timeoutMessage));
    };
    select.addEventListener('change', show);
    this.out.append(h('h3', { class: 'iov-sub' }, 'What happened on ', select), slot);
    show();
  }

  /** Replace the code by the starter; Undo brings the code (and its lab version) back. */
  reset(fromStale = false): void {
    const before = this.editor.value;
    const beforeVersion = this.saver.version;
    if (before === this.info.starter) {
      if (fromStale) {
        this.saver.version = this.info.version;
        this.saver.schedule(before);
      }
      return;
    }
    store().saveBeforeReset('lab', this.info.id, before, beforeVersion);
    this.saver.version = this.info.version;
    this.editor.setValue(this.info.starter);
    this.saver.flush();
    const el = this.notice('info', fromStale ? 'Your code was replaced by the new starter. Undo brings your code back.' : 'Your code was replaced by the starter.', [
      'Undo',
      () => {
        const kept = store().loadBeforeReset('lab', this.info.id);
        const code = kept?.code ?? before;
        this.saver.version = kept?.version ?? beforeVersion;
        this.editor.setValue(code);
        this.saver.flush();
        el.remove();
        if (this.saver.version !== this.info.version) this.versionNotice();
      },
    ]);
    el.classList.add('iov-undo');
  }
}
