/**
 * Every store against an independent oracle, in ONE suite parameterised over the stores (DuckDB
 * and ClickHouse — a real clickhouse-server started privately on loopback): a seeded set of flows,
 * plus flows with hostile strings and extreme values, is appended, and every query's answer is
 * compared with the same aggregation done in plain JavaScript over the records (never with output
 * of a store). Covers the raw table and each rollup (the planner's choice is asserted too, so both
 * stores pick the same table), filters, address prefixes of every length, ordering/limits, the fact
 * tables, retention, reopening and values that would break SQL if they were interpolated. Since each
 * store equals the oracle, the stores equal each other.
 *
 * ClickHouse-only checks (literal encoder round trip through the server, schema migration of an
 * older table, partitions dropped whole) follow in their own describe, on the same server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../src/net/ip.js';
import { parsePrefix, prefixContains, prefixRange } from '../../src/net/prefix.js';
import { DNS_ANSWERS, NEIGHBORS } from '../../src/schema/facts.js';
import { FIELDS, type FlowRecord } from '../../src/schema/fields.js';
import { QueryError } from '../../src/store/compile.js';
import { quoteString } from '../../src/store/clickhouse/dialect.js';
import { parseTSVWithNamesAndTypes } from '../../src/store/clickhouse/format.js';
import { openClickHouseStore } from '../../src/store/clickhouse/store.js';
import { DEFAULT_RETENTION, type FlowStore, type Query } from '../../src/store/index.js';
import { DAY, factOracle, HOSTILE, HOUR, hex, makeFacts, makeFlows, makeHostileFlows, maskAddr, oracle, rowsToMap, SPAN, T0, type Sums } from './oracle.js';
import { runCli } from '../helpers/cli.js';
import { CLICKHOUSE_AVAILABLE, clickhouseServer, STORE_KINDS, tempDir, useStores } from './stores.js';

useStores();

describe.each(STORE_KINDS)('$name store (vs. the oracle)', (kind) => {
  describe.skipIf(!kind.available)('queries', () => {
    let store: FlowStore;
    const flows = [...makeFlows(20_000, 42), ...makeHostileFlows(500, 99)];
    const since = T0;
    const until = T0 + SPAN;

    beforeAll(async () => {
      store = await kind.open('main');
      await store.append([]);
      for (let i = 0; i < flows.length; i += 6000) await store.append(flows.slice(i, i + 6000));
    });
    afterAll(async () => {
      await store?.close();
    });

    /** Query the store; the answer must equal the oracle's, from the expected table. */
    async function check(q: Query, keys: readonly string[], expected: Map<string, Sums>, table?: string): Promise<Map<string, Sums>> {
      const a = await store.query(q);
      const got = rowsToMap(a.rows, keys);
      expect(got, JSON.stringify(q)).toEqual(expected);
      if (table) expect(a.table, JSON.stringify(q)).toBe(table);
      return got;
    }

    it('totals', async () => {
      const res = await store.query({ since, until });
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
    ] as const)('family series from %s equals the oracle (bucket %i ms)', async (table, bucket) => {
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

    it('group by several rollup dimensions over a 15-minute series', async () => {
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

    it('aggregates peer addresses to /48 and /24 (raw table: peer_addr is not in the rollups)', async () => {
      const got = await check(
        { since, until, groupBy: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 } }] },
        ['peer_addr/48/24'],
        oracle(flows, { since, until, key: (r) => ({ 'peer_addr/48/24': hex(maskAddr(r.peer_addr, r.family, 48, 24)) }) }),
        'raw',
      );
      // /48 merges 2001:db8:f00d::10 and 2001:db8:f00d:1::11; /24 merges the two 198.51.100.x
      expect(got.size).toBe(5);
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
    ])('prefix /%i (v6) /%i (v4) masks exactly, on peer_addr, src_addr and exporter_addr', async (v6, v4) => {
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
          const res = await store.query({ since, until, filter: { op: 'cmp', field, cmp: '=', value: s } });
          expect(res.rows[0]!.flows, `${field} = ${JSON.stringify(s)}`).toBe(n);
          // DuckDB binds parameters; ClickHouse gets the strictly encoded literal
          if (kind.name === 'clickhouse') expect(res.sql).toContain(quoteString(s));
          else expect(res.sql).not.toContain(s);
        }
      }
      const res = await store.query({ since, until, groupBy: [{ field: 'dst_name' }], filter: { op: 'in', field: 'dst_name', values: HOSTILE.slice(0, 5), negate: true } });
      expect(rowsToMap(res.rows, ['dst_name'])).toEqual(oracle(flows, { since, until, where: (r) => !HOSTILE.slice(0, 5).includes(r.dst_name), key: (r) => ({ dst_name: r.dst_name }) }));
      // The SQL is printable ASCII; the injection attempt stayed inside its literal (or parameter).
      expect(res.sql).toMatch(/^[\x20-\x7e]*$/);
      const evil = await store.query({ since, until, filter: { op: 'cmp', field: 'device_id', cmp: '=', value: "nobody'); DROP TABLE raw; --" } });
      expect(evil.rows).toEqual([{ bytes: 0, packets: 0, flows: 0 }]);
      const total = await store.query({ since: since + 1, until });
      expect(total.table).toBe('raw');
      expect(total.rows[0]!.flows).toBe(flows.filter((r) => r.time_received >= since + 1).length);
    });

    it('orders by a metric and limits; default order is time, then keys', async () => {
      const res = await store.query({ since, until, groupBy: [{ field: 'dst_port' }], orderBy: 'packets', limit: 3 });
      const all = [...oracle(flows, { since, until, key: (r) => ({ dst_port: r.dst_port }) }).entries()].sort((a, b) => b[1].packets - a[1].packets);
      expect(res.rows.map((r) => r.dst_port)).toEqual(all.slice(0, 3).map(([k]) => (JSON.parse(k) as { dst_port: number }).dst_port));
      const series = await store.query({ since, until, bucket: HOUR, groupBy: [{ field: 'family' }] });
      const keys = series.rows.map((r) => [r.time as number, r.family as number]);
      expect(keys).toEqual([...keys].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
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
      for (const [q, re] of bad) await expect(store.query(q), JSON.stringify(q)).rejects.toThrow(re);
      await expect(store.query(bad[0]![0])).rejects.toBeInstanceOf(QueryError);
    });

    it('reports its time range', async () => {
      expect(await store.timeRange()).toEqual({ min: Math.min(...flows.map((f) => f.time_received)), max: Math.max(...flows.map((f) => f.time_received)) });
    });
  });

  describe.skipIf(!kind.available)('facts, empty store, reopening and retention', () => {
    it('fact tables: rows come back exactly, in range, in the same order on every store', async () => {
      const s = await kind.open('facts');
      const { dns, neighbors } = makeFacts(3000, 11);
      await s.facts!.append(DNS_ANSWERS, []);
      for (let i = 0; i < dns.length; i += 1000) {
        await s.facts!.append(DNS_ANSWERS, dns.slice(i, i + 1000));
        await s.facts!.append(NEIGHBORS, neighbors.slice(i, i + 1000));
      }
      expect(await s.facts!.read(DNS_ANSWERS)).toEqual(factOracle(DNS_ANSWERS, dns));
      expect(await s.facts!.read(NEIGHBORS)).toEqual(factOracle(NEIGHBORS, neighbors));
      const range = { since: T0 + DAY, until: T0 + 2 * DAY + 17 };
      expect(await s.facts!.read(DNS_ANSWERS, range)).toEqual(factOracle(DNS_ANSWERS, dns, range));
      expect(await s.facts!.read(NEIGHBORS, { until: T0 + DAY })).toEqual(factOracle(NEIGHBORS, neighbors, { until: T0 + DAY }));
      // facts are kept as long as raw
      await s.applyRetention(T0 + SPAN + DAY + 5);
      await s.close();
      const again = await kind.open('facts', { retention: { ...DEFAULT_RETENTION, raw: 2 * DAY } });
      await again.applyRetention(T0 + SPAN + DAY + 5);
      const from = T0 + SPAN + DAY + 5 - 2 * DAY;
      expect(await again.facts!.read(DNS_ANSWERS)).toEqual(factOracle(DNS_ANSWERS, dns, { since: from }));
      expect(await again.facts!.read(NEIGHBORS)).toEqual(factOracle(NEIGHBORS, neighbors, { since: from }));
      await again.close();
    });

    it('an empty store answers with zeros and no time range', async () => {
      const s = await kind.open('empty');
      expect(await s.timeRange()).toBeNull();
      expect((await s.query({ since: T0, until: T0 + DAY })).rows).toEqual([{ bytes: 0, packets: 0, flows: 0 }]);
      expect((await s.query({ since: T0, until: T0 + DAY, groupBy: [{ field: 'family' }] })).rows).toEqual([]);
      expect(await s.facts!.read(NEIGHBORS)).toEqual([]);
      await s.close();
    });

    it('keeps data across reopen, applies retention per table and remembers it', async () => {
      const flows = makeFlows(3000, 7);
      let s = await kind.open('retention');
      await s.append(flows);
      await s.close();

      const retention = { ...DEFAULT_RETENTION, raw: 2 * DAY, rollup_1m: 1 * DAY };
      s = await kind.open('retention', { retention });
      const full = { since: T0, until: T0 + SPAN };
      const count = (pred: (t: number) => boolean): number => flows.filter((f) => pred(f.time_received)).length;
      expect((await s.query(full)).rows[0]!.flows).toBe(flows.length); // survived the reopen

      const now = T0 + SPAN; // raw keeps the last 2 days, rollup_1m the last day
      await s.applyRetention(now);
      const rawFrom = now - 2 * DAY;
      const r1 = await s.query({ since: rawFrom, until: now + 1 }); // unaligned → raw
      expect(r1.table).toBe('raw');
      expect(r1.rows[0]!.flows).toBe(count((t) => t >= rawFrom));
      expect((await s.query({ since: T0 + 1, until: rawFrom })).rows[0]!.flows).toBe(0); // gone from raw

      // only raw and rollup_1m have 1-minute buckets, and both are pruned: raw answers (what it still has)
      expect((await s.query({ ...full, bucket: 60_000 })).table).toBe('raw');
      const daily = await s.query({ ...full, bucket: DAY });
      expect(daily.table).toBe('rollup_1h');
      expect(daily.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(flows.length);
      const hourMin = Math.floor(Math.min(...flows.map((f) => f.time_received)) / HOUR) * HOUR;
      expect(await s.timeRange()).toEqual({ min: hourMin, max: Math.max(...flows.map((f) => f.time_received)) });
      await s.close();

      // retention state survives a reopen: rollup_1m is not chosen for a range it no longer holds
      s = await kind.open('retention', { retention });
      expect((await s.query({ since: T0, until: T0 + DAY, bucket: 60_000 })).table).not.toBe('rollup_1m');
      const lastDay = await s.query({ since: now - DAY, until: now, bucket: 60_000 });
      expect(lastDay.table).toBe('rollup_1m');
      expect(lastDay.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(count((t) => t >= now - DAY));
      await s.applyRetention(now); // the same retention again is a no-op
      expect((await s.query(full)).rows[0]!.flows).toBe(flows.length);

      // A cut-off inside a partition (ClickHouse: the rest is deleted by a mutation, waited for).
      const later = now + 7 * HOUR + 123_457;
      await s.applyRetention(later);
      const r2 = await s.query({ since: T0, until: later });
      expect(r2.table).toBe('raw');
      expect(r2.rows[0]!.flows).toBe(count((t) => t >= later - 2 * DAY));
      const minuteFrom = Math.ceil((later - DAY) / 60_000) * 60_000;
      const oneMinute = await s.query({ since: minuteFrom, until: T0 + SPAN, bucket: 60_000 });
      expect(oneMinute.table).toBe('rollup_1m');
      expect(oneMinute.rows.reduce((a, r) => a + (r.flows as number), 0)).toBe(count((t) => t >= minuteFrom));
      const hourly = await s.query({ ...full, bucket: HOUR, groupBy: [{ field: 'family' }] });
      expect(rowsToMap(hourly.rows, ['time', 'family'])).toEqual(oracle(flows, { ...full, bucket: HOUR, key: (r) => ({ family: r.family }) }));
      await s.close();
    });
  });
});

