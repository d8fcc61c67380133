/**
 * The fast path for VPC / Transit Gateway flow log text: records are tokenised and parsed straight
 * from the decompressed bytes (no per-line strings, no split arrays), addresses are parsed from
 * bytes into their 16-byte form, and the few string fields (interface, VPC, subnet, action) are
 * interned so that a repeated ENI ID costs a hash, not an allocation.
 *
 * Rows are written straight into a columnar batch (collect/flow-batch.ts, `parseInto`): the ingest
 * makes no record for these lines.
 *
 * It handles the common, unambiguous forms only. Anything else — a field count that does not match,
 * a value that is not plain digits, an address with a zone or an embedded dotted quad, an
 * IPv4-mapped address, EFA, an unknown status or action, non-ASCII bytes — returns FALLBACK, and the
 * caller parses that line with `VpcFormat.parseFields` (the reference implementation, which also
 * produces the error message). The tests check that both give identical records.
 */
import type { ColumnarBuilder } from '../../collect/flow-batch.js';
import { Direction, FIELD_INDEX as C } from '../../schema/fields.js';
import type { VpcFormat } from './vpc.js';

/** Results other than a flow. */
export const EMPTY = 0;
export const NODATA = 1;
export const SKIPDATA = 2;
/** Parse this line with the string path. */
export const FALLBACK = 3;
/** `parseInto`: the flow is in the batch's row `n` (not yet counted: the caller commits it). */
export const ROW = 4;

/** Scratch space of the address parser (single-threaded, never retained). */
const IPV4 = new Uint8Array(4);
const WORDS = new Uint16Array(8);
const SCRATCH16 = new Uint8Array(16);
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/** Byte-string intern table: the same bytes give the same string without decoding them again. */
class Interner {
  private readonly map = new Map<number, { b: Buffer; s: string }>();
  get(buf: Buffer, s: number, e: number): string {
    const len = e - s;
    if (len === 1 && buf[s] === 45) return '';
    let h = 0x811c9dc5 ^ len;
    for (let i = s; i < e; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const hit = this.map.get(h);
    if (hit !== undefined && hit.b.length === len) {
      const b = hit.b;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== buf[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.s;
    }
    const str = buf.toString('utf8', s, e);
    if (hit === undefined && this.map.size < 65_536) this.map.set(h, { b: Buffer.from(buf.subarray(s, e)), s: str });
    return str;
  }
}

/** Compare buf[s,e) with an ASCII word. */
function is(buf: Buffer, s: number, e: number, w: readonly number[]): boolean {
  if (e - s !== w.length) return false;
  for (let i = 0; i < w.length; i++) if (buf[s + i] !== w[i]) return false;
  return true;
}
const codes = (t: string): number[] => [...t].map((c) => c.charCodeAt(0));
const W_OK = codes('OK');
const W_NODATA = codes('NODATA');
const W_SKIPDATA = codes('SKIPDATA');
const W_ACCEPT = codes('ACCEPT');
const W_REJECT = codes('REJECT');
const W_IPV4 = codes('IPv4');
const W_IPV6 = codes('IPv6');
const W_INGRESS = codes('ingress');
const W_EGRESS = codes('egress');

/** `-` */
function dash(buf: Buffer, s: number, e: number): boolean {
  return e - s === 1 && buf[s] === 45;
}

/** Decimal digits → value (≤ max); `-` → 0; -1 when anything else (the string path decides). */
function num(buf: Buffer, s: number, e: number, max: number): number {
  const n = e - s;
  if (n === 1 && buf[s] === 45) return 0;
  if (n === 0 || n > 16) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v > max ? -1 : v;
}

/**
 * An address from bytes into the 16-byte array `out`: 4 (dotted quad, stored ::ffff:a.b.c.d), 6
 * (plain IPv6 of hex groups, one `::` at most, not IPv4-mapped), 0 for `-` (out untouched), -1 for
 * anything else.
 */
function addr(buf: Buffer, s: number, e: number, out: Uint8Array): number {
  const n = e - s;
  if (n === 1 && buf[s] === 45) return 0;
  if (n < 2 || n > 39) return -1;
  // IPv4?
  let dots = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c === 46) dots++;
    else if (c === 58) {
      dots = -1;
      break;
    }
  }
  if (dots === 3) {
    const q = IPV4;
    let k = 0;
    let v = 0;
    let digits = 0;
    for (let i = s; i <= e; i++) {
      const c = i < e ? buf[i]! : 46;
      if (c === 46) {
        // 1-3 digits, no leading zero (the string parser's rules decide anything unusual)
        if (digits === 0 || v > 255 || (digits > 1 && buf[i - digits] === 48)) return -1;
        q[k++] = v;
        v = 0;
        digits = 0;
      } else {
        const d = c - 48;
        if (d < 0 || d > 9 || ++digits > 3) return -1;
        v = v * 10 + d;
      }
    }
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    out[12] = q[0]!;
    out[13] = q[1]!;
    out[14] = q[2]!;
    out[15] = q[3]!;
    return 4;
  }
  if (dots !== -1) return -1;
  // IPv6: groups of 1-4 hex digits separated by ':', at most one '::'.
  const w = WORDS;
  w.fill(0);
  let wi = 0;
  let gap = -1;
  let i = s;
  if (buf[i] === 58) {
    if (buf[i + 1] !== 58) return -1;
    gap = 0;
    i += 2;
    if (i === e) return finish6(w, wi, gap, out);
  }
  for (;;) {
    let v = 0;
    let d = 0;
    while (i < e) {
      const h = HEX[buf[i]!]!;
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
      if (++d > 4) return -1;
    }
    if (d === 0 || wi === 8) return -1;
    w[wi++] = v;
    if (i === e) break;
    if (buf[i] !== 58) return -1;
    i++;
    if (i === e) return -1;
    if (buf[i] === 58) {
      if (gap >= 0) return -1;
      gap = wi;
      i++;
      if (i === e) break;
    }
  }
  return finish6(w, wi, gap, out);
}

