/**
 * The ClickHouse store against a real clickhouse-server (started privately on loopback, see
 * ./server.ts): a seeded set of flows, plus flows with hostile strings and extreme values, is
 * appended to the ClickHouse store AND to a DuckDB store; every query's answer is compared with the
 * JavaScript oracle and with the DuckDB store's answer (same table chosen, same rows).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../../src/net/ip.js';
import { parsePrefix, prefixContains, prefixRange } from '../../../src/net/prefix.js';
import { FIELDS, type FlowRecord } from '../../../src/schema/fields.js';
import { QueryError } from '../../../src/store/compile.js';
import { quoteString } from '../../../src/store/clickhouse/dialect.js';
import { parseTSVWithNamesAndTypes } from '../../../src/store/clickhouse/format.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../../src/store/clickhouse/store.js';
import { openDuckDBStore } from '../../../src/store/duckdb/store.js';
import { DEFAULT_RETENTION, type FlowStore, type Query } from '../../../src/store/index.js';
import { DAY, HOSTILE, HOUR, hex, makeFlows, makeHostileFlows, maskAddr, oracle, rowsToMap, SPAN, T0, type Sums } from './oracle.js';
import { haveClickHouse, startClickHouse, type ClickHouseServer } from './server.js';

const available = haveClickHouse(); // throws under CI when the server is missing

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-chstore-'));
let server: ClickHouseServer | undefined;

beforeAll(async () => {
  if (available) server = await startClickHouse();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Run a statement without a result on the test server directly (not through the store). */
async function command(query: string, database = 'default'): Promise<void> {
  const r = await fetch(`${server!.url}/?database=${database}`, { method: 'POST', body: query });
  if (!r.ok) throw new Error(await r.text());
  await r.arrayBuffer();
}

/** Run SQL on the test server directly (not through the store). */
async function sql(query: string, database = 'default'): Promise<ReturnType<typeof parseTSVWithNamesAndTypes>> {
  const r = await fetch(`${server!.url}/?database=${database}`, { method: 'POST', body: `${query} FORMAT TabSeparatedWithNamesAndTypes` });
  const body = new Uint8Array(await r.arrayBuffer());
  if (!r.ok) throw new Error(Buffer.from(body).toString());
  return parseTSVWithNamesAndTypes(body);
}

