/**
 * `v6scope store migrate`, `v6scope store check` and `v6scope store repair`: create or upgrade the
 * store's schema (idempotent); report connectivity, tables, row counts and the ClickHouse spool's
 * depth; rebuild ClickHouse rollup buckets that differ from raw (after a crash in the middle of an
 * INSERT, docs/clickhouse.md).
 *
 * The store is the one the configuration names (--config / V6SCOPE_CONFIG, `store:`), like every
 * other command; --store with the ClickHouse options (--clickhouse-url, --clickhouse-database,
 * --cluster, --cluster-node, --spool-dir, --spool-max-bytes) chooses one without a configuration
 * file and builds the same ClickHouseOptions.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ClickHouseOptions } from '../../store/clickhouse/options.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../store/clickhouse/store.js';
import { clickhouseOptionsOf, duckdbFileOf, openConfiguredStore, openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { configOf, displayPath, fmtBytes, fmtCount, fmtTime, globals, parseTime, printJson, table, UsageError, type GlobalOptions } from '../common.js';

interface StoreCliOptions {
  store?: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  cluster?: string;
  clusterNode?: string[];
  spoolDir?: string;
  spoolMaxBytes?: string;
}

function addStoreOptions(c: Command): Command {
  return c
    .addOption(new Option('--store <kind>', 'which store (default: the one the --config file names; without one, duckdb)').choices(['duckdb', 'clickhouse']))
    .addOption(new Option('--clickhouse-url <url>', 'ClickHouse HTTP interface').default('http://127.0.0.1:8123').env('V6SCOPE_CLICKHOUSE_URL'))
    .option('--clickhouse-database <name>', 'ClickHouse database', 'v6scope')
    .option('--cluster <name>', 'ClickHouse cluster (remote_servers) for Distributed tables')
    .option('--cluster-node <url...>', 'HTTP URL of every cluster node, for the DDL (default: the hosts system.clusters lists)')
    .option('--spool-dir <dir>', 'ClickHouse outage spool (default DATA/spool/clickhouse)')
    .option('--spool-max-bytes <n>', 'largest spool size in bytes (default 1 GiB)');
}

/** The ClickHouse options from the command line (a configuration file will build the same object). */
export function clickhouseOptions(o: StoreCliOptions, dataDir: string): ClickHouseOptions {
  let url: URL;
  try {
    url = new URL(o.clickhouseUrl);
  } catch {
    throw new UsageError(`--clickhouse-url must be a URL such as http://127.0.0.1:8123, got "${o.clickhouseUrl}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--clickhouse-url must be http:// or https://, got "${o.clickhouseUrl}"`);
  if (!/^[a-z_][a-z0-9_]*$/.test(o.clickhouseDatabase)) throw new UsageError(`--clickhouse-database must be lowercase letters, digits and _, got "${o.clickhouseDatabase}"`);
  const maxBytes = o.spoolMaxBytes === undefined ? undefined : Number(o.spoolMaxBytes);
  if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) throw new UsageError(`--spool-max-bytes must be a positive integer, got "${o.spoolMaxBytes}"`);
  return {
    url: o.clickhouseUrl,
    database: o.clickhouseDatabase,
    ...(o.cluster ? { cluster: o.cluster } : {}),
    ...(o.clusterNode?.length ? { clusterNodes: o.clusterNode } : {}),
    spool: { dir: o.spoolDir ?? path.join(dataDir, 'spool', 'clickhouse'), ...(maxBytes !== undefined ? { maxBytes } : {}) },
  };
}

/** A store opened for migrate/check/repair, and where it is (for messages and the spool). */
interface Opened {
  store: FlowStore;
  /** URL or file, for messages. */
  where: string;
  /** The spool directory the writers of this store use (ClickHouse). */
  spoolDir?: string;
  /** The DuckDB file. */
  file?: string;
}

