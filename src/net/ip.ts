/**
 * IP address parsing and formatting.
 *
 * - Input: every RFC 4291 §2.2 text form (full, `::` compression, embedded IPv4, any case), strict
 *   dotted-quad IPv4 (no leading zeros: `010` is ambiguous octal-or-decimal), zone IDs
 *   (`fe80::1%eth0`, IPv6 only), `[v6]` and `[v6]:port`, `a.b.c.d:port`, and — only when the caller
 *   says a port is present — unbracketed `v6:port` split at the last colon (ALB/NLB logs).
 * - Output: RFC 5952 canonical text.
 * - Representation: 16 bytes; IPv4 lives in the IPv4-mapped space ::ffff:a.b.c.d.
 *
 * The parser is a hand-written single-pass scanner over char codes (no regex, no split); the family
 * is decided by the grammar — a leading hex/decimal run ended by "." is a dotted quad, by ":" is
 * IPv6 — never by a prefix test or a "contains a colon" shortcut. Failures inside the scanner are
 * recorded as a reason string, so `tryParseIP` never pays for an Error and its stack trace.
 */

import { DEC, HEX1, HEX2, HEXVAL, quoteInput } from './internal.js';

/** A malformed address, prefix or MAC; the message names the offending text and what is wrong. */
export class AddressError extends Error {
  override readonly name = 'AddressError';
  /** The offending input text, when the error is about a text input. */
  readonly input: string | undefined;
  /** What is wrong, without the "invalid … "text":" preamble. */
  readonly reason: string;
  constructor(message: string, input?: string, reason?: string) {
    super(message);
    this.input = input;
    this.reason = reason ?? message;
  }
}

export interface ParsedIP {
  /** 16 bytes; IPv4 as ::ffff:a.b.c.d */
  addr: Uint8Array;
  /** 4 for dotted quads, 6 for anything written as IPv6 (including ::ffff:1.2.3.4). */
  family: 4 | 6;
  /** Zone ID after "%" (IPv6 only). */
  zone?: string;
  port?: number;
}

export interface ParseOptions {
  /**
   * none (default): a port is an error. optional: `[v6]:port`, `a.b.c.d:port`, and an unbracketed
   * text that is not a valid IPv6 address but is one followed by ":port". required: a port must be
   * present; unbracketed IPv6 is split at the last colon.
   */
  port?: 'none' | 'optional' | 'required';
}

type PortMode = 'none' | 'optional' | 'required';

function charDesc(text: string, i: number): string {
  const c = text.charCodeAt(i);
  const ch = String.fromCodePoint(text.codePointAt(i) ?? c);
  if (c === 32 || (c >= 9 && c <= 13)) return `whitespace ${JSON.stringify(ch)} at position ${i} (whitespace is not allowed)`;
  if (c < 32 || c === 127) return `control character ${JSON.stringify(ch)} at position ${i}`;
  return `character ${JSON.stringify(ch)} at position ${i}`;
}

function unexpected(text: string, i: number): string {
  return `unexpected ${charDesc(text, i)}`;
}

// Scanner failure state: set by the scan* functions when they return a failure value.
let errWhy = '';
let errFam: 'IPv4' | 'IPv6' | 'IP' = 'IP';
// Zone found by the last successful scanHost.
let zoneOut: string | undefined;

function makeError(text: string, fam: string, why: string): AddressError {
  return new AddressError(`invalid ${fam} address ${quoteInput(text)}: ${why}`, text, why);
}

// ---------------------------------------------------------------------------------------------
// Scanners (no allocation on success except the zone string)

/** The text of the dotted-quad part starting at `start`, for messages. */
function partText(text: string, start: number, end: number): string {
  let e = start;
  while (e < end) {
    const c = text.charCodeAt(e);
    if (c < 48 || c > 57) break;
    e++;
  }
  return text.slice(start, e);
}

