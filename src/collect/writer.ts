/**
 * The store writer: flows are gathered into batches written when they reach `maxFlows` or when
 * their oldest flow has waited `maxDelayMs`, whichever comes first. One append runs at a time;
 * sealed batches wait in a bounded queue, so the collectors keep receiving while the store is busy.
 * When the queue is full the new batch is dropped — counted (batches, flows) and reported on
 * stderr at most every 10 s, never silent. A failed append is counted too (flows lost).
 */
import type { LocalEnricher } from '../enrich/local.js';
import type { FlowRecord } from '../schema/fields.js';
import type { FlowStore } from '../store/store.js';

export interface StoreWriterOptions {
  store: FlowStore;
  enricher?: LocalEnricher;
  maxFlows: number;
  maxDelayMs: number;
  /** Sealed batches that may wait for the store (beyond the one being written). */
  maxPending: number;
  /**
   * Flows that may wait in those batches (default: no limit). Records are JS objects of about 2 kB,
   * so this is what bounds the writer's memory.
   */
  maxPendingFlows?: number;
  /** Where overload and store errors are reported (default stderr). Set to null for none. */
  warn?: ((line: string) => void) | null;
}

export interface StoreWriterStats {
  /** Flows handed to the writer. */
  received: number;
  /** Flows stored (appends that resolved). */
  stored: number;
  batchesStored: number;
  /** Batches (flows) dropped because the queue was full: overload. */
  droppedBatches: number;
  droppedFlows: number;
  /** Appends that failed (flows lost), and the last error. */
  failedBatches: number;
  failedFlows: number;
  lastError: string | null;
  /** Batches waiting now, and the most that ever waited. */
  pending: number;
  maxPendingSeen: number;
  /** Flows in the batch being filled. */
  filling: number;
  /** Time spent in store appends, ms, and the slowest one. */
  appendMs: number;
  slowestAppendMs: number;
}

export class StoreWriter {
  private current: FlowRecord[] = [];
  private currentSince = 0;
  private readonly queue: FlowRecord[][] = [];
  private queuedFlows = 0;
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastWarn = 0;
  private idleWaiters: (() => void)[] = [];
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
    maxPendingSeen: 0,
    filling: 0,
    appendMs: 0,
    slowestAppendMs: 0,
  };
  private readonly warn: ((line: string) => void) | null;

  constructor(private readonly opts: StoreWriterOptions) {
    this.warn = opts.warn === undefined ? (l) => process.stderr.write(`v6scope: ${l}\n`) : opts.warn;
    const tick = Math.max(5, Math.min(opts.maxDelayMs / 4, 250));
    this.timer = setInterval(() => this.checkDelay(), tick);
    this.timer.unref?.();
  }

  /** Hand flows over (the array is not kept; its records are). */
  add(records: readonly FlowRecord[]): void {
    const n = records.length;
    if (n === 0) return;
    if (this.closed) {
      this.st.droppedFlows += n;
      return;
    }
    this.st.received += n;
    const max = this.opts.maxFlows;
    let cur = this.current;
    if (cur.length === 0) this.currentSince = Date.now();
    for (let i = 0; i < n; i++) {
      cur.push(records[i]!);
      if (cur.length >= max) {
        this.seal();
        cur = this.current;
        if (i + 1 < n) this.currentSince = Date.now();
      }
    }
  }

  stats(): StoreWriterStats {
    return { ...this.st, pending: this.queue.length, filling: this.current.length };
  }

  private checkDelay(): void {
    if (this.current.length > 0 && Date.now() - this.currentSince >= this.opts.maxDelayMs) this.seal();
  }

  /** Close the batch being filled and queue it (or drop it when the queue is full). */
  private seal(): void {
    const b = this.current;
    if (b.length === 0) return;
    this.current = [];
    const full = this.queue.length >= this.opts.maxPending || this.queuedFlows + b.length > (this.opts.maxPendingFlows ?? Infinity);
    if (full && this.writing) {
      this.st.droppedBatches++;
      this.st.droppedFlows += b.length;
      const now = Date.now();
      if (this.warn && now - this.lastWarn >= 10_000) {
        this.lastWarn = now;
        this.warn(`store writer overloaded: dropped ${this.st.droppedBatches} batches (${this.st.droppedFlows} flows) so far; the store is slower than the flows arriving`);
      }
      return;
    }
    this.queue.push(b);
    this.queuedFlows += b.length;
    if (this.queue.length > this.st.maxPendingSeen) this.st.maxPendingSeen = this.queue.length;
    if (!this.writing) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const b = this.queue.shift()!;
      this.queuedFlows -= b.length;
      const t0 = Date.now();
      try {
        this.opts.enricher?.enrich(b);
        await this.opts.store.append(b);
        this.st.stored += b.length;
        this.st.batchesStored++;
      } catch (e) {
        this.st.failedBatches++;
        this.st.failedFlows += b.length;
        this.st.lastError = (e as Error).message ?? String(e);
        const now = Date.now();
        if (this.warn && now - this.lastWarn >= 10_000) {
          this.lastWarn = now;
          this.warn(`store append failed (${b.length} flows lost): ${this.st.lastError}`);
        }
      }
      const dt = Date.now() - t0;
      this.st.appendMs += dt;
      if (dt > this.st.slowestAppendMs) this.st.slowestAppendMs = dt;
    }
    this.writing = null;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
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
