import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import { formatMac } from '../../../src/net/mac.js';
import { detectFormat, importNeighbors, type ImportResult, type NeighborFact } from '../../../src/enrich/identity/import/index.js';
import * as F from './fixtures.js';

/** A fact with the MAC and address as text, for readable expectations. */
function view(f: NeighborFact): Record<string, unknown> {
  return { ...f, mac: formatMac(f.mac), addr: formatIP(f.addr, f.family) };
}
function views(r: ImportResult): Record<string, unknown>[] {
  return r.facts.map(view);
}
const T = (iso: string): number => Date.parse(iso);

describe('ip neigh', () => {
  it('parses `ip neigh show nud all` text', () => {
    const r = importNeighbors(F.IP_NEIGH);
    expect(r.format).toBe('ip-neigh');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '00:0d:b9:4f:2a:10', addr: '192.168.1.1', family: 4, source: 'ip-neigh', state: 'REACHABLE', line: 1 },
      { mac: 'd4:ca:6d:01:02:03', addr: '192.168.1.23', family: 4, source: 'ip-neigh', state: 'STALE', line: 2 },
      { mac: '00:0d:b9:4f:2a:10', addr: 'fe80::20d:b9ff:fe4f:2a10', family: 6, source: 'ip-neigh', state: 'REACHABLE', isRouter: true, line: 5 },
      { mac: '00:0d:b9:4f:2a:10', addr: '2001:db8:4a1:10::1', family: 6, source: 'ip-neigh', state: 'STALE', isRouter: true, line: 6 },
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10:d6ca:6dff:fe01:203', family: 6, source: 'ip-neigh', state: 'DELAY', line: 7 },
      { mac: '3a:1b:22:c4:5d:6e', addr: 'fe80::1c2b:3a4f:5e6d:7c8b', family: 6, source: 'ip-neigh', state: 'PROBE', line: 8 },
      { mac: '52:54:00:12:34:56', addr: '10.0.0.254', family: 4, source: 'ip-neigh', state: 'PERMANENT', line: 9 },
    ]);
    // FAILED, INCOMPLETE, proxy, the multicast NOARP mapping and the loopback all-zero MAC.
    expect(r.skipped).toBe(5);
    expect(r.skipReasons).toEqual({
      'no link-layer address (FAILED/INCOMPLETE)': 2,
      'proxy entry': 1,
      'multicast address': 1,
      'all-zero MAC': 1,
    });
  });

  it('gives IPv4 as IPv4-mapped bytes', () => {
    const f = importNeighbors(F.IP_NEIGH).facts[0]!;
    expect(Array.from(f.addr)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 1]);
    expect(f.mac).toBe(0x000db94f2a10);
  });

  it('reads `ip -s neigh show dev X` (no dev, statistics) and dates seenAt from `now`', () => {
    const now = T('2024-03-01T12:00:00Z');
    const r = importNeighbors(F.IP_NEIGH_STATS, { now });
    expect(r.format).toBe('ip-neigh');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '00:0d:b9:4f:2a:10', addr: '192.168.1.1', family: 4, source: 'ip-neigh', state: 'REACHABLE', seenAt: now - 7000, line: 1 },
      { mac: 'd4:ca:6d:01:02:03', addr: '192.168.1.23', family: 4, source: 'ip-neigh', state: 'STALE', seenAt: now - 240_000, line: 2 },
    ]);
    expect(importNeighbors(F.IP_NEIGH_STATS).facts.every((f) => f.seenAt === undefined)).toBe(true);
  });

  it('parses `ip -j neigh show` JSON', () => {
    const r = importNeighbors(F.IP_NEIGH_JSON);
    expect(r.format).toBe('ip-neigh-json');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '00:0d:b9:4f:2a:10', addr: '192.168.1.1', family: 4, source: 'ip-neigh', state: 'REACHABLE', line: 1 },
      { mac: '00:0d:b9:4f:2a:10', addr: 'fe80::20d:b9ff:fe4f:2a10', family: 6, source: 'ip-neigh', state: 'REACHABLE', isRouter: true, line: 1 },
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10:d6ca:6dff:fe01:203', family: 6, source: 'ip-neigh', state: 'DELAY', line: 1 },
    ]);
    expect(r.skipReasons).toEqual({ 'no link-layer address (FAILED/INCOMPLETE)': 1, 'proxy entry': 1 });
  });

  it('gives pretty JSON elements the line they start on', () => {
    const now = 1_000_000;
    const r = importNeighbors(F.IP_NEIGH_JSON_PRETTY, { now });
    expect(r.format).toBe('ip-neigh-json');
    expect(views(r)).toEqual([
      { mac: '00:0d:b9:4f:2a:10', addr: '192.168.1.1', family: 4, source: 'ip-neigh', state: 'REACHABLE', seenAt: now - 7000, line: 1 },
      { mac: '00:0d:b9:4f:2a:10', addr: 'fe80::20d:b9ff:fe4f:2a10', family: 6, source: 'ip-neigh', state: 'STALE', isRouter: true, seenAt: now - 20_000, line: 11 },
    ]);
  });

  it('reports malformed lines with their numbers and keeps going', () => {
    const text = [
      '192.168.1.1 dev eth0 lladdr 00:0d:b9:4f:2a:10 REACHABLE',
      '192.168.1.300 dev eth0 lladdr 00:0d:b9:4f:2a:11 STALE',
      '192.168.1.2 dev eth0 lladdr 00:0d:b9:4f:2a:zz STALE',
      '192.168.1.3 dev eth0 lladdr',
      'fe80::1 dev eth0 lladdr 00:0d:b9:4f:2a:12 router 42 STALE',
      '192.168.1.4 dev gre1 lladdr 203.0.113.9 REACHABLE',
      '192.168.1.5 dev eth0 lladdr 00:0d:b9:4f:2a:13 STALE',
    ].join('\n');
    const r = importNeighbors(text, { format: 'ip-neigh' });
    expect(r.facts.map((f) => f.line)).toEqual([1, 7]);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(r.errors[0]!.message).toContain('192.168.1.300');
    expect(r.errors[0]!.text).toBe('192.168.1.300 dev eth0 lladdr 00:0d:b9:4f:2a:11 STALE');
    expect(r.errors[2]!.message).toContain('lladdr');
    expect(r.skipReasons).toEqual({ 'link-layer address is not a 48-bit MAC': 1 });
  });

  it('reports broken JSON at the right line', () => {
    const r = importNeighbors('[ {\n  "dst": "192.168.1.1",\n  "lladdr": "00:0d:b9:4f:2a:10" \n  "state": ["STALE"] } ]', { format: 'ip-neigh-json' });
    expect(r.facts).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.line).toBe(4);
  });
});

