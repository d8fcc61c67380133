/**
 * The collector worker (serve's default): sockets and decoders in a worker thread, flows posted to
 * the main thread as columnar batches. Exactness against in-thread decoding, the columnar codec,
 * crash → restart with templates restored, the bounded hand-off's counting, and the stop flush.
 * The worker script is the built one (dist/, built by the test setup).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorSet, type CollectorHealth } from '../../src/collect/collector.js';
import { ColumnarBuilder, batchBytes, decodeBatch, encodeBatch, strides, type ColumnarBatch } from '../../src/collect/flow-batch.js';
import { StoreWriter } from '../../src/collect/writer.js';
import dgram from 'node:dgram';
import { startServe, type ServeHandle } from '../../src/collect/serve.js';
import type { WorkerCollectorSet } from '../../src/collect/worker-collector.js';
import { parseConfig, type Config } from '../../src/config/index.js';
import { LocalEnricher } from '../../src/enrich/local.js';
import { parseIP } from '../../src/net/ip.js';
import { FIELDS, FIELD_INDEX, emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import type { FlowStore } from '../../src/store/store.js';
import { concat, ip4, ip6, ipfixMessage, ipfixTemplate, set, u16, u32, u8, type Field } from '../sources/flow/encode.js';
import { sendFrom, waitFor } from './helpers.js';

/** A store that keeps what it is given (and can be made slow). */
function keepingStore(delayMs = 0): FlowStore & { rows: FlowRecord[] } {
  const s = {
    kind: 'keep',
    rows: [] as FlowRecord[],
    async append(batch: readonly FlowRecord[]) {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      s.rows.push(...batch);
    },
    query: () => Promise.reject(new Error('no')),
    timeRange: async () => null,
    applyRetention: async () => undefined,
    tables: () => [],
    close: async () => undefined,
  };
  return s;
}

// IPFIX: an IPv4 template (256) and an IPv6 one (257).
const F4: Field[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [6, 1], [10, 4], [14, 4], [1, 4], [2, 4]];
const F6: Field[] = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4]];
const templates = (seq: number): Uint8Array => ipfixMessage({ exportTime: 1_767_268_800, seq, domain: 7 }, set(2, ipfixTemplate(256, F4), ipfixTemplate(257, F6)));

/** Data datagrams m0..m0+count-1: 20 IPv4 + 5 IPv6 records each, every value distinct. */
function dataMessages(m0: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let m = m0; m < m0 + count; m++) {
    const r4 = Array.from({ length: 20 }, (_, i) =>
      concat(ip4(`10.${m >> 8}.${m & 255}.${i + 1}`), ip4(`198.51.100.${i}`), u16(1024 + i), u16(443), u8(6), u8(0x12), u32(m + 1), u32(i + 2), u32(1000 + m * 25 + i), u32(1 + i)),
    );
    const r6 = Array.from({ length: 5 }, (_, i) => concat(ip6(`2001:db8:${m.toString(16)}::${i + 1}`), ip6(`2001:db8:ffff::${i + 1}`), u16(5000 + i), u16(53), u8(17), u32(77 + m), u32(1)));
    out.push(ipfixMessage({ exportTime: 1_767_268_800, seq: m * 25, domain: 7 }, set(256, ...r4), set(257, ...r6)));
  }
  return out;
}

function config(extra = ''): Config {
  return parseConfig(`
collectors:
  - protocol: ipfix
    name: edge-1
    listen: ["127.0.0.1:0"]
local_prefixes: ["198.51.100.0/24"]
batch: { max_flows: 1000, max_delay: 50ms, max_pending: 64, max_pending_flows: 1000000 }
state: { save_interval: 100ms }
${extra}`);
}

