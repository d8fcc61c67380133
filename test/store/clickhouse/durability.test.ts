/**
 * Durability of the ClickHouse store against a real clickhouse-server that is killed and started
 * again: batches spool to disk while it is down and replay in order when it is back, also after a
 * restart of v6scope; nothing acknowledged is lost and nothing is inserted twice (batch ids checked
 * before every replay). Every flow carries a unique time_start, so "exactly once" is checked row by
 * row (count() = uniqExact(time_start) = flows sent), and the rollups (fed by the materialized
 * views, repaired from raw after a crash in the middle of an INSERT) must hold each flow once too.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELDS, type FlowRecord } from '../../../src/schema/fields.js';
import { encodeRows, type ColumnDef } from '../../../src/store/clickhouse/format.js';
import { DiskSpool, SpoolFullError } from '../../../src/store/clickhouse/spool.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../../src/store/clickhouse/store.js';
import { makeFlows, SPAN, T0 } from '../oracle.js';
import { haveClickHouse, startClickHouse, type ClickHouseServer } from './server.js';

const available = haveClickHouse(); // throws under CI when the server is missing
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-durable-'));
let server: ClickHouseServer | undefined;

beforeAll(async () => {
  if (available) server = await startClickHouse();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Flows whose time_start is unique (0, 1, 2, ... from `first`): the identity of each flow. */
function uniqueFlows(n: number, seed: number, first: number): FlowRecord[] {
  return makeFlows(n, seed).map((f, i) => ({ ...f, time_start: first + i }));
}

async function sql(query: string, database: string): Promise<string[][]> {
  const r = await fetch(`${server!.url}/?database=${database}`, { method: 'POST', body: query });
  const t = await r.text();
  if (!r.ok) throw new Error(t);
  return t.trim().split('\n').map((l) => l.split('\t'));
}

/**
 * Every flow exactly once in raw, and in the rollups. When ClickHouse was SIGKILLed in the middle
 * of an INSERT, 18.16 may have written the raw part of the batch in flight without (all of) the
 * materialized views' parts; the replay finds that batch already in raw and rebuilds its rollup
 * buckets from raw (docs/clickhouse.md, "Rollup repair"), so the rollups must be exact as well.
 */
async function expectExactlyOnce(store: ClickHouseFlowStore, db: string, flows: readonly FlowRecord[]): Promise<void> {
  const [[count, uniq, minStart, maxStart]] = (await sql('SELECT count(), uniqExact(time_start), min(time_start), max(time_start) FROM raw', db)) as [string[]];
  expect({ count: Number(count), uniq: Number(uniq) }).toEqual({ count: flows.length, uniq: flows.length });
  expect([Number(minStart), Number(maxStart)]).toEqual([flows.reduce((a, f) => Math.min(a, f.time_start), Infinity), flows.reduce((a, f) => Math.max(a, f.time_start), -Infinity)]);
  const want = { bytes: flows.reduce((a, f) => a + f.bytes, 0), packets: flows.reduce((a, f) => a + f.packets, 0), flows: flows.length };
  for (const [bucket, table] of [[undefined, 'rollup_1h'], [60_000, 'rollup_1m'], [300_000, 'rollup_5m'], [3_600_000, 'rollup_1h']] as const) {
    const r = await store.query({ since: T0, until: T0 + SPAN, ...(bucket ? { bucket } : {}) });
    expect(r.table).toBe(table);
    const got = { bytes: 0, packets: 0, flows: 0 };
    for (const row of r.rows) for (const m of ['bytes', 'packets', 'flows'] as const) got[m] += row[m] as number;
    expect(got, `${table}${bucket ? ` by ${bucket} ms` : ''}`).toEqual(want);
  }
  // Bucket by bucket, every rollup equals raw (what a repair would find: nothing).
  const check = await store.repair();
  expect(check.rebuilt, JSON.stringify(check.mismatched.slice(0, 3))).toBe(0);
}

