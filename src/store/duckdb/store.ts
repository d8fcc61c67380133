/**
 * The embedded DuckDB store: one file, a raw table plus 1 min / 5 min / 1 h rollups, all derived
 * from the schema.
 *
 * Appends write whole columns into DuckDB data chunks (chunk-append.ts). One transaction per batch
 * appends the flows to `raw` (directly, in the table's own column order) and their rollup columns
 * (time, rollup dimensions, metrics), summed per 1 min bucket and dimensions in JavaScript
 * (rollup-agg.ts), to `v6scope_rollup_pending`. The rollups are maintained from
 * that pending table less often than per batch — when it holds `rollupFlushRows` rows, every
 * `rollupFlushMs`, and always before anything reads a rollup (a query the planner answers from a
 * rollup, retention, row counts, close): one transaction aggregates it into each rollup and empties
 * it. So a query never sees a rollup that lacks acknowledged flows, and a crash loses nothing: the
 * pending rows are durable with their raw rows and are rolled up when the file is opened again.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BIGINT, DuckDBInstance, UBIGINT, UHUGEINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { appendRows, type ChunkColumn } from './chunk-append.js';
import { csvBuffer, csvLayout, type CsvBuffer, type CsvLayout } from './csv-append.js';
import { rollupAggregator, type RollupAggregator } from './rollup-agg.js';
import { FACT_TABLES, type FactRow, type FactTable } from '../../schema/facts.js';
import { FIELDS, METRICS, type FieldDef, type FlowRecord } from '../../schema/fields.js';
import { addrToBigInt } from '../../net/ip.js';
import { compileQuery, decodeRows, type CompiledQuery } from '../compile.js';
import { duckdbDialect as d } from '../dialect.js';
import { planTable, RAW_TABLE, tableSpecs } from '../planner.js';
import type { Query, QueryResult, Row } from '../query.js';
import { DEFAULT_RETENTION, type FactStore, type FlowStore, type RetentionConfig, type TableSpec } from '../store.js';

const SCHEMA_VERSION = '1';
const STAGING = 'v6scope_staging';
/** Rollup columns of flows appended to raw but not yet aggregated into the rollups. */
const PENDING = 'v6scope_rollup_pending';
/** Rows appended between two turns of the event loop (4 DuckDB vectors). */
const APPEND_SLICE = 8192;

/** The DuckDB type of each schema kind, for the columnar appender (matches duckdbDialect.columnType). */
const DUCK_TYPE: Record<FieldDef['kind'], DuckDBType> = { time: BIGINT, addr: UHUGEINT, mac: UBIGINT, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT, string: VARCHAR };
const FLOW_COLUMNS: ChunkColumn[] = FIELDS.map((f) => ({ name: f.name, kind: f.kind }));
const FLOW_TYPES = FLOW_COLUMNS.map((c) => DUCK_TYPE[c.kind]);
const FLOW_COLUMN_LIST = FLOW_COLUMNS.map((c) => `"${c.name}"`).join(', ');
const stagingOf = (table: string): string => `v6scope_staging_${table}`;
/** The pending table's columns: what the rollups keep (time, rollup dimensions, metrics), schema order. */
const PENDING_COLUMNS: ChunkColumn[] = FIELDS.filter((f) => f.role !== 'dimension' || f.rollup).map((f) => ({ name: f.name, kind: f.kind }));
const FACT_COLUMNS = new Map(FACT_TABLES.map((t) => [t.name, { columns: t.fields.map((f) => ({ name: f.name, kind: f.kind })), types: t.fields.map((f) => DUCK_TYPE[f.kind]) }]));

/** An appender's column list in a table's own column order (the appender is positional). */
interface AppendLayout {
  columns: ChunkColumn[];
  types: DuckDBType[];
}

