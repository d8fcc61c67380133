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
