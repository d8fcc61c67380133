/**
 * Collectors in a worker thread (what `v6scope serve` runs by default): the worker
 * (collector-worker.ts) owns the UDP sockets and the decoders, so the sockets are read while the
 * main thread is busy appending to the store; decoded flows arrive as columnar batches and are
 * handed to `onRecords` as FlowRecords.
 *
 * Same surface as CollectorSet for serve and /metrics: loadState() (DATA/templates.json, restored
 * in the worker), start(), boundListeners, health() (the worker's CollectorSet health, at most
 * `stateIntervalMs` old, plus the writer's counters and the worker's), saveState(), stop().
 *
 * - Bounded: flows posted by the worker and not yet taken by the main thread are limited to
 *   `maxInFlightFlows`; beyond that the worker drops whole batches and counts them. The counts are
 *   reported through `onDropped` (serve adds them to the store writer's overload counters, so
 *   `writer.droppedFlows` stays the one overload figure) and in health().worker.
 * - Crash: a worker that dies (uncaught exception, exit) is reported, counted (health().worker.
 *   restarts) and restarted on the ports it had, with the last template snapshot it reported.
 *   Flows it had decoded but not yet posted (at most one batch, `batchDelayMs`) are lost, and its
 *   per-exporter counters start again from zero.
 * - stop(): the worker closes its sockets, posts what it holds and its last health/snapshot; every
 *   batch posted before has been handed to `onRecords` when stop() resolves.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CollectorConfig, ListenAddress } from '../config/index.js';
import type { FlowRecord } from '../schema/fields.js';
import { FlowDecoder } from '../sources/flow/index.js';
import { TEMPLATES_FILE, writeCollectorState, type CollectorHealth } from './collector.js';
import { decodeBatch, type ColumnarBatch } from './flow-batch.js';

/** A bound listener as the main thread sees it (the socket itself lives in the worker). */
export interface BoundListener {
  readonly address: ListenAddress;
  readonly port: number;
  readonly receiveBuffer: number;
}

export interface HandoffCounters {
  /** Flows (batches) posted to the main thread. */
  postedFlows: number;
  postedBatches: number;
  /** Flows (batches) dropped in the worker because the main thread had too many not yet taken. */
  droppedFlows: number;
  droppedBatches: number;
  /** Posted, not yet acknowledged. */
  inFlightFlows: number;
}

export interface WorkerInit {
  collectors: CollectorConfig[];
  snapshot: unknown;
  batchFlows: number;
  batchDelayMs: number;
  maxInFlightFlows: number;
  stateIntervalMs: number;
}

/** `recycle`: a batch's column buffers, which the main thread no longer reads, back for reuse. */
export type ToWorker = { t: 'ack'; flows: number } | { t: 'recycle'; buffers: ArrayBuffer[] } | { t: 'stop' } | { t: 'crash' };

export type FromWorker =
  | { t: 'ready'; listeners: BoundListener[]; templatesRestored: number }
  | { t: 'error'; message: string }
  | { t: 'batch'; batch: ColumnarBatch }
  | { t: 'state' | 'stopped'; health: CollectorHealth; snapshot: unknown; handoff: HandoffCounters };

/** What health().worker says. */
export interface CollectorWorkerStats {
  /** A worker is running with its sockets bound (false between a crash and the restart). */
  running: boolean;
  /** Worker threads started after a crash. */
  restarts: number;
  lastCrash: string | null;
  /** Hand-off counters summed over all workers this run. */
  postedFlows: number;
  postedBatches: number;
  droppedFlows: number;
  droppedBatches: number;
  inFlightFlows: number;
}

export interface WorkerCollectorOptions {
  collectors: readonly CollectorConfig[];
  /** Receives the flows of each batch, in the order the worker decoded them (unless onBatch is given). */
  onRecords?: (records: FlowRecord[]) => void;
  /** Receives each columnar batch as it is (serve: StoreWriter.addColumnar). */
  onBatch?: (batch: ColumnarBatch) => void;
  /** Flows (batches) the worker dropped since the last call: overload of the hand-off. */
  onDropped?: (flows: number, batches: number) => void;
  dataDir: string | null;
  warn?: (line: string) => void;
  /** Flows per posted batch (default 4096) and the longest a partial batch waits (default 20 ms). */
  batchFlows?: number;
  batchDelayMs?: number;
  /** Flows posted and not yet taken by the main thread before the worker drops (default 65,536). */
  maxInFlightFlows?: number;
  /** How often the worker reports health and templates (default 250 ms). */
  stateIntervalMs?: number;
  /** First restart delay after a crash (doubles on each crash within a minute, up to 10 s; default 200 ms). */
  restartDelayMs?: number;
  /** The worker script (default: collector-worker.js beside this module; from sources, dist/'s). */
  workerUrl?: URL;
}

