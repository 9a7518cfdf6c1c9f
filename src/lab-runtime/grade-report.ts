/**
 * The grade report: each check with its number, name, points, status and message, the total,
 * and the CLI's exact text (formatGradeText, computed in the Worker) to copy.
 */
import type { GradeResult } from '../../lab-engine/index.ts';
import { h } from './dom.ts';

export function gradeReport(result: GradeResult, text: string): HTMLElement {
  const passed = result.tests.filter((t) => t.status === 'passed').length;
  // One row per check; a failed check's message gets its own full-width row below it, which
  // reads well on a phone too.
  const rows = result.tests.flatMap((t) => [
    h(
      'tr',
      { class: t.status === 'passed' ? 'pass' : 'fail' },
      h('td', { class: 'num' }, t.number),
      h('td', {}, t.name),
      h('td', { class: 'num' }, `${t.score}/${t.max_score}`),
      h('td', {}, h('span', { class: `iov-badge ${t.status}` }, t.status === 'passed' ? 'passed' : 'failed')),
    ),
    t.output ? h('tr', { class: 'iov-msg-row' }, h('td', {}), h('td', { class: 'iov-msg', colspan: 3 }, h('pre', {}, t.output))) : null,
  ]);
  const copyBtn = h('button', { type: 'button', class: 'iov-btn iov-btn-small' }, 'Copy as text');
  const textArea = h('textarea', { class: 'iov-report-text', readonly: true, rows: Math.min(30, text.split('\n').length + 1), 'aria-label': 'Grade report as text' });
  textArea.value = text;
  copyBtn.addEventListener('click', () => {
    const done = (): void => {
      copyBtn.textContent = 'Copied';
      setTimeout(() => (copyBtn.textContent = 'Copy as text'), 1500);
    };
    if (navigator.clipboard?.writeText) navigator.clipboard.writeText(text).then(done, () => selectAndCopy(textArea, done));
    else selectAndCopy(textArea, done);
  });
  return h(
    'section',
    { class: 'iov-report', 'aria-label': 'Grade report' },
    h('p', { class: 'iov-score' }, h('strong', {}, `Score: ${result.score}/${result.max_score}`), ` — ${passed} of ${result.tests.length} checks passed`),
    h(
      'div',
      { class: 'iov-scroll' },
      h('table', { class: 'iov-data iov-checks' }, h('thead', {}, h('tr', {}, ['#', 'Check', 'Points', 'Status'].map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows.filter((r): r is HTMLTableRowElement => r !== null))),
    ),
    h('details', { class: 'iov-table' }, h('summary', {}, 'The report as text (what the CLI prints)'), h('div', { class: 'iov-report-tools' }, copyBtn), textArea),
  );
}

function selectAndCopy(ta: HTMLTextAreaElement, done: () => void): void {
  const d = ta.closest('details');
  if (d) d.open = true;
  ta.select();
  try {
    if (document.execCommand('copy')) done();
  } catch {
    /* the text is selected; the learner can copy it */
  }
}
