/**
 * Horizontal bars on a share axis (0 – a nice maximum), each bar split into coloured segments —
 * laggards by share of all IPv4 bytes, split by floor cause, with a note (bytes, what-if) beside.
 */
import { axisShare, fmtShare } from '../format.js';
import { linearScale, niceTicks } from './scale.js';
import { approxTextWidth, el, fill, legend, noData, PALETTE, svgDoc, text, tooltip, type ColorName } from './svg.js';
import { esc as escText, truncate } from '../escape.js';

export interface BarSegment {
  color: ColorName;
  /** Fraction of the axis' whole (e.g. of all IPv4 bytes). */
  value: number;
  label: string;
}

export interface BarRow {
  label: string;
  segments: BarSegment[];
  /** Shown right of the axis, e.g. "1.2 GB · if fixed IPv6 → 83.8 %". */
  note: string;
}

export interface BarChartInput {
  id: string;
  title: string;
  /** Axis caption, e.g. "share of all IPv4 bytes". */
  axis: string;
  rows: readonly BarRow[];
  legend: { color: ColorName; label: string }[];
  empty?: string;
}

export function barChart(d: BarChartInput, o: { width?: number } = {}): string {
  const width = o.width ?? 720;
  const labelW = 150;
  const noteW = 260;
  const x0 = 16 + labelW;
  const x1 = width - noteW;
  const top = 74;
  const rowH = 26;
  const body: string[] = [];
  const totals = d.rows.map((r) => r.segments.reduce((a, s) => a + Math.max(0, s.value), 0));
  const max = Math.max(0, ...totals);
  if (d.rows.length === 0 || !(max > 0)) {
    body.push(noData(width / 2, 70, d.empty ?? 'no IPv4 traffic in this period'));
    return svgDoc({ id: d.id, width, height: 100, title: d.title, desc: d.empty ?? 'No IPv4 traffic in this period.' }, body);
  }
  const ticks = niceTicks(0, Math.min(1, max), 4);
  const x = linearScale(0, ticks.max, x0, x1);
  const y1 = top + d.rows.length * rowH;
  for (const t of ticks.ticks) {
    body.push(el('line', { x1: x(t), x2: x(t), y1: top - 6, y2: y1, stroke: PALETTE.grid, class: 'grid' }), text(x(t), top - 10, axisShare(t), { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  body.push(text(x0, 44, d.axis, { class: 'muted', fill: PALETTE.muted, 'font-size': 11 }));
  const maxChars = Math.floor(labelW / (12 * 0.62)) - 1;
  const noteChars = Math.floor(noteW / (11 * 0.62)) - 1;
  d.rows.forEach((r, i) => {
    const y = top + i * rowH + 4;
    body.push(el('text', { x: x0 - 8, y: y + 13, 'text-anchor': 'end', class: 'fg', fill: PALETTE.fg }, tooltip(r.label), escText(truncate(r.label, maxChars))));
    let cx = x0;
    for (const s of r.segments) {
      if (!(s.value > 0)) continue;
      const w = x(s.value) - x0;
      body.push(el('rect', { x: cx, y, width: Math.max(w, 0.5), height: 18, ...fill(s.color) }, tooltip(`${r.label}: ${s.label} ${fmtShare(s.value)}`)));
      cx += w;
    }
    const total = totals[i]!;
    const lbl = fmtShare(total);
    body.push(text(cx + 4, y + 13, lbl, { 'font-size': 11 }));
    const noteX = Math.max(x1 + 8, cx + 8 + approxTextWidth(lbl, 11));
    body.push(el('text', { x: noteX, y: y + 13, class: 'muted', fill: PALETTE.muted, 'font-size': 11 }, tooltip(r.note), escText(truncate(r.note, Math.floor(noteChars - (noteX - x1 - 8) / (11 * 0.62))))));
  });
  const lg = legend(x0, y1 + 24, x1 - x0 + noteW - 16, d.legend);
  body.push(lg.svg);
  const desc = `${d.title}: ${d.rows.map((r, i) => `${r.label} ${fmtShare(totals[i]!)}`).join(', ')}.`;
  return svgDoc({ id: d.id, width, height: y1 + 24 + lg.height, title: d.title, desc }, body);
}
