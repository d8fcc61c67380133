import { existsSync, mkdirSync } from 'node:fs';
import { totalmem } from 'node:os';
import path from 'node:path';
import { loadConfig, retentionOf, type Config } from '../config/index.js';
import type { ClickHouseOptions } from './clickhouse/options.js';
import { openClickHouseStore } from './clickhouse/store.js';
import { openDuckDBStore } from './duckdb/store.js';
import type { FlowStore, RetentionConfig } from './store.js';

export * from './query.js';
export * from './store.js';
export * from './dialect.js';
export * from './planner.js';
export { QueryError, compileQuery } from './compile.js';
export { openDuckDBStore } from './duckdb/store.js';
export { openClickHouseStore, type ClickHouseFlowStore } from './clickhouse/store.js';
export type { ClickHouseOptions, ClickHouseSpoolOptions } from './clickhouse/options.js';

/**
 * Where a command's store is: the data directory and the configuration file (the global options
 * `--data` and `--config`; `GlobalOptions` of src/cli/common.ts is one).
 */
export interface StoreLocation {
  readonly data: string;
  /** YAML configuration file (undefined or '' = the defaults: DuckDB under `data`). */
  readonly config?: string | undefined;
}

export interface OpenConfiguredOptions {
  /**
   * Use the ClickHouse disk spool (`store.clickhouse.spool`): only the writing daemons (`serve`,
   * `capture`) do — one process per spool directory, since the spool is replayed by whoever opens
   * it. Batch commands fail instead when ClickHouse is unreachable. Default false.
   */
  readonly spool?: boolean;
  /**
   * Hold DuckDB to `store.duckdb.write_memory_limit` (what runs out of memory under it is done again
   * under `memory_limit`): the writing daemons (`serve`, `capture`) do, whose appends and roll-ups
   * would otherwise leave DuckDB's cache full up to `memory_limit`. Default false.
   */
  readonly writeMemoryLimit?: boolean;
}

/** The DuckDB file a configuration names: `store.duckdb.path` under the data directory, else DATA/v6scope.duckdb. */
export function duckdbFileOf(config: Config, dataDir: string): string {
  return config.store.duckdb.path ? path.resolve(dataDir, config.store.duckdb.path) : path.join(dataDir, 'v6scope.duckdb');
}

/** The ClickHouse store options a configuration names (`store.clickhouse`, retention). */
export function clickhouseOptionsOf(config: Config, dataDir: string, opts: OpenConfiguredOptions = {}): ClickHouseOptions {
  const c = config.store.clickhouse;
  return {
    ...(c.options as Partial<ClickHouseOptions>),
    url: c.url,
    database: c.database,
    username: c.username,
    password: c.password,
    retention: retentionOf(config),
    ...(c.cluster ? { cluster: c.cluster } : {}),
    ...(c.cluster_nodes.length ? { clusterNodes: c.cluster_nodes } : {}),
    ...(c.replicated ? { replicated: { ...(c.zookeeper_path ? { zookeeperPath: c.zookeeper_path } : {}), ...(c.replica ? { replica: c.replica } : {}) } } : {}),
    ...(opts.spool && c.spool.enabled
      ? { spool: { dir: c.spool.dir ? path.resolve(dataDir, c.spool.dir) : path.join(dataDir, 'spool', 'clickhouse'), maxBytes: c.spool.max_size } }
      : {}),
  };
}

/** Open the store a configuration names (DuckDB under the data directory, or ClickHouse). */
export async function openConfiguredStore(config: Config, dataDir: string, opts: OpenConfiguredOptions = {}): Promise<FlowStore> {
  if (config.store.kind === 'clickhouse') {
    const o = clickhouseOptionsOf(config, dataDir, opts);
    try {
      return await openClickHouseStore(o);
    } catch (e) {
      throw new Error(`cannot reach the ClickHouse store at ${o.url} (store.clickhouse.url): ${(e as Error).message}`);
    }
  }
  mkdirSync(dataDir, { recursive: true });
  return openDuckDBStore({
    path: duckdbFileOf(config, dataDir),
    retention: retentionOf(config),
    memoryLimit: config.store.duckdb.memory_limit || defaultDuckDBMemoryLimit(),
    ...(opts.writeMemoryLimit && config.store.duckdb.write_memory_limit ? { writeMemoryLimit: config.store.duckdb.write_memory_limit } : {}),
  });
}

const MiB = 2 ** 20;

/**
 * DuckDB's `memory_limit` when `store.duckdb.memory_limit` is not set: an eighth of the machine's
 * memory, at least 128 MiB and at most 512 MiB (whole MiB). DuckDB's own default, 80 % of the
 * machine's memory, is a cache it fills with the blocks it writes: a `serve` storing 300,000 flows/s
 * grew by ~18 MB/s with it (2.1 GB resident after 100 s and still growing), while with 512 MiB it
 * levelled off at ~0.9 GB (bench/RESULTS.md, 2026-12-02 evening). Queries larger than the limit
 * spill to DuckDB's temporary directory beside the database file.
 */
export function defaultDuckDBMemoryLimit(machineBytes = totalmem()): number {
  return Math.min(512 * MiB, Math.max(128 * MiB, Math.floor(machineBytes / 8 / MiB) * MiB));
}

/**
 * Whether a command has a store to read: always for ClickHouse (the server is the store; an empty
 * one answers "no data"), for DuckDB whether its file exists.
 */
export function configuredStoreExists(config: Config, dataDir: string): boolean {
  return config.store.kind === 'clickhouse' || existsSync(duckdbFileOf(config, dataDir));
}

/**
 * Open a command's store. With a location (`openStore(globals)`): the store the configuration file
 * names (`--config` / V6SCOPE_CONFIG; without one, DuckDB under `--data`), without the ClickHouse
 * spool (see OpenConfiguredOptions). Configuration mistakes throw ConfigError. With a directory
 * only: the embedded store DATA/v6scope.duckdb (creating it if needed).
 */
export async function openStore(where: string | StoreLocation, retention?: RetentionConfig): Promise<FlowStore> {
  if (typeof where !== 'string') {
    const config = loadConfig(where.config || undefined);
    return openConfiguredStore(retention ? { ...config, retention: { ...config.retention, ...retention } } : config, where.data);
  }
  mkdirSync(where, { recursive: true });
  return openDuckDBStore({ path: path.join(where, 'v6scope.duckdb'), retention });
}
