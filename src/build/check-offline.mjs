#!/usr/bin/env node
/**
 * Post-build check: does the built site work from file:// (OFFLINE.md, recipe step 5)?
 *
 *   node src/build/check-offline.mjs dist
 *
 * Fails (exit 1) and lists every offender as `file:line: rule: detail` when the folder has:
 * (.js files are searched as text; .html files are parsed, so that a lesson may SHOW such code
 * in its prose or code blocks: tags, attributes, inline <script>/<style> bodies and event
 * handler attributes are checked)
 *   - `type="module"` scripts (file:// blocks them)                       [module-script]
 *   - `/_astro/` asset URLs (absolute, Vite-bundled)                        [astro-asset]
 *   - absolute links: href="/…", src="/…", action="/…", url(/…)          [absolute-url]
 *   - `fetch(` in any .html or .js (file:// blocks fetch)                  [fetch]
 *   - `new Worker(` / `new SharedWorker(` / `importScripts(` with a URL that is not blob: or
 *     data: (a string literal or `new URL(…)`)                             [worker-url]
 *   - the reference-solution marker anywhere, in any file                  [reference-solution]
 *   - a relative <a href> that does not name an .html file (folders open a directory listing
 *     from file://), or names one that does not exist                       [link]
 *   - a relative src / <link href> whose file does not exist                [missing-file]
 *   - a #fragment with no element of that id in the target page            [anchor]
 * Links to other sites (https://…, mailto:) are fine. Exit 2 on bad usage (no such folder).
 *
 * Also importable: `checkDist(dir)` returns { problems, stats } (tests/site/check-offline.test.ts).
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, resolve, sep, extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { listFiles } from './files.mjs';

/** The marker every lab's reference solution carries; it must never ship. */
export const REFERENCE_MARKER = 'IOVLAB-' + 'REFERENCE-SOLUTION';

const TEXT_EXT = new Set(['.html', '.htm', '.js', '.mjs', '.cjs', '.css', '.json', '.svg', '.txt', '.xml', '.map', '.md']);
const CODE_EXT = new Set(['.html', '.htm', '.js', '.mjs', '.cjs']);


/** Maps a character offset to a 1-based line number. */
function lineIndex(text) {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** A short excerpt around `offset` for messages (one line, at most ~100 chars). */
function excerpt(text, offset, len = 0) {
  const from = Math.max(0, offset - 30);
  const to = Math.min(text.length, offset + Math.max(len, 0) + 60);
  return text.slice(from, to).replace(/\s+/g, ' ').trim();
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#34': '"' };
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    const k = e.toLowerCase();
    if (k in ENTITIES) return ENTITIES[k];
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return m;
  });
}

/**
 * The tags of an HTML document with their attributes and offsets, skipping comments and the
 * bodies of <script>, <style>, <textarea> and <template> (their text is not markup).
 */
