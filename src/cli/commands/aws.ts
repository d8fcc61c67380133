/**
 * `v6scope aws ingest PATH|s3://bucket/prefix` and `v6scope aws report [--emf]`.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { LocalEnricher } from '../../enrich/local.js';
import { awsReport, emfLines, type FamilySplit, type GroupShare } from '../../analysis/aws.js';
import type { ObjectResult } from '../../pipeline/ingest-aws.js';
import { ingestSources, ingestSourcesInThread, type AwsIngestEvents, type AwsIngestJob } from '../../pipeline/aws-thread.js';
import { parseS3Url, type LogKind } from '../../sources/cloud/inputs.js';
import { loadSummary } from '../../sources/cloud/summary.js';
import { parseVpcFormat } from '../../sources/cloud/vpc.js';
import { openStore } from '../../store/index.js';
import { fmtBytes, fmtCount, fmtShare, globals, printJson, storeExists, table, UsageError } from '../common.js';
import { Progress } from '../progress.js';

const KINDS: readonly LogKind[] = ['vpc', 'tgw', 'alb', 'nlb', 'cloudfront'];
const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface IngestOpts {
  format?: string;
  kind?: string;
  local: string[];
  endpoint?: string;
  region?: string;
  force?: boolean;
}

export function register(program: Command): void {
  const aws = program.command('aws').description('AWS logs: VPC and Transit Gateway flow logs, ALB/NLB/CloudFront access logs');

  aws
    .command('ingest')
    .description('Read AWS logs (files, .gz, directories in the S3 key layouts, or s3://bucket/prefix) into the store')
    .argument('<sources...>', 'files, directories or s3://bucket/prefix URLs')
    .option('--format <format>', "VPC/TGW custom format for files without a header line, as in the console: '${version} ${srcaddr} ...'")
    .option('--kind <kind>', `log kind (${KINDS.join(', ')}); default: from the S3 key layout, then from the content`)
    .option('--local <prefix>', 'a local prefix (repeatable) for direction when the logs have no flow-direction field', collect, [])
    .option('--endpoint <url>', 'S3 endpoint (an S3-compatible server; env AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (env AWS_REGION, default us-east-1)')
    .option('--force', 'ingest objects again even when already ingested')
    .addHelpText(
      'after',
      '\nObjects already ingested (same key, size and ETag/mtime) are skipped; the list lives in DATA/aws/state.json.\n' +
        'Malformed lines are reported as file:line, counted and skipped; the rest of the file is ingested.\n' +
        'Exit code 1 if an object could not be read or had malformed lines.',
    )
    .action(async (sources: string[], opts: IngestOpts, cmd: Command) => {
      const g = globals(cmd);
      if (opts.kind !== undefined && !KINDS.includes(opts.kind as LogKind)) throw new UsageError(`--kind: unknown kind "${opts.kind}" (expected ${KINDS.join(', ')})`);
      if (opts.format !== undefined) {
        try {
          parseVpcFormat(opts.format);
        } catch (e) {
          throw new UsageError(`--format: ${(e as Error).message}`);
        }
      }
      for (const s of sources) {
        if (s.startsWith('s3://')) {
          try {
            parseS3Url(s);
          } catch (e) {
            throw new UsageError((e as Error).message);
          }
        } else if (!existsSync(s)) throw new UsageError(`no such file or directory: ${s}`);
      }
      try {
        new LocalEnricher({ localPrefixes: opts.local }); // checked here; the parse thread makes its own
      } catch (e) {
        throw new UsageError(`--local: ${(e as Error).message}`);
      }
      const job: AwsIngestJob = {
        sources,
        dataDir: g.data,
        kind: opts.kind as LogKind | undefined,
        format: opts.format,
        force: opts.force,
        // Rows per store append (tuning and tests; default 122,880).
        batchSize: process.env.V6SCOPE_AWS_BATCH_ROWS ? Math.max(1, Number(process.env.V6SCOPE_AWS_BATCH_ROWS)) || undefined : undefined,
        localPrefixes: opts.local,
        s3: { endpoint: opts.endpoint, region: opts.region },
      };
      const tty = !g.quiet && Boolean(process.stderr.isTTY);
      let progress: Progress | null = null;
      let total: number | undefined;
      let done = 0;
      let lines = 0;
      let objects = 0;
      const events: AwsIngestEvents = {
        onSource: (src, t) => {
          progress = new Progress(`aws ingest ${src}`, tty);
          total = t;
          done = 0;
          lines = 0;
        },
        onProgress: (bytes, l) => progress?.update(done + bytes, total, `${objects + 1} objects ${fmtCount(lines + l)} lines`),
        onObject: (r, size) => {
          objects++;
          if (!r.skipped) {
            done += size;
            lines += r.lines;
          }
          progress?.update(done, total, `${objects} objects ${fmtCount(lines)} lines`);
          if (r.error) process.stderr.write(`v6scope: ${r.error}\n`);
          if (r.malformed > r.malformedSamples.length && !g.quiet) {
            process.stderr.write(`v6scope: ${r.display}: ${r.malformed} malformed lines in all (first ${r.malformedSamples.length} shown)\n`);
          }
        },
        onSourceEnd: () => progress?.done(),
        onWarning: (m) => {
          if (!g.quiet) process.stderr.write(`v6scope: ${m}\n`);
        },
      };
      const store = await openStore(g);
      let results: ObjectResult[];
      try {
        // The parse runs in a thread of its own beside the store (V6SCOPE_AWS_PARSE_THREAD=0: in
        // this thread, for debugging and comparison).
        results = process.env.V6SCOPE_AWS_PARSE_THREAD === '0' ? await ingestSources(job, store, events) : await ingestSourcesInThread(job, store, events);
      } finally {
        (progress as Progress | null)?.done();
        await store.close();
      }
      const ingested = results.filter((r) => !r.skipped);
      const sum = (f: (r: ObjectResult) => number): number => ingested.reduce((s, r) => s + f(r), 0);
      const totals = {
        objects: results.length,
        ingested: ingested.length,
        skipped: results.length - ingested.length,
        lines: sum((r) => r.lines),
        flows: sum((r) => r.flows - r.requests),
        requests: sum((r) => r.requests),
        nodata: sum((r) => r.nodata),
        skipdata: sum((r) => r.skipdata),
        noFamily: sum((r) => r.noFamily),
        malformed: sum((r) => r.malformed),
        errors: ingested.filter((r) => r.error).length,
      };
      if (g.json) {
        printJson({
          ...totals,
          objectsDetail: results.map((r) => ({
            key: r.key,
            kind: r.kind,
            skipped: r.skipped,
            lines: r.lines,
            flows: r.flows - r.requests,
            requests: r.requests,
            nodata: r.nodata,
            skipdata: r.skipdata,
            noFamily: r.noFamily,
            malformed: r.malformed,
            malformedSamples: r.malformedSamples,
            resumedAfter: r.resumedAfter ?? 0,
            error: r.error ?? null,
          })),
        });
      } else if (!g.quiet) {
        process.stdout.write(
          `${totals.objects} objects (${totals.ingested} ingested, ${totals.skipped} already ingested): ${fmtCount(totals.lines)} lines → ` +
            `${fmtCount(totals.flows)} flow records, ${fmtCount(totals.requests)} requests` +
            (totals.nodata + totals.skipdata ? `; ${totals.nodata} NODATA, ${totals.skipdata} SKIPDATA rows (no traffic)` : '') +
            (totals.noFamily ? `; ${totals.noFamily} rows without an IP family` : '') +
            (totals.malformed ? `; ${totals.malformed} malformed lines skipped` : '') +
            '\n',
        );
      }
      if (totals.errors || totals.malformed) process.exitCode = 1;
    });

  aws
    .command('report')
    .description('IPv6 share of AWS flows, bytes, packets, requests and clients; latency and errors by family')
    .option('--top <n>', 'rows in the per-VPC/subnet/interface and top-client tables', '10')
    .option('--emf', 'print CloudWatch Embedded Metric Format lines instead of the report')
    .option('--namespace <ns>', 'CloudWatch namespace for --emf', 'v6scope')
    .action(async (opts: { top: string; emf?: boolean; namespace: string }, cmd: Command) => {
      const g = globals(cmd);
      const top = Number(opts.top);
      if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top: expected a positive integer, got "${opts.top}"`);
      const summary = loadSummary(g.data);
      if (Object.keys(summary.objects).length === 0) throw new UsageError(`no AWS logs ingested in ${g.data} (run v6scope aws ingest first)`);
      const store = storeExists(g.data) ? await openStore(g) : null;
      let rep;
      try {
        rep = await awsReport(summary, store, { top });
      } finally {
        await store?.close();
      }
      if (opts.emf) {
        for (const l of emfLines(rep, Date.now(), opts.namespace)) process.stdout.write(`${l}\n`);
        return;
      }
      if (g.json) {
        printJson(rep);
        return;
      }
      process.stdout.write(renderText(rep));
    });
}

type Report = Awaited<ReturnType<typeof awsReport>>;

function shareRow(name: string, s: FamilySplit, fmt: (n: number) => string = fmtCount): string[] {
  return [name, fmt(s.v4), fmt(s.v6), fmtShare(s.share)];
}

function groupTable(title: string, rows: GroupShare[]): string {
  if (!rows.length) return '';
  return (
    `\n${title}\n` +
    table(
      ['', 'flows v4', 'flows v6', 'IPv6 flows', 'IPv6 bytes', 'IPv6 packets'],
      rows.map((r) => [r.key, fmtCount(r.flows.v4), fmtCount(r.flows.v6), fmtShare(r.flows.share), fmtShare(r.bytes.share), fmtShare(r.packets.share)]),
      [false, true, true, true, true, true],
    ) +
    '\n'
  );
}

const ms = (v: number | null): string => (v === null ? '–' : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(0)} ms`);

function renderText(rep: Report): string {
  let out = `AWS logs: ${rep.objects} objects ingested\n`;
  const fl = rep.flowLogs;
  if (fl.all.flows.v4 + fl.all.flows.v6 > 0) {
    out += '\nFlow logs (VPC, Transit Gateway) — IPv6 share\n';
    out += table(
      ['', 'IPv4', 'IPv6', 'IPv6 share'],
      [
        shareRow('flows (connections, counted once)', fl.unique.flows),
        shareRow('bytes (counted once)', fl.unique.bytes, fmtBytes),
        shareRow('packets (counted once)', fl.unique.packets),
        shareRow('flow records (every interface)', fl.all.flows),
        shareRow('bytes (every interface)', fl.all.bytes, fmtBytes),
      ],
      [false, true, true, true],
    );
    out += `\nREJECT share: IPv4 ${fmtShare(fl.reject.v4.share)} of ${fmtCount(fl.reject.v4.flows)} records, IPv6 ${fmtShare(fl.reject.v6.share)} of ${fmtCount(fl.reject.v6.flows)} records\n`;
    out += `NODATA ${fl.nodata}, SKIPDATA ${fl.skipdata} rows (no traffic, outside the shares)${fl.noFamily ? `; ${fl.noFamily} rows without an IP family (EFA)` : ''}\n`;
    out += groupTable('By direction (flow-direction field, else from the local prefixes)', fl.byDirection);
    out += groupTable('By VPC', fl.byVpc);
    out += groupTable('By subnet', fl.bySubnet);
    out += groupTable('By interface / attachment', fl.byInterface);
  }
  const rq = rep.requests;
  if (rq.byKind.length) {
    out += '\nRequests (ALB, NLB, CloudFront)\n';
    out += table(
      ['', 'IPv4', 'IPv6', 'IPv6 share'],
      [shareRow('requests', rq.total), shareRow('distinct clients', rq.clients), ...rq.byKind.map((k) => shareRow(`${k.kind} requests`, k.requests))],
      [false, true, true, true],
    );
    out += '\n\nLatency and errors by family\n';
    const rows: string[][] = [];
    for (const k of rq.byKind) {
      for (const [fam, s] of [['IPv4', k.v4], ['IPv6', k.v6]] as const) {
        if (!s.requests) continue;
        rows.push([k.kind, fam, fmtCount(s.requests), ms(s.latencyMs.p50), ms(s.latencyMs.p90), ms(s.latencyMs.p99), fmtShare(s.rate4xx), fmtShare(s.rate5xx), s.responseBytes.mean === null ? '–' : fmtBytes(Math.round(s.responseBytes.mean))]);
      }
    }
    out += table(['source', 'family', 'requests', 'p50', 'p90', 'p99', '4xx', '5xx', 'mean response'], rows, [false, false, true, true, true, true, true, true, true]) + '\n';
    if (rq.topV6Clients64.length) {
      out += '\nTop IPv6 clients by /64\n' + table(['prefix', 'requests', 'bytes'], rq.topV6Clients64.map((r) => [r.prefix, fmtCount(r.requests), fmtBytes(r.bytes)]), [false, true, true]) + '\n';
      out += '\nTop IPv6 clients by /48\n' + table(['prefix', 'requests', 'bytes'], rq.topV6Clients48.map((r) => [r.prefix, fmtCount(r.requests), fmtBytes(r.bytes)]), [false, true, true]) + '\n';
    }
  }
  if (rep.addressTypes.length) {
    out += '\nAddress types\n' + table(['source', 'end', 'family', 'class', 'count'], rep.addressTypes.map((a) => [a.source, a.role, `IPv${a.family}`, a.class, fmtCount(a.count)]), [false, false, false, false, true]) + '\n';
  }
  if (rep.trend.length > 1) {
    out += '\nTrend (per hour)\n' + table(['hour', 'IPv6 flows', 'IPv6 bytes'], rep.trend.map((t) => [t.hour.slice(0, 13) + 'h', fmtShare(t.flows.share), fmtShare(t.bytes.share)]), [false, true, true]) + '\n';
  }
  if (rep.mappedAsIPv4) out += `\n${rep.mappedAsIPv4} records carried ::ffff:a.b.c.d addresses: counted as IPv4 (IPv4 seen through an IPv6 socket).\n`;
  return out;
}


