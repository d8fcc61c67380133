/**
 * Load balancer and CDN access logs: ALB (HTTP/gRPC/WebSocket), NLB TLS and CloudFront standard logs.
 *
 * Each request/connection becomes an `AccessRequest` (for the request report: status, latency,
 * sizes) and one FlowRecord (`requestFlow`) so the share analyses see requests like flows:
 *   flows = 1 (one request or TLS connection), bytes = received + sent (bytes the load balancer
 *   counted at the application layer, both directions), packets = 0 (unknown), direction inbound,
 *   src = the client, dst = the target (ALB/NLB) or :: (CloudFront: no server address),
 *   exporter_name = the load balancer / distribution.
 *
 * Client addresses: `ip:port` split at the LAST colon (ALB/NLB write IPv6 without brackets), the
 * bracketed `[v6]:port` form is tolerated, `-` means none. `::ffff:a.b.c.d` is IPv4 (see vpc.ts).
 */
import { Direction, emptyFlow, type FlowRecord } from '../../schema/fields.js';
import { isIPv4Mapped, tryParseIP } from '../../net/ip.js';
import { LogFormatError } from './vpc.js';

export type AccessKind = 'alb' | 'nlb' | 'cloudfront';

export interface AccessRequest {
  kind: AccessKind;
  /** epoch ms */
  time: number;
  lb: string;
  family: 4 | 6;
  client: Uint8Array;
  clientPort: number;
  /** Target address (ALB/NLB), null when none (not dispatched, CloudFront). */
  target: Uint8Array | null;
  targetPort: number;
  /** HTTP status the client got (0 for NLB TLS connections and when unknown). */
  status: number;
  /** Latency in ms: ALB request+target+response processing, CloudFront time-taken, NLB TLS handshake; null when unknown. */
  latencyMs: number | null;
  receivedBytes: number;
  sentBytes: number;
}

/** Split a line on single spaces, honouring "double quoted" fields (quotes removed, \" kept as "). */
export function splitQuoted(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    while (i < n && line.charCodeAt(i) === 32) i++;
    if (i >= n) break;
    if (line.charCodeAt(i) === 34) {
      let s = '';
      let j = i + 1;
      let closed = false;
      while (j < n) {
        const c = line.charCodeAt(j);
        if (c === 92 && j + 1 < n) {
          s += line[j + 1];
          j += 2;
          continue;
        }
        if (c === 34) {
          closed = true;
          j++;
          break;
        }
        s += line[j];
        j++;
      }
      if (!closed) throw new LogFormatError(`unterminated quoted field at column ${i + 1}`);
      out.push(s);
      i = j;
    } else {
      const s = i;
      while (i < n && line.charCodeAt(i) !== 32) i++;
      out.push(line.slice(s, i));
    }
  }
  return out;
}

/** `ip:port`, `[v6]:port` or `-`. IPv6 without brackets is split at the last colon. */
export function parseEndpoint(text: string, what: string): { addr: Uint8Array; family: 4 | 6; port: number } | null {
  if (text === '-' || text === '') return null;
  const p = tryParseIP(text, { port: 'required' });
  if (!p || p.port === undefined) throw new LogFormatError(`invalid ${what} "${text}" (expected address:port)`);
  const family = p.family === 6 && isIPv4Mapped(p.addr) ? 4 : p.family;
  return { addr: p.addr, family, port: p.port };
}

function parseAddr(text: string, what: string): { addr: Uint8Array; family: 4 | 6 } {
  const p = tryParseIP(text);
  if (!p) throw new LogFormatError(`invalid ${what} "${text}"`);
  return { addr: p.addr, family: p.family === 6 && isIPv4Mapped(p.addr) ? 4 : p.family };
}

function num(text: string, what: string): number {
  if (text === '-') return 0;
  const v = Number(text);
  if (text === '' || !Number.isFinite(v)) throw new LogFormatError(`invalid ${what} "${text}"`);
  return v;
}

