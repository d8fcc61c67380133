/**
 * The store writer: flows are gathered into batches written when they reach `maxFlows` or when
 * their oldest flow has waited `maxDelayMs`, whichever comes first. One append runs at a time (a
 * store with `appendDepth` 2, DuckDB, takes the next columnar batch while the previous commits);
 * sealed batches wait in a bounded queue, so the collectors keep receiving while the store is busy.
 * When the queue is full the new batch is dropped — counted (batches, flows) and reported on
 * stderr at most every 10 s, never silent. A failed append is counted too (flows lost).
 *
 * Flows from the collector threads stay columnar: a batch of only such rows is enriched in place
 * and handed to a store that takes columnar rows (`appendColumnar`: DuckDB) without ever becoming
 * records; for other stores, or a batch that also holds records, they become records when their
 * turn comes.
 *
 * A store with an `appendUnit` (DuckDB: its row group, 122,880 rows) gets batches of a multiple of
 * it: `maxFlows` is rounded down to one when it is at least one unit, so at high rates every
 * append is made of whole row groups (written straight to the file, not through the WAL).
 *
 * The queue is bounded in batches, in flows and in memory. Waiting columnar flows count the bytes
 * of their batch's varying columns (at most COLUMNAR_ROW_BYTES; a constant column counts 16 bytes
 * once per collector batch), flows handed over as records (live capture) RECORD_BYTES each. So the
 * same memory holds ~5x more columnar flows — time to ride out DuckDB's checkpoints (commits of
 * ~1 s every few seconds at 100k flows/s).
 */
import type { LocalEnricher } from '../enrich/local.js';
import { FIELDS, type FlowRecord } from '../schema/fields.js';
import type { FlowStore } from '../store/store.js';
import { COLUMN_BYTES, batchBytes, decodeBatchInto, type ColumnarBatch } from './flow-batch.js';

/** Rows from..to of a columnar batch (from the collector worker), turned into records only when written. */
interface ColRange {
  batch: ColumnarBatch;
  from: number;
  to: number;
}

/** A batch being filled or waiting: records, and columnar rows not yet turned into records. */
interface Pending {
  records: FlowRecord[];
  cols: ColRange[];
  n: number;
  /** Memory it is counted as (per columnar row its batch's bytes per row, RECORD_BYTES per record). */
  bytes: number;
  /** Its columnar rows are records now and the batch is enriched: ready to append. */
  ready: boolean;
}

const newPending = (): Pending => ({ records: [], cols: [], n: 0, bytes: 0, ready: false });

/** Bytes of one row of a columnar batch whose columns all vary, the most a row takes (flow-batch.ts: one typed-array element per field). */
export const COLUMNAR_ROW_BYTES = FIELDS.reduce((a, f) => a + COLUMN_BYTES[f.kind], 0);
/**
 * Bytes a waiting record is counted as: a decoded record measured 820 bytes of V8 heap (34
 * properties, two 16-byte addresses); enrichment adds names — rounded up.
 */
export const RECORD_BYTES = 1024;

export interface StoreWriterOptions {
  store: FlowStore;
  enricher?: LocalEnricher;
  maxFlows: number;
  maxDelayMs: number;
  /** Sealed batches that may wait for the store (beyond the one being written). */
  maxPending: number;
  /** Flows that may wait in those batches (default: no limit). */
  maxPendingFlows?: number;
  /** Memory those batches may take, bytes (default: no limit); see COLUMNAR_ROW_BYTES and RECORD_BYTES. */
  maxPendingBytes?: number;
  /** Where overload and store errors are reported (default stderr). Set to null for none. */
  warn?: ((line: string) => void) | null;
}

export interface StoreWriterStats {
  /** Flows handed to the writer. */
  received: number;
  /** Flows stored (appends that resolved). */
  stored: number;
  batchesStored: number;
  /**
   * Batches (flows) dropped because the queue was full: overload. Includes the batches the collector
   * worker dropped because the main thread had not taken its earlier ones yet (countDropped).
   */
  droppedBatches: number;
  droppedFlows: number;
  /** Appends that failed (flows lost), and the last error. */
  failedBatches: number;
  failedFlows: number;
  lastError: string | null;
  /** Batches waiting now, and the most that ever waited. */
  pending: number;
  /** Flows waiting now, and the memory they are counted as (bytes). */
  pendingFlows: number;
  pendingBytes: number;
  maxPendingSeen: number;
  /** Flows in the batch being filled. */
  filling: number;
  /** Time spent in store appends, ms, and the slowest one. */
  appendMs: number;
  slowestAppendMs: number;
}

