/**
 * Seeded flows and the JavaScript oracle for the store tests (test/store/store.test.ts runs them
 * against every store), plus hostile strings, extreme values and fact rows. Kept here so every
 * suite parameterised over the stores can import it.
 */
import { expect } from 'vitest';
import { Rng } from '../../src/demo/rng.js';
import { parseIP } from '../../src/net/ip.js';
import { emptyFlow, METRICS, type FlowRecord, type MetricName } from '../../src/schema/fields.js';
import type { FactRow, FactTable } from '../../src/schema/facts.js';
import type { Row } from '../../src/store/index.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const T0 = Date.UTC(2026, 10, 2); // 2026-11-02 00:00Z
export const SPAN = 3 * DAY;

export const PEERS = ['198.51.100.7', '198.51.100.200', '203.0.113.9', '2001:db8:f00d::10', '2001:db8:f00d:1::11', '2001:db8:5ea::20', '3fff:0:10::30'];
export const DEVICES = ['laptop', 'phone', 'tv', "o'brien's \"pc\"", ''];

/** Strings that break naive SQL or naive escaping. */
export const HOSTILE = [
  `x'); DROP TABLE raw; --`,
  'back\\slash',
  'trailing backslash\\',
  "\\'",
  "'",
  '"double"',
  'nul\0byte',
  '\0',
  'new\nline\r\ncarriage\ttab',
  '\b\f\v\x07\x1b\x7f',
  'UTF-8 ✓ ü 日本 🚀',
  '\\x41 \\0 \\n (escape text, not escapes)',
  '%_ like wildcards *',
  '`backtick` ; -- /* c */',
];

export function makeFlows(n: number, seed: number, devices: readonly string[] = DEVICES): FlowRecord[] {
  const rng = new Rng(seed);
  const rnd = (): number => rng.next();
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const peer = parseIP(pick(PEERS));
    const local = peer.family === 4 ? parseIP('192.168.1.10') : parseIP('2001:db8:4a1:10::5');
    const t = T0 + Math.floor(rnd() * SPAN);
    out.push({
      ...emptyFlow(),
      time_received: t,
      time_start: t - Math.floor(rnd() * 60_000),
      time_end: t,
      source_kind: 'pcap',
      exporter_name: pick(['a.pcap', 'b.pcap']),
      family: peer.family,
      src_addr: local.addr,
      dst_addr: peer.addr,
      peer_addr: peer.addr,
      src_port: 30000 + Math.floor(rnd() * 30000),
      dst_port: pick([443, 80, 53, 6881, 51413]),
      proto: pick([6, 17]),
      device_id: pick(devices),
      // large values too: sums must not overflow or lose precision
      bytes: rnd() < 0.01 ? 2 ** 40 + Math.floor(rnd() * 1e6) : 40 + Math.floor(rnd() * 1_000_000),
      packets: 1 + Math.floor(rnd() * 1000),
      flows: 1,
    });
  }
  return out;
}

/** Flows with hostile strings in every string field and extreme values in the numeric ones. */
export function makeHostileFlows(n: number, seed: number): FlowRecord[] {
  const rng = new Rng(seed);
  const base = makeFlows(n, seed + 1, HOSTILE);
  return base.map((f, i) => ({
    ...f,
    exporter_name: HOSTILE[(i + 3) % HOSTILE.length]!,
    dst_name: HOSTILE[(i + 5) % HOSTILE.length]!,
    exporter_addr: parseIP(i % 2 ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : '::').addr,
    observation_domain: 0xffff_ffff,
    sampling_rate: rng.int(1, 0xffff_ffff),
    src_mac: 0xffff_ffff_ffff - i,
    dst_mac: i,
    in_if: 0xffff_ffff,
    out_if: i,
    tcp_flags: 0xff,
    src_asn: 0xffff_ffff,
    dst_asn: 4_200_000_000 + i,
    time_start: 0,
    time_end: Number.MAX_SAFE_INTEGER - i,
  }));
}

export const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');

