/** MAC addresses (48-bit integers) and modified EUI-64 interface identifiers (RFC 4291 appendix A). */
import { AddressError } from './ip.js';
import { HEX2, HEXVAL, quoteInput } from './internal.js';

const TWO32 = 0x1_0000_0000;
const MAX_MAC = 0xffff_ffff_ffff;

/** "aa:bb:cc:dd:ee:ff" for a 48-bit integer. */
export function formatMac(mac: number): string {
  if (!Number.isInteger(mac) || mac < 0 || mac > MAX_MAC) throw new AddressError(`invalid MAC address ${mac}: not a 48-bit integer`);
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  return (
    HEX2[hi >> 8]! + ':' + HEX2[hi & 0xff]! + ':' + HEX2[lo >>> 24]! + ':' + HEX2[(lo >>> 16) & 0xff]! + ':' +
    HEX2[(lo >>> 8) & 0xff]! + ':' + HEX2[lo & 0xff]!
  );
}

function hexAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? HEXVAL[c]! : -1;
}

function macError(text: string, why: string): AddressError {
  return new AddressError(`invalid MAC address ${quoteInput(text)}: ${why}`, text, why);
}

const FORMS = 'expected aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabb.ccdd.eeff';

/**
 * aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff (one separator throughout) or aabb.ccdd.eeff (Cisco), any
 * case, two hex digits per byte. Nothing is trimmed.
 */
export function parseMac(text: string): number {
  if (typeof text !== 'string') throw new AddressError(`invalid MAC address: expected a string, got ${typeof text}`);
  const len = text.length;
  let digitsPerGroup: number;
  let sep: number;
  if (len === 17) {
    digitsPerGroup = 2;
    sep = text.charCodeAt(2);
    if (sep !== 58 && sep !== 45) throw macError(text, `expected ":" or "-" at position 2, got ${JSON.stringify(text[2])} (${FORMS})`);
  } else if (len === 14 && text.charCodeAt(4) === 46) {
    digitsPerGroup = 4;
    sep = 46;
  } else {
    throw macError(text, `${len} characters; ${FORMS}`);
  }
  let hi = 0; // first 16 bits
  let lo = 0; // last 32 bits
  let nibbles = 0;
  const step = digitsPerGroup + 1;
  for (let i = 0; i < len; i++) {
    if (i % step === digitsPerGroup) {
      if (text.charCodeAt(i) !== sep) {
        throw macError(text, `expected ${JSON.stringify(String.fromCharCode(sep))} at position ${i}, got ${JSON.stringify(text[i])} (${FORMS})`);
      }
      continue;
    }
    const h = hexAt(text, i);
    if (h < 0) throw macError(text, `unexpected character ${JSON.stringify(text[i])} at position ${i} (${FORMS})`);
    if (nibbles < 4) hi = (hi << 4) | h;
    else lo = ((lo << 4) | h) >>> 0;
    nibbles++;
  }
  return hi * TWO32 + lo;
}

/** The 48-bit MAC in b[off..off+6]. */
export function macFromBytes(b: Uint8Array, off: number): number {
  return ((b[off]! << 8) | b[off + 1]!) * TWO32 + (((b[off + 2]! << 24) | (b[off + 3]! << 16) | (b[off + 4]! << 8) | b[off + 5]!) >>> 0);
}

/** True when the IPv6 interface identifier (bytes 8-15) is a modified EUI-64: ff:fe in bytes 11-12. */
export function isEui64(addr: Uint8Array): boolean {
  return addr[11] === 0xff && addr[12] === 0xfe;
}

/** The MAC embedded in a modified EUI-64 interface identifier (U/L bit 0x02 flipped back), or null. */
export function macFromEui64(addr: Uint8Array): number | null {
  if (!isEui64(addr)) return null;
  return (((addr[8]! ^ 0x02) << 8) | addr[9]!) * TWO32 + (((addr[10]! << 24) | (addr[13]! << 16) | (addr[14]! << 8) | addr[15]!) >>> 0);
}

/** The 8-byte modified EUI-64 interface identifier for a MAC (U/L bit flipped, ff:fe inserted). */
export function eui64InterfaceId(mac: number): Uint8Array {
  if (!Number.isInteger(mac) || mac < 0 || mac > MAX_MAC) throw new AddressError(`invalid MAC address ${mac}: not a 48-bit integer`);
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  const id = new Uint8Array(8);
  id[0] = (hi >> 8) ^ 0x02;
  id[1] = hi & 0xff;
  id[2] = lo >>> 24;
  id[3] = 0xff;
  id[4] = 0xfe;
  id[5] = (lo >>> 16) & 0xff;
  id[6] = (lo >>> 8) & 0xff;
  id[7] = lo & 0xff;
  return id;
}
