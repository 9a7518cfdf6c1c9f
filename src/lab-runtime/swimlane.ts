/**
 * The swimlane view of a run's trace: one lane per execution context (TraceEvent.lane), a box
 * from t to t+dur for every event, labelled when it is wide enough and with a tooltip always.
 * It shows the first packets (the trace is bounded), scrolls horizontally and zooms; clicking a
 * box highlights every event of the same packet. An SVG, so text stays sharp at every zoom.
 */
import type { TraceEvent } from '../../lab-engine/index.ts';
import { clear, h, lazyDetails, s, table } from './dom.ts';
import { duration } from './summaries.ts';

const LANE_ORDER = ['guest', 'kvm', 'qemu', 'vhost', 'host-kernel', 'poll', 'nic', 'wire', 'peer'];
const LANE_LABELS: Record<string, string> = { guest: 'guest vCPU', kvm: 'KVM', qemu: 'QEMU', vhost: 'vhost worker', 'host-kernel': 'host kernel', poll: 'poll-mode core', nic: 'NIC DMA engine', wire: 'wire', peer: 'peer' };
const LANE_H = 30;
const AXIS_H = 24;
const CHAR_W = 6.6;

/**
 * The window that shows the first `packets` packets: from a little before the first event of
 * packet 0 to the end of the last event of packet `packets − 1`, with every event (of any packet,
 * or of none) that overlaps it. Without packet numbers in the trace: the whole trace.
 */
export function firstPackets(trace: TraceEvent[], packets: number): { events: TraceEvent[]; startNs: number; endNs: number } {
  let start = Infinity;
  let end = 0;
  for (const e of trace) {
    if (e.pkt !== undefined && e.pkt < packets) {
      start = Math.min(start, e.t);
      end = Math.max(end, e.t + e.dur);
    }
  }
  if (start === Infinity) {
    start = trace.reduce((a, e) => Math.min(a, e.t), Infinity);
    end = trace.reduce((a, e) => Math.max(a, e.t + e.dur), 0);
    if (start === Infinity) start = 0;
  } else {
    start = Math.max(0, start - Math.max(500, (end - start) * 0.02));
  }
  const events = trace.filter((e) => e.t <= end && e.t + e.dur >= start);
  return { events, startNs: start, endNs: Math.max(end, start + 1) };
}

