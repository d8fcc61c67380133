/** Prefixes: parsing, formatting, masking, containment and aggregation (/64, /48, /24). */
import { quoteInput } from './internal.js';
import { AddressError, formatIP, isIPv4Mapped, parseIP, type ParsedIP } from './ip.js';

export interface Prefix {
  /** 16 bytes, host bits cleared. IPv4 prefixes live in the mapped space (::ffff:0:0/96). */
  addr: Uint8Array;
  family: 4 | 6;
  /** Bits within the family: 0-32 for IPv4, 0-128 for IPv6. */
  length: number;
}

/** Masks for the leading `n` bits of a byte, n = 0..8. */
const LEAD = [0x00, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff] as const;

function checkBits(family: 4 | 6, bits: number): number {
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new AddressError(`invalid prefix length ${bits} for IPv${family}: must be 0-${max}`);
  return family === 4 ? 96 + bits : bits;
}

/** Copy of `addr` with everything after `bits` (counted within the family) cleared. */
export function maskAddr(addr: Uint8Array, family: 4 | 6, bits: number): Uint8Array {
  const total = checkBits(family, bits);
  const out = new Uint8Array(16);
  const full = total >> 3;
  for (let i = 0; i < full; i++) out[i] = addr[i]!;
  const rem = total & 7;
  if (rem !== 0) out[full] = addr[full]! & LEAD[rem]!;
  return out;
}

function prefixError(text: string, why: string): AddressError {
  return new AddressError(`invalid prefix ${quoteInput(text)}: ${why}`, text, why);
}

/**
 * `2001:db8::/32`, `192.0.2.0/24`, or a bare address (a host prefix). Host bits are cleared, or
 * with `strict` are an error. The length is decimal without leading zeros.
 */
export function parsePrefix(text: string, opts: { strict?: boolean } = {}): Prefix {
  if (typeof text !== 'string') throw new AddressError(`invalid prefix: expected a string, got ${typeof text}`);
  if (text.charCodeAt(0) === 91) throw prefixError(text, 'brackets are not allowed in prefixes');
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  let parsed: ParsedIP;
  try {
    parsed = parseIP(addrText);
  } catch (e) {
    if (!(e instanceof AddressError)) throw e;
    throw prefixError(text, slash === -1 ? e.reason : `address ${quoteInput(addrText)}: ${e.reason}`);
  }
  if (parsed.zone !== undefined) throw prefixError(text, 'zone IDs are not allowed in prefixes');
  const family = parsed.family;
  const max = family === 4 ? 32 : 128;
  let length = max;
  if (slash !== -1) {
    const n = text.length - slash - 1;
    if (n === 0) throw prefixError(text, 'empty length after "/"');
    let v = 0;
    for (let i = slash + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) throw prefixError(text, `length "${text.slice(slash + 1)}" is not a decimal number`);
      v = v * 10 + (c - 48);
      if (v > max) throw prefixError(text, `length ${text.slice(slash + 1)} is out of range 0-${max} for IPv${family}`);
    }
    if (n > 1 && text.charCodeAt(slash + 1) === 48) throw prefixError(text, `length "${text.slice(slash + 1)}" has a leading zero`);
    length = v;
  }
  const addr = maskAddr(parsed.addr, family, length);
  if (opts.strict) {
    for (let i = 0; i < 16; i++) {
      if (addr[i] !== parsed.addr[i]) {
        throw prefixError(text, `host bits are set (the network is ${formatPrefix({ addr, family, length })})`);
      }
    }
  }
  return { addr, family, length };
}

/** `2001:db8::/32`, `192.0.2.0/24` (RFC 5952 address text). */
export function formatPrefix(p: Prefix): string {
  return `${formatIP(p.addr, p.family)}/${p.length}`;
}

/** Inclusive 16-byte bounds of the prefix. */
export function prefixRange(p: Prefix): { first: Uint8Array; last: Uint8Array } {
  const first = maskAddr(p.addr, p.family, p.length);
  const last = new Uint8Array(first);
  const total = p.family === 4 ? 96 + p.length : p.length;
  const full = total >> 3;
  const rem = total & 7;
  if (rem !== 0) last[full] = last[full]! | (~LEAD[rem]! & 0xff);
  for (let i = rem !== 0 ? full + 1 : full; i < 16; i++) last[i] = 0xff;
  return { first, last };
}

/**
 * Whether `addr` lies in `p`. With `family`, an address of the other family is never contained
 * (so ::ffff:192.0.2.1 written as IPv6 is not in 192.0.2.0/24 when family 6 is passed); without
 * it the bytes decide, except that an IPv4 prefix only contains IPv4-mapped bytes. `offset`: where
 * the 16 address bytes start in `addr` (a columnar batch's address column).
 */
export function prefixContains(p: Prefix, addr: Uint8Array, family?: 4 | 6, offset = 0): boolean {
  if (family !== undefined && family !== p.family) return false;
  if (family === undefined && p.family === 4 && !isIPv4Mapped(offset === 0 ? addr : addr.subarray(offset, offset + 16))) return false;
  const total = p.family === 4 ? 96 + p.length : p.length;
  const full = total >> 3;
  const pa = p.addr;
  for (let i = 0; i < full; i++) if (addr[offset + i] !== pa[i]) return false;
  const rem = total & 7;
  if (rem === 0) return true;
  const m = LEAD[rem]!;
  return (addr[offset + full]! & m) === (pa[full]! & m);
}

/** Aggregate an address to its /v6bits (IPv6, default /64) or /v4bits (IPv4, default /24) prefix. */
export function aggregate(addr: Uint8Array, family: 4 | 6, v6bits = 64, v4bits = 24): Uint8Array {
  return maskAddr(addr, family, family === 4 ? v4bits : v6bits);
}
