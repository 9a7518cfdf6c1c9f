import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkDist, parseTags, REFERENCE_MARKER } from '../../src/build/check-offline.mjs';

const GOOD = 'tests/site/fixtures/offline-good';
type Problem = { file: string; line: number; rule: string; message: string };

/** A copy of the good fixture with `edits` applied: { 'path': (text) => newText }. */
function variant(edits: Record<string, (s: string) => string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'iovlab-check-'));
  cpSync(GOOD, dir, { recursive: true });
  for (const [rel, f] of Object.entries(edits)) {
    const p = join(dir, rel);
    let before = '';
    try {
      before = readFileSync(p, 'utf8');
    } catch {
      mkdirSync(dirname(p), { recursive: true });
    }
    writeFileSync(p, f(before));
  }
  return dir;
}
const problems = (dir: string): Problem[] => checkDist(dir).problems;
const rules = (dir: string) => problems(dir).map((p) => `${p.file}:${p.line}:${p.rule}`);
const inMain = (html: string) => (s: string) => s.replace('</main>', `${html}\n</main>`);

describe('check-offline on fixture folders', () => {
  it('passes a site that works from file://', () => {
    const r = checkDist(GOOD);
    expect(r.problems).toEqual([]);
    expect(r.stats.html).toBe(3);
    expect(r.stats.links).toBeGreaterThanOrEqual(10);
  });

  it('flags module scripts, /_astro/ assets and absolute URLs, with file and line', () => {
    const dir = variant({
      'index.html': inMain('<script type="module" src="/_astro/page.js"></script>\n<a href="/lessons/a/index.html">abs</a>\n<img src="//cdn.example/x.png" alt="">'),
    });
    expect(rules(dir)).toEqual([
      'index.html:21:module-script',
      'index.html:21:astro-asset',
      'index.html:22:absolute-url',
      'index.html:23:absolute-url',
    ]);
  });

  it('flags fetch( in scripts, inline scripts and event handlers, not in prose', () => {
    const dir = variant({
      'nav.js': (s) => s + '\nfetch("data.json");\n',
      'index.html': inMain('<script>\n  window.fetch (x)\n</script>\n<button onclick="fetch(1)">b</button>\n<p>Prose may say fetch() fails.</p>'),
    });
    expect(rules(dir)).toEqual(['index.html:22:fetch', 'index.html:24:fetch', 'nav.js:3:fetch']);
  });

  it('flags absolute URLs in inline CSS and srcset, and modulepreload links', () => {
    const dir = variant({
      'index.html': inMain('<style>.a { background: url("/bg.png") }</style>\n<div style="background:url(/x.png)"></div>\n<img srcset="img/dot.svg 1x, /big.svg 2x" alt="">\n<link rel="modulepreload" href="x.js">'),
    });
    expect(rules(dir)).toEqual(['index.html:21:absolute-url', 'index.html:22:absolute-url', 'index.html:23:absolute-url', 'index.html:24:module-script', 'index.html:24:missing-file']);
  });

  it('flags workers and importScripts loaded by URL, not Blob or data: URLs', () => {
    const dir = variant({
      'nav.js': (s) =>
        s +
        [
          "new Worker('runner.js');",
          'new Worker(new URL("ts.worker.js", import.meta.url));',
          'new SharedWorker(`w.js`);',
          "importScripts('x.js');",
          'new Worker(URL.createObjectURL(blob));',
          'new Worker(blobUrl);',
          "new Worker('blob:null/123');",
        ].join('\n'),
    });
    expect(rules(dir)).toEqual(['nav.js:2:worker-url', 'nav.js:3:worker-url', 'nav.js:4:worker-url', 'nav.js:5:worker-url']);
  });

  it('flags the reference-solution marker in any file, even binary', () => {
    const dir = variant({
      'generated/lab.js': () => `var a = 1;\n// ${REFERENCE_MARKER}\n`,
      'img/blob.bin': () => `\u0000\u0001${REFERENCE_MARKER}`,
    });
    expect(rules(dir)).toEqual(['generated/lab.js:2:reference-solution', 'img/blob.bin:1:reference-solution']);
  });

  it('flags links to folders, to missing pages and files, and to missing anchors', () => {
    const dir = variant({
      'lessons/a/index.html': inMain(
        [
          '<a href="../../glossary/">folder</a>',
          '<a href="../b/index.html">missing page</a>',
          '<a href="../../glossary/index.html#no-such-term">missing anchor</a>',
          '<a href="#nowhere">missing local anchor</a>',
          '<a href="#">empty</a>',
          '<script src="../../generated/lab.js"></script>',
          '<a href="../../../outside.html">outside</a>',
        ].join('\n'),
      ),
    });
    const ps = problems(dir);
    expect(ps.map((p) => `${p.line}:${p.rule}`)).toEqual(['13:link', '14:link', '15:anchor', '16:anchor', '17:link', '18:missing-file', '19:link']);
    expect(ps[0]!.message).toMatch(/does not name an .html file/);
    expect(ps[1]!.message).toMatch(/lessons\/b\/index.html does not exist/);
    expect(ps[2]!.message).toMatch(/no element with id="no-such-term"/);
    expect(ps[6]!.message).toMatch(/outside the site folder/);
  });

  it('parses attributes with any quoting and skips script bodies', () => {
    const tags = parseTags(`<a href=x.html class='c' data-x="a>b">t</a><script>"<img src='/no'>"</script><img src="y.svg">`);
    expect(tags.map((t: { name: string }) => t.name)).toEqual(['a', 'script', 'img']);
    expect(tags[0]!.attrs).toMatchObject([{ name: 'href', value: 'x.html' }, { name: 'class', value: 'c' }, { name: 'data-x', value: 'a>b' }]);
  });

  it('as a command: exit 0 when clean, 1 with a list of offenders on stderr, 2 without a folder', () => {
    const ok = spawnSync(process.execPath, ['src/build/check-offline.mjs', GOOD], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/OK \(3 pages/);
    const dir = variant({ 'index.html': inMain('<a href="/x">abs</a>') });
    const bad = spawnSync(process.execPath, ['src/build/check-offline.mjs', dir], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/1 problem/);
    expect(bad.stderr).toMatch(/index\.html:21: absolute-url: /);
    const none = spawnSync(process.execPath, ['src/build/check-offline.mjs', join(tmpdir(), 'no-such-dist-iovlab')], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(spawnSync(process.execPath, ['src/build/check-offline.mjs'], { encoding: 'utf8' }).status).toBe(2);
  });
});
