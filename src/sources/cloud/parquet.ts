/**
 * VPC Flow Logs delivered as Apache Parquet (S3 destination, "Log file format: Parquet", optionally
 * Hive-compatible prefixes). Read by DuckDB's `read_parquet` in a private in-memory instance
 * (extension auto-install/-load off), streamed chunk by chunk (DuckDB's vector size, 2,048 rows)
 * so memory stays constant whatever the file size.
 *
 * Column names are the flow log field names with underscores (`account_id`, `pkt_srcaddr`,
 * `tcp_flags`, `flow_direction`, ...); integer fields are INT_32 (version, ports, protocol,
 * tcp_flags, traffic_path) or INT_64 (packets, bytes, start, end), the rest STRING — see "Flow log
 * records", Available fields, Parquet data type, https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html.
 * Each row is turned into the text form of its fields (null → `-`), so records go through the same
 * reference parser as text logs (same validation, families, NODATA/SKIPDATA handling). Hive
 * partition directories (aws-account-id=…/year=…/…) are not added as columns.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { LogObject } from './inputs.js';

/** The 4-byte magic at the start (and end) of a Parquet file. */
export function isParquetKey(key: string): boolean {
  return /\.parquet$/i.test(key);
}

export interface ParquetChunk {
  /** Column names as in the file (underscores). */
  columns: string[];
  /** Rows as the text of each field, `-` for null. */
  rows: string[][];
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v === '' ? '-' : v;
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return String(v);
}

/**
 * The rows of a local Parquet file, a chunk at a time. `onRows` is not needed: the caller counts.
 */
export async function* readParquetFile(file: string): AsyncGenerator<ParquetChunk> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    threads: '1',
  });
  const conn = await inst.connect();
  try {
    const res = await conn.stream(`SELECT * FROM read_parquet($1, hive_partitioning = false)`, [file]);
    const columns = res.columnNames();
    for (;;) {
      const chunk = await res.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const raw = chunk.getRows();
      const rows: string[][] = new Array<string[]>(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const r = raw[i]!;
        const out = new Array<string>(r.length);
        for (let c = 0; c < r.length; c++) out[c] = text(r[c]);
        rows[i] = out;
      }
      yield { columns, rows };
    }
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/**
 * The rows of a Parquet log object: a local file is read in place; an S3 object is first streamed
 * to a temporary file (Parquet needs random access to its footer), removed afterwards.
 */
export async function* readParquetObject(o: LogObject): AsyncGenerator<ParquetChunk> {
  if (!o.key.startsWith('s3://')) {
    yield* readParquetFile(o.key);
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-parquet-'));
  try {
    const file = path.join(dir, 'object.parquet');
    await pipeline(await o.open(), createWriteStream(file));
    yield* readParquetFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
