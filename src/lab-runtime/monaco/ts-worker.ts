/** Monaco's TypeScript worker, built as an IIFE; ts-worker.js carries it as a string for a Blob URL. */
import 'monaco-editor/languages/features/typescript/ts.worker.js';
