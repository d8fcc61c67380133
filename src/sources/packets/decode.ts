/**
 * Link and network layer decoding of one captured frame into a reusable {@link PacketInfo}
 * (nothing is allocated per packet).
 *
 * - Link types: Ethernet (1), Linux cooked v1 (113) and v2 (276), raw IP (101, 12, 14), IPv4 (228),
 *   IPv6 (229), BSD loopback NULL (0, host byte order) and LOOP (108, network byte order).
 *   Behind Ethernet/cooked headers: 802.1Q, 802.1ad (QinQ), 0x9100/0x9200 VLAN tags at any depth,
 *   MPLS label stacks and PPPoE sessions.
 * - IPv4 (IHL, total length, fragments) and IPv6 with extension headers (hop-by-hop, routing,
 *   fragment, destination options, AH, mobility, HIP, shim6; ESP and no-next-header end the chain).
 * - Transport: TCP ports and flags, UDP ports, ICMP/ICMPv6 as dst_port = type * 256 + code with
 *   src_port 0 (as NetFlow and nfdump do); every other protocol has ports 0.
 * - Bytes are IP-layer bytes from the IP header — IPv4 total length, IPv6 payload length + 40 (a
 *   zero payload length is a jumbogram: the hop-by-hop jumbo option + 40, else the bytes the frame
 *   carried on the wire) — never the captured length, so snapped captures count right.
 *   (IPv4 total length 0, as TCP segmentation offload leaves it in captures, also uses the wire bytes.)
 * - Tunnels (6in4 / proto 41, IPIP, GRE, ...) are not decapsulated: they count once, under the outer
 *   header's family and protocol.
 * - Fragments: non-first fragments have no transport header; a small bounded table keyed by
 *   (addresses, protocol, IP id) attributes them to the ports of their first fragment when it was
 *   seen (within 15 s, nfpcapd's reassembly window), else their ports are 0.
 * - MACs: source and destination from Ethernet headers; from Linux cooked v1/v2 headers only the
 *   source (the sender's link-layer address, when it is a 6-byte Ethernet one); 0 otherwise.
 * - Never throws on packet contents: non-IP frames are "not IP", damaged IP headers are "malformed"
 *   with a kind.
 */
import type { CapturePacket } from './pcap.js';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW_12: 12,
  RAW_14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Link types {@link PacketDecoder} understands. */
export const SUPPORTED_LINK_TYPES: readonly number[] = Object.values(LINKTYPE);

/** decode() results. */
export const DECODE_IP = 0;
export const DECODE_NOT_IP = 1;
export const DECODE_MALFORMED = 2;
export const DECODE_UNSUPPORTED_LINK = 3;

export const MALFORMED_KINDS = ['truncated-link', 'truncated-ip', 'bad-version', 'bad-ihl', 'bad-length'] as const;
/**
 * - truncated-link: the frame is shorter than its link-layer header (or a VLAN/MPLS/PPPoE header);
 * - truncated-ip: fewer captured bytes than the IP header (20 bytes / IHL * 4 / 40 bytes);
 * - bad-version: the IP version does not match the link layer's protocol;
 * - bad-ihl: IPv4 header length below 5 words;
 * - bad-length: IPv4 total length smaller than its header.
 */
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** What the decoder found in one packet. Reused: valid until the next decode(). */
export class PacketInfo {
  /** 4 or 6 (0 when the packet was not decoded as IP). */
  family: 0 | 4 | 6 = 0;
  /** Transport protocol (after IPv6 extension headers). */
  proto = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** IP-layer bytes (from the IP header). */
  bytes = 0;
  /** 48-bit MACs (0 = unknown). */
  srcMac = 0;
  dstMac = 0;
  /** Source address as four big-endian 32-bit words (int32); IPv4 is ::ffff:a.b.c.d. */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  /** Destination address words, as for the source. */
  d0 = 0;
  d1 = 0;
  d2 = 0;
  d3 = 0;
  /** 0: not a fragment; 1: first fragment; 2: later fragment (no transport header of its own). */
  fragment = 0;
  /** Offset of the IP header in the buffer. */
  ipOffset = 0;
  /** Offset of the transport header in the buffer, -1 when there is none (later fragments, unknown). */
  l4Offset = -1;
  /** End of the captured bytes of this packet in the buffer. */
  capEnd = 0;
  /** Set when decode() returned DECODE_MALFORMED. */
  malformed: MalformedKind | null = null;
}