export function parseTags(html) {
  const tags = [];
  const re = /<!--[\s\S]*?-->|<([a-zA-Z][a-zA-Z0-9-]*)\b/g;
  let m;
  while ((m = re.exec(html))) {
    if (!m[1]) continue;
    const name = m[1].toLowerCase();
    const start = m.index;
    let i = re.lastIndex;
    const attrs = [];
    // Scan attributes until the closing '>' outside quotes.
    const attrRe = /\s*([^\s=>/"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?|\s*(\/?>)/y;
    for (;;) {
      attrRe.lastIndex = i;
      const a = attrRe.exec(html);
      if (!a) {
        i++;
        if (i >= html.length) break;
        continue;
      }
      i = attrRe.lastIndex;
      if (a[5]) break;
      const value = a[2] ?? a[3] ?? a[4];
      const valueOffset = value === undefined ? a.index : a.index + a[0].indexOf(value, a[1].length);
      attrs.push({ name: a[1].toLowerCase(), value: value === undefined ? undefined : decodeEntities(value), offset: valueOffset });
    }
    const tag = { name, attrs, offset: start, body: undefined, bodyOffset: i };
    tags.push(tag);
    re.lastIndex = i;
    if (name === 'script' || name === 'style' || name === 'textarea' || name === 'template') {
      const close = html.toLowerCase().indexOf(`</${name}`, i);
      const end = close < 0 ? html.length : close;
      if (name === 'script' || name === 'style') tag.body = html.slice(i, end);
      re.lastIndex = end;
    }
  }
  return tags;
}

function isExternal(url) {
  return /^[a-z][a-z0-9+.-]*:/i.test(url);
}

/** Ids and names that a #fragment may target in an HTML document. */
function anchorsOf(tags) {
  const ids = new Set();
  for (const t of tags) {
    for (const a of t.attrs) {
      if ((a.name === 'id' || (a.name === 'name' && t.name === 'a')) && a.value) ids.add(a.value);
    }
  }
  return ids;
}

/** Rules for script text (.js files, inline scripts, on* handlers): [rule, regex, message]. */
const SCRIPT_RULES = [
  ['module-script', /\btype\s*=\s*(?:"module"|'module')/g, 'module scripts do not load from file://; use a classic script'],
  ['astro-asset', /\/_astro\//g, 'an absolute /_astro/ asset URL (a Vite-bundled asset); ship classic scripts in public/ and link them relatively'],
  ['absolute-url', /\b(?:href|src|action)\s*=\s*\\?["']\/(?!\/)/g, 'an absolute URL: from file:// it points at the root of the disk; use a relative one'],
  ['fetch', /\bfetch\s*\(/g, 'fetch() fails from file://; embed the data in a script instead'],
];
/** Rules for CSS text (inline <style>, style attributes). */
const STYLE_RULES = [
  ['astro-asset', /\/_astro\//g, 'an absolute /_astro/ asset URL in CSS'],
  ['absolute-url', /url\(\s*["']?\/(?!\/)/g, 'an absolute url(/…) in CSS; use a relative one'],
];
/** Attributes holding a URL. */
const URL_ATTRS = new Set(['href', 'src', 'action', 'poster', 'data', 'formaction', 'manifest', 'srcset', 'imagesrcset']);

/** new Worker / SharedWorker / importScripts whose argument is a literal URL or new URL(…), not blob:/data:. */
const WORKER_RE = /\bnew\s+(?:Shared)?Worker\s*\(\s*|\bimportScripts\s*\(\s*/g;
function badWorkerArg(text, at) {
  const rest = text.slice(at, at + 200);
  if (/^new\s+URL\s*\(/.test(rest)) return true;
  const lit = /^(["'`])([^"'`]*)/.exec(rest);
  if (lit) return !/^(blob|data):/i.test(lit[2]);
  return false;
}

/**
 * Checks a built site folder. Returns every problem found and a few counts.
 * @param {string} dir
 * @returns {{ problems: { file: string, line: number, rule: string, message: string }[], stats: { files: number, html: number, scripts: number, links: number } }}
 */
export function checkDist(dir) {
  const root = resolve(dir);
  const problems = [];
  const stats = { files: 0, html: 0, scripts: 0, links: 0 };
  const files = listFiles(root).map(([, abs]) => abs);
  stats.files = files.length;
  const rel = (abs) => relative(root, abs).split(sep).join('/');
  const htmlCache = new Map();
  const readHtml = (abs) => {
    if (!htmlCache.has(abs)) {
      const text = readFileSync(abs, 'utf8');
      htmlCache.set(abs, { text, tags: parseTags(text), anchors: null });
    }
    const e = htmlCache.get(abs);
    if (!e.anchors) e.anchors = anchorsOf(e.tags);
    return e;
  };
  const add = (file, text, offset, rule, message, len) => {
    const line = text === null ? 1 : lineIndex(text)(offset);
    problems.push({ file: rel(file), line, rule, message: text === null ? message : `${message}: ${excerpt(text, offset, len)}` });
  };

  for (const file of files) {
    const ext = extname(file).toLowerCase();
    const buf = readFileSync(file);
    // The reference-solution marker: any file, text or binary.
    const markerAt = buf.indexOf(REFERENCE_MARKER);
    if (markerAt >= 0) {
      const text = TEXT_EXT.has(ext) ? buf.toString('utf8') : null;
      add(file, text, text ? text.indexOf(REFERENCE_MARKER) : 0, 'reference-solution', 'a lab reference solution is in the build (its marker string was found)', REFERENCE_MARKER.length);
    }
    if (!CODE_EXT.has(ext)) continue;
    const text = buf.toString('utf8');
    const isHtml = ext === '.html' || ext === '.htm';
    if (isHtml) stats.html++;
    else stats.scripts++;

    /** Runs rules over `chunk`, which starts at `base` in the file. */
    const scan = (chunk, base, ruleSet) => {
      for (const [rule, re, message] of ruleSet) {
        re.lastIndex = 0;
        let m;
        while ((m = re.exec(chunk))) add(file, text, base + m.index, rule, message, m[0].length);
      }
      WORKER_RE.lastIndex = 0;
      let w;
      while (ruleSet === SCRIPT_RULES && (w = WORKER_RE.exec(chunk))) {
        if (badWorkerArg(chunk, WORKER_RE.lastIndex)) {
          add(file, text, base + w.index, 'worker-url', 'a worker or importScripts loaded by URL fails from file://; start workers from a Blob URL', w[0].length);
        }
      }
    };
    if (!isHtml) {
      scan(text, 0, SCRIPT_RULES);
      continue;
    }
    for (const tag of readHtml(file).tags) {
      if (tag.name === 'script') {
        const type = tag.attrs.find((a) => a.name === 'type')?.value?.trim().toLowerCase();
        if (type === 'module') add(file, text, tag.offset, 'module-script', 'module scripts do not load from file://; use a classic script', 7);
        if (tag.body && (!type || /javascript|ecmascript|^module$/.test(type))) scan(tag.body, tag.bodyOffset, SCRIPT_RULES);
      }
      if (tag.name === 'style' && tag.body) scan(tag.body, tag.bodyOffset, STYLE_RULES);
      if (tag.name === 'link' && tag.attrs.some((a) => a.name === 'rel' && /\bmodulepreload\b/i.test(a.value ?? ''))) {
        add(file, text, tag.offset, 'module-script', 'a modulepreload link (module scripts do not load from file://)', 5);
      }
      for (const a of tag.attrs) {
        if (a.value === undefined) continue;
        if (a.name.startsWith('on')) scan(a.value, a.offset, SCRIPT_RULES);
        else if (a.name === 'style') scan(a.value, a.offset, STYLE_RULES);
        else if (URL_ATTRS.has(a.name)) {
          const urls = a.name.endsWith('srcset') ? a.value.split(',').map((c) => c.trim().split(/\s+/)[0] ?? '') : [a.value.trim()];
          for (const u of urls) {
            if (u.includes('/_astro/')) add(file, text, a.offset, 'astro-asset', 'an absolute /_astro/ asset URL (a Vite-bundled asset); ship classic scripts in public/ and link them relatively', a.value.length);
            else if (u.startsWith('//')) add(file, text, a.offset, 'absolute-url', 'a protocol-relative URL: from file:// it becomes file://host/…; use https:// or a relative path', a.value.length);
            else if (u.startsWith('/')) add(file, text, a.offset, 'absolute-url', 'an absolute URL: from file:// it points at the root of the disk; use a relative one', a.value.length);
          }
        }
      }
    }

    if (!isHtml) continue;
    const page = readHtml(file);
    for (const tag of page.tags) {
      for (const a of tag.attrs) {
        const isLinkAttr =
          (a.name === 'href' && ['a', 'area', 'link', 'base'].includes(tag.name)) ||
          (a.name === 'src' && ['script', 'img', 'iframe', 'source', 'audio', 'video', 'track', 'embed', 'input'].includes(tag.name)) ||
          (a.name === 'poster' && tag.name === 'video') ||
          (a.name === 'data' && tag.name === 'object') ||
          (a.name === 'action' && tag.name === 'form');
        if (!isLinkAttr || a.value === undefined) continue;
        const url = a.value.trim();
        if (isExternal(url)) continue;
        stats.links++;
        if (url.startsWith('/')) continue; // reported by the absolute-url rule
        const hashAt = url.indexOf('#');
        const pathPart = (hashAt < 0 ? url : url.slice(0, hashAt)).split('?')[0];
        const frag = hashAt < 0 ? undefined : decodeURIComponent(url.slice(hashAt + 1));
        const isNav = (tag.name === 'a' || tag.name === 'area') && a.name === 'href';
        if (pathPart === '') {
          if (frag === undefined || frag === '') {
            add(file, text, a.offset, 'link', `an empty link ('${url}')`);
          } else if (isNav && !page.anchors.has(frag)) {
            add(file, text, a.offset, 'anchor', `no element with id="${frag}" on this page`);
          }
          continue;
        }
        let target;
        try {
          target = resolve(dirname(file), decodeURIComponent(pathPart));
        } catch {
          add(file, text, a.offset, 'link', `a malformed URL '${url}'`);
          continue;
        }
        if (target !== root && !target.startsWith(root + sep)) {
          add(file, text, a.offset, 'link', `'${url}' points outside the site folder`);
          continue;
        }
        if (isNav && !/\.html?$/i.test(pathPart)) {
          add(file, text, a.offset, 'link', `'${url}' does not name an .html file (a folder opens a directory listing from file://)`);
          continue;
        }
        if (!existsSync(target) || !statSync(target).isFile()) {
          add(file, text, a.offset, isNav ? 'link' : 'missing-file', `'${url}' → ${rel(target)} does not exist`);
          continue;
        }
        if (isNav && frag && /\.html?$/i.test(target)) {
          const other = readHtml(target);
          if (!other.anchors.has(frag)) add(file, text, a.offset, 'anchor', `'${url}': ${rel(target)} has no element with id="${frag}"`);
        }
      }
    }
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { problems, stats };
}

function main(argv) {
  const dir = argv[0];
  if (!dir || argv.length > 1 || dir.startsWith('-')) {
    console.error('usage: node src/build/check-offline.mjs <built-site-folder>');
    return 2;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    console.error(`check-offline: no folder '${dir}' (build the site first)`);
    return 2;
  }
  const { problems, stats } = checkDist(dir);
  if (problems.length) {
    console.error(`check-offline: ${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dir} — the site would break from file:// or ship what it must not:`);
    for (const p of problems) console.error(`  ${join(dir, p.file)}:${p.line}: ${p.rule}: ${p.message}`);
    return 1;
  }
  console.log(`check-offline: ${dir} OK (${stats.html} pages, ${stats.scripts} scripts, ${stats.links} relative links checked)`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}

export { main };
// For tools that want the path of this file.
export const CHECKER_PATH = fileURLToPath(import.meta.url);
