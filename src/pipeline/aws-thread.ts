/**
 * `aws ingest`'s job over its sources (files, directories, s3:// prefixes), run in the calling
 * thread (`ingestSources`) or with the parse in a thread of its own (`ingestSourcesInThread`).
 *
 * The parse thread runs the whole per-object loop of `AwsIngester` (S3 listing and reading, gunzip,
 * the byte parser, the side aggregate and its dedup window, enrichment, the start journal and
 * DATA/aws/state.json); the calling thread keeps the store. Each columnar batch crosses with its
 * buffers transferred (no copy), the store appends it with up to its `appendDepth` appends
 * outstanding, and the parse thread fills the next batch meanwhile: on 2 cores the parse and the
 * store's own work (its appender, DuckDB's compression and commit) no longer take turns on one
 * thread (bench/RESULTS.md, "VPC ingest with the parse in a thread of its own").
 *
 * Crash safety is the in-thread one: the parse thread fsyncs an object's start record before it
 * sends the object's first batch, and each batch after the first is appended with `after` = the
 * batch before it, so the rows stored for an object stay a prefix of its records.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LocalEnricher } from '../enrich/local.js';
import { decodeBatch, encodeBatch, type ColumnarBatch } from '../collect/flow-batch.js';
import type { FlowRecord } from '../schema/fields.js';
import { listLocal, listS3, s3Client, type LogKind, type LogObject, type S3Options } from '../sources/cloud/inputs.js';
import { loadSummary } from '../sources/cloud/summary.js';
import type { Query, QueryResult } from '../store/query.js';
import type { ColumnarRange, FlowStore } from '../store/store.js';
import { AwsIngester, type IngestStore, type ObjectResult } from './ingest-aws.js';

/** What `aws ingest` was asked to do (plain data: it is posted to the parse thread). */
export interface AwsIngestJob {
  sources: string[];
  dataDir: string;
  kind?: LogKind;
  format?: string;
  force?: boolean;
  /** Rows per store append (default 122,880). */
  batchSize?: number;
  /** Local prefixes for the direction of logs without `flow-direction`. */
  localPrefixes: string[];
  s3?: S3Options;
}

export interface AwsIngestEvents {
  /** A source is about to be read; `totalBytes` when its objects are known up front (local). */
  onSource?(src: string, totalBytes: number | undefined): void;
  /** Within the object being read: its compressed bytes and lines so far (at most ~10 per second). */
  onProgress?(bytes: number, lines: number): void;
  /** An object is done (ingested, skipped, or failed: `r.error`). */
  onObject?(r: ObjectResult, size: number): void;
  onSourceEnd?(src: string): void;
  /** A malformed line (the first few per object), as `file:line: reason`. */
  onWarning?(text: string): void;
}

const PROGRESS_MS = 100;

/** The job in the calling thread, against `store`; DATA/aws/state.json is saved at the end. */
export async function ingestSources(job: AwsIngestJob, store: IngestStore, ev: AwsIngestEvents = {}): Promise<ObjectResult[]> {
  let lastProgress = 0;
  const ing = new AwsIngester({
    store,
    enricher: new LocalEnricher({ localPrefixes: job.localPrefixes }),
    dataDir: job.dataDir,
    summary: loadSummary(job.dataDir),
    kind: job.kind,
    format: job.format,
    force: job.force,
    batchSize: job.batchSize,
    onWarning: (m) => ev.onWarning?.(m),
    onProgress: (bytes, lines) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_MS) return;
      lastProgress = now;
      ev.onProgress?.(bytes, lines);
    },
  });
  const results: ObjectResult[] = [];
  try {
    for (const src of job.sources) {
      const objects: AsyncIterable<LogObject> | LogObject[] = src.startsWith('s3://') ? listS3(src, await s3Client(job.s3)) : listLocal(src);
      ev.onSource?.(src, Array.isArray(objects) ? objects.reduce((s, o) => s + o.size, 0) : undefined);
      for await (const o of objects) {
        const r = await ing.ingest(o);
        results.push(r);
        ev.onObject?.(r, o.size);
      }
      ev.onSourceEnd?.(src);
    }
  } finally {
    // What was ingested before a failure is recorded too (a re-run skips it).
    ing.save();
  }
  return results;
}

