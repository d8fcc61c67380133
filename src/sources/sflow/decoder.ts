/**
 * sFlow version 5 datagram decoder (sflow.org "sFlow Version 5", July 2004) with per-agent state.
 *
 * - Datagram header: version 5, agent address (IPv4 or IPv6), sub-agent ID, datagram sequence
 *   number, uptime, sample count. Agents are keyed by their agent address (the address in the
 *   datagram, not the UDP source: that is how sFlow names its agents); datagrams whose header
 *   cannot be read are counted against the UDP source address.
 * - Samples: flow samples (format 1) and expanded flow samples (format 3) become flow records;
 *   counter samples (2, 4) are counted and skipped; anything else (other formats, other
 *   enterprises) is skipped by its length and counted.
 * - Flow records: raw packet header (1: Ethernet, IPv4, IPv6 — decoded by the packet decoder, so
 *   802.1Q/QinQ, MPLS, PPPoE and IPv6 extension headers are handled), sampled Ethernet (2, for the
 *   MACs), sampled IPv4 / IPv6 (3, 4), extended switch (1001), extended router (1002), extended
 *   gateway (1003, for the AS numbers). Unknown records are skipped by their length.
 * - Every 32-bit length and count is capped against the bytes that are really there. `decode()`
 *   never throws: every rejected datagram, sample or record is counted by kind in `stats()`.
 * - Sequence numbers: datagram loss per agent + sub-agent (the datagram sequence number counts
 *   datagrams), and sample loss per data source (the flow sample sequence number counts samples).
 *
 * One flow sample → one FlowRecord (see docs/sflow.md):
 *   packets = sampling rate, bytes = IP-layer bytes of the sampled packet × sampling rate,
 *   flows = 1 (a record per sample, as nfdump's sfcapd writes them; so for sFlow `flows` counts
 *   samples, not conversations). The rate is stored in `sampling_rate`; counters are scaled once.
 * IP-layer bytes are the IPv4 total length / IPv6 payload length + 40 from the sampled header,
 * never the captured header length nor the frame length (which includes the link header and the
 * FCS); for sampled IPv4/IPv6 records, their `length` field (the IP packet length).
 */
import { formatIP } from '../../net/ip.js';
import { emptyFlow, type FlowRecord } from '../../schema/fields.js';
import { DECODE_IP, DECODE_MALFORMED, LINKTYPE, PacketDecoder } from '../packets/decode.js';
import { SequenceTracker, type SequenceStats } from '../flow/sequence.js';

export const SFLOW_ERROR_KINDS = [
  /** Datagram shorter than its header, or a sample / flow record running past its container. */
  'truncated',
  /** Version field is not 5. */
  'bad-version',
  /** Agent (or next-hop) address type other than 1 (IPv4) or 2 (IPv6). */
  'bad-address-type',
  /** A sample or record shorter than its fixed part, or non-zero bytes after the last sample. */
  'bad-length',
  /** A sample or record count larger than what the remaining bytes can hold. */
  'bad-count',
  /** A raw packet header whose header length exceeds its record, or that is not a valid IP packet. */
  'bad-header',
  /** Sampling rate 0 (counted; the sample is taken as unsampled). */
  'bad-rate',
  /** State limits reached (agents, sub-agents per agent, data sources per sub-agent). */
  'state-limit',
  /** A bug: an exception inside the decoder (caught; the datagram is dropped). */
  'internal',
] as const;
export type SflowErrorKind = (typeof SFLOW_ERROR_KINDS)[number];

/** Samples and records that are skipped on purpose (not errors). */
export interface SflowSkipped {
  /** Counter samples (formats 2 and 4): interface counters, not flows. */
  counterSamples: number;
  /** Samples of an unknown format or enterprise, skipped by length. */
  unknownSamples: number;
  /** Flow records of an unknown format or enterprise, skipped by length. */
  unknownRecords: number;
  /** Raw headers of a header protocol other than Ethernet, IPv4, IPv6. */
  unknownHeaderProtocol: number;
  /** Flow samples whose packet is not IP (ARP, LLDP, ...): no flow record. */
  notIp: number;
  /** Flow samples without a raw header nor a sampled IPv4/IPv6 record: no flow record. */
  noPacket: number;
}

