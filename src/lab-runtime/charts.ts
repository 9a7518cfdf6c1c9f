/**
 * Charts with chart.js (tree-shaken: only the controllers and scales used). Every chart is a
 * <figure> with a caption, a one-line summary computed from the data, and a data table behind a
 * <details> (DESIGN.md §5). Colours come from CSS custom properties, so light and dark themes
 * both read well; charts are recoloured when the theme changes. No animation when the reader
 * prefers reduced motion.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartDataset,
  type ScaleOptions,
} from 'chart.js';
import type { Metrics, PlotSpec } from '../../lab-engine/index.ts';
import { h, lazyDetails, prefersReducedMotion, table } from './dom.ts';
import { latencyWhat, CONTEXT_LABELS, CPU_CONTEXTS, cpuSummary, duration, exitLabel, exitsSummary, latencySummary, num, plotSummary, si, throughputSummary } from './summaries.ts';

Chart.register(LineController, BarController, LineElement, PointElement, BarElement, LinearScale, LogarithmicScale, CategoryScale, Filler, Legend, Tooltip);

const live = new Set<Chart>();

interface Theme {
  text: string;
  muted: string;
  grid: string;
  series: string[];
}

function readTheme(el: Element): Theme {
  const cs = getComputedStyle(el);
  const v = (name: string, fallback: string): string => cs.getPropertyValue(name).trim() || fallback;
  const series: string[] = [];
  const fallback = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#6a3d9a'];
  for (let i = 1; i <= 9; i++) series.push(v(`--iov-series-${i}`, fallback[i - 1]!));
  return { text: v('--iov-chart-text', cs.color || '#222'), muted: v('--iov-chart-muted', '#666'), grid: v('--iov-chart-grid', 'rgba(128,128,128,0.25)'), series };
}

function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

/** Keep at most `max` points: average neighbouring buckets (the series are already bucketed). */
export function downsample(xs: number[], ys: number[][], max: number): { xs: number[]; ys: number[][] } {
  if (xs.length <= max) return { xs, ys };
  const k = Math.ceil(xs.length / max);
  const nx: number[] = [];
  const ny: number[][] = ys.map(() => []);
  for (let i = 0; i < xs.length; i += k) {
    nx.push(xs[i]!);
    ys.forEach((y, j) => {
      const part = y.slice(i, i + k);
      ny[j]!.push(part.reduce((a, b) => a + b, 0) / part.length);
    });
  }
  return { xs: nx, ys: ny };
}

interface FigureSpec {
  title: string;
  summary: string;
  config: (theme: Theme) => ChartConfiguration;
  columns: string[];
  rows: () => (string | number)[][];
  height?: number;
  /** Extra class for tests and styling, e.g. 'iov-fig-exits'. */
  cls?: string;
}

