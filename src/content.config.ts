/**
 * Content collections: the lessons (MDX, one folder per module under content/lessons/) and the
 * glossary (content/glossary/terms.json, an array of terms).
 *
 * `IOVLAB_CONTENT_DIR` (default `./content`) points the site at another content folder; the
 * site's own tests use it to build against fixtures.
 */
import { defineCollection } from 'astro:content';
import { glob, type Loader } from 'astro/loaders';
import { z } from 'astro/zod';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_DIR = process.env.IOVLAB_CONTENT_DIR || './content';

/** A lesson's front-matter. Every field is checked at build time; a bad lesson fails the build. */
export const lessonSchema = z.object({
  /** Page title, also shown in the module sidebar, on the home page and in search results. */
  title: z.string().min(1),
  /** Module number 0–6 as in content/modules.json and SYLLABUS.md (L0 … L6). */
  module: z.number().int().min(0).max(6),
  /** Position inside the module (ascending); previous/next links follow module, then order. */
  order: z.number().int(),
  /**
   * URL name of the page: the lesson is built at `lessons/<slug>/index.html`. Lowercase words
   * joined by hyphens, e.g. 'l1-device-emulation'. Unique across the course.
   */
  slug: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'slug must be lowercase words joined by hyphens'),
  /** One or two sentences: what the lesson is about (home page, search, meta description). */
  summary: z.string().min(1),
  /** What the learner can do after the lesson ("Trace one packet through …"), in order. */
  objectives: z.array(z.string().min(1)),
  /** Estimated time to work through the lesson, including its cells and lab, in minutes. */
  minutes: z.number().int().positive(),
  /** Seed files the lesson covers, by their number prefix: ['000', '004'] (see seeds/README.md). */
  seeds: z.array(z.string().regex(/^\d{3}$/, 'a seed is named by its three-digit prefix, e.g. "004"')).default([]),
  /** Misconceptions the lesson corrects, by their number in CALIBRATION.md §5. */
  corrects: z.array(z.number().int().positive()).default([]),
});

export type LessonData = z.infer<typeof lessonSchema>;

/** One glossary term (content/glossary/terms.json is an array of these). */
export const glossarySchema = z.object({
  /** Anchor on the glossary page (`glossary/index.html#<id>`) and the `id` of `<Term id>`. */
  id: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'id must be lowercase words joined by hyphens'),
  /** The English term as the course writes it, e.g. 'VM exit'. */
  term: z.string().min(1),
  /** The Chinese term the seeds use, e.g. '虚拟机退出'. */
  zh: z.string().default(''),
  /** One short paragraph: what the term means in this course. */
  definition: z.string().min(1),
  /** Ids of related terms, linked from the entry. */
  seeAlso: z.array(z.string()).default([]),
});

export type GlossaryData = z.infer<typeof glossarySchema>;

/**
 * Loads an array of objects with an `id` from a JSON file, like `file()` from astro/loaders, but
 * a missing file is an empty collection (the glossary arrives after the site does).
 */
function optionalJsonArray(path: string): Loader {
  return {
    name: 'iovlab-optional-json-array',
    async load({ store, parseData, logger, watcher, config }) {
      const abs = resolve(fileURLToPath(config.root), path);
      const sync = async () => {
        store.clear();
        if (!existsSync(abs)) {
          logger.info(`${path} not found: the collection is empty`);
          return;
        }
        const data: unknown = JSON.parse(readFileSync(abs, 'utf8'));
        if (!Array.isArray(data)) throw new Error(`${path} must hold a JSON array`);
        const seen = new Set<string>();
        for (const raw of data as Record<string, unknown>[]) {
          const id = String(raw?.id ?? '');
          if (!id) throw new Error(`${path}: an item has no id: ${JSON.stringify(raw).slice(0, 80)}`);
          if (seen.has(id)) throw new Error(`${path}: duplicate id '${id}'`);
          seen.add(id);
          store.set({ id, data: await parseData({ id, data: raw, filePath: abs }) });
        }
      };
      await sync();
      watcher?.add(abs);
      watcher?.on('change', (p) => {
        if (p === abs) void sync();
      });
    },
  };
}

const lessons = defineCollection({
  loader: glob({ base: `${CONTENT_DIR}/lessons`, pattern: '**/*.mdx' }),
  schema: lessonSchema,
});

const glossary = defineCollection({
  loader: optionalJsonArray(`${CONTENT_DIR}/glossary/terms.json`),
  schema: glossarySchema,
});

export const collections = { lessons, glossary };
