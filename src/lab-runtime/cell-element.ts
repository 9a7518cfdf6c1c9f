/**
 * <iov-cell data-cell="…">: a notebook cell. Cell.astro renders the code (a textarea) and the
 * toolbar; this element runs the code with runCell() in a fresh Worker (5 s watchdog) and draws
 * what it returned: plots (chart.js, each with a data table and a summary), tables, printed
 * lines and diagnostics with line numbers. Edits are saved per cell id; Reset has Undo.
 */
import type { CellOutput } from '../../lab-engine/index.ts';
import { AutoSaver } from './autosave.ts';
import { destroyCharts, plotFigure, watchTheme } from './charts.ts';
import { clear, h, table, required } from './dom.ts';
import { CodeEditor } from './editor.ts';
import { store } from './lab-element.ts';
import { diffView } from './diff-view.ts';
import { diagnosticsList } from './run-view.ts';
import { prewarm, startJob, timeoutMessage, type JobHandle } from './runner.ts';
import { keys } from './storage.ts';

/** The `declare module 'iovlab'` text for the editor (CELL_API_DTS, put here by bundle.mjs). */
declare const __IOVLAB_CELL_DTS__: string;

export const CELL_TIME_LIMIT_MS = 5_000;

export class IovCell extends HTMLElement {
  private started = false;
  private original = '';
  private version = '';
  private editor!: CodeEditor;
  private saver!: AutoSaver;
  private out!: HTMLElement;
  private runBtn!: HTMLButtonElement;
  private stopBtn!: HTMLButtonElement;
  private notices!: HTMLElement;
  private job: JobHandle | undefined;
  /** Resolves when the current run has finished (for "Run all"). */
  private running: Promise<void> | undefined;

  get cellId(): string {
    return this.dataset['cell'] ?? '';
  }

  connectedCallback(): void {
    if (this.started) return;
    this.started = true;
    try {
      this.setup();
    } catch (e) {
      this.prepend(h('p', { class: 'iov-alert error', role: 'alert' }, `This cell could not start: ${(e as Error).message}`));
    }
  }

  private setup(): void {
    const data = this.querySelector('script.iov-cell-data');
    if (!data?.textContent) throw new Error('cell data missing');
    const parsed = JSON.parse(data.textContent) as { code: string; version: string };
    this.original = parsed.code;
    this.version = parsed.version;
    watchTheme();
    prewarm();
    const q = <T extends Element>(sel: string): T => required<T>(this, sel);
    this.out = q('.iov-output');
    this.notices = q('.iov-notices');
    this.runBtn = q('button[data-action="run"]');
    this.stopBtn = q('button[data-action="stop"]');
    const resetBtn = q<HTMLButtonElement>('button[data-action="reset"]');
    const runAllBtn = q<HTMLButtonElement>('button[data-action="run-all"]');
    const status = q<HTMLElement>('.iov-saved');

    const st = store();
    this.saver = new AutoSaver(st, 'cell', this.cellId, this.version, status);
    let initial = this.original;
    const saved = st.loadCode('cell', this.cellId);
    const damaged = st.recovered.find((n) => n.key === keys.code('cell', this.cellId));
    if (damaged && damaged.outcome !== 'frozen') {
      this.notice('error', `Your edited version of this cell was damaged in storage: ${damaged.outcome === 'backed-up' ? 'it could not be rebuilt, so the original is shown' : damaged.lost}. A copy of the damaged data is kept as a backup (see “Your progress”).`);
    }
    if (saved.state === 'ok' || saved.state === 'recovered') {
      initial = saved.value.code;
      status.dataset['state'] = 'saved';
      status.textContent = 'Your edited version';
      if (saved.value.version !== this.version) {
        this.saver.version = saved.value.version;
        const el = this.notice('warning', 'This cell has changed since you edited it. Your version is shown.', ['Keep mine', () => this.keepMine()], ['Use the new cell', () => this.reset()]);
        // "Show differences" keeps the notice open (the other two close it).
        let diff: { el: HTMLElement; dispose(): void } | undefined;
        const show = h('button', { type: 'button', class: 'iov-btn iov-btn-small' }, 'Show differences');
        show.addEventListener('click', () => {
          if (diff) {
            diff.dispose();
            diff.el.remove();
            diff = undefined;
            return;
          }
          void diffView({ yours: this.editor.value, theirs: this.original, yoursLabel: 'your version', theirsLabel: 'the new cell' }).then((d) => {
            diff = d;
            el.append(d.el);
          });
        });
        el.classList.add('iov-stale');
        el.querySelector('span')?.after(' ', show);
      }
    } else if (saved.state === 'corrupt') {
      if (!saved.backupKey) {
        this.saver.enabled = false;
        this.saver.show('paused', 'Saving paused');
      }
      this.notice('error', `Your edited version of this cell could not be read (damaged data)${saved.backupKey ? `; a copy was kept under “${saved.backupKey}”` : '; saving is paused to leave it untouched'}. The original is shown.`);
    } else {
      status.textContent = '';
    }

    this.editor = new CodeEditor({
      host: q('.iov-editor-host'),
      value: initial,
      uri: `file:///cell/${encodeURIComponent(this.cellId)}.ts`,
      extraLibs: [{ path: 'file:///iovlab/cells.d.ts', content: __IOVLAB_CELL_DTS__ }],
      ariaLabel: `Code of the cell “${this.dataset['title'] ?? this.cellId}”`,
      minHeight: 60,
      maxHeight: 480,
      onChange: (code) => this.saver.schedule(code),
      onLeave: () => this.runBtn.focus(),
      onTypeProblems: () => undefined,
      onUpgraded: () => this.classList.add('iov-has-monaco'),
    });
    this.runBtn.addEventListener('click', () => void this.run());
    this.stopBtn.addEventListener('click', () => this.job?.stop());
    resetBtn.addEventListener('click', () => this.reset());
    runAllBtn.addEventListener('click', () => void runAllCells());
    for (const b of [this.runBtn, resetBtn, runAllBtn]) b.disabled = false;
    this.stopBtn.hidden = true;
    this.dataset['ready'] = 'true';
  }

