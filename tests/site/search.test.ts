import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { clip, mdxToText, searchDocs, searchIndexScript, type SearchDoc } from '../../src/lib/search.ts';

const docs: SearchDoc[] = [
  {
    title: 'Device emulation',
    url: 'lessons/l1-device-emulation/index.html',
    kind: 'Lesson · L1',
    headings: [{ text: 'Counting VM exits', id: 'counting-vm-exits' }, { text: 'The registers', id: 'the-registers' }],
    text: 'Software imitates a real device. Every doorbell write is a VM exit to KVM and then to QEMU.',
  },
  { title: 'VM exit (虚拟机退出)', url: 'glossary/index.html#vm-exit', kind: 'Glossary', headings: [], text: 'A transfer of control from the guest to the hypervisor.' },
  { title: 'SR-IOV', url: 'glossary/index.html#sr-iov', kind: 'Glossary', headings: [], text: 'One device appears as many functions; no exit on the data path.' },
  { title: 'Café à la virtio', url: 'x/index.html', kind: 'Page', headings: [], text: 'accents fold' },
];

/** Runs public/nav.js in a bare context and returns its search function. */
function navSearch(): (d: SearchDoc[], q: string, limit?: number) => { url: string; score: number; doc: SearchDoc; snippet: string }[] {
  const el = { getAttribute: () => null, setAttribute() {}, removeAttribute() {}, classList: { toggle() {}, contains: () => false } };
  const document = {
    documentElement: el,
    readyState: 'loading',
    addEventListener() {},
    querySelector: () => null,
    querySelectorAll: () => [],
  };
  const window: Record<string, unknown> = {
    addEventListener() {},
    localStorage: { getItem: () => null, setItem() {} },
    matchMedia: () => ({ matches: false, addEventListener() {} }),
  };
  runInNewContext(readFileSync('public/nav.js', 'utf8'), { window, document, CustomEvent: class {} });
  return (window.IOVLAB_NAV as { search: never }).search;
}

describe('mdxToText', () => {
  it('keeps the words and drops imports, JSX, code and Markdown marks', () => {
    const mdx = [
      "import { Aside } from '../../../src/components/lesson/index.ts';",
      '## The exit path',
      'A **VM exit** costs `~1 µs`; see [the spec](https://example.org).',
      '<Aside kind="note" title="Why it matters">Exits add up.</Aside>',
      '```ts',
      'const secret = 1;',
      '```',
      '| a | b |',
      '| --- | --- |',
      '| one | two |',
      '{/* a comment */}',
    ].join('\n');
    const t = mdxToText(mdx);
    expect(t).toBe('The exit path A VM exit costs ~1 µs; see the spec. Why it matters Exits add up. a b one two');
  });
  it('clips at a word boundary', () => {
    expect(clip('alpha beta gamma delta', 12)).toBe('alpha beta…');
    expect(clip('short', 12)).toBe('short');
  });
});

describe('searchIndexScript', () => {
  it('is a classic script that sets window.IOVLAB_SEARCH and never calls the network', () => {
    const s = searchIndexScript([{ ...docs[0]!, text: 'never fetch("x") from file://, </script>' }]);
    expect(s).not.toMatch(/fetch\(/);
    expect(s).not.toMatch(/<\/script/i);
    const window: { IOVLAB_SEARCH?: SearchDoc[] } = {};
    runInNewContext(s, { window });
    expect(window.IOVLAB_SEARCH![0]!.text).toBe('never fetch("x") from file://, </script>');
  });
});

describe('searchDocs', () => {
  it('finds "VM exit": the glossary entry first, then the lesson at its section', () => {
    const hits = searchDocs(docs, 'VM exit');
    expect(hits.map((h) => h.url)).toEqual(['glossary/index.html#vm-exit', 'lessons/l1-device-emulation/index.html#counting-vm-exits']);
  });
  it('requires every word, ignores case and accents', () => {
    expect(searchDocs(docs, 'exit sr-iov').map((h) => h.doc.title)).toEqual(['SR-IOV']);
    expect(searchDocs(docs, 'CAFE A LA').map((h) => h.doc.title)).toEqual(['Café à la virtio']);
    expect(searchDocs(docs, 'nothing-like-this')).toEqual([]);
    expect(searchDocs(docs, '   ')).toEqual([]);
  });
  it('finds Chinese terms', () => {
    expect(searchDocs(docs, '虚拟机退出').map((h) => h.doc.title)).toEqual(['VM exit (虚拟机退出)']);
  });
  it('public/nav.js ranks exactly as src/lib/search.ts', () => {
    const nav = navSearch();
    for (const q of ['VM exit', 'exit', 'device registers', 'sr-iov', 'cafe', 'guest hypervisor', '虚拟机', 'zzz']) {
      const a = searchDocs(docs, q).map((h) => [h.url, h.score, h.snippet]);
      const b = nav(docs, q, 12).map((h) => [h.url, h.score, h.snippet]);
      expect(b, q).toEqual(a);
    }
  });
});
