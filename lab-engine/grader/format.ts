/** The grade as text: what the CLI prints and the browser can show verbatim (DESIGN.md §8). */
import type { GradeResult } from '../labs/types.ts';

export function formatGradeText(r: GradeResult): string {
  const lines: string[] = [];
  const mode = r.iovlab.mode === 'check' ? 'Check (practice, public seeds; no score recorded)' : 'Grade';
  lines.push(`Lab ${r.iovlab.lab} · ${mode} · seeds ${r.iovlab.seeds.join(', ')}`);
  for (const t of r.tests) {
    const mark = t.status === 'passed' ? 'PASS' : 'FAIL';
    lines.push(`${t.number.padStart(2)}. [${mark}] ${String(t.score).padStart(2)}/${t.max_score}  ${t.name}`);
    if (t.status !== 'passed') for (const l of t.output.split('\n')) lines.push(`      ${l}`);
  }
  for (const b of r.leaderboard ?? []) lines.push(`${b.name}: ${b.value}`);
  lines.push(`Score: ${r.score}/${r.max_score}`);
  return lines.join('\n');
}
