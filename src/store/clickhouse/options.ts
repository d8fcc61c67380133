/**
 * Options of the ClickHouse store, in one plain-data type so the command line today and the YAML
 * configuration later can both build it (no functions, no driver objects).
 */
import type { RetentionConfig } from '../store.js';

export interface ClickHouseSpoolOptions {
  /** Directory for batches waiting for ClickHouse (created if missing). */
  readonly dir: string;
  /** Largest total size of the spool, bytes (default 1 GiB). A batch that does not fit is refused. */
  readonly maxBytes?: number;
  /** First retry delay after a failed replay, ms (default 250); doubles up to retryMaxMs. */
  readonly retryMinMs?: number;
  /** Longest delay between replay attempts, ms (default 5000). */
  readonly retryMaxMs?: number;
}

export interface ClickHouseReplicationOptions {
  /**
   * ZooKeeper path of each table; `{database}` and `{table}` are filled in by v6scope, other
   * `{macros}` by the server. Default `/clickhouse/tables/{shard}/{database}/{table}`.
   */
  readonly zookeeperPath?: string;
  /** Replica name; default `{replica}` (the server's macro). */
  readonly replica?: string;
}

export interface ClickHouseOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123 (inserts and queries go here). */
  readonly url: string;
  /** Database (created if missing). Default `v6scope`. */
  readonly database?: string;
  readonly username?: string;
  readonly password?: string;
  readonly retention?: RetentionConfig;
  /** Per-request timeout, ms (default 300 000). */
  readonly requestTimeoutMs?: number;
  /** How long applyRetention waits for its delete mutations, ms (default 600 000). */
  readonly mutationTimeoutMs?: number;
  /**
   * Cluster mode: the name of a cluster in the servers' `remote_servers` configuration. Each node
   * gets the local tables (`raw_local`, `rollup_1h_local`, ...) and `Distributed` tables under the
   * plain names (`raw`, `rollup_1h`, ...) that inserts and queries use.
   */
  readonly cluster?: string;
  /**
   * Cluster mode: HTTP URLs of every node, for the DDL (18.16 has ON CLUSTER only with ZooKeeper).
   * Default: the hosts `system.clusters` lists for the cluster, with the scheme and port of `url`.
   */
  readonly clusterNodes?: readonly string[];
  /**
   * Replicated engines (ReplicatedMergeTree, ReplicatedSummingMergeTree) for raw, the rollups and
   * the fact tables: the servers need ZooKeeper and the `{shard}`/`{replica}` macros (or the names
   * given here). Open a store against every replica (or list them all as clusterNodes) so each gets
   * the tables. Applies when tables are created; existing tables keep their engine.
   */
  readonly replicated?: boolean | ClickHouseReplicationOptions;
  /** Disk spool for outages; without it a failed INSERT fails `append`. */
  readonly spool?: ClickHouseSpoolOptions;
}

/** The previous name of the options (kept for existing callers). */
export type ClickHouseStoreOptions = ClickHouseOptions;
