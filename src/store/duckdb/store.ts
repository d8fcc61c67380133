/**
 * The embedded DuckDB store: one file, a raw table plus 1 min / 5 min / 1 h rollups, all derived
 * from the schema.
 *
 * Appends write whole columns into DuckDB data chunks (chunk-append.ts), one transaction per batch,
 * straight into `raw` (in the table's own column order). Every batch gets a number, stored with its
 * rows in raw's one store-internal column, `v6scope_batch`. The rollups are maintained from raw less
 * often than per batch — when `rollupFlushRows` rows are waiting, every `rollupFlushMs`, and always
 * before anything reads a rollup (a query the planner answers from a rollup, retention, row counts,
 * close): one transaction aggregates raw's rows of the batches after the last one rolled up into
 * each rollup and records that batch number in `v6scope_meta`. So a query never sees a rollup that
 * lacks acknowledged flows, and a crash loses nothing: the batches not yet rolled up are found in
 * raw (zone maps skip the rest) and rolled up when the file is opened again.
 *
 * Appends to raw alternate between two connections: while batch N commits on one, batch N+1 is
 * written into the other's transaction (the main thread fills, DuckDB's thread commits — measured
 * at 300k flows/s, bench/RESULTS.md). Commits run in batch order; anything else waits for them.
 *
 * Roll-ups (and retention's deletes) run on a connection of their own, in their own serial lane, so a
 * roll-up started by size or timer runs beside the appends instead of holding them up (DuckDB's
 * transactions are isolated: the roll-up reads only committed batches, the appends write only raw).
 * What must see complete rollups (a rollup query, retention, row counts, close) waits on that lane.
 * DuckDB's thread count is one setting for all connections: a roll-up started beside the appends
 * runs with the appends' (one thread), one a read waits for with the queries' (one per core).
 */
