/**
 * Wire formats of the ClickHouse store, built from the schema:
 * - RowBinary for inserts (exact: UInt64 counters and times as 8 little-endian bytes, addresses as
 *   their 16 raw bytes, strings as LEB128 length + UTF-8 bytes);
 * - TabSeparatedWithNamesAndTypes for query results, parsed from the raw response bytes (FixedString
 *   values are arbitrary bytes, so the body must not be decoded as text before unescaping; numbers
 *   stay decimal text until the dialect converts them). Both formats exist in 18.16 and today.
 */
import { FIELDS, type FieldDef, type FieldKind, type FlowRecord } from '../../schema/fields.js';

/** A growable byte buffer for RowBinary. */
export class RowBinaryWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  /** A safe non-negative integer as UInt64 (two 32-bit halves: exact up to 2^53). */
  u64(v: number): void {
    this.ensure(8);
    const lo = v % 0x1_0000_0000;
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE((v - lo) / 0x1_0000_0000, this.pos + 4);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.u8((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    this.u8(n);
  }

  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.varint(b.length);
    this.bytes(b);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

type AnyRow = Readonly<Record<string, unknown>>;
type Encode = (w: RowBinaryWriter, r: AnyRow, i: number) => void;

/** A column as the encoder needs it: a name and a schema kind (flow fields and fact fields alike). */
export interface ColumnDef {
  readonly name: string;
  readonly kind: FieldKind;
}

function bad(f: ColumnDef, i: number, v: unknown, want: string): Error {
  const shown = v instanceof Uint8Array ? `${v.length}-byte array` : `${typeof v} ${String(v)}`;
  return new TypeError(`record ${i}: field ${f.name} must be ${want}, got ${shown}`);
}

function uint(f: ColumnDef, max: number, write: (w: RowBinaryWriter, v: number) => void): Encode {
  const k = f.name;
  return (w, r, i) => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw bad(f, i, v, `an integer from 0 to ${max}`);
    write(w, v);
  };
}

function encoder(f: ColumnDef): Encode {
  const k = f.name;
  switch (f.kind) {
    case 'time':
    case 'u64':
      return uint(f, Number.MAX_SAFE_INTEGER, (w, v) => w.u64(v));
    case 'mac':
      return uint(f, 0xffff_ffff_ffff, (w, v) => w.u64(v));
    case 'u8':
      return uint(f, 0xff, (w, v) => w.u8(v));
    case 'u16':
      return uint(f, 0xffff, (w, v) => w.u16(v));
    case 'u32':
      return uint(f, 0xffff_ffff, (w, v) => w.u32(v));
    case 'addr':
      return (w, r, i) => {
        const v = r[k];
        if (!(v instanceof Uint8Array) || v.length !== 16) throw bad(f, i, v, 'a 16-byte Uint8Array');
        w.bytes(v);
      };
    case 'string':
      return (w, r, i) => {
        const v = r[k];
        if (typeof v !== 'string') throw bad(f, i, v, 'a string');
        w.string(v);
      };
  }
}

/** Column names of the raw table in RowBinary order (the schema order). */
export const RAW_COLUMNS: readonly string[] = FIELDS.map((f) => f.name);
const ENCODERS: Encode[] = FIELDS.map((f) => encoder(f as FieldDef));
const encoderCache = new WeakMap<readonly ColumnDef[], Encode[]>();

/** A batch as RowBinary rows of every schema field, in schema order. Throws on an invalid value. */
export function encodeRowBinary(batch: readonly FlowRecord[]): Buffer {
  return encodeRows(FIELDS as readonly ColumnDef[], batch as unknown as readonly AnyRow[]);
}

/**
 * Rows as RowBinary: the given columns in order, then — when `batchId` is given — the 16 bytes of
 * the batch id (the trailing `batch_id FixedString(16)` column of the ClickHouse tables). Every
 * value is checked against its kind; throws before anything is sent.
 */
export function encodeRows(cols: readonly ColumnDef[], rows: readonly AnyRow[], batchId?: Uint8Array): Buffer {
  let encs = cols === (FIELDS as readonly ColumnDef[]) ? ENCODERS : encoderCache.get(cols);
  if (!encs) encoderCache.set(cols, (encs = cols.map(encoder)));
  if (batchId !== undefined && batchId.length !== 16) throw new TypeError('a batch id is 16 bytes');
  const w = new RowBinaryWriter(Math.max(1024, rows.length * (160 + (batchId ? 16 : 0))));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    for (const e of encs) e(w, r, i);
    if (batchId) w.bytes(batchId);
  }
  return w.result();
}

