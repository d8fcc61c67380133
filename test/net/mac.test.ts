import { describe, expect, it } from 'vitest';
import { AddressError, formatIP, parseIP } from '../../src/net/ip.js';
import { eui64InterfaceId, formatMac, isEui64, macFromBytes, macFromEui64, parseMac } from '../../src/net/mac.js';

describe('parseMac / formatMac', () => {
  it.each([
    ['00:1a:2b:3c:4d:5e', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['00:1A:2B:3C:4D:5E', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['00-1A-2B-3C-4D-5E', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['00-1a-2b-3c-4d-5e', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['001a.2b3c.4d5e', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['001A.2B3C.4D5E', '00:1a:2b:3c:4d:5e', 0x001a2b3c4d5e],
    ['aabb.ccdd.eeff', 'aa:bb:cc:dd:ee:ff', 0xaabbccddeeff],
    ['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff', 0xffffffffffff],
    ['00:00:00:00:00:00', '00:00:00:00:00:00', 0],
    ['02:00:00:00:00:01', '02:00:00:00:00:01', 0x020000000001],
    ['80:00:00:00:00:00', '80:00:00:00:00:00', 0x800000000000],
    ['00:00:80:00:00:00', '00:00:80:00:00:00', 0x000080000000],
    ['00:00:ff:ff:ff:ff', '00:00:ff:ff:ff:ff', 0xffffffff],
    ['00:01:00:00:00:00', '00:01:00:00:00:00', 2 ** 32],
    ['Aa:bB:Cc:dD:eE:Ff', 'aa:bb:cc:dd:ee:ff', 0xaabbccddeeff],
  ])('%s → %s', (text, formatted, value) => {
    const v = parseMac(text);
    expect(v).toBe(value);
    expect(formatMac(v)).toBe(formatted);
    expect(parseMac(formatMac(v))).toBe(v);
  });

  it.each([
    ['', '0 characters'],
    ['00:1a:2b:3c:4d', '14 characters'],
    ['00:1a:2b:3c:4d:5e:6f', '20 characters'],
    ['001A2B3C4D5E', '12 characters'],
    ['zz:1a:2b:3c:4d:5e', 'unexpected character "z"'],
    ['00:1a:2b:3c:4d:5g', 'unexpected character "g"'],
    ['00:1a-2b:3c:4d:5e', 'expected ":" at position 5'],
    ['00-1a-2b-3c-4d:5e', 'expected "-" at position 14'],
    ['00.1a.2b.3c.4d.5e', 'expected ":" or "-" at position 2, got "."'],
    ['001a:2b3c:4d5e', '14 characters'],
    ['001a.2b3c-4d5e', 'expected "." at position 9'],
    ['0:1a:2b:3c:4d:5e', '16 characters'],
    ['000:1a:2b:3c:4d:5', 'expected ":" or "-" at position 2'],
    [' 00:1a:2b:3c:4d:5e', '18 characters'],
    ['00:1a:2b:3c:4d:5e ', '18 characters'],
    ['00:1a:2b:3c:4d: e', 'unexpected character " "'],
    ['+0:1a:2b:3c:4d:5e', 'unexpected character "+"'],
    ['00:1a:2b:3c:4d:ü5', 'unexpected character "ü"'],
    ['001a.2b3c.4d5', '13 characters'],
  ])('rejects %j (%s)', (text, fragment) => {
    let caught: unknown;
    try {
      parseMac(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AddressError);
    expect((caught as Error).message).toContain(`invalid MAC address ${JSON.stringify(text)}`);
    expect((caught as Error).message).toContain(fragment);
  });

  it.each([-1, 2 ** 48, 1.5, Number.NaN, Infinity])('formatMac rejects %s', (v) => {
    expect(() => formatMac(v)).toThrow(AddressError);
  });
});

describe('macFromBytes', () => {
  it.each([
    [[0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e], 0, '00:1a:2b:3c:4d:5e'],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 1, 'ff:ff:ff:ff:ff:ff'],
    [[9, 9, 0x80, 0, 0, 0, 0, 1], 2, '80:00:00:00:00:01'],
    [[0, 0, 0, 0, 0, 0], 0, '00:00:00:00:00:00'],
    [[0x02, 0x5e, 0xa1, 0x00, 0x00, 0x01], 0, '02:5e:a1:00:00:01'],
  ])('%j at %i → %s', (bytes, off, want) => {
    expect(formatMac(macFromBytes(Uint8Array.from(bytes), off))).toBe(want);
  });
});

describe('EUI-64', () => {
  it.each([
    ['fe80::204:61ff:fe9d:f156', '00:04:61:9d:f1:56'],
    ['2001:db8::21a:2bff:fe3c:4d5e', '00:1a:2b:3c:4d:5e'],
    ['2001:db8::a8bb:ccff:fedd:eeff', 'aa:bb:cc:dd:ee:ff'],
    ['2001:db8:1:2:0:ff:fe00:1', '02:00:00:00:00:01'], // locally administered MAC: U/L bit flips to 0
    ['fe80::fdff:ffff:feff:ffff', 'ff:ff:ff:ff:ff:ff'],
    ['fe80::200:ff:fe00:0', '00:00:00:00:00:00'],
    ['2600:1f18::5e:a1ff:fe00:1', '02:5e:a1:00:00:01'],
  ])('%s embeds %s', (a, mac) => {
    const addr = parseIP(a).addr;
    expect(isEui64(addr)).toBe(true);
    expect(formatMac(macFromEui64(addr)!)).toBe(mac);
    expect(Array.from(eui64InterfaceId(parseMac(mac)))).toEqual(Array.from(addr.subarray(8)));
  });

  it.each([
    ['00:1a:2b:3c:4d:5e', [0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e]],
    ['02:00:00:00:00:01', [0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01]],
    ['ff:ff:ff:ff:ff:ff', [0xfd, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff]],
  ])('eui64InterfaceId(%s)', (mac, id) => {
    expect(Array.from(eui64InterfaceId(parseMac(mac)))).toEqual(id);
  });

  it('builds an address from a /64 and a MAC and gets the MAC back', () => {
    const a = parseIP('2001:db8:1:2::').addr;
    a.set(eui64InterfaceId(parseMac('02:5e:a1:00:00:01')), 8);
    expect(formatIP(a)).toBe('2001:db8:1:2:5e:a1ff:fe00:1');
    expect(formatMac(macFromEui64(a)!)).toBe('02:5e:a1:00:00:01');
  });

  it.each(['2001:db8::1', 'fe80::1234:5678:9abc:def0', 'fe80::204:61fe:ff9d:f156', '::', '192.0.2.1', 'fe80::204:61ff:fd9d:f156'])(
    '%s is not EUI-64',
    (a) => {
      expect(isEui64(parseIP(a).addr)).toBe(false);
      expect(macFromEui64(parseIP(a).addr)).toBeNull();
    },
  );

  it.each([-1, 2 ** 48])('eui64InterfaceId rejects %s', (v) => {
    expect(() => eui64InterfaceId(v)).toThrow(AddressError);
  });
});
