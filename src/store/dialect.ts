/**
 * SQL dialects: everything store-specific about turning the query model into SQL. The compiler
 * (compile.ts) is shared; a dialect says how to quote identifiers, which column type each schema
 * kind gets, how values are bound, how time is bucketed, how addresses are masked to prefixes and
 * compared with prefix bounds, and how result values come back.
 *
 * Values never reach SQL as text: `QueryContext.bind` either records a parameter and returns its
 * placeholder (DuckDB: `$1`, `$2`, ...; the store binds the recorded values with the typed binders),
 * or — for a store without server-side parameters (ClickHouse 18.16) — returns a literal produced
 * by a strict encoder from the already type-checked value. The only numbers a dialect writes into
 * SQL itself are structural and validated here: bucket widths and prefix masks.
 *
 * This file must not import a database driver: the ClickHouse store reuses it unchanged.
 */
import { addrToBigInt, bigIntToAddr } from '../net/ip.js';
import type { FieldKind } from '../schema/fields.js';

/** How a bound value is typed: a schema kind, or `int` for a plain integer such as LIMIT. */
export type BindKind = FieldKind | 'int';

/**
 * A value as the compiler hands it to `bind`, already checked against its kind: `number` for the
 * numeric kinds, `time` (epoch ms) and `int`; `string` for `string`; a 16-byte `Uint8Array` for
 * `addr`.
 */
export type BindValue = number | string | Uint8Array;

/** One recorded parameter (placeholder dialects); `params[i]` is placeholder number i+1. */
export interface BoundParam {
  readonly kind: BindKind;
  readonly value: BindValue;
}

/** Per-query binding context: one per compiled query. */
export interface QueryContext {
  /** Returns the SQL placeholder, or a strictly encoded literal, for the value. */
  bind(value: BindValue, kind: BindKind): string;
  /** The recorded parameters in placeholder order (empty for literal-encoding dialects). */
  readonly params: readonly BoundParam[];
}

/** Kind of a result column, for `Dialect.decode`. */
export type ResultKind = FieldKind | 'bucket' | 'metric';

export interface Dialect {
  readonly name: string;
  /** Quote an identifier (only schema-derived snake_case identifiers are accepted). */
  quote(identifier: string): string;
  /** Column type of a schema field kind. */
  columnType(kind: FieldKind): string;
  /** A fresh binding context for one query. */
  newContext(): QueryContext;
  /** SQL for the start, as epoch milliseconds (an integer), of the `ms`-wide bucket holding `timeColumn`. */
  timeBucket(timeColumn: string, ms: number): string;
  /**
   * SQL masking an address column to a prefix: the top `v6` bits on rows whose family column is
   * 6, the top `v4` bits of the IPv4 part (i.e. 96 + v4 bits of the mapped address) on rows whose
   * family is 4. Any bit length (0-128 / 0-32), not only multiples of 8.
   */
  addrPrefix(column: string, familyColumn: string, v6: number, v4: number): string;
  /** SQL for "address column within [first, last]" (16-byte inclusive bounds), values bound through ctx. */
  addrRange(column: string, first: Uint8Array, last: Uint8Array, ctx: QueryContext): string;
  /** Convert a value read from the driver back to the model (addr → 16 bytes, time → epoch ms, counters → number). */
  decode(value: unknown, kind: ResultKind): number | string | Uint8Array;
}

/** Identifiers the dialects accept: lowercase snake_case, as the schema declares them. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

const U128 = (1n << 128n) - 1n;

/** The 128-bit mask with the top `bits` bits set (0 … 128). */
export function mask128(bits: number): bigint {
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new RangeError(`invalid mask length ${bits}`);
  if (bits === 0) return 0n;
  return (U128 >> BigInt(128 - bits)) << BigInt(128 - bits);
}

/** Check prefix lengths for `addrPrefix` (shared by dialects; the compiler checks first with a QueryError). */
export function checkPrefixBits(v6: number, v4: number): void {
  if (!Number.isInteger(v6) || v6 < 0 || v6 > 128) throw new RangeError(`invalid IPv6 prefix length ${v6}`);
  if (!Number.isInteger(v4) || v4 < 0 || v4 > 32) throw new RangeError(`invalid IPv4 prefix length ${v4}`);
}

function checkBucket(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`invalid time bucket ${ms}`);
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === undefined) return 0;
  if (typeof v === 'object' && 'millis' in v && typeof (v as { millis: unknown }).millis === 'bigint') {
    return Number((v as { millis: bigint }).millis);
  }
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  throw new TypeError(`cannot read ${String(v)} as a number`);
}

/**
 * DuckDB: positional parameters, UHUGEINT addresses (the big-endian value of the 16 bytes, so a
 * prefix is a BETWEEN range and masking is `&`), BIGINT epoch-millisecond times (so buckets are
 * integer arithmetic and the bound values are the model's numbers).
 */
export const duckdbDialect: Dialect = {
  name: 'duckdb',
  quote(id) {
    if (!IDENTIFIER.test(id)) throw new Error(`invalid identifier ${JSON.stringify(id)}`);
    return `"${id}"`;
  },
  columnType(kind) {
    switch (kind) {
      case 'time':
        return 'BIGINT'; // epoch milliseconds; epoch_ms(col) gives a TIMESTAMP when needed
      case 'addr':
        return 'UHUGEINT';
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
  newContext() {
    const params: BoundParam[] = [];
    return {
      params,
      bind(value, kind) {
        params.push({ value, kind });
        return `$${params.length}`;
      },
    };
  },
  timeBucket(column, ms) {
    checkBucket(ms);
    return `((${column} // ${ms}) * ${ms})`;
  },
  addrPrefix(column, familyColumn, v6, v4) {
    checkPrefixBits(v6, v4);
    // Masks are computed from the validated lengths, never from user text.
    const m6 = mask128(v6).toString();
    const m4 = mask128(96 + v4).toString();
    return `(CASE WHEN ${familyColumn} = 4 THEN ${column} & ${m4}::UHUGEINT ELSE ${column} & ${m6}::UHUGEINT END)`;
  },
  addrRange(column, first, last, ctx) {
    return `${column} BETWEEN ${ctx.bind(first, 'addr')} AND ${ctx.bind(last, 'addr')}`;
  },
  decode(value, kind) {
    switch (kind) {
      case 'addr':
        return bigIntToAddr(typeof value === 'bigint' ? value : BigInt(value as number | string));
      case 'string':
        return value === null || value === undefined ? '' : String(value);
      default:
        return toNumber(value);
    }
  },
};

/** The DuckDB value of an address: the 16 bytes as a big-endian unsigned 128-bit integer. */
export const addrToUHugeInt = addrToBigInt;
