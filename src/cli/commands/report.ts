import { mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { buildReport, type FindingsOptions, type Report } from '../../analysis/report.js';
import type { Talker } from '../../analysis/talkers.js';
import { asnFor } from './find.js';
import { reportCharts } from '../../report/charts.js';
import { renderHtml } from '../../report/html.js';
import { findFonts, NoFontError, svgToPng } from '../../report/png.js';
import { openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { displayPath, fmtBytes, fmtCount, fmtShare, fmtTime, globals, parseDuration, printJson, storeExists, table, UsageError } from '../common.js';
import { resolveRange } from '../query-options.js';
import { notesText, overallText, seriesText, shareToJson } from '../share-output.js';

const DAY = 86_400_000;

/** JSON form of the report. The keys of the first version stay; find-and-fix sections are added when computed. */
export function reportToJson(r: Report): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ...shareToJson(r.share),
    bucket: r.bucketMs,
    topIPv4: r.topIPv4,
    ipv4Bytes: r.ipv4Bytes,
    hostPenetration: r.hostPenetration,
  };
  const f = r.findings;
  if (f) {
    const name = (id: string): string | null => f.names.get(id) ?? null;
    out.now = f.now;
    out.laggards = {
      device: f.laggards.device.map((l) => ({ ...l, name: name(l.key) })),
      app: f.laggards.app,
      destination: f.laggards.destination,
    };
    out.floor = { ipv4: f.ipv4, causes: f.floor.map((c) => ({ ...c, top: c.top.map((t) => ({ ...t, deviceName: name(t.device) })) })) };
    out.fixes = f.fixes;
    out.devices = f.devices.map((d) => ({ ...d, name: name(d.id) ?? d.hostname }));
  }
  return out;
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
  o: { since?: string; until?: string; bucket?: string; json: boolean; names?: Map<string, string>; print?: boolean; findings?: FindingsOptions | boolean },
): Promise<Report | null> {
  const range = await resolveRange(store, o.since, o.until);
  if (!range) {
    if (o.json) printJson({ notes: ['no data stored yet'] });
    else process.stdout.write('no data stored yet: run "v6scope ingest FILE" or "v6scope demo"\n');
    return null;
  }
  const span = range.until - range.since;
  const bucketMs = o.bucket ? parseDuration(o.bucket, '--bucket') : span > 2 * DAY ? DAY : 3_600_000;
  const report = await buildReport(store, { ...range, bucketMs, findings: o.findings });
  if (o.print === false) return report;
  if (o.json) printJson(reportToJson(report));
  else process.stdout.write(`${reportText(report, o.names)}\n`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Output files

const isDir = (p: string): boolean | null => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return null; // does not exist (or cannot be read: writing will say why)
  }
};

/** --html FILE: not a directory, in a directory that exists. Usage errors before any work. */
export function checkHtmlPath(file: string): string {
  if (file.trim() === '') throw new UsageError('--html needs a file name');
  const abs = path.resolve(file);
  if (isDir(abs) === true) throw new UsageError(`--html: ${displayPath(abs)} is a directory; give a file name such as ${displayPath(path.join(abs, 'report.html'))}`);
  const parent = path.dirname(abs);
  const p = isDir(parent);
  if (p !== true) throw new UsageError(`--html: directory ${displayPath(parent)} ${p === false ? 'is a file' : 'does not exist'}`);
  return abs;
}

/** --png DIR: a directory, or a new one whose parent exists. */
export function checkPngDir(dir: string): string {
  if (dir.trim() === '') throw new UsageError('--png needs a directory');
  const abs = path.resolve(dir);
  const d = isDir(abs);
  if (d === false) throw new UsageError(`--png: ${displayPath(abs)} is a file, not a directory`);
  if (d === null && isDir(path.dirname(abs)) !== true) throw new UsageError(`--png: directory ${displayPath(path.dirname(abs))} does not exist`);
  return abs;
}

