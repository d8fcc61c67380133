/**
 * dnstap (https://dnstap.info, dnstap.proto) decoder: a minimal protobuf reader for the two
 * messages v6scope needs, without a protobuf dependency. Wire types 0 (varint), 1 (fixed64),
 * 2 (length-delimited) and 5 (fixed32) are read; unknown fields are skipped; groups (3/4) and
 * anything malformed (truncated varints, lengths past the end) yield `{ error }`, never an exception.
 *
 *   Dnstap  { identity = 1; version = 2; extra = 3; message = 14; type = 15 (MESSAGE = 1) }
 *   Message { type = 1; socket_family = 2; socket_protocol = 3; query_address = 4;
 *             response_address = 5; query_port = 6; response_port = 7; query_time_sec = 8;
 *             query_time_nsec = 9 (fixed32); query_message = 10; query_zone = 11;
 *             response_time_sec = 12; response_time_nsec = 13 (fixed32); response_message = 14 }
 *
 * Responses to A/AAAA questions become DnsSightings (src/sources/dns/sighting.ts) through the same
 * wire reader as captures: CLIENT_RESPONSE (what the resolver told a client — the client is
 * query_address), RESOLVER_RESPONSE and FORWARDER_RESPONSE (what upstream told the resolver; the
 * asker is the resolver itself, query_address). Referrals seen on the resolver side (NOERROR, no
 * answer, NS but no SOA in the authority section) are not NODATA and are ignored.
 */
import { ipv4ToMapped } from '../../net/ip.js';
import type { DnsSighting, DnsSightingStats } from './sighting.js';
import { parseDnsMessage, RR_TYPE, summariseAnswer } from './wire.js';

export const DNSTAP_MESSAGE_TYPE = {
  AUTH_QUERY: 1,
  AUTH_RESPONSE: 2,
  RESOLVER_QUERY: 3,
  RESOLVER_RESPONSE: 4,
  CLIENT_QUERY: 5,
  CLIENT_RESPONSE: 6,
  FORWARDER_QUERY: 7,
  FORWARDER_RESPONSE: 8,
  STUB_QUERY: 9,
  STUB_RESPONSE: 10,
  TOOL_QUERY: 11,
  TOOL_RESPONSE: 12,
  UPDATE_QUERY: 13,
  UPDATE_RESPONSE: 14,
} as const;

export const SOCKET_FAMILY = { INET: 1, INET6: 2 } as const;

export interface DnstapMessage {
  type: number;
  socketFamily?: number;
  socketProtocol?: number;
  queryAddress?: Uint8Array;
  responseAddress?: Uint8Array;
  queryPort?: number;
  responsePort?: number;
  queryTimeSec?: number;
  queryTimeNsec?: number;
  queryMessage?: Uint8Array;
  queryZone?: Uint8Array;
  responseTimeSec?: number;
  responseTimeNsec?: number;
  responseMessage?: Uint8Array;
}

export interface Dnstap {
  identity?: string;
  version?: string;
  /** Dnstap.type: 1 = MESSAGE (the only type defined). */
  type?: number;
  message?: DnstapMessage;
}

export type DnstapResult = { dnstap: Dnstap; error?: undefined } | { dnstap?: undefined; error: string };

class Bad extends Error {}

/** One protobuf field: number, wire type, and the value (number for 0/1/5, bytes for 2). */
interface PbField {
  field: number;
  wire: number;
  num: number;
  bytes: Uint8Array | null;
}

const TWO_32 = 4294967296;

function readVarint(b: Uint8Array, off: number): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (off + i >= b.length) throw new Bad(`varint at byte ${off} runs past the end`);
    const c = b[off + i]!;
    value += (c & 0x7f) * mul; // beyond 2^53 precision is lost, never correctness of framing
    mul *= 128;
    if ((c & 0x80) === 0) return { value, next: off + i + 1 };
  }
  throw new Bad(`varint at byte ${off} is longer than 10 bytes`);
}

