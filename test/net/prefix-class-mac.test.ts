import { describe, expect, it } from 'vitest';
import { classify, isLocalScope } from '../../src/net/classify.js';
import { AddressError, formatIP, parseIP } from '../../src/net/ip.js';
import { eui64InterfaceId, formatMac, isEui64, macFromEui64, parseMac } from '../../src/net/mac.js';
import { aggregate, formatPrefix, parsePrefix, prefixContains, prefixRange } from '../../src/net/prefix.js';

describe('prefixes', () => {
  it.each([
    ['2001:db8::/32', '2001:db8::/32'],
    ['2001:db8:1:2::/64', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3::/64', '2001:db8:1:2::/64'],
    ['192.0.2.0/24', '192.0.2.0/24'],
    ['192.0.2.77/24', '192.0.2.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['::/0', '::/0'],
    ['192.0.2.1', '192.0.2.1/32'],
    ['2001:db8::1', '2001:db8::1/128'],
    ['fe80::/10', 'fe80::/10'],
    ['fe80::1/10', 'fe80::/10'],
    ['172.31.255.255/12', '172.16.0.0/12'],
    ['2001:db8:abcd:12ff::/60', '2001:db8:abcd:12f0::/60'],
  ])('%s → %s', (input, out) => expect(formatPrefix(parsePrefix(input))).toBe(out));

  it.each(['2001:db8::/129', '192.0.2.0/33', '192.0.2.0/', '192.0.2.0/-1', 'x/8', '2001:db8::/3a', 'fe80::1%eth0/64'])('rejects %s', (t) => {
    expect(() => parsePrefix(t)).toThrow(AddressError);
  });

  it('strict mode rejects host bits', () => {
    expect(() => parsePrefix('192.0.2.1/24', { strict: true })).toThrow(/host bits/);
    expect(formatPrefix(parsePrefix('192.0.2.0/24', { strict: true }))).toBe('192.0.2.0/24');
  });

  it.each([
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['192.0.2.0/24', '192.0.2.200', true],
    ['192.0.2.0/24', '192.0.3.1', false],
    ['192.0.2.0/24', '::ffff:192.0.2.1', true], // same bytes: family decides below
    ['0.0.0.0/0', '2001:db8::1', false],
    ['::/0', '192.0.2.1', true],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['2001:db8:abcd:12f0::/60', '2001:db8:abcd:12ff::1', true],
    ['2001:db8:abcd:12f0::/60', '2001:db8:abcd:1300::1', false],
  ])('%s contains %s: %s', (p, a, want) => {
    const parsed = parseIP(a);
    expect(prefixContains(parsePrefix(p), parsed.addr)).toBe(want);
  });

  it('family-aware containment', () => {
    const p = parsePrefix('192.0.2.0/24');
    expect(prefixContains(p, parseIP('::ffff:192.0.2.1').addr, 6)).toBe(false);
    expect(prefixContains(p, parseIP('192.0.2.1').addr, 4)).toBe(true);
  });

  it.each([
    ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['192.0.2.0/24', '::ffff:192.0.2.0', '::ffff:192.0.2.255'],
    ['2001:db8:0:10::/60', '2001:db8:0:10::', '2001:db8:0:1f:ffff:ffff:ffff:ffff'],
    ['::/0', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ])('range of %s', (p, first, last) => {
    const r = prefixRange(parsePrefix(p));
    expect(formatIP(r.first)).toBe(first);
    expect(formatIP(r.last)).toBe(last);
  });

  it.each([
    ['2001:db8:1:2:3:4:5:6', 6, 64, 24, '2001:db8:1:2::'],
    ['2001:db8:1:2:3:4:5:6', 6, 48, 24, '2001:db8:1::'],
    ['2001:db8:1:2:3:4:5:6', 6, 56, 24, '2001:db8:1::'],
    ['2001:db8:1:2ff:3:4:5:6', 6, 56, 24, '2001:db8:1:200::'],
    ['203.0.113.77', 4, 64, 24, '203.0.113.0'],
    ['203.0.113.77', 4, 64, 16, '203.0.0.0'],
    ['203.0.113.77', 4, 64, 30, '203.0.113.76'],
  ] as const)('aggregate %s', (a, fam, v6, v4, want) => {
    expect(formatIP(aggregate(parseIP(a).addr, fam, v6, v4), fam)).toBe(want);
  });
});

describe('classify', () => {
  it.each([
    ['::', 6, 'unspecified'],
    ['::1', 6, 'loopback'],
    ['::ffff:192.0.2.1', 6, 'ipv4-mapped'],
    ['64:ff9b::192.0.2.1', 6, 'nat64'],
    ['64:ff9b:1::1', 6, 'nat64-local'],
    ['100::1', 6, 'discard'],
    ['2001::1', 6, 'teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 6, 'teredo'],
    ['2001:db8::1', 6, 'documentation'],
    ['3fff::1', 6, 'documentation'],
    ['3fff:fff::1', 6, 'documentation'],
    ['3fff:1000::1', 6, 'global-unicast'],
    ['2002:c000:201::1', 6, '6to4'],
    ['fd00::1', 6, 'ula'],
    ['fc00::1', 6, 'ula'],
    ['fe80::1', 6, 'link-local'],
    ['ff02::1', 6, 'multicast'],
    ['2600::1', 6, 'global-unicast'],
    ['2a00:1450::1', 6, 'global-unicast'],
    ['4000::1', 6, 'reserved'],
    ['0.1.2.3', 4, 'this-network'],
    ['10.1.2.3', 4, 'private'],
    ['172.16.0.1', 4, 'private'],
    ['172.31.255.255', 4, 'private'],
    ['172.32.0.1', 4, 'global-unicast'],
    ['192.168.1.1', 4, 'private'],
    ['100.64.0.1', 4, 'shared'],
    ['100.127.255.255', 4, 'shared'],
    ['100.128.0.1', 4, 'global-unicast'],
    ['127.0.0.1', 4, 'loopback'],
    ['169.254.1.1', 4, 'link-local'],
    ['192.0.2.1', 4, 'documentation'],
    ['198.51.100.1', 4, 'documentation'],
    ['203.0.113.12', 4, 'documentation'],
    ['198.18.0.1', 4, 'benchmarking'],
    ['198.19.255.1', 4, 'benchmarking'],
    ['224.0.0.251', 4, 'multicast'],
    ['239.255.255.250', 4, 'multicast'],
    ['240.0.0.1', 4, 'reserved'],
    ['255.255.255.255', 4, 'broadcast'],
    ['8.8.8.8', 4, 'global-unicast'],
  ] as const)('%s is %s', (a, fam, cls) => expect(classify(parseIP(a).addr, fam)).toBe(cls));

  it.each([
    ['10.0.0.1', 4, true],
    ['fd00::1', 6, true],
    ['fe80::1', 6, true],
    ['8.8.8.8', 4, false],
    ['2001:db8::1', 6, false],
  ] as const)('isLocalScope %s = %s', (a, f, want) => expect(isLocalScope(parseIP(a).addr, f)).toBe(want));
});

describe('MAC and EUI-64', () => {
  it.each([
    ['00:1a:2b:3c:4d:5e', '00:1a:2b:3c:4d:5e'],
    ['00-1A-2B-3C-4D-5E', '00:1a:2b:3c:4d:5e'],
    ['001a.2b3c.4d5e', '00:1a:2b:3c:4d:5e'],
    ['001A2B3C4D5E', '00:1a:2b:3c:4d:5e'],
    ['ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff'],
    ['02:00:00:00:00:01', '02:00:00:00:00:01'],
  ])('parseMac %s', (t, want) => expect(formatMac(parseMac(t))).toBe(want));

  it.each(['00:1a:2b:3c:4d', '00:1a:2b:3c:4d:5e:6f', 'zz:1a:2b:3c:4d:5e', '00:1a-2b:3c:4d:5e', ''])('rejects %j', (t) => {
    expect(() => parseMac(t)).toThrow(AddressError);
  });

  it.each([
    ['fe80::204:61ff:fe9d:f156', '00:04:61:9d:f1:56'],
    ['2001:db8::21a:2bff:fe3c:4d5e', '00:1a:2b:3c:4d:5e'],
    ['2001:db8::a8bb:ccff:fedd:eeff', 'aa:bb:cc:dd:ee:ff'],
  ])('EUI-64 %s embeds %s', (a, mac) => {
    const addr = parseIP(a).addr;
    expect(isEui64(addr)).toBe(true);
    expect(formatMac(macFromEui64(addr)!)).toBe(mac);
    expect(Buffer.from(eui64InterfaceId(parseMac(mac))).equals(Buffer.from(addr.subarray(8)))).toBe(true);
  });

  it.each(['2001:db8::1', 'fe80::1234:5678:9abc:def0'])('%s is not EUI-64', (a) => {
    expect(isEui64(parseIP(a).addr)).toBe(false);
    expect(macFromEui64(parseIP(a).addr)).toBeNull();
  });
});
