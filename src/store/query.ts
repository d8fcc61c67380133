/**
 * The store-independent query model. Every analysis (share, laggards, floor, ...) is written against
 * this model; a store compiles it to SQL through its dialect (src/store/dialect.ts), so the DuckDB
 * and ClickHouse stores answer the same questions the same way.
 *
 * Values never reach SQL as text: the dialect either binds them as parameters (DuckDB) or encodes
 * them with a strict literal encoder (ClickHouse 18.16 has no server-side parameters).
 */
import type { MetricName } from '../schema/fields.js';

/** A scalar a filter compares with: numbers, strings, or 16-byte addresses. */
export type Scalar = number | string | Uint8Array;

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A filter expression over schema fields (the filter language of the API parses into this). */
export type FilterExpr =
  | { readonly op: 'and' | 'or'; readonly args: readonly FilterExpr[] }
  | { readonly op: 'not'; readonly arg: FilterExpr }
  | { readonly op: 'cmp'; readonly field: string; readonly cmp: CompareOp; readonly value: Scalar }
  | { readonly op: 'in'; readonly field: string; readonly values: readonly Scalar[]; readonly negate?: boolean }
  /** Address field inside a prefix: `first` and `last` are the 16-byte bounds (inclusive). */
  | { readonly op: 'prefix'; readonly field: string; readonly first: Uint8Array; readonly last: Uint8Array };

/**
 * A grouping dimension: a schema field, optionally an address field aggregated to a prefix
 * (`v6` bits for IPv6 rows, `v4` bits for IPv4 rows, e.g. /64 and /24).
 */
export interface GroupBy {
  readonly field: string;
  readonly prefix?: { readonly v6: number; readonly v4: number };
  /** Output key name (defaults to the field name, or field/v6/v4 for prefixes). */
  readonly as?: string;
}

export interface Query {
  /** Inclusive start, epoch ms. */
  readonly since: number;
  /** Exclusive end, epoch ms. */
  readonly until: number;
  readonly filter?: FilterExpr;
  readonly groupBy?: readonly GroupBy[];
  readonly metrics?: readonly MetricName[];
  /** Time bucket in ms (adds a `time` key to each row: the bucket start, epoch ms). */
  readonly bucket?: number;
  /** Order by the sum of this metric, descending (default: by time, then group keys). */
  readonly orderBy?: MetricName;
  readonly limit?: number;
  /**
   * Also return `first_seen` and `last_seen` per row: the smallest and largest time_received (on a
   * rollup, the start of the first and last bucket that holds the row).
   */
  readonly timeBounds?: boolean;
}

/** One result row: group keys (addresses as 16-byte Uint8Array), `time` when bucketed, metrics. */
export type Row = Record<string, number | string | Uint8Array>;

export interface QueryResult {
  readonly rows: Row[];
  /** Which table answered (raw, rollup_1m, rollup_5m, rollup_1h): shown by --explain. */
  readonly table: string;
  readonly sql: string;
}

export function groupKey(g: GroupBy): string {
  if (g.as) return g.as;
  return g.prefix ? `${g.field}/${g.prefix.v6}/${g.prefix.v4}` : g.field;
}

/** Every field a query touches (group-by and filter), used by the planner. */
export function fieldsUsed(q: Query): Set<string> {
  const used = new Set<string>();
  for (const g of q.groupBy ?? []) used.add(g.field);
  const walk = (e: FilterExpr): void => {
    switch (e.op) {
      case 'and':
      case 'or':
        e.args.forEach(walk);
        break;
      case 'not':
        walk(e.arg);
        break;
      default:
        used.add(e.field);
    }
  };
  if (q.filter) walk(q.filter);
  return used;
}
