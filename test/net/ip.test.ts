import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  addrEquals,
  addrToBigInt,
  bigIntToAddr,
  compareAddr,
  formatIP,
  ipv4ToMapped,
  isIPv4Mapped,
  mappedToIPv4,
  parseIP,
  tryParseIP,
  writeIPv4Mapped,
  type ParseOptions,
} from '../../src/net/ip.js';
import { xorshift32 } from '../helpers/rng.js';

/** Bytes from 8 groups (test oracle independent of the parser). */
function words(...w: number[]): Uint8Array {
  const a = new Uint8Array(16);
  w.forEach((v, i) => {
    a[i * 2] = v >> 8;
    a[i * 2 + 1] = v & 0xff;
  });
  return a;
}

function expectAddressError(fn: () => unknown, input: string, fragment: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AddressError);
  const e = caught as AddressError;
  expect(e.message).toContain(JSON.stringify(input));
  expect(e.message).toContain(fragment);
  expect(e.input).toBe(input);
}

/** [input, RFC 5952 text, family] */
const CANONICAL: [string, string, 4 | 6][] = [
  // RFC 4291 §2.2, form 1: x:x:x:x:x:x:x:x
  ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789', 6],
  ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a', 6],
  ['2001:0DB8:0000:0000:0008:0800:200C:417A', '2001:db8::8:800:200c:417a', 6],
  // RFC 4291 §2.2, form 2: "::"
  ['2001:DB8::8:800:200C:417A', '2001:db8::8:800:200c:417a', 6],
  ['FF01:0:0:0:0:0:0:101', 'ff01::101', 6],
  ['FF01::101', 'ff01::101', 6],
  ['0:0:0:0:0:0:0:1', '::1', 6],
  ['::1', '::1', 6],
  ['0:0:0:0:0:0:0:0', '::', 6],
  ['::', '::', 6],
  // RFC 4291 §2.2, form 3: x:x:x:x:x:x:d.d.d.d
  ['0:0:0:0:0:0:13.1.68.3', '::d01:4403', 6],
  ['::13.1.68.3', '::d01:4403', 6],
  ['0:0:0:0:0:FFFF:129.144.52.38', '::ffff:129.144.52.38', 6],
  ['::FFFF:129.144.52.38', '::ffff:129.144.52.38', 6],
  // RFC 5952 §2.1: one address, many texts
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8::0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:0db8::1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8:0:0:1::1', '2001:db8::1:0:0:1', 6],
  ['2001:db8:0000:0:1::1', '2001:db8::1:0:0:1', 6],
  ['2001:DB8:0:0:1::1', '2001:db8::1:0:0:1', 6],
  // RFC 5952 §2.2: case
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:AAAA', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:AaAa', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa', 6],
  // RFC 5952 §2.3 / §4.1: leading zeros
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:01', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:0db8::0001', '2001:db8::1', 6],
  ['2001:db8::001', '2001:db8::1', 6],
  // RFC 5952 §2.4: zero compression choices
  ['2001:db8:aaaa:bbbb:cccc:dddd::1', '2001:db8:aaaa:bbbb:cccc:dddd:0:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:0:1', '2001:db8:aaaa:bbbb:cccc:dddd:0:1', 6],
  ['2001:db8:0:0:0::1', '2001:db8::1', 6],
  ['2001:db8:0:0::1', '2001:db8::1', 6],
  ['2001:db8:0::1', '2001:db8::1', 6],
  ['2001:db8::1', '2001:db8::1', 6],
  ['2001:db8::aaaa:0:0:1', '2001:db8::aaaa:0:0:1', 6],
  ['2001:db8:0:0:aaaa::1', '2001:db8::aaaa:0:0:1', 6],
  // RFC 5952 §4.2.1: shorten as much as possible
  ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1', 6],
  ['2001:db8::0:1', '2001:db8::1', 6],
  // RFC 5952 §4.2.2: a single zero group is not "::"
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
  ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
  // RFC 5952 §4.2.3: the longest run; the first on ties
  ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', 6],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  // RFC 5952 §4.3: lower case
  ['2001:DB8::ABCD', '2001:db8::abcd', 6],
  ['2001:Db8::aBcD:EF', '2001:db8::abcd:ef', 6],
  // RFC 5952 §5: IPv4-mapped in mixed notation
  ['::ffff:192.0.2.1', '::ffff:192.0.2.1', 6],
  ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1', 6],
  ['::ffff:c000:201', '::ffff:192.0.2.1', 6],
  // Edges
  ['::ffff:0.0.0.0', '::ffff:0.0.0.0', 6],
  ['::ffff:0:0', '::ffff:0.0.0.0', 6],
  ['::ffff:255.255.255.255', '::ffff:255.255.255.255', 6],
  ['::ffff:ffff:ffff', '::ffff:255.255.255.255', 6],
  ['::ffff:1:2', '::ffff:0.1.0.2', 6],
  ['::ffff', '::ffff', 6],
  ['::ffff:0', '::ffff:0', 6],
  ['::fffe:1.2.3.4', '::fffe:102:304', 6],
  ['0:0:0:0:1:ffff:1.2.3.4', '::1:ffff:102:304', 6],
  ['::1.2.3.4', '::102:304', 6],
  ['::0.0.0.1', '::1', 6],
  ['::0.0.0.0', '::', 6],
  ['64:ff9b::192.0.2.1', '64:ff9b::c000:201', 6],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 6],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 6],
  ['1::1.2.3.4', '1::102:304', 6],
  ['2001:db8::ffff:1.2.3.4', '2001:db8::ffff:102:304', 6],
  ['FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6],
  ['1::', '1::', 6],
  ['1:0:0:0:0:0:0:0', '1::', 6],
  ['0:0:0:0:0:0:0:2', '::2', 6],
  ['0::0', '::', 6],
  ['0:0::0:0', '::', 6],
  ['::0:0:0:0:0:0:0', '::', 6],
  ['0:0:0:0:0:0:0::', '::', 6],
  ['0000:0000:0000:0000:0000:0000:0000:0001', '::1', 6],
  ['000:0:00:0000::1', '::1', 6],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 6],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8', 6],
  ['1:2:3:4:5:6::8', '1:2:3:4:5:6:0:8', 6],
  ['1::3:4:5:6:7:8', '1:0:3:4:5:6:7:8', 6],
  ['1:0:0:2::3', '1:0:0:2::3', 6],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 6],
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4', 6],
  ['1:0:0:0:2:0:0:0', '1::2:0:0:0', 6],
  ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0', 6],
  ['0:1:0:0:0:1:0:0', '0:1::1:0:0', 6],
  ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0', 6],
  ['0:1:1:1:1:1:1:1', '0:1:1:1:1:1:1:1', 6],
  ['1:1:1:1:1:1:1:0', '1:1:1:1:1:1:1:0', 6],
  ['0:0:1:1:1:1:1:1', '::1:1:1:1:1:1', 6],
  ['1:1:1:1:1:1:0:0', '1:1:1:1:1:1::', 6],
  ['2001:db8:0:0:1::', '2001:db8:0:0:1::', 6],
  ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6', 6],
  ['fe80::1', 'fe80::1', 6],
  ['FE80::0204:61FF:FE9D:F156', 'fe80::204:61ff:fe9d:f156', 6],
  ['fe80:0000:0000:0000:0204:61ff:fe9d:f156', 'fe80::204:61ff:fe9d:f156', 6],
  ['3fff::1', '3fff::1', 6],
  ['fd00::1', 'fd00::1', 6],
  ['ff02::1:ff00:1', 'ff02::1:ff00:1', 6],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 6],
  ['2a00:1450:4001:80e::200e', '2a00:1450:4001:80e::200e', 6],
  ['f:f0:f00:f000:0f:00f:0f0:0f00', 'f:f0:f00:f000:f:f:f0:f00', 6],
  // Dotted quads
  ['192.0.2.1', '192.0.2.1', 4],
  ['0.0.0.0', '0.0.0.0', 4],
  ['255.255.255.255', '255.255.255.255', 4],
  ['203.0.113.12', '203.0.113.12', 4],
  ['198.51.100.200', '198.51.100.200', 4],
  ['10.0.0.1', '10.0.0.1', 4],
  ['127.0.0.1', '127.0.0.1', 4],
  ['100.64.0.1', '100.64.0.1', 4],
  ['1.2.3.4', '1.2.3.4', 4],
  ['9.9.9.9', '9.9.9.9', 4],
  ['0.10.100.200', '0.10.100.200', 4],
];