function finish6(w: Uint16Array, wi: number, gap: number, out: Uint8Array): number {
  if (gap < 0 ? wi !== 8 : wi === 8) return -1;
  // IPv4-mapped (::ffff:0:0/96): the string path counts it as IPv4 and notes it.
  const mapped = gap < 0 ? w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff : false;
  if (mapped) return -1;
  const a = SCRATCH16;
  a.fill(0);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) {
      a[k * 2] = w[k]! >> 8;
      a[k * 2 + 1] = w[k]! & 0xff;
    }
  } else {
    const tail = wi - gap;
    for (let k = 0; k < gap; k++) {
      a[k * 2] = w[k]! >> 8;
      a[k * 2 + 1] = w[k]! & 0xff;
    }
    for (let k = 0; k < tail; k++) {
      const o = (8 - tail + k) * 2;
      a[o] = w[gap + k]! >> 8;
      a[o + 1] = w[gap + k]! & 0xff;
    }
  }
  if (a[10] === 0xff && a[11] === 0xff) {
    let z = true;
    for (let k = 0; k < 10; k++) if (a[k] !== 0) z = false;
    if (z) return -1;
  }
  out.set(a);
  return 6;
}

/** A CloudWatch Logs export's leading event timestamp: YYYY-MM-DDTHH:MM:SS… */
function isIsoTs(buf: Buffer, s: number, e: number): boolean {
  if (e - s < 19) return false;
  const p = 'dddd-dd-ddTdd:dd:dd';
  for (let i = 0; i < 19; i++) {
    const c = buf[s + i]!;
    const q = p.charCodeAt(i);
    if (q === 100 ? c < 48 || c > 57 : c !== q) return false;
  }
  return true;
}

export class VpcByteParser {
  private readonly n: number;
  private readonly st: Int32Array;
  private readonly en: Int32Array;
  private readonly strings = new Interner();
  /** Scratch for the addresses being parsed. */
  private readonly srcA = new Uint8Array(16);
  private readonly dstA = new Uint8Array(16);
  private readonly cSrc: number;
  private readonly cDst: number;
  private readonly cPktSrc: number;
  private readonly cPktDst: number;
  private readonly cSrcPort: number;
  private readonly cDstPort: number;
  private readonly cProto: number;
  private readonly cPackets: number;
  private readonly cBytes: number;
  private readonly cFlags: number;
  private readonly cStart: number;
  private readonly cEnd: number;
  private readonly cAction: number;
  private readonly cStatus: number;
  private readonly cType: number;
  private readonly cDir: number;
  private readonly cIface: number;
  private readonly cIface2: number;
  private readonly cVpc: number;
  private readonly cSubnet: number;
  private readonly kind: 'vpc' | 'tgw';

