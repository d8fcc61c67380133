/**
 * Special-purpose address classes (the RFC 6890 registries, as listed in REFERENCE.md) plus
 * global unicast. `classify` is hand-coded byte tests for speed; `SPECIAL_PREFIXES` is the same
 * table as data (for docs), and the tests check that both agree.
 */
import { AddressError, formatIP, isIPv4Mapped } from './ip.js';

export type AddressClass =
  // IPv6
  | 'unspecified'
  | 'ipv4-mapped'
  | 'nat64'
  | 'nat64-local'
  | 'discard'
  | 'teredo'
  | '6to4'
  | 'ula'
  // IPv4
  | 'this-network'
  | 'private'
  | 'shared'
  | 'benchmarking'
  | 'broadcast'
  // both
  | 'loopback'
  | 'link-local'
  | 'documentation'
  | 'multicast'
  | 'global-unicast'
  | 'reserved';

export interface SpecialPrefix {
  /** Prefix text (IPv4 prefixes in dotted form). */
  prefix: string;
  family: 4 | 6;
  cls: AddressClass;
  /** Defining document. */
  rfc: string;
  /** Registry name. */
  name: string;
}

/**
 * The special-purpose table, IPv6 then IPv4. Where prefixes nest, the most specific one wins
 * (e.g. 255.255.255.255/32 inside 240.0.0.0/4; 2001:db8::/32 and 2001::/32 inside 2000::/3).
 * Addresses matching no entry are 'reserved' (IPv6 outside 2000::/3) or 'global-unicast' (IPv4).
 */
export const SPECIAL_PREFIXES: readonly SpecialPrefix[] = [
  { prefix: '::/128', family: 6, cls: 'unspecified', rfc: 'RFC 4291', name: 'Unspecified Address' },
  { prefix: '::1/128', family: 6, cls: 'loopback', rfc: 'RFC 4291', name: 'Loopback Address' },
  { prefix: '::ffff:0:0/96', family: 6, cls: 'ipv4-mapped', rfc: 'RFC 4291', name: 'IPv4-mapped Address' },
  { prefix: '64:ff9b::/96', family: 6, cls: 'nat64', rfc: 'RFC 6052', name: 'IPv4-IPv6 Translation (well-known prefix)' },
  { prefix: '64:ff9b:1::/48', family: 6, cls: 'nat64-local', rfc: 'RFC 8215', name: 'IPv4-IPv6 Translation (local-use)' },
  { prefix: '100::/64', family: 6, cls: 'discard', rfc: 'RFC 6666', name: 'Discard-Only Address Block' },
  { prefix: '2001::/32', family: 6, cls: 'teredo', rfc: 'RFC 4380', name: 'TEREDO' },
  { prefix: '2001:db8::/32', family: 6, cls: 'documentation', rfc: 'RFC 3849', name: 'Documentation' },
  { prefix: '2002::/16', family: 6, cls: '6to4', rfc: 'RFC 3056', name: '6to4' },
  { prefix: '3fff::/20', family: 6, cls: 'documentation', rfc: 'RFC 9637', name: 'Documentation' },
  { prefix: 'fc00::/7', family: 6, cls: 'ula', rfc: 'RFC 4193', name: 'Unique-Local' },
  { prefix: 'fe80::/10', family: 6, cls: 'link-local', rfc: 'RFC 4291', name: 'Link-Local Unicast' },
  { prefix: 'ff00::/8', family: 6, cls: 'multicast', rfc: 'RFC 4291', name: 'Multicast' },
  { prefix: '2000::/3', family: 6, cls: 'global-unicast', rfc: 'RFC 4291', name: 'Global Unicast' },
  { prefix: '0.0.0.0/8', family: 4, cls: 'this-network', rfc: 'RFC 791', name: '"This network"' },
  { prefix: '10.0.0.0/8', family: 4, cls: 'private', rfc: 'RFC 1918', name: 'Private-Use' },
  { prefix: '100.64.0.0/10', family: 4, cls: 'shared', rfc: 'RFC 6598', name: 'Shared Address Space (CGNAT)' },
  { prefix: '127.0.0.0/8', family: 4, cls: 'loopback', rfc: 'RFC 1122', name: 'Loopback' },
  { prefix: '169.254.0.0/16', family: 4, cls: 'link-local', rfc: 'RFC 3927', name: 'Link Local' },
  { prefix: '172.16.0.0/12', family: 4, cls: 'private', rfc: 'RFC 1918', name: 'Private-Use' },
  { prefix: '192.0.2.0/24', family: 4, cls: 'documentation', rfc: 'RFC 5737', name: 'Documentation (TEST-NET-1)' },
  { prefix: '192.168.0.0/16', family: 4, cls: 'private', rfc: 'RFC 1918', name: 'Private-Use' },
  { prefix: '198.18.0.0/15', family: 4, cls: 'benchmarking', rfc: 'RFC 2544', name: 'Benchmarking' },
  { prefix: '198.51.100.0/24', family: 4, cls: 'documentation', rfc: 'RFC 5737', name: 'Documentation (TEST-NET-2)' },
  { prefix: '203.0.113.0/24', family: 4, cls: 'documentation', rfc: 'RFC 5737', name: 'Documentation (TEST-NET-3)' },
  { prefix: '224.0.0.0/4', family: 4, cls: 'multicast', rfc: 'RFC 5771', name: 'Multicast' },
  { prefix: '240.0.0.0/4', family: 4, cls: 'reserved', rfc: 'RFC 1112', name: 'Reserved' },
  { prefix: '255.255.255.255/32', family: 4, cls: 'broadcast', rfc: 'RFC 919', name: 'Limited Broadcast' },
];

