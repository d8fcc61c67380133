/**
 * Explorer: the IPv6 share over time (stacked IPv4/IPv6 area of one metric, or share lines) and by
 * any dimension, for any filter. Every control is in the URL (filter, by, metric, chart, range or
 * since/until), so the view can be shared and a reload restores it. A filter the API rejects is
 * shown inline with the column the API reports.
 */
import { ApiFailure, apiGet } from '../api.js';
import { append, h, uid } from '../dom.js';
import { fmtMetric, fmtShare } from '../format.js';
import { axisStyle, panel, type Column } from '../panel.js';
import { PRESETS, resolveRange } from '../range.js';
import { href, navigate, type Route } from '../router.js';
import { METRICS, type DevicesResponse, type FieldsResponse, type Metric, type ShareGroup, type ShareResponse } from '../types.js';
import { errorBox, familyArea, fullSeries, kpi, notes, shareLines, timeColumns } from './common.js';

let fieldsCache: Promise<FieldsResponse> | null = null;

function metricOf(q: URLSearchParams): Metric {
  const m = q.get('metric');
  return m === 'packets' || m === 'flows' ? m : 'bytes';
}

export async function explorer(route: Route, signal: AbortSignal): Promise<Node> {
  const q = route.query;
  fieldsCache ??= apiGet<FieldsResponse>('fields', {}, signal).catch((e: unknown) => {
    fieldsCache = null;
    throw e;
  });
  const fields = await fieldsCache;
  const metric = metricOf(q);
  const chart = q.get('chart') === 'lines' ? 'lines' : 'area';
  const filter = q.get('filter') ?? '';
  const by = q.get('by') ?? '';
  const controls = explorerForm(q, fields, metric, chart);
  let result: Node;
  try {
    const range = await resolveRange(q, 'all', signal);
    const share = await apiGet<ShareResponse>('share', { since: range.since, until: range.until, filter, by, series: true, limit: 25, sort: metric }, signal);
    // device ids are MACs: show the devices' names beside them
    const names = share.by?.includes('device_id')
      ? new Map((await apiGet<DevicesResponse>('devices', { since: range.since, until: range.until }, signal)).devices.map((d) => [d.id, d.hostname ?? '']))
      : new Map<string, string>();
    result = results(share, metric, chart, names);
  } catch (e) {
    if (!(e instanceof ApiFailure) || e.body.status !== 400) throw e;
    result = errorBox('The query was not run: fix the highlighted field.');
    showError(controls, e);
  }
  return h('div', { class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Explorer')), controls, h('div', { 'data-results': '' }, result));
}

function explorerForm(q: URLSearchParams, fields: FieldsResponse, metric: Metric, chart: string): HTMLFormElement {
  const filterId = uid('filter');
  const errId = uid('filter-error');
  const byList = uid('by-list');
  const custom = q.has('since') || q.has('until');
  const examples = fields.filter.examples;
  const form = h(
    'form',
    {
      class: 'controls',
      role: 'search',
      'aria-label': 'Query',
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        const data = new FormData(form);
        const next = new URLSearchParams();
        const put = (k: string, v: FormDataEntryValue | null, def = ''): void => {
          const s = typeof v === 'string' ? v.trim() : '';
          if (s !== '' && s !== def) next.set(k, s);
        };
        put('filter', data.get('filter'));
        put('by', data.get('by'));
        put('metric', data.get('metric'), 'bytes');
        put('chart', data.get('chart'), 'area');
        const range = data.get('range');
        if (range === 'custom') {
          put('since', data.get('since'));
          put('until', data.get('until'));
        } else put('range', range, 'all');
        navigate(href('explorer', next));
      },
    },
    h(
      'div',
      { class: 'filter-row' },
      h('label', { for: filterId }, 'Filter'),
      h('input', {
        id: filterId,
        name: 'filter',
        type: 'text',
        value: q.get('filter') ?? '',
        placeholder: examples[0] ?? 'family = 4',
        spellcheck: 'false',
        autocomplete: 'off',
        maxlength: fields.filter.maxLength,
        'aria-describedby': errId,
        class: 'mono',
      }),
      h('button', { type: 'submit' }, 'Apply'),
      h('div', { id: errId, class: 'field-error', 'data-error': 'filter', 'aria-live': 'polite' }),
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Group by'),
        h('input', { name: 'by', type: 'text', list: byList, value: q.get('by') ?? '', placeholder: 'none (e.g. device, app)', spellcheck: 'false', autocomplete: 'off' }),
        h('datalist', { id: byList }, ...[...Object.keys(fields.groupAliases), ...fields.dimensions.filter((d) => d !== 'family')].map((d) => h('option', { value: d }))),
        h('span', { class: 'field-error', 'data-error': 'by' }),
      ),
      h('label', { class: 'field' }, h('span', null, 'Metric'), h('select', { name: 'metric' }, ...METRICS.map((m) => h('option', { value: m, selected: m === metric }, m)))),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Chart'),
        h('select', { name: 'chart' }, h('option', { value: 'area', selected: chart === 'area' }, 'IPv4 vs IPv6 (stacked)'), h('option', { value: 'lines', selected: chart === 'lines' }, 'IPv6 share (lines)')),
      ),
      h(
        'label',
        { class: 'field' },
        h('span', null, 'Time range'),
        h(
          'select',
          {
            name: 'range',
            onchange: (ev: Event) => {
              const custom = (ev.target as HTMLSelectElement).value === 'custom';
              for (const el of form.querySelectorAll<HTMLElement>('[data-custom]')) el.hidden = !custom;
            },
          },
          ...PRESETS.map((p) => h('option', { value: p.value, selected: !custom && (q.get('range') ?? 'all') === p.value }, p.label)),
          h('option', { value: 'custom', selected: custom }, 'Custom'),
        ),
      ),
      h('label', { class: 'field', 'data-custom': '', hidden: !custom }, h('span', null, 'Since'), h('input', { name: 'since', type: 'text', value: q.get('since') ?? '', placeholder: '2026-01-05T00:00Z' })),
      h('label', { class: 'field', 'data-custom': '', hidden: !custom }, h('span', null, 'Until'), h('input', { name: 'until', type: 'text', value: q.get('until') ?? '', placeholder: 'now' })),
      h('span', { class: 'field-error', 'data-error': 'time' }),
    ),
    h('p', { class: 'muted small' }, 'Examples: ', ...examples.flatMap((e, i) => [i ? ' · ' : '', h('code', null, e)]), ' — the filter language: docs/api.md.'),
  );
  return form;
}

