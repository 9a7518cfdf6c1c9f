/**
 * search-index.js: the offline search index as a classic script (`window.IOVLAB_SEARCH = […]`),
 * generated at build time. public/nav.js injects it on the search box's first focus.
 */
import type { APIRoute } from 'astro';
import { render } from 'astro:content';
import modulesJson from '../../content/modules.json';
import { loadCourse, loadGlossary, loadLessonEntries } from '../lib/content.ts';
import { moduleLabel, validateModules } from '../lib/course.ts';
import { lessonPath, glossaryPath } from '../lib/paths.ts';
import { clip, mdxToText, searchIndexScript, type SearchDoc } from '../lib/search.ts';

/** Characters of body text kept per lesson (the index ships with every search). */
const MAX_TEXT = 6000;

export const GET: APIRoute = async () => {
  const course = await loadCourse();
  const docs: SearchDoc[] = [];
  for (const entry of await loadLessonEntries()) {
    const { headings } = await render(entry);
    const d = entry.data;
    docs.push({
      title: d.title,
      url: lessonPath(d.slug),
      kind: `Lesson · ${moduleLabel(d.module)}`,
      headings: headings.filter((h) => h.depth >= 2 && h.depth <= 3).map((h) => ({ text: h.text, id: h.slug })),
      text: clip([d.summary, ...d.objectives, mdxToText(entry.body ?? '')].join(' '), MAX_TEXT),
    });
  }
  for (const m of validateModules(modulesJson)) {
    const lessons = course.modules.find((x) => x.number === m.number)?.lessons ?? [];
    docs.push({
      title: `${moduleLabel(m.number)}: ${m.title}`,
      url: `index.html#${m.id}`,
      kind: 'Module',
      headings: [],
      text: [m.blurb, ...lessons.map((l) => l.title)].join(' '),
    });
  }
  for (const { data: t } of await loadGlossary()) {
    docs.push({
      title: t.zh ? `${t.term} (${t.zh})` : t.term,
      url: glossaryPath(t.id),
      kind: 'Glossary',
      headings: [],
      text: t.definition,
    });
  }
  docs.push({
    title: 'Glossary',
    url: 'glossary/index.html',
    kind: 'Page',
    headings: [],
    text: 'The terms of I/O virtualization the course uses, in English with the Chinese terms of the seed articles (术语表).',
  });
  docs.push({
    title: 'About IOV Lab',
    url: 'about/index.html',
    kind: 'Page',
    headings: [
      { text: 'Using it offline', id: 'offline' },
      { text: 'Your data', id: 'your-data' },
      { text: 'Keyboard', id: 'keyboard' },
    ],
    text: 'How the course works offline from a zip, what it stores in your browser (progress, code, scores, theme), how to export, import or erase it, and keyboard shortcuts.',
  });
  return new Response(searchIndexScript(docs), {
    headers: { 'content-type': 'text/javascript; charset=utf-8' },
  });
};
