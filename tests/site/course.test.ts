import { describe, expect, it } from 'vitest';
import modulesJson from '../../content/modules.json';
import { buildCourse, CourseError, formatMinutes, neighbours, scanEmbeds, stripCodeFences, validateModules, type LessonMeta } from '../../src/lib/course.ts';
import { MISCONCEPTIONS, SEED_TITLES } from '../../src/lib/course-notes.ts';
import { buildToc } from '../../src/lib/toc.ts';

const lesson = (slug: string, module: number, order: number, extra: Partial<LessonMeta> = {}): LessonMeta => ({
  slug, title: slug, module, order, summary: '', objectives: [], minutes: 10, seeds: [], corrects: [], labs: [], cells: 0, ...extra,
});

describe('content/modules.json', () => {
  it('lists the seven modules of SYLLABUS.md in order', () => {
    const mods = validateModules(modulesJson);
    expect(mods.map((m) => m.number)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(mods.map((m) => m.id)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
    expect(mods[1]!.title).toBe('Device emulation');
    expect(mods[5]!.title).toBe('SR-IOV');
    for (const m of mods) expect(m.blurb.length).toBeGreaterThan(20);
  });
  it('rejects a module list out of order', () => {
    expect(() => validateModules([{ number: 1, id: 'l1', title: 't', blurb: '' }])).toThrow(CourseError);
  });
});

describe('buildCourse', () => {
  const mods = validateModules(modulesJson);
  it('orders lessons by module then order, and finds neighbours across modules', () => {
    const c = buildCourse(mods, [lesson('b', 1, 2), lesson('z', 0, 1), lesson('a', 1, 1)]);
    expect(c.lessons.map((l) => l.slug)).toEqual(['z', 'a', 'b']);
    expect(c.modules[1]!.lessons.map((l) => l.slug)).toEqual(['a', 'b']);
    expect(c.modules[1]!.minutes).toBe(20);
    expect(c.modules[2]!.lessons).toEqual([]);
    expect(neighbours(c, 'a').prev?.slug).toBe('z');
    expect(neighbours(c, 'a').next?.slug).toBe('b');
    expect(neighbours(c, 'z').prev).toBeUndefined();
    expect(neighbours(c, 'b').next).toBeUndefined();
  });
  it('refuses duplicate slugs, unknown modules and equal orders', () => {
    expect(() => buildCourse(mods, [lesson('a', 1, 1), lesson('a', 2, 1)])).toThrow(/slug 'a'/);
    expect(() => buildCourse(mods, [lesson('a', 9, 1)])).toThrow(/module 9/);
    expect(() => buildCourse(mods, [lesson('a', 1, 1), lesson('b', 1, 1)])).toThrow(/both have order 1/);
  });
});

describe('scanEmbeds', () => {
  it('finds labs and cells, not the ones shown in code', () => {
    const body = [
      '<Cell id="c1" title="x" code={a} />',
      '<Lab id="emulated-nic" />',
      '```mdx',
      '<Lab id="not-embedded" />',
      '<Cell id="nope" />',
      '```',
      "<Lab id='emulated-nic' />",
      '<Lab id={"virtio-backend"} />',
    ].join('\n');
    expect(scanEmbeds(body)).toEqual({ labs: ['emulated-nic', 'virtio-backend'], cells: 1 });
  });
  it('strips fenced code of any length', () => {
    expect(stripCodeFences('a\n````ts\n```\nx\n````\nb')).toBe('a\n\nb');
  });
});

describe('small helpers', () => {
  it('formats minutes', () => {
    expect(formatMinutes(45)).toBe('45 min');
    expect(formatMinutes(60)).toBe('1 h');
    expect(formatMinutes(95)).toBe('1 h 35 min');
  });
  it('has a label for every seed and every CALIBRATION §5 misconception', () => {
    expect(Object.keys(SEED_TITLES)).toEqual(['000', '001', '002', '003', '004']);
    expect(Object.keys(MISCONCEPTIONS).map(Number)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });
  it('nests h3 under h2 in the table of contents', () => {
    const toc = buildToc([
      { depth: 3, slug: 'early', text: 'Early' },
      { depth: 2, slug: 'a', text: 'A' },
      { depth: 3, slug: 'a1', text: 'A1' },
      { depth: 4, slug: 'deep', text: 'Deep' },
      { depth: 2, slug: 'b', text: 'B' },
    ]);
    expect(toc).toEqual([
      { id: 'early', text: 'Early', children: [] },
      { id: 'a', text: 'A', children: [{ id: 'a1', text: 'A1', children: [] }] },
      { id: 'b', text: 'B', children: [] },
    ]);
  });
});
