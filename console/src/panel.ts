/**
 * A chart panel: the chart, the same data as a table (toggle), and a CSV download. Every chart of
 * the console is one of these. Charts are disposed when the page changes and re-coloured when the
 * theme changes.
 */
import { echarts, type ChartOption } from './charts.js';
import { toCsv, type Cell } from './csv.js';
import { h, uid } from './dom.js';
import { palette } from './theme.js';

export interface Column<R> {
  label: string;
  /** Raw value (CSV). */
  value: (r: R) => Cell;
  /** Shown in the table (default: the raw value). */
  text?: (r: R) => string | Node;
  numeric?: boolean;
}

export interface PanelSpec<R> {
  title: string;
  /** File name of the CSV download, without extension. */
  name: string;
  description?: string;
  columns: Column<R>[];
  rows: R[];
  /** The ECharts option; null: a table-only panel. */
  chart: ((p: ReturnType<typeof palette>) => ChartOption) | null;
  /** Chart height in px (default 300). */
  height?: number;
  /** Start in table view. */
  table?: boolean;
}

const live = new Set<{ chart: echarts.ECharts; render: () => void; observer: ResizeObserver }>();

export function disposeCharts(): void {
  for (const c of live) {
    c.observer.disconnect();
    c.chart.dispose();
  }
  live.clear();
}

window.addEventListener('v6scope:theme', () => {
  for (const c of live) c.render();
});

export function tableOf<R>(columns: Column<R>[], rows: R[], caption?: string): HTMLTableElement {
  return h(
    'table',
    { class: 'data' },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
    h(
      'tbody',
      null,
      ...rows.map((r) =>
        h(
          'tr',
          null,
          ...columns.map((c) => {
            const t = c.text ? c.text(r) : c.value(r);
            return h('td', { class: c.numeric ? 'num' : null }, t === null || t === undefined ? '' : typeof t === 'object' ? t : String(t));
          }),
        ),
      ),
    ),
  );
}

export function csvOf<R>(columns: Column<R>[], rows: R[]): string {
  return toCsv(
    columns.map((c) => c.label),
    rows.map((r) => columns.map((c) => c.value(r))),
  );
}

export function download(name: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function panel<R>(spec: PanelSpec<R>): HTMLElement {
  const titleId = uid('panel');
  const hasChart = spec.chart !== null && spec.rows.length > 0;
  let showTable = spec.table === true || !hasChart;
  const chartBox = h('div', { class: 'chart', role: 'img', 'aria-labelledby': titleId, style: `height:${spec.height ?? 300}px` });
  const tableBox = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': titleId }, tableOf(spec.columns, spec.rows, spec.title));
  const toggle = h('button', { type: 'button', class: 'ghost', 'data-action': 'toggle-table', 'aria-pressed': String(showTable) }, 'Table');
  const csv = h('button', { type: 'button', class: 'ghost', 'data-action': 'csv', title: `Download ${spec.name}.csv` }, 'CSV');
  const root = h(
    'section',
    { class: 'panel', 'aria-labelledby': titleId, 'data-panel': spec.name, 'data-rows': spec.rows.length },
    h('div', { class: 'panel-head' }, h('h2', { id: titleId }, spec.title), h('div', { class: 'panel-tools' }, hasChart ? toggle : null, csv)),
    spec.description ? h('p', { class: 'muted' }, spec.description) : null,
    hasChart ? chartBox : null,
    spec.rows.length === 0 ? h('p', { class: 'muted empty' }, 'No data in this range.') : null,
    tableBox,
  );
  const sync = (): void => {
    chartBox.hidden = showTable;
    tableBox.hidden = !showTable;
    toggle.setAttribute('aria-pressed', String(showTable));
    toggle.textContent = showTable ? 'Chart' : 'Table';
  };
  toggle.addEventListener('click', () => {
    showTable = !showTable;
    sync();
    if (!showTable) for (const c of live) if (c.chart.getDom() === chartBox) c.chart.resize();
  });
  csv.addEventListener('click', () => download(`${spec.name}.csv`, csvOf(spec.columns, spec.rows)));
  sync();
  if (hasChart && spec.chart) {
    const build = spec.chart;
    // ECharts needs the element in the document to measure it
    requestAnimationFrame(() => {
      if (!chartBox.isConnected) return;
      const chart = echarts.init(chartBox, null, { renderer: 'svg' });
      const render = (): void => {
        const p = palette();
        chart.setOption({ animation: false, color: p.series, textStyle: { color: p.text }, aria: { enabled: true }, ...build(p) }, true);
        chartBox.dataset.rendered = String(Number(chartBox.dataset.rendered ?? '0') + 1);
      };
      render();
      const observer = new ResizeObserver(() => chart.resize());
      observer.observe(chartBox);
      live.add({ chart, render, observer });
    });
  }
  return root;
}

/** Axis styling shared by the charts. */
export function axisStyle(p: ReturnType<typeof palette>): Record<string, unknown> {
  return { axisLabel: { color: p.muted, hideOverlap: true }, axisLine: { lineStyle: { color: p.grid } }, splitLine: { lineStyle: { color: p.grid } } };
}
