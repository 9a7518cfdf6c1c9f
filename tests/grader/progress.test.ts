/** The batch progress bar (lab-engine/node/progress.ts): redrawn with \r on a TTY, a line per ~10 % otherwise. */
import { describe, expect, it } from 'vitest';
import { Progress } from '../../lab-engine/node/progress.ts';

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, s: { isTTY, columns: 100, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WriteStream };
}

describe('Progress', () => {
  it('on a terminal: one \\r-redrawn bar per item, a newline at the end', () => {
    const { chunks, s } = stream(true);
    const p = new Progress(4, s);
    for (let i = 0; i < 4; i++) p.tick(`item${i}.json`);
    expect(chunks.filter((c) => c.startsWith('\r'))).toHaveLength(4);
    expect(chunks[1]).toMatch(/^\r\[#{15} {15}\] 2\/4 item1\.json/);
    expect(chunks.at(-1)).toBe('\n');
  });

  it('in a log: a line each time another tenth is done, always the last one', () => {
    const { chunks, s } = stream(false);
    const p = new Progress(95, s);
    for (let i = 0; i < 95; i++) p.tick();
    expect(chunks.every((c) => /^graded \d+\/95 \(\d+%\)\n$/.test(c))).toBe(true);
    expect(chunks.length).toBe(10);
    expect(chunks.at(-1)).toBe('graded 95/95 (100%)\n');
    const { chunks: few, s: s2 } = stream(false);
    const q = new Progress(3, s2);
    for (let i = 0; i < 3; i++) q.tick();
    expect(few).toEqual(['graded 1/3 (33%)\n', 'graded 2/3 (66%)\n', 'graded 3/3 (100%)\n']);
  });
});
