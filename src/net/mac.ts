/** MAC addresses (48-bit integers) and EUI-64 interface identifiers. */
import { AddressError } from './ip.js';

const HEXSTR = '0123456789abcdef';

export function formatMac(mac: number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const b = Math.floor(mac / 2 ** (8 * i)) & 0xff;
    s += HEXSTR[b >> 4]! + HEXSTR[b & 15]!;
    if (i) s += ':';
  }
  return s;
}

/** aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff (Cisco) or aabbccddeeff; any case. */
export function parseMac(text: string): number {
  const t = text.trim().toLowerCase();
  let hex: string | null = null;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(t)) hex = t.replace(/[:-]/g, '');
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(t)) hex = t.replace(/\./g, '');
  else if (/^[0-9a-f]{12}$/.test(t)) hex = t;
  if (hex === null) throw new AddressError(`invalid MAC address "${text}": expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff`);
  return parseInt(hex, 16);
}

export function macFromBytes(b: Uint8Array, off: number): number {
  return (b[off]! * 2 ** 40) + (b[off + 1]! * 2 ** 32) + ((b[off + 2]! << 24) >>> 0) + (b[off + 3]! << 16) + (b[off + 4]! << 8) + b[off + 5]!;
}

/** True when the IPv6 interface identifier is a modified EUI-64 (ff:fe in the middle). */
export function isEui64(addr: Uint8Array): boolean {
  return addr[11] === 0xff && addr[12] === 0xfe;
}

/** The MAC embedded in a modified EUI-64 interface identifier (U/L bit flipped back), or null. */
export function macFromEui64(addr: Uint8Array): number | null {
  if (!isEui64(addr)) return null;
  const b = new Uint8Array([addr[8]! ^ 0x02, addr[9]!, addr[10]!, addr[13]!, addr[14]!, addr[15]!]);
  return macFromBytes(b, 0);
}

/** The 8-byte modified EUI-64 interface identifier for a MAC. */
export function eui64InterfaceId(mac: number): Uint8Array {
  const m = new Uint8Array(6);
  for (let i = 0; i < 6; i++) m[i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 0xff;
  return new Uint8Array([m[0]! ^ 0x02, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!]);
}
