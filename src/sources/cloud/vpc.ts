/**
 * AWS VPC Flow Logs and Transit Gateway flow logs (text form).
 *
 * - Format: the default v2 format (14 fields), the Transit Gateway default format, or any custom
 *   format — the field list of the S3 file's header line (`version account-id ...`) or the console's
 *   `${version} ${srcaddr} ...` string, exactly as written. Field names with underscores (Parquet,
 *   Athena) are accepted too. Unknown (newer) fields are kept in `extra` and otherwise ignored.
 * - Lines are split on runs of spaces/tabs. `-` means "no value" (0 for counters and ports).
 * - NODATA / SKIPDATA rows carry no traffic: they are counted and returned as such, never as flows.
 * - Family: the `type` field (IPv4 | IPv6) when present and set, else the family of the parsed
 *   address. `::ffff:a.b.c.d` written as IPv6 is IPv4 traffic seen through an IPv6 text
 *   representation (an IPv4-mapped socket address): it is stored as family 4 with the same 16 bytes
 *   as a.b.c.d, so it never inflates the IPv6 share (and is counted in `mappedAsIPv4`). An explicit
 *   `type IPv6` still wins, as the type field is honoured whenever it is present.
 * - Endpoints: `pkt-srcaddr` / `pkt-dstaddr` (the packet's real addresses behind a NAT gateway or
 *   an ENI with several addresses) replace srcaddr/dstaddr when present and not `-`.
 */
import { Direction, emptyFlow, type FlowRecord } from '../../schema/fields.js';
import { isIPv4Mapped, tryParseIP } from '../../net/ip.js';

/** Every documented field, with the flow log version that introduced it. */
export const VPC_FIELDS: Readonly<Record<string, number>> = {
  // v2 (default format)
  version: 2,
  'account-id': 2,
  'interface-id': 2,
  srcaddr: 2,
  dstaddr: 2,
  srcport: 2,
  dstport: 2,
  protocol: 2,
  packets: 2,
  bytes: 2,
  start: 2,
  end: 2,
  action: 2,
  'log-status': 2,
  // v3
  'vpc-id': 3,
  'subnet-id': 3,
  'instance-id': 3,
  'tcp-flags': 3,
  type: 3,
  'pkt-srcaddr': 3,
  'pkt-dstaddr': 3,
  // v4
  region: 4,
  'az-id': 4,
  'sublocation-type': 4,
  'sublocation-id': 4,
  // v5
  'pkt-src-aws-service': 5,
  'pkt-dst-aws-service': 5,
  'flow-direction': 5,
  'traffic-path': 5,
  // v7
  'ecs-cluster-arn': 7,
  'ecs-cluster-name': 7,
  'ecs-container-instance-arn': 7,
  'ecs-container-instance-id': 7,
  'ecs-container-id': 7,
  'ecs-second-container-id': 7,
  'ecs-service-name': 7,
  'ecs-task-definition-arn': 7,
  'ecs-task-arn': 7,
  'ecs-task-id': 7,
  // v8
  'reject-reason': 8,
  // Transit Gateway flow logs (version 6 in TGW logs)
  'resource-type': 6,
  'tgw-id': 6,
  'tgw-attachment-id': 6,
  'tgw-src-vpc-account-id': 6,
  'tgw-dst-vpc-account-id': 6,
  'tgw-src-vpc-id': 6,
  'tgw-dst-vpc-id': 6,
  'tgw-src-subnet-id': 6,
  'tgw-dst-subnet-id': 6,
  'tgw-src-eni': 6,
  'tgw-dst-eni': 6,
  'tgw-src-az-id': 6,
  'tgw-dst-az-id': 6,
  'tgw-pair-attachment-id': 6,
  'packets-lost-no-route': 6,
  'packets-lost-blackhole': 6,
  'packets-lost-mtu-exceeded': 6,
  'packets-lost-ttl-expired': 6,
};

export const VPC_DEFAULT_FORMAT =
  'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

/** The Transit Gateway flow log default format (all fields, in this order). */
export const TGW_DEFAULT_FORMAT =
  'version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id tgw-src-vpc-id ' +
  'tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id ' +
  'tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end log-status type ' +
  'packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region ' +
  'flow-direction pkt-src-aws-service pkt-dst-aws-service';

/** A malformed input: `message` is one line without the file/line prefix. */
export class LogFormatError extends Error {
  override readonly name = 'LogFormatError';
}

/**
 * Parse a format: `${a} ${b}` (console/API form), `a b` (S3 header line) or `a_b` (Parquet/Athena
 * column names). Returns hyphenated field names in order.
 */