describe.skipIf(!available)('ClickHouse store (vs. oracle and DuckDB)', () => {
  let ch: ClickHouseFlowStore;
  let duck: FlowStore;
  const flows = [...makeFlows(20_000, 42), ...makeHostileFlows(500, 99)];
  const since = T0;
  const until = T0 + SPAN;

  beforeAll(async () => {
    ch = await openClickHouseStore({ url: server!.url, database: 'v6_main' });
    duck = await openDuckDBStore({ path: path.join(dir, 'main.duckdb') });
    await ch.append([]);
    await duck.append([]);
    for (let i = 0; i < flows.length; i += 6000) {
      await ch.append(flows.slice(i, i + 6000));
      await duck.append(flows.slice(i, i + 6000));
    }
  });
  afterAll(async () => {
    await ch?.close();
    await duck?.close();
  });

  /** Query both stores; the answer must equal the oracle and DuckDB's (same table, same rows). */
  async function check(q: Query, keys: readonly string[], expected: Map<string, Sums>, table?: string): Promise<Map<string, Sums>> {
    const [a, b] = [await ch.query(q), await duck.query(q)];
    const got = rowsToMap(a.rows, keys);
    expect(got, JSON.stringify(q)).toEqual(expected);
    expect(got, `vs DuckDB: ${JSON.stringify(q)}`).toEqual(rowsToMap(b.rows, keys));
    expect(a.table).toBe(b.table);
    if (table) expect(a.table).toBe(table);
    return got;
  }

  it('totals', async () => {
    const res = await ch.query({ since, until });
    expect(res.table).toBe('rollup_1h');
    expect(res.rows).toHaveLength(1);
    await check({ since, until }, [], oracle(flows, { since, until, key: () => ({}) }), 'rollup_1h');
  });

  it.each([
    ['rollup_1h', HOUR],
    ['rollup_1h', DAY],
    ['rollup_5m', 5 * 60_000],
    ['rollup_1m', 60_000],
    ['raw', 30_000],
    ['raw', 7_919],
  ] as const)('family series from %s equals the oracle and DuckDB (bucket %i ms)', async (table, bucket) => {
    await check({ since, until, bucket, groupBy: [{ field: 'family' }] }, ['time', 'family'], oracle(flows, { since, until, bucket, key: (r) => ({ family: r.family }) }), table);
  });

  it('a range not on bucket boundaries is answered from raw, exactly', async () => {
    const s = since + 90_000 + 7;
    const u = until - 3 * HOUR - 1;
    await check(
      { since: s, until: u, groupBy: [{ field: 'device_id' }, { field: 'family' }] },
      ['device_id', 'family'],
      oracle(flows, { since: s, until: u, key: (r) => ({ device_id: r.device_id, family: r.family }) }),
      'raw',
    );
  });

  it('group by device_id with a family filter uses a rollup; hostile strings come back intact', async () => {
    const got = await check(
      { since, until, groupBy: [{ field: 'device_id' }], filter: { op: 'cmp', field: 'family', cmp: '=', value: 4 } },
      ['device_id'],
      oracle(flows, { since, until, where: (r) => r.family === 4, key: (r) => ({ device_id: r.device_id }) }),
      'rollup_1h',
    );
    const ids = [...got.keys()].map((k) => (JSON.parse(k) as { device_id: string }).device_id);
    for (const s of [...HOSTILE, "o'brien's \"pc\"", '']) expect(ids).toContain(s);
  });

  it('group by several rollup dimensions over a 5-minute series', async () => {
    const bucket = 15 * 60_000;
    await check(
      { since, until, bucket, groupBy: [{ field: 'exporter_name' }, { field: 'proto' }, { field: 'exporter_addr' }, { field: 'sampling_rate' }] },
      ['time', 'exporter_name', 'proto', 'exporter_addr', 'sampling_rate'],
      oracle(flows, { since, until, bucket, key: (r) => ({ exporter_name: r.exporter_name, proto: r.proto, exporter_addr: hex(r.exporter_addr), sampling_rate: r.sampling_rate }) }),
      'rollup_5m',
    );
  });

  it('every field round-trips exactly (group by all raw dimensions)', async () => {
    const dims = FIELDS.filter((f) => f.role === 'dimension').map((f) => f.name);
    const key = (r: FlowRecord): Record<string, string | number> => Object.fromEntries(dims.map((n) => [n, r[n] instanceof Uint8Array ? hex(r[n]) : r[n]]));
    await check({ since, until, groupBy: dims.map((field) => ({ field })) }, dims, oracle(flows, { since, until, key }), 'raw');
  });

  it('aggregates peer addresses to /48 and /24', async () => {
    const res = await ch.query({ since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 } }] });
    expect(res.table).toBe('raw');
    expect(res.rows.length).toBe(5);
    await check(
      { since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 } }] },
      ['peer_addr/48/24'],
      oracle(flows, { since, until, key: (r) => ({ 'peer_addr/48/24': hex(maskAddr(r.peer_addr, r.family, 48, 24)) }) }),
    );
  });

  it.each([
    [57, 23],
    [0, 0],
    [1, 1],
    [7, 9],
    [8, 8],
    [33, 17],
    [64, 31],
    [121, 30],
    [127, 31],
    [128, 32],
  ])('prefix /%i (v6) /%i (v4) masks exactly, also on src_addr and exporter_addr', async (v6, v4) => {
    for (const field of ['peer_addr', 'src_addr', 'exporter_addr']) {
      await check(
        { since, until, groupBy: [{ field, prefix: { v6, v4 }, as: 'p' }] },
        ['p'],
        oracle(flows, { since, until, key: (r) => ({ p: hex(maskAddr(r[field as 'peer_addr'], r.family, v6, v4)) }) }),
      );
    }
  });

  it('filters: prefix range, =, IN / NOT IN, NOT, OR, and constant (empty) sub-expressions', async () => {
    const pfx = parsePrefix('2001:db8::/32');
    const p = prefixRange(pfx);
    const p4 = parsePrefix('198.51.100.0/24');
    const r4 = prefixRange(p4);
    const inP = (a: Uint8Array): boolean => prefixContains(pfx, a, 6);
    const peer7 = parseIP('198.51.100.7').addr;
    const tv = { op: 'cmp', field: 'device_id', cmp: '=', value: 'tv' } as const;
    const cases: { filter: Query['filter']; where: (r: FlowRecord) => boolean }[] = [
      { filter: { op: 'prefix', field: 'peer_addr', first: p.first, last: p.last }, where: (r) => inP(r.peer_addr) },
      { filter: { op: 'prefix', field: 'peer_addr', first: r4.first, last: r4.last }, where: (r) => prefixContains(p4, r.peer_addr, 4) },
      { filter: { op: 'cmp', field: 'peer_addr', cmp: '=', value: peer7 }, where: (r) => hex(r.peer_addr) === hex(peer7) },
      { filter: { op: 'in', field: 'peer_addr', values: [peer7, parseIP('3fff:0:10::30').addr] }, where: (r) => ['198.51.100.7', '3fff:0:10::30'].some((x) => hex(parseIP(x).addr) === hex(r.peer_addr)) },
      { filter: { op: 'cmp', field: 'peer_addr', cmp: '>', value: peer7 }, where: (r) => Buffer.compare(r.peer_addr, peer7) > 0 },
      { filter: { op: 'in', field: 'dst_port', values: [6881, 51413] }, where: (r) => r.dst_port === 6881 || r.dst_port === 51413 },
      { filter: { op: 'in', field: 'dst_port', values: [443, 80], negate: true }, where: (r) => r.dst_port !== 443 && r.dst_port !== 80 },
      { filter: { op: 'not', arg: { op: 'cmp', field: 'proto', cmp: '=', value: 6 } }, where: (r) => r.proto !== 6 },
      { filter: { op: 'or', args: [tv, { op: 'cmp', field: 'dst_port', cmp: '>=', value: 6881 }] }, where: (r) => r.device_id === 'tv' || r.dst_port >= 6881 },
      { filter: { op: 'in', field: 'dst_port', values: [] }, where: () => false },
      { filter: { op: 'in', field: 'dst_port', values: [], negate: true }, where: () => true },
      { filter: { op: 'and', args: [] }, where: () => true },
      { filter: { op: 'or', args: [] }, where: () => false },
      { filter: { op: 'not', arg: { op: 'or', args: [] } }, where: () => true },
      { filter: { op: 'or', args: [tv, { op: 'in', field: 'proto', values: [] }] }, where: (r) => r.device_id === 'tv' },
      { filter: { op: 'and', args: [tv, { op: 'not', arg: { op: 'in', field: 'proto', values: [] } }] }, where: (r) => r.device_id === 'tv' },
      { filter: { op: 'and', args: [tv, { op: 'in', field: 'proto', values: [] }] }, where: () => false },
      { filter: { op: 'in', field: 'time_start', values: [0] }, where: (r) => r.time_start === 0 },
      { filter: { op: 'cmp', field: 'src_mac', cmp: '>=', value: 0xffff_ffff_ff00 }, where: (r) => r.src_mac >= 0xffff_ffff_ff00 },
    ];
    for (const c of cases) {
      for (const groupBy of [[{ field: 'family' }], []]) {
        const keys = groupBy.length ? ['family'] : [];
        const expected = oracle(flows, { since, until, where: c.where, key: (r): Record<string, number> => (groupBy.length ? { family: r.family } : {}) });
        if (!groupBy.length && expected.size === 0) expected.set('{}', { bytes: 0, packets: 0, flows: 0 }); // SUM over nothing: one row of zeros
        await check({ since, until, groupBy, filter: c.filter }, keys, expected);
      }
    }
  });

  it('hostile strings are data: stored and filtered exactly, with =, IN and NOT IN', async () => {
    for (const s of HOSTILE) {
      for (const field of ['device_id', 'dst_name', 'exporter_name'] as const) {
        const n = flows.filter((r) => r[field] === s).length;
        expect(n, `${field} ${JSON.stringify(s)} present in the test data`).toBeGreaterThan(0);
        const res = await ch.query({ since, until, filter: { op: 'cmp', field, cmp: '=', value: s } });
        expect(res.rows[0]!.flows, `${field} = ${JSON.stringify(s)}`).toBe(n);
        expect(res.sql).toContain(quoteString(s));
        expect((await duck.query({ since, until, filter: { op: 'cmp', field, cmp: '=', value: s } })).rows[0]!.flows).toBe(n);
      }
    }
    const res = await ch.query({ since, until, groupBy: [{ field: 'dst_name' }], filter: { op: 'in', field: 'dst_name', values: HOSTILE.slice(0, 5), negate: true } });
    expect(rowsToMap(res.rows, ['dst_name'])).toEqual(
      oracle(flows, { since, until, where: (r) => !HOSTILE.slice(0, 5).includes(r.dst_name), key: (r) => ({ dst_name: r.dst_name }) }),
    );
    // The SQL is printable ASCII; the injection attempt stayed inside its literal.
    expect(res.sql).toMatch(/^[\x20-\x7e]*$/);
    const evil = await ch.query({ since, until, filter: { op: 'cmp', field: 'device_id', cmp: '=', value: 'nobody\'); DROP TABLE raw; --' } });
    expect(evil.rows).toEqual([{ bytes: 0, packets: 0, flows: 0 }]);
    const total = await ch.query({ since: since + 1, until });
    expect(total.table).toBe('raw');
    expect(total.rows[0]!.flows).toBe(flows.filter((r) => r.time_received >= since + 1).length);
  });

  it('string literals round-trip through the server byte for byte', async () => {
    const lone = 'lone \ud800 surrogate';
    for (const s of [...HOSTILE, lone, '\u0000'.repeat(3), 'ä'.repeat(1000)]) {
      const r = await sql(`SELECT ${quoteString(s)} AS s, hex(s) AS h`);
      expect(r.rows[0]![0]).toBe(s === lone ? 'lone \ufffd surrogate' : s);
      expect(String(r.rows[0]![1]).toLowerCase()).toBe(Buffer.from(s, 'utf8').toString('hex'));
    }
  });

  it('orders by a metric and limits, like DuckDB', async () => {
    const q: Query = { since, until, groupBy: [{ field: 'dst_port' }], orderBy: 'packets', limit: 3 };
    const res = await ch.query(q);
    const all = [...oracle(flows, { since, until, key: (r) => ({ dst_port: r.dst_port }) }).entries()].sort((a, b) => b[1].packets - a[1].packets);
    expect(res.rows.map((r) => r.dst_port)).toEqual(all.slice(0, 3).map(([k]) => (JSON.parse(k) as { dst_port: number }).dst_port));
    expect(res.rows).toEqual((await duck.query(q)).rows);
    const series: Query = { since, until, bucket: HOUR, groupBy: [{ field: 'family' }] };
    expect((await ch.query(series)).rows).toEqual((await duck.query(series)).rows); // default order: time, keys
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
      [{ since, until, filter: { op: 'or', args: [{ op: 'in', field: 'proto', values: [] }, { op: 'cmp', field: 'nosuch', cmp: '=', value: 1 }] } }, /unknown filter field/],
      [{ since: until, until: since }, /must be after/],
      [{ since, until, limit: 0 }, /limit/],
    ];
    for (const [q, re] of bad) await expect(ch.query(q), JSON.stringify(q)).rejects.toThrow(re);
    await expect(ch.query(bad[0]![0])).rejects.toBeInstanceOf(QueryError);
  });

  it('reports its time range, like DuckDB', async () => {
    const r = await ch.timeRange();
    expect(r).toEqual({ min: Math.min(...flows.map((f) => f.time_received)), max: Math.max(...flows.map((f) => f.time_received)) });
    expect(r).toEqual(await duck.timeRange());
  });

  it('rejects invalid records before sending anything', async () => {
    const good = makeFlows(1, 5)[0]!;
    await expect(ch.append([{ ...good, dst_port: 70000 }])).rejects.toThrow(/dst_port/);
    await expect(ch.append([{ ...good, peer_addr: new Uint8Array(4) }])).rejects.toThrow(/peer_addr/);
    await expect(ch.append([{ ...good, bytes: -1 }])).rejects.toThrow(/bytes/);
    expect((await ch.query({ since, until })).rows[0]!.flows).toBe(flows.length);
  });
});

