/**
 * The ClickHouse dialect, wire formats and filter folding without a server: the strict literal
 * encoder, prefix masking SQL, RowBinary encoding and TabSeparated parsing.
 */
import { describe, expect, it } from 'vitest';
import { emptyFlow, FIELDS } from '../../../src/schema/fields.js';
import { compileQuery } from '../../../src/store/compile.js';
import { clickhouseDialect as d, encodeLiteral, quoteAddr, quoteString, quoteUInt } from '../../../src/store/clickhouse/dialect.js';
import { encodeRowBinary, parseTSVWithNamesAndTypes, unescapeTSV } from '../../../src/store/clickhouse/format.js';
import { partitionEnd } from '../../../src/store/clickhouse/store.js';
import { tableSpecs } from '../../../src/store/planner.js';
import { DEFAULT_RETENTION, type FilterExpr } from '../../../src/store/index.js';
import { HOSTILE } from '../oracle.js';

/** Decode a literal the way ClickHouse reads it (backslash escapes), to bytes. */
function readLiteral(lit: string): Buffer {
  expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
  const body = lit.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    expect(c === "'" ? 'unescaped quote' : 'ok').toBe('ok');
    if (c !== '\\') {
      out.push(c.charCodeAt(0));
      continue;
    }
    const e = body[++i]!;
    if (e === 'x') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      expect(["'", '\\']).toContain(e);
      out.push(e.charCodeAt(0));
    }
  }
  return Buffer.from(out);
}

describe('ClickHouse literal encoder', () => {
  it('encodes every string as printable ASCII that reads back to its UTF-8 bytes', () => {
    for (const s of [...HOSTILE, '', 'plain', '\u2028\u2029', String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i))]) {
      const lit = quoteString(s);
      expect(lit).toMatch(/^[\x20-\x7e]*$/);
      expect(readLiteral(lit).equals(Buffer.from(s, 'utf8')), JSON.stringify(s)).toBe(true);
    }
    expect(quoteString(`x'); DROP TABLE raw; --`)).toBe(`'x\\'); DROP TABLE raw; --'`);
    expect(quoteString('a\\b\0\n')).toBe("'a\\\\b\\x00\\x0a'");
  });

  it('encodes addresses as exactly 16 escaped bytes and refuses other lengths', () => {
    const a = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    expect(readLiteral(quoteAddr(a)).equals(Buffer.from(a))).toBe(true);
    expect(() => quoteAddr(new Uint8Array(4))).toThrow(/16 bytes/);
  });

  it('accepts only safe non-negative integers, in range for the kind', () => {
    expect(quoteUInt(0)).toBe('0');
    expect(quoteUInt(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, '1' as unknown as number]) expect(() => quoteUInt(bad)).toThrow();
    expect(() => encodeLiteral(256, 'u8')).toThrow(/out of range/);
    expect(() => encodeLiteral('1', 'u16')).toThrow(/number/);
    expect(() => encodeLiteral(1, 'string')).toThrow(/string/);
    expect(() => encodeLiteral('x', 'addr')).toThrow(/16-byte/);
    expect(d.newContext().params).toEqual([]);
  });

  it('quotes only schema identifiers and writes structural numbers itself', () => {
    expect(d.quote('peer_addr')).toBe('`peer_addr`');
    expect(() => d.quote('x`; DROP')).toThrow(/identifier/);
    expect(() => d.timeBucket('`t`', 0)).toThrow();
    expect(() => d.addrPrefix('`a`', '`family`', 129, 0)).toThrow();
    expect(d.addrPrefix('`a`', '`family`', 128, 32)).toBe('if(`family` = 4, `a`, `a`)');
    expect(d.addrPrefix('`a`', '`family`', 0, 0)).toContain("toFixedString('', 16)");
    expect(d.addrPrefix('`a`', '`family`', 57, 23)).toContain('bitAnd(reinterpretAsUInt8(substring(`a`, 8, 1)), 128)');
  });

  it('compiled SQL holds values only as encoded literals', () => {
    const raw = tableSpecs(DEFAULT_RETENTION)[0]!;
    const c = compileQuery({ since: 1, until: 2, filter: { op: 'cmp', field: 'device_id', cmp: '=', value: "a'b\\c\n" }, limit: 5 }, raw, d);
    expect(c.sql).toContain("`device_id` = 'a\\'b\\\\c\\x0a'");
    expect(c.sql).toMatch(/LIMIT 5$/);
    expect(c.params).toEqual([]);
  });
});

