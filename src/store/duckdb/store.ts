/**
 * The embedded DuckDB store: one file, a raw table plus 1 min / 5 min / 1 h rollups, all derived
 * from the schema. Appends write whole columns into DuckDB data chunks (chunk-append.ts) of a staging
 * table, then one transaction copies them to raw and aggregates them into each rollup.
 */
import { BIGINT, DuckDBInstance, UBIGINT, UHUGEINT, UINTEGER, USMALLINT, UTINYINT, VARCHAR, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { appendRows, type ChunkColumn } from './chunk-append.js';
import { FACT_TABLES, type FactRow, type FactTable } from '../../schema/facts.js';
import { FIELDS, METRICS, type FieldDef, type FlowRecord } from '../../schema/fields.js';
import { addrToBigInt } from '../../net/ip.js';
import { compileQuery, decodeRows, type CompiledQuery } from '../compile.js';
import { duckdbDialect as d } from '../dialect.js';
import { planTable, tableSpecs } from '../planner.js';
import type { Query, QueryResult, Row } from '../query.js';
import { DEFAULT_RETENTION, type FactStore, type FlowStore, type RetentionConfig, type TableSpec } from '../store.js';

const SCHEMA_VERSION = '1';
const STAGING = 'v6scope_staging';

/** The DuckDB type of each schema kind, for the columnar appender (matches duckdbDialect.columnType). */
const DUCK_TYPE: Record<FieldDef['kind'], DuckDBType> = { time: BIGINT, addr: UHUGEINT, mac: UBIGINT, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT, string: VARCHAR };
const FLOW_COLUMNS: ChunkColumn[] = FIELDS.map((f) => ({ name: f.name, kind: f.kind }));
const FLOW_TYPES = FLOW_COLUMNS.map((c) => DUCK_TYPE[c.kind]);
const FLOW_COLUMN_LIST = FLOW_COLUMNS.map((c) => `"${c.name}"`).join(', ');
const stagingOf = (table: string): string => `v6scope_staging_${table}`;
const FACT_COLUMNS = new Map(FACT_TABLES.map((t) => [t.name, { columns: t.fields.map((f) => ({ name: f.name, kind: f.kind })), types: t.fields.map((f) => DUCK_TYPE[f.kind]) }]));

class DuckDBStore implements FlowStore {
  readonly kind = 'duckdb';
  private readonly specs: TableSpec[];
  private retainedFrom = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    retention: RetentionConfig,
  ) {
    this.specs = tableSpecs(retention);
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
    const meta = await c.runAndReadAll(`SELECT key, value FROM v6scope_meta WHERE key LIKE 'retained_from:%'`);
    for (const [k, v] of meta.getRowsJS()) this.retainedFrom.set(String(k).slice('retained_from:'.length), Number(v));
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
      try {
        const app = await this.conn.createAppender(STAGING);
        try {
          appendRows(app, FLOW_COLUMNS, FLOW_TYPES, batch as unknown as readonly Record<string, unknown>[]);
          app.flushSync();
        } finally {
          app.closeSync();
        }
      } catch (e) {
        await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
        throw e;
      }
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run(`INSERT INTO raw (${FLOW_COLUMN_LIST}) SELECT ${FLOW_COLUMN_LIST} FROM ${STAGING}`);
        for (const t of this.specs) {
          if (t.resolutionMs === 0) continue;
          const dims = t.dimensions.map((x) => d.quote(x));
          const bucket = d.timeBucket(d.quote('time_received'), t.resolutionMs);
          await this.conn.run(
            `INSERT INTO ${d.quote(t.name)} (${['time_received', ...t.dimensions, ...METRICS].map((x) => d.quote(x)).join(', ')}) ` +
              `SELECT ${bucket}, ${dims.join(', ')}, ${METRICS.map((m) => `SUM(${d.quote(m)})`).join(', ')} FROM ${STAGING} GROUP BY ${bucket}, ${dims.join(', ')}`,
          );
        }
        await this.conn.run(`DELETE FROM ${STAGING}`);
        await this.conn.run('COMMIT');
      } catch (e) {
        await this.conn.run('ROLLBACK').catch(() => undefined);
        await this.conn.run(`DELETE FROM ${STAGING}`).catch(() => undefined);
        throw e;
      }
    });
  }

  async query(q: Query): Promise<QueryResult> {
    const table = planTable(q, this.specs, this.retainedFrom);
    const c = compileQuery(q, table, d);
    return this.serial(async () => ({ rows: await this.run(c), table: table.name, sql: c.sql }));
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
      const out: { table: string; rows: number }[] = [];
      for (const name of [...this.specs.map((t) => t.name), ...FACT_TABLES.map((t) => t.name)]) {
        const r = await this.conn.runAndReadAll(`SELECT count(*) FROM ${d.quote(name)}`);
        out.push({ table: name, rows: Number(r.getRowsJS()[0]?.[0] ?? 0) });
      }
      return out;
    });
  }

  close(): Promise<void> {
    return this.serial(async () => {
      this.conn.closeSync();
      this.instance.closeSync();
    });
  }
}

export async function openDuckDBStore(opts: { path: string; retention?: RetentionConfig }): Promise<FlowStore> {
  const instance = await DuckDBInstance.create(opts.path, {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const conn = await instance.connect();
  const store = new DuckDBStore(instance, conn, opts.retention ?? DEFAULT_RETENTION);
  await store.init();
  return store;
}
