/**
 * Shared helpers for the browser end-to-end suite (tests/e2e/*.e2e.test.ts).
 *
 * The suite tests what a learner gets: the release zip (release/iov-lab-<version>.zip), unzipped
 * into a fresh folder, opened from file:// and served by a tiny static server. Chromium is
 * Debian's `/usr/bin/chromium`, started headless with the flags of DESIGN.md §7.
 *
 * Typical use:
 *   const dir = await unzipRelease();
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage();
 *   const log = watchConsole(page);
 *   await page.goto(fileUrl(dir, 'index.html'));
 *   expect(log.errors).toEqual([]);
 */
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';
import { unzipSync } from 'fflate';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Repository root (tests/e2e/ → ../..). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where Debian's chromium package puts the browser. Override with IOVLAB_CHROMIUM. */
export const CHROMIUM_PATH = process.env.IOVLAB_CHROMIUM || '/usr/bin/chromium';

/** The flags of DESIGN.md §7 (headless is passed as a launch option, not a flag). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function launchOptions(extra: LaunchOptions = {}): LaunchOptions {
  return {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(extra.args ?? [])],
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'args')),
  };
}

/**
 * Starts headless Chromium with a fresh, throw-away profile (Playwright's `launch` always uses a
 * new temporary user-data-dir). Close it with `browser.close()`.
 */
export async function launchBrowser(extra: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch(launchOptions(extra));
}

/**
 * Starts Chromium with a persistent profile in a new temp dir, for tests that need storage to
 * survive closing and reopening the browser: call it again with the returned `userDataDir`.
 */
export async function launchPersistent(
  userDataDir: string = mkdtempSync(join(tmpdir(), 'iovlab-profile-')),
  extra: LaunchOptions = {},
): Promise<{ context: BrowserContext; userDataDir: string }> {
  const context = await chromium.launchPersistentContext(userDataDir, launchOptions(extra));
  return { context, userDataDir };
}

/**
 * Path of the newest release/iov-lab-<version>.zip (not the autograder zips), or the zip named
 * by IOVLAB_RELEASE_ZIP (to test another build).
 */
export function findReleaseZip(root: string = ROOT): string {
  if (process.env.IOVLAB_RELEASE_ZIP) return resolve(process.env.IOVLAB_RELEASE_ZIP);
  const dir = join(root, 'release');
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    /* handled below */
  }
  const zips = names
    .filter((n) => /^iov-lab-\d[^/]*\.zip$/.test(n))
    .map((n) => join(dir, n))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (zips.length === 0) {
    throw new Error(`no release/iov-lab-<version>.zip under ${root}: run \`npm run build && npm run package\` first`);
  }
  return zips[0]!;
}

/**
 * Unzips the release zip (or `zipPath`) into a fresh temp folder and returns that folder.
 * The zip has index.html at its root, so `fileUrl(dir, 'index.html')` is the course's home page.
 */
export async function unzipRelease(zipPath: string = findReleaseZip()): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'iovlab-site-'));
  const entries = unzipSync(new Uint8Array(readFileSync(zipPath)));
  for (const [name, data] of Object.entries(entries)) {
    const target = resolve(out, name);
    if (!target.startsWith(out + sep)) throw new Error(`zip entry escapes the folder: ${name}`);
    if (name.endsWith('/')) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, data);
  }
  return out;
}

/**
 * file:// URL of `relPath` inside `dir` (e.g. fileUrl(dir, 'lessons/l1-device-emulation/index.html')).
 * A `?query` or `#hash` on relPath is kept as such (not escaped into the file name).
 */
export function fileUrl(dir: string, relPath = 'index.html'): string {
  const at = relPath.search(/[?#]/);
  const path = at < 0 ? relPath : relPath.slice(0, at);
  const suffix = at < 0 ? '' : relPath.slice(at);
  return pathToFileURL(join(dir, path)).href + suffix;
}

/** MIME types for what the site ships. */
export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.xml': 'application/xml',
  '.zip': 'application/zip',
};

/**
 * A minimal static file server for `dir` on 127.0.0.1 and a random free port, like
 * `python3 -m http.server`: a folder URL serves its index.html, unknown paths are 404.
 */
export async function startStaticServer(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    try {
      const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(root, urlPath));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      let st = statSync(file, { throwIfNoEntry: false });
      if (st?.isDirectory()) {
        if (!urlPath.endsWith('/')) {
          res.writeHead(301, { location: urlPath + '/' }).end();
          return;
        }
        file = join(file, 'index.html');
        st = statSync(file, { throwIfNoEntry: false });
      }
      if (!st?.isFile()) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const body = readFileSync(file);
      res.writeHead(200, {
        'content-type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('static server has no port');
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

/**
 * Collects everything that should never happen on a page: console errors, uncaught exceptions
 * (pageerror) and failed requests (including HTTP ≥ 400; requests aborted by navigation or by
 * terminating a worker are not failures). `errors` is live: read it after acting.
 * `warnings` collects console warnings for information only.
 */
export function watchConsole(page: Page): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  page.on('console', (msg) => {
    const where = msg.location();
    const at = where?.url ? ` (${where.url}:${where.lineNumber})` : '';
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}${at}`);
    else if (msg.type() === 'warning') warnings.push(`console.warn: ${msg.text()}${at}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText ?? '';
    // ERR_ABORTED is the page's own doing (navigating away mid-load, a terminated worker), not a
    // missing or blocked file; those fail with ERR_FILE_NOT_FOUND, ERR_ACCESS_DENIED, ERR_FAILED…
    if (why === 'net::ERR_ABORTED') return;
    errors.push(`requestfailed: ${req.url()} ${why}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`http ${res.status()}: ${res.url()}`);
  });
  return { errors, warnings };
}

/** Every .html file under `dir`, as paths relative to it with forward slashes, sorted. */
export function listHtmlPages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const abs = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(abs).isDirectory()) walk(abs, r);
      else if (name.endsWith('.html')) out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}
