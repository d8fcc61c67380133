/**
 * Capture files → flow meter → local-network enrichment → store, in batches.
 *
 * The store write of one batch overlaps with metering of the next (at most one append in flight),
 * so neither side waits for the other longer than one batch.
 */
import path from 'node:path';
import { statSync } from 'node:fs';
import type { FlowRecord } from '../schema/fields.js';
import type { LocalEnricher } from '../enrich/local.js';
import type { FlowStore } from '../store/store.js';
import { captureToFlows, CaptureFormatError, type CaptureStats } from '../sources/packets/index.js';

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
  /** Set when the capture is damaged: flows read before the damage were stored. */
  error?: Error;
}

/** Ingest one capture file; a damaged file keeps what was read before the damage. */
export async function ingestCaptureFile(file: string, opts: IngestCaptureOptions): Promise<IngestCaptureResult> {
  let flowsStored = 0;
  let pending: Promise<void> = Promise.resolve();
  const totalBytes = statSync(file).size;
  const write = async (batch: FlowRecord[]): Promise<void> => {
    opts.enricher.enrich(batch);
    await pending; // at most one append in flight
    pending = opts.store.append(batch).then(() => {
      flowsStored += batch.length;
    });
  };
  let stats: CaptureStats | null = null;
  let error: Error | undefined;
  try {
    stats = await captureToFlows(file, {
      exporterName: opts.exporterName ?? path.basename(file),
      activeTimeoutMs: opts.activeTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
      onFlows: write,
      onProgress: opts.onProgress ? (read: number) => opts.onProgress!(read, totalBytes, flowsStored) : undefined,
    });
  } catch (e) {
    if (!(e instanceof CaptureFormatError)) {
      await pending.catch(() => undefined);
      throw e;
    }
    error = e;
  }
  await pending;
  return error ? { file, stats, flowsStored, error } : { file, stats, flowsStored };
}