/** What the command line names: --store with its options, else the configuration's store. */
function target(o: StoreCliOptions, g: GlobalOptions): { kind: 'duckdb'; file: string } | { kind: 'clickhouse'; options: ClickHouseOptions } {
  if (o.store === 'clickhouse') return { kind: 'clickhouse', options: clickhouseOptions(o, g.data) };
  if (o.store === 'duckdb') return { kind: 'duckdb', file: path.join(g.data, 'v6scope.duckdb') };
  const config = configOf(g);
  // The spool the daemons (serve, capture) would write: its depth is shown, never replayed here.
  if (config.store.kind === 'clickhouse') return { kind: 'clickhouse', options: clickhouseOptionsOf(config, g.data, { spool: true }) };
  return { kind: 'duckdb', file: duckdbFileOf(config, g.data) };
}

async function openFor(o: StoreCliOptions, g: GlobalOptions): Promise<Opened> {
  const t = target(o, g);
  if (t.kind === 'clickhouse') {
    // Without the spool here: migrate, check and repair must talk to ClickHouse (and fail when they
    // cannot), and the spool belongs to the writer; its depth is read from its directory.
    const { spool, ...rest } = t.options;
    try {
      return { store: await openClickHouseStore(rest), where: rest.url, ...(spool ? { spoolDir: spool.dir } : {}) };
    } catch (e) {
      throw new Error(`cannot reach the clickhouse store at ${rest.url}: ${(e as Error).message}`);
    }
  }
  try {
    const store = o.store === 'duckdb' ? await openStore(g.data) : await openConfiguredStore(configOf(g), g.data);
    return { store, where: displayPath(t.file), file: t.file };
  } catch (e) {
    throw new Error(`cannot open the duckdb store ${displayPath(t.file)}: ${(e as Error).message}`);
  }
}