/** The API's 400 next to the control it concerns; a filter error points at its column. */
function showError(form: HTMLFormElement, e: ApiFailure): void {
  const b = e.body;
  const slot = b.param === 'filter' ? 'filter' : b.param === 'by' ? 'by' : 'time';
  const box = form.querySelector<HTMLElement>(`[data-error="${slot}"]`);
  const input = form.querySelector<HTMLInputElement>(slot === 'filter' ? 'input[name=filter]' : slot === 'by' ? 'input[name=by]' : 'select[name=range]');
  input?.setAttribute('aria-invalid', 'true');
  if (!box) return;
  box.replaceChildren();
  box.setAttribute('role', 'alert');
  if (slot === 'filter' && b.column !== undefined) {
    const text = input?.value ?? '';
    const col = b.column;
    append(
      box,
      h('span', { class: 'where' }, `column ${col}: `),
      h('span', { 'data-reason': '' }, b.reason ?? b.message),
      b.hint ? h('span', { class: 'hint' }, ` (${b.hint})`) : null,
      h('pre', { class: 'caret', 'aria-hidden': 'true' }, `${text}\n${' '.repeat(Math.max(0, col - 1))}${'^'.repeat(Math.max(1, Math.min(b.length ?? 1, 80)))}`),
    );
    if (input && b.position !== undefined) {
      input.focus();
      input.setSelectionRange(b.position, b.position + (b.length ?? 0));
    }
  } else box.append(b.message);
}

function results(share: ShareResponse, metric: Metric, chart: string, names: Map<string, string>): Node {
  const series = fullSeries(share);
  const groups = share.groups ?? [];
  const by = share.by ?? [];
  const out = h(
    'div',
    null,
    notes(share.notes),
    h('div', { class: 'kpis' }, ...METRICS.map((m) => kpi(m, share[m]))),
    panel({
      title: chart === 'lines' ? 'IPv6 share over time' : `IPv4 and IPv6 ${metric} over time`,
      name: 'explorer-series',
      columns: timeColumns,
      rows: series,
      chart: chart === 'lines' ? shareLines(series) : familyArea(series, metric),
    }),
  );
  if (by.length > 0) out.append(groupPanel(groups, by, metric, names));
  return out;
}

function groupPanel(groups: ShareGroup[], by: string[], metric: Metric, names: Map<string, string>): HTMLElement {
  const part = (g: ShareGroup, b: string): string => {
    const v = String(g.key[b] ?? '');
    return b === 'device_id' && names.get(v) ? `${names.get(v)} (${v})` : v;
  };
  const keyText = (g: ShareGroup): string => by.map((b) => part(g, b)).join(' · ');
  const columns: Column<ShareGroup>[] = [
    ...by.flatMap((b): Column<ShareGroup>[] => [
      { label: b, value: (g) => g.key[b] ?? '' },
      ...(b === 'device_id' ? [{ label: 'device name', value: (g: ShareGroup) => names.get(String(g.key[b] ?? '')) ?? '' }] : []),
    ]),
    ...METRICS.flatMap((m): Column<ShareGroup>[] => [
      { label: `IPv6 share (${m})`, value: (g) => g[m].ipv6Share, text: (g) => fmtShare(g[m].ipv6Share), numeric: true },
      { label: `IPv4 ${m}`, value: (g) => g[m].ipv4, text: (g) => fmtMetric(m, g[m].ipv4), numeric: true },
      { label: `IPv6 ${m}`, value: (g) => g[m].ipv6, text: (g) => fmtMetric(m, g[m].ipv6), numeric: true },
    ]),
  ];
  return panel({
    title: `By ${by.join(', ')}`,
    name: 'explorer-groups',
    columns,
    rows: groups,
    height: Math.max(160, groups.length * 28 + 64),
    chart: (p) => ({
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => (typeof v === 'number' ? fmtMetric(metric, v) : '–') },
      legend: { type: 'scroll', textStyle: { color: p.text }, pageTextStyle: { color: p.muted }, top: 0 },
      grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: 'value', ...axisStyle(p), axisLabel: { color: p.muted, hideOverlap: true, formatter: (v: number) => fmtMetric(metric, v) } },
      yAxis: { type: 'category', inverse: true, data: groups.map(keyText), ...axisStyle(p), axisLabel: { color: p.muted, width: 180, overflow: 'truncate' } },
      series: (['ipv6', 'ipv4'] as const).map((f) => ({ name: f === 'ipv6' ? 'IPv6' : 'IPv4', type: 'bar', stack: 'family', color: f === 'ipv6' ? p.v6 : p.v4, data: groups.map((g) => g[metric][f]) })),
    }),
  });
}