/** A "nice" tick step (1, 2 or 5 × 10^k ns) so that ticks are at least `minPx` apart. */
export function tickStep(pxPerNs: number, minPx = 90): number {
  const raw = minPx / pxPerNs;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function truncate(text: string, px: number): string | null {
  const n = Math.floor((px - 6) / CHAR_W);
  if (n < 3) return null;
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

export function swimlane(trace: TraceEvent[], totalPackets: number): HTMLElement {
  const root = h('section', { class: 'iov-swimlane', 'aria-label': 'Trace of the first packets' });
  if (trace.length === 0) {
    root.append(h('p', {}, 'The run recorded no trace events.'));
    return root;
  }
  const maxPkt = trace.reduce((a, e) => (e.pkt !== undefined ? Math.max(a, e.pkt + 1) : a), 0);
  let packets = Math.min(3, Math.max(1, maxPkt));
  let pxPerNs = 0;
  let selected: number | undefined;

  const select = h('select', { 'aria-label': 'How many packets to show' });
  for (const n of [1, 3, 10, 30]) if (n <= Math.max(1, maxPkt) || n === 1) select.append(h('option', { value: n, selected: n === packets }, `first ${n} packet${n === 1 ? '' : 's'}`));
  select.append(h('option', { value: 1e9 }, `all recorded (${trace.length} events)`));
  const zoomIn = h('button', { type: 'button', class: 'iov-btn iov-btn-small', 'aria-label': 'Zoom in' }, '+');
  const zoomOut = h('button', { type: 'button', class: 'iov-btn iov-btn-small', 'aria-label': 'Zoom out' }, '−');
  const fit = h('button', { type: 'button', class: 'iov-btn iov-btn-small' }, 'Fit');
  const info = h('p', { class: 'iov-swim-info', 'aria-live': 'polite' });
  const labels = h('div', { class: 'iov-swim-labels', 'aria-hidden': 'true' });
  const scroller = h('div', { class: 'iov-swim-scroll', tabindex: 0, role: 'region', 'aria-label': 'Trace timeline (scroll sideways)' });
  const tableSlot = h('div');
  root.append(
    h('div', { class: 'iov-swim-head' }, h('strong', {}, 'Trace'), ' ', select, ' ', zoomOut, zoomIn, fit),
    h('div', { class: 'iov-swim-body' }, labels, scroller),
    info,
    tableSlot,
  );

  const render = (keepCenter: boolean): void => {
    const { events, startNs, endNs } = firstPackets(trace, packets);
    const spanNs = endNs - startNs;
    const lanes = LANE_ORDER.filter((l) => events.some((e) => e.lane === l));
    for (const e of events) if (!lanes.includes(e.lane)) lanes.push(e.lane);
    const avail = Math.max(200, scroller.clientWidth || 600);
    // Fit the window, but keep a 1 µs box at least 60 px wide so labels stay readable.
    if (pxPerNs === 0) pxPerNs = Math.max((avail - 30) / spanNs, 0.06);
    const width = Math.ceil(spanNs * pxPerNs) + 40;
    const height = AXIS_H + lanes.length * LANE_H + 4;
    const center = keepCenter ? (scroller.scrollLeft + scroller.clientWidth / 2) / Math.max(1, scroller.scrollWidth) : 0;

    clear(labels);
    labels.style.paddingTop = `${AXIS_H}px`;
    for (const l of lanes) labels.append(h('div', { class: `iov-swim-label lane-${l}`, style: `height:${LANE_H}px` }, LANE_LABELS[l] ?? l));

    const svg = s('svg', { width, height, style: `width:${width}px;height:${height}px`, class: 'iov-swim-svg', role: 'img', 'aria-label': `${events.length} trace events over ${duration(spanNs)}` });
    // Time axis
    const step = tickStep(pxPerNs);
    const axisG = s('g', { class: 'iov-swim-axis' });
    for (let t = Math.ceil(startNs / step) * step; t <= endNs + step; t += step) {
      const x = 4 + (t - startNs) * pxPerNs;
      axisG.append(s('line', { x1: x, x2: x, y1: AXIS_H - 6, y2: height, class: 'tick' }));
      axisG.append(s('text', { x: x + 3, y: AXIS_H - 9 }, duration(t)));
    }
    svg.append(axisG);
    lanes.forEach((l, i) => svg.append(s('rect', { x: 0, y: AXIS_H + i * LANE_H, width, height: LANE_H, class: `lane-bg ${i % 2 ? 'odd' : 'even'}` })));
    for (const e of events) {
      const li = lanes.indexOf(e.lane);
      const x0 = 4 + (e.t - startNs) * pxPerNs;
      const x = Math.max(0, x0);
      const w = Math.max(e.dur * pxPerNs - (x - x0), 2);
      const y = AXIS_H + li * LANE_H + 4;
      const g = s('g', { class: `ev lane-${e.lane}${e.pkt !== undefined && e.pkt === selected ? ' sel' : ''}`, ...(e.pkt !== undefined ? { 'data-pkt': e.pkt } : {}) });
      g.append(s('title', {}, `${e.label}\n${LANE_LABELS[e.lane] ?? e.lane} · ${e.kind}${e.pkt !== undefined ? ` · packet ${e.pkt}` : ''}\nat ${duration(e.t)}, takes ${duration(e.dur)}`));
      g.append(s('rect', { x, y, width: w, height: LANE_H - 8, rx: 2 }));
      const text = truncate(e.label, w);
      if (text) g.append(s('text', { x: x + 3, y: y + LANE_H / 2 + 0 }, text));
      svg.append(g);
    }
    clear(scroller);
    scroller.append(svg);
    if (keepCenter) scroller.scrollLeft = center * scroller.scrollWidth - scroller.clientWidth / 2;
    const shown = Math.min(packets, maxPkt);
    info.textContent = `${events.length} events from ${duration(startNs)} to ${duration(endNs)}${maxPkt ? ` (the first ${shown} of ${totalPackets || maxPkt} packets)` : ''}. Hover a box for details; click one to highlight its packet; scroll sideways or zoom with − and +.`;
    clear(tableSlot);
    tableSlot.append(
      lazyDetails('Trace as a table', () =>
        table(
          ['time', 'duration', 'lane', 'packet', 'event'],
          events.slice(0, 600).map((e) => [duration(e.t), duration(e.dur), LANE_LABELS[e.lane] ?? e.lane, e.pkt ?? '', e.label]),
          events.length > 600 ? `The first 600 of ${events.length} events` : undefined,
        ),
      ),
    );
  };

  select.addEventListener('change', () => {
    packets = Number(select.value);
    pxPerNs = 0;
    render(false);
  });
  zoomIn.addEventListener('click', () => {
    pxPerNs *= 2;
    render(true);
  });
  zoomOut.addEventListener('click', () => {
    pxPerNs = Math.max(pxPerNs / 2, 1e-6);
    render(true);
  });
  fit.addEventListener('click', () => {
    pxPerNs = 0;
    render(false);
  });
  scroller.addEventListener('click', (ev) => {
    const g = (ev.target as Element).closest('g.ev');
    const p = g?.getAttribute('data-pkt');
    selected = p === null || p === undefined ? undefined : Number(p);
    for (const el of scroller.querySelectorAll('g.ev')) el.classList.toggle('sel', selected !== undefined && el.getAttribute('data-pkt') === String(selected));
    if (selected !== undefined) {
      const evs = trace.filter((e) => e.pkt === selected);
      const first = Math.min(...evs.map((e) => e.t));
      const last = Math.max(...evs.map((e) => e.t + e.dur));
      info.textContent = `Packet ${selected}: ${evs.length} events, ${duration(last - first)} from its first event to its last.`;
    }
  });
  // First render once laid out (needs the scroller's width).
  requestAnimationFrame(() => render(false));
  return root;
}