describe('ClickHouse wire formats', () => {
  it('RowBinary: exact widths, little-endian, LEB128 string lengths, raw address bytes', () => {
    const r = { ...emptyFlow(), time_received: 2 ** 53 - 1, bytes: 2 ** 40 + 5, src_mac: 0xffff_ffff_ffff, device_id: 'é'.repeat(100), family: 6 };
    const buf = encodeRowBinary([r]);
    let off = 0;
    const out: Record<string, unknown> = {};
    for (const f of FIELDS) {
      switch (f.kind) {
        case 'time':
        case 'u64':
        case 'mac':
          out[f.name] = Number(buf.readBigUInt64LE(off));
          off += 8;
          break;
        case 'u32':
          out[f.name] = buf.readUInt32LE(off);
          off += 4;
          break;
        case 'u16':
          out[f.name] = buf.readUInt16LE(off);
          off += 2;
          break;
        case 'u8':
          out[f.name] = buf[off++];
          break;
        case 'addr':
          out[f.name] = new Uint8Array(buf.subarray(off, off + 16));
          off += 16;
          break;
        case 'string': {
          let len = 0;
          let shift = 0;
          for (;;) {
            const b = buf[off++]!;
            len += (b & 0x7f) * 2 ** shift;
            shift += 7;
            if (b < 0x80) break;
          }
          out[f.name] = buf.subarray(off, off + len).toString('utf8');
          off += len;
        }
      }
    }
    expect(off).toBe(buf.length);
    expect(out).toEqual(r);
  });

  it('RowBinary refuses values that do not fit their column', () => {
    expect(() => encodeRowBinary([{ ...emptyFlow(), proto: 256 }])).toThrow(/record 0: field proto/);
    expect(() => encodeRowBinary([{ ...emptyFlow(), time_received: 1.5 }])).toThrow(/time_received/);
    expect(() => encodeRowBinary([{ ...emptyFlow(), src_addr: new Uint8Array(15) }])).toThrow(/src_addr/);
  });

  it('parses TabSeparatedWithNamesAndTypes from raw bytes', () => {
    const body = Buffer.concat([
      Buffer.from('k0\tk1\tm0\n'),
      Buffer.from('String\tFixedString(16)\tUInt64\n'),
      Buffer.from('a\\tb\\\\c\\\'\\0\\n\xc3\xa9\t', 'latin1'),
      Buffer.from([0x20, 0x01, 0x5c, 0x30, 0x5c, 0x6e, 0xff, 0x5c, 0x74, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      Buffer.from('\t18446744073709551615\n'),
    ]);
    const r = parseTSVWithNamesAndTypes(body);
    expect(r.names).toEqual(['k0', 'k1', 'm0']);
    expect(r.types).toEqual(['String', 'FixedString(16)', 'UInt64']);
    expect(r.rows[0]![0]).toBe("a\tb\\c'\0\né");
    expect(Buffer.from(r.rows[0]![1] as Uint8Array).toString('hex')).toBe(`2001000aff09${'00'.repeat(9)}01`);
    expect(r.rows[0]![2]).toBe('18446744073709551615');
    expect(Buffer.from(unescapeTSV(Buffer.from('\\x41\\N'), 0, 6)).toString()).toBe('AN');
  });

  it('knows where partitions end', () => {
    expect(partitionEnd('20261102')).toBe(Date.UTC(2026, 10, 3));
    expect(partitionEnd('202612')).toBe(Date.UTC(2027, 0, 1));
    expect(partitionEnd('all')).toBeNull();
  });
});
