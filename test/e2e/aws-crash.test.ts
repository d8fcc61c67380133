/**
 * Crash safety of `aws ingest`: whatever moment the process dies at, a re-run stores every line
 * exactly once — objects not finished are read again, and the rows an interrupted run had already
 * stored for an object (its rows carry `log_object`) are not stored a second time.
 *
 * 1. Deterministic: a store that dies right after an append became durable (the worst moment: rows
 *    stored, nothing recorded), then a fresh ingester on the same data directory.
 * 2. A real `v6scope aws ingest` child process killed with SIGKILL during a multi-object ingest,
 *    then run again to completion.
 * 3. With the parse in its own thread and two appends outstanding: a COMMIT fails while the next
 *    batch of the object is already in the store's other transaction — that batch must not be
 *    committed (the stored rows stay a prefix), and a re-run resumes after them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEnricher } from '../../src/enrich/local.js';
import { ingestSourcesInThread } from '../../src/pipeline/aws-thread.js';
import { AwsIngester } from '../../src/pipeline/ingest-aws.js';
import { listLocal } from '../../src/sources/cloud/inputs.js';
import { loadSummary } from '../../src/sources/cloud/summary.js';
import type { FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import type { FlowStore } from '../../src/store/store.js';
import { CLI, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-aws-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_764_590_400;
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

interface Truth {
  flows: [number, number];
  bytes: [number, number];
  nodata: number;
}

/** A tree of `objects` gzip objects in the S3 key layout, `lines` records each, with ground truth. */
function makeTree(root: string, objects: number, lines: number): Truth {
  const t: Truth = { flows: [0, 0], bytes: [0, 0], nodata: 0 };
  for (let o = 0; o < objects; o++) {
    const out = [HEADER];
    for (let i = 0; i < lines; i++) {
      if (i % 500 === 499) {
        out.push(`2 123456789012 eni-0${o} - - - - - - - ${T0 + i} ${T0 + i + 60} - NODATA`);
        t.nodata++;
        continue;
      }
      const six = (i + o) % 3 === 0;
      const src = six ? `2600:1f18:${o}::${(i % 4000).toString(16)}` : `10.0.${o}.${i % 250}`;
      const dst = six ? '3fff::10' : '203.0.113.12';
      const bytes = 40 + ((i * 13 + o) % 1400);
      out.push(`2 123456789012 eni-0${o} ${src} ${dst} ${1024 + (i % 60000)} 443 6 1 ${bytes} ${T0 + (i % 3600)} ${T0 + (i % 3600) + 60} ACCEPT OK`);
      const fi = six ? 1 : 0;
      t.flows[fi]++;
      t.bytes[fi] += bytes;
    }
    const key = `AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/12/01/123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20251201T12${String(o).padStart(2, '0')}Z_h${o}.log.gz`;
    mkdirSync(path.dirname(path.join(root, key)), { recursive: true });
    writeFileSync(path.join(root, key), gzipSync(`${out.join('\n')}\n`));
  }
  return t;
}

async function storedTotals(store: FlowStore): Promise<Truth> {
  const r = await store.query({ since: 0, until: Number.MAX_SAFE_INTEGER, groupBy: [{ field: 'family' }], metrics: ['flows', 'bytes'] });
  const t: Truth = { flows: [0, 0], bytes: [0, 0], nodata: 0 };
  for (const row of r.rows) {
    const fi = Number(row.family) === 6 ? 1 : 0;
    t.flows[fi] += Number(row.flows);
    t.bytes[fi] += Number(row.bytes);
  }
  return t;
}

class Crash extends Error {}

