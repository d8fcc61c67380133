import { describe, expect, it } from 'vitest';
import { AddressError, formatIP, parseIP } from '../../src/net/ip.js';
import { aggregate, formatPrefix, maskAddr, parsePrefix, prefixContains, prefixRange } from '../../src/net/prefix.js';

function expectPrefixError(text: string, fragment: string, strict = false): void {
  let caught: unknown;
  try {
    parsePrefix(text, { strict });
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(AddressError);
  expect((caught as Error).message).toContain(`invalid prefix ${JSON.stringify(text)}`);
  expect((caught as Error).message).toContain(fragment);
}

describe('parsePrefix / formatPrefix', () => {
  it.each([
    ['2001:db8::/32', '2001:db8::/32', 6, 32],
    ['2001:db8:1:2::/64', '2001:db8:1:2::/64', 6, 64],
    ['2001:db8:1:2:3::/64', '2001:db8:1:2::/64', 6, 64],
    ['2001:DB8:0:0:0:0:0:0/48', '2001:db8::/48', 6, 48],
    ['192.0.2.0/24', '192.0.2.0/24', 4, 24],
    ['192.0.2.77/24', '192.0.2.0/24', 4, 24],
    ['192.0.2.255/31', '192.0.2.254/31', 4, 31],
    ['192.0.2.1/32', '192.0.2.1/32', 4, 32],
    ['10.1.2.3/8', '10.0.0.0/8', 4, 8],
    ['172.31.255.255/12', '172.16.0.0/12', 4, 12],
    ['255.255.255.255/1', '128.0.0.0/1', 4, 1],
    ['0.0.0.0/0', '0.0.0.0/0', 4, 0],
    ['1.2.3.4/0', '0.0.0.0/0', 4, 0],
    ['::/0', '::/0', 6, 0],
    ['ffff::/0', '::/0', 6, 0],
    ['8000::/1', '8000::/1', 6, 1],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127', 6, 127],
    ['192.0.2.1', '192.0.2.1/32', 4, 32],
    ['2001:db8::1', '2001:db8::1/128', 6, 128],
    ['fe80::/10', 'fe80::/10', 6, 10],
    ['fe80::1/10', 'fe80::/10', 6, 10],
    ['febf:ffff::/10', 'fe80::/10', 6, 10],
    ['2001:db8:abcd:12ff::/60', '2001:db8:abcd:12f0::/60', 6, 60],
    ['3fff::/20', '3fff::/20', 6, 20],
    ['64:ff9b::/96', '64:ff9b::/96', 6, 96],
    ['::ffff:0:0/96', '::ffff:0.0.0.0/96', 6, 96],
    ['::ffff:192.0.2.0/120', '::ffff:192.0.2.0/120', 6, 120],
    // RFC 4291 §2.3: legal representations of the 60-bit prefix 20010DB80000CD3
    ['2001:0DB8:0000:CD30:0000:0000:0000:0000/60', '2001:db8:0:cd30::/60', 6, 60],
    ['2001:0DB8::CD30:0:0:0:0/60', '2001:db8:0:cd30::/60', 6, 60],
    ['2001:0DB8:0:CD30::/60', '2001:db8:0:cd30::/60', 6, 60],
    // …and "node address and prefix length" in one text (RFC 4291 §2.3)
    ['2001:0DB8:0:CD30:123:4567:89AB:CDEF/60', '2001:db8:0:cd30::/60', 6, 60],
    // RFC 4291 §2.3 "not legal representations" of that prefix: these parse, but as another prefix
    ['2001:0DB8::CD30/60', '2001:db8::/60', 6, 60],
    ['2001:0DB8::CD3/60', '2001:db8::/60', 6, 60],
  ] as [string, string, 4 | 6, number][])('%s → %s', (input, out, family, length) => {
    const p = parsePrefix(input);
    expect(p.family).toBe(family);
    expect(p.length).toBe(length);
    expect(p.addr).toHaveLength(16);
    expect(formatPrefix(p)).toBe(out);
    // round trip
    const again = parsePrefix(out, { strict: true });
    expect(again).toEqual(p);
  });

  it('stores IPv4 prefixes in the mapped space', () => {
    const p = parsePrefix('192.0.2.0/24');
    expect(formatIP(p.addr)).toBe('::ffff:192.0.2.0');
    expect(p.length).toBe(24);
  });

  it.each([
    ['2001:db8::/129', 'length 129 is out of range 0-128'],
    ['192.0.2.0/33', 'length 33 is out of range 0-32'],
    ['192.0.2.0/1000', 'out of range 0-32'],
    ['192.0.2.0/', 'empty length'],
    ['192.0.2.0/-1', 'is not a decimal number'],
    ['192.0.2.0/24/8', 'is not a decimal number'],
    ['192.0.2.0/ 24', 'is not a decimal number'],
    ['192.0.2.0/24 ', 'is not a decimal number'],
    ['2001:db8::/3a', 'is not a decimal number'],
    ['2001:db8::/032', 'has a leading zero'],
    ['10.0.0.0/08', 'has a leading zero'],
    ['x/8', 'address "x"'],
    ['192.0.2.0 /24', 'whitespace'],
    ['1.2.3/24', '3 parts instead of 4'],
    ['256.0.0.0/8', 'greater than 255'],
    ['010.0.0.0/8', 'leading zero'],
    ['', 'empty'],
    ['/24', 'empty'],
    ['fe80::1%eth0/64', 'zone IDs are not allowed'],
    ['fe80::1%eth0', 'zone IDs are not allowed'],
    ['[2001:db8::]/32', 'brackets are not allowed'],
    ['192.0.2.0:80/24', 'unexpected character ":"'],
    ['2001:0DB8:0:CD3/60', '4 groups without "::"'], // RFC 4291 §2.3: not legal
    ['1::2::3/64', '"::" appears more than once'],
  ])('rejects %j (%s)', (text, fragment) => expectPrefixError(text, fragment));

  it.each([
    ['192.0.2.1/24', '(the network is 192.0.2.0/24)'],
    ['2001:db8::1/64', '(the network is 2001:db8::/64)'],
    ['2001:0DB8::CD30/60', '(the network is 2001:db8::/60)'],
    ['fe80::1/10', '(the network is fe80::/10)'],
    ['1.0.0.0/0', '(the network is 0.0.0.0/0)'],
    ['11.0.0.0/7', '(the network is 10.0.0.0/7)'],
    ['::1/127', '(the network is ::/127)'],
  ])('strict rejects host bits in %s', (text, fragment) => {
    expectPrefixError(text, `host bits are set ${fragment}`, true);
    // …which the default mode clears
    expect(formatPrefix(parsePrefix(text))).toBe(fragment.slice('(the network is '.length, -1));
  });

  it.each(['192.0.2.0/24', '2001:db8::/64', '0.0.0.0/0', '::/0', '10.0.0.0/7', '192.0.2.1', '::1', 'fe80::/10', '::1/128'])(
    'strict accepts %s',
    (text) => expect(() => parsePrefix(text, { strict: true })).not.toThrow(),
  );
});

describe('prefixContains', () => {
  it.each([
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db8::', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['2001:db8::/32', '2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', false],
    ['192.0.2.0/24', '192.0.2.200', true],
    ['192.0.2.0/24', '192.0.2.0', true],
    ['192.0.2.0/24', '192.0.2.255', true],
    ['192.0.2.0/24', '192.0.3.1', false],
    ['192.0.2.0/24', '192.0.1.255', false],
    ['192.0.2.0/24', '::ffff:192.0.2.1', true], // same bytes: pass a family to tell them apart
    ['192.0.2.0/24', '::192.0.2.1', false], // IPv4-compatible is not IPv4
    ['0.0.0.0/0', '2001:db8::1', false],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['::/0', '192.0.2.1', true],
    ['::/0', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['fe80::/10', 'fe80::1', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['fe80::/10', 'fe7f::1', false],
    ['2001:db8:abcd:12f0::/60', '2001:db8:abcd:12ff::1', true],
    ['2001:db8:abcd:12f0::/60', '2001:db8:abcd:1300::1', false],
    ['10.0.0.0/7', '11.255.255.255', true],
    ['10.0.0.0/7', '12.0.0.0', false],
    ['198.18.0.0/15', '198.19.1.1', true],
    ['198.18.0.0/15', '198.20.0.0', false],
    ['2001:db8::1', '2001:db8::1', true],
    ['2001:db8::1', '2001:db8::2', false],
    ['192.0.2.1/32', '192.0.2.1', true],
    ['::ffff:0:0/96', '1.2.3.4', true],
  ])('%s contains %s: %s', (p, a, want) => {
    expect(prefixContains(parsePrefix(p), parseIP(a).addr)).toBe(want);
  });

  it.each([
    ['192.0.2.0/24', '::ffff:192.0.2.1', 6, false],
    ['192.0.2.0/24', '192.0.2.1', 4, true],
    ['192.0.2.0/24', '192.0.3.1', 4, false],
    ['::/0', '192.0.2.1', 4, false],
    ['::/0', '::ffff:192.0.2.1', 6, true],
    ['::ffff:0:0/96', '192.0.2.1', 4, false],
    ['0.0.0.0/0', '2001:db8::1', 4, false], // family 4 but not mapped bytes
    ['2001:db8::/32', '2001:db8::1', 6, true],
    ['2001:db8::/32', '2001:db8::1', 4, false],
  ] as [string, string, 4 | 6, boolean][])('%s contains %s as IPv%s: %s', (p, a, family, want) => {
    expect(prefixContains(parsePrefix(p), parseIP(a).addr, family)).toBe(want);
  });
});

describe('prefixRange', () => {
  it.each([
    ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['192.0.2.0/24', '::ffff:192.0.2.0', '::ffff:192.0.2.255'],
    ['192.0.2.77/30', '::ffff:192.0.2.76', '::ffff:192.0.2.79'],
    ['10.0.0.0/7', '::ffff:10.0.0.0', '::ffff:11.255.255.255'],
    ['0.0.0.0/0', '::ffff:0.0.0.0', '::ffff:255.255.255.255'],
    ['192.0.2.1', '::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['2001:db8:0:10::/60', '2001:db8:0:10::', '2001:db8:0:1f:ffff:ffff:ffff:ffff'],
    ['fe80::/10', 'fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::/0', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::/1', '::', '7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['2001:db8::1/128', '2001:db8::1', '2001:db8::1'],
    ['2001:db8::/127', '2001:db8::', '2001:db8::1'],
  ])('range of %s is %s … %s', (p, first, last) => {
    const prefix = parsePrefix(p);
    const r = prefixRange(prefix);
    expect(formatIP(r.first)).toBe(first);
    expect(formatIP(r.last)).toBe(last);
    expect(prefixContains(prefix, r.first)).toBe(true);
    expect(prefixContains(prefix, r.last)).toBe(true);
  });
});

describe('maskAddr', () => {
  const ALL = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
  it.each([
    [ALL, 6, 0, '::'],
    [ALL, 6, 1, '8000::'],
    [ALL, 6, 7, 'fe00::'],
    [ALL, 6, 9, 'ff80::'],
    [ALL, 6, 65, 'ffff:ffff:ffff:ffff:8000::'],
    [ALL, 6, 127, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe'],
    [ALL, 6, 128, ALL],
    ['2001:db8:1:2:3:4:5:6', 6, 48, '2001:db8:1::'],
    ['2001:db8:1:2:3:4:5:6', 6, 64, '2001:db8:1:2::'],
    ['203.0.113.77', 4, 0, '0.0.0.0'],
    ['203.0.113.77', 4, 1, '128.0.0.0'],
    ['203.0.113.77', 4, 8, '203.0.0.0'],
    ['203.0.113.77', 4, 20, '203.0.112.0'],
    ['203.0.113.77', 4, 25, '203.0.113.0'],
    ['203.0.113.77', 4, 26, '203.0.113.64'],
    ['203.0.113.77', 4, 31, '203.0.113.76'],
    ['203.0.113.77', 4, 32, '203.0.113.77'],
  ] as [string, 4 | 6, number, string][])('mask %s (IPv%s) to %i bits → %s', (a, family, bits, want) => {
    const addr = parseIP(a).addr;
    const before = Uint8Array.from(addr);
    expect(formatIP(maskAddr(addr, family, bits), family)).toBe(want);
    expect(addr).toEqual(before); // input untouched
  });

  it.each([
    [6, 129],
    [4, 33],
    [4, -1],
    [6, 1.5],
    [6, Number.NaN],
  ] as [4 | 6, number][])('IPv%s rejects %s bits', (family, bits) => {
    expect(() => maskAddr(parseIP('::ffff:1.2.3.4').addr, family, bits)).toThrow(AddressError);
  });
});

describe('aggregate', () => {
  it.each([
    ['2001:db8:1:2:3:4:5:6', 6, 64, 24, '2001:db8:1:2::'],
    ['2001:db8:1:2:3:4:5:6', 6, 48, 24, '2001:db8:1::'],
    ['2001:db8:1:2:3:4:5:6', 6, 56, 24, '2001:db8:1::'],
    ['2001:db8:1:2ff:3:4:5:6', 6, 56, 24, '2001:db8:1:200::'],
    ['fe80::204:61ff:fe9d:f156', 6, 64, 24, 'fe80::'],
    ['203.0.113.77', 4, 64, 24, '203.0.113.0'],
    ['203.0.113.77', 4, 64, 16, '203.0.0.0'],
    ['203.0.113.77', 4, 64, 30, '203.0.113.76'],
    ['203.0.113.77', 4, 48, 32, '203.0.113.77'],
  ] as [string, 4 | 6, number, number, string][])('aggregate %s (IPv%s, /%i, /%i) → %s', (a, fam, v6, v4, want) => {
    expect(formatIP(aggregate(parseIP(a).addr, fam, v6, v4), fam)).toBe(want);
  });

  it.each([
    ['2001:db8:1:2:3:4:5:6', 6, '2001:db8:1:2::'],
    ['203.0.113.77', 4, '203.0.113.0'],
    ['::ffff:203.0.113.77', 6, '::'],
  ] as [string, 4 | 6, string][])('default aggregate of %s (IPv%s) is /64 or /24: %s', (a, fam, want) => {
    expect(formatIP(aggregate(parseIP(a).addr, fam), fam)).toBe(want);
  });
});