describe('MikroTik RouterOS', () => {
  it('parses v6 `/ip arp print` columns with flags and a blank MAC', () => {
    const r = importNeighbors(F.ROS6_ARP);
    expect(r.format).toBe('mikrotik');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: '192.168.88.1', family: 4, source: 'mikrotik-arp', line: 4 },
      { mac: 'd4:ca:6d:01:02:03', addr: '192.168.88.10', family: 4, source: 'mikrotik-arp', line: 5 },
      { mac: '00:0c:42:aa:bb:cc', addr: '192.168.88.5', family: 4, source: 'mikrotik-arp', line: 7 },
    ]);
    expect(r.skipReasons).toEqual({
      prompt: 1,
      header: 2,
      'no MAC (incomplete/failed)': 1,
      'disabled entry': 1,
      'published (proxy-ARP) entry': 1,
    });
    expect(r.skipped).toBe(6);
  });

  it('parses v6 `/ipv6 neighbor print` with the R flag and statuses', () => {
    const r = importNeighbors(F.ROS6_ND);
    expect(r.format).toBe('mikrotik');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: 'fe80::4e5e:cff:fe11:2233', family: 6, source: 'mikrotik-nd', state: 'STALE', isRouter: true, line: 3 },
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10:d6ca:6dff:fe01:203', family: 6, source: 'mikrotik-nd', state: 'REACHABLE', line: 4 },
    ]);
    expect(r.skipReasons['no MAC (incomplete/failed)']).toBe(1);
  });

  it('parses v7 `/ip arp print` (Columns line, STATUS, comment line)', () => {
    const r = importNeighbors(F.ROS7_ARP);
    expect(r.format).toBe('mikrotik');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: '192.168.88.1', family: 4, source: 'mikrotik-arp', state: 'REACHABLE', line: 4 },
      { mac: 'd4:ca:6d:01:02:03', addr: '192.168.88.254', family: 4, source: 'mikrotik-arp', state: 'STALE', line: 5 },
      { mac: '00:0c:42:aa:bb:cc', addr: '192.168.88.5', family: 4, source: 'mikrotik-arp', state: 'PERMANENT', line: 8 },
    ]);
    expect(r.skipReasons).toEqual({ header: 3, comment: 1, 'no MAC (incomplete/failed)': 1 });
  });

  it('parses v7 `/ipv6 neighbor print`', () => {
    const r = importNeighbors(F.ROS7_ND);
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: 'fe80::4e5e:cff:fe11:2233', family: 6, source: 'mikrotik-nd', state: 'REACHABLE', isRouter: true, line: 4 },
      { mac: 'd4:ca:6d:01:02:03', addr: 'fe80::d6ca:6dff:fe01:203', family: 6, source: 'mikrotik-nd', state: 'STALE', line: 5 },
    ]);
  });

  it('parses `print terse` (v6 ARP, v7 ND)', () => {
    const a = importNeighbors(F.ROS6_ARP_TERSE);
    expect(a.format).toBe('mikrotik');
    expect(a.errors).toEqual([]);
    expect(views(a)).toEqual([{ mac: '4c:5e:0c:11:22:33', addr: '192.168.88.1', family: 4, source: 'mikrotik-arp', line: 1 }]);
    expect(a.skipReasons).toEqual({ 'no MAC (incomplete/failed)': 1, 'disabled entry': 1 });
    const n = importNeighbors(F.ROS7_ND_TERSE);
    expect(n.errors).toEqual([]);
    expect(views(n)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: 'fe80::4e5e:cff:fe11:2233', family: 6, source: 'mikrotik-nd', state: 'REACHABLE', isRouter: true, line: 1 },
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10:d6ca:6dff:fe01:203', family: 6, source: 'mikrotik-nd', state: 'STALE', line: 2 },
    ]);
  });

  it('parses `print detail` with wrapped lines and a comment after the flags', () => {
    const r = importNeighbors(F.ROS7_ARP_DETAIL);
    expect(r.format).toBe('mikrotik');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: '192.168.88.1', family: 4, source: 'mikrotik-arp', state: 'REACHABLE', line: 2 },
      { mac: '00:0c:42:aa:bb:cc', addr: '192.168.88.5', family: 4, source: 'mikrotik-arp', state: 'PERMANENT', line: 4 },
    ]);
    expect(r.skipReasons).toEqual({ header: 1, 'no MAC (incomplete/failed)': 1 });
  });

  it('falls back to tokens when a row is not aligned, and reports bad rows', () => {
    const text = [
      'Flags: X - disabled, I - invalid, H - DHCP, D - dynamic, P - published, C - complete ',
      ' #    ADDRESS         MAC-ADDRESS       INTERFACE',
      ' 0 DC 192.168.88.1    4C:5E:0C:11:22:33 ether1',
      '10 DC 192.168.88.100 4C:5E:0C:11:22:34 wlan-guests-5ghz',
      ' 2 DC 192.168.88.999  4C:5E:0C:11:22:35 ether1',
      ' 3 DC 192.168.88.3    4C:5E:0C:11:22:3G ether1',
      'garbage here',
      ' 4 DC address=192.168.88.4 mac-address="4C:5E:0C:11:22:36',
    ].join('\n');
    const r = importNeighbors(text);
    expect(r.format).toBe('mikrotik');
    expect(views(r)).toEqual([
      { mac: '4c:5e:0c:11:22:33', addr: '192.168.88.1', family: 4, source: 'mikrotik-arp', line: 3 },
      { mac: '4c:5e:0c:11:22:34', addr: '192.168.88.100', family: 4, source: 'mikrotik-arp', line: 4 },
    ]);
    expect(r.errors.map((e) => e.line)).toEqual([5, 6, 7, 8]);
  });
});