export interface SflowSubAgentStats {
  subAgent: number;
  /** Datagram sequence numbers (loss of whole datagrams between agent and collector). */
  sequence: SequenceStats;
  /** Flow sample sequence numbers per data source, summed over the data sources. */
  samples: { sources: number; missing: number; late: number; duplicates: number; resets: number };
  /** Sum over data sources of the latest `drops` value (samples the agent itself dropped). */
  agentDrops: number;
}

export interface SflowAgentStats {
  agent: string;
  /** Last UDP source port seen. */
  port: number;
  datagrams: number;
  /** Datagrams dropped as a whole (header unreadable, version or agent address type wrong). */
  datagramsRejected: number;
  /** Datagrams in which at least one error was counted (includes rejected ones). */
  datagramsWithErrors: number;
  flowSamples: number;
  counterSamples: number;
  /** Flow records produced. */
  records: number;
  errors: Record<SflowErrorKind, number>;
  skipped: SflowSkipped;
  samplingRates: number[];
  subAgents: SflowSubAgentStats[];
}

/** A decoded flow sample, for `onSample` (debugging / tests): the fields FlowRecord has no place for. */
export interface SflowSample {
  agent: Uint8Array;
  subAgent: number;
  datagramSequence: number;
  uptimeMs: number;
  expanded: boolean;
  sequence: number;
  sourceIdType: number;
  sourceIdIndex: number;
  samplingRate: number;
  samplePool: number;
  drops: number;
  /** Interface format (0 ifIndex, 1 discarded, 2 multiple) and value. */
  inputFormat: number;
  input: number;
  outputFormat: number;
  output: number;
  /** Raw header: protocol, frame length, stripped, header length (-1 when absent). */
  headerProtocol: number;
  frameLength: number;
  stripped: number;
  headerLength: number;
  /** Extended switch (-1 when absent). */
  srcVlan: number;
  srcPriority: number;
  dstVlan: number;
  dstPriority: number;
  /** Extended router (nextHop null when absent). */
  nextHop: Uint8Array | null;
  srcMaskLen: number;
  dstMaskLen: number;
  /** The record produced (null when the sample gave none). */
  record: FlowRecord | null;
}

export interface SflowDecoderOptions {
  /** exporter_name of the records (default ''). */
  exporterName?: string;
  maxAgents?: number;
  maxSubAgentsPerAgent?: number;
  maxSourcesPerSubAgent?: number;
  /** Called for every flow sample decoded (after its record, if any, was built). */
  onSample?: (s: SflowSample) => void;
}

const MAX_U32 = 0xffff_ffff;
const ZERO16 = new Uint8Array(16);
const MAPPED_ZERO = mapped4(0);

class SubAgentState {
  readonly seq = new SequenceTracker('packets');
  readonly sources = new Map<number, { seq: SequenceTracker; drops: number }>();
  constructor(readonly id: number) {}
}

class AgentState {
  readonly subAgents = new Map<number, SubAgentState>();
  port = 0;
  datagrams = 0;
  datagramsRejected = 0;
  datagramsWithErrors = 0;
  flowSamples = 0;
  counterSamples = 0;
  records = 0;
  errors: Record<SflowErrorKind, number> = Object.fromEntries(SFLOW_ERROR_KINDS.map((k) => [k, 0])) as Record<SflowErrorKind, number>;
  errorTotal = 0;
  skipped: SflowSkipped = { counterSamples: 0, unknownSamples: 0, unknownRecords: 0, unknownHeaderProtocol: 0, notIp: 0, noPacket: 0 };
  readonly rates = new Set<number>();
  lastRate = -1;
  constructor(readonly addr: Uint8Array) {}
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
function mapped4(v: number): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = v >>> 24;
  a[13] = (v >>> 16) & 255;
  a[14] = (v >>> 8) & 255;
  a[15] = v & 255;
  return a;
}
function addr4(b: Uint8Array, o: number): Uint8Array {
  return mapped4(u32(b, o));
}
function wireKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(b[i]!);
  return s;
}
function isMapped(a: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}
function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}
function wordsToAddr(w0: number, w1: number, w2: number, w3: number): Uint8Array {
  const a = new Uint8Array(16);
  const ws = [w0, w1, w2, w3];
  for (let i = 0; i < 4; i++) {
    const w = ws[i]!;
    a[i * 4] = w >>> 24;
    a[i * 4 + 1] = (w >>> 16) & 255;
    a[i * 4 + 2] = (w >>> 8) & 255;
    a[i * 4 + 3] = w & 255;
  }
  return a;
}

