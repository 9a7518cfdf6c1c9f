/**
 * Type-check TypeScript sources against declarations, as the editor (Monaco) would: strict, no
 * DOM, no Node. Returns tsc's output ('' when everything checks). Shared by the lab and cell tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function typecheck(dts: string, sources: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'iovlab-dts-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/api.d.ts'), dts);
  for (const [name, code] of Object.entries(sources)) writeFileSync(join(dir, 'src', name.endsWith('.ts') ? name : `${name}.ts`), code);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022'], types: [], module: 'ESNext', moduleResolution: 'Bundler', noUnusedLocals: false }, include: ['src'] }));
  const tsc = new URL('../node_modules/typescript/bin/tsc', import.meta.url).pathname;
  try {
    return execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' }).trim();
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e).trim();
  }
}
