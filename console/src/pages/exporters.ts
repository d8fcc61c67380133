/** Exporters: collector health — per exporter datagrams, records, loss, templates, sampling; listeners; the store writer. */
import { apiGet } from '../api.js';
import { h } from '../dom.js';
import { fmtBytes, fmtCount, fmtTime } from '../format.js';
import { axisStyle, panel } from '../panel.js';
import type { Route } from '../router.js';
import type { ExporterHealth, ExportersResponse, ListenerHealth } from '../types.js';
import { notes } from './common.js';

const errorsOf = (e: ExporterHealth): number => Object.values(e.errors ?? {}).reduce((a, b) => a + b, 0);

export async function exportersPage(_route: Route, signal: AbortSignal): Promise<Node> {
  const r = await apiGet<ExportersResponse>('exporters', {}, signal);
  const head = h('div', { class: 'page-head' }, h('h1', null, 'Exporters'));
  if (!r.available) return h('div', { class: 'page' }, head, notes(r.notes ?? ['no exporter health available']));
  const ex = r.exporters ?? [];
  const ls = r.listeners ?? [];
  const t = r.totals;
  const writer = Object.entries(r.writer ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number');
  return h(
    'div',
    { class: 'page' },
    head,
    h('p', { class: 'muted' }, `Health taken ${fmtTime(r.updated)} (${r.origin === 'live' ? 'live from serve' : 'from DATA/exporters.json'}); collectors started ${fmtTime(r.startedAt)}; templates restored ${r.templatesRestored ?? 0}.`),
    t
      ? h(
          'div',
          { class: 'kpis' },
          ...(
            [
              ['datagrams', t.datagrams],
              ['records', t.records],
              ['decode errors', t.decodeErrors],
              ['socket drops', t.socketDrops],
              ['unsupported datagrams', t.unsupportedDatagrams],
            ] as const
          ).map(([k, v]) => h('div', { class: 'kpi', 'data-kpi': k }, h('div', { class: 'kpi-label' }, k), h('div', { class: 'kpi-value' }, fmtCount(v)))),
        )
      : null,
    panel<ExporterHealth>({
      title: 'Exporters',
      name: 'exporters',
      rows: ex,
      columns: [
        { label: 'exporter', value: (e) => e.exporter },
        { label: 'datagrams', value: (e) => e.datagrams, text: (e) => fmtCount(e.datagrams), numeric: true },
        { label: 'records', value: (e) => e.records, text: (e) => fmtCount(e.records), numeric: true },
        { label: 'rejected datagrams', value: (e) => e.datagramsRejected, numeric: true },
        { label: 'decode errors', value: errorsOf, numeric: true },
        { label: 'sequence loss', value: (e) => e.sequenceMissing, numeric: true },
        { label: 'templates', value: (e) => e.templatesKnown, numeric: true },
        { label: 'sampling rates', value: (e) => (e.samplingRates ?? []).join(' ') || '1' },
        { label: 'last seen (UTC)', value: (e) => e.lastSeen ?? '', text: (e) => fmtTime(e.lastSeen) },
      ],
      height: Math.max(160, ex.length * 36 + 64),
      chart: (p) => ({
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
        grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
        xAxis: { type: 'value', ...axisStyle(p) },
        yAxis: { type: 'category', inverse: true, data: ex.map((e) => e.exporter), ...axisStyle(p) },
        series: [
          { name: 'datagrams', type: 'bar', data: ex.map((e) => e.datagrams) },
          { name: 'records', type: 'bar', data: ex.map((e) => e.records) },
        ],
      }),
      table: true,
    }),
    panel<ListenerHealth>({
      title: 'Listeners',
      name: 'listeners',
      rows: ls,
      chart: null,
      columns: [
        { label: 'listen', value: (l) => l.listen },
        { label: 'protocol', value: (l) => l.protocol },
        { label: 'datagrams', value: (l) => l.datagrams, text: (l) => fmtCount(l.datagrams), numeric: true },
        { label: 'socket drops', value: (l) => l.socketDrops, numeric: true },
        { label: 'receive buffer', value: (l) => l.receiveBuffer, text: (l) => fmtBytes(l.receiveBuffer), numeric: true },
        { label: 'receive queue', value: (l) => l.rxQueue, text: (l) => fmtBytes(l.rxQueue), numeric: true },
      ],
    }),
    writer.length
      ? panel<[string, number]>({
          title: 'Store writer',
          name: 'writer',
          rows: writer,
          chart: null,
          columns: [
            { label: 'counter', value: (w) => w[0] },
            { label: 'value', value: (w) => w[1], numeric: true },
          ],
        })
      : null,
  );
}
