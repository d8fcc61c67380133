import { describe, expect, it } from 'vitest';
import { classify, isLocalScope, SPECIAL_PREFIXES, type AddressClass } from '../../src/net/classify.js';
import { AddressError, addrToBigInt, bigIntToAddr, parseIP } from '../../src/net/ip.js';
import { parsePrefix, prefixContains, prefixRange, type Prefix } from '../../src/net/prefix.js';
import { xorshift32 } from '../helpers/rng.js';

describe('classify', () => {
  it.each([
    // IPv6 (RFC 6890 registry entries from REFERENCE.md)
    ['::', 6, 'unspecified'],
    ['::1', 6, 'loopback'],
    ['::2', 6, 'reserved'],
    ['::1.2.3.4', 6, 'reserved'], // deprecated IPv4-compatible
    ['::ffff:192.0.2.1', 6, 'ipv4-mapped'],
    ['::ffff:0.0.0.0', 6, 'ipv4-mapped'],
    ['::ffff:10.0.0.1', 6, 'ipv4-mapped'],
    ['::fffe:1.2.3.4', 6, 'reserved'],
    ['::1:ffff:1.2.3.4', 6, 'reserved'],
    ['64:ff9b::192.0.2.1', 6, 'nat64'],
    ['64:ff9b::', 6, 'nat64'],
    ['64:ff9b::ffff:ffff', 6, 'nat64'],
    ['64:ff9b::1:0:0', 6, 'reserved'], // outside /96, inside neither /48
    ['64:ff9b:1::1', 6, 'nat64-local'],
    ['64:ff9b:1:ffff:ffff:ffff:ffff:ffff', 6, 'nat64-local'],
    ['64:ff9b:2::1', 6, 'reserved'],
    ['64:ff9a::1', 6, 'reserved'],
    ['100::', 6, 'discard'],
    ['100::1', 6, 'discard'],
    ['100::ffff:ffff:ffff:ffff', 6, 'discard'],
    ['100:0:0:1::', 6, 'reserved'],
    ['101::', 6, 'reserved'],
    ['2001::', 6, 'teredo'],
    ['2001::1', 6, 'teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 6, 'teredo'],
    ['2001:1::1', 6, 'global-unicast'],
    ['2001:db8::1', 6, 'documentation'],
    ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 6, 'documentation'],
    ['2001:db9::1', 6, 'global-unicast'],
    ['2001:db7::1', 6, 'global-unicast'],
    ['3fff::1', 6, 'documentation'],
    ['3fff:fff::1', 6, 'documentation'],
    ['3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff', 6, 'documentation'],
    ['3fff:1000::1', 6, 'global-unicast'],
    ['3ffe::1', 6, 'global-unicast'],
    ['2002::', 6, '6to4'],
    ['2002:c000:201::1', 6, '6to4'],
    ['2002:ffff:ffff::1', 6, '6to4'],
    ['2003::1', 6, 'global-unicast'],
    ['fc00::1', 6, 'ula'],
    ['fd00::1', 6, 'ula'],
    ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, 'ula'],
    ['fbff::1', 6, 'reserved'],
    ['fe00::1', 6, 'reserved'],
    ['fe80::1', 6, 'link-local'],
    ['fe80::204:61ff:fe9d:f156', 6, 'link-local'],
    ['febf:ffff::1', 6, 'link-local'],
    ['fec0::1', 6, 'reserved'], // deprecated site-local
    ['ff00::', 6, 'multicast'],
    ['ff02::1', 6, 'multicast'],
    ['ff02::1:ff00:1', 6, 'multicast'],
    ['ff05::1:3', 6, 'multicast'],
    ['2000::', 6, 'global-unicast'],
    ['2600::1', 6, 'global-unicast'],
    ['2a00:1450::1', 6, 'global-unicast'],
    ['2001:4860:4860::8888', 6, 'global-unicast'],
    ['3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, 'global-unicast'],
    ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, 'reserved'],
    ['4000::1', 6, 'reserved'],
    ['e000::1', 6, 'reserved'],
    ['1::', 6, 'reserved'],
    // IPv4 (classified through the mapped bytes)
    ['0.0.0.0', 4, 'this-network'],
    ['0.1.2.3', 4, 'this-network'],
    ['0.255.255.255', 4, 'this-network'],
    ['1.0.0.0', 4, 'global-unicast'],
    ['10.0.0.0', 4, 'private'],
    ['10.1.2.3', 4, 'private'],
    ['10.255.255.255', 4, 'private'],
    ['11.0.0.0', 4, 'global-unicast'],
    ['172.15.255.255', 4, 'global-unicast'],
    ['172.16.0.1', 4, 'private'],
    ['172.31.255.255', 4, 'private'],
    ['172.32.0.1', 4, 'global-unicast'],
    ['192.168.0.0', 4, 'private'],
    ['192.168.1.1', 4, 'private'],
    ['192.169.0.1', 4, 'global-unicast'],
    ['100.63.255.255', 4, 'global-unicast'],
    ['100.64.0.1', 4, 'shared'],
    ['100.127.255.255', 4, 'shared'],
    ['100.128.0.1', 4, 'global-unicast'],
    ['127.0.0.1', 4, 'loopback'],
    ['127.255.255.254', 4, 'loopback'],
    ['169.254.1.1', 4, 'link-local'],
    ['169.253.1.1', 4, 'global-unicast'],
    ['169.255.1.1', 4, 'global-unicast'],
    ['192.0.2.1', 4, 'documentation'],
    ['192.0.3.1', 4, 'global-unicast'],
    ['198.51.100.1', 4, 'documentation'],
    ['198.51.101.1', 4, 'global-unicast'],
    ['203.0.113.12', 4, 'documentation'],
    ['203.0.114.12', 4, 'global-unicast'],
    ['198.17.255.255', 4, 'global-unicast'],
    ['198.18.0.1', 4, 'benchmarking'],
    ['198.19.255.1', 4, 'benchmarking'],
    ['198.20.0.1', 4, 'global-unicast'],
    ['223.255.255.255', 4, 'global-unicast'],
    ['224.0.0.251', 4, 'multicast'],
    ['239.255.255.250', 4, 'multicast'],
    ['240.0.0.1', 4, 'reserved'],
    ['254.255.255.255', 4, 'reserved'],
    ['255.255.255.254', 4, 'reserved'],
    ['255.255.255.255', 4, 'broadcast'],
    ['8.8.8.8', 4, 'global-unicast'],
    ['1.1.1.1', 4, 'global-unicast'],
    ['::ffff:10.0.0.1', 4, 'private'], // family 4: the IPv4 part of mapped bytes
  ] as [string, 4 | 6, AddressClass][])('%s (IPv%s) is %s', (a, fam, cls) => {
    expect(classify(parseIP(a).addr, fam)).toBe(cls);
  });

  it.each(['2001:db8::1', '::', '::1.2.3.4', '64:ff9b::192.0.2.1'])('classify(%s, 4) throws: not IPv4-mapped', (a) => {
    expect(() => classify(parseIP(a).addr, 4)).toThrow(AddressError);
  });
});

