/**
 * The ClickHouse store (scale-out): the same FlowStore as the embedded DuckDB store, over
 * ClickHouse's HTTP interface with the official client (@clickhouse/client). The client works with
 * clickhouse-server 18.16 as long as we choose the formats ourselves: we send SQL with `exec`, insert
 * RowBinary with `exec` + a values stream and read TabSeparatedWithNamesAndTypes bodies as raw
 * bytes (the client's JSON helpers would decode FixedString bytes as text, and its default
 * JSONCompactEachRow-style formats do not exist in 18.16).
 *
 * Tables (all DDL derived from the schema and the planner's table specs, never hand-written):
 * - `raw`: MergeTree, PARTITION BY the UTC day of time_received, ORDER BY time_received.
 * - `rollup_1m` / `rollup_5m` / `rollup_1h`: SummingMergeTree over (bytes, packets, flows),
 *   ORDER BY (time_received, rollup dimensions...), partitioned by day (1m) or month (5m, 1h),
 *   filled by materialized views `raw_to_<rollup>` (`TO` the rollup table) on every insert into
 *   raw. Each insert block adds its own rows; background merges sum equal keys; queries always SUM,
 *   so unmerged duplicates are fine.
 * - `v6scope_meta`: ReplacingMergeTree key/value (schema version, view definitions, the
 *   `retained_from:<table>` marks the planner uses).
 *
 * Retention: 18.16 has no TTL, so `applyRetention` drops whole partitions that are older than the
 * cut-off (`DROP PARTITION ID`) and deletes the rest with a mutation (`ALTER TABLE ... DELETE`),
 * then waits for the mutation to finish (18.16 has no `mutations_sync`: it polls
 * system.mutations). On current servers a TTL clause could replace this; the explicit path works on
 * both.
 *
 * Schema evolution: `migrate()` is idempotent: CREATE ... IF NOT EXISTS, then columns a newer schema
 * declares are added (compared with system.columns, since 18.16 lacks ADD COLUMN IF NOT EXISTS), and
 * a materialized view whose SELECT changed is recreated. Limitation: a NEW rollup dimension is added
 * as a column but cannot join the rollup's ORDER BY (the summing key) on 18.16 — such a schema
 * change needs the rollup table rebuilt (TODO when the first such field is added).
 */
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { FIELDS, METRICS, type FieldDef, type FlowRecord } from '../../schema/fields.js';
import { compileQuery, decodeRows, type CompiledQuery } from '../compile.js';
import { IDENTIFIER } from '../dialect.js';
import { planTable, RAW_TABLE, tableSpecs } from '../planner.js';
import type { FilterExpr, Query, QueryResult, Row } from '../query.js';
import { DEFAULT_RETENTION, type FlowStore, type RetentionConfig, type TableSpec } from '../store.js';
import { clickhouseDialect as d, quoteString, quoteUInt } from './dialect.js';
import { encodeRowBinary, parseTSVWithNamesAndTypes, RAW_COLUMNS, type TSVResult } from './format.js';

const SCHEMA_VERSION = '1';
const META = 'v6scope_meta';
const TIME = 'time_received';

export interface ClickHouseStoreOptions {
  /** HTTP interface, e.g. http://127.0.0.1:8123 */
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
}

/** The partition key of each table: the UTC day of time_received (raw, 1 min) or the UTC month. */
function partitionBy(t: TableSpec): string {
  const dt = `toDateTime(intDiv(${d.quote(TIME)}, 1000), 'UTC')`;
  return t.resolutionMs === 0 || t.resolutionMs < 5 * 60_000 ? `toDate(${dt})` : `toYYYYMM(${dt})`;
}

/** End (exclusive, epoch ms) of the data a partition id can hold: YYYYMMDD or YYYYMM; null when unknown. */
export function partitionEnd(id: string): number | null {
  let m = /^(\d{4})(\d{2})(\d{2})$/.exec(id);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1);
  m = /^(\d{4})(\d{2})$/.exec(id);
  if (m) return Date.UTC(Number(m[1]), Number(m[2]), 1);
  return null;
}

class ClickHouseStore implements ClickHouseFlowStore {
  readonly kind = 'clickhouse';
  private readonly specs: TableSpec[];
  private retainedFrom = new Map<string, number>();
  private metaVersion = 0;

  constructor(
    private readonly client: ClickHouseClient,
    retention: RetentionConfig,
    private readonly mutationTimeoutMs: number,
  ) {
    this.specs = tableSpecs(retention);
  }

  private async command(sql: string): Promise<void> {
    await this.client.command({ query: sql });
  }

