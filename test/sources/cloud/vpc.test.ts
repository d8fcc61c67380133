/**
 * VPC / Transit Gateway flow log parsing on the AWS documentation examples.
 *
 * Example records are from the Amazon VPC User Guide, "Flow log record examples"
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html): accepted and
 * rejected traffic, no data and skipped records, IPv6 traffic, TCP flags (custom format) and NAT
 * gateway (pkt-srcaddr/pkt-dstaddr) examples. The Transit Gateway default field list is from the
 * Transit Gateway guide, "Transit Gateway Flow Log records".
 */
import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import { isVpcHeader, parseVpcFormat, splitFields, TGW_DEFAULT_FORMAT, VPC_DEFAULT_FORMAT, VPC_FIELDS, VpcFormat, LogFormatError } from '../../../src/sources/cloud/vpc.js';

const def = new VpcFormat(parseVpcFormat(VPC_DEFAULT_FORMAT));
const parse = (f: VpcFormat, line: string) => f.parseFields(splitFields(line), 0);

describe('VPC flow log formats', () => {
  it('parses the console form, the header form and Parquet column names the same', () => {
    const a = parseVpcFormat('${version} ${vpc-id} ${subnet-id} ${pkt-srcaddr}');
    const b = parseVpcFormat('version vpc-id subnet-id pkt-srcaddr');
    const c = parseVpcFormat('version vpc_id subnet_id pkt_srcaddr');
    expect(a).toEqual(['version', 'vpc-id', 'subnet-id', 'pkt-srcaddr']);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(() => parseVpcFormat('${version} ${srcaddr')).toThrow(LogFormatError);
  });

  it('knows every field through v8', () => {
    for (const f of ['reject-reason', 'ecs-task-id', 'traffic-path', 'sublocation-id', 'pkt-dstaddr', 'log-status']) expect(VPC_FIELDS[f]).toBeDefined();
    expect(VPC_FIELDS['reject-reason']).toBe(8);
  });

  it('recognises header lines and not records', () => {
    expect(isVpcHeader(VPC_DEFAULT_FORMAT)).toBe(true);
    expect(isVpcHeader('interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr')).toBe(true);
    expect(isVpcHeader('2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA')).toBe(false);
    expect(isVpcHeader('eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5')).toBe(false);
  });
});

