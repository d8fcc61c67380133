/** Pieces the pages share: KPI cards, the share trend chart, notes. */
import type { ChartOption } from '../charts.js';
import { h } from '../dom.js';
import { fmtMetric, fmtShare, fmtTime } from '../format.js';
import { axisStyle, panel, type Column } from '../panel.js';
import type { palette } from '../theme.js';
import { METRICS, type FamilyCounts, type Metric, type SharePoint } from '../types.js';
export { fullSeries } from '../series.js';

export type Palette = ReturnType<typeof palette>;


export function kpi(metric: Metric, c: FamilyCounts | null, label = `IPv6 share by ${metric}`): HTMLElement {
  return h(
    'div',
    { class: 'kpi', 'data-kpi': metric },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, fmtShare(c?.ipv6Share ?? null)),
    c ? h('div', { class: 'kpi-sub muted' }, `IPv4 ${fmtMetric(metric, c.ipv4)} · IPv6 ${fmtMetric(metric, c.ipv6)}`) : null,
  );
}

export function notes(list: readonly string[] | undefined): HTMLElement | null {
  if (!list || list.length === 0) return null;
  return h('ul', { class: 'notes' }, ...list.map((n) => h('li', null, n)));
}

export const timeColumns: Column<SharePoint>[] = [
  { label: 'time (UTC)', value: (r) => r.time, text: (r) => fmtTime(r.time) },
  ...METRICS.map((m): Column<SharePoint> => ({ label: `IPv6 share (${m})`, value: (r) => r[m].ipv6Share, text: (r) => fmtShare(r[m].ipv6Share), numeric: true })),
  ...METRICS.flatMap((m): Column<SharePoint>[] => [
    { label: `IPv4 ${m}`, value: (r) => r[m].ipv4, text: (r) => fmtMetric(m, r[m].ipv4), numeric: true },
    { label: `IPv6 ${m}`, value: (r) => r[m].ipv6, text: (r) => fmtMetric(m, r[m].ipv6), numeric: true },
  ]),
];

const pctAxis = (p: Palette): Record<string, unknown> => ({ type: 'value', min: 0, max: 100, axisLabel: { color: p.muted, hideOverlap: true, formatter: '{value} %' }, axisLine: { lineStyle: { color: p.grid } }, splitLine: { lineStyle: { color: p.grid } } });
const timeAxis = (p: Palette): Record<string, unknown> => ({ type: 'time', ...axisStyle(p) });

/** IPv6 share lines (bytes, packets, flows) over time. */
export function shareLines(series: SharePoint[]): (p: Palette) => ChartOption {
  return (p) => ({
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} %` : '–') },
    legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
    grid: { left: 48, right: 16, top: 36, bottom: 32 },
    xAxis: timeAxis(p),
    yAxis: pctAxis(p),
    series: METRICS.map((m) => ({
      name: `IPv6 share (${m})`,
      type: 'line',
      showSymbol: series.length < 60,
      connectNulls: false,
      data: series.map((s) => [s.time, s[m].ipv6Share === null ? null : Math.round(s[m].ipv6Share * 1000) / 10]),
    })),
  });
}

/** IPv4 and IPv6 amounts of one metric, stacked, over time. */
export function familyArea(series: SharePoint[], metric: Metric): (p: Palette) => ChartOption {
  return (p) => ({
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? fmtMetric(metric, v) : '–') },
    legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
    grid: { left: 64, right: 16, top: 36, bottom: 32 },
    xAxis: timeAxis(p),
    yAxis: { type: 'value', ...axisStyle(p), axisLabel: { color: p.muted, hideOverlap: true, formatter: (v: number) => fmtMetric(metric, v) } },
    series: (['ipv6', 'ipv4'] as const).map((f) => ({
      name: f === 'ipv6' ? `IPv6 ${metric}` : `IPv4 ${metric}`,
      type: 'line',
      stack: 'family',
      areaStyle: { opacity: 0.55 },
      showSymbol: false,
      color: f === 'ipv6' ? p.v6 : p.v4,
      data: series.map((s) => [s.time, s[metric][f]]),
    })),
  });
}

export function trendPanel(title: string, name: string, series: SharePoint[], description?: string): HTMLElement {
  return panel({ title, name, description, columns: timeColumns, rows: series, chart: shareLines(series) });
}

export function errorBox(message: string): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, message);
}
