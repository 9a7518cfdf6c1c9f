/**
 * The course's route data, computed once from content/modules.json and the lessons' front-matter:
 * modules in order, the lessons of each in order, previous/next neighbours. Pages and components
 * only read it (Starlight's route-data pattern). Pure: no Astro imports, unit-tested in
 * tests/site/course.test.ts.
 */

/** A module as content/modules.json lists it (SYLLABUS.md, L0 … L6). */
export interface ModuleInfo {
  /** 0–6 */
  number: number;
  /** Anchor on the home page ('l1' → index.html#l1). */
  id: string;
  title: string;
  /** One line: what the module is about. */
  blurb: string;
}

/** What the site needs to know about one lesson (front-matter plus what its body uses). */
export interface LessonMeta {
  slug: string;
  title: string;
  module: number;
  order: number;
  summary: string;
  objectives: string[];
  minutes: number;
  seeds: string[];
  corrects: number[];
  /** Ids of the `<Lab id="…">` the lesson embeds, in order of appearance. */
  labs: string[];
  /** Number of `<Cell …>` the lesson embeds. */
  cells: number;
}

export interface CourseModule extends ModuleInfo {
  lessons: LessonMeta[];
  /** Sum of the lessons' estimated minutes. */
  minutes: number;
}

export interface Course {
  modules: CourseModule[];
  /** Every lesson in reading order (module, then order, then slug). */
  lessons: LessonMeta[];
}

export class CourseError extends Error {
  override name = 'CourseError';
}

/** Checks content/modules.json: numbers 0…n−1 in order, unique ids, non-empty titles. */
export function validateModules(raw: unknown): ModuleInfo[] {
  if (!Array.isArray(raw)) throw new CourseError('content/modules.json must be an array of modules');
  return raw.map((m, i) => {
    const o = m as Partial<ModuleInfo>;
    if (o.number !== i) throw new CourseError(`content/modules.json: module at index ${i} has number ${String(o.number)}, expected ${i}`);
    if (typeof o.id !== 'string' || !/^[a-z0-9-]+$/.test(o.id)) throw new CourseError(`content/modules.json: module ${i} needs an id like 'l${i}'`);
    if (typeof o.title !== 'string' || !o.title) throw new CourseError(`content/modules.json: module ${i} needs a title`);
    if (typeof o.blurb !== 'string') throw new CourseError(`content/modules.json: module ${i} needs a blurb`);
    return { number: o.number, id: o.id, title: o.title, blurb: o.blurb };
  });
}

/** Reading order: module, then order, then slug (so ties are stable). */
export function compareLessons(a: LessonMeta, b: LessonMeta): number {
  return a.module - b.module || a.order - b.order || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);
}

/**
 * Builds the course from the module list and the lessons. Throws CourseError on a duplicate
 * slug, a lesson in an unknown module, or two lessons with the same order in a module.
 */
export function buildCourse(modules: ModuleInfo[], lessons: LessonMeta[]): Course {
  const numbers = new Set(modules.map((m) => m.number));
  const slugs = new Map<string, LessonMeta>();
  for (const l of lessons) {
    if (!numbers.has(l.module)) throw new CourseError(`lesson '${l.slug}' is in module ${l.module}, which content/modules.json does not list`);
    const dup = slugs.get(l.slug);
    if (dup) throw new CourseError(`two lessons have the slug '${l.slug}' ('${dup.title}' and '${l.title}')`);
    slugs.set(l.slug, l);
  }
  const ordered = [...lessons].sort(compareLessons);
  for (let i = 1; i < ordered.length; i++) {
    const a = ordered[i - 1]!;
    const b = ordered[i]!;
    if (a.module === b.module && a.order === b.order) {
      throw new CourseError(`lessons '${a.slug}' and '${b.slug}' both have order ${a.order} in module ${a.module}`);
    }
  }
  const mods = [...modules]
    .sort((a, b) => a.number - b.number)
    .map((m) => {
      const ls = ordered.filter((l) => l.module === m.number);
      return { ...m, lessons: ls, minutes: ls.reduce((s, l) => s + l.minutes, 0) };
    });
  return { modules: mods, lessons: ordered };
}

/** The lessons before and after `slug` in reading order (across modules). */
export function neighbours(course: Course, slug: string): { prev?: LessonMeta; next?: LessonMeta } {
  const i = course.lessons.findIndex((l) => l.slug === slug);
  if (i < 0) throw new CourseError(`no lesson '${slug}'`);
  return { prev: course.lessons[i - 1], next: course.lessons[i + 1] };
}

/** The module a lesson belongs to. */
export function moduleOf(course: Course, lesson: LessonMeta): CourseModule {
  const m = course.modules.find((x) => x.number === lesson.module);
  if (!m) throw new CourseError(`lesson '${lesson.slug}' has no module ${lesson.module}`);
  return m;
}

/** "L1" for module 1. */
export function moduleLabel(n: number): string {
  return `L${n}`;
}

/** "45 min", "1 h 30 min". */
export function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/**
 * What an MDX body embeds: the ids of `<Lab id="…">` (in order, without repeats) and the number
 * of `<Cell …>` elements. Reads the source text; code fences are skipped so a lesson may show
 * `<Lab id="x" />` as an example without embedding it.
 */
export function scanEmbeds(mdxBody: string): { labs: string[]; cells: number } {
  const text = stripCodeFences(mdxBody);
  const labs: string[] = [];
  for (const m of text.matchAll(/<Lab\b[^>]*?\bid\s*=\s*(?:"([^"]+)"|'([^']+)'|\{\s*["']([^"']+)["']\s*\})/g)) {
    const id = m[1] ?? m[2] ?? m[3];
    if (id && !labs.includes(id)) labs.push(id);
  }
  const cells = [...text.matchAll(/<Cell\b/g)].length;
  return { labs, cells };
}

/** Removes fenced code blocks (``` or ~~~) from Markdown text. */
export function stripCodeFences(md: string): string {
  return md.replace(/^[ \t]*(`{3,}|~{3,})[^\n]*\n[\s\S]*?^[ \t]*\1[ \t]*$/gm, '');
}
