import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDemoStart, generateDemo, type DemoResult, type GroundTruth, type Totals } from '../../src/demo/index.js';
import { parseIP } from '../../src/net/ip.js';
import { parsePrefix, prefixContains } from '../../src/net/prefix.js';
import { captureToFlows } from '../../src/sources/packets/index.js';
import { requireTools } from '../helpers/tools.js';
import { decodeDns, flowKey, readCaptureFile, type Capture, type Pkt } from './read-capture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.UTC(2026, 0, 5); // a Monday
const DAY = 86_400_000;
const IDLE_MS = 60_000;

const sub = (name: string) => path.join(dir, name);
const fam = (f: 4 | 6) => (f === 4 ? 'ipv4' : 'ipv6');
const zero = (): Totals => ({ bytes: 0, packets: 0, flows: 0 });

/** Flows recounted from the capture: a key's packets form one flow until a gap of more than 60 s. */
interface RecountedFlow {
  first: Pkt;
  startUs: number;
  lastUs: number;
  bytes: number;
  packets: number;
}

function recount(cap: Capture): { flows: RecountedFlow[]; maxInnerGapUs: number; minReuseGapUs: number; maxDurationUs: number } {
  const open = new Map<string, RecountedFlow>();
  const flows: RecountedFlow[] = [];
  let maxInnerGapUs = 0;
  let minReuseGapUs = Infinity;
  let maxDurationUs = 0;
  for (const p of cap.packets) {
    if (p.fam === 0) continue;
    const k = flowKey(p);
    let f = open.get(k);
    if (f) {
      const gap = p.tUs - f.lastUs;
      if (gap > IDLE_MS * 1000) {
        minReuseGapUs = Math.min(minReuseGapUs, gap);
        f = undefined;
      } else maxInnerGapUs = Math.max(maxInnerGapUs, gap);
    }
    if (!f) {
      f = { first: p, startUs: p.tUs, lastUs: p.tUs, bytes: 0, packets: 0 };
      open.set(k, f);
      flows.push(f);
    }
    f.lastUs = p.tUs;
    f.bytes += p.ipLen;
    f.packets++;
    maxDurationUs = Math.max(maxDurationUs, f.lastUs - f.startUs);
  }
  return { flows, maxInnerGapUs, minReuseGapUs, maxDurationUs };
}

function sumFlows(flows: RecountedFlow[], pred: (p: Pkt) => boolean): { ipv4: Totals; ipv6: Totals } {
  const out = { ipv4: zero(), ipv6: zero() };
  for (const f of flows) {
    if (!pred(f.first)) continue;
    const t = out[fam(f.first.fam as 4 | 6)];
    t.bytes += f.bytes;
    t.packets += f.packets;
    t.flows++;
  }
  return out;
}

describe('defaultDemoStart', () => {
  it('is the Monday 00:00 UTC starting the last complete week', () => {
    expect(defaultDemoStart(Date.UTC(2026, 0, 14, 12))).toBe(Date.UTC(2026, 0, 5)); // Wednesday
    expect(defaultDemoStart(Date.UTC(2026, 0, 12))).toBe(Date.UTC(2026, 0, 5)); // Monday 00:00: last week is complete
    expect(defaultDemoStart(Date.UTC(2026, 0, 11, 23, 59))).toBe(Date.UTC(2025, 11, 29)); // Sunday: this week is not
    expect(new Date(defaultDemoStart(Date.now())).getUTCDay()).toBe(1);
  });
});

describe('demo generator: determinism and size', () => {
  it('same seed and start give byte-identical output; another seed differs', async () => {
    const a = await generateDemo({ seed: 11, start: START, days: 1, packetsTarget: 30_000, outDir: sub('det-a') });
    const b = await generateDemo({ seed: 11, start: START, days: 1, packetsTarget: 30_000, outDir: sub('det-b') });
    const c = await generateDemo({ seed: 12, start: START, days: 1, packetsTarget: 30_000, outDir: sub('det-c') });
    const pa = readFileSync(a.pcapPath);
    expect(pa.equals(readFileSync(b.pcapPath))).toBe(true);
    expect(readFileSync(a.truthPath, 'utf8')).toBe(readFileSync(b.truthPath, 'utf8'));
    expect(pa.equals(readFileSync(c.pcapPath))).toBe(false);
    expect(c.truth.seed).toBe(12);
    // packetsTarget is honoured approximately
    expect(a.truth.packetsWritten).toBeGreaterThan(27_000);
    expect(a.truth.packetsWritten).toBeLessThan(33_000);
  });

  it('rejects bad options', async () => {
    await expect(generateDemo({ seed: -1, start: START, outDir: sub('bad') })).rejects.toThrow(/seed/);
    await expect(generateDemo({ start: START, days: 0, outDir: sub('bad') })).rejects.toThrow(/days/);
  });
});

