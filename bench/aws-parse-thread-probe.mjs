#!/usr/bin/env node
/**
 * Probe (issue 6): how fast would the VPC ingest be with the parse in a thread of its own, beside
 * the store? Not the product's code path: the unchanged `AwsIngester` runs in a worker thread with a
 * store that posts each columnar batch (buffers transferred) to the main thread, which appends
 * them into a DuckDB store with up to `appendDepth` (2) appends outstanding, then closes the store
 * (final roll-up). The worker may parse one batch ahead of what the main thread has taken.
 * Compare with `bench/aws-vpc-ingest.mjs` (the real path) in the same session.
 *
 *   npm run build && node bench/aws-parse-thread-probe.mjs bench/work/vpc-1m.log.gz [rounds=1]
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';

const DIST = path.resolve(process.env.DIST ?? 'dist');

if (!isMainThread) {
  const { file, dir } = workerData;
  const { AwsIngester } = await import(`${DIST}/pipeline/ingest-aws.js`);
  const { listLocal } = await import(`${DIST}/sources/cloud/inputs.js`);
  const { AwsSummary } = await import(`${DIST}/sources/cloud/summary.js`);
  const { LocalEnricher } = await import(`${DIST}/enrich/local.js`);
  let ack = null;
  parentPort.on('message', () => ack?.());
  const post = {
    kind: 'post',
    append: async () => {
      throw new Error('records are not expected');
    },
    appendColumnar: (ranges) =>
      new Promise((resolve) => {
        ack = resolve;
        const msgs = ranges.map((r) => ({ n: r.batch.n, from: r.from, to: r.to, cols: r.batch.cols, dicts: r.batch.dicts }));
        parentPort.postMessage({ t: 'batch', ranges: msgs }, ranges.flatMap((r) => r.batch.cols.map((c) => c.buffer)));
      }),
    query: async () => ({ rows: [] }),
    close: async () => {},
  };
  const ing = new AwsIngester({ store: post, enricher: new LocalEnricher({ localPrefixes: [] }), dataDir: dir, summary: new AwsSummary() });
  const r = await ing.ingest(listLocal(file)[0]);
  parentPort.postMessage({ t: 'done', lines: r.lines, flows: r.flows, error: r.error ?? null });
} else {
  const file = process.argv[2];
  const rounds = Number(process.argv[3] ?? 1);
  const { openDuckDBStore } = await import(`${DIST}/store/duckdb/store.js`);
  for (let round = 1; round <= rounds; round++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-parse-thread-'));
    const store = await openDuckDBStore({ path: path.join(dir, 'flows.duckdb') });
    const depth = store.appendDepth ?? 1;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const worker = new Worker(new URL(import.meta.url), { workerData: { file, dir } });
    const inFlight = [];
    let chain = Promise.resolve();
    let appended = 0;
    const done = new Promise((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (m) => {
        if (m.t === 'done') return resolve(m);
        // in arrival order: wait for a free slot, hand the batch over, then let the worker go on
        chain = chain.then(async () => {
          while (inFlight.length >= depth) await inFlight.shift();
          const ranges = m.ranges.map((r) => ({ batch: { n: r.n, cols: r.cols, dicts: r.dicts }, from: r.from, to: r.to }));
          const p = store.appendColumnar(ranges);
          p.catch(() => undefined);
          inFlight.push(p);
          appended += ranges.reduce((a, r) => a + r.to - r.from, 0);
          worker.postMessage('ack');
        });
      });
    });
    const res = await done;
    await chain;
    await Promise.all(inFlight);
    const t1 = performance.now();
    await store.close();
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    await worker.terminate();
    console.log(JSON.stringify({ round, lines: res.lines, flows: res.flows, appended, error: res.error, ingestS: +((t1 - t0) / 1000).toFixed(2), closeS: +((t2 - t1) / 1000).toFixed(2), wallS: +((t2 - t0) / 1000).toFixed(2), cpuS: +((c.user + c.system) / 1e6).toFixed(2), linesPerSec: Math.round(res.lines / ((t2 - t0) / 1000)) }));
    rmSync(dir, { recursive: true, force: true });
  }
}
