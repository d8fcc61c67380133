import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import {
  DECODE_IP,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_UNSUPPORTED_LINK,
  PacketDecoder,
  type PacketInfo,
} from '../../../src/sources/packets/decode.js';
import { buildFrame, type FrameSpec } from '../../../src/sources/packets/writer.js';

function words(a: number, b: number, c: number, d: number): Uint8Array {
  const out = new Uint8Array(16);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, a);
  dv.setInt32(4, b);
  dv.setInt32(8, c);
  dv.setInt32(12, d);
  return out;
}

interface Decoded {
  result: number;
  family?: number;
  proto?: number;
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  bytes?: number;
  src?: string;
  dst?: string;
  srcMac?: number;
  dstMac?: number;
  fragment?: number;
  malformed?: string | null;
}

function view(info: PacketInfo, result: number): Decoded {
  if (result !== DECODE_IP) return { result, malformed: info.malformed };
  const fam = info.family as 4 | 6;
  return {
    result,
    family: info.family,
    proto: info.proto,
    srcPort: info.srcPort,
    dstPort: info.dstPort,
    tcpFlags: info.tcpFlags,
    bytes: info.bytes,
    src: formatIP(words(info.s0, info.s1, info.s2, info.s3), fam),
    dst: formatIP(words(info.d0, info.d1, info.d2, info.d3), fam),
    srcMac: info.srcMac,
    dstMac: info.dstMac,
    fragment: info.fragment,
  };
}

/** Decode a frame as captured with an optional snap length (the wire length stays the frame's). */
function decode(frame: Uint8Array, link = 1, snap = 262144, dec = new PacketDecoder(), ts = 1e12): Decoded {
  // place the frame at a non-zero offset inside a larger buffer, as the reader does
  const buf = new Uint8Array(frame.length + 37);
  buf.set(frame, 29);
  const cap = Math.min(snap, frame.length);
  return view(dec.info, dec.decode(buf, 29, cap, frame.length, link, ts));
}

const MAC_A = 0x0200000000aa;
const MAC_B = 0x0200000000bb;

interface Case {
  name: string;
  spec: FrameSpec;
  snap?: number;
  /** Override the frame after building (to craft damage). */
  patch?: (f: Uint8Array) => Uint8Array;
  want: Partial<Decoded>;
}

const v4tcp = { src: '192.0.2.10', dst: '198.51.100.20', proto: 'tcp', srcPort: 40001, dstPort: 443, tcpFlags: 0x12, payloadLength: 100 } as const;
const v6udp = { src: '2001:db8::10', dst: '2001:db8:1::53', proto: 'udp', srcPort: 5353, dstPort: 53, payloadLength: 50 } as const;