describe('dnsmasq leases', () => {
  it('parses DHCPv4 lines and the DHCPv6 section', () => {
    const r = importNeighbors(F.DNSMASQ);
    expect(r.format).toBe('dnsmasq');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: 'd4:ca:6d:01:02:03', addr: '192.168.1.23', family: 4, source: 'dnsmasq', hostname: 'laptop', expiresAt: 1_700_003_600_000, line: 1 },
      { mac: '52:54:00:12:34:56', addr: '192.168.1.2', family: 4, source: 'dnsmasq', expiresAt: Infinity, line: 2 },
      { mac: '3a:1b:22:c4:5d:6e', addr: '192.168.1.42', family: 4, source: 'dnsmasq', hostname: 'Pixel-7', expiresAt: 1_700_007_200_000, line: 3 },
      // DUID-LLT: type 1, hw type 1, time, MAC.
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10::1a2', family: 6, source: 'dnsmasq', hostname: 'laptop', expiresAt: 1_700_003_600_000, line: 6 },
      // DUID-LL: type 3, hw type 1, MAC.
      { mac: 'a8:23:fe:11:22:33', addr: '2001:db8:4a1:10::1b7', family: 6, source: 'dnsmasq', hostname: 'tv', expiresAt: 1_700_003_700_000, line: 7 },
    ]);
    expect(r.skipReasons).toEqual({
      'non-Ethernet hardware address': 1,
      'server DUID line': 1,
      'DUID-UUID carries no MAC': 1,
      'DUID-EN carries no MAC': 1,
    });
  });

  it('reports malformed lines', () => {
    const text = [
      '1700003600 d4:ca:6d:01:02:03 192.168.1.23 laptop 01:d4:ca:6d:01:02:03',
      'soon d4:ca:6d:01:02:04 192.168.1.24 a *',
      '1700003600 d4:ca:6d:01:02 192.168.1.25 b *',
      '1700003600 d4:ca:6d:01:02:06 192.168.1 c *',
      '1700003600 d4:ca:6d:01:02:07',
      'duid',
      '1700003600 12x 2001:db8::1 d 00:03:00:01:a8:23:fe:11:22:33',
      '1700003600 12 2001:db8::2 e 00:03:00:01:a8:23:fe:11:22:3',
      '1700003600 12 2001:db8::3 f 00:03:00:01:a8:23:fe:11:22:34',
    ].join('\n');
    const r = importNeighbors(text, { format: 'dnsmasq' });
    expect(r.facts.map((f) => f.line)).toEqual([1, 8, 9]);
    expect(r.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

describe('odhcpd', () => {
  it('parses lease lines, one fact per address', () => {
    const r = importNeighbors(F.ODHCPD);
    expect(r.format).toBe('odhcpd');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      { mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10::c1', family: 6, source: 'odhcpd', hostname: 'laptop', expiresAt: 1_700_003_600_000, line: 1 },
      { mac: 'd4:ca:6d:01:02:03', addr: 'fd4a:1:2:10::c1', family: 6, source: 'odhcpd', hostname: 'laptop', expiresAt: 1_700_003_600_000, line: 1 },
      { mac: 'a8:23:fe:11:22:33', addr: '2001:db8:4a1:10::c2', family: 6, source: 'odhcpd', expiresAt: Infinity, line: 4 },
      { mac: '3a:1b:22:c4:5d:6e', addr: '192.168.1.42', family: 4, source: 'odhcpd', hostname: 'Pixel-7', expiresAt: 1_700_007_200_000, line: 7 },
    ]);
    expect(r.skipReasons).toEqual({ 'hosts line': 2, 'DUID-EN carries no MAC': 1, 'delegated prefix': 1 });
  });
});

describe('ISC dhcpd', () => {
  it('parses dhcpd.leases; the later entry for an address wins', () => {
    const r = importNeighbors(F.DHCPD_LEASES);
    expect(r.format).toBe('isc-dhcpd');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      {
        mac: '3a:1b:22:c4:5d:6e', addr: '192.168.1.42', family: 4, source: 'isc-dhcpd', state: 'free',
        expiresAt: T('2023-11-15T23:00:00Z'), seenAt: T('2023-11-15T11:00:00Z'), line: 19,
      },
      {
        mac: 'd4:ca:6d:01:02:03', addr: '192.168.1.23', family: 4, source: 'isc-dhcpd', state: 'active', hostname: 'laptop',
        expiresAt: T('2023-11-16T04:00:00Z'), seenAt: T('2023-11-15T16:00:00Z'), line: 28,
      },
      { mac: '00:0c:29:0a:0b:0c', addr: '192.168.1.5', family: 4, source: 'isc-dhcpd', state: 'active', expiresAt: Infinity, seenAt: T('2023-11-15T09:00:00Z'), line: 45 },
      {
        mac: '0c:4d:e9:aa:bb:cc', addr: '192.168.1.77', family: 4, source: 'isc-dhcpd', state: 'active', hostname: 'mac-mini',
        expiresAt: 1_700_043_200_000, seenAt: 1_700_000_000_000, line: 52,
      },
    ]);
    expect(r.skipReasons).toEqual({ 'statement without a lease': 1, 'superseded by a later entry': 1, 'abandoned lease': 1 });
  });

  it('parses dhcpd6.leases, taking the MAC from the DUID inside the escaped IA id', () => {
    const r = importNeighbors(F.DHCPD6_LEASES);
    expect(r.format).toBe('isc-dhcpd6');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      {
        mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:4a1:10::1a2', family: 6, source: 'isc-dhcpd6', state: 'active',
        expiresAt: T('2023-11-15T22:00:00Z'), seenAt: T('2023-11-15T10:00:00Z'), line: 11,
      },
      {
        mac: 'a8:23:fe:11:22:33', addr: '2001:db8:4a1:10::2b', family: 6, source: 'isc-dhcpd6', state: 'active', hostname: 'tv.example.org',
        expiresAt: Infinity, seenAt: T('2023-11-15T10:30:00Z'), line: 21,
      },
    ]);
    expect(r.skipReasons).toEqual({ 'statement without a lease': 2, 'DUID-EN carries no MAC': 1, 'prefix delegation': 1 });
  });

  it('reports malformed statements with their lines and recovers', () => {
    const text = [
      'lease 192.168.1.300 {', //                1
      '  hardware ethernet d4:ca:6d:01:02:03;', // 2
      '}', //                                    3
      'lease 192.168.1.24 {', //                 4
      '  starts 3 2023/13/15 10:00:00;', //      5
      '  hardware ethernet d4:ca:6d:01:02:04;', // 6
      '}', //                                    7
      'lease 192.168.1.25 {', //                 8
      '  hardware ethernet d4:ca:6d:01:02;', //  9
      '}', //                                    10
      '}', //                                    11
      'lease 192.168.1.26 {', //                 12
      '  ends 3 2023/11/15 10:00:00;', //        13
      '  hardware ethernet d4:ca:6d:01:02:06;', // 14
      '  client-hostname "unterminated', //      15
      '}', //                                    16
      'lease 192.168.1.27 {', //                 17
      '  binding state active;', //              18
      '  hardware ethernet d4:ca:6d:01:02:07;', // 19
      '}', //                                    20
    ].join('\n');
    const r = importNeighbors(text, { format: 'isc-dhcpd' });
    expect(r.errors.map((e) => e.line).sort((a, b) => a - b)).toEqual([1, 5, 9, 11, 15, 15]);
    expect(views(r)).toEqual([
      { mac: 'd4:ca:6d:01:02:07', addr: '192.168.1.27', family: 4, source: 'isc-dhcpd', state: 'active', line: 17 },
    ]);
  });
});

