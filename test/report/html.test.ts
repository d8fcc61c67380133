/**
 * The HTML report and the PNG charts on the demo network, in process: every number shown is
 * compared with the generator's ground truth (never with v6scope's own output), the page is
 * self-contained and well-formed, names from the network are escaped, PNGs have pixels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type Report } from '../../src/analysis/report.js';
import { reportCharts } from '../../src/report/charts.js';
import { renderHtml } from '../../src/report/html.js';
import { findFonts, svgToPng } from '../../src/report/png.js';
import { NEIGHBORS } from '../../src/schema/facts.js';
import { parseMac } from '../../src/net/mac.js';
import { demoFixture, type DemoFixture } from '../server/demo-fixture.js';
import { decodePng, pct, pixelStats, PNG_SIGNATURE, structureProblems, svgsOf, xmllintAll } from './helpers.js';

const HOSTILE = '<script>alert(1)</script>';
const CAUSES = ['infrastructure', 'ipv4-only-device', 'legacy-destination', 'fixable', 'unknown'] as const;

let fx: DemoFixture;
let report: Report;
let html: string;

/** `<data value="V">shown</data>` → [V, shown]. */
const datas = (s: string): [string, string][] => [...s.matchAll(/<data value="([^"]*)">([^<]*)<\/data>/g)].map((m) => [m[1]!, m[2]!]);
const section = (id: string): string => new RegExp(`<(section|footer) id="${id}">([\\s\\S]*?)</\\1>`).exec(html)?.[2] ?? '';
const row = (attr: string, key: string): string => new RegExp(`<tr ${attr}="${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
const cells = (tr: string): string[] => [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
const textOf = (cell: string): string => cell.replace(/<[^>]+>/g, '').trim();

beforeAll(async () => {
  fx = await demoFixture({ days: 2 });
  // a device named by a hostile lease: the router, which has no name in the demo
  const router = fx.truth.devices.find((d) => d.role === 'gateway')!;
  await fx.store.facts!.append(NEIGHBORS, [{ seen_at: fx.truth.end + 1, mac: parseMac(router.mac), family: 4, addr: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 168, 1, 1]), hostname: HOSTILE, source: 'test', expires_at: 0 }]);
  report = await buildReport(fx.store, { since: fx.truth.start, until: fx.truth.end, bucketMs: 3_600_000, findings: {} });
  html = renderHtml(report, { generatedAt: fx.truth.end });
});
afterAll(async () => fx?.cleanup());

describe('HTML report on the demo network', () => {
  it('is self-contained: no scripts, no external stylesheets, images or fonts', () => {
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\b(src|srcset|xlink:href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
    // the only links are to the documentation, relative
    for (const m of html.matchAll(/href="([^"]*)"/g)) expect(m[1]).toMatch(/^docs\/[\w-]+\.md$/);
    expect(html).toMatch(/prefers-color-scheme:dark/);
    expect(html).toMatch(/@media print/);
  });

  it('is well-formed: tags balanced, text escaped; every inline SVG is well-formed XML', () => {
    expect(structureProblems(html, { html: true })).toEqual([]);
    const svgs = svgsOf(html);
    expect(svgs.length).toBe(6); // share, trend, 3 laggards, floor (the device table is HTML)
    for (const s of svgs) expect(structureProblems(s, { html: false })).toEqual([]);
    xmllintAll(svgs);
  });

  it('escapes the hostile device name everywhere', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const router = fx.truth.devices.find((d) => d.role === 'gateway')!;
    expect(textOf(cells(row('data-device', router.mac))[0]!)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('escapes hostile DNS names, application labels and fix texts too', () => {
    const f = report.findings!;
    const evil = `${HOSTILE}"'&\u0001`;
    const hostile: Report = {
      ...report,
      findings: {
        ...f,
        laggards: { device: f.laggards.device, app: f.laggards.app.map((l) => ({ ...l, key: evil })), destination: f.laggards.destination.map((l) => ({ ...l, key: evil, names: [evil] })) },
        floor: f.floor.map((c) => ({ ...c, top: c.top.map((t) => ({ ...t, app: evil, destination: evil })) })),
        fixes: f.fixes.map((x) => ({ ...x, id: evil, title: evil, advice: evil, snippet: evil })),
        devices: f.devices.map((d) => ({ ...d, addresses: d.addresses.map((a) => ({ ...a, kind: evil as 'ipv4' })) })),
      },
      share: { ...report.share, notes: [evil] },
    };
    const page = renderHtml(hostile);
    expect(page).not.toContain(HOSTILE);
    expect(page).not.toContain('\u0001');
    expect(page.match(/&lt;script&gt;/g)!.length).toBeGreaterThan(20);
    expect(structureProblems(page, { html: true })).toEqual([]);
    xmllintAll(svgsOf(page));
  });

  it('headline: the IPv6 share by bytes, packets and flows, and the traffic per family, equal the ground truth', () => {
    const t = fx.truth;
    const head = datas(/<p class="headline">[\s\S]*?<\/p>\s*<p>[\s\S]*?<\/p>/.exec(section('share'))![0]);
    const [bytes, packets, flows, v6, v4] = head;
    for (const [[value, shown], m] of [
      [bytes!, 'bytes'],
      [packets!, 'packets'],
      [flows!, 'flows'],
    ] as const) {
      expect(Number(value)).toBeCloseTo(t.share[m], 12);
      expect(shown).toBe(pct(t.share[m]));
    }
    expect(Number(v6![0])).toBe(t.total.ipv6.bytes);
    expect(Number(v4![0])).toBe(t.total.ipv4.bytes);
  });

  it('the period is the demo’s two days (UTC)', () => {
    const times = [...html.matchAll(/<time datetime="([^"]+)">/g)].map((m) => m[1]);
    expect(times.slice(0, 2)).toEqual([new Date(fx.truth.start).toISOString(), new Date(fx.truth.end).toISOString()]);
  });

  it('host penetration counts the devices that used IPv6 (the router too)', () => {
    const clients = fx.truth.devices.filter((d) => d.role === 'client');
    const withV6 = clients.filter((d) => d.ipv6Totals.flows > 0).length + 1;
    const all = clients.length + 1;
    const hp = datas(/<span id="host-penetration">[\s\S]*?<\/span>/.exec(html)![0]);
    expect(hp.map((d) => d[0])).toEqual([String(withV6), String(all), String(withV6 / all)]);
    expect(hp[2]![1]).toBe(pct(withV6 / all));
  });

  it('trend: the buckets add up to the traffic of each family', () => {
    const rows = [...section('trend').matchAll(/<tr><td><time[\s\S]*?<\/tr>/g)].map((m) => datas(m[0]));
    expect(rows.length).toBe(48);
    expect(rows.reduce((a, r) => a + Number(r[0]![0]), 0)).toBe(fx.truth.total.ipv4.bytes);
    expect(rows.reduce((a, r) => a + Number(r[1]![0]), 0)).toBe(fx.truth.total.ipv6.bytes);
  });

  it('fixes: the BitTorrent binding first, with its what-if "IPv6 before → after"', () => {
    const t = fx.truth;
    const nas = t.devices.find((d) => d.name === 'nas')!;
    const tracker = t.destinations.find((d) => d.name === 'tracker.example')!;
    const first = /<li data-fix="([^"]+)">([\s\S]*?)<\/li>/.exec(section('fixes'))!;
    expect(first[1]).toBe(`p2p-binding:${nas.mac}`);
    expect(first[2]).toContain('BitTorrent client on nas');
    const moved = t.bittorrent.totals.ipv4.bytes - tracker.ipv4Totals.bytes;
    const after = (t.total.ipv6.bytes + moved) / (t.total.ipv4.bytes + t.total.ipv6.bytes);
    const m = /IPv6 <data value="([^"]+)">([^<]+)<\/data> → <data value="([^"]+)">([^<]+)<\/data><\/span> by bytes/.exec(first[2]!)!;
    expect(Number(m[1])).toBeCloseTo(t.share.bytes, 12);
    expect(m[2]).toBe(pct(t.share.bytes));
    expect(Number(m[3])).toBeCloseTo(after, 12);
    expect(m[4]).toBe(pct(after));
    // the same what-if is the headline's biggest lever
    expect(section('share')).toContain(`IPv6 <data value="${m[1]}">${pct(t.share.bytes)}</data> → <data value="${m[3]}">${pct(after)}</data>`);
    expect(first[2]).toMatch(/<pre><code>[\s\S]*bind-address-ipv6/);
  });

  it('laggards by device: each device’s share of all IPv4 bytes, the NAS first', () => {
    const t = fx.truth;
    const lag = section('laggards');
    const first = /<tr data-laggard="([^"]+)">/.exec(lag)!;
    expect(first[1]).toBe(t.devices.find((d) => d.name === 'nas')!.mac);
    for (const d of t.devices.filter((x) => x.role === 'client' && x.ipv4Totals.flows > 0)) {
      const r = row('data-laggard', d.mac);
      const c = cells(r);
      expect(textOf(c[0]!)).toBe(`${d.name} ${d.mac}`);
      const [b, s] = datas(`${c[1]}${c[2]}`);
      expect(Number(b![0])).toBe(d.ipv4Totals.bytes);
      expect(s![1]).toBe(pct(d.ipv4Totals.bytes / t.total.ipv4.bytes));
    }
  });

  it('the floor: every cause’s IPv4 bytes and share equal the ground truth', () => {
    const t = fx.truth;
    for (const c of CAUSES) {
      const d = datas(cells(row('data-cause', c)).slice(1, 4).join(''));
      expect(Number(d[0]![0]), c).toBe(t.floor[c].bytes);
      expect(d[1]![1], c).toBe(pct(t.floor[c].bytes / t.total.ipv4.bytes));
      expect(Number(d[2]![0]), c).toBe(t.floor[c].flows);
    }
    // top contributors: the camera's cloud uploads are the IPv4-only floor
    expect(row('data-cause', 'ipv4-only-device')).toMatch(/camera · https · cam-cloud\.example/);
  });

  it('devices: name, MAC, addresses by family, IPv6 share and "ever used IPv6" per device', () => {
    for (const d of fx.truth.devices.filter((x) => x.role === 'client')) {
      const c = cells(row('data-device', d.mac));
      expect(c.length, d.name).toBe(7);
      expect(textOf(c[0]!)).toBe(d.name);
      expect(textOf(c[1]!)).toBe(d.mac);
      expect(c[2]!.split('<br>').map(textOf).filter((x) => x !== '—')).toEqual(d.ipv4);
      expect(c[3]!.split('<br>').map((a) => textOf(a).replace(/ \(.*\)$/, '')).filter((x) => x !== '—').sort()).toEqual([...d.ipv6].sort());
      const all = d.ipv4Totals.bytes + d.ipv6Totals.bytes;
      expect(Number(datas(c[4]!)[0]![0])).toBe(all);
      const share = datas(c[5]!)[0]!;
      expect(Number(share[0])).toBeCloseTo(d.ipv6Totals.bytes / all, 12);
      expect(share[1]).toBe(pct(d.ipv6Totals.bytes / all));
      expect(textOf(c[6]!)).toBe(d.ipv6Totals.flows > 0 ? 'yes' : 'NO');
    }
  });

  it('ends with how the numbers are computed, pointing to the docs', () => {
    const f = section('method');
    expect(f).toMatch(/How these numbers are computed/);
    expect(f).toContain('href="docs/reports.md"');
  });
});

