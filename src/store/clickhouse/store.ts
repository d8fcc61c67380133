/**
 * The ClickHouse store (scale-out): the same FlowStore as the embedded DuckDB store, over
 * ClickHouse's HTTP interface with the official client (@clickhouse/client). The client works with
 * clickhouse-server 18.16 as long as we choose the formats ourselves: we send SQL with `exec`, insert
 * RowBinary with `exec` + a values stream and read TabSeparatedWithNamesAndTypes bodies as raw
 * bytes (the client's JSON helpers would decode FixedString bytes as text, and its default
 * JSONCompactEachRow-style formats do not exist in 18.16).
 *
 * Tables (all DDL derived from the schema, the fact declarations and the planner's table specs,
 * never hand-written):
 * - `raw`: MergeTree, PARTITION BY the UTC day of time_received, ORDER BY time_received, plus a
 *   `batch_id FixedString(16)` column (see Durability).
 * - `rollup_1m` / `rollup_5m` / `rollup_1h`: SummingMergeTree over (bytes, packets, flows),
 *   ORDER BY (time_received, rollup dimensions...), partitioned by day (1m) or month (5m, 1h),
 *   filled by materialized views `raw_to_<rollup>` (`TO` the rollup table) on every insert into
 *   raw. Each insert block adds its own rows; background merges sum equal keys; queries always SUM,
 *   so unmerged duplicates are fine.
 * - Fact tables (`dns_answers`, `neighbors`, src/schema/facts.ts): MergeTree partitioned by the UTC
 *   day of their time field, plus `batch_id`; kept as long as raw.
 * - `v6scope_meta`: ReplacingMergeTree key/value (schema version, view definitions, the
 *   `retained_from:<table>` marks the planner uses).
 *
 * Cluster mode (`cluster` option): on every node the tables above get a `_local` suffix (the views
 * feed the local rollups), and `Distributed(cluster, db, <table>_local[, cityHash64(batch_id)])`
 * tables take the plain names. Inserts go through the Distributed `raw` with
 * insert_distributed_sync = 1 (acknowledged only once the shard has the rows) and the sharding key
 * cityHash64(batch_id) sends a whole batch to one shard — one part, so the dedup check below stays
 * exact. Queries go through the Distributed tables unchanged (two-stage aggregation).
 *
 * Durability (`spool` option): a batch is split by UTC day (one part in raw and in each rollup per
 * INSERT) and gets 16 random bytes as its id, written into every row's `batch_id`. If the INSERT
 * fails — ClickHouse unreachable, or it rejects the block — the batch goes to the disk spool
 * (./spool.ts, fsynced) and `append` resolves: acknowledged. While anything is spooled, new batches
 * queue behind it, so order is kept. A replay loop retries the spool head with backoff, and before
 * every replay it asks `count() WHERE batch_id = <id>` (within the batch's time bounds, so the
 * primary key prunes): all rows present → the earlier attempt did land (the response was lost),
 * drop it from the spool; none → INSERT it. 18.16's plain MergeTree has no insert deduplication
 * (only Replicated tables dedup identical blocks, and insert_deduplication_token came in 22.x), so
 * this id check is what makes replay idempotent on every server. A partial count cannot come from
 * one single-part INSERT; such a batch is moved to quarantine/ and reported. Spooled batches
 * survive a restart of v6scope: opening the store replays them, and opening works while ClickHouse
 * is down (schema migration is then the replay loop's first step).
 *
 * Rollup repair: 18.16 writes raw's part of an INSERT before the views' parts, so a crash in
 * between leaves rows in raw that a rollup lacks. When the replay finds a spooled batch already in
 * raw, it compares each rollup's per-bucket totals with raw's over that batch's time range and
 * rebuilds the buckets that differ (delete mutation + INSERT ... SELECT grouped as the view groups),
 * before the batch leaves the spool; `repair()` (`v6scope store repair`) does it over any range.
 *
 * Replicas (`replicated` option): Replicated* engines with ZooKeeper paths; the rollups turn the
 * replicated insert deduplication off (different batches can make identical rollup blocks).
 *
 * Retention: 18.16 has no TTL, so `applyRetention` drops whole partitions that are older than the
 * cut-off (`DROP PARTITION ID`) and deletes the rest with a mutation (`ALTER TABLE ... DELETE`),
 * then waits for the mutation to finish (18.16 has no `mutations_sync`: it polls
 * system.mutations) — on every node in cluster mode. On current servers a TTL clause could replace
 * this; the explicit path works on both.
 *
 * Schema evolution: `migrate()` is idempotent: CREATE ... IF NOT EXISTS, then columns a newer schema
 * declares are added (compared with system.columns, since 18.16 lacks ADD COLUMN IF NOT EXISTS), and
 * a materialized view whose SELECT changed is recreated. Limitation: a NEW rollup dimension is added
 * as a column but cannot join the rollup's ORDER BY (the summing key) on 18.16 — such a schema
 * change needs the rollup table rebuilt (TODO when the first such field is added).
 */
import { randomBytes } from 'node:crypto';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { FACT_TABLES, type FactRow, type FactTable } from '../../schema/facts.js';
import { FIELDS, METRICS, type FieldDef, type FlowRecord } from '../../schema/fields.js';
import { compileQuery, decodeRows, type CompiledQuery } from '../compile.js';
import { IDENTIFIER } from '../dialect.js';
import { planTable, RAW_TABLE, tableSpecs } from '../planner.js';
import type { Query, QueryResult, Row } from '../query.js';
import { DEFAULT_RETENTION, type FactStore, type FlowStore, type TableSpec } from '../store.js';
import { clickhouseDialect as d, quoteAddr, quoteString, quoteUInt } from './dialect.js';
import { encodeRows, parseTSVWithNamesAndTypes, type ColumnDef, type TSVResult } from './format.js';
import type { ClickHouseOptions } from './options.js';
import { DiskSpool, type SpoolDepth, type SpoolEntry, type SpoolItem } from './spool.js';

export type { ClickHouseOptions, ClickHouseSpoolOptions, ClickHouseStoreOptions } from './options.js';

