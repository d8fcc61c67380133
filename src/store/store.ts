/**
 * The store interface. Analyses see only this (and the query model), never a concrete store.
 */
import type { FactRow, FactTable } from '../schema/facts.js';
import type { FieldKind, FlowRecord } from '../schema/fields.js';
import type { Query, QueryResult } from './query.js';

/** A table the planner can choose: the raw table (resolution 0) or a rollup. */
export interface TableSpec {
  readonly name: string;
  /** Bucket size in ms (0 for the raw table). */
  readonly resolutionMs: number;
  /** How long rows are kept, ms (enforced by applyRetention). */
  readonly retentionMs: number;
  /** Dimensions present in the table (all dimensions for raw, low-cardinality ones for rollups). */
  readonly dimensions: readonly string[];
}

export interface RetentionConfig {
  /** Retention per table, in ms. */
  readonly raw: number;
  readonly rollup_1m: number;
  readonly rollup_5m: number;
  readonly rollup_1h: number;
}

const DAY = 86_400_000;
export const DEFAULT_RETENTION: RetentionConfig = {
  raw: 30 * DAY,
  rollup_1m: 14 * DAY,
  rollup_5m: 90 * DAY,
  rollup_1h: 5 * 365 * DAY,
};

export interface FlowStore {
  /** 'duckdb' | 'clickhouse' */
  readonly kind: string;
  /** Append a batch: raw rows plus their rollup contributions. The batch is durable when this resolves. */
  append(batch: readonly FlowRecord[]): Promise<void>;
  /**
   * Append rows of columnar batches as one batch, as `append` would the same flows as records
   * (stores that can read the collector's columnar form without records: DuckDB).
   * `onWritten`, when given, is called once the store has copied the rows and reads the ranges'
   * columns no more — possibly well before the append is durable (DuckDB: before its COMMIT), so a
   * caller may reuse the column buffers then. It is called at most once, and not at all when the
   * append fails before the rows are copied.
   * `after`, when given, is the promise of an earlier append of the same caller (made before this
   * one, typically the one just before): this append commits only if that one did — when it failed,
   * this one is rolled back and rejects too. A caller with several appends outstanding
   * (`appendDepth`) so keeps what is stored a prefix of what it sent (the AWS ingest's crash-safety
   * rule). Stores whose `appendDepth` is 1 may ignore it: their callers wait for each append.
   */
  appendColumnar?(ranges: readonly ColumnarRange[], onWritten?: () => void, after?: Promise<unknown>): Promise<void>;
  /**
   * Rows per append that the store writes most cheaply, when an append holds a multiple of it
   * (DuckDB: one row group — a transaction's full row groups go compressed straight into the file
   * instead of through the WAL). The store writer cuts its batches at multiples of it.
   */
  readonly appendUnit?: number;
  /**
   * Appends the store takes before the first of them is durable (default 1): with 2, a caller may
   * hand over the next batch while the previous one commits (DuckDB: the next batch is written into
   * a second connection's transaction while the first commits; commits stay in order). Appends still
   * resolve in the order they were made, each once it is durable.
   */
  readonly appendDepth?: number;
  /** Answer a query from the coarsest table that can. */
  query(q: Query): Promise<QueryResult>;
  /** Earliest and latest time_received stored, or null when empty. */
  timeRange(): Promise<{ min: number; max: number } | null>;
  /** Delete rows older than each table's retention, relative to `now` (epoch ms). */
  applyRetention(now: number): Promise<void>;
  /**
   * Fact tables (passive DNS, neighbours): small side tables the analyses read whole for a time
   * range. Optional while a store does not have them yet.
   */
  readonly facts?: FactStore;
  /** The tables and what they hold (for `--explain` and docs). */
  tables(): readonly TableSpec[];
  /** Rows in each table, flow tables and fact tables (for `v6scope store check`). */
  rowCounts?(): Promise<{ table: string; rows: number }[]>;
  close(): Promise<void>;
}

/**
 * Flows in columnar form (collect/flow-batch.ts's ColumnarBatch): per schema field, in FIELDS
 * order, a typed array — float64 for time/u64/mac, the field's own width for u8/u16/u32, 16 bytes
 * per row for addresses, uint32 dictionary indexes for strings — and per string field its dictionary.
 */
export interface ColumnarSource {
  /** A column holding exactly one row is constant: every row has that value (isConstantColumn). */
  readonly cols: readonly (Float64Array | Uint32Array | Uint16Array | Uint8Array)[];
  readonly dicts: readonly (readonly string[] | null)[];
}

/** Whether a column of a ColumnarSource is constant: it holds one row (16 bytes for an address, one element otherwise). */
export function isConstantColumn(col: ArrayLike<number>, kind: FieldKind): boolean {
  return col.length === (kind === 'addr' ? 16 : 1);
}

/** Rows [from, to) of a columnar batch. */
export interface ColumnarRange {
  readonly batch: ColumnarSource;
  readonly from: number;
  readonly to: number;
}

/** Append-and-scan access to the fact tables of src/schema/facts.ts. */
export interface FactStore {
  append(table: FactTable, rows: readonly FactRow[]): Promise<void>;
  /** Rows with `table.timeField` in [since, until), in time order. */
  read(table: FactTable, range?: { since?: number; until?: number }): Promise<FactRow[]>;
}
