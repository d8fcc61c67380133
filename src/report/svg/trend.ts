/**
 * Trend: IPv4 and IPv6 bytes per time bucket as a stacked step area (each bucket drawn flat over
 * its interval, IPv6 at the bottom), with the IPv6 share by bytes as a line on the right axis.
 * Buckets without traffic are zero; the share line breaks there.
 */
import { axisBytes, axisShare, fmtBytes, fmtShare } from '../format.js';
import { linearScale, niceTicks, timeTicks } from './scale.js';
import { el, fill, legend, noData, PALETTE, r2, svgDoc, text, tooltip } from './svg.js';

export interface TrendPoint {
  /** Bucket start, epoch ms. */
  time: number;
  ipv4: number;
  ipv6: number;
}

export interface TrendInput {
  since: number;
  until: number;
  bucketMs: number;
  points: readonly TrendPoint[];
}

export function trendChart(d: TrendInput, o: { id?: string; width?: number; height?: number } = {}): string {
  const width = o.width ?? 720;
  const height = o.height ?? 320;
  const id = o.id ?? 'trend';
  const m = { left: 72, right: 56, top: 44, bottom: 76 };
  const x0 = m.left;
  const x1 = width - m.right;
  const y0 = height - m.bottom;
  const y1 = m.top;
  const body: string[] = [];
  const title = 'IPv4 and IPv6 traffic over time';
  const pts = [...d.points].filter((p) => p.time + d.bucketMs > d.since && p.time < d.until).sort((a, b) => a.time - b.time);
  const maxTotal = Math.max(0, ...pts.map((p) => p.ipv4 + p.ipv6));
  const span = { since: Math.min(d.since, pts[0]?.time ?? d.since), until: Math.max(d.until, ...pts.map((p) => p.time + d.bucketMs)) };
  if (!(maxTotal > 0) || !(span.until > span.since) || !(d.bucketMs > 0)) {
    body.push(el('rect', { x: x0, y: y1, width: x1 - x0, height: y0 - y1, fill: 'none', stroke: PALETTE.grid, class: 'grid' }), noData((x0 + x1) / 2, (y0 + y1) / 2));
    return svgDoc({ id, width, height, title, desc: 'No traffic in this period.' }, body);
  }
  const yt = niceTicks(0, maxTotal, 5);
  const x = linearScale(span.since, span.until, x0, x1);
  const y = linearScale(0, yt.max, y0, y1);
  const ys = linearScale(0, 1, y0, y1);

  // grid and axes
  for (const t of yt.ticks) {
    body.push(el('line', { x1: x0, x2: x1, y1: y(t), y2: y(t), stroke: PALETTE.grid, class: 'grid' }), text(x0 - 6, y(t) + 4, axisBytes(t), { 'text-anchor': 'end', 'font-size': 11 }));
  }
  for (const s of [0, 0.25, 0.5, 0.75, 1]) body.push(text(x1 + 6, ys(s) + 4, axisShare(s), { 'font-size': 11 }));
  const tt = timeTicks(span.since, span.until, Math.max(3, Math.floor((x1 - x0) / 70)));
  for (const t of tt.ticks) {
    body.push(el('line', { x1: x(t.time), x2: x(t.time), y1: y0, y2: y0 + 5, stroke: PALETTE.muted, class: 'muted-stroke' }), text(x(t.time), y0 + 18, t.label, { 'text-anchor': 'middle', 'font-size': 11 }));
  }
  body.push(text((x0 + x1) / 2, y0 + 34, 'time (UTC)', { 'text-anchor': 'middle', class: 'muted', fill: PALETTE.muted, 'font-size': 11 }));
  body.push(text(x0 - 6, y1 - 8, 'bytes', { 'text-anchor': 'end', class: 'muted', fill: PALETTE.muted, 'font-size': 11 }));
  body.push(text(width - 4, y1 - 8, 'IPv6 share', { 'text-anchor': 'end', class: 'muted', fill: PALETTE.muted, 'font-size': 11 }));

  // stacked step areas: IPv6 from 0, IPv4 on top of it; one flat run per bucket
  const byTime = new Map(pts.map((p) => [p.time, p]));
  // bucket starts are aligned as the store aligned them: step back from the first one to cover `since`
  const first = pts[0]!.time - Math.ceil((pts[0]!.time - span.since) / d.bucketMs) * d.bucketMs;
  // (with absurdly many buckets — a 1 s bucket over a year — only the buckets with data are drawn)
  const buckets: TrendPoint[] = (span.until - first) / d.bucketMs > 20_000 ? pts : [];
  if (buckets.length === 0) for (let t = first; t < span.until; t += d.bucketMs) buckets.push(byTime.get(t) ?? { time: t, ipv4: 0, ipv6: 0 });
  const area = (lower: (p: TrendPoint) => number, upper: (p: TrendPoint) => number): string => {
    const top: string[] = [];
    const bottom: string[] = [];
    for (const p of buckets) {
      const a = x(Math.max(p.time, span.since));
      const b = x(Math.min(p.time + d.bucketMs, span.until));
      top.push(`${r2(a)},${r2(y(upper(p)))}`, `${r2(b)},${r2(y(upper(p)))}`);
      bottom.unshift(`${r2(b)},${r2(y(lower(p)))}`, `${r2(a)},${r2(y(lower(p)))}`);
    }
    return `M${top.join('L')}L${bottom.join('L')}Z`;
  };
  body.push(
    el('path', { d: area(() => 0, (p) => p.ipv6), ...fill('ipv6'), 'fill-opacity': 0.85 }),
    el('path', { d: area((p) => p.ipv6, (p) => p.ipv6 + p.ipv4), ...fill('ipv4'), 'fill-opacity': 0.85 }),
  );
  // the share line through bucket middles, broken where a bucket has no traffic
  const segs: string[][] = [];
  let cur: string[] = [];
  const dots: string[] = [];
  for (const p of buckets) {
    const tot = p.ipv4 + p.ipv6;
    if (tot <= 0) {
      if (cur.length) segs.push(cur);
      cur = [];
      continue;
    }
    const mx = x(Math.min(p.time + d.bucketMs / 2, span.until));
    const my = ys(p.ipv6 / tot);
    cur.push(`${r2(mx)},${r2(my)}`);
    // a dot with its numbers per bucket, unless there are too many to point at
    if (buckets.length <= 200) {
      const tip = `${new Date(p.time).toISOString().slice(0, 16).replace('T', ' ')}Z: IPv6 ${fmtBytes(p.ipv6)}, IPv4 ${fmtBytes(p.ipv4)}, IPv6 share ${fmtShare(p.ipv6 / tot)}`;
      dots.push(el('circle', { cx: mx, cy: my, r: buckets.length > 60 ? 1.5 : 3, fill: PALETTE.fg, class: 'fg' }, tooltip(tip)));
    }
  }
  if (cur.length) segs.push(cur);
  for (const s of segs) if (s.length > 1) body.push(el('path', { d: `M${s.join('L')}`, fill: 'none', stroke: PALETTE.fg, class: 'fg-stroke', 'stroke-width': 2 }));
  body.push(...dots);
  body.push(el('line', { x1: x0, x2: x1, y1: y0, y2: y0, stroke: PALETTE.muted, class: 'muted-stroke' }));
  const lg = legend(x0, y0 + 56, x1 - x0, [
    { color: 'ipv6', label: 'IPv6 bytes' },
    { color: 'ipv4', label: 'IPv4 bytes' },
    { color: 'fg', label: 'IPv6 share (right axis)' },
  ]);
  body.push(lg.svg);
  const shares = buckets.filter((p) => p.ipv4 + p.ipv6 > 0).map((p) => p.ipv6 / (p.ipv4 + p.ipv6));
  const per = d.bucketMs >= 86_400_000 ? `${d.bucketMs / 86_400_000} day(s)` : `${d.bucketMs / 3_600_000} hour(s)`;
  const desc = `Bytes per ${per} from ${new Date(span.since).toISOString()} to ${new Date(span.until).toISOString()}; IPv6 share by bytes between ${fmtShare(Math.min(...shares))} and ${fmtShare(Math.max(...shares))}.`;
  return svgDoc({ id, width, height: Math.max(height, y0 + 56 + lg.height), title, desc }, body);
}