/** The same datagrams decoded in this thread, named and enriched as serve does. */
function reference(cfg: Config, datagrams: Uint8Array[]): FlowRecord[] {
  const out: FlowRecord[] = [];
  const cs = new CollectorSet({ collectors: cfg.collectors, dataDir: null, onRecords: (r) => out.push(...r) });
  for (const d of datagrams) cs.onDatagram(d, { address: '127.0.0.1', port: 40000 }, null);
  for (const r of out) r.exporter_name = cfg.collectors[0]!.name;
  new LocalEnricher({ localPrefixes: cfg.local_prefixes }).enrich(out);
  return out;
}

const key = (r: FlowRecord): string => `${Buffer.from(r.src_addr).toString('hex')}/${r.src_port}/${r.bytes}`;
const plain = (r: FlowRecord): Record<string, unknown> => {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k !== 'time_received') o[k] = v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
  return o;
};

const workerOf = (h: ServeHandle): WorkerCollectorSet => h.collectors as WorkerCollectorSet;
const portOf = (h: ServeHandle): { host: string; port: number } => ({ host: '127.0.0.1', port: h.collectors!.boundListeners[0]!.port });

describe('columnar flow batches', () => {
  it('round-trip every field kind exactly (addresses, strings, 48-bit MACs, large counters)', () => {
    const POOL = Uint8Array.from({ length: 32 }, (_, j) => 0x20 + j * 7);
    const recs: FlowRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const r = emptyFlow();
      r.time_received = 1_767_268_800_123 + i;
      r.time_start = 1_767_268_700_000 + i;
      r.source_kind = i % 3 === 0 ? 'ipfix' : i % 3 === 1 ? 'sflow' : 'netflow9';
      r.exporter_addr = parseIP(i % 2 ? '192.0.2.1' : '2001:db8::1').addr;
      r.exporter_name = i % 5 === 0 ? '' : `router-${i % 4}`;
      r.family = i % 2 ? 4 : 6;
      r.src_addr = parseIP(i % 2 ? `10.0.${i >> 8}.${i & 255}` : `2001:db8::${i.toString(16)}`).addr;
      r.dst_addr = parseIP('2001:db8:ffff::1').addr;
      // a view into a larger buffer at an odd offset (decodeBatch's own addresses are such views)
      r.peer_addr = i % 3 ? POOL.subarray(i % 5, (i % 5) + 16) : r.src_addr;
      r.src_port = 65535 - i;
      r.proto = 6;
      r.in_if = 4_000_000_000 + i;
      r.src_mac = 0xfeedfacecafe - i;
      r.device_id = i % 7 ? `dev-${i % 11}` : '';
      r.dst_name = 'example.com';
      r.bytes = 2 ** 52 + i;
      r.packets = i;
      recs.push(r);
    }
    const back = decodeBatch(encodeBatch(recs).batch);
    expect(back.map(plain)).toEqual(recs.map(plain));
    expect(back.map((r) => r.time_received)).toEqual(recs.map((r) => r.time_received));
    expect(Object.keys(back[0]!)).toEqual(Object.keys(emptyFlow()));
  });

  it('a builder reuses the column buffers handed back; rows of the earlier batch never show', () => {
    const flow = (i: number, v6: boolean): FlowRecord => ({
      ...emptyFlow(),
      time_received: 1_767_268_800_000 + i,
      source_kind: 'ipfix',
      family: v6 ? 6 : 4,
      src_addr: parseIP(v6 ? `2001:db8::${(i + 1).toString(16)}` : `10.1.${i >> 8}.${i & 255}`).addr,
      dst_addr: parseIP('2001:db8:ffff::1').addr,
      src_port: i,
      device_id: i % 2 ? `dev-${i}` : '',
      bytes: 2 ** 40 + i,
      packets: i + 1,
    });
    const b = new ColumnarBuilder(64);
    const first = Array.from({ length: 64 }, (_, i) => flow(i, true));
    for (const r of first) b.push(r);
    const t1 = b.take();
    expect(decodeBatch(t1.batch).map(plain)).toEqual(first.map(plain));
    // six columns vary (time_received, src_addr, src_port, device_id, bytes, packets); the other FIELDS.length - 6
    // travel as one row each, in one shared buffer
    const varying = ['time_received', 'src_addr', 'src_port', 'device_id', 'bytes', 'packets'].map((n) => FIELD_INDEX[n as keyof typeof FIELD_INDEX]);
    const st = strides(t1.batch.cols);
    expect([...st.keys()].filter((k) => st[k] === 1)).toEqual([...varying].sort((x, y) => x - y));
    expect(batchBytes(t1.batch)).toEqual({ perRow: 8 + 16 + 2 + 4 + 8 + 8, once: (FIELDS.length - 6) * 16 });
    expect(t1.transfer.length).toBe(7);
    expect(t1.batch.cols[FIELD_INDEX.dst_addr]!.length).toBe(16);
    // handed back: the varying columns' buffers are kept, the shared one is not (another size)
    expect(b.recycle(t1.transfer)).toBe(6);
    // the batch after the one being filled (its arrays were chosen at the last take) fills the same
    // buffers, with fewer rows and other values: IPv4, where the constant columns of the first batch
    // (kept by the builder, zeroed) had IPv6 values
    b.push(first[1]!);
    const t2 = b.take();
    expect(t2.transfer.some((buf) => t1.transfer.includes(buf))).toBe(false);
    const second = Array.from({ length: 10 }, (_, i) => ({ ...flow(1000 + i, false), dst_addr: parseIP(`192.0.2.${i}`).addr, device_id: '' }));
    for (const r of second) b.push(r);
    const t3 = b.take();
    expect(t3.transfer.filter((buf) => t1.transfer.includes(buf)).length).toBeGreaterThan(0);
    expect(decodeBatch(t3.batch).map(plain)).toEqual(second.map(plain));
    // with nothing handed back, new buffers
    b.push(first[0]!);
    b.push(first[2]!);
    expect(b.take().transfer.some((buf) => t1.transfer.includes(buf))).toBe(false);
    // buffers of sizes no column of a builder has are refused (64 rows × 1, 2, 4, 8, 16 bytes are
    // no multiple of 48 rows' widths), a size one of its columns has is taken (64 × 8 = 32 × 16)
    expect(new ColumnarBuilder(48).recycle(t1.transfer)).toBe(0);
    expect(new ColumnarBuilder(32).recycle([new ArrayBuffer(64 * 8)])).toBe(1);
  });

  it('a column kept from a constant one starts from zeros for a filler that writes only some columns', () => {
    const b = new ColumnarBuilder(8);
    const fill = (rows: number, withPort: boolean): void => {
      const c = b.columns;
      for (let i = 0; i < rows; i++) {
        (c[FIELD_INDEX.bytes] as Float64Array)[b.n] = 1000 + i;
        if (withPort) c[FIELD_INDEX.dst_port]![b.n] = 443;
        b.n++;
      }
    };
    fill(8, true);
    const t1 = b.take();
    expect(t1.batch.cols[FIELD_INDEX.dst_port]!.length).toBe(1);
    expect(decodeBatch(t1.batch).map((r) => r.dst_port)).toEqual(Array(8).fill(443));
    // the same builder, dst_port not written: zeros, not the kept column's 443
    fill(5, false);
    const t2 = b.take();
    expect(decodeBatch(t2.batch).map((r) => [r.dst_port, r.bytes])).toEqual([0, 1, 2, 3, 4].map((i) => [0, 1000 + i]));
  });

  it('every column constant: the batch decodes and carries no per-row bytes', () => {
    const r = { ...emptyFlow(), source_kind: 'ipfix', family: 6 as const, src_addr: parseIP('2001:db8::1').addr, bytes: 2 ** 45, exporter_name: 'r1' };
    const t = encodeBatch(Array.from({ length: 100 }, () => r));
    expect(batchBytes(t.batch)).toEqual({ perRow: 0, once: FIELDS.length * 16 });
    expect(t.transfer.length).toBe(1);
    expect(t.transfer[0]!.byteLength).toBe(FIELDS.length * 16);
    expect(decodeBatch(t.batch).map(plain)).toEqual(Array.from({ length: 100 }, () => plain(r)));
  });
});

