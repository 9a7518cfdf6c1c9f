/**
 * "Show differences" between the learner's saved code and a lab's new starter: Monaco's
 * side-by-side diff editor when the editor bundle can load, otherwise (plain editor, touch
 * screens, editor.js missing) a plain-text unified diff from line-diff.ts.
 */
import { h } from './dom.ts';
import { loadMonaco, plainRequested, touchOnly } from './editor.ts';
import { diffStats, lineDiff } from './line-diff.ts';

export interface DiffViewOptions {
  yours: string;
  theirs: string;
  yoursLabel: string;
  theirsLabel: string;
}

/** A plain-text diff: one line per row, `-` yours, `+` new, with line numbers. */
export function plainDiff(o: DiffViewOptions): HTMLElement {
  const d = lineDiff(o.yours, o.theirs);
  const { added, removed } = diffStats(d);
  const pre = h('pre', { class: 'iov-diff-plain', tabindex: 0, 'aria-label': `Differences: lines starting with minus are only in ${o.yoursLabel}, plus only in ${o.theirsLabel}` });
  for (const l of d) {
    const sign = l.op === 'add' ? '+' : l.op === 'del' ? '-' : ' ';
    const num = String(l.op === 'add' ? l.b : l.a).padStart(4);
    pre.append(h('span', { class: `iov-diff-${l.op}` }, `${sign}${num}  ${l.text}\n`));
  }
  return h(
    'div',
    { class: 'iov-diff' },
    h('p', { class: 'iov-diff-stats' }, removed + added === 0 ? 'No differences: the texts are the same.' : `${removed} line${removed === 1 ? '' : 's'} only in ${o.yoursLabel} (−), ${added} only in ${o.theirsLabel} (+).`),
    pre,
  );
}

/** The diff panel; resolves once it is on screen. `dispose` frees Monaco's models. */
export async function diffView(o: DiffViewOptions): Promise<{ el: HTMLElement; dispose(): void }> {
  const head = h('p', { class: 'iov-diff-head' }, h('span', {}, `Left: ${o.yoursLabel}`), h('span', {}, `Right: ${o.theirsLabel}`));
  if (!plainRequested() && !touchOnly()) {
    try {
      const api = await loadMonaco();
      const host = h('div', { class: 'iov-diff-monaco' });
      const el = h('div', { class: 'iov-diff', 'data-diff': 'monaco' }, head, host);
      const lines = Math.max(o.yours.split('\n').length, o.theirs.split('\n').length);
      const made = { el, dispose: () => undefined as void };
      // Monaco measures its host: create it once the host is in the document.
      setTimeout(() => {
        const handle = api.createDiff(host, { original: o.yours, modified: o.theirs, ariaLabel: `Differences between ${o.yoursLabel} and ${o.theirsLabel}`, height: Math.min(520, Math.max(200, lines * 19 + 12)) });
        made.dispose = () => handle.dispose();
      }, 0);
      return { el, dispose: () => made.dispose() };
    } catch {
      /* fall back to the plain diff */
    }
  }
  const el = plainDiff(o);
  el.dataset['diff'] = 'plain';
  el.prepend(head);
  return { el, dispose: () => undefined };
}
