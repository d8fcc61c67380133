/**
 * NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoder with per-exporter state.
 *
 * - State is keyed by exporter address + observation domain (v9 source ID, v5 engine type/id);
 *   the source port is not part of the key (real exporters change it). Templates, samplers and
 *   the system-init time live there; `snapshot()`/`restore()` persist them as JSON.
 * - `decode()` never throws: every rejected datagram, set or record is counted by kind in the
 *   exporter's stats (`stats()`).
 * - Each template is compiled once into a flat op list with fixed offsets (template.ts), which an
 *   interpreter runs per record; a flow template that has decoded `compileAfter` records gets a
 *   generated function instead (codegen.ts), which makes the same records.
 * - Counters are scaled by the sampling rate once, here; the rate is kept in `sampling_rate`.
 */
import { emptyFlow, type FlowRecord, type SourceKind } from '../../schema/fields.js';
import { formatIP, tryParseIP } from '../../net/ip.js';
import { DECODE_IP, LINKTYPE, PacketDecoder, type PacketInfo } from '../packets/decode.js';
import * as I from './ie.js';
import { RD_MAC, RD_NTP_NS, RD_NTP_US, RD_OFFSET, RD_SECTION, RD_UINT, ieName } from './ie.js';
import { SequenceTracker, type SequenceStats } from './sequence.js';
import { clampRate, compilable, compileRecordFn, ntpMs, type PooledRecord, type RecordDomain, type RecordHost } from './codegen.js';
import { compileTemplate, RD_VARLEN, type Template, type TemplateField } from './template.js';

/** Four big-endian 32-bit words (PacketInfo's address form) → 16 bytes. */
function wordsToAddr(w0: number, w1: number, w2: number, w3: number): Uint8Array {
  const a = new Uint8Array(16);
  const dv = new DataView(a.buffer);
  dv.setInt32(0, w0 | 0);
  dv.setInt32(4, w1 | 0);
  dv.setInt32(8, w2 | 0);
  dv.setInt32(12, w3 | 0);
  return a;
}

export const FLOW_ERROR_KINDS = [
  /** Datagram/message shorter than its header, or a set/record running past the end. */
  'truncated',
  /** Version field is not 5, 9 or 10. */
  'bad-version',
  /** A length field that cannot be right (IPFIX message length < 16, set length < 4, ...). */
  'bad-length',
  /** A reserved set ID (v9: 2..255, IPFIX: 0, 1, 4..255). */
  'bad-set-id',
  /** A data set whose template is not known (yet): buffered, decoded if the template arrives. */
  'unknown-template',
  /** A template record that cannot be used (ID < 256, scope count 0 or > field count, no bytes, cut). */
  'bad-template',
  /** A variable-length record running past its set. */
  'bad-record',
  /** A data record with neither an address IE nor ipVersion (nor a packet section): no family, dropped. */
  'no-address',
  /** A packet section (IE 315 dataLinkFrameSection, 313 ipHeaderPacketSection) that is not a valid IP packet start. */
  'bad-section',
  /** Buffered data sets dropped (buffer full) before their template arrived. */
  'pending-dropped',
  /** State limits reached (domains per exporter, templates per domain, exporters, samplers). */
  'state-limit',
  /** A bug: an exception inside the decoder (caught; the datagram is dropped). */
  'internal',
] as const;
export type FlowErrorKind = (typeof FLOW_ERROR_KINDS)[number];

export interface FlowDecoderOptions {
  /** exporter_name of the records (default ''). */
  exporterName?: string;
  /** Data sets kept per domain while waiting for their template (default 32; 0 = drop). */
  pendingSetsPerDomain?: number;
  /** Bytes of buffered data sets across all exporters (default 4 MiB). */
  pendingBytesMax?: number;
  maxExporters?: number;
  maxDomainsPerExporter?: number;
  maxTemplatesPerDomain?: number;
  /**
   * The v9/IPFIX records a `decode` call returns, and their address arrays, are reused by the next
   * call: for a consumer that copies them at once (serve's collector thread encodes each datagram's
   * records into its columnar batch), it saves allocating and collecting a record and two 16-byte
   * arrays per flow. Default false: records are the caller's to keep.
   */
  transientRecords?: boolean;
  /**
   * Records a flow template decodes with the op-list interpreter before the decoder generates a
   * function for it (codegen.ts). Default 64; 0 = at once; Infinity = never (interpreter only).
   */
  compileAfter?: number;
}

export interface TemplateDump {
  id: number;
  options: boolean;
  scopeCount: number;
  version: 9 | 10;
  fields: { id: number; enterprise: number; length: number; name: string }[];
  /** Decoded by a generated function (a hot flow template without packet sections), not by the interpreter. */
  compiled: boolean;
}

export interface DomainStats {
  domain: number;
  version: 5 | 9 | 10;
  templates: TemplateDump[];
  /** Sampler ID → rate, from options data. */
  samplers: Record<string, number>;
  /** Rate from options data without a sampler ID (0 = none received). */
  defaultRate: number;
  sequence: SequenceStats;
  pendingSets: number;
}

export interface ExporterStats {
  exporter: string;
  /** Last source port seen. */
  port: number;
  datagrams: number;
  /** Datagrams dropped as a whole (header unreadable or version unknown). */
  datagramsRejected: number;
  /** Datagrams in which at least one error was counted (includes rejected ones). */
  datagramsWithErrors: number;
  byVersion: Record<'5' | '9' | '10', number>;
  /** Flow records produced (biflows count two). */
  records: number;
  /** Options data records applied (sampling, system-init time). */
  optionsRecords: number;
  templateRecords: number;
  templateWithdrawals: number;
  /** Data sets decoded late, once their template arrived. */
  pendingDecoded: number;
  errors: Record<FlowErrorKind, number>;
  /** Sampling rates applied to records or announced by options data. */
  samplingRates: number[];
  domains: DomainStats[];
}

export interface FlowSnapshot {
  version: 1;
  exporters: {
    addr: string;
    domains: {
      domain: number;
      version: 5 | 9 | 10;
      templates: { id: number; options: boolean; scopeCount: number; version: 9 | 10; fields: [number, number, number][] }[];
      samplers: [number, number][];
      defaultRate: number;
      sysInitMs: number;
    }[];
  }[];
}

interface Pending {
  setId: number;
  bytes: Uint8Array;
  exportMs: number;
  sysUptime: number;
  receivedAt: number;
}