/** Interface value of the compact flow sample: format in the top 2 bits, value in the other 30. */
const IF_UNKNOWN = 0x3fffffff;

/** What the records of one flow sample said. */
class SampleScratch {
  // raw header
  headerProtocol = -1;
  frameLength = -1;
  stripped = -1;
  headerLength = -1;
  headerIp = false;
  headerFamily: 0 | 4 | 6 = 0;
  headerSrc: Uint8Array = ZERO16;
  headerDst: Uint8Array = ZERO16;
  headerProto = 0;
  headerSrcPort = 0;
  headerDstPort = 0;
  headerFlags = 0;
  headerBytes = 0;
  headerSrcMac = 0;
  headerDstMac = 0;
  headerNotIp = false;
  // sampled ethernet
  ethSrcMac = 0;
  ethDstMac = 0;
  // sampled IPv4 / IPv6
  ipFamily: 0 | 4 | 6 = 0;
  ipLength = 0;
  ipProto = 0;
  ipSrc: Uint8Array = ZERO16;
  ipDst: Uint8Array = ZERO16;
  ipSrcPort = 0;
  ipDstPort = 0;
  ipFlags = 0;
  // extended
  srcVlan = -1;
  srcPriority = -1;
  dstVlan = -1;
  dstPriority = -1;
  nextHop: Uint8Array | null = null;
  srcMaskLen = -1;
  dstMaskLen = -1;
  srcAs = -1;
  dstAs = -1;
  reset(): void {
    this.headerProtocol = this.frameLength = this.stripped = this.headerLength = -1;
    this.headerIp = false;
    this.headerNotIp = false;
    this.headerFamily = 0;
    this.headerSrcMac = this.headerDstMac = this.ethSrcMac = this.ethDstMac = 0;
    this.ipFamily = 0;
    this.srcVlan = this.srcPriority = this.dstVlan = this.dstPriority = -1;
    this.nextHop = null;
    this.srcMaskLen = this.dstMaskLen = this.srcAs = this.dstAs = -1;
  }
}

/** Header context of the datagram being decoded. */
interface Dgram {
  agent: Uint8Array;
  subAgent: SubAgentState | null;
  subAgentId: number;
  seq: number;
  uptime: number;
  receivedAt: number;
}

export class SflowDecoder {
  private readonly agents = new Map<string, AgentState>();
  private readonly pd = new PacketDecoder({ fragmentTableSize: 1024 });
  private readonly s = new SampleScratch();
  private readonly exporterName: string;
  private readonly maxAgents: number;
  private readonly maxSubAgents: number;
  private readonly maxSources: number;
  private readonly onSample: ((s: SflowSample) => void) | null;
  private out: FlowRecord[] = [];
  private ag: AgentState = new AgentState(ZERO16);
  /** The agent of the datagram in progress, once known. */
  private cur: AgentState | null = null;
  private hadError = false;
  private readonly dg: Dgram = { agent: ZERO16, subAgent: null, subAgentId: 0, seq: 0, uptime: 0, receivedAt: 0 };

  constructor(opts: SflowDecoderOptions = {}) {
    this.exporterName = opts.exporterName ?? '';
    this.maxAgents = opts.maxAgents ?? 100_000;
    this.maxSubAgents = opts.maxSubAgentsPerAgent ?? 1024;
    this.maxSources = opts.maxSourcesPerSubAgent ?? 4096;
    this.onSample = opts.onSample ?? null;
  }