/** [input, fragment of the reason] — every one must throw an AddressError naming the input. */
const INVALID: [string, string][] = [
  ['', 'empty'],
  [' ', 'whitespace'],
  // IPv4
  ['1.2.3', '3 parts instead of 4'],
  ['1.2', '2 parts instead of 4'],
  ['1.2.3.4.5', 'more than 4 parts'],
  ['1.2.3.4.', 'more than 4 parts'],
  ['256.1.1.1', 'part "256" is greater than 255'],
  ['1.2.3.256', 'part "256" is greater than 255'],
  ['1.2.3.999', 'part "999" is greater than 255'],
  ['1.2.3.1000', 'part "1000" is greater than 255'],
  ['1.300.3.4', 'part "300" is greater than 255'],
  ['01.2.3.4', 'part "01" has a leading zero'],
  ['1.02.3.4', 'part "02" has a leading zero'],
  ['010.0.0.1', 'part "010" has a leading zero'],
  ['1.2.3.00', 'part "00" has a leading zero'],
  ['1..2.3', 'empty part'],
  ['1.2.3.', 'ends with "."'],
  ['.1.2.3', 'starts with "."'],
  ['1.2.3.4 ', 'whitespace'],
  [' 1.2.3.4', 'whitespace'],
  ['\t1.2.3.4', 'whitespace'],
  ['1.2.3.4\n', 'whitespace'],
  ['1.2.3.a', 'unexpected character "a"'],
  ['0x1.2.3.4', 'unexpected character "x"'],
  ['1.2.3.-4', 'unexpected character "-"'],
  ['+1.2.3.4', 'unexpected character "+"'],
  ['1.2.3.4%eth0', 'zone IDs are only allowed on IPv6'],
  ['1.2.3.4/24', 'unexpected character "/"'],
  ['1.2.3.4::', 'unexpected character ":"'],
  ['1.2.3.4\u0000', 'control character'],
  // IPv6 structure
  [':::', '":::" is not valid'],
  ['::::', '":::" is not valid'],
  ['1:::2', '":::" is not valid'],
  ['1::2::3', '"::" appears more than once'],
  ['::1::', '"::" appears more than once'],
  ['1:2:3:4:5:6:7:8:9', 'more than 8 groups'],
  ['1:2:3', '3 groups without "::"'],
  ['1:2:3:4:5:6:7', '7 groups without "::"'],
  ['1:2:3:4:5:6:1.2.3', '3 parts instead of 4'],
  ['1:2:3:4:5:1.2.3.4', '7 groups without "::"'],
  ['12345::', 'group "12345" has more than 4 hex digits'],
  ['::12345', 'group "12345" has more than 4 hex digits'],
  ['1:2:3:4:5:6:7:00000', 'group "00000" has more than 4 hex digits'],
  ['1:2:3:4:5:6:7:8::', '"::" must stand for at least one zero group'],
  ['::1:2:3:4:5:6:7:8', '"::" must stand for at least one zero group'],
  ['1:2:3:4::5:6:7:8', '"::" must stand for at least one zero group'],
  ['::1:2:3:4:5:6:1.2.3.4', '"::" must stand for at least one zero group'],
  ['g::1', 'unexpected character "g"'],
  ['2001:db8::g', 'unexpected character "g"'],
  ['2001:db8::-1', 'unexpected character "-"'],
  ['-1::', 'unexpected character "-"'],
  [':1:2:3:4:5:6:7', 'starts with a single ":"'],
  [':', 'starts with a single ":"'],
  ['1:2:3:4:5:6:7:', 'ends with a single ":"'],
  ['1:2:3:4:5:6:7:8:', 'ends with a single ":"'],
  ['1::2:', 'ends with a single ":"'],
  ['2001:db8::1/64', 'unexpected character "/"'],
  ['2001:db8::1 ', 'whitespace'],
  ['2001:db8:: 1', 'whitespace'],
  [' ::1', 'whitespace'],
  ['ü::1', 'unexpected character "ü"'],
  ['2001:db8::1\u00a0', 'unexpected character'],
  // Embedded IPv4
  ['::1.2.3', 'embedded IPv4 address "1.2.3": 3 parts instead of 4'],
  ['::1.2.3.4.5', 'more than 4 parts'],
  ['::256.1.1.1', 'part "256" is greater than 255'],
  ['::ffff:1.2.3.04', 'part "04" has a leading zero'],
  ['::ffff:01.2.3.4', 'part "01" has a leading zero'],
  ['::ffff:1.2.3.4.', 'more than 4 parts'],
  ['::a.b.c.d', 'unexpected character "a"'],
  ['::1.2.3.4:1', 'unexpected character ":"'],
  ['1.2.3.4::1', 'unexpected character ":"'],
  ['1:2:3:4:5:6:7:1.2.3.4', 'too many groups before the embedded IPv4 address'],
  ['::1.2.3.4::', 'unexpected character ":"'],
  // Zones
  ['fe80::1%', 'empty zone ID'],
  ['fe80::1%eth 0', 'zone ID: unexpected whitespace'],
  ['fe80::1%eth0%1', 'zone ID: unexpected character "%"'],
  ['fe80::1%eth0/64', 'zone ID: unexpected character "/"'],
  ['fe80::1%eth0:1', 'zone ID: unexpected character ":"'],
  ['fe80::1%eth0]', 'zone ID: unexpected character "]"'],
  ['fe80:%eth0::1', 'zone ID: unexpected character ":"'],
  // Not addresses at all
  ['localhost', 'unexpected character "l"'],
  ['abcd', 'neither a dotted-quad IPv4 nor an IPv6 address'],
  ['1234', 'neither a dotted-quad IPv4 nor an IPv6 address'],
  ['3232235777', 'neither a dotted-quad IPv4 nor an IPv6 address'],
  ['-', 'unexpected character "-"'],
  // Brackets without a port option
  ['[2001:db8::1', 'missing "]"'],
  ['[1.2.3.4]', 'brackets are only for IPv6'],
  ['[]', 'empty'],
  ['[2001:db8::1]x', 'after "]"'],
  ['[2001:db8::1]:80', 'a port is not allowed here'],
  ['192.0.2.1:80', 'a port is not allowed here'],
  ['2001:db8::1 :80', 'whitespace'],
];

