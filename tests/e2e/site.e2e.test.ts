/**
 * The site shell, tested on what a learner gets: the release zip, unzipped into a fresh folder,
 * opened from file:// and served over http. Every page loads without a console error or a failed
 * request, links work, the theme switch and the offline search work, progress marks show, and
 * pages without cells or labs load nothing but nav.js.
 *
 * Needs `npm run build && npm run package` first (release/iov-lab-<version>.zip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { fileUrl, launchBrowser, listHtmlPages, startStaticServer, unzipRelease, watchConsole } from './harness.ts';

let dir: string;
let server: { url: string; close(): Promise<void> };
let browser: Browser;
let pages: string[];

beforeAll(async () => {
  dir = await unzipRelease();
  server = await startStaticServer(dir);
  browser = await launchBrowser();
  pages = listHtmlPages(dir);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const modes = [
  { name: 'file://', url: (rel: string) => fileUrl(dir, rel) },
  { name: 'http', url: (rel: string) => new URL(rel, server.url).href },
] as const;

/** A fresh context (own localStorage) with a light colour scheme unless told otherwise. */
async function fresh(opts: Parameters<Browser['newContext']>[0] = {}): Promise<{ ctx: BrowserContext; page: Page; log: ReturnType<typeof watchConsole> }> {
  const ctx = await browser.newContext({ colorScheme: 'light', ...opts });
  const page = await ctx.newPage();
  const log = watchConsole(page);
  return { ctx, page, log };
}

/** The site path of the page currently shown (relative to the unzipped folder). */
function sitePath(page: Page, base: string): string {
  return decodeURIComponent(page.url().slice(base.length)).split('#')[0]!.replace(/^\/+/, '');
}

