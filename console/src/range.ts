/**
 * Time ranges for the pages: presets relative to the END OF STORED DATA (so a capture from last
 * month still shows its last 24 h), or explicit since/until. URL parameters: range=24h|7d|30d|all,
 * or since=…&until=… (anything the API accepts).
 */
import { dataRange } from './api.js';
import { h } from './dom.js';

export const PRESETS: readonly { value: string; label: string; ms: number | null }[] = [
  { value: '24h', label: 'Last 24 h of data', ms: 24 * 3_600_000 },
  { value: '7d', label: 'Last 7 days of data', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days of data', ms: 30 * 86_400_000 },
  { value: 'all', label: 'All stored data', ms: null },
];

export interface Resolved {
  /** API parameters: absent = the API's default (all stored data). */
  since?: string;
  until?: string;
  label: string;
}

export async function resolveRange(q: URLSearchParams, def: string, signal?: AbortSignal): Promise<Resolved> {
  const since = q.get('since') ?? undefined;
  const until = q.get('until') ?? undefined;
  if (since || until) return { since, until, label: `${since ?? 'start'} – ${until ?? 'end'}` };
  const preset = PRESETS.find((p) => p.value === (q.get('range') ?? def)) ?? PRESETS.find((p) => p.value === def)!;
  if (preset.ms === null) return { label: preset.label };
  const r = await dataRange(signal);
  if (!r) return { label: preset.label };
  return { since: new Date(Math.max(r.since, r.until - preset.ms)).toISOString(), until: new Date(r.until).toISOString(), label: preset.label };
}

/** A <select> of the presets (plus "custom" when since/until are in the URL). */
export function rangeSelect(q: URLSearchParams, def: string, onChange: (value: string) => void): HTMLLabelElement {
  const custom = q.has('since') || q.has('until');
  const cur = custom ? 'custom' : (q.get('range') ?? def);
  const sel = h(
    'select',
    { name: 'range', onchange: (ev: Event) => onChange((ev.target as HTMLSelectElement).value) },
    ...PRESETS.map((p) => h('option', { value: p.value, selected: p.value === cur }, p.label)),
    custom ? h('option', { value: 'custom', selected: true }, 'Custom (since/until)') : null,
  );
  return h('label', { class: 'field' }, h('span', null, 'Time range'), sel);
}
