/**
 * grades.csv (DESIGN.md §8): student, lab, score, max, one column per check, status, tampered,
 * error, then notes. RFC 4180 quoting (LF line ends). `gradedItemRow` is the one export of a graded item that
 * the batch and the autograder's results.csv share, so any LMS can import either.
 *
 * Mixed labs in one folder (no --lab): each lab gets its own check columns, named
 * "<lab>#<n>. <name>" so they cannot be confused; an item fills its own lab's columns only.
 * One lab (the usual case): "<n>. <name>".
 */
import { getLabInfo, listLabs } from '../index.ts';
import type { GradedItem } from './grade-item.ts';

export interface CheckColumn {
  lab: string;
  number: string;
  header: string;
}

export function csvCell(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: (string | number)[]): string {
  return cells.map(csvCell).join(',');
}

/** The check columns for the labs of these items, in the registry's lab order. */
export function checkColumns(items: readonly GradedItem[]): CheckColumn[] {
  const present = new Set(items.filter((g) => g.result).map((g) => g.labId));
  const labs = listLabs().filter((l) => present.has(l.id));
  const prefix = labs.length > 1;
  return labs.flatMap((l) => l.checks.map((c) => ({ lab: l.id, number: String(c.number), header: `${prefix ? `${l.id}#` : ''}${c.number}. ${c.name}` })));
}

export function csvHeader(cols: readonly CheckColumn[]): string[] {
  return ['student', 'lab', 'score', 'max', ...cols.map((c) => c.header), 'status', 'tampered', 'error', 'notes'];
}

/** What the instructor should read about an item: its warnings, then the tamper diffs. */
export function itemNotes(g: GradedItem): string {
  return [...g.warnings, ...(g.tampered ? [`tampered: ${g.diffs.join('; ')}`] : [])].join(' | ');
}

/** One graded item as a CSV row under `cols` (cells of other labs' checks stay empty). */
export function gradedItemRow(g: GradedItem, cols: readonly CheckColumn[]): (string | number)[] {
  const r = g.result;
  const checks = cols.map((c) => (r && c.lab === g.labId ? (r.tests.find((t) => t.number === c.number)?.score ?? '') : ''));
  return [g.studentLabel, g.labId, r ? r.score : '', r ? r.max_score : (getLabInfo(g.labId)?.maxScore ?? ''), ...checks, g.status, r ? (g.tampered ? 'yes' : 'no') : '', g.error, itemNotes(g)];
}

export function toCsv(items: readonly GradedItem[]): string {
  const cols = checkColumns(items);
  return [csvHeader(cols), ...items.map((g) => gradedItemRow(g, cols))].map(csvLine).join('\n') + '\n';
}