class DomainState {
  readonly templates = new Map<number, Template>();
  readonly samplers = new Map<number, number>();
  defaultRate = 0;
  sysInitMs = 0;
  pending: Pending[] = [];
  seq: SequenceTracker;
  constructor(
    readonly domain: number,
    public version: 5 | 9 | 10,
  ) {
    this.seq = new SequenceTracker(version === 9 ? 'packets' : 'records');
  }
}

class ExporterState {
  readonly domains = new Map<number, DomainState>();
  port = 0;
  datagrams = 0;
  datagramsRejected = 0;
  datagramsWithErrors = 0;
  v5 = 0;
  v9 = 0;
  v10 = 0;
  records = 0;
  optionsRecords = 0;
  templateRecords = 0;
  templateWithdrawals = 0;
  pendingDecoded = 0;
  errors: Record<FlowErrorKind, number> = Object.fromEntries(FLOW_ERROR_KINDS.map((k) => [k, 0])) as Record<FlowErrorKind, number>;
  errorTotal = 0;
  readonly rates = new Set<number>();
  lastRate = -1;
  constructor(readonly addr: Uint8Array) {}
}

const ZERO16 = new Uint8Array(16);
const TWO32 = 0x1_0000_0000;
const MAX_U32 = 0xffff_ffff;
const MAX_SAMPLERS = 1024;