const cases: Case[] = [
  {
    name: 'Ethernet IPv4 TCP',
    spec: { ...v4tcp, srcMac: MAC_A, dstMac: MAC_B },
    want: { family: 4, proto: 6, srcPort: 40001, dstPort: 443, tcpFlags: 0x12, bytes: 140, src: '192.0.2.10', dst: '198.51.100.20', srcMac: MAC_A, dstMac: MAC_B },
  },
  {
    name: 'Ethernet IPv6 UDP',
    spec: { ...v6udp, srcMac: '02:00:00:00:00:aa', dstMac: '02:00:00:00:00:bb' },
    want: { family: 6, proto: 17, srcPort: 5353, dstPort: 53, tcpFlags: 0, bytes: 98, src: '2001:db8::10', dst: '2001:db8:1::53', srcMac: MAC_A, dstMac: MAC_B },
  },
  { name: '802.1Q', spec: { ...v4tcp, vlans: [10] }, want: { family: 4, srcPort: 40001, dstPort: 443, bytes: 140 } },
  { name: 'QinQ 802.1ad + 802.1Q', spec: { ...v6udp, vlans: [100, 10] }, want: { family: 6, dstPort: 53, bytes: 98 } },
  { name: '0x9100 + 0x8100', spec: { ...v4tcp, vlans: [7, 8], vlanTpids: [0x9100, 0x8100] }, want: { family: 4, dstPort: 443, bytes: 140 } },
  { name: 'three VLAN tags', spec: { ...v6udp, vlans: [1, 2, 3] }, want: { family: 6, dstPort: 53, bytes: 98 } },
  { name: 'Linux cooked v1 IPv4', spec: { ...v4tcp, link: 113, srcMac: MAC_A }, want: { family: 4, dstPort: 443, bytes: 140, srcMac: MAC_A, dstMac: 0 } },
  { name: 'Linux cooked v1 with a VLAN tag', spec: { ...v6udp, link: 113, vlans: [5] }, want: { family: 6, dstPort: 53, bytes: 98 } },
  { name: 'Linux cooked v2 IPv6', spec: { ...v6udp, link: 276, srcMac: MAC_B }, want: { family: 6, dstPort: 53, bytes: 98, srcMac: MAC_B, dstMac: 0 } },
  { name: 'Linux cooked v2 with VLAN tags', spec: { ...v4tcp, link: 276, vlans: [5, 6] }, want: { family: 4, dstPort: 443, bytes: 140 } },
  { name: 'raw IP (101) IPv4', spec: { ...v4tcp, link: 101 }, want: { family: 4, dstPort: 443, bytes: 140, srcMac: 0, dstMac: 0 } },
  { name: 'raw IP (101) IPv6', spec: { ...v6udp, link: 101 }, want: { family: 6, dstPort: 53, bytes: 98 } },
  { name: 'raw IP (12)', spec: { ...v6udp, link: 12 }, want: { family: 6, bytes: 98 } },
  { name: 'raw IP (14)', spec: { ...v4tcp, link: 14 }, want: { family: 4, bytes: 140 } },
  { name: 'LINKTYPE_IPV4 (228)', spec: { ...v4tcp, link: 228 }, want: { family: 4, bytes: 140 } },
  { name: 'LINKTYPE_IPV6 (229)', spec: { ...v6udp, link: 229 }, want: { family: 6, bytes: 98 } },
  { name: 'NULL, AF_INET little-endian', spec: { ...v4tcp, link: 0 }, want: { family: 4, bytes: 140 } },
  { name: 'NULL, AF_INET6 = 30 (macOS)', spec: { ...v6udp, link: 0, loopbackAf: 30 }, want: { family: 6, bytes: 98 } },
  { name: 'NULL, AF_INET6 = 28 (FreeBSD)', spec: { ...v6udp, link: 0, loopbackAf: 28 }, want: { family: 6, bytes: 98 } },
  { name: 'NULL, AF_INET6 = 24 (NetBSD/OpenBSD)', spec: { ...v6udp, link: 0, loopbackAf: 24 }, want: { family: 6, bytes: 98 } },
  {
    name: 'NULL written by a big-endian host',
    spec: { ...v4tcp, link: 0 },
    patch: (f) => {
      f.set([0, 0, 0, 2], 0);
      return f;
    },
    want: { family: 4, bytes: 140 },
  },
  { name: 'LOOP (108), network byte order', spec: { ...v6udp, link: 108, loopbackAf: 24 }, want: { family: 6, bytes: 98 } },
  { name: 'IPv4 with options (IHL 7)', spec: { ...v4tcp, ihl: 7 }, want: { family: 4, srcPort: 40001, dstPort: 443, tcpFlags: 0x12, bytes: 148 } },
  { name: 'ICMP echo request', spec: { src: '192.0.2.1', dst: '192.0.2.2', proto: 'icmp', icmpType: 8, icmpCode: 0, payloadLength: 56 }, want: { proto: 1, srcPort: 0, dstPort: 2048, bytes: 84 } },
  { name: 'ICMP port unreachable', spec: { src: '192.0.2.1', dst: '192.0.2.2', proto: 'icmp', icmpType: 3, icmpCode: 3 }, want: { proto: 1, srcPort: 0, dstPort: 3 * 256 + 3 } },
  { name: 'ICMPv6 echo request', spec: { src: '2001:db8::1', dst: '2001:db8::2', proto: 'icmpv6', icmpType: 128 }, want: { family: 6, proto: 58, srcPort: 0, dstPort: 32768, bytes: 48 } },
  { name: 'ICMPv6 neighbour solicitation', spec: { src: 'fe80::1', dst: 'ff02::1:ff00:2', proto: 'icmpv6', icmpType: 135, icmpCode: 0, payloadLength: 16 }, want: { proto: 58, dstPort: 135 * 256, bytes: 64 } },
  {
    name: 'IPv6 hop-by-hop + routing + fragment (first) + TCP',
    spec: { ...v6udp, proto: 'tcp', srcPort: 1234, dstPort: 80, tcpFlags: 0x02, ext: [{ type: 0 }, { type: 43, length: 24 }, { type: 44, offset: 0, more: true, id: 7 }], payloadLength: 10 },
    want: { family: 6, proto: 6, srcPort: 1234, dstPort: 80, tcpFlags: 0x02, bytes: 40 + 8 + 24 + 8 + 20 + 10, fragment: 1 },
  },
  {
    name: 'IPv6 destination options + AH + UDP',
    spec: { ...v6udp, ext: [{ type: 60, length: 16 }, { type: 51, length: 24 }] },
    want: { family: 6, proto: 17, srcPort: 5353, dstPort: 53, bytes: 40 + 16 + 24 + 58 },
  },
  {
    name: 'IPv6 mobility, HIP, shim6 headers before TCP',
    spec: { ...v6udp, proto: 'tcp', srcPort: 9, dstPort: 10, ext: [{ type: 135 }, { type: 139, length: 16 }, { type: 140 }] },
    want: { proto: 6, srcPort: 9, dstPort: 10 },
  },
  {
    name: 'IPv6 atomic fragment (offset 0, M = 0) is a whole packet',
    spec: { ...v6udp, ext: [{ type: 44, offset: 0, more: false, id: 1 }] },
    want: { proto: 17, srcPort: 5353, dstPort: 53, fragment: 0 },
  },
  { name: 'IPv6 ESP stops the chain', spec: { ...v6udp, proto: 50, payloadLength: 64 }, want: { family: 6, proto: 50, srcPort: 0, dstPort: 0, bytes: 104 } },
  { name: 'IPv6 AH then ESP', spec: { ...v6udp, proto: 50, ext: [{ type: 51 }], payloadLength: 64 }, want: { proto: 50, srcPort: 0, bytes: 40 + 24 + 64 } },
  { name: 'IPv6 no next header', spec: { ...v6udp, proto: 59 }, want: { proto: 59, srcPort: 0, dstPort: 0, bytes: 90 } },
  {
    name: 'IPv6 jumbogram (hop-by-hop jumbo option), snapped',
    spec: { ...v6udp, proto: 'tcp', ext: [{ type: 0, jumbo: true }], payloadLength: 70_000 },
    snap: 128,
    want: { family: 6, proto: 6, bytes: 40 + 8 + 20 + 70_000 },
  },
  {
    name: 'IPv6 payload length 0 without jumbo option: the bytes the frame carried',
    spec: { ...v6udp, proto: 'tcp', payloadLength: 70_000, lengthField: 0 },
    snap: 200,
    want: { family: 6, proto: 6, bytes: 40 + 20 + 70_000 },
  },
  {
    name: 'IPv4 total length 0 (TCP segmentation offload): the wire bytes',
    spec: { ...v4tcp, payloadLength: 30_000, lengthField: 0 },
    snap: 96,
    want: { family: 4, bytes: 20 + 20 + 30_000 },
  },
  { name: 'snapped IPv4 counts the total length, not the captured bytes', spec: { ...v4tcp, payloadLength: 1460 }, snap: 96, want: { bytes: 1500, dstPort: 443, tcpFlags: 0x12 } },
  { name: 'snapped IPv6 counts payload length + 40', spec: { ...v6udp, payloadLength: 1452 }, snap: 96, want: { bytes: 1500, dstPort: 53 } },
  { name: 'snapped inside the TCP header: ports, no flags', spec: { ...v4tcp }, snap: 14 + 20 + 4, want: { srcPort: 40001, dstPort: 443, tcpFlags: 0, bytes: 140 } },
  { name: 'snapped right after the IP header: ports 0', spec: { ...v4tcp }, snap: 14 + 20, want: { srcPort: 0, dstPort: 0, bytes: 140 } },
  {
    name: '6in4 (proto 41) counts once as the outer IPv4',
    spec: { src: '192.0.2.1', dst: '192.88.99.1', proto: 41, payload: buildFrame({ ...v6udp, link: 101 }) },
    want: { family: 4, proto: 41, srcPort: 0, dstPort: 0, bytes: 20 + 98, src: '192.0.2.1' },
  },
  {
    name: 'IPIP (proto 4) is not decapsulated',
    spec: { src: '192.0.2.1', dst: '192.0.2.9', proto: 4, payload: buildFrame({ ...v4tcp, link: 101 }) },
    want: { family: 4, proto: 4, srcPort: 0, bytes: 160 },
  },
  {
    name: 'GRE over IPv6 is not decapsulated',
    spec: { src: '2001:db8::1', dst: '2001:db8::2', proto: 47, payload: new Uint8Array(4 + 140) },
    want: { family: 6, proto: 47, srcPort: 0, dstPort: 0, bytes: 40 + 144 },
  },
  {
    name: 'MPLS label stack',
    spec: { ...v4tcp, etherType: 0x8847, payload: new Uint8Array([0, 1, 0x00, 64, 0, 2, 0x01, 64, ...buildFrame({ ...v4tcp, link: 101 })]) },
    want: { family: 4, proto: 6, dstPort: 443, bytes: 140 },
  },
  {
    name: 'PPPoE session with IPv6',
    spec: { etherType: 0x8864, payload: new Uint8Array([0x11, 0, 0, 1, 0, 100, 0x00, 0x57, ...buildFrame({ ...v6udp, link: 101 })]) },
    want: { family: 6, proto: 17, dstPort: 53, bytes: 98 },
  },
];

