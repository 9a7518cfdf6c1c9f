/** Monaco's editor worker (links, word completions, diff), built as an IIFE string for a Blob URL. */
import 'monaco-editor/editor/editor.worker.js';
