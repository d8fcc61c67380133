/**
 * Turns planned exchanges into frames (built with the project's frame builder,
 * src/sources/packets/writer.ts) and counts the ground truth from the headers it wrote.
 *
 * Frames of one connection differ only in sequence numbers, IPv4 ids and ICMP ids/sequences, so each
 * distinct frame shape is built once (a template, cut to the snap length) and copied into an arena
 * with those fields patched: the full-size payload is never kept. Packets are kept as (time, arena
 * offset, captured length, wire length) and written in time order at the end.
 *
 * Ground truth: each exchange is one or two unidirectional 5-tuple flows per direction used; the
 * planner guarantees every exchange uses 5-tuples no other exchange uses within 15 minutes, lasts
 * well under the flow meter's 300 s active timeout and has no gap over 5 s, so a flow meter sees
 * exactly one flow per (exchange, direction).
 */
import { buildFrame, type FrameSpec } from '../sources/packets/writer.js';
import type { Rng } from './rng.js';
import type { FamilyTotals, Totals } from './types.js';

export const SNAPLEN = 128;
const ETH = 14;

/** One end of an exchange as seen at the capture point (the router's LAN side). */
export interface Endpoint {
  /** Canonical address text (RFC 5952 / dotted quad). */
  addr: string;
  /** The MAC its frames carry on the LAN (the router's for remote hosts). */
  mac: number;
  /** Hop limit / TTL its packets have at the capture point. */
  ttl: number;
}

/** What an exchange counts for in the ground truth. */
export interface Attribution {
  /** LAN hosts that are an endpoint (devices by name, "router"). */
  hosts: readonly string[];
  /** Named destination that is an endpoint. */
  dest?: string;
  /** Traffic of the BitTorrent client. */
  bittorrent?: boolean;
}

interface Template {
  bytes: Uint8Array;
  orig: number;
  ipLen: number;
  fam: 0 | 4 | 6;
  /** Unidirectional flow key, null for non-IP frames. */
  key: string | null;
  /** Source and destination address text (IP packets). */
  src: string;
  dst: string;
  /** Offset of the transport header in the frame. */
  l4: number;
  /** Ones' complement sums (unfolded) of the IPv4 header and of the transport checksum's coverage, checksum fields zero. */
  ipSum: number;
  l4Sum: number;
  /** Offset of the transport checksum field (-1: none). */
  l4Ck: number;
  /** UDP: a computed 0 is sent as 0xffff. */
  udp: boolean;
}

export class Exchange {
  fam: 0 | 4 | 6 = 0;
  readonly keys = new Set<string>();
  bytes = 0;
  packets = 0;
  private readonly cache = new Map<string, Template>();
  constructor(readonly attr: Attribution) {}
  cached(k: string, make: () => Template): Template {
    let t = this.cache.get(k);
    if (!t) {
      t = make();
      this.cache.set(k, t);
    }
    return t;
  }
}

export const zeroTotals = (): Totals => ({ bytes: 0, packets: 0, flows: 0 });
export const zeroFamily = (): FamilyTotals => ({ ipv4: zeroTotals(), ipv6: zeroTotals() });

function addTo(t: Totals, bytes: number, packets: number, flows: number): void {
  t.bytes += bytes;
  t.packets += packets;
  t.flows += flows;
}

const DUMMY: Template = { bytes: new Uint8Array(0), orig: 0, ipLen: 0, fam: 0, key: null, src: '', dst: '', l4: 0, ipSum: 0, l4Sum: 0, l4Ck: -1, udp: false };