export class StoreWriter {
  private current: Pending = newPending();
  private currentSince = 0;
  private readonly queue: Pending[] = [];
  private queuedFlows = 0;
  private queuedBytes = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastWarn = 0;
  private idleWaiters: (() => void)[] = [];
  /**
   * Columnar batches → row ranges of them not yet written (copied by the store: `onWritten`), failed
   * or dropped (plus one while addColumnar splits a batch). Ranges turned into records are never
   * released: the records' addresses are views into the batch.
   */
  private readonly refs = new WeakMap<ColumnarBatch, number>();
  /** Set while drain waits for an append with nothing queued: a sealed batch wakes it. */
  private wake: (() => void) | null = null;
  readonly st: StoreWriterStats = {
    received: 0,
    stored: 0,
    batchesStored: 0,
    droppedBatches: 0,
    droppedFlows: 0,
    failedBatches: 0,
    failedFlows: 0,
    lastError: null,
    pending: 0,
    pendingFlows: 0,
    pendingBytes: 0,
    maxPendingSeen: 0,
    filling: 0,
    appendMs: 0,
    slowestAppendMs: 0,
  };
  private readonly warn: ((line: string) => void) | null;

  /** Flows per batch: `maxFlows`, rounded down to a multiple of the store's `appendUnit` when at least one. */
  readonly maxFlows: number;

  constructor(private readonly opts: StoreWriterOptions) {
    const unit = opts.store.appendUnit ?? 0;
    this.maxFlows = unit > 0 && opts.maxFlows >= unit ? Math.floor(opts.maxFlows / unit) * unit : opts.maxFlows;
    this.warn = opts.warn === undefined ? (l) => process.stderr.write(`v6scope: ${l}\n`) : opts.warn;
    const tick = Math.max(5, Math.min(opts.maxDelayMs / 4, 250));
    this.timer = setInterval(() => this.checkDelay(), tick);
    this.timer.unref?.();
  }

  /** Count `n` flows handed over; false when there is nothing to add (none, or closed: counted as dropped). */
  private admit(n: number): boolean {
    if (n === 0) return false;
    if (this.closed) {
      this.st.droppedFlows += n;
      return false;
    }
    this.st.received += n;
    return true;
  }

  /** Hand flows over (the array is not kept; its records are). */
  add(records: readonly FlowRecord[]): void {
    const n = records.length;
    if (!this.admit(n)) return;
    const max = this.maxFlows;
    let cur = this.current;
    if (cur.n === 0) this.currentSince = Date.now();
    for (let i = 0; i < n; i++) {
      cur.records.push(records[i]!);
      cur.bytes += RECORD_BYTES;
      if (++cur.n >= max) {
        this.seal();
        cur = this.current;
        if (i + 1 < n) this.currentSince = Date.now();
      }
    }
  }

  /**
   * Hand over a columnar batch (the collector worker's). It is kept columnar — a few hundred bytes
   * per flow instead of a ~2 kB record — and turned into records only when its turn to be written
   * comes, so a batch dropped for overload costs nothing more.
   */
  addColumnar(batch: ColumnarBatch): void {
    const n = batch.n;
    if (!this.admit(n)) {
      batch.release?.();
      return;
    }
    const max = this.maxFlows;
    const { perRow, once: constants } = batchBytes(batch);
    let once = constants; // counted with the first range
    // One reference per row range, and one held here until every range exists (a range may be
    // dropped, and so released, before the next one is made).
    this.refs.set(batch, 1);
    let i = 0;
    while (i < n) {
      const cur = this.current;
      if (cur.n === 0) this.currentSince = Date.now();
      const take = Math.min(n - i, max - cur.n);
      cur.cols.push({ batch, from: i, to: i + take });
      this.refs.set(batch, this.refs.get(batch)! + 1);
      cur.n += take;
      cur.bytes += take * perRow + once;
      once = 0;
      i += take;
      if (cur.n >= max) this.seal();
    }
    this.unref(batch);
  }

  /** One reference to `batch` fewer; at none, the batch is released (its buffers may be reused). */
  private unref(batch: ColumnarBatch): void {
    const k = (this.refs.get(batch) ?? 1) - 1;
    if (k > 0) {
      this.refs.set(batch, k);
      return;
    }
    this.refs.delete(batch);
    batch.release?.();
  }

  /** The row ranges of a batch that was written, failed or dropped: nothing reads them any more. */
  private releaseRanges(ranges: readonly ColRange[]): void {
    for (const r of ranges) this.unref(r.batch);
  }

  /**
   * Flows dropped before they reached the writer because its thread was behind (the collector
   * worker's bounded hand-off): counted as received and dropped, like a batch the full queue refused.
   */
  countDropped(flows: number, batches: number): void {
    if (flows <= 0 && batches <= 0) return;
    this.st.received += flows;
    this.st.droppedFlows += flows;
    this.st.droppedBatches += batches;
    this.warnOverload();
  }

  private warnOverload(): void {
    const now = Date.now();
    if (this.warn && now - this.lastWarn >= 10_000) {
      this.lastWarn = now;
      this.warn(`store writer overloaded: dropped ${this.st.droppedBatches} batches (${this.st.droppedFlows} flows) so far; the store is slower than the flows arriving`);
    }
  }

  stats(): StoreWriterStats {
    return { ...this.st, pending: this.queue.length, pendingFlows: this.queuedFlows, pendingBytes: this.queuedBytes, filling: this.current.n };
  }

  private checkDelay(): void {
    if (this.current.n > 0 && Date.now() - this.currentSince >= this.opts.maxDelayMs) this.seal();
  }