/** Split a protobuf message into its fields (top level only). Throws Bad. */
function* fields(b: Uint8Array): Generator<PbField> {
  let off = 0;
  while (off < b.length) {
    const key = readVarint(b, off);
    off = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (field === 0) throw new Bad('field number 0');
    switch (wire) {
      case 0: {
        const v = readVarint(b, off);
        off = v.next;
        yield { field, wire, num: v.value, bytes: null };
        break;
      }
      case 1: {
        if (off + 8 > b.length) throw new Bad(`fixed64 field ${field} runs past the end`);
        const dv = new DataView(b.buffer, b.byteOffset + off, 8);
        yield { field, wire, num: dv.getUint32(4, true) * TWO_32 + dv.getUint32(0, true), bytes: null };
        off += 8;
        break;
      }
      case 2: {
        const len = readVarint(b, off);
        off = len.next;
        if (len.value > b.length - off) throw new Bad(`length-delimited field ${field} of ${len.value} bytes runs past the end`);
        yield { field, wire, num: 0, bytes: b.subarray(off, off + len.value) };
        off += len.value;
        break;
      }
      case 5: {
        if (off + 4 > b.length) throw new Bad(`fixed32 field ${field} runs past the end`);
        yield { field, wire, num: new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0, true), bytes: null };
        off += 4;
        break;
      }
      default:
        throw new Bad(`unsupported wire type ${wire} (field ${field})`);
    }
  }
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

function decodeMessage(b: Uint8Array): DnstapMessage {
  const m: DnstapMessage = { type: 0 };
  for (const f of fields(b)) {
    // A field with an unexpected wire type is treated as unknown (skipped), as protobuf parsers do.
    if (f.bytes) {
      switch (f.field) {
        case 4: m.queryAddress = f.bytes.slice(); break;
        case 5: m.responseAddress = f.bytes.slice(); break;
        case 10: m.queryMessage = f.bytes; break;
        case 11: m.queryZone = f.bytes; break;
        case 14: m.responseMessage = f.bytes; break;
        default: break;
      }
    } else if (f.wire === 0) {
      switch (f.field) {
        case 1: m.type = f.num; break;
        case 2: m.socketFamily = f.num; break;
        case 3: m.socketProtocol = f.num; break;
        case 6: m.queryPort = f.num; break;
        case 7: m.responsePort = f.num; break;
        case 8: m.queryTimeSec = f.num; break;
        case 12: m.responseTimeSec = f.num; break;
        default: break;
      }
    } else if (f.wire === 5) {
      if (f.field === 9) m.queryTimeNsec = f.num;
      else if (f.field === 13) m.responseTimeNsec = f.num;
    }
  }
  return m;
}

/** Decode one dnstap frame payload. Never throws. */
export function decodeDnstap(b: Uint8Array): DnstapResult {
  try {
    const d: Dnstap = {};
    for (const f of fields(b)) {
      if (f.bytes) {
        if (f.field === 1) d.identity = text(f.bytes);
        else if (f.field === 2) d.version = text(f.bytes);
        else if (f.field === 14) d.message = decodeMessage(f.bytes);
      } else if (f.wire === 0 && f.field === 15) d.type = f.num;
    }
    return { dnstap: d };
  } catch (e) {
    if (e instanceof Bad) return { error: e.message };
    throw e;
  }
}

const RESPONSE_TYPES = new Set<number>([DNSTAP_MESSAGE_TYPE.CLIENT_RESPONSE, DNSTAP_MESSAGE_TYPE.RESOLVER_RESPONSE, DNSTAP_MESSAGE_TYPE.FORWARDER_RESPONSE]);

/** 16-byte form of a dnstap address (4 bytes → IPv4-mapped); null when absent or of another length. */
function addr16(a: Uint8Array | undefined): { addr: Uint8Array; family: 4 | 6 } | null {
  if (!a) return null;
  if (a.length === 4) return { addr: ipv4ToMapped(((a[0]! << 24) >>> 0) + (a[1]! << 16) + (a[2]! << 8) + a[3]!), family: 4 };
  if (a.length === 16) return { addr: a.slice(), family: 6 };
  return null;
}

const ZERO16 = new Uint8Array(16);

export interface DnstapStats extends DnsSightingStats {
  /** Frames that were not valid dnstap protobuf. */
  undecodable: number;
  /** Decoded, but not a response message of a kept type (queries, AUTH_*, ...). */
  otherMessages: number;
}