/** collector-worker.js beside this module; when running from TypeScript sources (tests), the built one in dist/. */
export function defaultWorkerUrl(): URL {
  const here = new URL(import.meta.url);
  if (here.pathname.endsWith('.ts')) return new URL('../../dist/collect/collector-worker.js', here);
  return new URL('./collector-worker.js', here);
}

interface Gen {
  worker: Worker;
  /** Hand-off counters last reported by this worker (cumulative for it). */
  seen: HandoffCounters;
  stopped: boolean;
  ready: boolean;
}

const ZERO_COUNTERS = (): HandoffCounters => ({ postedFlows: 0, postedBatches: 0, droppedFlows: 0, droppedBatches: 0, inFlightFlows: 0 });

export class WorkerCollectorSet {
  private listeners: BoundListener[] = [];
  private snapshot: unknown = null;
  private lastHealth: CollectorHealth | null = null;
  private gen: Gen | null = null;
  /** Counters of the workers that are gone. */
  private past: HandoffCounters = ZERO_COUNTERS();
  private restarts = 0;
  private lastCrash: string | null = null;
  private lastCrashAt = 0;
  private restartDelay: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private onStopped: (() => void) | null = null;
  /** Collectors with the bound ports (a restarted worker binds the same ones). */
  private bound: CollectorConfig[] = [];
  templatesRestored = 0;
  writerStats: (() => unknown) | null = null;

  constructor(private readonly opts: WorkerCollectorOptions) {
    this.restartDelay = opts.restartDelayMs ?? 200;
    this.bound = opts.collectors.map((c) => ({ ...c, listen: c.listen.map((a) => ({ ...a })) }));
  }

  private warn(line: string): void {
    (this.opts.warn ?? ((l: string) => process.stderr.write(`v6scope: ${l}\n`)))(line);
  }

  /** Read DATA/templates.json (restored in the worker); returns how many templates it holds. */
  loadState(): number {
    if (!this.opts.dataDir) return 0;
    const f = path.join(this.opts.dataDir, TEMPLATES_FILE);
    if (!existsSync(f)) return 0;
    try {
      const snap = JSON.parse(readFileSync(f, 'utf8')) as unknown;
      this.templatesRestored = new FlowDecoder().restore(snap);
      this.snapshot = snap;
    } catch (e) {
      process.stderr.write(`v6scope: ignoring ${f}: ${(e as Error).message}\n`);
    }
    return this.templatesRestored;
  }

  async start(): Promise<readonly BoundListener[]> {
    const url = this.opts.workerUrl ?? defaultWorkerUrl();
    if (url.protocol === 'file:' && !existsSync(fileURLToPath(url))) throw new Error(`collector worker not found: ${fileURLToPath(url)} (npm run build)`);
    this.listeners = await this.spawn();
    let i = 0;
    for (const c of this.bound) for (const a of c.listen) a.port = this.listeners[i++]?.port ?? a.port;
    return this.listeners;
  }

  get boundListeners(): readonly BoundListener[] {
    return this.listeners;
  }