  /**
   * Decode one datagram received from `source` (the UDP sender). Returns its flow records
   * (possibly none: counter samples only, or an error counted in stats()). Never throws.
   */
  decode(datagram: Uint8Array, source: { addr: Uint8Array; port: number }, receivedAtMs: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    this.out = out;
    this.hadError = false;
    this.cur = null;
    let ag: AgentState | null = null;
    try {
      ag = this.decodeDatagram(datagram, source, receivedAtMs);
    } catch {
      out.length = 0;
      if (this.cur) {
        ag = this.cur;
        this.err('internal');
      } else ag = this.rejectFrom(source, 'internal');
    }
    if (ag) {
      if (this.hadError) ag.datagramsWithErrors++;
      ag.records += out.length;
    }
    this.out = [];
    return out;
  }

  private agentFor(addrIn: Uint8Array): AgentState | null {
    let addr = addrIn;
    if (!(addr instanceof Uint8Array) || addr.length !== 16) addr = addr instanceof Uint8Array && addr.length === 4 ? addr4(addr, 0) : ZERO16;
    const key = wireKey(addr);
    let a = this.agents.get(key);
    if (!a) {
      if (this.agents.size >= this.maxAgents) return null;
      a = new AgentState(addr.slice());
      this.agents.set(key, a);
    }
    return a;
  }

  private err(kind: SflowErrorKind): void {
    this.ag.errors[kind]++;
    this.ag.errorTotal++;
    this.hadError = true;
  }

  /** Reject the whole datagram, counted against the UDP source. */
  private rejectFrom(source: { addr: Uint8Array; port: number }, kind: SflowErrorKind): AgentState | null {
    const ag = this.agentFor(source.addr);
    if (!ag) return null;
    this.ag = ag;
    this.cur = ag;
    ag.port = source.port;
    ag.datagrams++;
    ag.datagramsRejected++;
    this.err(kind);
    return ag;
  }

  private decodeDatagram(b: Uint8Array, source: { addr: Uint8Array; port: number }, receivedAt: number): AgentState | null {
    const len = b.length;
    if (len < 8) return this.rejectFrom(source, len >= 4 && u32(b, 0) !== 5 ? 'bad-version' : 'truncated');
    if (u32(b, 0) !== 5) return this.rejectFrom(source, 'bad-version');
    const at = u32(b, 4);
    let agent: Uint8Array;
    let off: number;
    if (at === 1) {
      if (len < 28) return this.rejectFrom(source, 'truncated');
      agent = addr4(b, 8);
      off = 12;
    } else if (at === 2) {
      if (len < 40) return this.rejectFrom(source, 'truncated');
      agent = b.slice(8, 24);
      off = 24;
    } else return this.rejectFrom(source, 'bad-address-type');

    const ag = this.agentFor(agent);
    if (!ag) return null;
    this.ag = ag;
    this.cur = ag;
    ag.port = source.port;
    ag.datagrams++;
    const dg = this.dg;
    dg.agent = ag.addr;
    dg.subAgentId = u32(b, off);
    dg.seq = u32(b, off + 4);
    dg.uptime = u32(b, off + 8);
    dg.receivedAt = receivedAt;
    const nSamples = u32(b, off + 12);
    off += 16;

    dg.subAgent = this.subAgentFor(ag, dg.subAgentId);
    dg.subAgent?.seq.observe(dg.seq, 1);

    // A sample is at least 8 bytes (format + length): a larger count cannot be right.
    let n = nSamples;
    const capped = n > (len - off) >>> 3;
    if (capped) {
      this.err('bad-count');
      n = (len - off) >>> 3;
    }
    for (let i = 0; i < n; i++) {
      if (len - off < 8) {
        if (!capped) this.err('truncated'); // else already counted as bad-count
        return ag;
      }
      const fmt = u32(b, off);
      const slen = u32(b, off + 4);
      const start = off + 8;
      if (slen > len - start) {
        this.err('truncated');
        return ag;
      }
      const end = start + slen;
      if (fmt === 1 || fmt === 3) this.flowSample(b, start, end, fmt === 3);
      else if (fmt === 2 || fmt === 4) {
        ag.counterSamples++;
        ag.skipped.counterSamples++;
      } else ag.skipped.unknownSamples++;
      off = end;
    }
    if (off < len && !allZero(b, off, len)) this.err('bad-length');
    return ag;
  }

