/**
 * A line diff for the plain-text fallback of "Show differences" (Monaco's diff editor is used
 * when the editor bundle is loaded). Longest common subsequence over lines (the classic
 * dynamic programme, as in diff(1) before Myers); inputs past MAX_CELLS compare trimmed
 * common prefix/suffix and show the rest as one replaced block, so it never stalls the page.
 */

export type DiffLine = { op: 'same' | 'del' | 'add'; text: string; a?: number; b?: number };

const MAX_CELLS = 4_000_000;

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const out: DiffLine[] = [];
  for (let i = 0; i < pre; i++) out.push({ op: 'same', text: a[i]!, a: i + 1, b: i + 1 });
  const ma = a.slice(pre, a.length - suf);
  const mb = b.slice(pre, b.length - suf);
  if (ma.length * mb.length > MAX_CELLS) {
    ma.forEach((t, i) => out.push({ op: 'del', text: t, a: pre + i + 1 }));
    mb.forEach((t, i) => out.push({ op: 'add', text: t, b: pre + i + 1 }));
  } else {
    // lcs[i][j] = LCS length of ma[i..] and mb[j..]
    const w = mb.length + 1;
    const lcs = new Uint32Array((ma.length + 1) * w);
    for (let i = ma.length - 1; i >= 0; i--) {
      for (let j = mb.length - 1; j >= 0; j--) {
        lcs[i * w + j] = ma[i] === mb[j] ? lcs[(i + 1) * w + j + 1]! + 1 : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < ma.length || j < mb.length) {
      if (i < ma.length && j < mb.length && ma[i] === mb[j]) {
        out.push({ op: 'same', text: ma[i]!, a: pre + i + 1, b: pre + j + 1 });
        i++;
        j++;
      } else if (i < ma.length && (j === mb.length || lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        // Removals before additions, as diff -u prints them.
        out.push({ op: 'del', text: ma[i]!, a: pre + i + 1 });
        i++;
      } else {
        out.push({ op: 'add', text: mb[j]!, b: pre + j + 1 });
        j++;
      }
    }
  }
  for (let k = suf; k > 0; k--) out.push({ op: 'same', text: a[a.length - k]!, a: a.length - k + 1, b: b.length - k + 1 });
  return out;
}

/** Counts for a one-line summary ("12 lines differ: 5 removed, 7 added"). */
export function diffStats(d: DiffLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of d) {
    if (l.op === 'add') added++;
    else if (l.op === 'del') removed++;
  }
  return { added, removed };
}
