/**
 * IP address parsing and formatting: every RFC 4291 §2.2 text form, zone IDs, ports (bracketed and,
 * when the caller says a port is present, unbracketed v6:port split at the last colon), and RFC 5952
 * canonical output. Addresses are 16 bytes; IPv4 is represented IPv4-mapped (::ffff:a.b.c.d).
 */

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export interface ParsedIP {
  /** 16 bytes; IPv4 as ::ffff:a.b.c.d */
  addr: Uint8Array;
  family: 4 | 6;
  zone?: string;
  port?: number;
}

export interface ParseOptions {
  /** none (default): no port allowed; optional; required. */
  port?: 'none' | 'optional' | 'required';
}

const HEX: number[] = new Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

function fail(text: string, why: string): never {
  throw new AddressError(`invalid IP address "${text}": ${why}`);
}

/** Parse a dotted quad into dst[off..off+4]; returns null with a reason on failure. */
function parseV4Into(s: string, dst: Uint8Array, off: number): string | null {
  let part = 0;
  let val = 0;
  let digits = 0;
  let leadingZero = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0) return 'empty IPv4 part';
      if (part > 3) return 'more than 4 IPv4 parts';
      if (leadingZero && digits > 1) return `IPv4 part "${s.slice(i - digits, i)}" has a leading zero (ambiguous: octal or decimal)`;
      dst[off + part] = val;
      part++;
      val = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return `unexpected character "${s[i]}" in IPv4 address`;
    if (digits === 0) leadingZero = c === 48;
    val = val * 10 + (c - 48);
    digits++;
    if (val > 255) return `IPv4 part "${s.slice(i - digits + 1).split('.')[0]}" is greater than 255`;
  }
  if (part !== 4) return `${part} IPv4 parts instead of 4`;
  return null;
}

/** Parse IPv6 text (no zone, no brackets) into a new 16-byte array, or throw. */
function parseV6(s: string, original: string): Uint8Array {
  const out = new Uint8Array(16);
  if (s.length === 0) fail(original, 'empty address');
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) fail(original, '"::" appears more than once');
  const parseGroups = (part: string, allowV4Tail: boolean): number[] => {
    if (part === '') return [];
    const groups = part.split(':');
    const words: number[] = [];
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi]!;
      if (g.length === 0) fail(original, 'empty group (a single ":" at the start or end, or ":::")');
      if (allowV4Tail && gi === groups.length - 1 && g.includes('.')) {
        const b = new Uint8Array(4);
        const why = parseV4Into(g, b, 0);
        if (why) fail(original, why);
        words.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
        continue;
      }
      if (g.length > 4) fail(original, `group "${g}" has more than 4 hex digits`);
      let v = 0;
      for (let i = 0; i < g.length; i++) {
        const c = g.charCodeAt(i);
        const h = c < 128 ? HEX[c]! : -1;
        if (h < 0) fail(original, `unexpected character "${g[i]}"`);
        v = (v << 4) | h;
      }
      words.push(v);
    }
    return words;
  };
  let words: number[];
  if (dbl === -1) {
    words = parseGroups(s, true);
    if (words.length !== 8) fail(original, `${words.length} groups without "::" (need 8)`);
  } else {
    const head = parseGroups(s.slice(0, dbl), false);
    const tail = parseGroups(s.slice(dbl + 2), true);
    if (head.length + tail.length > 7) fail(original, 'too many groups for "::" to stand for at least one');
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  return out;
}

function parsePort(text: string, p: string): number {
  if (p.length === 0 || p.length > 5) fail(text, `invalid port "${p}"`);
  let v = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c < 48 || c > 57) fail(text, `invalid port "${p}"`);
    v = v * 10 + (c - 48);
  }
  if (v > 65535) fail(text, `port ${v} is greater than 65535`);
  return v;
}

function isDottedQuadShape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return s.length > 0;
}

