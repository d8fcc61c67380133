#!/usr/bin/env node
/**
 * VPC Flow Logs (.log.gz) → store: v6scope's parse + store rate next to DuckDB's own `read_csv` of
 * the same file into a table, in the same run (this machine is shared: the ratio is the figure).
 *
 * Usage: npx tsc -p tsconfig.json --outDir bench/work/aws-dist   (or npm run build, then DIST=dist)
 *        node bench/aws-gen-vpc.mjs bench/work/vpc-1m.log.gz 1000000
 *        node bench/aws-vpc-ingest.mjs bench/work/vpc-1m.log.gz [rounds=3] [store=duckdb] [--native]
 *
 * Each side runs in its own child process (so its peak RSS is its own), rounds alternate
 * v6scope / peer / parse-only; the medians and the v6scope/peer ratio are printed. Wall and CPU
 * seconds are both recorded (CPU includes DuckDB's worker threads).
 * - parse-only: the same AwsIngester with a store whose append does nothing (where the time goes).
 * - v6scope: the `aws ingest` code path (`ingestSourcesInThread`), with DuckDB's `memory_limit` as
 *   the CLI sets it (env BENCH_MEMORY_LIMIT: `duckdb` for DuckDB's own default, or bytes): a parse thread runs
 *   `AwsIngester` (gunzip, split, parse, side aggregate, enrich), the DuckDB store (raw table and
 *   three rollups) appends its batches in the calling thread with two appends outstanding.
 * - in-thread (with --in-thread): the same job with the parse in the store's thread
 *   (`ingestSources`, as V6SCOPE_AWS_PARSE_THREAD=0 does).
 * - peer: a DuckDB file database, `CREATE TABLE t AS SELECT * FROM read_csv(FILE, delim=' ',
 *   header=true, columns={…14 v2 columns…})` — the native columnar CSV loader, no address parsing.
 * - native-store (with --native): what DuckDB itself needs to store the same flows the way v6scope
 *   does, no parsing at all — the rows v6scope produced (exported once, untimed, to Parquet) loaded
 *   with SQL into a fresh file with v6scope's raw table (`INSERT INTO raw SELECT … FROM
 *   read_parquet`, as one batch not yet rolled up), then the store opens the file and rolls the
 *   batch up with its own statements. The floor for any loader that keeps v6scope's tables, next to
 *   read_csv's 14-column table.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = process.env.DIST ?? 'bench/work/aws-dist';
const here = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(here), '..');

async function child(side, file, storeKind) {
  // parse-only: the same code path with a store whose append does nothing (where the time goes)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-awsbench-'));
  try {
    const t0 = performance.now();
    let lines = 0;
    if (side === 'v6scope' || side === 'in-thread') {
      // the `aws ingest` code path: the job with the parse in a thread of its own (or, `in-thread`,
      // in the same thread as the store: V6SCOPE_AWS_PARSE_THREAD=0)
      const dist = path.resolve(root, DIST);
      const { ingestSources, ingestSourcesInThread } = await import(`${dist}/pipeline/aws-thread.js`);
      const { openDuckDBStore } = await import(`${dist}/store/duckdb/store.js`);
      // DuckDB's memory_limit as `aws ingest` sets it (v6scope's default: defaultDuckDBMemoryLimit);
      // BENCH_MEMORY_LIMIT=duckdb leaves DuckDB's own (80 % of the machine), a number of bytes sets one
      const { defaultDuckDBMemoryLimit } = await import(`${dist}/store/index.js`);
      const ml = process.env.BENCH_MEMORY_LIMIT;
      const memoryLimit = ml === 'duckdb' ? undefined : ml ? Number(ml) : defaultDuckDBMemoryLimit?.();
      const store = await openDuckDBStore({ path: path.join(dir, 'flows.duckdb'), ...(memoryLimit ? { memoryLimit } : {}), ...(process.env.BENCH_ROLLUP_ROWS ? { rollupFlushRows: Number(process.env.BENCH_ROLLUP_ROWS) } : {}) });
      const job = { sources: [file], dataDir: dir, localPrefixes: [] };
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const [r] = side === 'v6scope' ? await ingestSourcesInThread(job, store) : await ingestSources(job, store);
      if (r.error) throw new Error(r.error);
      await store.close();
      const s = (performance.now() - t1) / 1000;
      const cpu = process.cpuUsage(c1);
      return { side, seconds: s, cpuSeconds: (cpu.user + cpu.system) / 1e6, lines: r.lines - 1, flows: r.flows, nodata: r.nodata, malformed: r.malformed, rssMB: process.resourceUsage().maxRSS / 1024 };
    }
    if (side === 'parse-only') {
      if (side === 'parse-only') storeKind = 'null';
      const dist = path.resolve(root, DIST);
      const { AwsIngester } = await import(`${dist}/pipeline/ingest-aws.js`);
      const { listLocal } = await import(`${dist}/sources/cloud/inputs.js`);
      const { AwsSummary } = await import(`${dist}/sources/cloud/summary.js`);
      const { LocalEnricher } = await import(`${dist}/enrich/local.js`);
      const { openDuckDBStore } = await import(`${dist}/store/duckdb/store.js`);
      const store =
        storeKind === 'null'
          ? { kind: 'null', append: async () => {}, appendColumnar: async () => {}, close: async () => {} }
          : await openDuckDBStore({ path: path.join(dir, 'flows.duckdb') });
      const ing = new AwsIngester({ store, enricher: new LocalEnricher({ localPrefixes: [] }), dataDir: dir, summary: new AwsSummary() });
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const r = await ing.ingest(listLocal(file)[0]);
      if (r.error) throw new Error(r.error);
      ing.save();
      await store.close();
      lines = r.lines - 1; // records, without the header line
      const s = (performance.now() - t1) / 1000;
      const cpu = process.cpuUsage(c1);
      return { side, seconds: s, cpuSeconds: (cpu.user + cpu.system) / 1e6, lines, flows: r.flows, nodata: r.nodata, malformed: r.malformed, rssMB: process.resourceUsage().maxRSS / 1024 };
    }
    const { DuckDBInstance } = await import('@duckdb/node-api');
    if (side === 'native-store') return await nativeStore(DuckDBInstance, dir, file);
    const inst = await DuckDBInstance.create(path.join(dir, 'peer.duckdb'));
    const c = await inst.connect();
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    await c.run(
      `CREATE TABLE t AS SELECT * FROM read_csv('${file.replace(/'/g, "''")}', delim=' ', header=true, auto_detect=false, columns={` +
        `'version':'INTEGER','account-id':'VARCHAR','interface-id':'VARCHAR','srcaddr':'VARCHAR','dstaddr':'VARCHAR','srcport':'VARCHAR','dstport':'VARCHAR',` +
        `'protocol':'VARCHAR','packets':'VARCHAR','bytes':'VARCHAR','start':'BIGINT','end':'BIGINT','action':'VARCHAR','log-status':'VARCHAR'})`,
    );
    c.closeSync();
    inst.closeSync();
    const s = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(c1);
    const inst2 = await DuckDBInstance.create(path.join(dir, 'peer.duckdb'));
    const c2 = await inst2.connect();
    lines = Number((await c2.runAndReadAll('SELECT count(*) FROM t')).getRowsJS()[0][0]);
    c2.closeSync();
    return { side, seconds: s, cpuSeconds: (cpu.user + cpu.system) / 1e6, lines, rssMB: process.resourceUsage().maxRSS / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The native-store side: v6scope's rows of FILE (Parquet made once in bench/work by an untimed
 * v6scope run) into a fresh file with the same tables, in SQL.
 */