const SCHEMA_VERSION = '2';
const META = 'v6scope_meta';
const TIME = 'time_received';
const BATCH_ID = 'batch_id';
const DAY = 86_400_000;
/** Rows per INSERT at most: well below max_insert_block_size (1,048,576), so one INSERT is one block. */
const MAX_CHUNK_ROWS = 262_144;
const CLUSTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A batch ready to send: what the spool records, plus the column list and RowBinary body. */
interface Pending extends SpoolItem {
  readonly body: Buffer;
}

/** One cluster node (or the single server): a client on the database and one without it. */
interface Node {
  readonly url: string;
  readonly client: ClickHouseClient;
  readonly admin: ClickHouseClient;
}

/** A table the store writes (raw or a fact table): its columns and time field. */
interface WriteTable {
  readonly name: string;
  readonly cols: readonly ColumnDef[];
  readonly timeField: string;
}

const RAW_WRITE: WriteTable = { name: RAW_TABLE, cols: FIELDS as readonly ColumnDef[], timeField: TIME };
const WRITE_TABLES = new Map<string, WriteTable>([
  [RAW_TABLE, RAW_WRITE],
  ...FACT_TABLES.map((t): [string, WriteTable] => [t.name, { name: t.name, cols: t.fields, timeField: t.timeField }]),
]);

/** The partition key: the UTC day (raw, 1 min, fact tables) or the UTC month of a time column. */
function partitionOf(timeColumn: string, byMonth: boolean): string {
  const dt = `toDateTime(intDiv(${d.quote(timeColumn)}, 1000), 'UTC')`;
  return byMonth ? `toYYYYMM(${dt})` : `toDate(${dt})`;
}

function partitionBy(t: TableSpec): string {
  return partitionOf(TIME, !(t.resolutionMs === 0 || t.resolutionMs < 5 * 60_000));
}

/** End (exclusive, epoch ms) of the data a partition id can hold: YYYYMMDD or YYYYMM; null when unknown. */
export function partitionEnd(id: string): number | null {
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(id);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
  m = /^(\d{4})(\d{2})$/.exec(id);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]), 1);
  return null;
}

/** Run a SELECT on a client and return its TabSeparatedWithNamesAndTypes result, read as raw bytes. */
async function selectOn(client: ClickHouseClient, sql: string): Promise<TSVResult> {
  const res = await client.exec({ query: `${sql} FORMAT TabSeparatedWithNamesAndTypes` });
  const chunks: Buffer[] = [];
  for await (const c of res.stream) chunks.push(c as Buffer);
  return parseTSVWithNamesAndTypes(Buffer.concat(chunks));
}

/** Spool status for `v6scope store check` and tests. */
export interface SpoolStatus extends SpoolDepth {
  readonly dir: string;
  readonly maxBytes: number;
  /** Batches moved to quarantine/ (could not be replayed safely). */
  readonly quarantined: number;
  /** The last insert or replay error, while the spool is not empty. */
  readonly lastError?: string;
}

export interface ClickHouseStatus {
  readonly url: string;
  readonly database: string;
  readonly version: string;
  readonly cluster?: { readonly name: string; readonly nodes: readonly string[] };
  readonly tables: readonly { readonly name: string; readonly engine: string; readonly rows: number }[];
  readonly spool: SpoolStatus | null;
}

export type RollupTotals = Record<(typeof METRICS)[number], number>;

/** One rollup bucket whose totals differ from raw's (on one node, in cluster mode). */
export interface RollupMismatch {
  readonly node: string;
  readonly table: string;
  /** Bucket start, epoch ms. */
  readonly time: number;
  readonly raw: RollupTotals;
  readonly rollup: RollupTotals;
}

export interface RepairResult {
  /** Buckets found different from raw (each was rebuilt from raw). */
  readonly mismatched: readonly RollupMismatch[];
  readonly rebuilt: number;
  /** Buckets still different after rebuilding (only with a concurrent writer); normally empty. */
  readonly remaining: readonly RollupMismatch[];
}

/** A ClickHouse store; `migrate()` is what opening runs (idempotent, exposed for `v6scope store migrate`). */
export interface ClickHouseFlowStore extends FlowStore {
  readonly facts: FactStore;
  migrate(): Promise<void>;
  /** Wait until the spool is empty (everything acknowledged is in ClickHouse), or throw after timeoutMs. */
  flush(timeoutMs?: number): Promise<void>;
  spoolStatus(): SpoolStatus | null;
  /** Connectivity, tables with row counts, spool depth. Throws when ClickHouse is unreachable. */
  status(): Promise<ClickHouseStatus>;
  rowCounts(): Promise<{ table: string; rows: number }[]>;
  /**
   * Compare each rollup with raw per bucket over [since, until) (default: all that both retain) and
   * rebuild the buckets that differ from raw. Needed after ClickHouse crashed in the middle of an
   * INSERT (18.16 writes raw's part before the views' parts); the replay loop runs it by itself for
   * the batches it finds already stored. Run it while nothing else writes to the database.
   */
  repair(range?: { since?: number; until?: number }): Promise<RepairResult>;
}

class ClickHouseStore implements ClickHouseFlowStore {
  readonly kind = 'clickhouse';
  private readonly specs: TableSpec[];
  private retainedFrom = new Map<string, number>();
  private metaVersion = 0;
  private migrated = false;
  private chain: Promise<unknown> = Promise.resolve();
  private replaying: Promise<void> | null = null;
  private closed = false;
  private wake: (() => void) | null = null;
  private lastError: string | undefined;
  /** What the replay loop is doing (in flush's timeout message). */
  private phase = 'idle';
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;

  constructor(
    private readonly main: Node,
    private nodes: Node[],
    private readonly opts: ClickHouseOptions & { database: string },
    private readonly spool: DiskSpool | null,
    private readonly makeNode: (url: string) => Node,
  ) {
    this.specs = tableSpecs(opts.retention ?? DEFAULT_RETENTION);
    this.retryMinMs = opts.spool?.retryMinMs ?? 250;
    this.retryMaxMs = opts.spool?.retryMaxMs ?? 5000;
  }

  private get client(): ClickHouseClient {
    return this.main.client;
  }

  /** Name of a table's storage on each node: `<name>_local` in cluster mode. */
  private local(name: string): string {
    const n = this.opts.cluster ? `${name}_local` : name;
    if (!IDENTIFIER.test(n)) throw new Error(`invalid table name ${n}`);
    return n;
  }