describe.skipIf(!available)('ClickHouse store durability', () => {
  it('ClickHouse killed during a sustained ingest, down for 30 s, started again: every flow exactly once', async () => {
    const db = 'v6_outage';
    const spoolDir = path.join(dir, 'spool-outage');
    const store = await openClickHouseStore({ url: server!.url, database: db, spool: { dir: spoolDir, retryMinMs: 100, retryMaxMs: 1000 }, requestTimeoutMs: 20_000 });
    const sent: FlowRecord[] = [];
    let stop = false;
    let maxDepth = 0;
    let seq = 0;
    const producer = (async () => {
      while (!stop) {
        const batch = uniqueFlows(1000, 1000 + seq, seq * 1000);
        seq++;
        await store.append(batch); // resolves = acknowledged (in ClickHouse or fsynced in the spool)
        sent.push(...batch);
        maxDepth = Math.max(maxDepth, store.spoolStatus()!.batches);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const beforeKill = sent.length;
    await server!.kill('SIGKILL');
    const downAt = Date.now();
    await new Promise((r) => setTimeout(r, 31_000));
    const duringOutage = sent.length - beforeKill;
    expect(store.spoolStatus()!.batches).toBeGreaterThan(0);
    expect(store.spoolStatus()!.lastError).toBeTruthy();
    await server!.restart();
    const upAfter = Date.now() - downAt;
    await new Promise((r) => setTimeout(r, 3000)); // sending goes on while the spool drains
    stop = true;
    await producer;
    await store.flush(60_000);
    expect(store.spoolStatus()).toMatchObject({ batches: 0, bytes: 0, quarantined: 0 });
    expect(upAfter).toBeGreaterThanOrEqual(30_000);
    expect(beforeKill).toBeGreaterThan(0);
    expect(duringOutage).toBeGreaterThan(100_000); // kept sending (and acknowledging) while it was down
    expect(maxDepth).toBeGreaterThan(100);
    await expectExactlyOnce(store, db, sent);
    await store.close();
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.v6spool'))).toEqual([]);
  }, 120_000);

  it('batches spooled while ClickHouse is down survive a restart of v6scope (opened while down, too) and are replayed', async () => {
    const db = 'v6_restart';
    const spoolDir = path.join(dir, 'spool-restart');
    await server!.kill('SIGKILL');
    // v6scope starts while ClickHouse is down: the store opens, batches spool
    const a = await openClickHouseStore({ url: server!.url, database: db, spool: { dir: spoolDir, retryMinMs: 100, retryMaxMs: 500 } });
    const flows = uniqueFlows(5000, 77, 0);
    for (let i = 0; i < flows.length; i += 500) await a.append(flows.slice(i, i + 500));
    expect(a.spoolStatus()!.rows).toBe(flows.length);
    await a.close(); // v6scope stops with batches in the spool
    await server!.restart();
    const b = await openClickHouseStore({ url: server!.url, database: db, spool: { dir: spoolDir, retryMinMs: 100, retryMaxMs: 500 } });
    await b.flush(30_000);
    await expectExactlyOnce(b, db, flows);
    expect(readdirSync(spoolDir).filter((f) => f.endsWith('.v6spool'))).toEqual([]);
    await b.close();
  }, 120_000);

  it('a spooled batch that did land (its answer was lost) is not inserted again; a partial one is quarantined', async () => {
    const db = 'v6_dedup';
    const spoolDir = path.join(dir, 'spool-dedup');
    let s = await openClickHouseStore({ url: server!.url, database: db });
    await s.close();
    const cols = [...FIELDS.map((f) => `\`${f.name}\``), '`batch_id`'].join(', ');
    const insert = async (rows: readonly FlowRecord[], id: Uint8Array): Promise<void> => {
      const r = await fetch(`${server!.url}/?database=${db}&query=${encodeURIComponent(`INSERT INTO raw (${cols}) FORMAT RowBinary`)}`, {
        method: 'POST',
        body: encodeRows(FIELDS as readonly ColumnDef[], rows as unknown as Record<string, unknown>[], id),
      });
      if (!r.ok) throw new Error(await r.text());
    };
    const day = (f: FlowRecord): number => Math.floor(f.time_received / 86_400_000);
    const all = uniqueFlows(3000, 5, 0);
    const d0 = day(all[0]!);
    const landed = all.filter((f) => day(f) === d0);
    const fresh = uniqueFlows(2000, 6, 10_000);
    const spool = DiskSpool.open({ dir: spoolDir });
    const item = (rows: readonly FlowRecord[], id: Uint8Array) => ({
      table: 'raw',
      batchId: id,
      rows: rows.length,
      minTime: Math.min(...rows.map((f) => f.time_received)),
      maxTime: Math.max(...rows.map((f) => f.time_received)),
    });
    const idLanded = new Uint8Array(16).fill(1);
    const idPartial = new Uint8Array(16).fill(2);
    const idFresh = new Uint8Array(16).fill(3);
    const partial = fresh.filter((f) => day(f) === d0);
    const freshRest = fresh.filter((f) => day(f) !== d0);
    // 1. landed: in ClickHouse and in the spool (the INSERT went through, its answer was lost)
    await insert(landed, idLanded);
    spool.push(item(landed, idLanded), encodeRows(FIELDS as readonly ColumnDef[], landed as unknown as Record<string, unknown>[], idLanded));
    // 2. partial: only half of its rows are in ClickHouse (cannot happen with one single-part INSERT)
    await insert(partial.slice(0, 10), idPartial);
    spool.push(item(partial, idPartial), encodeRows(FIELDS as readonly ColumnDef[], partial as unknown as Record<string, unknown>[], idPartial));
    // 3. fresh: only in the spool
    spool.push(item(freshRest, idFresh), encodeRows(FIELDS as readonly ColumnDef[], freshRest as unknown as Record<string, unknown>[], idFresh));
    expect(spool.depth().batches).toBe(3);

    const warnings: string[] = [];
    const onWarn = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarn);
    s = await openClickHouseStore({ url: server!.url, database: db, spool: { dir: spoolDir, retryMinMs: 50 } });
    await s.flush(30_000);
    process.off('warning', onWarn);
    expect(s.spoolStatus()).toMatchObject({ batches: 0, quarantined: 1 });
    const [[count, uniq]] = (await sql('SELECT count(), uniqExact(time_start) FROM raw', db)) as [string[]];
    expect(Number(count)).toBe(landed.length + 10 + freshRest.length);
    expect(Number(uniq)).toBe(landed.length + 10 + freshRest.length);
    await s.close();
  }, 60_000);

  it('the spool is bounded: a batch that does not fit is refused (not acknowledged)', async () => {
    await server!.kill('SIGKILL');
    try {
      const flows = uniqueFlows(4000, 9, 0).map((f) => ({ ...f, time_received: T0 + f.time_start })); // one day
      // Room for two batches of 1000 flows, not three (the size follows the schema's columns).
      const batchBytes = encodeRows(FIELDS as readonly ColumnDef[], flows.slice(0, 1000) as unknown as Record<string, unknown>[], new Uint8Array(16)).length + 200;
      const s = await openClickHouseStore({ url: server!.url, database: 'v6_full', spool: { dir: path.join(dir, 'spool-full'), maxBytes: Math.round(2.5 * batchBytes), retryMinMs: 1000 } });
      await s.append(flows.slice(0, 1000));
      await s.append(flows.slice(1000, 2000));
      await expect(s.append(flows.slice(2000, 3000))).rejects.toBeInstanceOf(SpoolFullError);
      expect(s.spoolStatus()).toMatchObject({ batches: 2, rows: 2000 });
      await s.close();
    } finally {
      await server!.restart();
    }
  }, 60_000);
});
