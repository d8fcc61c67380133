#!/usr/bin/env node
/**
 * End-to-end collector benchmark (issue 3): IPFIX datagrams replayed on loopback at a fixed
 * offered rate → `v6scope serve` (UDP listener → decoder → store writer → DuckDB), then the same
 * replay → nfcapd, in the same run. Optionally (--decode-only) the collector without a store.
 *
 *   npm run build && node bench/collector-e2e.mjs [--seconds 60] [--rate 300000] [--decode-only]
 *   node bench/collector-e2e.mjs --no-peer ...   (v6scope only, no nfcapd run: for memory experiments)
 *   V6SCOPE_COLLECTOR_THREAD=main node bench/collector-e2e.mjs ...   (serve's collectors in the
 *   main thread instead of the worker thread, for comparison)
 *   V6SCOPE_DUCKDB_MEMORY=100MiB SERVE_NODE_ARGS=--max-old-space-size=200 node bench/collector-e2e.mjs ...
 *                                        (store.duckdb.memory_limit, and node flags for serve: memory bounds;
 *                                         V6SCOPE_DUCKDB_WRITE_MEMORY: store.duckdb.write_memory_limit)
 *   V6SCOPE_BATCH_FLOWS=122880 V6SCOPE_BATCH_DELAY=2s V6SCOPE_PENDING_FLOWS=262144 node bench/collector-e2e.mjs ...
 *                                        (serve's batch.max_flows / max_delay / max_pending_flows; default: the build's config defaults;
 *                                         V6SCOPE_PENDING_MEMORY: batch.max_pending_memory)
 *   V6SCOPE_DIST=/elsewhere/dist node bench/collector-e2e.mjs ...   (another build, e.g. the code
 *   before a change: `git archive HEAD src tsconfig.json package.json | tar -x -C DIR`, link
 *   node_modules into DIR, `npx tsc -p DIR/tsconfig.json`)
 *
 * `serve` starts as a user starts it: through the launcher beside the build (DIST/../bin/v6scope,
 * which sets MALLOC_ARENA_MAX=2 unless the environment has it and gives serve its V8 heap flags;
 * SERVE_NODE_ARGS then go in NODE_OPTIONS, after them, so theirs win), or with
 * `node DIST/cli/main.js` for builds without one. The output says which
 * (`launcher`) and the MALLOC_ARENA_MAX serve's environment had (`mallocArenaMax`).
 *
 * Datagrams: a realistic IPFIX export — two 20-field templates (IPv4 and IPv6: addresses, ports,
 * protocol, flags, ToS, interfaces, octet/packet counters, flowStart/EndMilliseconds, AS numbers,
 * next hop, prefix lengths, direction, ipVersion), 10 IPv4 + 6 IPv6 records per 1376-byte datagram,
 * sequence numbers counting data records as RFC 7011 says; templates resent every second.
 * The sender is a separate process pacing the datagrams in 2 ms slices.
 *
 * Reported per collector: datagrams/records sent, flows decoded and stored (v6scope) or written
 * (nfcapd, from `nfdump -I`), flows/s over the sending time, socket drops (the `drops` column of
 * /proc/net/udp for the collector's socket), peak RSS, RSS each second, and the steady RSS (median over the last two
 * thirds of the sending time).
 */
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// V6SCOPE_DIST=DIR runs another build (e.g. the code before a change, built elsewhere).
const DIST = process.env.V6SCOPE_DIST ?? path.join(ROOT, 'dist');
const CLI = path.join(DIST, 'cli/main.js');
// The package's launcher beside the build (builds from before it existed: node DIST/cli/main.js).
const LAUNCHER = path.join(DIST, '../bin/v6scope');
const HAS_LAUNCHER = existsSync(LAUNCHER);
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const SECONDS = Number(opt('seconds', '60'));
const RATE = Number(opt('rate', '300000'));
const DECODE_ONLY = args.includes('--decode-only');
// --no-peer: v6scope alone (memory experiments); the ratio needs the peer in the same run.
const NO_PEER = args.includes('--no-peer');
// --query-every S: serve also runs its HTTP API, and the bench asks it for the share by device and
// the laggards every S seconds while the flows arrive (what a console user does); the output gives
// the reads' count, failures and latency (`queries`).
const QUERY_EVERY = Number(opt('query-every', '0'));

import { templateMessage, dataMessage, RECS_PER } from './ipfix-replay.mjs';

// -------------------------------------------------------------------------------------------------
// Sender (child process): --send PORT SECONDS RATE

