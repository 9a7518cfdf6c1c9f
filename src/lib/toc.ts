/**
 * Table of contents from the headings Astro reports for a rendered MDX entry
 * (`render(entry).headings`: depth, slug, text). Pure; unit-tested in tests/site/toc.test.ts.
 */

export interface Heading {
  depth: number;
  slug: string;
  text: string;
}

export interface TocItem {
  id: string;
  text: string;
  children: TocItem[];
}

/**
 * Nests h2 … h`maxDepth` headings: each h3 goes under the h2 before it (an h3 before any h2
 * becomes a top-level item). h1 and deeper headings are skipped.
 */
export function buildToc(headings: Heading[], maxDepth = 3): TocItem[] {
  const top: TocItem[] = [];
  let current: TocItem | undefined;
  for (const h of headings) {
    if (h.depth < 2 || h.depth > maxDepth || !h.slug) continue;
    const item: TocItem = { id: h.slug, text: h.text, children: [] };
    if (h.depth === 2 || !current) {
      top.push(item);
      if (h.depth === 2) current = item;
    } else {
      current.children.push(item);
    }
  }
  return top;
}
