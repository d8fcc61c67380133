/**
 * Overload: when the store is slower than the flows arriving, the writer keeps accepting flows,
 * drops whole batches beyond its bounded queue and counts them — through the real serve path
 * (UDP listener → decoder → writer) with a store made slow.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CollectorHealth } from '../../src/collect/collector.js';
import { startServe } from '../../src/collect/serve.js';
import { COLUMNAR_ROW_BYTES, RECORD_BYTES, StoreWriter } from '../../src/collect/writer.js';
import { decodeBatch, encodeBatch, type ColumnarBatch } from '../../src/collect/flow-batch.js';
import { LocalEnricher } from '../../src/enrich/local.js';
import { parseIP } from '../../src/net/ip.js';
import { parseConfig } from '../../src/config/index.js';
import { Direction, FIELDS, emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import type { FlowStore } from '../../src/store/store.js';
import { concat, ip4, ipfixMessage, ipfixTemplate, set, u32, u8, type Field } from '../sources/flow/encode.js';
import { sendFrom, waitFor } from './helpers.js';

/** A store whose appends take `delayMs` each (and fail when told to). */
function slowStore(delayMs: number, failEvery = 0): FlowStore & { appended: number; calls: number } {
  const s = {
    kind: 'slow',
    appended: 0,
    calls: 0,
    async append(batch: readonly FlowRecord[]) {
      s.calls++;
      await new Promise((r) => setTimeout(r, delayMs));
      if (failEvery && s.calls % failEvery === 0) throw new Error('disk full');
      s.appended += batch.length;
    },
    query: () => Promise.reject(new Error('no')),
    timeRange: async () => null,
    applyRetention: async () => undefined,
    tables: () => [],
    close: async () => undefined,
  };
  return s;
}

const flows = (n: number): FlowRecord[] => Array.from({ length: n }, () => emptyFlow());

describe('store writer', () => {
  it('batches by size or time, whichever first', async () => {
    const st = slowStore(0);
    const w = new StoreWriter({ store: st, maxFlows: 100, maxDelayMs: 50, maxPending: 4, warn: null });
    w.add(flows(250));
    await new Promise((r) => setTimeout(r, 10));
    expect(st.calls).toBe(2); // two full batches at once
    await new Promise((r) => setTimeout(r, 150));
    expect(st.calls).toBe(3); // the partial one after max_delay
    expect(st.appended).toBe(250);
    await w.close();
    expect(w.stats()).toMatchObject({ received: 250, stored: 250, droppedFlows: 0, batchesStored: 3 });
  });

  it("cuts batches at multiples of the store's append unit when maxFlows is at least one", async () => {
    const sizes = async (unit: number | undefined, maxFlows: number): Promise<number[]> => {
      const got: number[] = [];
      const st = { ...slowStore(0), appendUnit: unit, append: async (b: readonly FlowRecord[]) => void got.push(b.length) };
      const w = new StoreWriter({ store: st, maxFlows, maxDelayMs: 10_000, maxPending: 100, warn: null });
      w.add(flows(1000));
      await w.close();
      return got;
    };
    expect(await sizes(100, 250)).toEqual([200, 200, 200, 200, 200]); // rounded down to 2 units
    expect(await sizes(100, 100)).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
    expect(await sizes(100, 60)).toEqual([60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 40]); // below one unit: as given
    expect(await sizes(undefined, 250)).toEqual([250, 250, 250, 250]);
  });

  it('counts dropped batches and failed appends; never loses a flow silently', async () => {
    const st = slowStore(100, 3);
    const warnings: string[] = [];
    const w = new StoreWriter({ store: st, maxFlows: 10, maxDelayMs: 1000, maxPending: 2, warn: (l) => warnings.push(l) });
    for (let i = 0; i < 10; i++) w.add(flows(10)); // 10 batches at once: 1 writing + 2 queued, 7 dropped
    await w.close();
    const s = w.stats();
    expect(s.droppedBatches).toBe(7);
    expect(s.droppedFlows).toBe(70);
    expect(s.failedBatches).toBe(1); // the 3rd append fails
    expect(s.failedFlows).toBe(10);
    expect(s.stored).toBe(20);
    expect(s.stored + s.droppedFlows + s.failedFlows).toBe(s.received);
    expect(warnings.some((l) => /overloaded: dropped 1 batches/.test(l))).toBe(true);
    w.add(flows(5)); // after close: counted as dropped
    expect(w.stats().droppedFlows).toBe(75);
  });
});

