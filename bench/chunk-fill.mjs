#!/usr/bin/env node
/**
 * The DuckDB chunk writer alone (src/store/duckdb/chunk-append.ts): 131,072 collector-like records
 * (35 columns, 40 % IPv6, device ids as address text) written into an in-memory DuckDB appender,
 * ns per row, best and mean of the rounds after two warm-ups.
 *
 *   npm run build && node bench/chunk-fill.mjs [rounds=12]
 *   V6SCOPE_DIST=/tmp/before/dist node bench/chunk-fill.mjs      (another build, same run)
 *   A14=16 node bench/chunk-fill.mjs      (about 4,000 distinct devices instead of ~65,000)
 *   NOAPP=1 node bench/chunk-fill.mjs     (the appender's appendDataChunk skipped: the fill alone)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const DIST = path.resolve(process.env.V6SCOPE_DIST ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../dist'));
const { ChunkWriter } = await import(`${DIST}/store/duckdb/chunk-append.js`);
const { FIELDS, emptyFlow } = await import(`${DIST}/schema/fields.js`);
const { formatIP } = await import(`${DIST}/net/ip.js`);
const { DuckDBInstance, BIGINT, UHUGEINT, UBIGINT, UTINYINT, USMALLINT, UINTEGER, VARCHAR } = await import('@duckdb/node-api');
const T = { time: BIGINT, addr: UHUGEINT, mac: UBIGINT, u8: UTINYINT, u16: USMALLINT, u32: UINTEGER, u64: UBIGINT, string: VARCHAR };
const cols = FIELDS.map((f) => ({ name: f.name, kind: f.kind }));
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const SQLT = { time: 'BIGINT', addr: 'UHUGEINT', mac: 'UBIGINT', u8: 'UTINYINT', u16: 'USMALLINT', u32: 'UINTEGER', u64: 'UBIGINT', string: 'VARCHAR' };
await c.run(`CREATE TABLE t (${cols.map((x) => `"${x.name}" ${SQLT[x.kind]}`).join(', ')})`);
const N = 131072;
let seed = 7; const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
const rows = [];
for (let i = 0; i < N; i++) {
  const r = emptyFlow();
  const six = rnd() % 10 < 4;
  const a = new Uint8Array(16), b = new Uint8Array(16);
  if (six) { a[0] = 0x2a; a[15] = rnd() & 255; a[14] = rnd() % (Number(process.env.A14 ?? 256)); b[0] = 0x20; b[1] = 1; b[15] = rnd() & 255; } else { a[10] = a[11] = b[10] = b[11] = 255; a[12] = 10; a[15] = rnd() & 255; b[12] = 203; b[15] = rnd() & 255; }
  Object.assign(r, { time_received: 1764590400000 + i, time_start: 1764590400000 + i - 1000, time_end: 1764590400000 + i, source_kind: 'ipfix', exporter_addr: a, exporter_name: '127.0.0.1', observation_domain: 1, sampling_rate: 1, family: six ? 6 : 4, src_addr: a, dst_addr: b, peer_addr: b, src_port: rnd() % 65536, dst_port: 443, proto: 6, service_port: 443, tcp_flags: 27, in_if: 3, out_if: 4, direction: 2, device_id: formatIP(a, six ? 6 : 4), bytes: rnd() % 100000, packets: rnd() % 100, flows: 1, src_asn: 0, dst_asn: 15169 });
  rows.push(r);
}
const w = new ChunkWriter(cols, cols.map((x) => T[x.kind]));
const ROUNDS = Number(process.argv[2] ?? 10);
let best = Infinity, tot = 0;
for (let k = 0; k < ROUNDS; k++) {
  const real = await c.createAppender("t"); const app = process.env.NOAPP ? { appendDataChunk() {}, closeSync() { real.closeSync(); } } : real;
  const t0 = performance.now();
  w.append(app, rows);
  const dt = performance.now() - t0;
  app.closeSync();
  await c.run('DELETE FROM t');
  if (k > 1) { best = Math.min(best, dt); tot += dt; }
}
console.log(JSON.stringify({ dist: DIST, rowsPerRound: N, bestNsPerRow: +(best * 1e6 / N).toFixed(0), meanNsPerRow: +((tot / (ROUNDS - 2)) * 1e6 / N).toFixed(0) }));