describe('demo generator: a full week (default size)', () => {
  let demo: DemoResult;
  let truth: GroundTruth;
  let cap: Capture;
  let rc: ReturnType<typeof recount>;

  beforeAll(async () => {
    demo = await generateDemo({ start: START, outDir: sub('week') });
    truth = demo.truth;
    cap = readCaptureFile(demo.pcapPath);
    rc = recount(cap);
  });

  it('has the requested size, snap length and time range, in time order', () => {
    expect(truth.packetsWritten).toBeGreaterThanOrEqual(300_000);
    expect(truth.packetsWritten).toBeLessThanOrEqual(500_000);
    expect(cap.packets.length).toBe(truth.packetsWritten);
    expect(cap.snaplen).toBe(128);
    expect(cap.linkType).toBe(1);
    expect(truth.start).toBe(START);
    expect(truth.end).toBe(START + 7 * DAY);
    let prev = 0;
    let disordered = 0;
    for (const p of cap.packets) {
      if (p.tUs < prev) disordered++;
      prev = p.tUs;
      expect(p.capLen).toBe(Math.min(p.origLen, 128));
    }
    expect(disordered).toBe(0);
    expect(cap.packets[0]!.tUs).toBeGreaterThanOrEqual(START * 1000);
    expect(cap.packets[cap.packets.length - 1]!.tUs).toBeLessThan(truth.end * 1000);
    // a full-size packet is 1500 bytes on the wire (IPv4 total length / IPv6 payload + 40)
    const big = cap.packets.filter((p) => p.ipLen === 1500);
    expect(big.some((p) => p.fam === 4)).toBe(true);
    expect(big.some((p) => p.fam === 6)).toBe(true);
    expect(cap.packets.reduce((m, p) => Math.max(m, p.ipLen), 0)).toBe(1500);
    expect(demo.pcapBytes).toBeLessThan(80 * 1024 * 1024);
  });

  it('tells the story: ~2/3 IPv6, BitTorrent-on-IPv4 the big lever, camera and IPv4-only sites the floor', () => {
    const all = truth.total.ipv4.bytes + truth.total.ipv6.bytes;
    expect(truth.share.bytes).toBeGreaterThanOrEqual(0.65);
    expect(truth.share.bytes).toBeLessThanOrEqual(0.7);
    expect(truth.bittorrent.totals.ipv4.bytes / all).toBeGreaterThanOrEqual(0.13);
    expect(truth.bittorrent.totals.ipv4.bytes / all).toBeLessThanOrEqual(0.18);
    expect(truth.bittorrent.totals.ipv6.bytes).toBe(0);
    expect(truth.whatIf.bittorrentToIPv6.bytesShare).toBeGreaterThan(0.8);
    const dev = (n: string) => truth.devices.find((d) => d.name === n)!;
    const dst = (n: string) => truth.destinations.find((d) => d.name === n)!;
    const camera = dev('camera');
    expect(camera.ipv6Totals).toEqual(zero());
    expect(camera.ipv4Totals.bytes / all).toBeGreaterThan(0.04);
    expect(camera.ipv4Totals.bytes / all).toBeLessThan(0.065);
    const v4Sites = (dst('news.example').ipv4Totals.bytes + dst('shop.example').ipv4Totals.bytes) / all;
    expect(v4Sites).toBeGreaterThan(0.02);
    expect(v4Sites).toBeLessThan(0.09);
    // the TV streams mostly over IPv6; the dual-stack devices do a little Happy Eyeballs fallback
    expect(dev('tv').ipv6Totals.bytes / (dev('tv').ipv4Totals.bytes + dev('tv').ipv6Totals.bytes)).toBeGreaterThan(0.9);
    expect(dev('laptop').ipv4Totals.bytes).toBeGreaterThan(0);
    // IPv4-only destinations have no IPv6 traffic
    for (const d of truth.destinations) if (d.ipv6.length === 0) expect(d.ipv6Totals).toEqual(zero());
    // packets and flows shares differ from bytes (many small IPv4 BitTorrent flows)
    expect(truth.share.flows).toBeLessThan(truth.share.bytes);
    expect(truth.bittorrent.peers).toBeGreaterThan(100);
  });

  it('ground truth is internally consistent', () => {
    const clients = truth.devices.filter((d) => d.role === 'client');
    for (const f of ['ipv4', 'ipv6'] as const) {
      for (const m of ['bytes', 'packets', 'flows'] as const) {
        const sum = clients.reduce((a, d) => a + d[f === 'ipv4' ? 'ipv4Totals' : 'ipv6Totals'][m], 0);
        expect(sum + truth.gatewayOnly[f][m]).toBe(truth.total[f][m]);
        expect(truth.gatewayOnly[f][m]).toBeGreaterThanOrEqual(0);
        const router = truth.devices.find((d) => d.role === 'gateway')!;
        expect(router[f === 'ipv4' ? 'ipv4Totals' : 'ipv6Totals'][m]).toBeLessThanOrEqual(truth.total[f][m]);
        for (const d of truth.destinations) expect(d[f === 'ipv4' ? 'ipv4Totals' : 'ipv6Totals'][m]).toBeLessThanOrEqual(truth.total[f][m]);
      }
    }
    for (const m of ['bytes', 'packets', 'flows'] as const) {
      expect(truth.share[m]).toBeCloseTo(truth.total.ipv6[m] / (truth.total.ipv4[m] + truth.total.ipv6[m]), 12);
    }
    const bt4 = truth.bittorrent.totals.ipv4;
    expect(truth.whatIf.bittorrentToIPv6.bytesShare).toBeCloseTo((truth.total.ipv6.bytes + bt4.bytes) / (truth.total.ipv4.bytes + truth.total.ipv6.bytes), 12);
    expect(truth.packetsWritten).toBe(truth.total.ipv4.packets + truth.total.ipv6.packets + truth.nonIpFrames);
    expect(truth.localPrefixes).toEqual(['192.168.1.0/24', '2001:db8:4a1:10::/64', 'fe80::/10']);
    // addresses are printed per RFC 5952 and parse
    for (const d of [...truth.devices, ...truth.destinations]) for (const a of [...d.ipv4, ...d.ipv6]) expect(parseIP(a).addr).toHaveLength(16);
    for (const d of truth.devices) expect(d.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });

  it('independent recount from the capture equals the ground truth (per family, device, destination)', () => {
    const ip = cap.packets.filter((p) => p.fam !== 0);
    for (const f of [4, 6] as const) {
      const ps = ip.filter((p) => p.fam === f);
      expect(ps.length).toBe(truth.total[fam(f)].packets);
      expect(ps.reduce((a, p) => a + p.ipLen, 0)).toBe(truth.total[fam(f)].bytes);
    }
    // Flows: each unidirectional key is one flow per use; uses are far apart, uses are short and dense.
    expect(rc.maxInnerGapUs).toBeLessThanOrEqual(5_000_000);
    expect(rc.minReuseGapUs).toBeGreaterThanOrEqual(10 * 60_000_000);
    expect(rc.maxDurationUs).toBeLessThan(300_000_000);
    const all = sumFlows(rc.flows, () => true);
    expect(all).toEqual(truth.total);
    // Devices by MAC (clients) or address (the router); destinations by address.
    for (const d of truth.devices) {
      const addrs = new Set([...d.ipv4, ...d.ipv6]);
      const got = d.role === 'client' ? sumFlows(rc.flows, (p) => p.srcMac === d.mac || p.dstMac === d.mac) : sumFlows(rc.flows, (p) => addrs.has(p.src) || addrs.has(p.dst));
      expect({ name: d.name, ...got }).toEqual({ name: d.name, ipv4: d.ipv4Totals, ipv6: d.ipv6Totals });
      // every IPv6 address the device sent from is listed
      if (d.role === 'client') for (const p of ip) if (p.srcMac === d.mac && p.fam === 6 && p.src !== '::') expect(d.ipv6).toContain(p.src);
    }
    for (const d of truth.destinations) {
      const addrs = new Set([...d.ipv4, ...d.ipv6]);
      const got = sumFlows(rc.flows, (p) => addrs.has(p.src) || addrs.has(p.dst));
      expect({ name: d.name, ...got }).toEqual({ name: d.name, ipv4: d.ipv4Totals, ipv6: d.ipv6Totals });
    }
  });

  it('uses only LAN, link-local/multicast and documentation/benchmark addresses', () => {
    const allowed = ['192.168.1.0/24', '2001:db8:4a1:10::/64', 'fe80::/10', 'ff02::/16', '::/128', '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '198.18.0.0/15', '2001:db8::/32', '3fff::/20'].map((p) => parsePrefix(p));
    const ok = new Set<string>();
    for (const p of cap.packets) {
      if (p.fam === 0) continue;
      for (const a of [p.src, p.dst]) {
        if (ok.has(a)) continue;
        const parsed = parseIP(a);
        expect(allowed.some((pr) => pr.family === parsed.family && prefixContains(pr, parsed.addr, parsed.family)), a).toBe(true);
        ok.add(a);
      }
    }
    // remote IPv6 servers are outside the LAN /64
    const lan = parsePrefix('2001:db8:4a1:10::/64');
    for (const d of truth.destinations) for (const a of d.ipv6) expect(prefixContains(lan, parseIP(a).addr, 6)).toBe(false);
  });

  it('carries whole, well-formed DNS answers, and devices resolve a name before connecting to it', () => {
    const known = new Map(truth.dns.map((d) => [d.name, d]));
    const learned = new Map<string, Set<string>>(); // MAC → addresses it was told
    const router = truth.devices.find((d) => d.role === 'gateway')!;
    const routerAddrs = new Set([...router.ipv4, ...router.ipv6]);
    let responses = 0;
    let aaaa = 0;
    let checked = 0;
    const local = ['192.168.1.0/24', '2001:db8:4a1:10::/64', 'fe80::/10', 'ff02::/16', '::/128', '198.18.0.0/15'].map((p) => parsePrefix(p));
    const isLocalOrPeer = (a: string) => {
      const x = parseIP(a);
      return local.some((pr) => pr.family === x.family && prefixContains(pr, x.addr, x.family));
    };
    for (const p of cap.packets) {
      if (p.proto === 17 && (p.sport === 53 || p.dport === 53)) {
        expect(p.capLen).toBe(p.origLen); // the whole message is in the capture
        const m = decodeDns(p.udpPayload);
        expect(m.questions).toHaveLength(1);
        const q = m.questions[0]!;
        const entry = known.get(q.name);
        expect(entry, q.name).toBeDefined();
        if (p.sport === 53) {
          expect(routerAddrs.has(p.src)).toBe(true);
          responses++;
          expect(m.flags & 0x8000).toBe(0x8000);
          for (const a of m.answers) {
            expect(a.name).toBe(q.name);
            expect(a.ttl).toBeLessThanOrEqual(entry!.ttl);
            expect(a.type === 1 ? entry!.a : entry!.aaaa).toContain(a.data);
            if (a.type === 28) aaaa++;
            let s = learned.get(p.dstMac);
            if (!s) learned.set(p.dstMac, (s = new Set()));
            s.add(a.data);
          }
          if (q.type === 28 && entry!.aaaa.length === 0) expect(m.answers).toEqual([]);
        }
      } else if (p.fam !== 0 && ((p.proto === 6 && p.tcpFlags === 0x02) || (p.proto === 17 && (p.dport === 123 || p.dport === 27015)))) {
        // a client's connection to a named remote server: it learned the address from DNS first
        if (isLocalOrPeer(p.dst)) continue;
        expect(learned.get(p.srcMac)?.has(p.dst), `${p.srcMac} → ${p.dst}`).toBe(true);
        checked++;
      }
    }
    expect(responses).toBeGreaterThan(1000);
    expect(aaaa).toBeGreaterThan(500);
    expect(checked).toBeGreaterThan(1000);
  });

  it("v6scope's pcap decoder and flow meter reproduce the ground truth exactly", async () => {
    const got = { ipv4: zero(), ipv6: zero() };
    const stats = await captureToFlows(demo.pcapPath, {
      exporterName: 'demo-home.pcap',
      onFlows: (batch) => {
        for (const r of batch) {
          const t = got[r.family === 4 ? 'ipv4' : 'ipv6'];
          t.bytes += r.bytes;
          t.packets += r.packets;
          t.flows += 1;
        }
      },
    });
    expect(stats.skippedNonIp).toBe(truth.nonIpFrames);
    expect(stats.malformedTotal).toBe(0);
    expect(got).toEqual(truth.total);
  });
});

describe('demo generator: the fix (BitTorrent client dual-stack)', () => {
  it('moves the share above 80 %, as the what-if predicts', async () => {
    const opts = { seed: 6, start: START, days: 2, packetsTarget: 110_000 };
    const before = await generateDemo({ ...opts, outDir: sub('fix-before') });
    const after = await generateDemo({ ...opts, bittorrentBinding: 'dual-stack', outDir: sub('fix-after') });
    expect(after.truth.bittorrent.boundTo).toBe('dual-stack');
    expect(after.truth.bittorrent.totals.ipv4.bytes).toBe(0);
    expect(after.truth.share.bytes).toBeGreaterThan(0.8);
    expect(Math.abs(after.truth.share.bytes - before.truth.whatIf.bittorrentToIPv6.bytesShare)).toBeLessThan(0.03);
  });
});

describe('demo generator: cross-check with tshark', () => {
  const haveTshark = requireTools('tshark');
  let small: DemoResult;
  beforeAll(async () => {
    small = await generateDemo({ seed: 3, start: START + 5 * DAY, days: 2, outDir: sub('tshark') });
  });
  const tshark = (args: string[]) => execFileSync('tshark', ['-r', small.pcapPath, ...args], { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] }).toString();

  it.skipIf(!haveTshark)('per-family packets and bytes from ip.len / ipv6.plen equal the ground truth', () => {
    const out = tshark(['--disable-protocol', 'tcp', '--disable-protocol', 'udp', '--disable-protocol', 'icmp', '--disable-protocol', 'icmpv6', '-Y', 'ip or ipv6', '-T', 'fields', '-e', 'ip.len', '-e', 'ipv6.plen']);
    const got = { ipv4: { bytes: 0, packets: 0 }, ipv6: { bytes: 0, packets: 0 } };
    for (const line of out.split('\n')) {
      if (!line) continue;
      const [v4len, v6plen] = line.split('\t');
      if (v4len) {
        got.ipv4.packets++;
        got.ipv4.bytes += Number(v4len);
      } else {
        got.ipv6.packets++;
        got.ipv6.bytes += Number(v6plen) + 40;
      }
    }
    const t = small.truth.total;
    expect(got).toEqual({ ipv4: { bytes: t.ipv4.bytes, packets: t.ipv4.packets }, ipv6: { bytes: t.ipv6.bytes, packets: t.ipv6.packets } });
  });

  it.skipIf(!haveTshark)('tshark finds no malformed packets or warnings (checksums validated) and reads the DNS answers', () => {
    const warn = tshark([
      // (ICMPv6 checksums are always verified: tshark has no preference for them.) The E100
      // heuristic takes any UDP payload starting with byte 1 — as uTP data packets do — for an
      // Endace E100 header and then calls it malformed: a false positive on real uTP too.
      '--disable-heuristic', 'e100_udp',
      '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-Y', '_ws.malformed or _ws.expert.severity >= warning', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message',
    ]);
    expect(warn.trim()).toBe('');
    const dns = tshark(['-Y', 'dns.flags.response == 1', '-T', 'fields', '-e', 'dns.qry.name', '-e', 'dns.a', '-e', 'dns.aaaa']);
    const known = new Map(small.truth.dns.map((d) => [d.name, d]));
    let n = 0;
    for (const line of dns.split('\n')) {
      if (!line) continue;
      const [name, a, aaaa] = line.split('\t');
      const e = known.get(name!);
      expect(e, name).toBeDefined();
      for (const x of (a ?? '').split(',').filter(Boolean)) expect(e!.a).toContain(x);
      for (const x of (aaaa ?? '').split(',').filter(Boolean)) expect(e!.aaaa).toContain(x);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });
});