export const emptyDnstapStats = (): DnstapStats => ({ responses: 0, sightings: 0, malformed: 0, ignored: 0, undecodable: 0, otherMessages: 0 });

/**
 * A dnstap frame → a sighting when it is a CLIENT/RESOLVER/FORWARDER_RESPONSE carrying a response
 * to an A/AAAA question. `nowMs` stands in when the message has no time. Updates `stats`.
 */
export function dnstapSighting(payload: Uint8Array, stats: DnstapStats, nowMs = Date.now()): DnsSighting | null {
  const r = decodeDnstap(payload);
  if (!r.dnstap) {
    stats.undecodable++;
    return null;
  }
  const m = r.dnstap.message;
  if ((r.dnstap.type !== undefined && r.dnstap.type !== 1) || !m || !RESPONSE_TYPES.has(m.type) || !m.responseMessage) {
    stats.otherMessages++;
    return null;
  }
  stats.responses++;
  const p = parseDnsMessage(m.responseMessage);
  if (!p.message) {
    stats.malformed++;
    return null;
  }
  const answer = summariseAnswer(p.message);
  if (!answer) {
    stats.ignored++;
    return null;
  }
  if (m.type !== DNSTAP_MESSAGE_TYPE.CLIENT_RESPONSE && answer.kind === 'nodata') {
    // Upstream side: a referral (no SOA, delegation NS) is not "the name has no such record".
    const hasSoa = p.message.authority.some((x) => x.type === RR_TYPE.SOA);
    if (!hasSoa) {
      stats.ignored++;
      return null;
    }
  }
  const client = addr16(m.queryAddress);
  const server = addr16(m.responseAddress);
  const family: 4 | 6 = client?.family ?? (m.socketFamily === SOCKET_FAMILY.INET6 ? 6 : 4);
  const sec = m.responseTimeSec ?? m.queryTimeSec;
  const nsec = m.responseTimeSec !== undefined ? (m.responseTimeNsec ?? 0) : (m.queryTimeNsec ?? 0);
  const timeMs = sec !== undefined ? sec * 1000 + Math.floor(nsec / 1e6) : nowMs;
  stats.sightings++;
  return {
    timeMs,
    family,
    client: client?.addr ?? ZERO16.slice(),
    server: server?.addr ?? ZERO16.slice(),
    clientMac: 0,
    answer,
  };
}

// ---- encoder (tests and tools): the inverse of the decoder for the fields above ----

function varintBytes(v: number): number[] {
  const out: number[] = [];
  let x = v;
  while (x >= 128) {
    out.push((x % 128) | 0x80);
    x = Math.floor(x / 128);
  }
  out.push(x);
  return out;
}

class PbWriter {
  private parts: number[] = [];
  varint(field: number, v: number | undefined): this {
    if (v !== undefined) this.parts.push(...varintBytes(field * 8), ...varintBytes(v));
    return this;
  }
  bytes(field: number, b: Uint8Array | string | undefined): this {
    if (b === undefined) return this;
    const u = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    this.parts.push(...varintBytes(field * 8 + 2), ...varintBytes(u.length), ...u);
    return this;
  }
  fixed32(field: number, v: number | undefined): this {
    if (v !== undefined) this.parts.push(...varintBytes(field * 8 + 5), v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Encode a dnstap frame (field order as Unbound writes it). */
export function encodeDnstap(d: Dnstap): Uint8Array {
  const w = new PbWriter().bytes(1, d.identity).bytes(2, d.version);
  if (d.message) {
    const m = d.message;
    const mb = new PbWriter()
      .varint(1, m.type)
      .varint(2, m.socketFamily)
      .varint(3, m.socketProtocol)
      .bytes(4, m.queryAddress)
      .bytes(5, m.responseAddress)
      .varint(6, m.queryPort)
      .varint(7, m.responsePort)
      .varint(8, m.queryTimeSec)
      .fixed32(9, m.queryTimeNsec)
      .bytes(10, m.queryMessage)
      .bytes(11, m.queryZone)
      .varint(12, m.responseTimeSec)
      .fixed32(13, m.responseTimeNsec)
      .bytes(14, m.responseMessage)
      .done();
    w.bytes(14, mb);
  }
  return w.varint(15, d.type ?? 1).done();
}
