/**
 * The byte-level VPC/TGW parser (src/sources/cloud/vpc-bytes.ts) must give exactly the records of
 * the reference string parser (VpcFormat.parseFields), or hand the line over (FALLBACK) — never a
 * different answer. Checked on the AWS documentation examples, on edge cases, and on many generated
 * and mutated lines. Its rows go straight into columnar batches (`parseInto`); they are read back
 * with decodeBatch — one long-lived parser and builder per format, batches taken every 64 rows so
 * that dictionary indexes cross batch boundaries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ColumnarBuilder, decodeBatch } from '../../../src/collect/flow-batch.js';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { EMPTY, FALLBACK, NODATA, ROW, SKIPDATA, VpcByteParser } from '../../../src/sources/cloud/vpc-bytes.js';
import { LogFormatError, parseVpcFormat, splitFields, TGW_DEFAULT_FORMAT, VPC_DEFAULT_FORMAT, VpcFormat } from '../../../src/sources/cloud/vpc.js';

const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;

/** The reference: what the ingest's string path makes of a line. */
function reference(f: VpcFormat, line: string): unknown {
  const fields = splitFields(line);
  if (fields.length === 0) return 'empty';
  if (fields.length === f.fields.length + 1 && ISO_TS.test(fields[0]!)) fields.shift();
  try {
    const r = f.parseFields(fields, 7_000);
    return r.kind === 'flow' ? r.flow : r.kind;
  } catch (e) {
    if (e instanceof LogFormatError) return 'error';
    throw e;
  }
}

/** Per format: a long-lived parser writing rows into a builder, and the lines and reference records those rows must decode to. */
const columnar = new Map<VpcFormat, { p: VpcByteParser; b: ColumnarBuilder; expected: { line: string; record: FlowRecord }[] }>();

/** The rows written so far, decoded, must be the reference records (then a new batch starts). */
function drainColumnar(): void {
  for (const c of columnar.values()) {
    const { batch } = c.b.take();
    expect(batch.n).toBe(c.expected.length);
    decodeBatch(batch).forEach((r, i) => expect(r, c.expected[i]!.line).toEqual(c.expected[i]!.record));
    c.expected = [];
  }
}

afterEach(() => {
  drainColumnar();
  columnar.clear();
});

/** Compare both paths on one line; returns true when the byte path answered itself. */
function check(f: VpcFormat, line: string): boolean {
  let c = columnar.get(f);
  if (!c) columnar.set(f, (c = { p: new VpcByteParser(f, 7_000), b: new ColumnarBuilder(64), expected: [] }));
  const buf = Buffer.from(line, 'utf8');
  const r = c.p.parseInto(buf, 0, buf.length, c.b);
  if (r === FALLBACK) return false;
  const ref = reference(f, line);
  if (r === EMPTY) expect(ref, line).toBe('empty');
  else if (r === NODATA) expect(ref, line).toBe('nodata');
  else if (r === SKIPDATA) expect(ref, line).toBe('skipdata');
  else {
    expect(r, line).toBe(ROW);
    expect(typeof ref, line).toBe('object');
    c.b.n++;
    c.expected.push({ line, record: ref as FlowRecord });
    if (c.b.full) drainColumnar();
  }
  return true;
}

const V2 = new VpcFormat(parseVpcFormat(VPC_DEFAULT_FORMAT));
const CUSTOM = new VpcFormat(
  parseVpcFormat('${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${flow-direction} ${some-future-field}'),
);
const TGW = new VpcFormat(parseVpcFormat(TGW_DEFAULT_FORMAT), { tgw: true });

