/**
 * `npm run bench`: the figures table of DESIGN.md §7. It measures and prints; it never fails on
 * a figure. Browser figures need a built site (npm run build) and /usr/bin/chromium.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { engineFigures } from './engine-bench.ts';
import { gradeFigures } from './grade-bench.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

console.log('IOV Lab benchmark (medians of 3 where repeated; compare runs, do not quote as absolute)\n');
console.log('Engine (Node, single thread)');
console.log('| scenario | wall ms | events | events/s | sim packets/s | × real time |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const f of engineFigures()) {
  console.log(`| ${f.what} | ${f.wallMs} | ${f.events || ''} | ${f.eventsPerSec || ''} | ${f.packetsPerSec || ''} | ${f.speedVsRealTime || ''} |`);
}

console.log('\nGrading (CLI, a folder of hand-ins: reference, starter, partial, broken, tampered)');
console.log('| lab | items | jobs | wall s | ms per item | ran |');
console.log('| --- | ---: | ---: | ---: | ---: | --- |');
try {
  for (const f of gradeFigures()) console.log(`| ${f.lab} | ${f.items} | ${f.jobs} | ${f.wallS} | ${f.perItemMs} | ${f.ok ? 'yes' : 'no (exit ≠ 0)'} |`);
} catch (e) {
  console.log(`grading: skipped (${(e as Error).message})`);
}

console.log('\nSizes');
const release = join(ROOT, 'release');
const zips = existsSync(release) ? readdirSync(release).filter((f) => f.endsWith('.zip')) : [];
for (const z of zips) console.log(`zip ${z}: ${(statSync(join(release, z)).size / 1024 / 1024).toFixed(2)} MiB`);
if (zips.length === 0) console.log('zip: (none — run npm run package)');

const pageWeights = await import('./page-weight.ts').then((m) => m.pageWeights(join(ROOT, 'dist'))).catch((e: Error) => [`page weights: ${e.message}`]);
for (const line of pageWeights) console.log(line);

const browser = await import('./browser-bench.ts').then((m) => m.browserFigures(join(ROOT, 'dist'))).catch((e: Error) => [`browser figures: skipped (${e.message})`]);
console.log('\nBrowser (headless Chromium, built site over a local static server)');
for (const line of browser) console.log(line);
void kb;