  /** Run a SELECT and return its TabSeparatedWithNamesAndTypes result, read as raw bytes. */
  async select(sql: string): Promise<TSVResult> {
    const res = await this.client.exec({ query: `${sql} FORMAT TabSeparatedWithNamesAndTypes` });
    const chunks: Buffer[] = [];
    for await (const c of res.stream) chunks.push(c as Buffer);
    return parseTSVWithNamesAndTypes(Buffer.concat(chunks));
  }

  private columnsOf(t: TableSpec): FieldDef[] {
    if (t.resolutionMs === 0) return FIELDS.map((f) => f as FieldDef);
    const dims = new Set(t.dimensions);
    return FIELDS.filter((f) => f.role !== 'dimension' || dims.has(f.name)).map((f) => f as FieldDef);
  }

  private ddl(t: TableSpec): string {
    const cols = this.columnsOf(t).map((c) => `${d.quote(c.name)} ${d.columnType(c.kind)}`).join(', ');
    const engine =
      t.resolutionMs === 0
        ? `MergeTree PARTITION BY ${partitionBy(t)} ORDER BY (${d.quote(TIME)})`
        : `SummingMergeTree((${METRICS.map((m) => d.quote(m)).join(', ')})) PARTITION BY ${partitionBy(t)} ` +
          `ORDER BY (${[TIME, ...t.dimensions].map((x) => d.quote(x)).join(', ')})`;
    return `CREATE TABLE IF NOT EXISTS ${d.quote(t.name)} (${cols}) ENGINE = ${engine}`;
  }

  /** The materialized view's SELECT: one rollup row per (bucket, dimensions) of each insert block. */
  private viewSelect(t: TableSpec): string {
    const dims = t.dimensions.map((x) => d.quote(x));
    const sums = METRICS.map((m) => `sum(${d.quote(m)}) AS ${d.quote(m)}`);
    return (
      `SELECT ${d.timeBucket(d.quote(TIME), t.resolutionMs)} AS ${d.quote(TIME)}, ${[...dims, ...sums].join(', ')} ` +
      `FROM ${d.quote(RAW_TABLE)} GROUP BY ${[d.quote(TIME), ...dims].join(', ')}`
    );
  }

  private async readMeta(): Promise<Map<string, string>> {
    const r = await this.select(`SELECT key, argMax(value, version) FROM ${d.quote(META)} GROUP BY key`);
    return new Map(r.rows.map((row) => [String(row[0]), String(row[1])]));
  }

  private async writeMeta(key: string, value: string): Promise<void> {
    this.metaVersion = Math.max(this.metaVersion + 1, Date.now() * 1000);
    await this.command(`INSERT INTO ${d.quote(META)} (key, value, version) VALUES (${quoteString(key)}, ${quoteString(value)}, ${quoteUInt(this.metaVersion)})`);
  }

  /** Create or upgrade the tables and views. Idempotent; safe to run on every open. */
  async migrate(): Promise<void> {
    await this.command(`CREATE TABLE IF NOT EXISTS ${d.quote(META)} (key String, value String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY key`);
    for (const t of this.specs) {
      await this.command(this.ddl(t));
      const existing = await this.select(`SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${quoteString(t.name)}`);
      const have = new Set(existing.rows.map((r) => String(r[0])));
      for (const c of this.columnsOf(t)) {
        if (!have.has(c.name)) await this.command(`ALTER TABLE ${d.quote(t.name)} ADD COLUMN ${d.quote(c.name)} ${d.columnType(c.kind)}`);
      }
    }
    const meta = await this.readMeta();
    for (const t of this.specs) {
      if (t.resolutionMs === 0) continue;
      const view = `raw_to_${t.name}`;
      if (!IDENTIFIER.test(view)) throw new Error(`invalid view name ${view}`);
      const select = this.viewSelect(t);
      if (meta.get(`view:${view}`) !== select) {
        // The view's SELECT changed (new schema) or was never recorded: (re)create it.
        await this.command(`DROP TABLE IF EXISTS ${d.quote(view)}`);
        await this.command(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${d.quote(view)} TO ${d.quote(t.name)} AS ${select}`);
        await this.writeMeta(`view:${view}`, select);
      } else {
        await this.command(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${d.quote(view)} TO ${d.quote(t.name)} AS ${select}`);
      }
    }
    if (meta.get('schema_version') !== SCHEMA_VERSION) await this.writeMeta('schema_version', SCHEMA_VERSION);
    for (const [k, v] of meta) {
      if (k.startsWith('retained_from:') && /^\d+$/.test(v)) this.retainedFrom.set(k.slice('retained_from:'.length), Number(v));
    }
  }