export interface DecodeStats {
  ipPackets: number;
  /** Frames that are not IP (ARP, LLDP, STP, ...). */
  skippedNonIp: number;
  /** Frames of a link type this decoder does not know (also counted in skippedNonIp). */
  unsupportedLink: number;
  malformed: Record<MalformedKind, number>;
  /** IP fragments (first and later ones). */
  fragments: number;
  /** Later fragments attributed to their first fragment's ports. */
  fragmentsAttributed: number;
}

export interface PacketDecoderOptions {
  /** Fragment table slots (a power of two; default 4096). */
  fragmentTableSize?: number;
  /** How long a first fragment's ports are remembered, ms of capture time (default 15000). */
  fragmentTimeoutMs?: number;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const V4_MAPPED_WORD = 0xffff;
const KEY_WORDS = 10;

export class PacketDecoder {
  readonly info = new PacketInfo();
  readonly stats: DecodeStats = {
    ipPackets: 0,
    skippedNonIp: 0,
    unsupportedLink: 0,
    malformed: { 'truncated-link': 0, 'truncated-ip': 0, 'bad-version': 0, 'bad-ihl': 0, 'bad-length': 0 },
    fragments: 0,
    fragmentsAttributed: 0,
  };
  /** Link types met that are not supported (each reported once). */
  readonly unsupportedLinkTypes = new Set<number>();

  // Direct-mapped fragment table: key words, ports (src << 16 | dst), time of the first fragment.
  private readonly fragMask: number;
  private readonly fragKeys: Int32Array;
  private readonly fragPorts: Int32Array;
  private readonly fragTime: Float64Array;
  private readonly fragTimeout: number;

  constructor(opts: PacketDecoderOptions = {}) {
    let size = 16;
    while (size < (opts.fragmentTableSize ?? 4096)) size <<= 1;
    this.fragMask = size - 1;
    this.fragKeys = new Int32Array(size * KEY_WORDS);
    this.fragPorts = new Int32Array(size);
    this.fragTime = new Float64Array(size).fill(-Infinity);
    this.fragTimeout = opts.fragmentTimeoutMs ?? 15_000;
  }

  /** Decode a packet delivered by readCapture. */
  decodePacket(p: CapturePacket): number {
    return this.decode(p.buf, p.offset, p.capLen, p.origLen, p.linkType, p.tsMs);
  }

