import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../lab-engine/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f === 'node' ? [] : files(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('lab-engine purity (DESIGN.md §2, §3)', () => {
  const sources = files(ROOT).map((p) => ({ p, text: readFileSync(p, 'utf8') }));
  it('has sources to check', () => expect(sources.length).toBeGreaterThan(15));
  it('reads no clock and no ambient randomness', () => {
    for (const { p, text } of sources) {
      expect(text, p).not.toMatch(/Date\.now\(|new Date\(|Math\.random\(|performance\.now\(/);
    }
  });
  it('imports nothing from src/, content/ or Node built-ins, and touches no DOM (outside lab-engine/node/)', () => {
    for (const { p, text } of sources) {
      expect(text, p).not.toMatch(/from ['"](node:|fs['"]|path['"]|child_process|worker_threads)/);
      expect(text, p).not.toMatch(/from ['"][./]*\.\.\/(src|content)\//);
      expect(text, p).not.toMatch(/\b(document|window|localStorage)\.[A-Za-z]/);
    }
  });
});