/** Dotted quad text[start,end) → out[off..off+4]. */
function scanV4(text: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  let partStart = start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) {
        errWhy = `part "${partText(text, partStart, end)}" has a leading zero (ambiguous: octal or decimal)`;
        return false;
      }
      val = val * 10 + (c - 48);
      digits++;
      if (val > 255) {
        errWhy = `part "${partText(text, partStart, end)}" is greater than 255`;
        return false;
      }
    } else if (c === 46) {
      if (digits === 0) {
        errWhy = i === start ? 'starts with "."' : 'empty part ("..")';
        return false;
      }
      if (part === 3) {
        errWhy = 'more than 4 parts';
        return false;
      }
      out[off + part] = val;
      part++;
      val = 0;
      digits = 0;
      partStart = i + 1;
    } else {
      errWhy = unexpected(text, i);
      return false;
    }
  }
  if (digits === 0) {
    errWhy = end === start ? 'empty' : 'ends with "."';
    return false;
  }
  if (part !== 3) {
    errWhy = `${part + 1} parts instead of 4`;
    return false;
  }
  out[off + 3] = val;
  return true;
}

/** IPv6 text[start,end) (no zone, no brackets) → out[0..16]. */
function scanV6(text: string, start: number, end: number, out: Uint8Array): boolean {
  let wi = 0; // 16-bit words written
  let gap = -1; // word index where "::" stands
  let p = start;
  if (p >= end) {
    errWhy = 'empty';
    return false;
  }
  if (text.charCodeAt(p) === 58) {
    if (p + 1 >= end || text.charCodeAt(p + 1) !== 58) {
      errWhy = 'starts with a single ":"';
      return false;
    }
    gap = 0;
    p += 2;
    if (p < end && text.charCodeAt(p) === 58) {
      errWhy = '":::" is not valid';
      return false;
    }
  }
  while (p < end) {
    const gs = p;
    let v = 0;
    while (p < end) {
      const c = text.charCodeAt(p);
      const h = c < 128 ? HEXVAL[c]! : -1;
      if (h < 0) break;
      v = ((v << 4) | h) & 0xfffff;
      p++;
    }
    if (p < end && text.charCodeAt(p) === 46) {
      // Embedded IPv4: the last 32 bits, so it must end the address.
      if (wi > 6) {
        errWhy = `too many groups before the embedded IPv4 address "${text.slice(gs, end)}"`;
        return false;
      }
      if (!scanV4(text, gs, end, out, wi * 2)) {
        errWhy = `embedded IPv4 address "${text.slice(gs, end)}": ${errWhy}`;
        return false;
      }
      wi += 2;
      break;
    }
    const n = p - gs;
    if (n === 0) {
      errWhy = unexpected(text, p);
      return false;
    }
    if (n > 4) {
      errWhy = `group "${text.slice(gs, p)}" has more than 4 hex digits`;
      return false;
    }
    if (wi === 8) {
      errWhy = 'more than 8 groups';
      return false;
    }
    out[wi * 2] = v >> 8;
    out[wi * 2 + 1] = v & 0xff;
    wi++;
    if (p === end) break;
    if (text.charCodeAt(p) !== 58) {
      errWhy = unexpected(text, p);
      return false;
    }
    p++;
    if (p === end) {
      errWhy = 'ends with a single ":"';
      return false;
    }
    if (text.charCodeAt(p) === 58) {
      if (gap >= 0) {
        errWhy = '"::" appears more than once';
        return false;
      }
      gap = wi;
      p++;
      if (p < end && text.charCodeAt(p) === 58) {
        errWhy = '":::" is not valid';
        return false;
      }
    }
  }
  if (gap < 0) {
    if (wi !== 8) {
      errWhy = `${wi} groups without "::" (need 8)`;
      return false;
    }
    return true;
  }
  if (wi === 8) {
    errWhy = '"::" must stand for at least one zero group, but 8 groups are already given';
    return false;
  }
  // Move the words after "::" to the end and zero the gap.
  const shift = (8 - wi) * 2;
  for (let i = wi * 2 - 1; i >= gap * 2; i--) out[i + shift] = out[i]!;
  out.fill(0, gap * 2, gap * 2 + shift);
  return true;
}

function validZoneChar(c: number): boolean {
  // Printable ASCII except the characters that delimit addresses, ports and prefixes.
  return c > 32 && c < 127 && c !== 37 /* % */ && c !== 47 /* / */ && c !== 58 /* : */ && c !== 91 /* [ */ && c !== 93; /* ] */
}

/**
 * Address (with optional zone) in text[start,end) → out. Returns the family, or 0 with
 * errWhy/errFam set. The family comes from the grammar: the first character after the leading run
 * of hex digits is "." for a dotted quad and ":" for IPv6.
 */