  constructor(
    format: VpcFormat,
    private readonly fallbackTime: number,
  ) {
    const f = format.fields;
    this.n = f.length;
    this.st = new Int32Array(this.n + 2);
    this.en = new Int32Array(this.n + 2);
    const c = (name: string): number => f.indexOf(name);
    const tgw = format.tgw;
    this.kind = format.sourceKind;
    this.cSrc = c('srcaddr');
    this.cDst = c('dstaddr');
    this.cPktSrc = c('pkt-srcaddr');
    this.cPktDst = c('pkt-dstaddr');
    this.cSrcPort = c('srcport');
    this.cDstPort = c('dstport');
    this.cProto = c('protocol');
    this.cPackets = c('packets');
    this.cBytes = c('bytes');
    this.cFlags = c('tcp-flags');
    this.cStart = c('start');
    this.cEnd = c('end');
    this.cAction = c('action');
    this.cStatus = c('log-status');
    this.cType = c('type');
    this.cDir = c('flow-direction');
    this.cIface = tgw ? c('tgw-attachment-id') : c('interface-id');
    this.cIface2 = tgw ? c('tgw-id') : -1;
    this.cVpc = tgw ? c('tgw-src-vpc-id') : c('vpc-id');
    this.cSubnet = tgw ? c('tgw-src-subnet-id') : c('subnet-id');
  }

