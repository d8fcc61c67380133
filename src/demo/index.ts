/**
 * `v6scope demo`: a deterministic, seeded week of a home network, written as a packet capture that
 * then goes through v6scope's real pcap decoder and flow meter, plus the ground truth the generator
 * counted itself (see ./types.ts).
 *
 * The story: the network runs at about two thirds IPv6 by bytes. The largest IPv4 user is a
 * BitTorrent client on the NAS that is bound to IPv4 (0.0.0.0) although the NAS and its peers are
 * dual-stack; moving it to IPv6 (`whatIf.bittorrentToIPv6`, or `bittorrentBinding: 'dual-stack'`)
 * takes the share above 80 %. The rest is the IPv4 floor: an IPv4-only camera uploading to an
 * IPv4-only cloud, IPv4-only websites and a game server, and the odd Happy Eyeballs fallback.
 *
 * The network (capture on the router's LAN side, Ethernet; documentation addresses and MACs):
 * - router 192.168.1.1, fe80::1, 2001:db8:4a1:10::1 — DNS resolver, DHCP server, sends RAs;
 * - LAN 192.168.1.0/24 and 2001:db8:4a1:10::/64;
 * - laptop and phone: dual-stack, stable (RFC 7217) address plus a temporary (RFC 8981) address
 *   that rotates daily and is the source of their connections; TV: dual-stack, streams video
 *   over IPv6 in the evenings; speaker: dual-stack with EUI-64 addresses; camera: IPv4 only;
 *   NAS: dual-stack (updates, DNS and NTP over IPv6) running the IPv4-bound BitTorrent client.
 *
 * Exactness: every exchange uses 5-tuples no other exchange uses within 15 minutes (a registry
 * checks it), connections last under about 3.5 minutes with no gap over 1.5 s, and after a FIN only
 * the last ACK follows — so a flow meter with nfpcapd's timeouts (300 s active, 60 s idle) sees
 * exactly the flows counted here: one per direction of each exchange.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { formatIP, parseIP } from '../net/ip.js';
import { eui64InterfaceId, formatMac, parseMac } from '../net/mac.js';
import { PcapWriter } from '../sources/packets/writer.js';
import { dnsAnswer, dnsQuery, QTYPE } from './dns.js';
import {
  Exchange,
  icmpPacket,
  pingSession,
  rawFrame,
  Renderer,
  SNAPLEN,
  tcpConnection,
  tcpSynOnly,
  udpExchange,
  utpTransfer,
  zeroFamily,
  type Attribution,
  type Endpoint,
} from './render.js';
import { Rng } from './rng.js';
import type { DemoResult, FamilyTotals, GroundTruth, Totals } from './types.js';

export type { DemoResult, FamilyTotals, GroundTruth, GroundTruthDestination, GroundTruthDevice, Shares, Totals } from './types.js';
export { dnsAnswer, dnsQuery, encodeDnsMessage, QTYPE } from './dns.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Packets in a default week (snaplen 128: about 55 MB on disk). */
export const DEFAULT_PACKETS_PER_WEEK = 400_000;
export const DEMO_PCAP_NAME = 'demo-home.pcap';
export const DEMO_TRUTH_NAME = 'ground-truth.json';
/** The router's DHCP leases at the end of the week, in dnsmasq's format (OpenWrt /tmp/dhcp.leases). */
export const DEMO_LEASES_NAME = 'dhcp.leases';
export const DEMO_LAN4 = '192.168.1.0/24';
export const DEMO_LAN6 = '2001:db8:4a1:10::/64';
/** Two uses of one 5-tuple are at least this far apart (ms). */
const KEY_REUSE_MS = 15 * MIN;

export interface DemoOptions {
  /** PRNG seed (default 6). Same seed + same start + same options → byte-identical capture. */
  seed?: number;
  /** Epoch ms of the start (normally a Monday 00:00 UTC, see {@link defaultDemoStart}). */
  start: number;
  /** Number of days (default 7). */
  days?: number;
  /** Directory for demo-home.pcap and ground-truth.json (created if missing). */
  outDir: string;
  /** Approximate packets in the capture (default 400,000 per 7 days); bulk volumes scale to it. */
  packetsTarget?: number;
  /** How the NAS's BitTorrent client is bound: 'ipv4' (default, the story's problem) or 'dual-stack' (the fix). */
  bittorrentBinding?: 'ipv4' | 'dual-stack';
}

/** The Monday 00:00 UTC that starts the most recent complete (Monday–Sunday) week before `now`. */
export function defaultDemoStart(now: number): number {
  const midnight = Math.floor(now / DAY) * DAY;
  const dow = (new Date(midnight).getUTCDay() + 6) % 7; // Monday = 0
  return midnight - dow * DAY - 7 * DAY;
}

// ---------------------------------------------------------------------------------------------
// The network

const canon = (text: string): string => {
  const p = parseIP(text);
  return formatIP(p.addr, p.family);
};

function v6WithIid(prefix: string, iid: Uint8Array): string {
  const a = parseIP(prefix).addr;
  a.set(iid, 8);
  return formatIP(a, 6);
}

/** A random (RFC 7217 / RFC 8981 style) interface id: 64 random bits, u/l and i/g bits clear. */
function randomIid(rng: Rng): Uint8Array {
  const b = rng.bytes(8);
  b[0] = b[0]! & 0xfc;
  return b;
}

function solicitedNode(addr: string): string {
  const a = parseIP(addr).addr;
  return canon(`ff02::1:ff${a[13]!.toString(16).padStart(2, '0')}:${((a[14]! << 8) | a[15]!).toString(16)}`);
}

function multicastMac(addr: string): number {
  const a = parseIP(addr).addr;
  return 0x3333 * 2 ** 32 + ((a[12]! << 24) >>> 0) + (a[13]! << 16) + (a[14]! << 8) + a[15]!;
}

const ROUTER_MAC = parseMac('00:00:5e:00:53:01');
const LAN6_PREFIX = '2001:db8:4a1:10::';

interface Device {
  name: string;
  description: string;
  mac: number;
  v4?: string;
  /** Link-local, stable global and (rotating) temporary IPv6 addresses. */
  ll?: string;
  stable?: string;
  temps: { from: number; addr: string }[];
  /** Its DNS queries go to the router over IPv6. */
  dnsV6: boolean;
  ttl: number;
  portLo: number;
  portHi: number;
  nextPort: number;
  /** Used IPv6 addresses, in order of first use. */
  used6: Set<string>;
}

interface Dest {
  id: string;
  name: string;
  description: string;
  a: string[];
  aaaa: string[];
  ttl: number;
  rttMs: number;
  hopTtl: number;
}

