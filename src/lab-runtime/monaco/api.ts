/**
 * The contract between the lab bundle (lab.js) and the lazily loaded editor bundle (editor.js):
 * editor.js sets `window.IovlabMonaco` to an EditorApi when it has loaded.
 */
export interface EditorProblem {
  line: number;
  column?: number;
  message: string;
}

export interface CreateOptions {
  value: string;
  /** Model URI, unique per editor, e.g. 'file:///lab/emulated-nic.ts'. */
  uri: string;
  /** Declarations for completion and type checking (added once per path). */
  extraLibs: { path: string; content: string }[];
  ariaLabel: string;
  /** Height limits in pixels; the editor grows with its content in between. */
  minHeight: number;
  maxHeight: number;
  onChange(value: string): void;
  /** Esc or Ctrl+M: leave the editor (no keyboard trap). */
  onLeave(): void;
  /** Type problems reported by the TypeScript worker (they never block a run). */
  onTypeProblems(problems: EditorProblem[]): void;
}

export interface EditorHandle {
  getValue(): string;
  /** Replace the text as one undoable edit. */
  setValue(value: string): void;
  focus(): void;
  revealLine(line: number): void;
  /** Markers for errors found by running the code (syntax errors, exceptions). */
  setRunProblems(problems: EditorProblem[]): void;
  setReadOnly(readOnly: boolean): void;
  dispose(): void;
}

export interface DiffOptions {
  /** Left side (e.g. the learner's saved code). */
  original: string;
  /** Right side (e.g. the lab's new starter). */
  modified: string;
  ariaLabel: string;
  height: number;
}

export interface EditorApi {
  create(host: HTMLElement, options: CreateOptions): EditorHandle;
  /** A read-only side-by-side diff (monaco.editor.createDiffEditor). */
  createDiff(host: HTMLElement, options: DiffOptions): { dispose(): void };
  /** Milliseconds from script start to ready, for the bench. */
  readonly loadMs: number;
}

declare global {
  interface Window {
    IovlabMonaco?: EditorApi;
    IOVLAB_TS_WORKER_SRC?: string;
  }
}
