#!/usr/bin/env node
/**
 * DuckDB store alone, memory while `serve`'s appends arrive (issue 3): 122,880-row columnar
 * batches (30 collector batches of 4,096 IPFIX-like flows: 40 % IPv6, random addresses and
 * ports, the other columns constant as the collector sends them) appended at 300,000 flows/s
 * with up to two appends in flight, as the store writer does; every 2 s the process's RSS and
 * DuckDB's `duckdb_memory()` (MB; `+Nt`: in its temporary directory).
 *
 *   npm run build && node bench/duckdb-append-memory.mjs [SECONDS=30]
 *   LIMIT=67108864 (store.duckdb.memory_limit, bytes; default 64 MiB)  INFLIGHT=2 (appends in flight)
 *   SETTINGS='allocator_flush_threshold=4MB,checkpoint_threshold=16MB' (DuckDB settings, SET GLOBAL after open)
 *   ROLLUP_ROWS=N (roll up once N rows wait, no timer; 1e12: no roll-up until the close)
 *   DIST=/elsewhere/dist (another build)
 *
 * The collector threads' memory is not here: this isolates what DuckDB adds for the same appends.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.DIST ?? path.join(ROOT, 'dist');
const { openDuckDBStore } = await import(`${DIST}/store/duckdb/store.js`);
const { ColumnarBuilder } = await import(`${DIST}/collect/flow-batch.js`);
const { emptyFlow } = await import(`${DIST}/schema/fields.js`);
const SECONDS = Number(process.argv[2] ?? 30);
const RATE = 300_000;
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-duckmem-'));
const store = await openDuckDBStore({ path: path.join(dir, 'flows.duckdb'), memoryLimit: Number(process.env.LIMIT ?? 64 * 2 ** 20), ...(process.env.ROLLUP_ROWS ? { rollupFlushRows: Number(process.env.ROLLUP_ROWS), rollupFlushMs: 3_600_000 } : {}) });
// a connection of the store's instance for the settings and duckdb_memory()
const mon = await store.instance.connect();
for (const kv of (process.env.SETTINGS ?? '').split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  await mon.run(`SET GLOBAL ${k} = '${v}'`);
}

let seed = 1;
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const sets = [];
const UNIT = store.appendUnit; // rows per append: the store's row group
for (let s = 0; s < UNIT / 4096; s++) {
  const b = new ColumnarBuilder(4096);
  for (let i = 0; i < 4096; i++) {
    const r = emptyFlow();
    const v6 = rnd() < 0.4;
    const a = new Uint8Array(16);
    const d = new Uint8Array(16);
    if (v6) {
      a[0] = 0x20; a[1] = 0x01; d[0] = 0x26; d[1] = 0x06;
      for (let j = 2; j < 16; j++) { a[j] = rnd() * 256; d[j] = rnd() * 256; }
    } else {
      a[10] = a[11] = d[10] = d[11] = 255;
      for (let j = 12; j < 16; j++) { a[j] = rnd() * 256; d[j] = rnd() * 256; }
    }
    Object.assign(r, {
      family: v6 ? 6 : 4, source_kind: 'ipfix', exporter_addr: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]),
      src_addr: a, dst_addr: d, src_port: (rnd() * 65536) | 0, dst_port: 443, proto: 6, in_if: 1, out_if: 2,
      src_asn: 64500, dst_asn: (rnd() * 60000) | 0, sampling_rate: 1, flows: 1,
      bytes: (rnd() * 1e6) | 0, packets: (rnd() * 1000) | 0, time_start: 1.7e12 + i, time_end: 1.7e12 + i + 10, time_received: 1.7e12 + i,
    });
    b.push(r);
  }
  sets.push(b.take().batch);
}

const t0 = Date.now();
const mb = (x) => (Number(x) / 2 ** 20).toFixed(0);
const sample = async () => {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
  const rows = (await mon.runAndReadAll('SELECT tag, memory_usage_bytes, temporary_storage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0 OR temporary_storage_bytes > 0')).getRowsJS();
  console.log(`${((Date.now() - t0) / 1000).toFixed(0)}s rss=${mb(rss)} ${rows.map((r) => `${r[0]}=${mb(r[1])}${Number(r[2]) ? `+${mb(r[2])}t` : ''}`).join(' ')}`);
  return rss;
};
const rss = [];
const timer = setInterval(() => void sample().then((x) => rss.push(x)), 2000);
const inflight = [];
const period = (UNIT / RATE) * 1000;
let batches = 0;
let late = 0;
while (Date.now() - t0 < SECONDS * 1000) {
  const wait = t0 + batches * period - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  else late++;
  // the same rows again, at a later time
  for (const s of sets) s.cols[0].fill(1.7e12 + batches * 400);
  while (inflight.length >= Number(process.env.INFLIGHT ?? 2)) await inflight.shift();
  inflight.push(store.appendColumnar(sets.map((b) => ({ batch: b, from: 0, to: 4096 }))));
  batches++;
}
await Promise.all(inflight);
clearInterval(timer);
rss.sort((a, b) => a - b);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ seconds: SECONDS, batches, flows: batches * UNIT, lateBatches: late, cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(1), medianRssMB: +mb(rss[rss.length >> 1] ?? 0), peakRssMB: +mb(rss[rss.length - 1] ?? 0), settings: process.env.SETTINGS ?? '' }));
await store.close();
rmSync(dir, { recursive: true, force: true });