const DESTS: Dest[] = [
  { id: 'video', name: 'video.example.net', description: 'video streaming CDN (dual-stack)', a: ['198.51.100.10', '198.51.100.11'], aaaa: ['2001:db8:f00d::10', '2001:db8:f00d::11'], ttl: 300, rttMs: 9, hopTtl: 58 },
  { id: 'search', name: 'search.example.com', description: 'search and web (dual-stack)', a: ['198.51.100.20'], aaaa: ['2001:db8:5ea::20'], ttl: 300, rttMs: 14, hopTtl: 57 },
  { id: 'updates', name: 'updates.example.org', description: 'software updates (dual-stack)', a: ['198.51.100.30'], aaaa: ['3fff:0:10::30'], ttl: 3600, rttMs: 22, hopTtl: 55 },
  { id: 'voice', name: 'voice.example.com', description: 'voice assistant and music for the speaker (dual-stack)', a: ['198.51.100.90'], aaaa: ['2001:db8:a55::90'], ttl: 600, rttMs: 18, hopTtl: 56 },
  { id: 'news', name: 'news.example', description: 'news website (IPv4 only)', a: ['203.0.113.40'], aaaa: [], ttl: 600, rttMs: 31, hopTtl: 53 },
  { id: 'shop', name: 'shop.example', description: 'online shop (IPv4 only)', a: ['203.0.113.45'], aaaa: [], ttl: 900, rttMs: 27, hopTtl: 54 },
  { id: 'camcloud', name: 'cam-cloud.example', description: "the camera's cloud (IPv4 only)", a: ['203.0.113.50'], aaaa: [], ttl: 60, rttMs: 38, hopTtl: 51 },
  { id: 'game', name: 'game.example', description: 'online game server, UDP (IPv4 only)', a: ['203.0.113.80'], aaaa: [], ttl: 300, rttMs: 24, hopTtl: 55 },
  { id: 'tracker', name: 'tracker.example', description: 'BitTorrent tracker (dual-stack)', a: ['203.0.113.60'], aaaa: ['3fff:0:60::60'], ttl: 900, rttMs: 45, hopTtl: 50 },
  { id: 'ntp', name: 'pool.ntp.example', description: 'NTP servers (dual-stack)', a: ['192.0.2.123'], aaaa: ['3fff:0:123::123'], ttl: 3600, rttMs: 12, hopTtl: 57 },
];
const DEST = new Map(DESTS.map((d) => [d.id, d]));
const dest = (id: string): Dest => DEST.get(id)!;

interface Peer {
  v4: string;
  v6: string;
  port: number;
  ttl: number;
  rttMs: number;
}

// ---------------------------------------------------------------------------------------------
// Payloads

const NTP_UNIX_OFFSET = 2_208_988_800;

function ntpTimestamp(b: Uint8Array, off: number, tUs: number): void {
  const sec = Math.floor(tUs / 1e6) + NTP_UNIX_OFFSET;
  const frac = Math.floor(((tUs % 1e6) / 1e6) * 4294967296);
  new DataView(b.buffer, b.byteOffset).setUint32(off, sec >>> 0);
  new DataView(b.buffer, b.byteOffset).setUint32(off + 4, frac >>> 0);
}

/** NTPv4 client request / server response (RFC 5905 §7.3). */
function ntpPacket(mode: 3 | 4, tUs: number, originUs?: number): Uint8Array {
  const b = new Uint8Array(48);
  b[0] = (0 << 6) | (4 << 3) | mode;
  if (mode === 4) {
    b[1] = 2; // stratum
    b[2] = 6; // poll
    b[3] = 0xec; // precision -20
    b.set([0, 0, 0, 0x20], 4); // root delay
    b.set([0, 0, 0, 0x40], 8); // root dispersion
    b.set([192, 0, 2, 1], 12); // reference id: upstream server
    ntpTimestamp(b, 16, tUs - 64_000_000);
    if (originUs !== undefined) ntpTimestamp(b, 24, originUs);
    ntpTimestamp(b, 32, tUs - 200);
  }
  ntpTimestamp(b, 40, tUs);
  return b;
}

