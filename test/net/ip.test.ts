import { describe, expect, it } from 'vitest';
import {
  AddressError, addrToBigInt, bigIntToAddr, compareAddr, formatIP, ipv4ToMapped, isIPv4Mapped, mappedToIPv4, parseIP, tryParseIP,
} from '../../src/net/ip.js';

/** [input, RFC 5952 output, family] — RFC 4291 §2.2 forms, RFC 5952 §4 recommendations. */
const CANONICAL: [string, string, 4 | 6][] = [
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6], // RFC 5952 §4.2.3: first longest run
  ['2001:0db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8::0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:0db8::1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:0001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6], // §4.1 leading zeros
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:001', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:01', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1', 6],
  ['2001:db8:aaaa:bbbb:cccc:dddd::1', '2001:db8:aaaa:bbbb:cccc:dddd:0:1', 6], // §4.2.2 one group not ::
  ['2001:db8:aaaa:bbbb:cccc:dddd:0:1', '2001:db8:aaaa:bbbb:cccc:dddd:0:1', 6],
  ['2001:db8:0:0:0::1', '2001:db8::1', 6], // §4.2.1 shorten as much as possible
  ['2001:db8:0:0::1', '2001:db8::1', 6],
  ['2001:db8:0::1', '2001:db8::1', 6],
  ['2001:db8::1', '2001:db8::1', 6],
  ['2001:db8::aaaa:0:0:1', '2001:db8::aaaa:0:0:1', 6],
  ['2001:db8:0:0:aaaa::1', '2001:db8::aaaa:0:0:1', 6],
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 6],
  ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', 6], // longer run wins
  ['2001:db8:0:0:1::', '2001:db8:0:0:1::', 6], // the longer run (3) wins over the first (2)
  ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789', 6], // RFC 4291 §2.2 examples
  ['2001:DB8:0:0:8:800:200C:417A', '2001:db8::8:800:200c:417a', 6],
  ['2001:DB8::8:800:200C:417A', '2001:db8::8:800:200c:417a', 6],
  ['FF01:0:0:0:0:0:0:101', 'ff01::101', 6],
  ['FF01::101', 'ff01::101', 6],
  ['0:0:0:0:0:0:0:1', '::1', 6],
  ['::1', '::1', 6],
  ['0:0:0:0:0:0:0:0', '::', 6],
  ['::', '::', 6],
  ['0:0:0:0:0:0:13.1.68.3', '::d01:4403', 6],
  ['::13.1.68.3', '::d01:4403', 6],
  ['0:0:0:0:0:FFFF:129.144.52.38', '::ffff:129.144.52.38', 6],
  ['::FFFF:129.144.52.38', '::ffff:129.144.52.38', 6],
  ['::ffff:0.0.0.0', '::ffff:0.0.0.0', 6],
  ['::ffff:1.2.3.4', '::ffff:1.2.3.4', 6],
  ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', 6],
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304', 6],
  ['1::', '1::', 6],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 6],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8', 6],
  ['1:0:0:2::3', '1:0:0:2::3', 6],
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4', 6], // tie: the first run
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3', 6],
  ['0:1:0:0:0:1:0:0', '0:1::1:0:0', 6],
  ['fe80::1', 'fe80::1', 6],
  ['fe80:0000:0000:0000:0204:61ff:fe9d:f156', 'fe80::204:61ff:fe9d:f156', 6],
  ['3fff::1', '3fff::1', 6],
  ['fd00::1', 'fd00::1', 6],
  ['ff02::1:ff00:1', 'ff02::1:ff00:1', 6],
  ['2001:db8::ffff:1.2.3.4', '2001:db8::ffff:102:304', 6],
  ['::ffff:ffff:ffff', '::ffff:255.255.255.255', 6],
  ['192.0.2.1', '192.0.2.1', 4],
  ['0.0.0.0', '0.0.0.0', 4],
  ['255.255.255.255', '255.255.255.255', 4],
  ['203.0.113.12', '203.0.113.12', 4],
  ['10.0.0.1', '10.0.0.1', 4],
  ['127.0.0.1', '127.0.0.1', 4],
  ['1.2.3.4', '1.2.3.4', 4],
];