function classifyV4(a: number, b: number, c: number, d: number): AddressClass {
  switch (a) {
    case 0:
      return 'this-network';
    case 10:
      return 'private';
    case 100:
      return (b & 0xc0) === 64 ? 'shared' : 'global-unicast';
    case 127:
      return 'loopback';
    case 169:
      return b === 254 ? 'link-local' : 'global-unicast';
    case 172:
      return (b & 0xf0) === 16 ? 'private' : 'global-unicast';
    case 192:
      if (b === 168) return 'private';
      return b === 0 && c === 2 ? 'documentation' : 'global-unicast';
    case 198:
      if ((b & 0xfe) === 18) return 'benchmarking';
      return b === 51 && c === 100 ? 'documentation' : 'global-unicast';
    case 203:
      return b === 0 && c === 113 ? 'documentation' : 'global-unicast';
    case 255:
      if (b === 255 && c === 255 && d === 255) return 'broadcast';
      return 'reserved';
    default:
      if (a >= 240) return 'reserved';
      if (a >= 224) return 'multicast';
      return 'global-unicast';
  }
}

function zeroFrom(x: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (x[i] !== 0) return false;
  return true;
}

function classifyV6(x: Uint8Array): AddressClass {
  const b0 = x[0]!;
  if ((b0 & 0xe0) === 0x20) {
    // 2000::/3
    const w0 = (b0 << 8) | x[1]!;
    if (w0 === 0x2001) {
      const w1 = (x[2]! << 8) | x[3]!;
      if (w1 === 0) return 'teredo';
      if (w1 === 0x0db8) return 'documentation';
      return 'global-unicast';
    }
    if (w0 === 0x2002) return '6to4';
    if (w0 === 0x3fff && (x[2]! & 0xf0) === 0) return 'documentation';
    return 'global-unicast';
  }
  if (b0 === 0) {
    const b1 = x[1]!;
    if (b1 === 0) {
      if (zeroFrom(x, 2, 10)) {
        if (x[10] === 0xff && x[11] === 0xff) return 'ipv4-mapped';
        if (x[10] === 0 && x[11] === 0 && x[12] === 0 && x[13] === 0 && x[14] === 0) {
          if (x[15] === 0) return 'unspecified';
          if (x[15] === 1) return 'loopback';
        }
      }
      return 'reserved';
    }
    if (b1 === 0x64 && x[2] === 0xff && x[3] === 0x9b) {
      if (zeroFrom(x, 4, 12)) return 'nat64';
      if (x[4] === 0 && x[5] === 1) return 'nat64-local';
    }
    return 'reserved';
  }
  if (b0 === 0x01 && x[1] === 0 && zeroFrom(x, 2, 8)) return 'discard';
  if ((b0 & 0xfe) === 0xfc) return 'ula';
  if (b0 === 0xfe && (x[1]! & 0xc0) === 0x80) return 'link-local';
  if (b0 === 0xff) return 'multicast';
  return 'reserved';
}

/**
 * The class of an address, most specific match first. Family 4 classifies the IPv4 part of an
 * IPv4-mapped address (bytes that are not IPv4-mapped are an error); family 6 classifies all 16
 * bytes, so ::ffff:192.0.2.1 as IPv6 is 'ipv4-mapped'.
 */
export function classify(addr: Uint8Array, family: 4 | 6): AddressClass {
  if (family === 4) {
    if (!isIPv4Mapped(addr)) throw new AddressError(`cannot classify ${formatIP(addr, 6)} as IPv4: not an IPv4-mapped address`);
    return classifyV4(addr[12]!, addr[13]!, addr[14]!, addr[15]!);
  }
  return classifyV6(addr);
}

/** Private, shared (CGNAT), loopback, link-local, ULA and unspecified addresses. */
export function isLocalScope(addr: Uint8Array, family: 4 | 6): boolean {
  switch (classify(addr, family)) {
    case 'private':
    case 'shared':
    case 'loopback':
    case 'link-local':
    case 'ula':
    case 'unspecified':
      return true;
    default:
      return false;
  }
}