  /**
   * POST one statement to the main server (or `url`) with Node's fetch and a hard deadline (always
   * settles). A read (SELECT, SYSTEM SYNC) whose kept-alive connection the server closed just as it
   * was reused ("other side closed": ClickHouse drops idle connections after keep_alive_timeout,
   * 3 s on 18.16) is sent once more on a fresh one; writes are not (the spool and the batch-id check
   * deal with an INSERT whose answer was lost).
   */
  private async http(sql: string, body?: Buffer, url: string = this.main.url): Promise<Buffer> {
    const read = !body && /^\s*(SELECT|SYSTEM SYNC)\b/i.test(sql);
    try {
      return await this.httpOnce(sql, body, url);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause;
      if (!read || !cause || !['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'].includes(String(cause.code))) throw e;
      return this.httpOnce(sql, body, url);
    }
  }

  private async httpOnce(sql: string, body: Buffer | undefined, url: string): Promise<Buffer> {
    const u = new URL(url);
    u.searchParams.set('database', this.opts.database);
    if (body) u.searchParams.set('query', sql);
    if (this.opts.cluster && body) u.searchParams.set('insert_distributed_sync', '1');
    const auth = Buffer.from(`${this.opts.username ?? 'default'}:${this.opts.password ?? ''}`).toString('base64');
    // An explicit controller and timer (AbortSignal.timeout's signal can be collected before it fires).
    const ac = new AbortController();
    const timeoutMs = this.opts.requestTimeoutMs ?? 300_000;
    const timer = setTimeout(() => ac.abort(new Error(`ClickHouse did not answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const r = await fetch(u, {
        method: 'POST',
        body: body ?? sql,
        headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/octet-stream' },
        signal: ac.signal,
      });
      const out = Buffer.from(await r.arrayBuffer());
      if (!r.ok) throw new Error(`ClickHouse (HTTP ${r.status}): ${out.toString('utf8').trim().slice(0, 500)}`);
      return out;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Run a SELECT on the main server. Inserts, selects and the replay loop's checks use fetch with a
   * deadline: with the client, a request made while the server was restarting could stay pending
   * forever (seen after SIGKILL in the durability test) and stall the replay loop.
   */
  async select(sql: string): Promise<TSVResult> {
    return parseTSVWithNamesAndTypes(await this.http(`${sql} FORMAT TabSeparatedWithNamesAndTypes`));
  }

  /** A SELECT on one node (its local tables), with the same deadline as `select`. */
  private selectNode(node: Node, sql: string): Promise<TSVResult> {
    return this.http(`${sql} FORMAT TabSeparatedWithNamesAndTypes`, undefined, node.url).then(parseTSVWithNamesAndTypes);
  }

  private columnsOf(t: TableSpec): FieldDef[] {
    if (t.resolutionMs === 0) return FIELDS.map((f) => f as FieldDef);
    const dims = new Set(t.dimensions);
    return FIELDS.filter((f) => f.role !== 'dimension' || dims.has(f.name)).map((f) => f as FieldDef);
  }

  /** Columns (name, SQL type) of a flow table or fact table as stored. */
  private storedColumns(t: TableSpec | FactTable): [string, string][] {
    if ('fields' in t) return [...t.fields.map((f): [string, string] => [f.name, d.columnType(f.kind)]), [BATCH_ID, 'FixedString(16)']];
    const cols = this.columnsOf(t).map((c): [string, string] => [c.name, d.columnType(c.kind)]);
    return t.resolutionMs === 0 ? [...cols, [BATCH_ID, 'FixedString(16)']] : cols;
  }

  /**
   * The engine of a table: `<kind>(args)`, or with `replicated` `Replicated<kind>(zk path, replica,
   * args)`. Rollups turn the replicated insert deduplication off: two batches can yield identical
   * rollup blocks (same buckets and sums) and the second must not be dropped. (Raw blocks are
   * unique by their batch ids; dedup there only drops an identical retry.)
   */
  private engine(kind: 'MergeTree' | 'SummingMergeTree', table: string, args: string[]): { engine: string; settings: string } {
    const r = this.opts.replicated;
    if (!r) return { engine: `${kind}${args.length ? `(${args.join(', ')})` : ''}`, settings: '' };
    const o = typeof r === 'object' ? r : {};
    const zkPath = (o.zookeeperPath ?? '/clickhouse/tables/{shard}/{database}/{table}').replace(/\{database\}/g, this.opts.database).replace(/\{table\}/g, table);
    return {
      engine: `Replicated${kind}(${[quoteString(zkPath), quoteString(o.replica ?? '{replica}'), ...args].join(', ')})`,
      settings: kind === 'SummingMergeTree' ? ' SETTINGS replicated_deduplication_window = 0' : '',
    };
  }

  private localDDL(t: TableSpec | FactTable): string {
    const cols = this.storedColumns(t).map(([n, ty]) => `${d.quote(n)} ${ty}`).join(', ');
    const table = this.local(t.name);
    let e: { engine: string; settings: string };
    let layout: string;
    if ('fields' in t) {
      e = this.engine('MergeTree', table, []);
      layout = `PARTITION BY ${partitionOf(t.timeField, false)} ORDER BY (${d.quote(t.timeField)})`;
    } else if (t.resolutionMs === 0) {
      e = this.engine('MergeTree', table, []);
      layout = `PARTITION BY ${partitionBy(t)} ORDER BY (${d.quote(TIME)})`;
    } else {
      e = this.engine('SummingMergeTree', table, [`(${METRICS.map((m) => d.quote(m)).join(', ')})`]);
      layout = `PARTITION BY ${partitionBy(t)} ORDER BY (${[TIME, ...t.dimensions].map((x) => d.quote(x)).join(', ')})`;
    }
    return `CREATE TABLE IF NOT EXISTS ${d.quote(table)} (${cols}) ENGINE = ${e.engine} ${layout}${e.settings}`;
  }

  /** The Distributed table over the local ones (cluster mode); written tables shard by batch. */
  private distributedDDL(t: TableSpec | FactTable): string {
    const written = 'fields' in t || t.resolutionMs === 0;
    const args = [quoteString(this.opts.cluster!), quoteString(this.opts.database), quoteString(this.local(t.name))];
    if (written) args.push(`cityHash64(${d.quote(BATCH_ID)})`);
    return `CREATE TABLE IF NOT EXISTS ${d.quote(t.name)} AS ${d.quote(this.local(t.name))} ENGINE = Distributed(${args.join(', ')})`;
  }

  /** The materialized view's SELECT: one rollup row per (bucket, dimensions) of each insert block. */
  private viewSelect(t: TableSpec): string {
    const dims = t.dimensions.map((x) => d.quote(x));
    const sums = METRICS.map((m) => `sum(${d.quote(m)}) AS ${d.quote(m)}`);
    return (
      `SELECT ${d.timeBucket(d.quote(TIME), t.resolutionMs)} AS ${d.quote(TIME)}, ${[...dims, ...sums].join(', ')} ` +
      `FROM ${d.quote(this.local(RAW_TABLE))} GROUP BY ${[d.quote(TIME), ...dims].join(', ')}`
    );
  }

  private async readMeta(client: ClickHouseClient): Promise<Map<string, string>> {
    const r = await selectOn(client, `SELECT key, argMax(value, version) FROM ${d.quote(META)} GROUP BY key`);
    return new Map(r.rows.map((row) => [String(row[0]), String(row[1])]));
  }

  private async writeMeta(client: ClickHouseClient, key: string, value: string): Promise<void> {
    this.metaVersion = Math.max(this.metaVersion + 1, Date.now() * 1000);
    await client.command({ query: `INSERT INTO ${d.quote(META)} (key, value, version) VALUES (${quoteString(key)}, ${quoteString(value)}, ${quoteUInt(this.metaVersion)})` });
  }

  /** Add the columns a newer schema declares (18.16 has no ADD COLUMN IF NOT EXISTS). */
  private async addMissingColumns(client: ClickHouseClient, table: string, cols: readonly [string, string][]): Promise<void> {
    const existing = await selectOn(client, `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${quoteString(table)}`);
    const have = new Set(existing.rows.map((r) => String(r[0])));
    for (const [n, ty] of cols) {
      if (!have.has(n)) await client.command({ query: `ALTER TABLE ${d.quote(table)} ADD COLUMN ${d.quote(n)} ${ty}` });
    }
  }

  /** In cluster mode without an explicit node list: the cluster's hosts, with the scheme and port of `url`. */
  private async discoverNodes(): Promise<void> {
    if (!this.opts.cluster || this.opts.clusterNodes) return;
    const r = await selectOn(this.main.admin, `SELECT DISTINCT host_name FROM system.clusters WHERE cluster = ${quoteString(this.opts.cluster)}`);
    if (r.rows.length === 0) throw new Error(`ClickHouse at ${this.main.url} has no cluster "${this.opts.cluster}" in its remote_servers configuration`);
    const base = new URL(this.main.url);
    const urls = r.rows.map((row) => {
      const u = new URL(base.href);
      u.hostname = String(row[0]);
      return u.href.replace(/\/$/, '');
    });
    const known = new Map(this.nodes.map((n) => [n.url, n]));
    this.nodes = urls.map((u) => known.get(u) ?? (u === this.main.url ? this.main : this.makeNode(u)));
  }

  /** Create or upgrade the database, tables and views on every node. Idempotent; safe to run on every open. */
  async migrate(): Promise<void> {
    await this.discoverNodes();
    for (const node of this.nodes) {
      await node.admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${d.quote(this.opts.database)}` });
      const c = node.client;
      await c.command({ query: `CREATE TABLE IF NOT EXISTS ${d.quote(META)} (key String, value String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY key` });
      const all: (TableSpec | FactTable)[] = [...this.specs, ...FACT_TABLES];
      for (const t of all) {
        await c.command({ query: this.localDDL(t) });
        await this.addMissingColumns(c, this.local(t.name), this.storedColumns(t));
      }
      const meta = await this.readMeta(c);
      for (const t of this.specs) {
        if (t.resolutionMs === 0) continue;
        const view = `raw_to_${t.name}`;
        if (!IDENTIFIER.test(view)) throw new Error(`invalid view name ${view}`);
        const sel = this.viewSelect(t);
        const create = `CREATE MATERIALIZED VIEW IF NOT EXISTS ${d.quote(view)} TO ${d.quote(this.local(t.name))} AS ${sel}`;
        if (meta.get(`view:${view}`) !== sel) {
          // The view's SELECT changed (new schema) or was never recorded: (re)create it.
          await c.command({ query: `DROP TABLE IF EXISTS ${d.quote(view)}` });
          await c.command({ query: create });
          await this.writeMeta(c, `view:${view}`, sel);
        } else {
          await c.command({ query: create });
        }
      }
      if (this.opts.cluster) {
        for (const t of all) {
          await c.command({ query: this.distributedDDL(t) });
          await this.addMissingColumns(c, t.name, this.storedColumns(t));
        }
      }
      if (meta.get('schema_version') !== SCHEMA_VERSION) await this.writeMeta(c, 'schema_version', SCHEMA_VERSION);
    }
    const meta = await this.readMeta(this.client);
    for (const [k, v] of meta) {
      if (k.startsWith('retained_from:') && /^\d+$/.test(v)) this.retainedFrom.set(k.slice('retained_from:'.length), Number(v));
    }
    this.migrated = true;
  }

