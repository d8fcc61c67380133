/**
 * DNS wire format (RFC 1035 §4) reader for passive DNS: what a resolver answered, as seen on the
 * wire (captures, later dnstap). Defensive by construction — it reads untrusted bytes, so every
 * offset is bounds-checked, compression pointers (§4.1.4) may only point backwards and are
 * followed at most 64 times, and a bad message yields `{ error }` instead of an exception.
 *
 * Names are returned in presentation form, lower-cased (DNS names compare case-insensitively,
 * RFC 4343), without the trailing dot; the root is "". Label bytes outside printable ASCII and the
 * characters "." and "\\" are escaped as \DDD (RFC 1035 §5.1), so distinct names stay distinct.
 */
import { formatIP } from '../../net/ip.js';

export const RR_TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, HTTPS: 65 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /**
   * A / AAAA: the address (RFC 5952 text for AAAA); CNAME, NS, PTR: the target name; SOA: the
   * negative-caching TTL (the SOA's minimum, RFC 2308) as text; other types: "" (rdata not kept).
   */
  data: string;
}

export interface DnsMessageView {
  id: number;
  /** QR bit. */
  response: boolean;
  opcode: number;
  /** TC bit: the UDP answer was truncated (the client retries over TCP). */
  truncated: boolean;
  rcode: number;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
}

export type DnsParseResult = { message: DnsMessageView; error?: undefined } | { message?: undefined; error: string };

const MAX_POINTERS = 64;
const MAX_NAME_LENGTH = 255;
/** More records than fit in 64 KiB at minimum size is a corrupt count, not a message. */
const MAX_RECORDS = 65535 / 11;

class Bad extends Error {}

