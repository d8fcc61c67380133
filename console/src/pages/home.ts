/**
 * Home: the IPv6 share of the range (bytes, packets, flows), the 24 h and 7 d trends (ending at
 * the latest stored data), the biggest laggards with their what-if, and the biggest fixes.
 */
import { apiGet, dataRange } from '../api.js';
import { h } from '../dom.js';
import { fmtBytes, fmtShare, fmtUplift } from '../format.js';
import { axisStyle, panel } from '../panel.js';
import { rangeSelect, resolveRange } from '../range.js';
import { href, navigate, type Route } from '../router.js';
import type { FixesResponse, Laggard, LaggardsResponse, ShareResponse } from '../types.js';
import { METRICS } from '../types.js';
import { fullSeries, kpi, notes, trendPanel } from './common.js';

export async function home(route: Route, signal: AbortSignal): Promise<Node> {
  const q = route.query;
  const range = await resolveRange(q, '7d', signal);
  const r = { since: range.since, until: range.until };
  // the trends always end at the end of the stored data, whatever the headline's range
  const end = (await dataRange(signal))?.until ?? null;
  const trend = (ms: number, bucket: string): Promise<ShareResponse | null> =>
    end === null ? Promise.resolve(null) : apiGet<ShareResponse>('share', { since: new Date(end - ms).toISOString(), until: new Date(end).toISOString(), bucket }, signal);
  const [share, t24, t7, lag, fx] = await Promise.all([
    apiGet<ShareResponse>('share', r, signal),
    trend(24 * 3_600_000, '1h'),
    trend(7 * 86_400_000, '6h'),
    apiGet<LaggardsResponse>('laggards', { ...r, by: 'device', limit: 8 }, signal),
    apiGet<FixesResponse>('fixes', { ...r, limit: 5 }, signal),
  ]);
  const laggards = lag.laggards ?? [];
  const fixes = fx.fixes ?? [];
  return h(
    'div',
    { class: 'page' },
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'IPv6 share'),
      rangeSelect(q, '7d', (v) => navigate(href('', v === '7d' ? {} : { range: v }))),
    ),
    h('p', { class: 'muted', 'data-range': '' }, `${range.label}${share.since ? `: ${share.since.slice(0, 16).replace('T', ' ')}Z – ${share.until?.slice(0, 16).replace('T', ' ')}Z` : ''}`),
    notes(share.notes),
    h('div', { class: 'kpis' }, ...METRICS.map((m) => kpi(m, share[m]))),
    h(
      'div',
      { class: 'grid2' },
      t24?.series ? trendPanel('Last 24 h of data', 'trend-24h', fullSeries(t24), 'IPv6 share per hour.') : null,
      t7?.series ? trendPanel('Last 7 days of data', 'trend-7d', fullSeries(t7), 'IPv6 share per 6 hours.') : null,
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'fixes-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'fixes-title' }, 'Biggest fixes')),
      fixes.length === 0 ? h('p', { class: 'muted' }, 'Nothing to fix in this range.') : null,
      h(
        'ol',
        { class: 'fixes' },
        ...fixes.map((f) =>
          h(
            'li',
            { 'data-fix': f.id },
            h('strong', null, f.title),
            h('span', { class: 'uplift' }, f.after ? fmtUplift(f.before.bytes, f.after.bytes) : 'no what-if'),
            h('p', null, f.advice),
            f.snippet ? h('details', null, h('summary', null, 'Configuration'), h('pre', null, f.snippet)) : null,
          ),
        ),
      ),
    ),
    laggardPanel(laggards),
  );
}

function laggardPanel(rows: Laggard[]): HTMLElement {
  const label = (l: Laggard): string => l.name ?? l.key;
  const mainCause = (l: Laggard): string => Object.entries(l.causes).sort((a, b) => b[1].bytes - a[1].bytes)[0]?.[0] ?? '';
  return panel<Laggard>({
    title: 'Biggest laggards (devices)',
    name: 'laggards',
    description: 'Devices carrying the most IPv4 bytes, and the share the network would have if their fixable traffic moved to IPv6.',
    rows,
    columns: [
      { label: 'device', value: label, text: (l) => h('a', { href: href(`devices/${encodeURIComponent(l.key)}`), 'data-link': '' }, label(l)) },
      { label: 'MAC', value: (l) => l.key },
      { label: 'IPv4 bytes', value: (l) => l.ipv4.bytes, text: (l) => fmtBytes(l.ipv4.bytes), numeric: true },
      { label: 'share of IPv4 bytes', value: (l) => l.shareOfIPv4Bytes, text: (l) => fmtShare(l.shareOfIPv4Bytes), numeric: true },
      { label: 'main cause', value: mainCause },
      { label: 'IPv6 share if fixed (bytes)', value: (l) => l.whatIfFixed.bytes, text: (l) => fmtShare(l.whatIfFixed.bytes), numeric: true },
    ],
    chart: (p) => ({
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => (typeof v === 'number' ? fmtBytes(v) : '–') },
      grid: { left: 96, right: 24, top: 16, bottom: 32 },
      xAxis: { type: 'value', ...axisStyle(p), axisLabel: { color: p.muted, hideOverlap: true, formatter: (v: number) => fmtBytes(v) } },
      yAxis: { type: 'category', inverse: true, data: rows.map(label), ...axisStyle(p) },
      series: [{ name: 'IPv4 bytes', type: 'bar', color: p.v4, data: rows.map((l) => l.ipv4.bytes) }],
    }),
    height: Math.max(160, rows.length * 32 + 48),
  });
}
