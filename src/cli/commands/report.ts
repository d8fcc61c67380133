import type { Command } from 'commander';
import { buildReport, type Report } from '../../analysis/report.js';
import type { Talker } from '../../analysis/talkers.js';
import { openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { fmtBytes, fmtCount, fmtShare, fmtTime, globals, parseDuration, printJson, storeExists, table } from '../common.js';
import { resolveRange } from '../query-options.js';
import { notesText, overallText, seriesText, shareToJson } from '../share-output.js';

const DAY = 86_400_000;

export function reportToJson(r: Report): Record<string, unknown> {
  return {
    ...shareToJson(r.share),
    bucket: r.bucketMs,
    topIPv4: r.topIPv4,
    ipv4Bytes: r.ipv4Bytes,
    hostPenetration: r.hostPenetration,
  };
}

function talkersText(title: string, rows: Talker[], names?: Map<string, string>): string {
  if (rows.length === 0) return `${title}: none`;
  const keys = Object.keys(rows[0]!.key);
  return `${title}\n${table(
    [...keys, ...(names ? ['name'] : []), 'IPv4 bytes', 'of IPv4', 'packets', 'flows'],
    rows.map((t) => [
      ...keys.map((k) => String(t.key[k])),
      ...(names ? [names.get(String(t.key[keys[0]!])) ?? ''] : []),
      fmtBytes(t.bytes),
      fmtShare(t.shareOfFamilyBytes),
      fmtCount(t.packets),
      fmtCount(t.flows),
    ]),
    [...keys.map(() => false), ...(names ? [false] : []), true, true, true, true],
  )}`;
}

/** The text report. `names` optionally maps device ids (MACs) to names for display. */
export function reportText(r: Report, names?: Map<string, string>): string {
  const s = r.share;
  return [
    `v6scope report — ${fmtTime(s.since)} → ${fmtTime(s.until)}`,
    overallText(s),
    `IPv6 traffic ratio ${fmtShare(s.bytes.ipv6Share)} (bytes), flow ratio ${fmtShare(s.flows.ipv6Share)}, host penetration ${r.hostPenetration.withIPv6} of ${r.hostPenetration.all} devices used IPv6 (${fmtShare(r.hostPenetration.ratio)})`,
    `Trend (per ${r.bucketMs >= DAY ? `${r.bucketMs / DAY} d` : `${r.bucketMs / 3_600_000} h`})\n${seriesText(s)}`,
    talkersText('Top IPv4 devices', r.topIPv4.devices, names),
    talkersText('Top IPv4 destinations', r.topIPv4.destinations),
    talkersText('Top IPv4 applications (protocol, service port)', r.topIPv4.applications),
    notesText(s),
  ]
    .filter(Boolean)
    .join('\n\n');
}

export async function runReport(
  store: FlowStore,
  o: { since?: string; until?: string; bucket?: string; json: boolean; names?: Map<string, string>; print?: boolean },
): Promise<Report | null> {
  const range = await resolveRange(store, o.since, o.until);
  if (!range) {
    if (o.json) printJson({ notes: ['no data stored yet'] });
    else process.stdout.write('no data stored yet: run "v6scope ingest FILE" or "v6scope demo"\n');
    return null;
  }
  const span = range.until - range.since;
  const bucketMs = o.bucket ? parseDuration(o.bucket, '--bucket') : span > 2 * DAY ? DAY : 3_600_000;
  const report = await buildReport(store, { ...range, bucketMs });
  if (o.print === false) return report;
  if (o.json) printJson(reportToJson(report));
  else process.stdout.write(`${reportText(report, o.names)}\n`);
  return report;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Report: IPv6 share by bytes/packets/flows, its trend, and the top IPv4 talkers')
    .option('--since <time>', 'start (default: all data)')
    .option('--until <time>', 'end, exclusive (default: all data)')
    .option('--bucket <dur>', 'trend bucket (default: 1d for ranges over 2 days, else 1h)')
    .action(async (opts: { since?: string; until?: string; bucket?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!storeExists(g.data)) {
        if (g.json) printJson({ notes: ['no data stored yet'] });
        else process.stdout.write(`no data in ${g.data} yet: run "v6scope ingest FILE" or "v6scope demo"\n`);
        return;
      }
      const store = await openStore(g);
      try {
        await runReport(store, { ...opts, json: g.json });
      } finally {
        await store.close();
      }
    });
}