async function sender(port, seconds, rate) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const tpl = templateMessage();
  const POOL = 1024;
  const pool = Array.from({ length: POOL }, (_, k) => dataMessage(k));
  const perSec = rate / RECS_PER;
  let seq = 0;
  let sent = 0;
  let records = 0;
  let k = 0;
  const send = (b) => new Promise((res) => s.send(b, port, '127.0.0.1', () => res()));
  await send(tpl);
  const t0 = performance.now();
  let lastTpl = t0;
  let exportSec = Math.floor(Date.now() / 1000);
  while (true) {
    const now = performance.now();
    const el = (now - t0) / 1000;
    if (el >= seconds) break;
    if (now - lastTpl >= 1000) {
      lastTpl = now;
      exportSec = Math.floor(Date.now() / 1000);
      tpl.writeUInt32BE(exportSec, 4);
      tpl.writeUInt32BE(seq, 8);
      await send(tpl);
    }
    const due = Math.floor(el * perSec);
    let burst = 0;
    while (sent < due && burst < 256) {
      const b = pool[k]; // reused only after the POOL-1 sends queued after it
      k = (k + 1) % POOL;
      b.writeUInt32BE(exportSec, 4);
      b.writeUInt32BE(seq >>> 0, 8);
      seq += RECS_PER;
      sent++;
      records += RECS_PER;
      burst++;
      if (burst === 256 || sent === due) await send(b);
      else s.send(b, port, '127.0.0.1');
    }
    if (sent >= due) await new Promise((r) => setTimeout(r, 2));
  }
  const elapsed = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 50));
  s.close();
  process.stdout.write(JSON.stringify({ datagrams: sent, records, elapsed }) + '\n');
}

if (args[0] === '--send') {
  await sender(Number(args[1]), Number(args[2]), Number(args[3]));
  process.exit(0);
}

// -------------------------------------------------------------------------------------------------
// Harness

function runSender(port) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), '--send', String(port), String(SECONDS), String(RATE)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`sender exited ${code}`))));
  });
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** drops column of /proc/net/udp for a local port (any socket on it). */
function udpDrops(port) {
  const text = readFileSync('/proc/net/udp', 'utf8');
  let drops = 0;
  for (const line of text.split('\n').slice(1)) {
    const c = line.trim().split(/\s+/);
    if (c.length < 13) continue;
    if (parseInt(c[1].split(':')[1], 16) === port) drops += Number(c[c.length - 1]);
  }
  return drops;
}

async function freePort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

