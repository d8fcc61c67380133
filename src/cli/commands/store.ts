/**
 * `v6scope store migrate` and `v6scope store check`: create or upgrade the store's schema
 * (idempotent), and report connectivity, tables, row counts and the ClickHouse spool's depth.
 *
 * Until the YAML configuration exists, the store is chosen with --store and the ClickHouse options
 * (--clickhouse-url, --clickhouse-database, --cluster, --cluster-node, --spool-dir,
 * --spool-max-bytes), which build the same ClickHouseOptions a configuration file will pass.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { ClickHouseOptions } from '../../store/clickhouse/options.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../store/clickhouse/store.js';
import { openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { displayPath, fmtBytes, fmtCount, globals, printJson, table, UsageError } from '../common.js';

interface StoreCliOptions {
  store: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
  cluster?: string;
  clusterNode?: string[];
  spoolDir?: string;
  spoolMaxBytes?: string;
}

function addStoreOptions(c: Command): Command {
  return c
    .addOption(new Option('--store <kind>', 'which store').choices(['duckdb', 'clickhouse']).default('duckdb'))
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

async function openFor(o: StoreCliOptions, dataDir: string): Promise<FlowStore> {
  if (o.store === 'clickhouse') {
    // Without the spool here: migrate and check must talk to ClickHouse (and fail when they cannot),
    // but the spool's depth is read from its directory.
    const { spool: _spool, ...rest } = clickhouseOptions(o, dataDir);
    void _spool;
    return openClickHouseStore(rest);
  }
  return openStore(dataDir);
}

export function register(program: Command): void {
  const store = program.command('store').description('Store operations: schema migration and health check');

  addStoreOptions(store.command('migrate').description('Create or upgrade the store schema (idempotent)')).action(async (o: StoreCliOptions, cmd: Command) => {
    const g = globals(cmd);
    const s = await openFor(o, g.data); // opening migrates
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
    if (o.store === 'clickhouse') clickhouseOptions(o, g.data); // usage errors first
    let s: FlowStore;
    try {
      s = await openFor(o, g.data);
    } catch (e) {
      const where = o.store === 'clickhouse' ? o.clickhouseUrl : displayPath(g.data);
      throw new Error(`cannot reach the ${o.store} store at ${where}: ${(e as Error).message}`);
    }
    try {
      let report: Record<string, unknown>;
      if (s.kind === 'clickhouse') {
        const st = await (s as ClickHouseFlowStore).status();
        // The spool is the writer's directory: read its depth without replaying it.
        const { DiskSpool } = await import('../../store/clickhouse/spool.js');
        const dir = clickhouseOptions(o, g.data).spool!.dir;
        const sp = DiskSpool.open({ dir });
        report = { store: 'clickhouse', connected: true, ...st, spool: { dir, ...sp.depth(), quarantined: sp.quarantined().length } };
      } else {
        report = { store: 'duckdb', connected: true, file: path.join(g.data, 'v6scope.duckdb'), tables: (await s.rowCounts!()).map((t) => ({ name: t.table, rows: t.rows })) };
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
}
