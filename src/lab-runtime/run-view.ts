/**
 * Renders what one seed's run produced: diagnostics (with clickable learner lines), the
 * headline summary, the charts and the swimlane. Shared by Run, Check and Grade.
 */
import type { Diagnostic, RunResult, SeedOutcome } from '../../lab-engine/index.ts';
import { cpuFigure, exitsFigure, latencyFigure, throughputFigure } from './charts.ts';
import { h } from './dom.ts';
import { runSummary } from './summaries.ts';
import { swimlane } from './swimlane.ts';

export type JumpToLine = (line: number) => void;

const SEVERITY_LABEL: Record<Diagnostic['severity'], string> = { error: 'Error', warning: 'Warning', info: 'Note' };

/** A list of diagnostics; those with a learner line get a button that jumps there. */
export function diagnosticsList(diags: Diagnostic[], jump: JumpToLine): HTMLElement | null {
  const shown = diags.filter((d) => d.code !== 'log');
  if (shown.length === 0) return null;
  return h(
    'ul',
    { class: 'iov-diags', 'aria-label': 'Diagnostics' },
    shown.slice(0, 50).map((d) =>
      h(
        'li',
        { class: `iov-diag ${d.severity}` },
        h('span', { class: 'iov-diag-sev' }, SEVERITY_LABEL[d.severity]),
        ' ',
        d.line !== undefined ? h('button', { type: 'button', class: 'iov-line', onclick: () => jump(d.line!), 'aria-label': `Go to line ${d.line}` }, `line ${d.line}`) : null,
        d.line !== undefined ? ' ' : null,
        h('span', {}, d.message),
      ),
    ),
    shown.length > 50 ? h('li', {}, `… and ${shown.length - 50} more`) : null,
  );
}

export function logsBlock(diags: Diagnostic[]): HTMLElement | null {
  const logs = diags.filter((d) => d.code === 'log').map((d) => d.message);
  if (logs.length === 0) return null;
  return h('details', { class: 'iov-logs' }, h('summary', {}, `Your log output (${logs.length} line${logs.length === 1 ? '' : 's'})`), h('pre', {}, logs.slice(0, 500).join('\n')));
}

export function runCharts(r: RunResult): HTMLElement {
  const m = r.metrics;
  const packets = Number(m.params['frames'] ?? m.params['packets'] ?? 0) || m.counters.packetsTx + m.counters.packetsRx;
  return h(
    'div',
    { class: 'iov-run' },
    h('p', { class: 'iov-headline' }, runSummary(m), '.'),
    h('div', { class: 'iov-figs' }, exitsFigure(m), throughputFigure(m), cpuFigure(m), latencyFigure(m)),
    swimlane(r.trace, packets),
  );
}

/** Everything one outcome shows. */
export function outcomeView(o: SeedOutcome, jump: JumpToLine, limitMsg: (ms: number) => string, nameSeed = true): HTMLElement {
  if (o.kind === 'timeout') return h('div', { class: 'iov-alert error', role: 'alert' }, `${nameSeed ? `Seed ${o.seed}: ` : ''}${limitMsg(o.limitMs)}`);
  if (o.kind === 'compile-error') {
    return h('div', { class: 'iov-outcome' }, h('p', { class: 'iov-alert error' }, 'Your code did not start, so nothing ran:'), diagnosticsList(o.diagnostics, jump));
  }
  if (o.kind === 'crashed') {
    const why = o.reason === 'out-of-memory' ? 'ran out of memory' : 'died';
    return h('div', { class: 'iov-alert error', role: 'alert' }, `${nameSeed ? `Seed ${o.seed}: ` : ''}the runner ${why} while running your code (${o.message}); it was stopped and replaced. Your code is safe in the editor.`);
  }
  const r = o.result;
  return h('div', { class: 'iov-outcome' }, diagnosticsList(r.diagnostics, jump), logsBlock(r.diagnostics), runCharts(r));
}

/** Learner lines to mark in the editor. */
export function problemLines(o: SeedOutcome): { line: number; message: string }[] {
  const diags = o.kind === 'compile-error' ? o.diagnostics : o.kind === 'ran' ? o.result.diagnostics : [];
  return diags.filter((d) => d.line !== undefined && d.severity === 'error').map((d) => ({ line: d.line!, message: d.message }));
}
