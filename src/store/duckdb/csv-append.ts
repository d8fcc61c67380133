/**
 * Bulk appends through DuckDB's own CSV reader: a batch is serialised as CSV bytes in JavaScript
 * (straight into a reused Buffer, by a serialiser generated per column list so that every property
 * is read by name), written to a temporary file, and loaded with
 * `INSERT INTO t (cols) SELECT <typed expressions> FROM read_csv(file, columns = {...}, auto_detect = false)`.
 * DuckDB parses and converts the file on its own threads, in parallel; the JavaScript thread makes
 * no native call per value (the appender path makes one per string value and converts every vector
 * on the calling thread).
 *
 * Encoding, per column kind:
 * - integers (time, u8…u64, mac): decimal digits (exact below 2^53), typed in the reader's `columns`
 *   (parsed natively, no cast);
 * - addresses (UHUGEINT): two UBIGINT fields `0x` + 16 hex digits (the high and low 64 bits of the
 *   big-endian 16 bytes; DuckDB's integer parser takes the 0x form), combined in SQL as
 *   `(hi::UHUGEINT << 64) | lo::UHUGEINT`;
 * - strings: always quoted, `"` doubled (RFC 4180; `quote` and `escape` are both `"`), so commas,
 *   CR/LF, tabs, backslashes, NUL and any non-ASCII text are data; `allow_quoted_nulls = false`
 *   keeps `""` the empty string (and `coalesce(…, '')` guards it). UTF-8, as Buffer encodes it —
 *   a lone UTF-16 surrogate becomes U+FFFD, as it does through the appender.
 *
 * A batch with a value the CSV path does not take as is — a number that is not an integer of its
 * column's range, an address that is not 16 bytes, a line that could pass MAX_LINE_BYTES — makes
 * `serialise` return false and the store append that batch through the appender (which stores what
 * it always stored, e.g. its own truncation of 1.5).
 */
import type { FieldKind } from '../../schema/fields.js';

export interface CsvColumn {
  readonly name: string;
  readonly kind: FieldKind;
}

type Row = Record<string, unknown>;

/**
 * Upper bound of one line's bytes sent to the reader (DuckDB's `max_line_size` default is 2 MiB);
 * a row that might be longer goes through the appender instead.
 */
export const MAX_LINE_BYTES = 2_000_000;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** ASCII hex digits of each byte value: HEX[2b], HEX[2b + 1]. */
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const h = (b < 16 ? '0' : '') + b.toString(16);
  HEX[2 * b] = h.charCodeAt(0);
  HEX[2 * b + 1] = h.charCodeAt(1);
}

/** A growable output buffer: `buf[0, pos)` is the text written so far. One per store (appends are serialised). */
export interface CsvBuffer {
  buf: Buffer;
  pos: number;
}

export function csvBuffer(size = 1 << 20): CsvBuffer {
  return { buf: Buffer.allocUnsafe(size), pos: 0 };
}

/** Make room for `need` more bytes after `w.pos`. */
function grow(w: CsvBuffer, need: number): Buffer {
  let size = w.buf.length * 2;
  while (size < w.pos + need) size *= 2;
  const b = Buffer.allocUnsafe(size);
  w.buf.copy(b, 0, 0, w.pos);
  w.buf = b;
  return b;
}

/** Decimal digits of a non-negative safe integer at `pos`; returns the position after them. */
function num(buf: Buffer, pos: number, x: number): number {
  if (x < 10) {
    buf[pos] = 48 + x;
    return pos + 1;
  }
  if (x >= 1e9) {
    const hi = Math.floor(x / 1e9);
    let lo = x - hi * 1e9;
    pos = num(buf, pos, hi);
    for (let p = pos + 8; p >= pos; p--) {
      const q = (lo / 10) >>> 0;
      buf[p] = 48 + lo - q * 10;
      lo = q;
    }
    return pos + 9;
  }
  let n = x;
  let len = 1;
  for (let t = n; t >= 10; t = (t / 10) >>> 0) len++;
  let p = pos + len;
  while (n >= 10) {
    const q = (n / 10) >>> 0;
    buf[--p] = 48 + n - q * 10;
    n = q;
  }
  buf[--p] = 48 + n;
  return pos + len;
}

/** `0x` + 16 hex digits of bytes a[from, from + 8) (an unsigned 64-bit value, big-endian). */
function hex64(buf: Buffer, pos: number, a: Uint8Array, from: number): number {
  buf[pos] = 48; // 0
  buf[pos + 1] = 120; // x
  pos += 2;
  for (let k = from; k < from + 8; k++) {
    const b = a[k]!;
    buf[pos++] = HEX[2 * b]!;
    buf[pos++] = HEX[2 * b + 1]!;
  }
  return pos;
}

/**
 * A quoted CSV string field (quotes doubled) at `pos`; ASCII byte by byte, anything else through
 * Buffer's UTF-8 encoder (a lone surrogate becomes U+FFFD, as through the appender). Needs at most
 * 3 * s.length + 2 bytes.
 */
function str(buf: Buffer, pos: number, s: string): number {
  const start = pos;
  buf[pos++] = 34;
  const n = s.length;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c >= 128) {
      pos = start + 1;
      pos += buf.write(s.indexOf('"') < 0 ? s : s.replaceAll('"', '""'), pos, 'utf8');
      buf[pos++] = 34;
      return pos;
    }
    if (c === 34) buf[pos++] = 34;
    buf[pos++] = c;
  }
  buf[pos++] = 34;
  return pos;
}

