/**
 * The columnar enrichment (LocalEnricher.enrichColumnar, used by `serve` on the collector threads'
 * batches) must give exactly what the record enrichment gives: the same flows, enriched both ways
 * by two fresh enrichers, compared field by field — over mixes that reach every rule (local on
 * either or both ends, gateway MACs learned from the batch, multicast/broadcast by MAC and by
 * address, ICMP, ports on both sides of 1024, IPv4-mapped bytes) and over ranges that split batches.
 */
import { describe, expect, it } from 'vitest';
import { decodeBatch, encodeBatch, strides, type ColumnarBatch } from '../../src/collect/flow-batch.js';
import { LocalEnricher } from '../../src/enrich/local.js';
import { formatIP, parseIP } from '../../src/net/ip.js';
import { parseMac } from '../../src/net/mac.js';
import { prefixContains } from '../../src/net/prefix.js';
import { emptyFlow, FIELDS, type FlowRecord } from '../../src/schema/fields.js';

const ADDRS = [
  '192.168.1.10', '192.168.1.1', '10.9.8.7', '198.51.100.7', '203.0.113.5', '8.8.8.8', '224.0.0.251', '239.255.255.250', '255.255.255.255', '0.0.0.0',
  '2001:db8:4a1:10::5', '2001:db8:4a1:10:a:b:c:d', '2001:db8:4a1:11::5', '3fff::1', 'fe80::1', 'ff02::1', 'ff02::fb', 'fd00::7', '::', '::1',
  // IPv4-mapped bytes in IPv6 flows: the same 16 bytes as an IPv4 flow's 198.51.100.7 / 192.168.1.10,
  // a different device id ('::ffff:198.51.100.7' against '198.51.100.7')
  '::ffff:198.51.100.7', '::ffff:192.168.1.10',
].map((a) => parseIP(a));
const MACS = [0, 0, parseMac('02:00:00:00:00:0a'), parseMac('02:00:00:00:00:01'), parseMac('02:00:00:00:00:0b'), parseMac('01:00:5e:00:00:fb'), parseMac('33:33:00:00:00:01'), parseMac('ff:ff:ff:ff:ff:ff')];
const PROTOS = [6, 17, 1, 58, 6, 17];
const PORTS = [0, 53, 80, 443, 1023, 1024, 5353, 40000, 65535];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function flows(n: number, seed: number): FlowRecord[] {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const fam = r() < 0.5 ? 4 : 6;
    const pool = ADDRS.filter((a) => a.family === fam);
    out.push({
      ...emptyFlow(),
      time_received: 1_780_000_000_000 + i,
      family: fam,
      src_addr: pick(pool).addr,
      dst_addr: pick(pool).addr,
      src_mac: pick(MACS),
      dst_mac: pick(MACS),
      proto: pick(PROTOS),
      src_port: pick(PORTS),
      dst_port: pick(PORTS),
      device_id: r() < 0.1 ? 'set-before' : '',
      exporter_name: `r${i % 3}`,
      bytes: i * 100,
      packets: i,
      flows: 1,
    });
  }
  return out;
}

const text = (f: FlowRecord): Record<string, unknown> =>
  Object.fromEntries(FIELDS.map((d) => [d.name, d.kind === 'addr' ? formatIP((f as unknown as Record<string, Uint8Array>)[d.name]!, 6) : (f as unknown as Record<string, unknown>)[d.name]]));

