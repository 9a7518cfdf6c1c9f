import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { posix } from 'node:path';
import { glossaryPath, hrefFrom, isExternal, lessonPath, normalizeSitePath, pagePathFromUrl, relHref, rootPrefix } from '../../src/lib/paths.ts';

describe('relHref', () => {
  it('links between pages name files, never folders', () => {
    expect(relHref('index.html', 'lessons/l1-device-emulation/index.html')).toBe('lessons/l1-device-emulation/index.html');
    expect(relHref('lessons/l1-device-emulation/index.html', 'index.html')).toBe('../../index.html');
    expect(relHref('lessons/l1-device-emulation/index.html', 'index.html#l1')).toBe('../../index.html#l1');
    expect(relHref('lessons/a/index.html', 'lessons/b/index.html')).toBe('../b/index.html');
    expect(relHref('lessons/a/index.html', 'glossary/index.html#vm-exit')).toBe('../../glossary/index.html#vm-exit');
    expect(relHref('glossary/index.html', 'glossary/index.html#vm-exit')).toBe('index.html#vm-exit');
  });
  it('links assets relatively', () => {
    expect(relHref('lessons/a/index.html', 'nav.js')).toBe('../../nav.js');
    expect(relHref('lessons/a/index.html', 'generated/lab.js')).toBe('../../generated/lab.js');
    expect(relHref('index.html', 'nav.js')).toBe('nav.js');
    expect(relHref('about/index.html', 'search-index.js')).toBe('../search-index.js');
  });
  it('treats a trailing slash or a leading slash as the index file of a site path', () => {
    expect(relHref('/lessons/a/', '/glossary/')).toBe('../../glossary/index.html');
    expect(relHref('', 'lessons/a/')).toBe('lessons/a/index.html');
  });
  it('keeps queries and hashes', () => {
    expect(relHref('a/b/index.html', 'a/c/index.html?seed=3#x')).toBe('../c/index.html?seed=3#x');
  });
  it('resolves back to the target from any page (property)', () => {
    const seg = fc.stringMatching(/^[a-z0-9-]{1,8}$/);
    const path = fc.array(seg, { maxLength: 4 }).map((dirs) => [...dirs, 'index.html'].join('/'));
    fc.assert(
      fc.property(path, path, (from, to) => {
        const href = relHref(from, to);
        expect(href.startsWith('/')).toBe(false);
        expect(href.endsWith('.html')).toBe(true);
        expect(posix.normalize(posix.join(posix.dirname(from), href))).toBe(to);
      }),
    );
  });
  it('refuses paths that escape the site root', () => {
    expect(() => normalizeSitePath('../x.html')).toThrow(/escapes/);
  });
});

describe('page paths', () => {
  it('maps Astro URLs to the file the build writes', () => {
    expect(pagePathFromUrl('/')).toBe('index.html');
    expect(pagePathFromUrl('/lessons/l1/')).toBe('lessons/l1/index.html');
    expect(pagePathFromUrl('/lessons/l1')).toBe('lessons/l1/index.html');
    expect(pagePathFromUrl('/lessons/l1/index.html')).toBe('lessons/l1/index.html');
    expect(pagePathFromUrl('/search-index.js')).toBe('search-index.js');
    expect(pagePathFromUrl('/glossary/?q=1#x')).toBe('glossary/index.html');
  });
  it('computes the way back to the root', () => {
    expect(rootPrefix('index.html')).toBe('');
    expect(rootPrefix('glossary/index.html')).toBe('../');
    expect(rootPrefix('lessons/x/index.html')).toBe('../../');
  });
  it('has helpers for Astro components', () => {
    expect(hrefFrom(new URL('http://x/lessons/a/'), 'nav.js')).toBe('../../nav.js');
    expect(hrefFrom('/glossary/', glossaryPath('vm-exit'))).toBe('index.html#vm-exit');
    expect(lessonPath('l1-device-emulation')).toBe('lessons/l1-device-emulation/index.html');
    expect(glossaryPath()).toBe('glossary/index.html');
  });
  it('knows external links', () => {
    expect(isExternal('https://docs.oasis-open.org/virtio/')).toBe(true);
    expect(isExternal('mailto:a@b.c')).toBe(true);
    expect(isExternal('../../index.html')).toBe(false);
    expect(isExternal('file:///x')).toBe(false);
  });
});