describe('parseIP / formatIP: RFC 4291 §2.2 input, RFC 5952 output', () => {
  it.each(CANONICAL)('%s → %s (IPv%s)', (input, out, family) => {
    const p = parseIP(input);
    expect(p.family).toBe(family);
    expect(p.zone).toBeUndefined();
    expect(p.port).toBeUndefined();
    expect(p.addr).toHaveLength(16);
    expect(formatIP(p.addr, family)).toBe(out);
    // parse → format → parse gives the same bytes, and formatting is idempotent.
    const again = parseIP(out);
    expect(addrEquals(again.addr, p.addr)).toBe(true);
    expect(again.family).toBe(family);
    expect(formatIP(again.addr, again.family)).toBe(out);
    // the same through tryParseIP
    expect(tryParseIP(input)?.addr).toEqual(p.addr);
    // Node agrees that the input is an address of that family
    expect(isIP(input)).toBe(family);
  });

  it.each([
    ['::', words()],
    ['::1', words(0, 0, 0, 0, 0, 0, 0, 1)],
    ['1::', words(1)],
    ['1:2:3:4:5:6:7::', words(1, 2, 3, 4, 5, 6, 7, 0)],
    ['::2:3:4:5:6:7:8', words(0, 2, 3, 4, 5, 6, 7, 8)],
    ['2001:db8::1', words(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)],
    ['1:2:3:4:5:6:1.2.3.4', words(1, 2, 3, 4, 5, 6, 0x0102, 0x0304)],
    ['::ffff:192.0.2.1', words(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)],
    ['192.0.2.1', words(0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201)],
    ['64:ff9b::192.0.2.1', words(0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0201)],
    ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', words(0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789)],
    ['1:0:0:2::3', words(1, 0, 0, 2, 0, 0, 0, 3)],
  ])('%s has the expected bytes', (input, bytes) => {
    expect(parseIP(input).addr).toEqual(bytes);
  });

  it.each(INVALID)('rejects %j (%s)', (input, fragment) => {
    expectAddressError(() => parseIP(input), input, fragment);
    expect(tryParseIP(input)).toBeNull();
    // Independent oracle: Node rejects the plain (no zone, no bracket, no port) ones too.
    if (!input.includes('%') && !input.includes('[')) expect(isIP(input)).toBe(0);
  });

  it('names the family in the message', () => {
    expect(() => parseIP('1:2:3')).toThrow('invalid IPv6 address "1:2:3": 3 groups without "::"');
    expect(() => parseIP('01.2.3.4')).toThrow('invalid IPv4 address "01.2.3.4": part "01" has a leading zero');
    expect(() => parseIP('localhost')).toThrow('invalid IP address "localhost"');
  });

  it('caps very long inputs in the message', () => {
    const long = `${'1:'.repeat(500)}1`;
    expect(() => parseIP(long)).toThrow(AddressError);
    expect(() => parseIP(long)).toThrow('more than 8 groups');
    try {
      parseIP(long);
    } catch (e) {
      expect((e as Error).message.length).toBeLessThan(300);
    }
  });

  it.each([null, undefined, 42, {}] as unknown[])('rejects the non-string %j', (v) => {
    expect(() => parseIP(v as string)).toThrow(AddressError);
    expect(tryParseIP(v as string)).toBeNull();
  });
});