async function nativeStore(DuckDBInstance, dir, file) {
  // Addresses as two UBIGINT halves: Parquet has no 128-bit integer (a plain COPY writes UHUGEINT as
  // DOUBLE, which loses the low bits — the first files made by this bench did, hence the new name).
  const parquet = path.join(root, 'bench/work', `${path.basename(file)}.v6scope-rows-v2.parquet`);
  const isAddr = (f) => f.kind === 'addr';
  const q = (n) => `"${n}"`;
  const dist = path.resolve(root, DIST);
  const { openDuckDBStore } = await import(`${dist}/store/duckdb/store.js`);
  const { FIELDS } = await import(`${dist}/schema/fields.js`);
  if (!existsSync(parquet)) {
    const { AwsIngester } = await import(`${dist}/pipeline/ingest-aws.js`);
    const { listLocal } = await import(`${dist}/sources/cloud/inputs.js`);
    const { AwsSummary } = await import(`${dist}/sources/cloud/summary.js`);
    const { LocalEnricher } = await import(`${dist}/enrich/local.js`);
    const made = path.join(dir, 'made.duckdb');
    const store = await openDuckDBStore({ path: made, rollupFlushMs: 0, rollupFlushRows: 1e12 });
    await new AwsIngester({ store, enricher: new LocalEnricher({ localPrefixes: [] }), dataDir: dir, summary: new AwsSummary() }).ingest(listLocal(file)[0]);
    await store.close();
    const i = await DuckDBInstance.create(made);
    const c = await i.connect();
    const out = FIELDS.map((f) => (isAddr(f) ? `(${q(f.name)} >> 64)::UBIGINT AS ${q(`${f.name}_hi`)}, (${q(f.name)} & 18446744073709551615::UHUGEINT)::UBIGINT AS ${q(`${f.name}_lo`)}` : q(f.name)));
    await c.run(`COPY (SELECT ${out.join(', ')} FROM raw) TO '${parquet.replace(/'/g, "''")}' (FORMAT parquet)`);
    c.closeSync();
    i.closeSync();
  }
  // the empty tables, made by the store itself
  const target = path.join(dir, 'native.duckdb');
  await (await openDuckDBStore({ path: target, rollupFlushMs: 0 })).close();
  const inst = await DuckDBInstance.create(target, { preserve_insertion_order: 'false', checkpoint_threshold: '64MB', autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const c = await inst.connect();
  const cols = FIELDS.map((f) => q(f.name)).join(', ');
  const values = FIELDS.map((f) => (isAddr(f) ? `(${q(`${f.name}_hi`)}::UHUGEINT << 64) | ${q(`${f.name}_lo`)}::UHUGEINT` : q(f.name))).join(', ');
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  // raw in SQL, as batch 1 not yet rolled up — what a crash after an append leaves ...
  await c.run(`INSERT INTO raw (${cols}, v6scope_batch) SELECT ${values}, 1::UBIGINT FROM read_parquet('${parquet.replace(/'/g, "''")}')`);
  c.closeSync();
  inst.closeSync();
  // ... which the store rolls up when it opens the file: its own roll-up statements, timed too
  await (await openDuckDBStore({ path: target, rollupFlushMs: 0 })).close();
  const s = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(c1);
  const inst2 = await DuckDBInstance.create(target);
  const c2 = await inst2.connect();
  const flows = Number((await c2.runAndReadAll('SELECT count(*) FROM raw')).getRowsJS()[0][0]);
  c2.closeSync();
  inst2.closeSync();
  return { side: 'native-store', seconds: s, cpuSeconds: (cpu.user + cpu.system) / 1e6, lines: flows, rssMB: process.resourceUsage().maxRSS / 1024 };
}

if (process.argv[2] === '--child') {
  const r = await child(process.argv[3], process.argv[4], process.argv[5]);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const file = path.resolve(positional[0] ?? 'bench/work/vpc-1m.log.gz');
const rounds = Number(positional[1] ?? 3);
const storeKind = positional[2] ?? 'duckdb';
const native = process.argv.includes('--native');
const inThread = process.argv.includes('--in-thread');
const res = { v6scope: [], peer: [], 'parse-only': [], 'native-store': [], 'in-thread': [] };
for (let i = 0; i < rounds; i++) {
  for (const side of ['v6scope', 'peer', 'parse-only', ...(inThread ? ['in-thread'] : []), ...(native ? ['native-store'] : [])]) {
    const p = spawnSync(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), here, '--child', side, file, storeKind], { encoding: 'utf8', cwd: root, maxBuffer: 1 << 24 });
    if (p.status !== 0) throw new Error(`${side}: ${p.stderr}`);
    const r = JSON.parse(p.stdout.trim().split('\n').pop());
    res[side].push(r);
    process.stderr.write(`round ${i + 1} ${side}: ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${Math.round(r.lines / r.seconds).toLocaleString('en')} lines/s, peak RSS ${r.rssMB.toFixed(0)} MB, load ${os.loadavg()[0].toFixed(1)}\n`);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const v = med(res.v6scope.map((r) => r.seconds));
const p = med(res.peer.map((r) => r.seconds));
const lines = res.v6scope[0].lines;
if (res.peer[0].lines !== lines) throw new Error(`line counts differ: v6scope ${lines}, read_csv ${res.peer[0].lines}`);
const out = {
  file,
  lines,
  rounds,
  v6scope: { seconds: v, linesPerSec: Math.round(lines / v), cpuSeconds: med(res.v6scope.map((r) => r.cpuSeconds)), peakRssMB: Math.round(Math.max(...res.v6scope.map((r) => r.rssMB))) },
  parseOnly: { seconds: med(res['parse-only'].map((r) => r.seconds)), linesPerSec: Math.round(lines / med(res['parse-only'].map((r) => r.seconds))), cpuSeconds: med(res['parse-only'].map((r) => r.cpuSeconds)), peakRssMB: Math.round(Math.max(...res['parse-only'].map((r) => r.rssMB))) },
  read_csv: { seconds: p, linesPerSec: Math.round(lines / p), cpuSeconds: med(res.peer.map((r) => r.cpuSeconds)), peakRssMB: Math.round(Math.max(...res.peer.map((r) => r.rssMB))) },
  ratio: Math.round((p / v) * 100) / 100,
  ...(inThread
    ? {
        inThread: { seconds: med(res['in-thread'].map((r) => r.seconds)), linesPerSec: Math.round(lines / med(res['in-thread'].map((r) => r.seconds))), cpuSeconds: med(res['in-thread'].map((r) => r.cpuSeconds)), peakRssMB: Math.round(Math.max(...res['in-thread'].map((r) => r.rssMB))) },
        inThreadRatio: Math.round((p / med(res['in-thread'].map((r) => r.seconds))) * 100) / 100,
      }
    : {}),
  ...(native
    ? {
        nativeStore: { flows: res['native-store'][0].lines, seconds: med(res['native-store'].map((r) => r.seconds)), flowsPerSec: Math.round(res['native-store'][0].lines / med(res['native-store'].map((r) => r.seconds))), cpuSeconds: med(res['native-store'].map((r) => r.cpuSeconds)) },
        ratioToNativeStore: Math.round((med(res['native-store'].map((r) => r.seconds)) / v) * 100) / 100,
      }
    : {}),
  load: os.loadavg().map((x) => x.toFixed(2)).join(' '),
};
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
