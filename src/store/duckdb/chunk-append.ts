/**
 * Columnar appends for DuckDB: one pass over the rows (a function generated per column layout)
 * writes every column's scratch buffer owned by JavaScript, each buffer is copied into the matching
 * vector of one reused DuckDB data chunk with a single native call (`copy_data_to_vector`), and the
 * chunk (2048 rows) goes to the appender in one call — instead of one native call per value.
 *
 * Layouts written (DuckDB's in-memory formats, little-endian):
 * - numbers: the value's bytes (u64/time/mac: non-negative integers below 2^53 as two 32-bit words);
 * - addresses (UHUGEINT): the 16 big-endian address bytes reversed (the address is the 128-bit value);
 * - strings (VARCHAR, `string_t`, 16 bytes — `duckdb_string_t` in duckdb.h): a string of at most
 *   12 UTF-8 bytes is stored inline — its length (u32) then its bytes, zero padded — and is written
 *   by us like a number. A longer one is its length, its first 4 bytes and a pointer to its bytes,
 *   which must live in the vector's own string heap, and only DuckDB allocates there. So a chunk's
 *   long values of a column are concatenated into segments of up to 64 kB, each segment is given to
 *   DuckDB as one string (`vector_assign_string_element_len`, which copies it into the heap), its
 *   heap address is read back from the vector (`vector_get_data`), and every long value's string_t
 *   points into it: two native calls per segment instead of one per value (strings are
 *   written, and read, by length — DuckDB does not need them NUL-terminated). A value longer than a
 *   segment is assigned on its own. UTF-8 bytes are cached per distinct string (flows repeat the same
 *   exporter, device and DNS names).
 *
 * Rows come as records (`append`: one generated pass per layout) or as ranges of columnar batches
 * (`appendColumnar`: `serve`'s collector batches, typed arrays per field — the 8/16/32-bit ones are
 * copied into the vectors as they are).
 *
 * Every vector starts all-valid after `data_chunk_reset` and no value is NULL (the schema has no
 * NULLs), so no validity mask is written. The store tests read every value back, hostile strings
 * included, and compare them with what was appended.
 */
import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import type { FieldKind } from '../../schema/fields.js';
import { isConstantColumn, type ColumnarSource } from '../store.js';

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
 * A string's cached form: its `string_t` when it is inline (16 bytes, as four native 32-bit words),
 * else its UTF-8 bytes (assigned through DuckDB).
 */
interface StrEntry {
  inline: Uint32Array | null;
  utf8: Uint8Array;
  /** Its first four bytes as a little-endian word (the string_t prefix of a long string). */
  prefix: number;
}

/** Long values of one column and chunk are handed to DuckDB in segments of at most this many bytes. */
const SEGMENT_BYTES = 65_536;

const encoder = new TextEncoder();

/**
 * Distinct strings remembered per writer before the cache starts over, and the longest one
 * remembered (UTF-8 bytes): together they bound the cache to about 25 MB whatever the names.
 */
const STRING_CACHE_MAX = 65_536;
const STRING_CACHE_MAX_BYTES = 256;

/** The scratch layouts are written through native-endian typed arrays: DuckDB's are little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Rows of a string column whose values DuckDB must allocate. */
interface LongList {
  n: number;
  rows: Int32Array;
  entries: StrEntry[];
}

/**
 * A layout's filler, generated once per column layout: one pass over the rows reads each record
 * once (its properties by name, `row.<name>`: one hidden class for all records, so the loads are
 * monomorphic) and writes every column's scratch buffer — instead of one pass per column, which
 * walked all the records again for each of the ~35 columns. Arguments: (rows, from, n, views, str,
 * longs): `views[c]` is column c's scratch buffer as the typed array its kind is written through,
 * `longs[c]` collects a string column's rows whose value DuckDB must allocate. A string column keeps
 * its previous row's value and entry: flows repeat the same exporter, source and device in runs, and
 * a repeat costs one comparison instead of a cache lookup. Constant columns are not written here.
 */
type LayoutFiller = (rows: readonly Row[], from: number, n: number, views: readonly ArrayBufferView[], str: (s: string) => StrEntry, longs: readonly (LongList | null)[]) => void;