describe('VPC flow log records (AWS documentation examples)', () => {
  it('accepted and rejected IPv4 traffic', () => {
    const a = parse(def, '2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK');
    expect(a.kind).toBe('flow');
    if (a.kind !== 'flow') return;
    expect(a.flow.family).toBe(4);
    expect(formatIP(a.flow.src_addr, 4)).toBe('172.31.16.139');
    expect(formatIP(a.flow.dst_addr, 4)).toBe('172.31.16.21');
    expect([a.flow.src_port, a.flow.dst_port, a.flow.proto, a.flow.packets, a.flow.bytes]).toEqual([20641, 22, 6, 20, 4249]);
    expect(a.flow.time_start).toBe(1418530010_000);
    expect(a.flow.time_end).toBe(1418530070_000);
    expect(a.flow.source_kind).toBe('vpc');
    expect(a.flow.exporter_name).toBe('eni-1235b8ca123456789');
    expect(a.meta.action).toBe('ACCEPT');
    const r = parse(def, '2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK');
    expect(r.meta.action).toBe('REJECT');
  });

  it('NODATA and SKIPDATA records carry no traffic', () => {
    expect(parse(def, '2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA').kind).toBe('nodata');
    expect(parse(def, '2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA').kind).toBe('skipdata');
  });

  it('IPv6 traffic', () => {
    const r = parse(
      def,
      '2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK',
    );
    expect(r.kind).toBe('flow');
    if (r.kind !== 'flow') return;
    expect(r.flow.family).toBe(6);
    expect(formatIP(r.flow.src_addr, 6)).toBe('2001:db8:1234:a100:8d6e:3477:df66:f105');
  });

  it('custom format with type and TCP flags', () => {
    const f = VpcFormat.parse(
      '${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}',
    );
    const r = parse(f, '3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-00123456789abcdef 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK');
    expect(r.kind).toBe('flow');
    if (r.kind !== 'flow') return;
    expect(r.flow.tcp_flags).toBe(2);
    expect(r.flow.bytes).toBe(568);
    expect(r.flow.packets).toBe(8);
    expect(r.meta.vpcId).toBe('vpc-abcdefab012345678');
    expect(r.meta.subnetId).toBe('subnet-aaaaaaaa012345678');
  });

  it('NAT gateway: pkt-srcaddr/pkt-dstaddr are the real endpoints', () => {
    const f = VpcFormat.parse('${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}');
    const r = parse(f, 'eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5');
    expect(r.kind).toBe('flow');
    if (r.kind !== 'flow') return;
    expect(formatIP(r.flow.dst_addr, 4)).toBe('203.0.113.5');
    const dash = parse(f, 'eni-1235b8ca123456789 10.0.1.5 10.0.0.220 - -');
    if (dash.kind === 'flow') expect(formatIP(dash.flow.dst_addr, 4)).toBe('10.0.0.220');
  });

  it('runs of spaces, tabs and unknown newer fields', () => {
    const f = VpcFormat.parse('${version} ${srcaddr} ${dstaddr} ${bytes} ${some-future-field} ${log-status}');
    expect(f.unknown).toEqual(['some-future-field']);
    const r = parse(f, '  9   3fff::1 \t fd00::1    100   whatever  OK ');
    expect(r.kind).toBe('flow');
    if (r.kind !== 'flow') return;
    expect(r.flow.family).toBe(6);
    expect(r.meta.extra).toEqual({ 'some-future-field': 'whatever' });
  });

  it('the type field decides the family; EFA has none', () => {
    const f = VpcFormat.parse('${type} ${srcaddr} ${dstaddr} ${log-status}');
    const r = parse(f, 'IPv6 ::ffff:192.0.2.1 fd00::1 OK');
    expect(r.kind === 'flow' && r.flow.family).toBe(6);
    expect(parse(f, 'EFA - - OK').kind).toBe('no-family');
    expect(() => parse(f, 'IPv4 3fff::1 fd00::1 OK')).toThrow(/type IPv4/);
  });

  it('::ffff:192.0.2.1 without a type is IPv4 (same bytes as 192.0.2.1)', () => {
    const f = VpcFormat.parse('${srcaddr} ${dstaddr} ${log-status}');
    const a = parse(f, '::ffff:192.0.2.1 203.0.113.12 OK');
    const b = parse(f, '192.0.2.1 203.0.113.12 OK');
    expect(a.kind === 'flow' && a.flow.family).toBe(4);
    if (a.kind === 'flow' && b.kind === 'flow') expect([...a.flow.src_addr]).toEqual([...b.flow.src_addr]);
  });

  it('malformed records are errors with a reason', () => {
    expect(() => parse(def, '2 123456789010 eni-1 1.2.3.4')).toThrow(/4 fields, expected 14/);
    expect(() => parse(def, '2 1 eni-1 1.2.3.999 1.2.3.4 1 2 6 1 1 1 2 ACCEPT OK')).toThrow(/invalid source address/);
    expect(() => parse(def, '2 1 eni-1 1.2.3.4 1.2.3.4 1 2 6 x 1 1 2 ACCEPT OK')).toThrow(/invalid packets/);
    expect(() => parse(def, '2 1 eni-1 1.2.3.4 fd00::1 1 2 6 1 1 1 2 ACCEPT OK')).toThrow(/different address families/);
  });

  it('Transit Gateway default format', () => {
    const f = VpcFormat.parse(TGW_DEFAULT_FORMAT);
    expect(f.tgw).toBe(true);
    expect(f.fields.length).toBe(36);
    const vals = f.fields.map((name) => {
      switch (name) {
        case 'version': return '6';
        case 'resource-type': return 'TransitGateway';
        case 'tgw-id': return 'tgw-0123456789abcdef0';
        case 'tgw-attachment-id': return 'tgw-attach-0123456789abcdef0';
        case 'tgw-src-vpc-id': return 'vpc-0aaaaaaaaaaaaaaaa';
        case 'srcaddr': return '3fff::1';
        case 'dstaddr': return 'fd00::1';
        case 'srcport': return '443';
        case 'dstport': return '51000';
        case 'protocol': return '6';
        case 'packets': return '10';
        case 'bytes': return '5000';
        case 'start': return '1700000000';
        case 'end': return '1700000060';
        case 'log-status': return 'OK';
        case 'type': return 'IPv6';
        case 'flow-direction': return 'ingress';
        default: return '-';
      }
    });
    const r = f.parseFields(vals, 0);
    expect(r.kind).toBe('flow');
    if (r.kind !== 'flow') return;
    expect(r.flow.source_kind).toBe('tgw');
    expect(r.flow.family).toBe(6);
    expect(r.flow.exporter_name).toBe('tgw-attach-0123456789abcdef0');
    expect(r.flow.direction).toBe(1);
    expect(r.meta.vpcId).toBe('vpc-0aaaaaaaaaaaaaaaa');
  });
});

/**
 * Verbatim blocks of the Amazon VPC User Guide, "Flow log record examples" (doc_source/
 * flow-logs-records-examples.md of github.com/awsdocs/amazon-vpc-user-guide; the same examples are
 * on https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html), each with
 * the format the page states for it. The expected values are read off the page's own text.
 */