function parseBare(text: string, s: string): ParsedIP {
  // Zone ID (IPv6 only).
  let zone: string | undefined;
  const pct = s.indexOf('%');
  if (pct !== -1) {
    zone = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (zone.length === 0) fail(text, 'empty zone ID after "%"');
  }
  if (s.indexOf(':') === -1) {
    if (zone !== undefined) fail(text, 'zone IDs are only allowed on IPv6 addresses');
    if (!isDottedQuadShape(s)) fail(text, s.length === 0 ? 'empty address' : 'neither a dotted-quad IPv4 nor an IPv6 address');
    const addr = new Uint8Array(16);
    addr[10] = 0xff;
    addr[11] = 0xff;
    const why = parseV4Into(s, addr, 12);
    if (why) fail(text, why);
    return { addr, family: 4 };
  }
  const addr = parseV6(s, text);
  return zone !== undefined ? { addr, family: 6, zone } : { addr, family: 6 };
}

/**
 * Parse any textual IP address form. IPv6 text is family 6 even when it is IPv4-mapped
 * (::ffff:1.2.3.4): what to do with mapped addresses is the caller's deliberate choice.
 */
export function parseIP(text: string, opts: ParseOptions = {}): ParsedIP {
  const portMode = opts.port ?? 'none';
  if (typeof text !== 'string' || text.length === 0) fail(String(text), 'empty address');
  if (text.length > 100) fail(text.slice(0, 60) + '...', 'too long');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c >= 127) fail(text, 'contains whitespace or a non-ASCII character');
  }
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf(']');
    if (close === -1) fail(text, 'missing "]"');
    const inner = text.slice(1, close);
    if (inner.indexOf(':') === -1) fail(text, 'brackets are only for IPv6 addresses');
    const r = parseBare(text, inner);
    const rest = text.slice(close + 1);
    if (rest.length === 0) {
      if (portMode === 'required') fail(text, 'a port is required ("[addr]:port")');
      return r;
    }
    if (rest.charCodeAt(0) !== 58) fail(text, `unexpected "${rest}" after "]"`);
    if (portMode === 'none') fail(text, 'a port is not allowed here');
    r.port = parsePort(text, rest.slice(1));
    return r;
  }
  const lastColon = text.lastIndexOf(':');
  const firstColon = text.indexOf(':');
  if (lastColon === -1 || firstColon === lastColon) {
    // No colon, or exactly one: IPv4, or IPv4:port.
    if (firstColon !== -1) {
      if (portMode === 'none') fail(text, 'a port is not allowed here (or not an IPv6 address: only one ":")');
      const r = parseBare(text, text.slice(0, lastColon));
      if (r.family !== 4) fail(text, 'an IPv6 address with a port must be written [addr]:port');
      r.port = parsePort(text, text.slice(lastColon + 1));
      return r;
    }
    const r = parseBare(text, text);
    if (portMode === 'required') fail(text, 'a port is required ("addr:port")');
    return r;
  }
  // Two or more colons: IPv6, possibly with an unbracketed port.
  if (portMode === 'required') {
    const r = parseBare(text, text.slice(0, lastColon));
    if (r.family !== 6) fail(text, 'not an IPv6 address before the port');
    r.port = parsePort(text, text.slice(lastColon + 1));
    return r;
  }
  if (portMode === 'optional') {
    try {
      return parseBare(text, text);
    } catch (e) {
      const r = parseBare(text, text.slice(0, lastColon));
      r.port = parsePort(text, text.slice(lastColon + 1));
      void e;
      return r;
    }
  }
  return parseBare(text, text);
}

export function tryParseIP(text: string, opts?: ParseOptions): ParsedIP | null {
  try {
    return parseIP(text, opts);
  } catch {
    return null;
  }
}

export function isIPv4Mapped(a: Uint8Array): boolean {
  return (
    a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0 && a[4] === 0 && a[5] === 0 &&
    a[6] === 0 && a[7] === 0 && a[8] === 0 && a[9] === 0 && a[10] === 0xff && a[11] === 0xff
  );
}