describe('isLocalScope', () => {
  it.each([
    ['10.0.0.1', 4, true],
    ['172.20.1.1', 4, true],
    ['192.168.1.1', 4, true],
    ['100.64.0.1', 4, true],
    ['127.0.0.1', 4, true],
    ['169.254.1.1', 4, true],
    ['fd00::1', 6, true],
    ['fc00::1', 6, true],
    ['fe80::1', 6, true],
    ['::1', 6, true],
    ['::', 6, true],
    ['8.8.8.8', 4, false],
    ['192.0.2.1', 4, false],
    ['224.0.0.1', 4, false],
    ['255.255.255.255', 4, false],
    ['0.0.0.0', 4, false],
    ['2001:db8::1', 6, false],
    ['2600::1', 6, false],
    ['ff02::1', 6, false],
    ['::ffff:10.0.0.1', 6, false], // as IPv6 it is 'ipv4-mapped'
    ['64:ff9b::10.0.0.1', 6, false],
  ] as [string, 4 | 6, boolean][])('isLocalScope(%s, %s) = %s', (a, f, want) => {
    expect(isLocalScope(parseIP(a).addr, f)).toBe(want);
  });
});

// Slow reference: the most specific SPECIAL_PREFIXES entry containing the address.
const TABLE: { p: Prefix; cls: AddressClass; prefix: string }[] = SPECIAL_PREFIXES.map((s) => ({
  p: parsePrefix(s.prefix, { strict: true }),
  cls: s.cls,
  prefix: s.prefix,
}));
function reference(addr: Uint8Array, family: 4 | 6): AddressClass {
  let best: { cls: AddressClass; len: number } | null = null;
  for (const { p, cls } of TABLE) {
    if (p.family === family && prefixContains(p, addr, family) && (best === null || p.length > best.len)) best = { cls, len: p.length };
  }
  return best?.cls ?? (family === 4 ? 'global-unicast' : 'reserved');
}

describe('SPECIAL_PREFIXES', () => {
  it.each(SPECIAL_PREFIXES.map((s) => [s.prefix, s.cls, s.family, s] as const))('%s (%s) is well formed', (prefix, _cls, family, s) => {
    const p = parsePrefix(prefix, { strict: true });
    expect(p.family).toBe(family);
    expect(s.rfc).toMatch(/^RFC \d+$/);
    expect(s.name.length).toBeGreaterThan(0);
  });

  it('has no duplicate prefixes', () => {
    expect(new Set(SPECIAL_PREFIXES.map((s) => s.prefix)).size).toBe(SPECIAL_PREFIXES.length);
  });

  it.each(TABLE.map((t) => [t.prefix, t.cls, t.p] as const))(
    'classify agrees with the table at the edges of %s (%s)',
    (_prefix, cls, p) => {
      const { first, last } = prefixRange(p);
      // Bounds and the addresses just outside them.
      const probes = [first, last];
      const lo = addrToBigInt(first);
      const hi = addrToBigInt(last);
      if (lo > 0n) probes.push(bigIntToAddr(lo - 1n));
      if (hi < (1n << 128n) - 1n) probes.push(bigIntToAddr(hi + 1n));
      for (const a of probes) {
        const fam = p.family === 4 && a[10] === 0xff && a[11] === 0xff && a.subarray(0, 10).every((b) => b === 0) ? 4 : 6;
        expect(classify(a, fam)).toBe(reference(a, fam));
      }
      // The bounds themselves are in the class unless a more specific entry covers them.
      expect([cls, reference(first, p.family)]).toContain(classify(first, p.family));
      expect(classify(first, p.family)).toBe(reference(first, p.family));
    },
  );

  it('classify agrees with the table on 20000 random addresses near the special prefixes', () => {
    const next = xorshift32(6890);
    for (let n = 0; n < 20000; n++) {
      const base = TABLE[next() % TABLE.length]!.p;
      const a = Uint8Array.from(base.addr);
      // keep a random number of the prefix's leading bits, randomise the rest
      const keep = (base.family === 4 ? 96 : 0) + (next() % ((base.family === 4 ? 32 : 128) + 1));
      for (let bit = keep; bit < 128; bit++) if (next() & 1) a[bit >> 3]! ^= 0x80 >> (bit & 7);
      const mapped = a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff;
      expect(classify(a, 6)).toBe(reference(a, 6));
      if (mapped) expect(classify(a, 4)).toBe(reference(a, 4));
    }
  });
});
