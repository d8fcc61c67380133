/** The IPv4 floor: one 100 % bar of all IPv4 bytes by cause, and a row per cause below it. */
import { fmtBytes, fmtShare } from '../format.js';
import { el, fill, noData, PALETTE, svgDoc, text, tooltip, type ColorName } from './svg.js';

export interface FloorSegment {
  color: ColorName;
  label: string;
  /** One line: what the cause means. */
  description: string;
  bytes: number;
}

export function floorChart(segments: readonly FloorSegment[], o: { id?: string; width?: number } = {}): string {
  const width = o.width ?? 720;
  const id = o.id ?? 'floor';
  const title = 'The IPv4 floor: every IPv4 byte by cause';
  const x0 = 16;
  const x1 = width - 16;
  const total = segments.reduce((a, s) => a + Math.max(0, s.bytes), 0);
  const body: string[] = [];
  if (!(total > 0)) {
    body.push(noData(width / 2, 70, 'no IPv4 traffic in this period'));
    return svgDoc({ id, width, height: 100, title, desc: 'No IPv4 traffic in this period.' }, body);
  }
  let cx = x0;
  for (const s of segments) {
    if (!(s.bytes > 0)) continue;
    const w = ((x1 - x0) * s.bytes) / total;
    body.push(el('rect', { x: cx, y: 40, width: Math.max(w, 0.5), height: 30, ...fill(s.color) }, tooltip(`${s.label}: ${fmtBytes(s.bytes)} (${fmtShare(s.bytes / total)})`)));
    cx += w;
  }
  let y = 98;
  for (const s of segments) {
    body.push(
      el('rect', { x: x0, y: y - 11, width: 12, height: 12, rx: 2, ...fill(s.color) }),
      text(x0 + 18, y, s.label, { 'font-weight': 'bold' }),
      text(x0 + 330, y, fmtBytes(s.bytes), { 'text-anchor': 'end' }),
      text(x0 + 400, y, fmtShare(s.bytes / total), { 'text-anchor': 'end' }),
      text(x0 + 18, y + 15, s.description, { class: 'muted', fill: PALETTE.muted, 'font-size': 11 }),
    );
    y += 38;
  }
  const desc = `All ${fmtBytes(total)} of IPv4 by cause: ${segments.map((s) => `${s.label} ${fmtShare(s.bytes / total)}`).join(', ')}.`;
  return svgDoc({ id, width, height: y - 14, title, desc }, body);
}
