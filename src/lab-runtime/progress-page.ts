/**
 * progress.js: the "Your progress" page (src/pages/progress/index.astro). A classic IIFE built
 * by src/build/bundle.mjs (OFFLINE.md: no modules, no fetch from file://). Fills the labs table
 * from localStorage and runs Export, Import, backup downloads and "Erase all my data".
 */
import { clear, downloadText, h } from './dom.ts';
import { Store } from './storage.ts';
import { buildExport, describeImport, exportFileName, importExport, parseExport } from './transfer.ts';

const store = Store.fromWindow();

function when(at: number): string {
  if (!at) return '—';
  const d = new Date(at);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
}

function q<T extends Element>(sel: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`progress page: ${sel} missing`);
  return el;
}

function say(box: HTMLElement, kind: 'ok' | 'error' | 'info', lines: string[]): void {
  clear(box);
  box.dataset['state'] = kind;
  for (const l of lines) box.append(h('p', {}, l));
}

function fillLabs(): void {
  for (const row of document.querySelectorAll<HTMLTableRowElement>('tr[data-lab]')) {
    const id = row.dataset['lab']!;
    const max = Number(row.dataset['max']);
    const cell = (name: string): HTMLElement => q(`[data-cell="${name}"]`, row);
    const best = store.loadBest(id);
    const hist = store.loadHistory(id);
    const code = store.loadCode('lab', id);
    const b = best.state === 'ok' || best.state === 'recovered' ? best.value : undefined;
    clear(cell('best'));
    cell('best').append(b ? `${b.score}/${b.maxScore}` : best.state === 'corrupt' ? 'damaged (backup kept)' : `not graded (max ${max})`);
    const done = b !== undefined && b.score >= b.maxScore;
    cell('done').textContent = done ? 'completed' : b ? 'not yet' : '—';
    row.dataset['done'] = String(done);
    cell('runs').textContent = hist ? `${hist.runs} · ${hist.checks} · ${hist.grades}` : '0 · 0 · 0';
    const last = cell('last');
    clear(last);
    if (hist && hist.lastAt) {
      const what = { run: 'Run', check: 'Check', grade: 'Grade' }[hist.lastMode ?? 'run'];
      last.append(`${what}, ${when(hist.lastAt)}`);
      if (hist.lastScore !== null && hist.lastMode !== 'run') last.append(`: ${hist.lastScore}/${hist.lastMaxScore}`);
    } else last.append('—');
    const stale = row.querySelector<HTMLElement>('[data-stale]');
    if (stale) stale.hidden = !((code.state === 'ok' || code.state === 'recovered') && code.value.version !== row.dataset['version']);
  }
}

function fillData(): void {
  const all = store.listKeys();
  const bytes = all.reduce((n, k) => n + k.length + (store.read(k) ?? '').length, 0);
  q('[data-data-summary]').textContent = all.length === 0 ? 'This browser holds no IOV Lab data.' : `This browser holds ${all.length} item${all.length === 1 ? '' : 's'} of IOV Lab data (about ${Math.max(1, Math.round((bytes * 2) / 1024))} KB).`;
  q<HTMLButtonElement>('[data-action="export"]').disabled = all.length === 0;
  q<HTMLButtonElement>('[data-action="erase"]').disabled = all.length === 0;
  const list = q<HTMLUListElement>('[data-backups]');
  clear(list);
  const backups = store.listBackups();
  if (backups.length === 0) list.append(h('li', { class: 'backup-none' }, 'No backups: nothing was ever found damaged, and nothing was imported.'));
  for (const b of backups) {
    const raw = store.read(b.key) ?? '';
    const name = `iov-lab-backup-${b.key.slice('iovlab:v1:backup:'.length).replace(/[^A-Za-z0-9@._-]+/g, '_')}.${raw.trimStart().startsWith('{') ? 'json' : 'txt'}`;
    list.append(
      h(
        'li',
        { 'data-backup': b.key },
        h('span', { class: 'backup-what' }, b.what),
        ' ',
        h('span', { class: 'backup-when' }, `${when(b.at)}, ${b.bytes.toLocaleString()} characters`),
        ' ',
        h('button', { type: 'button', class: 'button button-quiet button-small', 'data-action': 'download-backup', onclick: () => downloadText(name, raw, raw.trimStart().startsWith('{') ? 'application/json' : 'text/plain') }, 'Download'),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'button button-quiet button-small',
            'data-action': 'delete-backup',
            onclick: () => {
              // Backups take room in the browser's storage; deleting one is the learner's call.
              if (!window.confirm(`Delete this backup (${b.what})? Download it first if you may need it.`)) return;
              store.remove(b.key);
              fillData();
            },
          },
          'Delete',
        ),
      ),
    );
  }
}

/** The name and id inputs, unless the learner is typing in them. */
function fillIdentity(): void {
  const me = store.loadIdentity();
  for (const [sel, v] of [['#identity-name', me?.name ?? ''], ['#identity-id', me?.id ?? '']] as const) {
    const input = document.querySelector<HTMLInputElement>(sel);
    if (input && document.activeElement !== input) input.value = v;
  }
}

