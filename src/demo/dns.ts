/**
 * A small, correct RFC 1035 DNS message encoder for the demo's queries and answers, so that the
 * capture carries real DNS a passive-DNS reader can learn names from.
 *
 * - Header (§4.1.1), questions (§4.1.2) and resource records (§4.1.3) in network byte order.
 * - Names as length-prefixed labels (§3.1), compressed with pointers to earlier names (§4.1.4).
 * - Record data for A (RFC 1035 §3.4.1), AAAA (RFC 3596 §2.2), CNAME (§3.3.1) and SOA (§3.3.13);
 *   an EDNS(0) OPT pseudo-record (RFC 6891 §6.1.2) in the additional section.
 * - A NODATA answer (the name exists, no record of the type) is NOERROR with no answers and the
 *   zone's SOA in the authority section (RFC 2308 §2.2), as resolvers send it.
 */
import { parseIP } from '../net/ip.js';

export const QTYPE = { A: 1, CNAME: 5, SOA: 6, AAAA: 28, OPT: 41 } as const;
export const QCLASS_IN = 1;

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export type RecordData =
  | { type: typeof QTYPE.A; address: string }
  | { type: typeof QTYPE.AAAA; address: string }
  | { type: typeof QTYPE.CNAME; target: string }
  | { type: typeof QTYPE.SOA; soa: SoaData };

export interface ResourceRecord {
  name: string;
  ttl: number;
  data: RecordData;
}

export interface DnsMessage {
  id: number;
  /** QR (response). */
  response: boolean;
  /** RD: recursion desired (stub resolvers set it). */
  recursionDesired?: boolean;
  /** RA: recursion available (set by a recursive resolver in responses). */
  recursionAvailable?: boolean;
  /** AA: authoritative answer. */
  authoritative?: boolean;
  /** RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN). */
  rcode?: number;
  questions: { name: string; type: number; class?: number }[];
  answers?: ResourceRecord[];
  authority?: ResourceRecord[];
  /** EDNS(0): advertised UDP payload size; adds an OPT record to the additional section. */
  ednsUdpSize?: number;
}

const MAX_NAME = 255;
const MAX_LABEL = 63;

class Encoder {
  private readonly bytes: number[] = [];
  /** Suffix (lower-cased, dot-joined labels) → offset of its first label, for compression. */
  private readonly names = new Map<string, number>();