function scanHost(text: string, start: number, end: number, out: Uint8Array): 0 | 4 | 6 {
  zoneOut = undefined;
  let i = start;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c >= 128 || HEXVAL[c]! < 0) break;
    i++;
  }
  const stop = i < end ? text.charCodeAt(i) : -1;
  if (stop === 46) {
    errFam = 'IPv4';
    if (!scanV4(text, start, end, out, 12)) {
      const pct = text.indexOf('%', start);
      if (pct !== -1 && pct < end && !text.slice(start, pct).includes(':')) errWhy = 'zone IDs are only allowed on IPv6 addresses';
      return 0;
    }
    out.fill(0, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    return 4;
  }
  if (stop === 58) {
    errFam = 'IPv6';
    let addrEnd = end;
    const pct = text.indexOf('%', i);
    if (pct !== -1 && pct < end) {
      if (pct + 1 === end) {
        errWhy = 'empty zone ID after "%"';
        return 0;
      }
      for (let z = pct + 1; z < end; z++) {
        if (!validZoneChar(text.charCodeAt(z))) {
          errWhy = `zone ID: unexpected ${charDesc(text, z)}`;
          return 0;
        }
      }
      addrEnd = pct;
    }
    if (!scanV6(text, start, addrEnd, out)) return 0;
    if (addrEnd !== end) zoneOut = text.slice(addrEnd + 1, end);
    return 6;
  }
  errFam = 'IP';
  if (start === end) errWhy = 'empty';
  else if (stop === -1) errWhy = 'neither a dotted-quad IPv4 nor an IPv6 address';
  else errWhy = unexpected(text, i);
  return 0;
}

/** Decimal port text[start,end) → 0-65535, or -1 with errWhy set. */
function scanPort(text: string, start: number, end: number): number {
  if (start >= end) {
    errWhy = 'empty port after ":"';
    return -1;
  }
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      errWhy = `port "${text.slice(start, end)}": ${unexpected(text, i)}`;
      return -1;
    }
    v = v * 10 + (c - 48);
    if (v > 65535) {
      errWhy = `port "${text.slice(start, end)}" is greater than 65535`;
      return -1;
    }
  }
  return v;
}

function result(addr: Uint8Array, family: 4 | 6, zone: string | undefined, port: number): ParsedIP {
  const r: ParsedIP = { addr, family };
  if (zone !== undefined) r.zone = zone;
  if (port >= 0) r.port = port;
  return r;
}

// The message of the last parseCore failure.
let lastFam = 'IP';
let lastWhy = '';
function failWith(fam: string, why: string): null {
  lastFam = fam;
  lastWhy = why;
  return null;
}

