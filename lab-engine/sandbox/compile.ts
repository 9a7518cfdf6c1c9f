/**
 * Learner TypeScript → a module instance, the same way in the browser Worker and in the Node CLI
 * (DESIGN.md §4, OFFLINE.md "Transpiling learner TypeScript"): sucrase strips types and turns
 * imports into `require` calls while keeping line numbers; the code runs through `new Function`
 * with a `//# sourceURL=learner.js` comment so runtime errors can be mapped back to the learner's
 * line. The `require` shim resolves only the modules the lab offers; anything else is an error.
 * Type errors are not checked here (Monaco shows them; they never block a run).
 */
import { transform } from 'sucrase';
import type { Diagnostic } from '../sim/types.ts';

export const LEARNER_FILE = 'learner.js';

export type CompileResult =
  | { ok: true; instantiate: () => { ok: true; exports: Record<string, unknown> } | { ok: false; diagnostics: Diagnostic[] } }
  | { ok: false; diagnostics: Diagnostic[] };

/** Lines `new Function` adds before the body (measured once, so any engine's wrapper works). */
let headerLines: number | undefined;
function functionHeaderLines(): number {
  if (headerLines === undefined) {
    try {
      new Function(`throw new Error('probe')\n//# sourceURL=${LEARNER_FILE}`)();
    } catch (e) {
      headerLines = (lineFromError(e, 0) ?? 3) - 1;
    }
  }
  return headerLines!;
}

/** The learner's source line of an error thrown by learner code, if the stack shows one. */
export function learnerLine(e: unknown): number | undefined {
  return lineFromError(e, functionHeaderLines());
}

function lineFromError(e: unknown, offset: number): number | undefined {
  const stack = typeof e === 'object' && e !== null && 'stack' in e ? String((e as { stack: unknown }).stack) : '';
  const m = new RegExp(`${LEARNER_FILE.replace('.', '\\.')}:(\\d+):(\\d+)`).exec(stack);
  if (!m) return undefined;
  const line = Number(m[1]) - offset;
  return line >= 1 ? line : undefined;
}

/** "TypeError: x is undefined" from anything thrown. */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  try {
    return `a non-Error value: ${JSON.stringify(e)}`;
  } catch {
    return 'a non-Error value';
  }
}

export function compileModule(source: string, modules: Record<string, unknown>): CompileResult {
  if (typeof source !== 'string') {
    return { ok: false, diagnostics: [{ severity: 'error', code: 'bad-source', message: 'The code to run is not text.' }] };
  }
  let code: string;
  try {
    code = transform(source, { transforms: ['typescript', 'imports'], production: true, filePath: 'learner.ts' }).code;
  } catch (e) {
    const loc = (e as { loc?: { line: number; column: number } }).loc;
    const msg = (e as Error).message.replace(/^Error transforming [^:]*: /, '').replace(/\s*\(\d+:\d+\)\s*$/, '');
    return {
      ok: false,
      diagnostics: [{ severity: 'error', code: 'syntax-error', message: `Syntax error: ${msg}${loc ? ` (line ${loc.line}, column ${loc.column + 1})` : ''}.`, ...(loc ? { line: loc.line } : {}) }],
    };
  }
  let factory: (require: (id: string) => unknown, module: { exports: Record<string, unknown> }, exports: Record<string, unknown>) => void;
  try {
    factory = new Function('require', 'module', 'exports', `${code}\n//# sourceURL=${LEARNER_FILE}`) as typeof factory;
  } catch (e) {
    return { ok: false, diagnostics: [{ severity: 'error', code: 'syntax-error', message: `Syntax error: ${(e as Error).message}.` }] };
  }
  const known = Object.keys(modules);
  return {
    ok: true,
    instantiate: () => {
      const module = { exports: {} as Record<string, unknown> };
      const require = (id: string): unknown => {
        if (Object.prototype.hasOwnProperty.call(modules, id)) return modules[id];
        throw new Error(`Cannot import '${id}': only ${known.map((k) => `'${k}'`).join(' and ')} can be imported here`);
      };
      try {
        factory(require, module, module.exports);
      } catch (e) {
        const line = learnerLine(e);
        return {
          ok: false,
          diagnostics: [{ severity: 'error', code: 'module-threw', message: `Your module threw while loading: ${describeThrown(e)}${line ? ` (line ${line})` : ''}.`, ...(line ? { line } : {}) }],
        };
      }
      return { ok: true, exports: module.exports };
    },
  };
}

/**
 * The diagnostic for learner code that threw while the engine called it: which function, what
 * it threw, the learner's line, and what it was handling when (the words the labs share).
 */
export function learnerThrew(fn: string, e: unknown, handling: string): { severity: 'error'; code: 'learner-threw'; message: string; line?: number } {
  const line = learnerLine(e);
  return {
    severity: 'error',
    code: 'learner-threw',
    message: `Your ${fn}() threw ${describeThrown(e)}${line ? ` at line ${line}` : ''}, ${handling}. The run stopped there.`,
    ...(line ? { line } : {}),
  };
}

const COUNT_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six'];

/**
 * A fresh instance of a compiled learner module that must export every function of `signatures`
 * (e.g. `['mapRegion(region, iommu)', …]`; the name is what comes before the parenthesis). Returns
 * its exports, or the diagnostics a lab reports as a compile error: the module's own, or one
 * 'missing-export' naming what is missing. A fresh instance per run keeps module-level state
 * from leaking between a seed's runs.
 */
export function instantiateExporting(compiled: Extract<CompileResult, { ok: true }>, signatures: readonly string[]): Record<string, unknown> | Diagnostic[] {
  const inst = compiled.instantiate();
  if (!inst.ok) return inst.diagnostics;
  const missing = signatures.map((s) => s.slice(0, s.indexOf('('))).filter((k) => typeof inst.exports[k] !== 'function');
  if (missing.length === 0) return inst.exports;
  const list = signatures.length > 1 ? `${signatures.slice(0, -1).join(', ')} and ${signatures.at(-1)}` : signatures[0]!;
  return [{ severity: 'error', code: 'missing-export', message: `Your module must export ${COUNT_WORDS[signatures.length] ?? signatures.length} functions: ${list}; ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing.` }];
}
