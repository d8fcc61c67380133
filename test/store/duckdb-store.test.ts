/**
 * The DuckDB store against an independent oracle: a seeded set of flows is appended, and every
 * query's answer is compared with the same aggregation done in plain JavaScript over the records
 * (never with output of the store itself). Covers the raw table and each rollup (the planner's
 * choice is asserted too), filters, address prefixes, ordering/limits, retention, reopening and
 * values that would break SQL if they were interpolated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/demo/rng.js';
import { parseIP } from '../../src/net/ip.js';
import { parsePrefix, prefixContains, prefixRange } from '../../src/net/prefix.js';
import { emptyFlow, METRICS, type FlowRecord, type MetricName } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import { QueryError } from '../../src/store/compile.js';
import { DEFAULT_RETENTION, type FlowStore, type Query, type Row } from '../../src/store/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 2); // 2026-11-02 00:00Z
const SPAN = 3 * DAY;

const PEERS = ['198.51.100.7', '198.51.100.200', '203.0.113.9', '2001:db8:f00d::10', '2001:db8:f00d:1::11', '2001:db8:5ea::20', '3fff:0:10::30'];
const DEVICES = ['laptop', 'phone', 'tv', "o'brien's \"pc\"", ''];

function makeFlows(n: number, seed: number): FlowRecord[] {
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
      device_id: pick(DEVICES),
      // large values too: sums must not overflow or lose precision
      bytes: rnd() < 0.01 ? 2 ** 40 + Math.floor(rnd() * 1e6) : 40 + Math.floor(rnd() * 1_000_000),
      packets: 1 + Math.floor(rnd() * 1000),
      flows: 1,
    });
  }
  return out;
}

const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');

function maskAddr(a: Uint8Array, family: number, v6: number, v4: number): Uint8Array {
  const bits = family === 4 ? 96 + v4 : v6;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    out[i] = a[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** The oracle: group and sum in JavaScript. Keys are turned into comparable strings. */