describe('PNG charts of the demo report', () => {
  it('have the PNG signature, twice the SVG size, and drawn pixels — text included', () => {
    const charts = reportCharts(report);
    expect(charts.map((c) => c.id)).toEqual(['share', 'trend', 'laggards-device', 'laggards-app', 'laggards-destination', 'floor', 'devices']);
    const fonts = findFonts();
    expect(fonts.length, 'a font is needed for PNG text: apt-get install fonts-dejavu-core').toBeGreaterThan(0);
    for (const c of charts) {
      const { png } = svgToPng(c.svg, { fonts });
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE), c.id).toBe(true);
      const img = decodePng(png);
      const [, w, h] = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(c.svg)!;
      expect([img.width, img.height], c.id).toEqual([2 * Number(w), 2 * Number(h)]);
      const st = pixelStats(img);
      expect(st.colours, c.id).toBeGreaterThan(20); // anti-aliased shapes and text, not a flat image
      expect(st.nonBackground, c.id).toBeGreaterThan(0.01);
    }
  });

  it('text is drawn: the same chart without text has fewer non-background pixels', () => {
    const svg = reportCharts(report).find((c) => c.id === 'devices')!.svg;
    const withText = pixelStats(decodePng(svgToPng(svg).png)).nonBackground;
    const withoutText = pixelStats(decodePng(svgToPng(svg.replace(/<text[\s\S]*?<\/text>/g, '')).png)).nonBackground;
    expect(withText).toBeGreaterThan(withoutText * 1.2);
  });
});
