/**
 * Relative links that work from file:// (OFFLINE.md): every href and src in the site is
 * computed from the page that holds it to the file it names, e.g. from
 * `lessons/l1-device-emulation/index.html` to `glossary/index.html#vm-exit` →
 * `../../glossary/index.html#vm-exit`. A link never points at a folder (a folder opens a
 * directory listing from file://, not its index.html) and never starts with `/`.
 *
 * Page paths are "site paths": relative to the site root, forward slashes, no leading slash,
 * naming a file (`index.html`, `lessons/x/index.html`, `nav.js`).
 */

/** Splits off `?query#hash` from a path. */
function splitSuffix(path: string): [string, string] {
  const i = path.search(/[?#]/);
  return i < 0 ? [path, ''] : [path.slice(0, i), path.slice(i)];
}

/** Normalizes a site path: strips leading `/` and `./`, resolves `.`/`..`, a trailing `/` names index.html. */
export function normalizeSitePath(path: string): string {
  const [p, suffix] = splitSuffix(path);
  const isDir = p === '' || p.endsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) throw new Error(`site path escapes the site root: '${path}'`);
      out.pop();
    } else out.push(seg);
  }
  if (isDir) out.push('index.html');
  return out.join('/') + suffix;
}

/**
 * The relative URL from the page at `fromPage` to the file `toPath` (both site paths; `toPath`
 * may carry `#hash` or `?query`). A link to the page itself keeps just its file name, so
 * `relHref('a/index.html', 'a/index.html#x')` is `index.html#x`.
 */
export function relHref(fromPage: string, toPath: string): string {
  const from = normalizeSitePath(fromPage);
  const [toRaw, suffix] = splitSuffix(toPath);
  const to = normalizeSitePath(toRaw);
  const fromDirs = from.split('/').slice(0, -1);
  const toParts = to.split('/');
  let common = 0;
  while (common < fromDirs.length && common < toParts.length - 1 && fromDirs[common] === toParts[common]) common++;
  const ups = fromDirs.length - common;
  return '../'.repeat(ups) + toParts.slice(common).join('/') + suffix;
}

/** The prefix from `fromPage` back to the site root: '' for `index.html`, '../../' for `lessons/x/index.html`. */
export function rootPrefix(fromPage: string): string {
  const depth = normalizeSitePath(fromPage).split('/').length - 1;
  return '../'.repeat(depth);
}

/**
 * The site path of the page being rendered, from Astro's `Astro.url.pathname`
 * (`/lessons/x/` or `/lessons/x/index.html` or `/lessons/x`) → `lessons/x/index.html`.
 * `/` → `index.html`. Endpoints with an extension (`/search-index.js`) keep their name.
 */
export function pagePathFromUrl(pathname: string): string {
  let p = decodeURIComponent(splitSuffix(pathname)[0]);
  if (p === '' || p.endsWith('/')) return normalizeSitePath(p);
  const last = p.slice(p.lastIndexOf('/') + 1);
  if (!last.includes('.')) p += '/';
  return normalizeSitePath(p);
}

/** Shorthand for components: the relative URL from the page at `url` (Astro.url) to `toPath`. */
export function hrefFrom(url: URL | string, toPath: string): string {
  const pathname = typeof url === 'string' ? url : url.pathname;
  return relHref(pagePathFromUrl(pathname), toPath);
}

/** Site path of a lesson page. */
export function lessonPath(slug: string): string {
  return `lessons/${slug}/index.html`;
}

/** Site path of a glossary entry (with its anchor). */
export function glossaryPath(id?: string): string {
  return id ? `glossary/index.html#${id}` : 'glossary/index.html';
}

/** True for links to other sites (and mailto:), which the offline rules leave alone. */
export function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) && !/^file:/i.test(href);
}
