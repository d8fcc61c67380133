/**
 * Columnar appends for DuckDB: rows are written column by column into scratch buffers owned by
 * JavaScript, each buffer is copied into the matching vector of one reused DuckDB data chunk with a
 * single native call (`copy_data_to_vector`), and the chunk (2048 rows) goes to the appender in one
 * call — instead of one native call per value.
 *
 * Layouts written (DuckDB's in-memory formats, little-endian):
 * - numbers: the value's bytes (u64/time/mac: non-negative integers below 2^53 as two 32-bit words);
 * - addresses (UHUGEINT): the 16 big-endian address bytes reversed (the address is the 128-bit value);
 * - strings (VARCHAR, `string_t`, 16 bytes): a string of at most 12 UTF-8 bytes is stored inline —
 *   its length (u32) then its bytes, zero padded — and is written by us like a number. A longer one
 *   needs a pointer into the vector's own string heap, which only DuckDB can allocate: it is left
 *   empty in the copy and assigned afterwards with `vector_assign_string_element_len` (one native
 *   call per long value). UTF-8 bytes are cached per distinct string (flows repeat the same exporter,
 *   device and DNS names).
 *
 * Every vector starts all-valid after `data_chunk_reset` and no value is NULL (the schema has no
 * NULLs), so no validity mask is written. The store tests read every value back, hostile strings
 * included, and compare them with what was appended.
 */
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { FieldKind } from '../../schema/fields.js';

/** DuckDB's vector size: the most rows a data chunk holds. */
export const CHUNK_ROWS = 2048;

export interface ChunkColumn {
  readonly name: string;
  readonly kind: FieldKind;
  /** A number column whose value is the same for every row of an append, given to `append` (not a row property). */
  readonly constant?: boolean;
}

type Row = Record<string, unknown>;

const TWO32 = 2 ** 32;
/** Bytes per value in a vector of each kind. */
const WIDTH: Record<FieldKind, number> = { time: 8, u64: 8, mac: 8, addr: 16, u8: 1, u16: 2, u32: 4, string: 16 };
/** Longest string DuckDB keeps inline in its 16-byte string_t. */
const INLINE_MAX = 12;

/**
 * A string's cached form: its `string_t` when it is inline (16 bytes), else its UTF-8 bytes
 * (assigned through DuckDB).
 */
interface StrEntry {
  inline: Uint8Array | null;
  utf8: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Distinct strings remembered per writer before the cache starts over, and the longest one
 * remembered (UTF-8 bytes): together they bound the cache to about 25 MB whatever the names.
 */
const STRING_CACHE_MAX = 65_536;
const STRING_CACHE_MAX_BYTES = 256;

/**
 * Column fillers, generated once per (kind, column name): the loop reads `row.<name>` as a named
 * property (one hidden class for all records, so the load is monomorphic) instead of `row[name]`.
 * Arguments: (dv, bytes, rows, from, n, str, long, k). For strings, `str(s)` returns the cached entry
 * and rows whose value is long are collected in `long` (as row index, entry); `k` is a constant column's value.
 */
type Filler = (dv: DataView, bytes: Uint8Array, rows: readonly Row[], from: number, n: number, str: (s: string) => StrEntry, long: LongList, k: unknown) => void;

/** Rows of a string column whose values DuckDB must allocate. */
interface LongList {
  n: number;
  rows: Int32Array;
  entries: StrEntry[];
}

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
      return (
        `long.n = 0;\n` +
        `for (let i = 0; i < n; i++) {\n` +
        `  const e = str(${get});\n` +
        `  if (e.inline !== null) bytes.set(e.inline, i * 16);\n` +
        `  else { bytes.fill(0, i * 16, i * 16 + 16); long.rows[long.n] = i; long.entries[long.n++] = e; }\n` +
        `}`
      );
  }
}

