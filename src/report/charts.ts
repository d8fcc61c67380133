/** The report's charts, from the report object: each a standalone SVG, used inline in the HTML and for PNG export. */
import type { Report } from '../analysis/report.js';
import { CAUSES, type Cause, type Laggard, type LaggardDimension } from '../analysis/find.js';
import { fmtBytes, fmtShare } from './format.js';
import { barChart, type BarRow } from './svg/bars.js';
import { deviceTableChart } from './svg/devices.js';
import { familySplitChart } from './svg/family.js';
import { floorChart } from './svg/floor.js';
import type { ColorName } from './svg/svg.js';
import { trendChart } from './svg/trend.js';

export interface Chart {
  /** Also the PNG file name (without extension). */
  id: string;
  title: string;
  svg: string;
  /** Shown in the HTML report (the device table is an HTML table there; its SVG is for slides). */
  inHtml: boolean;
}

export const CAUSE_LABEL: Record<Cause, string> = {
  infrastructure: 'infrastructure',
  'ipv4-only-device': 'IPv4-only device',
  'legacy-destination': 'legacy destination (no AAAA)',
  fixable: 'fixable',
  unknown: 'unknown (no DNS evidence)',
};

const CAUSE_LEGEND = CAUSES.map((c) => ({ color: c as ColorName, label: CAUSE_LABEL[c] }));

const DIM_TITLE: Record<LaggardDimension, string> = {
  device: 'Laggards: devices carrying the most IPv4',
  app: 'Laggards: applications carrying the most IPv4',
  destination: 'Laggards: destinations reached over IPv4',
};

/** A device's display name: its lease/neighbour hostname, else its id (MAC). */
export function deviceName(report: Report, id: string): string {
  return report.findings?.names.get(id) ?? report.findings?.devices.find((d) => d.id === id)?.hostname ?? id;
}

export function laggardLabel(report: Report, by: LaggardDimension, l: Laggard): string {
  return by === 'device' ? deviceName(report, l.key) : l.key;
}

/** "1.23 GB · if fixed: IPv6 → 83.8 %" (or the main cause when nothing in it is fixable locally). */
export function laggardNote(l: Laggard): string {
  if ((l.causes.fixable?.bytes ?? 0) > 0) return `${fmtBytes(l.ipv4.bytes)} · if fixed: IPv6 → ${fmtShare(l.whatIfFixed.bytes)}`;
  const main = CAUSES.filter((c) => (l.causes[c]?.bytes ?? 0) > 0).sort((a, b) => l.causes[b]!.bytes - l.causes[a]!.bytes)[0];
  return `${fmtBytes(l.ipv4.bytes)}${main ? ` · ${CAUSE_LABEL[main]}` : ''}`;
}

export function reportCharts(report: Report, o: { maxBars?: number } = {}): Chart[] {
  const s = report.share;
  const charts: Chart[] = [];
  const add = (id: string, svg: string, inHtml = true): void => {
    const title = /<title[^>]*>([^<]*)<\/title>/.exec(svg)?.[1] ?? id;
    charts.push({ id, title, svg, inHtml });
  };
  add(
    'share',
    familySplitChart(
      (['bytes', 'packets', 'flows'] as const).map((m) => ({ metric: m, ipv4: s[m].ipv4, ipv6: s[m].ipv6 })),
      { id: 'share' },
    ),
  );
  add(
    'trend',
    trendChart({ since: s.since, until: s.until, bucketMs: report.bucketMs, points: (s.series ?? []).map((p) => ({ time: p.time, ipv4: p.bytes.ipv4, ipv6: p.bytes.ipv6 })) }, { id: 'trend' }),
  );
  const f = report.findings;
  if (!f) return charts;
  const ipv4Bytes = f.ipv4.bytes;
  for (const by of ['device', 'app', 'destination'] as const) {
    const rows: BarRow[] = f.laggards[by].slice(0, o.maxBars ?? 8).map((l) => ({
      label: laggardLabel(report, by, l),
      segments: CAUSES.map((c) => ({ color: c as ColorName, label: CAUSE_LABEL[c], value: ipv4Bytes > 0 ? (l.causes[c]?.bytes ?? 0) / ipv4Bytes : 0 })),
      note: laggardNote(l),
    }));
    add(`laggards-${by}`, barChart({ id: `laggards-${by}`, title: DIM_TITLE[by], axis: 'share of all IPv4 bytes, by cause', rows, legend: CAUSE_LEGEND }));
  }
  add(
    'floor',
    floorChart(
      f.floor.map((c) => ({ color: c.cause as ColorName, label: CAUSE_LABEL[c.cause], description: c.description, bytes: c.ipv4.bytes })),
      { id: 'floor' },
    ),
  );
  add(
    'devices',
    deviceTableChart(
      f.devices.map((d) => ({
        name: deviceName(report, d.id),
        mac: d.mac ?? d.id,
        ipv4: d.addresses.filter((a) => a.family === 4).map((a) => a.addr),
        ipv6: d.addresses.filter((a) => a.family === 6).map((a) => a.addr),
        ipv6Share: d.ipv6Share,
        usedIPv6: d.usedIPv6,
      })),
      { id: 'devices', title: `Devices: ${f.devices.filter((d) => d.usedIPv6).length} of ${f.devices.length} used IPv6` },
    ),
    false,
  );
  return charts;
}