function startProc(cmd, argv, readyRe, env = process.env) {
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => (err += d));
  const closed = new Promise((r) => child.on('close', r));
  return {
    child,
    closed,
    log: () => err,
    ready: async () => {
      const t0 = Date.now();
      while (!readyRe.test(err)) {
        if (child.exitCode !== null) throw new Error(`${cmd} exited: ${err}`);
        if (Date.now() - t0 > 20000) throw new Error(`${cmd} not ready: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** Peak RSS of pid, and the socket's drops each second (to see when they happen). */
async function sampleRss(pid, until, port) {
  let peak = 0;
  let last = Date.now();
  until.dropsTimeline = [];
  until.rssSamples = [];
  until.rssTimeline = [];
  while (!until.done) {
    const rss = rssOf(pid);
    peak = Math.max(peak, rss);
    if (!until.stopping && rss > 0) until.rssSamples.push(rss);
    if (Date.now() - last >= 1000) {
      last += 1000;
      until.rssTimeline.push(Math.round(rss / 1048576));
      try {
        until.dropsTimeline.push(udpDrops(port));
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak;
}

const LOAD0 = Number(loadavg()[0].toFixed(2));
const work = mkdtempSync(path.join(tmpdir(), 'v6scope-collector-bench-'));
const results = {};
try {
  // --- v6scope serve -> DuckDB (or decode only)
  {
    const port = await freePort();
    const data = path.join(work, 'v6scope-data');
    const cfg = path.join(work, 'v6scope.yaml');
    const apiPort = QUERY_EVERY > 0 ? await freePort() : 0;
    writeFileSync(cfg, `${apiPort ? `api:\n  listen: ["127.0.0.1:${apiPort}"]\n` : ''}collectors:\n  - protocol: ipfix\n    listen: ["127.0.0.1:${port}"]\n    receive_buffer: 64MiB\nbatch:\n${process.env.V6SCOPE_BATCH_FLOWS ? `  max_flows: ${process.env.V6SCOPE_BATCH_FLOWS}\n` : ''}${process.env.V6SCOPE_BATCH_DELAY ? `  max_delay: ${process.env.V6SCOPE_BATCH_DELAY}\n` : ''}  max_pending: 16\n${process.env.V6SCOPE_PENDING_FLOWS ? `  max_pending_flows: ${process.env.V6SCOPE_PENDING_FLOWS}\n` : ''}${process.env.V6SCOPE_PENDING_MEMORY ? `  max_pending_memory: ${process.env.V6SCOPE_PENDING_MEMORY}\n` : ''}state:\n  save_interval: 5s\n${process.env.V6SCOPE_DUCKDB_MEMORY || process.env.V6SCOPE_DUCKDB_WRITE_MEMORY ? `store:\n  duckdb:\n${process.env.V6SCOPE_DUCKDB_MEMORY ? `    memory_limit: ${process.env.V6SCOPE_DUCKDB_MEMORY}\n` : ''}${process.env.V6SCOPE_DUCKDB_WRITE_MEMORY ? `    write_memory_limit: ${process.env.V6SCOPE_DUCKDB_WRITE_MEMORY}\n` : ''}` : ''}`);
    const p = DECODE_ONLY
      ? startProc(process.execPath, ['--input-type=module', '-e', decodeOnlyScript(port)], /ready/)
      : HAS_LAUNCHER
        ? // as a user runs it: the build's launcher (it sets MALLOC_ARENA_MAX unless given), node flags through NODE_OPTIONS
          startProc(LAUNCHER, ['--data', data, '--config', cfg, 'serve'], /serve: ready/, {
            ...process.env,
            PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
            NODE_OPTIONS: [process.env.NODE_OPTIONS, process.env.SERVE_NODE_ARGS].filter(Boolean).join(' '),
          })
        : startProc(process.execPath, [...(process.env.SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean), CLI, '--data', data, '--config', cfg, 'serve'], /serve: ready/);
    await p.ready();
    const arenaMax = /(?:^|\0)MALLOC_ARENA_MAX=([^\0]*)/.exec(readFileSync(`/proc/${p.child.pid}/environ`, 'latin1'))?.[1] ?? null;
    const flag = { done: false };
    const rssP = sampleRss(p.child.pid, flag, port);
    const cpu0 = procCpu(p.child.pid);
    const queries = { done: 0, failed: 0, ms: [] };
    let querying = true;
    const queryLoop = (async () => {
      if (!apiPort) return;
      const paths = ['/api/v1/share?by=device&limit=20', '/api/v1/laggards?limit=20'];
      while (querying) {
        await new Promise((r) => setTimeout(r, QUERY_EVERY * 1000));
        if (!querying) break;
        for (const q of paths) {
          const t = performance.now();
          try {
            const r = await fetch(`http://127.0.0.1:${apiPort}${q}`);
            await r.arrayBuffer();
            if (r.ok) queries.done++;
            else queries.failed++;
          } catch {
            queries.failed++;
          }
          queries.ms.push(Math.round(performance.now() - t));
        }
      }
    })();
    const sent = await runSender(port);
    querying = false;
    await queryLoop;
    flag.stopping = true;
    await new Promise((r) => setTimeout(r, 500));
    const cpu1 = procCpu(p.child.pid);
    const dropsBeforeStop = udpDrops(port);
    const tStop = performance.now();
    p.child.kill('SIGTERM');
    await p.closed;
    const stopMs = performance.now() - tStop;
    flag.done = true;
    const rss = await rssP;
    let h;
    if (DECODE_ONLY) h = JSON.parse(/HEALTH (.*)/.exec(p.log())[1]);
    else h = JSON.parse(readFileSync(path.join(data, 'exporters.json'), 'utf8'));
    const e = h.exporters[0] ?? { records: 0, sequenceMissing: 0, errors: {} };
    const stored = DECODE_ONLY ? e.records : h.writer.stored;
    results.v6scope = {
      mode: DECODE_ONLY ? 'receive + decode (no store)' : 'serve → DuckDB',
      // serve's collectors: in a worker thread (default) or in the main thread (V6SCOPE_COLLECTOR_THREAD=main)
      collectorThread: DECODE_ONLY ? 'main' : h.worker ? 'worker' : 'main',
      workerHandoffDropped: h.worker ? h.worker.droppedFlows : null,
      workerRestarts: h.worker ? h.worker.restarts : null,
      offered: RATE,
      // how serve was started, and glibc's arena cap in its environment (null: glibc's default, 8 per core)
      launcher: DECODE_ONLY ? null : HAS_LAUNCHER ? 'bin/v6scope' : 'node dist/cli/main.js',
      mallocArenaMax: DECODE_ONLY ? null : arenaMax,
      sent,
      decoded: e.records,
      stored,
      droppedByWriter: DECODE_ONLY ? 0 : h.writer.droppedFlows,
      // appends the store refused (e.g. DuckDB out of memory under a small memory_limit): flows lost
      failedByWriter: DECODE_ONLY ? 0 : h.writer.failedFlows,
      ...(DECODE_ONLY || !h.writer.lastError ? {} : { lastWriterError: String(h.writer.lastError).slice(0, 200) }),
      sequenceMissing: e.sequenceMissing,
      socketDrops: Math.max(h.totals.socketDrops, dropsBeforeStop),
      flowsPerSecond: Math.round(stored / sent.elapsed),
      decodedPerSecond: Math.round(e.records / sent.elapsed),
      cpuSecondsPerSecond: Number(((cpu1 - cpu0) / sent.elapsed).toFixed(2)),
      stopMs: Math.round(stopMs),
      peakRssMB: Math.round(rss / 1048576),
      // the median RSS over the last two thirds of the sending time (steady state; the peak also
      // covers bursts, e.g. a backlog on a busy machine, and the stop)
      steadyRssMB: medianMB(flag.rssSamples.slice(Math.floor(flag.rssSamples.length / 3))),
      ...(apiPort ? { queries: { every: QUERY_EVERY, ok: queries.done, failed: queries.failed, msMedian: medianOf(queries.ms), msMax: Math.max(0, ...queries.ms) } } : {}),
      dropsBySecond: flag.dropsTimeline,
      rssBySecondMB: flag.rssTimeline,
    };
    console.log(JSON.stringify(results.v6scope));
  }
  // --- nfcapd on the same replay
  if (!NO_PEER) {
    const port = await freePort();
    const dir = path.join(work, 'nfcapd');
    mkdirSync(dir);
    const p = startProc('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir, '-B', String(64 * 1024 * 1024)], /Startup|Init IPFIX/);
    await p.ready().catch(() => new Promise((r) => setTimeout(r, 1000)));
    await new Promise((r) => setTimeout(r, 300));
    const flag = { done: false };
    const rssP = sampleRss(p.child.pid, flag, port);
    const cpu0 = procCpu(p.child.pid);
    const sent = await runSender(port);
    await new Promise((r) => setTimeout(r, 500));
    const cpu1 = procCpu(p.child.pid);
    const drops = udpDrops(port);
    p.child.kill('SIGTERM');
    await p.closed;
    flag.done = true;
    const rss = await rssP;
    const info = execFileSync('nfdump', ['-R', dir, '-I'], { encoding: 'utf8' });
    const num = (k) => Number((new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(info) ?? [])[1] ?? NaN);
    const flows = num('Flows');
    results.nfcapd = {
      offered: RATE,
      sent,
      stored: flows,
      sequenceFailures: num('Sequence failures'),
      socketDrops: drops,
      flowsPerSecond: Math.round(flows / sent.elapsed),
      cpuSecondsPerSecond: Number(((cpu1 - cpu0) / sent.elapsed).toFixed(2)),
      peakRssMB: Math.round(rss / 1048576),
    };
    console.log(JSON.stringify(results.nfcapd));
  }
  const r = NO_PEER ? null : results.v6scope.flowsPerSecond / results.nfcapd.flowsPerSecond;
  // The machine is shared: the 1-minute load average at the start and the end says how much.
  console.log(JSON.stringify({ seconds: SECONDS, offered: RATE, ratio_v6scope_over_nfcapd: r === null ? null : Number(r.toFixed(3)), loadavgStart: LOAD0, loadavgEnd: Number(loadavg()[0].toFixed(2)) }));
} finally {
  rmSync(work, { recursive: true, force: true });
}

function medianOf(xs) {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : null;
}

function medianMB(xs) {
  const m = medianOf(xs);
  return m === null ? null : Math.round(m / 1048576);
}

function procCpu(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (100/s)
  } catch {
    return 0;
  }
}

function decodeOnlyScript(port) {
  return `
import { CollectorSet } from ${JSON.stringify(path.join(DIST, 'collect/collector.js'))};
import { parseListen } from ${JSON.stringify(path.join(DIST, 'config/index.js'))};
let n = 0;
const cs = new CollectorSet({ collectors: [{ protocol: 'ipfix', listen: [parseListen('127.0.0.1:${port}')], receive_buffer: 64 * 1024 * 1024, name: '' }], dataDir: null, onRecords: (r) => { n += r.length; } });
await cs.start();
process.stderr.write('ready\\n');
process.on('SIGTERM', async () => { const h = cs.health(); await cs.stop(); process.stderr.write('HEALTH ' + JSON.stringify(h) + '\\n'); process.exit(0); });
`;
}