  /** Close the batch being filled and queue it (or drop it when the queue is full). */
  private seal(): void {
    const b = this.current;
    if (b.n === 0) return;
    this.current = newPending();
    const full =
      this.queue.length >= this.opts.maxPending ||
      this.queuedFlows + b.n > (this.opts.maxPendingFlows ?? Infinity) ||
      this.queuedBytes + b.bytes > (this.opts.maxPendingBytes ?? Infinity);
    if (full && this.writing) {
      this.st.droppedBatches++;
      this.st.droppedFlows += b.n;
      this.warnOverload();
      this.releaseRanges(b.cols);
      return;
    }
    this.queue.push(b);
    this.queuedFlows += b.n;
    this.queuedBytes += b.bytes;
    if (this.queue.length > this.st.maxPendingSeen) this.st.maxPendingSeen = this.queue.length;
    if (!this.writing) this.writing = this.drain();
    else this.wake?.();
  }

  /**
   * Turn a batch's columnar rows into records and enrich it. `sliced`: yield to the event loop
   * between the collector's batches (a few thousand rows each), so that the append in flight gets
   * its turns — this runs while that append's commit keeps the thread otherwise idle.
   */
  private async prepare(p: Pending, sliced: boolean): Promise<void> {
    if (p.ready) return;
    for (const c of p.cols) {
      decodeBatchInto(c.batch, c.from, c.to, p.records);
      if (sliced) await new Promise<void>((r) => setImmediate(r));
    }
    p.cols = [];
    this.opts.enricher?.enrich(p.records);
    p.ready = true;
  }

  private async drain(): Promise<void> {
    const st = this.opts.store;
    // Columnar appends to a store that takes more than one before the first is durable
    // (FlowStore.appendDepth): the next batch is handed over while the previous one commits.
    const depth = Math.max(1, st.appendDepth ?? 1);
    const inFlight: Promise<void>[] = [];
    while (this.queue.length > 0 || inFlight.length > 0) {
      if (this.queue.length === 0) {
        // wait for the oldest append, or for a batch to hand over meanwhile (then it goes now)
        const head = inFlight[0]!;
        const settled = await Promise.race([head.then(() => true), new Promise<boolean>((r) => (this.wake = () => r(false)))]);
        this.wake = null;
        if (settled) inFlight.shift();
        continue;
      }
      const p = this.queue.shift()!;
      this.queuedFlows -= p.n;
      this.queuedBytes -= p.bytes;
      const t0 = Date.now();
      const b = p.records;
      if (st.appendColumnar && b.length === 0 && p.cols.length > 0) {
        // columnar all the way: enriched in place and appended without records
        const n = p.n;
        const ranges = p.cols;
        // The collector's buffers go back as soon as the store has copied the rows (DuckDB: before
        // its COMMIT), or when the append settles, whichever first.
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          this.releaseRanges(ranges);
        };
        let appending: Promise<void>;
        try {
          this.opts.enricher?.enrichColumnar(p.cols);
          appending = st.appendColumnar(p.cols, release);
        } catch (e) {
          appending = Promise.reject(e as Error);
        }
        inFlight.push(
          appending.then(
            () => {
              this.st.stored += n;
              this.st.batchesStored++;
              this.noteAppend(t0);
              release();
            },
            (e: unknown) => {
              this.failed(n, e);
              this.noteAppend(t0);
              release();
            },
          ),
        );
        if (inFlight.length >= depth) await inFlight.shift();
        continue;
      }
      // records (live capture, files): the appends in flight first, so batches stay in order
      while (inFlight.length > 0) await inFlight.shift();
      try {
        await this.prepare(p, false);
        const appending = st.append(b);
        appending.catch(() => undefined); // awaited below; not unhandled while the next batch is prepared
        // The next batch is made ready while this one is written (its commit runs on DuckDB's threads).
        const next = this.queue[0];
        if (next) await this.prepare(next, true).catch(() => undefined); // a failure shows again when its turn comes
        await appending;
        this.st.stored += b.length;
        this.st.batchesStored++;
      } catch (e) {
        this.failed(p.n, e);
      }
      this.noteAppend(t0);
    }
    this.writing = null;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** A batch of `n` flows that the store refused (counted, reported at most every 10 s). */
  private failed(n: number, e: unknown): void {
    this.st.failedBatches++;
    this.st.failedFlows += n;
    this.st.lastError = (e as Error)?.message ?? String(e);
    const now = Date.now();
    if (this.warn && now - this.lastWarn >= 10_000) {
      this.lastWarn = now;
      this.warn(`store append failed (${n} flows lost): ${this.st.lastError}`);
    }
  }

  private noteAppend(t0: number): void {
    const dt = Date.now() - t0;
    this.st.appendMs += dt;
    if (dt > this.st.slowestAppendMs) this.st.slowestAppendMs = dt;
  }

  /** Write everything received so far; resolves when the store has it. */
  async flush(): Promise<void> {
    this.seal();
    while (this.writing) {
      await new Promise<void>((r) => this.idleWaiters.push(r));
    }
  }

  /** Flush, then refuse further flows (counted as dropped). Does not close the store. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    this.closed = true;
  }
}