export interface DuckDBStoreOptions {
  path: string;
  retention?: RetentionConfig;
  /** Roll the pending rows up once this many are waiting (default 1,048,576; rows are pre-aggregated per batch). */
  rollupFlushRows?: number;
  /** ... and at least this often, ms (default 10,000; 0: only by size and before reads). */
  rollupFlushMs?: number;
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  /**
   * WAL size that triggers a checkpoint (DuckDB's `checkpoint_threshold`; default '64MB' here,
   * DuckDB's own is 16MB). Fewer, larger checkpoints cost less per flow, but the data not yet
   * checkpointed is held in memory (with 256MB the collector benchmark peaked at 1 GB RSS); the WAL replayed after
   * a crash is at most this big.
   */
  checkpointThreshold?: string;
  /**
   * How batches reach DuckDB. 'appender' (default): columnar data chunks through DuckDB's appender,
   * converted on the calling (JavaScript) thread (chunk-append.ts). 'csv': each batch is written as
   * CSV bytes to a temporary file (in /dev/shm when it is writable, else next to the database file)
   * and loaded by DuckDB's own parallel CSV reader, raw rows and pending rollup rows in one
   * transaction (csv-append.ts): about half the JavaScript thread's CPU per flow, but as much or
   * more CPU in total and no more rows/s on 2 cores (bench/RESULTS.md, 2026-12-01) — for a process
   * whose JavaScript thread is the limit. Both store the same values; the CSV path falls back to the
   * appender for a batch it does not take as is (see csv-append.ts) or that DuckDB's reader rejects.
   */
  appendPath?: 'csv' | 'appender';
}

/** Where the CSV path's temporary files go: /dev/shm when writable, else the database's directory. */
function csvTempDir(dbPath: string): string {
  try {
    accessSync('/dev/shm', fsConstants.W_OK);
    return '/dev/shm';
  } catch {
    return dbPath && dbPath !== ':memory:' ? path.dirname(path.resolve(dbPath)) : os.tmpdir();
  }
}