describe('zone IDs', () => {
  it.each([
    ['fe80::1%eth0', 'fe80::1', 'eth0'],
    ['fe80::1%25', 'fe80::1', '25'],
    ['FE80::A%en0.100', 'fe80::a', 'en0.100'],
    ['fe80::%lo', 'fe80::', 'lo'],
    ['ff02::1%eth0', 'ff02::1', 'eth0'],
    ['::1%1', '::1', '1'],
    ['fe80::204:61ff:fe9d:f156%wlp2s0', 'fe80::204:61ff:fe9d:f156', 'wlp2s0'],
    ['fe80::1%br-1a2b_c', 'fe80::1', 'br-1a2b_c'],
    ['::ffff:1.2.3.4%x', '::ffff:1.2.3.4', 'x'],
  ])('%s → %s zone %s', (input, addr, zone) => {
    const p = parseIP(input);
    expect(p.family).toBe(6);
    expect(formatIP(p.addr)).toBe(addr);
    expect(p.zone).toBe(zone);
    expect(p.port).toBeUndefined();
  });
});

type Mode = NonNullable<ParseOptions['port']>;

describe('ports', () => {
  it.each([
    ['[2001:db8::1]:443', 'optional', '2001:db8::1', 443, 6, undefined],
    ['[2001:db8::1]:443', 'required', '2001:db8::1', 443, 6, undefined],
    ['[2001:db8::1]', 'optional', '2001:db8::1', undefined, 6, undefined],
    ['[2001:db8::1]', 'none', '2001:db8::1', undefined, 6, undefined],
    ['[fe80::1%eth0]:80', 'optional', 'fe80::1', 80, 6, 'eth0'],
    ['[fe80::1%eth0]:80', 'required', 'fe80::1', 80, 6, 'eth0'],
    ['[fe80::1%eth0]', 'none', 'fe80::1', undefined, 6, 'eth0'],
    ['[::ffff:1.2.3.4]:8', 'required', '::ffff:1.2.3.4', 8, 6, undefined],
    ['[::1]:0', 'required', '::1', 0, 6, undefined],
    ['[::1]:65535', 'required', '::1', 65535, 6, undefined],
    ['[::]:53', 'optional', '::', 53, 6, undefined],
    ['192.0.2.1:80', 'optional', '192.0.2.1', 80, 4, undefined],
    ['192.0.2.1:80', 'required', '192.0.2.1', 80, 4, undefined],
    ['192.0.2.1', 'optional', '192.0.2.1', undefined, 4, undefined],
    ['0.0.0.0:0', 'required', '0.0.0.0', 0, 4, undefined],
    ['255.255.255.255:65535', 'required', '255.255.255.255', 65535, 4, undefined],
    ['192.0.2.1:080', 'required', '192.0.2.1', 80, 4, undefined],
    // ALB/NLB: unbracketed IPv6 client:port, split at the last colon
    ['2001:db8::1:443', 'required', '2001:db8::1', 443, 6, undefined],
    ['2001:db8:1:2:3:4:5:6:8080', 'required', '2001:db8:1:2:3:4:5:6', 8080, 6, undefined],
    ['2001:db8:::443', 'required', '2001:db8::', 443, 6, undefined],
    [':::80', 'required', '::', 80, 6, undefined],
    ['::1:80', 'required', '::1', 80, 6, undefined],
    ['::ffff:192.0.2.1:5000', 'required', '::ffff:192.0.2.1', 5000, 6, undefined],
    ['fe80::1%eth0:80', 'required', 'fe80::1', 80, 6, 'eth0'],
    // optional: a text that is a full IPv6 address has no port
    ['2001:db8::1:443', 'optional', '2001:db8::1:443', undefined, 6, undefined],
    ['::1:80', 'optional', '::1:80', undefined, 6, undefined],
    ['2001:db8::1', 'optional', '2001:db8::1', undefined, 6, undefined],
    // …and one that is not, but is an address and a port, has one
    ['2001:db8:1:2:3:4:5:6:8080', 'optional', '2001:db8:1:2:3:4:5:6', 8080, 6, undefined],
    ['::ffff:192.0.2.1:5000', 'optional', '::ffff:192.0.2.1', 5000, 6, undefined],
    ['fe80::1%eth0:80', 'optional', 'fe80::1', 80, 6, 'eth0'],
  ] as [string, Mode, string, number | undefined, 4 | 6, string | undefined][])(
    '%s (port %s) → %s port %s',
    (input, mode, addr, port, family, zone) => {
      const p = parseIP(input, { port: mode });
      expect(formatIP(p.addr, family)).toBe(addr);
      expect(p.port).toBe(port);
      expect(p.family).toBe(family);
      expect(p.zone).toBe(zone);
      expect(tryParseIP(input, { port: mode })).toEqual(p);
    },
  );

  it.each([
    ['192.0.2.1', 'required', 'a port is required'],
    ['[2001:db8::1]', 'required', 'a port is required'],
    ['2001:db8::1', 'required', 'a port is required'],
    ['::1', 'required', 'a port is required'],
    ['[2001:db8::1]:65536', 'optional', 'port "65536" is greater than 65535'],
    ['[2001:db8::1]:', 'optional', 'empty port'],
    ['[2001:db8::1]x', 'optional', 'after "]"'],
    ['[2001:db8::1]:8x', 'required', 'port "8x": unexpected character "x"'],
    ['[2001:db8::1]:-1', 'required', 'unexpected character "-"'],
    ['[2001:db8::1]:80 ', 'required', 'whitespace'],
    ['[1.2.3.4]:80', 'optional', 'brackets are only for IPv6'],
    ['[fe80::1%eth0]:', 'required', 'empty port'],
    ['[2001:db8::1]:80', 'none', 'a port is not allowed here'],
    ['192.0.2.1:99999', 'optional', 'port "99999" is greater than 65535'],
    ['192.0.2.1:65536', 'required', 'port "65536" is greater than 65535'],
    ['192.0.2.1:', 'required', 'empty port'],
    ['192.0.2.1:80', 'none', 'a port is not allowed here'],
    ['1.2.3.4: 80', 'required', 'whitespace'],
    ['256.0.0.1:80', 'required', 'part "256" is greater than 255'],
    ['1.2.3.4:80:90', 'required', 'unexpected character ":"'],
    ['1.2.3.4:80:90', 'optional', 'unexpected character ":"'],
    ['2001:db8::1:port', 'required', 'port "port": unexpected character "p"'],
    ['2001:db8::1:99999', 'required', 'port "99999" is greater than 65535'],
    ['2001:db8::1:99999', 'optional', 'port "99999" is greater than 65535'],
    ['2001:db8::1 :443', 'required', 'whitespace'],
    ['fe80::1%eth0:80', 'none', 'a port is not allowed here'],
    ['1:2:3:4:5:6:7:8:9:10', 'optional', 'more than 8 groups'],
    ['', 'required', 'empty'],
  ] as [string, Mode, string][])('rejects %j with port %s (%s)', (input, mode, fragment) => {
    expectAddressError(() => parseIP(input, { port: mode }), input, fragment);
    expect(tryParseIP(input, { port: mode })).toBeNull();
  });
});

