/** Shared helpers for the importers: result collection, line handling, DUIDs. */
import { tryParseIP, type ParsedIP } from '../../../net/ip.js';
import { parseMac } from '../../../net/mac.js';
import { HEXVAL } from '../../../net/internal.js';
import type { ImportResult, NeighborFact } from './types.js';

const TWO32 = 0x1_0000_0000;

/** Collects facts, errors and skips for one import. */
export class Collector {
  readonly facts: NeighborFact[] = [];
  readonly errors: ImportResult['errors'] = [];
  skipped = 0;
  readonly skipReasons: Record<string, number> = {};

  error(line: number, message: string, text: string): void {
    this.errors.push({ line, message, text: text.length > 200 ? `${text.slice(0, 200)}…` : text });
  }

  skip(reason: string, n = 1): void {
    this.skipped += n;
    this.skipReasons[reason] = (this.skipReasons[reason] ?? 0) + n;
  }

  /**
   * Adds a fact unless it says nothing about a device: a multicast address, or a MAC that is all
   * zero (loopback entries) or a group address (multicast/broadcast mappings). Returns whether it
   * was added.
   */
  fact(f: NeighborFact): boolean {
    const reason = unusable(f);
    if (reason !== null) {
      this.skip(reason);
      return false;
    }
    this.facts.push(f);
    return true;
  }

  result(format: string): ImportResult {
    return { facts: this.facts, errors: this.errors, format, skipped: this.skipped, skipReasons: this.skipReasons };
  }
}

/** Why a fact carries no device identity, or null when it does. */
export function unusable(f: NeighborFact): string | null {
  const a = f.addr;
  if (f.family === 6 ? a[0] === 0xff : a[12]! >= 224 && a[12]! <= 239) return 'multicast address';
  if (f.mac === 0) return 'all-zero MAC';
  if (Math.floor(f.mac / TWO32) & 0x0100) return 'group (multicast/broadcast) MAC';
  return null;
}

/** Lines of a text (LF, CRLF or CR), without a leading BOM. */
export function splitLines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  // A lone CR as line separator (old Mac files) is rare; treat it as whitespace within a line.
  return lines;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/** Whitespace-separated tokens. */
export function tokens(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && isSpace(line.charCodeAt(i))) i++;
    if (i >= n) break;
    const s = i;
    while (i < n && !isSpace(line.charCodeAt(i))) i++;
    out.push(line.slice(s, i));
  }
  return out;
}

export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isSpace(line.charCodeAt(i))) return false;
  return true;
}

/** Non-negative decimal integer, or NaN (no sign, no exponent, no blanks). */
export function parseUint(s: string): number {
  if (s.length === 0 || s.length > 15) return NaN;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Hex integer (no prefix), or NaN. */
export function parseHexUint(s: string): number {
  if (s.length === 0 || s.length > 12) return NaN;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const h = c < 128 ? HEXVAL[c]! : -1;
    if (h < 0) return NaN;
    v = v * 16 + h;
  }
  return v;
}

/** An address without port; IPv6 may carry a zone (dropped by the callers). */
export function ipOf(s: string): ParsedIP | null {
  return tryParseIP(s);
}

/** A 48-bit MAC or null. */
export function macOf(s: string): number | null {
  if (s.length !== 17 && s.length !== 14) return null;
  try {
    return parseMac(s);
  } catch {
    return null;
  }
}

/**
 * Bytes of colon-separated hex ("00:01:0a") or a plain even-length hex string ("00010a"); each
 * colon group may be one or two digits. Null when it is neither.
 */
export function hexBytes(s: string): Uint8Array | null {
  if (s.length === 0) return null;
  if (s.includes(':') || s.includes('-')) {
    const sep = s.includes(':') ? ':' : '-';
    const parts = s.split(sep);
    const out = new Uint8Array(parts.length);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.length < 1 || p.length > 2) return null;
      const v = parseHexUint(p);
      if (Number.isNaN(v)) return null;
      out[i] = v;
    }
    return out;
  }
  if (s.length % 2 !== 0) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const v = parseHexUint(s.slice(i * 2, i * 2 + 2));
    if (Number.isNaN(v)) return null;
    out[i] = v;
  }
  return out;
}

function mac6(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * TWO32 + (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/**
 * The MAC inside a DHCPv6 DUID (RFC 8415 §11): DUID-LLT (type 1) or DUID-LL (type 3) with
 * hardware type 1 (Ethernet) and a 6-byte link-layer address. Otherwise `{ reason }`.
 */
export function macFromDuid(duid: Uint8Array): { mac: number } | { reason: string } {
  if (duid.length < 4) return { reason: 'DUID too short' };
  const type = (duid[0]! << 8) | duid[1]!;
  const hw = (duid[2]! << 8) | duid[3]!;
  if (type === 1) {
    if (hw !== 1) return { reason: 'DUID-LLT with a non-Ethernet hardware type' };
    if (duid.length !== 14) return { reason: 'DUID-LLT without a 6-byte link-layer address' };
    return { mac: mac6(duid, 8) };
  }
  if (type === 3) {
    if (hw !== 1) return { reason: 'DUID-LL with a non-Ethernet hardware type' };
    if (duid.length !== 10) return { reason: 'DUID-LL without a 6-byte link-layer address' };
    return { mac: mac6(duid, 4) };
  }
  if (type === 2) return { reason: 'DUID-EN carries no MAC' };
  if (type === 4) return { reason: 'DUID-UUID carries no MAC' };
  return { reason: `DUID of unknown type ${type}` };
}

/** Epoch seconds → epoch ms. */
export function secToMs(s: number): number {
  return s * 1000;
}
