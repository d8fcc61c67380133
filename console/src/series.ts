/** Time series helpers (no DOM: unit-tested in test/console). */
import type { FamilyCounts, SharePoint, ShareResponse } from './types.js';

/**
 * The API returns only the buckets that have traffic: put the empty ones back (zero counters, no
 * share), so that time axes do not interpolate across quiet hours.
 */
export function fullSeries(r: ShareResponse): SharePoint[] {
  const series = r.series ?? [];
  const b = r.bucket;
  if (!b || !r.range || (r.range.until - r.range.since) / b > 10_000) return series;
  const byTime = new Map(series.map((p) => [Date.parse(p.time), p]));
  const empty: FamilyCounts = { ipv4: 0, ipv6: 0, ipv6Share: null };
  const out: SharePoint[] = [];
  for (let t = Math.floor(r.range.since / b) * b; t < r.range.until; t += b) {
    out.push(byTime.get(t) ?? { time: new Date(t).toISOString(), bytes: empty, packets: empty, flows: empty });
    byTime.delete(t);
  }
  // anything not on the grid (should not happen) is kept, in time order
  return byTime.size ? [...out, ...byTime.values()].sort((x, y) => Date.parse(x.time) - Date.parse(y.time)) : out;
}