const layoutFillers = new Map<string, LayoutFiller>();
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The statement writing row `i`'s value of column `c` (typed array `v<c>`; `r` is the record). */
function cellFor(kind: FieldKind, c: number, get: string): string {
  const v = `v${c}`;
  switch (kind) {
    case 'u8':
    case 'u16':
    case 'u32':
      return `${v}[i] = ${get};`;
    case 'time':
    case 'u64':
    case 'mac':
      // non-negative integers below 2^53: two little-endian 32-bit words (valid for BIGINT too)
      return `{ const x = ${get}; const lo = x >>> 0; ${v}[2 * i] = lo; ${v}[2 * i + 1] = (x - lo) / ${TWO32}; }`;
    case 'addr':
      // the big-endian 16 bytes are the 128-bit value; DuckDB keeps it little-endian: the last four
      // bytes are the lowest word
      return (
        `{ const a = ${get}; const o = 4 * i;` +
        ` ${v}[o] = ((a[12] << 24) | (a[13] << 16) | (a[14] << 8) | a[15]) >>> 0;` +
        ` ${v}[o + 1] = ((a[8] << 24) | (a[9] << 16) | (a[10] << 8) | a[11]) >>> 0;` +
        ` ${v}[o + 2] = ((a[4] << 24) | (a[5] << 16) | (a[6] << 8) | a[7]) >>> 0;` +
        ` ${v}[o + 3] = ((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3]) >>> 0; }`
      );
    case 'string':
      return (
        `{ const s = ${get}; let e; if (s === last${c}) e = entry${c}; else { e = str(s); last${c} = s; entry${c} = e; }\n` +
        `  const q = e.inline; const o = 4 * i;\n` +
        `  if (q !== null) { ${v}[o] = q[0]; ${v}[o + 1] = q[1]; ${v}[o + 2] = q[2]; ${v}[o + 3] = q[3]; }\n` +
        `  else { ${v}[o] = 0; ${v}[o + 1] = 0; ${v}[o + 2] = 0; ${v}[o + 3] = 0; const l = long${c}; l.rows[l.n] = i; l.entries[l.n++] = e; } }`
      );
  }
}

function layoutFillerFor(columns: readonly ChunkColumn[]): LayoutFiller {
  const key = columns.map((c) => `${c.kind}:${c.constant === true}:${c.name}`).join('\u0000');
  let f = layoutFillers.get(key);
  if (!f) {
    const head: string[] = [];
    const body: string[] = [];
    columns.forEach((c, i) => {
      if (c.constant) {
        if (c.kind === 'string') throw new Error(`constant column ${c.name} must be a number`);
        return;
      }
      head.push(`const v${i} = views[${i}];`);
      if (c.kind === 'string') head.push(`const long${i} = longs[${i}]; let last${i} = NONE, entry${i} = null;`);
      const get = IDENT.test(c.name) ? `r.${c.name}` : `r[${JSON.stringify(c.name)}]`;
      body.push(cellFor(c.kind, i, get));
    });
    const src = `'use strict';\nconst NONE = {};\n${head.join('\n')}\nfor (let i = 0; i < n; i++) {\nconst r = rows[from + i];\n${body.join('\n')}\n}`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    f = new Function('rows', 'from', 'n', 'views', 'str', 'longs', src) as LayoutFiller;
    layoutFillers.set(key, f);
  }
  return f;
}

/** Column c's scratch buffer as the typed array its values are written through. */
function viewOf(kind: FieldKind, buf: ArrayBuffer): ArrayBufferView {
  if (kind === 'u8') return new Uint8Array(buf);
  if (kind === 'u16') return new Uint16Array(buf);
  return new Uint32Array(buf);
}

/** Write constant column values (one value for every row). */
function fillConstant(kind: FieldKind, view: ArrayBufferView, n: number, k: number): void {
  if (kind === 'u8' || kind === 'u16' || kind === 'u32') {
    (view as Uint8Array | Uint16Array | Uint32Array).fill(k, 0, n);
    return;
  }
  if (kind === 'time' || kind === 'u64' || kind === 'mac') {
    const w = view as Uint32Array;
    const lo = k >>> 0;
    const hi = (k - lo) / TWO32;
    for (let i = 0; i < n; i++) {
      w[2 * i] = lo;
      w[2 * i + 1] = hi;
    }
    return;
  }
  throw new Error(`constant column of kind ${kind} is not supported`);
}

