/**
 * The daemon's collection side (`v6scope serve`): configured collectors + optional live capture →
 * store writer → store; retention applied periodically; templates and exporter health saved
 * periodically and on shutdown. Each component starts on its own: one that fails to start is
 * reported and the others keep running (if nothing runs at all, start fails).
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { LocalEnricher } from '../enrich/local.js';
import { openConfiguredStore as openStoreOf } from '../store/index.js';
import type { FlowStore } from '../store/store.js';
import { CollectorSet, type CollectorHealth } from './collector.js';
import { startLiveCapture, type LiveCapture, type LiveCaptureResult } from './live-capture.js';
import { WorkerCollectorSet, type BoundListener, type WorkerCollectorOptions } from './worker-collector.js';
import { StoreWriter } from './writer.js';

/** Open the store the configuration names; a daemon's ClickHouse store spools outages to disk (store.clickhouse.spool). */
export function openConfiguredStore(config: Config, dataDir: string): Promise<FlowStore> {
  return openStoreOf(config, dataDir, { spool: true, writeMemoryLimit: true });
}

export interface ServeOptions {
  config: Config;
  dataDir: string;
  /** Informational lines (stderr unless quiet). */
  log: (line: string) => void;
  warn: (line: string) => void;
  /** Use this store instead of opening the configured one (tests, benches). */
  store?: FlowStore;
  /**
   * Where the UDP sockets and decoders run: 'worker' (default) a worker thread, so the sockets are
   * read while the store appends; 'main' this thread. V6SCOPE_COLLECTOR_THREAD=main sets the default.
   */
  collectorThread?: 'worker' | 'main';
  /** Options of the worker path (tests). */
  worker?: Partial<Pick<WorkerCollectorOptions, 'batchFlows' | 'batchDelayMs' | 'maxInFlightFlows' | 'stateIntervalMs' | 'restartDelayMs'>>;
}

/** What serve needs of its collectors: CollectorSet (in this thread) or WorkerCollectorSet. */
export interface ServeCollectors {
  loadState(): number;
  start(): Promise<readonly BoundListener[]>;
  readonly boundListeners: readonly BoundListener[];
  health(): CollectorHealth;
  saveState(): void;
  stop(): Promise<void>;
  writerStats: (() => unknown) | null;
}

export interface ServeHandle {
  /** A WorkerCollectorSet unless serve runs the collectors in this thread. */
  collectors: ServeCollectors | null;
  writer: StoreWriter;
  capture: LiveCapture | null;
  /** Stop everything, flushing every flow received; resolves with a summary. */
  stop(): Promise<ServeSummary>;
}

export interface ServeSummary {
  flowsStored: number;
  droppedFlows: number;
  failedFlows: number;
  datagrams: number;
  capture: LiveCaptureResult | null;
}

export async function startServe(opts: ServeOptions): Promise<ServeHandle> {
  const { config, dataDir, log, warn } = opts;
  mkdirSync(dataDir, { recursive: true });
  const store = opts.store ?? (await openConfiguredStore(config, dataDir));
  const enricher = new LocalEnricher({ localPrefixes: config.local_prefixes });
  const writer = new StoreWriter({
    store,
    enricher,
    maxFlows: config.batch.max_flows,
    maxDelayMs: config.batch.max_delay,
    maxPending: config.batch.max_pending,
    maxPendingFlows: config.batch.max_pending_flows,
    maxPendingBytes: config.batch.max_pending_memory,
    warn,
  });

  let collectors: ServeCollectors | null = null;
  let capture: LiveCapture | null = null;
  const failures: string[] = [];

  if (config.collectors.length > 0) {
    const thread = opts.collectorThread ?? (process.env.V6SCOPE_COLLECTOR_THREAD === 'main' ? 'main' : 'worker');
    const cs: ServeCollectors =
      thread === 'main'
        ? new CollectorSet({ collectors: config.collectors, dataDir, onRecords: (r) => writer.add(r) })
        : new WorkerCollectorSet({
            ...opts.worker,
            collectors: config.collectors,
            dataDir,
            onBatch: (b) => writer.addColumnar(b),
            onDropped: (flows, batches) => writer.countDropped(flows, batches),
            warn,
          });
    cs.writerStats = () => writer.stats();
    const restored = cs.loadState();
    try {
      const ls = await cs.start();
      collectors = cs;
      log(
        `collecting on ${ls.map((l) => `${l.address.family === 6 ? `[${l.address.host}]` : l.address.host}:${l.port}/udp`).join(', ')}` +
          (restored ? ` (${restored} templates restored)` : ''),
      );
      cs.saveState();
    } catch (e) {
      failures.push((e as Error).message);
      warn(`collectors not started: ${(e as Error).message}`);
    }
  }

  if (config.capture.interface) {
    const c = startLiveCapture({
      interface: config.capture.interface,
      bpf: config.capture.bpf,
      writer,
      facts: store.facts,
      activeTimeoutMs: config.capture.active_timeout,
      idleTimeoutMs: config.capture.idle_timeout,
      maxBatchDelayMs: config.batch.max_delay,
      warn,
    });
    try {
      await Promise.race([c.ready, c.done.then(() => undefined)]);
      capture = c;
      log(`capturing on ${config.capture.interface}${config.capture.bpf ? ` (filter: ${config.capture.bpf})` : ''}`);
      c.done.catch((e: unknown) => warn(`capture on ${config.capture.interface} stopped: ${(e as Error).message}`));
    } catch (e) {
      failures.push((e as Error).message);
      warn(`capture not started: ${(e as Error).message}`);
    }
  }

  if (!collectors && !capture) {
    await writer.close();
    if (!opts.store) await store.close();
    throw new Error(
      failures.length > 0
        ? failures.join('; ')
        : 'nothing to serve: configure collectors (collectors: [{protocol: auto, listen: ["0.0.0.0:2055"]}]) or capture.interface in the --config file',
    );
  }

  // Periodic state saving and retention.
  const saveTimer = setInterval(() => {
    try {
      collectors?.saveState();
    } catch (e) {
      warn(`cannot save collector state: ${(e as Error).message}`);
    }
  }, config.state.save_interval);
  let retentionRunning = false;
  const applyRetention = (): void => {
    if (retentionRunning) return;
    retentionRunning = true;
    store
      .applyRetention(Date.now())
      .catch((e: unknown) => warn(`retention failed: ${(e as Error).message}`))
      .finally(() => (retentionRunning = false));
  };
  applyRetention();
  const retentionTimer = setInterval(applyRetention, config.retention.interval);

  let stopping: Promise<ServeSummary> | null = null;
  const stop = (): Promise<ServeSummary> =>
    (stopping ??= (async () => {
      clearInterval(saveTimer);
      clearInterval(retentionTimer);
      let captureResult: LiveCaptureResult | null = null;
      if (capture) {
        capture.stop();
        captureResult = await capture.done.catch(() => null);
      }
      if (collectors) await collectors.stop();
      await writer.close();
      try {
        collectors?.saveState();
      } catch (e) {
        warn(`cannot save collector state: ${(e as Error).message}`);
      }
      while (retentionRunning) await new Promise((r) => setTimeout(r, 20));
      if (!opts.store) await store.close();
      const s = writer.stats();
      return {
        flowsStored: s.stored,
        droppedFlows: s.droppedFlows,
        failedFlows: s.failedFlows,
        datagrams: collectors?.health().totals.datagrams ?? 0,
        capture: captureResult,
      };
    })());

  return { collectors, writer, capture, stop };
}