describe('AWS documentation examples, verbatim', () => {
  const flows = (f: VpcFormat, block: string) =>
    block
      .trim()
      .split('\n')
      .map((l) => parse(f, l))
      .map((r) => {
        if (r.kind !== 'flow') throw new Error(`not a flow: ${r.kind}`);
        return r;
      });

  it('security group and network ACL rules: the ping and its rejected reply', () => {
    const [req, rep] = flows(
      def,
      `2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK`,
    );
    expect([req!.flow.family, formatIP(req!.flow.src_addr, 4), req!.flow.proto, req!.flow.packets, req!.flow.bytes, req!.meta.action]).toEqual([4, '203.0.113.12', 1, 4, 336, 'ACCEPT']);
    expect([formatIP(rep!.flow.src_addr, 4), formatIP(rep!.flow.dst_addr, 4), rep!.meta.action]).toEqual(['172.31.16.139', '203.0.113.12', 'REJECT']);
  });

  it('TCP flag sequence (custom format; one record has two spaces between fields)', () => {
    const f = new VpcFormat(parseVpcFormat('version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status'));
    const rs = flows(
      f,
      `3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK
3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK`,
    );
    // the page: SYN (2) from the client, SYN-ACK (18) back, FIN (1), SYN+FIN (3), SYN-ACK+FIN (19)
    expect(rs.map((r) => r.flow.tcp_flags)).toEqual([2, 18, 2, 18, 1, 1, 3, 19]);
    expect(rs.map((r) => [r.flow.src_port, r.flow.dst_port])).toEqual([[43416, 5001], [5001, 43416], [43418, 5001], [5001, 43418], [5001, 43418], [43418, 5001], [43638, 5001], [5001, 43638]]);
    expect(rs.reduce((a, r) => a + r.flow.bytes, 0)).toBe(568 + 376 + 100701 + 632 + 63388 + 23294588 + 1260 + 967);
    expect(rs.every((r) => r.flow.family === 4 && r.meta.vpcId === 'vpc-abcdefab012345678' && r.meta.subnetId === 'subnet-aaaaaaaa012345678')).toBe(true);
  });

  it('traffic through a NAT gateway: pkt-dstaddr is the host on the internet', () => {
    const f = new VpcFormat(parseVpcFormat('instance-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr'));
    const [toNat, out, back, toInstance] = flows(
      f,
      `- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5
- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5
- eni-1235b8ca123456789 203.0.113.5 10.0.0.220 203.0.113.5 10.0.0.220
- eni-1235b8ca123456789 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5`,
    );
    const ends = (r: { flow: { src_addr: Uint8Array; dst_addr: Uint8Array } }) => [formatIP(r.flow.src_addr, 4), formatIP(r.flow.dst_addr, 4)];
    expect(ends(toNat!)).toEqual(['10.0.1.5', '203.0.113.5']);
    expect(ends(out!)).toEqual(['10.0.0.220', '203.0.113.5']);
    expect(ends(back!)).toEqual(['203.0.113.5', '10.0.0.220']);
    expect(ends(toInstance!)).toEqual(['203.0.113.5', '10.0.1.5']);
  });

  it('traffic through a transit gateway (custom format of VPC B)', () => {
    const f = new VpcFormat(parseVpcFormat('version interface-id account-id vpc-id subnet-id instance-id srcaddr dstaddr srcport dstport protocol tcp-flags type pkt-srcaddr pkt-dstaddr action log-status'));
    const rs = flows(
      f,
      `3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK
3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.40.2.236 10.20.33.164 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK
3 eni-11111111111111111 123456789010 vpc-abcdefab012345678 subnet-11111111aaaaaaaaa - 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK
3 eni-22222222222222222 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb - 10.40.2.236 10.40.2.31 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK`,
    );
    // the client in VPC A (10.20.33.164) is the real endpoint on the transit gateway's interfaces too
    expect(rs.map((r) => [formatIP(r.flow.src_addr, 4), formatIP(r.flow.dst_addr, 4)])).toEqual([
      ['10.20.33.164', '10.40.2.236'],
      ['10.40.2.236', '10.20.33.164'],
      ['10.20.33.164', '10.40.2.236'],
      ['10.40.2.236', '10.20.33.164'],
    ]);
    expect(rs.map((r) => r.flow.exporter_name)).toEqual(['eni-33333333333333333', 'eni-33333333333333333', 'eni-11111111111111111', 'eni-22222222222222222']);
    expect(rs.map((r) => r.meta.subnetId)).toEqual(['subnet-22222222bbbbbbbbb', 'subnet-22222222bbbbbbbbb', 'subnet-11111111aaaaaaaaa', 'subnet-22222222bbbbbbbbb']);
  });
});