export function register(program: Command): void {
  const store = program.command('store').description('Store operations: schema migration and health check');

  addStoreOptions(store.command('migrate').description('Create or upgrade the store schema (idempotent)')).action(async (o: StoreCliOptions, cmd: Command) => {
    const g = globals(cmd);
    const { store: s } = await openFor(o, g); // opening migrates
    try {
      if (s.kind === 'clickhouse') await (s as ClickHouseFlowStore).migrate();
      const tables = s.tables().map((t) => t.name);
      if (g.json) printJson({ store: s.kind, migrated: true, tables });
      else if (!g.quiet) process.stdout.write(`${s.kind}: schema up to date (${tables.join(', ')}, dns_answers, neighbors)\n`);
    } finally {
      await s.close();
    }
  });

  addStoreOptions(store.command('check').description('Report connectivity, tables, row counts and spool depth')).action(async (o: StoreCliOptions, cmd: Command) => {
    const g = globals(cmd);
    target(o, g); // usage errors first
    const { store: s, spoolDir, file } = await openFor(o, g);
    try {
      let report: Record<string, unknown>;
      if (s.kind === 'clickhouse') {
        const st = await (s as ClickHouseFlowStore).status();
        // The spool is the writer's directory: read its depth without replaying it.
        const { DiskSpool } = await import('../../store/clickhouse/spool.js');
        const sp = spoolDir ? DiskSpool.open({ dir: spoolDir }) : null;
        report = { store: 'clickhouse', connected: true, ...st, spool: sp ? { dir: spoolDir, ...sp.depth(), quarantined: sp.quarantined().length } : null };
      } else {
        report = { store: 'duckdb', connected: true, file, tables: (await s.rowCounts!()).map((t) => ({ name: t.table, rows: t.rows })) };
      }
      if (g.json) {
        printJson(report);
        return;
      }
      const tables = report.tables as { name: string; engine?: string; rows: number }[];
      const lines = [
        s.kind === 'clickhouse'
          ? `clickhouse ${String(report.version)} at ${String(report.url)}, database ${String(report.database)}${report.cluster ? `, cluster ${(report.cluster as { name: string }).name} (${(report.cluster as { nodes: string[] }).nodes.length} nodes)` : ''}: connected`
          : `duckdb ${displayPath(String(report.file))}: open`,
        table(['table', ...(s.kind === 'clickhouse' ? ['engine'] : []), 'rows'], tables.map((t) => [t.name, ...(s.kind === 'clickhouse' ? [t.engine ?? ''] : []), fmtCount(t.rows)]), [false, ...(s.kind === 'clickhouse' ? [false] : []), true]),
      ];
      if (report.spool) {
        const sp = report.spool as { dir: string; batches: number; rows: number; bytes: number; quarantined: number };
        lines.push(`spool ${displayPath(sp.dir)}: ${fmtCount(sp.batches)} batches, ${fmtCount(sp.rows)} rows, ${fmtBytes(sp.bytes)}${sp.quarantined ? `, ${sp.quarantined} quarantined (see quarantine/)` : ''}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
      const missing = tables.filter((t) => t.engine === 'missing');
      if (missing.length) {
        process.stderr.write(`v6scope: missing tables ${missing.map((t) => t.name).join(', ')}: run v6scope store migrate\n`);
        process.exitCode = 1;
      }
    } finally {
      await s.close();
    }
  });

  addStoreOptions(store.command('repair').description('ClickHouse: rebuild rollup buckets whose totals differ from raw (after a crash mid-INSERT)'))
    .option('--since <time>', 'first bucket to compare (default: all that raw and the rollup retain)')
    .option('--until <time>', 'end, exclusive (default: all data)')
    .addHelpText(
      'after',
      '\nCompares, bucket by bucket, each rollup (1 min, 5 min, 1 h) with raw grouped the same way on every node and\n' +
        'rebuilds the buckets that differ from raw (delete mutation + INSERT ... SELECT). "serve" does this by itself for\n' +
        'the batches it replays after an outage; run it by hand while nothing else writes (docs/clickhouse.md).',
    )
    .action(async (o: StoreCliOptions & { since?: string; until?: string }, cmd: Command) => {
      const g = globals(cmd);
      const now = Date.now();
      const since = o.since !== undefined ? parseTime(o.since, now, '--since') : undefined;
      const until = o.until !== undefined ? parseTime(o.until, now, '--until') : undefined;
      if (since !== undefined && until !== undefined && until <= since) throw new UsageError('empty time range: --until must be after --since');
      if (target(o, g).kind !== 'clickhouse') throw new UsageError('store repair is for the ClickHouse store (DuckDB writes raw and rollups in one transaction)');
      const { store: s, where } = await openFor(o, g);
      try {
        const res = await (s as ClickHouseFlowStore).repair({ ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) });
        if (g.json) printJson({ store: 'clickhouse', url: where, rebuilt: res.rebuilt, mismatched: res.mismatched, remaining: res.remaining });
        else if (!g.quiet || res.remaining.length) {
          const lines = [`clickhouse ${where}: ${res.rebuilt === 0 ? 'every rollup bucket equals raw' : `${res.rebuilt} rollup buckets differed from raw and were rebuilt`}`];
          if (res.rebuilt > 0) {
            lines.push(
              table(
                ['table', 'bucket', 'raw flows', 'rollup flows', 'node'],
                res.mismatched.slice(0, 50).map((m) => [m.table, fmtTime(m.time), String(m.raw.flows), String(m.rollup.flows), m.node]),
                [false, false, true, true, false],
              ),
            );
            if (res.mismatched.length > 50) lines.push(`... and ${res.mismatched.length - 50} more (--json lists all)`);
          }
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        if (res.remaining.length > 0) {
          process.stderr.write(`v6scope: ${res.remaining.length} buckets still differ after rebuilding: something is writing meanwhile; run it again when writes stop\n`);
          process.exitCode = 1;
        }
      } finally {
        await s.close();
      }
    });
}
