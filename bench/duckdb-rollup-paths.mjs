#!/usr/bin/env node
/**
 * The DuckDB store's two roll-up statement sequences on the same raw rows (issue 6; the store picks
 * one by how far the previous roll-up's rows collapsed, src/store/duckdb/store.ts `rollUp`):
 * - temp: the 1 min buckets once into a TEMP table, then rollup_1m copied from it and rollup_5m /
 *   rollup_1h aggregated from it;
 * - direct: each rollup aggregated from raw;
 * - parallel: each rollup aggregated from raw in a transaction of its own, the three at once on
 *   three connections.
 * Raw rows: a DuckDB file of v6scope's (default: made here by ingesting FILE with `aws ingest`'s
 * code path), its rollups emptied; each round runs on a fresh copy, one transaction, as the store.
 *
 *   npm run build && node bench/duckdb-rollup-paths.mjs bench/work/vpc-1m.log.gz [rounds=2]
 *   node bench/duckdb-rollup-paths.mjs --db path/to/v6scope.duckdb [rounds=2]   (e.g. a kept serve run)
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const DIST = path.resolve(process.env.DIST ?? 'dist');
const args = process.argv.slice(2);
const work = mkdtempSync(path.join(os.tmpdir(), 'v6scope-rollup-paths-'));
const src = path.join(work, 'raw.duckdb');
let rounds = 2;
if (args[0] === '--db') {
  copyFileSync(args[1], src);
  rounds = Number(args[2] ?? 2);
} else {
  const { ingestSources } = await import(`${DIST}/pipeline/aws-thread.js`);
  const { openDuckDBStore } = await import(`${DIST}/store/duckdb/store.js`);
  const store = await openDuckDBStore({ path: src });
  await ingestSources({ sources: [path.resolve(args[0])], dataDir: work, localPrefixes: [] }, store);
  await store.close();
  rounds = Number(args[1] ?? 2);
}
{
  const i = await DuckDBInstance.create(src);
  const c = await i.connect();
  for (const t of ['rollup_1m', 'rollup_5m', 'rollup_1h']) await c.run(`DELETE FROM ${t}`);
  await c.run('CHECKPOINT');
  c.closeSync();
  i.closeSync();
}
const dims = 'source_kind exporter_addr exporter_name observation_domain sampling_rate family proto service_port in_if out_if direction device_id src_asn dst_asn vpc_id subnet_id action'.split(' ').map((x) => `"${x}"`).join(', ');
const sums = (as) => ['bytes', 'packets', 'flows'].map((m) => `SUM("${m}")${as ? ` AS "${m}"` : ''}`).join(', ');
const cols = `"time_received", ${dims}, "bytes", "packets", "flows"`;
const bucket = (ms) => `(("time_received" // ${ms}) * ${ms})`;

async function run(variant) {
  const file = path.join(work, `${variant}.duckdb`);
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
  copyFileSync(src, file);
  const inst = await DuckDBInstance.create(file, { preserve_insertion_order: 'false', checkpoint_threshold: '64MB', ...(process.env.THREADS ? { threads: process.env.THREADS } : {}) });
  const c = await inst.connect();
  const steps = [];
  const step = async (name, sql) => {
    const t = performance.now();
    const r = await c.run(sql);
    steps.push(`${name} ${((performance.now() - t) / 1000).toFixed(2)}`);
    return r;
  };
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let minuteRows;
  if (variant === 'parallel') {
    const conns = [c, await inst.connect(), await inst.connect()];
    const rows = await Promise.all(
      [['1m', 60000], ['5m', 300000], ['1h', 3600000]].map(async ([t, ms], k) => {
        const cc = conns[k];
        const t1 = performance.now();
        await cc.run('BEGIN TRANSACTION');
        const r = await cc.run(`INSERT INTO rollup_${t} (${cols}) SELECT ${bucket(ms)}, ${dims}, ${sums(false)} FROM raw GROUP BY ${bucket(ms)}, ${dims}`);
        await cc.run('COMMIT');
        steps.push(`${t} ${((performance.now() - t1) / 1000).toFixed(2)}`);
        return r.rowsChanged;
      }),
    );
    minuteRows = rows[0];
    for (const cc of conns.slice(1)) cc.closeSync();
  } else await step('begin', 'BEGIN TRANSACTION');
  if (variant === 'temp') {
    await step('agg', `CREATE TEMP TABLE agg AS SELECT ${bucket(60000)} AS time_received, ${dims}, ${sums(true)} FROM raw GROUP BY ALL`);
    minuteRows = (await step('1m', `INSERT INTO rollup_1m (${cols}) SELECT ${cols} FROM agg`)).rowsChanged;
    await step('5m', `INSERT INTO rollup_5m (${cols}) SELECT ${bucket(300000)}, ${dims}, ${sums(false)} FROM agg GROUP BY ${bucket(300000)}, ${dims}`);
    await step('1h', `INSERT INTO rollup_1h (${cols}) SELECT ${bucket(3600000)}, ${dims}, ${sums(false)} FROM agg GROUP BY ${bucket(3600000)}, ${dims}`);
    await step('drop', 'DROP TABLE agg');
  } else if (variant === 'direct') {
    for (const [t, ms] of [['1m', 60000], ['5m', 300000], ['1h', 3600000]]) {
      const r = await step(t, `INSERT INTO rollup_${t} (${cols}) SELECT ${bucket(ms)}, ${dims}, ${sums(false)} FROM raw GROUP BY ${bucket(ms)}, ${dims}`);
      if (t === '1m') minuteRows = r.rowsChanged;
    }
  }
  if (variant !== 'parallel') await step('commit', 'COMMIT');
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const rawRows = Number((await c.runAndReadAll('SELECT count(*) FROM raw')).getRowsJS()[0][0]);
  const t2 = performance.now();
  c.closeSync();
  inst.closeSync();
  const closeSeconds = (performance.now() - t2) / 1000;
  rmSync(file, { force: true });
  return { closeSeconds: +closeSeconds.toFixed(2), variant, rawRows, minuteRows, seconds: +seconds.toFixed(2), cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), steps: steps.join(', ') };
}

const variants = (process.env.VARIANTS ?? 'temp,direct,parallel').split(',');
for (let r = 0; r < rounds; r++) for (const v of variants) console.log(JSON.stringify({ round: r + 1, ...(await run(v)) }));
rmSync(work, { recursive: true, force: true });
