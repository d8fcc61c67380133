/** The device table as an SVG (for slides): name, MAC, addresses per family, IPv6 share bar, ever IPv6. */
import { esc as escName, truncate } from '../escape.js';
import { fmtShare } from '../format.js';
import { el, fill, noData, PALETTE, svgDoc, text, tooltip } from './svg.js';

export interface DeviceRow {
  name: string;
  mac: string;
  ipv4: readonly string[];
  ipv6: readonly string[];
  /** IPv6 / all bytes of the device; null without traffic. */
  ipv6Share: number | null;
  usedIPv6: boolean;
}

export function deviceTableChart(rows: readonly DeviceRow[], o: { id?: string; width?: number; title?: string } = {}): string {
  const width = o.width ?? 720;
  const id = o.id ?? 'devices';
  const title = o.title ?? 'Devices';
  const body: string[] = [];
  if (rows.length === 0) {
    body.push(noData(width / 2, 70, 'no devices in this period'));
    return svgDoc({ id, width, height: 100, title, desc: 'No devices in this period.' }, body);
  }
  const cols = { name: 16, mac: 166, v4: 300, v6: 420, bar: 500, yes: width - 16 };
  const barW = cols.yes - 110 - cols.bar;
  const head = 52;
  const muted = { class: 'muted', fill: PALETTE.muted, 'font-size': 11 };
  body.push(
    text(cols.name, head, 'name', muted),
    text(cols.mac, head, 'MAC', muted),
    text(cols.v4, head, 'IPv4', muted),
    text(cols.v6, head, 'IPv6 addr.', muted),
    text(cols.bar, head, 'IPv6 share of its bytes', muted),
    text(cols.yes, head, 'IPv6 ever', { ...muted, 'text-anchor': 'end' }),
    el('line', { x1: 16, x2: width - 16, y1: head + 6, y2: head + 6, stroke: PALETTE.grid, class: 'grid' }),
  );
  let y = head + 26;
  for (const r of rows) {
    body.push(
      el('text', { x: cols.name, y, class: 'fg', fill: PALETTE.fg }, tooltip(r.name), escName(truncate(r.name, 20))),
      text(cols.mac, y, r.mac, { 'font-size': 11 }),
      text(cols.v4, y, r.ipv4.length === 0 ? '—' : `${truncate(r.ipv4[0]!, 15)}${r.ipv4.length > 1 ? ` +${r.ipv4.length - 1}` : ''}`, { 'font-size': 11 }),
      text(cols.v6, y, String(r.ipv6.length), { 'font-size': 11 }),
      el('rect', { x: cols.bar, y: y - 11, width: barW, height: 14, ...fill('ipv4') }),
    );
    if (r.ipv6Share !== null) {
      if (r.ipv6Share > 0) body.push(el('rect', { x: cols.bar, y: y - 11, width: barW * r.ipv6Share, height: 14, ...fill('ipv6') }, tooltip(`${r.name}: IPv6 ${fmtShare(r.ipv6Share)} of its bytes`)));
      body.push(text(cols.bar + barW + 6, y, fmtShare(r.ipv6Share), { 'font-size': 11 }));
    }
    body.push(text(cols.yes, y, r.usedIPv6 ? 'yes' : 'NO', { 'text-anchor': 'end', 'font-weight': r.usedIPv6 ? 'normal' : 'bold' }));
    y += 22;
  }
  const never = rows.filter((r) => !r.usedIPv6).map((r) => r.name);
  return svgDoc({ id, width, height: y, title, desc: `${rows.length} devices; ${never.length ? `never used IPv6: ${never.join(', ')}` : 'all used IPv6'}.` }, body);
}


