/**
 * Compiles the store-independent query model into SQL for one table through a dialect. Every field
 * is checked against the schema and the table; every value is bound by its field's kind.
 */
import { FIELD_BY_NAME, METRICS, type FieldDef, type MetricName } from '../schema/fields.js';
import { addrToBigInt } from '../net/ip.js';
import type { BoundValue, Dialect } from './dialect.js';
import { groupKey, type FilterExpr, type Query, type Scalar } from './query.js';
import type { TableSpec } from './store.js';

/** A query the model cannot express or that names unknown fields. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

export interface CompiledQuery {
  sql: string;
  params: BoundValue[];
  /** Result keys and how to decode them. */
  keys: { name: string; kind: FieldDef['kind'] | 'bucket' }[];
  metrics: MetricName[];
}

const CMP_OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);
const TIME = 'time_received';

function dimension(name: string, table: TableSpec): FieldDef {
  const def = FIELD_BY_NAME.get(name);
  if (!def || def.role !== 'dimension') {
    throw new QueryError(
      `unknown dimension "${name}" (dimensions: ${[...FIELD_BY_NAME.values()].filter((f) => f.role === 'dimension').map((f) => f.name).join(', ')})`,
    );
  }
  if (!table.dimensions.includes(name)) throw new QueryError(`dimension "${name}" is not in table ${table.name}`);
  return def;
}

function encode(def: FieldDef, v: Scalar): { value: number | string | bigint; kind: BoundValue['kind'] } {
  switch (def.kind) {
    case 'addr':
      if (!(v instanceof Uint8Array) || v.length !== 16) throw new QueryError(`${def.name} needs a 16-byte address value`);
      return { value: addrToBigInt(v), kind: 'addr' };
    case 'string':
      if (typeof v !== 'string') throw new QueryError(`${def.name} needs a string value`);
      return { value: v, kind: 'string' };
    default: {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new QueryError(`${def.name} needs a non-negative integer value, got ${String(v)}`);
      return { value: v, kind: def.kind };
    }
  }
}

export function compileQuery(q: Query, table: TableSpec, d: Dialect): CompiledQuery {
  if (!Number.isSafeInteger(q.since) || !Number.isSafeInteger(q.until)) throw new QueryError('since and until must be integer epoch milliseconds');
  if (q.until <= q.since) throw new QueryError('until must be after since');
  const b = d.newBinder();
  const col = (name: string) => d.quote(name);

  const compileFilter = (e: FilterExpr): string => {
    switch (e.op) {
      case 'and':
      case 'or':
        if (e.args.length === 0) return e.op === 'and' ? 'TRUE' : 'FALSE';
        return `(${e.args.map(compileFilter).join(e.op === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `(NOT ${compileFilter(e.arg)})`;
      case 'cmp': {
        if (!CMP_OPS.has(e.cmp)) throw new QueryError(`unknown comparison "${e.cmp}"`);
        const def = dimension(e.field, table);
        const v = encode(def, e.value);
        return `${col(def.name)} ${e.cmp === '!=' ? '<>' : e.cmp} ${b.bind(v.value, v.kind)}`;
      }
      case 'in': {
        const def = dimension(e.field, table);
        if (e.values.length === 0) return e.negate ? 'TRUE' : 'FALSE';
        const list = e.values.map((x) => {
          const v = encode(def, x);
          return b.bind(v.value, v.kind);
        });
        return `${col(def.name)} ${e.negate ? 'NOT IN' : 'IN'} (${list.join(', ')})`;
      }
      case 'prefix': {
        const def = dimension(e.field, table);
        if (def.kind !== 'addr') throw new QueryError(`${def.name} is not an address field: no prefix match`);
        const lo = encode(def, e.first);
        const hi = encode(def, e.last);
        return `${col(def.name)} BETWEEN ${b.bind(lo.value, 'addr')} AND ${b.bind(hi.value, 'addr')}`;
      }
      default:
        throw new QueryError(`unknown filter operator ${JSON.stringify((e as { op: unknown }).op)}`);
    }
  };

  const select: string[] = [];
  const groups: string[] = [];
  const keys: CompiledQuery['keys'] = [];
  if (q.bucket !== undefined) {
    if (!Number.isSafeInteger(q.bucket) || q.bucket <= 0) throw new QueryError('bucket must be a positive integer number of milliseconds');
    const expr = d.timeBucket(col(TIME), q.bucket);
    select.push(`${expr} AS ${col('time')}`);
    groups.push(expr);
    keys.push({ name: 'time', kind: 'bucket' });
  }
  const seen = new Set<string>();
  for (const g of q.groupBy ?? []) {
    const def = dimension(g.field, table);
    const name = groupKey(g);
    if (seen.has(name)) throw new QueryError(`dimension "${name}" given twice`);
    seen.add(name);
    let expr = col(def.name);
    if (g.prefix) {
      if (def.kind !== 'addr') throw new QueryError(`only address fields take a prefix; ${def.name} is ${def.kind}`);
      const { v6, v4 } = g.prefix;
      if (!Number.isInteger(v6) || v6 < 0 || v6 > 128 || !Number.isInteger(v4) || v4 < 0 || v4 > 32) {
        throw new QueryError('prefix lengths must be 0-128 (IPv6) and 0-32 (IPv4)');
      }
      expr = d.addrPrefix(col(def.name), col('family'), v6, v4);
    }
    const alias = /^[a-z_][a-z0-9_]*$/.test(name) ? name : name.replace(/[^a-z0-9_]/g, '_');
    select.push(`${expr} AS ${col(alias)}`);
    groups.push(expr);
    keys.push({ name, kind: def.kind });
  }
  const metrics = [...(q.metrics ?? METRICS)];
  for (const m of metrics) if (!(METRICS as readonly string[]).includes(m)) throw new QueryError(`unknown metric "${m}" (metrics: ${METRICS.join(', ')})`);
  for (const m of metrics) select.push(`SUM(${col(m)}) AS ${col(m)}`);

  const where = [`${col(TIME)} >= ${b.bind(q.since, 'time')}`, `${col(TIME)} < ${b.bind(q.until, 'time')}`];
  if (q.filter) where.push(compileFilter(q.filter));

  let sql = `SELECT ${select.join(', ')} FROM ${col(table.name)} WHERE ${where.join(' AND ')}`;
  if (groups.length) sql += ` GROUP BY ${groups.join(', ')}`;
  const keyOrder = keys.map((_k, i) => String(i + 1));
  if (q.orderBy) {
    if (!metrics.includes(q.orderBy)) throw new QueryError(`cannot order by "${q.orderBy}": not among the metrics`);
    sql += ` ORDER BY ${col(q.orderBy)} DESC${keyOrder.length ? `, ${keyOrder.join(', ')}` : ''}`;
  } else if (keyOrder.length) {
    sql += ` ORDER BY ${keyOrder.join(', ')}`;
  }
  if (q.limit !== undefined) {
    if (!Number.isSafeInteger(q.limit) || q.limit <= 0) throw new QueryError('limit must be a positive integer');
    sql += ` LIMIT ${b.bind(q.limit, 'int')}`;
  }
  return { sql, params: b.params, keys, metrics };
}
