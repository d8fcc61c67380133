import type { Command } from 'commander';
import { computeShare } from '../../analysis/share.js';
import { openStore } from '../../store/index.js';
import { fmtTime, globals, parseDuration, parseTime, printJson, storeExists, UsageError } from '../common.js';
import { chooseBucket, keyFormatter, parseFilterOption, parseGroupBy, resolveRange, GROUP_ALIASES } from '../query-options.js';
import { groupsText, notesText, overallText, seriesText, shareToJson } from '../share-output.js';
import { METRICS, type MetricName } from '../../schema/fields.js';

export function register(program: Command): void {
  program
    .command('share')
    .description('IPv6 share by bytes, packets and flows: overall, over time, and by any dimension')
    .option('--by <dims>', `group by dimensions, comma-separated (aliases: ${Object.keys(GROUP_ALIASES).join(', ')}; or schema fields, addresses with /V6LEN/V4LEN)`)
    .option('--since <time>', 'start: ISO date/time, epoch seconds, or a duration ago like 24h (default: all data)')
    .option('--until <time>', 'end (exclusive; default: all data)')
    .option('--bucket <dur>', 'time-series bucket, e.g. 1h, 1d (default: automatic)')
    .option('--series', 'also print the time series (always in --json)')
    .option('--sort <metric>', 'sort groups by the total of bytes, packets or flows', 'bytes')
    .option('--limit <n>', 'number of groups to show', '25')
    .option('--filter <expr>', 'only traffic matching this filter, e.g. \'dst_port IN (6881, 6889) AND device = "nas"\' (docs/api.md, "The filter language")')
    .option('--explain', 'show which tables answered')
    .addHelpText('after', '\nshare = IPv6 / (IPv4 + IPv6) for each of bytes, packets and flows. Sources that cannot see IPv6\n(NetFlow v5) are reported as not measurable and kept out of the denominators. See docs/metrics.md.')
    .action(async (opts: { by?: string; since?: string; until?: string; bucket?: string; series?: boolean; sort: string; limit: string; filter?: string; explain?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (!METRICS.includes(opts.sort as MetricName)) throw new UsageError(`--sort must be one of ${METRICS.join(', ')}`);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new UsageError(`--limit must be a positive integer, got "${opts.limit}"`);
      const groupBy = opts.by ? parseGroupBy(opts.by) : undefined;
      // Validate every option before looking at the data, so a bad option is always exit code 2.
      const now = Date.now();
      const since = opts.since !== undefined ? parseTime(opts.since, now, '--since') : undefined;
      const until = opts.until !== undefined ? parseTime(opts.until, now, '--until') : undefined;
      if (since !== undefined && until !== undefined && until <= since) throw new UsageError('empty time range: --until must be after --since');
      if (opts.bucket !== undefined) parseDuration(opts.bucket, '--bucket');
      const empty = !storeExists(g.data);
      const store = empty ? null : await openStore(g);
      try {
        const range = store ? await resolveRange(store, opts.since, opts.until) : null;
        if (!store || !range) {
          if (g.json) printJson({ bytes: null, packets: null, flows: null, notes: ['no data stored yet'] });
          else process.stdout.write(`no data in ${g.data} yet: run "v6scope ingest FILE" or "v6scope demo"\n`);
          return;
        }
        const bucket = chooseBucket(range, opts.bucket);
        const filter = await parseFilterOption(store, opts.filter);
        const report = await computeShare(store, {
          ...range,
          filter,
          bucket,
          groupBy,
          orderBy: opts.sort as MetricName,
          limit,
          formatKey: groupBy ? keyFormatter(groupBy) : undefined,
        });
        if (g.json) {
          printJson({ ...shareToJson(report), ...(opts.filter ? { filter: opts.filter } : {}), ...(opts.explain ? { tables: report.tables } : {}) });
          return;
        }
        const parts = [`IPv6 share ${fmtTime(range.since)} → ${fmtTime(range.until)}${opts.filter ? ` [filter: ${opts.filter}]` : ''}`, overallText(report)];
        if (opts.series) parts.push(seriesText(report));
        if (groupBy) parts.push(groupsText(report));
        const notes = notesText(report);
        if (notes) parts.push(notes);
        if (opts.explain) parts.push(`tables: ${report.tables.join(', ')}`);
        process.stdout.write(`${parts.join('\n\n')}\n`);
      } finally {
        await store?.close();
      }
    });
}
