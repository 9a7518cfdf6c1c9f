/**
 * The code editor of a lab or cell: a plain <textarea> first (works at once, on touch screens
 * and without the editor bundle), upgraded in place to Monaco when the editor scrolls into view
 * or gets focus (editor.js is injected as a classic <script>, never import(); OFFLINE.md).
 * Monaco has no touch support, so touch-only devices keep the textarea.
 */
import type { CreateOptions, EditorApi, EditorHandle, EditorProblem } from './monaco/api.ts';

export type { EditorProblem };

/** Directory of lab.js (editor.js, editor.css and ts-worker.js sit next to it). */
let bundleBase = '';
export function setBundleBase(url: string): void {
  bundleBase = url.slice(0, url.lastIndexOf('/') + 1);
}

let loading: Promise<EditorApi> | undefined;

/** Inject editor.css and editor.js once; resolves when window.IovlabMonaco is set. */
export function loadMonaco(): Promise<EditorApi> {
  loading ??= new Promise<EditorApi>((resolve, reject) => {
    if (window.IovlabMonaco) return resolve(window.IovlabMonaco);
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = `${bundleBase}editor.css`;
    document.head.append(css);
    const js = document.createElement('script');
    js.src = `${bundleBase}editor.js`;
    js.async = true;
    js.onload = () => (window.IovlabMonaco ? resolve(window.IovlabMonaco) : reject(new Error('editor.js did not start')));
    js.onerror = () => reject(new Error('editor.js could not be loaded'));
    document.head.append(js);
  });
  return loading;
}

/** Touch-only devices (no mouse or trackpad): Monaco does not support them. */
export function touchOnly(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches && !matchMedia('(any-pointer: fine)').matches;
}

/** `?editor=plain` keeps the textarea (for learners who prefer it, and for tests). */
export function plainRequested(): boolean {
  return new URLSearchParams(location.search).get('editor') === 'plain';
}

export interface CodeEditorOptions extends CreateOptions {
  host: HTMLElement;
  /** Called once Monaco has replaced the textarea. */
  onUpgraded?(): void;
}

let observer: IntersectionObserver | undefined;
const pending = new Map<Element, () => void>();

export class CodeEditor {
  readonly opts: CodeEditorOptions;
  readonly textarea: HTMLTextAreaElement;
  private monaco: EditorHandle | undefined;
  private readOnly = false;

  constructor(opts: CodeEditorOptions) {
    this.opts = opts;
    const existing = opts.host.querySelector('textarea');
    this.textarea = existing ?? document.createElement('textarea');
    if (!existing) opts.host.append(this.textarea);
    this.textarea.value = opts.value;
    this.textarea.readOnly = false;
    this.textarea.spellcheck = false;
    this.textarea.setAttribute('autocapitalize', 'off');
    this.textarea.setAttribute('autocomplete', 'off');
    this.textarea.setAttribute('aria-label', opts.ariaLabel);
    this.textarea.classList.add('iov-textarea');
    this.fitTextarea();
    this.textarea.addEventListener('input', () => {
      this.fitTextarea();
      opts.onChange(this.textarea.value);
    });
    this.textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' || (e.ctrlKey && !e.altKey && !e.metaKey && (e.key === 'm' || e.key === 'M'))) {
        e.preventDefault();
        opts.onLeave();
      }
    });
    if (!touchOnly() && !plainRequested()) this.watchForUpgrade();
  }

  get isMonaco(): boolean {
    return this.monaco !== undefined;
  }

  private fitTextarea(): void {
    const lines = this.textarea.value.split('\n').length;
    // On a phone a long program would push Run's output far down: scroll inside instead.
    const cap = typeof innerWidth === 'number' && innerWidth < 600 ? 16 : 40;
    this.textarea.rows = Math.min(Math.max(lines + 1, 4), cap);
  }

  private watchForUpgrade(): void {
    let started = false;
    const go = (): void => {
      if (started) return;
      started = true;
      pending.delete(this.opts.host);
      observer?.unobserve(this.opts.host);
      void loadMonaco()
        .then((api) => this.upgrade(api))
        .catch(() => undefined); // the textarea keeps working
    };
    this.textarea.addEventListener('focus', go, { once: true });
    if (typeof IntersectionObserver === 'function') {
      observer ??= new IntersectionObserver(
        (entries) => {
          for (const e of entries) {
            if (!e.isIntersecting) continue;
            pending.get(e.target)?.();
          }
        },
        { rootMargin: '300px 0px' },
      );
      pending.set(this.opts.host, go);
      observer.observe(this.opts.host);
    }
  }

  /** Replace the textarea with Monaco, keeping the text, the caret line and the focus. */
  upgrade(api: EditorApi): void {
    if (this.monaco) return;
    const ta = this.textarea;
    const hadFocus = document.activeElement === ta;
    const caretLine = ta.value.slice(0, ta.selectionStart).split('\n').length;
    const box = document.createElement('div');
    box.className = 'iov-monaco';
    box.style.height = `${Math.max(this.opts.minHeight, ta.offsetHeight)}px`;
    ta.after(box);
    const handle = api.create(box, {
      value: ta.value,
      uri: this.opts.uri,
      extraLibs: this.opts.extraLibs,
      ariaLabel: this.opts.ariaLabel,
      minHeight: this.opts.minHeight,
      maxHeight: this.opts.maxHeight,
      onChange: (v) => {
        ta.value = v;
        this.opts.onChange(v);
      },
      onLeave: () => this.opts.onLeave(),
      onTypeProblems: (p) => this.opts.onTypeProblems(p),
    });
    this.monaco = handle;
    ta.hidden = true;
    ta.tabIndex = -1;
    if (this.readOnly) handle.setReadOnly(true);
    if (hadFocus) {
      handle.focus();
      if (caretLine > 1) handle.revealLine(caretLine);
    }
    this.opts.onUpgraded?.();
  }

  get value(): string {
    return this.monaco ? this.monaco.getValue() : this.textarea.value;
  }

  /** Replace the whole text (Reset/Undo). Fires onChange. */
  setValue(v: string): void {
    if (this.monaco) this.monaco.setValue(v);
    else {
      this.textarea.value = v;
      this.fitTextarea();
      this.opts.onChange(v);
    }
  }

  focus(): void {
    if (this.monaco) this.monaco.focus();
    else this.textarea.focus();
  }

  revealLine(line: number): void {
    if (this.monaco) return this.monaco.revealLine(line);
    const ta = this.textarea;
    const lines = ta.value.split('\n');
    const l = Math.min(Math.max(1, line), lines.length);
    const start = lines.slice(0, l - 1).reduce((a, s) => a + s.length + 1, 0);
    ta.focus();
    ta.setSelectionRange(start, start + (lines[l - 1]?.length ?? 0));
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (l - 3) * lh);
  }

  setRunProblems(problems: EditorProblem[]): void {
    this.monaco?.setRunProblems(problems);
  }

  setReadOnly(readOnly: boolean): void {
    this.readOnly = readOnly;
    this.textarea.readOnly = readOnly;
    this.monaco?.setReadOnly(readOnly);
  }
}
