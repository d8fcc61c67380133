#!/usr/bin/env node
/**
 * `FlowStore.append` of the DuckDB store alone: pre-built FlowRecords (collector-like: IPFIX,
 * 60 % IPv6, 4 exporters, 500 devices, 20,000 peers, DNS names for a third) appended in batches,
 * one after another; no decode, no enrichment, no writer. Timed to the store's close (the last
 * rollup flush and the checkpoint included). CPU is the process's, DuckDB's threads included.
 *
 *   npm run build && node bench/store-append.mjs [flows=393216] [batch=65536]
 *   V6SCOPE_DIST=/other/dist ...              (a build elsewhere, e.g. "before")
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.V6SCOPE_DIST ?? path.join(ROOT, 'dist');
const FLOWS = Number(process.argv[2] ?? 393_216);
const BATCH = Number(process.argv[3] ?? 65_536);
const { openDuckDBStore } = await import(path.join(DIST, 'store/index.js'));
const { emptyFlow } = await import(path.join(DIST, 'schema/fields.js'));

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const v4 = (a, b, c, d) => new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, a, b, c, d]);
const v6 = (k) => { const x = new Uint8Array(16); x.set([0x20, 0x01, 0x0d, 0xb8, k >> 8, k & 255]); x[15] = k & 255; x[14] = (k >> 8) & 255; return x; };
const exporters = [0, 1, 2, 3].map((i) => ({ addr: v4(10, 0, 0, i + 1), name: `router-${i}` }));
const peers4 = Array.from({ length: 8000 }, (_, i) => v4(198, 51, (i >> 8) & 255, i & 255));
const peers6 = Array.from({ length: 12000 }, (_, i) => v6(i + 1));
const POOL = Math.min(FLOWS, 131_072);
const T0 = Date.UTC(2026, 11, 1);
const pool = [];
for (let i = 0; i < POOL; i++) {
  const six = rnd() < 0.6;
  const ex = exporters[i & 3];
  const peer = six ? peers6[Math.floor(rnd() * peers6.length)] : peers4[Math.floor(rnd() * peers4.length)];
  const dev = Math.floor(rnd() * 500);
  const t = T0 + Math.floor(i * 2);
  pool.push({
    ...emptyFlow(),
    time_received: t, time_start: t - Math.floor(rnd() * 60_000), time_end: t,
    source_kind: 'ipfix', exporter_addr: ex.addr, exporter_name: ex.name, observation_domain: 1, sampling_rate: 1,
    family: six ? 6 : 4, src_addr: six ? v6(60000 + dev) : v4(192, 168, dev >> 8, dev & 255), dst_addr: peer, peer_addr: peer,
    src_port: 30000 + Math.floor(rnd() * 30000), dst_port: [443, 80, 53, 123][i & 3], proto: i % 5 ? 6 : 17, service_port: [443, 80, 53, 123][i & 3],
    tcp_flags: 27, in_if: 1 + (i & 7), out_if: 9, direction: 2, device_id: `dev-${dev}`, dst_name: i % 3 ? '' : `host${i % 997}.example.com`,
    src_asn: 64512, dst_asn: 15169 + (i % 50), bytes: 40 + Math.floor(rnd() * 1_000_000), packets: 1 + Math.floor(rnd() * 1000), flows: 1,
  });
}

/** CPU seconds of the JavaScript (main) thread alone, from /proc (Linux; null elsewhere): DuckDB's own threads excluded. */
function mainThreadCpu() {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-append-bench-'));
try {
  const store = await openDuckDBStore({ path: path.join(dir, 'x.duckdb') });
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpu();
  const t0 = performance.now();
  let sent = 0;
  let k = 0;
  while (sent < FLOWS) {
    const n = Math.min(BATCH, FLOWS - sent);
    const batch = [];
    for (let i = 0; i < n; i++) batch.push(pool[(k + i) % POOL]);
    k = (k + n) % POOL;
    await store.append(batch);
    sent += n;
  }
  const tAppend = performance.now();
  const cpuAppend = process.cpuUsage(cpu0);
  const rows = (await store.rowCounts()).find((r) => r.table === 'raw').rows;
  await store.close();
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const main1 = mainThreadCpu();
  if (rows !== FLOWS) throw new Error(`raw holds ${rows} rows, sent ${FLOWS}`);
  const us = (c) => Number(((c.user + c.system) / FLOWS).toFixed(1));
  console.log(JSON.stringify({
    flows: FLOWS, batch: BATCH,
    appendSeconds: Number(((tAppend - t0) / 1000).toFixed(2)), appendFlowsPerSecond: Math.round(FLOWS / ((tAppend - t0) / 1000)), appendCpuUsPerFlow: us(cpuAppend),
    totalSeconds: Number(((t1 - t0) / 1000).toFixed(2)), flowsPerSecond: Math.round(FLOWS / ((t1 - t0) / 1000)), cpuUsPerFlow: us(cpu),
    mainThreadCpuUsPerFlow: main0 === null || main1 === null ? null : Number((((main1 - main0) * 1e6) / FLOWS).toFixed(1)),
    loadavg: os.loadavg()[0], peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), rollup: store.rollupStats,
  }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