describe('LocalEnricher.enrichColumnar', () => {
  it.each([1, 2, 3, 4])('equals the record enrichment, field by field (seed %i)', (seed) => {
    const opts = { localPrefixes: ['2001:db8:4a1:10::/64', '198.51.100.0/24', '::ffff:198.51.100.0/120'] };
    const sent = flows(3000, seed);
    const byRecords = sent.map((f) => ({ ...f }));
    new LocalEnricher(opts).enrich(byRecords);

    // two batches; the ranges split each of them, and are enriched in one call
    const batches: ColumnarBatch[] = [encodeBatch(sent.slice(0, 1700)).batch, encodeBatch(sent.slice(1700)).batch];
    const ranges = [
      { batch: batches[0]!, from: 0, to: 600 },
      { batch: batches[0]!, from: 600, to: 1700 },
      { batch: batches[1]!, from: 0, to: 1 },
      { batch: batches[1]!, from: 1, to: 1300 },
    ];
    new LocalEnricher(opts).enrichColumnar(ranges);
    const byColumns = [...decodeBatch(batches[0]!), ...decodeBatch(batches[1]!)];

    expect(byColumns.length).toBe(sent.length);
    // the mix reaches every rule: each direction, device ids from MACs and from addresses, gateway-decided flows
    const dirs = new Set(byRecords.map((f) => f.direction));
    expect(dirs.size).toBe(3);
    expect(byRecords.some((f) => f.device_id.includes(':') && f.device_id.length === 17)).toBe(true); // a MAC
    expect(byRecords.some((f) => f.device_id.includes('.'))).toBe(true); // an IPv4 address
    expect(byRecords.some((f) => f.device_id === '198.51.100.7')).toBe(true);
    expect(byRecords.some((f) => f.device_id === '::ffff:198.51.100.7')).toBe(true); // same bytes, IPv6 flow
    for (let i = 0; i < sent.length; i++) expect(text(byColumns[i]!), `flow ${i}`).toEqual(text(byRecords[i]!));
  });

  it('columns constant over a batch (one row each): the same enrichment, and the written columns made full', () => {
    const opts = { localPrefixes: ['2001:db8:4a1:10::/64', '198.51.100.0/24'] };
    const base = flows(2000, 7);
    // batch A: one local device (address and MAC) talking TCP/443 through the router to many servers;
    // batch B: 500 copies of one flow (every column constant); batch C: inbound to that device's IPv6 address
    const laptop = parseMac('02:00:00:00:00:0a');
    const router = parseMac('02:00:00:00:00:01');
    const a = base.slice(0, 1000).map((f) => ({ ...f, family: 4, src_addr: parseIP('198.51.100.7').addr, dst_addr: ADDRS[Math.floor(f.packets / 7) % 10]!.addr, src_mac: laptop, dst_mac: router, proto: 6, src_port: 40000 + (f.packets % 7), dst_port: 443, device_id: '' }));
    const one = { ...base[0]!, family: 6, src_addr: parseIP('2001:db8:4a1:10::5').addr, dst_addr: parseIP('3fff::1').addr, src_mac: 0, dst_mac: 0, proto: 17, src_port: 5353, dst_port: 53, device_id: '', packets: 3, bytes: 300, time_received: 1_780_000_000_000 };
    const b = Array.from({ length: 500 }, () => ({ ...one }));
    const c = base.slice(1000, 1500).map((f) => ({ ...f, family: 6, src_addr: ADDRS[10 + (f.packets % 10)]!.addr, dst_addr: parseIP('2001:db8:4a1:10::5').addr, src_mac: 0, dst_mac: 0, proto: 6, src_port: 443, dst_port: 40000, device_id: '' }));
    const sent = [...a, ...b, ...c];
    const byRecords = sent.map((f) => ({ ...f }));
    new LocalEnricher(opts).enrich(byRecords);
    const batches = [a, b, c].map((x) => encodeBatch(x).batch);
    // the columns the enrichment reads are constant where this test means them to be
    const constant = (bt: ColumnarBatch, name: string): boolean => strides(bt.cols)[FIELDS.findIndex((f) => f.name === name)] === 0;
    expect(['family', 'src_addr', 'src_mac', 'dst_mac', 'proto', 'dst_port', 'direction', 'peer_addr', 'device_id'].every((n) => constant(batches[0]!, n))).toBe(true);
    expect(FIELDS.every((f) => constant(batches[1]!, f.name))).toBe(true);
    expect(['family', 'dst_addr', 'src_mac', 'proto', 'src_port', 'dst_port'].every((n) => constant(batches[2]!, n))).toBe(true);
    new LocalEnricher(opts).enrichColumnar([
      { batch: batches[0]!, from: 0, to: 400 },
      { batch: batches[1]!, from: 0, to: 500 },
      { batch: batches[0]!, from: 400, to: 1000 },
      { batch: batches[2]!, from: 0, to: 500 },
    ]);
    // what the enrichment writes is full now; what it only reads stays one row
    expect(constant(batches[0]!, 'direction') || constant(batches[0]!, 'peer_addr') || constant(batches[0]!, 'device_id')).toBe(false);
    expect(constant(batches[0]!, 'src_mac')).toBe(true);
    const byColumns = batches.flatMap((bt) => decodeBatch(bt));
    expect(new Set(byRecords.map((f) => f.direction)).size).toBeGreaterThan(1);
    for (let i = 0; i < sent.length; i++) expect(text(byColumns[i]!), `flow ${i}`).toEqual(text(byRecords[i]!));
  });

  it('learns gateway MACs across all the ranges before deciding, as the record path does over its batch', () => {
    const router = parseMac('02:00:00:00:00:01');
    const laptop = parseMac('02:00:00:00:00:0a');
    const lan = (a: string) => parseIP(a).addr;
    // the local-to-local flow comes first; only the later outbound flow shows the router's MAC
    const sent: FlowRecord[] = [
      { ...emptyFlow(), family: 4, src_addr: lan('192.168.1.1'), dst_addr: lan('192.168.1.10'), src_mac: router, dst_mac: laptop, proto: 17, src_port: 53, dst_port: 40000 },
      { ...emptyFlow(), family: 4, src_addr: lan('192.168.1.10'), dst_addr: lan('203.0.113.5'), src_mac: laptop, dst_mac: router, proto: 6, src_port: 40000, dst_port: 443 },
    ];
    const b = encodeBatch(sent).batch;
    new LocalEnricher().enrichColumnar([{ batch: b, from: 0, to: 1 }, { batch: b, from: 1, to: 2 }]);
    const [first] = decodeBatch(b);
    expect(first!.device_id).toBe('02:00:00:00:00:0a'); // the laptop, not the router
    expect(formatIP(first!.peer_addr, 4)).toBe('192.168.1.1');
  });

  it('keeps device ids right across many batches, a cache smaller than the addresses, and a batch split around another', () => {
    // 150,000 distinct local addresses (more than the 65,536 cached); the last 50,000 flows revisit some
    const r = rng(7);
    const opts = { localPrefixes: ['2001:db8:4a1::/48'] };
    const sent: FlowRecord[] = [];
    for (let i = 0; i < 200_000; i++) {
      const v4 = r() < 0.5;
      const host = i < 150_000 ? i : Math.floor(r() * 150_000);
      const local = v4 ? parseIP(`10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`) : parseIP(`2001:db8:4a1:${(host >> 16).toString(16)}::${(host & 0xffff).toString(16)}`);
      const remote = parseIP(v4 ? '203.0.113.5' : '3fff::1');
      const out = r() < 0.5;
      sent.push({ ...emptyFlow(), family: v4 ? 4 : 6, src_addr: out ? local.addr : remote.addr, dst_addr: out ? remote.addr : local.addr, proto: 6, src_port: out ? 40000 : 443, dst_port: out ? 443 : 40000, flows: 1 });
    }
    const byRecords = sent.map((f) => ({ ...f }));
    new LocalEnricher(opts).enrich(byRecords);
    const batches: ColumnarBatch[] = [];
    for (let i = 0; i < sent.length; i += 4096) batches.push(encodeBatch(sent.slice(i, i + 4096)).batch);
    const e = new LocalEnricher(opts);
    // batch 0 is enriched in two parts with batch 1 between them (its dictionary is left and visited again)
    e.enrichColumnar([{ batch: batches[0]!, from: 0, to: 2000 }]);
    e.enrichColumnar([{ batch: batches[1]!, from: 0, to: batches[1]!.n }]);
    e.enrichColumnar([{ batch: batches[0]!, from: 2000, to: batches[0]!.n }]);
    for (let k = 2; k < batches.length; k += 30) e.enrichColumnar(batches.slice(k, k + 30).map((b) => ({ batch: b, from: 0, to: b.n })));
    const byColumns = batches.flatMap((b) => decodeBatch(b));
    expect(new Set(byRecords.map((f) => f.device_id)).size).toBeGreaterThan(140_000); // ~150,000 hosts
    for (let i = 0; i < sent.length; i++) {
      if (byColumns[i]!.device_id !== byRecords[i]!.device_id) expect(text(byColumns[i]!), `flow ${i}`).toEqual(text(byRecords[i]!));
    }
  });
});

