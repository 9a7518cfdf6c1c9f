/** Content integrity: glossary references resolve, lessons cover what the syllabus asks. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../content/', import.meta.url).pathname;
const mdx = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? mdx(join(dir, f)) : f.endsWith('.mdx') ? [join(dir, f)] : []));
const lessons = mdx(join(ROOT, 'lessons')).map((p) => ({ p, text: readFileSync(p, 'utf8') }));
const terms: { id: string; term: string; zh: string; definition: string; seeAlso?: string[] }[] = JSON.parse(readFileSync(join(ROOT, 'glossary/terms.json'), 'utf8'));
const ids = new Set(terms.map((t) => t.id));

describe('content', () => {
  it('has lessons L0 and L1', () => {
    expect(lessons.map((l) => /slug: (\S+)/.exec(l.text)?.[1]).sort()).toEqual(expect.arrayContaining(['l0-where-io-fits', 'l1-device-emulation']));
  });

  it('every <Term id> and every seeAlso names a glossary entry', () => {
    for (const { p, text } of lessons) for (const m of text.matchAll(/<Term id="([^"]+)"/g)) expect(ids.has(m[1]!), `${p}: ${m[1]}`).toBe(true);
    for (const t of terms) for (const s of t.seeAlso ?? []) expect(ids.has(s), `${t.id} → ${s}`).toBe(true);
  });

  it('glossary entries are complete and ids unique', () => {
    expect(ids.size).toBe(terms.length);
    for (const t of terms) {
      expect(t.id).toMatch(/^[a-z0-9-]+$/);
      expect(t.term.length * t.zh.length * t.definition.length, t.id).toBeGreaterThan(0);
    }
  });

  it('the syllabus glossary terms are all present (English ↔ 中文)', () => {
    const zh = terms.map((t) => t.zh).join(' ');
    for (const w of ['仿真', '半虚拟化', '直通', '单根', '物理功能', '虚拟功能', '裸金属', '宿主', '虚拟机退出', '热迁移', '容器', '轮询', '共享内存', '智能网卡', '卸载']) {
      expect(zh, w).toContain(w);
    }
  });

  it('L1 embeds the emulated-nic lab and both required cells; L0 and L1 correct #9 and #10', () => {
    const l1 = lessons.find((l) => l.text.includes('slug: l1-device-emulation'))!.text;
    expect(l1).toMatch(/<Lab id="emulated-nic"/);
    expect(l1).toMatch(/cells\/l1-exits-vs-size\.ts\?raw/);
    expect(l1).toMatch(/cells\/l1-itr\.ts\?raw/);
    expect(l1).toMatch(/corrects: \[10\]/);
    expect(lessons.find((l) => l.text.includes('slug: l0-where-io-fits'))!.text).toMatch(/corrects: \[9\]/);
  });
});
