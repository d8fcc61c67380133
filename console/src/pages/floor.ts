/**
 * The IPv4 floor: every IPv4 byte, packet and flow by cause (stacked bars, % of IPv4), and where
 * it goes: a sankey device → application → destination over the top contributors of each cause.
 */
import { apiGet } from '../api.js';
import { h } from '../dom.js';
import { fmtBytes, fmtCount, fmtShare } from '../format.js';
import { axisStyle, panel } from '../panel.js';
import { rangeSelect, resolveRange } from '../range.js';
import { href, navigate, type Route } from '../router.js';
import { METRICS, type DevicesResponse, type FloorCause, type FloorResponse, type FloorTop } from '../types.js';
import { notes } from './common.js';

interface Flow extends FloorTop {
  cause: string;
  deviceName: string;
}

export async function floorPage(route: Route, signal: AbortSignal): Promise<Node> {
  const q = route.query;
  const range = await resolveRange(q, 'all', signal);
  const r = { since: range.since, until: range.until };
  const [fl, devs] = await Promise.all([apiGet<FloorResponse>('floor', { ...r, top: 8 }, signal), apiGet<DevicesResponse>('devices', r, signal)]);
  const names = new Map(devs.devices.map((d) => [d.id, d.hostname ?? d.mac]));
  const causes = fl.causes ?? [];
  const flows: Flow[] = causes.flatMap((c) => c.top.map((t) => ({ ...t, cause: c.cause, deviceName: names.get(t.device) ?? t.device })));
  return h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'IPv4 floor'), rangeSelect(q, 'all', (v) => navigate(href('floor', v === 'all' ? {} : { range: v })))),
    notes(fl.notes),
    fl.ipv4 ? h('p', { class: 'muted' }, `IPv4 in this range: ${fmtBytes(fl.ipv4.bytes)}, ${fmtCount(fl.ipv4.packets)} packets, ${fmtCount(fl.ipv4.flows)} flows. IPv6 share now ${fmtShare(fl.now?.bytes ?? null)} by bytes.`) : null,
    causePanel(causes, fl.ipv4 ?? { bytes: 0, packets: 0, flows: 0 }),
    sankeyPanel(flows),
  );
}

function causePanel(causes: FloorCause[], total: Record<(typeof METRICS)[number], number>): HTMLElement {
  const pct = (c: FloorCause, m: (typeof METRICS)[number]): number => (total[m] > 0 ? Math.round((c.ipv4[m] / total[m]) * 1000) / 10 : 0);
  return panel<FloorCause>({
    title: 'IPv4 by cause',
    name: 'floor-causes',
    description: 'Each IPv4 byte, packet and flow in exactly one cause (docs/find-and-fix.md).',
    rows: causes,
    columns: [
      { label: 'cause', value: (c) => c.cause },
      { label: 'description', value: (c) => c.description },
      { label: 'IPv4 bytes', value: (c) => c.ipv4.bytes, text: (c) => fmtBytes(c.ipv4.bytes), numeric: true },
      { label: 'IPv4 packets', value: (c) => c.ipv4.packets, text: (c) => fmtCount(c.ipv4.packets), numeric: true },
      { label: 'IPv4 flows', value: (c) => c.ipv4.flows, text: (c) => fmtCount(c.ipv4.flows), numeric: true },
      { label: 'share of IPv4 bytes', value: (c) => c.shareOfIPv4Bytes, text: (c) => fmtShare(c.shareOfIPv4Bytes), numeric: true },
    ],
    height: 220,
    chart: (p) => ({
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} %` : '–') },
      legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
      grid: { left: 8, right: 24, top: 48, bottom: 24, containLabel: true },
      xAxis: { type: 'value', max: 100, ...axisStyle(p), axisLabel: { color: p.muted, hideOverlap: true, formatter: '{value} %' } },
      yAxis: { type: 'category', data: [...METRICS], ...axisStyle(p) },
      series: causes.map((c) => ({ name: c.cause, type: 'bar', stack: 'floor', data: METRICS.map((m) => pct(c, m)) })),
    }),
  });
}

function sankeyPanel(flows: Flow[]): HTMLElement {
  // node names carry their level so a name used at two levels stays two nodes
  const node = (level: 'd' | 'a' | 't', n: string): string => `${level}\u2009${n}`;
  const links = new Map<string, { source: string; target: string; value: number }>();
  const add = (source: string, target: string, value: number): void => {
    const k = `${source}\u0000${target}`;
    const l = links.get(k);
    if (l) l.value += value;
    else links.set(k, { source, target, value });
  };
  for (const f of flows) {
    if (f.ipv4.bytes <= 0) continue;
    add(node('d', f.deviceName), node('a', f.app), f.ipv4.bytes);
    add(node('a', f.app), node('t', f.destination), f.ipv4.bytes);
  }
  const nodes = [...new Set([...links.values()].flatMap((l) => [l.source, l.target]))].map((name) => ({ name }));
  const label = (s: string): string => s.slice(2);
  return panel<Flow>({
    title: 'Where the IPv4 goes: device → application → destination',
    name: 'floor-flows',
    description: 'The top contributors of each cause, by IPv4 bytes.',
    rows: flows,
    columns: [
      { label: 'cause', value: (f) => f.cause },
      { label: 'device', value: (f) => f.deviceName },
      { label: 'MAC', value: (f) => f.device },
      { label: 'application', value: (f) => f.app },
      { label: 'destination', value: (f) => f.destination },
      { label: 'IPv4 bytes', value: (f) => f.ipv4.bytes, text: (f) => fmtBytes(f.ipv4.bytes), numeric: true },
      { label: 'IPv4 packets', value: (f) => f.ipv4.packets, text: (f) => fmtCount(f.ipv4.packets), numeric: true },
      { label: 'IPv4 flows', value: (f) => f.ipv4.flows, text: (f) => fmtCount(f.ipv4.flows), numeric: true },
    ],
    height: Math.max(260, nodes.length * 18),
    chart: nodes.length
      ? (p) => ({
          tooltip: { trigger: 'item', formatter: (x: unknown) => sankeyTip(x, label) },
          series: [
            {
              type: 'sankey',
              left: 8,
              right: 120,
              top: 8,
              bottom: 8,
              nodeGap: 10,
              emphasis: { focus: 'adjacency' },
              label: { color: p.text, formatter: (x: { name: string }) => label(x.name) },
              lineStyle: { color: 'gradient', opacity: 0.35 },
              data: nodes,
              links: [...links.values()],
            },
          ],
        })
      : null,
  });
}

function sankeyTip(x: unknown, label: (s: string) => string): string {
  const p = x as { dataType?: string; name?: string; value?: number; data?: { source?: string; target?: string } };
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  if (p.dataType === 'edge' && p.data?.source && p.data.target) return `${esc(label(p.data.source))} → ${esc(label(p.data.target))}: ${fmtBytes(p.value ?? 0)}`;
  return `${esc(label(p.name ?? ''))}: ${fmtBytes(p.value ?? 0)}`;
}
