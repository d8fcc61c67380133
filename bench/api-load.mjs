#!/usr/bin/env node
/**
 * API load test on loopback: N concurrent requests (default 1,000) over a mix of endpoints on the
 * demo data, all fired at once; every response must be 200 with valid JSON (or Prometheus text).
 * Prints p50/p90/p99/max latency for a cold round (empty caches) and a warm round, as Markdown
 * rows for bench/RESULTS.md.
 *
 *   npm run build && node bench/api-load.mjs [requests] [days]
 *
 * The demo (seed 21, 2026-01-05, `days` days, default 2) is generated and ingested into a temp data
 * directory the way `v6scope demo` does; the server is `startApiServer` in this process on
 * 127.0.0.1 (an ephemeral port); the clients run in a child process (fetch, undici), so client and
 * server each have a core of their own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Client mode: node api-load.mjs --client BASE N LABEL URL... → one JSON result line. */
async function clientRound(base, n, label, mix) {
  const lat = [];
  const errors = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const url = mix[i % mix.length];
      const t = performance.now();
      try {
        const r = await fetch(base + url);
        const body = await r.text();
        if (r.status !== 200) throw new Error(`${r.status} ${body.slice(0, 200)}`);
        if (url !== '/metrics') JSON.parse(body);
        lat.push(performance.now() - t);
      } catch (e) {
        errors.push(`${url}: ${e.message}`);
      }
    }),
  );
  const wall = performance.now() - start;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] ?? NaN;
  return { label, n, ok: lat.length, errors: errors.length, errorSamples: errors.slice(0, 5), wall, p50: q(50), p90: q(90), p99: q(99), max: lat[lat.length - 1] ?? NaN };
}
if (process.argv[2] === '--client') {
  const [, , , base, n, label, ...mix] = process.argv;
  console.log(JSON.stringify(await clientRound(base, Number(n), label, mix)));
  process.exit(0);
}

const dist = (p) => import(path.join(root, 'dist', p));
const N = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 2);

const { generateDemo } = await dist('demo/index.js');
const { importNeighbors } = await dist('enrich/identity/import/index.js');
const { LocalEnricher } = await dist('enrich/local.js');
const { ingestCaptureFile } = await dist('pipeline/ingest-capture.js');
const { NEIGHBORS } = await dist('schema/facts.js');
const { openStore } = await dist('store/index.js');
const { startApiServer } = await dist('server/api.js');
const { parseListen } = await dist('config/index.js');

const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-api-load-'));
const dataDir = path.join(dir, 'data');
try {
  const t0 = performance.now();
  const demo = await generateDemo({ seed: 21, start: Date.UTC(2026, 0, 5), days, outDir: path.join(dataDir, 'demo') });
  const store = await openStore(dataDir);
  const res = await ingestCaptureFile(demo.pcapPath, { store, enricher: new LocalEnricher({ localPrefixes: demo.truth.localPrefixes }) });
  if (res.error) throw res.error;
  const imp = importNeighbors(readFileSync(demo.leasesPath, 'utf8'), { fileName: path.basename(demo.leasesPath) });
  await store.facts.append(
    NEIGHBORS,
    imp.facts.map((f) => ({ seen_at: demo.truth.end, mac: f.mac, family: f.family, addr: f.addr, hostname: f.hostname ?? '', source: f.source, expires_at: f.expiresAt ?? 0 })),
  );
  const flows = demo.truth.total.ipv4.flows + demo.truth.total.ipv6.flows;
  process.stderr.write(`demo: ${days} days, ${flows} flows, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  const server = await startApiServer({ store, dataDir, listen: [parseListen('127.0.0.1:0')], asn: 'default', cacheMs: 60_000, log: (l) => process.stderr.write(`server: ${l}\n`) });
  const base = `http://127.0.0.1:${server.addresses[0].port}`;
  const tv = demo.truth.devices.find((d) => d.name === 'tv').mac;
  const filters = [
    'family = 4',
    'family = 6 AND proto = tcp',
    'device = "nas" AND dst_port IN (6881, 6889, 51413)',
    'peer << 2001:db8::/32',
    'NOT (proto = 6 OR proto = 17)',
    'direction = outbound AND service_port = 443',
  ];
  const mix = [
    '/api/v1/share',
    '/api/v1/share?bucket=1h',
    '/api/v1/share?by=device',
    '/api/v1/share?by=destination&bucket=6h',
    '/api/v1/share?by=app',
    ...filters.map((f) => `/api/v1/share?filter=${encodeURIComponent(f)}`),
    ...filters.map((f) => `/api/v1/share?by=device&filter=${encodeURIComponent(f)}`),
    '/api/v1/laggards?by=device',
    '/api/v1/laggards?by=app',
    '/api/v1/laggards?by=destination',
    '/api/v1/floor',
    '/api/v1/fixes',
    '/api/v1/devices',
    `/api/v1/devices/${tv}`,
    '/api/v1/devices/tv',
    '/api/v1/exporters',
    '/api/v1/flows?limit=100',
    `/api/v1/flows?limit=50&filter=${encodeURIComponent('family = 4')}`,
    '/api/v1/fields',
    '/api/v1/dns/names',
    '/metrics',
  ];

  async function round(label) {
    // the server keeps serving in this process while the child runs (async exec)
    const { execFile } = await import('node:child_process');
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, [fileURLToPath(import.meta.url), '--client', base, String(N), label, ...mix], { maxBuffer: 1 << 24 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const r = JSON.parse(out);
    process.stderr.write(`${label}: ${r.ok}/${N} ok, ${r.errors} errors, wall ${(r.wall / 1000).toFixed(2)} s, p50 ${r.p50.toFixed(0)} ms, p90 ${r.p90.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms\n`);
    for (const e of r.errorSamples) process.stderr.write(`  error: ${e}\n`);
    return r;
  }

  const cold = await round('cold');
  const warm = await round('warm');
  await server.close();
  await store.close();
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.cpus().length} vCPU ${os.cpus()[0]?.model.trim() ?? ''}, Node ${process.version}`;
  const ms = (v) => `${v.toFixed(0)} ms`;
  console.log(`| date | machine | data | round | requests (concurrent) | errors | wall | p50 | p90 | p99 | max |`);
  console.log(`|---|---|---|---|---|---|---|---|---|---|---|`);
  for (const r of [cold, warm]) {
    console.log(`| ${date} | ${machine} | demo ${days} d, ${flows} flows | ${r.label} | ${r.n} (${mix.length} kinds) | ${r.errors} | ${(r.wall / 1000).toFixed(2)} s | ${ms(r.p50)} | ${ms(r.p90)} | ${ms(r.p99)} | ${ms(r.max)} |`);
  }
  if (cold.errors + warm.errors > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
