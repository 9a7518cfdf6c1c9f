#!/usr/bin/env node
/**
 * Zips the built site into the offline release:
 *
 *   node src/build/package.mjs [--dist dist] [--out release]
 *
 * Writes `<out>/iov-lab-<version>.zip` (version from package.json) with the contents of `dist/`
 * at the zip's root, so `index.html` is the first thing an unzipped folder shows. It does not
 * build: run `npm run build` first (it fails clearly when dist/ is missing or has no index.html).
 * Prints a short summary, then the zip's path (relative to the current folder) as the LAST line
 * of stdout. Exit 2 on bad usage or a missing dist/.
 *
 * Files are deflated at level 9, except formats that are already compressed. Timestamps come
 * from SOURCE_DATE_EPOCH when set (reproducible zips), else from the files.
 */
import { zipSync } from 'fflate';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { dirname, join, relative, resolve, sep, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listFiles } from './files.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STORED = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.woff', '.woff2', '.zip', '.gz', '.br', '.mp4', '.webm']);

function fail(code, msg) {
  console.error(`package: ${msg}`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { dist: join(ROOT, 'dist'), out: join(ROOT, 'release') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if ((a === '--dist' || a === '--out') && argv[i + 1]) opts[a.slice(2)] = resolve(argv[++i]);
    else fail(2, `unknown argument '${a}' (usage: node src/build/package.mjs [--dist dist] [--out release])`);
  }
  return opts;
}


/**
 * Builds the zip's bytes from a site folder. `index.html` comes first in the archive.
 * @param {string} distDir
 * @param {{ mtime?: Date }} [o]
 */
export function zipSite(distDir, o = {}) {
  const files = listFiles(distDir);
  files.sort(([a], [b]) => (a === 'index.html' ? -1 : b === 'index.html' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const entries = {};
  for (const [rel, abs] of files) {
    const level = STORED.has(extname(rel).toLowerCase()) ? 0 : 9;
    entries[rel] = [new Uint8Array(readFileSync(abs)), { level, mtime: o.mtime ?? statSync(abs).mtime }];
  }
  return { bytes: zipSync(entries), count: files.length };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const version = pkg.version;
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+/.test(version)) fail(2, `package.json has no usable version (${JSON.stringify(version)})`);
  if (!existsSync(opts.dist) || !statSync(opts.dist).isDirectory()) {
    fail(2, `no built site at ${relative(process.cwd(), opts.dist) || '.'}: run \`npm run build\` first`);
  }
  if (!existsSync(join(opts.dist, 'index.html'))) fail(2, `${relative(process.cwd(), opts.dist)} has no index.html: run \`npm run build\` first`);

  const epoch = process.env.SOURCE_DATE_EPOCH;
  const mtime = epoch && /^\d+$/.test(epoch) ? new Date(Math.max(Number(epoch), 315532800 + 86400) * 1000) : undefined;
  const { bytes, count } = zipSite(opts.dist, { mtime });
  mkdirSync(opts.out, { recursive: true });
  const zipPath = join(opts.out, `iov-lab-${version}.zip`);
  const tmp = `${zipPath}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, zipPath);
  const unpacked = listFiles(opts.dist).reduce((s, [, abs]) => s + statSync(abs).size, 0);
  const mb = (n) => (n / 1024 / 1024).toFixed(2) + ' MB';
  console.log(`package: ${count} files, ${mb(unpacked)} unpacked → ${mb(bytes.length)} zipped`);
  const shown = relative(process.cwd(), zipPath);
  console.log(!shown || shown.startsWith('..') ? zipPath : shown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