describe('Kea CSV', () => {
  it('parses kea-leases4.csv: unescapes commas, last row wins, deleted and declined rows drop the address', () => {
    const r = importNeighbors(F.KEA4);
    expect(r.format).toBe('kea4');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      {
        mac: '3a:1b:22:c4:5d:6e', addr: '192.0.2.11', family: 4, source: 'kea4', state: 'default', hostname: 'pixel, 7',
        expiresAt: 1_700_007_200_000, seenAt: 1_700_003_600_000, line: 3,
      },
      {
        mac: 'd4:ca:6d:01:02:03', addr: '192.0.2.10', family: 4, source: 'kea4', state: 'default', hostname: 'laptop.example.org',
        expiresAt: 1_700_005_400_000, seenAt: 1_700_001_800_000, line: 5,
      },
      { mac: '00:0c:42:aa:bb:cd', addr: '192.0.2.14', family: 4, source: 'kea4', state: 'default', hostname: 'nas', expiresAt: Infinity, line: 7 },
    ]);
    expect(r.skipReasons).toEqual({ header: 1, 'declined lease': 1, 'superseded by a later entry': 1, 'deleted lease': 1 });
  });

  it('parses kea-leases6.csv: hwaddr column, else the DUID; prefixes and reclaimed leases skipped', () => {
    const r = importNeighbors(F.KEA6);
    expect(r.format).toBe('kea6');
    expect(r.errors).toEqual([]);
    expect(views(r)).toEqual([
      {
        mac: 'd4:ca:6d:01:02:03', addr: '2001:db8:1::100', family: 6, source: 'kea6', state: 'default', hostname: 'laptop.example.org',
        expiresAt: 1_700_004_000_000, seenAt: 1_700_000_000_000, line: 2,
      },
      { mac: 'a8:23:fe:11:22:33', addr: '2001:db8:1::101', family: 6, source: 'kea6', state: 'default', expiresAt: 1_700_004_000_000, seenAt: 1_700_000_000_000, line: 3 },
      {
        mac: '0c:4d:e9:aa:bb:cc', addr: '2001:db8:1::104', family: 6, source: 'kea6', state: 'default', hostname: 'printer',
        expiresAt: 1_700_004_000_000, seenAt: 1_700_000_000_000, line: 7,
      },
    ]);
    expect(r.skipReasons).toEqual({ header: 1, 'DUID-EN carries no MAC': 1, 'prefix delegation': 1, 'expired-reclaimed lease': 1 });
  });

  it('reports rows with the wrong column count or bad values', () => {
    const text = [
      'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context',
      '192.0.2.10,d4:ca:6d:01:02:03,,3600,1700003600,1,0,0,a,0,',
      '192.0.2.11,d4:ca:6d:01:02:04,,3600,1700003600,1,0,0,b,0',
      '192.0.2.312,d4:ca:6d:01:02:05,,3600,1700003600,1,0,0,c,0,',
      '2001:db8::1,d4:ca:6d:01:02:06,,3600,1700003600,1,0,0,d,0,',
      '192.0.2.14,d4:ca:6d:01:02:07,,-1,1700003600,1,0,0,e,0,',
      '192.0.2.15,zz:ca:6d:01:02:08,,3600,1700003600,1,0,0,f,0,',
    ].join('\n');
    const r = importNeighbors(text);
    expect(r.format).toBe('kea4');
    expect(r.facts.map((f) => f.line)).toEqual([2]);
    expect(r.errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7]);
  });
});

