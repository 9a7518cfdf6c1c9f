// Replaces monaco-editor/esm/vs/internal/common/workers.js in editor.js (src/build/bundle.mjs).
// The original does the same thing (MonacoEnvironment.getWorker first) but also imports every
// editor contribution, ~0.7 MB the course does not use. Keep in step with Monaco's version:
// the bundle script checks that the original still exports exactly `createWebWorker`.
import { editor } from 'monaco-editor/editor/editor.api.js';

export function createWebWorker(opts) {
  const env = globalThis.MonacoEnvironment;
  if (!env || typeof env.getWorker !== 'function') throw new Error('MonacoEnvironment.getWorker is not set');
  const worker = Promise.resolve(env.getWorker('workerMain.js', opts.label ?? 'monaco-editor-worker')).then((w) => {
    w.postMessage('ignore');
    w.postMessage(opts.createData);
    return w;
  });
  return editor.createWebWorker({ worker, host: opts.host, keepIdleModels: opts.keepIdleModels });
}