  private subAgentFor(ag: AgentState, id: number): SubAgentState | null {
    let s = ag.subAgents.get(id);
    if (s) return s;
    if (ag.subAgents.size >= this.maxSubAgents) {
      this.err('state-limit');
      return null;
    }
    s = new SubAgentState(id);
    ag.subAgents.set(id, s);
    return s;
  }

  private flowSample(b: Uint8Array, p: number, end: number, expanded: boolean): void {
    const ag = this.ag;
    const dg = this.dg;
    ag.flowSamples++;
    const fixed = expanded ? 44 : 32;
    if (end - p < fixed) {
      this.err('bad-length');
      return;
    }
    const sampleSeq = u32(b, p);
    let srcType: number;
    let srcIndex: number;
    let inFmt: number;
    let inVal: number;
    let outFmt: number;
    let outVal: number;
    let q: number;
    if (expanded) {
      srcType = u32(b, p + 4);
      srcIndex = u32(b, p + 8);
      q = p + 12;
    } else {
      const sid = u32(b, p + 4);
      srcType = sid >>> 24;
      srcIndex = sid & 0xffffff;
      q = p + 8;
    }
    let rate = u32(b, q);
    const pool = u32(b, q + 4);
    const drops = u32(b, q + 8);
    if (expanded) {
      inFmt = u32(b, q + 12);
      inVal = u32(b, q + 16);
      outFmt = u32(b, q + 20);
      outVal = u32(b, q + 24);
      q += 28;
    } else {
      const i = u32(b, q + 12);
      const o = u32(b, q + 16);
      inFmt = i >>> 30;
      inVal = i & 0x3fffffff;
      outFmt = o >>> 30;
      outVal = o & 0x3fffffff;
      q += 20;
    }
    const nRecords = u32(b, q);
    q += 4;

    // Sample loss per data source (the sample sequence number counts this source's samples).
    const sa = dg.subAgent;
    if (sa) {
      const key = ((srcType & 0xff) * 0x1000000 + (srcIndex & 0xffffff)) >>> 0;
      let src = sa.sources.get(key);
      if (!src) {
        if (sa.sources.size < this.maxSources) {
          src = { seq: new SequenceTracker('records'), drops: 0 };
          sa.sources.set(key, src);
        } else this.err('state-limit');
      }
      if (src) {
        src.seq.observe(sampleSeq, 1);
        src.drops = drops;
      }
    }

    if (rate === 0) {
      this.err('bad-rate');
      rate = 1;
    }
    if (rate !== ag.lastRate) {
      ag.lastRate = rate;
      if (ag.rates.size < 256) ag.rates.add(rate);
    }

    const s = this.s;
    s.reset();
    // A flow record is at least 8 bytes (format + length).
    let n = nRecords;
    const capped = n > (end - q) >>> 3;
    if (capped) {
      this.err('bad-count');
      n = (end - q) >>> 3;
    }
    for (let i = 0; i < n; i++) {
      if (end - q < 8) {
        if (capped) break; // already counted as bad-count: keep what was decoded
        this.err('truncated');
        return;
      }
      const fmt = u32(b, q);
      const rlen = u32(b, q + 4);
      const rs = q + 8;
      if (rlen > end - rs) {
        // A record past its sample: the whole sample is suspect.
        this.err('truncated');
        return;
      }
      const re = rs + rlen;
      switch (fmt) {
        case 1:
          this.rawHeader(b, rs, re);
          break;
        case 2:
          if (rlen < 24) this.err('bad-length');
          else {
            s.ethSrcMac = mac(b, rs + 4);
            s.ethDstMac = mac(b, rs + 12);
          }
          break;
        case 3:
          if (rlen < 32) this.err('bad-length');
          else {
            s.ipFamily = 4;
            s.ipLength = u32(b, rs);
            s.ipProto = u32(b, rs + 4) & 0xff;
            s.ipSrc = addr4(b, rs + 8);
            s.ipDst = addr4(b, rs + 12);
            s.ipSrcPort = u32(b, rs + 16) & 0xffff;
            s.ipDstPort = u32(b, rs + 20) & 0xffff;
            s.ipFlags = u32(b, rs + 24) & 0xff;
          }
          break;
        case 4:
          if (rlen < 56) this.err('bad-length');
          else {
            s.ipFamily = 6;
            s.ipLength = u32(b, rs);
            s.ipProto = u32(b, rs + 4) & 0xff;
            s.ipSrc = b.slice(rs + 8, rs + 24);
            s.ipDst = b.slice(rs + 24, rs + 40);
            s.ipSrcPort = u32(b, rs + 40) & 0xffff;
            s.ipDstPort = u32(b, rs + 44) & 0xffff;
            s.ipFlags = u32(b, rs + 48) & 0xff;
          }
          break;
        case 1001:
          if (rlen < 16) this.err('bad-length');
          else {
            s.srcVlan = u32(b, rs);
            s.srcPriority = u32(b, rs + 4);
            s.dstVlan = u32(b, rs + 8);
            s.dstPriority = u32(b, rs + 12);
          }
          break;
        case 1002:
          this.extRouter(b, rs, re);
          break;
        case 1003:
          this.extGateway(b, rs, re);
          break;
        default:
          ag.skipped.unknownRecords++;
      }
      q = re;
    }

    const r = this.buildRecord(rate, inFmt, inVal, outFmt, outVal, expanded);
    if (r) this.out.push(r);
    if (this.onSample) {
      this.onSample({
        agent: dg.agent,
        subAgent: dg.subAgentId,
        datagramSequence: dg.seq,
        uptimeMs: dg.uptime,
        expanded,
        sequence: sampleSeq,
        sourceIdType: srcType,
        sourceIdIndex: srcIndex,
        samplingRate: rate,
        samplePool: pool,
        drops,
        inputFormat: inFmt,
        input: inVal,
        outputFormat: outFmt,
        output: outVal,
        headerProtocol: s.headerProtocol,
        frameLength: s.frameLength,
        stripped: s.stripped,
        headerLength: s.headerLength,
        srcVlan: s.srcVlan,
        srcPriority: s.srcPriority,
        dstVlan: s.dstVlan,
        dstPriority: s.dstPriority,
        nextHop: s.nextHop,
        srcMaskLen: s.srcMaskLen,
        dstMaskLen: s.dstMaskLen,
        record: r,
      });
    }
  }

