/**
 * Columnar flow batches: how decoded flows cross from the collector worker to the main thread.
 *
 * One typed array per field of src/schema/fields.ts (time/mac/u64 → Float64Array, u32 →
 * Uint32Array, u16 → Uint16Array, u8 → Uint8Array, addr → 16 bytes per row in a Uint8Array,
 * string → Uint32Array of indexes into a small per-batch dictionary). Every array owns its
 * ArrayBuffer, so the batch is posted with those buffers in the transfer list (no copy).
 *
 * The per-field loops are generated once from the field list (named property loads and one object
 * literal per record, fields in the order of `emptyFlow()`, so every record has one shape).
 *
 * Constant columns: a column that holds one row only (`isConstantColumn`) has that value in every
 * row of the batch. `ColumnarBuilder.take` makes them: a column whose rows are all equal is posted
 * as its one value (views into one small shared buffer), and its full buffer stays with the builder
 * for the next batch. Columns the collector never fills (MACs of
 * IPFIX, the AWS strings, the enrichment's columns), the exporter and the sampling rate usually are,
 * so a batch crossing threads and waiting for the store carries half the bytes per flow or fewer.
 * Readers index row 0 of such a column for every row (`strides`); a reader that writes into a
 * column first makes it full (`fullColumn`).
 */
import { FIELDS, type FieldKind, type FlowRecord } from '../schema/fields.js';
import { isConstantColumn } from '../store/store.js';

export type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

export interface ColumnarBatch {
  /** Rows. */
  n: number;
  /**
   * One column per FIELDS entry, same order. Arrays may be longer than n; one holding a single
   * row is constant (isConstantColumn).
   */
  cols: Column[];
  /** Per string column (same index as cols; null for other kinds): the batch's distinct values. */
  dicts: (string[] | null)[];
  /**
   * Set by the receiving side, never posted: called once nothing reads the batch's columns any more
   * (StoreWriter: every row range copied by the store, failed or dropped), e.g. to hand the column buffers back
   * to the collector worker that filled them (ColumnarBuilder.recycle).
   */
  release?: () => void;
}

/** Bytes per row of a column of each kind. */
export const COLUMN_BYTES: Readonly<Record<FieldKind, number>> = { time: 8, mac: 8, u64: 8, u32: 4, string: 4, u16: 2, u8: 1, addr: 16 };

/** Per column of a batch, the factor its row index is multiplied by: 0 for a constant column, else 1. */
export function strides(cols: readonly Column[]): Uint8Array {
  const s = new Uint8Array(FIELDS.length);
  for (let k = 0; k < FIELDS.length; k++) s[k] = isConstantColumn(cols[k]!, FIELDS[k]!.kind) ? 0 : 1;
  return s;
}

/**
 * The memory a batch's columns take: `perRow` bytes a row for the varying ones, and `once` for the
 * constant ones (a 16-byte slot each, as `take` lays them out).
 */
export function batchBytes(b: { readonly cols: readonly Column[] }): { perRow: number; once: number } {
  let perRow = 0;
  let once = 0;
  for (let k = 0; k < FIELDS.length; k++) {
    const kind = FIELDS[k]!.kind;
    if (isConstantColumn(b.cols[k]!, kind)) once += 16;
    else perRow += COLUMN_BYTES[kind];
  }
  return { perRow, once };
}

/**
 * Column k of the batch as a full column, for writing in place: a constant one is replaced in
 * `cols` by a new column of the batch's n rows holding its value in every row.
 */
export function fullColumn(b: { readonly n: number; readonly cols: Column[] }, k: number): Column {
  const kind = FIELDS[k]!.kind;
  const col = b.cols[k]!;
  if (!isConstantColumn(col, kind) || b.n <= 1) return col;
  const full = columnFor(kind, b.n);
  if (kind === 'addr') {
    const a = full as Uint8Array;
    const v = col as Uint8Array;
    if (v.some((x) => x !== 0)) for (let i = 0; i < b.n; i++) a.set(v, i * 16);
  } else if (col[0] !== 0) full.fill(col[0]!);
  b.cols[k] = full;
  return full;
}