/**
 * Writes rows of one column layout into DuckDB appenders. Holds one data chunk and one scratch
 * buffer per column, reused by every append (one writer per table layout; not shared between
 * concurrent appends — the store serialises them).
 */
export class ChunkWriter {
  private readonly chunk: DuckDBDataChunk;
  private readonly scratch: Uint8Array[];
  private readonly views: ArrayBufferView[];
  private readonly fill: LayoutFiller;
  /** Per string column, the rows DuckDB must allocate (null for other columns). */
  private readonly longs: (LongList | null)[];
  /** Where a segment of long values is put together. */
  private readonly segment = new Uint8Array(SEGMENT_BYTES);
  private strings = new Map<string, StrEntry>();
  private readonly str = (s: string): StrEntry => {
    let e = this.strings.get(s);
    if (e === undefined) {
      if (typeof s !== 'string') throw new TypeError(`not a string: ${typeof s}`);
      const utf8 = encoder.encode(s);
      let inline: Uint32Array | null = null;
      if (utf8.length <= INLINE_MAX) {
        inline = new Uint32Array(4);
        const b = new Uint8Array(inline.buffer);
        new DataView(inline.buffer).setUint32(0, utf8.length, true);
        b.set(utf8, 4);
      }
      e = { inline, utf8, prefix: (utf8[0]! | (utf8[1]! << 8) | (utf8[2]! << 16) | (utf8[3]! << 24)) >>> 0 };
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
    if (!LITTLE_ENDIAN) throw new Error('the DuckDB chunk writer needs a little-endian platform');
    this.fill = layoutFillerFor(columns);
    this.chunk = DuckDBDataChunk.create(types);
    this.scratch = columns.map((c) => new Uint8Array(WIDTH[c.kind] * CHUNK_ROWS));
    this.views = columns.map((c, i) => viewOf(c.kind, this.scratch[i]!.buffer as ArrayBuffer));
    this.longs = columns.map((c) => (c.kind === 'string' ? { n: 0, rows: new Int32Array(CHUNK_ROWS), entries: [] } : null));
  }

  /**
   * Append rows [start, end) (records with every column as a property) to the appender's table, in
   * this writer's column order; `constants` gives the value of each constant column.
   */
  append(app: DuckDBAppender, rows: readonly Row[], start = 0, end = rows.length, constants: Readonly<Record<string, number>> = {}): void {
    const chunk = this.chunk.chunk;
    const k = this.constantValues(constants);
    for (let from = start; from < end; from += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, end - from);
      duckdb.data_chunk_reset(chunk);
      duckdb.data_chunk_set_size(chunk, n);
      try {
        this.fill(rows, from, n, this.views, this.str, this.longs);
      } catch (e) {
        // a record that fails the batch leaves no entries behind for the next append
        this.clearLongs();
        throw e;
      }
      for (let c = 0; c < this.columns.length; c++) {
        const col = this.columns[c]!;
        if (col.constant) fillConstant(col.kind, this.views[c]!, n, k[c]!);
        this.copyColumn(c, duckdb.data_chunk_get_vector(chunk, c), n);
      }
      app.appendDataChunk(this.chunk);
    }
  }

  /** Each constant column's value (checked), undefined for the others. */
  private constantValues(constants: Readonly<Record<string, number>>): (number | undefined)[] {
    return this.columns.map((c) => {
      if (!c.constant) return undefined;
      const v = constants[c.name];
      if (!Number.isSafeInteger(v) || v! < 0) throw new Error(`constant column ${c.name}: ${String(v)} is not a non-negative integer`);
      return v;
    });
  }