function oracle(
  flows: readonly FlowRecord[],
  q: { since: number; until: number; where?: (r: FlowRecord) => boolean; key: (r: FlowRecord) => Record<string, string | number>; bucket?: number },
): Map<string, Record<MetricName, number>> {
  const m = new Map<string, Record<MetricName, number>>();
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

function rowsToMap(rows: readonly Row[], keyNames: readonly string[]): Map<string, Record<MetricName, number>> {
  const m = new Map<string, Record<MetricName, number>>();
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

describe('DuckDB store', () => {
  let store: FlowStore;
  const file = path.join(dir, 'v6scope.duckdb');
  const flows = makeFlows(20_000, 42);

  beforeAll(async () => {
    store = await openDuckDBStore({ path: file });
    // several batches, including an empty one
    await store.append([]);
    for (let i = 0; i < flows.length; i += 6000) await store.append(flows.slice(i, i + 6000));
  });
  afterAll(async () => {
    await store?.close();
  });

  const since = T0;
  const until = T0 + SPAN;

  it.each([
    ['rollup_1h', { bucket: HOUR }],
    ['rollup_1h', { bucket: DAY }],
    ['rollup_5m', { bucket: 5 * 60_000 }],
    ['rollup_1m', { bucket: 60_000 }],
    ['raw', { bucket: 30_000 }],
  ] as const)('family series from %s equals the oracle (%j)', async (table, o) => {
    const q: Query = { since, until, bucket: o.bucket, groupBy: [{ field: 'family' }] };
    const res = await store.query(q);
    expect(res.table).toBe(table);
    expect(rowsToMap(res.rows, ['time', 'family'])).toEqual(oracle(flows, { since, until, bucket: o.bucket, key: (r) => ({ family: r.family }) }));
  });

  it('a range not on bucket boundaries is answered from raw, exactly', async () => {
    const s = since + 90_000 + 7;
    const u = until - 3 * HOUR - 1;
    const res = await store.query({ since: s, until: u, groupBy: [{ field: 'device_id' }, { field: 'family' }] });
    expect(res.table).toBe('raw');
    expect(rowsToMap(res.rows, ['device_id', 'family'])).toEqual(oracle(flows, { since: s, until: u, key: (r) => ({ device_id: r.device_id, family: r.family }) }));
  });

  it('group by device with a family filter uses a rollup; strings with quotes come back intact', async () => {
    const res = await store.query({ since, until, groupBy: [{ field: 'device_id' }], filter: { op: 'cmp', field: 'family', cmp: '=', value: 4 } });
    expect(res.table).toBe('rollup_1h');
    const got = rowsToMap(res.rows, ['device_id']);
    expect(got).toEqual(oracle(flows, { since, until, where: (r) => r.family === 4, key: (r) => ({ device_id: r.device_id }) }));
    expect([...got.keys()]).toContain(JSON.stringify({ device_id: "o'brien's \"pc\"" }));
  });

  it('aggregates peer addresses to /48 and /24 (raw table: peer_addr is not in the rollups)', async () => {
    const res = await store.query({ since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 } }] });
    expect(res.table).toBe('raw');
    expect(rowsToMap(res.rows, ['peer_addr/48/24'])).toEqual(
      oracle(flows, { since, until, key: (r) => ({ 'peer_addr/48/24': hex(maskAddr(r.peer_addr, r.family, 48, 24)) }) }),
    );
    // /48 merges 2001:db8:f00d::10 and 2001:db8:f00d:1::11; /24 merges the two 198.51.100.x
    expect(res.rows.length).toBe(5);
  });

  it('odd prefix lengths (/57, /23) mask exactly', async () => {
    const res = await store.query({ since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 57, v4: 23 }, as: 'p' }] });
    expect(rowsToMap(res.rows, ['p'])).toEqual(oracle(flows, { since, until, key: (r) => ({ p: hex(maskAddr(r.peer_addr, r.family, 57, 23)) }) }));
  });

  it('filters: prefix range, IN / NOT IN, NOT, OR', async () => {
    const pfx = parsePrefix('2001:db8::/32');
    const p = prefixRange(pfx);
    const inP = (a: Uint8Array) => prefixContains(pfx, a, 6);
    const cases: { filter: Query['filter']; where: (r: FlowRecord) => boolean }[] = [
      { filter: { op: 'prefix', field: 'peer_addr', first: p.first, last: p.last }, where: (r) => inP(r.peer_addr) },
      { filter: { op: 'in', field: 'dst_port', values: [6881, 51413] }, where: (r) => r.dst_port === 6881 || r.dst_port === 51413 },
      { filter: { op: 'in', field: 'dst_port', values: [443, 80], negate: true }, where: (r) => r.dst_port !== 443 && r.dst_port !== 80 },
      { filter: { op: 'not', arg: { op: 'cmp', field: 'proto', cmp: '=', value: 6 } }, where: (r) => r.proto !== 6 },
      {
        filter: { op: 'or', args: [{ op: 'cmp', field: 'device_id', cmp: '=', value: 'tv' }, { op: 'cmp', field: 'dst_port', cmp: '>=', value: 6881 }] },
        where: (r) => r.device_id === 'tv' || r.dst_port >= 6881,
      },
      { filter: { op: 'in', field: 'dst_port', values: [] }, where: () => false },
    ];
    for (const c of cases) {
      const res = await store.query({ since, until, groupBy: [{ field: 'family' }], filter: c.filter });
      expect(rowsToMap(res.rows, ['family']), JSON.stringify(c.filter)).toEqual(oracle(flows, { since, until, where: c.where, key: (r) => ({ family: r.family }) }));
    }
  });

  it('orders by a metric and limits', async () => {
    const res = await store.query({ since, until, groupBy: [{ field: 'dst_port' }], orderBy: 'packets', limit: 3 });
    const all = [...oracle(flows, { since, until, key: (r) => ({ dst_port: r.dst_port }) }).entries()].sort((a, b) => b[1].packets - a[1].packets);
    expect(res.rows.map((r) => r.dst_port)).toEqual(all.slice(0, 3).map(([k]) => (JSON.parse(k) as { dst_port: number }).dst_port));
  });

  it('never interpolates values: a hostile string is data, not SQL', async () => {
    const evil = `x'); DROP TABLE raw; --`;
    const res = await store.query({ since, until, filter: { op: 'cmp', field: 'device_id', cmp: '=', value: evil } });
    expect(res.sql).not.toContain('DROP');
    expect(res.sql).not.toContain(evil);
    expect(res.rows).toEqual([{ bytes: 0, packets: 0, flows: 0 }]);
    // and raw is still there
    const total = await store.query({ since: since + 1, until });
    expect(total.table).toBe('raw');
    expect(total.rows[0]!.flows).toBe(flows.filter((r) => r.time_received >= since + 1).length);
  });

  it('rejects bad queries with QueryError and a reason', async () => {
    const bad: [Query, RegExp][] = [
      [{ since, until, groupBy: [{ field: 'nosuch' }] }, /unknown group-by field "nosuch"/],
      [{ since, until, groupBy: [{ field: 'bytes' }] }, /metric/],
      [{ since, until, groupBy: [{ field: 'proto', prefix: { v6: 8, v4: 8 } }] }, /only address fields/],
      [{ since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 129, v4: 24 } }] }, /0-128/],
      [{ since, until, filter: { op: 'cmp', field: 'dst_port', cmp: '=', value: 70000 } }, /0 to 65535/],
      [{ since, until, filter: { op: 'cmp', field: 'dst_port', cmp: '=', value: '443' } }, /integer/],
      [{ since, until, filter: { op: 'cmp', field: 'peer_addr', cmp: '=', value: 'x' } }, /16-byte/],
      [{ since, until, filter: { op: 'cmp', field: 'proto', cmp: 'LIKE' as '=', value: 6 } }, /unknown comparison/],
      [{ since: until, until: since }, /must be after/],
      [{ since, until, limit: 0 }, /limit/],
    ];
    for (const [q, re] of bad) await expect(store.query(q), JSON.stringify(q)).rejects.toThrow(re);
    await expect(store.query(bad[0]![0])).rejects.toBeInstanceOf(QueryError);
  });

  it('reports its time range', async () => {
    const r = await store.timeRange();
    expect(r).toEqual({ min: Math.min(...flows.map((f) => f.time_received)), max: Math.max(...flows.map((f) => f.time_received)) });
  });
});

