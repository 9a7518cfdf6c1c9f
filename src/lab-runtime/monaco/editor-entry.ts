/**
 * editor.js: Monaco (editor core, a curated set of editing features, TypeScript language) as one
 * classic IIFE, loaded by lab.js with an injected <script> when a lab or cell scrolls into view
 * or gets focus. Its two workers start from Blob URLs through MonacoEnvironment.getWorker
 * (OFFLINE.md): the small editor worker is embedded here; the big TypeScript worker is its own
 * script (ts-worker.js, ~4 MB) loaded only after the first editor is on screen.
 */
import * as monaco from 'monaco-editor/editor/editor.api.js';
import 'monaco-editor/editor/browser/coreCommands.js';
import 'monaco-editor/features/suggest/register.js';
import 'monaco-editor/editor/contrib/suggest/browser/suggestController.js';
import 'monaco-editor/features/hover/register.js';
import 'monaco-editor/features/parameterHints/register.js';
import 'monaco-editor/features/bracketMatching/register.js';
import 'monaco-editor/features/comment/register.js';
import 'monaco-editor/features/gotoError/register.js';
import 'monaco-editor/features/clipboard/register.js';
import 'monaco-editor/features/wordOperations/register.js';
import 'monaco-editor/features/cursorUndo/register.js';
import 'monaco-editor/features/indentation/register.js';
import 'monaco-editor/features/snippet/register.js';
import 'monaco-editor/features/linesOperations/register.js';
import 'monaco-editor/features/wordHighlighter/register.js';
import 'monaco-editor/features/find/register.js';
import 'monaco-editor/languages/definitions/typescript/register.js';
import * as ts from 'monaco-editor/languages/features/typescript/register.js';
import type { CreateOptions, DiffOptions, EditorApi, EditorHandle, EditorProblem } from './api.ts';
import { isDarkTheme, onThemeChange } from '../theme.ts';

declare const __IOVLAB_EDITOR_WORKER_SRC__: string;

const t0 = performance.now();
const script = document.currentScript as HTMLScriptElement | null;
const base = script?.src ? script.src.slice(0, script.src.lastIndexOf('/') + 1) : '';

const blobUrls = new Map<string, string>();
function blobUrl(key: string, src: string): string {
  let u = blobUrls.get(key);
  if (!u) {
    u = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    blobUrls.set(key, u);
  }
  return u;
}

let tsSource: Promise<string> | undefined;
/** Load ts-worker.js (a classic script that sets window.IOVLAB_TS_WORKER_SRC), once. */
function loadTsWorkerSource(): Promise<string> {
  tsSource ??= new Promise<string>((resolve, reject) => {
    if (window.IOVLAB_TS_WORKER_SRC) return resolve(window.IOVLAB_TS_WORKER_SRC);
    const el = document.createElement('script');
    el.src = `${base}ts-worker.js`;
    el.async = true;
    el.onload = () => (window.IOVLAB_TS_WORKER_SRC ? resolve(window.IOVLAB_TS_WORKER_SRC) : reject(new Error('ts-worker.js did not define its source')));
    el.onerror = () => reject(new Error('ts-worker.js could not be loaded'));
    document.head.append(el);
  });
  return tsSource;
}

(self as unknown as { MonacoEnvironment: monaco.Environment }).MonacoEnvironment = {
  getWorker(_moduleId: string, label: string): Worker | Promise<Worker> {
    if (label === 'typescript' || label === 'javascript') {
      return loadTsWorkerSource().then((src) => new Worker(blobUrl('ts', src), { name: label }));
    }
    return new Worker(blobUrl('editor', __IOVLAB_EDITOR_WORKER_SRC__), { name: label });
  },
};

ts.typescriptDefaults.setCompilerOptions({
  target: 9 as ts.ScriptTarget /* ES2022 (the enum here stops at ES2020) */,
  lib: ['es2022'],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  strict: true,
  noEmit: true,
  allowNonTsExtensions: true,
  isolatedModules: true,
});
ts.typescriptDefaults.setDiagnosticsOptions({ noSemanticValidation: false, noSyntaxValidation: false });