describe('PacketDecoder: link and IP layers', () => {
  for (const c of cases) {
    it(c.name, () => {
      let frame = buildFrame(c.spec);
      if (c.patch) frame = c.patch(frame);
      const got = decode(frame, c.spec.link ?? 1, c.snap);
      expect(got.result).toBe(DECODE_IP);
      expect(got).toMatchObject(c.want);
    });
  }
});

describe('PacketDecoder: not IP, unsupported, malformed', () => {
  it('ARP and LLDP are not IP', () => {
    const dec = new PacketDecoder();
    expect(decode(buildFrame({ etherType: 0x0806, payloadLength: 28 }), 1, 262144, dec).result).toBe(DECODE_NOT_IP);
    expect(decode(buildFrame({ etherType: 0x88cc, payloadLength: 40 }), 1, 262144, dec).result).toBe(DECODE_NOT_IP);
    expect(decode(buildFrame({ etherType: 0x0806, vlans: [3] }), 1, 262144, dec).result).toBe(DECODE_NOT_IP);
    expect(dec.stats.skippedNonIp).toBe(3);
    expect(dec.stats.ipPackets).toBe(0);
  });

  it('a loopback frame of another address family is not IP', () => {
    const f = buildFrame({ ...v4tcp, link: 0, loopbackAf: 7 });
    expect(decode(f, 0).result).toBe(DECODE_NOT_IP);
  });

  it('an unknown link type is reported, not decoded', () => {
    const dec = new PacketDecoder();
    expect(decode(new Uint8Array(60), 147, 262144, dec).result).toBe(DECODE_UNSUPPORTED_LINK);
    expect([...dec.unsupportedLinkTypes]).toEqual([147]);
    expect(dec.stats.skippedNonIp).toBe(1);
  });

  const bad: { name: string; frame: () => Uint8Array; link?: number; snap?: number; kind: string }[] = [
    { name: 'Ethernet frame shorter than its header', frame: () => new Uint8Array(10), kind: 'truncated-link' },
    { name: 'VLAN tag cut off', frame: () => buildFrame({ ...v4tcp, vlans: [1] }), snap: 16, kind: 'truncated-link' },
    { name: 'cooked v2 header cut off', frame: () => buildFrame({ ...v4tcp, link: 276 }), link: 276, snap: 12, kind: 'truncated-link' },
    { name: 'IPv4 header cut off', frame: () => buildFrame(v4tcp), snap: 14 + 12, kind: 'truncated-ip' },
    { name: 'IPv4 options cut off', frame: () => buildFrame({ ...v4tcp, ihl: 15 }), snap: 14 + 40, kind: 'truncated-ip' },
    { name: 'IPv6 header cut off', frame: () => buildFrame(v6udp), snap: 14 + 30, kind: 'truncated-ip' },
    { name: 'version 5 behind EtherType IPv4', frame: () => buildFrame({ ...v4tcp, version: 5 }), kind: 'bad-version' },
    { name: 'version 4 behind EtherType IPv6', frame: () => buildFrame({ ...v6udp, version: 4 }), kind: 'bad-version' },
    { name: 'raw IP with version 7', frame: () => buildFrame({ ...v4tcp, link: 101, version: 7 }), link: 101, kind: 'bad-version' },
    { name: 'IPv4 IHL 4', frame: () => buildFrame({ ...v4tcp, ihl: 4 }), kind: 'bad-ihl' },
    { name: 'IPv4 total length below the header', frame: () => buildFrame({ ...v4tcp, lengthField: 12 }), kind: 'bad-length' },
  ];
  for (const b of bad) {
    it(`malformed: ${b.name}`, () => {
      const dec = new PacketDecoder();
      const got = decode(b.frame(), b.link ?? 1, b.snap, dec);
      expect(got.result).toBe(DECODE_MALFORMED);
      expect(got.malformed).toBe(b.kind);
      expect(dec.stats.malformed[b.kind as keyof typeof dec.stats.malformed]).toBe(1);
    });
  }

  it('never throws on random bytes', () => {
    const dec = new PacketDecoder();
    let seed = 1;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 20_000; i++) {
      const len = rnd() % 120;
      const f = new Uint8Array(len);
      for (let j = 0; j < len; j++) f[j] = rnd() & 255;
      // make many of them look like IP so the deeper paths run
      if (len > 14 && i % 2 === 0) {
        f[12] = i % 4 === 0 ? 0x08 : 0x86;
        f[13] = i % 4 === 0 ? 0x00 : 0xdd;
        f[14] = (i % 4 === 0 ? 0x40 : 0x60) | (f[14]! & 15);
      }
      for (const link of [1, 101, 113, 276, 0]) dec.decode(f, 0, len, len + (rnd() % 100), link, i); // throws = test fails
    }
    const s = dec.stats;
    expect(s.ipPackets + s.skippedNonIp + Object.values(s.malformed).reduce((a, b) => a + b, 0)).toBe(100_000);
  });
});