  /** Start a worker; resolves when its sockets are bound. */
  private spawn(): Promise<BoundListener[]> {
    const init: WorkerInit = {
      collectors: this.bound,
      snapshot: this.snapshot,
      batchFlows: this.opts.batchFlows ?? 4096,
      batchDelayMs: this.opts.batchDelayMs ?? 20,
      maxInFlightFlows: this.opts.maxInFlightFlows ?? 65_536,
      stateIntervalMs: this.opts.stateIntervalMs ?? 250,
    };
    const worker = new Worker(this.opts.workerUrl ?? defaultWorkerUrl(), { workerData: init, stderr: false, stdout: false });
    const g: Gen = { worker, seen: ZERO_COUNTERS(), stopped: false, ready: false };
    this.gen = g; // the worker reports its state before 'ready'
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'batch': {
            const n = m.batch.n;
            if (this.opts.onBatch) {
              // Once the receiver is done with the columns, their buffers go back to the worker:
              // those it posted and those made full here (enrichment writes into constant columns).
              // Constant columns share one buffer: each buffer once.
              const batch = m.batch;
              batch.release = () => {
                if (g.stopped) return;
                const buffers = [...new Set(batch.cols.map((c) => c.buffer as ArrayBuffer))];
                try {
                  worker.postMessage({ t: 'recycle', buffers } satisfies ToWorker, buffers);
                } catch {
                  // a worker that has exited: the buffers are simply garbage
                }
              };
              this.opts.onBatch(m.batch);
            }
            else this.opts.onRecords?.(decodeBatch(m.batch));
            worker.postMessage({ t: 'ack', flows: n } satisfies ToWorker);
            break;
          }
          case 'state':
          case 'stopped':
            this.takeState(g, m.health, m.snapshot, m.handoff);
            if (m.t === 'stopped') {
              g.stopped = true;
              this.onStopped?.();
            }
            break;
          case 'ready':
            ready = true;
            g.ready = true;
            resolve(m.listeners);
            break;
          case 'error':
            reject(new Error(m.message));
            break;
        }
      });
      worker.on('error', (e) => {
        if (!ready) reject(e);
        else this.crashed(g, e.message);
      });
      worker.on('exit', (code) => {
        if (!ready) {
          reject(new Error(`collector worker exited (code ${code}) before its sockets were bound`));
          return;
        }
        if (!g.stopped && !this.stopping) this.crashed(g, `exited with code ${code}`);
        this.onStopped?.();
      });
    });
  }

  private takeState(g: Gen, health: CollectorHealth, snapshot: unknown, h: HandoffCounters): void {
    if (g !== this.gen) return;
    this.lastHealth = health;
    this.snapshot = snapshot;
    const df = h.droppedFlows - g.seen.droppedFlows;
    const db = h.droppedBatches - g.seen.droppedBatches;
    g.seen = h;
    if ((df > 0 || db > 0) && this.opts.onDropped) this.opts.onDropped(df, db);
  }

  private crashed(g: Gen, why: string): void {
    if (g !== this.gen) return; // already handled (error then exit)
    this.gen = null;
    this.past = addCounters(this.past, { ...g.seen, inFlightFlows: 0 });
    this.restarts++;
    const now = Date.now();
    this.lastCrash = `${new Date(now).toISOString()}: ${why}`;
    if (now - this.lastCrashAt > 60_000) this.restartDelay = this.opts.restartDelayMs ?? 200;
    this.lastCrashAt = now;
    this.warn(`collector worker crashed (${why}); restarting it (restart ${this.restarts})`);
    void g.worker.terminate();
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    const delay = this.restartDelay;
    this.restartDelay = Math.min(this.restartDelay * 2, 10_000);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.spawn().then(
        () => undefined,
        (e: unknown) => {
          this.warn(`collector worker restart failed: ${(e as Error).message}; retrying`);
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  workerStats(): CollectorWorkerStats {
    const cur = this.gen?.seen ?? ZERO_COUNTERS();
    const s = addCounters(this.past, cur);
    return { running: !!this.gen?.ready && !this.gen.stopped, restarts: this.restarts, lastCrash: this.lastCrash, ...s, inFlightFlows: cur.inFlightFlows };
  }

  health(): CollectorHealth {
    const base: CollectorHealth = this.lastHealth ?? {
      updated: new Date().toISOString(),
      startedAt: new Date().toISOString(),
      listeners: [],
      exporters: [],
      totals: { datagrams: 0, records: 0, decodeErrors: 0, socketDrops: 0, unsupportedDatagrams: 0 },
      templatesRestored: 0,
      sflow: { totals: { datagrams: 0, records: 0, errors: 0 }, agents: [] },
    };
    const h: CollectorHealth = { ...base, templatesRestored: this.templatesRestored, worker: this.workerStats() };
    if (this.writerStats) h.writer = this.writerStats();
    return h;
  }

  /** Write DATA/templates.json (the worker's last snapshot) and DATA/exporters.json. */
  saveState(): void {
    if (this.opts.dataDir) writeCollectorState(this.opts.dataDir, this.snapshot, this.health());
  }

  /** Test hook: make the worker throw an uncaught exception. */
  crashWorkerForTest(): void {
    this.gen?.worker.postMessage({ t: 'crash' } satisfies ToWorker);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const g = this.gen;
    if (!g) return;
    const done = new Promise<void>((r) => (this.onStopped = r));
    g.worker.postMessage({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => {
      this.warn('collector worker did not stop within 10 s; terminating it');
      this.onStopped?.();
    }, 10_000);
    await done;
    clearTimeout(timer);
    this.onStopped = null;
    await g.worker.terminate();
  }
}

function addCounters(a: HandoffCounters, b: HandoffCounters): HandoffCounters {
  return {
    postedFlows: a.postedFlows + b.postedFlows,
    postedBatches: a.postedBatches + b.postedBatches,
    droppedFlows: a.droppedFlows + b.droppedFlows,
    droppedBatches: a.droppedBatches + b.droppedBatches,
    inFlightFlows: a.inFlightFlows + b.inFlightFlows,
  };
}