  /**
   * One INSERT of the batch into raw (RowBinary, every schema field); the materialized views add
   * the rollup rows in the same request.
   *
   * TODO(durability, issue 7 part 2): retries and the disk spool. A retried INSERT is only
   * deduplicated by Replicated*MergeTree tables (identical blocks within the dedup window; the
   * views' target blocks too on newer servers) — plain MergeTree on 18.16 would store it twice.
   * Give each batch an idempotent id (insert_deduplication_token on new servers, or a batch-id
   * column checked before replay) before replaying spooled batches.
   */
  async append(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return;
    const body = encodeRowBinary(batch);
    const cols = RAW_COLUMNS.map((c) => d.quote(c)).join(', ');
    const res = await this.client.exec({
      query: `INSERT INTO ${d.quote(RAW_TABLE)} (${cols}) FORMAT RowBinary`,
      values: Readable.from([body]),
    });
    // Drain (and so wait for) the response.
    for await (const _ of res.stream) void _;
  }

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

  async applyRetention(now: number): Promise<void> {
    quoteUInt(now);
    for (const t of this.specs) {
      const cutoff = Math.max(0, now - t.retentionMs);
      const from = t.resolutionMs ? Math.ceil(cutoff / t.resolutionMs) * t.resolutionMs : cutoff;
      const name = d.quote(t.name);
      // Whole partitions older than the cut-off: drop them (cheap, no rewrite).
      const parts = await this.select(
        `SELECT DISTINCT partition_id FROM system.parts WHERE database = currentDatabase() AND table = ${quoteString(t.name)} AND active`,
      );
      for (const [id] of parts.rows) {
        const end = partitionEnd(String(id));
        if (end !== null && end <= from) await this.command(`ALTER TABLE ${name} DROP PARTITION ID ${quoteString(String(id))}`);
      }
      // The rest: a delete mutation, when there is anything to delete.
      const left = await this.select(`SELECT count() FROM ${name} WHERE ${d.quote(TIME)} < ${quoteUInt(from)}`);
      if (Number(left.rows[0]?.[0] ?? 0) > 0) {
        await this.command(`ALTER TABLE ${name} DELETE WHERE ${d.quote(TIME)} < ${quoteUInt(from)}`);
        await this.waitForMutations(t.name);
      }
      const prev = this.retainedFrom.get(t.name);
      if (prev === undefined || from > prev) {
        this.retainedFrom.set(t.name, from);
        await this.writeMeta(`retained_from:${t.name}`, String(from));
      }
    }
  }

  /** Wait until no mutation of `table` is pending (18.16 has no mutations_sync). */
  private async waitForMutations(table: string): Promise<void> {
    const deadline = Date.now() + this.mutationTimeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
      const r = await this.select(
        `SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ${quoteString(table)} AND is_done = 0`,
      );
      if (Number(r.rows[0]?.[0] ?? 0) === 0) return;
      if (Date.now() > deadline) throw new Error(`ClickHouse: delete mutation on ${table} still running after ${this.mutationTimeoutMs} ms`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }

  tables(): readonly TableSpec[] {
    return this.specs;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** A ClickHouse store; `migrate()` is what opening runs (idempotent, exposed for `v6scope migrate`). */
export interface ClickHouseFlowStore extends FlowStore {
  migrate(): Promise<void>;
}

/** Open (creating database, tables and views if needed) a ClickHouse store. */
export async function openClickHouseStore(opts: ClickHouseStoreOptions): Promise<ClickHouseFlowStore> {
  const database = opts.database ?? 'v6scope';
  if (!IDENTIFIER.test(database)) throw new Error(`invalid ClickHouse database name ${JSON.stringify(database)} (use lowercase letters, digits, _)`);
  const common = {
    url: opts.url,
    username: opts.username ?? 'default',
    password: opts.password ?? '',
    request_timeout: opts.requestTimeoutMs ?? 300_000,
    // Long queries: progress headers keep idle proxies/load balancers from cutting the connection
    // (both settings exist in 18.16). One header a minute stays far below Node's header size limit.
    clickhouse_settings: { send_progress_in_http_headers: 1 as const, http_headers_progress_interval_ms: '60000' },
  };
  const admin = createClient(common);
  try {
    await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${d.quote(database)}` });
  } finally {
    await admin.close();
  }
  const client = createClient({ ...common, database });
  const store = new ClickHouseStore(client, opts.retention ?? DEFAULT_RETENTION, opts.mutationTimeoutMs ?? 600_000);
  try {
    await store.migrate();
  } catch (e) {
    await client.close();
    throw e;
  }
  return store;
}