/** Whether rows [0, n) of a full column all equal row 0. */
function allEqual(col: Column, kind: FieldKind, n: number): boolean {
  if (kind === 'addr') {
    // 16 bytes as four 32-bit words (the builder's columns own their buffers: aligned)
    const w = new Int32Array(col.buffer, col.byteOffset, n * 4);
    const a = w[0]!;
    const b = w[1]!;
    const c = w[2]!;
    const d = w[3]!;
    for (let i = 4; i < 4 * n; i += 4) if (w[i] !== a || w[i + 1] !== b || w[i + 2] !== c || w[i + 3] !== d) return false;
    return true;
  }
  const v = col[0]!;
  for (let i = 1; i < n; i++) if (col[i] !== v) return false;
  return true;
}

/** A column of `kind` over an existing buffer. */
function columnOver(kind: FieldKind, buf: ArrayBuffer): Column {
  switch (kind) {
    case 'time':
    case 'mac':
    case 'u64':
      return new Float64Array(buf);
    case 'u32':
    case 'string':
      return new Uint32Array(buf);
    case 'u16':
      return new Uint16Array(buf);
    case 'u8':
    case 'addr':
      return new Uint8Array(buf);
  }
}

/**
 * Rows of column buffers handed back (ColumnarBuilder.recycle) kept for reuse, at most, per buffer
 * size and per column of that size: one of the store writer's 122,880-flow batches, which come back
 * at once when DuckDB has copied its rows (the worker fills them again before the next one is
 * copied). Constant columns never travel, so only the varying columns' buffers come back.
 */
const MAX_SPARE_ROWS = 131_072;

/** Columns per buffer size in bytes per row (spare buffers of one size serve all of them). */
const COLUMNS_OF_WIDTH = new Map<number, number>();
for (const f of FIELDS) COLUMNS_OF_WIDTH.set(COLUMN_BYTES[f.kind], (COLUMNS_OF_WIDTH.get(COLUMN_BYTES[f.kind]) ?? 0) + 1);

/** A one-row column of `kind` at byte `offset` of `buf` (a constant column). */
function columnAt(kind: FieldKind, buf: ArrayBuffer, offset: number): Column {
  switch (kind) {
    case 'time':
    case 'mac':
    case 'u64':
      return new Float64Array(buf, offset, 1);
    case 'u32':
    case 'string':
      return new Uint32Array(buf, offset, 1);
    case 'u16':
      return new Uint16Array(buf, offset, 1);
    case 'u8':
      return new Uint8Array(buf, offset, 1);
    case 'addr':
      return new Uint8Array(buf, offset, 16);
  }
}

/** A new column of `kind` for `cap` rows (its own buffer, zero-filled). */
function columnFor(kind: FieldKind, cap: number): Column {
  return columnOver(kind, new ArrayBuffer(COLUMN_BYTES[kind] * cap));
}

type EncodeRow = (cols: Column[], i: number, r: FlowRecord, str: (k: number, s: string) => number) => void;
type DecodeRow = (cols: Column[], dicts: (string[] | null)[], i: number, s: Uint8Array) => FlowRecord;

const ZERO16 = new Uint8Array(16);