const HEXSTR = '0123456789abcdef';
function hexWord(v: number): string {
  if (v < 0x10) return HEXSTR[v]!;
  if (v < 0x100) return HEXSTR[v >> 4]! + HEXSTR[v & 15]!;
  if (v < 0x1000) return HEXSTR[v >> 8]! + HEXSTR[(v >> 4) & 15]! + HEXSTR[v & 15]!;
  return HEXSTR[v >> 12]! + HEXSTR[(v >> 8) & 15]! + HEXSTR[(v >> 4) & 15]! + HEXSTR[v & 15]!;
}

/**
 * RFC 5952 text. IPv4-mapped addresses are `::ffff:a.b.c.d` for family 6 (or undefined) and plain
 * `a.b.c.d` for family 4; family 4 with bytes that are not IPv4-mapped is an error.
 */
export function formatIP(a: Uint8Array, family?: 4 | 6): string {
  if (a.length !== 16) throw new AddressError(`address must be 16 bytes, got ${a.length}`);
  const mapped = isIPv4Mapped(a);
  if (family === 4) {
    if (!mapped) throw new AddressError(`not an IPv4-mapped address: ${formatIP(a, 6)}`);
    return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  }
  if (mapped) return `::ffff:${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  // Longest run of two or more zero words (first on ties).
  let bestStart = -1;
  let bestLen = 1;
  let curStart = -1;
  for (let i = 0; i < 8; i++) {
    const w = (a[i * 2]! << 8) | a[i * 2 + 1]!;
    if (w === 0) {
      if (curStart === -1) curStart = i;
      const len = i - curStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = curStart;
      }
    } else curStart = -1;
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += hexWord((a[i * 2]! << 8) | a[i * 2 + 1]!);
    if (i < 7) s += ':';
  }
  return s;
}

export function ipv4ToMapped(v: number): Uint8Array {
  const a = new Uint8Array(16);
  a[10] = 0xff;
  a[11] = 0xff;
  a[12] = (v >>> 24) & 0xff;
  a[13] = (v >>> 16) & 0xff;
  a[14] = (v >>> 8) & 0xff;
  a[15] = v & 0xff;
  return a;
}

export function mappedToIPv4(a: Uint8Array): number | null {
  if (!isIPv4Mapped(a)) return null;
  return ((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0;
}

/** Write ::ffff: and the 4 IPv4 bytes src[srcOff..+4] into dst[off..off+16]. */
export function writeIPv4Mapped(dst: Uint8Array, off: number, src: Uint8Array, srcOff: number): void {
  dst.fill(0, off, off + 10);
  dst[off + 10] = 0xff;
  dst[off + 11] = 0xff;
  dst[off + 12] = src[srcOff]!;
  dst[off + 13] = src[srcOff + 1]!;
  dst[off + 14] = src[srcOff + 2]!;
  dst[off + 15] = src[srcOff + 3]!;
}

export function compareAddr(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 16; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export function addrEquals(a: Uint8Array, b: Uint8Array): boolean {
  return compareAddr(a, b) === 0;
}

const SCRATCH = new DataView(new ArrayBuffer(16));
const SCRATCH8 = new Uint8Array(SCRATCH.buffer);
const MAPPED_BASE = 0xffffn << 32n;

/** The 16 bytes as an unsigned 128-bit big-endian integer (hot path of the stores: no allocation but the result). */
export function addrToBigInt(a: Uint8Array): bigint {
  if (isIPv4Mapped(a)) return MAPPED_BASE | BigInt(((a[12]! << 24) | (a[13]! << 16) | (a[14]! << 8) | a[15]!) >>> 0);
  SCRATCH8.set(a.length === 16 ? a : a.subarray(0, 16));
  const hi = SCRATCH.getBigUint64(0);
  const lo = SCRATCH.getBigUint64(8);
  return hi === 0n && lo === 0n ? 0n : (hi << 64n) | lo;
}

export function bigIntToAddr(v: bigint): Uint8Array {
  const a = new Uint8Array(16);
  const dv = new DataView(a.buffer);
  dv.setBigUint64(0, (v >> 64n) & 0xffffffffffffffffn);
  dv.setBigUint64(8, v & 0xffffffffffffffffn);
  return a;
}