/** A columnar range as posted (its batch's buffers go in the transfer list). */
interface PostedRange {
  n: number;
  from: number;
  to: number;
  cols: ColumnarBatch['cols'];
  dicts: ColumnarBatch['dicts'];
}

/** Parse thread → calling thread. */
export type FromParser =
  | { t: 'append'; id: number; chained: boolean; ranges: PostedRange[] }
  | { t: 'query'; id: number; q: Query }
  | { t: 'source'; src: string; total: number | undefined }
  | { t: 'progress'; bytes: number; lines: number }
  | { t: 'object'; r: ObjectResult; size: number }
  | { t: 'sourceEnd'; src: string }
  | { t: 'warning'; text: string }
  /** Every object's result was sent before ('object'), in order. */
  | { t: 'done' }
  | { t: 'failed'; message: string };

/** Calling thread → parse thread. */
export type ToParser = { t: 'appended'; id: number; error?: string } | { t: 'queried'; id: number; result?: QueryResult; error?: string };

/** What the parse thread gets as workerData. */
export interface ParserInit {
  job: AwsIngestJob;
  appendDepth: number;
}

/** aws-ingest-worker.js beside this module; when running from TypeScript sources (tests), the built one in dist/. */
export function defaultParserUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/pipeline/aws-ingest-worker.js', here);
  return new URL('./aws-ingest-worker.js', here);
}

/**
 * The job with the parse in a thread of its own, against `store` (which stays in this thread).
 * Resolves with every object's result once the thread has saved DATA/aws/state.json; rejects when
 * the thread fails (a listing or store failure: what was stored before it is recorded).
 */
export function ingestSourcesInThread(job: AwsIngestJob, store: FlowStore, ev: AwsIngestEvents = {}, workerUrl: URL = defaultParserUrl()): Promise<ObjectResult[]> {
  if (workerUrl.protocol === 'file:' && !existsSync(fileURLToPath(workerUrl))) {
    return Promise.reject(new Error(`AWS parse thread not found: ${fileURLToPath(workerUrl)} (npm run build)`));
  }
  const init: ParserInit = { job, appendDepth: Math.max(1, store.appendDepth ?? 1) };
  const worker = new Worker(workerUrl, { workerData: init });
  /** The last append made for the thread (the one a `chained` append depends on). */
  let lastAppend: Promise<void> | undefined;
  /** Appends still outstanding (the thread has at most `appendDepth`): awaited before resolving. */
  const outstanding = new Set<Promise<unknown>>();
  const reply = (m: ToParser): void => worker.postMessage(m);
  return new Promise<ObjectResult[]>((resolve, reject) => {
    let settled = false;
    /** Every object's result, as the thread reports them. */
    const results: ObjectResult[] = [];
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      // The store must not be closed under an append still running.
      void Promise.allSettled([...outstanding]).then(async () => {
        await worker.terminate();
        if (err) reject(err);
        else resolve(results);
      });
    };
    worker.on('error', (e) => finish(new Error(`AWS parse thread: ${e.message}`)));
    worker.on('exit', (code) => finish(new Error(`AWS parse thread exited (code ${code}) before it was done`)));
    worker.on('message', (m: FromParser) => {
      switch (m.t) {
        case 'append': {
          const ranges: ColumnarRange[] = m.ranges.map((r) => ({ batch: { cols: r.cols, dicts: r.dicts }, from: r.from, to: r.to }));
          const after = m.chained ? lastAppend : undefined;
          if (m.chained && after === undefined) {
            finish(new Error('AWS parse thread: a chained append without an earlier one'));
            return;
          }
          let p: Promise<void>;
          if (store.appendColumnar) p = store.appendColumnar(ranges, undefined, after);
          else {
            // A store without columnar appends takes records (its depth is 1: `after` has settled).
            const records: FlowRecord[] = [];
            for (const r of m.ranges) records.push(...decodeBatch({ n: r.to, cols: r.cols, dicts: r.dicts }).slice(r.from, r.to));
            p = (after ?? Promise.resolve()).then(() => store.append(records));
          }
          lastAppend = p;
          const tracked = p.then(
            () => reply({ t: 'appended', id: m.id }),
            (e: unknown) => reply({ t: 'appended', id: m.id, error: (e as Error).message ?? String(e) }),
          );
          outstanding.add(tracked);
          void tracked.finally(() => outstanding.delete(tracked));
          return;
        }
        case 'query': {
          store.query(m.q).then(
            (result) => reply({ t: 'queried', id: m.id, result }),
            (e: unknown) => reply({ t: 'queried', id: m.id, error: (e as Error).message ?? String(e) }),
          );
          return;
        }
        case 'source':
          ev.onSource?.(m.src, m.total);
          return;
        case 'progress':
          ev.onProgress?.(m.bytes, m.lines);
          return;
        case 'object':
          results.push(m.r);
          ev.onObject?.(m.r, m.size);
          return;
        case 'sourceEnd':
          ev.onSourceEnd?.(m.src);
          return;
        case 'warning':
          ev.onWarning?.(m.text);
          return;
        case 'done':
          finish(null);
          return;
        case 'failed':
          finish(new Error(m.message));
          return;
      }
    });
  });
}

