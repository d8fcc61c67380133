/** IPv6 vs IPv4: one 100 % bar per metric (bytes, packets, flows), IPv6 first. */
import { fmtMetric, fmtShare } from '../format.js';
import { approxTextWidth, el, fill, legend, noData, PALETTE, svgDoc, text, tooltip } from './svg.js';

export interface FamilyRow {
  metric: 'bytes' | 'packets' | 'flows';
  ipv4: number;
  ipv6: number;
}

export function familySplitChart(rows: readonly FamilyRow[], o: { id?: string; width?: number } = {}): string {
  const width = o.width ?? 720;
  const id = o.id ?? 'family';
  const left = 80;
  const right = 16;
  const barW = width - left - right;
  const top = 44;
  const rowH = 46;
  const body: string[] = [];
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const total = r.ipv4 + r.ipv6;
    body.push(text(left - 10, y + 17, r.metric, { 'text-anchor': 'end' }));
    if (!(total > 0)) {
      body.push(el('rect', { x: left, y, width: barW, height: 26, fill: 'none', stroke: PALETTE.grid, class: 'grid' }), noData(left + barW / 2, y + 18));
      return;
    }
    const share = r.ipv6 / total;
    const w6 = barW * share;
    const v6 = `IPv6 ${fmtShare(share)}`;
    const v4 = `IPv4 ${fmtShare(1 - share)}`;
    body.push(
      el('rect', { x: left, y, width: w6, height: 26, ...fill('ipv6') }, tooltip(`${r.metric}: IPv6 ${fmtMetric(r.metric, r.ipv6)} (${fmtShare(share)})`)),
      el('rect', { x: left + w6, y, width: barW - w6, height: 26, ...fill('ipv4') }, tooltip(`${r.metric}: IPv4 ${fmtMetric(r.metric, r.ipv4)} (${fmtShare(1 - share)})`)),
    );
    // labels inside the segments when they fit, in white on the coloured bar
    if (approxTextWidth(v6, 12) + 12 < w6) body.push(text(left + 6, y + 17, v6, { fill: '#ffffff', class: 'on-bar', 'font-weight': 'bold' }));
    if (approxTextWidth(v4, 12) + 12 < barW - w6) body.push(text(left + barW - 6, y + 17, v4, { fill: '#1b1b1b', class: 'on-light-bar', 'text-anchor': 'end' }));
    body.push(
      text(left, y + 40, `IPv6 ${fmtMetric(r.metric, r.ipv6)} · IPv4 ${fmtMetric(r.metric, r.ipv4)} · IPv6 share ${fmtShare(share)}`, { class: 'muted', fill: PALETTE.muted, 'font-size': 11 }),
    );
  });
  const lg = legend(left, top + rows.length * rowH + 8, barW, [
    { color: 'ipv6', label: 'IPv6' },
    { color: 'ipv4', label: 'IPv4' },
  ]);
  body.push(lg.svg);
  const height = top + rows.length * rowH + lg.height + 6;
  const summary = rows.map((r) => `${r.metric} ${r.ipv4 + r.ipv6 > 0 ? fmtShare(r.ipv6 / (r.ipv4 + r.ipv6)) : 'no traffic'}`).join(', ');
  return svgDoc({ id, width, height, title: 'IPv6 share of the traffic', desc: `IPv6 share by metric: ${summary}.` }, body);
}