import { BIGINT, DuckDBInstance, UBIGINT, UHUGEINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { ChunkWriter, type ChunkColumn } from './chunk-append.js';
import { FACT_TABLES, type FactRow, type FactTable } from '../../schema/facts.js';
import { FIELDS, METRICS, type FieldDef, type FlowRecord } from '../../schema/fields.js';
import { addrToBigInt } from '../../net/ip.js';
import { compileQuery, decodeRows, type CompiledQuery } from '../compile.js';
import { duckdbDialect as d } from '../dialect.js';
import { planTable, RAW_TABLE, tableSpecs } from '../planner.js';
import type { Query, QueryResult, Row } from '../query.js';
import { DEFAULT_RETENTION, type ColumnarRange, type FactStore, type FlowStore, type RetentionConfig, type TableSpec } from '../store.js';

const SCHEMA_VERSION = '1';
const STAGING = 'v6scope_staging';
/**
 * The table where earlier versions kept the rollup rows not yet rolled up: rolled up and dropped
 * when such a file is opened.
 */
const OLD_PENDING = 'v6scope_rollup_pending';
/** raw's store-internal column: the number of the batch that appended the row (0: rolled up before batch numbers). */
const BATCH_COLUMN: ChunkColumn = { name: 'v6scope_batch', kind: 'u64', constant: true };
/** v6scope_meta key: the last batch whose rows are in the rollups. */
const ROLLED_UP_KEY = 'rolled_up_batch';
/** Rows appended between two turns of the event loop (4 DuckDB vectors). */
const APPEND_SLICE = 8192;

/** The DuckDB type of each schema kind, for the columnar appender (matches duckdbDialect.columnType). */
const DUCK_TYPE: Record<FieldDef['kind'], DuckDBType> = { time: BIGINT, addr: UHUGEINT, mac: UBIGINT, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT, string: VARCHAR };
const FLOW_COLUMNS: ChunkColumn[] = FIELDS.map((f) => ({ name: f.name, kind: f.kind }));
const FLOW_COLUMN_LIST = FLOW_COLUMNS.map((c) => `"${c.name}"`).join(', ');
const stagingOf = (table: string): string => `v6scope_staging_${table}`;
const FACT_COLUMNS = new Map(FACT_TABLES.map((t) => [t.name, layoutOf(t.fields.map((f) => ({ name: f.name, kind: f.kind })))]));

/** An appender's column list in a table's own column order (the appender is positional). */
interface AppendLayout {
  columns: ChunkColumn[];
  types: DuckDBType[];
  /** Its chunk writer (one data chunk and scratch buffers, reused by every append), made on first use. */
  writer?: ChunkWriter;
  /** For columnar appends: each column's index in FIELDS (a columnar batch's column), -1 if constant. */
  fieldIndex?: Int32Array;
}

const FIELD_INDEX = new Map<string, number>(FIELDS.map((f, i) => [f.name, i]));

function writerOf(layout: AppendLayout): ChunkWriter {
  return (layout.writer ??= new ChunkWriter(layout.columns, layout.types));
}

export interface DuckDBStoreOptions {
  path: string;
  retention?: RetentionConfig;
  /** Roll raw's new rows up once this many are waiting (default 1,048,576). */
  rollupFlushRows?: number;
  /** ... and at least this often, ms (default 10,000; 0: only by size and before reads). */
  rollupFlushMs?: number;
  /**
   * The most memory DuckDB may use, bytes (DuckDB's `memory_limit`; default DuckDB's own, 80 % of
   * the machine's RAM — the configured store always gives one: store/index.ts,
   * defaultDuckDBMemoryLimit). With 100 MiB (and V8's old space capped at 200 MB) `serve` at 100k flows/s
   * peaked at 450 MB RSS instead of 780–900 MB, storing 85k flows/s against 87–97k unbounded
   * (bench/RESULTS.md).
   */
  memoryLimit?: number;
  /**
   * DuckDB's memory limit for a store that is mostly written, bytes (unset, 0 or not below
   * `memoryLimit`: none). Everything runs under it; an operation that runs out of memory under it
   * (a read, a roll-up, retention) is done again under `memoryLimit`, which is set back
   * `writeLimitAfterMs` after the last such operation ends — dropping the blocks DuckDB cached
   * meanwhile. DuckDB keeps what it writes and reads cached up to its limit: at 300,000 flows/s
   * `serve` held ~700 MB with 512 MiB against ~265 MB with 64 MiB (bench/RESULTS.md, 2026-12-03).
   * The writing daemons (`serve`, `capture`) set it (`store.duckdb.write_memory_limit`).
   */
  writeMemoryLimit?: number;
  /** How long after the last operation that needed `memoryLimit` the limit goes back down to `writeMemoryLimit`, ms (default NARROW_AFTER_MS). */
  writeLimitAfterMs?: number;
  /** DuckDB worker threads for queries and roll-ups (default: DuckDB's, one per core). */
  threads?: number;
  /**
   * DuckDB threads while a batch is appended (default 1). An append is one sequential pipeline;
   * DuckDB's idle pool threads only spin (sched_yield) beside it and take CPU from the JavaScript
   * thread that converts the next batch: with 1, the collector store bench and the VPC ingest used
   * 5–13 % less CPU per flow at the same speed (within this machine's noise; bench/RESULTS.md,
   * 2026-12-01). The store switches (`SET threads`) only when the kind of operation changes.
   */
  appendThreads?: number;
  /**
   * WAL size that triggers a checkpoint (DuckDB's `checkpoint_threshold`; default '64MB' here,
   * DuckDB's own is 16MB). Fewer, larger checkpoints cost less per flow, but the data not yet
   * checkpointed is held in memory (with 256MB the collector benchmark peaked at 1 GB RSS); the WAL replayed after
   * a crash is at most this big.
   */
  checkpointThreshold?: string;
}

/**
 * DuckDB's row group (its default `row_group_size`, which this store never changes). A transaction
 * that appends whole row groups has them compressed and written to the file as they fill, and its
 * commit puts only their block pointers in the WAL; rows short of a row group are written into the
 * WAL and compressed again at the checkpoint. A million flows stored in transactions of 122,880 rows
 * cost DuckDB 3.3–3.5 CPU-µs per row against 4.7–6.3 in transactions of 32,768
 * (bench/duckdb-txn-size.mjs; bench/RESULTS.md).
 */
export const DUCKDB_ROW_GROUP = 122_880;

/** How long after the last operation that needed the full limit the store's limit goes back down to the write limit, ms. */
const NARROW_AFTER_MS = 2_000;

/** The finest rollup's rows per raw row below which the coarser rollups read the finest's rows (`rollUp`). */
const AGG_YIELD = 0.25;

class DuckDBStore implements FlowStore {
  readonly kind = 'duckdb';
  readonly appendUnit = DUCKDB_ROW_GROUP;
  /** The next batch is written into the other append connection's transaction while one commits. */
  readonly appendDepth = 2;
  private readonly specs: TableSpec[];
  private retainedFrom = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  /** raw's columns in its own order, or null when it has columns the schema does not know (then: staging). */
  private rawLayout: AppendLayout | null = null;
  private readonly stagingLayout: AppendLayout = layoutOf(FLOW_COLUMNS);
  /** The last batch whose raw rows are in every rollup, and the next batch number to give. */
  private rolledUpBatch = 0;
  /** Per rollup table, the last batch whose raw rows it holds (≥ rolledUpBatch). */
  private readonly rolledUpOf = new Map<string, number>();
  private nextBatch = 1;
  /** The last batch number whose commit has finished (the rollups take batches up to it). */
  private committedBatch = 0;
  /**
   * Appends to raw use two connections in turn: batch N+1 is written into one's transaction while
   * batch N's COMMIT runs on the other. Commits run one at a time, in batch order (`commits` is the
   * tail of their chain, never rejected); every other operation waits for it, so it sees every
   * append made before it. `lastCommitOf`: a connection's own last commit (its next BEGIN waits).
   */
  private appendConns: DuckDBConnection[] = [];
  private nextAppendConn = 0;
  private readonly lastCommitOf = new Map<DuckDBConnection, Promise<unknown>>();
  private commits: Promise<unknown> = Promise.resolve();
  /** Rows appended to raw since open (plus those found waiting at open), and how many of them are in the rollups. */
  private appendedRows = 0;
  private rolledRows = 0;
  /** The roll-up lane: a second connection and its own chain; `rolling` is a background roll-up in progress. */
  private rollConn: DuckDBConnection | null = null;
  /** Two more connections of the roll-up lane: a roll-up by table runs the three rollups at once. */
  private rollExtra: DuckDBConnection[] = [];
  private rollChain: Promise<unknown> = Promise.resolve();
  private rolling: Promise<void> | null = null;
  /**
   * The read lane: reads (queries, time range, facts, row counts) on a connection of their own, one
   * at a time, beside the appends instead of in line with them (a read of millions of rows held the
   * appends of a busy `serve` up for seconds: flows dropped). Each waits for the operations asked
   * for before it and their commits, so it sees every append made before it (`read`).
   */
  private readConn: DuckDBConnection | null = null;
  private readChain: Promise<unknown> = Promise.resolve();
  private readonly rollupFlushRows: number;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** DuckDB threads for queries and roll-ups, for appends, and the current setting. */
  private readonly threads: number;
  private readonly appendThreads: number;
  private currentThreads: number;
  /** Rollup flushes done, raw rows rolled up and the time it took (ms): for benches and tests. */
  readonly rollupStats = { flushes: 0, flushedRows: 0, flushMs: 0 };
  /**
   * The finest rollup's rows per raw row at the last roll-up (1 until one has run): below
   * AGG_YIELD, the coarser rollups are computed from the finest one's rows (`rollUp`).
   */
  private rollupYield = 1;
  /**
   * The memory limit (KiB): `fullLimitKiB` for operations that ran out of memory under
   * `writeLimitKiB` (0: no write limit), the one set now, how many operations need the full limit
   * now, and the connection that sets it (so a SET does not wait behind an append).
   */
  private readonly fullLimitKiB: number;
  private readonly writeLimitKiB: number;
  private readonly narrowAfterMs: number;
  private limitKiB: number;
  private needFull = 0;
  private limitConn: DuckDBConnection | null = null;
  private limitChain: Promise<void> = Promise.resolve();
  private narrowTimer: NodeJS.Timeout | null = null;
  /**
   * Times the limit was raised and lowered again, lowerings DuckDB refused (tried again later), and
   * operations done again under the full limit after running out of memory under the write limit:
   * for tests and benches.
   */
  readonly memoryLimitStats = { raised: 0, lowered: 0, lowerFailures: 0, retried: 0 };
  /** When the last append to raw began (ms): reads leave DuckDB's thread count to the appends for a second after it. */
  private lastAppendAt = 0;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    retention: RetentionConfig,
    opts: { rollupFlushRows?: number; rollupFlushMs?: number; threads: number; appendThreads?: number; memoryLimit?: number; writeMemoryLimit?: number; writeLimitAfterMs?: number },
  ) {
    this.specs = tableSpecs(retention);
    this.fullLimitKiB = opts.memoryLimit ? kib(opts.memoryLimit) : 0;
    this.writeLimitKiB = this.fullLimitKiB && opts.writeMemoryLimit && kib(opts.writeMemoryLimit) < this.fullLimitKiB ? kib(opts.writeMemoryLimit) : 0;
    this.limitKiB = this.fullLimitKiB;
    this.narrowAfterMs = Math.max(0, opts.writeLimitAfterMs ?? NARROW_AFTER_MS);
    this.threads = Math.max(1, opts.threads);
    this.currentThreads = this.threads;
    this.appendThreads = Math.max(1, opts.appendThreads ?? 1);
    this.rollupFlushRows = Math.max(1, opts.rollupFlushRows ?? 1_048_576);
    const every = opts.rollupFlushMs ?? 10_000;
    if (every > 0) {
      this.flushTimer = setInterval(() => {
        if (this.pendingRows > 0 && !this.closed) this.rollUpInBackground();
      }, every);
      this.flushTimer.unref?.();
    }
  }

  /** Rows of committed batches not yet in the rollups. */
  private get pendingRows(): number {
    return this.appendedRows - this.rolledRows;
  }

  /**
   * Serialise operations on the main connection. Operations other than appends (`append` false)
   * first wait for the commits in flight, and those that are not writes either (`write` false:
   * retention, close) are done again under the full memory limit when the write limit was too
   * little for them (`orWithFullMemory`).
   */
  private serial<T>(fn: () => Promise<T>, threads = this.threads, append = false, write = append): Promise<T> {
    const run = async (): Promise<T> => {
      const go = async (): Promise<T> => {
        if (!append) await this.commits;
        await this.useThreads(threads);
        return fn();
      };
      return write ? go() : this.orWithFullMemory(go);
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /**
   * Run `fn`; when it fails for want of memory under the write limit, run it again under the full
   * limit (`withFullMemory`). For operations that may run twice: reads, roll-ups and retention
   * (each in transactions of its own, or idempotent).
   */
  private async orWithFullMemory<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (!this.writeLimitKiB || this.closed || !isOutOfMemory(e)) throw e;
      this.memoryLimitStats.retried++;
      return this.withFullMemory(fn);
    }
  }

  /**
   * Run `fn` with DuckDB's full memory limit (when the store has a lower write limit): raised now
   * unless it is, lowered again `narrowAfterMs` after the last such operation ends.
   */
  private async withFullMemory<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.writeLimitKiB) return fn();
    this.needFull++;
    if (this.narrowTimer) clearTimeout(this.narrowTimer);
    this.narrowTimer = null;
    try {
      // Raising cannot fail for want of memory; should the SET fail otherwise, the operation still runs.
      await this.applyLimit().catch(() => undefined);
      return await fn();
    } finally {
      if (--this.needFull === 0) this.narrowLater(this.narrowAfterMs);
    }
  }

  /** Lower the limit to the write limit after `ms` unless an operation needs the full one by then; retried while DuckDB cannot free enough. */
  private narrowLater(ms: number): void {
    if (this.closed || this.narrowTimer || !this.writeLimitKiB) return;
    this.narrowTimer = setTimeout(() => {
      this.narrowTimer = null;
      if (this.needFull > 0 || this.closed) return;
      this.applyLimit().catch(() => {
        // "could not free up enough memory": pinned blocks (an open append, a roll-up) hold more than
        // the write limit now; try again later.
        this.memoryLimitStats.lowerFailures++;
        this.narrowLater(Math.max(this.narrowAfterMs, 100));
      });
    }, ms);
    this.narrowTimer.unref?.();
  }

  /** Set the limit the store needs now (full while operations need it, else the write limit), one SET at a time. */
  private applyLimit(): Promise<void> {
    const p = this.limitChain.then(async () => {
      const want = this.needFull > 0 ? this.fullLimitKiB : this.writeLimitKiB;
      if (want === this.limitKiB || !this.limitConn) return;
      await this.limitConn.run(`SET memory_limit = '${want}KiB'`);
      if (want > this.limitKiB) this.memoryLimitStats.raised++;
      else this.memoryLimitStats.lowered++;
      this.limitKiB = want;
    });
    this.limitChain = p.catch(() => undefined);
    return p;
  }

  /**
   * Run the read `fn` on the read lane, once the operations asked for before it (appends among them)
   * and their commits are done; under the write limit, and again under the full one if that was too
   * little. DuckDB's thread count is one setting for all connections: while appends arrive (one
   * began within the last second) a read runs with theirs, one thread — with DuckDB's per-core
   * threads, reads of millions of rows took the CPU from a `serve` at 300,000 flows/s, which dropped
   * 647,168 flows in 40 s against 24,576 (bench/RESULTS.md, 2026-12-03); otherwise it sets
   * the count for reads.
   */
  private read<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const before = this.chain;
    const run = async (): Promise<T> => {
      await before;
      await this.commits;
      const c = this.readConn ?? this.conn;
      if (this.currentThreads !== this.threads && !this.closed && Date.now() - this.lastAppendAt > 1000) {
        await c.run(`SET threads = ${this.threads}`);
        this.currentThreads = this.threads;
      }
      return this.orWithFullMemory(() => fn(c));
    };
    const p = this.readChain.then(run, run);
    this.readChain = p.catch(() => undefined);
    return p;
  }

  /** Set DuckDB's thread count to `n` unless it already is (call inside `serial`). */
  private async useThreads(n: number): Promise<void> {
    if (this.currentThreads === n || this.closed) return;
    await this.conn.run(`SET threads = ${n}`);
    this.currentThreads = n;
  }

  async init(): Promise<void> {
    const c = this.conn;
    await c.run(`CREATE TABLE IF NOT EXISTS v6scope_meta (key VARCHAR PRIMARY KEY, value VARCHAR)`);
    for (const t of this.specs) await this.ensureTable(t.name, this.columnsOf(t));
    for (const t of FACT_TABLES) await this.ensureTable(t.name, t.fields);
    // Staging tables hold one batch in the schema's column order (the appender is positional; a
    // table that gained columns by ALTER TABLE has them at its end), then INSERT … SELECT by name.
    await c.run(`DROP TABLE IF EXISTS ${STAGING}`);
    await c.run(`CREATE TABLE ${STAGING} (${FLOW_COLUMNS.map((x) => `${d.quote(x.name)} ${d.columnType(x.kind)}`).join(', ')})`);
    for (const t of FACT_TABLES) {
      await c.run(`DROP TABLE IF EXISTS ${d.quote(stagingOf(t.name))}`);
      await c.run(`CREATE TABLE ${d.quote(stagingOf(t.name))} (${t.fields.map((x) => `${d.quote(x.name)} ${d.columnType(x.kind)}`).join(', ')})`);
    }
    await c.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ('schema_version', $1)`, [SCHEMA_VERSION]);
    // raw: append straight into it when every column is one the schema declares (columns added by
    // ALTER TABLE sit at its end: the appender follows the table's order, not the schema's).
    const rawCols = await this.tableColumns(RAW_TABLE);
    const byName = new Map([...FLOW_COLUMNS, BATCH_COLUMN].map((x) => [x.name, x]));
    this.rawLayout = rawCols.every((n) => byName.has(n)) ? layoutOf(rawCols.map((n) => byName.get(n)!)) : null;
    // Batch numbers: the rollups hold raw's rows up to `rolled_up_batch`; a crash may have left later
    // batches in raw only — rolled up now, before anything reads.
    // Each rollup holds them up to the larger of `rolled_up_batch` and its own `rolled_up_batch:NAME`
    // (a roll-up by table, `rollUpByTable`, may have been cut short after some tables).
    const marks = await c.runAndReadAll(`SELECT key, value FROM v6scope_meta WHERE key = $1 OR key LIKE $2`, [ROLLED_UP_KEY, `${ROLLED_UP_KEY}:%`]);
    const markOf = new Map(marks.getRowsJS().map(([k, v]) => [String(k), Number(v)]));
    const all = markOf.get(ROLLED_UP_KEY) ?? 0;
    for (const t of this.rollupSpecs()) this.rolledUpOf.set(t.name, Math.max(all, markOf.get(`${ROLLED_UP_KEY}:${t.name}`) ?? 0));
    this.rolledUpBatch = this.rolledUpOf.size > 0 ? Math.min(...this.rolledUpOf.values()) : all;
    const top = await c.runAndReadAll(`SELECT max(v6scope_batch), count(*) FILTER (WHERE v6scope_batch > $1) FROM raw`, [BigInt(this.rolledUpBatch)]);
    const [maxBatch, waiting] = (top.getRowsJS()[0] ?? []).map((v) => Number(v ?? 0));
    this.nextBatch = Math.max(this.rolledUpBatch, maxBatch ?? 0) + 1;
    this.committedBatch = this.nextBatch - 1;
    this.appendedRows = waiting ?? 0;
    // A file from a version that kept not-yet-rolled-up rows in a pending table: roll them up, drop it.
    if ((await this.tableColumns(OLD_PENDING)).length > 0) await this.rollUp(c, `SELECT * FROM ${OLD_PENDING}`, () => c.run(`DROP TABLE ${OLD_PENDING}`));
    this.rollConn = await this.instance.connect();
    this.rollExtra = [await this.instance.connect(), await this.instance.connect()];
    this.appendConns = [c, await this.instance.connect()];
    this.readConn = await this.instance.connect();
    await this.flushRollups();
    const meta = await c.runAndReadAll(`SELECT key, value FROM v6scope_meta WHERE key LIKE 'retained_from:%'`);
    for (const [k, v] of meta.getRowsJS()) this.retainedFrom.set(String(k).slice('retained_from:'.length), Number(v));
    // Opened under the full limit (the roll-up of what a crash left runs under it); from now on the
    // write limit.
    if (this.writeLimitKiB) {
      this.limitConn = await this.instance.connect();
      await this.applyLimit();
    }
  }

  private async tableColumns(name: string): Promise<string[]> {
    const r = await this.conn.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [name]);
    return r.getRowsJS().map((x) => String(x[0]));
  }

  /** CREATE the table if missing, and ADD the columns a newer schema declares (schema evolution). */
  private async ensureTable(name: string, cols: readonly { name: string; kind: FieldDef['kind'] }[]): Promise<void> {
    const c = this.conn;
    await c.run(`CREATE TABLE IF NOT EXISTS ${d.quote(name)} (${cols.map((x) => `${d.quote(x.name)} ${d.columnType(x.kind)}`).join(', ')})`);
    const existing = await c.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [name]);
    const have = new Set(existing.getRowsJS().map((r) => String(r[0])));
    for (const x of cols) {
      if (!have.has(x.name)) await c.run(`ALTER TABLE ${d.quote(name)} ADD COLUMN ${d.quote(x.name)} ${d.columnType(x.kind)} DEFAULT ${x.kind === 'string' ? "''" : '0'}`);
    }
  }

  readonly facts: FactStore = {
    append: (table, rows) => this.appendFacts(table, rows),
    read: (table, range) => this.readFacts(table, range),
  };

  private appendFacts(table: FactTable, rows: readonly FactRow[]): Promise<void> {
    const spec = FACT_COLUMNS.get(table.name);
    if (!spec) return Promise.reject(new Error(`unknown fact table ${table.name}`));
    if (rows.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const staging = d.quote(stagingOf(table.name));
      const cols = spec.columns.map((x) => d.quote(x.name)).join(', ');
      try {
        const app = await this.conn.createAppender(stagingOf(table.name));
        try {
          writerOf(spec).append(app, rows);
          app.flushSync();
        } finally {
          app.closeSync();
        }
        await this.conn.run(`INSERT INTO ${d.quote(table.name)} (${cols}) SELECT ${cols} FROM ${staging}`);
      } finally {
        await this.conn.run(`DELETE FROM ${staging}`);
      }
      // a write: under the write limit, like the flows' appends
    }, this.threads, false, true);
  }

  private readFacts(table: FactTable, range: { since?: number; until?: number } = {}): Promise<FactRow[]> {
    if (!FACT_COLUMNS.has(table.name)) return Promise.reject(new Error(`unknown fact table ${table.name}`));
    return this.read(async (c) => {
      const ctx = d.newContext();
      const t = d.quote(table.timeField);
      const where: string[] = [];
      if (range.since !== undefined) where.push(`${t} >= ${ctx.bind(range.since, 'time')}`);
      if (range.until !== undefined) where.push(`${t} < ${ctx.bind(range.until, 'time')}`);
      const cols = table.fields.map((f) => d.quote(f.name)).join(', ');
      // Ordered by every column (time first): the same order on every store, also among rows of the same time.
      const sql = `SELECT ${cols} FROM ${d.quote(table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cols}`;
      const ps = await c.prepare(sql);
      ctx.params.forEach((p, i) => ps.bindBigInt(i + 1, BigInt(p.value as number)));
      const rows = (await ps.runAndReadAll()).getRows();
      return rows.map((r) => {
        const o: FactRow = {};
        table.fields.forEach((f, i) => (o[f.name] = d.decode(r[i], f.kind)));
        return o;
      });
    });
  }

  private columnsOf(t: TableSpec): { name: string; kind: FieldDef['kind'] }[] {
    if (t.resolutionMs === 0) return [...FIELDS.map((f) => ({ name: f.name, kind: f.kind })), BATCH_COLUMN];
    const dims = new Set(t.dimensions);
    return FIELDS.filter((f) => f.role !== 'dimension' || dims.has(f.name)).map((f) => ({ name: f.name, kind: f.kind }));
  }

  append(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.appendBatch({ rows: batch as unknown as readonly Record<string, unknown>[] });
  }

  /**
   * Append rows of columnar batches (the collector threads' form, enriched in place) as one batch,
   * without making records; same transaction, batch number and roll-up rules as `append`.
   */
  appendColumnar(ranges: readonly ColumnarRange[], onWritten?: () => void, after?: Promise<unknown>): Promise<void> {
    if (ranges.every((r) => r.to <= r.from)) return after ? after.then(() => undefined, (e: unknown) => Promise.reject(notCommitted(e))) : Promise.resolve();
    return this.appendBatch({ ranges }, onWritten, after);
  }

  /**
   * `onWritten`: called once the rows are in DuckDB's transaction (before the COMMIT). `after`: an
   * earlier append this one's COMMIT depends on (FlowStore.appendColumnar).
   */
  private appendBatch(src: BatchSource, onWritten?: () => void, after?: Promise<unknown>): Promise<void> {
    const written = (): void => {
      try {
        onWritten?.();
      } catch {
        // the caller's bookkeeping: never the store's failure
      }
    };
    // The rows are written in the serial lane; the COMMIT runs after it (in order with the other
    // commits), so the next append can fill the other connection's transaction meanwhile.
    this.lastAppendAt = Date.now();
    const filled = this.serial(
      async (): Promise<{ done: Promise<void> }> => {
        // When raw gets twice the threshold ahead of the rollups, appends wait for the running
        // roll-up (so the rollups never fall far behind).
        if (this.rolling && this.pendingRows >= 2 * this.rollupFlushRows) await this.rolling;
        const id = this.nextBatch++;
        const rows = sizeOf(src);
        if (!this.rawLayout) {
          // raw with columns the schema does not know: through the staging table, one at a time
          await this.commits;
          if (after) await after.catch((e: unknown) => Promise.reject(notCommitted(e)));
          await this.appendStaged(src, id);
          written();
          this.committed(id, rows);
          return { done: Promise.resolve() };
        }
        const conn = this.appendConns[this.nextAppendConn++ % this.appendConns.length]!;
        await this.lastCommitOf.get(conn);
        await conn.run('BEGIN TRANSACTION');
        try {
          await this.appendTo(conn, RAW_TABLE, this.rawLayout, src, { [BATCH_COLUMN.name]: id });
        } catch (e) {
          await conn.run('ROLLBACK').catch(() => undefined);
          throw e;
        }
        written();
        const previous = this.commits;
        const done = (async (): Promise<void> => {
          await previous;
          try {
            // The earlier append's COMMIT came before this one's (commits run in batch order).
            if (after) await after.catch((e: unknown) => Promise.reject(notCommitted(e)));
            await conn.run('COMMIT');
          } catch (e) {
            await conn.run('ROLLBACK').catch(() => undefined);
            throw e;
          }
          this.committed(id, rows);
        })();
        const settled = done.catch(() => undefined);
        this.commits = settled;
        this.lastCommitOf.set(conn, settled);
        return { done };
      },
      this.appendThreads,
      true,
    );
    return filled.then((f) => f.done);
  }

  /** Batch `id` (`rows` rows) is committed: the rollups may take it; roll up once enough wait. */
  private committed(id: number, rows: number): void {
    this.committedBatch = id;
    this.appendedRows += rows;
    if (this.pendingRows >= this.rollupFlushRows) this.rollUpInBackground();
  }

  /** Batch `id` into raw through the staging table (raw has columns the schema does not know), one transaction. */
  private async appendStaged(src: BatchSource, id: number): Promise<void> {
    await this.stage(src);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run(`INSERT INTO raw (${FLOW_COLUMN_LIST}, ${d.quote(BATCH_COLUMN.name)}) SELECT ${FLOW_COLUMN_LIST}, $1::UBIGINT FROM ${STAGING}`, [BigInt(id)]);
      await this.conn.run(`DELETE FROM ${STAGING}`);
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Appender on `table` (inside the caller's transaction, if any). The rows go in slices of
   * APPEND_SLICE, each flushed, with a turn of the event loop between slices: the appender's work is
   * synchronous, and a collector on the same thread must get to its socket between slices.
   */
  private async appendTo(conn: DuckDBConnection, table: string, layout: AppendLayout, src: BatchSource, constants: Record<string, number> = {}): Promise<void> {
    const app = await conn.createAppender(table);
    try {
      const w = writerOf(layout);
      let first = true;
      const slice = async (): Promise<void> => {
        if (!first) await new Promise<void>((r) => setImmediate(r));
        first = false;
      };
      if (src.ranges) {
        const source = (layout.fieldIndex ??= Int32Array.from(layout.columns, (c) => (c.constant ? -1 : FIELD_INDEX.get(c.name) ?? -1)));
        for (const r of src.ranges) {
          for (let from = r.from; from < r.to; from += APPEND_SLICE) {
            await slice();
            w.appendColumnar(app, r.batch, from, Math.min(r.to, from + APPEND_SLICE), constants, source);
            app.flushSync();
          }
        }
      } else {
        const rows = src.rows!;
        for (let from = 0; from < rows.length; from += APPEND_SLICE) {
          await slice();
          w.append(app, rows, from, Math.min(rows.length, from + APPEND_SLICE), constants);
          app.flushSync();
        }
      }
    } finally {
      app.closeSync();
    }
  }

  /** Raw tables with columns unknown to the schema: the batch goes through the staging table, by name. */
  private async stage(src: BatchSource): Promise<void> {
    try {
      await this.appendTo(this.conn, STAGING, this.stagingLayout, src);
    } catch (e) {
      await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
      throw e;
    }
  }

  /** Run `fn` on the roll-up lane (the second connection, one operation at a time). */
  private onRollLane<T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = (): Promise<T> => fn(this.rollConn ?? this.conn);
    const p = this.rollChain.then(run, run);
    this.rollChain = p.catch(() => undefined);
    return p;
  }

  /** Roll every committed batch up (on the roll-up lane); resolves once the rollups hold them. */
  private flushRollups(): Promise<void> {
    return this.onRollLane((c) => this.rollUpCommitted(c));
  }

  /** Start a roll-up beside the appends unless one is running (size or timer); failures are reported, the rows stay pending. */
  private rollUpInBackground(): void {
    if (this.rolling || this.closed) return;
    // Under the write limit a roll-up of rows that barely collapse may not fit: once more under the full one.
    const p: Promise<void> = this.orWithFullMemory(() => this.flushRollups())
      .catch((e: unknown) => {
        process.stderr.write(`v6scope: rollup flush failed: ${(e as Error).message}\n`);
      })
      .finally(() => {
        if (this.rolling === p) this.rolling = null;
      });
    this.rolling = p;
  }

  /** The rollup tables, finest first. */
  private rollupSpecs(): TableSpec[] {
    return this.specs.filter((t) => t.resolutionMs > 0).sort((a, b) => a.resolutionMs - b.resolutionMs);
  }

  /** INSERT into rollup `t` of `from`'s rows (time_received, t's dimensions, the metrics) summed by t's bucket and dimensions. */
  private rollupInsert(t: TableSpec, from: string): string {
    const dims = t.dimensions.map((x) => d.quote(x)).join(', ');
    const cols = ['time_received', ...t.dimensions, ...METRICS].map((x) => d.quote(x)).join(', ');
    const bucket = d.timeBucket(d.quote('time_received'), t.resolutionMs);
    const sums = METRICS.map((m) => `SUM(${d.quote(m)})`).join(', ');
    return `INSERT INTO ${d.quote(t.name)} (${cols}) SELECT ${bucket}, ${dims}, ${sums} FROM ${from} GROUP BY ${bucket}, ${dims}`;
  }

  /**
   * Roll raw's rows of the committed batches after the last one rolled up into every rollup and
   * record the last batch (call on the roll-up lane): in one transaction, or — at close, when the
   * rows barely collapse, and after a roll-up by table was cut short — by table (`rollUpByTable`).
   */
  private async rollUpCommitted(c: DuckDBConnection): Promise<void> {
    // The batch number and the row count advance together when an append commits.
    const top = this.committedBatch;
    const rows = this.appendedRows;
    if (top <= this.rolledUpBatch) return;
    const t0 = Date.now();
    const from = this.rolledUpBatch;
    const rollups = this.rollupSpecs();
    const marks = rollups.map((t) => this.rolledUpOf.get(t.name) ?? from);
    const even = marks.every((m) => m === from);
    if (!even || (this.closed && this.rollupYield >= AGG_YIELD)) {
      await this.rollUpByTable(c, rollups, marks, top, even ? rows - this.rolledRows : 0);
    } else {
      await this.rollUp(
        c,
        `SELECT * FROM raw WHERE v6scope_batch > ${from} AND v6scope_batch <= ${top}`,
        () => c.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ($1, $2)`, [ROLLED_UP_KEY, String(top)]).then(() => undefined),
        rows - this.rolledRows,
      );
      for (const t of rollups) this.rolledUpOf.set(t.name, top);
    }
    this.rolledUpBatch = top;
    this.rollupStats.flushes++;
    this.rollupStats.flushedRows += rows - this.rolledRows;
    this.rollupStats.flushMs += Date.now() - t0;
    this.rolledRows = rows;
  }

  /**
   * Each rollup from raw in a transaction of its own — its rows of the batches after its own mark up
   * to `top`, and its mark `rolled_up_batch:NAME` — the rollups at once, on the roll-up lane's
   * connections; then `rolled_up_batch` once every one holds them. On 2 cores a second DuckDB thread
   * made one rollup's aggregation no faster (only more CPU), while three at once use both cores (the
   * close after 1 M VPC lines: 2.0-2.2 s instead of 2.8-3.7 s). A failure leaves each rollup at its
   * own mark, from which the next roll-up goes on.
   */
  private async rollUpByTable(c: DuckDBConnection, rollups: readonly TableSpec[], marks: readonly number[], top: number, sourceRows: number): Promise<void> {
    const conns = [c, ...this.rollExtra];
    const one = async (cc: DuckDBConnection, t: TableSpec, from: number): Promise<void> => {
      if (from >= top) return;
      await cc.run('BEGIN TRANSACTION');
      try {
        const r = await cc.run(this.rollupInsert(t, `raw WHERE v6scope_batch > ${from} AND v6scope_batch <= ${top}`));
        await cc.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ($1, $2)`, [`${ROLLED_UP_KEY}:${t.name}`, String(top)]);
        await cc.run('COMMIT');
        if (t === rollups[0] && sourceRows > 0) this.rollupYield = r.rowsChanged / sourceRows;
      } catch (e) {
        await cc.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      this.rolledUpOf.set(t.name, top);
    };
    // one lane per connection (a connection runs one statement at a time)
    const settled = await Promise.allSettled(
      conns.map(async (cc, j) => {
        for (let k = j; k < rollups.length; k += conns.length) await one(cc, rollups[k]!, marks[k]!);
      }),
    );
    const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    await c.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ($1, $2)`, [ROLLED_UP_KEY, String(top)]);
  }

  /**
   * Aggregate the flows `source` (a SELECT with time_received, the rollup dimensions and the metrics;
   * `sourceRows` of them when known) into every rollup, and run `andThen`, in one transaction.
   *
   * When the last roll-up's 1 min rows were fewer than AGG_YIELD of its raw rows (collector flows:
   * 1.2 M raw rows made 20 k), the 1 min buckets are computed once into a temporary table and the
   * coarser rollups aggregate its far fewer rows. Otherwise (VPC Flow Logs: 1 M raw rows made
   * 549 k) every rollup aggregates the source itself: DuckDB scans its compressed columns faster
   * than it fills and reads back a temporary table of nearly as many rows — the roll-up of 1 M VPC
   * lines took 2.1 s instead of 2.9 s, that of 1.2 M collector flows 0.31 s with the table against
   * 0.42 s without (bench/RESULTS.md).
   */
  private async rollUp(c: DuckDBConnection, source: string, andThen: () => Promise<unknown>, sourceRows = 0): Promise<void> {
    const rollups = this.rollupSpecs();
    const sums = METRICS.map((m) => `SUM(${d.quote(m)}) AS ${d.quote(m)}`).join(', ');
    await c.run('BEGIN TRANSACTION');
    try {
      const finest = rollups[0];
      let from = `(${source}) AS v6scope_source`;
      let aggregated = false;
      let finestRows = -1;
      if (finest && rollups.length > 1 && this.rollupYield < AGG_YIELD && rollups.every((t) => t.resolutionMs % finest.resolutionMs === 0 && sameDims(t, finest))) {
        // One GROUP BY over the source rows; coarser rollups aggregate its (far fewer) rows.
        const bucket = d.timeBucket(d.quote('time_received'), finest.resolutionMs);
        await c.run(`DROP TABLE IF EXISTS v6scope_rollup_agg`);
        await c.run(`CREATE TEMP TABLE v6scope_rollup_agg AS SELECT ${bucket} AS time_received, ${finest.dimensions.map((x) => d.quote(x)).join(', ')}, ${sums} FROM ${from} GROUP BY ALL`);
        from = 'v6scope_rollup_agg';
        aggregated = true;
      }
      for (const t of rollups) {
        const cols = ['time_received', ...t.dimensions, ...METRICS].map((x) => d.quote(x)).join(', ');
        const r = await c.run(aggregated && t === finest ? `INSERT INTO ${d.quote(t.name)} (${cols}) SELECT ${cols} FROM ${from}` : this.rollupInsert(t, from));
        if (t === finest) finestRows = r.rowsChanged;
      }
      if (aggregated) await c.run(`DROP TABLE ${from}`);
      await andThen();
      await c.run('COMMIT');
      if (sourceRows > 0 && finestRows >= 0) this.rollupYield = finestRows / sourceRows;
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** Roll the flows not yet in the rollups up now (tests, benches; reads do it themselves when they need it). */
  flushPending(): Promise<void> {
    return this.serial(() => this.flushRollups());
  }

  async query(q: Query): Promise<QueryResult> {
    const table = planTable(q, this.specs, this.retainedFrom);
    const c = compileQuery(q, table, d);
    return this.read(async (conn) => {
      // A rollup answers only once it holds every acknowledged flow; raw always does.
      if (table.resolutionMs > 0) await this.flushRollups();
      return { rows: await this.run(conn, c), table: table.name, sql: c.sql };
    });
  }

  private async run(conn: DuckDBConnection, c: CompiledQuery): Promise<Row[]> {
    const ps = await conn.prepare(c.sql);
    c.params.forEach((p, i) => {
      const idx = i + 1;
      const v = p.value;
      if (p.kind === 'addr' && v instanceof Uint8Array) ps.bindUHugeInt(idx, addrToBigInt(v));
      else if (p.kind === 'string' && typeof v === 'string') ps.bindVarchar(idx, v);
      else if (typeof v === 'number') ps.bindBigInt(idx, BigInt(v));
      else throw new Error(`parameter ${idx}: value does not match kind ${p.kind}`);
    });
    const reader = await ps.runAndReadAll();
    return decodeRows(c, d, reader.getRows());
  }

  /**
   * Earliest and latest time_received held: from raw, widened to the 1 h rollup's first bucket when
   * retention has pruned raw rows that the rollup still summarises.
   */
  timeRange(): Promise<{ min: number; max: number } | null> {
    return this.read(async (conn) => {
      const r = await conn.runAndReadAll(
        `SELECT (SELECT min(time_received) FROM raw), (SELECT max(time_received) FROM raw), (SELECT min(time_received) FROM rollup_1h), (SELECT max(time_received) FROM rollup_1h)`,
      );
      const [rawMin, rawMax, hMin, hMax] = (r.getRowsJS()[0] ?? []).map((v) => (v === null || v === undefined ? null : Number(v)));
      const HOUR = 3_600_000;
      if (rawMin == null || rawMax == null) return hMin == null || hMax == null ? null : { min: hMin, max: hMax };
      const min = hMin != null && hMin < Math.floor(rawMin / HOUR) * HOUR ? hMin : rawMin;
      return { min, max: rawMax };
    });
  }

  applyRetention(now: number): Promise<void> {
    // No append runs meanwhile (main lane), and the deletes from the rollups follow the roll-up on its lane.
    return this.serial(() =>
      this.onRollLane(async (c) => {
        await this.rollUpCommitted(c);
        for (const t of this.specs) {
          const cutoff = now - t.retentionMs;
          const from = t.resolutionMs ? Math.ceil(cutoff / t.resolutionMs) * t.resolutionMs : cutoff;
          await c.run(`DELETE FROM ${d.quote(t.name)} WHERE time_received < $1`, [BigInt(from)]);
          const prev = this.retainedFrom.get(t.name);
          if (prev === undefined || from > prev) {
            this.retainedFrom.set(t.name, from);
            await c.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ($1, $2)`, [`retained_from:${t.name}`, String(from)]);
          }
        }
        // Facts explain raw flows: they are kept as long as the raw table.
        const raw = this.specs.find((t) => t.resolutionMs === 0)!;
        for (const f of FACT_TABLES) await c.run(`DELETE FROM ${d.quote(f.name)} WHERE ${d.quote(f.timeField)} < $1`, [BigInt(now - raw.retentionMs)]);
      }),
    );
  }

  tables(): readonly TableSpec[] {
    return this.specs;
  }

  rowCounts(): Promise<{ table: string; rows: number }[]> {
    return this.read(async (conn) => {
      await this.flushRollups();
      const out: { table: string; rows: number }[] = [];
      for (const name of [...this.specs.map((t) => t.name), ...FACT_TABLES.map((t) => t.name)]) {
        const r = await conn.runAndReadAll(`SELECT count(*) FROM ${d.quote(name)}`);
        out.push({ table: name, rows: Number(r.getRowsJS()[0]?.[0] ?? 0) });
      }
      return out;
    });
  }

  close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.narrowTimer) clearTimeout(this.narrowTimer);
    this.narrowTimer = null;
    this.closed = true;
    // the reads asked for before close (a read asked for later waits for close, then fails)
    const reads = this.readChain;
    return this.serial(async () => {
      // Not required for correctness (pending rows are rolled up at the next open), but leaves a tidy file.
      await this.flushRollups().catch(() => undefined);
      await reads;
      await this.limitChain;
      this.readConn?.closeSync();
      this.limitConn?.closeSync();
      this.rollConn?.closeSync();
      for (const x of this.rollExtra) x.closeSync();
      for (const a of this.appendConns) if (a !== this.conn) a.closeSync();
      this.conn.closeSync();
      this.instance.closeSync();
    });
  }
}

/** The error of an append rolled back because the append it depended on (`after`) failed. */
function notCommitted(e: unknown): Error {
  return new Error(`not committed: an earlier append it depends on failed (${e instanceof Error ? e.message : String(e)})`);
}

/** A batch to append: records, or row ranges of columnar batches. */
interface BatchSource {
  rows?: readonly Record<string, unknown>[];
  ranges?: readonly ColumnarRange[];
}

function sizeOf(src: BatchSource): number {
  if (src.rows) return src.rows.length;
  let n = 0;
  for (const r of src.ranges!) n += Math.max(0, r.to - r.from);
  return n;
}

function layoutOf(columns: ChunkColumn[]): AppendLayout {
  return { columns, types: columns.map((c) => DUCK_TYPE[c.kind]) };
}

/** DuckDB's error when an operation cannot get the memory it needs under the limit ("Out of Memory Error: failed to pin block …"). */
function isOutOfMemory(e: unknown): boolean {
  return /out of memory/i.test(e instanceof Error ? e.message : String(e));
}

/** Bytes → whole KiB (at least 1), as DuckDB's memory_limit takes them. */
function kib(bytes: number): number {
  return Math.max(1, Math.floor(bytes / 1024));
}

function sameDims(a: TableSpec, b: TableSpec): boolean {
  return a.dimensions.length === b.dimensions.length && a.dimensions.every((x, i) => x === b.dimensions[i]);
}

export async function openDuckDBStore(opts: DuckDBStoreOptions): Promise<FlowStore> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Every read orders explicitly; without this DuckDB may parallelise inserts and GROUP BYs freely.
    preserve_insertion_order: 'false',
    checkpoint_threshold: opts.checkpointThreshold ?? '64MB',
  };
  if (opts.threads) config.threads = String(opts.threads);
  if (opts.memoryLimit) config.memory_limit = `${kib(opts.memoryLimit)}KiB`;
  // DuckDB returns its allocator's thread caches to the system after a task whose allocations peaked
  // above this (its default, 128 MiB, is more than a small limit ever reaches), and a background
  // thread purges freed pages: 11-17 MB less resident for `serve` at 300,000 flows/s under 64 MiB
  // (bench/RESULTS.md, 2026-12-03).
  config.allocator_flush_threshold = '4MiB';
  config.allocator_background_threads = 'true';
  const instance = await DuckDBInstance.create(opts.path, config);
  const conn = await instance.connect();
  const threads = Number((await conn.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0]?.[0] ?? 1);
  const store = new DuckDBStore(instance, conn, opts.retention ?? DEFAULT_RETENTION, { ...opts, threads });
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
