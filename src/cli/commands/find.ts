/**
 * The find-and-fix commands: devices, laggards, floor, fix. They share one loading step
 * (analysis/find.ts) and print a table, or --json.
 */
import type { Command } from 'commander';
import { hostPenetration, listDevices, loadDeviceNames } from '../../analysis/devices.js';
import { buildFindContext, CAUSES, currentShare, fixes, floor, laggards, type Counts, type FindContext, type LaggardDimension } from '../../analysis/find.js';
import { openAsnLookup, type AsnLookup } from '../../enrich/asn.js';
import { openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { fmtBytes, fmtCount, fmtShare, fmtTime, globals, parseTime, printJson, storeExists, table, UsageError, type GlobalOptions } from '../common.js';
import { parseFilterOption, resolveRange, type TimeRange } from '../query-options.js';
import { METRICS, type MetricName } from '../../schema/fields.js';

interface RangeOpts {
  since?: string;
  until?: string;
}

const rangeOptions = (c: Command): Command =>
  c.option('--since <time>', 'start: ISO date/time, epoch seconds, or a duration ago like 24h (default: all data)').option('--until <time>', 'end (exclusive; default: all data)');

const filterOption = (c: Command): Command =>
  c.option('--filter <expr>', 'analyse only the traffic matching this filter, e.g. \'exporter_name = "gw"\' or \'device = "nas"\' (docs/api.md, "The filter language"); causes are still decided on all traffic');

interface FilterOpts {
  filter?: string;
}

const asnOptions = (c: Command): Command =>
  c
    .option('--asn-db <file.mmdb>', 'name destinations by their AS from this MaxMind DB (GeoLite2-ASN layout); default: the bundled @ip-location-db/asn ranges')
    .option('--no-asn', 'do not look up ASNs');

interface AsnOpts {
  asnDb?: string;
  asn?: boolean;
}

/** The ASN lookup the --asn-db / --no-asn options ask for (the bundled ranges by default; a warning if missing). */
export async function asnFor(o: AsnOpts): Promise<AsnLookup | undefined> {
  if (o.asn === false) return undefined;
  try {
    return await openAsnLookup(o.asnDb);
  } catch (e) {
    if (o.asnDb) throw new UsageError(`--asn-db: ${(e as Error).message}`);
    process.stderr.write(`v6scope: no ASN data (${(e as Error).message}); destinations without DNS names are shown as addresses\n`);
    return undefined;
  }
}

/** Validate the range options, open the store, and run `fn` — or say there is no data. */
async function withStore(g: GlobalOptions, o: RangeOpts, fn: (store: FlowStore, range: TimeRange) => Promise<void>): Promise<void> {
  const now = Date.now();
  const since = o.since !== undefined ? parseTime(o.since, now, '--since') : undefined;
  const until = o.until !== undefined ? parseTime(o.until, now, '--until') : undefined;
  if (since !== undefined && until !== undefined && until <= since) throw new UsageError('empty time range: --until must be after --since');
  const store = storeExists(g.data) ? await openStore(g) : null;
  try {
    const range = store ? await resolveRange(store, o.since, o.until) : null;
    if (!store || !range) {
      if (g.json) printJson({ notes: ['no data stored yet'] });
      else process.stdout.write(`no data in ${g.data} yet: run "v6scope ingest FILE" or "v6scope demo"\n`);
      return;
    }
    await fn(store, range);
  } finally {
    await store?.close();
  }
}

const pct = (n: number | null | undefined): string => fmtShare(n ?? null);
const countsJson = (c: Counts): Counts => ({ ...c });

function header(ctx: FindContext, filter?: string): string {
  const s = currentShare(ctx);
  return `${fmtTime(ctx.since)} → ${fmtTime(ctx.until)}${filter ? `  [filter: ${filter}]` : ''}  IPv6 share now: bytes ${pct(s.bytes)}, packets ${pct(s.packets)}, flows ${pct(s.flows)}`;
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--limit must be a positive integer, got "${text}"`);
  return n;
}

export function register(program: Command): void {
  rangeOptions(program.command('devices').description('Devices: addresses by family, first/last seen, IPv6 share, whether they ever used IPv6'))
    .addHelpText('after', '\nA device is its MAC when the data has Ethernet headers (else its address). Addresses come from its\nflows and from imported neighbour tables and leases (v6scope import). See docs/find-and-fix.md.')
    .action(async (o: RangeOpts, cmd: Command) => {
      const g = globals(cmd);
      await withStore(g, o, async (store, range) => {
        const devices = await listDevices(store, range.since, range.until);
        const pen = hostPenetration(devices);
        if (g.json) {
          printJson({ since: new Date(range.since).toISOString(), until: new Date(range.until).toISOString(), hostPenetration: pen, devices });
          return;
        }
        const rows = devices.map((d) => [
          d.hostname ?? '',
          d.id,
          d.addresses.filter((a) => a.family === 4).map((a) => a.addr).join(' '),
          d.addresses.filter((a) => a.family === 6).map((a) => `${a.addr}${a.kind === 'privacy-or-stable' ? '' : ` (${a.kind})`}`).join('\n'),
          fmtTime(d.firstSeen),
          fmtTime(d.lastSeen),
          fmtBytes(d.ipv4.bytes + d.ipv6.bytes),
          pct(d.ipv6Share),
          d.usedIPv6 ? 'yes' : 'NO',
        ]);
        // one line per IPv6 address: expand multi-line cells
        const lines: string[][] = [];
        for (const r of rows) {
          const v6 = r[3]!.split('\n');
          v6.forEach((a, i) => lines.push(i === 0 ? [...r.slice(0, 3), a, ...r.slice(4)] : ['', '', '', a, '', '', '', '', '']));
        }
        process.stdout.write(
          `${table(['name', 'device', 'IPv4', 'IPv6', 'first seen', 'last seen', 'bytes', 'IPv6 share', 'IPv6?'], lines, [false, false, false, false, false, false, true, true, false])}\n\nhost penetration: ${pen.withIPv6} of ${pen.all} devices used IPv6 (${pct(pen.ratio)})\n`,
        );
      });
    });

  filterOption(asnOptions(rangeOptions(program.command('laggards').description('The devices, applications or destinations that carry the most IPv4, with what fixing them would bring'))))
    .option('--by <dim>', 'device, app or destination', 'device')
    .option('--sort <metric>', 'rank by IPv4 bytes, packets or flows', 'bytes')
    .option('--limit <n>', 'rows to show', '20')
    .action(async (o: RangeOpts & AsnOpts & FilterOpts & { by: string; sort: string; limit: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!['device', 'app', 'destination'].includes(o.by)) throw new UsageError(`--by must be device, app or destination, got "${o.by}"`);
      if (!(METRICS as readonly string[]).includes(o.sort)) throw new UsageError(`--sort must be ${METRICS.join(', ')}, got "${o.sort}"`);
      const sort = o.sort as MetricName;
      const limit = parseLimit(o.limit);
      await withStore(g, o, async (store, range) => {
        const filter = await parseFilterOption(store, o.filter);
        const ctx = await buildFindContext(store, range.since, range.until, { asn: await asnFor(o), filter });
        const names = await loadDeviceNames(store);
        const list = laggards(ctx, o.by as LaggardDimension, { sort }).slice(0, limit);
        if (g.json) {
          printJson({ by: o.by, sort, ...(o.filter ? { filter: o.filter } : {}), now: currentShare(ctx), ipv4: countsJson(ctx.total.ipv4), laggards: list.map((l) => ({ ...l, name: o.by === 'device' ? (names.get(l.key) ?? null) : undefined })) });
          return;
        }
        const rows = list.map((l) => [
          o.by === 'device' && names.has(l.key) ? `${names.get(l.key)} (${l.key})` : l.key,
          sort === 'bytes' ? fmtBytes(l.ipv4.bytes) : fmtCount(l.ipv4[sort]),
          pct(l.shareOfIPv4[sort]),
          fmtCount(l.ipv4.flows),
          CAUSES.filter((c) => (l.causes[c]?.bytes ?? 0) > 0)
            .map((c) => `${c} ${pct(l.causes[c]!.bytes / l.ipv4.bytes)}`)
            .join(', '),
          l.causes.fixable ? pct(l.whatIfFixed.bytes) : '—',
        ]);
        process.stdout.write(`${header(ctx, o.filter)}\n\n${table([o.by, `IPv4 ${sort}`, 'of IPv4', 'flows', 'causes', 'IPv6 share if fixed'], rows, [false, true, true, true, false, true])}\n`);
      });
    });

  filterOption(asnOptions(rangeOptions(program.command('floor').description('Every IPv4 byte by cause: infrastructure, IPv4-only devices, legacy destinations, fixable, unknown'))))
    .option('--top <n>', 'contributors shown per cause', '5')
    .action(async (o: RangeOpts & AsnOpts & FilterOpts & { top: string }, cmd: Command) => {
      const g = globals(cmd);
      const top = parseLimit(o.top);
      await withStore(g, o, async (store, range) => {
        const filter = await parseFilterOption(store, o.filter);
        const ctx = await buildFindContext(store, range.since, range.until, { asn: await asnFor(o), filter });
        const names = await loadDeviceNames(store);
        const f = floor(ctx, top);
        if (g.json) {
          printJson({ ...(o.filter ? { filter: o.filter } : {}), now: currentShare(ctx), ipv4: countsJson(ctx.total.ipv4), causes: f });
          return;
        }
        const parts = [header(ctx, o.filter), table(['cause', 'IPv4 bytes', 'of IPv4', 'flows', 'meaning'], f.map((c) => [c.cause, fmtBytes(c.ipv4.bytes), pct(c.shareOfIPv4Bytes), fmtCount(c.ipv4.flows), c.description]), [false, true, true, true, false])];
        for (const c of f) {
          if (c.top.length === 0) continue;
          parts.push(`${c.cause}:\n${c.top.map((t) => `  ${fmtBytes(t.ipv4.bytes).padStart(10)}  ${names.get(t.device) ?? t.device} · ${t.app} · ${t.destination}`).join('\n')}`);
        }
        process.stdout.write(`${parts.join('\n\n')}\n`);
      });
    });

  filterOption(asnOptions(rangeOptions(program.command('fix').description('What to do about each laggard, and the IPv6 share once it is done'))))
    .option('--limit <n>', 'fixes to show', '10')
    .option('--snippets', 'print the ready-to-paste configuration of each fix')
    .action(async (o: RangeOpts & AsnOpts & FilterOpts & { limit: string; snippets?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const limit = parseLimit(o.limit);
      await withStore(g, o, async (store, range) => {
        const filter = await parseFilterOption(store, o.filter);
        const ctx = await buildFindContext(store, range.since, range.until, { asn: await asnFor(o), filter });
        const names = await loadDeviceNames(store);
        const list = fixes(ctx, { names }).slice(0, limit);
        if (g.json) {
          printJson({ ...(o.filter ? { filter: o.filter } : {}), now: currentShare(ctx), fixes: list });
          return;
        }
        const parts = [header(ctx, o.filter)];
        list.forEach((f, i) => {
          const gain = f.after ? `IPv6 ${pct(f.before.bytes)} → ${pct(f.after.bytes)} by bytes (packets ${pct(f.after.packets)}, flows ${pct(f.after.flows)})` : 'nothing to fix locally';
          let text = `${i + 1}. ${f.title}\n   ${fmtBytes(f.ipv4.bytes)} of IPv4 · ${gain}\n   ${f.advice}`;
          if (o.snippets && f.snippet) text += `\n\n${f.snippet.replace(/^/gm, '      ')}`;
          parts.push(text);
        });
        if (!o.snippets && list.some((f) => f.snippet)) parts.push('(--snippets prints the configuration for each fix)');
        process.stdout.write(`${parts.join('\n\n')}\n`);
      });
    });
}