const INVALID: string[] = [
  '', ' ', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.256', '01.2.3.4', '1.02.3.4', '1..2.3', '1.2.3.', '.1.2.3',
  '1.2.3.4 ', ' 1.2.3.4', '1.2.3.a', '0x1.2.3.4', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::',
  '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', 'g::1', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', '::1.2.3', '::1.2.3.4.5',
  '::256.1.1.1', '1.2.3.4::', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%', 'localhost', '2001:db8::1/64', '[2001:db8::1',
  '[1.2.3.4]', 'fe80::1%eth 0', '2001:db8::1 ', '::ffff:1.2.3.04', '1.2.3.4%eth0', 'ü::1',
];

describe('parseIP / formatIP', () => {
  it.each(CANONICAL)('%s → %s', (input, out, family) => {
    const p = parseIP(input);
    expect(p.family).toBe(family);
    expect(formatIP(p.addr, family)).toBe(out);
    // round trip
    const again = parseIP(out);
    expect(compareAddr(again.addr, p.addr)).toBe(0);
  });

  it.each(INVALID)('rejects %j with an AddressError naming it', (input) => {
    expect(() => parseIP(input)).toThrow(AddressError);
    try {
      parseIP(input);
    } catch (e) {
      expect((e as Error).message).toContain(`"${input.slice(0, 40)}`);
    }
    expect(tryParseIP(input)).toBeNull();
  });

  it.each([
    ['fe80::1%eth0', 'fe80::1', 'eth0'],
    ['fe80::1%25', 'fe80::1', '25'],
    ['FE80::A%en0.100', 'fe80::a', 'en0.100'],
  ])('zone ID %s', (input, addr, zone) => {
    const p = parseIP(input);
    expect(formatIP(p.addr)).toBe(addr);
    expect(p.zone).toBe(zone);
  });

  it.each([
    ['[2001:db8::1]:443', 'optional', '2001:db8::1', 443, 6],
    ['[2001:db8::1]:443', 'required', '2001:db8::1', 443, 6],
    ['[2001:db8::1]', 'optional', '2001:db8::1', undefined, 6],
    ['[fe80::1%eth0]:80', 'optional', 'fe80::1', 80, 6],
    ['192.0.2.1:80', 'optional', '192.0.2.1', 80, 4],
    ['192.0.2.1:80', 'required', '192.0.2.1', 80, 4],
    ['192.0.2.1', 'optional', '192.0.2.1', undefined, 4],
    ['2001:db8::1:443', 'required', '2001:db8::1', 443, 6], // ALB: split at the last colon
    ['2001:db8:1:2:3:4:5:6:8080', 'required', '2001:db8:1:2:3:4:5:6', 8080, 6],
    ['2001:db8::1:443', 'optional', '2001:db8::1:443', undefined, 6], // a full address without port
    ['2001:db8:1:2:3:4:5:6:8080', 'optional', '2001:db8:1:2:3:4:5:6', 8080, 6],
    ['::ffff:192.0.2.1:5000', 'required', '::ffff:192.0.2.1', 5000, 6],
    ['[::1]:0', 'required', '::1', 0, 6],
    ['[::1]:65535', 'required', '::1', 65535, 6],
  ] as const)('%s (port %s)', (input, mode, addr, port, family) => {
    const p = parseIP(input, { port: mode });
    expect(formatIP(p.addr, family)).toBe(addr);
    expect(p.port).toBe(port);
    expect(p.family).toBe(family);
  });

  it.each([
    ['192.0.2.1', 'required'],
    ['[2001:db8::1]', 'required'],
    ['[2001:db8::1]:65536', 'optional'],
    ['[2001:db8::1]:', 'optional'],
    ['[2001:db8::1]x', 'optional'],
    ['192.0.2.1:99999', 'optional'],
    ['192.0.2.1:80', 'none'],
    ['[2001:db8::1]:80', 'none'],
    ['2001:db8::1:port', 'required'],
    ['1.2.3.4:80:90', 'required'],
  ] as const)('rejects %s with port %s', (input, mode) => {
    expect(() => parseIP(input, { port: mode })).toThrow(AddressError);
  });
});

describe('mapped and integer helpers', () => {
  it.each([
    [0xc0000201, '192.0.2.1'],
    [0, '0.0.0.0'],
    [0xffffffff, '255.255.255.255'],
    [0x7f000001, '127.0.0.1'],
  ])('ipv4ToMapped(%i) = %s', (v, text) => {
    const a = ipv4ToMapped(v);
    expect(isIPv4Mapped(a)).toBe(true);
    expect(formatIP(a, 4)).toBe(text);
    expect(formatIP(a)).toBe(`::ffff:${text}`);
    expect(mappedToIPv4(a)).toBe(v);
  });

  it('formatIP with family 4 refuses non-mapped bytes', () => {
    expect(() => formatIP(parseIP('2001:db8::1').addr, 4)).toThrow(AddressError);
    expect(mappedToIPv4(parseIP('2001:db8::1').addr)).toBeNull();
  });

  it.each(['::', '::1', '2001:db8::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:1.2.3.4', 'fe80::204:61ff:fe9d:f156'])(
    'bigint round trip %s',
    (t) => {
      const a = parseIP(t).addr;
      expect(formatIP(bigIntToAddr(addrToBigInt(a)))).toBe(formatIP(a));
    },
  );

  it('compareAddr orders bytewise', () => {
    const xs = ['2001:db8::2', '::1', 'fe80::1', '2001:db8::1', '::ffff:1.2.3.4'].map((t) => parseIP(t).addr);
    xs.sort(compareAddr);
    expect(xs.map((x) => formatIP(x))).toEqual(['::1', '::ffff:1.2.3.4', '2001:db8::1', '2001:db8::2', 'fe80::1']);
  });
});