const libs = new Set<string>();
function addLibs(list: CreateOptions['extraLibs']): void {
  for (const l of list) {
    if (libs.has(l.path)) continue;
    libs.add(l.path);
    ts.typescriptDefaults.addExtraLib(l.content, l.path);
  }
}

function applyTheme(): void {
  monaco.editor.setTheme(isDarkTheme() ? 'vs-dark' : 'vs');
}
applyTheme();
onThemeChange(applyTheme);

function toMarkers(problems: EditorProblem[], model: monaco.editor.ITextModel): monaco.editor.IMarkerData[] {
  return problems.map((p) => {
    const line = Math.min(Math.max(1, p.line), model.getLineCount());
    return {
      severity: monaco.MarkerSeverity.Error,
      message: p.message,
      startLineNumber: line,
      startColumn: p.column ?? model.getLineFirstNonWhitespaceColumn(line) ?? 1,
      endLineNumber: line,
      endColumn: model.getLineMaxColumn(line),
    };
  });
}

let tsKickedOff = false;

type DiagnosticText = string | { messageText: string; next?: DiagnosticText[] };
function flatten(m: DiagnosticText): string {
  return typeof m === 'string' ? m : m.messageText;
}

/** Errors (not warnings or suggestions) the TypeScript worker reports for one model. */
async function typeProblems(uri: monaco.Uri, model: monaco.editor.ITextModel): Promise<EditorProblem[]> {
  const get = await ts.getTypeScriptWorker();
  const worker = await get(uri);
  const file = uri.toString();
  const [syntax, semantic] = await Promise.all([worker.getSyntacticDiagnostics(file), worker.getSemanticDiagnostics(file)]);
  return [...syntax, ...semantic]
    .filter((d) => d.category === 1)
    .map((d) => {
      const pos = model.getPositionAt(d.start ?? 0);
      return { line: pos.lineNumber, column: pos.column, message: flatten(d.messageText as DiagnosticText) };
    })
    .sort((a, b) => a.line - b.line);
}