  /**
   * Decode buf[off, off + capLen) of link type `linkType`; `origLen` is the wire length and `tsMs`
   * the capture time (for the fragment table). Returns DECODE_IP (info filled in), DECODE_NOT_IP,
   * DECODE_UNSUPPORTED_LINK or DECODE_MALFORMED (info.malformed says why).
   */
  decode(b: Uint8Array, off: number, capLen: number, origLen: number, linkType: number, tsMs: number): number {
    const info = this.info;
    const end = off + capLen;
    info.srcMac = 0;
    info.dstMac = 0;
    info.malformed = null;
    let o = off;
    let et = 0;
    switch (linkType) {
      case 1: // Ethernet
        if (capLen < 14) return this.bad('truncated-link');
        info.dstMac = mac(b, off);
        info.srcMac = mac(b, off + 6);
        et = (b[off + 12]! << 8) | b[off + 13]!;
        o = off + 14;
        break;
      case 113: {
        // Linux cooked v1: pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
        if (capLen < 16) return this.bad('truncated-link');
        const hatype = (b[off + 2]! << 8) | b[off + 3]!;
        const halen = (b[off + 4]! << 8) | b[off + 5]!;
        if (hatype === 1 && halen === 6) info.srcMac = mac(b, off + 6);
        et = (b[off + 14]! << 8) | b[off + 15]!;
        o = off + 16;
        break;
      }
      case 276: {
        // Linux cooked v2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
        if (capLen < 20) return this.bad('truncated-link');
        et = (b[off]! << 8) | b[off + 1]!;
        const hatype = (b[off + 8]! << 8) | b[off + 9]!;
        if (hatype === 1 && b[off + 11] === 6) info.srcMac = mac(b, off + 12);
        o = off + 20;
        break;
      }
      case 101:
      case 12:
      case 14: {
        if (capLen < 1) return this.bad('truncated-ip');
        const v = b[off]! >> 4;
        if (v === 4) et = ETH_IPV4;
        else if (v === 6) et = ETH_IPV6;
        else return this.bad('bad-version');
        break;
      }
      case 228:
        et = ETH_IPV4;
        break;
      case 229:
        et = ETH_IPV6;
        break;
      case 0:
      case 108: {
        // 4-byte address family: host byte order of the capturing machine (NULL), network (LOOP)
        if (capLen < 4) return this.bad('truncated-link');
        let af = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
        if (af > 0xffff) af = ((af & 0xff) << 24) | ((af & 0xff00) << 8) | ((af >>> 8) & 0xff00) | (af >>> 24);
        o = off + 4;
        if (af === 2) et = ETH_IPV4;
        // AF_INET6: 24 NetBSD/OpenBSD/BSD/OS, 28 FreeBSD/DragonFly, 30 macOS/iOS, 10 Linux
        else if (af === 24 || af === 28 || af === 30 || af === 10) et = ETH_IPV6;
        else {
          this.stats.skippedNonIp++;
          return DECODE_NOT_IP;
        }
        break;
      }
      default:
        this.stats.skippedNonIp++;
        this.stats.unsupportedLink++;
        this.unsupportedLinkTypes.add(linkType);
        return DECODE_UNSUPPORTED_LINK;
    }

    // VLAN tags, MPLS, PPPoE
    while (et !== ETH_IPV4 && et !== ETH_IPV6) {
      if (et === 0x8100 || et === 0x88a8 || et === 0x9100 || et === 0x9200) {
        if (end - o < 4) return this.bad('truncated-link');
        et = (b[o + 2]! << 8) | b[o + 3]!;
        o += 4;
      } else if (et === 0x8847 || et === 0x8848) {
        let bos = 0;
        for (let n = 0; bos === 0; n++) {
          if (end - o < 4 || n > 32) return this.bad('truncated-link');
          bos = b[o + 2]! & 1;
          o += 4;
        }
        if (end - o < 1) return this.bad('truncated-ip');
        const v = b[o]! >> 4;
        if (v === 4) et = ETH_IPV4;
        else if (v === 6) et = ETH_IPV6;
        else return this.notIp(); // pseudowire / Ethernet over MPLS
      } else if (et === 0x8864) {
        // PPPoE session: ver/type code session(2) length(2) PPP protocol(2)
        if (end - o < 8) return this.bad('truncated-link');
        const ppp = (b[o + 6]! << 8) | b[o + 7]!;
        o += 8;
        if (ppp === 0x0021) et = ETH_IPV4;
        else if (ppp === 0x0057) et = ETH_IPV6;
        else return this.notIp();
      } else return this.notIp();
    }

    info.ipOffset = o;
    info.l4Offset = -1;
    info.capEnd = end;
    info.srcPort = 0;
    info.dstPort = 0;
    info.tcpFlags = 0;
    info.fragment = 0;
    let p: number; // transport header offset
    let proto: number;

    if (et === ETH_IPV4) {
      if (end - o < 20) return this.bad('truncated-ip');
      const vhl = b[o]!;
      if (vhl >> 4 !== 4) return this.bad('bad-version');
      const ihl = (vhl & 15) << 2;
      if (ihl < 20) return this.bad('bad-ihl');
      if (end - o < ihl) return this.bad('truncated-ip');
      const total = (b[o + 2]! << 8) | b[o + 3]!;
      if (total === 0) info.bytes = Math.max(ihl, origLen - (o - off)); // TSO: length left to the NIC
      else if (total < ihl) return this.bad('bad-length');
      else info.bytes = total;
      proto = b[o + 9]!;
      info.family = 4;
      info.s0 = 0;
      info.s1 = 0;
      info.s2 = V4_MAPPED_WORD;
      info.s3 = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
      info.d0 = 0;
      info.d1 = 0;
      info.d2 = V4_MAPPED_WORD;
      info.d3 = (b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!;
      info.proto = proto;
      p = o + ihl;
      const fo = (b[o + 6]! << 8) | b[o + 7]!;
      if ((fo & 0x3fff) !== 0) {
        this.stats.fragments++;
        const id = (b[o + 4]! << 8) | b[o + 5]!;
        if ((fo & 0x1fff) !== 0) {
          info.fragment = 2;
          this.fragLookup(4, proto, id, tsMs);
          this.stats.ipPackets++;
          return DECODE_IP;
        }
        info.fragment = 1;
        this.transport(b, p, end, proto);
        this.fragStore(4, proto, id, tsMs);
        this.stats.ipPackets++;
        return DECODE_IP;
      }
    } else {
      if (end - o < 40) return this.bad('truncated-ip');
      if (b[o]! >> 4 !== 6) return this.bad('bad-version');
      const plen = (b[o + 4]! << 8) | b[o + 5]!;
      let nh = b[o + 6]!;
      info.family = 6;
      info.s0 = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
      info.s1 = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
      info.s2 = (b[o + 16]! << 24) | (b[o + 17]! << 16) | (b[o + 18]! << 8) | b[o + 19]!;
      info.s3 = (b[o + 20]! << 24) | (b[o + 21]! << 16) | (b[o + 22]! << 8) | b[o + 23]!;
      info.d0 = (b[o + 24]! << 24) | (b[o + 25]! << 16) | (b[o + 26]! << 8) | b[o + 27]!;
      info.d1 = (b[o + 28]! << 24) | (b[o + 29]! << 16) | (b[o + 30]! << 8) | b[o + 31]!;
      info.d2 = (b[o + 32]! << 24) | (b[o + 33]! << 16) | (b[o + 34]! << 8) | b[o + 35]!;
      info.d3 = (b[o + 36]! << 24) | (b[o + 37]! << 16) | (b[o + 38]! << 8) | b[o + 39]!;
      if (plen !== 0) info.bytes = plen + 40;
      else if (nh === 59) info.bytes = 40; // an empty packet, not a jumbogram
      else {
        const jumbo = nh === 0 ? jumboOption(b, o + 40, end) : -1;
        info.bytes = jumbo >= 0 ? jumbo + 40 : Math.max(40, origLen - (o - off));
      }
      p = o + 40;
      // Extension headers
      for (let n = 0; n < 24; n++) {
        if (nh === 0 || nh === 43 || nh === 60 || nh === 135 || nh === 139 || nh === 140) {
          if (end - p < 2) break; // snapped inside the chain: the transport stays unknown
          nh = b[p]!;
          p += (b[p + 1]! + 1) << 3;
        } else if (nh === 51) {
          if (end - p < 2) break;
          nh = b[p]!;
          p += (b[p + 1]! + 2) << 2;
        } else if (nh === 44) {
          if (end - p < 8) break;
          const fo = (b[p + 2]! << 8) | b[p + 3]!;
          const id = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
          nh = b[p]!;
          p += 8;
          if ((fo & 0xfff9) === 0) continue; // atomic fragment (offset 0, M = 0): a whole packet
          this.stats.fragments++;
          info.proto = nh;
          if (fo >> 3 !== 0) {
            info.fragment = 2;
            this.fragLookup(6, nh, id, tsMs);
            this.stats.ipPackets++;
            return DECODE_IP;
          }
          info.fragment = 1;
          this.transport(b, p, end, nh);
          this.fragStore(6, nh, id, tsMs);
          this.stats.ipPackets++;
          return DECODE_IP;
        } else break; // transport, ESP (50), no next header (59), or unknown
      }
      proto = nh;
      info.proto = proto;
    }
    this.transport(b, p, end, proto);
    this.stats.ipPackets++;
    return DECODE_IP;
  }

  private transport(b: Uint8Array, p: number, end: number, proto: number): void {
    const info = this.info;
    info.l4Offset = p;
    if (proto === 6) {
      if (end - p >= 4) {
        info.srcPort = (b[p]! << 8) | b[p + 1]!;
        info.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
        if (end - p >= 14) info.tcpFlags = b[p + 13]!;
      }
    } else if (proto === 17) {
      if (end - p >= 4) {
        info.srcPort = (b[p]! << 8) | b[p + 1]!;
        info.dstPort = (b[p + 2]! << 8) | b[p + 3]!;
      }
    } else if (proto === 1 || proto === 58) {
      if (end - p >= 2) info.dstPort = (b[p]! << 8) | b[p + 1]!;
    }
  }

  private fragSlot(fam: number, proto: number, id: number): number {
    const i = this.info;
    let h = Math.imul(i.s3 ^ (id << 8) ^ proto, 0x9e3779b1);
    h = Math.imul(h ^ i.d3 ^ (h >>> 15), 0x85ebca77);
    h = Math.imul(h ^ i.s2 ^ i.d2 ^ fam, 0xc2b2ae3d);
    h ^= i.s0 ^ i.d0 ^ i.s1 ^ i.d1;
    h ^= h >>> 13;
    return (h ^ (id >>> 16)) & this.fragMask;
  }

  private fragStore(fam: number, proto: number, id: number, tsMs: number): void {
    const i = this.info;
    const slot = this.fragSlot(fam, proto, id);
    const k = slot * KEY_WORDS;
    const keys = this.fragKeys;
    keys[k] = i.s0;
    keys[k + 1] = i.s1;
    keys[k + 2] = i.s2;
    keys[k + 3] = i.s3;
    keys[k + 4] = i.d0;
    keys[k + 5] = i.d1;
    keys[k + 6] = i.d2;
    keys[k + 7] = i.d3;
    keys[k + 8] = (fam << 8) | proto;
    keys[k + 9] = id;
    this.fragPorts[slot] = (i.srcPort << 16) | i.dstPort;
    this.fragTime[slot] = tsMs;
  }

  private fragLookup(fam: number, proto: number, id: number, tsMs: number): void {
    const i = this.info;
    const slot = this.fragSlot(fam, proto, id);
    const k = slot * KEY_WORDS;
    const keys = this.fragKeys;
    const t = this.fragTime[slot]!;
    if (
      tsMs - t <= this.fragTimeout &&
      tsMs >= t - this.fragTimeout &&
      keys[k + 9] === id &&
      keys[k + 8] === ((fam << 8) | proto) &&
      keys[k + 3] === i.s3 &&
      keys[k + 7] === i.d3 &&
      keys[k] === i.s0 &&
      keys[k + 1] === i.s1 &&
      keys[k + 2] === i.s2 &&
      keys[k + 4] === i.d0 &&
      keys[k + 5] === i.d1 &&
      keys[k + 6] === i.d2
    ) {
      const ports = this.fragPorts[slot]!;
      i.srcPort = ports >>> 16;
      i.dstPort = ports & 0xffff;
      this.stats.fragmentsAttributed++;
    }
  }

  private bad(kind: MalformedKind): number {
    this.info.malformed = kind;
    this.info.family = 0;
    this.stats.malformed[kind]++;
    return DECODE_MALFORMED;
  }

  private notIp(): number {
    this.info.family = 0;
    this.stats.skippedNonIp++;
    return DECODE_NOT_IP;
  }
}

function mac(b: Uint8Array, o: number): number {
  return b[o]! * 1099511627776 + b[o + 1]! * 4294967296 + ((b[o + 2]! << 24) >>> 0) + (b[o + 3]! << 16) + (b[o + 4]! << 8) + b[o + 5]!;
}

/** The Jumbo Payload option (type 0xC2) value in the hop-by-hop header at p, or -1. */
function jumboOption(b: Uint8Array, p: number, end: number): number {
  if (end - p < 2) return -1;
  const hend = Math.min(end, p + ((b[p + 1]! + 1) << 3));
  let q = p + 2;
  while (q < hend) {
    const t = b[q]!;
    if (t === 0) {
      q++; // Pad1
      continue;
    }
    if (q + 2 > hend) break;
    const len = b[q + 1]!;
    if (t === 0xc2 && len === 4 && q + 6 <= hend) {
      return ((b[q + 2]! << 24) | (b[q + 3]! << 16) | (b[q + 4]! << 8) | b[q + 5]!) >>> 0;
    }
    q += 2 + len;
  }
  return -1;
}