describe('store writer: the queue is bounded in flows too', () => {
  const lan = (i: number): FlowRecord => ({ ...emptyFlow(), family: 4, src_addr: parseIP(`192.168.1.${i}`).addr, dst_addr: parseIP('203.0.113.5').addr, proto: 6, dst_port: 443 });
  /** Columnar batches of `n` LAN flows that note their id in `released` when released. */
  const releasedInto =
    (released: number[]) =>
    (id: number, n: number): ColumnarBatch => {
      const b = encodeBatch(Array.from({ length: n }, (_, i) => lan(i))).batch;
      b.release = () => released.push(id);
      return b;
    };
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('makes the next columnar batch ready while the current one is appended; order, content and failures stay per batch', async () => {
    const events: string[] = [];
    const seen: number[][] = [];
    let calls = 0;
    const store = {
      ...slowStore(0),
      async append(batch: readonly FlowRecord[]) {
        const k = ++calls;
        events.push(`append ${k} start`);
        seen.push(batch.map((r) => r.src_port));
        await new Promise((r) => setTimeout(r, 60));
        events.push(`append ${k} end`);
      },
    };
    let enriched = 0;
    const enricher = {
      enrich(b: FlowRecord[]) {
        enriched++;
        events.push(`enrich ${enriched}`);
        if (b[0]?.src_port === 200) throw new Error('enricher broke'); // batch 3, whenever it is tried
        for (const r of b) r.device_id = `d${r.src_port}`;
      },
    } as unknown as LocalEnricher;
    const w = new StoreWriter({ store, enricher, maxFlows: 100, maxDelayMs: 10_000, maxPending: 8, warn: null });
    const rows = Array.from({ length: 400 }, (_, i) => ({ ...emptyFlow(), src_port: i }));
    for (let i = 0; i < 400; i += 50) w.addColumnar(encodeBatch(rows.slice(i, i + 50)).batch); // 4 batches of 100 from 8 columnar pieces
    await w.close();
    // batch 2 was enriched while batch 1 was being appended (before "append 1 end")
    expect(events.indexOf('enrich 2')).toBeLessThan(events.indexOf('append 1 end'));
    expect(events.indexOf('enrich 2')).toBeGreaterThan(events.indexOf('append 1 start'));
    // batch 3's enricher failure fails batch 3 alone (it is retried at its turn, and fails there)
    expect(seen.map((b) => [b[0], b.length])).toEqual([
      [0, 100],
      [100, 100],
      [300, 100],
    ]);
    expect(w.stats()).toMatchObject({ received: 400, stored: 300, batchesStored: 3, failedBatches: 1, failedFlows: 100, lastError: 'enricher broke' });
  });

  it('drops (and counts) a batch that would take the waiting flows past maxPendingFlows', async () => {
    const st = slowStore(50);
    const w = new StoreWriter({ store: st, maxFlows: 10, maxDelayMs: 1000, maxPending: 100, maxPendingFlows: 25, warn: null });
    for (let i = 0; i < 6; i++) w.add(flows(10)); // 1 writing, 2 waiting (20 flows), the 3 others would pass 25
    await w.close();
    const s = w.stats();
    expect(s.droppedBatches).toBe(3);
    expect(s.stored).toBe(30);
    expect(s.stored + s.droppedFlows).toBe(s.received);
  });

  it('hands columnar batches to a store that takes them as they are, enriched, without records', async () => {
    const got: { ranges: number[][]; records: number } = { ranges: [], records: 0 };
    const dirs: number[] = [];
    const st = {
      ...slowStore(5),
      async append(batch: readonly FlowRecord[]) {
        got.records += batch.length;
      },
      async appendColumnar(ranges: readonly { batch: ColumnarBatch; from: number; to: number }[]) {
        await new Promise((r) => setTimeout(r, 5));
        for (const r of ranges) {
          got.ranges.push([r.from, r.to]);
          for (const f of decodeBatch(r.batch).slice(r.from, r.to)) dirs.push(f.direction);
        }
      },
    };
    const enricher = new LocalEnricher();
    const w = new StoreWriter({ store: st, enricher, maxFlows: 10, maxDelayMs: 1000, maxPending: 100, warn: null });
    const lan = (i: number): FlowRecord => ({ ...emptyFlow(), family: 4, src_addr: parseIP(`192.168.1.${i}`).addr, dst_addr: parseIP('203.0.113.5').addr, proto: 6, src_port: 40000, dst_port: 443 });
    w.addColumnar(encodeBatch(Array.from({ length: 15 }, (_, i) => lan(i))).batch); // 10 + 5 of the next batch
    w.addColumnar(encodeBatch(Array.from({ length: 5 }, (_, i) => lan(i))).batch);
    await w.close();
    expect(got.records).toBe(0);
    expect(got.ranges).toEqual([[0, 10], [10, 15], [0, 5]]);
    expect(dirs).toEqual(Array(20).fill(Direction.outbound));
    expect(w.stats()).toMatchObject({ received: 20, stored: 20, batchesStored: 2 });
    // records and columnar rows in one batch: it goes as records
    const w2 = new StoreWriter({ store: st, enricher, maxFlows: 10, maxDelayMs: 1000, maxPending: 100, warn: null });
    w2.add([lan(1)]);
    w2.addColumnar(encodeBatch([lan(2)]).batch);
    await w2.close();
    expect(got.records).toBe(2);
    expect(got.ranges.length).toBe(3);
  });

  it("keeps up to the store's appendDepth columnar appends outstanding, in order, and releases each batch once written, failed or dropped", async () => {
    /** A columnar store whose appends resolve (or fail) only when the test says so. */
    const gated = (depth: number | undefined) => {
      const calls: { n: number; settle: (ok: boolean) => void }[] = [];
      const st = {
        ...slowStore(0),
        appendDepth: depth,
        appendColumnar(ranges: readonly { batch: ColumnarBatch; from: number; to: number }[]) {
          // the columns are read while the append is outstanding: a released batch would show here
          const n = ranges.reduce((a, r) => a + decodeBatch(r.batch).slice(r.from, r.to).filter((f) => f.dst_port === 443).length, 0);
          return new Promise<void>((resolve, reject) => calls.push({ n, settle: (ok) => (ok ? resolve() : reject(new Error('disk full'))) }));
        },
      };
      return { st, calls };
    };
    const released: number[] = [];
    const batchOf = releasedInto(released);

    const { st, calls } = gated(2);
    const w = new StoreWriter({ store: st, maxFlows: 10, maxDelayMs: 10_000, maxPending: 2, warn: null });
    w.addColumnar(batchOf(1, 15)); // rows 0-9 → append A, rows 10-14 wait in the next batch
    w.addColumnar(batchOf(2, 5)); // completes append B (5 rows of 1, 5 of 2)
    w.addColumnar(batchOf(3, 10)); // append C: queued, not handed over (two outstanding)
    await tick();
    expect(calls.map((c) => c.n)).toEqual([10, 10]);
    expect(released).toEqual([]);
    calls[0]!.settle(true); // A written: batch 1 still has rows in B
    await tick();
    expect(calls.map((c) => c.n)).toEqual([10, 10, 10]); // C handed over once A is done
    expect(released).toEqual([]);
    calls[1]!.settle(false); // B failed: batches 1 and 2 are no longer read
    await tick();
    expect(released.sort()).toEqual([1, 2]);
    // added at once: D (4) and E (5) wait (maxPending 2) — D is handed over next to C — and the
    // batches 6 and 7 are dropped and released at once
    for (let id = 4; id <= 7; id++) w.addColumnar(batchOf(id, 10));
    await tick();
    expect(calls.length).toBe(4);
    expect(released.sort()).toEqual([1, 2, 6, 7]);
    const closing = w.close();
    for (let k = 2; k < 5; k++) {
      await waitFor(() => calls.length > k);
      calls[k]!.settle(true);
    }
    await closing;
    expect(released.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(w.stats()).toMatchObject({ received: 70, stored: 40, failedFlows: 10, droppedFlows: 20, batchesStored: 4, failedBatches: 1 });

    // a store without appendDepth: one append at a time
    const one = gated(undefined);
    const w1 = new StoreWriter({ store: one.st, maxFlows: 10, maxDelayMs: 10_000, maxPending: 8, warn: null });
    for (let id = 10; id < 13; id++) w1.addColumnar(batchOf(id, 10));
    await tick();
    expect(one.calls.length).toBe(1);
    one.calls[0]!.settle(true);
    await tick();
    expect(one.calls.length).toBe(2);
    const c1 = w1.close();
    one.calls[1]!.settle(true);
    await waitFor(() => one.calls.length === 3);
    one.calls[2]!.settle(true);
    await c1;
    expect(w1.stats()).toMatchObject({ stored: 30, batchesStored: 3 });
  });

  it('releases a batch once the store has copied its rows (onWritten), before the append is durable, and only once', async () => {
    const released: number[] = [];
    const batchOf = releasedInto(released);
    const calls: { written?: () => void; settle: (ok: boolean) => void }[] = [];
    const st = {
      ...slowStore(0),
      appendDepth: 2,
      appendColumnar(_ranges: readonly unknown[], onWritten?: () => void) {
        return new Promise<void>((resolve, reject) => calls.push({ written: onWritten, settle: (ok) => (ok ? resolve() : reject(new Error('disk full'))) }));
      },
    };
    const w = new StoreWriter({ store: st, maxFlows: 10, maxDelayMs: 10_000, maxPending: 4, warn: null });
    w.addColumnar(batchOf(1, 10));
    w.addColumnar(batchOf(2, 10));
    await tick();
    expect(calls.length).toBe(2);
    expect(calls.every((c) => typeof c.written === 'function')).toBe(true);
    expect(released).toEqual([]); // handed over, not copied yet
    calls[0]!.written!();
    expect(released).toEqual([1]); // copied: released although not durable
    calls[0]!.written!();
    calls[0]!.settle(true);
    await tick();
    expect(released).toEqual([1]); // once
    calls[1]!.written!();
    calls[1]!.settle(false); // copied, then the commit failed: released once, counted as failed
    const closing = w.close();
    await closing;
    expect(released).toEqual([1, 2]);
    expect(w.stats()).toMatchObject({ stored: 10, failedFlows: 10 });
  });

  it('bounds the waiting memory: records count RECORD_BYTES each, columnar rows the bytes of their varying columns', async () => {
    expect(COLUMNAR_ROW_BYTES).toBeGreaterThan(100);
    expect(COLUMNAR_ROW_BYTES * 4).toBeLessThan(RECORD_BYTES);
    const limit = 25 * RECORD_BYTES;
    // records: 1 writing, 2 waiting (20 records), a third batch would pass 25 records' worth
    const sr = slowStore(50);
    const wr = new StoreWriter({ store: sr, maxFlows: 10, maxDelayMs: 1000, maxPending: 100, maxPendingBytes: limit, warn: null });
    for (let i = 0; i < 6; i++) wr.add(flows(10));
    expect(wr.stats()).toMatchObject({ pending: 2, pendingFlows: 20, pendingBytes: 20 * RECORD_BYTES, droppedBatches: 3 });
    await wr.close();
    expect(wr.stats()).toMatchObject({ stored: 30, droppedFlows: 30, received: 60, pending: 0, pendingFlows: 0, pendingBytes: 0 });
    // the same flows columnar, with four columns that vary (time_received, src_port, bytes,
    // packets: 8 + 2 + 8 + 8 bytes a row); the others are constant, 16 bytes once per batch
    const varied = (n: number): FlowRecord[] => flows(n).map((r, i) => ({ ...r, time_received: 1e12 + i, src_port: i, bytes: 100 + i, packets: 1 + i }));
    const perBatch = (rows: number): number => rows * 26 + (FIELDS.length - 4) * 16;
    // 50 waiting take 5 * perBatch(10), under the same limit
    const sc = slowStore(50);
    const wc = new StoreWriter({ store: sc, maxFlows: 10, maxDelayMs: 1000, maxPending: 100, maxPendingBytes: limit, warn: null });
    for (let i = 0; i < 6; i++) wc.addColumnar(encodeBatch(varied(10)).batch);
    expect(wc.stats()).toMatchObject({ pending: 5, pendingFlows: 50, pendingBytes: 5 * perBatch(10), droppedBatches: 0 });
    // ... until they would pass it
    const most = Math.floor(limit / perBatch(10)) * 10;
    for (let i = 0; i < 200; i++) wc.addColumnar(encodeBatch(varied(10)).batch);
    const s = wc.stats();
    expect(s.pendingFlows).toBeLessThanOrEqual(most);
    expect(s.pendingFlows).toBeGreaterThan(most - 10);
    expect(s.droppedFlows).toBe(2060 - 10 - s.pendingFlows);
    await wc.close();
    expect(wc.stats()).toMatchObject({ stored: 2060 - wc.stats().droppedFlows, received: 2060 });
  });
});

describe('serve with a slow store', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-overload-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps receiving while the store is busy and counts the overload in exporters.json', async () => {
    const config = parseConfig(`
collectors:
  - listen: ["127.0.0.1:0"]
batch: { max_flows: 50, max_delay: 1s, max_pending: 2 }
state: { save_interval: 100ms }
`);
    const store = slowStore(300);
    const warnings: string[] = [];
    const h = await startServe({ config, dataDir: dir, log: () => undefined, warn: (l) => warnings.push(l), store });
    const port = h.collectors!.boundListeners[0]!.port;
    const fields: Field[] = [[8, 4], [12, 4], [4, 1], [1, 4], [2, 4]];
    const msgs: Uint8Array[] = [];
    for (let m = 0; m < 40; m++) {
      const recs = Array.from({ length: 25 }, (_, i) => concat(ip4(`10.0.${m}.${i + 1}`), ip4('192.0.2.9'), u8(17), u32(100), u32(2)));
      msgs.push(ipfixMessage({ exportTime: 1_767_268_800, seq: m * 25, domain: 1 }, set(2, ipfixTemplate(256, fields)), set(256, ...recs)));
    }
    await sendFrom(msgs, { host: '127.0.0.1', port });
    await waitFor(() => h.collectors!.health().totals.records === 1000, 10_000, 'all records decoded');
    const sum = await h.stop();
    const health = JSON.parse(readFileSync(path.join(dir, 'exporters.json'), 'utf8')) as CollectorHealth & { writer: { received: number; stored: number; droppedFlows: number; droppedBatches: number } };
    // Every datagram was received and decoded although the store was slow...
    expect(health.exporters[0]!.records).toBe(1000);
    expect(health.totals.socketDrops).toBe(0);
    // ...and what the store could not take is counted.
    expect(health.writer.received).toBe(1000);
    expect(health.writer.droppedFlows).toBeGreaterThan(0);
    expect(health.writer.stored + health.writer.droppedFlows).toBe(1000);
    expect(sum.droppedFlows).toBe(health.writer.droppedFlows);
    expect(store.appended).toBe(health.writer.stored);
    expect(warnings.some((l) => /overloaded/.test(l))).toBe(true);
  });
});