/** Write via a temporary file and rename, so a reader never sees half a report. */
function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot write ${displayPath(file)}: ${err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOSPC' ? 'no space left on the device' : err.message}`);
  }
}

/** Write the charts of `report` as DIR/<chart>.png; returns the files written. */
export function writePngs(report: Report, dir: string, fonts: string[]): string[] {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create ${displayPath(dir)}: ${(e as Error).message}`);
  }
  return reportCharts(report).map((c) => {
    const file = path.join(dir, `${c.id}.png`);
    writeAtomic(file, svgToPng(c.svg, { fonts }).png);
    return file;
  });
}

interface ReportOpts {
  since?: string;
  until?: string;
  bucket?: string;
  html?: string;
  png?: string;
  font?: string[];
  asnDb?: string;
  asn?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Report: IPv6 share by bytes/packets/flows, its trend, the top IPv4 talkers; --html/--png for a shareable report with charts')
    .option('--since <time>', 'start (default: all data)')
    .option('--until <time>', 'end, exclusive (default: all data)')
    .option('--bucket <dur>', 'trend bucket (default: 1d for ranges over 2 days, else 1h)')
    .option('--html <file>', 'write one self-contained HTML report with charts (share, trend, laggards, floor, fixes, devices)')
    .option('--png <dir>', 'write each chart as a PNG file into this directory (created if missing)')
    .option('--font <file>', 'font file for the PNG charts\' text (repeatable; default: DejaVu/Liberation/Noto Sans found on the system)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--asn-db <file.mmdb>', 'name destinations by their AS from this MaxMind DB; default: the bundled @ip-location-db/asn ranges')
    .option('--no-asn', 'do not look up ASNs')
    .addHelpText(
      'after',
      '\nWithout --html/--png the report is printed (or --json: the same sections as the HTML report —\nshare, series, laggards, floor, fixes, devices). With --html/--png the files are written and named;\nnothing else is printed unless --json. PNGs need a font (Debian: apt-get install fonts-dejavu-core).\nSee docs/reports.md.',
    )
    .action(async (opts: ReportOpts, cmd: Command) => {
      const g = globals(cmd);
      // Check every output path and the fonts before any work.
      const html = opts.html !== undefined ? checkHtmlPath(opts.html) : undefined;
      const png = opts.png !== undefined ? checkPngDir(opts.png) : undefined;
      let fonts: string[] = [];
      if (png) {
        for (const f of opts.font ?? []) {
          if (isDir(path.resolve(f)) !== false) throw new UsageError(`--font: ${f} is not a file`);
          if (!/\.(ttf|otf|ttc)$/i.test(f)) throw new UsageError(`--font: ${f} is not a TrueType/OpenType font (.ttf, .otf, .ttc)`);
        }
        fonts = opts.font?.map((f) => path.resolve(f)) ?? findFonts();
        if (fonts.length === 0) throw new NoFontError();
      }
      if (opts.bucket !== undefined) parseDuration(opts.bucket, '--bucket');
      const files = html !== undefined || png !== undefined;
      if (!storeExists(g.data)) {
        if (g.json) printJson({ notes: ['no data stored yet'] });
        else process.stdout.write(`no data in ${g.data} yet: run "v6scope ingest FILE" or "v6scope demo"${files ? ' (no report written)' : ''}\n`);
        return;
      }
      const store = await openStore(g);
      try {
        const findings = g.json || files ? { asn: await asnFor(opts) } : undefined;
        const report = await runReport(store, { since: opts.since, until: opts.until, bucket: opts.bucket, json: g.json, findings, print: g.json || !files });
        if (!report || !files) return;
        const written: string[] = [];
        if (html) {
          writeAtomic(html, renderHtml(report, { generatedAt: Date.now() }));
          written.push(html);
        }
        if (png) written.push(...writePngs(report, png, fonts));
        if (!g.quiet) {
          const out = g.json ? process.stderr : process.stdout;
          for (const f of written) out.write(`wrote ${displayPath(f)}\n`);
        }
      } finally {
        await store.close();
      }
    });
}