/** The reader fields one column contributes (one, or two for an address), their types, and its SQL expression. */
function fieldsOf(c: CsvColumn, i: number): { names: string[]; types: string[]; expr: string } {
  const f = `c${i}`;
  switch (c.kind) {
    case 'addr':
      return { names: [`${f}h`, `${f}l`], types: ['UBIGINT', 'UBIGINT'], expr: `((${f}h::UHUGEINT << 64) | ${f}l::UHUGEINT)` };
    case 'string':
      return { names: [f], types: ['VARCHAR'], expr: `coalesce(${f}, '')` };
    case 'time':
      return { names: [f], types: ['BIGINT'], expr: f };
    case 'u8':
      return { names: [f], types: ['UTINYINT'], expr: f };
    case 'u16':
      return { names: [f], types: ['USMALLINT'], expr: f };
    case 'u32':
      return { names: [f], types: ['UINTEGER'], expr: f };
    case 'u64':
    case 'mac':
      return { names: [f], types: ['UBIGINT'], expr: f };
  }
}

/** Bytes a column's field needs at most, besides its strings (counted per row). */
const FIXED: Record<FieldKind, number> = { time: 17, u64: 17, mac: 17, u8: 4, u16: 6, u32: 11, addr: 38, string: 3 };
/** The check that a value is what the column's kind stores (else the batch goes through the appender). */
const VALID: Record<FieldKind, (x: string) => string> = {
  time: (x) => `(typeof ${x} === 'number' && ${x} >= 0 && ${x} <= ${Number.MAX_SAFE_INTEGER} && Math.floor(${x}) === ${x})`,
  u64: (x) => VALID.time(x),
  mac: (x) => VALID.time(x),
  u8: (x) => `((${x} & 255) === ${x})`,
  u16: (x) => `((${x} & 65535) === ${x})`,
  u32: (x) => `((${x} >>> 0) === ${x})`,
  addr: (x) => `(${x} instanceof Uint8Array && ${x}.length === 16)`,
  string: (x) => `(typeof ${x} === 'string')`,
};

export interface CsvLayout {
  /**
   * Append rows [from, to) as CSV lines (each ending in '\n') to `w`. False when a row holds a
   * value the CSV path does not take as is (not a valid value of its column's kind, or a line that
   * could pass MAX_LINE_BYTES): the caller then appends the batch through the appender.
   */
  serialise(rows: readonly Row[], from: number, to: number, w: CsvBuffer): boolean;
  /** `INSERT INTO <table> (cols) SELECT … FROM read_csv(<file>, …)` for a file of these lines. */
  insertSql(table: string, file: string): string;
}

const layouts = new Map<string, CsvLayout>();

/** The CSV layout (serialiser and load statement) for rows with `columns`, cached per column list. */
export function csvLayout(columns: readonly CsvColumn[]): CsvLayout {
  const key = columns.map((c) => `${c.kind}:${c.name}`).join('|');
  let l = layouts.get(key);
  if (!l) {
    l = makeLayout(columns);
    layouts.set(key, l);
  }
  return l;
}

function makeLayout(columns: readonly CsvColumn[]): CsvLayout {
  const vars = columns.map((_, i) => `v${i}`);
  const loads = columns.map((c, i) => `const ${vars[i]} = ${IDENT.test(c.name) ? `r.${c.name}` : `r[${JSON.stringify(c.name)}]`};`).join(' ');
  const valid = columns.map((c, i) => VALID[c.kind](vars[i]!)).join(' && ');
  const fixed = columns.reduce((n, c) => n + FIXED[c.kind], 0);
  const strs = columns.map((c, i) => (c.kind === 'string' ? ` + 3 * ${vars[i]}.length` : '')).join('');
  const writes = columns
    .map((c, i) => {
      const v = vars[i]!;
      const w = c.kind === 'addr' ? `pos = hex64(buf, pos, ${v}, 0); buf[pos++] = 44; pos = hex64(buf, pos, ${v}, 8);` : c.kind === 'string' ? `pos = str(buf, pos, ${v});` : `pos = num(buf, pos, ${v});`;
      return `${w} buf[pos++] = ${i === columns.length - 1 ? 10 : 44};`;
    })
    .join('\n    ');
  const src = `'use strict';
return function serialise(rows, from, to, w) {
  let buf = w.buf;
  let pos = w.pos;
  for (let i = from; i < to; i++) {
    const r = rows[i];
    ${loads}
    if (!(${valid})) return false;
    const need = ${fixed}${strs};
    if (need > ${MAX_LINE_BYTES}) return false;
    if (pos + need > buf.length) { w.pos = pos; buf = grow(w, need); }
    ${writes}
  }
  w.pos = pos;
  return true;
};`;
  const serialise = new Function('num', 'hex64', 'str', 'grow', src)(num, hex64, str, grow) as CsvLayout['serialise'];
  const fields = columns.map((c, i) => fieldsOf(c, i));
  const spec = fields.flatMap((f) => f.names.map((n, k) => `'${n}': '${f.types[k]!}'`)).join(', ');
  const select = fields.map((f, i) => `${f.expr} AS ${quoteIdent(columns[i]!.name)}`).join(', ');
  const colList = columns.map((c) => quoteIdent(c.name)).join(', ');
  return {
    serialise,
    insertSql: (table, file) =>
      `INSERT INTO ${quoteIdent(table)} (${colList}) SELECT ${select} FROM read_csv(${quoteLiteral(file)}, header = false, auto_detect = false, ` +
      `delim = ',', quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, strict_mode = true, ` +
      `columns = {${spec}})`,
  };
}

function quoteIdent(s: string): string {
  return `"${s.replaceAll('"', '""')}"`;
}

function quoteLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