  /** Raw packet header (format 1): protocol, frame_length, stripped, header length, header bytes. */
  private rawHeader(b: Uint8Array, p: number, end: number): void {
    const s = this.s;
    if (end - p < 16) {
      this.err('bad-length');
      return;
    }
    const proto = u32(b, p);
    const frameLength = u32(b, p + 4);
    const stripped = u32(b, p + 8);
    const hlen = u32(b, p + 12);
    s.headerProtocol = proto;
    s.frameLength = frameLength;
    s.stripped = stripped;
    s.headerLength = hlen;
    if (hlen > end - p - 16) {
      this.err('bad-header');
      return;
    }
    let link: number;
    if (proto === 1) link = LINKTYPE.ETHERNET;
    else if (proto === 11) link = LINKTYPE.IPV4;
    else if (proto === 12) link = LINKTYPE.IPV6;
    else {
      this.ag.skipped.unknownHeaderProtocol++;
      return;
    }
    // The wire length of what the header starts: the frame length less what the agent stripped
    // (the FCS, typically), used only where the IP header gives no length (TSO, jumbograms).
    const origLen = stripped <= frameLength ? frameLength - stripped : frameLength;
    const pd = this.pd;
    const res = pd.decode(b, p + 16, hlen, Math.max(origLen, hlen), link, this.dg.receivedAt);
    const info = pd.info;
    if (link === LINKTYPE.ETHERNET) {
      s.headerSrcMac = info.srcMac;
      s.headerDstMac = info.dstMac;
    }
    if (res === DECODE_IP) {
      s.headerIp = true;
      s.headerFamily = info.family;
      s.headerSrc = wordsToAddr(info.s0, info.s1, info.s2, info.s3);
      s.headerDst = wordsToAddr(info.d0, info.d1, info.d2, info.d3);
      s.headerProto = info.proto;
      s.headerSrcPort = info.srcPort;
      s.headerDstPort = info.dstPort;
      s.headerFlags = info.tcpFlags;
      s.headerBytes = info.bytes;
    } else if (res === DECODE_MALFORMED) this.err('bad-header');
    else s.headerNotIp = true;
  }

