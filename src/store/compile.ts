/**
 * Compiles the store-independent query model into SQL for one table through a dialect, and turns
 * the rows the driver returns back into model rows. Every field is checked against the schema and
 * the table, every value against its field's kind; values only ever reach SQL through
 * `QueryContext.bind` (a placeholder, or a strictly encoded literal).
 *
 * SQL shape (aliases k0… for keys and m0… for metrics never collide with column names):
 *   SELECT <bucket> AS k0, <key> AS k1, SUM("bytes") AS m0, ... FROM "<table>"
 *   WHERE "time_received" >= ? AND "time_received" < ? [AND <filter>]
 *   [GROUP BY k0, k1] ORDER BY (m0 DESC, k0, k1 | k0, k1) [LIMIT ?]
 */
import { compareAddr } from '../net/ip.js';
import { DIMENSIONS, FIELD_BY_NAME, METRICS, type FieldDef, type FieldKind, type MetricName } from '../schema/fields.js';
import type { BindValue, BoundParam, Dialect, QueryContext, ResultKind } from './dialect.js';
import { groupKey, type CompareOp, type FilterExpr, type Query, type Row, type Scalar } from './query.js';
import type { TableSpec } from './store.js';

/** A query the model cannot express, or that names unknown fields / gives wrongly typed values. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

/** One output column of a compiled query, in SELECT order. */
export interface ResultColumn {
  /** Key in the result row: the group key (see groupKey), `time` for the bucket, or the metric name. */
  readonly name: string;
  readonly kind: ResultKind;
}

export interface CompiledQuery {
  readonly sql: string;
  /** Parameters for placeholder dialects (params[i] is placeholder i+1); empty for literal dialects. */
  readonly params: readonly BoundParam[];
  /** Output columns in SELECT order: keys (the bucket first when bucketed), then metrics. */
  readonly columns: readonly ResultColumn[];
  readonly table: string;
}

/** The time axis of every query (the role 'time' field of the schema). */
export const TIME_FIELD = 'time_received';

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['=', '!=', '<', '<=', '>', '>=']);

/** Largest value of each numeric kind (the values a filter may compare with). */
const MAX_BY_KIND: Partial<Record<FieldKind, number>> = {
  u8: 0xff,
  u16: 0xffff,
  u32: 0xffff_ffff,
  u64: Number.MAX_SAFE_INTEGER,
  mac: 0xffff_ffff_ffff,
  time: Number.MAX_SAFE_INTEGER,
};

const dimensionNames = (): string => DIMENSIONS.map((f) => f.name).join(', ');

/** The schema dimension `name`, present in `table`, or a QueryError that lists what is valid. */
function dimension(name: unknown, table: TableSpec, what: string): FieldDef {
  const def = typeof name === 'string' ? FIELD_BY_NAME.get(name) : undefined;
  if (!def || def.role !== 'dimension') {
    const hint = def?.role === 'metric' ? ' — it is a metric (summed), not a dimension' : def?.role === 'time' ? ' — it is the time axis; use since/until/bucket' : '';
    throw new QueryError(`unknown ${what} field ${JSON.stringify(name)}${hint} (dimensions: ${dimensionNames()})`);
  }
  if (!table.dimensions.includes(def.name)) {
    throw new QueryError(`field "${def.name}" is not in table ${table.name} (its dimensions: ${table.dimensions.join(', ')})`);
  }
  return def;
}

