/**
 * Columnar appends for DuckDB: rows are written column by column straight into the memory of
 * DuckDB data chunks (2048 rows each) and each chunk is handed to the appender in one call —
 * instead of one native call per value (29 per flow). Numbers are written as little-endian words
 * without BigInt; addresses (UHUGEINT) as their 16 bytes reversed (the big-endian address is the
 * 128-bit value, DuckDB stores it little-endian); strings through the VARCHAR vector. The loops
 * are generated per column so that each reads its property by name (monomorphic), not by a variable key.
 *
 * The vectors' typed-array views are not part of @duckdb/node-api's typed surface, so they are
 * reached through `rawView` with a runtime check: if a future version moves them, appends fall back
 * to the public `setItem` path (slower, same result) instead of writing to the wrong place. The
 * version is pinned in package.json, and the store tests compare every value read back.
 */
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import { addrToBigInt } from '../../net/ip.js';
import type { FieldKind } from '../../schema/fields.js';

/** DuckDB's vector size: the most rows a data chunk holds. */
export const CHUNK_ROWS = 2048;

export interface ChunkColumn {
  readonly name: string;
  readonly kind: FieldKind;
}

type Row = Record<string, unknown>;

/** The bytes behind a fixed-width vector, or null when this node-api version hides them. */
function rawView(v: DuckDBVector): DataView | null {
  const o = v as unknown as { items?: unknown; dataView?: unknown };
  if (o.dataView instanceof DataView) return o.dataView;
  if (ArrayBuffer.isView(o.items)) return new DataView(o.items.buffer, o.items.byteOffset, o.items.byteLength);
  return null;
}

const TWO32 = 2 ** 32;

/** Write one column of rows [from, from + n) into vector `v` through the public setItem path. */
function fillColumnSlow(v: DuckDBVector, kind: FieldKind, name: string, rows: readonly Row[], from: number, n: number): void {
  const set = v as unknown as { setItem(i: number, value: unknown): void };
  for (let i = 0; i < n; i++) {
    const x = rows[from + i]![name];
    switch (kind) {
      case 'string':
        set.setItem(i, x as string);
        break;
      case 'addr':
        set.setItem(i, addrToBigInt(x as Uint8Array));
        break;
      case 'time':
      case 'u64':
      case 'mac':
        set.setItem(i, BigInt(x as number));
        break;
      default:
        set.setItem(i, x as number);
    }
  }
}

/**
 * Column fillers, generated once per (kind, column name): the loop reads `row.<name>` as a named
 * property (one hidden class for all records, so the load is monomorphic) instead of `row[name]`
 * with a variable key. Arguments: (dv, bytes, rows, from, n, setItem).
 */
type Filler = (dv: DataView, bytes: Uint8Array, rows: readonly Row[], from: number, n: number, setItem: (i: number, value: unknown) => void) => void;
const fillers = new Map<string, Filler>();
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function bodyFor(kind: FieldKind, get: string): string {
  switch (kind) {
    case 'u8':
      return `for (let i = 0; i < n; i++) bytes[i] = ${get};`;
    case 'u16':
      return `for (let i = 0; i < n; i++) dv.setUint16(i * 2, ${get}, true);`;
    case 'u32':
      return `for (let i = 0; i < n; i++) dv.setUint32(i * 4, ${get}, true);`;
    case 'time':
    case 'u64':
    case 'mac':
      // non-negative integers below 2^53: two little-endian 32-bit words (valid for BIGINT too)
      return `for (let i = 0; i < n; i++) { const x = ${get}; const lo = x >>> 0; dv.setUint32(i * 8, lo, true); dv.setUint32(i * 8 + 4, (x - lo) / ${TWO32}, true); }`;
    case 'addr':
      // the big-endian 16 bytes are the 128-bit value; DuckDB keeps it little-endian
      return `for (let i = 0; i < n; i++) { const a = ${get}; const o = i * 16 + 15; for (let k = 0; k < 16; k++) bytes[o - k] = a[k]; }`;
    case 'string':
      // through DuckDB's string heap (assigned at the vector's flush): the VARCHAR vector's data
      // view is not the vector's live memory in this node-api version, so it is never written directly
      return `for (let i = 0; i < n; i++) setItem(i, ${get});`;
  }
}

function fillerFor(kind: FieldKind, name: string): Filler {
  const key = `${kind}:${name}`;
  let f = fillers.get(key);
  if (!f) {
    const get = IDENT.test(name) ? `rows[from + i].${name}` : `rows[from + i][${JSON.stringify(name)}]`;
    f = new Function('dv', 'bytes', 'rows', 'from', 'n', 'setItem', `'use strict'; ${bodyFor(kind, get)}`) as Filler;
    fillers.set(key, f);
  }
  return f;
}

/** Write one column of rows [from, from + n) into vector `v` of the chunk. */
function fillColumn(v: DuckDBVector, kind: FieldKind, name: string, rows: readonly Row[], from: number, n: number): void {
  const set = v as unknown as { setItem(i: number, value: unknown): void };
  if (kind === 'string') return fillerFor(kind, name)(EMPTY_VIEW, EMPTY_BYTES, rows, from, n, (i, x) => set.setItem(i, x));
  const dv = rawView(v);
  if (dv === null) return fillColumnSlow(v, kind, name, rows, from, n);
  fillerFor(kind, name)(dv, new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), rows, from, n, noSet);
}

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);
const noSet = (): void => {
  throw new Error('setItem on a fixed-width column');
};

/**
 * Append `rows` [start, end) (records with every column as a property) to the appender's table,
 * whose columns are `columns` in order with the given DuckDB types.
 */
export function appendRows(app: DuckDBAppender, columns: readonly ChunkColumn[], types: readonly DuckDBType[], rows: readonly Row[], start = 0, end = rows.length): void {
  for (let from = start; from < end; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, end - from);
    const chunk = DuckDBDataChunk.create(types, n);
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      const v = chunk.getColumnVector(c);
      fillColumn(v, col.kind, col.name, rows, from, n);
      v.flush();
    }
    app.appendDataChunk(chunk);
  }
}
