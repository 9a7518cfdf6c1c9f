/**
 * "Download submission": the file a learner hands in for a lab (lab-engine/grader/submission.ts,
 * schema iovlab.submission/2). It is built from the best Grade kept in this browser — its code,
 * its seeds (the CLI replays exactly those) and the results the page showed — plus the name and
 * student id the learner types here (remembered for every lab in `iovlab:v1:identity`).
 */
import { buildSubmission, type Submission } from '../../lab-engine/grader/submission.ts';
import { downloadText, h } from './dom.ts';
import type { Store } from './storage.ts';

export function submissionFileName(s: Submission): string {
  const who = (s.student.id || s.student.name || 'student').replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  return `${s.lab}-${who}-submission.json`;
}

/** The stored best-Grade submission with this learner's name and id (content hash recomputed). */
export function withStudent(stored: Submission, name: string, id: string): Submission {
  return buildSubmission({ lab: stored.lab, labVersion: stored.labVersion, student: { name, id }, code: stored.code, mode: stored.mode, seeds: stored.seeds, results: stored.results, createdAt: stored.createdAt });
}

/**
 * The panel (a disclosure under the best score): name and id inputs, what the file is, Download.
 * `submission()` is read when the button is pressed, so it is always the current best.
 */
export function submissionPanel(store: Store, labId: string, submission: () => Submission | undefined): HTMLElement {
  const me = store.loadIdentity();
  const nameId = `iov-sub-name-${labId}`;
  const idId = `iov-sub-id-${labId}`;
  const name = h('input', { id: nameId, class: 'iov-input', type: 'text', autocomplete: 'name', value: me?.name ?? '', required: true, maxlength: 120 });
  const sid = h('input', { id: idId, class: 'iov-input', type: 'text', autocomplete: 'off', value: me?.id ?? '', required: true, maxlength: 60, spellcheck: 'false' });
  const msg = h('p', { class: 'iov-sub-msg', role: 'status', 'aria-live': 'polite' });
  const remember = (): void => void store.saveIdentity(name.value, sid.value);
  name.addEventListener('change', remember);
  sid.addEventListener('change', remember);
  const button = h('button', { type: 'submit', class: 'iov-btn iov-primary' }, 'Download submission');
  const form = h(
    'form',
    { class: 'iov-sub-form', novalidate: true },
    h('p', { class: 'iov-sub-what' }, 'The file holds your code from your best Grade, the seeds it ran on and the results shown here, with your name and student id. It is a record of what you hand in: your instructor’s grader runs your code again on the same seeds and computes the score itself, so editing the file changes nothing except getting it flagged.'),
    h('div', { class: 'iov-sub-fields' }, h('label', { for: nameId }, 'Your name'), name, h('label', { for: idId }, 'Student id'), sid),
    h('p', { class: 'iov-sub-note' }, 'Name and id are kept in this browser for every lab of the course.'),
    h('div', { class: 'iov-sub-actions' }, button),
    msg,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const n = name.value.trim();
    const i = sid.value.trim();
    if (!n || !i) {
      msg.dataset['state'] = 'error';
      msg.textContent = !n && !i ? 'Type your name and your student id first.' : !n ? 'Type your name first.' : 'Type your student id first.';
      (!n ? name : sid).focus();
      return;
    }
    const stored = submission();
    if (!stored) {
      msg.dataset['state'] = 'error';
      msg.textContent = 'There is no graded submission for this lab in this browser yet: press Grade first.';
      return;
    }
    remember();
    const file = withStudent(stored, n, i);
    downloadText(submissionFileName(file), JSON.stringify(file, null, 2));
    msg.dataset['state'] = 'ok';
    const seeds = file.seeds.length;
    msg.textContent = `Saved ${submissionFileName(file)}: score ${file.results?.score ?? '?'}/${file.results?.max_score ?? '?'} on ${seeds} seed${seeds === 1 ? '' : 's'}, for ${n} (${i}). Hand this file in.`;
  });
  return h('details', { class: 'iov-sub' }, h('summary', { class: 'iov-btn iov-btn-small' }, 'Download submission…'), form);
}
