/** Devices: every device of the range with its share and addresses; one device's page. */
import { apiGet } from '../api.js';
import { h } from '../dom.js';
import { fmtBytes, fmtShare, fmtTime } from '../format.js';
import { axisStyle, panel, tableOf, type Column } from '../panel.js';
import { rangeSelect, resolveRange } from '../range.js';
import { href, navigate, type Route } from '../router.js';
import { METRICS, type Device, type DeviceAddress, type DeviceResponse, type DevicesResponse, type ShareResponse } from '../types.js';
import { familyArea, fullSeries, kpi, notes, timeColumns } from './common.js';

const name = (d: Device): string => d.hostname ?? d.mac;
const deviceLink = (d: Device): HTMLAnchorElement => h('a', { href: href(`devices/${encodeURIComponent(d.id)}`), 'data-link': '' }, name(d));

function rangeParams(q: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of ['range', 'since', 'until']) {
    const v = q.get(k);
    if (v) out.set(k, v);
  }
  return out;
}

export async function devices(route: Route, signal: AbortSignal): Promise<Node> {
  const q = route.query;
  const range = await resolveRange(q, 'all', signal);
  const r = await apiGet<DevicesResponse>('devices', { since: range.since, until: range.until }, signal);
  const list = [...r.devices].sort((a, b) => b.ipv4.bytes + b.ipv6.bytes - (a.ipv4.bytes + a.ipv6.bytes));
  const hp = r.hostPenetration;
  const columns: Column<Device>[] = [
    { label: 'device', value: name, text: deviceLink },
    { label: 'MAC', value: (d) => d.mac },
    { label: 'IPv6 share (bytes)', value: (d) => d.ipv6Share, text: (d) => fmtShare(d.ipv6Share), numeric: true },
    { label: 'IPv4 bytes', value: (d) => d.ipv4.bytes, text: (d) => fmtBytes(d.ipv4.bytes), numeric: true },
    { label: 'IPv6 bytes', value: (d) => d.ipv6.bytes, text: (d) => fmtBytes(d.ipv6.bytes), numeric: true },
    { label: 'used IPv6', value: (d) => (d.usedIPv6 ? 'yes' : 'no') },
    { label: 'IPv4 addresses', value: (d) => d.addresses.filter((a) => a.family === 4).length, numeric: true },
    { label: 'IPv6 addresses', value: (d) => d.addresses.filter((a) => a.family === 6).length, numeric: true },
    { label: 'first seen (UTC)', value: (d) => new Date(d.firstSeen).toISOString(), text: (d) => fmtTime(d.firstSeen) },
    { label: 'last seen (UTC)', value: (d) => new Date(d.lastSeen).toISOString(), text: (d) => fmtTime(d.lastSeen) },
  ];
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Devices'), rangeSelect(q, 'all', (v) => navigate(href('devices', v === 'all' ? {} : { range: v })))),
    notes(r.notes),
    hp ? h('div', { class: 'kpis' }, h('div', { class: 'kpi', 'data-kpi': 'host-penetration' }, h('div', { class: 'kpi-label' }, 'Host penetration'), h('div', { class: 'kpi-value' }, fmtShare(hp.ratio)), h('div', { class: 'kpi-sub muted' }, `${hp.withIPv6} of ${hp.all} devices used IPv6`))) : null,
    panel({
      title: 'Traffic by device',
      name: 'devices',
      columns,
      rows: list,
      height: Math.max(160, list.length * 30 + 64),
      chart: (p) => ({
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => (typeof v === 'number' ? fmtBytes(v) : '–') },
        legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
        grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
        xAxis: { type: 'value', ...axisStyle(p), axisLabel: { color: p.muted, hideOverlap: true, formatter: (v: number) => fmtBytes(v) } },
        yAxis: { type: 'category', inverse: true, data: list.map(name), ...axisStyle(p) },
        series: (['ipv6', 'ipv4'] as const).map((f) => ({ name: f === 'ipv6' ? 'IPv6 bytes' : 'IPv4 bytes', type: 'bar', stack: 'family', color: f === 'ipv6' ? p.v6 : p.v4, data: list.map((d) => d[f].bytes) })),
      }),
    }),
  );
}

const addrColumns: Column<DeviceAddress>[] = [
  { label: 'address', value: (a) => a.addr, text: (a) => h('code', null, a.addr) },
  { label: 'kind', value: (a) => a.kind },
  { label: 'first seen (UTC)', value: (a) => new Date(a.firstSeen).toISOString(), text: (a) => fmtTime(a.firstSeen) },
  { label: 'last seen (UTC)', value: (a) => new Date(a.lastSeen).toISOString(), text: (a) => fmtTime(a.lastSeen) },
  { label: 'seen in', value: (a) => a.sources.join(' ') },
];

export async function device(route: Route, id: string, signal: AbortSignal): Promise<Node> {
  const q = route.query;
  const range = await resolveRange(q, 'all', signal);
  const r = await apiGet<DeviceResponse>(`devices/${encodeURIComponent(id)}`, { since: range.since, until: range.until }, signal);
  const d = r.device;
  const filter = `device = "${d.id}"`;
  const trend = await apiGet<ShareResponse>('share', { since: range.since, until: range.until, filter, series: true }, signal);
  const series = fullSeries(trend);
  const family = (f: 4 | 6): HTMLElement => {
    const rows = d.addresses.filter((a) => a.family === f);
    return h(
      'section',
      { class: 'panel', 'data-addresses': String(f), 'aria-label': `IPv${f} addresses` },
      h('div', { class: 'panel-head' }, h('h2', null, `IPv${f} addresses (${rows.length})`)),
      rows.length ? h('div', { class: 'table-wrap', tabindex: 0 }, tableOf(addrColumns, rows, `IPv${f} addresses`)) : h('p', { class: 'muted' }, `No IPv${f} address seen.`),
    );
  };
  return h(
    'div',
    { class: 'page' },
    h('p', null, h('a', { href: href('devices', rangeParams(q)), 'data-link': '' }, '← Devices')),
    h('div', { class: 'page-head' }, h('h1', { 'data-device': d.id }, name(d)), h('a', { class: 'button ghost', href: href('explorer', { filter, by: 'app' }), 'data-link': '' }, 'Open in explorer')),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'MAC'),
      h('dd', null, h('code', null, d.mac)),
      h('dt', null, 'Hostname'),
      h('dd', null, d.hostname ?? '–'),
      h('dt', null, 'First seen'),
      h('dd', null, fmtTime(d.firstSeen)),
      h('dt', null, 'Last seen'),
      h('dd', null, fmtTime(d.lastSeen)),
      h('dt', null, 'Used IPv6'),
      h('dd', null, d.usedIPv6 ? 'yes' : 'no'),
    ),
    h('div', { class: 'kpis' }, ...METRICS.map((m) => kpi(m, { ipv4: d.ipv4[m], ipv6: d.ipv6[m], ipv6Share: d.ipv4[m] + d.ipv6[m] > 0 ? d.ipv6[m] / (d.ipv4[m] + d.ipv6[m]) : null }))),
    trend.series
      ? panel({
          title: 'Traffic trend',
          name: `device-${d.mac.replace(/:/g, '')}-trend`,
          description: 'IPv4 and IPv6 bytes of the flows this device is the local endpoint of.',
          columns: timeColumns,
          rows: series,
          chart: familyArea(series, 'bytes'),
        })
      : null,
    family(6),
    family(4),
  );
}
