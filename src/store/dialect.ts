/**
 * SQL dialects: everything store-specific about turning the query model into SQL. The compiler
 * (compile.ts) is shared; a dialect says how to quote, which column types to use, how to bucket
 * time, mask addresses and bind values. Values never reach SQL as text in DuckDB (positional
 * parameters); a dialect without server-side parameters (ClickHouse 18.16) returns strictly encoded
 * literals from `bind` instead.
 */
import type { FieldKind } from '../schema/fields.js';

/** A value bound into a query, with the schema kind that says how to encode it. */
export interface BoundValue {
  readonly kind: FieldKind | 'int';
  readonly value: number | string | bigint;
}

/** Collects the parameters of one query. */
export interface Binder {
  /** Returns the SQL placeholder (or a strictly encoded literal) for the value. */
  bind(value: number | string | bigint, kind: FieldKind | 'int'): string;
  readonly params: BoundValue[];
}

export interface Dialect {
  readonly name: string;
  quote(identifier: string): string;
  columnType(kind: FieldKind): string;
  newBinder(): Binder;
  /** SQL for the start (epoch ms) of the `ms`-wide bucket holding the time column. */
  timeBucket(column: string, ms: number): string;
  /**
   * SQL masking an address column to a prefix: `v6` bits when the family column is 6, `v4` bits of
   * the IPv4-mapped part when it is 4.
   */
  addrPrefix(column: string, familyColumn: string, v6: number, v4: number): string;
}

const U128 = (1n << 128n) - 1n;

/** Mask with the top `bits` of 128 set. */
export function mask128(bits: number): bigint {
  if (bits <= 0) return 0n;
  if (bits >= 128) return U128;
  return (U128 >> BigInt(128 - bits)) << BigInt(128 - bits);
}

export const duckdbDialect: Dialect = {
  name: 'duckdb',
  quote(id) {
    if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw new Error(`invalid identifier ${JSON.stringify(id)}`);
    return `"${id}"`;
  },
  columnType(kind) {
    switch (kind) {
      case 'time':
        return 'BIGINT'; // epoch milliseconds; epoch_ms(col) gives a TIMESTAMP
      case 'addr':
        return 'UHUGEINT'; // the 16 address bytes as a big-endian unsigned 128-bit integer
      case 'mac':
        return 'UBIGINT';
      case 'u8':
        return 'UTINYINT';
      case 'u16':
        return 'USMALLINT';
      case 'u32':
        return 'UINTEGER';
      case 'u64':
        return 'UBIGINT';
      case 'string':
        return 'VARCHAR';
    }
  },
  newBinder() {
    const params: BoundValue[] = [];
    return {
      params,
      bind(value, kind) {
        params.push({ value, kind });
        return `$${params.length}`;
      },
    };
  },
  timeBucket(column, ms) {
    if (!Number.isInteger(ms) || ms <= 0) throw new Error(`invalid bucket ${ms}`);
    return `((${column} // ${ms}) * ${ms})`;
  },
  addrPrefix(column, familyColumn, v6, v4) {
    // Masks are computed here from validated integers, never from user text.
    const m6 = mask128(v6).toString();
    const m4 = mask128(96 + v4).toString();
    return `(CASE WHEN ${familyColumn} = 4 THEN ${column} & ${m4}::UHUGEINT ELSE ${column} & ${m6}::UHUGEINT END)`;
  },
};