function readName(b: Uint8Array, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let off = start;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (off >= b.length) throw new Bad(`name at offset ${start} runs past the message`);
    const len = b[off]!;
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= b.length) throw new Bad(`compression pointer at offset ${off} is truncated`);
      const target = ((len & 0x3f) << 8) | b[off + 1]!;
      if (target >= off) throw new Bad(`compression pointer at offset ${off} points forward (to ${target})`);
      if (++jumps > MAX_POINTERS) throw new Bad(`too many compression pointers in the name at offset ${start}`);
      if (next < 0) next = off + 2;
      off = target;
      continue;
    }
    if (kind !== 0) throw new Bad(`unsupported label type 0x${kind.toString(16)} at offset ${off}`);
    if (off + 1 + len > b.length) throw new Bad(`label at offset ${off} runs past the message`);
    length += len + 1;
    if (length > MAX_NAME_LENGTH) throw new Bad(`name at offset ${start} is longer than 255 bytes`);
    let label = '';
    for (let i = off + 1; i <= off + len; i++) {
      let c = b[i]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20; // ASCII case folding only (RFC 4343)
      label += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString().padStart(3, '0')}`;
    }
    labels.push(label);
    off += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Parse one DNS message. Never throws. */
export function parseDnsMessage(b: Uint8Array): DnsParseResult {
  try {
    return { message: parse(b) };
  } catch (e) {
    if (e instanceof Bad) return { error: e.message };
    throw e;
  }
}

function parse(b: Uint8Array): DnsMessageView {
  if (b.length < 12) throw new Bad(`message of ${b.length} bytes is shorter than the 12-byte header`);
  const u16 = (o: number): number => (b[o]! << 8) | b[o + 1]!;
  const flags = u16(2);
  const qd = u16(4);
  const an = u16(6);
  const ns = u16(8);
  if (qd + an + ns > MAX_RECORDS) throw new Bad('record counts exceed what the message can hold');
  const m: DnsMessageView = {
    id: u16(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 15,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 15,
    questions: [],
    answers: [],
    authority: [],
  };
  let off = 12;
  for (let i = 0; i < qd; i++) {
    const n = readName(b, off);
    if (n.next + 4 > b.length) throw new Bad(`question ${i + 1} is truncated`);
    m.questions.push({ name: n.name, type: u16(n.next), class: u16(n.next + 2) });
    off = n.next + 4;
  }
  const sections: [DnsRecord[], number, string][] = [
    [m.answers, an, 'answer'],
    [m.authority, ns, 'authority'],
  ];
  for (const [out, count, what] of sections) {
    for (let i = 0; i < count; i++) {
      const n = readName(b, off);
      const p = n.next;
      if (p + 10 > b.length) throw new Bad(`${what} record ${i + 1} is truncated`);
      const type = u16(p);
      const cls = u16(p + 2);
      const ttl = ((b[p + 4]! << 24) >>> 0) + (b[p + 5]! << 16) + (b[p + 6]! << 8) + b[p + 7]!;
      const rdlen = u16(p + 8);
      const rd = p + 10;
      if (rd + rdlen > b.length) throw new Bad(`${what} record ${i + 1} data runs past the message`);
      let data = '';
      switch (type) {
        case RR_TYPE.A:
          if (rdlen !== 4) throw new Bad(`A record with ${rdlen} bytes of data`);
          data = `${b[rd]}.${b[rd + 1]}.${b[rd + 2]}.${b[rd + 3]}`;
          break;
        case RR_TYPE.AAAA:
          if (rdlen !== 16) throw new Bad(`AAAA record with ${rdlen} bytes of data`);
          data = formatIP(b.subarray(rd, rd + 16), 6);
          break;
        case RR_TYPE.CNAME:
        case RR_TYPE.NS:
        case RR_TYPE.PTR: {
          const t = readName(b, rd);
          if (t.next > rd + rdlen) throw new Bad(`${what} record ${i + 1}: target name runs past its data`);
          data = t.name;
          break;
        }
        case RR_TYPE.SOA: {
          const mname = readName(b, rd);
          const rname = readName(b, mname.next);
          const q = rname.next;
          if (q + 20 > rd + rdlen) throw new Bad(`SOA record ${i + 1} is truncated`);
          const minimum = ((b[q + 16]! << 24) >>> 0) + (b[q + 17]! << 16) + (b[q + 18]! << 8) + b[q + 19]!;
          data = String(minimum);
          break;
        }
        default:
          break;
      }
      out.push({ name: n.name, type, class: cls, ttl, data });
      off = rd + rdlen;
    }
  }
  // The additional section (EDNS OPT, glue) is not needed for passive DNS and is not read.
  return m;
}

/** What one response says about its question's name (the passive-DNS fact). */
export type AnswerKind =
  /** Addresses of the asked type (after following CNAMEs in the answer). */
  | 'addresses'
  /** The name exists but has no record of the asked type (NOERROR, no answer of that type). */
  | 'nodata'
  /** The name does not exist. */
  | 'nxdomain'
  /** SERVFAIL, REFUSED, ...: says nothing about the name. */
  | 'error';

export interface DnsAnswerSummary {
  name: string;
  qtype: number;
  kind: AnswerKind;
  /** Addresses of type qtype reached from the name through the answer's CNAME chain. */
  addresses: string[];
  /** The CNAME chain from the name (each target), possibly empty. */
  cnames: string[];
  /** Smallest TTL along the chain (answers), or the negative TTL (RFC 2308: min(SOA TTL, SOA minimum)). */
  ttl: number;
}

/**
 * Summarise a response to an A or AAAA question: which addresses the question's name has, or
 * that it has none (NODATA/NXDOMAIN). Null for queries, other question types, or no question.
 */
export function summariseAnswer(m: DnsMessageView): DnsAnswerSummary | null {
  if (!m.response || m.opcode !== 0 || m.questions.length !== 1) return null;
  const q = m.questions[0]!;
  if (q.class !== 1 || (q.type !== RR_TYPE.A && q.type !== RR_TYPE.AAAA)) return null;
  const negativeTtl = (): number => {
    const soa = m.authority.find((r) => r.type === RR_TYPE.SOA);
    return soa ? Math.min(soa.ttl, Number(soa.data)) : 0;
  };
  if (m.rcode === RCODE.NXDOMAIN) return { name: q.name, qtype: q.type, kind: 'nxdomain', addresses: [], cnames: [], ttl: negativeTtl() };
  if (m.rcode !== RCODE.NOERROR) return { name: q.name, qtype: q.type, kind: 'error', addresses: [], cnames: [], ttl: 0 };
  const cnames: string[] = [];
  let current = q.name;
  let ttl = Infinity;
  // Follow the CNAME chain inside the answer section (bounded by its length: no loops).
  for (let hops = 0; hops <= m.answers.length; hops++) {
    const c = m.answers.find((r) => r.type === RR_TYPE.CNAME && r.name === current);
    if (!c || cnames.includes(c.data) || c.data === q.name) break;
    cnames.push(c.data);
    ttl = Math.min(ttl, c.ttl);
    current = c.data;
  }
  const addrs = m.answers.filter((r) => r.type === q.type && r.name === current && r.class === 1);
  if (addrs.length === 0) return { name: q.name, qtype: q.type, kind: 'nodata', addresses: [], cnames, ttl: negativeTtl() };
  for (const a of addrs) ttl = Math.min(ttl, a.ttl);
  return { name: q.name, qtype: q.type, kind: 'addresses', addresses: addrs.map((a) => a.data), cnames, ttl };
}