  /**
   * Parse the record in buf[s,e) (no line terminator) into row `out.n` of a columnar batch made with
   * new (zeroed) columns: ROW when the row holds the flow — every field the reference parser gives,
   * the enrichment's fields and `log_object` left for the caller, who commits the row (`out.n++`) or
   * leaves it to be overwritten — else EMPTY / NODATA / SKIPDATA / FALLBACK. The fields this method
   * never writes (exporter_addr, observation_domain, interfaces, MACs, dst_name, ASNs) must be zero
   * in the batch.
   */
  parseInto(buf: Buffer, s: number, e: number, out: ColumnarBuilder): number {
    const st = this.st;
    const en = this.en;
    const cap = this.n + 1;
    let k = 0;
    let i = s;
    while (i < e) {
      let c = buf[i]!;
      while (c === 32 || c === 9 || c === 13) {
        if (++i === e) break;
        c = buf[i]!;
      }
      if (i >= e) break;
      if (k === cap) return FALLBACK;
      st[k] = i;
      while (i < e && c !== 32 && c !== 9 && c !== 13) {
        if (c >= 128) return FALLBACK;
        c = buf[++i]!;
      }
      en[k++] = i;
    }
    if (k === 0) return EMPTY;
    let o = 0;
    if (k === this.n + 1) {
      if (!isIsoTs(buf, st[0]!, en[0]!)) return FALLBACK;
      o = 1;
    } else if (k !== this.n) return FALLBACK;

    const col = (c: number): number => c + o;
    if (this.cStatus >= 0) {
      const a = st[col(this.cStatus)]!;
      const b = en[col(this.cStatus)]!;
      if (is(buf, a, b, W_NODATA)) return NODATA;
      if (is(buf, a, b, W_SKIPDATA)) return SKIPDATA;
      if (!is(buf, a, b, W_OK) && !dash(buf, a, b)) return FALLBACK;
    }
    let action = 0;
    if (this.cAction >= 0) {
      const a = st[col(this.cAction)]!;
      const b = en[col(this.cAction)]!;
      if (is(buf, a, b, W_ACCEPT)) action = 1;
      else if (is(buf, a, b, W_REJECT)) action = 2;
      else if (!dash(buf, a, b)) return FALLBACK;
    }
    let typeFamily = 0;
    if (this.cType >= 0) {
      const a = st[col(this.cType)]!;
      const b = en[col(this.cType)]!;
      if (is(buf, a, b, W_IPV4)) typeFamily = 4;
      else if (is(buf, a, b, W_IPV6)) typeFamily = 6;
      else if (!dash(buf, a, b)) return FALLBACK;
    }
    const src = this.srcA;
    let sf = 0;
    if (this.cPktSrc >= 0) {
      sf = addr(buf, st[col(this.cPktSrc)]!, en[col(this.cPktSrc)]!, src);
      if (sf < 0) return FALLBACK;
    }
    if (sf === 0 && this.cSrc >= 0) {
      sf = addr(buf, st[col(this.cSrc)]!, en[col(this.cSrc)]!, src);
      if (sf < 0) return FALLBACK;
    }
    if (sf === 0) src.fill(0);
    const dst = this.dstA;
    let df = 0;
    if (this.cPktDst >= 0) {
      df = addr(buf, st[col(this.cPktDst)]!, en[col(this.cPktDst)]!, dst);
      if (df < 0) return FALLBACK;
    }
    if (df === 0 && this.cDst >= 0) {
      df = addr(buf, st[col(this.cDst)]!, en[col(this.cDst)]!, dst);
      if (df < 0) return FALLBACK;
    }
    if (df === 0) dst.fill(0);
    const fam = typeFamily || sf || df;
    // No family, mixed families, or a type that contradicts an address: the string path decides.
    if (fam === 0) return FALLBACK;
    if (typeFamily === 0 && sf !== 0 && df !== 0 && sf !== df) return FALLBACK;
    if (fam === 4 && (sf === 6 || df === 6)) return FALLBACK;

    const u = (c: number, max: number): number => (c < 0 ? 0 : num(buf, st[col(c)]!, en[col(c)]!, max));
    const srcPort = u(this.cSrcPort, 65535);
    const dstPort = u(this.cDstPort, 65535);
    const proto = u(this.cProto, 255);
    const packets = u(this.cPackets, Number.MAX_SAFE_INTEGER);
    const bytes = u(this.cBytes, Number.MAX_SAFE_INTEGER);
    const flags = u(this.cFlags, 0xffff);
    const start = u(this.cStart, 1e11);
    const end = u(this.cEnd, 1e11);
    if ((srcPort | dstPort | proto | flags) < 0 || packets < 0 || bytes < 0 || start < 0 || end < 0) return FALLBACK;
    let direction = 0;
    if (this.cDir >= 0) {
      const a = st[col(this.cDir)]!;
      const b = en[col(this.cDir)]!;
      if (is(buf, a, b, W_INGRESS)) direction = Direction.inbound;
      else if (is(buf, a, b, W_EGRESS)) direction = Direction.outbound;
      else if (!dash(buf, a, b)) return FALLBACK;
    }
    let iface = this.cIface >= 0 ? this.strings.get(buf, st[col(this.cIface)]!, en[col(this.cIface)]!) : '';
    if (iface === '' && this.cIface2 >= 0) iface = this.strings.get(buf, st[col(this.cIface2)]!, en[col(this.cIface2)]!);
    const vpc = this.cVpc >= 0 ? this.strings.get(buf, st[col(this.cVpc)]!, en[col(this.cVpc)]!) : '';
    const subnet = this.cSubnet >= 0 ? this.strings.get(buf, st[col(this.cSubnet)]!, en[col(this.cSubnet)]!) : '';

    const ts = start * 1000;
    const te = end * 1000;
    let timeStart = ts || te;
    let timeEnd = te || ts;
    const received = timeEnd || this.fallbackTime;
    if (timeStart === 0) timeStart = timeEnd = received;
    const cols = out.columns;
    const row = out.n;
    (cols[C.time_received] as Float64Array)[row] = received;
    (cols[C.time_start] as Float64Array)[row] = timeStart;
    (cols[C.time_end] as Float64Array)[row] = timeEnd;
    // strings: dictionary indexes (the builder remembers each column's last value)
    cols[C.source_kind]![row] = out.intern(C.source_kind, this.kind);
    cols[C.exporter_name]![row] = out.intern(C.exporter_name, iface);
    cols[C.interface_id]![row] = out.intern(C.interface_id, iface);
    cols[C.vpc_id]![row] = out.intern(C.vpc_id, vpc);
    cols[C.subnet_id]![row] = out.intern(C.subnet_id, subnet);
    cols[C.action]![row] = out.intern(C.action, ACTIONS[action]!);
    cols[C.sampling_rate]![row] = 1;
    cols[C.family]![row] = fam;
    (cols[C.src_addr] as Uint8Array).set(src, row * 16);
    (cols[C.dst_addr] as Uint8Array).set(dst, row * 16);
    cols[C.src_port]![row] = srcPort;
    cols[C.dst_port]![row] = dstPort;
    cols[C.proto]![row] = proto;
    cols[C.tcp_flags]![row] = flags & 0xff;
    cols[C.direction]![row] = direction;
    (cols[C.bytes] as Float64Array)[row] = bytes;
    (cols[C.packets] as Float64Array)[row] = packets;
    (cols[C.flows] as Float64Array)[row] = 1;
    return ROW;
  }

}

const ACTIONS = ['', 'ACCEPT', 'REJECT'] as const;