  /** Extended router (1002): next hop address, source and destination mask lengths. */
  private extRouter(b: Uint8Array, p: number, end: number): void {
    const s = this.s;
    if (end - p < 4) return this.err('bad-length');
    const t = u32(b, p);
    const alen = t === 1 ? 4 : t === 2 ? 16 : -1;
    if (alen < 0) return this.err('bad-address-type');
    if (end - p < 4 + alen + 8) return this.err('bad-length');
    s.nextHop = t === 1 ? addr4(b, p + 4) : b.slice(p + 4, p + 20);
    s.srcMaskLen = u32(b, p + 4 + alen);
    s.dstMaskLen = u32(b, p + 8 + alen);
  }

  /**
   * Extended gateway (1003): next hop, own AS, source AS, source peer AS, destination AS path
   * (segments of AS numbers), communities, local preference. Only the AS numbers are used: the
   * source AS, and the last AS of the path as the destination AS (the origin); 0 = unknown.
   */
  private extGateway(b: Uint8Array, p: number, end: number): void {
    const s = this.s;
    if (end - p < 4) return this.err('bad-length');
    const t = u32(b, p);
    const alen = t === 1 ? 4 : t === 2 ? 16 : -1;
    if (alen < 0) return this.err('bad-address-type');
    let q = p + 4 + alen;
    if (end - q < 16) return this.err('bad-length');
    const srcAs = u32(b, q + 4);
    const segs = u32(b, q + 12);
    q += 16;
    let dstAs = -1;
    if (segs > (end - q) >>> 3) return this.err('bad-count');
    for (let i = 0; i < segs; i++) {
      if (end - q < 8) return this.err('truncated');
      const n = u32(b, q + 4);
      q += 8;
      if (n > (end - q) >>> 2) return this.err('bad-count');
      if (n > 0) dstAs = u32(b, q + (n - 1) * 4);
      q += n * 4;
    }
    s.srcAs = srcAs;
    s.dstAs = dstAs >= 0 ? dstAs : 0;
  }