/** A bencoded BitTorrent DHT (BEP 5) find_node query and its response. */
function dhtQuery(rng: Rng, nodeId: Uint8Array): { q: Uint8Array; r: Uint8Array } {
  const tid = rng.bytes(2);
  const target = rng.bytes(20);
  const peerId = rng.bytes(20);
  const nodes = rng.bytes(26 * 8);
  const enc = (parts: (string | Uint8Array)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
  const q = enc(['d1:ad2:id20:', nodeId, '6:target20:', target, 'e1:q9:find_node1:t2:', tid, '1:y1:qe']);
  const r = enc(['d1:rd2:id20:', peerId, '5:nodes208:', nodes, 'e1:t2:', tid, '1:y1:re']);
  return { q, r };
}

/** A DHCP (RFC 2131) renewal: REQUEST from the client, ACK from the server. */
function dhcpMessage(kind: 'request' | 'ack', xid: number, mac: number, ip: string, server: string): Uint8Array {
  const b = new Uint8Array(300);
  const dv = new DataView(b.buffer);
  b[0] = kind === 'request' ? 1 : 2; // op
  b[1] = 1; // htype Ethernet
  b[2] = 6; // hlen
  dv.setUint32(4, xid >>> 0);
  const ipb = parseIP(ip).addr.subarray(12);
  b.set(ipb, 12); // ciaddr (renewing)
  if (kind === 'ack') b.set(ipb, 16); // yiaddr
  for (let i = 0; i < 6; i++) b[28 + i] = Math.floor(mac / 2 ** (8 * (5 - i))) & 255; // chaddr
  dv.setUint32(236, 0x63825363); // magic cookie
  const srv = parseIP(server).addr.subarray(12);
  const opts: number[] = [53, 1, kind === 'request' ? 3 : 5];
  if (kind === 'ack') opts.push(54, 4, ...srv, 51, 4, 0, 1, 0x51, 0x80, 1, 4, 255, 255, 255, 0, 3, 4, ...srv, 6, 4, ...srv);
  else opts.push(55, 4, 1, 3, 6, 15);
  opts.push(255);
  b.set(opts, 240);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Planning

interface PlanItem {
  run: (r: Renderer) => void;
}

const peopleWeight = (h: number, weekend: boolean): number =>
  h < 6 ? 0.03 : h < 7 ? 0.25 : h < 9 ? 0.6 : h < 17 ? (weekend ? 0.65 : 0.25) : h < 19 ? 0.7 : h < 23 ? 1 : 0.45;
const tvWeight = (h: number, weekend: boolean): number =>
  h >= 19 && h < 23 ? 1 : h === 18 || h === 23 ? 0.35 : weekend && h >= 14 && h < 18 ? 0.6 : 0;

interface Resolved {
  /** When the answers are in (ms). */
  t: number;
  a?: string;
  aaaa?: string;
}

class Planner {
  readonly items: PlanItem[] = [];
  private readonly keys = new Map<string, number[]>();
  /** Caches: `filled` is when the entry was filled (planning is not in time order, so a hit needs filled <= t). */
  private readonly dnsCache = new Map<string, { filled: number; exp: number; a?: string; aaaa?: string }>();
  private readonly routerCache = new Map<string, { filled: number; exp: number; a?: string; aaaa?: string }>();
  readonly peersUsed = new Set<Peer>();

  constructor(
    readonly rng: Rng,
    readonly router: { v4: string; ll: string; gua: string },
    readonly btBinding: 'ipv4' | 'dual-stack',
  ) {}

  /** Reserve unidirectional keys at time t; false when one was used within KEY_REUSE_MS. */
  reserve(keys: readonly string[], t: number): boolean {
    for (const k of keys) for (const u of this.keys.get(k) ?? []) if (Math.abs(u - t) < KEY_REUSE_MS) return false;
    for (const k of keys) {
      const l = this.keys.get(k);
      if (l) l.push(t);
      else this.keys.set(k, [t]);
    }
    return true;
  }

  /** A fresh ephemeral port for `d` whose 5-tuples (both directions) are free at t. */
  port(d: Device, t: number, keysFor: (p: number) => string[]): number {
    for (let tries = 0; tries < 1000; tries++) {
      const p = d.nextPort;
      d.nextPort += this.rng.int(1, 9);
      if (d.nextPort > d.portHi) d.nextPort = d.portLo + (d.nextPort - d.portHi);
      if (this.reserve(keysFor(p), t)) return p;
    }
    throw new Error(`demo: no free port for ${d.name}`);
  }

  push(run: (r: Renderer) => void): void {
    this.items.push({ run });
  }

  ep(d: Device, fam: 4 | 6, t: number): Endpoint {
    return { addr: fam === 4 ? d.v4! : this.src6(d, t), mac: d.mac, ttl: d.ttl };
  }

  /** The IPv6 source address a device uses for outgoing connections at t (temporary if it has one). */
  src6(d: Device, t: number): string {
    let addr = d.stable!;
    for (const x of d.temps) if (x.from <= t) addr = x.addr;
    d.used6.add(addr);
    return addr;
  }

  routerEp(fam: 4 | 6, ll = false): Endpoint {
    return { addr: fam === 4 ? this.router.v4 : ll ? this.router.ll : this.router.gua, mac: ROUTER_MAC, ttl: 64 };
  }

  remoteEp(addr: string, hopTtl: number): Endpoint {
    return { addr, mac: ROUTER_MAC, ttl: hopTtl };
  }

  /**
   * Resolve `dst` for device `d` at t, honouring the device's stub cache: A and AAAA from one socket,
   * in parallel, as getaddrinfo does (A only for IPv4-only devices). The router's cache answers with
   * the remaining TTL and, like a CDN's resolver, one address per answer (chosen when it filled its
   * cache). Returns when the answers are in and the addresses to use.
   */
  lookup(d: Device, t: number, dst: Dest): Resolved {
    const ck = `${d.name} ${dst.name}`;
    const cached = this.dnsCache.get(ck);
    if (cached && cached.filled <= t && cached.exp > t + 2000) return { t, a: cached.a, aaaa: cached.aaaa };
    const fam: 4 | 6 = d.dnsV6 ? 6 : 4;
    const c = this.ep(d, fam, t);
    const s = this.routerEp(fam);
    const sport = this.port(d, t, (p) => [key(fam, c.addr, s.addr, 17, p, 53), key(fam, s.addr, c.addr, 17, 53, p)]);
    let rc = this.routerCache.get(dst.name);
    const hit = rc !== undefined && rc.filled <= t && rc.exp > t + 1000;
    if (!hit || !rc) {
      rc = { filled: t, exp: t + dst.ttl * 1000, a: dst.a.length ? this.rng.pick(dst.a) : undefined, aaaa: dst.aaaa.length ? this.rng.pick(dst.aaaa) : undefined };
      this.routerCache.set(dst.name, rc);
    }
    const ttl = Math.ceil((rc.exp - t) / 1000);
    const res: Resolved = { t, a: rc.a, aaaa: rc.aaaa };
    this.dnsCache.set(ck, { filled: t, exp: t + ttl * 1000, a: res.a, aaaa: res.aaaa });
    const delay = hit ? this.rng.int(300, 2500) : this.rng.int(12_000, 60_000); // µs
    const qtypes = d.stable ? [QTYPE.A, QTYPE.AAAA] : [QTYPE.A];
    const ids = qtypes.map(() => this.rng.int(0, 65535));
    const queries = qtypes.map((qt, i) => dnsQuery(ids[i]!, dst.name, qt));
    const answers = qtypes.map((qt, i) => {
      const addr = qt === QTYPE.A ? res.a : res.aaaa;
      return dnsAnswer(ids[i]!, dst.name, qt as 1 | 28, addr ? [addr] : [], ttl, { soaForNodata: false });
    });
    // The whole DNS message must fit in the snap length, so the capture carries every answer.
    for (const m of [...queries, ...answers]) {
      if (14 + (fam === 4 ? 20 : 40) + 8 + m.length > SNAPLEN) throw new Error(`demo: the DNS message for ${dst.name} would not fit in ${SNAPLEN} captured bytes`);
    }
    const tUs = t * 1000;
    this.push((r) => {
      const msgs = queries.map((q, i) => ({ fromClient: true, dt: i === 0 ? 0 : r.rng.int(20, 200), payload: q }));
      answers.forEach((a, i) => msgs.push({ fromClient: false, dt: i === 0 ? delay : r.rng.int(50, 900), payload: a }));
      udpExchange(r, tUs, c, s, sport, 53, msgs, { hosts: [d.name, 'router'] });
    });
    res.t = t + Math.ceil(delay / 1000) + 2;
    return res;
  }

  /**
   * Connections from `d` to a named destination, after a lookup. Dual-stack devices use IPv6 for
   * dual-stack names; with probability `fallback` the IPv6 attempt loses the Happy Eyeballs race (a
   * lone SYN) and the connection goes over IPv4 250–300 ms later.
   */
  connect(
    d: Device,
    t: number,
    dstId: string,
    o: { down: number; up?: number; req?: number; rateMbps: number; dport?: number; count?: number; fallback?: number; forceV4?: boolean; bittorrent?: boolean },
  ): void {
    const dst = dest(dstId);
    const res = this.lookup(d, t, dst);
    let tc = res.t + 1;
    const dport = o.dport ?? 443;
    for (let i = 0; i < (o.count ?? 1); i++) {
      const dual = d.stable !== undefined && res.aaaa !== undefined && !o.forceV4;
      let fam: 4 | 6 = dual ? 6 : 4;
      const attr: Attribution = { hosts: [d.name], dest: dst.name, bittorrent: o.bittorrent ?? false };
      if (dual && this.rng.chance(o.fallback ?? 0.06)) {
        const c6 = this.ep(d, 6, tc);
        const s6 = this.remoteEp(res.aaaa!, dst.hopTtl);
        const p6 = this.port(d, tc, (p) => [key(6, c6.addr, s6.addr, 6, p, dport)]);
        const at = tc * 1000;
        this.push((r) => tcpSynOnly(r, at, c6, s6, p6, dport, attr));
        tc += this.rng.int(250, 300);
        fam = 4;
      }
      const c = this.ep(d, fam, tc);
      const s = this.remoteEp((fam === 4 ? res.a : res.aaaa)!, dst.hopTtl);
      const sport = this.port(d, tc, (p) => [key(fam, c.addr, s.addr, 6, p, dport), key(fam, s.addr, c.addr, 6, dport, p)]);
      const spec = {
        t: tc * 1000,
        c,
        s,
        sport,
        dport,
        rttUs: dst.rttMs * 1000 * this.rng.real(0.9, 1.3),
        req: o.req ?? this.rng.int(400, 1800),
        up: o.up ?? 0,
        down: o.down,
        rateBps: o.rateMbps * 1e6,
        attr,
      };
      this.push((r) => void tcpConnection(r, spec));
      tc += this.rng.int(5, 150);
    }
  }

  /** A UDP request/response to a named destination from a fresh port (NTP). */
  ntp(d: Device, t: number): void {
    const dst = dest('ntp');
    const res = this.lookup(d, t, dst);
    const tt = res.t + 1;
    const fam: 4 | 6 = d.stable ? 6 : 4;
    const c = this.ep(d, fam, tt);
    const s = this.remoteEp((fam === 4 ? res.a : res.aaaa)!, dst.hopTtl);
    const sport = this.port(d, tt, (p) => [key(fam, c.addr, s.addr, 17, p, 123), key(fam, s.addr, c.addr, 17, 123, p)]);
    const tUs = tt * 1000;
    const rtt = dst.rttMs * 1000 + this.rng.int(0, 3000);
    this.push((r) =>
      udpExchange(r, tUs, c, s, sport, 123, [
        { fromClient: true, dt: 0, payload: ntpPacket(3, tUs) },
        { fromClient: false, dt: rtt, payload: ntpPacket(4, tUs + rtt, tUs) },
      ], { hosts: [d.name], dest: dst.name }),
    );
  }
}

function key(fam: 4 | 6, src: string, dst: string, proto: number, sport: number, dport: number): string {
  return `${fam} ${src} ${dst} ${proto} ${sport} ${dport}`;
}

// ---------------------------------------------------------------------------------------------
// The week

interface Model {
  devices: Device[];
  router: { v4: string; ll: string; gua: string };
  planner: Planner;
  btBinding: 'ipv4' | 'dual-stack';
}

function buildModel(seed: number, start: number, days: number, btBinding: 'ipv4' | 'dual-stack'): Model {
  const rng = Rng.stream(seed, 1);
  // Stable addresses do not depend on the seed (a fixed stream): the same devices in every demo.
  const fixed = Rng.stream(0x5ca1ab1e, 0);
  const router = { v4: '192.168.1.1', ll: 'fe80::1', gua: canon(`${LAN6_PREFIX}1`) };
  const planner = new Planner(rng, router, btBinding);
  const mk = (
    name: string,
    description: string,
    macText: string,
    v4: string,
    v6: 'none' | 'stable' | 'temporary' | 'eui64' | 'static',
    ttl: number,
    ports: [number, number],
    staticIid?: string,
  ): Device => {
    const mac = parseMac(macText);
    let ll: string | undefined;
    let stable: string | undefined;
    if (v6 !== 'none') {
      const iid = v6 === 'eui64' ? eui64InterfaceId(mac) : randomIid(fixed);
      ll = v6WithIid('fe80::', iid);
      stable = v6 === 'static' ? canon(`${LAN6_PREFIX}${staticIid}`) : v6WithIid(LAN6_PREFIX, v6 === 'eui64' ? iid : randomIid(fixed));
    }
    const [portLo, portHi] = ports;
    return { name, description, mac, v4, ll, stable, temps: [], dnsV6: v6 !== 'none', ttl, portLo, portHi, nextPort: rng.int(portLo, portHi), used6: new Set(ll ? [ll, stable!] : []) };
  };
  const linux: [number, number] = [32768, 60999];
  const iana: [number, number] = [49152, 65535];
  const devices = [
    mk('laptop', 'dual-stack laptop: stable address plus a daily temporary address; browses, watches video, plays an IPv4-only game', '00:00:5e:00:53:10', '192.168.1.23', 'temporary', 128, iana),
    mk('phone', 'dual-stack phone: privacy (temporary) addresses rotating daily; rejoins the Wi-Fi every morning', '00:00:5e:00:53:11', '192.168.1.37', 'temporary', 64, iana),
    mk('tv', 'dual-stack smart TV: streams video in the evenings, mostly over IPv6', '00:00:5e:00:53:12', '192.168.1.52', 'stable', 64, linux),
    mk('camera', 'IPv4-only security camera: uploads clips to an IPv4-only cloud around the clock', '00:00:5e:00:53:13', '192.168.1.64', 'none', 64, linux),
    mk('nas', 'dual-stack NAS: updates, DNS and NTP over IPv6, but its BitTorrent client is bound to IPv4', '00:00:5e:00:53:14', '192.168.1.10', 'static', 64, linux, '10'),
    mk('speaker', 'dual-stack smart speaker with EUI-64 addresses: voice queries and music', '00:00:5e:00:53:15', '192.168.1.71', 'eui64', 64, linux),
  ];
  const byName = new Map(devices.map((d) => [d.name, d]));
  const laptop = byName.get('laptop')!;
  const phone = byName.get('phone')!;
  const tv = byName.get('tv')!;
  const camera = byName.get('camera')!;
  const nas = byName.get('nas')!;
  const speaker = byName.get('speaker')!;
  const v6Devices = devices.filter((d) => d.stable);

  // Temporary addresses: one in use at the start, a new one every day (with DAD at creation).
  const rotations: { d: Device; t: number; addr: string }[] = [];
  for (const d of [laptop, phone]) {
    d.temps.push({ from: start - DAY, addr: v6WithIid(LAN6_PREFIX, randomIid(rng)) });
    for (let day = 0; day < days; day++) {
      const t = start + day * DAY + (d === laptop ? 4 * HOUR + 17 * MIN : 5 * HOUR + 3 * MIN) + rng.int(0, 20 * MIN);
      const addr = v6WithIid(LAN6_PREFIX, randomIid(rng));
      d.temps.push({ from: t, addr });
      rotations.push({ d, t, addr });
    }
  }

  // BitTorrent peers: dual-stack hosts (IPv4 from 198.18.0.0/15, IPv6 from 3fff::/20).
  const peers: Peer[] = [];
  for (let i = 0; i < 600; i++) {
    const v4 = `198.${rng.int(18, 19)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    const v6 = canon(`3fff:${rng.int(0x100, 0xfff).toString(16)}:${rng.int(0, 0xffff).toString(16)}:${rng.int(0, 0xffff).toString(16)}::${rng.int(1, 0xffff).toString(16)}`);
    peers.push({ v4, v6, port: rng.chance(0.3) ? rng.int(6881, 6889) : rng.int(10000, 65000), ttl: rng.pick([44, 47, 50, 52, 109, 112, 115]), rttMs: rng.int(20, 180) });
  }
  const btPort = 51413;
  const nodeId = rng.bytes(20);

  const P = planner;
  const at = (hs: number, margin = 5 * MIN) => hs + rng.int(0, HOUR - margin);

  // --- Link-local housekeeping ---
  // Router advertisements (unsolicited, every 10–14 minutes; RFC 4861 MaxRtrAdvInterval 600 s).
  for (let t = start + rng.int(0, 5 * MIN); t < start + days * DAY - 5 * MIN; t += rng.int(10 * MIN + 30_000, 14 * MIN)) {
    const rEp = { addr: router.ll, mac: ROUTER_MAC, ttl: 255 };
    const all = { addr: 'ff02::1', mac: multicastMac('ff02::1'), ttl: 255 };
    if (!P.reserve([key(6, rEp.addr, all.addr, 58, 0, 134 * 256)], t)) continue;
    const tUs = t * 1000;
    P.push((r) => {
      const ex = new Exchange({ hosts: ['router'] });
      icmpPacket(r, ex, tUs, rEp, all, 134, 0, [64, 0, 0x07, 0x08], raBody(router.gua));
      r.finish(ex);
    });
  }
  // DAD for each new temporary address (NS from :: to the solicited-node group).
  for (const rot of rotations) {
    const snm = solicitedNode(rot.addr);
    const from = { addr: '::', mac: rot.d.mac, ttl: 255 };
    const to = { addr: snm, mac: multicastMac(snm), ttl: 255 };
    if (!P.reserve([key(6, '::', snm, 58, 0, 135 * 256)], rot.t - 1000)) continue;
    const tUs = (rot.t - 1000) * 1000;
    P.push((r) => {
      const ex = new Exchange({ hosts: [rot.d.name] });
      icmpPacket(r, ex, tUs, from, to, 135, 0, [0, 0, 0, 0], parseIP(rot.addr).addr);
      r.finish(ex);
    });
  }

  for (let day = 0; day < days; day++) {
    const d0 = start + day * DAY;
    const dow = (new Date(d0).getUTCDay() + 6) % 7;
    const weekend = dow >= 5;

    // The phone rejoins the Wi-Fi in the morning: RS, a unicast RA back; DHCP renewal.
    {
      const t = d0 + 6 * HOUR + 40 * MIN + rng.int(0, 30 * MIN);
      const ph = { addr: phone.ll!, mac: phone.mac, ttl: 255 };
      const allRouters = { addr: 'ff02::2', mac: multicastMac('ff02::2'), ttl: 255 };
      const rEp = { addr: router.ll, mac: ROUTER_MAC, ttl: 255 };
      if (P.reserve([key(6, ph.addr, allRouters.addr, 58, 0, 133 * 256), key(6, rEp.addr, ph.addr, 58, 0, 134 * 256)], t)) {
        const tUs = t * 1000;
        P.push((r) => {
          const ex = new Exchange({ hosts: ['phone'] });
          icmpPacket(r, ex, tUs, ph, allRouters, 133, 0, [0, 0, 0, 0], llaOption(1, phone.mac));
          r.finish(ex);
          const ex2 = new Exchange({ hosts: ['phone', 'router'] });
          icmpPacket(r, ex2, tUs + 3_500, rEp, ph, 134, 0, [64, 0, 0x07, 0x08], raBody(router.gua));
          r.finish(ex2);
        });
      }
    }

    // DHCP renewals (T1 = half of a 24 h lease), unicast to the server; ARP refreshes.
    for (const d of devices) {
      for (const half of [0, 1]) {
        const t = d0 + half * 12 * HOUR + 2 * HOUR + devices.indexOf(d) * 7 * MIN + rng.int(0, 3 * MIN);
        const c = { addr: d.v4!, mac: d.mac, ttl: 64 };
        const s = { addr: router.v4, mac: ROUTER_MAC, ttl: 64 };
        if (!P.reserve([key(4, c.addr, s.addr, 17, 68, 67), key(4, s.addr, c.addr, 17, 67, 68)], t)) continue;
        const xid = rng.u32();
        const tUs = t * 1000;
        P.push((r) =>
          udpExchange(r, tUs, c, s, 68, 67, [
            { fromClient: true, dt: 0, payload: dhcpMessage('request', xid, d.mac, d.v4!, router.v4) },
            { fromClient: false, dt: r.rng.int(800, 4000), payload: dhcpMessage('ack', xid, d.mac, d.v4!, router.v4) },
          ], { hosts: [d.name, 'router'] }),
        );
      }
      for (let k = 0; k < 4; k++) {
        const tUs = (d0 + k * 6 * HOUR + rng.int(0, 5 * HOUR)) * 1000;
        P.push((r) => {
          rawFrame(r, tUs, { srcMac: ROUTER_MAC, dstMac: 0xffffffffffff, etherType: 0x0806, payload: arp(1, ROUTER_MAC, router.v4, 0, d.v4!) });
          rawFrame(r, tUs + r.rng.int(300, 3000), { srcMac: d.mac, dstMac: ROUTER_MAC, etherType: 0x0806, payload: arp(2, d.mac, d.v4!, ROUTER_MAC, router.v4) });
        });
      }
    }

    // Neighbour unreachability detection with the router, every few hours per IPv6 device.
    for (const d of v6Devices) {
      for (let t = d0 + rng.int(0, 3 * HOUR); t < d0 + DAY - 5 * MIN; t += rng.int(2 * HOUR, 4 * HOUR)) {
        const dev = { addr: d.ll!, mac: d.mac, ttl: 255 };
        const rEp = { addr: router.ll, mac: ROUTER_MAC, ttl: 255 };
        const devAsks = rng.chance(0.5);
        const [a, b] = devAsks ? [dev, rEp] : [rEp, dev];
        if (!P.reserve([key(6, a.addr, b.addr, 58, 0, 135 * 256), key(6, b.addr, a.addr, 58, 0, 136 * 256)], t)) continue;
        const tUs = t * 1000;
        P.push((r) => {
          const ex = new Exchange({ hosts: [d.name, 'router'] });
          const target = parseIP(b.addr).addr;
          icmpPacket(r, ex, tUs, a, b, 135, 0, [0, 0, 0, 0], concat(target, llaOption(1, a.mac)));
          icmpPacket(r, ex, tUs + r.rng.int(200, 3000), b, a, 136, 0, [b === rEp ? 0xe0 : 0x60, 0, 0, 0], concat(target, llaOption(2, b.mac)));
          r.finish(ex);
        });
      }
    }

    // Daily software updates: the NAS at night and the laptop in the evening, over IPv6.
    P.connect(nas, d0 + 3 * HOUR + rng.int(0, 40 * MIN), 'updates', { down: rng.int(2_500_000, 4_500_000), rateMbps: 40, count: 2, fallback: 0 });
    P.connect(laptop, d0 + rng.int(18, 21) * HOUR + rng.int(0, 40 * MIN), 'updates', { down: rng.int(1_500_000, 3_000_000), rateMbps: 40, count: 2 });
    if (rng.chance(0.4)) P.connect(phone, d0 + 2 * HOUR + rng.int(0, 40 * MIN), 'updates', { down: rng.int(1_000_000, 3_000_000), rateMbps: 30 });

    // The game (IPv4 only): one or two short matches on some evenings.
    if (rng.chance(weekend ? 0.8 : 0.45)) {
      let t = d0 + 20 * HOUR + rng.int(0, 90 * MIN);
      for (let m = rng.int(1, 2); m > 0; m--) {
        t = gameMatch(P, laptop, t) + rng.int(2 * MIN, 8 * MIN);
      }
    }

    for (let h = 0; h < 24; h++) {
      const hs = d0 + h * HOUR;
      const w = peopleWeight(h, weekend);

      // Laptop and phone: pages (1–3 parallel connections per page).
      for (const d of [laptop, phone]) {
        const pages = rng.poisson(w * (d === laptop ? 5 : 6));
        for (let i = 0; i < pages; i++) {
          const t = at(hs);
          const site = rng.weighted<string>([['search', 40], ['news', 17], ['shop', 7], ['video', d === laptop ? 12 : 22]]);
          const n = rng.int(1, 3);
          if (site === 'video') P.connect(d, t, 'video', { down: rng.logUniform(500_000, 3_000_000), rateMbps: 25, count: n });
          else if (site === 'search') P.connect(d, t, 'search', { down: rng.logUniform(30_000, 200_000), rateMbps: 20, count: n });
          else P.connect(d, t, site, { down: rng.logUniform(115_000, 575_000), rateMbps: 15, count: n });
        }
        // A ping now and then: IPv6 to the search site, IPv4 to the router.
        if (w >= 0.6 && rng.chance(0.04)) {
          const t = at(hs);
          const v6 = rng.chance(0.6);
          const c = P.ep(d, v6 ? 6 : 4, t);
          const s = v6 ? P.remoteEp(dest('search').aaaa[0]!, dest('search').hopTtl) : P.routerEp(4);
          const typ = v6 ? 128 : 8;
          if (P.reserve([key(v6 ? 6 : 4, c.addr, s.addr, v6 ? 58 : 1, 0, typ * 256), key(v6 ? 6 : 4, s.addr, c.addr, v6 ? 58 : 1, 0, (v6 ? 129 : 0) * 256)], t)) {
            const tUs = t * 1000;
            const attr: Attribution = v6 ? { hosts: [d.name], dest: dest('search').name } : { hosts: [d.name, 'router'] };
            const rtt = v6 ? dest('search').rttMs * 1000 : 1500;
            P.push((r) => void pingSession(r, tUs, c, s, 4, rtt, attr));
          }
        }
      }

      // TV: streaming sessions fetch video segments over a few connections an hour.
      const tw = tvWeight(h, weekend);
      if (tw > 0) {
        const n = rng.poisson(6.3 * tw);
        for (let i = 0; i < n; i++) P.connect(tv, at(hs), 'video', { down: rng.real(1_200_000, 2_800_000), rateMbps: 30, fallback: 0.03 });
      }
      if (rng.chance(0.3)) P.connect(tv, at(hs), 'video', { down: rng.int(8_000, 30_000), rateMbps: 10 }); // app check-in

      // Speaker: voice queries (audio up, answer down) and some music.
      for (let i = rng.poisson(1.2 * w); i > 0; i--) P.connect(speaker, at(hs), 'voice', { up: rng.int(20_000, 60_000), down: rng.int(10_000, 40_000), rateMbps: 4 });
      if (w >= 0.6 && rng.chance(0.35)) P.connect(speaker, at(hs), 'voice', { down: rng.int(1_000_000, 2_500_000), rateMbps: 4, count: 2 });

      // Camera: a clip upload every ~10 minutes, bigger in daytime (more motion).
      for (let m = 0; m < 6; m++) {
        const t = hs + m * 10 * MIN + rng.int(0, 4 * MIN);
        const big = h >= 7 && h < 21 ? rng.int(60_000, 160_000) : rng.int(22_000, 65_000);
        P.connect(camera, t, 'camcloud', { up: big, down: 0, req: rng.int(300, 700), rateMbps: 2 });
      }

      // NAS: the BitTorrent client (bound to IPv4 unless fixed): TCP peers, uTP, DHT, tracker.
      const bw = 0.7 + 0.5 * w;
      const btFam: 4 | 6 = btBinding === 'ipv4' ? 4 : 6;
      const btAttr: Attribution = { hosts: ['nas'], bittorrent: true };
      for (let i = rng.poisson(7 * bw); i > 0; i--) {
        const t = at(hs);
        const peer = rng.pick(peers);
        const pe = P.remoteEp(btFam === 4 ? peer.v4 : peer.v6, peer.ttl);
        const me = P.ep(nas, btFam, t);
        const inbound = rng.chance(0.4);
        let spec;
        if (inbound) {
          const pport = rng.int(10000, 65000);
          if (!P.reserve([key(btFam, pe.addr, me.addr, 6, pport, btPort), key(btFam, me.addr, pe.addr, 6, btPort, pport)], t)) continue;
          spec = { c: pe, s: me, sport: pport, dport: btPort, up: rng.logUniform(4_000, 115_000), down: rng.logUniform(30_000, 380_000) };
        } else {
          const sport = P.port(nas, t, (p) => [key(btFam, me.addr, pe.addr, 6, p, peer.port), key(btFam, pe.addr, me.addr, 6, peer.port, p)]);
          spec = { c: me, s: pe, sport, dport: peer.port, up: rng.logUniform(30_000, 380_000), down: rng.logUniform(4_000, 115_000) };
        }
        P.peersUsed.add(peer);
        const full = { ...spec, t: t * 1000, rttUs: peer.rttMs * 1000, req: 68 + rng.int(0, 200), rateBps: rng.real(1, 6) * 1e6, attr: btAttr };
        P.push((r) => void tcpConnection(r, full));
      }
      for (let i = rng.poisson(2.5 * bw); i > 0; i--) {
        const t = at(hs);
        const peer = rng.pick(peers);
        const pe = P.remoteEp(btFam === 4 ? peer.v4 : peer.v6, peer.ttl);
        const me = P.ep(nas, btFam, t);
        if (!P.reserve([key(btFam, me.addr, pe.addr, 17, btPort, peer.port), key(btFam, pe.addr, me.addr, 17, peer.port, btPort)], t)) continue;
        P.peersUsed.add(peer);
        const spec = { t: t * 1000, c: me, s: pe, sport: btPort, dport: peer.port, rttUs: peer.rttMs * 1000, up: rng.logUniform(38_000, 460_000), down: rng.logUniform(4_000, 76_000), rateBps: rng.real(1, 5) * 1e6, attr: btAttr };
        P.push((r) => void utpTransfer(r, spec));
      }
      for (let i = rng.poisson(20 * bw); i > 0; i--) {
        const t = at(hs, MIN);
        const peer = rng.pick(peers);
        const pe = P.remoteEp(btFam === 4 ? peer.v4 : peer.v6, peer.ttl);
        const me = P.ep(nas, btFam, t);
        const answered = rng.chance(0.85);
        const keys = [key(btFam, me.addr, pe.addr, 17, btPort, peer.port)];
        if (answered) keys.push(key(btFam, pe.addr, me.addr, 17, peer.port, btPort));
        if (!P.reserve(keys, t)) continue;
        P.peersUsed.add(peer);
        const { q, r: resp } = dhtQuery(rng, nodeId);
        const rtt = peer.rttMs * 1000;
        const msgs = [{ fromClient: true, dt: 0, payload: q }];
        if (answered) msgs.push({ fromClient: false, dt: rtt, payload: resp });
        const tUs = t * 1000;
        P.push((r) => void udpExchange(r, tUs, me, pe, btPort, peer.port, msgs, btAttr));
      }
      if (h % 2 === 0) {
        // Tracker announce (HTTPS): the tracker is dual-stack, an IPv4-bound client still uses IPv4.
        P.connect(nas, hs + 20 * MIN + rng.int(0, 10 * MIN), 'tracker', { down: rng.int(1_500, 4_000), rateMbps: 5, forceV4: btBinding === 'ipv4', bittorrent: true, fallback: 0 });
      }

      // NTP: the NAS, speaker and camera hourly, the others every 6 hours.
      for (const d of devices) {
        if (d === nas || d === speaker || d === camera || h % 6 === devices.indexOf(d) % 6) P.ntp(d, hs + 30 * MIN + devices.indexOf(d) * 47_000 + rng.int(0, 20_000));
      }
    }
  }
  return { devices, router, planner, btBinding };
}

/** A game match: UDP both ways at ~10 packets/s for 1–3 minutes, from a fresh port. Returns its end (ms). */
function gameMatch(P: Planner, d: Device, t: number): number {
  const dst = dest('game');
  const res = P.lookup(d, t, dst);
  const tt = res.t + 5;
  const c = P.ep(d, 4, tt);
  const s = P.remoteEp(res.a!, dst.hopTtl);
  const dport = 27015;
  const sport = P.port(d, tt, (p) => [key(4, c.addr, s.addr, 17, p, dport), key(4, s.addr, c.addr, 17, dport, p)]);
  const durMs = P.rng.int(60_000, 170_000);
  const seed = P.rng.u32();
  const tUs = tt * 1000;
  P.push((r) => {
    const g = new Rng(seed);
    const msgs = [];
    let elapsed = 0;
    let last = 0;
    for (let tick = 0; elapsed < durMs * 1000; tick++) {
      const dt = 100_000 + g.int(-15_000, 15_000);
      elapsed += dt;
      msgs.push({ fromClient: true, dt: elapsed - last, size: g.int(60, 140) });
      msgs.push({ fromClient: false, dt: 8_000 + g.int(0, 6_000), size: g.int(120, 320) });
      last = elapsed + msgs[msgs.length - 1]!.dt;
      elapsed = last;
    }
    udpExchange(r, tUs, c, s, sport, dport, msgs, { hosts: [d.name], dest: dst.name });
  });
  return tt + durMs + 20_000;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p))));
}

function macBytes(mac: number): number[] {
  const b: number[] = [];
  for (let i = 5; i >= 0; i--) b.push(Math.floor(mac / 2 ** (8 * i)) & 255);
  return b;
}

/** Neighbour discovery source (1) / target (2) link-layer address option. */
function llaOption(type: 1 | 2, mac: number): Uint8Array {
  return Uint8Array.from([type, 1, ...macBytes(mac)]);
}

/**
 * Router advertisement body after the first 8 bytes: timers, prefix information (RFC 4861 §4.6.2)
 * and RDNSS (RFC 8106). Source link-layer and MTU options are optional and left out, so the whole
 * RA fits in the 128-byte snap length.
 */
function raBody(rdnss: string): Uint8Array {
  const b = new Uint8Array(8 + 32 + 24);
  const dv = new DataView(b.buffer);
  // reachable time, retrans timer: 0 (unspecified)
  b.set([3, 4, 64, 0xc0], 8); // prefix information, /64, L and A
  dv.setUint32(12, 86_400); // valid lifetime
  dv.setUint32(16, 14_400); // preferred lifetime
  b.set(parseIP(LAN6_PREFIX).addr, 24);
  b.set([25, 3, 0, 0], 40); // RDNSS
  dv.setUint32(44, 1_800);
  b.set(parseIP(rdnss).addr, 48);
  return b;
}

function arp(op: 1 | 2, sha: number, spa: string, tha: number, tpa: string): Uint8Array {
  return Uint8Array.from([0, 1, 8, 0, 6, 4, 0, op, ...macBytes(sha), ...parseIP(spa).addr.subarray(12), ...macBytes(tha), ...parseIP(tpa).addr.subarray(12)]);
}

// ---------------------------------------------------------------------------------------------
// Generation

/** The floor causes, in the precedence docs/find-and-fix.md gives them. */
export const FLOOR_CAUSES = ['infrastructure', 'ipv4-only-device', 'legacy-destination', 'fixable', 'unknown'] as const;

/**
 * Why an IPv4 exchange of the demo is IPv4, from what the generator knows it is (not from packets):
 * traffic with the router (DNS, DHCP, pings) and to the NTP servers is infrastructure; a device
 * without IPv6 is an IPv4-only device; the BitTorrent client bound to IPv4 and dual-stack
 * destinations reached over IPv4 (Happy Eyeballs fallback, the tracker) are fixable; destinations
 * without AAAA are legacy.
 */
function causeOfFor(model: Model): (a: Attribution) => string {
  const v4Only = new Set(model.devices.filter((d) => !d.stable && !d.ll).map((d) => d.name));
  const noAAAA = new Set(DESTS.filter((d) => d.aaaa.length === 0).map((d) => d.name));
  const infrastructure = new Set([dest('ntp').name]);
  return (a) => {
    if (a.hosts.includes('router') || (a.dest !== undefined && infrastructure.has(a.dest))) return 'infrastructure';
    if (a.hosts.some((h) => v4Only.has(h))) return 'ipv4-only-device';
    if (a.bittorrent) return 'fixable';
    if (a.dest !== undefined) return noAAAA.has(a.dest) ? 'legacy-destination' : 'fixable';
    return 'unknown';
  };
}

function render(model: Model, seed: number, dry: boolean, k: number): Renderer {
  const r = new Renderer(dry, Rng.stream(seed, 2), k);
  r.causeOf = causeOfFor(model);
  for (const it of model.planner.items) it.run(r);
  return r;
}

const shareOf = (t: FamilyTotals, m: keyof Totals, extra4to6 = 0): number => {
  const all = t.ipv4[m] + t.ipv6[m];
  return all ? (t.ipv6[m] + extra4to6) / all : 0;
};

/**
 * Generate the demo: `<outDir>/demo-home.pcap` (classic pcap, Ethernet, snaplen 128, packets in
 * time order) and `<outDir>/ground-truth.json`. Deterministic: same options → identical bytes.
 */
export async function generateDemo(opts: DemoOptions): Promise<DemoResult> {
  const t0 = performance.now();
  const seed = opts.seed ?? 6;
  const days = opts.days ?? 7;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`demo: seed must be a non-negative integer, got ${seed}`);
  if (!Number.isInteger(days) || days < 1 || days > 366) throw new Error(`demo: days must be an integer from 1 to 366, got ${days}`);
  if (!Number.isFinite(opts.start)) throw new Error('demo: start must be an epoch time in milliseconds');
  const start = Math.floor(opts.start);
  const btBinding = opts.bittorrentBinding ?? 'ipv4';
  const target = Math.round(opts.packetsTarget ?? (DEFAULT_PACKETS_PER_WEEK * days) / 7);
  if (!(target > 0)) throw new Error(`demo: packetsTarget must be positive, got ${opts.packetsTarget}`);

  const model = buildModel(seed, start, days, btBinding);
  // Calibrate: a dry pass at scale 1 counts the fixed and the bulk packets; scale bulk to the target.
  const dry = render(model, seed, true, 1);
  const fixed = dry.packets - dry.bulkPackets;
  const k = dry.bulkPackets > 0 ? Math.min(50, Math.max(0.02, (target - fixed) / dry.bulkPackets)) : 1;
  const r = render(model, seed, false, k);

  mkdirSync(opts.outDir, { recursive: true });
  const pcapPath = path.join(opts.outDir, DEMO_PCAP_NAME);
  const w = PcapWriter.toFile(pcapPath, { snaplen: SNAPLEN });
  try {
    for (const p of r.sorted()) {
      const sec = Math.floor(p.tUs / 1e6);
      w.writeTs(p.frame, sec, (p.tUs - sec * 1e6) * 1000, p.orig);
    }
  } finally {
    w.close();
  }

  const total = r.total;
  const hostTotals = (name: string): FamilyTotals => r.byHost.get(name) ?? zeroFamily();
  const clientSum = zeroFamily();
  for (const d of model.devices) {
    for (const f of ['ipv4', 'ipv6'] as const) {
      const t = hostTotals(d.name)[f];
      clientSum[f].bytes += t.bytes;
      clientSum[f].packets += t.packets;
      clientSum[f].flows += t.flows;
    }
  }
  const minus = (a: Totals, b: Totals): Totals => ({ bytes: a.bytes - b.bytes, packets: a.packets - b.packets, flows: a.flows - b.flows });
  const bt4 = r.bittorrent.ipv4;
  const allBytes = total.ipv4.bytes + total.ipv6.bytes;
  const routerTotals = hostTotals('router');
  const truth: GroundTruth = {
    version: 1,
    seed,
    start,
    end: start + days * DAY,
    startIso: new Date(start).toISOString(),
    endIso: new Date(start + days * DAY).toISOString(),
    days,
    packetsWritten: r.packets,
    nonIpFrames: r.nonIpFrames,
    snaplen: SNAPLEN,
    localPrefixes: [DEMO_LAN4, DEMO_LAN6, 'fe80::/10'],
    total,
    share: { bytes: shareOf(total, 'bytes'), packets: shareOf(total, 'packets'), flows: shareOf(total, 'flows') },
    devices: [
      ...model.devices.map((d) => ({
        name: d.name,
        role: 'client' as const,
        description: d.description,
        mac: formatMac(d.mac),
        ipv4: d.v4 ? [d.v4] : [],
        // addresses that are the source or destination of at least one packet in the capture
        ipv6: [...d.used6, ...d.temps.map((x) => x.addr).filter((a) => !d.used6.has(a))].filter((a) => r.addresses.has(a)),
        ipv4Totals: hostTotals(d.name).ipv4,
        ipv6Totals: hostTotals(d.name).ipv6,
      })),
      {
        name: 'router',
        role: 'gateway' as const,
        description: 'home router: default gateway, DNS resolver, DHCP server; the capture point (LAN side)',
        mac: formatMac(ROUTER_MAC),
        ipv4: [model.router.v4],
        ipv6: [model.router.ll, model.router.gua],
        ipv4Totals: routerTotals.ipv4,
        ipv6Totals: routerTotals.ipv6,
      },
    ],
    gatewayOnly: { ipv4: minus(total.ipv4, clientSum.ipv4), ipv6: minus(total.ipv6, clientSum.ipv6) },
    destinations: DESTS.map((d) => ({
      name: d.name,
      description: d.description,
      ipv4: d.a,
      ipv6: d.aaaa,
      ipv4Totals: (r.byDest.get(d.name) ?? zeroFamily()).ipv4,
      ipv6Totals: (r.byDest.get(d.name) ?? zeroFamily()).ipv6,
    })),
    dns: DESTS.map((d) => ({ name: d.name, a: d.a, aaaa: d.aaaa, ttl: d.ttl })),
    bittorrent: {
      device: 'nas',
      boundTo: btBinding,
      peers: model.planner.peersUsed.size,
      totals: r.bittorrent,
      bytesShareOfAll: allBytes ? (r.bittorrent.ipv4.bytes + r.bittorrent.ipv6.bytes) / allBytes : 0,
    },
    floor: Object.fromEntries(FLOOR_CAUSES.map((c) => [c, r.ipv4ByCause.get(c) ?? { bytes: 0, packets: 0, flows: 0 }])) as GroundTruth['floor'],
    whatIf: {
      bittorrentToIPv6: {
        bytesShare: shareOf(total, 'bytes', bt4.bytes),
        packetsShare: shareOf(total, 'packets', bt4.packets),
        flowsShare: shareOf(total, 'flows', bt4.flows),
      },
    },
  };
  const truthPath = path.join(opts.outDir, DEMO_TRUTH_NAME);
  await writeFile(truthPath, `${JSON.stringify(truth, null, 2)}\n`);
  // dnsmasq lease lines: expiry (epoch s) MAC IPv4 hostname client-id; 12 h leases renewed daily.
  const leasesPath = path.join(opts.outDir, DEMO_LEASES_NAME);
  const expiry = Math.floor(truth.end / 1000) + 12 * 3600;
  await writeFile(
    leasesPath,
    truth.devices
      .filter((d) => d.role === 'client' && d.ipv4.length > 0)
      .map((d) => `${expiry} ${d.mac} ${d.ipv4[0]} ${d.name} 01:${d.mac}\n`)
      .join(''),
  );
  return { pcapPath, truthPath, leasesPath, truth, elapsedMs: Math.round(performance.now() - t0), pcapBytes: statSync(pcapPath).size };
}