  // -------------------------------------------------------------------------------------------
  // Writing: chunks, direct inserts, the spool and its replay loop

  /** Validate and encode rows into per-day chunks with fresh batch ids (throws before anything is sent). */
  private prepare(t: WriteTable, rows: readonly Readonly<Record<string, unknown>>[]): Pending[] {
    const byDay = new Map<number, Readonly<Record<string, unknown>>[]>();
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const tv = r[t.timeField];
      if (typeof tv !== 'number' || !Number.isSafeInteger(tv) || tv < 0) throw new TypeError(`record ${i}: field ${t.timeField} must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${typeof tv} ${String(tv)}`);
      const day = Math.floor(tv / DAY);
      let list = byDay.get(day);
      if (!list) byDay.set(day, (list = []));
      list.push(r);
    }
    const out: Pending[] = [];
    for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
      const list = byDay.get(day)!;
      for (let i = 0; i < list.length; i += MAX_CHUNK_ROWS) {
        const chunk = list.slice(i, i + MAX_CHUNK_ROWS);
        const batchId = new Uint8Array(randomBytes(16));
        let minTime = Infinity;
        let maxTime = -Infinity;
        for (const r of chunk) {
          const tv = r[t.timeField] as number;
          if (tv < minTime) minTime = tv;
          if (tv > maxTime) maxTime = tv;
        }
        out.push({ table: t.name, batchId, rows: chunk.length, minTime, maxTime, body: encodeRows(t.cols, chunk, batchId) });
      }
    }
    return out;
  }

  /** Serialise writes: batches reach ClickHouse (or the spool) in append order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async insert(p: SpoolItem, body: Buffer): Promise<void> {
    const t = WRITE_TABLES.get(p.table);
    if (!t) throw new Error(`unknown table ${p.table}`);
    const cols = [...t.cols.map((c) => c.name), BATCH_ID].map((c) => d.quote(c)).join(', ');
    await this.http(`INSERT INTO ${d.quote(t.name)} (${cols}) FORMAT RowBinary`, body);
  }

  private async write(items: readonly Pending[]): Promise<void> {
    for (const p of items) {
      if (this.spool && (this.spool.depth().batches > 0 || !this.migrated)) {
        this.spool.push(p, p.body); // behind what is already waiting: order is kept
        this.kickReplay();
        continue;
      }
      try {
        await this.insert(p, p.body);
      } catch (e) {
        if (!this.spool || this.closed) throw e;
        this.lastError = (e as Error).message ?? String(e);
        this.spool.push(p, p.body); // throws SpoolFullError when full: then not acknowledged
        this.kickReplay();
      }
    }
  }

  /**
   * Rows of each batch already in ClickHouse (the idempotency check before a replay), by batch id
   * in hex. The batches are of one table and one UTC day.
   */
  private async rowsPresent(es: readonly SpoolEntry[]): Promise<Map<string, number>> {
    const t = WRITE_TABLES.get(es[0]!.table);
    if (!t) throw new Error(`unknown table ${es[0]!.table} in spool file ${es[0]!.file}`);
    const tf = d.quote(t.timeField);
    const min = Math.min(...es.map((e) => e.minTime));
    const max = Math.max(...es.map((e) => e.maxTime));
    const r = await this.select(
      `SELECT hex(${d.quote(BATCH_ID)}), count() FROM ${d.quote(t.name)} WHERE ${tf} >= ${quoteUInt(min)} AND ${tf} <= ${quoteUInt(max)} ` +
        `AND ${d.quote(BATCH_ID)} IN (${es.map((e) => quoteAddr(e.batchId)).join(', ')}) GROUP BY ${d.quote(BATCH_ID)}`,
    );
    return new Map(r.rows.map((row) => [String(row[0]).toLowerCase(), Number(row[1])]));
  }

  /**
   * The spool head and the batches right behind it that share its INSERT: same table, together at
   * most MAX_CHUNK_ROWS rows (one block on the server). Each batch holds one UTC day, so it lies in
   * exactly one of the parts the INSERT writes (one per day): every batch lands whole or not at
   * all, and the per-batch check stays exact. Replaying a long outage batch by batch would make
   * many tiny parts, and ClickHouse throttles inserts into a partition with too many.
   */
  private replayGroup(spool: DiskSpool): SpoolEntry[] {
    const cand = spool.peek(512);
    const head = cand[0]!;
    const group = [head];
    let rows = head.rows;
    for (const e of cand.slice(1)) {
      if (e.table !== head.table || rows + e.rows > MAX_CHUNK_ROWS) break;
      group.push(e);
      rows += e.rows;
    }
    return group;
  }

  private kickReplay(): void {
    if (!this.spool || this.replaying || this.closed) return;
    this.replaying = this.replayLoop().finally(() => {
      this.replaying = null;
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).then(() => {
      this.wake = null;
    });
  }

  private async replayLoop(): Promise<void> {
    const spool = this.spool!;
    let delay = this.retryMinMs;
    while (!this.closed) {
      const head = spool.head();
      if (!head) {
        if (!this.migrated) await this.migrate().catch((e: unknown) => void (this.lastError = (e as Error).message));
        if (this.migrated) return;
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.retryMaxMs);
        continue;
      }
      try {
        this.phase = 'migrating';
        if (!this.migrated) await this.migrate();
        const group = this.replayGroup(spool);
        this.phase = `checking batches ${group[0]!.seq}-${group[group.length - 1]!.seq}`;
        const present = await this.rowsPresent(group);
        const send: SpoolEntry[] = [];
        let partial: SpoolEntry | undefined;
        for (const e of group) {
          const n = present.get(Buffer.from(e.batchId).toString('hex')) ?? 0;
          if (n === 0) send.push(e);
          else if (n !== e.rows) {
            partial = e;
            break;
          }
          // else: an earlier attempt did land; only the answer was lost. Never insert it twice.
        }
        if (partial && partial === group[0]) {
          const to = spool.quarantine(partial);
          this.lastError = `batch ${Buffer.from(partial.batchId).toString('hex')} is partly in ClickHouse: moved to ${to}`;
          process.emitWarning(`v6scope: ${this.lastError}`);
          continue;
        }
        // Up to (not including) a partial batch: it is dealt with when it is the head.
        const upto = partial ? group.indexOf(partial) : group.length;
        const toSend = send.filter((e) => group.indexOf(e) < upto);
        this.phase = `inserting ${toSend.length} batches from ${group[0]!.seq}`;
        if (toSend.length > 0) await this.insert(toSend[0]!, Buffer.concat(toSend.map((e) => spool.readBody(e))));
        // Batches that had landed: their INSERT was cut off (ClickHouse crashed, the answer was lost)
        // and 18.16 writes raw's part before the views' parts, so their rollup buckets may lack part
        // of them. Check those buckets and rebuild them from raw while the batches are still spooled
        // (no direct insert runs meanwhile; a failure retries the whole step).
        const landed = group.slice(0, upto).filter((e) => e.table === RAW_TABLE && !toSend.includes(e));
        if (landed.length > 0 && this.opts.replicated && this.opts.cluster) {
          process.emitWarning(`v6scope: ${landed.length} batches had landed before their INSERT was answered; rollup repair is not supported with replicated tables in cluster mode: check with v6scope store repair on each shard`);
        } else if (landed.length > 0) {
          this.phase = `repairing the rollups of ${landed.length} batches that had landed`;
          const res = await this.repairRange(Math.min(...landed.map((e) => e.minTime)), Math.max(...landed.map((e) => e.maxTime)) + 1);
          if (res.rebuilt > 0) {
            process.emitWarning(
              `v6scope: ${res.rebuilt} rollup buckets (${[...new Set(res.mismatched.map((m) => m.table))].join(', ')}) lacked rows of a batch whose INSERT ClickHouse did not finish: rebuilt from raw`,
            );
          }
        }
        for (const e of group.slice(0, upto)) spool.shift(e);
        delay = this.retryMinMs;
        if (spool.depth().batches === 0) this.lastError = undefined;
      } catch (e) {
        this.lastError = (e as Error).message ?? String(e);
        if (this.closed) return;
        this.phase = `waiting ${delay} ms`;
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.retryMaxMs);
      }
    }
  }

  append(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    let items: Pending[];
    try {
      items = this.prepare(RAW_WRITE, batch as unknown as readonly Record<string, unknown>[]);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serial(() => this.write(items));
  }

  async flush(timeoutMs = 120_000): Promise<void> {
    await this.serial(async () => undefined);
    if (!this.spool) return;
    const deadline = Date.now() + timeoutMs;
    while (this.spool.depth().batches > 0) {
      if (this.closed) throw new Error('store closed');
      this.kickReplay();
      if (Date.now() > deadline) {
        throw new Error(`ClickHouse spool still holds ${this.spool.depth().batches} batches after ${timeoutMs} ms${this.lastError ? ` (last error: ${this.lastError})` : ''}; replay: ${this.phase}`);
      }
      this.wake?.(); // retry now rather than after the backoff
      await new Promise<void>((r) => setTimeout(r, 50));
    }
  }

  spoolStatus(): SpoolStatus | null {
    if (!this.spool) return null;
    const depth = this.spool.depth();
    return {
      ...depth,
      dir: this.spool.dir,
      maxBytes: this.spool.maxBytes,
      quarantined: this.spool.quarantined().length,
      ...(this.lastError && depth.batches > 0 ? { lastError: this.lastError } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Facts

  readonly facts: FactStore = {
    append: (table, rows) => this.appendFacts(table, rows),
    read: (table, range) => this.readFacts(table, range),
  };

  private appendFacts(table: FactTable, rows: readonly FactRow[]): Promise<void> {
    const t = WRITE_TABLES.get(table.name);
    if (!t || t.name === RAW_TABLE) return Promise.reject(new Error(`unknown fact table ${table.name}`));
    if (rows.length === 0) return Promise.resolve();
    let items: Pending[];
    try {
      items = this.prepare(t, rows);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.serial(() => this.write(items));
  }

  private async readFacts(table: FactTable, range: { since?: number; until?: number } = {}): Promise<FactRow[]> {
    const def = FACT_TABLES.find((t) => t.name === table.name);
    if (!def) throw new Error(`unknown fact table ${table.name}`);
    const tf = d.quote(def.timeField);
    const where: string[] = [];
    if (range.since !== undefined) where.push(`${tf} >= ${quoteUInt(range.since)}`);
    if (range.until !== undefined) where.push(`${tf} < ${quoteUInt(range.until)}`);
    const cols = def.fields.map((f) => d.quote(f.name));
    // Ordered by every column: the same order on every store, also among rows of the same time.
    const r = await this.select(`SELECT ${cols.join(', ')} FROM ${d.quote(def.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cols.join(', ')}`);
    return r.rows.map((row) => {
      const o: FactRow = {};
      def.fields.forEach((f, i) => (o[f.name] = d.decode(row[i], f.kind)));
      return o;
    });
  }

  // -------------------------------------------------------------------------------------------
  // Queries

  async query(q: Query): Promise<QueryResult> {
    const table = planTable(q, this.specs, this.retainedFrom);
    // (Empty and/or/in compile to 1 = 1 / 1 = 0: 18.16 has no TRUE/FALSE literals.)
    const c: CompiledQuery = compileQuery(q, table, d);
    const r = await this.select(c.sql);
    const rows: Row[] = decodeRows(c, d, r.rows);
    return { rows, table: table.name, sql: c.sql };
  }

  async timeRange(): Promise<{ min: number; max: number } | null> {
    const read = async (t: string): Promise<{ min: number; max: number } | null> => {
      const r = await this.select(`SELECT count(), min(${d.quote(TIME)}), max(${d.quote(TIME)}) FROM ${d.quote(t)}`);
      const row = r.rows[0];
      if (!row || Number(row[0]) === 0) return null;
      return { min: Number(row[1]), max: Number(row[2]) };
    };
    const raw = await read(RAW_TABLE);
    const hour = await read('rollup_1h');
    const HOUR = 3_600_000;
    if (!raw) return hour;
    const min = hour && hour.min < Math.floor(raw.min / HOUR) * HOUR ? hour.min : raw.min;
    return { min, max: raw.max };
  }

  /** Delete rows of a local table older than `from` on one node: whole partitions dropped, the rest by a mutation. */
  private async pruneLocal(client: ClickHouseClient, table: string, timeField: string, from: number): Promise<void> {
    const name = d.quote(table);
    const parts = await selectOn(client, `SELECT DISTINCT partition_id FROM system.parts WHERE database = currentDatabase() AND table = ${quoteString(table)} AND active`);
    for (const [id] of parts.rows) {
      const end = partitionEnd(String(id));
      if (end !== null && end <= from) await client.command({ query: `ALTER TABLE ${name} DROP PARTITION ID ${quoteString(String(id))}` });
    }
    const left = await selectOn(client, `SELECT count() FROM ${name} WHERE ${d.quote(timeField)} < ${quoteUInt(from)}`);
    if (Number(left.rows[0]?.[0] ?? 0) > 0) {
      await client.command({ query: `ALTER TABLE ${name} DELETE WHERE ${d.quote(timeField)} < ${quoteUInt(from)}` });
      await this.waitForMutations(client, table);
    }
  }

  async applyRetention(now: number): Promise<void> {
    quoteUInt(now);
    for (const t of this.specs) {
      const cutoff = Math.max(0, now - t.retentionMs);
      const from = t.resolutionMs ? Math.ceil(cutoff / t.resolutionMs) * t.resolutionMs : cutoff;
      for (const node of this.nodes) await this.pruneLocal(node.client, this.local(t.name), TIME, from);
      const prev = this.retainedFrom.get(t.name);
      if (prev === undefined || from > prev) {
        this.retainedFrom.set(t.name, from);
        await this.writeMeta(this.client, `retained_from:${t.name}`, String(from));
      }
    }
    // Facts explain raw flows: they are kept as long as the raw table.
    const raw = this.specs.find((t) => t.resolutionMs === 0)!;
    const factFrom = Math.max(0, now - raw.retentionMs);
    for (const f of FACT_TABLES) for (const node of this.nodes) await this.pruneLocal(node.client, this.local(f.name), f.timeField, factFrom);
  }

  /** Wait until no mutation of `table` is pending (18.16 has no mutations_sync). */
  private async waitForMutations(client: ClickHouseClient | Node, table: string): Promise<void> {
    const timeout = this.opts.mutationTimeoutMs ?? 600_000;
    const deadline = Date.now() + timeout;
    const sel = (q: string): Promise<TSVResult> => ('admin' in client ? this.selectNode(client, q) : selectOn(client, q));
    for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
      const r = await sel(`SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ${quoteString(table)} AND is_done = 0`);
      if (Number(r.rows[0]?.[0] ?? 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`ClickHouse: delete mutation on ${table} still running after ${timeout} ms`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rollup repair

  /**
   * Buckets of one rollup on one node whose totals differ from raw's in [lo, hi) (both aligned to
   * the rollup's resolution), with both sides' totals. Raw is grouped exactly as the view groups it.
   */
  private async mismatchedBuckets(node: Node, t: TableSpec, lo: number, hi: number): Promise<RollupMismatch[]> {
    const T = d.quote(TIME);
    const range = `${T} >= ${quoteUInt(lo)} AND ${T} < ${quoteUInt(hi)}`;
    const q = (x: string): string => d.quote(x);
    const rawSide = METRICS.map((m) => `sum(${q(m)}) AS ${q(`r_${m}`)}, toUInt64(0) AS ${q(`x_${m}`)}`).join(', ');
    const rollSide = METRICS.map((m) => `toUInt64(0), sum(${q(m)})`).join(', ');
    const outer = METRICS.map((m) => `sum(${q(`r_${m}`)}) AS ${q(`sr_${m}`)}, sum(${q(`x_${m}`)}) AS ${q(`sx_${m}`)}`).join(', ');
    const r = await this.selectNode(
      node,
      `SELECT ${q('b')}, ${outer} FROM (` +
        `SELECT ${d.timeBucket(T, t.resolutionMs)} AS ${q('b')}, ${rawSide} FROM ${q(this.local(RAW_TABLE))} WHERE ${range} GROUP BY ${q('b')} ` +
        `UNION ALL SELECT ${T} AS ${q('b')}, ${rollSide} FROM ${q(this.local(t.name))} WHERE ${range} GROUP BY ${q('b')}` +
        `) GROUP BY ${q('b')} HAVING ${METRICS.map((m) => `${q(`sr_${m}`)} != ${q(`sx_${m}`)}`).join(' OR ')} ORDER BY ${q('b')}`,
    );
    return r.rows.map((row) => {
      const raw: Record<string, number> = {};
      const rollup: Record<string, number> = {};
      METRICS.forEach((m, i) => {
        raw[m] = Number(row[1 + 2 * i]);
        rollup[m] = Number(row[2 + 2 * i]);
      });
      return { node: node.url, table: t.name, time: Number(row[0]), raw: raw as RollupTotals, rollup: rollup as RollupTotals };
    });
  }

  /**
   * Rebuild buckets of one rollup on one node from raw: delete their rows (a mutation, waited for),
   * then INSERT ... SELECT grouped exactly as the materialized view groups. Inserting straight into
   * the rollup table does not fire any view. Idempotent: a crash in between leaves a mismatch the
   * next check finds again.
   */
  private async rebuildBuckets(node: Node, t: TableSpec, buckets: readonly number[]): Promise<void> {
    const T = d.quote(TIME);
    const table = this.local(t.name);
    const dims = t.dimensions.map((x) => d.quote(x));
    const cols = [T, ...dims, ...METRICS.map((m) => d.quote(m))];
    for (let i = 0; i < buckets.length; i += 1000) {
      const chunk = buckets.slice(i, i + 1000);
      const list = chunk.map((b) => quoteUInt(b)).join(', ');
      const lo = chunk[0]!;
      const hi = chunk[chunk.length - 1]! + t.resolutionMs;
      await this.http(`ALTER TABLE ${d.quote(table)} DELETE WHERE ${T} IN (${list})`, undefined, node.url);
      await this.waitForMutations(node, table);
      // The raw rows of exactly these buckets: time in [lo, hi) and its bucket in the list. (The
      // bucket is aliased to time_received as in the view; both conditions hold either way.)
      const bucket = d.timeBucket(T, t.resolutionMs);
      await this.http(
        `INSERT INTO ${d.quote(table)} (${cols.join(', ')}) SELECT ${bucket} AS ${T}, ${[...dims, ...METRICS.map((m) => `sum(${d.quote(m)}) AS ${d.quote(m)}`)].join(', ')} ` +
          `FROM ${d.quote(this.local(RAW_TABLE))} WHERE ${T} >= ${quoteUInt(lo)} AND ${T} < ${quoteUInt(hi)} AND ${bucket} IN (${list}) ` +
          `GROUP BY ${[T, ...dims].join(', ')}`,
        undefined,
        node.url,
      );
    }
  }

  /**
   * Compare every rollup with raw over [since, until) on every node and rebuild the buckets that
   * differ. Only buckets that lie wholly inside what raw and the rollup still retain are compared
   * (retention may have cut raw in the middle of an hour). Writes must not run meanwhile: the
   * replay loop calls it while the spool holds the batch (new batches queue behind it), `repair()`
   * inside the write chain. Up to three rounds: a round that still finds differences (another
   * writer's concurrent insert) rebuilds again.
   */
  private async repairRange(since: number | undefined, until: number | undefined): Promise<RepairResult> {
    if (this.opts.replicated && this.opts.cluster) {
      // Every node of the list would rebuild its shard's buckets, and replication would then
      // multiply the rebuilt rows by the number of replicas.
      throw new Error('rollup repair is not supported with replicated tables in cluster mode yet: open the store on one replica of each shard (without cluster) to repair it');
    }
    if (this.opts.replicated) {
      // Compare only once this replica has every part the others wrote (raw's and the rollups').
      for (const node of this.nodes) {
        for (const t of this.specs) await this.http(`SYSTEM SYNC REPLICA ${d.quote(this.local(t.name))}`, undefined, node.url);
      }
    }
    const found: RollupMismatch[] = [];
    let remaining: RollupMismatch[] = [];
    const rawFrom = this.retainedFrom.get(RAW_TABLE) ?? 0;
    for (const t of this.specs.filter((x) => x.resolutionMs > 0)) {
      const r = t.resolutionMs;
      const floor = Math.max(rawFrom, this.retainedFrom.get(t.name) ?? 0);
      const lo = Math.max(since === undefined ? 0 : Math.floor(since / r) * r, Math.ceil(floor / r) * r);
      const hi = until === undefined ? Number.MAX_SAFE_INTEGER : Math.ceil(until / r) * r;
      if (hi <= lo) continue;
      for (const node of this.nodes) {
        let bad = await this.mismatchedBuckets(node, t, lo, hi);
        found.push(...bad);
        for (let round = 0; round < 3 && bad.length > 0; round++) {
          await this.rebuildBuckets(node, t, bad.map((b) => b.time));
          bad = await this.mismatchedBuckets(node, t, lo, hi);
        }
        remaining = remaining.concat(bad);
      }
    }
    return { mismatched: found, rebuilt: found.length, remaining };
  }

  async repair(range: { since?: number; until?: number } = {}): Promise<RepairResult> {
    if (range.since !== undefined) quoteUInt(range.since);
    if (range.until !== undefined) quoteUInt(range.until);
    return this.serial(async () => {
      if (!this.migrated) await this.migrate();
      if (this.spool && this.spool.depth().batches > 0) {
        throw new Error(`the ClickHouse spool holds ${this.spool.depth().batches} batches: repair once they are replayed (the replay repairs the batches it finds already stored)`);
      }
      return this.repairRange(range.since, range.until);
    });
  }

  async rowCounts(): Promise<{ table: string; rows: number }[]> {
    const out: { table: string; rows: number }[] = [];
    for (const name of [...this.specs.map((t) => t.name), ...FACT_TABLES.map((t) => t.name)]) {
      const r = await this.select(`SELECT count() FROM ${d.quote(name)}`);
      out.push({ table: name, rows: Number(r.rows[0]?.[0] ?? 0) });
    }
    return out;
  }

  async status(): Promise<ClickHouseStatus> {
    const v = await selectOn(this.main.admin, 'SELECT version()');
    const engines = await this.select(`SELECT name, engine FROM system.tables WHERE database = currentDatabase()`);
    const engineOf = new Map(engines.rows.map((r) => [String(r[0]), String(r[1])]));
    const counts = new Map((await this.rowCounts().catch(() => [])).map((c) => [c.table, c.rows]));
    const tables = [...this.specs.map((t) => t.name), ...FACT_TABLES.map((t) => t.name)].map((name) => ({
      name,
      engine: engineOf.get(name) ?? 'missing',
      rows: counts.get(name) ?? 0,
    }));
    return {
      url: this.main.url,
      database: this.opts.database,
      version: String(v.rows[0]?.[0] ?? ''),
      ...(this.opts.cluster ? { cluster: { name: this.opts.cluster, nodes: this.nodes.map((n) => n.url) } } : {}),
      tables,
      spool: this.spoolStatus(),
    };
  }

  tables(): readonly TableSpec[] {
    return this.specs;
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.closed = true;
    this.wake?.();
    await this.replaying;
    const seen = new Set<Node>();
    for (const n of [this.main, ...this.nodes]) {
      if (seen.has(n)) continue;
      seen.add(n);
      await n.client.close();
      await n.admin.close();
    }
  }

  /** Called once after open: replay what a previous run left in the spool. */
  start(): void {
    if (this.spool && (this.spool.depth().batches > 0 || !this.migrated)) this.kickReplay();
  }
}

/**
 * Open a ClickHouse store: creates or upgrades database, tables and views (every node of the
 * cluster). With a spool, opening also works while ClickHouse is unreachable — batches spool and
 * the schema is migrated once it answers — and batches a previous run spooled are replayed.
 */
export async function openClickHouseStore(opts: ClickHouseOptions): Promise<ClickHouseFlowStore> {
  const database = opts.database ?? 'v6scope';
  if (!IDENTIFIER.test(database)) throw new Error(`invalid ClickHouse database name ${JSON.stringify(database)} (use lowercase letters, digits, _)`);
  if (opts.cluster !== undefined && !CLUSTER_NAME.test(opts.cluster)) throw new Error(`invalid ClickHouse cluster name ${JSON.stringify(opts.cluster)}`);
  const common = {
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    request_timeout: opts.requestTimeoutMs ?? 300_000,
    // Failures are reported by the store (append's rejection, the spool's last error), not logged twice.
    log: { level: ClickHouseLogLevel.OFF },
    // Long queries: progress headers keep idle proxies/load balancers from cutting the connection
    // (both settings exist in 18.16). One header a minute stays far below Node's header size limit.
    clickhouse_settings: { send_progress_in_http_headers: 1 as const, http_headers_progress_interval_ms: '60000' },
  };
  const makeNode = (url: string): Node => ({
    url,
    client: createClient({ ...common, url, database }),
    admin: createClient({ ...common, url }),
  });
  const norm = (u: string): string => u.replace(/\/$/, '');
  const main = makeNode(norm(opts.url));
  const nodeUrls = opts.cluster && opts.clusterNodes ? opts.clusterNodes.map(norm) : [main.url];
  const nodes = nodeUrls.map((u) => (u === main.url ? main : makeNode(u)));
  const spool = opts.spool ? DiskSpool.open(opts.spool) : null;
  const store = new ClickHouseStore(main, nodes, { ...opts, database }, spool, makeNode);
  try {
    await store.migrate();
  } catch (e) {
    if (!spool) {
      await store.close();
      throw e;
    }
    // With a spool the store opens anyway: batches are kept until ClickHouse answers.
    process.emitWarning(`v6scope: ClickHouse at ${opts.url} is not available (${(e as Error).message}); batches are spooled to ${spool.dir}`);
  }
  store.start();
  return store;
}
