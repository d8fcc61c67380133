/**
 * DuckDB rollups maintained less often than per batch: appends land in raw (numbered by batch),
 * and the rollups are brought up from raw's new batches by size, by timer and before anything reads
 * a rollup. Every answer is compared with the JavaScript oracle — while rows are waiting, across
 * 1 min / 5 min / 1 h bucket boundaries, after several partial flushes, after a crash that left
 * batches in raw only (rolled up when the file is opened again, once), and on a file from the
 * version that kept a pending table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import type { FlowStore, Query } from '../../src/store/index.js';
import { HOUR, makeFlows, oracle, rowsToMap, T0 } from './oracle.js';

const MINUTE = 60_000;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'v6scope-rollup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RollupStats {
  flushes: number;
  flushedRows: number;
}
const statsOf = (s: FlowStore): RollupStats => (s as unknown as { rollupStats: RollupStats }).rollupStats;

/** Flows whose times sit on both sides of minute, 5-minute and hour boundaries. */
function boundaryFlows(n: number, seed: number): FlowRecord[] {
  const base = makeFlows(n, seed);
  const edges = [HOUR, HOUR + 5 * MINUTE, 2 * HOUR, 2 * HOUR + MINUTE];
  return base.map((f, i) => {
    const edge = T0 + edges[i % edges.length]!;
    const t = edge + ((i * 7919) % 20_000) - 10_000; // within ±10 s of the edge
    return { ...f, time_received: t, time_start: t - 1000, time_end: t };
  });
}

async function expectOracle(store: FlowStore, flows: readonly FlowRecord[], q: Query, table: string): Promise<void> {
  const a = await store.query(q);
  expect(a.table, JSON.stringify(q)).toBe(table);
  const key = (r: FlowRecord): Record<string, string | number> => ({ family: r.family, device_id: r.device_id });
  expect(rowsToMap(a.rows, ['time', 'family', 'device_id']), JSON.stringify(q)).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key }));
}

const SINCE = T0;
const UNTIL = T0 + 3 * HOUR;
const QUERIES: [Query, string][] = [
  [{ since: SINCE, until: UNTIL, bucket: HOUR, groupBy: [{ field: 'family' }, { field: 'device_id' }] }, 'rollup_1h'],
  [{ since: SINCE, until: UNTIL, bucket: 5 * MINUTE, groupBy: [{ field: 'family' }, { field: 'device_id' }] }, 'rollup_5m'],
  [{ since: SINCE, until: UNTIL, bucket: MINUTE, groupBy: [{ field: 'family' }, { field: 'device_id' }] }, 'rollup_1m'],
  [{ since: SINCE + 1, until: UNTIL, bucket: MINUTE, groupBy: [{ field: 'family' }, { field: 'device_id' }] }, 'raw'],
];