describe('DuckDB store: reopening and retention', () => {
  it('keeps data across reopen, applies retention per table and remembers it', async () => {
    const file = path.join(dir, 'retention.duckdb');
    const flows = makeFlows(3000, 7);
    let s = await openDuckDBStore({ path: file });
    await s.append(flows);
    await s.close();

    const retention = { ...DEFAULT_RETENTION, raw: 2 * DAY, rollup_1m: 1 * DAY };
    s = await openDuckDBStore({ path: file, retention });
    const full = { since: T0, until: T0 + SPAN };
    expect((await s.query(full)).rows[0]!.flows).toBe(flows.length); // survived the reopen

    const now = T0 + SPAN; // raw keeps the last 2 days, rollup_1m the last day
    await s.applyRetention(now);
    const rawFrom = now - 2 * DAY;
    const r1 = await s.query({ since: rawFrom, until: now + 1 }); // unaligned → raw
    expect(r1.table).toBe('raw');
    expect(r1.rows[0]!.flows).toBe(flows.filter((f) => f.time_received >= rawFrom).length);
    const old = await s.query({ since: T0 + 1, until: rawFrom });
    expect(old.rows[0]!.flows).toBe(0); // gone from raw

    // The 1 h rollup still holds everything; a 1-minute series over the whole range cannot come
    // from rollup_1m any more (it only holds the last day), so the planner uses rollup_5m... still exact.
    const series = await s.query({ ...full, bucket: 60_000 });
    expect(series.table).toBe('raw'); // only raw and rollup_1m have 1-minute buckets; raw is pruned too
    const daily = await s.query({ ...full, bucket: DAY });
    expect(daily.table).toBe('rollup_1h');
    expect(daily.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(flows.length);
    await s.close();

    // retention state survives a reopen: rollup_1m is not chosen for a range it no longer holds
    s = await openDuckDBStore({ path: file, retention });
    const again = await s.query({ since: T0, until: T0 + DAY, bucket: 60_000 });
    expect(again.table).not.toBe('rollup_1m');
    const lastDay = await s.query({ since: now - DAY, until: now, bucket: 60_000 });
    expect(lastDay.table).toBe('rollup_1m');
    expect(lastDay.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(flows.filter((f) => f.time_received >= now - DAY).length);
    await s.close();
  });
});