  private buildRecord(rate: number, inFmt: number, inVal: number, outFmt: number, outVal: number, expanded: boolean): FlowRecord | null {
    const s = this.s;
    const ag = this.ag;
    const dg = this.dg;
    let fam: 0 | 4 | 6 = 0;
    const r = emptyFlow();
    if (s.headerIp) {
      fam = s.headerFamily;
      r.src_addr = s.headerSrc;
      r.dst_addr = s.headerDst;
      r.proto = s.headerProto;
      r.src_port = s.headerSrcPort;
      r.dst_port = s.headerDstPort;
      r.tcp_flags = s.headerFlags;
      r.bytes = s.headerBytes * rate;
    } else if (s.ipFamily !== 0) {
      fam = s.ipFamily;
      r.src_addr = s.ipSrc;
      r.dst_addr = s.ipDst;
      r.proto = s.ipProto;
      r.src_port = s.ipSrcPort;
      r.dst_port = s.ipDstPort;
      r.tcp_flags = r.proto === 6 ? s.ipFlags : 0;
      if (r.proto === 1 || r.proto === 58) {
        // The "port" fields of an ICMP sampled IP record carry type and code (as sflowtool and
        // the agents that fill them do): type*256+code in dst_port, as NetFlow does.
        r.dst_port = ((s.ipSrcPort & 0xff) << 8) | (s.ipDstPort & 0xff);
        r.src_port = 0;
      }
      r.bytes = s.ipLength * rate;
    } else {
      if (s.headerNotIp) ag.skipped.notIp++;
      else if (s.headerProtocol < 0) ag.skipped.noPacket++;
      // else: an error (bad header) or an unknown header protocol was already counted
      return null;
    }
    r.time_received = dg.receivedAt;
    r.time_start = dg.receivedAt;
    r.time_end = dg.receivedAt;
    r.source_kind = 'sflow';
    r.exporter_addr = dg.agent;
    r.exporter_name = this.exporterName;
    r.observation_domain = dg.subAgentId;
    r.sampling_rate = rate;
    r.family = fam;
    if (fam === 4 && r.src_addr === ZERO16) r.src_addr = MAPPED_ZERO;
    r.peer_addr = r.dst_addr;
    r.packets = rate;
    r.flows = 1;
    r.src_mac = s.headerSrcMac || s.ethSrcMac;
    r.dst_mac = s.headerDstMac || s.ethDstMac;
    // Interfaces: format 0 is an ifIndex (0x3fffffff in the compact form: unknown); formats 1
    // (packet discarded) and 2 (several output interfaces) name no single interface: 0.
    r.in_if = inFmt === 0 && (expanded || inVal !== IF_UNKNOWN) ? Math.min(inVal, MAX_U32) : 0;
    r.out_if = outFmt === 0 && (expanded || outVal !== IF_UNKNOWN) ? Math.min(outVal, MAX_U32) : 0;
    if (s.srcAs >= 0) r.src_asn = s.srcAs;
    if (s.dstAs >= 0) r.dst_asn = s.dstAs;
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  /** Cheap totals across agents: datagrams seen, records produced, errors counted. */
  totals(): { datagrams: number; records: number; errors: number } {
    let datagrams = 0;
    let records = 0;
    let errors = 0;
    for (const a of this.agents.values()) {
      datagrams += a.datagrams;
      records += a.records;
      errors += a.errorTotal;
    }
    return { datagrams, records, errors };
  }

  /** Per-agent counters, errors by kind, skipped samples, sampling rates and sequence loss. */
  stats(): SflowAgentStats[] {
    const res: SflowAgentStats[] = [];
    for (const a of this.agents.values()) {
      res.push({
        agent: formatIP(a.addr, isMapped(a.addr) ? 4 : 6),
        port: a.port,
        datagrams: a.datagrams,
        datagramsRejected: a.datagramsRejected,
        datagramsWithErrors: a.datagramsWithErrors,
        flowSamples: a.flowSamples,
        counterSamples: a.counterSamples,
        records: a.records,
        errors: { ...a.errors },
        skipped: { ...a.skipped },
        samplingRates: [...a.rates].sort((x, y) => x - y),
        subAgents: [...a.subAgents.values()]
          .sort((x, y) => x.id - y.id)
          .map((sa) => {
            const samples = { sources: sa.sources.size, missing: 0, late: 0, duplicates: 0, resets: 0 };
            let agentDrops = 0;
            for (const src of sa.sources.values()) {
              samples.missing += src.seq.missing;
              samples.late += src.seq.late;
              samples.duplicates += src.seq.duplicates;
              samples.resets += src.seq.resets;
              agentDrops += src.drops;
            }
            return { subAgent: sa.id, sequence: sa.seq.toJSON(), samples, agentDrops };
          }),
      });
    }
    return res;
  }
}

function mac(b: Uint8Array, o: number): number {
  return b[o]! * 1099511627776 + b[o + 1]! * 4294967296 + ((b[o + 2]! << 24) >>> 0) + (b[o + 3]! << 16) + (b[o + 4]! << 8) + b[o + 5]!;
}

/**
 * True when the bytes start like an sFlow v5 datagram: 00 00 00 05, then agent address type 1
 * (IPv4) or 2 (IPv6), and room for the rest of the header. (A NetFlow v5 header starts 00 05.)
 */
export function looksLikeSflow(b: Uint8Array): boolean {
  if (b.length < 28) return false;
  if (u32(b, 0) !== 5) return false;
  const t = u32(b, 4);
  return t === 1 || (t === 2 && b.length >= 40);
}