describe('LocalEnricher.isLocal', () => {
  it('equals a scan of every prefix, for addresses in, near and outside prefixes of every length', () => {
    const r = rng(11);
    const byte = () => Math.floor(r() * 256);
    for (let round = 0; round < 40; round++) {
      // random prefixes, host bits set (parsePrefix clears them)
      const texts: string[] = [];
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) {
        if (r() < 0.5) texts.push(`${byte()}.${byte()}.${byte()}.${byte()}/${Math.floor(r() * 33)}`);
        else texts.push(`${formatIP(Uint8Array.from({ length: 16 }, byte), 6)}/${Math.floor(r() * 129)}`);
      }
      const defaults = r() < 0.5;
      const e = new LocalEnricher({ localPrefixes: texts, defaults });
      const naive = (a: Uint8Array, f: number, o: number) => e.prefixes.some((p) => p.family === f && prefixContains(p, a, f as 4 | 6, o));
      const buf = new Uint8Array(64);
      for (let i = 0; i < 3000; i++) {
        const o = 16 * Math.floor(r() * 4);
        const p = e.prefixes[Math.floor(r() * e.prefixes.length)]!;
        // a prefix's address with random host bits, a bit flipped, or random bytes; IPv4 mostly mapped
        for (let b = 0; b < 16; b++) buf[o + b] = r() < 0.7 ? p.addr[b]! : byte();
        if (r() < 0.3) buf[o + Math.floor(r() * 16)]! ^= 1 << Math.floor(r() * 8);
        const f = r() < 0.05 ? 0 : r() < 0.5 ? 4 : 6;
        expect(e.isLocal(buf, f as 4 | 6, o), `${formatIP(buf.subarray(o, o + 16), 6)} family ${f} in ${texts.join(' ')}`).toBe(naive(buf, f, o));
      }
    }
  });
});