describe('PacketDecoder: fragments', () => {
  it('IPv4: later fragments get the first fragment ports; unknown ones get 0', () => {
    const dec = new PacketDecoder();
    const base = { src: '192.0.2.1', dst: '192.0.2.2', proto: 'udp', srcPort: 5000, dstPort: 53, ipId: 0x1234 } as const;
    const first = decode(buildFrame({ ...base, payloadLength: 1472, moreFragments: true }), 1, 262144, dec);
    expect(first).toMatchObject({ srcPort: 5000, dstPort: 53, fragment: 1, bytes: 1500 });
    const second = decode(buildFrame({ ...base, fragmentOffset: 1480, payloadLength: 1480, moreFragments: true }), 1, 262144, dec);
    expect(second).toMatchObject({ proto: 17, srcPort: 5000, dstPort: 53, fragment: 2, bytes: 1500 });
    const last = decode(buildFrame({ ...base, fragmentOffset: 2960, payloadLength: 100 }), 1, 262144, dec);
    expect(last).toMatchObject({ srcPort: 5000, dstPort: 53, fragment: 2, bytes: 120 });
    // another datagram (other id), first fragment never seen
    const orphan = decode(buildFrame({ ...base, ipId: 0x9999, fragmentOffset: 1480, payloadLength: 8 }), 1, 262144, dec);
    expect(orphan).toMatchObject({ proto: 17, srcPort: 0, dstPort: 0, fragment: 2 });
    // same id but other addresses
    const other = decode(buildFrame({ ...base, src: '192.0.2.3', fragmentOffset: 1480, payloadLength: 8 }), 1, 262144, dec);
    expect(other).toMatchObject({ srcPort: 0, dstPort: 0 });
    expect(dec.stats.fragments).toBe(5);
    expect(dec.stats.fragmentsAttributed).toBe(2);
  });

  it('IPv4: the first fragment is forgotten after the timeout', () => {
    const dec = new PacketDecoder({ fragmentTimeoutMs: 15_000 });
    const base = { src: '192.0.2.1', dst: '192.0.2.2', proto: 'udp', srcPort: 5000, dstPort: 53, ipId: 1 } as const;
    decode(buildFrame({ ...base, payloadLength: 100, moreFragments: true }), 1, 262144, dec, 1_000_000);
    expect(decode(buildFrame({ ...base, fragmentOffset: 104, payloadLength: 8 }), 1, 262144, dec, 1_016_000)).toMatchObject({ srcPort: 0, dstPort: 0 });
  });

  it('IPv6: fragment header identification keys the table', () => {
    const dec = new PacketDecoder();
    const base = { src: '2001:db8::1', dst: '2001:db8::2', proto: 'tcp', srcPort: 33000, dstPort: 443, tcpFlags: 0x18 } as const;
    const first = decode(buildFrame({ ...base, ext: [{ type: 0 }, { type: 44, offset: 0, more: true, id: 0xdeadbeef }], payloadLength: 1200 }), 1, 262144, dec);
    expect(first).toMatchObject({ proto: 6, srcPort: 33000, dstPort: 443, tcpFlags: 0x18, fragment: 1 });
    const second = decode(buildFrame({ ...base, ext: [{ type: 0 }, { type: 44, offset: 1232, more: false, id: 0xdeadbeef }], payloadLength: 300 }), 1, 262144, dec);
    expect(second).toMatchObject({ proto: 6, srcPort: 33000, dstPort: 443, tcpFlags: 0, fragment: 2, bytes: 40 + 8 + 8 + 300 });
    const orphan = decode(buildFrame({ ...base, ext: [{ type: 44, offset: 8, id: 5 }], payloadLength: 16 }), 1, 262144, dec);
    expect(orphan).toMatchObject({ proto: 6, srcPort: 0, dstPort: 0, fragment: 2 });
  });

  it('ICMP fragments keep the type/code port', () => {
    const dec = new PacketDecoder();
    const base = { src: '192.0.2.1', dst: '192.0.2.2', proto: 'icmp', icmpType: 8, ipId: 77 } as const;
    decode(buildFrame({ ...base, payloadLength: 1472, moreFragments: true }), 1, 262144, dec);
    expect(decode(buildFrame({ ...base, fragmentOffset: 1480, payloadLength: 600 }), 1, 262144, dec)).toMatchObject({ proto: 1, srcPort: 0, dstPort: 2048 });
  });
});
