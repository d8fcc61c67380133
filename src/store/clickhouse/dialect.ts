/**
 * The ClickHouse dialect: how the shared compiler (../compile.ts) writes SQL for ClickHouse.
 *
 * It must work with Debian's clickhouse-server 18.16 and with current releases, so it only uses
 * what both have. Server features relied on (by this file and by ./store.ts):
 * - Types: UInt8/16/32/64, String, FixedString(16) (no IPv6 type in 18.16). Times are UInt64 epoch
 *   milliseconds (18.16 has no DateTime64).
 * - String literals with backslash escapes (`\\`, `\'`, `\xHH`); comparing a FixedString(16) column
 *   with a 16-byte String literal (`=`, `<>`, `IN`, `BETWEEN`: byte-wise, i.e. lexicographic).
 * - Functions: intDiv, toUInt64, toUInt8, substring, concat, toFixedString (pads with NUL bytes),
 *   reinterpretAsUInt8, bitAnd, hex, unhex, if, sum/min/max/count, toDateTime(x, 'UTC'), toDate,
 *   toYYYYMM.
 * - Backtick-quoted identifiers; SELECT aliases usable in GROUP BY / ORDER BY.
 * - Store (./store.ts): HTTP interface (POST body or `query` URL parameter, `database` parameter,
 *   settings send_progress_in_http_headers / http_headers_progress_interval_ms), formats RowBinary
 *   (insert) and TabSeparatedWithNamesAndTypes (select); CREATE DATABASE/TABLE ... IF NOT EXISTS;
 *   MergeTree with PARTITION BY / ORDER BY expressions; SummingMergeTree((columns));
 *   ReplacingMergeTree(version) + argMax; CREATE MATERIALIZED VIEW ... TO <table>; ALTER TABLE
 *   ADD COLUMN, DROP PARTITION ID, DELETE WHERE (mutations); system.columns, system.parts
 *   (partition_id, active), system.mutations (is_done).
 * - Not available in 18.16 and therefore NOT used: server-side query parameters ({name:Type}),
 *   TRUE/FALSE literals (the store folds constant filters away before compiling), IPv6 type and
 *   IPv6CIDRToRange, DateTime64, TTL, ADD COLUMN IF NOT EXISTS, mutations_sync,
 *   insert_deduplication_token, RowBinaryWithNamesAndTypes / JSONCompactEachRow formats.
 *
 * Values: 18.16 has no server-side parameters, so `bind` returns a literal from a strict encoder:
 * numbers must be safe non-negative integers (written in decimal), strings are written as quoted
 * literals where only printable ASCII other than `'` and `\` appears as itself and every other byte
 * of the UTF-8 encoding (NUL, control characters, quotes, backslashes, non-ASCII) as an escape, and
 * addresses as a 16-byte literal of `\xHH` escapes. The generated SQL is therefore pure printable
 * ASCII and a value can never end its literal.
 */
import { IDENTIFIER, checkPrefixBits, type BindKind, type BindValue, type Dialect, type QueryContext, type ResultKind } from '../dialect.js';
import type { FieldKind } from '../../schema/fields.js';

const HEX = '0123456789abcdef';

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * A ClickHouse string literal for `s` (any JavaScript string: NUL, newlines, quotes, backslashes,
 * non-ASCII). Printable ASCII other than `'` and `\` is kept (readable SQL); `'` and `\` are
 * backslash-escaped; every other byte of the UTF-8 encoding is written as `\xHH`. Lone UTF-16
 * surrogates are encoded as U+FFFD, as every UTF-8 encoder does.
 */
export function quoteString(s: string): string {
  if (typeof s !== 'string') throw new TypeError(`expected a string, got ${typeof s}`);
  const bytes = Buffer.from(s, 'utf8');
  let out = "'";
  for (const b of bytes) {
    if (b === 0x27) out += "\\'";
    else if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += hexByte(b);
  }
  return `${out}'`;
}

/** A ClickHouse literal for 16 address bytes: `'\x20\x01...'` (compares with FixedString(16)). */
export function quoteAddr(a: Uint8Array): string {
  if (!(a instanceof Uint8Array) || a.length !== 16) throw new TypeError('an address literal needs exactly 16 bytes');
  let out = "'";
  for (const b of a) out += hexByte(b);
  return `${out}'`;
}