describe('DuckDB pending rollups', () => {
  it('answers exactly from every rollup while rows are pending (flushed before a rollup is read)', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'pending.duckdb'), rollupFlushRows: 1e9, rollupFlushMs: 0 });
    const flows = boundaryFlows(6000, 5);
    const seen: FlowRecord[] = [];
    for (let i = 0; i < flows.length; i += 1500) {
      const b = flows.slice(i, i + 1500);
      await store.append(b);
      seen.push(...b);
      // raw answers without rolling up; a rollup query rolls up first and sees every flow appended
      const before = statsOf(store).flushes;
      await expectOracle(store, seen, QUERIES[3]![0], 'raw');
      expect(statsOf(store).flushes).toBe(before);
      for (const [q, t] of QUERIES) await expectOracle(store, seen, q, t);
      expect(statsOf(store).flushes).toBe(before + 1);
    }
    await store.close();
  });

  it('several partial flushes by size, across bucket boundaries, add up exactly', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'partial.duckdb'), rollupFlushRows: 100, rollupFlushMs: 0 });
    const flows = boundaryFlows(5000, 11);
    for (let i = 0; i < flows.length; i += 333) await store.append(flows.slice(i, i + 333));
    expect(statsOf(store).flushes).toBeGreaterThanOrEqual(5);
    for (const [q, t] of QUERIES) await expectOracle(store, flows, q, t);
    const counts = new Map((await store.rowCounts!()).map((r) => [r.table, r.rows]));
    expect(counts.get('raw')).toBe(flows.length);
    await store.close();
  });

  it('the timer rolls pending rows up without a read', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'timer.duckdb'), rollupFlushRows: 1e9, rollupFlushMs: 20 });
    const flows = boundaryFlows(1000, 3);
    await store.append(flows);
    const deadline = Date.now() + 30_000;
    while (statsOf(store).flushes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(statsOf(store).flushes).toBeGreaterThan(0);
    const before = statsOf(store).flushes;
    for (const [q, t] of QUERIES) await expectOracle(store, flows, q, t);
    expect(statsOf(store).flushes).toBe(before); // nothing was left to roll up
    await store.close();
  });

  /** SQL literal of a record's field. */
  const lit = (f: FlowRecord, name: string): string => {
    const v = (f as unknown as Record<string, unknown>)[name];
    if (v instanceof Uint8Array) return `${BigInt('0x' + Buffer.from(v).toString('hex'))}::UHUGEINT`;
    return typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v);
  };
  const rawCols = Object.keys(emptyFlow());

  it('batches a crash left in raw only are rolled up when the file is opened again, exactly once', async () => {
    const file = path.join(dir, 'crash.duckdb');
    const first = boundaryFlows(2000, 21);
    let store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    await store.append(first.slice(0, 1000));
    await store.append(first.slice(1000));
    await store.close(); // rolled up
    // What a crash after an append's commit and before its roll-up leaves: rows of a batch numbered
    // after the last one rolled up, in raw only (written here with plain SQL, as the store would have).
    const lost = boundaryFlows(800, 22).map((f) => ({ ...f, device_id: 'crash', exporter_name: 'x' }));
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    const rolled = Number((await c.runAndReadAll(`SELECT value FROM v6scope_meta WHERE key = 'rolled_up_batch'`)).getRowsJS()[0]![0]);
    expect(rolled).toBe(2);
    await c.run('BEGIN TRANSACTION');
    for (const f of lost) await c.run(`INSERT INTO raw (${rawCols.map((x) => `"${x}"`).join(', ')}, v6scope_batch) VALUES (${rawCols.map((x) => lit(f, x)).join(', ')}, ${rolled + 1})`);
    await c.run('COMMIT');
    c.closeSync();
    inst.closeSync();
    store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    const all = [...first, ...lost];
    for (const [q, t] of QUERIES) await expectOracle(store, all, q, t);
    // new batches are numbered after the recovered one
    const more = boundaryFlows(300, 23).map((f) => ({ ...f, device_id: 'after' }));
    await store.append(more);
    all.push(...more);
    for (const [q, t] of QUERIES) await expectOracle(store, all, q, t);
    await store.close();
    // and exactly once: a second reopen does not roll them up again
    store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    for (const [q, t] of QUERIES) await expectOracle(store, all, q, t);
    await store.close();
  });

  it('a file from the version with a pending table: its rows are rolled up once, the table dropped', async () => {
    const file = path.join(dir, 'old-pending.duckdb');
    const first = boundaryFlows(1500, 31);
    let store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    await store.append(first);
    await store.close();
    // The earlier layout: raw without batch numbers, and rows waiting in v6scope_rollup_pending.
    const lost = boundaryFlows(600, 32).map((f) => ({ ...f, device_id: 'pending', exporter_name: 'y' }));
    const pendingCols = ['time_received', 'source_kind', 'exporter_addr', 'exporter_name', 'observation_domain', 'sampling_rate', 'family', 'proto', 'service_port', 'in_if', 'out_if', 'direction', 'device_id', 'src_asn', 'dst_asn', 'vpc_id', 'subnet_id', 'action', 'bytes', 'packets', 'flows'];
    let inst = await DuckDBInstance.create(file);
    let c = await inst.connect();
    await c.run(`ALTER TABLE raw DROP COLUMN v6scope_batch`);
    await c.run(`DELETE FROM v6scope_meta WHERE key = 'rolled_up_batch'`);
    await c.run(`CREATE TABLE v6scope_rollup_pending AS SELECT ${pendingCols.map((x) => `"${x}"`).join(', ')} FROM raw LIMIT 0`);
    await c.run('BEGIN TRANSACTION');
    for (const f of lost) {
      await c.run(`INSERT INTO raw (${rawCols.map((x) => `"${x}"`).join(', ')}) VALUES (${rawCols.map((x) => lit(f, x)).join(', ')})`);
      await c.run(`INSERT INTO v6scope_rollup_pending VALUES (${pendingCols.map((x) => lit(f, x)).join(', ')})`);
    }
    await c.run('COMMIT');
    c.closeSync();
    inst.closeSync();
    const all = [...first, ...lost];
    for (let k = 0; k < 2; k++) {
      store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
      for (const [q, t] of QUERIES) await expectOracle(store, all, q, t);
      await store.close();
    }
    inst = await DuckDBInstance.create(file);
    c = await inst.connect();
    const tables = (await c.runAndReadAll(`SELECT table_name FROM information_schema.tables`)).getRowsJS().map((r) => String(r[0]));
    c.closeSync();
    inst.closeSync();
    expect(tables).not.toContain('v6scope_rollup_pending');
  });

  it('a roll-up runs beside the appends: appends complete while it runs, and every answer stays exact', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'beside.duckdb'), rollupFlushRows: 100_000, rollupFlushMs: 0 });
    const big = boundaryFlows(150_000, 31);
    // Over the threshold (and under twice it): a roll-up of 150,000 rows starts on its own connection.
    await store.append(big);
    const small = boundaryFlows(200, 32).map((f) => ({ ...f, device_id: 'beside' }));
    await store.append(small.slice(0, 100));
    await store.append(small.slice(100));
    // Both small appends committed before the big roll-up finished (it used to hold them up).
    expect(statsOf(store).flushes).toBe(0);
    // Appends not awaited one by one, while roll-ups keep starting; past twice the threshold an
    // append waits for the running roll-up.
    const more = boundaryFlows(150_000, 33);
    await Promise.all([0, 1, 2].map((k) => store.append(more.slice(k * 50_000, (k + 1) * 50_000))));
    expect(statsOf(store).flushes).toBeGreaterThanOrEqual(1);
    const all = [...big, ...small, ...more];
    for (const [q, t] of QUERIES) await expectOracle(store, all, q, t);
    expect(statsOf(store).flushedRows).toBe(all.length);
    const counts = new Map((await store.rowCounts!()).map((r) => [r.table, r.rows]));
    expect(counts.get('raw')).toBe(all.length);
    await store.close();
    // Reopened: nothing left to roll up, the same answers.
    const again = await openDuckDBStore({ path: path.join(dir, 'beside.duckdb'), rollupFlushMs: 0 });
    expect(statsOf(again).flushes).toBe(0);
    for (const [q, t] of QUERIES) await expectOracle(again, all, q, t);
    await again.close();
  });

  it('a failed append leaves no raw rows behind, and its batch is never rolled up', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'failed.duckdb'), rollupFlushRows: 1e9, rollupFlushMs: 0 });
    const good = boundaryFlows(500, 8);
    await store.append(good);
    const bad = boundaryFlows(500, 9);
    (bad[250] as unknown as Record<string, unknown>).src_addr = null; // the appender throws mid-batch
    await expect(store.append(bad)).rejects.toThrow();
    for (const [q, t] of QUERIES) await expectOracle(store, good, q, t);
    await store.close();
  });
});

describe('rollup sums', () => {
  it('big sums round-trip through the store exactly', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'big.duckdb'), rollupFlushMs: 0 });
    const big = 2 ** 52 + 7;
    const flows = Array.from({ length: 6 }, (_, i) => ({ ...emptyFlow(), time_received: T0 + i, bytes: big, packets: 1 }));
    await store.append(flows);
    const a = await store.query({ since: T0, until: T0 + HOUR });
    expect(a.table).toBe('rollup_1h');
    // the rollup (summed by DuckDB into a UBIGINT) and raw (one row per flow) give the same sum
    const r = await store.query({ since: T0, until: T0 + HOUR + 1 });
    expect(r.table).toBe('raw');
    expect(a.rows[0]!.bytes).toBe(r.rows[0]!.bytes);
    expect(a.rows[0]!.packets).toBe(6);
    await store.close();
  });
});