function time(text: string, what: string): number {
  const v = Date.parse(text.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  if (!Number.isFinite(v)) throw new LogFormatError(`invalid ${what} "${text}"`);
  return v;
}

const ALB_TYPES = new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']);

/** True when a line looks like an ALB access log entry. */
export function isAlbLine(line: string): boolean {
  const sp = line.indexOf(' ');
  return sp > 0 && ALB_TYPES.has(line.slice(0, sp));
}

/**
 * One ALB access log entry. Fields (in order): type time elb client:port target:port
 * request_processing_time target_processing_time response_processing_time elb_status_code
 * target_status_code received_bytes sent_bytes "request" "user_agent" ... — later fields are not
 * needed here, and unknown trailing fields are ignored.
 */
export function parseAlbLine(line: string): AccessRequest {
  const f = splitQuoted(line);
  if (f.length < 12) throw new LogFormatError(`${f.length} fields, an ALB entry has at least 12`);
  if (!ALB_TYPES.has(f[0]!)) throw new LogFormatError(`unknown ALB entry type "${f[0]}"`);
  const client = parseEndpoint(f[3]!, 'client:port');
  if (!client) throw new LogFormatError('no client address');
  const target = parseEndpoint(f[4]!, 'target:port');
  // -1: the load balancer could not dispatch the request (or the client closed the connection).
  const parts = [f[5]!, f[6]!, f[7]!].map((t, i) => num(t, ['request_processing_time', 'target_processing_time', 'response_processing_time'][i]!));
  const latencyMs = parts.some((p) => p < 0) ? null : (parts[0]! + parts[1]! + parts[2]!) * 1000;
  return {
    kind: 'alb',
    time: time(f[1]!, 'time'),
    lb: f[2]!,
    family: client.family,
    client: client.addr,
    clientPort: client.port,
    target: target?.addr ?? null,
    targetPort: target?.port ?? 0,
    status: f[8] === '-' ? 0 : num(f[8]!, 'elb_status_code'),
    latencyMs,
    receivedBytes: num(f[10]!, 'received_bytes'),
    sentBytes: num(f[11]!, 'sent_bytes'),
  };
}

/**
 * One NLB TLS access log entry: type version time elb listener client:port destination:port
 * connection_time tls_handshake_time received_bytes sent_bytes incoming_tls_alert ... (times in ms).
 */
export function parseNlbLine(line: string): AccessRequest {
  const f = splitQuoted(line);
  if (f.length < 11) throw new LogFormatError(`${f.length} fields, an NLB TLS entry has at least 11`);
  if (f[0] !== 'tls') throw new LogFormatError(`unknown NLB entry type "${f[0]}"`);
  const client = parseEndpoint(f[5]!, 'client:port');
  if (!client) throw new LogFormatError('no client address');
  const target = parseEndpoint(f[6]!, 'destination:port');
  const hs = f[8] === '-' ? -1 : num(f[8]!, 'tls_handshake_time');
  return {
    kind: 'nlb',
    time: time(f[2]!, 'time'),
    lb: f[3]!,
    family: client.family,
    client: client.addr,
    clientPort: client.port,
    target: target?.addr ?? null,
    targetPort: target?.port ?? 0,
    status: 0,
    latencyMs: hs < 0 ? null : hs,
    receivedBytes: num(f[9]!, 'received_bytes'),
    sentBytes: num(f[10]!, 'sent_bytes'),
  };
}

/** CloudFront standard (W3C) log: the `#Fields:` header names the tab-separated columns. */
export class CloudFrontFormat {
  private readonly col: Record<string, number> = {};
  readonly fields: readonly string[];
  constructor(fieldsLine: string, readonly distribution = '') {
    const t = fieldsLine.replace(/^#Fields:\s*/, '').trim();
    this.fields = t.split(/\s+/);
    this.fields.forEach((f, i) => {
      if (this.col[f] === undefined) this.col[f] = i;
    });
    for (const need of ['date', 'time', 'c-ip']) {
      if (this.col[need] === undefined) throw new LogFormatError(`CloudFront #Fields header has no "${need}" field`);
    }
  }

  parse(line: string): AccessRequest {
    const v = line.split('\t');
    if (v.length < this.fields.length) throw new LogFormatError(`${v.length} fields, expected ${this.fields.length}`);
    const g = (name: string): string => {
      const i = this.col[name];
      return i === undefined ? '-' : v[i]!;
    };
    const c = g('c-ip');
    if (c === '-') throw new LogFormatError('no client address (c-ip)');
    const client = parseAddr(c, 'c-ip');
    const port = g('c-port');
    const taken = g('time-taken');
    const host = g('x-host-header');
    return {
      kind: 'cloudfront',
      time: time(`${g('date')}T${g('time')}`, 'date/time'),
      lb: this.distribution || (host !== '-' ? host : g('cs(Host)')),
      family: client.family,
      client: client.addr,
      clientPort: port === '-' ? 0 : num(port, 'c-port'),
      target: null,
      targetPort: 0,
      status: g('sc-status') === '-' ? 0 : num(g('sc-status'), 'sc-status'),
      latencyMs: taken === '-' ? null : num(taken, 'time-taken') * 1000,
      receivedBytes: num(g('cs-bytes'), 'cs-bytes'),
      sentBytes: num(g('sc-bytes'), 'sc-bytes'),
    };
  }
}

const ZERO = new Uint8Array(16);

/** The FlowRecord of a request (see the module comment for the mapping). */
export function requestFlow(r: AccessRequest): FlowRecord {
  const f = emptyFlow();
  f.source_kind = r.kind;
  f.time_received = f.time_start = f.time_end = r.time;
  f.exporter_name = r.lb;
  f.family = r.family;
  f.src_addr = r.client;
  f.src_port = r.clientPort;
  // A target of the other family (dual-stack ALB to IPv4 targets) is not stored in a row of the
  // client's family: the row's family is the client's, and both addresses must agree with it.
  const sameFam = r.target !== null && (r.family === 4) === isIPv4Mapped(r.target);
  f.dst_addr = sameFam ? r.target! : ZERO;
  f.dst_port = r.targetPort;
  f.proto = 6;
  f.bytes = r.receivedBytes + r.sentBytes;
  f.packets = 0;
  f.flows = 1;
  f.direction = Direction.inbound;
  f.peer_addr = r.client;
  f.device_id = r.lb;
  f.service_port = r.kind === 'cloudfront' ? 443 : r.targetPort;
  return f;
}