function parseCore(text: string, mode: PortMode): ParsedIP | null {
  if (typeof text !== 'string') return failWith('IP', `expected a string, got ${typeof text}`);
  const len = text.length;
  if (len === 0) return failWith('IP', 'empty');
  const out = new Uint8Array(16);

  // [v6], [v6]:port
  if (text.charCodeAt(0) === 91) {
    const close = text.indexOf(']', 1);
    if (close === -1) return failWith('IPv6', 'missing "]"');
    const fam = scanHost(text, 1, close, out);
    if (fam === 0) return failWith(errFam, errWhy);
    if (fam === 4) return failWith('IPv4', 'brackets are only for IPv6 addresses');
    const zone = zoneOut;
    if (close === len - 1) {
      if (mode === 'required') return failWith('IPv6', 'a port is required ("[address]:port")');
      return result(out, 6, zone, -1);
    }
    if (text.charCodeAt(close + 1) !== 58) return failWith('IPv6', `${unexpected(text, close + 1)} after "]"`);
    if (mode === 'none') return failWith('IPv6', 'a port is not allowed here');
    const port = scanPort(text, close + 2, len);
    if (port < 0) return failWith('IPv6', errWhy);
    return result(out, 6, zone, port);
  }

  if (mode === 'none') {
    const fam = scanHost(text, 0, len, out);
    if (fam !== 0) return result(out, fam, zoneOut, -1);
    return failWith(errFam, errWhy);
  }

  if (mode === 'optional') {
    const fam = scanHost(text, 0, len, out);
    if (fam !== 0) return result(out, fam, zoneOut, -1);
    const fam0 = errFam;
    const why0 = errWhy;
    const lc = text.lastIndexOf(':');
    if (lc > 0) {
      out.fill(0);
      const fam2 = scanHost(text, 0, lc, out);
      if (fam2 !== 0) {
        const zone = zoneOut;
        const port = scanPort(text, lc + 1, len);
        if (port < 0) return failWith(fam2 === 4 ? 'IPv4' : 'IPv6', errWhy);
        return result(out, fam2, zone, port);
      }
    }
    return failWith(fam0, why0);
  }

  // required: split at the last colon.
  const lc = text.lastIndexOf(':');
  if (lc === -1) {
    const fam = scanHost(text, 0, len, out);
    if (fam === 0) return failWith(errFam, errWhy);
    return failWith(fam === 4 ? 'IPv4' : 'IPv6', 'a port is required ("address:port")');
  }
  const fam = scanHost(text, 0, lc, out);
  if (fam === 0) {
    const fam0 = errFam;
    const why0 = errWhy;
    out.fill(0);
    const whole = scanHost(text, 0, len, out);
    if (whole !== 0) return failWith(whole === 4 ? 'IPv4' : 'IPv6', 'a port is required ("address:port")');
    return failWith(fam0, why0);
  }
  const zone = zoneOut;
  const port = scanPort(text, lc + 1, len);
  if (port < 0) return failWith(fam === 4 ? 'IPv4' : 'IPv6', errWhy);
  return result(out, fam, zone, port);
}

// ---------------------------------------------------------------------------------------------
// Public parsing API

/**
 * Parse any textual IP address form. IPv6 text is family 6 even when it is IPv4-mapped
 * (::ffff:1.2.3.4): what to do with mapped addresses is the caller's deliberate choice.
 * Nothing is trimmed: whitespace is an error.
 */
export function parseIP(text: string, opts?: ParseOptions): ParsedIP {
  const mode = opts?.port ?? 'none';
  const r = parseCore(text, mode);
  if (r === null) {
    const fam = lastFam;
    let why = lastWhy;
    // Explain a port that is not wanted (only here, so tryParseIP stays cheap).
    if (mode === 'none' && parseCore(text, 'required') !== null) why += ' (looks like "address:port"; a port is not allowed here)';
    throw makeError(String(text), fam, why);
  }
  return r;
}

/** parseIP, or null instead of an AddressError (cheap: no Error is created on failure). */
export function tryParseIP(text: string, opts?: ParseOptions): ParsedIP | null {
  return parseCore(text, opts?.port ?? 'none');
}

// ---------------------------------------------------------------------------------------------
// IPv4-mapped helpers

export function isIPv4Mapped(a: Uint8Array): boolean {
  return (
    a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0 && a[4] === 0 && a[5] === 0 &&
    a[6] === 0 && a[7] === 0 && a[8] === 0 && a[9] === 0 && a[10] === 0xff && a[11] === 0xff
  );
}

/** ::ffff:a.b.c.d for an unsigned 32-bit IPv4 address (signed int32 values are accepted too). */
export function ipv4ToMapped(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) throw new AddressError(`invalid IPv4 address ${v}: not a 32-bit integer`);
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = (v >>> 24) & 0xff;
  a[13] = (v >>> 16) & 0xff;
  a[14] = (v >>> 8) & 0xff;
  a[15] = v & 0xff;
  return a;
}