describe('VPC flow logs: byte path = string path', () => {
  it('on the AWS documentation examples', () => {
    // https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html
    const doc = [
      '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK',
      '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA',
      '2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA',
      '2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK',
    ];
    for (const l of doc) expect(check(V2, l), l).toBe(true);
  });

  it('on edge cases (answered or handed over, never different)', () => {
    const lines = [
      '',
      '   ',
      '2  123456789010\teni-1 203.0.113.12   10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK\r',
      '2 123456789010 eni-1 203.0.113.999 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.012 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 ::ffff:192.0.2.1 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 ::ffff:c000:201 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 fd00::1 3fff::1 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 :: ::1 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 fe80::1%eth0 ff02::1 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1:2:3:4:5:6:7:8 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1:2:3:4:5:6:7::8 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1:2:3:4:5:6:7:8:9 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 12345::1 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1:::8 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1::8:: 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 ::2:3:4:5:6:7:8 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 1:2:3:4:5:6:7:: 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 ::1.2.3.4 1::8 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 fd00::1 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 65536 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 256 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 -3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 - - - - - - - ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 DROP OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT FAIL',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK extra',
      '2024-01-01T00:00:00.000Z 2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      'x2024-01-01T00:00:00.000Z 2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-é 203.0.113.12 10.0.0.5 1 2 6 3 4 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 - - - - - - - - - - - NODATA',
      '2 123456789010 eni-1 - - - - - - - - - - OK',
      '2 123456789010 eni-1 - 10.0.0.5 1 2 6 3 4 0 1418530070 ACCEPT OK',
      '2 123456789010 eni-1 0.0.0.0 255.255.255.255 0 0 0 0 0 0 0 ACCEPT OK',
      '2 123456789010 eni-1 203.0.113.12 10.0.0.5 1 2 6 99999999999999999 4 1418530010 1418530070 ACCEPT OK',
    ];
    for (const l of lines) check(V2, l);
    // The common forms are answered by the byte path itself.
    expect(check(V2, lines[2]!)).toBe(true);
    expect(check(V2, lines[7]!)).toBe(true);
    expect(check(V2, lines[28]!)).toBe(true);
    expect(check(V2, '')).toBe(true);
  });

  it('custom formats with type, pkt-*addr, tcp-flags, flow-direction and an unknown field', () => {
    const lines = [
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 10.0.1.5 10.0.0.220 10 20 10.0.1.5 203.0.113.5 6 100 2 1 2 ACCEPT 19 OK egress x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv6 fd00::1 fd00::2 10 20 - - 6 100 2 1 2 REJECT 2 OK ingress x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 fd00::1 fd00::2 10 20 - - 6 100 2 1 2 REJECT 2 OK ingress x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv6 10.0.0.1 10.0.0.2 10 20 - - 6 100 2 1 2 REJECT 2 OK ingress x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 EFA - - - - - - - - - 1 2 ACCEPT - OK - x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 - - - - - - - - - - 1 2 ACCEPT - OK - x',
      '5 vpc-1 subnet-1 i-1 eni-1 123456789010 IPv4 10.0.1.5 10.0.0.220 10 20 - - 6 100 2 1 2 ACCEPT 65535 OK sideways x',
      '5 - - - - 123456789010 - - - - - - - - - - 1 2 - - NODATA - -',
    ];
    let answered = 0;
    for (const l of lines) if (check(CUSTOM, l)) answered++;
    expect(answered).toBeGreaterThanOrEqual(3);
  });

  it('Transit Gateway default format', () => {
    const l =
      '6 TransitGateway 123456789012 tgw-0a1 tgw-attach-0b2 123456789012 123456789013 vpc-0c3 vpc-0d4 subnet-0e5 subnet-0f6 eni-01 eni-02 use1-az1 use1-az2 tgw-attach-0b3 ' +
      '10.0.0.1 10.1.0.1 443 50000 6 10 1000 1700000000 1700000060 OK IPv4 0 0 0 0 19 us-east-1 ingress - -';
    expect(check(TGW, l)).toBe(true);
    expect(check(TGW, l.replace('tgw-attach-0b2', '-'))).toBe(true);
  });

  it('on generated and mutated lines', () => {
    let seed = 42;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
    const addrs = ['203.0.113.12', '10.0.0.5', 'fd00::1', '3fff::1', '::ffff:192.0.2.1', '2600:1f18:0:1::99', '::', '-', '1.2.3', 'fe80::1%2', '0.0.0.0', '2001:db8::'];
    const nums = ['0', '1', '22', '65535', '65536', '-', '007', '1a', '', '255', '256'];
    let answered = 0;
    for (let i = 0; i < 4000; i++) {
      const f = [
        '2',
        '123456789010',
        pick(['eni-1', 'eni-2', '-']),
        pick(addrs),
        pick(addrs),
        pick(nums),
        pick(nums),
        pick(['6', '17', '58', '-', '300']),
        pick(nums),
        pick(nums),
        pick(['1418530010', '0', '-']),
        pick(['1418530070', '0', '-']),
        pick(['ACCEPT', 'REJECT', '-', 'accept']),
        pick(['OK', 'OK', 'NODATA', 'SKIPDATA', '-', 'BAD']),
      ].filter((x) => x !== '');
      const line = f.join(pick([' ', '  ', '\t']));
      if (check(V2, line)) answered++;
    }
    expect(answered).toBeGreaterThan(500);
  });
});