describe('IPv4-mapped helpers', () => {
  it.each([
    [0xc0000201, '192.0.2.1'],
    [0, '0.0.0.0'],
    [0xffffffff, '255.255.255.255'],
    [0x7f000001, '127.0.0.1'],
    [0x0a000001, '10.0.0.1'],
    [0xcb00710c, '203.0.113.12'],
    [0x80000000, '128.0.0.0'],
  ])('ipv4ToMapped(%i) = %s', (v, text) => {
    const a = ipv4ToMapped(v);
    expect(isIPv4Mapped(a)).toBe(true);
    expect(formatIP(a, 4)).toBe(text);
    expect(formatIP(a)).toBe(`::ffff:${text}`);
    expect(formatIP(a, 6)).toBe(`::ffff:${text}`);
    expect(mappedToIPv4(a)).toBe(v);
    expect(a).toEqual(parseIP(text).addr);
  });

  it.each([
    [-1, '255.255.255.255'],
    [-0x80000000, '128.0.0.0'],
    [0xc0000201 | 0, '192.0.2.1'],
  ])('ipv4ToMapped accepts the signed int32 %i', (v, text) => {
    expect(formatIP(ipv4ToMapped(v), 4)).toBe(text);
  });

  it.each([1.5, 2 ** 32, -(2 ** 31) - 1, Number.NaN, Infinity])('ipv4ToMapped rejects %s', (v) => {
    expect(() => ipv4ToMapped(v)).toThrow(AddressError);
  });

  it.each([
    ['::ffff:1.2.3.4', 0x01020304],
    ['1.2.3.4', 0x01020304],
    ['::ffff:0.0.0.0', 0],
    ['::ffff:255.255.255.255', 0xffffffff],
    ['::1.2.3.4', null],
    ['::fffe:1.2.3.4', null],
    ['0:0:0:0:1:ffff:1.2.3.4', null],
    ['64:ff9b::1.2.3.4', null],
    ['2001:db8::1', null],
    ['::', null],
  ])('mappedToIPv4(%s) = %s', (text, want) => {
    const a = parseIP(text).addr;
    expect(mappedToIPv4(a)).toBe(want);
    expect(isIPv4Mapped(a)).toBe(want !== null);
  });

  it.each(['2001:db8::1', '::', '::1', '::1.2.3.4', '::fffe:1.2.3.4', '0:0:0:0:1:ffff:1.2.3.4', 'ffff::ffff:1.2.3.4'])(
    'formatIP(%s, 4) throws: not IPv4-mapped',
    (text) => {
      expect(() => formatIP(parseIP(text).addr, 4)).toThrow(AddressError);
      expect(() => formatIP(parseIP(text).addr, 4)).toThrow('not an IPv4-mapped address');
    },
  );

  it.each([0, 4, 15, 17, 32])('formatIP rejects %i bytes', (n) => {
    expect(() => formatIP(new Uint8Array(n))).toThrow(AddressError);
  });

  it.each([
    [0, 0],
    [16, 3],
    [32, 7],
  ])('writeIPv4Mapped into slot at %i from source offset %i', (off, srcOff) => {
    const dst = new Uint8Array(48).fill(0xaa);
    const src = new Uint8Array([9, 9, 9, 198, 51, 100, 7, 203, 0, 113, 9, 9, 9]);
    writeIPv4Mapped(dst, off, src, srcOff);
    const slot = dst.subarray(off, off + 16);
    expect(isIPv4Mapped(slot)).toBe(true);
    expect(formatIP(slot, 4)).toBe(`${src[srcOff]}.${src[srcOff + 1]}.${src[srcOff + 2]}.${src[srcOff + 3]}`);
    // bytes outside the slot are untouched
    for (let i = 0; i < 48; i++) if (i < off || i >= off + 16) expect(dst[i]).toBe(0xaa);
  });
});