function refresh(): void {
  fillLabs();
  fillData();
  fillIdentity();
  window.dispatchEvent(new Event('iovlab:progress'));
}

function exportNow(): string {
  const at = new Date();
  const file = exportFileName(at);
  const data = buildExport(store, at);
  downloadText(file, JSON.stringify(data, null, 2));
  return `Exported ${data.entries.length} item${data.entries.length === 1 ? '' : 's'} to ${file}.`;
}

function setup(): void {
  const status = q<HTMLElement>('[data-progress-status]');
  const message = q<HTMLElement>('[data-message]');
  const tools = q<HTMLElement>('[data-progress-tools-v2]');
  if (!store.available) {
    status.textContent = 'This browser does not let the course use its storage (private mode?): nothing is saved, so there is nothing to show.';
    return;
  }
  const report = store.startup();
  const lines: string[] = [];
  if (!report.migration.ok) lines.push(`Your saved data could not be upgraded: ${report.migration.error}.`);
  else if (report.migration.from < report.migration.to) lines.push(`Your saved data was upgraded from an older version of the course (${report.migration.steps.length} change${report.migration.steps.length === 1 ? '' : 's'}).`);
  for (const n of report.recovered) {
    const fate = n.outcome === 'repaired' ? 'repaired' : n.outcome === 'partly-repaired' ? `partly repaired (${n.lost})` : n.outcome === 'frozen' ? 'left untouched (no room for a backup: free some storage)' : 'could not be rebuilt';
    lines.push(`Damaged data found: ${n.what} — ${fate}.${n.backupKey ? ' The damaged copy is in the backups below.' : ''}`);
  }
  clear(status);
  status.dataset['state'] = report.recovered.length || !report.migration.ok ? 'warning' : 'ok';
  for (const l of lines) status.append(h('p', {}, l));
  tools.hidden = false;

  q('[data-action="export"]').addEventListener('click', () => say(message, 'ok', [exportNow()]));

  const input = q<HTMLInputElement>('[data-action="import"]');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => {
      input.value = '';
      const text = String(reader.result ?? '');
      const parsed = parseExport(text, file.size);
      if (!parsed.ok) return say(message, 'error', [`Nothing was imported from “${file.name}”: ${parsed.error}.`]);
      const r = importExport(store, parsed);
      say(message, r.ok ? 'ok' : 'error', describeImport(r, file.name));
      refresh();
    };
    reader.onerror = () => say(message, 'error', [`“${file.name}” could not be read; nothing was changed.`]);
    reader.readAsText(file);
  });

  const idForm = q<HTMLFormElement>('[data-identity]');
  const idName = q<HTMLInputElement>('#identity-name');
  const idId = q<HTMLInputElement>('#identity-id');
  const idMsg = q<HTMLElement>('[data-identity-msg]');
  idForm.addEventListener('submit', (e) => {
    e.preventDefault();
    idMsg.textContent = store.saveIdentity(idName.value, idId.value) ? 'Saved.' : 'Not saved: the browser refused (storage full?).';
    fillData();
  });

  const dialog = q<HTMLDialogElement>('[data-erase-dialog]');
  let erased: Map<string, string> | undefined;
  const erase = (exported?: string): void => {
    const snapshot = new Map<string, string>();
    for (const k of store.listKeys()) snapshot.set(k, store.read(k) ?? '');
    const r = store.eraseAll();
    erased = snapshot;
    dialog.close();
    const undo = h('button', { type: 'button', class: 'button button-small', 'data-action': 'undo-erase' }, 'Undo erase');
    undo.addEventListener('click', () => {
      let n = 0;
      for (const [k, v] of erased ?? []) if (store.write(k, v)) n++;
      erased = undefined;
      say(message, 'ok', [`Restored ${n} item${n === 1 ? '' : 's'}.`]);
      refresh();
    });
    say(message, r.failed ? 'error' : 'ok', [...(exported ? [exported] : []), `Erased ${r.removed} item${r.removed === 1 ? '' : 's'}${r.failed ? `; ${r.failed} could not be removed` : ''}. Undo is possible until you leave this page.`]);
    message.append(undo);
    refresh();
  };
  q('[data-action="erase"]').addEventListener('click', () => {
    const n = store.listKeys().length;
    q('[data-erase-what]').textContent = `This removes all ${n} item${n === 1 ? '' : 's'} the course keeps in this browser: your code for every lab and cell, best scores and submissions, run counts, your name and student id, backups and the theme.`;
    dialog.showModal();
  });
  q('[data-action="export-then-erase"]').addEventListener('click', () => erase(exportNow()));
  q('[data-action="erase-confirm"]').addEventListener('click', () => erase());
  window.addEventListener('storage', refresh);
  refresh();
  document.documentElement.dataset['progressReady'] = 'true';
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setup);
else setup();
