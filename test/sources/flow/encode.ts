/**
 * Small, independent encoders for NetFlow v5/v9 and IPFIX test datagrams (written from RFC 3954,
 * RFC 7011 and the Cisco v5 layout, not from the decoder).
 */
import { parseIP } from '../../../src/net/ip.js';

export type Bytes = Uint8Array;

export function concat(...parts: Bytes[]): Bytes {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Unsigned big-endian integer in `len` bytes (bigint for > 2^53). */
export function uint(v: number | bigint, len: number): Bytes {
  const out = new Uint8Array(len);
  let x = BigInt(v);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
export const u8 = (v: number): Bytes => uint(v, 1);
export const u16 = (v: number): Bytes => uint(v, 2);
export const u32 = (v: number): Bytes => uint(v, 4);
export const u64 = (v: number | bigint): Bytes => uint(v, 8);

/** 4 bytes of a dotted quad. */
export function ip4(text: string): Bytes {
  return Uint8Array.from(text.split('.').map(Number));
}
/** 16 bytes of an IPv6 address. */
export function ip6(text: string): Bytes {
  const p = parseIP(text);
  return p.addr;
}
export function mac(text: string): Bytes {
  return Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
}
/** IPFIX variable-length encoding of `data`. */
export function varlen(data: Bytes, forceLong = false): Bytes {
  if (data.length < 255 && !forceLong) return concat(u8(data.length), data);
  return concat(u8(255), u16(data.length), data);
}
/** NTP 64-bit timestamp for epoch milliseconds (exact for whole ms up to the fraction's rounding). */
export function ntp(ms: number): Bytes {
  const sec = Math.floor(ms / 1000);
  const fracMs = ms - sec * 1000;
  // Round the fraction up so that floor(frac * 1000 / 2^32) gives back fracMs.
  const frac = Math.ceil((fracMs * 2 ** 32) / 1000);
  return concat(u32(sec + 2_208_988_800), u32(frac));
}

// ----------------------------------------------------------------------------------------------
// Sets and templates

export type Field = [id: number, length: number, enterprise?: number];

export function set(id: number, ...records: Bytes[]): Bytes {
  const body = concat(...records);
  return concat(u16(id), u16(body.length + 4), body);
}

/** IPFIX template record (enterprise fields get the enterprise bit and number). */
export function ipfixTemplate(id: number, fields: Field[]): Bytes {
  return concat(u16(id), u16(fields.length), ...fields.map(fieldSpec));
}
export function ipfixOptionsTemplate(id: number, scopeCount: number, fields: Field[]): Bytes {
  return concat(u16(id), u16(fields.length), u16(scopeCount), ...fields.map(fieldSpec));
}
function fieldSpec([id, len, ent]: Field): Bytes {
  return ent ? concat(u16(id | 0x8000), u16(len), u32(ent)) : concat(u16(id), u16(len));
}

export function ipfixMessage(h: { exportTime: number; seq: number; domain: number }, ...sets: Bytes[]): Bytes {
  const body = concat(...sets);
  return concat(u16(10), u16(body.length + 16), u32(h.exportTime), u32(h.seq), u32(h.domain), body);
}

/** NetFlow v9 template record. */
export function v9Template(id: number, fields: Field[]): Bytes {
  return concat(u16(id), u16(fields.length), ...fields.map(([i, l]) => concat(u16(i), u16(l))));
}
/** NetFlow v9 options template record: scope and option lengths in bytes. */
export function v9OptionsTemplate(id: number, scopes: Field[], options: Field[]): Bytes {
  return concat(
    u16(id),
    u16(scopes.length * 4),
    u16(options.length * 4),
    ...scopes.map(([i, l]) => concat(u16(i), u16(l))),
    ...options.map(([i, l]) => concat(u16(i), u16(l))),
  );
}
export function v9Packet(h: { count?: number; uptime: number; secs: number; seq: number; sourceId: number }, ...sets: Bytes[]): Bytes {
  return concat(u16(9), u16(h.count ?? 0), u32(h.uptime), u32(h.secs), u32(h.seq), u32(h.sourceId), ...sets);
}

// ----------------------------------------------------------------------------------------------
// NetFlow v5

export interface V5Rec {
  src: string;
  dst: string;
  input?: number;
  output?: number;
  packets: number;
  bytes: number;
  first: number;
  last: number;
  srcPort?: number;
  dstPort?: number;
  flags?: number;
  proto: number;
  srcAs?: number;
  dstAs?: number;
}

export function v5Packet(
  h: { count?: number; uptime: number; secs: number; nsecs?: number; seq: number; engineType?: number; engineId?: number; sampling?: number },
  recs: V5Rec[],
): Bytes {
  const header = concat(
    u16(5),
    u16(h.count ?? recs.length),
    u32(h.uptime),
    u32(h.secs),
    u32(h.nsecs ?? 0),
    u32(h.seq),
    u8(h.engineType ?? 0),
    u8(h.engineId ?? 0),
    u16(h.sampling ?? 0),
  );
  const body = recs.map((r) =>
    concat(
      ip4(r.src),
      ip4(r.dst),
      ip4('0.0.0.0'),
      u16(r.input ?? 0),
      u16(r.output ?? 0),
      u32(r.packets),
      u32(r.bytes),
      u32(r.first),
      u32(r.last),
      u16(r.srcPort ?? 0),
      u16(r.dstPort ?? 0),
      u8(0),
      u8(r.flags ?? 0),
      u8(r.proto),
      u8(0),
      u16(r.srcAs ?? 0),
      u16(r.dstAs ?? 0),
      u8(0),
      u8(0),
      u16(0),
    ),
  );
  return concat(header, ...body);
}
