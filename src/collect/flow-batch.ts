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
 */
import { FIELDS, type FieldKind, type FlowRecord } from '../schema/fields.js';

export type Column = Float64Array | Uint32Array | Uint16Array | Uint8Array;

export interface ColumnarBatch {
  /** Rows. */
  n: number;
  /** One column per FIELDS entry, same order. Arrays may be longer than n. */
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
 * Rows of column sets handed back (ColumnarBuilder.recycle) kept for reuse, at most: one of the
 * store writer's 122,880-flow batches, which come back at once when DuckDB has copied its rows
 * (~26 MB with 4,096-row batches; the worker fills them again before the next one is copied).
 */
const MAX_SPARE_ROWS = 131_072;

/** A new column of `kind` for `cap` rows (its own buffer, zero-filled). */
function columnFor(kind: FieldKind, cap: number): Column {
  return columnOver(kind, new ArrayBuffer(COLUMN_BYTES[kind] * cap));
}

type EncodeRow = (cols: Column[], i: number, r: FlowRecord, str: (k: number, s: string) => number) => void;
type DecodeRow = (cols: Column[], dicts: (string[] | null)[], i: number) => FlowRecord;

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
  const props = FIELDS.map((f, k) => {
    const key = JSON.stringify(f.name);
    if (f.kind === 'addr') return `${key}: cols[${k}].subarray(i * 16, i * 16 + 16)`;
    if (f.kind === 'string') return `${key}: dicts[${k}][cols[${k}][i]]`;
    return `${key}: cols[${k}][i]`;
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(`return function decodeRow(cols, dicts, i) {\nreturn {\n${props.join(',\n')}\n};\n};`)() as DecodeRow;
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
  /** Column sets of earlier batches handed back, reused before new arrays are made. */
  private readonly spare: Column[][] = [];
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
    this.cols = this.spare.pop() ?? FIELDS.map((f) => columnFor(f.kind, this.capacity));
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
   * The column buffers of a batch this builder made (`take`), handed back once nothing reads them:
   * a later batch reuses them instead of new, zero-filled arrays (every row pushed writes every
   * column, so old values never show). Buffers of another size or count are ignored (false), as
   * are sets beyond MAX_SPARE_ROWS rows.
   */
  recycle(buffers: readonly ArrayBuffer[]): boolean {
    if ((this.spare.length + 1) * this.capacity > MAX_SPARE_ROWS || buffers.length !== FIELDS.length) return false;
    for (let k = 0; k < FIELDS.length; k++) if (buffers[k]!.byteLength !== COLUMN_BYTES[FIELDS[k]!.kind] * this.capacity) return false;
    this.spare.push(FIELDS.map((f, k) => columnOver(f.kind, buffers[k]!)));
    return true;
  }

  /** The batch so far and its transfer list; the builder starts a new one. */
  take(): { batch: ColumnarBatch; transfer: ArrayBuffer[] } {
    const batch: ColumnarBatch = { n: this.n, cols: this.cols, dicts: this.dicts };
    const transfer = this.cols.map((c) => c.buffer as ArrayBuffer);
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
  for (let i = 0; i < b.n; i++) out[i] = decodeRow(b.cols, b.dicts, i);
  return out;
}

/** Rows from..to of a batch, appended to `out` as records. */
export function decodeBatchInto(b: ColumnarBatch, from: number, to: number, out: FlowRecord[]): void {
  for (let i = from; i < to; i++) out.push(decodeRow(b.cols, b.dicts, i));
}