describe('detectFormat', () => {
  it.each([
    ['ip neigh', F.IP_NEIGH, 'ip-neigh'],
    ['ip -s neigh', F.IP_NEIGH_STATS, 'ip-neigh'],
    ['ip -j neigh', F.IP_NEIGH_JSON, 'ip-neigh-json'],
    ['ip -j -p neigh', F.IP_NEIGH_JSON_PRETTY, 'ip-neigh-json'],
    ['ROS6 arp', F.ROS6_ARP, 'mikrotik'],
    ['ROS6 nd', F.ROS6_ND, 'mikrotik'],
    ['ROS7 arp', F.ROS7_ARP, 'mikrotik'],
    ['ROS7 nd', F.ROS7_ND, 'mikrotik'],
    ['ROS6 terse', F.ROS6_ARP_TERSE, 'mikrotik'],
    ['ROS7 terse', F.ROS7_ND_TERSE, 'mikrotik'],
    ['ROS7 detail', F.ROS7_ARP_DETAIL, 'mikrotik'],
    ['dnsmasq', F.DNSMASQ, 'dnsmasq'],
    ['odhcpd', F.ODHCPD, 'odhcpd'],
    ['dhcpd.leases', F.DHCPD_LEASES, 'isc-dhcpd'],
    ['dhcpd6.leases', F.DHCPD6_LEASES, 'isc-dhcpd6'],
    ['kea4', F.KEA4, 'kea4'],
    ['kea6', F.KEA6, 'kea6'],
  ])('%s', (_name, text, fmt) => {
    expect(detectFormat(text)).toBe(fmt);
  });

  it('uses the file name when the content is empty or says nothing', () => {
    expect(detectFormat('', 'dhcp.leases')).toBe('dnsmasq');
    expect(detectFormat('\n', '/var/lib/dhcp/dhcpd6.leases')).toBe('isc-dhcpd6');
    expect(detectFormat('', '/var/lib/kea/kea-leases4.csv.2')).toBe('kea4');
    expect(detectFormat('', 'kea-leases6.csv')).toBe('kea6');
    expect(detectFormat('', '/tmp/hosts/odhcpd')).toBe('odhcpd');
    expect(detectFormat('hello world\n')).toBeNull();
    expect(detectFormat('')).toBeNull();
  });

  it('a dnsmasq file with only a DHCPv6 section is still dnsmasq', () => {
    expect(detectFormat('duid 00:01:00:01:2c:1f:3a:4b:52:54:00:12:34:56\n1700003600 114453427 2001:db8::1a2 laptop 00:03:00:01:a8:23:fe:11:22:33\n')).toBe('dnsmasq');
  });
});

