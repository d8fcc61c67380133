/**
 * Seeded flows and the JavaScript oracle for store tests (the same generator and oracle as
 * test/store/duckdb-store.test.ts, plus hostile strings and extreme values). Kept here so a suite
 * parameterised over both stores can import it.
 */
import { expect } from 'vitest';
import { Rng } from '../../../src/demo/rng.js';
import { parseIP } from '../../../src/net/ip.js';
import { emptyFlow, METRICS, type FlowRecord, type MetricName } from '../../../src/schema/fields.js';
import type { Row } from '../../../src/store/index.js';

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
