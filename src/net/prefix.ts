/** Prefixes: parsing, formatting, masking, containment and aggregation (/64, /48, /24). */
import { AddressError, formatIP, isIPv4Mapped, parseIP } from './ip.js';

export interface Prefix {
  /** 16 bytes, host bits cleared. IPv4 prefixes live in the mapped space (::ffff:0:0/96). */
  addr: Uint8Array;
  family: 4 | 6;
  /** Bits within the family: 0-32 for IPv4, 0-128 for IPv6. */
  length: number;
}

function bitsIn16(family: 4 | 6, bits: number): number {
  return family === 4 ? 96 + bits : bits;
}

/** Copy of `addr` with everything after `bits` (within the family) cleared. */
export function maskAddr(addr: Uint8Array, family: 4 | 6, bits: number): Uint8Array {
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new AddressError(`prefix length ${bits} out of range 0-${max}`);
  const total = bitsIn16(family, bits);
  const out = new Uint8Array(16);
  const full = total >> 3;
  for (let i = 0; i < full; i++) out[i] = addr[i]!;
  const rem = total & 7;
  if (rem && full < 16) out[full] = addr[full]! & (0xff << (8 - rem));
  return out;
}

export function parsePrefix(text: string, opts: { strict?: boolean } = {}): Prefix {
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  let parsed;
  try {
    parsed = parseIP(addrText);
  } catch (e) {
    throw new AddressError(`invalid prefix "${text}": ${(e as Error).message}`);
  }
  if (parsed.zone !== undefined) throw new AddressError(`invalid prefix "${text}": zone IDs are not allowed in prefixes`);
  const max = parsed.family === 4 ? 32 : 128;
  let length = max;
  if (slash !== -1) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l) || Number(l) > max) throw new AddressError(`invalid prefix "${text}": length "${l}" must be 0-${max}`);
    length = Number(l);
  }
  const addr = maskAddr(parsed.addr, parsed.family, length);
  if (opts.strict) {
    for (let i = 0; i < 16; i++) {
      if (addr[i] !== parsed.addr[i]) throw new AddressError(`invalid prefix "${text}": host bits are set (did you mean ${formatPrefix({ addr, family: parsed.family, length })}?)`);
    }
  }
  return { addr, family: parsed.family, length };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIP(p.addr, p.family)}/${p.length}`;
}

/** Inclusive 16-byte bounds of the prefix. */
export function prefixRange(p: Prefix): { first: Uint8Array; last: Uint8Array } {
  const first = maskAddr(p.addr, p.family, p.length);
  const last = new Uint8Array(first);
  const total = bitsIn16(p.family, p.length);
  for (let bit = total; bit < 128; bit++) last[bit >> 3]! |= 0x80 >> (bit & 7);
  return { first, last };
}

export function prefixContains(p: Prefix, addr: Uint8Array, family?: 4 | 6): boolean {
  if (family !== undefined && family !== p.family) return false;
  if (family === undefined && p.family === 4 && !isIPv4Mapped(addr)) return false;
  const total = bitsIn16(p.family, p.length);
  const full = total >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== p.addr[i]) return false;
  const rem = total & 7;
  if (rem === 0) return true;
  const m = 0xff << (8 - rem);
  return (addr[full]! & m) === (p.addr[full]! & m);
}

/** Aggregate an address to its /v6bits (IPv6) or /v4bits (IPv4) prefix. */
export function aggregate(addr: Uint8Array, family: 4 | 6, v6bits = 64, v4bits = 24): Uint8Array {
  return maskAddr(addr, family, family === 4 ? v4bits : v6bits);
}