describe('importNeighbors', () => {
  it('throws only for an unknown forced format', () => {
    expect(() => importNeighbors('x', { format: 'cisco-arp' })).toThrow(/unknown neighbour import format "cisco-arp"/);
    expect(() => importNeighbors('x', { format: 'kea4' })).not.toThrow();
  });

  it('returns an error, not an exception, for an unrecognised text', () => {
    const r = importNeighbors('\nhello world\n');
    expect(r.format).toBe('unknown');
    expect(r.facts).toEqual([]);
    expect(r.errors).toEqual([{ line: 2, message: expect.stringContaining('unrecognised format'), text: 'hello world' }]);
  });

  it('a forced format parses what detection would not pick', () => {
    const r = importNeighbors('192.168.1.1 lladdr 00:0d:b9:4f:2a:10\n', { format: 'ip-neigh' });
    expect(views(r)).toEqual([{ mac: '00:0d:b9:4f:2a:10', addr: '192.168.1.1', family: 4, source: 'ip-neigh', line: 1 }]);
  });

  it('handles CRLF line ends and a BOM', () => {
    const r = importNeighbors('\ufeff' + F.DNSMASQ.replaceAll('\n', '\r\n'));
    expect(r.format).toBe('dnsmasq');
    expect(r.errors).toEqual([]);
    expect(r.facts).toHaveLength(5);
    expect(r.facts[0]!.hostname).toBe('laptop');
  });
});
