/** The SVG charts on hand-made data: escaping, empty and degenerate data, accessibility, well-formed XML. */
import { describe, expect, it } from 'vitest';
import { esc, truncate } from '../../src/report/escape.js';
import { barChart } from '../../src/report/svg/bars.js';
import { deviceTableChart } from '../../src/report/svg/devices.js';
import { familySplitChart } from '../../src/report/svg/family.js';
import { floorChart } from '../../src/report/svg/floor.js';
import { trendChart } from '../../src/report/svg/trend.js';
import { structureProblems, xmllintAll } from './helpers.js';

const HOSTILE = `<script>alert("x")</script>&amp;'\u0007\uD800`;
const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

function charts(name: string): Record<string, string> {
  return {
    family: familySplitChart([
      { metric: 'bytes', ipv4: 300, ipv6: 700 },
      { metric: 'packets', ipv4: 5, ipv6: 5 },
      { metric: 'flows', ipv4: 0, ipv6: 0 },
    ]),
    trend: trendChart({ since: T0, until: T0 + 6 * H, bucketMs: H, points: [0, 1, 3, 5].map((i) => ({ time: T0 + i * H, ipv4: 1e6 * (i + 1), ipv6: 2e6 })) }),
    bars: barChart({
      id: 'lag',
      title: `Laggards of ${name}`,
      axis: 'share of all IPv4 bytes',
      rows: [
        { label: name, segments: [{ color: 'fixable', value: 0.5, label: 'fixable' }], note: `1 MB · ${name}` },
        { label: 'b', segments: [{ color: 'ipv4-only-device', value: 0.2, label: 'x' }], note: '' },
      ],
      legend: [{ color: 'fixable', label: name }],
    }),
    floor: floorChart([
      { color: 'fixable', label: name, description: name, bytes: 10 },
      { color: 'unknown', label: 'unknown', description: 'u', bytes: 0 },
    ]),
    devices: deviceTableChart([{ name, mac: '00:00:5e:00:53:01', ipv4: ['192.0.2.1'], ipv6: ['2001:db8::1'], ipv6Share: 0.25, usedIPv6: true }]),
  };
}

describe('escaping', () => {
  it('escapes markup characters and replaces characters XML forbids', () => {
    expect(esc('<a href="x">&\'</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
    expect(esc('bell\u0007 nul\u0000 lone\uD800 ok\uD83D\uDE00')).toBe('bell\uFFFD nul\uFFFD lone\uFFFD ok\uD83D\uDE00');
    expect(esc(42)).toBe('42');
  });
  it('truncates by characters with an ellipsis, never splitting a surrogate pair', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('ab', 4)).toBe('ab');
    expect(truncate('\uD83D\uDE00\uD83D\uDE00\uD83D\uDE00', 2)).toBe('\uD83D\uDE00…');
  });
  it('a hostile name appears only escaped in every chart', () => {
    for (const [id, svg] of Object.entries(charts(HOSTILE))) {
      expect(svg, id).not.toMatch(/<script/i);
      expect(svg, id).not.toContain('\u0007');
      expect(structureProblems(svg, { html: false }), id).toEqual([]);
    }
    expect(charts(HOSTILE).bars).toContain('&lt;script&gt;');
  });
});

describe('charts', () => {
  it('are standalone SVG documents with a title, a description and an accessible role', () => {
    for (const [id, svg] of Object.entries(charts('nas'))) {
      expect(svg, id).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+" role="img" aria-labelledby="[\w-]+-title [\w-]+-desc"/);
      expect(svg, id).toMatch(/<title id="[\w-]+-title">[^<]+<\/title>\s*<desc id="[\w-]+-desc">[^<]+<\/desc>/);
      expect(svg, id).not.toMatch(/NaN|Infinity|undefined/);
      // every shape has an explicit colour (for PNG), so no fill relies on a stylesheet
      for (const m of svg.matchAll(/<(rect|path|circle)\b[^>]*>/g)) expect(m[0], id).toMatch(/fill="(#[0-9a-fA-F]{6}|none)"/);
    }
  });

  it('are well-formed XML (xmllint)', () => {
    const docs = [...Object.values(charts('nas')), ...Object.values(charts(HOSTILE))];
    xmllintAll(docs);
  });

  it('say "no traffic" instead of drawing NaN on empty data', () => {
    const empty = [
      familySplitChart([{ metric: 'bytes', ipv4: 0, ipv6: 0 }]),
      trendChart({ since: T0, until: T0 + H, bucketMs: H, points: [] }),
      trendChart({ since: T0, until: T0 + H, bucketMs: H, points: [{ time: T0, ipv4: 0, ipv6: 0 }] }),
      barChart({ id: 'b', title: 't', axis: 'a', rows: [], legend: [] }),
      floorChart([{ color: 'fixable', label: 'fixable', description: '', bytes: 0 }]),
      deviceTableChart([]),
    ];
    for (const svg of empty) {
      expect(svg).toMatch(/no (traffic|IPv4 traffic|devices) in this period/);
      expect(svg).not.toMatch(/NaN|Infinity/);
      expect(structureProblems(svg, { html: false })).toEqual([]);
    }
  });

  it('trend: one point is drawn over its bucket; missing buckets are zero and break the share line', () => {
    const one = trendChart({ since: T0, until: T0 + H, bucketMs: H, points: [{ time: T0, ipv4: 100, ipv6: 300 }] });
    expect(one).not.toMatch(/NaN/);
    expect(one).toMatch(/<circle[^>]*>/);
    expect(one).toContain('75.0 %'); // the share in its tooltip/description
    const gap = trendChart({ since: T0, until: T0 + 4 * H, bucketMs: H, points: [{ time: T0, ipv4: 1, ipv6: 1 }, { time: T0 + H, ipv4: 1, ipv6: 3 }, { time: T0 + 3 * H, ipv4: 1, ipv6: 1 }] });
    // two line pieces: hours 0–1, and the lone hour 3 as a dot only
    expect(gap.match(/<path d="M[^"]*" fill="none"/g)?.length).toBe(1);
    expect(gap.match(/<circle/g)?.length).toBe(3);
  });

  it('family split: the IPv6 share of each metric, and "no traffic" for a metric without any', () => {
    const svg = charts('x').family!;
    expect(svg).toContain('IPv6 70.0 %');
    expect(svg).toContain('IPv6 50.0 %');
    expect(svg).toMatch(/flows[\s\S]*no traffic in this period/);
    expect(svg).toContain('IPv6 share by metric: bytes 70.0 %, packets 50.0 %, flows no traffic.');
  });
});

describe('PNG fonts', () => {
  it('finds the usual sans-serif fonts, none in an empty place, and refuses to render text without one', async () => {
    const { findFonts, NoFontError, svgToPng } = await import('../../src/report/png.js');
    expect(findFonts(['/nonexistent-font-dir'])).toEqual([]);
    expect(() => svgToPng(charts('x').family!, { fonts: [] })).toThrow(NoFontError);
    expect(() => svgToPng(charts('x').family!, { fonts: [] })).toThrow(/fonts-dejavu-core/);
  });
});