/**
 * The parse thread's view of the store in the calling thread: every append and query is posted;
 * an append resolves once the calling thread's store has made it durable.
 */
export class RemoteStore implements IngestStore {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  /** The promise of the last append sent (an `after` may only name it). */
  private lastSent: Promise<void> | undefined;

  constructor(
    private readonly post: (m: FromParser, transfer?: ArrayBuffer[]) => void,
    readonly appendDepth: number,
  ) {}

  /** A reply from the calling thread. */
  onMessage(m: ToParser): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    if (m.error !== undefined) w.reject(new Error(m.error));
    else w.resolve((m.t === 'queried' ? m.result : undefined) as never);
  }

  private call<T>(make: (id: number) => { m: FromParser; transfer?: ArrayBuffer[] }): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: never) => void, reject });
      const { m, transfer } = make(id);
      this.post(m, transfer);
    });
  }

  appendColumnar(ranges: readonly ColumnarRange[], onWritten?: () => void, after?: Promise<unknown>): Promise<void> {
    // The buffers move to the calling thread (detached here): there is nothing to hand back early.
    if (onWritten) return Promise.reject(new Error('RemoteStore: onWritten is not supported (the column buffers move to the store thread)'));
    if (after !== undefined && after !== this.lastSent) return Promise.reject(new Error('RemoteStore: `after` must be the append sent just before'));
    // The batches' buffers move to the calling thread: the caller reads them no more.
    const buffers = new Set<ArrayBuffer>();
    const posted: PostedRange[] = ranges.map((r) => {
      for (const c of r.batch.cols) buffers.add(c.buffer as ArrayBuffer);
      return { n: r.to, from: r.from, to: r.to, cols: r.batch.cols as ColumnarBatch['cols'], dicts: r.batch.dicts as ColumnarBatch['dicts'] };
    });
    const p = this.call<void>((id) => ({ m: { t: 'append', id, chained: after !== undefined, ranges: posted }, transfer: [...buffers] }));
    this.lastSent = p;
    return p;
  }

  append(batch: readonly FlowRecord[]): Promise<void> {
    const { batch: b } = encodeBatch(batch);
    return this.appendColumnar([{ batch: b, from: 0, to: b.n }]);
  }

  query(q: Query): Promise<QueryResult> {
    return this.call<QueryResult>((id) => ({ m: { t: 'query', id, q } }));
  }
}