/** Build a figure and draw its chart once it is in the document. */
export function figure(spec: FigureSpec): HTMLElement {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${spec.title}. ${spec.summary}` });
  const narrow = typeof innerWidth === 'number' && innerWidth < 600;
  const box = h('div', { class: 'iov-chart', style: `height:${(spec.height ?? 230) + (narrow ? 60 : 0)}px` }, canvas);
  const fig = h(
    'figure',
    { class: `iov-fig ${spec.cls ?? ''}` },
    h('figcaption', {}, h('span', { class: 'iov-fig-title' }, spec.title), ' ', h('span', { class: 'iov-summary' }, spec.summary)),
    box,
    lazyDetails('Data table', () => table(spec.columns, spec.rows())),
  );
  const draw = (): void => {
    const theme = readTheme(fig);
    const config = spec.config(theme);
    const chart = new Chart(canvas, config);
    (chart as unknown as { iovConfig: FigureSpec['config'] }).iovConfig = spec.config;
    live.add(chart);
  };
  // Draw when attached (the caller appends the figure right away).
  queueMicrotask(() => {
    if (fig.isConnected) draw();
    else requestAnimationFrame(() => fig.isConnected && draw());
  });
  return fig;
}

/** Destroy the charts inside `root` (before its output is replaced). */
export function destroyCharts(root: Element): void {
  for (const c of [...live]) {
    if (root.contains(c.canvas)) {
      c.destroy();
      live.delete(c);
    }
  }
}

function recolourAll(): void {
  for (const c of [...live]) {
    if (!c.canvas.isConnected) {
      c.destroy();
      live.delete(c);
      continue;
    }
    const make = (c as unknown as { iovConfig?: FigureSpec['config'] }).iovConfig;
    if (!make) continue;
    const fresh = make(readTheme(c.canvas));
    c.options = fresh.options ?? {};
    fresh.data.datasets.forEach((d, i) => {
      const cur = c.data.datasets[i];
      if (cur) Object.assign(cur, { borderColor: d.borderColor, backgroundColor: d.backgroundColor });
    });
    c.update('none');
  }
}

let watching = false;
/** Recolour charts when the site switches theme or the OS does; honour reduced motion. */
export function watchTheme(): void {
  if (watching) return;
  watching = true;
  Chart.defaults.animation = prefersReducedMotion() ? false : { duration: 250 };
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  const mo = new MutationObserver(() => requestAnimationFrame(recolourAll));
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'data-theme', 'style'] });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => requestAnimationFrame(recolourAll));
  matchMedia('(prefers-reduced-motion: reduce)').addEventListener('change', (e) => {
    Chart.defaults.animation = e.matches ? false : { duration: 250 };
  });
}

function axis(theme: Theme, title: string, extra: Record<string, unknown> = {}): ScaleOptions {
  return {
    title: { display: true, text: title, color: theme.text },
    ticks: { color: theme.muted, maxRotation: 0, autoSkipPadding: 8 },
    grid: { color: theme.grid },
    border: { color: theme.grid },
    ...extra,
  } as ScaleOptions;
}

function baseOptions(theme: Theme): ChartConfiguration['options'] {
  return {
    responsive: true,
    maintainAspectRatio: false,
    normalized: true,
    interaction: { mode: 'index', intersect: false },
    color: theme.text,
    plugins: {
      legend: { position: 'bottom', labels: { color: theme.text, boxWidth: 12, boxHeight: 12, padding: 10 } },
      tooltip: { enabled: true },
    },
  };
}

// ── Lab run charts ───────────────────────────────────────────────────────────────────────────

/** Time axis in µs (or ms for long windows), from the bucket start times in ns. */
function timeAxis(m: Metrics): { xs: number[]; unit: 'µs' | 'ms' } {
  const unit = m.windowNs > 5e6 ? 'ms' : 'µs';
  const div = unit === 'ms' ? 1e6 : 1e3;
  return { xs: m.series.t.map((t) => t / div), unit };
}

/** Lab series are bucketed finely (10 µs); about 60 points read better and keep the trend. */
const MAX_POINTS = 64;

function timeSeriesFigure(
  m: Metrics,
  opts: { title: string; summary: string; yTitle: string; stacked: boolean; series: { label: string; values: number[]; colour?: number }[]; yTick?: (v: number) => string; cls: string; scale?: number; tableUnit: string },
): HTMLElement {
  const { xs: rawX, unit } = timeAxis(m);
  const { xs, ys } = downsample(rawX, opts.series.map((s) => s.values.map((v) => v * (opts.scale ?? 1))), MAX_POINTS);
  return figure({
    title: opts.title,
    summary: opts.summary,
    cls: opts.cls,
    columns: [`time (${unit})`, ...opts.series.map((s) => `${s.label} (${opts.tableUnit})`)],
    rows: () => xs.map((x, i) => [Number(x.toFixed(3)), ...ys.map((y) => Number((y[i] ?? 0).toPrecision(4)))]),
    config: (theme) => ({
      type: 'line',
      data: {
        labels: xs,
        datasets: opts.series.map((s, i): ChartDataset => {
          const c = theme.series[(s.colour ?? i) % theme.series.length]!;
          return {
            label: s.label,
            data: ys[i]!.map((y, j) => ({ x: xs[j]!, y })),
            borderColor: c,
            backgroundColor: opts.stacked ? withAlpha(c, 0.55) : withAlpha(c, 0.15),
            fill: opts.stacked ? (i === 0 ? 'origin' : '-1') : false,
            borderWidth: opts.stacked ? 1 : 2,
            pointRadius: 0,
            stepped: opts.stacked ? 'before' : false,
            tension: 0,
          } as ChartDataset;
        }),
      },
      options: {
        ...baseOptions(theme),
        scales: {
          x: axis(theme, `time since traffic start (${unit})`, { type: 'linear', min: xs[0], max: xs[xs.length - 1] }),
          y: axis(theme, opts.yTitle, { stacked: opts.stacked, beginAtZero: true, ticks: { color: theme.muted, callback: (v: number | string) => (opts.yTick ? opts.yTick(Number(v)) : String(v)) } }),
        },
        plugins: {
          ...baseOptions(theme)!.plugins,
          legend: { display: opts.series.length > 1, position: 'bottom', labels: { color: theme.text, boxWidth: 12, boxHeight: 12, padding: 10 } },
        },
      },
    }),
  });
}

export function exitsFigure(m: Metrics): HTMLElement {
  const reasons = Object.entries(m.series.exitsPerSec)
    .filter((e): e is [string, number[]] => Array.isArray(e[1]) && e[1].some((v) => v > 0))
    .sort((a, b) => (m.counters.exits[b[0] as keyof typeof m.counters.exits] ?? 0) - (m.counters.exits[a[0] as keyof typeof m.counters.exits] ?? 0));
  return timeSeriesFigure(m, {
    title: 'VM exits per second, by exit reason',
    summary: exitsSummary(m),
    yTitle: 'exits/s (stacked)',
    stacked: true,
    series: reasons.map(([r, v]) => ({ label: exitLabel(r), values: v })),
    yTick: (v) => si(v).trim(),
    cls: 'iov-fig-exits',
    tableUnit: 'exits/s',
  });
}

export function throughputFigure(m: Metrics): HTMLElement {
  return timeSeriesFigure(m, {
    title: 'Throughput',
    summary: throughputSummary(m),
    yTitle: 'Gbit/s',
    stacked: false,
    series: [{ label: 'throughput', values: m.series.throughputGbps }],
    yTick: (v) => num(v),
    cls: 'iov-fig-throughput',
    tableUnit: 'Gbit/s',
  });
}

/** Index into the theme's series colours per context, shared with the swimlane (lab.css). */
const CONTEXT_COLOUR: Record<string, number> = { guest: 0, kvm: 1, qemu: 2, 'host-kernel': 3, wire: 4, vhost: 6, poll: 7, nic: 8 };

export function cpuFigure(m: Metrics): HTMLElement {
  return timeSeriesFigure(m, {
    title: 'CPU busy by context',
    summary: cpuSummary(m),
    yTitle: '% of one core (stacked)',
    stacked: true,
    // Only the contexts that worked, each in its own fixed colour (the swimlane's lane colour).
    series: CPU_CONTEXTS.filter((c) => (m.series.cpu[c] ?? []).some((v) => v > 0)).map((c) => ({ label: CONTEXT_LABELS[c], values: m.series.cpu[c] ?? [], colour: CONTEXT_COLOUR[c] })),
    scale: 100,
    yTick: (v) => `${num(v)}%`,
    cls: 'iov-fig-cpu',
    tableUnit: '%',
  });
}

export function latencyFigure(m: Metrics): HTMLElement | null {
  const l = m.latency;
  if (!l) return null;
  const { edgesNs, counts } = l.histogram;
  let lo = counts.findIndex((c) => c > 0);
  let hi = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
  if (lo < 0) {
    lo = 0;
    hi = counts.length - 1;
  }
  const labels = counts.slice(lo, hi + 1).map((_, i) => `${duration(edgesNs[lo + i]!)}–${duration(edgesNs[lo + i + 1] ?? edgesNs[lo + i]!)}`);
  const values = counts.slice(lo, hi + 1);
  return figure({
    title: `Latency (${latencyWhat(m).span})`,
    summary: latencySummary(m),
    cls: 'iov-fig-latency',
    columns: ['latency bucket', latencyWhat(m).unit],
    rows: () => labels.map((b, i) => [b, values[i]!]),
    config: (theme) => ({
      type: 'bar',
      data: { labels, datasets: [{ label: latencyWhat(m).unit, data: values, backgroundColor: withAlpha(theme.series[0]!, 0.7), borderColor: theme.series[0]!, borderWidth: 1 }] },
      options: {
        ...baseOptions(theme),
        plugins: { ...baseOptions(theme)!.plugins, legend: { display: false } },
        scales: { x: axis(theme, 'latency (log-spaced buckets)'), y: axis(theme, latencyWhat(m).unit, { beginAtZero: true }) },
      },
    }),
  });
}

// ── Cell plots ───────────────────────────────────────────────────────────────────────────────

/** Break a long category label into lines of about `width` characters (chart.js draws arrays as lines). */
export function wrapLabel(label: string, width = 16): string | string[] {
  if (label.length <= width) return label;
  const lines: string[] = [];
  let cur = '';
  for (const word of label.split(/\s+/)) {
    if (cur && (cur + ' ' + word).length > width) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** Log-axis ticks: label only 1, 2 and 5 × 10^k, in SI units. */
function logTick(v: number | string): string {
  const n = Number(v);
  if (!(n > 0)) return '';
  const m = n / 10 ** Math.floor(Math.log10(n) + 1e-9);
  return [1, 2, 5].some((k) => Math.abs(m - k) < 1e-6) ? si(n).trim() : '';
}

export function plotFigure(spec: PlotSpec, index: number): HTMLElement {
  const numericX = spec.x.values.every((v) => typeof v === 'number');
  const linearX = spec.type === 'line' && numericX;
  const hasY2 = spec.series.some((s) => s.axis === 'y2');
  return figure({
    title: spec.title,
    summary: plotSummary(spec),
    cls: `iov-fig-plot iov-fig-plot-${index}`,
    columns: [spec.x.label, ...spec.series.map((s) => s.label)],
    rows: () => spec.x.values.map((x, i) => [x, ...spec.series.map((s) => s.values[i] ?? '')]),
    config: (theme) => ({
      type: spec.type,
      data: {
        labels: spec.x.values.map((v) => (typeof v === 'number' ? num(v) : wrapLabel(v))),
        datasets: spec.series.map((s, i) => {
          const c = theme.series[i % theme.series.length]!;
          return {
            label: s.label,
            data: linearX ? s.values.map((y, j) => ({ x: spec.x.values[j] as number, y })) : s.values,
            borderColor: c,
            backgroundColor: spec.type === 'bar' ? withAlpha(c, 0.7) : c,
            borderWidth: spec.type === 'bar' ? 1 : 2,
            pointRadius: spec.type === 'line' && spec.x.values.length <= 40 ? 3 : 0,
            yAxisID: s.axis === 'y2' ? 'y2' : 'y',
          } as ChartDataset;
        }),
      },
      options: {
        ...baseOptions(theme),
        scales: {
          x: axis(theme, spec.x.label, linearX ? { type: 'linear' } : spec.x.values.length <= 12 ? { ticks: { color: theme.muted, autoSkip: false, maxRotation: 0 } } : {}),
          y: axis(theme, spec.y.label + (hasY2 ? ' (left)' : ''), spec.y.log ? { type: 'logarithmic', ticks: { color: theme.muted, callback: logTick } } : { beginAtZero: spec.y.zero !== false }),
          ...(hasY2 && spec.y2
            ? { y2: axis(theme, `${spec.y2.label} (right)`, { position: 'right', grid: { drawOnChartArea: false, color: theme.grid }, ...(spec.y2.log ? { type: 'logarithmic', ticks: { color: theme.muted, callback: logTick } } : { beginAtZero: spec.y2.zero !== false }) }) }
            : {}),
        },
      },
    }),
  });
}