export function maskAddr(a: Uint8Array, family: number, v6: number, v4: number): Uint8Array {
  const bits = family === 4 ? 96 + v4 : v6;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = a[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

export type Sums = Record<MetricName, number>;

/** The oracle: group and sum in JavaScript. Keys are turned into comparable strings. */
export function oracle(
  flows: readonly FlowRecord[],
  q: { since: number; until: number; where?: (r: FlowRecord) => boolean; key: (r: FlowRecord) => Record<string, string | number>; bucket?: number },
): Map<string, Sums> {
  const m = new Map<string, Sums>();
  for (const r of flows) {
    if (r.time_received < q.since || r.time_received >= q.until) continue;
    if (q.where && !q.where(r)) continue;
    const k = { ...(q.bucket ? { time: Math.floor(r.time_received / q.bucket) * q.bucket } : {}), ...q.key(r) };
    const ks = JSON.stringify(k);
    const acc = m.get(ks) ?? { bytes: 0, packets: 0, flows: 0 };
    for (const x of METRICS) acc[x] += r[x];
    m.set(ks, acc);
  }
  return m;
}

export function rowsToMap(rows: readonly Row[], keyNames: readonly string[]): Map<string, Sums> {
  const m = new Map<string, Sums>();
  for (const row of rows) {
    const k: Record<string, string | number> = {};
    for (const n of keyNames) {
      const v = row[n]!;
      k[n] = v instanceof Uint8Array ? hex(v) : v;
    }
    const ks = JSON.stringify(k);
    expect(m.has(ks), `duplicate group ${ks}`).toBe(false);
    m.set(ks, { bytes: row.bytes as number, packets: row.packets as number, flows: row.flows as number });
  }
  return m;
}

/** Fact rows for both fact tables: hostile names/hostnames, extreme values, many rows at the same time. */
export function makeFacts(n: number, seed: number): { dns: FactRow[]; neighbors: FactRow[] } {
  const rng = new Rng(seed);
  const dns: FactRow[] = [];
  const neighbors: FactRow[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + Math.floor(rng.next() * SPAN);
    const same = i % 7 === 0 ? T0 + DAY : t; // ties: the read order must not depend on the store
    const peer = parseIP(PEERS[i % PEERS.length]!);
    dns.push({
      time: same,
      client_addr: parseIP(i % 2 ? '192.168.1.10' : '2001:db8:4a1:10::5').addr,
      client_family: i % 2 ? 4 : 6,
      client_mac: i % 3 ? 0x02_00_00_00_00_00 + i : 0,
      server_addr: parseIP('192.168.1.1').addr,
      name: i % 5 ? `host${i % 13}.example` : HOSTILE[i % HOSTILE.length]!,
      qtype: peer.family === 4 ? 1 : 28,
      kind: ['addresses', 'nodata', 'nxdomain'][i % 3]!,
      answer_family: peer.family,
      answer_addr: peer.addr,
      ttl: i % 11 ? 300 : 0xffff_ffff,
    });
    neighbors.push({
      seen_at: same,
      mac: i % 4 ? 0x02_00_00_00_00_00 + (i % 9) : 0xffff_ffff_ffff,
      family: peer.family,
      addr: peer.addr,
      hostname: i % 3 ? `dev${i % 9}` : HOSTILE[(i + 1) % HOSTILE.length]!,
      source: ['dnsmasq', 'ip-neigh', 'kea4'][i % 3]!,
      expires_at: i % 2 ? 0 : Number.MAX_SAFE_INTEGER - i,
    });
  }
  return { dns, neighbors };
}

/** A fact table's rows as the stores return them: in range, ordered by every column in turn. */
export function factOracle(table: FactTable, rows: readonly FactRow[], range: { since?: number; until?: number } = {}): FactRow[] {
  const cmp = (a: FactRow[string], b: FactRow[string]): number => {
    if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b);
    if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    return (a as number) - (b as number);
  };
  return rows
    .filter((r) => (range.since === undefined || (r[table.timeField] as number) >= range.since) && (range.until === undefined || (r[table.timeField] as number) < range.until))
    .map((r) => Object.fromEntries(table.fields.map((f) => [f.name, r[f.name]!])))
    .sort((a, b) => {
      for (const f of table.fields) {
        const c = cmp(a[f.name]!, b[f.name]!);
        if (c) return c;
      }
      return 0;
    });
}
