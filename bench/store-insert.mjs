#!/usr/bin/env node
/**
 * Store insert rate and share-series latency: ClickHouse (one local clickhouse-server, started
 * privately on loopback like the tests do) next to the embedded DuckDB store, in the same run.
 *
 * Usage: npm run build && node bench/store-insert.mjs [flows=10000000] [batch=100000]
 *
 * Flows: deterministic synthetic records over 7 days (60 % IPv6, 50 devices, 2,000 peers, TCP/UDP),
 * generated batch by batch outside the timed region. Timed: the sustained insert rate (all batches
 * through FlowStore.append, one after another, as the ingest pipeline does), then the 7-day IPv6
 * share series (computeShare with a 1-hour bucket: the hourly rollup answers) — median of 5 runs
 * after one warm-up. Both stores get exactly the same batches; the totals are compared.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { computeShare } from '../dist/analysis/share.js';
import { emptyFlow } from '../dist/schema/fields.js';
import { openClickHouseStore } from '../dist/store/clickhouse/store.js';
import { openDuckDBStore } from '../dist/store/duckdb/store.js';

const N = Number(process.argv[2] ?? 10_000_000);
const BATCH = Number(process.argv[3] ?? 100_000);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 2);
const SPAN = 7 * DAY;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startClickHouse(dir) {
  const bin = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'].find((p) => existsSync(p)) ?? spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('clickhouse-server not found');
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(path.join(dir, sub), { recursive: true });
  const http = await freePort();
  const tcp = await freePort();
  writeFileSync(path.join(dir, 'users.xml'), `<?xml version="1.0"?><yandex><profiles><default></default></profiles><users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users><quotas><default></default></quotas></yandex>`);
  writeFileSync(
    path.join(dir, 'config.xml'),
    `<?xml version="1.0"?><yandex><logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><console>0</console></logger>` +
      `<listen_host>127.0.0.1</listen_host><http_port>${http}</http_port><tcp_port>${tcp}</tcp_port><path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path>` +
      `<user_files_path>${dir}/user_files/</user_files_path><format_schema_path>${dir}/format_schemas/</format_schema_path><users_config>${dir}/users.xml</users_config>` +
      `<default_profile>default</default_profile><default_database>default</default_database><timezone>UTC</timezone><mark_cache_size>268435456</mark_cache_size></yandex>`,
  );
  const child = spawn(bin, [`--config-file=${dir}/config.xml`], { cwd: dir, stdio: 'ignore' });
  const url = `http://127.0.0.1:${http}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/ping`)).ok) return { url, child };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('clickhouse-server did not start');
}

// Deterministic synthetic flows.
let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
const addr4 = (n) => { const a = new Uint8Array(16); a[10] = 0xff; a[11] = 0xff; a[12] = 198; a[13] = 51; a[14] = (n >> 8) & 0xff; a[15] = n & 0xff; return a; };
const addr6 = (n) => { const a = new Uint8Array(16); a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[14] = (n >> 8) & 0xff; a[15] = n & 0xff; return a; };
const PEERS4 = Array.from({ length: 1000 }, (_, i) => addr4(i));
const PEERS6 = Array.from({ length: 1000 }, (_, i) => addr6(i));
const LOCAL4 = addr4(60000);
const LOCAL6 = addr6(60000);
const DEVICES = Array.from({ length: 50 }, (_, i) => `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`);
function batch(n, start) {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const v6 = rnd() < 0.6;
    const t = T0 + Math.floor(((start + i) / N) * SPAN);
    const peer = (v6 ? PEERS6 : PEERS4)[Math.floor(rnd() * 1000)];
    out[i] = {
      ...emptyFlow(),
      time_received: t, time_start: t - 30_000, time_end: t,
      exporter_name: 'bench', family: v6 ? 6 : 4,
      src_addr: v6 ? LOCAL6 : LOCAL4, dst_addr: peer, peer_addr: peer,
      src_port: 30000 + Math.floor(rnd() * 30000), dst_port: rnd() < 0.7 ? 443 : 53, proto: rnd() < 0.8 ? 6 : 17, service_port: 443,
      direction: 2, device_id: DEVICES[Math.floor(rnd() * 50)],
      bytes: 40 + Math.floor(rnd() * 100_000), packets: 1 + Math.floor(rnd() * 100), flows: 1,
    };
  }
  return out;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function run(name, store) {
  seed = 12345;
  let insertMs = 0;
  for (let done = 0; done < N; done += BATCH) {
    const b = batch(Math.min(BATCH, N - done), done);
    const t = performance.now();
    await store.append(b);
    insertMs += performance.now() - t;
  }
  if (store.flush) await store.flush();
  const q = { since: T0, until: T0 + SPAN, bucket: 3_600_000 };
  const first = await computeShare(store, q);
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await computeShare(store, q);
    times.push(performance.now() - t);
  }
  const total = first.flows.ipv4 + first.flows.ipv6;
  const r = { name, flows: total, insertS: insertMs / 1000, rate: Math.round(N / (insertMs / 1000)), seriesMs: median(times), points: first.series.length, tables: first.tables.join(',') };
  console.log(JSON.stringify(r));
  return r;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-bench-store-'));
const ch = await startClickHouse(path.join(dir, 'ch'));
try {
  const duck = await openDuckDBStore({ path: path.join(dir, 'bench.duckdb') });
  const a = await run('duckdb', duck);
  await duck.close();
  const chs = await openClickHouseStore({ url: ch.url, database: 'bench' });
  const b = await run('clickhouse', chs);
  await chs.close();
  if (a.flows !== N || b.flows !== N) throw new Error(`totals differ: duckdb ${a.flows}, clickhouse ${b.flows}, sent ${N}`);
  console.log(`\n| store | flows | insert s | flows/s | 7-day hourly share series (median of 5) |`);
  for (const r of [a, b]) console.log(`| ${r.name} | ${r.flows.toLocaleString('en')} | ${r.insertS.toFixed(1)} | ${r.rate.toLocaleString('en')} | ${r.seriesMs.toFixed(0)} ms (${r.points} points, ${r.tables}) |`);
  console.log(`\nmachine: ${os.cpus().length} vCPU ${os.cpus()[0]?.model ?? ''}, Node ${process.version}`);
} finally {
  ch.child.kill('SIGTERM');
  await new Promise((r) => ch.child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