  private notice(kind: 'info' | 'warning' | 'error', text: string, ...actions: [string, () => void][]): HTMLElement {
    const el = h('div', { class: `iov-alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', {}, text));
    for (const [label, fn] of actions) el.append(' ', h('button', { type: 'button', class: 'iov-btn iov-btn-small', onclick: () => (fn(), el.remove()) }, label));
    this.notices.append(el);
    return el;
  }

  private keepMine(): void {
    this.saver.version = this.version;
    this.saver.schedule(this.editor.value);
  }

  reset(): void {
    const before = this.editor.value;
    if (before === this.original) return;
    store().saveBeforeReset('cell', this.cellId, before, this.saver.version);
    this.saver.version = this.version;
    this.editor.setValue(this.original);
    this.notice('info', 'Back to the original code.', ['Undo', () => this.editor.setValue(before)]);
  }

  /** Run the cell; resolves when the output is on the page. */
  run(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.doRun().finally(() => (this.running = undefined));
    return this.running;
  }

  private async doRun(): Promise<void> {
    const source = this.editor.value;
    this.saver.flush();
    this.runBtn.disabled = true;
    this.stopBtn.hidden = false;
    this.setAttribute('data-busy', '');
    destroyCharts(this.out);
    clear(this.out);
    this.out.append(h('p', { class: 'iov-progress' }, 'Running…'));
    const t0 = performance.now();
    this.job = startJob({ kind: 'cell', source }, CELL_TIME_LIMIT_MS);
    const r = await this.job.result;
    this.job = undefined;
    this.runBtn.disabled = false;
    this.stopBtn.hidden = true;
    this.removeAttribute('data-busy');
    clear(this.out);
    if (r.status === 'timeout') return void this.out.append(h('p', { class: 'iov-alert error', role: 'alert' }, timeoutMessage(r.limitMs)));
    if (r.status === 'stopped') return void this.out.append(h('p', { class: 'iov-alert info' }, 'Stopped. Your code is safe.'));
    if (r.status === 'crashed') return void this.out.append(h('p', { class: 'iov-alert error', role: 'alert' }, `The runner ${r.reason === 'out-of-memory' ? 'ran out of memory' : 'died'} while running this cell (${r.message}); it was replaced, and the cell's code is safe.`));
    if (!r.reply.ok || r.reply.kind !== 'cell') {
      return void this.out.append(h('p', { class: 'iov-alert error', role: 'alert' }, `The lab engine failed: ${r.reply.ok ? 'unexpected reply' : r.reply.error}. This is a bug in the course, not in your code.`));
    }
    this.render(r.reply.output);
    this.editor.setRunProblems(r.reply.output.diagnostics.filter((d) => d.line !== undefined && d.severity === 'error').map((d) => ({ line: d.line!, message: d.message })));
    this.dataset['lastRunMs'] = String(Math.round(performance.now() - t0));
  }

  private render(o: CellOutput): void {
    const diags = diagnosticsList(o.diagnostics, (line) => this.editor.revealLine(line));
    if (diags) this.out.append(diags);
    if (o.logs.length) this.out.append(h('pre', { class: 'iov-cell-logs', 'aria-label': 'Printed output' }, o.logs.join('\n')));
    o.tables.forEach((t) => {
      const cols = [...new Set(t.rows.flatMap((r) => Object.keys(r)))];
      this.out.append(h('div', { class: 'iov-scroll iov-cell-table' }, table(cols, t.rows.map((r) => cols.map((c) => r[c] ?? '')), t.title)));
    });
    if (o.plots.length) this.out.append(h('div', { class: 'iov-figs' }, o.plots.map((p, i) => plotFigure(p, i))));
    if (!diags && !o.logs.length && !o.tables.length && !o.plots.length) this.out.append(h('p', { class: 'iov-note' }, 'The cell ran and produced no output. Use print(), table() or plot() to show something.'));
  }
}

let runningAll = false;
/** Run every cell on the page, top to bottom, one at a time. */
export async function runAllCells(): Promise<void> {
  if (runningAll) return;
  runningAll = true;
  try {
    for (const c of document.querySelectorAll<IovCell>('iov-cell')) if (c instanceof IovCell) await c.run();
  } finally {
    runningAll = false;
  }
}