describe('store writer with columnar batches', () => {
  it('splits them at max_flows and turns them into the same records', async () => {
    const store = keepingStore();
    const w = new StoreWriter({ store, maxFlows: 100, maxDelayMs: 60_000, maxPending: 10, warn: null });
    const recs = Array.from({ length: 250 }, (_, i) => {
      const r = emptyFlow();
      r.bytes = i;
      r.exporter_name = `x${i % 3}`;
      return r;
    });
    w.addColumnar(encodeBatch(recs.slice(0, 130)).batch);
    w.add(recs.slice(130, 140));
    w.addColumnar(encodeBatch(recs.slice(140)).batch);
    expect(w.stats().filling).toBe(50);
    await w.close();
    expect(w.stats()).toMatchObject({ received: 250, stored: 250, batchesStored: 3, droppedFlows: 0 });
    expect(store.rows.map((r) => r.bytes).sort((a, b) => a - b)).toEqual(recs.map((r) => r.bytes));
    expect(store.rows.map(plain).sort((a, b) => (a.bytes as number) - (b.bytes as number))).toEqual(recs.map(plain));
  });
});

describe('serve with the collector worker', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-worker-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores exactly the flows sent over loopback (same records as in-thread decoding)', async () => {
    const cfg = config();
    const store = keepingStore();
    const data = path.join(dir, 'exact');
    const t0 = Date.now();
    const h = await startServe({ config: cfg, dataDir: data, log: () => undefined, warn: () => undefined, store, worker: { batchFlows: 64, stateIntervalMs: 50 } });
    expect(workerOf(h).health().worker?.running).toBe(true);
    const msgs = [templates(0), ...dataMessages(0, 120)];
    await sendFrom(msgs, portOf(h));
    await waitFor(() => h.collectors!.health().totals.records === 3000, 15_000, 'all records decoded');
    const sum = await h.stop();
    const t1 = Date.now();
    expect(sum.flowsStored).toBe(3000);
    expect(sum.droppedFlows).toBe(0);
    const want = reference(cfg, msgs).sort((a, b) => key(a).localeCompare(key(b)));
    const got = [...store.rows].sort((a, b) => key(a).localeCompare(key(b)));
    expect(got.length).toBe(want.length);
    expect(got.map(plain)).toEqual(want.map(plain));
    for (const r of got) {
      expect(r.time_received).toBeGreaterThanOrEqual(t0);
      expect(r.time_received).toBeLessThanOrEqual(t1);
    }
    // Health and templates are persisted from the worker's reports.
    const health = JSON.parse(readFileSync(path.join(data, 'exporters.json'), 'utf8')) as CollectorHealth;
    expect(health.exporters[0]!.records).toBe(3000);
    expect(health.exporters[0]!.templatesKnown).toBe(2);
    expect(health.exporters[0]!.sequenceMissing).toBe(0);
    expect(health.totals.socketDrops).toBe(0);
    expect(health.listeners[0]!.datagrams).toBe(121);
    expect(health.worker).toMatchObject({ restarts: 0, droppedFlows: 0, postedFlows: 3000 });
    expect((health.writer as { stored: number }).stored).toBe(3000);
    const snap = JSON.parse(readFileSync(path.join(data, 'templates.json'), 'utf8')) as { exporters: { domains: { templates: unknown[] }[] }[] };
    expect(snap.exporters[0]!.domains[0]!.templates).toHaveLength(2);
  });

  it('a columnar store: each batch is handed back to the worker once written, and its buffers reused without a trace of old rows', async () => {
    const cfg = config();
    const seen: ColumnarBatch[] = [];
    const rows: FlowRecord[] = [];
    const store = {
      ...keepingStore(),
      appendDepth: 2,
      async appendColumnar(ranges: readonly { batch: ColumnarBatch; from: number; to: number }[]) {
        await new Promise((r) => setTimeout(r, 2));
        for (const r of ranges) {
          seen.push(r.batch);
          // copies: the batch's buffers go back to the worker once this append resolves
          for (const f of decodeBatch(r.batch).slice(r.from, r.to)) rows.push({ ...f, src_addr: f.src_addr.slice(), dst_addr: f.dst_addr.slice(), exporter_addr: f.exporter_addr.slice(), peer_addr: f.peer_addr.slice() });
        }
      },
    };
    const h = await startServe({ config: cfg, dataDir: path.join(dir, 'recycle'), log: () => undefined, warn: () => undefined, store, worker: { batchFlows: 64, stateIntervalMs: 50 } });
    // in rounds, so that the worker fills buffers handed back from the earlier rounds
    const msgs = [templates(0), ...dataMessages(0, 160)];
    await sendFrom(msgs.slice(0, 41), portOf(h));
    let early = new Set<ColumnarBatch>();
    for (let k = 1; k < 4; k++) {
      await waitFor(() => rows.length === 1000 * k, 15_000, `round ${k} stored`);
      early = new Set(seen);
      await sendFrom(msgs.slice(1 + 40 * k, 41 + 40 * k), portOf(h));
    }
    await waitFor(() => h.collectors!.health().totals.records === 4000, 15_000, 'all records decoded');
    const sum = await h.stop();
    expect(sum.flowsStored).toBe(4000);
    const want = reference(cfg, msgs).sort((a, b) => key(a).localeCompare(key(b)));
    const got = [...rows].sort((a, b) => key(a).localeCompare(key(b)));
    expect(got.map(plain)).toEqual(want.map(plain));
    // the batches written before the last round went back: their buffers are detached on this side
    // (transferred to the worker); those released once the worker had stopped are left to the GC
    expect(early.size).toBeGreaterThan(40);
    expect([...early].filter((b) => b.cols.every((c) => c.buffer.byteLength === 0)).length).toBe(early.size);
  });

  it('a crashed worker is reported, counted and restarted on the same port with its templates', async () => {
    const cfg = config();
    const store = keepingStore();
    const warnings: string[] = [];
    const data = path.join(dir, 'crash');
    const h = await startServe({ config: cfg, dataDir: data, log: () => undefined, warn: (l) => warnings.push(l), store, worker: { stateIntervalMs: 50, restartDelayMs: 50 } });
    const to = portOf(h);
    await sendFrom([templates(0), ...dataMessages(0, 10)], to);
    await waitFor(() => store.rows.length === 250, 15_000, 'first flows stored');
    // The snapshot the main thread holds has the templates once health says so (same report).
    await waitFor(() => h.collectors!.health().exporters.some((e) => e.templatesKnown === 2), 10_000, 'templates reported');
    workerOf(h).crashWorkerForTest();
    await waitFor(() => workerOf(h).workerStats().restarts === 1 && workerOf(h).workerStats().running, 15_000, 'worker restarted');
    expect(warnings.some((l) => /collector worker crashed/.test(l))).toBe(true);
    expect(h.collectors!.boundListeners[0]!.port).toBe(to.port);
    // Data only (no templates resent): decoded with the templates restored from the snapshot.
    await sendFrom(dataMessages(10, 10), to);
    await waitFor(() => store.rows.length === 500, 15_000, 'flows after the restart stored');
    await h.stop();
    const health = JSON.parse(readFileSync(path.join(data, 'exporters.json'), 'utf8')) as CollectorHealth;
    expect(health.worker).toMatchObject({ restarts: 1, running: false });
    expect(health.worker!.lastCrash).toMatch(/crash requested/);
    expect(health.exporters[0]!.errors).toMatchObject({ 'unknown-template': 0 });
    const srcs = new Set(store.rows.map((r) => Buffer.from(r.src_addr).toString('hex')));
    expect(srcs.size).toBe(500);
  });

  it('overload of the hand-off is counted as writer drops, never silent', async () => {
    const store = keepingStore();
    const data = path.join(dir, 'handoff');
    // maxInFlightFlows 0: every full batch the worker would post is dropped (only the stop flush goes through).
    const h = await startServe({ config: config(), dataDir: data, log: () => undefined, warn: () => undefined, store, worker: { batchFlows: 25, batchDelayMs: 60_000, maxInFlightFlows: 0, stateIntervalMs: 50 } });
    await sendFrom([templates(0), ...dataMessages(0, 40)], portOf(h));
    await waitFor(() => h.collectors!.health().totals.records === 1000, 15_000, 'all records decoded');
    await waitFor(() => h.writer.stats().droppedFlows === 1000, 10_000, 'drops reported');
    const sum = await h.stop();
    const health = JSON.parse(readFileSync(path.join(data, 'exporters.json'), 'utf8')) as CollectorHealth & { writer: { received: number; stored: number; droppedFlows: number; droppedBatches: number } };
    expect(health.worker).toMatchObject({ droppedFlows: 1000, droppedBatches: 40, postedFlows: 0 });
    expect(health.writer).toMatchObject({ received: 1000, stored: 0, droppedFlows: 1000, droppedBatches: 40 });
    expect(sum.droppedFlows).toBe(1000);
    expect(store.rows).toHaveLength(0);
  });

  it('stop flushes every flow the worker accepted, even a batch still filling', async () => {
    const store = keepingStore(100);
    const data = path.join(dir, 'flush');
    // Batches never fill nor time out in the worker: everything is still in it when stop() comes.
    const h = await startServe({ config: config(), dataDir: data, log: () => undefined, warn: () => undefined, store, worker: { batchFlows: 1_000_000, batchDelayMs: 600_000, stateIntervalMs: 50 } });
    await sendFrom([templates(0), ...dataMessages(0, 80)], portOf(h));
    await waitFor(() => h.collectors!.health().totals.records === 2000, 15_000, 'all records decoded');
    expect(store.rows).toHaveLength(0);
    const sum = await h.stop();
    expect(sum.flowsStored).toBe(2000);
    expect(sum.droppedFlows).toBe(0);
    expect(store.rows).toHaveLength(2000);
    expect(existsSync(path.join(data, 'templates.json'))).toBe(true);
  });

  it('reports a port in use as before (the worker could not bind)', async () => {
    const busy = dgram.createSocket('udp4');
    await new Promise<void>((r) => busy.bind(0, '127.0.0.1', r));
    const port = busy.address().port;
    const cfg = parseConfig(`collectors:\n  - listen: ["127.0.0.1:${port}"]\n`);
    try {
      await expect(startServe({ config: cfg, dataDir: path.join(dir, 'busy'), log: () => undefined, warn: () => undefined, store: keepingStore() })).rejects.toThrow(
        `cannot listen on 127.0.0.1:${port} (udp): address already in use`,
      );
    } finally {
      busy.close();
    }
  });

  it('can still run the collectors in this thread', async () => {
    const store = keepingStore();
    const h = await startServe({ config: config(), dataDir: path.join(dir, 'main'), log: () => undefined, warn: () => undefined, store, collectorThread: 'main' });
    expect(h.collectors).toBeInstanceOf(CollectorSet);
    await sendFrom([templates(0), ...dataMessages(0, 4)], portOf(h));
    await waitFor(() => h.collectors!.health().totals.records === 100, 10_000, 'records decoded');
    expect((await h.stop()).flowsStored).toBe(100);
  });
});
