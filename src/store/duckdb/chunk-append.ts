/**
 * Columnar appends for DuckDB: rows are written column by column straight into the memory of
 * DuckDB data chunks (2048 rows each) and each chunk is handed to the appender in one call —
 * instead of one native call per value (29 per flow). Numbers are written as little-endian words
 * without BigInt; addresses (UHUGEINT) as their 16 bytes reversed (the big-endian address is the
 * 128-bit value, DuckDB stores it little-endian); strings through the VARCHAR vector.
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

/** Write one column of rows [from, from + n) into vector `v` of the chunk. */
function fillColumn(v: DuckDBVector, kind: FieldKind, name: string, rows: readonly Row[], from: number, n: number): void {
  const dv = kind === 'string' ? null : rawView(v);
  if (dv === null) {
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
    return;
  }
  const bytes = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
  switch (kind) {
    case 'u8':
      for (let i = 0; i < n; i++) bytes[i] = rows[from + i]![name] as number;
      break;
    case 'u16':
      for (let i = 0; i < n; i++) dv.setUint16(i * 2, rows[from + i]![name] as number, true);
      break;
    case 'u32':
      for (let i = 0; i < n; i++) dv.setUint32(i * 4, rows[from + i]![name] as number, true);
      break;
    case 'time':
    case 'u64':
    case 'mac':
      // non-negative integers below 2^53: two little-endian 32-bit words (valid for BIGINT too)
      for (let i = 0; i < n; i++) {
        const x = rows[from + i]![name] as number;
        dv.setUint32(i * 8, x >>> 0, true);
        dv.setUint32(i * 8 + 4, (x - (x >>> 0)) / TWO32, true);
      }
      break;
    case 'addr':
      for (let i = 0; i < n; i++) {
        const a = rows[from + i]![name] as Uint8Array;
        const o = i * 16 + 15;
        for (let k = 0; k < 16; k++) bytes[o - k] = a[k]!;
      }
      break;
    default:
      throw new Error(`no columnar writer for kind ${kind}`);
  }
}

/**
 * Append `rows` (records with every column as a property) to the appender's table, whose columns
 * are `columns` in order with the given DuckDB types.
 */
export function appendRows(app: DuckDBAppender, columns: readonly ChunkColumn[], types: readonly DuckDBType[], rows: readonly Row[]): void {
  for (let from = 0; from < rows.length; from += CHUNK_ROWS) {
    const n = Math.min(CHUNK_ROWS, rows.length - from);
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
