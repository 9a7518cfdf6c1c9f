/** The instructor guide (src/pages/instructors/): linked from About, relative links, every command it teaches exists. */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listLabs } from '../../lab-engine/index.ts';
import { ROOT } from './kit.ts';

const page = readFileSync(join(ROOT, 'src/pages/instructors/index.astro'), 'utf8');
const built = join(ROOT, 'dist/instructors/index.html');

describe('instructor guide', () => {
  it('is a BaseLayout page linked from the about page with a relative link (works from file://)', () => {
    expect(page).toMatch(/import BaseLayout from '\.\.\/\.\.\/layouts\/BaseLayout\.astro'/);
    const about = readFileSync(join(ROOT, 'src/pages/about/index.astro'), 'utf8');
    expect(about).toContain("hrefFrom(Astro.url, 'instructors/index.html')");
    expect(page).not.toMatch(/href="\//);
  });

  it('teaches only commands and options that exist', () => {
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    for (const m of page.matchAll(/\.\/iov ([\w:]+)/g)) expect(scripts[m[1]!] ?? (m[1] === 'start' || m[1] === 'test' ? 'wrapper' : undefined), m[1]).toBeDefined();
    const usage = readFileSync(join(ROOT, 'lab-engine/node/args.ts'), 'utf8');
    for (const opt of ['--lab', '--json', '--seed-salt', '--out', '--jobs']) {
      expect(page).toContain(opt);
      expect(usage).toContain(opt);
    }
    for (const col of ['student', 'lab', 'score', 'max', 'status', 'tampered', 'error', 'notes']) expect(page).toContain(`<code>${col}</code>`);
  });

  it.runIf(existsSync(built))('the built page lists every lab of the registry and links back relatively', () => {
    const html = readFileSync(built, 'utf8');
    for (const l of listLabs()) expect(html, l.id).toContain(`<code>${l.id}</code>`);
    expect(html).toContain('href="../about/index.html"');
    // No word glued to inline code or bold text (whitespace lost at a source line break).
    expect(html.replace(/<pre[\s\S]*?<\/pre>/g, '')).not.toMatch(/[A-Za-z]<(code|strong)>|<\/(code|strong)>[A-Za-z]/);
    expect(readFileSync(join(ROOT, 'dist/about/index.html'), 'utf8')).toContain('href="../instructors/index.html"');
  });
});