function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function uint(b: Uint8Array, o: number, len: number): number {
  switch (len) {
    case 1:
      return b[o]!;
    case 2:
      return (b[o]! << 8) | b[o + 1]!;
    case 4:
      return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    case 8:
      return (((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0) * TWO32 +
        (((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0);
    default: {
      let v = 0;
      for (let i = 0; i < len; i++) v = v * 256 + b[o + i]!;
      return v;
    }
  }
}
function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}
function wireKey(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}
function equal16(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 15; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}
function isZero(b: Uint8Array, o: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[o + i] !== 0) return false;
  return true;
}
function addr4(b: Uint8Array, o: number): Uint8Array {
  return put4(new Uint8Array(16), b, o);
}
const MAPPED_ZERO = addr4(new Uint8Array(4), 0);
/** The IPv4 address at `o` of `b` as ::ffff:a.b.c.d in `a`. */
function put4(a: Uint8Array, b: Uint8Array, o: number): Uint8Array {
  a.fill(0, 0, 10);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = b[o]!;
  a[13] = b[o + 1]!;
  a[14] = b[o + 2]!;
  a[15] = b[o + 3]!;
  return a;
}
/** The IPv6 address at `o` of `b` in `a`. */
function put6(a: Uint8Array, b: Uint8Array, o: number): Uint8Array {
  for (let i = 0; i < 16; i++) a[i] = b[o + i]!;
  return a;
}
/** emptyFlow()'s values, to reset a reused record. */
const EMPTY: Readonly<FlowRecord> = Object.freeze(emptyFlow());
/** The interpreter's constants, shared with the generated record functions. */
const CONSTANTS = { MAPPED_ZERO, ZERO16, EMPTY };

/** Context of the message being decoded (v9/IPFIX). */
interface Ctx {
  version: 9 | 10;
  kind: SourceKind;
  exportMs: number;
  sysUptime: number;
  receivedAt: number;
}

export class FlowDecoder implements RecordHost {
  private readonly exporters = new Map<string, ExporterState>();
  private readonly v = new Float64Array(I.NUM_SLOTS);
  /** Packet parser for packet sections (IE 315/313), created on first use. */
  private pd: PacketDecoder | undefined;
  /** @internal (RecordHost) */
  readonly ctx: Ctx = { version: 9, kind: 'netflow9', exportMs: 0, sysUptime: 0, receivedAt: 0 };
  /** @internal (RecordHost) */
  readonly exporterName: string;
  private readonly pendingPerDomain: number;
  private readonly pendingBytesMax: number;
  private readonly maxExporters: number;
  private readonly maxDomains: number;
  private readonly maxTemplates: number;
  private pendingBytes = 0;
  /** @internal (RecordHost) */
  readonly transient: boolean;
  private readonly compileAfter: number;
  /** Transient mode: the records of the calls so far, reused from the start at every call. */
  private readonly pool: PooledRecord[] = [];
  private poolUsed = 0;
  /** Records of the call in progress. */
  private out: FlowRecord[] = [];
  private exp: ExporterState = new ExporterState(ZERO16);
  /** The exporter of the previous datagram (exporters are never removed). */
  private lastExporter: ExporterState | null = null;
  private hadError = false;

  constructor(opts: FlowDecoderOptions = {}) {
    this.exporterName = opts.exporterName ?? '';
    this.pendingPerDomain = opts.pendingSetsPerDomain ?? 32;
    this.pendingBytesMax = opts.pendingBytesMax ?? 4 * 1024 * 1024;
    this.maxExporters = opts.maxExporters ?? 100_000;
    this.maxDomains = opts.maxDomainsPerExporter ?? 1024;
    this.maxTemplates = opts.maxTemplatesPerDomain ?? 4096;
    this.transient = opts.transientRecords ?? false;
    this.compileAfter = opts.compileAfter ?? 64;
  }

  /** @internal (RecordHost) The next reusable record of this call (transient mode); its fields still hold an earlier flow's values. */
  pooled(): PooledRecord {
    let p = this.pool[this.poolUsed];
    if (p === undefined) this.pool.push((p = { r: emptyFlow(), src: new Uint8Array(16), dst: new Uint8Array(16) }));
    this.poolUsed++;
    return p;
  }

  /**
   * Decode one datagram from `exporter`. Returns its flow records (possibly none: a template-only
   * datagram, or an error, counted in stats()). Never throws.
   */
  decode(datagram: Uint8Array, exporter: { addr: Uint8Array; port: number }, receivedAtMs: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    const exp = this.exporterFor(exporter.addr);
    if (!exp) return out;
    this.out = out;
    this.exp = exp;
    this.hadError = false;
    this.poolUsed = 0;
    exp.port = exporter.port;
    exp.datagrams++;
    try {
      this.decodeDatagram(datagram, receivedAtMs);
    } catch {
      this.err('internal');
    }
    if (this.hadError) exp.datagramsWithErrors++;
    exp.records += out.length;
    this.out = [];
    return out;
  }

  private exporterFor(addrIn: Uint8Array): ExporterState | null {
    let addr = addrIn;
    if (!(addr instanceof Uint8Array) || addr.length !== 16) addr = addr instanceof Uint8Array && addr.length === 4 ? addr4(addr, 0) : ZERO16;
    // Datagrams come in runs from one exporter: the last one is checked by its 16 bytes first.
    const last = this.lastExporter;
    if (last !== null && equal16(last.addr, addr)) return last;
    const key = wireKey(addr, 0, 16);
    let e = this.exporters.get(key);
    if (!e) {
      if (this.exporters.size >= this.maxExporters) return null;
      e = new ExporterState(addr.slice());
      this.exporters.set(key, e);
    }
    this.lastExporter = e;
    return e;
  }

  private err(kind: FlowErrorKind, n = 1): void {
    this.exp.errors[kind] += n;
    this.exp.errorTotal += n;
    this.hadError = true;
  }

  private reject(kind: FlowErrorKind): void {
    this.err(kind);
    this.exp.datagramsRejected++;
  }

  private domainFor(id: number, version: 5 | 9 | 10): DomainState | null {
    const exp = this.exp;
    let d = exp.domains.get(id);
    if (d) {
      if (d.version !== version) {
        // The exporter switched protocol on this domain: its templates do not carry over.
        d.templates.clear();
        d.version = version;
        d.seq = new SequenceTracker(version === 9 ? 'packets' : 'records');
      }
      return d;
    }
    if (exp.domains.size >= this.maxDomains) {
      this.err('state-limit');
      return null;
    }
    d = new DomainState(id, version);
    exp.domains.set(id, d);
    return d;
  }

  private decodeDatagram(b: Uint8Array, receivedAt: number): void {
    if (b.length < 2) return this.reject('truncated');
    const version = u16(b, 0);
    if (version === 5) {
      this.exp.v5++;
      return this.decodeV5(b, receivedAt);
    }
    if (version === 9) {
      this.exp.v9++;
      return this.decodeV9(b, receivedAt);
    }
    if (version === 10) {
      this.exp.v10++;
      let off = 0;
      // One message per datagram normally; a stream of messages is decoded in order.
      for (let n = 0; off < b.length; n++) {
        const next = this.decodeIpfix(b, off, receivedAt, n === 0);
        if (next <= off) break;
        off = next;
        if (b.length - off < 16 || u16(b, off) !== 10) break; // trailing bytes (zero fill) are ignored
      }
      return;
    }
    return this.reject('bad-version');
  }

  // ---------------------------------------------------------------------------------------------
  // NetFlow v5

  private decodeV5(b: Uint8Array, receivedAt: number): void {
    if (b.length < 24) return this.reject('truncated');
    const count = u16(b, 2);
    const sysUptime = u32(b, 4);
    const exportMs = u32(b, 8) * 1000 + Math.floor(u32(b, 12) / 1e6);
    const seq = u32(b, 16);
    const domainId = (b[20]! << 8) | b[21]!;
    const interval = u16(b, 22) & 0x3fff;
    const rate = interval === 0 ? 1 : interval;
    const avail = Math.floor((b.length - 24) / 48);
    let n = count;
    if (count > avail) {
      this.err('truncated');
      n = avail;
    }
    const dom = this.domainFor(domainId, 5);
    if (!dom) return;
    dom.seq.observe(seq, count);
    this.noteRate(rate);
    const exp = this.exp;
    const out = this.out;
    for (let i = 0; i < n; i++) {
      const o = 24 + i * 48;
      const r = emptyFlow();
      r.time_received = receivedAt;
      r.source_kind = 'netflow5';
      r.exporter_addr = exp.addr;
      r.exporter_name = this.exporterName;
      r.observation_domain = domainId;
      r.sampling_rate = rate;
      r.family = 4;
      r.src_addr = addr4(b, o);
      r.dst_addr = addr4(b, o + 4);
      r.peer_addr = r.dst_addr;
      r.in_if = u16(b, o + 12);
      r.out_if = u16(b, o + 14);
      r.packets = u32(b, o + 16) * rate;
      r.bytes = u32(b, o + 20) * rate;
      r.time_start = exportMs - ((sysUptime - u32(b, o + 24)) | 0);
      r.time_end = exportMs - ((sysUptime - u32(b, o + 28)) | 0);
      r.src_port = u16(b, o + 32);
      r.dst_port = u16(b, o + 34);
      r.tcp_flags = b[o + 37]!;
      r.proto = b[o + 38]!;
      r.src_asn = u16(b, o + 40);
      r.dst_asn = u16(b, o + 42);
      out.push(r);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // NetFlow v9

  private decodeV9(b: Uint8Array, receivedAt: number): void {
    const len = b.length;
    if (len < 20) return this.reject('truncated');
    const ctx = this.ctx;
    ctx.version = 9;
    ctx.kind = 'netflow9';
    ctx.sysUptime = u32(b, 4);
    ctx.exportMs = u32(b, 8) * 1000;
    ctx.receivedAt = receivedAt;
    const seq = u32(b, 12);
    const dom = this.domainFor(u32(b, 16), 9);
    if (!dom) return;
    dom.seq.observe(seq, 1);
    let off = 20;
    while (len - off >= 4) {
      const setId = u16(b, off);
      const setLen = u16(b, off + 2);
      if (setLen < 4) {
        if (!allZero(b, off, len)) this.err('bad-length');
        break;
      }
      if (off + setLen > len) {
        this.err('truncated');
        break;
      }
      const start = off + 4;
      const end = off + setLen;
      if (setId === 0) this.templateSet(b, start, end, dom, 9, false);
      else if (setId === 1) this.v9OptionsSet(b, start, end, dom);
      else if (setId >= 256) this.dataSet(b, start, end, setId, dom, false);
      else this.err('bad-set-id');
      off = end;
    }
  }

  private v9OptionsSet(b: Uint8Array, p: number, end: number, dom: DomainState): void {
    while (end - p >= 6) {
      const tid = u16(b, p);
      const scopeLen = u16(b, p + 2);
      const optLen = u16(b, p + 4);
      if (tid === 0 && scopeLen === 0 && optLen === 0 && allZero(b, p, end)) return; // padding
      const fend = p + 6 + scopeLen + optLen;
      if (scopeLen % 4 !== 0 || optLen % 4 !== 0 || fend > end) {
        this.err('bad-template');
        return;
      }
      const fields: TemplateField[] = [];
      for (let q = p + 6; q < fend; q += 4) fields.push({ id: u16(b, q), length: u16(b, q + 2), enterprise: 0 });
      this.exp.templateRecords++;
      if (tid < 256 || fields.length === 0) this.err('bad-template');
      else this.install(dom, tid, fields, true, scopeLen / 4, 9, b, p, fend);
      p = fend;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // IPFIX

  /** Decode the message at `off`; returns the offset after it (or `off` when it is unusable). */
  private decodeIpfix(b: Uint8Array, off: number, receivedAt: number, first: boolean): number {
    const avail = b.length - off;
    if (avail < 16) {
      if (first) this.reject('truncated');
      else this.err('truncated');
      return off;
    }
    const msgLen = u16(b, off + 2);
    if (msgLen < 16) {
      if (first) this.reject('bad-length');
      else this.err('bad-length');
      return off;
    }
    let end = off + msgLen;
    if (msgLen > avail) {
      this.err('truncated'); // decode the sets that are complete
      end = b.length;
    }
    const ctx = this.ctx;
    ctx.version = 10;
    ctx.kind = 'ipfix';
    ctx.exportMs = u32(b, off + 4) * 1000;
    ctx.sysUptime = 0;
    ctx.receivedAt = receivedAt;
    const seq = u32(b, off + 8);
    const dom = this.domainFor(u32(b, off + 12), 10);
    if (!dom) return end;
    let records = 0;
    let uncountable = msgLen > avail;
    let p = off + 16;
    while (end - p >= 4) {
      const setId = u16(b, p);
      const setLen = u16(b, p + 2);
      if (setLen < 4) {
        if (!allZero(b, p, end)) {
          this.err('bad-length');
          uncountable = true;
        }
        break;
      }
      if (p + setLen > end) {
        this.err('truncated');
        uncountable = true;
        break;
      }
      const start = p + 4;
      const setEnd = p + setLen;
      if (setId === 2) this.templateSet(b, start, setEnd, dom, 10, false);
      else if (setId === 3) this.templateSet(b, start, setEnd, dom, 10, true);
      else if (setId >= 256) {
        const n = this.dataSet(b, start, setEnd, setId, dom, false);
        if (n < 0) uncountable = true;
        else records += n;
      } else this.err('bad-set-id');
      p = setEnd;
    }
    dom.seq.observe(seq, records);
    if (uncountable) dom.seq.unknown();
    return end;
  }

  // ---------------------------------------------------------------------------------------------
  // Templates

  /** v9 template set (id 0) or IPFIX template / options template set (2 / 3). */
  private templateSet(b: Uint8Array, p: number, end: number, dom: DomainState, version: 9 | 10, options: boolean): void {
    const ipfix = version === 10;
    while (end - p >= 4) {
      const rec = p;
      const tid = u16(b, p);
      const fc = u16(b, p + 2);
      if (fc === 0) {
        if (tid === 0 && allZero(b, p, end)) return; // padding
        if (!ipfix) {
          this.err('bad-template');
          return;
        }
        // IPFIX withdrawal: one template, or all (ID 2 in a template set, 3 in an options set).
        p += 4;
        this.exp.templateWithdrawals++;
        if (tid === (options ? 3 : 2)) {
          for (const [id, t] of dom.templates) if (t.options === options) dom.templates.delete(id);
        } else if (tid < 256) this.err('bad-template');
        else dom.templates.delete(tid);
        continue;
      }
      let scopeCount = 0;
      p += 4;
      if (options) {
        if (end - p < 2) {
          this.err('bad-template');
          return;
        }
        scopeCount = u16(b, p);
        p += 2;
      }
      const fields: TemplateField[] = new Array(fc);
      for (let i = 0; i < fc; i++) {
        if (end - p < 4) {
          this.err('bad-template'); // cut: the rest of the set cannot be parsed
          return;
        }
        let id = u16(b, p);
        const length = u16(b, p + 2);
        let enterprise = 0;
        p += 4;
        if (ipfix && id & 0x8000) {
          if (end - p < 4) {
            this.err('bad-template');
            return;
          }
          enterprise = u32(b, p);
          id &= 0x7fff;
          p += 4;
        }
        fields[i] = { id, length, enterprise };
      }
      this.exp.templateRecords++;
      if (tid < 256 || (options && (scopeCount === 0 || scopeCount > fc))) this.err('bad-template');
      else this.install(dom, tid, fields, options, scopeCount, version, b, rec, p);
    }
  }

  private install(
    dom: DomainState,
    tid: number,
    fields: TemplateField[],
    options: boolean,
    scopeCount: number,
    version: 9 | 10,
    b: Uint8Array,
    from: number,
    to: number,
  ): void {
    const wire = (options ? 'o' : 'd') + wireKey(b, from, to);
    const old = dom.templates.get(tid);
    if (old && old.wire === wire) return; // a refresh: nothing to recompile
    if (!old && dom.templates.size >= this.maxTemplates) {
      this.err('state-limit');
      return;
    }
    const t = compileTemplate(tid, fields, { options, scopeCount, version, wire });
    if (!t) {
      this.err('bad-template');
      dom.templates.delete(tid);
      return;
    }
    dom.templates.set(tid, t);
    if (dom.pending.length > 0) this.drainPending(dom, tid);
  }

  private drainPending(dom: DomainState, tid: number): void {
    const keep: Pending[] = [];
    const ready: Pending[] = [];
    for (const p of dom.pending) (p.setId === tid ? ready : keep).push(p);
    if (ready.length === 0) return;
    dom.pending = keep;
    const ctx = this.ctx;
    const saved = { exportMs: ctx.exportMs, sysUptime: ctx.sysUptime, receivedAt: ctx.receivedAt };
    for (const p of ready) {
      this.pendingBytes -= p.bytes.length;
      ctx.exportMs = p.exportMs;
      ctx.sysUptime = p.sysUptime;
      ctx.receivedAt = p.receivedAt;
      this.dataSet(p.bytes, 0, p.bytes.length, tid, dom, true);
      this.exp.pendingDecoded++;
    }
    ctx.exportMs = saved.exportMs;
    ctx.sysUptime = saved.sysUptime;
    ctx.receivedAt = saved.receivedAt;
  }

  // ---------------------------------------------------------------------------------------------
  // Data

  /** Decode a data set; returns the number of data records, or -1 when the template is unknown. */
  private dataSet(b: Uint8Array, p: number, end: number, setId: number, dom: DomainState, fromPending: boolean): number {
    const t = dom.templates.get(setId);
    if (!t) {
      if (fromPending) return -1;
      this.err('unknown-template');
      this.buffer(b, p, end, setId, dom);
      return -1;
    }
    let n = 0;
    // A hot flow template gets its generated record function (codegen.ts); the others are interpreted.
    let fn = t.fn;
    if (fn === undefined && t.hits >= this.compileAfter) fn = t.fn = compilable(t) ? compileRecordFn(t, CONSTANTS) : null;
    if (t.fixed) {
      const L = t.minLen;
      if (fn) {
        for (; end - p >= L; p += L) {
          fn(this, b, p, dom, end);
          n++;
        }
      } else {
        for (; end - p >= L; p += L) {
          this.readRecord(t, b, p, end);
          this.record(t, b, dom);
          n++;
        }
      }
      // Fewer than L bytes left: padding.
    } else {
      while (end - p >= t.minLen) {
        const next = fn ? fn(this, b, p, dom, end) : this.readRecord(t, b, p, end);
        if (next < 0) {
          if (!allZero(b, p, end)) this.err('bad-record');
          break;
        }
        if (!fn) this.record(t, b, dom);
        n++;
        p = next;
      }
    }
    if (!fn) t.hits += n;
    return n;
  }

  private buffer(b: Uint8Array, p: number, end: number, setId: number, dom: DomainState): void {
    const size = end - p;
    if (this.pendingPerDomain <= 0 || size > this.pendingBytesMax) {
      this.err('pending-dropped');
      return;
    }
    while (dom.pending.length >= this.pendingPerDomain || (this.pendingBytes + size > this.pendingBytesMax && dom.pending.length > 0)) {
      const old = dom.pending.shift()!;
      this.pendingBytes -= old.bytes.length;
      this.err('pending-dropped');
    }
    if (this.pendingBytes + size > this.pendingBytesMax) {
      this.err('pending-dropped');
      return;
    }
    const ctx = this.ctx;
    dom.pending.push({ setId, bytes: b.slice(p, end), exportMs: ctx.exportMs, sysUptime: ctx.sysUptime, receivedAt: ctx.receivedAt });
    this.pendingBytes += size;
  }

  /** Run the template's ops on the record at p; returns the record's end, or -1 if it overruns `end`. */
  private readRecord(t: Template, b: Uint8Array, p: number, end: number): number {
    const ops = t.ops;
    const v = this.v;
    let base = p;
    let segEnd = p + t.firstSegLen;
    if (segEnd > end) return -1;
    for (let i = 0; i < ops.length; i += 4) {
      const o = base + ops[i + 2]!;
      switch (ops[i]) {
        case RD_UINT:
          v[ops[i + 1]!] = uint(b, o, ops[i + 3]!);
          break;
        case RD_OFFSET:
          v[ops[i + 1]!] = o;
          break;
        case RD_MAC:
          v[ops[i + 1]!] = ((b[o]! << 8) | b[o + 1]!) * TWO32 + u32(b, o + 2);
          break;
        case RD_NTP_US:
        case RD_NTP_NS:
          v[ops[i + 1]!] = ntpMs(b, o);
          break;
        case RD_SECTION:
          v[ops[i + 1]!] = o;
          v[ops[i + 1]! + 1] = ops[i + 3]!;
          break;
        case RD_VARLEN: {
          if (o >= end) return -1;
          let l = b[o]!;
          let q = o + 1;
          if (l === 255) {
            if (o + 3 > end) return -1;
            l = u16(b, o + 1);
            q = o + 3;
          }
          base = q + l;
          segEnd = base + ops[i + 1]!;
          if (segEnd > end) return -1;
          const keep = ops[i + 3]!;
          if (keep > 0) {
            v[keep - 1] = q;
            v[keep] = l;
          }
          break;
        }
      }
    }
    return segEnd;
  }

  private record(t: Template, b: Uint8Array, dom: DomainState): void {
    if (t.options) this.optionsRecord(t, dom);
    else this.flowRecord(t, b, dom);
  }

  /** The sampling rate carried by the record just read (0 when it carries none or says 0). */
  private recordRate(h: Uint8Array): number {
    const v = this.v;
    if (h[I.S_SAMP_INT] && v[I.S_SAMP_INT]! > 0) return v[I.S_SAMP_INT]!;
    if (h[I.S_SAMPLER_INT] && v[I.S_SAMPLER_INT]! > 0) return v[I.S_SAMPLER_INT]!;
    if (h[I.S_PKT_INTERVAL] && v[I.S_PKT_INTERVAL]! > 0) {
      return (v[I.S_PKT_INTERVAL]! + (h[I.S_PKT_SPACE] ? v[I.S_PKT_SPACE]! : 0)) / v[I.S_PKT_INTERVAL]!;
    }
    if (h[I.S_SAMP_SIZE] && h[I.S_SAMP_POP] && v[I.S_SAMP_SIZE]! > 0) return v[I.S_SAMP_POP]! / v[I.S_SAMP_SIZE]!;
    return 0;
  }

  private samplerId(h: Uint8Array): number {
    if (h[I.S_SAMPLER_ID]) return this.v[I.S_SAMPLER_ID]!;
    if (h[I.S_SELECTOR_ID]) return this.v[I.S_SELECTOR_ID]!;
    return -1;
  }

  private optionsRecord(t: Template, dom: DomainState): void {
    const h = t.has;
    this.exp.optionsRecords++;
    if (h[I.S_SYSINIT]) dom.sysInitMs = this.v[I.S_SYSINIT]!;
    const announces =
      h[I.S_SAMP_INT] || h[I.S_SAMPLER_INT] || h[I.S_PKT_INTERVAL] || (h[I.S_SAMP_SIZE] && h[I.S_SAMP_POP]);
    if (!announces) return;
    const rate = clampRate(this.recordRate(h)); // an interval of 0 means unsampled: rate 1
    const sid = this.samplerId(h);
    if (sid >= 0) {
      if (!dom.samplers.has(sid) && dom.samplers.size >= MAX_SAMPLERS) this.err('state-limit');
      else dom.samplers.set(sid, rate);
    } else dom.defaultRate = rate;
    this.noteRate(rate);
  }

  /** @internal (RecordHost) The records of the call in progress. */
  get records(): FlowRecord[] {
    return this.out;
  }

  /** @internal (RecordHost) */
  get exporterAddr(): Uint8Array {
    return this.exp.addr;
  }

  /** @internal (RecordHost) */
  noAddress(): void {
    this.err('no-address');
  }

  /** @internal (RecordHost) The rate of a record that carries none (see flowRecord). */
  samplerRate(dom: RecordDomain, sid: number): number {
    const s = sid >= 0 ? dom.samplers.get(sid) : undefined;
    if (s !== undefined) return s;
    if (dom.defaultRate > 0) return dom.defaultRate;
    if (sid < 0 && dom.samplers.size === 1) return dom.samplers.values().next().value!;
    return 1;
  }

  /** @internal (RecordHost) */
  noteRate(rate: number): void {
    const exp = this.exp;
    if (rate !== exp.lastRate) {
      exp.lastRate = rate;
      if (exp.rates.size < 256) exp.rates.add(rate);
    }
  }

  /** Decode the record's packet section (315 preferred, else 313); null (counted) when it is not IP. */
  private section(b: Uint8Array, h: Uint8Array): PacketInfo | null {
    const v = this.v;
    const frame = h[I.S_FRAME] === 1;
    const off = frame ? v[I.S_FRAME]! : v[I.S_IPHDR]!;
    const len = frame ? v[I.S_FRAME_LEN]! : v[I.S_IPHDR_LEN]!;
    const pd = (this.pd ??= new PacketDecoder({ fragmentTableSize: 256 }));
    const wire = h[I.S_FRAME_SIZE] && frame ? Math.max(v[I.S_FRAME_SIZE]!, len) : len;
    const res = pd.decode(b, off, len, wire, frame ? LINKTYPE.ETHERNET : LINKTYPE.RAW, this.ctx.receivedAt);
    if (res !== DECODE_IP) {
      this.err('bad-section');
      return null;
    }
    return pd.info;
  }

  private flowRecord(t: Template, b: Uint8Array, dom: DomainState): void {
    const v = this.v;
    const h = t.has;
    const ctx = this.ctx;

    // Family: ipVersion, else the non-zero address IE, else whichever address IEs exist.
    let fam = 0;
    const has4 = h[I.S_SRC4] === 1 || h[I.S_DST4] === 1;
    const has6 = h[I.S_SRC6] === 1 || h[I.S_DST6] === 1;
    // A packet-sampling record (PSAMP, RFC 5476/7133): no address IEs, the packet's leading bytes
    // in dataLinkFrameSection (315) or ipHeaderPacketSection (313), decoded by the packet parser.
    let pi: PacketInfo | null = null;
    if (!has4 && !has6 && (h[I.S_FRAME] || h[I.S_IPHDR])) {
      pi = this.section(b, h);
      if (!pi) return;
      fam = pi.family;
    } else if (h[I.S_IPVER] && (v[I.S_IPVER] === 4 || v[I.S_IPVER] === 6)) fam = v[I.S_IPVER]!;
    else if (has4 && has6) {
      const z6 = (!h[I.S_SRC6] || isZero(b, v[I.S_SRC6]!, 16)) && (!h[I.S_DST6] || isZero(b, v[I.S_DST6]!, 16));
      const z4 = (!h[I.S_SRC4] || isZero(b, v[I.S_SRC4]!, 4)) && (!h[I.S_DST4] || isZero(b, v[I.S_DST4]!, 4));
      fam = !z6 ? 6 : !z4 ? 4 : 4;
    } else if (has6) fam = 6;
    else if (has4) fam = 4;
    if (fam === 0) {
      this.err('no-address');
      return;
    }

    // Sampling: in the record, else the record's sampler, else the domain's default, else the
    // only sampler announced, else unsampled.
    let rate = this.recordRate(h);
    if (rate === 0) rate = this.samplerRate(dom, this.samplerId(h));
    rate = clampRate(rate);
    this.noteRate(rate);

    // Transient mode: a reused record, every field below assigned (the rest keep emptyFlow()'s values, which nothing here changes).
    const slot = this.transient ? this.pooled() : null;
    const r = slot ? slot.r : emptyFlow();
    r.time_received = ctx.receivedAt;
    r.source_kind = ctx.kind;
    r.exporter_addr = this.exp.addr;
    r.exporter_name = this.exporterName;
    r.observation_domain = dom.domain;
    r.sampling_rate = rate;
    r.family = fam;
    if (fam === 4) {
      // the slot's own arrays in transient mode, new ones otherwise
      r.src_addr = h[I.S_SRC4] ? put4(slot?.src ?? new Uint8Array(16), b, v[I.S_SRC4]!) : MAPPED_ZERO;
      r.dst_addr = h[I.S_DST4] ? put4(slot?.dst ?? new Uint8Array(16), b, v[I.S_DST4]!) : MAPPED_ZERO;
    } else {
      r.src_addr = h[I.S_SRC6] ? put6(slot?.src ?? new Uint8Array(16), b, v[I.S_SRC6]!) : ZERO16;
      r.dst_addr = h[I.S_DST6] ? put6(slot?.dst ?? new Uint8Array(16), b, v[I.S_DST6]!) : ZERO16;
    }
    const proto = h[I.S_PROTO] ? v[I.S_PROTO]! & 0xff : 0;
    r.proto = proto;
    r.src_port = h[I.S_SRC_PORT] ? v[I.S_SRC_PORT]! & 0xffff : 0;
    r.dst_port = h[I.S_DST_PORT] ? v[I.S_DST_PORT]! & 0xffff : 0;
    if (proto === 1 || proto === 58) {
      // ICMP: type*256+code in dst_port, from the ICMP IEs when present.
      let tc = -1;
      if (proto === 58 && h[I.S_ICMP_TC6]) tc = v[I.S_ICMP_TC6]!;
      else if (proto === 58 && h[I.S_ICMP_T6]) tc = v[I.S_ICMP_T6]! * 256 + (h[I.S_ICMP_C6] ? v[I.S_ICMP_C6]! : 0);
      else if (h[I.S_ICMP_TC4]) tc = v[I.S_ICMP_TC4]!;
      else if (h[I.S_ICMP_T4]) tc = v[I.S_ICMP_T4]! * 256 + (h[I.S_ICMP_C4] ? v[I.S_ICMP_C4]! : 0);
      if (tc >= 0 && (tc > 0 || r.dst_port === 0)) r.dst_port = tc & 0xffff;
      r.src_port = 0;
    }
    r.tcp_flags = h[I.S_TCP_FLAGS] ? v[I.S_TCP_FLAGS]! & 0xff : 0;
    if (pi) {
      r.src_addr = wordsToAddr(pi.s0, pi.s1, pi.s2, pi.s3);
      r.dst_addr = wordsToAddr(pi.d0, pi.d1, pi.d2, pi.d3);
      r.proto = pi.proto;
      r.src_port = pi.srcPort;
      r.dst_port = pi.dstPort;
      r.tcp_flags = pi.tcpFlags;
    }
    r.in_if = h[I.S_IN_IF] ? Math.min(v[I.S_IN_IF]!, MAX_U32) : 0;
    r.out_if = h[I.S_OUT_IF] ? Math.min(v[I.S_OUT_IF]!, MAX_U32) : 0;
    r.src_asn = h[I.S_SRC_AS] ? Math.min(v[I.S_SRC_AS]!, MAX_U32) : 0;
    r.dst_asn = h[I.S_DST_AS] ? Math.min(v[I.S_DST_AS]!, MAX_U32) : 0;
    r.src_mac = t.srcMacSlot >= 0 ? v[t.srcMacSlot]! : pi ? pi.srcMac : 0;
    r.dst_mac = t.dstMacSlot >= 0 ? v[t.dstMacSlot]! : pi ? pi.dstMac : 0;
    // flowDirection: 0 ingress, 1 egress (enrichment recomputes it from local prefixes).
    r.direction = h[I.S_DIR] ? (v[I.S_DIR] === 0 ? 1 : v[I.S_DIR] === 1 ? 2 : 0) : 0;
    r.peer_addr = r.direction === 1 ? r.src_addr : r.dst_addr;
    if (pi) {
      // one sampled packet: its IP length (ipTotalLength when given, else the IP header's), once
      r.bytes = (t.bytesSlot >= 0 ? v[t.bytesSlot]! : h[I.S_IP_TOTAL_LEN] ? v[I.S_IP_TOTAL_LEN]! : pi.bytes) * rate;
      r.packets = (t.pktsSlot >= 0 ? v[t.pktsSlot]! : 1) * rate;
    } else {
      r.bytes = t.bytesSlot >= 0 ? v[t.bytesSlot]! * rate : 0;
      r.packets = t.pktsSlot >= 0 ? v[t.pktsSlot]! * rate : 0;
    }
    this.times(r, h, dom, false);
    this.out.push(r);

    // RFC 5103 biflow: the reverse direction as its own record when it carried traffic.
    if (t.rBytesSlot >= 0 || t.rPktsSlot >= 0) {
      const rb = t.rBytesSlot >= 0 ? v[t.rBytesSlot]! : 0;
      const rp = t.rPktsSlot >= 0 ? v[t.rPktsSlot]! : 0;
      if (rb > 0 || rp > 0) {
        // not every field is assigned below: a reused record starts from emptyFlow()'s values
        const q = slot ? Object.assign(this.pooled().r, EMPTY) : emptyFlow();
        q.time_received = r.time_received;
        q.source_kind = r.source_kind;
        q.exporter_addr = r.exporter_addr;
        q.exporter_name = r.exporter_name;
        q.observation_domain = r.observation_domain;
        q.sampling_rate = rate;
        q.family = fam;
        q.src_addr = r.dst_addr;
        q.dst_addr = r.src_addr;
        q.proto = proto;
        if (proto === 1 || proto === 58) q.dst_port = 0;
        else {
          q.src_port = r.dst_port;
          q.dst_port = r.src_port;
        }
        q.tcp_flags = h[I.R_TCP_FLAGS] ? v[I.R_TCP_FLAGS]! & 0xff : 0;
        q.in_if = r.out_if;
        q.out_if = r.in_if;
        q.src_asn = r.dst_asn;
        q.dst_asn = r.src_asn;
        q.src_mac = h[I.R_SRC_MAC] ? v[I.R_SRC_MAC]! : r.dst_mac;
        q.dst_mac = h[I.R_DST_MAC] ? v[I.R_DST_MAC]! : r.src_mac;
        q.direction = r.direction === 1 ? 2 : r.direction === 2 ? 1 : 0;
        q.peer_addr = q.direction === 1 ? q.src_addr : q.dst_addr;
        q.bytes = rb * rate;
        q.packets = rp * rate;
        q.time_start = r.time_start;
        q.time_end = r.time_end;
        this.times(q, h, dom, true);
        this.out.push(q);
      }
    }
  }

  /** Fill time_start/time_end from the record's time IEs (reverse: the RFC 5103 ones, if any). */
  private times(r: FlowRecord, h: Uint8Array, dom: DomainState, reverse: boolean): void {
    const v = this.v;
    const ctx = this.ctx;
    let ts = -1;
    let te = -1;
    if (reverse) {
      if (h[I.R_START_MS]) ts = v[I.R_START_MS]!;
      else if (h[I.R_START_S]) ts = v[I.R_START_S]! * 1000;
      else if (h[I.R_START_DUS]) ts = Math.floor(ctx.exportMs - v[I.R_START_DUS]! / 1000);
      if (h[I.R_END_MS]) te = v[I.R_END_MS]!;
      else if (h[I.R_END_S]) te = v[I.R_END_S]! * 1000;
      else if (h[I.R_END_DUS]) te = Math.floor(ctx.exportMs - v[I.R_END_DUS]! / 1000);
      if (ts < 0 && te < 0) return; // keep the forward times
    } else {
      if (h[I.S_START_MS]) ts = v[I.S_START_MS]!;
      else if (h[I.S_START_S]) ts = v[I.S_START_S]! * 1000;
      else if (h[I.S_START_US]) ts = v[I.S_START_US]!;
      else if (h[I.S_START_NS]) ts = v[I.S_START_NS]!;
      else if (h[I.S_START_DUS]) ts = Math.floor(ctx.exportMs - v[I.S_START_DUS]! / 1000);
      else if (h[I.S_FIRST_UP]) ts = this.uptime(v[I.S_FIRST_UP]!, h, dom);
      if (h[I.S_END_MS]) te = v[I.S_END_MS]!;
      else if (h[I.S_END_S]) te = v[I.S_END_S]! * 1000;
      else if (h[I.S_END_US]) te = v[I.S_END_US]!;
      else if (h[I.S_END_NS]) te = v[I.S_END_NS]!;
      else if (h[I.S_END_DUS]) te = Math.floor(ctx.exportMs - v[I.S_END_DUS]! / 1000);
      else if (h[I.S_LAST_UP]) te = this.uptime(v[I.S_LAST_UP]!, h, dom);
    }
    if (ts < 0 && te < 0) ts = te = ctx.exportMs;
    else if (ts < 0) ts = te;
    else if (te < 0) te = ts;
    r.time_start = ts;
    r.time_end = te;
  }

  /** A sysUptime-relative time (ms) → epoch ms. v9: against the header; IPFIX: systemInitTime. */
  private uptime(up: number, h: Uint8Array, dom: DomainState): number {
    const ctx = this.ctx;
    if (ctx.version === 9) return ctx.exportMs - ((ctx.sysUptime - up) | 0);
    const init = h[I.S_SYSINIT] ? this.v[I.S_SYSINIT]! : dom.sysInitMs;
    return init > 0 ? init + up : -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Stats and persistence

  /** Cheap totals across exporters: datagrams seen, records produced, errors counted. */
  totals(): { datagrams: number; records: number; errors: number } {
    let datagrams = 0;
    let records = 0;
    let errors = 0;
    for (const e of this.exporters.values()) {
      datagrams += e.datagrams;
      records += e.records;
      errors += e.errorTotal;
    }
    return { datagrams, records, errors };
  }

  /** Per-exporter counters, template dumps, samplers and sequence loss (JSON-able). */
  stats(): ExporterStats[] {
    const res: ExporterStats[] = [];
    for (const e of this.exporters.values()) {
      res.push({
        exporter: formatIP(e.addr, isMappedAddr(e.addr) ? 4 : 6),
        port: e.port,
        datagrams: e.datagrams,
        datagramsRejected: e.datagramsRejected,
        datagramsWithErrors: e.datagramsWithErrors,
        byVersion: { '5': e.v5, '9': e.v9, '10': e.v10 },
        records: e.records,
        optionsRecords: e.optionsRecords,
        templateRecords: e.templateRecords,
        templateWithdrawals: e.templateWithdrawals,
        pendingDecoded: e.pendingDecoded,
        errors: { ...e.errors },
        samplingRates: [...e.rates].sort((a, b) => a - b),
        domains: [...e.domains.values()]
          .sort((a, b) => a.domain - b.domain)
          .map((d) => ({
            domain: d.domain,
            version: d.version,
            templates: [...d.templates.values()].sort((a, b) => a.id - b.id).map(dumpTemplate),
            samplers: Object.fromEntries([...d.samplers].map(([k, r]) => [String(k), r])),
            defaultRate: d.defaultRate,
            sequence: d.seq.toJSON(),
            pendingSets: d.pending.length,
          })),
      });
    }
    return res;
  }

  /** Templates, samplers and system-init times, to persist across restarts (JSON-able). */
  snapshot(): FlowSnapshot {
    const exporters: FlowSnapshot['exporters'] = [];
    for (const e of this.exporters.values()) {
      const domains: FlowSnapshot['exporters'][number]['domains'] = [];
      for (const d of e.domains.values()) {
        if (d.templates.size === 0 && d.samplers.size === 0 && d.defaultRate === 0 && d.sysInitMs === 0) continue;
        domains.push({
          domain: d.domain,
          version: d.version,
          templates: [...d.templates.values()].map((t) => ({
            id: t.id,
            options: t.options,
            scopeCount: t.scopeCount,
            version: t.version,
            fields: t.fields.map((f) => [f.id, f.length, f.enterprise] as [number, number, number]),
          })),
          samplers: [...d.samplers],
          defaultRate: d.defaultRate,
          sysInitMs: d.sysInitMs,
        });
      }
      if (domains.length > 0) exporters.push({ addr: formatIP(e.addr), domains });
    }
    return { version: 1, exporters };
  }

  /**
   * Load a snapshot (merging into the current state; snapshot templates replace same-ID ones).
   * Entries that do not make sense are skipped; returns how many templates were restored.
   */
  restore(snap: unknown): number {
    let restored = 0;
    if (!snap || typeof snap !== 'object' || (snap as FlowSnapshot).version !== 1) return 0;
    const exporters = (snap as FlowSnapshot).exporters;
    if (!Array.isArray(exporters)) return 0;
    const isU = (x: unknown, max: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
    for (const es of exporters) {
      const parsed = typeof es?.addr === 'string' ? tryParseIP(es.addr) : null;
      if (!parsed || !Array.isArray(es.domains)) continue;
      const exp = this.exporterFor(parsed.addr);
      if (!exp) continue;
      this.exp = exp;
      for (const ds of es.domains) {
        if (!ds || !isU(ds.domain, MAX_U32) || ![5, 9, 10].includes(ds.version)) continue;
        const dom = this.domainFor(ds.domain, ds.version);
        if (!dom) continue;
        for (const ts of Array.isArray(ds.templates) ? ds.templates : []) {
          if (!ts || !isU(ts.id, 0xffff) || ts.id < 256 || !Array.isArray(ts.fields) || ![9, 10].includes(ts.version)) continue;
          const fields: TemplateField[] = [];
          let ok = ts.fields.length > 0;
          for (const f of ts.fields) {
            if (!Array.isArray(f) || !isU(f[0], 0xffff) || !isU(f[1], 0xffff) || !isU(f[2], MAX_U32)) ok = false;
            else fields.push({ id: f[0], length: f[1], enterprise: f[2] });
          }
          const scopeCount = isU(ts.scopeCount, fields.length) ? ts.scopeCount : 0;
          if (!ok || (ts.options && scopeCount === 0)) continue;
          const t = compileTemplate(ts.id, fields, {
            options: Boolean(ts.options),
            scopeCount,
            version: ts.version,
            wire: `restored:${JSON.stringify(ts.fields)}`,
          });
          if (!t) continue;
          dom.templates.set(ts.id, t);
          restored++;
        }
        for (const s of Array.isArray(ds.samplers) ? ds.samplers : []) {
          if (Array.isArray(s) && isU(s[0], Number.MAX_SAFE_INTEGER) && isU(s[1], MAX_U32) && s[1] >= 1) dom.samplers.set(s[0], s[1]);
        }
        if (isU(ds.defaultRate, MAX_U32)) dom.defaultRate = ds.defaultRate;
        if (isU(ds.sysInitMs, Number.MAX_SAFE_INTEGER)) dom.sysInitMs = ds.sysInitMs;
      }
    }
    return restored;
  }
}


function isMappedAddr(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

const V9_SCOPES: Record<number, string> = { 1: 'system', 2: 'interface', 3: 'lineCard', 4: 'cache', 5: 'template' };

function dumpTemplate(t: Template): TemplateDump {
  return {
    id: t.id,
    options: t.options,
    scopeCount: t.scopeCount,
    version: t.version,
    fields: t.fields.map((f, i) => ({
      id: f.id,
      enterprise: f.enterprise,
      length: f.length,
      // NetFlow v9 options scope fields are scope types, not IEs.
      name: t.version === 9 && t.options && i < t.scopeCount ? `scope:${V9_SCOPES[f.id] ?? f.id}` : ieName(f.id, f.enterprise),
    })),
    compiled: typeof t.fn === 'function',
  };
}