describe('aws ingest: crash safety', () => {
  it('a crash right after a durable append, mid-object: the re-run stores the rest, nothing twice', async () => {
    const tree = path.join(dir, 'tree-a');
    const truth = makeTree(tree, 3, 5000);
    const data = path.join(dir, 'data-a');
    const store = await openDuckDBStore({ path: path.join(dir, 'a.duckdb') });
    try {
      // Run 1: 4,990 flows per object, 1,000 rows per append: the 7th append (the second of the
      // second object) reaches the store, then the process "dies" before anything else happens.
      let appends = 0;
      const dying: FlowStore = {
        kind: store.kind,
        append: async (b: readonly FlowRecord[]) => {
          await store.append(b);
          if (++appends === 7) throw new Crash('killed');
        },
        query: (q) => store.query(q),
        timeRange: () => store.timeRange(),
        applyRetention: (n) => store.applyRetention(n),
        tables: () => store.tables(),
        close: async () => undefined,
      };
      const ing1 = new AwsIngester({ store: dying, enricher: new LocalEnricher(), dataDir: data, summary: loadSummary(data), batchSize: 1000 });
      await expect(
        (async () => {
          for (const o of listLocal(tree)) {
            await ing1.ingest(o);
            ing1.save();
          }
        })(),
      ).rejects.toThrow(Crash);
      const partial = await storedTotals(store);
      expect(partial.flows[0] + partial.flows[1]).toBe(4990 + 2000);
      // The first object is done (saved); the second is started but not done.
      expect(Object.keys(loadSummary(data).objects)).toHaveLength(1);

      // Run 2: a new process on the same data directory.
      const summary = loadSummary(data);
      const ing2 = new AwsIngester({ store, enricher: new LocalEnricher(), dataDir: data, summary, batchSize: 1000 });
      const results = [];
      for (const o of listLocal(tree)) results.push(await ing2.ingest(o));
      ing2.save();
      expect(results.map((r) => r.skipped)).toEqual([true, false, false]);
      // The second object resumes after the 2,000 of its rows the first run stored.
      expect(results[1]!.resumedAfter).toBe(2000);
      expect(results[2]!.resumedAfter).toBe(0);
      expect(await storedTotals(store)).toEqual({ ...truth, nodata: 0 });
      // The side aggregate (from state.json) is exact too: every object counted once.
      const s = loadSummary(data);
      expect(Object.values(s.status).reduce((a, b) => a + b, 0)).toBe(truth.nodata);
      expect((s.unique['vpc|4']?.flows ?? 0) + (s.unique['vpc|6']?.flows ?? 0)).toBe(truth.flows[0] + truth.flows[1]);
      // Nothing left in the start journal once every object is done.
      expect(readFileSync(path.join(data, 'aws/journal.jsonl'), 'utf8').trim()).toBe('');
    } finally {
      await store.close();
    }
  });

  it('SIGKILL during a multi-object ingest, then a re-run: every line stored exactly once', async () => {
    const tree = path.join(dir, 'tree-b');
    const truth = makeTree(tree, 6, 20_000);
    const data = path.join(dir, 'data-b');
    const env = { ...process.env, V6SCOPE_AWS_BATCH_ROWS: '2000' };
    const child = spawn(process.execPath, [CLI, '--data', data, '--quiet', 'aws', 'ingest', tree], { env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, sig) => resolve(sig ?? code)));
    let done = false;
    void exited.then(() => (done = true));
    // Kill once the second object has been started (its start record is fsynced before its rows).
    const journal = path.join(data, 'aws/journal.jsonl');
    while (!done) {
      if (existsSync(journal) && readFileSync(journal, 'utf8').split('\n').filter(Boolean).length >= 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    if (!done) child.kill('SIGKILL');
    const how = await exited;
    if (!done) expect(how).toBe('SIGKILL');

    const r = await runCli(['--data', data, '--json', 'aws', 'ingest', tree]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse((await runCli(['--data', data, '--json', 'aws', 'report'])).stdout);
    const share = (p: [number, number]) => p[1] / (p[0] + p[1]);
    expect(rep.flowLogs.all.flows).toEqual({ v4: truth.flows[0], v6: truth.flows[1], share: share(truth.flows) });
    expect(rep.flowLogs.all.bytes).toEqual({ v4: truth.bytes[0], v6: truth.bytes[1], share: share(truth.bytes) });
    expect(rep.flowLogs.nodata).toBe(truth.nodata);
    expect(rep.flowLogs.unique.flows.v4 + rep.flowLogs.unique.flows.v6).toBe(truth.flows[0] + truth.flows[1]);
    // A third run has nothing to do.
    const again = JSON.parse((await runCli(['--data', data, '--json', 'aws', 'ingest', tree])).stdout);
    expect(again.ingested).toBe(0);
  });

  it('parse thread, two appends outstanding: a failed COMMIT keeps the next batch out; the re-run resumes after the prefix', async () => {
    const tree = path.join(dir, 'tree-c');
    const truth = makeTree(tree, 2, 5000);
    const data = path.join(dir, 'data-c');
    const store = await openDuckDBStore({ path: path.join(dir, 'c.duckdb') });
    expect(store.appendDepth).toBe(2);
    type Conn = { run: (sql: string, ...a: unknown[]) => Promise<unknown>; createAppender: (...a: unknown[]) => Promise<{ closeSync: () => void }> };
    const conns = (store as unknown as { appendConns: Conn[] }).appendConns;
    const saved = conns.map((c) => ({ run: c.run, createAppender: c.createAppender }));
    let commits = 0;
    let filled = 0;
    let failedAfterFilled = -1;
    for (const c of conns) {
      const run = c.run.bind(c);
      const create = c.createAppender.bind(c);
      c.createAppender = async (...a) => {
        const app = await create(...a);
        const close = app.closeSync.bind(app);
        app.closeSync = () => {
          close();
          filled++;
        };
        return app;
      };
      // The third batch's COMMIT fails once the fourth batch is in the other transaction.
      c.run = async (sql, ...a) => {
        if (sql === 'COMMIT' && ++commits === 3) {
          for (let t = 0; t < 10_000 && filled < 4; t += 5) await new Promise((r) => setTimeout(r, 5));
          failedAfterFilled = filled;
          throw new Error('injected COMMIT failure');
        }
        return run(sql, ...a);
      };
    }
    try {
      const job = { sources: [tree], dataDir: data, localPrefixes: [], batchSize: 1000 };
      await expect(ingestSourcesInThread(job, store)).rejects.toThrow('injected COMMIT failure');
      expect(failedAfterFilled).toBe(4);
      // batches 1 and 2 of the first object, not its 4th (written, then rolled back)
      const partial = await storedTotals(store);
      expect(partial.flows[0] + partial.flows[1]).toBe(2000);
      expect(Object.keys(loadSummary(data).objects)).toHaveLength(0);

      conns.forEach((c, i) => Object.assign(c, saved[i]));
      const results = await ingestSourcesInThread(job, store);
      // the thread asked the store (through the calling thread) how many rows the object has
      expect(results.map((r) => r.resumedAfter)).toEqual([2000, 0]);
      expect(results.every((r) => !r.error)).toBe(true);
      expect(await storedTotals(store)).toEqual({ ...truth, nodata: 0 });
      const s = loadSummary(data);
      expect(Object.values(s.status).reduce((a, b) => a + b, 0)).toBe(truth.nodata);
      expect((s.unique['vpc|4']?.flows ?? 0) + (s.unique['vpc|6']?.flows ?? 0)).toBe(truth.flows[0] + truth.flows[1]);
    } finally {
      await store.close();
    }
  });
});
