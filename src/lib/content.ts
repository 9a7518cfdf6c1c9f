/**
 * The one place the site reads the content collections: turns them into the route data of
 * src/lib/course.ts (modules, ordered lessons, neighbours) and the glossary list. Pages and
 * layouts call these; components below them receive plain data.
 */
import { getCollection, type CollectionEntry } from 'astro:content';
import modulesJson from '../../content/modules.json';
import { buildCourse, scanEmbeds, validateModules, type Course, type LessonMeta } from './course.ts';

export type LessonEntry = CollectionEntry<'lessons'>;
export type GlossaryEntry = CollectionEntry<'glossary'>;

/** Front-matter plus what the body embeds. */
export function lessonMeta(entry: LessonEntry): LessonMeta {
  const d = entry.data;
  const { labs, cells } = scanEmbeds(entry.body ?? '');
  return {
    slug: d.slug,
    title: d.title,
    module: d.module,
    order: d.order,
    summary: d.summary,
    objectives: d.objectives,
    minutes: d.minutes,
    seeds: d.seeds,
    corrects: d.corrects,
    labs,
    cells,
  };
}

let coursePromise: Promise<Course> | undefined;

/** The course (modules in order with their lessons). Computed once per build. */
export function loadCourse(): Promise<Course> {
  if (!coursePromise || import.meta.env.DEV) {
    coursePromise = (async () => {
      const entries = await getCollection('lessons');
      return buildCourse(validateModules(modulesJson), entries.map(lessonMeta));
    })();
  }
  return coursePromise;
}

/** All lesson entries, in reading order. */
export async function loadLessonEntries(): Promise<LessonEntry[]> {
  const course = await loadCourse();
  const entries = await getCollection('lessons');
  const order = new Map(course.lessons.map((l, i) => [l.slug, i]));
  return entries.sort((a, b) => (order.get(a.data.slug) ?? 0) - (order.get(b.data.slug) ?? 0));
}

/** Glossary entries sorted by English term (case-insensitive). */
export async function loadGlossary(): Promise<GlossaryEntry[]> {
  const entries = await getCollection('glossary');
  return entries.sort((a, b) => a.data.term.localeCompare(b.data.term, 'en', { sensitivity: 'base' }));
}