function create(host: HTMLElement, o: CreateOptions): EditorHandle {
  addLibs(o.extraLibs);
  const uri = monaco.Uri.parse(o.uri);
  monaco.editor.getModel(uri)?.dispose();
  const model = monaco.editor.createModel(o.value, 'typescript', uri);
  const editor = monaco.editor.create(host, {
    model,
    ariaLabel: o.ariaLabel,
    automaticLayout: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    fontSize: 14,
    lineHeight: 20,
    tabSize: 2,
    insertSpaces: true,
    fixedOverflowWidgets: true,
    renderLineHighlightOnlyWhenFocus: true,
    scrollbar: { alwaysConsumeMouseWheel: false },
    padding: { top: 6, bottom: 6 },
    lineNumbersMinChars: 3,
    overviewRulerLanes: 0,
    stickyScroll: { enabled: false },
    accessibilitySupport: 'auto',
  });
  // Grow with the content between the limits. Resize in the next frame, not inside Monaco's
  // ResizeObserver callback (automaticLayout), so the two never loop.
  let fitFrame = 0;
  const fit = (): void => {
    cancelAnimationFrame(fitFrame);
    fitFrame = requestAnimationFrame(() => {
      const h = Math.min(o.maxHeight, Math.max(o.minHeight, editor.getContentHeight()));
      if (host.style.height !== `${h}px`) host.style.height = `${h}px`;
    });
  };
  editor.onDidContentSizeChange(fit);
  fit();
  editor.onDidChangeModelContent(() => o.onChange(model.getValue()));
  // No keyboard trap (DESIGN.md §5): Esc (when no widget is open) and Ctrl+M leave the editor.
  editor.addAction({
    id: 'iovlab.leave.escape',
    label: 'Leave the editor',
    keybindings: [monaco.KeyCode.Escape],
    keybindingContext: 'editorTextFocus && !suggestWidgetVisible && !parameterHintsVisible && !findWidgetVisible && !inSnippetMode && !editorHasMultipleSelections && !markersNavigationVisible',
    run: () => o.onLeave(),
  });
  editor.addAction({
    id: 'iovlab.leave.ctrlm',
    label: 'Leave the editor (Ctrl+M)',
    // CtrlCmd is Ctrl on Windows/Linux; WinCtrl is the Control key on macOS. This replaces
    // Monaco's own Ctrl+M (toggle Tab focus mode) in our editors.
    keybindings: [monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyM, monaco.KeyMod.WinCtrl | monaco.KeyCode.KeyM],
    run: () => o.onLeave(),
  });
  // Type problems for the status line, asked of the TypeScript worker directly (marker events
  // do not fire when a file has no markers at all, so "no problems" would never be reported).
  let typeTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  const checkTypes = (delay: number, tries = 20): void => {
    clearTimeout(typeTimer);
    typeTimer = setTimeout(() => {
      const version = model.getVersionId();
      typeProblems(uri, model)
        .then((problems) => {
          if (!disposed && model.getVersionId() === version) o.onTypeProblems(problems);
        })
        .catch(() => {
          // The TypeScript language is still starting (or its worker is loading): try again.
          if (!disposed && tries > 0) checkTypes(500, tries - 1);
        });
    }, delay);
  };
  editor.onDidChangeModelContent(() => checkTypes(700));
  checkTypes(300);
  if (!tsKickedOff) {
    tsKickedOff = true;
    // The editor is visible: now fetch the TypeScript worker's source (OFFLINE.md).
    setTimeout(() => void loadTsWorkerSource().catch(() => undefined), 0);
  }
  return {
    getValue: () => model.getValue(),
    setValue: (value) => {
      editor.pushUndoStop();
      editor.executeEdits('iovlab', [{ range: model.getFullModelRange(), text: value }]);
      editor.pushUndoStop();
    },
    focus: () => editor.focus(),
    revealLine: (line) => {
      const l = Math.min(Math.max(1, line), model.getLineCount());
      editor.revealLineInCenter(l);
      editor.setPosition({ lineNumber: l, column: model.getLineFirstNonWhitespaceColumn(l) || 1 });
      editor.focus();
    },
    setRunProblems: (problems) => monaco.editor.setModelMarkers(model, 'iovlab', toMarkers(problems, model)),
    setReadOnly: (readOnly) => editor.updateOptions({ readOnly }),
    dispose: () => {
      disposed = true;
      clearTimeout(typeTimer);
      editor.dispose();
      model.dispose();
    },
  };
}

let diffCount = 0;
/** Read-only side-by-side diff of two texts (the stale-code notice's "Show differences"). */
function createDiff(host: HTMLElement, o: DiffOptions): { dispose(): void } {
  const n = ++diffCount;
  const original = monaco.editor.createModel(o.original, 'typescript', monaco.Uri.parse(`inmemory://iovlab-diff/${n}/yours.ts`));
  const modified = monaco.editor.createModel(o.modified, 'typescript', monaco.Uri.parse(`inmemory://iovlab-diff/${n}/new.ts`));
  host.style.height = `${o.height}px`;
  const diff = monaco.editor.createDiffEditor(host, {
    readOnly: true,
    originalEditable: false,
    automaticLayout: true,
    renderSideBySide: true,
    minimap: { enabled: false },
    scrollBeyondLastLine: false,
    fontSize: 13,
    lineHeight: 19,
    ariaLabel: o.ariaLabel,
    scrollbar: { alwaysConsumeMouseWheel: false },
  });
  diff.setModel({ original, modified });
  return {
    dispose: () => {
      diff.dispose();
      original.dispose();
      modified.dispose();
    },
  };
}

const api: EditorApi = { create, createDiff, loadMs: performance.now() - t0 };
window.IovlabMonaco = api;
window.dispatchEvent(new Event('iovlab-monaco-ready'));
