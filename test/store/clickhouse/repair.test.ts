/**
 * Rollup repair (docs/clickhouse.md, "Durability"): ClickHouse 18.16 writes raw's part of an INSERT
 * before the materialized views' parts, so a crash in between leaves rows in raw that a rollup
 * lacks. Here the damage is made deterministically — a view dropped while a batch is inserted, part
 * of a rollup bucket deleted, a rollup row duplicated — and `repair()` (and the replay of a spooled
 * batch that had landed without its rollups) must bring every rollup back to exactly what the JS
 * oracle computes from the flows, on one server and on a two-shard cluster (repair per node).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELDS, type FlowRecord } from '../../../src/schema/fields.js';
import { encodeRows, type ColumnDef } from '../../../src/store/clickhouse/format.js';
import { DiskSpool } from '../../../src/store/clickhouse/spool.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../../src/store/clickhouse/store.js';
import type { ClickHouseOptions } from '../../../src/store/clickhouse/options.js';
import { hex, makeFlows, oracle, rowsToMap, SPAN, T0 } from '../oracle.js';
import { freePort, haveClickHouse, startClickHouse, type ClickHouseServer } from './server.js';

const available = haveClickHouse(); // throws under CI when the server is missing
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-repair-'));
const servers: ClickHouseServer[] = [];
let single: ClickHouseServer;
let cluster: { url: string; nodes: string[] };

beforeAll(async () => {
  if (!available) return;
  single = await startClickHouse();
  servers.push(single);
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  if (new Set(ports).size !== 4) throw new Error('port clash, retry');
  const shard = (tcp: number): string => `<shard><replica><host>127.0.0.1</host><port>${tcp}</port></replica></shard>`;
  const extraConfig = `<remote_servers><v6c>${shard(ports[1]!)}${shard(ports[3]!)}</v6c></remote_servers>`;
  const a = await startClickHouse({ httpPort: ports[0], tcpPort: ports[1], extraConfig });
  servers.push(a);
  const b = await startClickHouse({ httpPort: ports[2], tcpPort: ports[3], extraConfig });
  servers.push(b);
  cluster = { url: a.url, nodes: [a.url, b.url] };
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sql(url: string, db: string, query: string): Promise<string[][]> {
  const r = await fetch(`${url}/?database=${db}`, { method: 'POST', body: query });
  const t = await r.text();
  if (!r.ok) throw new Error(t);
  return t.trim() === '' ? [] : t.trim().split('\n').map((l) => l.split('\t'));
}

async function waitMutations(url: string, db: string): Promise<void> {
  for (;;) {
    const [[n]] = (await sql(url, db, `SELECT count() FROM system.mutations WHERE database = '${db}' AND is_done = 0`)) as [string[]];
    if (Number(n) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Flows whose time_start is unique (the identity of each flow). */
function uniqueFlows(n: number, seed: number, first: number): FlowRecord[] {
  return makeFlows(n, seed).map((f, i) => ({ ...f, time_start: first + i }));
}

/** Every rollup, bucket by bucket and over all its dimensions, equals the oracle over the flows. */
async function expectRollupsExact(store: ClickHouseFlowStore, flows: readonly FlowRecord[]): Promise<void> {
  for (const t of store.tables().filter((x) => x.resolutionMs > 0)) {
    const dims = [...t.dimensions];
    const res = await store.query({ since: T0, until: T0 + SPAN, bucket: t.resolutionMs, groupBy: dims.map((field) => ({ field })) });
    expect(res.table, `query at ${t.resolutionMs} ms`).toBe(t.name);
    const key = (r: FlowRecord): Record<string, string | number> =>
      Object.fromEntries(dims.map((n) => {
        const v = (r as unknown as Record<string, unknown>)[n];
        return [n, v instanceof Uint8Array ? hex(v) : (v as string | number)];
      }));
    expect(rowsToMap(res.rows, ['time', ...dims]), t.name).toEqual(oracle(flows, { since: T0, until: T0 + SPAN, bucket: t.resolutionMs, key }));
  }
}

const kinds = [
  { name: 'one server', open: (db: string, extra: Partial<ClickHouseOptions> = {}) => openClickHouseStore({ url: single.url, database: db, ...extra }), nodes: () => [single.url], local: (t: string) => t },
  {
    name: 'two-shard cluster',
    open: (db: string, extra: Partial<ClickHouseOptions> = {}) => openClickHouseStore({ url: cluster.url, database: db, cluster: 'v6c', clusterNodes: cluster.nodes, ...extra }),
    nodes: () => cluster.nodes,
    local: (t: string) => `${t}_local`,
  },
];