export function parseVpcFormat(text: string): string[] {
  const t = text.trim();
  if (t === '') throw new LogFormatError('empty flow log format');
  const out: string[] = [];
  for (const tok of t.split(/\s+/)) {
    let name = tok;
    if (tok.startsWith('${')) {
      if (!tok.endsWith('}') || tok.length < 4) throw new LogFormatError(`invalid field "${tok}" in flow log format (expected \${name})`);
      name = tok.slice(2, -1);
    } else if (tok.includes('$') || tok.includes('{') || tok.includes('}')) {
      throw new LogFormatError(`invalid field "${tok}" in flow log format (expected \${name})`);
    }
    name = name.toLowerCase().replace(/_/g, '-');
    if (!/^[a-z0-9-]+$/.test(name)) throw new LogFormatError(`invalid field name "${name}" in flow log format`);
    out.push(name);
  }
  return out;
}

/** True when a (first) line is a flow log header naming fields rather than a record. */
export function isVpcHeader(line: string): boolean {
  const toks = splitFields(line);
  if (toks.length === 0) return false;
  let known = 0;
  for (const t of toks) {
    const name = t.startsWith('${') && t.endsWith('}') ? t.slice(2, -1) : t;
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) return false;
    if (name.replace(/_/g, '-') in VPC_FIELDS) known++;
  }
  return known * 2 >= toks.length;
}

/** Fields that are Transit Gateway only: a format with one of them is a TGW log. */
export function isTgwFormat(fields: readonly string[]): boolean {
  return fields.some((f) => f === 'tgw-id' || f === 'tgw-attachment-id' || f === 'resource-type');
}

/** The VPC/subnet/interface/action of a record (also in the FlowRecord's vpc_id, subnet_id, interface_id, action). */
export interface VpcMeta {
  vpcId: string;
  subnetId: string;
  interfaceId: string;
  /** ACCEPT | REJECT | '' */
  action: string;
  /** ingress | egress | '' */
  flowDirection: string;
  /** Unknown fields by name (only when the format has any). */
  extra?: Record<string, string>;
}

export type VpcLineResult =
  | { kind: 'flow'; flow: FlowRecord; meta: VpcMeta }
  | { kind: 'nodata' | 'skipdata'; meta: VpcMeta }
  /** EFA traffic (type EFA) or a custom format without any address or type: no IP family. */
  | { kind: 'no-family'; meta: VpcMeta };

const NO_EXTRA: readonly number[] = [];

/** A compiled format: the column of each known field (-1 when absent). */
export class VpcFormat {
  readonly fields: readonly string[];
  readonly tgw: boolean;
  readonly unknown: readonly string[];
  readonly sourceKind: 'vpc' | 'tgw';
  private readonly col: Record<string, number> = {};
  private readonly extraCols: readonly number[];

  constructor(fields: readonly string[], opts: { tgw?: boolean } = {}) {
    this.fields = fields;
    this.tgw = opts.tgw ?? isTgwFormat(fields);
    this.sourceKind = this.tgw ? 'tgw' : 'vpc';
    const unknown: string[] = [];
    const extra: number[] = [];
    fields.forEach((f, i) => {
      if (!(f in VPC_FIELDS)) {
        unknown.push(f);
        extra.push(i);
      }
      if (this.col[f] === undefined) this.col[f] = i;
    });
    this.unknown = unknown;
    this.extraCols = extra.length ? extra : NO_EXTRA;
  }

  static parse(text: string): VpcFormat {
    return new VpcFormat(parseVpcFormat(text));
  }

  private c(name: string): number {
    return this.col[name] ?? -1;
  }

