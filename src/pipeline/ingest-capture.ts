/**
 * Capture files → flow meter → local-network enrichment → store, in batches.
 *
 * Store writes overlap with metering: up to MAX_IN_FLIGHT batches are queued on the store (which
 * runs them one after another on DuckDB's own threads) while the next ones are metered, so memory
 * stays bounded and neither side idles.
 */
import path from 'node:path';
import { statSync } from 'node:fs';
import type { FlowRecord } from '../schema/fields.js';
import type { LocalEnricher } from '../enrich/local.js';
import type { FlowStore } from '../store/store.js';
import { captureToFlows, CaptureFormatError, type CaptureStats } from '../sources/packets/index.js';
import { DNS_ANSWERS, type FactRow } from '../schema/facts.js';
import { dnsSightingRows } from './dns-facts.js';

/** Flows per store append: large batches amortise the raw + rollup INSERTs. */
const BATCH_SIZE = 32_768;
const MAX_IN_FLIGHT = 3;
/** Passive-DNS rows per fact append. */
const DNS_BATCH = 4096;

export interface IngestCaptureOptions {
  store: FlowStore;
  enricher: LocalEnricher;
  /** Exporter name recorded with the flows (default: the file's base name). */
  exporterName?: string;
  activeTimeoutMs?: number;
  idleTimeoutMs?: number;
  onProgress?: (bytesRead: number, totalBytes: number | undefined, flows: number) => void;
}

export interface IngestCaptureResult {
  file: string;
  stats: CaptureStats | null;
  flowsStored: number;
  /** Passive-DNS rows stored (answers seen in the capture). */
  dnsStored: number;
  /** Set when the capture is damaged: flows read before the damage were stored. */
  error?: Error;
}

/** Ingest one capture file; a damaged file keeps what was read before the damage. */
export async function ingestCaptureFile(file: string, opts: IngestCaptureOptions): Promise<IngestCaptureResult> {
  let flowsStored = 0;
  let dnsStored = 0;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const facts = opts.store.facts;
  let dnsRows: FactRow[] = [];
  const flushDns = (): void => {
    if (!facts || dnsRows.length === 0) return;
    const rows = dnsRows;
    dnsRows = [];
    const p: Promise<void> = facts.append(DNS_ANSWERS, rows).then(
      () => {
        dnsStored += rows.length;
        inFlight.delete(p);
      },
      (e: unknown) => {
        failure ??= e;
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
  };
  const totalBytes = statSync(file).size;
  const write = async (batch: FlowRecord[]): Promise<void> => {
    opts.enricher.enrich(batch);
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    if (failure) throw failure;
    const p: Promise<void> = opts.store.append(batch).then(
      () => {
        flowsStored += batch.length;
        inFlight.delete(p);
      },
      (e: unknown) => {
        failure ??= e;
        inFlight.delete(p);
      },
    );
    inFlight.add(p);
  };
  const settle = async (): Promise<void> => {
    flushDns();
    await Promise.all(inFlight);
    if (failure) throw failure;
  };
  let stats: CaptureStats | null = null;
  let error: Error | undefined;
  try {
    stats = await captureToFlows(file, {
      exporterName: opts.exporterName ?? path.basename(file),
      activeTimeoutMs: opts.activeTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
      batchSize: BATCH_SIZE,
      onFlows: write,
      onDns: facts
        ? (sighting) => {
            for (const r of dnsSightingRows(sighting)) dnsRows.push(r);
            if (dnsRows.length >= DNS_BATCH) flushDns();
          }
        : undefined,
      onProgress: opts.onProgress ? (read: number) => opts.onProgress!(read, totalBytes, flowsStored) : undefined,
    });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) {
      await Promise.allSettled(inFlight);
      throw e;
    }
    error = e;
  }
  await settle();
  return error ? { file, stats, flowsStored, dnsStored, error } : { file, stats, flowsStored, dnsStored };
}