/** Unfolded sum of the 16-bit big-endian words of b[start, end) (an odd tail is padded with 0). */
function sum16(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

/**
 * Patches: flat [offset, 16-bit value, ...] pairs, offsets from the frame start. Patched words must
 * be zero in the template and at an even distance from the start of their header, so checksums can be
 * updated by adding the words (RFC 1071 / RFC 1624).
 */
export type Patch = number[];

/** Push a 32-bit value as two 16-bit patch words at `off`. */
export function patch32(p: Patch, off: number, v: number): void {
  p.push(off, (v >>> 16) & 0xffff, off + 2, v & 0xffff);
}

export class Renderer {
  readonly total = zeroFamily();
  readonly byHost = new Map<string, FamilyTotals>();
  readonly byDest = new Map<string, FamilyTotals>();
  readonly bittorrent = zeroFamily();
  /** IPv4 totals by the generator's own floor cause (see `causeOf`). */
  readonly ipv4ByCause = new Map<string, Totals>();
  /** Set by the generator: the floor cause of an exchange, from what it knows the exchange is. */
  causeOf: ((a: Attribution) => string) | null = null;
  nonIpFrames = 0;
  packets = 0;
  /** Every address that is the source or destination of an IP packet written. */
  readonly addresses = new Set<string>();
  /** Packets of the scalable bulk phases (for calibrating packetsTarget). */
  bulkPackets = 0;

  // Arena of captured bytes and per-packet columns.
  private arena = Buffer.alloc(1 << 22);
  private used = 0;
  private times: number[] = [];
  private offs: number[] = [];
  private caps: number[] = [];
  private origs: number[] = [];

  /**
   * @param dry count packets only (no frames built): the calibration pass.
   * @param k   scale of the bulk volumes.
   */
  constructor(
    readonly dry: boolean,
    readonly rng: Rng,
    readonly k: number,
  ) {}

  /** Build a frame template (cut to the snap length) and read its IP-layer length from the header. */
  template(spec: FrameSpec): Template {
    if (this.dry) return DUMMY;
    const f = buildFrame(spec);
    const et = (f[12]! << 8) | f[13]!;
    let fam: 0 | 4 | 6 = 0;
    let ipLen = 0;
    let l4 = 0;
    if (et === 0x0800) {
      fam = 4;
      ipLen = (f[ETH + 2]! << 8) | f[ETH + 3]!;
      l4 = ETH + (f[ETH]! & 15) * 4;
    } else if (et === 0x86dd) {
      fam = 6;
      ipLen = ((f[ETH + 4]! << 8) | f[ETH + 5]!) + 40;
      l4 = ETH + 40;
    }
    let key: string | null = null;
    let ipSum = 0;
    let l4Sum = 0;
    let l4Ck = -1;
    let udp = false;
    if (fam !== 0) {
      const proto = typeof spec.proto === 'string' ? { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[spec.proto] : (spec.proto ?? 6);
      const icmp = proto === 1 || proto === 58;
      const sport = icmp ? 0 : (spec.srcPort ?? 0);
      const dport = icmp ? (spec.icmpType ?? 0) * 256 + (spec.icmpCode ?? 0) : (spec.dstPort ?? 0);
      key = `${fam} ${spec.src} ${spec.dst} ${proto} ${sport} ${dport}`;
      // Checksums: the IPv4 header's, and the transport's over its pseudo-header (none for ICMPv4).
      const segLen = fam === 4 ? ipLen - (l4 - ETH) : ipLen - 40;
      if (fam === 4) ipSum = sum16(f, ETH, l4);
      l4Ck = proto === 6 ? l4 + 16 : proto === 17 ? l4 + 6 : icmp ? l4 + 2 : -1;
      udp = proto === 17;
      if (l4Ck >= 0) {
        l4Sum = sum16(f, l4, l4 + segLen);
        if (proto !== 1) {
          // pseudo-header: addresses, upper-layer length, protocol
          l4Sum += fam === 4 ? sum16(f, ETH + 12, ETH + 20) : sum16(f, ETH + 8, ETH + 40);
          l4Sum += segLen + proto;
        }
      }
    }
    return { bytes: f.slice(0, SNAPLEN), orig: f.length, ipLen, fam, key, src: fam ? String(spec.src) : '', dst: fam ? String(spec.dst) : '', l4, ipSum, l4Sum, l4Ck, udp };
  }

  /** Emit one packet of `ex` at `tUs` (integer µs) with the template's zero words `patch`ed; fills in the checksums. */
  emit(ex: Exchange | null, tUs: number, tpl: Template, patch?: Patch, bulk = false): void {
    this.packets++;
    if (bulk) this.bulkPackets++;
    if (this.dry) return;
    if (tpl.fam === 0) this.nonIpFrames++;
    else {
      if (!ex) throw new Error('demo: an IP packet outside an exchange');
      if (ex.fam === 0) ex.fam = tpl.fam;
      else if (ex.fam !== tpl.fam) throw new Error('demo: an exchange mixes address families');
      ex.keys.add(tpl.key!);
      this.addresses.add(tpl.src);
      this.addresses.add(tpl.dst);
      ex.bytes += tpl.ipLen;
      ex.packets++;
    }
    const n = tpl.bytes.length;
    if (this.used + n > this.arena.length) {
      const bigger = Buffer.alloc(this.arena.length * 2);
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    const off = this.used;
    this.arena.set(tpl.bytes, off);
    this.used += n;
    if (tpl.fam !== 0) {
      const b = this.arena;
      let ipSum = tpl.ipSum;
      let l4Sum = tpl.l4Sum;
      if (patch) {
        // A word past the end of the IP packet does not exist (a short payload): neither written
        // nor summed. One past the snap length exists on the wire: summed, not captured.
        const ipEnd = ETH + tpl.ipLen;
        for (let i = 0; i < patch.length; i += 2) {
          const at = patch[i]!;
          if (at + 2 > ipEnd) continue;
          const v = patch[i + 1]! & 0xffff;
          if (at + 2 <= n) {
            b[off + at] = v >>> 8;
            b[off + at + 1] = v & 255;
          }
          if (at >= tpl.l4) l4Sum += v;
          else ipSum += v;
        }
      }
      if (tpl.fam === 4) {
        const c = ~fold(ipSum) & 0xffff;
        b[off + ETH + 10] = c >>> 8;
        b[off + ETH + 11] = c & 255;
      }
      if (tpl.l4Ck >= 0 && tpl.l4Ck + 1 < n) {
        let c = ~fold(l4Sum) & 0xffff;
        if (c === 0 && tpl.udp) c = 0xffff;
        b[off + tpl.l4Ck] = c >>> 8;
        b[off + tpl.l4Ck + 1] = c & 255;
      }
    }
    this.times.push(Math.round(tUs));
    this.offs.push(off);
    this.caps.push(n);
    this.origs.push(tpl.orig);
  }

  /** Close an exchange: add its bytes, packets and flows to every total it counts for. */
  finish(ex: Exchange): void {
    if (this.dry || ex.fam === 0) return;
    const fam = ex.fam === 4 ? 'ipv4' : 'ipv6';
    const flows = ex.keys.size;
    addTo(this.total[fam], ex.bytes, ex.packets, flows);
    for (const h of new Set(ex.attr.hosts)) {
      let t = this.byHost.get(h);
      if (!t) this.byHost.set(h, (t = zeroFamily()));
      addTo(t[fam], ex.bytes, ex.packets, flows);
    }
    if (ex.attr.dest) {
      let t = this.byDest.get(ex.attr.dest);
      if (!t) this.byDest.set(ex.attr.dest, (t = zeroFamily()));
      addTo(t[fam], ex.bytes, ex.packets, flows);
    }
    if (ex.attr.bittorrent) addTo(this.bittorrent[fam], ex.bytes, ex.packets, flows);
    if (fam === 'ipv4' && this.causeOf) {
      const cause = this.causeOf(ex.attr);
      let t = this.ipv4ByCause.get(cause);
      if (!t) this.ipv4ByCause.set(cause, (t = zeroTotals()));
      addTo(t, ex.bytes, ex.packets, flows);
    }
  }

  /** Packets in time order (stable: equal times keep emission order). */
  *sorted(): Generator<{ tUs: number; frame: Uint8Array; orig: number }> {
    const n = this.times.length;
    const idx = new Uint32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const times = Float64Array.from(this.times);
    idx.sort((a, b) => times[a]! - times[b]! || a - b);
    for (let j = 0; j < n; j++) {
      const i = idx[j]!;
      const off = this.offs[i]!;
      yield { tUs: times[i]!, frame: this.arena.subarray(off, off + this.caps[i]!), orig: this.origs[i]! };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Exchange builders

const TCP_SYN = 0x02;
const TCP_ACK = 0x10;
const TCP_PSH_ACK = 0x18;
const TCP_SYN_ACK = 0x12;
const TCP_FIN_ACK = 0x11;

/** Split `bytes` into segments of at most `mss`. */
function segments(bytes: number, mss: number): number[] {
  const out: number[] = [];
  for (let left = Math.round(bytes); left > 0; left -= mss) out.push(Math.min(mss, left));
  return out;
}

/** Longest a connection's bulk phase may last (µs): well inside the meter's 300 s active timeout. */
export const MAX_BULK_US = 180_000_000;
/** Largest gap between packets of one connection (µs). */
const MAX_GAP_US = 1_500_000;

export interface TcpConn {
  /** Start (µs). */
  t: number;
  c: Endpoint;
  s: Endpoint;
  sport: number;
  dport: number;
  rttUs: number;
  /** Request bytes client → server after the handshake (not scaled). */
  req: number;
  /** Bulk bytes client → server (scaled by k). */
  up: number;
  /** Response bytes server → client (scaled by k). */
  down: number;
  /** Pace of the bulk phases. */
  rateBps: number;
  attr: Attribution;
}

/** A TCP connection: handshake, request, upload, response (ACK every 2nd segment), FIN, FIN, ACK. Returns its end (µs). */
export function tcpConnection(r: Renderer, o: TcpConn): number {
  const ex = new Exchange(o.attr);
  const rng = r.rng;
  const v6 = o.c.addr.includes(':');
  const mss = v6 ? 1440 : 1460;
  const base = (from: Endpoint, to: Endpoint, sport: number, dport: number): FrameSpec => ({
    src: from.addr,
    dst: to.addr,
    srcMac: from.mac,
    dstMac: to.mac,
    ttl: from.ttl,
    proto: 'tcp',
    srcPort: sport,
    dstPort: dport,
  });
  const cBase = base(o.c, o.s, o.sport, o.dport);
  const sBase = base(o.s, o.c, o.dport, o.sport);
  let cSeq = rng.u32();
  let sSeq = rng.u32();
  let cId = rng.int(0, 65535);
  let sId = rng.int(0, 65535);
  let tMax = o.t;
  const send = (fromClient: boolean, t: number, flags: number, len: number, bulk = false): void => {
    const spec = fromClient ? cBase : sBase;
    const tpl = ex.cached(`${fromClient ? 'c' : 's'}${flags}/${len}`, () => r.template({ ...spec, tcpFlags: flags, payloadLength: len }));
    const seq = fromClient ? cSeq : sSeq;
    const ack = flags & TCP_ACK ? (fromClient ? sSeq : cSeq) : 0;
    const id = fromClient ? cId++ : sId++;
    let p: Patch | undefined;
    if (!r.dry) {
      p = v6 ? [] : [ETH + 4, id & 0xffff];
      patch32(p, tpl.l4 + 4, seq >>> 0);
      patch32(p, tpl.l4 + 8, ack >>> 0);
    }
    r.emit(ex, t, tpl, p, bulk);
    const adv = len + (flags & (TCP_SYN | 0x01) ? 1 : 0);
    if (fromClient) cSeq = (cSeq + adv) >>> 0;
    else sSeq = (sSeq + adv) >>> 0;
    if (t > tMax) tMax = t;
  };
  const rtt = o.rttUs;
  const lan = () => rng.int(200, 1500); // LAN-side turnaround (µs)
  let t = o.t;
  send(true, t, TCP_SYN, 0);
  t += rtt;
  send(false, t, TCP_SYN_ACK, 0);
  t += lan();
  send(true, t, TCP_ACK, 0);
  for (const len of segments(o.req, mss)) {
    t += 100;
    send(true, t, TCP_PSH_ACK, len);
  }
  // Bulk phases, paced, together under MAX_BULK_US.
  const up = segments(o.up * r.k, mss);
  const down = segments(o.down * r.k, mss);
  const n = up.length + down.length;
  let spacing = Math.max(50, Math.round(((mss + 40) * 8 * 1e6) / o.rateBps));
  if (n * spacing > MAX_BULK_US) spacing = Math.floor(MAX_BULK_US / n);
  spacing = Math.min(spacing, MAX_GAP_US);
  const jit = () => Math.round(spacing * (0.6 + 0.8 * rng.next()));
  if (up.length > 0) {
    t += rtt / 2;
    up.forEach((len, i) => {
      t += jit();
      send(true, t, i === up.length - 1 ? TCP_PSH_ACK : TCP_ACK, len, true);
      if (i % 2 === 1 || i === up.length - 1) send(false, t + rtt, TCP_ACK, 0, true);
    });
  }
  t = Math.max(t, tMax) + rtt;
  // The response (at least a small one: TLS records, an HTTP status).
  const resp = down.length > 0 ? down : segments(rng.int(120, 900), mss);
  resp.forEach((len, i) => {
    t += i === 0 ? lan() : jit();
    send(false, t, i === resp.length - 1 ? TCP_PSH_ACK : TCP_ACK, len, down.length > 0);
    if (i % 2 === 1 || i === resp.length - 1) send(true, t + lan(), TCP_ACK, 0, down.length > 0);
  });
  t = Math.max(t, tMax) + rng.int(2_000, 400_000);
  send(true, t, TCP_FIN_ACK, 0);
  t += rtt;
  send(false, t, TCP_FIN_ACK, 0);
  t += lan();
  send(true, t, TCP_ACK, 0);
  r.finish(ex);
  return t;
}

/** A lone TCP SYN that is never answered (a Happy Eyeballs attempt that lost the race). */
export function tcpSynOnly(r: Renderer, t: number, c: Endpoint, s: Endpoint, sport: number, dport: number, attr: Attribution): void {
  const ex = new Exchange(attr);
  const tpl = r.template({ src: c.addr, dst: s.addr, srcMac: c.mac, dstMac: s.mac, ttl: c.ttl, proto: 'tcp', srcPort: sport, dstPort: dport, tcpFlags: TCP_SYN });
  const p: Patch = [];
  patch32(p, tpl.l4 + 4, r.rng.u32());
  r.emit(ex, t, tpl, p);
  r.finish(ex);
}

export interface UdpMsg {
  /** true: c → s. */
  fromClient: boolean;
  /** Delay after the previous message (µs). */
  dt: number;
  payload?: Uint8Array;
  size?: number;
}

/** A UDP exchange (DNS, NTP, DHT...): the messages in order. Returns its end (µs). */
export function udpExchange(r: Renderer, t0: number, c: Endpoint, s: Endpoint, sport: number, dport: number, msgs: readonly UdpMsg[], attr: Attribution): number {
  const ex = new Exchange(attr);
  let t = t0;
  let cId = r.rng.int(0, 65535);
  let sId = r.rng.int(0, 65535);
  for (const m of msgs) {
    t += m.dt;
    const [a, b, sp, dp] = m.fromClient ? [c, s, sport, dport] : [s, c, dport, sport];
    const spec: FrameSpec = { src: a.addr, dst: b.addr, srcMac: a.mac, dstMac: b.mac, ttl: a.ttl, proto: 'udp', srcPort: sp, dstPort: dp };
    const tpl = m.payload ? r.template({ ...spec, payload: m.payload }) : ex.cached(`${m.fromClient}/${m.size}`, () => r.template({ ...spec, payloadLength: m.size ?? 0 }));
    const id = m.fromClient ? cId++ : sId++;
    r.emit(ex, t, tpl, a.addr.includes(':') ? undefined : [ETH + 4, id & 0xffff]);
  }
  r.finish(ex);
  return t;
}

/**
 * A bulk UDP transfer (BitTorrent uTP, BEP 29): SYN / STATE, then data from the sender with a STATE
 * (ack) packet every second data packet, then FIN / STATE. Returns its end (µs).
 */
export function utpTransfer(
  r: Renderer,
  o: { t: number; c: Endpoint; s: Endpoint; sport: number; dport: number; rttUs: number; up: number; down: number; rateBps: number; attr: Attribution },
): number {
  const ex = new Exchange(o.attr);
  const rng = r.rng;
  const v6 = o.c.addr.includes(':');
  const maxPayload = v6 ? 1452 : 1472; // full 1500-byte IP packets
  const connId = rng.int(0, 65535);
  const hdr = (type: number, len: number): Uint8Array => {
    const p = new Uint8Array(len);
    p[0] = (type << 4) | 1; // type, version 1
    p[2] = connId >> 8;
    p[3] = connId & 255;
    return p;
  };
  let seqC = rng.int(0, 65535);
  let seqS = rng.int(0, 65535);
  let ipId = rng.int(0, 65535);
  const send = (fromClient: boolean, t: number, type: number, len: number, bulk = false): void => {
    const [a, b, sp, dp] = fromClient ? [o.c, o.s, o.sport, o.dport] : [o.s, o.c, o.dport, o.sport];
    const tpl = ex.cached(`${fromClient}/${type}/${len}`, () =>
      r.template({ src: a.addr, dst: b.addr, srcMac: a.mac, dstMac: b.mac, ttl: a.ttl, proto: 'udp', srcPort: sp, dstPort: dp, payload: hdr(type, len) }),
    );
    const seq = fromClient ? seqC++ : seqS++;
    const ack = fromClient ? seqS : seqC;
    const ts = t % 4294967296;
    let p: Patch | undefined;
    if (!r.dry) {
      const u = tpl.l4 + 8; // uTP header after the UDP header
      p = v6 ? [] : [ETH + 4, ipId++ & 0xffff];
      patch32(p, u + 4, ts); // timestamp (µs)
      patch32(p, u + 12, 1 << 20); // window
      p.push(u + 16, seq & 0xffff, u + 18, ack & 0xffff);
    }
    r.emit(ex, t, tpl, p, bulk);
  };
  const ST_DATA = 0;
  const ST_FIN = 1;
  const ST_STATE = 2;
  const ST_SYN = 4;
  let t = o.t;
  send(true, t, ST_SYN, 20);
  t += o.rttUs;
  send(false, t, ST_STATE, 20);
  const phase = (fromClient: boolean, bytes: number): void => {
    const segs = segments(bytes * r.k, maxPayload);
    let spacing = Math.max(50, Math.round(((maxPayload + 28) * 8 * 1e6) / o.rateBps));
    if (segs.length * spacing > MAX_BULK_US / 2) spacing = Math.floor(MAX_BULK_US / 2 / segs.length);
    spacing = Math.min(spacing, MAX_GAP_US);
    segs.forEach((len, i) => {
      t += Math.round(spacing * (0.6 + 0.8 * rng.next()));
      send(fromClient, t, ST_DATA, len, true);
      if (i % 2 === 1 || i === segs.length - 1) send(!fromClient, t + o.rttUs, ST_STATE, 20, true);
    });
    t += o.rttUs;
  };
  phase(true, o.up);
  phase(false, o.down);
  t += rng.int(1_000, 50_000);
  send(true, t, ST_FIN, 20);
  t += o.rttUs;
  send(false, t, ST_STATE, 20);
  r.finish(ex);
  return t;
}

/** One ICMP / ICMPv6 message as its own exchange or part of `ex`. `rest` is the 4 bytes after the checksum. */
export function icmpPacket(
  r: Renderer,
  ex: Exchange,
  t: number,
  from: Endpoint,
  to: Endpoint,
  type: number,
  code: number,
  rest: readonly number[],
  body: Uint8Array,
): void {
  const v6 = from.addr.includes(':');
  const tpl = r.template({ src: from.addr, dst: to.addr, srcMac: from.mac, dstMac: to.mac, ttl: from.ttl, proto: v6 ? 'icmpv6' : 'icmp', icmpType: type, icmpCode: code, payload: body });
  r.emit(ex, t, tpl, [tpl.l4 + 4, ((rest[0] ?? 0) << 8) | (rest[1] ?? 0), tpl.l4 + 6, ((rest[2] ?? 0) << 8) | (rest[3] ?? 0)]);
}

/** A ping session: `count` echo requests one second apart and their replies (2 flows). */
export function pingSession(r: Renderer, t0: number, c: Endpoint, s: Endpoint, count: number, rttUs: number, attr: Attribution): number {
  const ex = new Exchange(attr);
  const v6 = c.addr.includes(':');
  const id = r.rng.int(1, 65535);
  const body = new Uint8Array(56);
  for (let i = 8; i < 56; i++) body[i] = i; // the usual ping pattern after a timestamp
  let t = t0;
  for (let seq = 1; seq <= count; seq++) {
    const rest = [id >> 8, id & 255, seq >> 8, seq & 255];
    icmpPacket(r, ex, t, c, s, v6 ? 128 : 8, 0, rest, body);
    icmpPacket(r, ex, t + rttUs, s, c, v6 ? 129 : 0, 0, rest, body);
    t += 1_000_000 + r.rng.int(0, 2000);
  }
  r.finish(ex);
  return t;
}

/** A non-IP frame (ARP); not counted in the IP ground truth. */
export function rawFrame(r: Renderer, t: number, spec: FrameSpec): void {
  r.emit(null, t, r.template(spec));
}