/** Run SQL on the test server directly (not through the store). */
async function sql(query: string, database = 'default'): Promise<ReturnType<typeof parseTSVWithNamesAndTypes>> {
  const r = await fetch(`${clickhouseServer().url}/?database=${database}`, { method: 'POST', body: `${query} FORMAT TabSeparatedWithNamesAndTypes` });
  const body = new Uint8Array(await r.arrayBuffer());
  if (!r.ok) throw new Error(Buffer.from(body).toString());
  return parseTSVWithNamesAndTypes(body);
}

async function command(query: string, database = 'default'): Promise<void> {
  const r = await fetch(`${clickhouseServer().url}/?database=${database}`, { method: 'POST', body: query });
  if (!r.ok) throw new Error(await r.text());
  await r.arrayBuffer();
}

describe.skipIf(!CLICKHOUSE_AVAILABLE)('ClickHouse only: literals, migration, partitions', () => {
  it('string literals round-trip through the server byte for byte', async () => {
    const lone = 'lone \ud800 surrogate';
    for (const s of [...HOSTILE, lone, '\u0000'.repeat(3), 'ä'.repeat(1000)]) {
      const r = await sql(`SELECT ${quoteString(s)} AS s, hex(s) AS h`);
      expect(r.rows[0]![0]).toBe(s === lone ? 'lone \ufffd surrogate' : s);
      expect(String(r.rows[0]![1]).toLowerCase()).toBe(Buffer.from(s, 'utf8').toString('hex'));
    }
  });

  it('rejects invalid records before sending anything', async () => {
    const s = await openClickHouseStore({ url: clickhouseServer().url, database: 'v6_invalid' });
    const good = makeFlows(1, 5)[0]!;
    await s.append([good]);
    await expect(s.append([{ ...good, dst_port: 70000 }])).rejects.toThrow(/dst_port/);
    await expect(s.append([{ ...good, peer_addr: new Uint8Array(4) }])).rejects.toThrow(/peer_addr/);
    await expect(s.append([{ ...good, bytes: -1 }])).rejects.toThrow(/bytes/);
    await expect(s.append([{ ...good, time_received: -5 }])).rejects.toThrow(/time_received/);
    await expect(s.facts.append(NEIGHBORS, [{ seen_at: T0, mac: 1, family: 4, addr: new Uint8Array(3), hostname: '', source: 'x', expires_at: 0 }])).rejects.toThrow(/addr/);
    expect((await s.query({ since: T0, until: T0 + SPAN })).rows[0]!.flows).toBe(1);
    await s.close();
  });

  it('migrate is idempotent and adds columns a newer schema declares', async () => {
    const db = 'v6_migrate';
    const flows = makeFlows(500, 3);
    let s = await openClickHouseStore({ url: clickhouseServer().url, database: db });
    await s.append(flows);
    await s.migrate();
    await s.close();
    // An older table without dst_name (as if the field was added later), and without batch_id (schema 1).
    await command('ALTER TABLE raw DROP COLUMN dst_name', db);
    await command('ALTER TABLE raw DROP COLUMN batch_id', db);
    s = await openClickHouseStore({ url: clickhouseServer().url, database: db });
    await s.migrate();
    const cols = await sql(`SELECT name, type FROM system.columns WHERE database = '${db}' AND table = 'raw'`, db);
    expect(new Set(cols.rows.map((r) => r[0]))).toEqual(new Set([...FIELDS.map((f) => f.name), 'batch_id']));
    const res = await s.query({ since: T0, until: T0 + SPAN + 1, groupBy: [{ field: 'dst_name' }] });
    expect(res.rows).toEqual([{ dst_name: '', bytes: flows.reduce((a, f) => a + f.bytes, 0), packets: flows.reduce((a, f) => a + f.packets, 0), flows: flows.length }]);
    const views = await sql(`SELECT name FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView' ORDER BY name`);
    expect(views.rows.map((r) => r[0])).toEqual(['raw_to_rollup_1h', 'raw_to_rollup_1m', 'raw_to_rollup_5m']);
    // rollups are still fed after the reopen, exactly once
    await s.append(flows);
    expect((await s.query({ since: T0, until: T0 + SPAN })).rows[0]!.flows).toBe(2 * flows.length);
    const st = await s.status();
    expect(st.tables.find((t) => t.name === 'raw')).toEqual({ name: 'raw', engine: 'MergeTree', rows: 2 * flows.length });
    expect(st.tables.find((t) => t.name === 'dns_answers')!.engine).toBe('MergeTree');
    await s.close();
  });

  it('retention drops whole partitions (not rewritten) and deletes the rest with a mutation', async () => {
    const db = 'v6_partitions';
    const flows = makeFlows(2000, 8);
    const s = await openClickHouseStore({ url: clickhouseServer().url, database: db, retention: { ...DEFAULT_RETENTION, raw: 2 * DAY } });
    await s.append(flows);
    await s.applyRetention(T0 + SPAN);
    const parts = await sql(`SELECT DISTINCT partition_id FROM system.parts WHERE database = '${db}' AND table = 'raw' AND active ORDER BY partition_id`);
    expect(parts.rows.map((r) => r[0])).toEqual(['20261103', '20261104']);
    await s.applyRetention(T0 + SPAN + 7 * HOUR);
    const mutations = await sql(`SELECT count() FROM system.mutations WHERE database = '${db}' AND is_done = 1`);
    expect(Number(mutations.rows[0]![0])).toBeGreaterThan(0);
    expect((await s.query({ since: T0, until: T0 + SPAN + 1 })).rows[0]!.flows).toBe(flows.filter((f) => f.time_received >= T0 + SPAN + 7 * HOUR - 2 * DAY).length);
    await s.close();
  });

  it('v6scope store migrate / check: tables, row counts, spool depth (ClickHouse and DuckDB)', async () => {
    const data = `${tempDir()}/cli-data`;
    const ch = ['--store', 'clickhouse', '--clickhouse-url', clickhouseServer().url, '--clickhouse-database', 'v6_cli'];
    const m = await runCli(['--data', data, 'store', 'migrate', ...ch]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/clickhouse: schema up to date/);
    const c = await runCli(['--data', data, '--json', 'store', 'check', ...ch]);
    expect(c.code, c.stderr).toBe(0);
    const j = JSON.parse(c.stdout) as { connected: boolean; version: string; tables: { name: string; engine: string; rows: number }[]; spool: { batches: number } };
    expect(j.connected).toBe(true);
    expect(j.version).toMatch(/^\d+\./);
    expect(j.tables.map((t) => t.name)).toEqual(['raw', 'rollup_1m', 'rollup_5m', 'rollup_1h', 'dns_answers', 'neighbors']);
    expect(j.tables.find((t) => t.name === 'raw')).toEqual({ name: 'raw', engine: 'MergeTree', rows: 0 });
    expect(j.spool.batches).toBe(0);
    const text = await runCli(['--data', data, 'store', 'check', ...ch]);
    expect(text.stdout).toMatch(/spool .*: 0 batches/);
    const down = await runCli(['--data', data, 'store', 'check', '--store', 'clickhouse', '--clickhouse-url', 'http://127.0.0.1:9']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the clickhouse store/);
    const bad = await runCli(['--data', data, 'store', 'check', '--store', 'clickhouse', '--clickhouse-url', 'nope']);
    expect(bad.code).toBe(2);
    const duck = await runCli(['--data', data, '--json', 'store', 'check']);
    expect(duck.code, duck.stderr).toBe(0);
    expect((JSON.parse(duck.stdout) as { tables: { name: string; rows: number }[] }).tables[0]).toEqual({ name: 'raw', rows: 0 });
  });
});