  /** Copy column c's scratch (n rows) into its vector, long strings into the vector's heap. */
  private copyColumn(c: number, vector: duckdb.Vector, n: number): void {
    const long = this.longs[c];
    // long values: in segments first (their string_t go into the scratch copy), the ones too
    // long for a segment after the copy, on their own
    const huge = long && long.n > 0 ? this.segments(vector, this.views[c] as Uint32Array, long) : 0;
    duckdb.copy_data_to_vector(vector, 0, this.scratch[c]!.buffer as ArrayBuffer, 0, n * WIDTH[this.columns[c]!.kind]);
    if (long && long.n > 0) {
      for (let x = 0; x < huge; x++) duckdb.vector_assign_string_element_len(vector, long.rows[x]!, long.entries[x]!.utf8);
      long.entries.length = 0;
      long.n = 0;
    }
  }

  /**
   * Append rows [from, end) of a columnar batch (collect/flow-batch.ts: one typed array per schema
   * field, strings as indexes into per-batch dictionaries) without making records: `source[c]` is
   * the batch column (index into `batch.cols`) of this writer's column c, -1 for a constant one.
   * 8-, 16- and 32-bit columns already have DuckDB's layout and are copied from the batch as they
   * are; times and counters (float64) become two 32-bit words, addresses are reversed, and string
   * indexes become `string_t`s (each dictionary entry encoded once per batch).
   */
  appendColumnar(app: DuckDBAppender, batch: ColumnarSource, from: number, end: number, constants: Readonly<Record<string, number>>, source: Int32Array): void {
    const k = this.constantValues(constants);
    const entries = this.columns.map((c, i) => {
      if (c.constant) return null;
      const col = batch.cols[source[i]!];
      if (!col) throw new Error(`the columnar batch has no column for ${c.name}`);
      return c.kind === 'string' ? this.dictEntries(batch.dicts[source[i]!]!) : null;
    });
    try {
      this.appendColumnarChunks(app, batch, from, end, k, source, entries);
    } catch (e) {
      // a failed chunk leaves no long values behind for the next append
      this.clearLongs();
      throw e;
    }
  }

  private clearLongs(): void {
    for (const l of this.longs) {
      if (l) {
        l.n = 0;
        l.entries.length = 0;
      }
    }
  }

