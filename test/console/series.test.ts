/** The console's series filling (console/src/series.ts): empty buckets back in, nothing lost. */
import { describe, expect, it } from 'vitest';
import { fullSeries } from '../../console/src/series.js';
import type { SharePoint } from '../../console/src/types.js';

const H = 3_600_000;
const point = (t: number, v4: number, v6: number): SharePoint => {
  const c = { ipv4: v4, ipv6: v6, ipv6Share: v4 + v6 ? v6 / (v4 + v6) : null };
  return { time: new Date(t).toISOString(), bytes: c, packets: c, flows: c };
};

describe('fullSeries', () => {
  it('puts the quiet buckets back as zero counters without a share, in order', () => {
    const since = Date.UTC(2026, 0, 5);
    const r = { bytes: null, packets: null, flows: null, bucket: H, range: { since, until: since + 5 * H }, series: [point(since + H, 10, 30), point(since + 3 * H, 5, 0)] };
    const s = fullSeries(r);
    expect(s.map((p) => Date.parse(p.time) - since)).toEqual([0, H, 2 * H, 3 * H, 4 * H]);
    expect(s.map((p) => p.bytes.ipv4)).toEqual([0, 10, 0, 5, 0]);
    expect(s.map((p) => p.bytes.ipv6Share)).toEqual([null, 0.75, null, 0, null]);
  });

  it('without a bucket or range, or with too many points, the series is returned as is', () => {
    const p = [point(0, 1, 1)];
    expect(fullSeries({ bytes: null, packets: null, flows: null, series: p })).toBe(p);
    expect(fullSeries({ bytes: null, packets: null, flows: null, series: p, bucket: 60_000, range: { since: 0, until: 60_000 * 20_000 } })).toBe(p);
  });
});
