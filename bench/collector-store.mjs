#!/usr/bin/env node
/**
 * The collector's store path alone (issue 3): the e2e benchmark's IPFIX records, decoded by
 * FlowDecoder, handed to the StoreWriter (enrichment + DuckDB store) as fast as it takes them.
 * No socket: this measures how many flows/s the store side can sustain on this machine.
 *
 *   npm run build && node bench/collector-store.mjs [flows=1000000] [batch=32768]
 *   V6SCOPE_DIST=/other/dist node bench/collector-store.mjs   (a build elsewhere, e.g. "before")
 *   V6SCOPE_CHECKPOINT=16MB ...                                (DuckDB checkpoint_threshold)
 *   V6SCOPE_DUCKDB_THREADS=1 ...                               (DuckDB threads; default: one per core)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.V6SCOPE_DIST ?? path.join(ROOT, 'dist');
const FLOWS = Number(process.argv[2] ?? 1_000_000);
const BATCH = Number(process.argv[3] ?? 32768);
const { FlowDecoder } = await import(path.join(DIST, 'sources/flow/index.js'));
const { openDuckDBStore } = await import(path.join(DIST, 'store/index.js'));
const { StoreWriter } = await import(path.join(DIST, 'collect/writer.js'));
const { LocalEnricher } = await import(path.join(DIST, 'enrich/local.js'));
const { templateMessage, dataMessage, RECS_PER } = await import('./ipfix-replay.mjs');

/** CPU seconds of the JavaScript (main) thread alone, from /proc (Linux; null elsewhere): DuckDB's own threads excluded. */
function mainThreadCpu() {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-store-bench-'));
try {
  const store = await openDuckDBStore({ path: path.join(dir, 'x.duckdb'), ...(process.env.V6SCOPE_DUCKDB_THREADS ? { threads: Number(process.env.V6SCOPE_DUCKDB_THREADS) } : {}), ...(process.env.V6SCOPE_CHECKPOINT ? { checkpointThreshold: process.env.V6SCOPE_CHECKPOINT } : {}) });
  const writer = new StoreWriter({ store, enricher: new LocalEnricher(), maxFlows: BATCH, maxDelayMs: 1000, maxPending: 4, maxPendingFlows: 4 * BATCH, warn: null });
  const dec = new FlowDecoder();
  const exporter = { addr: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]), port: 9999 };
  const tpl = templateMessage();
  dec.decode(tpl, exporter, Date.now());
  const pool = Array.from({ length: 1024 }, (_, k) => dataMessage(k));
  let decoded = 0;
  let k = 0;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const t0 = performance.now();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  while (decoded < FLOWS) {
    // Hand over what the writer can take; wait while its queue is full (no drops here: we measure its pace).
    while (writer.stats().pending >= 2) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 256 && decoded < FLOWS; i++) {
      const b = pool[k];
      k = (k + 1) % pool.length;
      b.writeUInt32BE((k * RECS_PER) >>> 0, 8);
      const recs = dec.decode(b, exporter, Date.now());
      decoded += recs.length;
      writer.add(recs);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    await new Promise((r) => setImmediate(r));
  }
  await writer.close();
  const rollup = store.rollupStats;
  await store.close(); // timed too: the last rollup flush and the checkpoint are part of the work
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpu();
  const s = writer.stats();
  const sec = (t1 - t0) / 1000;
  console.log(JSON.stringify({ flows: decoded, stored: s.stored, dropped: s.droppedFlows, seconds: Number(sec.toFixed(2)), flowsPerSecond: Math.round(s.stored / sec), cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)), cpuUsPerFlow: Number(((cpu.user + cpu.system) / s.stored).toFixed(1)), mainThreadCpuUsPerFlow: main0 === null || main1 === null ? null : Number((((main1 - main0) * 1e6) / s.stored).toFixed(1)), loadavg: os.loadavg()[0], appendMs: s.appendMs, slowestAppendMs: s.slowestAppendMs, peakRssMB: Math.round(peak / 1048576), rollup }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