/** A decimal literal for a safe non-negative integer (anything else is refused). */
export function quoteUInt(n: number): string {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a safe non-negative integer, got ${String(n)}`);
  return String(n);
}

const MAX_BY_KIND: Partial<Record<BindKind, number>> = { u8: 0xff, u16: 0xffff, u32: 0xffff_ffff, mac: 0xffff_ffff_ffff };

/** The literal for a value of a kind; the value must match the kind exactly. */
export function encodeLiteral(value: BindValue, kind: BindKind): string {
  switch (kind) {
    case 'string':
      if (typeof value !== 'string') throw new TypeError(`a string value was expected for kind string, got ${typeof value}`);
      return quoteString(value);
    case 'addr':
      if (!(value instanceof Uint8Array)) throw new TypeError(`a 16-byte Uint8Array was expected for kind addr, got ${typeof value}`);
      return quoteAddr(value);
    default: {
      if (typeof value !== 'number') throw new TypeError(`a number was expected for kind ${kind}, got ${typeof value}`);
      const lit = quoteUInt(value);
      const max = MAX_BY_KIND[kind];
      if (max !== undefined && value > max) throw new RangeError(`${value} is out of range for kind ${kind}`);
      return lit;
    }
  }
}

/**
 * SQL for the top `bits` bits of a FixedString(16) column, as FixedString(16): the whole bytes kept
 * by `substring`, the partial byte masked with `bitAnd` (turned back into one byte by
 * unhex(hex(UInt8)), which is exactly two hex digits), the rest NUL padding from `toFixedString`.
 */
function maskFixed(column: string, bits: number): string {
  if (bits === 128) return column;
  const full = bits >> 3;
  const rem = bits & 7;
  const parts: string[] = [];
  if (full > 0) parts.push(`substring(${column}, 1, ${full})`);
  if (rem > 0) {
    const m = (0xff << (8 - rem)) & 0xff;
    parts.push(`unhex(hex(toUInt8(bitAnd(reinterpretAsUInt8(substring(${column}, ${full + 1}, 1)), ${m}))))`);
  }
  const body = parts.length === 0 ? "''" : parts.length === 1 ? parts[0]! : `concat(${parts.join(', ')})`;
  return `toFixedString(${body}, 16)`;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null || v === undefined) return 0;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  throw new TypeError(`cannot read ${String(v)} as a number`);
}

function toAddr(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length === 16) return new Uint8Array(v);
    if (v.length < 16) {
      // FixedString values come back exactly 16 bytes; be lenient with a trimmed String.
      const out = new Uint8Array(16);
      out.set(v);
      return out;
    }
  }
  if (typeof v === 'string' && /^[0-9a-fA-F]{32}$/.test(v)) return new Uint8Array(Buffer.from(v, 'hex'));
  throw new TypeError(`cannot read ${typeof v} as a 16-byte address`);
}

/**
 * ClickHouse: literal values from the strict encoder above, FixedString(16) addresses (a prefix
 * filter is a byte-wise BETWEEN, masking is done byte by byte), UInt64 epoch-millisecond times (so
 * buckets are integer arithmetic and the bound values are the model's numbers).
 */
export const clickhouseDialect: Dialect = {
  name: 'clickhouse',
  quote(id) {
    if (!IDENTIFIER.test(id)) throw new Error(`invalid identifier ${JSON.stringify(id)}`);
    return `\`${id}\``;
  },
  columnType(kind: FieldKind) {
    switch (kind) {
      case 'time':
        return 'UInt64'; // epoch milliseconds (no DateTime64 in 18.16)
      case 'addr':
        return 'FixedString(16)';
      case 'mac':
        return 'UInt64';
      case 'u8':
        return 'UInt8';
      case 'u16':
        return 'UInt16';
      case 'u32':
        return 'UInt32';
      case 'u64':
        return 'UInt64';
      case 'string':
        return 'String';
    }
  },
  newContext(): QueryContext {
    return {
      params: [],
      bind: (value, kind) => encodeLiteral(value, kind),
    };
  },
  timeBucket(column, ms) {
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`invalid time bucket ${ms}`);
    return `toUInt64(intDiv(${column}, ${ms}) * ${ms})`;
  },
  addrPrefix(column, familyColumn, v6, v4) {
    checkPrefixBits(v6, v4);
    return `if(${familyColumn} = 4, ${maskFixed(column, 96 + v4)}, ${maskFixed(column, v6)})`;
  },
  addrRange(column, first, last, ctx) {
    return `${column} BETWEEN ${ctx.bind(first, 'addr')} AND ${ctx.bind(last, 'addr')}`;
  },
  decode(value: unknown, kind: ResultKind) {
    switch (kind) {
      case 'addr':
        return toAddr(value);
      case 'string':
        if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
        return value === null || value === undefined ? '' : String(value);
      default:
        return toNumber(value);
    }
  },
};