class DuckDBStore implements FlowStore {
  readonly kind = 'duckdb';
  private readonly specs: TableSpec[];
  private retainedFrom = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();
  /** raw's columns in its own order, or null when it has columns the schema does not know (then: staging). */
  private rawLayout: AppendLayout | null = null;
  private pendingLayout: AppendLayout = { columns: PENDING_COLUMNS, types: PENDING_COLUMNS.map((c) => DUCK_TYPE[c.kind]) };
  /** Rows in the pending table (flows appended to raw, pre-aggregated, not yet in the rollups). */
  private pendingRows = 0;
  /** Batch → its rollup contributions summed per finest bucket and rollup dimensions (null: one row per flow). */
  private aggregate: RollupAggregator | null = null;
  private readonly rollupFlushRows: number;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Rollup flushes done, pending rows rolled up and the time it took (ms): for benches and tests. */
  readonly rollupStats = { flushes: 0, flushedRows: 0, flushMs: 0 };
  /** Temporary CSV file prefix of the CSV append path, or null: the appender path. */
  private readonly csvBase: string | null;
  /** The CSV path's output buffer (reused by every append; grows to the largest slice). */
  private csvOut: CsvBuffer | null = null;
  /** Batches loaded through the CSV reader / through the appender (fallbacks included): for tests and benches. */
  readonly appendStats = { csvBatches: 0, appenderBatches: 0 };

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    retention: RetentionConfig,
    opts: { rollupFlushRows?: number; rollupFlushMs?: number; appendPath?: 'csv' | 'appender'; path?: string } = {},
  ) {
    this.specs = tableSpecs(retention);
    // One name per store (appends are serialised on it); the files exist only during an append.
    this.csvBase = opts.appendPath !== 'csv' ? null : path.join(csvTempDir(opts.path ?? ''), `v6scope-append-${process.pid}-${randomBytes(6).toString('hex')}`);
    this.rollupFlushRows = Math.max(1, opts.rollupFlushRows ?? 1_048_576);
    const every = opts.rollupFlushMs ?? 10_000;
    if (every > 0) {
      this.flushTimer = setInterval(() => {
        if (this.pendingRows > 0 && !this.closed) this.serial(() => this.flushRollups()).catch((e: unknown) => process.stderr.write(`v6scope: rollup flush failed: ${(e as Error).message}\n`));
      }, every);
      this.flushTimer.unref?.();
    }
  }

  /** Serialise operations on the single connection. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
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
    const byName = new Map(FLOW_COLUMNS.map((x) => [x.name, x]));
    this.rawLayout = rawCols.every((n) => byName.has(n)) ? layoutOf(rawCols.map((n) => byName.get(n)!)) : null;
    // The pending rollup rows survive restarts: rolled up now (a crash left them), before anything reads.
    await this.ensureTable(PENDING, PENDING_COLUMNS);
    const pendCols = await this.tableColumns(PENDING);
    const pendByName = new Map(PENDING_COLUMNS.map((x) => [x.name, x]));
    if (pendCols.every((n) => pendByName.has(n))) this.pendingLayout = layoutOf(pendCols.map((n) => pendByName.get(n)!));
    this.aggregate = this.makeAggregator();
    const n = await c.runAndReadAll(`SELECT count(*) FROM ${PENDING}`);
    this.pendingRows = Number(n.getRowsJS()[0]?.[0] ?? 0);
    if (this.pendingRows > 0) await this.flushRollups();
    if (!pendCols.every((n) => pendByName.has(n))) {
      // A column the schema no longer declares: the table is empty now, recreate it in schema order.
      await c.run(`DROP TABLE ${PENDING}`);
      await this.ensureTable(PENDING, PENDING_COLUMNS);
      this.pendingLayout = layoutOf(PENDING_COLUMNS);
      this.aggregate = this.makeAggregator();
    }
    const meta = await c.runAndReadAll(`SELECT key, value FROM v6scope_meta WHERE key LIKE 'retained_from:%'`);
    for (const [k, v] of meta.getRowsJS()) this.retainedFrom.set(String(k).slice('retained_from:'.length), Number(v));
  }

  /**
   * Pre-aggregation is exact when every rollup has the pending table's dimensions and a resolution
   * that is a multiple of the finest one (the pending rows are bucketed to the finest).
   */
  private makeAggregator(): RollupAggregator | null {
    const rollups = this.specs.filter((t) => t.resolutionMs > 0);
    if (rollups.length === 0) return null;
    const finest = Math.min(...rollups.map((t) => t.resolutionMs));
    const pendDims = new Set(this.pendingLayout.columns.map((c) => c.name));
    const ok = rollups.every((t) => t.resolutionMs % finest === 0 && t.dimensions.length === pendDims.size - 1 - METRICS.length && t.dimensions.every((x) => pendDims.has(x)));
    return ok ? rollupAggregator(this.pendingLayout.columns, finest) : null;
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
          appendRows(app, spec.columns, spec.types, rows);
          app.flushSync();
        } finally {
          app.closeSync();
        }
        await this.conn.run(`INSERT INTO ${d.quote(table.name)} (${cols}) SELECT ${cols} FROM ${staging}`);
      } finally {
        await this.conn.run(`DELETE FROM ${staging}`);
      }
    });
  }

  private readFacts(table: FactTable, range: { since?: number; until?: number } = {}): Promise<FactRow[]> {
    if (!FACT_COLUMNS.has(table.name)) return Promise.reject(new Error(`unknown fact table ${table.name}`));
    return this.serial(async () => {
      const ctx = d.newContext();
      const t = d.quote(table.timeField);
      const where: string[] = [];
      if (range.since !== undefined) where.push(`${t} >= ${ctx.bind(range.since, 'time')}`);
      if (range.until !== undefined) where.push(`${t} < ${ctx.bind(range.until, 'time')}`);
      const cols = table.fields.map((f) => d.quote(f.name)).join(', ');
      // Ordered by every column (time first): the same order on every store, also among rows of the same time.
      const sql = `SELECT ${cols} FROM ${d.quote(table.name)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${cols}`;
      const ps = await this.conn.prepare(sql);
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
    if (t.resolutionMs === 0) return FIELDS.map((f) => ({ name: f.name, kind: f.kind }));
    const dims = new Set(t.dimensions);
    return FIELDS.filter((f) => f.role !== 'dimension' || dims.has(f.name)).map((f) => ({ name: f.name, kind: f.kind }));
  }

  append(batch: readonly FlowRecord[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const rows = batch as unknown as readonly Record<string, unknown>[];
      const pend = this.aggregate ? this.aggregate(rows) : rows;
      if (this.csvBase !== null && (await this.appendCsv(this.csvBase, rows, pend))) {
        this.appendStats.csvBatches++;
      } else {
        await this.appendChunks(rows, pend);
        this.appendStats.appenderBatches++;
      }
      this.pendingRows += pend.length;
      if (this.pendingRows >= this.rollupFlushRows) await this.flushRollups();
    });
  }

  /**
   * The CSV path: raw rows and pending rows serialised to two temporary files (outside the
   * transaction), then both loaded by DuckDB's CSV reader in one transaction; the files are always
   * deleted. False (nothing stored) when a row cannot be encoded or the reader rejects the batch:
   * the caller then appends it through the appender, which stores what it always stored.
   */
  private async appendCsv(base: string, rows: readonly Record<string, unknown>[], pend: readonly Record<string, unknown>[]): Promise<boolean> {
    const rawFile = `${base}-raw.csv`;
    const pendFile = `${base}-pending.csv`;
    const rawCsv = csvLayout(FLOW_COLUMNS);
    const pendCsv = csvLayout(this.pendingLayout.columns);
    try {
      const out = (this.csvOut ??= csvBuffer());
      if (!(await writeCsv(rawFile, rawCsv, rows, out)) || !(await writeCsv(pendFile, pendCsv, pend, out))) return false;
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(rawCsv.insertSql(RAW_TABLE, rawFile));
        await this.conn.run(pendCsv.insertSql(PENDING, pendFile));
        await this.conn.run('COMMIT');
      } catch (e) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        // Values the reader cannot convert (not a valid flow record): the appender decides, as before.
        if (/^(Conversion|Invalid Input) Error/.test((e as Error).message)) return false;
        throw e;
      }
      return true;
    } finally {
      await Promise.all([rm(rawFile, { force: true }), rm(pendFile, { force: true })]);
    }
  }

  /** The appender path: columnar data chunks into raw (or staging) and pending, one transaction. */
  private async appendChunks(rows: readonly Record<string, unknown>[], pend: readonly Record<string, unknown>[]): Promise<void> {
    if (!this.rawLayout) await this.stage(rows);
    await this.conn.run('BEGIN TRANSACTION');
    try {
      if (this.rawLayout) await this.appendTo(RAW_TABLE, this.rawLayout, rows);
      else {
        await this.conn.run(`INSERT INTO raw (${FLOW_COLUMN_LIST}) SELECT ${FLOW_COLUMN_LIST} FROM ${STAGING}`);
        await this.conn.run(`DELETE FROM ${STAGING}`);
      }
      await this.appendTo(PENDING, this.pendingLayout, pend);
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      if (!this.rawLayout) await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Appender on `table` (inside the caller's transaction, if any). The rows go in slices of
   * APPEND_SLICE, each flushed, with a turn of the event loop between slices: the appender's work is
   * synchronous, and a collector on the same thread must get to its socket between slices.
   */
  private async appendTo(table: string, layout: AppendLayout, rows: readonly Record<string, unknown>[]): Promise<void> {
    const app = await this.conn.createAppender(table);
    try {
      for (let from = 0; from < rows.length; from += APPEND_SLICE) {
        if (from > 0) await new Promise<void>((r) => setImmediate(r));
        appendRows(app, layout.columns, layout.types, rows, from, Math.min(rows.length, from + APPEND_SLICE));
        app.flushSync();
      }
    } finally {
      app.closeSync();
    }
  }

  /** Raw tables with columns unknown to the schema: the batch goes through the staging table, by name. */
  private async stage(rows: readonly Record<string, unknown>[]): Promise<void> {
    try {
      await this.appendTo(STAGING, { columns: FLOW_COLUMNS, types: FLOW_TYPES }, rows);
    } catch (e) {
      await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
      throw e;
    }
  }

  /**
   * Aggregate the pending flows into every rollup and empty the pending table, in one transaction
   * (call inside `serial`). The 1 min buckets are computed from the pending rows, the coarser ones
   * from those 1 min rows.
   */
  private async flushRollups(): Promise<void> {
    if (this.pendingRows === 0) return;
    const t0 = Date.now();
    const rollups = this.specs.filter((t) => t.resolutionMs > 0).sort((a, b) => a.resolutionMs - b.resolutionMs);
    const dimsOf = (t: TableSpec): string[] => t.dimensions.map((x) => d.quote(x));
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const finest = rollups[0];
      let source = PENDING;
      if (finest && rollups.length > 1 && rollups.every((t) => t.resolutionMs % finest.resolutionMs === 0 && sameDims(t, finest))) {
        // One GROUP BY over the pending rows; coarser rollups aggregate its (far fewer) rows.
        const dims = dimsOf(finest);
        const bucket = d.timeBucket(d.quote('time_received'), finest.resolutionMs);
        await this.conn.run(`DROP TABLE IF EXISTS v6scope_rollup_agg`);
        await this.conn.run(
          `CREATE TEMP TABLE v6scope_rollup_agg AS SELECT ${bucket} AS time_received, ${dims.join(', ')}, ${METRICS.map((m) => `SUM(${d.quote(m)}) AS ${d.quote(m)}`).join(', ')} ` +
            `FROM ${PENDING} GROUP BY ALL`,
        );
        source = 'v6scope_rollup_agg';
      }
      for (const t of rollups) {
        const dims = dimsOf(t);
        const cols = ['time_received', ...t.dimensions, ...METRICS].map((x) => d.quote(x)).join(', ');
        if (source !== PENDING && t === finest) {
          await this.conn.run(`INSERT INTO ${d.quote(t.name)} (${cols}) SELECT ${cols} FROM ${source}`);
          continue;
        }
        const bucket = d.timeBucket(d.quote('time_received'), t.resolutionMs);
        await this.conn.run(
          `INSERT INTO ${d.quote(t.name)} (${cols}) ` +
            `SELECT ${bucket}, ${dims.join(', ')}, ${METRICS.map((m) => `SUM(${d.quote(m)})`).join(', ')} FROM ${source} GROUP BY ${bucket}, ${dims.join(', ')}`,
        );
      }
      if (source !== PENDING) await this.conn.run(`DROP TABLE ${source}`);
      await this.conn.run(`DELETE FROM ${PENDING}`);
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    this.rollupStats.flushes++;
    this.rollupStats.flushedRows += this.pendingRows;
    this.rollupStats.flushMs += Date.now() - t0;
    this.pendingRows = 0;
  }

  /** Roll the pending flows up now (tests, benches; reads do it themselves when they need it). */
  flushPending(): Promise<void> {
    return this.serial(() => this.flushRollups());
  }

  async query(q: Query): Promise<QueryResult> {
    const table = planTable(q, this.specs, this.retainedFrom);
    const c = compileQuery(q, table, d);
    return this.serial(async () => {
      // A rollup answers only once it holds every acknowledged flow; raw always does.
      if (table.resolutionMs > 0) await this.flushRollups();
      return { rows: await this.run(c), table: table.name, sql: c.sql };
    });
  }

  private async run(c: CompiledQuery): Promise<Row[]> {
    const ps = await this.conn.prepare(c.sql);
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
    return this.serial(async () => {
      const r = await this.conn.runAndReadAll(
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
    return this.serial(async () => {
      await this.flushRollups();
      for (const t of this.specs) {
        const cutoff = now - t.retentionMs;
        const from = t.resolutionMs ? Math.ceil(cutoff / t.resolutionMs) * t.resolutionMs : cutoff;
        await this.conn.run(`DELETE FROM ${d.quote(t.name)} WHERE time_received < $1`, [BigInt(from)]);
        const prev = this.retainedFrom.get(t.name);
        if (prev === undefined || from > prev) {
          this.retainedFrom.set(t.name, from);
          await this.conn.run(`INSERT OR REPLACE INTO v6scope_meta VALUES ($1, $2)`, [`retained_from:${t.name}`, String(from)]);
        }
      }
      // Facts explain raw flows: they are kept as long as the raw table.
      const raw = this.specs.find((t) => t.resolutionMs === 0)!;
      for (const f of FACT_TABLES) await this.conn.run(`DELETE FROM ${d.quote(f.name)} WHERE ${d.quote(f.timeField)} < $1`, [BigInt(now - raw.retentionMs)]);
    });
  }

  tables(): readonly TableSpec[] {
    return this.specs;
  }

  rowCounts(): Promise<{ table: string; rows: number }[]> {
    return this.serial(async () => {
      await this.flushRollups();
      const out: { table: string; rows: number }[] = [];
      for (const name of [...this.specs.map((t) => t.name), ...FACT_TABLES.map((t) => t.name)]) {
        const r = await this.conn.runAndReadAll(`SELECT count(*) FROM ${d.quote(name)}`);
        out.push({ table: name, rows: Number(r.getRowsJS()[0]?.[0] ?? 0) });
      }
      return out;
    });
  }

  close(): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.closed = true;
    return this.serial(async () => {
      // Not required for correctness (pending rows are rolled up at the next open), but leaves a tidy file.
      await this.flushRollups().catch(() => undefined);
      this.conn.closeSync();
      this.instance.closeSync();
    });
  }
}

/**
 * Write rows as CSV to `file` (created or truncated), APPEND_SLICE rows per string and write (the
 * event loop turns between slices). False when a row cannot be encoded (the file is left for the caller to delete).
 */
async function writeCsv(file: string, layout: CsvLayout, rows: readonly Record<string, unknown>[], out: CsvBuffer): Promise<boolean> {
  const fh = await open(file, 'w');
  try {
    for (let from = 0; from < rows.length; from += APPEND_SLICE) {
      out.pos = 0;
      if (!layout.serialise(rows, from, Math.min(rows.length, from + APPEND_SLICE), out)) return false;
      await fh.write(out.buf, 0, out.pos);
    }
    return true;
  } finally {
    await fh.close();
  }
}

function layoutOf(columns: ChunkColumn[]): AppendLayout {
  return { columns, types: columns.map((c) => DUCK_TYPE[c.kind]) };
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
  const instance = await DuckDBInstance.create(opts.path, config);
  const conn = await instance.connect();
  const store = new DuckDBStore(instance, conn, opts.retention ?? DEFAULT_RETENTION, { ...opts, path: opts.path });
  try {
    await store.init();
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
