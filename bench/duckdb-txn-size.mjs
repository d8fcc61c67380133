#!/usr/bin/env node
/**
 * DuckDB's own cost of storing flow rows in v6scope's raw table, by rows per transaction (why the
 * store writer cuts batches at multiples of 122,880 rows, DuckDB's row group). No v6scope code on
 * the timed path: the rows are made once in SQL (an in-memory temporary table with raw's columns:
 * random addresses of both families, ~30,000 device ids, ports, counters, empty cloud columns) and
 * inserted with `INSERT … SELECT` in transactions of each size into a fresh store file (tables made
 * by the store itself), then CHECKPOINT. Reported per size: wall and CPU seconds, CPU µs per row.
 *
 *   npm run build && node bench/duckdb-txn-size.mjs [rows=1000000] [threads=1]
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.V6SCOPE_DIST ?? path.join(ROOT, 'dist');
const ROWS = Number(process.argv[2] ?? 1_000_000);
const THREADS = process.argv[3] ?? '1';
const { openDuckDBStore } = await import(path.join(DIST, 'store/duckdb/store.js'));
const { FIELDS } = await import(path.join(DIST, 'schema/fields.js'));

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-txn-'));
const q = (n) => `"${n}"`;
const cols = FIELDS.map((f) => q(f.name)).join(', ');
// one expression per field, from the row number n (deterministic)
const h = (k) => `hash(n * ${k})`;
const value = (f) => {
  switch (f.name) {
    case 'time_received': return `1780000000000 + n`;
    case 'time_start': case 'time_end': return `1780000000000 + n - 1000`;
    case 'source_kind': return `'ipfix'`;
    case 'exporter_name': return `'r1'`;
    case 'family': return `CASE WHEN n % 8 < 5 THEN 4 ELSE 6 END`;
    case 'src_addr': case 'dst_addr': case 'peer_addr': {
      const k = { src_addr: 1, dst_addr: 2, peer_addr: 3 }[f.name];
      return `CASE WHEN n % 8 < 5 THEN (281470681743360 + (${h(k)} % 4294967296))::UHUGEINT ELSE (42540766411282592856903984951653826560::UHUGEINT + (${h(k + 7)} % 18446744073709551615)::UHUGEINT) END`;
    }
    case 'exporter_addr': return `281473902968833::UHUGEINT`;
    case 'device_id': return `CASE WHEN n % 8 < 5 THEN '10.0.' || (n % 30000 // 256) || '.' || (n % 256) ELSE '2001:db8:0:1::' || printf('%x', n % 30000) END`;
    case 'src_port': return `(1024 + n % 60000)::USMALLINT`;
    case 'dst_port': case 'service_port': return `443`;
    case 'proto': return `6`;
    case 'bytes': return `1000 + n % 5000`;
    case 'packets': return `1 + n % 10`;
    case 'flows': return `1`;
    case 'direction': return `2`;
    case 'src_asn': return `64500`;
    case 'dst_asn': return `15169`;
    default: return f.kind === 'string' ? `''` : `0`;
  }
};

async function run(batch) {
  const file = path.join(dir, `t-${batch}.duckdb`);
  await (await openDuckDBStore({ path: file, rollupFlushMs: 0 })).close();
  const inst = await DuckDBInstance.create(file, { threads: THREADS, checkpoint_threshold: '64MB' });
  const c = await inst.connect();
  await c.run(`CREATE TEMP TABLE src AS SELECT n, ${FIELDS.map((f) => `${value(f)} AS ${q(f.name)}`).join(', ')} FROM (SELECT range AS n FROM range(${ROWS}))`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const size = batch || ROWS;
  for (let k = 0; k * size < ROWS; k++) {
    await c.run(`INSERT INTO raw (${cols}, v6scope_batch) SELECT ${cols}, ${k + 1}::UBIGINT FROM src WHERE n >= ${k * size} AND n < ${(k + 1) * size}`);
  }
  await c.run('CHECKPOINT');
  const cpu = process.cpuUsage(c0);
  const s = (performance.now() - t0) / 1000;
  c.closeSync();
  inst.closeSync();
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { rowsPerTransaction: size, seconds: +s.toFixed(2), cpuSeconds: +cpuS.toFixed(2), cpuMicrosPerRow: +((cpuS * 1e6) / ROWS).toFixed(2), rowsPerSecond: Math.round(ROWS / s) };
}

try {
  for (const b of [32_768, 65_536, 122_879, 122_880, 131_072, 245_760, 0]) console.log(JSON.stringify({ threads: Number(THREADS), ...(await run(b)) }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