const ESCAPES: Record<number, number> = {
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x72: 0x0d, // \r
  0x6e: 0x0a, // \n
  0x74: 0x09, // \t
  0x30: 0x00, // \0
  0x61: 0x07, // \a
  0x76: 0x0b, // \v
};

const hexVal = (c: number): number => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);

/** Undo TabSeparated escaping of one field (bytes start..end of buf). */
export function unescapeTSV(buf: Uint8Array, start: number, end: number): Uint8Array {
  if (buf.indexOf(0x5c, start) < 0 || buf.indexOf(0x5c, start) >= end) return buf.slice(start, end);
  const out = new Uint8Array(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c !== 0x5c || i + 1 >= end) {
      out[n++] = c;
      continue;
    }
    const e = buf[++i]!;
    if (e === 0x78 && i + 2 < end && hexVal(buf[i + 1]!) >= 0 && hexVal(buf[i + 2]!) >= 0) {
      out[n++] = hexVal(buf[i + 1]!) * 16 + hexVal(buf[i + 2]!);
      i += 2;
    } else {
      out[n++] = ESCAPES[e] ?? e; // \\ \' and any other escaped character stand for themselves
    }
  }
  return out.slice(0, n);
}

export interface TSVResult {
  readonly names: string[];
  readonly types: string[];
  /** Cells: String → string, FixedString(N) → Uint8Array, integers → decimal string, NULL → null. */
  readonly rows: (string | Uint8Array | null)[][];
}

const utf8 = new TextDecoder('utf-8');

/** Parse a TabSeparatedWithNamesAndTypes body (raw bytes). */
export function parseTSVWithNamesAndTypes(body: Uint8Array): TSVResult {
  const lines: [number, number][] = [];
  let s = 0;
  for (;;) {
    const nl = body.indexOf(0x0a, s);
    if (nl < 0) {
      if (s < body.length) lines.push([s, body.length]);
      break;
    }
    lines.push([s, nl]);
    s = nl + 1;
  }
  const split = ([a, b]: [number, number]): [number, number][] => {
    const out: [number, number][] = [];
    let p = a;
    for (;;) {
      const t = body.indexOf(0x09, p);
      if (t < 0 || t >= b) {
        out.push([p, b]);
        return out;
      }
      out.push([p, t]);
      p = t + 1;
    }
  };
  if (lines.length < 2) throw new Error(`ClickHouse returned ${lines.length} header lines, expected names and types`);
  const text = (r: [number, number]): string => utf8.decode(unescapeTSV(body, r[0], r[1]));
  const names = split(lines[0]!).map(text);
  const types = split(lines[1]!).map(text);
  const rows = lines.slice(2).map((line) => {
    const cells = split(line);
    if (cells.length !== types.length) throw new Error(`ClickHouse returned a row of ${cells.length} cells, expected ${types.length}`);
    return cells.map((c, i) => {
      if (c[1] - c[0] === 2 && body[c[0]] === 0x5c && body[c[0] + 1] === 0x4e) return null; // \N
      const bytes = unescapeTSV(body, c[0], c[1]);
      return types[i]!.startsWith('FixedString(') ? bytes : utf8.decode(bytes);
    });
  });
  return { names, types, rows };
}