describe.skipIf(!available).each(kinds)('ClickHouse rollup repair ($name)', (kind) => {
  it('a batch written while a view was missing, a bucket partly deleted, a duplicated rollup row: repair rebuilds exactly those buckets from raw', async () => {
    const db = 'v6_repair';
    const store = await kind.open(db);
    try {
      const flows: FlowRecord[] = [];
      for (let i = 0; i < 6; i++) {
        const b = uniqueFlows(2000, 40 + i, i * 2000);
        await store.append(b);
        flows.push(...b);
      }
      expect((await store.repair()).rebuilt).toBe(0); // consistent: nothing to do
      await expectRollupsExact(store, flows);

      // 1. Like a crash between raw's part and the views' parts: rollup_5m's view is missing while
      //    batches are inserted (on every node), then comes back (migrate).
      for (const n of kind.nodes()) await sql(n, db, 'DROP TABLE raw_to_rollup_5m');
      for (let i = 0; i < 4; i++) {
        const b = uniqueFlows(1500, 70 + i, 100_000 + i * 1500);
        await store.append(b);
        flows.push(...b);
      }
      await store.migrate();
      // 2. Part of an hour bucket deleted from rollup_1h (on every node).
      const hourBucket = Math.floor(flows.find((f) => f.family === 6)!.time_received / 3_600_000) * 3_600_000;
      for (const n of kind.nodes()) {
        await sql(n, db, `ALTER TABLE ${kind.local('rollup_1h')} DELETE WHERE time_received = ${hourBucket} AND family = 6`);
        await waitMutations(n, db);
      }
      // 3. A rollup_1m row counted twice (on a node that has rows).
      let node = kind.nodes()[0]!;
      for (const n of kind.nodes()) if (Number((await sql(n, db, `SELECT count() FROM ${kind.local('rollup_1m')}`))[0]![0]) > 0) node = n;
      await sql(node, db, `INSERT INTO ${kind.local('rollup_1m')} SELECT * FROM ${kind.local('rollup_1m')} WHERE flows > 0 LIMIT 3`);

      const before = await store.query({ since: T0, until: T0 + SPAN, bucket: 300_000 });
      expect(before.table).toBe('rollup_5m');
      expect(before.rows.reduce((a, r) => a + (r.flows as number), 0)).toBeLessThan(flows.length); // the damage is visible

      const res = await store.repair();
      expect(res.remaining).toEqual([]);
      const tables = new Set(res.mismatched.map((m) => m.table));
      expect([...tables].sort()).toEqual(['rollup_1h', 'rollup_1m', 'rollup_5m']);
      expect(res.mismatched.every((m) => m.time % (m.table === 'rollup_1m' ? 60_000 : m.table === 'rollup_5m' ? 300_000 : 3_600_000) === 0)).toBe(true);
      expect(res.mismatched.find((m) => m.table === 'rollup_1h')).toMatchObject({ time: hourBucket });
      await expectRollupsExact(store, flows);
      expect((await store.repair()).rebuilt).toBe(0); // idempotent
      // raw untouched: every flow exactly once
      const [[count, uniq]] = (await sql(kind.nodes()[0]!, db, 'SELECT count(), uniqExact(time_start) FROM raw')) as [string[]];
      expect([Number(count), Number(uniq)]).toEqual([flows.length, flows.length]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('replay: a spooled batch that had landed in raw without its rollups (crash mid-INSERT) is not inserted again and its buckets are rebuilt', async () => {
    const db = 'v6_repair_replay';
    const spoolDir = path.join(dir, `spool-${kind.name.replace(/\W/g, '')}`);
    let store = await kind.open(db);
    const flows = uniqueFlows(4000, 90, 0);
    await store.append(flows);
    await store.close();
    // The batch in flight: in raw (every node's views dropped, so no rollup rows at all), and in the spool.
    const day = (f: FlowRecord): number => Math.floor(f.time_received / 86_400_000);
    const landed = uniqueFlows(3000, 91, 50_000).filter((f) => day(f) === day(flows[0]!));
    const id = new Uint8Array(16).fill(7);
    const views = ['raw_to_rollup_1m', 'raw_to_rollup_5m', 'raw_to_rollup_1h'];
    for (const n of kind.nodes()) for (const v of views) await sql(n, db, `DROP TABLE ${v}`);
    const body = encodeRows(FIELDS as readonly ColumnDef[], landed as unknown as Record<string, unknown>[], id);
    const cols = [...FIELDS.map((f) => `\`${f.name}\``), '`batch_id`'].join(', ');
    const ins = await fetch(`${kind.nodes()[0]!}/?database=${db}&insert_distributed_sync=1&query=${encodeURIComponent(`INSERT INTO raw (${cols}) FORMAT RowBinary`)}`, { method: 'POST', body });
    expect(ins.ok, await ins.text()).toBe(true);
    const spool = DiskSpool.open({ dir: spoolDir });
    const times = landed.map((f) => f.time_received);
    spool.push({ table: 'raw', batchId: id, rows: landed.length, minTime: Math.min(...times), maxTime: Math.max(...times) }, body);

    const warnings: string[] = [];
    const onWarn = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarn);
    try {
      store = await kind.open(db, { spool: { dir: spoolDir, retryMinMs: 50 } }); // migrate recreates the views
      await store.flush(60_000);
    } finally {
      process.off('warning', onWarn);
    }
    try {
      expect(store.spoolStatus()).toMatchObject({ batches: 0, quarantined: 0 });
      const all = [...flows, ...landed];
      const [[count, uniq]] = (await sql(kind.nodes()[0]!, db, 'SELECT count(), uniqExact(time_start) FROM raw')) as [string[]];
      expect([Number(count), Number(uniq)]).toEqual([all.length, all.length]);
      await expectRollupsExact(store, all);
      expect(warnings.some((w) => /rollup buckets .* rebuilt from raw/.test(w))).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
});
