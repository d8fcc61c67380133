/** Rendering a ShareReport for people (text) and machines (JSON). */
import { formatIP } from '../net/ip.js';
import { METRICS } from '../schema/fields.js';
import type { ShareReport, Split3 } from '../analysis/share.js';
import { fmtBytes, fmtCount, fmtShare, fmtTime, table } from './common.js';

/** JSON form: addresses as text, times as ISO strings next to epoch ms. */
export function shareToJson(r: ShareReport): Record<string, unknown> {
  const split = (s: Split3) => ({ bytes: s.bytes, packets: s.packets, flows: s.flows });
  const out: Record<string, unknown> = {
    since: new Date(r.since).toISOString(),
    until: new Date(r.until).toISOString(),
    ...split(r),
  };
  if (r.series) out.series = r.series.map((p) => ({ time: new Date(p.time).toISOString(), ...split(p) }));
  if (r.groups) out.groups = r.groups.map((g) => ({ key: g.key, ...split(g) }));
  out.notMeasurable = r.notMeasurable.map((n) => ({
    sourceKind: n.sourceKind,
    exporter: n.exporterName,
    exporterAddr: formatIP(n.exporterAddr),
    reason: n.reason,
    bytes: n.bytes,
    packets: n.packets,
    flows: n.flows,
  }));
  out.notes = r.notes;
  return out;
}

export function overallText(r: Split3): string {
  return table(
    ['', 'IPv4', 'IPv6', 'IPv6 share'],
    METRICS.map((m) => [
      m,
      m === 'bytes' ? fmtBytes(r[m].ipv4) : fmtCount(r[m].ipv4),
      m === 'bytes' ? fmtBytes(r[m].ipv6) : fmtCount(r[m].ipv6),
      fmtShare(r[m].ipv6Share),
    ]),
    [false, true, true, true],
  );
}

export function groupsText(r: ShareReport): string {
  const groups = r.groups ?? [];
  if (groups.length === 0) return '(no groups)';
  const keys = Object.keys(groups[0]!.key);
  return table(
    [...keys, 'IPv4 bytes', 'IPv6 bytes', 'share bytes', 'share packets', 'share flows'],
    groups.map((g) => [
      ...keys.map((k) => String(g.key[k])),
      fmtBytes(g.bytes.ipv4),
      fmtBytes(g.bytes.ipv6),
      fmtShare(g.bytes.ipv6Share),
      fmtShare(g.packets.ipv6Share),
      fmtShare(g.flows.ipv6Share),
    ]),
    [...keys.map(() => false), true, true, true, true, true],
  );
}

export function seriesText(r: ShareReport): string {
  return table(
    ['time (UTC)', 'IPv4 bytes', 'IPv6 bytes', 'share bytes', 'share packets', 'share flows'],
    (r.series ?? []).map((p) => [
      fmtTime(p.time),
      fmtBytes(p.bytes.ipv4),
      fmtBytes(p.bytes.ipv6),
      fmtShare(p.bytes.ipv6Share),
      fmtShare(p.packets.ipv6Share),
      fmtShare(p.flows.ipv6Share),
    ]),
    [false, true, true, true, true, true],
  );
}

export function notesText(r: ShareReport): string {
  const lines = r.notMeasurable.map(
    (n) => `not measurable: ${n.exporterName || formatIP(n.exporterAddr)} (${n.reason}); ${fmtBytes(n.bytes)} kept out of the shares`,
  );
  return [...lines, ...r.notes.map((n) => `note: ${n}`)].join('\n');
}