/** The unsigned 32-bit IPv4 address of an IPv4-mapped address, or null. */
export function mappedToIPv4(a: Uint8Array): number | null {
  if (!isIPv4Mapped(a)) return null;
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

/** Write ::ffff: and the 4 IPv4 bytes src[srcOff..srcOff+4] into dst[off..off+16]. */
export function writeIPv4Mapped(dst: Uint8Array, off: number, src: Uint8Array, srcOff: number): void {
  dst[off] = 0;
  dst[off + 1] = 0;
  dst[off + 2] = 0;
  dst[off + 3] = 0;
  dst[off + 4] = 0;
  dst[off + 5] = 0;
  dst[off + 6] = 0;
  dst[off + 7] = 0;
  dst[off + 8] = 0;
  dst[off + 9] = 0;
  dst[off + 10] = 0xff;
  dst[off + 11] = 0xff;
  dst[off + 12] = src[srcOff]!;
  dst[off + 13] = src[srcOff + 1]!;
  dst[off + 14] = src[srcOff + 2]!;
  dst[off + 15] = src[srcOff + 3]!;
}

// ---------------------------------------------------------------------------------------------
// Formatting

/**
 * RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups
 * compressed to "::" (the first on ties), a single zero group never compressed.
 * IPv4-mapped addresses are `::ffff:a.b.c.d` for family 6 (or undefined) and plain `a.b.c.d` for
 * family 4; family 4 with bytes that are not IPv4-mapped is an error.
 */
/**
 * The 16 bytes at `o` of `a` (a row of a columnar address column) as a 16-byte array, for the
 * functions that take one: `a` itself when it is exactly those bytes, else a copy in `out`.
 */
export function addrAt(a: Uint8Array, o: number, out: Uint8Array): Uint8Array {
  if (o === 0 && a.length === 16) return a;
  for (let i = 0; i < 16; i++) out[i] = a[o + i]!;
  return out;
}

export function formatIP(a: Uint8Array, family?: 4 | 6): string {
  if (a.length !== 16) throw new AddressError(`invalid address bytes: expected 16 bytes, got ${a.length}`);
  const mapped = isIPv4Mapped(a);
  if (family === 4) {
    if (!mapped) throw new AddressError(`cannot format ${formatIP(a, 6)} as IPv4: not an IPv4-mapped address (::ffff:0:0/96)`);
    return DEC[a[12]!]! + '.' + DEC[a[13]!]! + '.' + DEC[a[14]!]! + '.' + DEC[a[15]!]!;
  }
  if (mapped) return '::ffff:' + DEC[a[12]!]! + '.' + DEC[a[13]!]! + '.' + DEC[a[14]!]! + '.' + DEC[a[15]!]!;
  // Longest run of two or more zero groups, first on ties.
  let bestStart = -1;
  let bestLen = 1;
  let curStart = -1;
  for (let i = 0; i < 8; i++) {
    if (a[i * 2] === 0 && a[i * 2 + 1] === 0) {
      if (curStart === -1) curStart = i;
      if (i - curStart + 1 > bestLen) {
        bestLen = i - curStart + 1;
        bestStart = curStart;
      }
    } else curStart = -1;
  }
  const gapEnd = bestStart === -1 ? -1 : bestStart + bestLen;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i = gapEnd - 1;
      continue;
    }
    if (i !== 0 && i !== gapEnd) s += ':';
    const hi = a[i * 2]!;
    const lo = a[i * 2 + 1]!;
    s += hi === 0 ? HEX1[lo]! : HEX1[hi]! + HEX2[lo]!;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Comparison and integers

/** Bytewise (numeric, big-endian) order: negative, 0 or positive. */
export function compareAddr(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export function addrEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

const SCRATCH = new DataView(new ArrayBuffer(16));
const SCRATCH8 = new Uint8Array(SCRATCH.buffer);
const MAPPED_BASE = 0xffffn << 32n;
const MAX128 = (1n << 128n) - 1n;
const MASK64 = (1n << 64n) - 1n;

/** The 16 bytes as an unsigned 128-bit big-endian integer. */
export function addrToBigInt(a: Uint8Array): bigint {
  if (a.length !== 16) throw new AddressError(`invalid address bytes: expected 16 bytes, got ${a.length}`);
  if (isIPv4Mapped(a)) return MAPPED_BASE | BigInt(((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0);
  SCRATCH8.set(a);
  const hi = SCRATCH.getBigUint64(0);
  const lo = SCRATCH.getBigUint64(8);
  return hi === 0n ? lo : (hi << 64n) | lo;
}

/** Inverse of addrToBigInt; v must be in 0 … 2^128-1. */
export function bigIntToAddr(v: bigint): Uint8Array {
  if (typeof v !== 'bigint' || v < 0n || v > MAX128) throw new AddressError(`invalid address integer ${String(v)}: not in 0 … 2^128-1`);
  const a = new Uint8Array(16);
  const dv = new DataView(a.buffer);
  dv.setBigUint64(0, v >> 64n);
  dv.setBigUint64(8, v & MASK64);
  return a;
}