function describe(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length}-byte array`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Check a filter value against its field's kind; returns it unchanged when valid. */
export function checkValue(def: FieldDef, v: Scalar | unknown): BindValue {
  switch (def.kind) {
    case 'addr':
      if (!(v instanceof Uint8Array) || v.length !== 16) throw new QueryError(`${def.name} is an address field: expected a 16-byte Uint8Array, got ${describe(v)}`);
      return v;
    case 'string':
      if (typeof v !== 'string') throw new QueryError(`${def.name} is a string field: expected a string, got ${describe(v)}`);
      return v;
    default: {
      const max = MAX_BY_KIND[def.kind] ?? Number.MAX_SAFE_INTEGER;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
        throw new QueryError(`${def.name} is a ${def.kind} field: expected an integer from 0 to ${max}, got ${describe(v)}`);
      }
      return v;
    }
  }
}

function checkInteger(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new QueryError(`${name} must be an integer ≥ ${min}, got ${describe(v)}`);
  return v;
}

/** Compile `q` for `table` (as chosen by the planner) through dialect `d`. */
export function compileQuery(q: Query, table: TableSpec, d: Dialect): CompiledQuery {
  const since = checkInteger('since (epoch ms)', q.since, 0);
  const until = checkInteger('until (epoch ms)', q.until, 0);
  if (until <= since) throw new QueryError(`until (${until}) must be after since (${since})`);
  const ctx: QueryContext = d.newContext();
  const col = (name: string): string => d.quote(name);

  const filter = (e: FilterExpr, depth: number): string => {
    if (depth > 256) throw new QueryError('filter nested too deeply');
    if (e === null || typeof e !== 'object') throw new QueryError(`invalid filter expression ${describe(e)}`);
    switch (e.op) {
      case 'and':
      case 'or': {
        if (!Array.isArray(e.args)) throw new QueryError(`"${e.op}" needs an array of arguments`);
        if (e.args.length === 0) return e.op === 'and' ? '(1 = 1)' : '(1 = 0)'; // no TRUE/FALSE literals in ClickHouse 18.16
        return `(${e.args.map((a) => filter(a, depth + 1)).join(e.op === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'not':
        return `(NOT ${filter(e.arg, depth + 1)})`;
      case 'cmp': {
        if (!COMPARE_OPS.has(e.cmp)) throw new QueryError(`unknown comparison ${JSON.stringify(e.cmp)} (use ${[...COMPARE_OPS].join(' ')})`);
        const def = dimension(e.field, table, 'filter');
        const v = checkValue(def, e.value);
        return `${col(def.name)} ${e.cmp === '!=' ? '<>' : e.cmp} ${ctx.bind(v, def.kind)}`;
      }
      case 'in': {
        const def = dimension(e.field, table, 'filter');
        if (!Array.isArray(e.values)) throw new QueryError(`"in" on ${def.name} needs an array of values`);
        if (e.values.length === 0) return e.negate ? '(1 = 1)' : '(1 = 0)';
        const list = e.values.map((x) => ctx.bind(checkValue(def, x), def.kind));
        return `${col(def.name)} ${e.negate ? 'NOT IN' : 'IN'} (${list.join(', ')})`;
      }
      case 'prefix': {
        const def = dimension(e.field, table, 'filter');
        if (def.kind !== 'addr') throw new QueryError(`${def.name} is a ${def.kind} field, not an address: no prefix match`);
        const first = checkValue(def, e.first) as Uint8Array;
        const last = checkValue(def, e.last) as Uint8Array;
        if (compareAddr(first, last) > 0) throw new QueryError(`prefix bounds on ${def.name} are reversed (first > last)`);
        return `(${d.addrRange(col(def.name), first, last, ctx)})`;
      }
      default:
        throw new QueryError(`unknown filter operator ${JSON.stringify((e as { op?: unknown }).op)} (use and, or, not, cmp, in, prefix)`);
    }
  };

  const select: string[] = [];
  const aliases: string[] = [];
  const columns: ResultColumn[] = [];
  const names = new Set<string>();
  const addKey = (expr: string, name: string, kind: ResultKind): void => {
    const alias = `k${aliases.length}`;
    select.push(`${expr} AS ${col(alias)}`);
    aliases.push(col(alias));
    columns.push({ name, kind });
    names.add(name);
  };

  if (q.bucket !== undefined) {
    const bucket = checkInteger('bucket (ms)', q.bucket, 1);
    addKey(d.timeBucket(col(TIME_FIELD), bucket), 'time', 'bucket');
  }
  if (q.groupBy !== undefined && !Array.isArray(q.groupBy)) throw new QueryError('groupBy must be an array');
  for (const g of q.groupBy ?? []) {
    const def = dimension(g.field, table, 'group-by');
    const name = groupKey(g);
    if (names.has(name)) throw new QueryError(`group key "${name}" given twice${name === 'time' ? ' ("time" is the bucket key)' : ''}`);
    if ((METRICS as readonly string[]).includes(name) || (q.timeBounds && (name === 'first_seen' || name === 'last_seen'))) {
      throw new QueryError(`group key "${name}" clashes with an output column; choose another "as"`);
    }
    let expr = col(def.name);
    if (g.prefix !== undefined) {
      if (def.kind !== 'addr') throw new QueryError(`only address fields take a prefix; ${def.name} is a ${def.kind} field`);
      const { v6, v4 } = g.prefix;
      if (!Number.isInteger(v6) || v6 < 0 || v6 > 128 || !Number.isInteger(v4) || v4 < 0 || v4 > 32) {
        throw new QueryError(`prefix lengths for ${def.name} must be 0-128 (v6) and 0-32 (v4), got v6=${String(v6)} v4=${String(v4)}`);
      }
      expr = d.addrPrefix(col(def.name), col('family'), v6, v4);
    }
    addKey(expr, name, def.kind);
  }

  const metrics: MetricName[] = [];
  for (const m of q.metrics ?? METRICS) {
    if (!(METRICS as readonly string[]).includes(m)) throw new QueryError(`unknown metric ${JSON.stringify(m)} (metrics: ${METRICS.join(', ')})`);
    if (!metrics.includes(m)) metrics.push(m);
  }
  if (metrics.length === 0) throw new QueryError(`no metrics requested (metrics: ${METRICS.join(', ')})`);
  const metricAlias = new Map<MetricName, string>();
  metrics.forEach((m, i) => {
    const alias = col(`m${i}`);
    metricAlias.set(m, alias);
    select.push(`SUM(${col(m)}) AS ${alias}`);
    columns.push({ name: m, kind: 'metric' });
  });

  if (q.timeBounds) {
    select.push(`MIN(${col(TIME_FIELD)}) AS ${col('t0')}`, `MAX(${col(TIME_FIELD)}) AS ${col('t1')}`);
    columns.push({ name: 'first_seen', kind: 'time' }, { name: 'last_seen', kind: 'time' });
  }

  const where = [`${col(TIME_FIELD)} >= ${ctx.bind(since, 'time')}`, `${col(TIME_FIELD)} < ${ctx.bind(until, 'time')}`];
  if (q.filter !== undefined) where.push(filter(q.filter, 0));

  let sql = `SELECT ${select.join(', ')} FROM ${col(table.name)} WHERE ${where.join(' AND ')}`;
  if (aliases.length) sql += ` GROUP BY ${aliases.join(', ')}`;
  if (q.orderBy !== undefined) {
    const alias = metricAlias.get(q.orderBy);
    if (!alias) {
      throw new QueryError(
        (METRICS as readonly string[]).includes(q.orderBy)
          ? `cannot order by "${q.orderBy}": it is not among the requested metrics (${metrics.join(', ')})`
          : `cannot order by ${JSON.stringify(q.orderBy)}: not a metric (metrics: ${METRICS.join(', ')})`,
      );
    }
    sql += ` ORDER BY ${[`${alias} DESC`, ...aliases].join(', ')}`;
  } else if (aliases.length) {
    sql += ` ORDER BY ${aliases.join(', ')}`;
  }
  if (q.limit !== undefined) sql += ` LIMIT ${ctx.bind(checkInteger('limit', q.limit, 1), 'int')}`;
  return { sql, params: ctx.params, columns, table: table.name };
}

/** Turn driver rows (arrays in SELECT order) into model rows. */
export function decodeRows(c: CompiledQuery, d: Dialect, rows: readonly (readonly unknown[])[]): Row[] {
  const cols = c.columns;
  return rows.map((r) => {
    const row: Row = {};
    for (let i = 0; i < cols.length; i++) {
      const k = cols[i]!;
      row[k.name] = d.decode(r[i], k.kind);
    }
    return row;
  });
}