describe.each(modes)('site shell over $name', (mode) => {
  it('has the pages of a course: home, glossary, about, and at least one lesson', () => {
    expect(pages).toContain('index.html');
    expect(pages).toContain('glossary/index.html');
    expect(pages).toContain('about/index.html');
    expect(pages.some((p) => /^lessons\/[^/]+\/index\.html$/.test(p))).toBe(true);
  });

  it('loads every page with zero console errors and no failed requests', async () => {
    const { ctx, page, log } = await fresh();
    const problems: string[] = [];
    for (const rel of pages) {
      log.errors.length = 0;
      await page.goto(mode.url(rel), { waitUntil: 'load' });
      await page.waitForTimeout(150);
      if (log.errors.length) problems.push(`${rel}:\n    ${log.errors.join('\n    ')}`);
      expect(await page.title(), rel).toMatch(/IOV Lab/);
    }
    await ctx.close();
    expect(problems).toEqual([]);
  });

  it('pages without cells or labs load no script but nav.js', async () => {
    const { ctx, page } = await fresh();
    for (const rel of pages) {
      await page.goto(mode.url(rel));
      const info = await page.evaluate(() => ({
        labs: document.documentElement.dataset.labs ?? '',
        cells: Number(document.documentElement.dataset.cells ?? '0'),
        scripts: [...document.scripts].map((s) => s.getAttribute('src') ?? 'inline'),
      }));
      if (info.labs === '' && info.cells === 0) {
        // The "Your progress" page adds its own small data-tools script (no engine, no editor, no charts).
        const expected = rel === 'progress/index.html' ? ['nav.js', 'generated/progress.js'] : ['nav.js'];
        expect(info.scripts.map((s) => s.replace(/^(\.\.\/)*/, '')), rel).toEqual(expected);
      }
    }
    await ctx.close();
  });

  it('follows next and previous links between lessons', async () => {
    const { ctx, page, log } = await fresh();
    const lessons = pages.filter((p) => p.startsWith('lessons/'));
    await page.goto(mode.url('index.html'));
    // The first lesson is the first lesson link on the home page.
    const firstHref = await page.locator('.lesson-link').first().getAttribute('href');
    expect(firstHref).toMatch(/^lessons\/[^/]+\/index\.html$/);
    await page.locator('.lesson-link').first().click();
    await page.waitForLoadState('load');
    const base = mode.url('');
    const first = sitePath(page, base);
    expect(first).toBe(firstHref);
    expect(await page.locator('a[rel=prev]').count()).toBe(0);
    if (lessons.length > 1) {
      await page.locator('.prev-next a.next').click();
      await page.waitForLoadState('load');
      const second = sitePath(page, base);
      expect(second).not.toBe(first);
      expect(lessons).toContain(second);
      await page.locator('.prev-next a.prev').click();
      await page.waitForLoadState('load');
      expect(sitePath(page, base)).toBe(first);
    }
    // The module link in the eyebrow goes back to the module on the home page.
    await page.locator('.lesson-header .eyebrow a').click();
    await page.waitForLoadState('load');
    expect(sitePath(page, base)).toBe('index.html');
    expect(page.url()).toMatch(/#l\d$/);
    expect(log.errors).toEqual([]);
    await ctx.close();
  });

  it('switches to dark mode, remembers it, and starts from the system preference', async () => {
    const { ctx, page, log } = await fresh({ colorScheme: 'light' });
    await page.goto(mode.url('index.html'));
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(await theme()).toBe('light');
    const lightBg = await bg();
    const toggle = page.locator('[data-theme-toggle]');
    await expect.poll(() => toggle.isVisible()).toBe(true);
    await toggle.click();
    expect(await theme()).toBe('dark');
    expect(await bg()).not.toBe(lightBg);
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    const lesson = pages.find((p) => p.startsWith('lessons/'))!;
    await page.goto(mode.url(lesson));
    expect(await theme()).toBe('dark');
    await page.locator('[data-theme-toggle]').click();
    expect(await theme()).toBe('light');
    await ctx.close();

    const dark = await fresh({ colorScheme: 'dark' });
    await dark.page.goto(mode.url('index.html'));
    expect(await dark.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await dark.ctx.close();
    expect(log.errors).toEqual([]);
  });

  it('searches offline: "VM exit" finds a result whose link opens', async () => {
    const { ctx, page, log } = await fresh();
    await page.goto(mode.url('glossary/index.html'));
    const input = page.locator('#site-search');
    await expect.poll(() => input.isVisible()).toBe(true);
    await input.click();
    await input.fill('VM exit');
    const hits = page.locator('.search-hit');
    await expect.poll(() => hits.count(), { timeout: 5000 }).toBeGreaterThan(0);
    const titles = await page.locator('.search-hit .search-title').allTextContents();
    expect(titles.some((t) => /vm exit/i.test(t)), titles.join(' | ')).toBe(true);
    const href = (await hits.first().getAttribute('href'))!;
    expect(href.startsWith('/')).toBe(false);
    await hits.first().click();
    await page.waitForLoadState('load');
    const [path, hash] = href.replace(/^(\.\.\/)*/, '').split('#');
    expect(page.url()).toContain(path!);
    if (hash) expect(await page.locator(`[id="${hash}"]`).count()).toBe(1);
    // Keyboard: "/" focuses the search box, Enter opens the first hit.
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('site-search');
    await page.keyboard.type('emulation');
    await expect.poll(() => page.locator('.search-hit').count()).toBeGreaterThan(0);
    // Down moves into the results, Escape closes them and returns to the box.
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('search-hit');
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-search-results]').isHidden()).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('site-search');
    expect(log.errors).toEqual([]);
    await ctx.close();
  });

  it('shows progress marks: visited lessons and best lab scores', async () => {
    const { ctx, page, log } = await fresh();
    const lesson = pages.find((p) => p.startsWith('lessons/'))!;
    const slug = lesson.split('/')[1]!;
    await page.goto(mode.url('index.html'));
    const mark = page.locator(`.lesson-item [data-progress-lesson="${slug}"]`);
    expect(await mark.getAttribute('data-state')).toBeNull();
    await page.goto(mode.url(lesson));
    await page.goto(mode.url('index.html'));
    expect(await mark.getAttribute('data-state')).toBe('visited');
    expect(await mark.textContent()).toMatch(/Visited/);
    // The sidebar of a lesson marks it too.
    await page.goto(mode.url(lesson));
    expect(await page.locator(`.sidebar [data-progress-lesson="${slug}"]`).getAttribute('data-state')).toBe('visited');

    // Lab scores as the lab UI stores them (iovlab:v1:progress .labs[id].bestScore/maxScore).
    await page.goto(mode.url('index.html'));
    const withLab = await page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('.lesson-item [data-progress-labs]');
      return el ? { slug: el.dataset.progressLesson!, lab: el.dataset.progressLabs!.split(' ')[0]! } : null;
    });
    if (withLab) {
      await page.evaluate((lab) => {
        const key = 'iovlab:v1:progress';
        const p = JSON.parse(localStorage.getItem(key) ?? '{}');
        p.labs = { ...(p.labs ?? {}), [lab]: { bestScore: 80, maxScore: 100 } };
        localStorage.setItem(key, JSON.stringify(p));
      }, withLab.lab);
      await page.reload();
      const labMark = page.locator(`.lesson-item [data-progress-lesson="${withLab.slug}"]`);
      expect(await labMark.textContent()).toMatch(/80\/100/);
      // Visiting kept what the lab UI stored.
      const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('iovlab:v1:progress')!));
      expect(stored.labs[withLab.lab].bestScore).toBe(80);
      expect(stored.lessonsVisited[slug]).toBe(true);
    }
    expect(log.errors).toEqual([]);
    await ctx.close();
  });

  it('the About page sends learners to "Your progress" for export, import and erase (one set of data tools)', async () => {
    const { ctx, page, log } = await fresh();
    await page.goto(mode.url('about/index.html'));
    expect(await page.locator('[data-data-export], [data-data-erase], [data-data-import]').count()).toBe(0);
    await page.locator('[data-progress-link]').click();
    await page.waitForURL(/progress\/index\.html$/);
    expect(await page.locator('[data-action="import"]').count()).toBe(1);
    expect(log.errors).toEqual([]);
    await ctx.close();
  });

  it('fits a phone screen: no page scrolls sideways at 390 px', async () => {
    const { ctx, page } = await fresh({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const wide: string[] = [];
    for (const rel of pages) {
      await page.goto(mode.url(rel));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (overflow > 1) wide.push(`${rel} (+${overflow}px)`);
    }
    expect(wide).toEqual([]);
    // The course outline folds into a <details> on phones and opens on tap.
    const lesson = pages.find((p) => p.startsWith('lessons/'))!;
    await page.goto(mode.url(lesson));
    expect(await page.locator('nav.sidebar').isVisible()).toBe(false);
    await page.locator('.outline-mobile > summary').click();
    expect(await page.locator('.outline-mobile .outline').isVisible()).toBe(true);
    await ctx.close();
  });
});