  /**
   * Parse one record's fields (already split). Throws LogFormatError for a malformed record.
   * `fallbackTime` (epoch ms) is used when the format has no start/end.
   */
  parseFields(v: readonly string[], fallbackTime: number): VpcLineResult {
    const n = this.fields.length;
    if (v.length !== n) throw new LogFormatError(`${v.length} fields, expected ${n} (format: ${this.fields.join(' ')})`);
    const get = (name: string): string => {
      const i = this.c(name);
      return i < 0 ? '-' : v[i]!;
    };
    const meta: VpcMeta = {
      vpcId: val(get(this.tgw ? 'tgw-src-vpc-id' : 'vpc-id')),
      subnetId: val(get(this.tgw ? 'tgw-src-subnet-id' : 'subnet-id')),
      interfaceId: val(this.tgw ? firstSet(get('tgw-attachment-id'), get('tgw-id')) : get('interface-id')),
      action: val(get('action')),
      flowDirection: val(get('flow-direction')),
    };
    if (this.extraCols.length) {
      meta.extra = {};
      for (const i of this.extraCols) meta.extra[this.fields[i]!] = v[i]!;
    }
    const status = get('log-status');
    if (status === 'NODATA') return { kind: 'nodata', meta };
    if (status === 'SKIPDATA') return { kind: 'skipdata', meta };
    if (status !== 'OK' && status !== '-') throw new LogFormatError(`unknown log-status "${status}"`);
    if (meta.action !== '' && meta.action !== 'ACCEPT' && meta.action !== 'REJECT') throw new LogFormatError(`unknown action "${meta.action}"`);

    const typeText = get('type');
    let typeFamily: 4 | 6 | 0 = 0;
    if (typeText === 'IPv4') typeFamily = 4;
    else if (typeText === 'IPv6') typeFamily = 6;
    else if (typeText === 'EFA') return { kind: 'no-family', meta };
    else if (typeText !== '-') throw new LogFormatError(`unknown type "${typeText}" (expected IPv4, IPv6 or EFA)`);

    const src = addrOf(firstSet(get('pkt-srcaddr'), get('srcaddr')), 'source');
    const dst = addrOf(firstSet(get('pkt-dstaddr'), get('dstaddr')), 'destination');
    let fam: 4 | 6 | 0 = typeFamily;
    if (fam === 0) fam = src ? src.family : dst ? dst.family : 0;
    if (fam === 0) return { kind: 'no-family', meta };
    if (src && dst && typeFamily === 0 && src.family !== dst.family) {
      throw new LogFormatError(`source ${get('srcaddr')} and destination ${get('dstaddr')} are of different address families`);
    }
    if (fam === 4) {
      for (const a of [src, dst]) {
        if (a && a.family === 6) throw new LogFormatError(`type IPv4 but an address is IPv6`);
      }
    }
    const r = emptyFlow();
    r.source_kind = this.sourceKind;
    r.exporter_name = meta.interfaceId;
    r.interface_id = meta.interfaceId;
    r.vpc_id = meta.vpcId;
    r.subnet_id = meta.subnetId;
    r.action = meta.action;
    r.family = fam;
    if (src) r.src_addr = src.addr;
    if (dst) r.dst_addr = dst.addr;
    r.src_port = u16(get('srcport'), 'srcport');
    r.dst_port = u16(get('dstport'), 'dstport');
    r.proto = uint(get('protocol'), 'protocol', 255);
    r.packets = uint(get('packets'), 'packets', Number.MAX_SAFE_INTEGER);
    r.bytes = uint(get('bytes'), 'bytes', Number.MAX_SAFE_INTEGER);
    r.tcp_flags = uint(get('tcp-flags'), 'tcp-flags', 0xffff) & 0xff;
    const start = uint(get('start'), 'start', 1e11) * 1000;
    const end = uint(get('end'), 'end', 1e11) * 1000;
    r.time_start = start || end;
    r.time_end = end || start;
    r.time_received = r.time_end || fallbackTime;
    if (r.time_start === 0) r.time_start = r.time_end = r.time_received;
    if (meta.flowDirection === 'ingress') r.direction = Direction.inbound;
    else if (meta.flowDirection === 'egress') r.direction = Direction.outbound;
    else if (meta.flowDirection !== '') throw new LogFormatError(`unknown flow-direction "${meta.flowDirection}"`);
    return { kind: 'flow', flow: r, meta };
  }
}

/** Split a record on runs of spaces and tabs (leading/trailing whitespace ignored). */
export function splitFields(line: string, out: string[] = []): string[] {
  out.length = 0;
  const n = line.length;
  let i = 0;
  while (i < n) {
    let c = line.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 13)) c = line.charCodeAt(++i);
    if (i >= n) break;
    const s = i;
    while (i < n && c !== 32 && c !== 9 && c !== 13) c = line.charCodeAt(++i);
    out.push(line.slice(s, i));
  }
  return out;
}

function val(s: string): string {
  return s === '-' ? '' : s;
}

function firstSet(a: string, b: string): string {
  return a !== '-' && a !== '' ? a : b;
}

interface Addr {
  addr: Uint8Array;
  family: 4 | 6;
}

/** Parse an address field; `::ffff:a.b.c.d` becomes family 4 (see the module comment). */
function addrOf(text: string, what: string): Addr | null {
  if (text === '-' || text === '') return null;
  const p = tryParseIP(text);
  if (!p || p.zone !== undefined) throw new LogFormatError(`invalid ${what} address "${text}"`);
  if (p.family === 6 && isIPv4Mapped(p.addr)) return { addr: p.addr, family: 4 };
  return { addr: p.addr, family: p.family };
}

/** True when a text written as IPv6 is IPv4-mapped (reported as a statistic by callers). */
export function isMappedText(text: string): boolean {
  if (text.indexOf(':') < 0) return false;
  const p = tryParseIP(text);
  return p !== null && p.family === 6 && isIPv4Mapped(p.addr);
}

function uint(s: string, what: string, max: number): number {
  if (s === '-') return 0;
  const n = s.length;
  if (n === 0 || n > 16) throw new LogFormatError(`invalid ${what} "${s}"`);
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new LogFormatError(`invalid ${what} "${s}"`);
    v = v * 10 + c;
  }
  if (v > max) throw new LogFormatError(`${what} ${s} out of range`);
  return v;
}

function u16(s: string, what: string): number {
  return uint(s, what, 65535);
}
