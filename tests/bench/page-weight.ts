/** Bytes a page costs up front: its HTML plus every script/stylesheet it references. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function pageBytes(htmlPath: string): { html: number; scripts: number; files: string[] } {
  const html = readFileSync(htmlPath, 'utf8');
  const files: string[] = [];
  let scripts = 0;
  for (const m of html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"#?]+\.(?:js|css))"/g)) {
    const p = resolve(dirname(htmlPath), m[1]!);
    if (existsSync(p)) {
      scripts += statSync(p).size;
      files.push(m[1]!);
    }
  }
  return { html: Buffer.byteLength(html), scripts, files };
}

export function pageWeights(dist: string): string[] {
  if (!existsSync(dist)) throw new Error('no dist/ (run npm run build)');
  const lessons = join(dist, 'lessons');
  const out: string[] = [];
  for (const slug of existsSync(lessons) ? readdirSync(lessons).sort() : []) {
    const p = join(lessons, slug, 'index.html');
    if (!existsSync(p)) continue;
    const w = pageBytes(p);
    out.push(`lesson ${slug}: HTML ${(w.html / 1024).toFixed(1)} KiB + scripts/styles ${(w.scripts / 1024).toFixed(1)} KiB up front [${w.files.join(', ') || 'none'}]`);
  }
  return out;
}