  private appendColumnarChunks(app: DuckDBAppender, batch: ColumnarSource, from: number, end: number, k: readonly (number | undefined)[], source: Int32Array, entries: readonly (StrEntry[] | null)[]): void {
    const chunk = this.chunk.chunk;
    for (let at = from; at < end; at += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, end - at);
      duckdb.data_chunk_reset(chunk);
      duckdb.data_chunk_set_size(chunk, n);
      for (let c = 0; c < this.columns.length; c++) {
        const col = this.columns[c]!;
        const vector = duckdb.data_chunk_get_vector(chunk, c);
        const w = WIDTH[col.kind];
        if (col.constant) fillConstant(col.kind, this.views[c]!, n, k[c]!);
        else {
          const src = batch.cols[source[c]!]!;
          // a constant batch column (one row): row 0 for every row
          const one = isConstantColumn(src, col.kind);
          const s = one ? 0 : 1;
          if (one && col.kind !== 'string' && col.kind !== 'addr') fillConstant(col.kind, this.views[c]!, n, src[0]!);
          else if (col.kind === 'u8' || col.kind === 'u16' || col.kind === 'u32') {
            duckdb.copy_data_to_vector(vector, 0, src.buffer as ArrayBuffer, src.byteOffset + at * w, n * w);
            continue;
          } else {
            const out = this.views[c] as Uint32Array;
            if (col.kind === 'addr') {
              const a = src as Uint8Array;
              for (let i = 0; i < n; i++) {
                const b = (at + i) * 16 * s;
                const o = 4 * i;
                out[o] = ((a[b + 12]! << 24) | (a[b + 13]! << 16) | (a[b + 14]! << 8) | a[b + 15]!) >>> 0;
                out[o + 1] = ((a[b + 8]! << 24) | (a[b + 9]! << 16) | (a[b + 10]! << 8) | a[b + 11]!) >>> 0;
                out[o + 2] = ((a[b + 4]! << 24) | (a[b + 5]! << 16) | (a[b + 6]! << 8) | a[b + 7]!) >>> 0;
                out[o + 3] = ((a[b]! << 24) | (a[b + 1]! << 16) | (a[b + 2]! << 8) | a[b + 3]!) >>> 0;
              }
            } else if (col.kind === 'string') {
              const ix = src as Uint32Array;
              const es = entries[c]!;
              const long = this.longs[c]!;
              for (let i = 0; i < n; i++) {
                const e = es[ix[(at + i) * s]!];
                if (e === undefined) throw new Error(`column ${col.name}: dictionary index ${ix[(at + i) * s]} out of range`);
                const q = e.inline;
                const o = 4 * i;
                if (q !== null) {
                  out[o] = q[0]!;
                  out[o + 1] = q[1]!;
                  out[o + 2] = q[2]!;
                  out[o + 3] = q[3]!;
                } else {
                  out[o] = out[o + 1] = out[o + 2] = out[o + 3] = 0;
                  long.rows[long.n] = i;
                  long.entries[long.n++] = e;
                }
              }
            } else {
              // time, u64, mac: non-negative integers below 2^53 in float64 → two little-endian words
              const f = src as Float64Array;
              for (let i = 0; i < n; i++) {
                const x = f[at + i]!;
                const lo = x >>> 0;
                out[2 * i] = lo;
                out[2 * i + 1] = (x - lo) / TWO32;
              }
            }
          }
        }
        this.copyColumn(c, vector, n);
      }
      app.appendDataChunk(this.chunk);
    }
  }

  /** Each dictionary's entries, encoded once (a dictionary only grows: new entries are added). */
  private readonly dictCache = new WeakMap<readonly string[], StrEntry[]>();
  private dictEntries(dict: readonly string[]): StrEntry[] {
    let es = this.dictCache.get(dict);
    if (!es) this.dictCache.set(dict, (es = []));
    for (let i = es.length; i < dict.length; i++) es.push(this.str(dict[i]!));
    return es;
  }

  /**
   * Put a column's long values into the vector's string heap in segments and write their string_t
   * (length, prefix, pointer) into `words` (the column's scratch, 4 words per row). Values longer
   * than a segment are moved to the front of `long` and their count returned: the caller assigns
   * them one by one after copying the scratch into the vector.
   */
  private segments(vector: duckdb.Vector, words: Uint32Array, long: LongList): number {
    let huge = 0;
    let first = 0; // the segment's first value (in long)
    let bytes = 0;
    const seg = this.segment;
    const flush = (end: number): void => {
      if (bytes === 0) return;
      const row0 = long.rows[first]!;
      duckdb.vector_assign_string_element_len(vector, row0, seg.subarray(0, bytes));
      // the segment's address in the heap: bytes 8-15 of row0's string_t (a copy of the vector's data)
      const head = duckdb.vector_get_data(vector, (row0 + 1) * 16);
      const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
      const lo = dv.getUint32(row0 * 16 + 8, true);
      const hi = dv.getUint32(row0 * 16 + 12, true);
      let off = 0;
      for (let x = first; x < end; x++) {
        const e = long.entries[x]!;
        if (e.utf8.length > SEGMENT_BYTES) continue;
        const o = 4 * long.rows[x]!;
        const p = lo + off;
        words[o] = e.utf8.length;
        words[o + 1] = e.prefix;
        words[o + 2] = p >>> 0;
        words[o + 3] = hi + (p >= TWO32 ? 1 : 0);
        off += e.utf8.length;
      }
      bytes = 0;
    };
    for (let x = 0; x < long.n; x++) {
      const e = long.entries[x]!;
      const len = e.utf8.length;
      if (len > SEGMENT_BYTES) continue;
      if (bytes + len > SEGMENT_BYTES) flush(x);
      if (bytes === 0) first = x;
      seg.set(e.utf8, bytes);
      bytes += len;
    }
    flush(long.n);
    // the values too long for a segment, to the front
    for (let x = 0; x < long.n; x++) {
      const e = long.entries[x]!;
      if (e.utf8.length <= SEGMENT_BYTES) continue;
      long.rows[huge] = long.rows[x]!;
      long.entries[huge++] = e;
    }
    return huge;
  }
}