  get length(): number {
    return this.bytes.length;
  }
  u8(v: number): void {
    this.bytes.push(v & 255);
  }
  u16(v: number): void {
    this.bytes.push((v >>> 8) & 255, v & 255);
  }
  u32(v: number): void {
    this.bytes.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  raw(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i]!);
  }
  setU16(off: number, v: number): void {
    this.bytes[off] = (v >>> 8) & 255;
    this.bytes[off + 1] = v & 255;
  }

  /** A domain name, compressed against the names already written (pointers fit in 14 bits). */
  name(text: string): void {
    const labels = splitName(text);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const at = this.names.get(suffix);
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (this.bytes.length < 0x4000) this.names.set(suffix, this.bytes.length);
      const label = Buffer.from(labels[i]!, 'ascii');
      this.u8(label.length);
      this.raw(label);
    }
    this.u8(0);
  }

  toUint8Array(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** Labels of a name ("" or "." is the root: no labels). Validates RFC 1035 limits. */
export function splitName(text: string): string[] {
  const t = text.endsWith('.') ? text.slice(0, -1) : text;
  if (t === '') return [];
  const labels = t.split('.');
  let wire = 1;
  for (const l of labels) {
    if (l.length === 0 || l.length > MAX_LABEL) throw new Error(`invalid DNS name "${text}": empty label or label longer than ${MAX_LABEL} bytes`);
    if (!/^[\x21-\x7e]+$/.test(l)) throw new Error(`invalid DNS name "${text}": labels must be printable ASCII`);
    wire += 1 + l.length;
  }
  if (wire > MAX_NAME) throw new Error(`invalid DNS name "${text}": longer than ${MAX_NAME} bytes on the wire`);
  return labels;
}

function writeRecord(e: Encoder, rr: ResourceRecord): void {
  e.name(rr.name);
  e.u16(rr.data.type);
  e.u16(QCLASS_IN);
  e.u32(rr.ttl >>> 0);
  const lenAt = e.length;
  e.u16(0);
  const start = e.length;
  const d = rr.data;
  if (d.type === QTYPE.A || d.type === QTYPE.AAAA) {
    const p = parseIP(d.address);
    if (p.family !== (d.type === QTYPE.A ? 4 : 6)) throw new Error(`DNS ${d.type === QTYPE.A ? 'A' : 'AAAA'} record for ${rr.name} with address ${d.address}`);
    e.raw(p.family === 4 ? p.addr.subarray(12) : p.addr);
  } else if (d.type === QTYPE.CNAME) {
    e.name(d.target);
  } else {
    e.name(d.soa.mname);
    e.name(d.soa.rname);
    for (const v of [d.soa.serial, d.soa.refresh, d.soa.retry, d.soa.expire, d.soa.minimum]) e.u32(v >>> 0);
  }
  e.setU16(lenAt, e.length - start);
}

/** Encode a DNS message (RFC 1035 §4) to its wire form. */
export function encodeDnsMessage(m: DnsMessage): Uint8Array {
  const e = new Encoder();
  const answers = m.answers ?? [];
  const authority = m.authority ?? [];
  e.u16(m.id & 0xffff);
  const flags =
    (m.response ? 0x8000 : 0) | // QR; opcode 0 (QUERY)
    (m.authoritative ? 0x0400 : 0) |
    (m.recursionDesired ? 0x0100 : 0) |
    (m.recursionAvailable ? 0x0080 : 0) |
    ((m.rcode ?? 0) & 15);
  e.u16(flags);
  e.u16(m.questions.length);
  e.u16(answers.length);
  e.u16(authority.length);
  e.u16(m.ednsUdpSize !== undefined ? 1 : 0);
  for (const q of m.questions) {
    e.name(q.name);
    e.u16(q.type);
    e.u16(q.class ?? QCLASS_IN);
  }
  for (const rr of answers) writeRecord(e, rr);
  for (const rr of authority) writeRecord(e, rr);
  if (m.ednsUdpSize !== undefined) {
    e.u8(0); // root name
    e.u16(QTYPE.OPT);
    e.u16(m.ednsUdpSize); // CLASS = requestor's UDP payload size
    e.u32(0); // extended RCODE, version 0, flags
    e.u16(0); // no options
  }
  return e.toUint8Array();
}

export interface DnsEncodeOptions {
  /** Add an EDNS(0) OPT record with this UDP payload size (default: none, as glibc's stub sends). */
  ednsUdpSize?: number;
  /** NODATA answers carry the zone's SOA in the authority section (default true; false: RFC 2308 "type 2", no SOA). */
  soaForNodata?: boolean;
}

/** A stub resolver's query (RD set). */
export function dnsQuery(id: number, name: string, qtype: number, o: DnsEncodeOptions = {}): Uint8Array {
  return encodeDnsMessage({ id, response: false, recursionDesired: true, questions: [{ name, type: qtype }], ednsUdpSize: o.ednsUdpSize });
}

/**
 * A recursive resolver's NOERROR response to {@link dnsQuery}: the addresses as answers (type from
 * `qtype`, A or AAAA), or — when there are none — NODATA, by default with the zone's SOA in the
 * authority section (RFC 2308 §2.2 type 1; negative TTL = min(SOA TTL, SOA minimum), §3).
 */
export function dnsAnswer(
  id: number,
  name: string,
  qtype: typeof QTYPE.A | typeof QTYPE.AAAA,
  addrs: readonly string[],
  ttl: number,
  o: DnsEncodeOptions & { zone?: string } = {},
): Uint8Array {
  const answers: ResourceRecord[] = addrs.map((address) => ({ name, ttl, data: qtype === QTYPE.A ? { type: QTYPE.A, address } : { type: QTYPE.AAAA, address } }));
  let authority: ResourceRecord[] = [];
  if (answers.length === 0 && o.soaForNodata !== false) {
    const z = o.zone ?? splitName(name).slice(1).join('.');
    const minimum = 300;
    authority = [
      {
        name: z,
        ttl: minimum,
        data: { type: QTYPE.SOA, soa: { mname: `ns1.${z}`, rname: `hostmaster.${z}`, serial: 2024010101, refresh: 7200, retry: 3600, expire: 1209600, minimum } },
      },
    ];
  }
  return encodeDnsMessage({
    id,
    response: true,
    recursionDesired: true,
    recursionAvailable: true,
    questions: [{ name, type: qtype }],
    answers,
    authority,
    ednsUdpSize: o.ednsUdpSize,
  });
}
