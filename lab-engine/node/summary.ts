/** The table printed after a folder batch: counts, then per lab the score spread and per-check pass rates. */
import { getLabInfo } from '../index.ts';
import type { GradedItem } from './grade-item.ts';

export interface BatchCounts {
  items: number;
  graded: number;
  compileErrors: number;
  errors: number;
  tampered: number;
  skipped: number;
}

export function countItems(items: readonly GradedItem[], skipped: number): BatchCounts {
  return {
    items: items.length,
    graded: items.filter((g) => g.status === 'graded').length,
    compileErrors: items.filter((g) => g.status === 'compile-error').length,
    errors: items.filter((g) => g.status === 'error').length,
    tampered: items.filter((g) => g.tampered).length,
    skipped,
  };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const fmt = (x: number): string => (Number.isNaN(x) ? '-' : String(Math.round(x * 10) / 10));

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd()).join('\n');
}

export function summaryText(items: readonly GradedItem[], skipped: number): string {
  const c = countItems(items, skipped);
  const lines = [
    table([
      ['items', 'graded', 'compile errors', 'errors', 'tampered', 'skipped'],
      [c.items, c.graded, c.compileErrors, c.errors, c.tampered, c.skipped].map(String),
    ]),
  ];
  const labs = [...new Set(items.filter((g) => g.result).map((g) => g.labId))];
  for (const lab of labs) {
    const info = getLabInfo(lab)!;
    const withResult = items.filter((g) => g.result && g.labId === lab);
    const scores = withResult.map((g) => g.result!.score);
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    lines.push('', `${lab}: ${withResult.length} scored, mean ${fmt(mean)}/${info.maxScore}, median ${fmt(median(scores))}/${info.maxScore}`);
    const rows = [['check', 'points', 'passed', 'pass rate']];
    for (const ch of info.checks) {
      const passed = withResult.filter((g) => g.result!.tests.find((t) => t.number === String(ch.number))?.status === 'passed').length;
      rows.push([`${ch.number}. ${ch.name}`, String(ch.points), `${passed}/${withResult.length}`, `${Math.round((passed / withResult.length) * 100)}%`]);
    }
    lines.push(table(rows));
  }
  return lines.join('\n');
}