function genEncode(): EncodeRow {
  const lines: string[] = [];
  FIELDS.forEach((f, k) => {
    const v = `r[${JSON.stringify(f.name)}]`;
    // 16 byte stores: about twice as fast as TypedArray.set for so few bytes (bench/RESULTS.md, "Generated record functions per template")
    if (f.kind === 'addr') {
      const copy = Array.from({ length: 16 }, (_, j) => `c[o + ${j}] = a[${j}];`).join(' ');
      lines.push(`{ const x = ${v}; const a = x.length === 16 ? x : Z; const c = cols[${k}]; const o = i * 16; ${copy} }`);
    }
    else if (f.kind === 'string') lines.push(`{ const s = ${v}; cols[${k}][i] = s === '' ? 0 : str(${k}, s); }`);
    else lines.push(`cols[${k}][i] = ${v};`);
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('Z', `return function encodeRow(cols, i, r, str) {\n${lines.join('\n')}\n};`)(ZERO16) as EncodeRow;
}

function genDecode(): DecodeRow {
  // s: the batch's strides (0 for a constant column: row 0 for every row)
  const props = FIELDS.map((f, k) => {
    const key = JSON.stringify(f.name);
    const at = `i * s[${k}]`;
    if (f.kind === 'addr') return `${key}: cols[${k}].subarray(${at} * 16, ${at} * 16 + 16)`;
    if (f.kind === 'string') return `${key}: dicts[${k}][cols[${k}][${at}]]`;
    return `${key}: cols[${k}][${at}]`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`return function decodeRow(cols, dicts, i, s) {\nreturn {\n${props.join(',\n')}\n};\n};`)() as DecodeRow;
}

const encodeRow = genEncode();
const decodeRow = genDecode();

/** Fills a columnar batch record by record (worker side). */
export class ColumnarBuilder {
  private cols: Column[] = [];
  private dictMaps: (Map<string, number> | null)[] = [];
  private dicts: (string[] | null)[] = [];
  n = 0;
  /** Per string column, the last value looked up and its index (records of a datagram repeat them). */
  private lastStr: (string | null)[] = [];
  private lastIx: number[] = [];
  /** Column buffers of earlier batches handed back, by byte length, reused before new ones are made. */
  private readonly spare = new Map<number, ArrayBuffer[]>();
  /** Per column, the buffer kept at the last take (its column was constant and did not travel). */
  private kept: (Column | null)[] = FIELDS.map(() => null);
  private readonly str = (k: number, s: string): number => {
    if (this.lastStr[k] === s) return this.lastIx[k]!;
    const m = this.dictMaps[k]!;
    let ix = m.get(s);
    if (ix === undefined) {
      ix = this.dicts[k]!.length;
      this.dicts[k]!.push(s);
      m.set(s, ix);
    }
    this.lastStr[k] = s;
    this.lastIx[k] = ix;
    return ix;
  };

  constructor(readonly capacity: number) {
    this.reset();
  }

  private reset(): void {
    this.forgetLast();
    this.n = 0;
    this.cols = FIELDS.map((f, k) => {
      const kept = this.kept[k];
      if (kept) return kept;
      const buf = this.spare.get(COLUMN_BYTES[f.kind] * this.capacity)?.pop();
      return buf ? columnOver(f.kind, buf) : columnFor(f.kind, this.capacity);
    });
    this.kept = FIELDS.map(() => null);
    this.dicts = FIELDS.map((f) => (f.kind === 'string' ? [''] : null));
    this.dictMaps = FIELDS.map((f) => (f.kind === 'string' ? new Map([['', 0]]) : null));
  }

  private forgetLast(): void {
    this.lastStr = FIELDS.map(() => null);
    this.lastIx = FIELDS.map(() => 0);
  }

  get full(): boolean {
    return this.n >= this.capacity;
  }

  /** The columns being filled (row `n` is the next one), for writers that fill rows themselves. */
  get columns(): readonly Column[] {
    return this.cols;
  }

  /** The index of `s` in string column `k`'s dictionary (added when new; '' is always 0). */
  intern(k: number, s: string): number {
    return this.str(k, s);
  }

  /** String column `k`'s dictionary so far (index → value). */
  dictionary(k: number): readonly string[] {
    return this.dicts[k]!;
  }

  /** Append one record (the caller checks `full` first). */
  push(r: FlowRecord): void {
    encodeRow(this.cols, this.n++, r, this.str);
  }

  /** Forget the rows so far (the columns are reused). */
  clear(): void {
    this.forgetLast();
    this.n = 0;
    this.dicts = FIELDS.map((f) => (f.kind === 'string' ? [''] : null));
    this.dictMaps = FIELDS.map((f) => (f.kind === 'string' ? new Map([['', 0]]) : null));
  }

  /**
   * The column buffers of a batch this builder made (`take`'s transfer list), handed back once
   * nothing reads them: later batches reuse them instead of new, zero-filled arrays (every row
   * pushed writes every column, so old values never show; a buffer may serve another column of the
   * same width). Returns how many were kept: not those of another size (a constant columns' shared
   * buffer, another builder's), nor those beyond MAX_SPARE_ROWS rows per column of their width.
   */
  recycle(buffers: readonly ArrayBuffer[]): number {
    let kept = 0;
    for (const buf of buffers) {
      const width = buf.byteLength / this.capacity;
      const columns = COLUMNS_OF_WIDTH.get(width);
      if (!columns || this.capacity <= 1) continue;
      let pool = this.spare.get(buf.byteLength);
      if (!pool) this.spare.set(buf.byteLength, (pool = []));
      if ((pool.length + 1) * this.capacity > MAX_SPARE_ROWS * columns) continue;
      pool.push(buf);
      kept++;
    }
    return kept;
  }

  /**
   * The batch so far and its transfer list; the builder starts a new one. A column whose rows all
   * have one value goes as that value (a one-row view into a small buffer shared by the batch's
   * constant columns) and its full buffer is kept for the next batch (zeroed first when the value
   * was not zero, so that a filler writing only some columns still starts from zeros).
   */
  take(): { batch: ColumnarBatch; transfer: ArrayBuffer[] } {
    const n = this.n;
    const cols = this.cols.slice();
    const transfer: ArrayBuffer[] = [];
    if (n > 1) {
      const constant: number[] = [];
      for (let k = 0; k < FIELDS.length; k++) if (allEqual(cols[k]!, FIELDS[k]!.kind, n)) constant.push(k);
      if (constant.length > 0) {
        // one 16-byte slot per constant column (aligned for every kind)
        const shared = new ArrayBuffer(16 * constant.length);
        constant.forEach((k, x) => {
          const kind = FIELDS[k]!.kind;
          const full = cols[k]!;
          const w = COLUMN_BYTES[kind];
          const one = new Uint8Array(full.buffer, full.byteOffset, w);
          new Uint8Array(shared, 16 * x, w).set(one);
          cols[k] = columnAt(kind, shared, 16 * x);
          if (one.some((b) => b !== 0)) new Uint8Array(full.buffer, full.byteOffset, n * w).fill(0);
          this.kept[k] = full;
        });
        transfer.push(shared);
      }
    }
    for (let k = 0; k < FIELDS.length; k++) if (!this.kept[k]) transfer.push(cols[k]!.buffer as ArrayBuffer);
    const batch: ColumnarBatch = { n, cols, dicts: this.dicts };
    this.reset();
    return { batch, transfer };
  }
}

/** Encode records into one batch (tests, and the in-thread path if wanted). */
export function encodeBatch(records: readonly FlowRecord[]): { batch: ColumnarBatch; transfer: ArrayBuffer[] } {
  const b = new ColumnarBuilder(Math.max(1, records.length));
  for (const r of records) b.push(r);
  return b.take();
}

/**
 * FlowRecords from a batch. Addresses are views into the batch's address columns (16 bytes each,
 * never written afterwards), strings come from the batch's dictionaries.
 */
export function decodeBatch(b: ColumnarBatch): FlowRecord[] {
  const out: FlowRecord[] = new Array(b.n);
  const s = strides(b.cols);
  for (let i = 0; i < b.n; i++) out[i] = decodeRow(b.cols, b.dicts, i, s);
  return out;
}

/** Rows from..to of a batch, appended to `out` as records. */
export function decodeBatchInto(b: ColumnarBatch, from: number, to: number, out: FlowRecord[]): void {
  const s = strides(b.cols);
  for (let i = from; i < to; i++) out.push(decodeRow(b.cols, b.dicts, i, s));
}
