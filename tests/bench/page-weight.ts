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
  const pages: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p, rel ? `${rel}/${f}` : f);
      else if (f === 'index.html') pages.push(rel ? `${rel}/index.html` : 'index.html');
    }
  };
  walk(dist, '');
  return pages.map((page) => {
    const w = pageBytes(join(dist, page));
    const interactive = w.files.some((f) => f.includes('generated/'));
    return `page ${page}${interactive ? ' (cells/lab)' : ''}: HTML ${(w.html / 1024).toFixed(1)} KiB + scripts/styles ${(w.scripts / 1024).toFixed(1)} KiB up front [${w.files.join(', ') || 'none'}]`;
  });
}