function fillerFor(kind: FieldKind, name: string, constant: boolean): Filler {
  const key = `${kind}:${name}:${constant}`;
  let f = fillers.get(key);
  if (!f) {
    if (constant && kind === 'string') throw new Error(`constant column ${name} must be a number`);
    const get = constant ? 'k' : IDENT.test(name) ? `rows[from + i].${name}` : `rows[from + i][${JSON.stringify(name)}]`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('dv', 'bytes', 'rows', 'from', 'n', 'str', 'long', 'k', `'use strict'; ${bodyFor(kind, get)}`) as Filler;
    fillers.set(key, f);
  }
  return f;
}

/**
 * Writes rows of one column layout into DuckDB appenders. Holds one data chunk and one scratch
 * buffer per column, reused by every append (one writer per table layout; not shared between
 * concurrent appends — the store serialises them).
 */
export class ChunkWriter {
  private readonly chunk: DuckDBDataChunk;
  private readonly scratch: Uint8Array[];
  private readonly views: DataView[];
  private readonly fill: Filler[];
  private readonly long: LongList = { n: 0, rows: new Int32Array(CHUNK_ROWS), entries: [] };
  private strings = new Map<string, StrEntry>();
  private readonly str = (s: string): StrEntry => {
    let e = this.strings.get(s);
    if (e === undefined) {
      if (typeof s !== 'string') throw new TypeError(`not a string: ${typeof s}`);
      const utf8 = encoder.encode(s);
      let inline: Uint8Array | null = null;
      if (utf8.length <= INLINE_MAX) {
        inline = new Uint8Array(16);
        new DataView(inline.buffer).setUint32(0, utf8.length, true);
        inline.set(utf8, 4);
      }
      e = { inline, utf8 };
      if (utf8.length <= STRING_CACHE_MAX_BYTES) {
        if (this.strings.size >= STRING_CACHE_MAX) this.strings = new Map();
        this.strings.set(s, e);
      }
    }
    return e;
  };

  constructor(
    readonly columns: readonly ChunkColumn[],
    types: readonly DuckDBType[],
  ) {
    if (types.length !== columns.length) throw new Error(`${columns.length} columns but ${types.length} types`);
    this.chunk = DuckDBDataChunk.create(types);
    this.scratch = columns.map((c) => new Uint8Array(WIDTH[c.kind] * CHUNK_ROWS));
    this.views = this.scratch.map((b) => new DataView(b.buffer));
    this.fill = columns.map((c) => fillerFor(c.kind, c.name, c.constant === true));
  }

  /**
   * Append rows [start, end) (records with every column as a property) to the appender's table, in
   * this writer's column order; `constants` gives the value of each constant column.
   */
  append(app: DuckDBAppender, rows: readonly Row[], start = 0, end = rows.length, constants: Readonly<Record<string, number>> = {}): void {
    const chunk = this.chunk.chunk;
    const long = this.long;
    const k = this.columns.map((c) => {
      if (!c.constant) return undefined;
      const v = constants[c.name];
      if (!Number.isSafeInteger(v) || v! < 0) throw new Error(`constant column ${c.name}: ${String(v)} is not a non-negative integer`);
      return v;
    });
    for (let from = start; from < end; from += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, end - from);
      duckdb.data_chunk_reset(chunk);
      duckdb.data_chunk_set_size(chunk, n);
      for (let c = 0; c < this.columns.length; c++) {
        const bytes = this.scratch[c]!;
        this.fill[c]!(this.views[c]!, bytes, rows, from, n, this.str, long, k[c]);
        const vector = duckdb.data_chunk_get_vector(chunk, c);
        duckdb.copy_data_to_vector(vector, 0, bytes.buffer as ArrayBuffer, 0, n * WIDTH[this.columns[c]!.kind]);
        if (this.columns[c]!.kind === 'string') {
          for (let k = 0; k < long.n; k++) duckdb.vector_assign_string_element_len(vector, long.rows[k]!, long.entries[k]!.utf8);
          long.entries.length = 0;
          long.n = 0;
        }
      }
      app.appendDataChunk(this.chunk);
    }
  }
}