describe('compareAddr / addrEquals', () => {
  it.each([
    ['::', '::', 0],
    ['::', '::1', -1],
    ['::1', '::', 1],
    ['2001:db8::1', '2001:db8::2', -1],
    ['2001:db8::1', '2001:0db8:0:0:0:0:0:1', 0],
    ['fe80::1', '2001:db8::1', 1],
    ['1.2.3.4', '::ffff:1.2.3.4', 0],
    ['1.2.3.4', '1.2.3.5', -1],
    ['10.0.0.0', '9.255.255.255', 1],
    ['::ffff:255.255.255.255', '::1:0:0:0', -1],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', -1],
  ])('%s vs %s → %i', (a, b, sign) => {
    const x = parseIP(a).addr;
    const y = parseIP(b).addr;
    expect(Math.sign(compareAddr(x, y))).toBe(sign);
    expect(Math.sign(compareAddr(y, x))).toBe(sign === 0 ? 0 : -sign);
    expect(addrEquals(x, y)).toBe(sign === 0);
  });

  it('sorts bytewise', () => {
    const xs = ['2001:db8::2', '::1', 'fe80::1', '2001:db8::1', '::ffff:1.2.3.4', '::'].map((t) => parseIP(t).addr);
    xs.sort(compareAddr);
    expect(xs.map((x) => formatIP(x))).toEqual(['::', '::1', '::ffff:1.2.3.4', '2001:db8::1', '2001:db8::2', 'fe80::1']);
  });
});