describe.skipIf(!available)('ClickHouse store: empty store, reopening, migration and retention', () => {
  it('an empty store answers with zeros and no time range', async () => {
    const s = await openClickHouseStore({ url: server!.url, database: 'v6_empty' });
    expect(await s.timeRange()).toBeNull();
    expect((await s.query({ since: T0, until: T0 + DAY })).rows).toEqual([{ bytes: 0, packets: 0, flows: 0 }]);
    expect((await s.query({ since: T0, until: T0 + DAY, groupBy: [{ field: 'family' }] })).rows).toEqual([]);
    await s.close();
  });

  it('migrate is idempotent and adds columns a newer schema declares', async () => {
    const db = 'v6_migrate';
    const flows = makeFlows(500, 3);
    let s = await openClickHouseStore({ url: server!.url, database: db });
    await s.append(flows);
    await s.migrate();
    await s.close();
    // An older table without dst_name (as if the field was added later).
    await command('ALTER TABLE raw DROP COLUMN dst_name', db);
    s = await openClickHouseStore({ url: server!.url, database: db });
    await s.migrate();
    const cols = await sql(`SELECT name, type FROM system.columns WHERE database = '${db}' AND table = 'raw'`, db);
    expect(new Set(cols.rows.map((r) => r[0]))).toEqual(new Set(FIELDS.map((f) => f.name)));
    const res = await s.query({ since: T0, until: T0 + SPAN + 1, groupBy: [{ field: 'dst_name' }] });
    expect(res.rows).toEqual([{ dst_name: '', bytes: flows.reduce((a, f) => a + f.bytes, 0), packets: flows.reduce((a, f) => a + f.packets, 0), flows: flows.length }]);
    const views = await sql(`SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView' ORDER BY name`);
    expect(views.rows.map((r) => r[0])).toEqual(['raw_to_rollup_1h', 'raw_to_rollup_1m', 'raw_to_rollup_5m']);
    // rollups are still fed after the reopen, exactly once
    await s.append(flows);
    expect((await s.query({ since: T0, until: T0 + SPAN })).rows[0]!.flows).toBe(2 * flows.length);
    await s.close();
  });

  it('keeps data across reopen, applies retention per table and remembers it (same answers as DuckDB)', async () => {
    const flows = makeFlows(3000, 7);
    const file = path.join(dir, 'retention.duckdb');
    const db = 'v6_retention';
    let s = await openClickHouseStore({ url: server!.url, database: db });
    let dk = await openDuckDBStore({ path: file });
    await s.append(flows);
    await dk.append(flows);
    await s.close();
    await dk.close();

    const retention = { ...DEFAULT_RETENTION, raw: 2 * DAY, rollup_1m: 1 * DAY };
    s = await openClickHouseStore({ url: server!.url, database: db, retention });
    dk = await openDuckDBStore({ path: file, retention });
    const same = async (q: Query): Promise<Awaited<ReturnType<FlowStore['query']>>> => {
      const a = await s.query(q);
      const b = await dk.query(q);
      expect(a.table, JSON.stringify(q)).toBe(b.table);
      expect(a.rows, JSON.stringify(q)).toEqual(b.rows);
      return a;
    };
    const full = { since: T0, until: T0 + SPAN };
    expect((await same(full)).rows[0]!.flows).toBe(flows.length);

    const now = T0 + SPAN;
    await s.applyRetention(now);
    await dk.applyRetention(now);
    const rawFrom = now - 2 * DAY;
    const r1 = await same({ since: rawFrom, until: now + 1 });
    expect(r1.table).toBe('raw');
    expect(r1.rows[0]!.flows).toBe(flows.filter((f) => f.time_received >= rawFrom).length);
    expect((await same({ since: T0 + 1, until: rawFrom })).rows[0]!.flows).toBe(0);
    // raw's first partition (day 1) was dropped whole, not rewritten
    const parts = await sql(`SELECT DISTINCT partition_id FROM system.parts WHERE database = '${db}' AND table = 'raw' AND active ORDER BY partition_id`);
    expect(parts.rows.map((r) => r[0])).toEqual(['20261103', '20261104']);

    expect((await same({ ...full, bucket: 60_000 })).table).toBe('raw');
    const daily = await same({ ...full, bucket: DAY });
    expect(daily.table).toBe('rollup_1h');
    expect(daily.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(flows.length);
    expect(await s.timeRange()).toEqual(await dk.timeRange());
    await s.close();
    await dk.close();

    s = await openClickHouseStore({ url: server!.url, database: db, retention });
    dk = await openDuckDBStore({ path: file, retention });
    expect((await same({ since: T0, until: T0 + DAY, bucket: 60_000 })).table).not.toBe('rollup_1m');
    const lastDay = await same({ since: now - DAY, until: now, bucket: 60_000 });
    expect(lastDay.table).toBe('rollup_1m');
    expect(lastDay.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(flows.filter((f) => f.time_received >= now - DAY).length);
    // applying the same retention again is a no-op
    await s.applyRetention(now);
    expect((await s.query(full)).rows).toEqual((await dk.query(full)).rows);

    // A cut-off inside a partition: the rest is deleted by a mutation, waited for.
    const later = now + 7 * HOUR + 123_457;
    await s.applyRetention(later);
    await dk.applyRetention(later);
    const rawFrom2 = later - 2 * DAY;
    const r2 = await same({ since: T0, until: later });
    expect(r2.table).toBe('raw');
    expect(r2.rows[0]!.flows).toBe(flows.filter((f) => f.time_received >= rawFrom2).length);
    const oneMinute = await same({ since: Math.ceil((later - DAY) / 60_000) * 60_000, until: T0 + SPAN, bucket: 60_000 });
    expect(oneMinute.table).toBe('rollup_1m');
    await same({ since: T0, until: T0 + SPAN, bucket: HOUR, groupBy: [{ field: 'family' }] });
    expect(await s.timeRange()).toEqual(await dk.timeRange());
    const mutations = await sql(`SELECT count() FROM system.mutations WHERE database = '${db}' AND is_done = 1`);
    expect(Number(mutations.rows[0]![0])).toBeGreaterThan(0);
    await s.close();
    await dk.close();
  });
});
