#!/usr/bin/env node
/**
 * Builds the Gradescope autograder for one lab (DESIGN.md §8):
 *
 *   node src/build/package-autograder.mjs --lab <id> [--seed-salt <secret>] [--out release]
 *
 * Writes `<out>/iov-lab-autograder-<id>.zip` with, at its root: setup.sh (installs Node ≥ 22.12
 * on Gradescope's Ubuntu image), run_autograder (grades /autograder/submission/ into
 * /autograder/results/results.json), and grader/ — autograder.mjs and seed-worker.mjs,
 * self-contained esbuild bundles of lab-engine (no npm install) — plus grader/config.json
 * ({lab, salt?}). No reference solution is bundled: lab-engine never imports one, and this
 * script refuses to write a zip whose bundles contain the reference marker.
 * Prints the zip's path as the last line of stdout. Exit 2 on bad usage.
 */
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = dirname(fileURLToPath(import.meta.url));
/** The string every reference.ts carries (DESIGN.md §4): it must never reach a learner. */
export const REFERENCE_MARKER = 'IOVLAB-REFERENCE-SOLUTION';

function fail(code, msg) {
  console.error(`package:autograder: ${msg}`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { out: join(ROOT, 'release'), lab: undefined, salt: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--lab' && v) (opts.lab = v), i++;
    else if (a === '--seed-salt' && v) (opts.salt = v), i++;
    else if (a === '--out' && v) (opts.out = resolve(v)), i++;
    else fail(2, `unknown argument '${a}' (usage: npm run package:autograder -- --lab <id> [--seed-salt <secret>] [--out release])`);
  }
  return opts;
}

/** Bundles the autograder entry and the seed worker into two .mjs files; returns their text. */
export async function bundleGrader() {
  const r = await build({
    entryPoints: { autograder: join(ROOT, 'lab-engine/node/autograder-main.ts'), 'seed-worker': join(ROOT, 'lab-engine/node/seed-worker.ts') },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outdir: 'grader',
    outExtension: { '.js': '.mjs' },
    // worker-script.ts only imports esbuild when run from the sources, never from the bundle.
    external: ['esbuild'],
    banner: { js: "import { createRequire as __iovlabCreateRequire } from 'node:module'; const require = __iovlabCreateRequire(import.meta.url);" },
    legalComments: 'none',
    write: false,
    logLevel: 'warning',
  });
  const files = {};
  for (const f of r.outputFiles) files[`grader/${f.path.split('/').pop()}`] = f.text;
  return files;
}

/** The zip's entries: {path: [bytes, {attrs}]} with unix permissions (run_autograder is executable). */
export async function autograderEntries(lab, salt) {
  const enc = (s) => new TextEncoder().encode(s);
  const exec = { os: 3, attrs: 0o100755 << 16, level: 9 };
  const plain = { os: 3, attrs: 0o100644 << 16, level: 9 };
  const grader = await bundleGrader();
  for (const [name, text] of Object.entries(grader)) if (text.includes(REFERENCE_MARKER)) fail(1, `${name} contains a reference solution (${REFERENCE_MARKER}); refusing to package it`);
  const entries = {
    'setup.sh': [enc(readFileSync(join(HERE, 'autograder/setup.sh'), 'utf8')), exec],
    run_autograder: [enc(readFileSync(join(HERE, 'autograder/run_autograder'), 'utf8')), exec],
    'README.txt': [enc(readFileSync(join(HERE, 'autograder/README.txt'), 'utf8').replaceAll('<lab>', lab)), plain],
    'grader/config.json': [enc(JSON.stringify({ lab, ...(salt ? { salt } : {}) }, null, 2) + '\n'), plain],
  };
  for (const [name, text] of Object.entries(grader)) entries[name] = [enc(text), plain];
  return entries;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { listLabs } = await import(pathToFileURL(join(ROOT, 'lab-engine/index.ts')).href);
  const labs = listLabs().map((l) => l.id);
  if (!opts.lab) fail(2, `say which lab with --lab <id> (known: ${labs.join(', ')})`);
  if (!labs.includes(opts.lab)) fail(2, `unknown lab '${opts.lab}' (known: ${labs.join(', ')})`);
  if (opts.salt !== undefined && opts.salt.length === 0) fail(2, '--seed-salt needs a non-empty secret');
  const bytes = zipSync(await autograderEntries(opts.lab, opts.salt));
  mkdirSync(opts.out, { recursive: true });
  const zipPath = join(opts.out, `iov-lab-autograder-${opts.lab}.zip`);
  const tmp = `${zipPath}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, zipPath);
  console.log(`package:autograder: lab ${opts.lab}${opts.salt ? ', hidden seeds from the packaged salt' : ', public/recorded seeds only (no salt)'}, ${(bytes.length / 1024).toFixed(0)} KiB`);
  const shown = relative(process.cwd(), zipPath);
  console.log(!shown || shown.startsWith('..') ? zipPath : shown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