describe('addrToBigInt / bigIntToAddr', () => {
  it.each([
    ['::', 0n],
    ['::1', 1n],
    ['::ffff:0.0.0.0', 0xffff00000000n],
    ['::ffff:1.2.3.4', 0xffff01020304n],
    ['1.2.3.4', 0xffff01020304n],
    ['::ffff:255.255.255.255', 0xffffffffffffn],
    ['2001:db8::1', 0x20010db8000000000000000000000001n],
    ['1::', 1n << 112n],
    ['0:0:0:1::', 1n << 64n],
    ['::1:0:0:0', 1n << 48n],
    ['8000::', 1n << 127n],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', (1n << 128n) - 1n],
  ])('%s ↔ %s', (text, v) => {
    const a = parseIP(text).addr;
    expect(addrToBigInt(a)).toBe(v);
    expect(bigIntToAddr(v)).toEqual(a);
  });

  it.each([-1n, 1n << 128n, (1n << 129n) + 5n])('bigIntToAddr rejects %s', (v) => {
    expect(() => bigIntToAddr(v)).toThrow(AddressError);
  });

  it('addrToBigInt rejects a wrong length', () => {
    expect(() => addrToBigInt(new Uint8Array(4))).toThrow(AddressError);
  });
});


describe('randomised cross-checks', () => {
  it('5000 random IPv6 addresses: format matches the WHATWG URL serialiser, and round-trips', () => {
    const r = xorshift32(0x5952);
    for (let n = 0; n < 5000; n++) {
      const w: number[] = [];
      for (let i = 0; i < 8; i++) {
        const k = r() % 4; // plenty of zero groups and short groups
        w.push(k === 0 ? 0 : k === 1 ? r() & 0xf : r() & 0xffff);
      }
      const a = words(...w);
      if (isIPv4Mapped(a)) continue;
      const text = formatIP(a);
      // WHATWG URL host serialisation follows the same rules (RFC 5952 §4) for non-mapped addresses.
      expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      expect(new URL(`http://[${w.map((x) => x.toString(16).toUpperCase()).join(':')}]/`).hostname).toBe(`[${text}]`);
      const back = parseIP(text);
      expect(back.family).toBe(6);
      expect(addrEquals(back.addr, a)).toBe(true);
      expect(addrToBigInt(bigIntToAddr(addrToBigInt(a)))).toBe(addrToBigInt(a));
    }
  });

  it('2000 random IPv4 addresses round-trip through text, u32 and bigint', () => {
    const r = xorshift32(4291);
    for (let n = 0; n < 2000; n++) {
      const v = r();
      const text = `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
      const p = parseIP(text);
      expect(p.family).toBe(4);
      expect(mappedToIPv4(p.addr)).toBe(v);
      expect(formatIP(p.addr, 4)).toBe(text);
      expect(parseIP(`${text}:${v & 0xffff}`, { port: 'required' }).port).toBe(v & 0xffff);
      expect(addrToBigInt(p.addr)).toBe(0xffff00000000n + BigInt(v));
    }
  });

  it('random garbage never throws anything but AddressError, and agrees with tryParseIP', () => {
    const r = xorshift32(7);
    const alphabet = '0123456789abcdefABCDEF:.%[]/ gx';
    for (let n = 0; n < 5000; n++) {
      let s = '';
      const len = r() % 24;
      for (let i = 0; i < len; i++) s += alphabet[r() % alphabet.length];
      for (const port of ['none', 'optional', 'required'] as const) {
        let ok: boolean;
        try {
          parseIP(s, { port });
          ok = true;
        } catch (e) {
          expect(e).toBeInstanceOf(AddressError);
          ok = false;
        }
        expect(tryParseIP(s, { port }) !== null).toBe(ok);
      }
      // Plain texts: accept exactly what Node accepts.
      if (!s.includes('%') && !s.includes('[')) expect(tryParseIP(s) !== null).toBe(isIP(s) !== 0);
    }
  });
});
