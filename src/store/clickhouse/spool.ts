/**
 * The disk spool of the ClickHouse store: batches ClickHouse could not take (unreachable, or it
 * rejected the INSERT) wait here, in order, until the store replays them.
 *
 * One file per batch, `<seq>.v6spool` (seq: 16 decimal digits, so names sort in arrival order and
 * the order survives a restart): a JSON header line (table, batch id, row count, time bounds)
 * followed by the batch's RowBinary body, exactly the bytes the INSERT sends. A file is written to
 * `<seq>.tmp`, fsynced, renamed and the directory fsynced before `push` resolves: once `append`
 * has acknowledged a batch, it is on disk. Leftover `.tmp` files (a crash while writing) were never
 * acknowledged and are removed on open.
 *
 * Bounded: `push` refuses a batch that would take the spool over `maxBytes` (SpoolFullError), so
 * the caller is told — the batch is not acknowledged — instead of filling the disk.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface SpoolOptions {
  /** Directory for spooled batches (created if missing). */
  readonly dir: string;
  /** Largest total size of the spooled files, bytes (default 1 GiB). */
  readonly maxBytes?: number;
}

export const DEFAULT_SPOOL_MAX_BYTES = 1 << 30;

/** What a spooled batch is, besides its body. */
export interface SpoolItem {
  /** Table the batch is inserted into (as the store names it: raw, dns_answers, ...). */
  readonly table: string;
  /** 16 random bytes, also written in the batch_id column of every row. */
  readonly batchId: Uint8Array;
  readonly rows: number;
  /** Smallest and largest value of the table's time column in the batch (for the dedup lookup). */
  readonly minTime: number;
  readonly maxTime: number;
}

export interface SpoolEntry extends SpoolItem {
  readonly seq: number;
  readonly file: string;
  /** Size of the file, bytes. */
  readonly bytes: number;
}

export interface SpoolDepth {
  batches: number;
  rows: number;
  bytes: number;
}

export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
}

const MAGIC = 'V6SPOOL1 ';
const SUFFIX = '.v6spool';

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some file systems do not allow fsync on a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseHeader(buf: Buffer, file: string): { item: SpoolItem; bodyOffset: number } {
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || !buf.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) throw new Error(`${file}: not a v6scope spool file`);
  const h = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as { table: string; batchId: string; rows: number; minTime: number; maxTime: number };
  if (typeof h.table !== 'string' || !/^[0-9a-f]{32}$/.test(h.batchId) || !Number.isSafeInteger(h.rows)) throw new Error(`${file}: invalid spool header`);
  return {
    item: { table: h.table, batchId: new Uint8Array(Buffer.from(h.batchId, 'hex')), rows: h.rows, minTime: h.minTime, maxTime: h.maxTime },
    bodyOffset: nl + 1,
  };
}

export class DiskSpool {
  private readonly entries: SpoolEntry[] = [];
  private nextSeq = 1;
  private total = 0;
  readonly maxBytes: number;

  private constructor(readonly dir: string, maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Open (creating) a spool directory and load the batches a previous run left. */
  static open(opts: SpoolOptions): DiskSpool {
    const maxBytes = opts.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`spool maxBytes must be a positive integer, got ${String(opts.maxBytes)}`);
    mkdirSync(opts.dir, { recursive: true });
    const s = new DiskSpool(opts.dir, maxBytes);
    for (const name of readdirSync(opts.dir).sort()) {
      const file = path.join(opts.dir, name);
      if (name.endsWith('.tmp')) {
        rmSync(file, { force: true }); // never acknowledged
        continue;
      }
      const m = /^(\d{16})\.v6spool$/.exec(name);
      if (!m) continue;
      const buf = readFileSync(file);
      const { item } = parseHeader(buf, file);
      const seq = Number(m[1]);
      s.entries.push({ ...item, seq, file, bytes: buf.length });
      s.total += buf.length;
      s.nextSeq = Math.max(s.nextSeq, seq + 1);
    }
    return s;
  }

  depth(): SpoolDepth {
    return { batches: this.entries.length, rows: this.entries.reduce((a, e) => a + e.rows, 0), bytes: this.total };
  }

  /** The oldest batch, or undefined when the spool is empty. */
  head(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** The first `n` batches, oldest first (for replaying several in one INSERT). */
  peek(n: number): SpoolEntry[] {
    return this.entries.slice(0, n);
  }

  /** Write a batch durably (fsync) at the end of the spool. Throws SpoolFullError when it does not fit. */
  push(item: SpoolItem, body: Buffer): SpoolEntry {
    const header = Buffer.from(
      `${MAGIC}${JSON.stringify({ table: item.table, batchId: Buffer.from(item.batchId).toString('hex'), rows: item.rows, minTime: item.minTime, maxTime: item.maxTime })}\n`,
    );
    const bytes = header.length + body.length;
    if (this.total + bytes > this.maxBytes) {
      throw new SpoolFullError(`ClickHouse spool ${this.dir} is full (${this.total} of ${this.maxBytes} bytes; a batch of ${bytes} bytes does not fit): ClickHouse has been unreachable too long`);
    }
    const seq = this.nextSeq++;
    const file = path.join(this.dir, `${String(seq).padStart(16, '0')}${SUFFIX}`);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, header);
      let off = 0;
      while (off < body.length) off += writeSync(fd, body, off, body.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    fsyncDir(this.dir);
    const e: SpoolEntry = { ...item, seq, file, bytes };
    this.entries.push(e);
    this.total += bytes;
    return e;
  }

  /** The RowBinary body of a spooled batch. */
  readBody(e: SpoolEntry): Buffer {
    const buf = readFileSync(e.file);
    const { bodyOffset } = parseHeader(buf, e.file);
    return buf.subarray(bodyOffset);
  }

  /** Remove the head batch (it is in ClickHouse now). */
  shift(e: SpoolEntry): void {
    if (this.entries[0] !== e) throw new Error('spool: only the head batch can be removed');
    rmSync(e.file, { force: true });
    this.entries.shift();
    this.total -= e.bytes;
  }

  /** Move the head batch aside (`quarantine/`) for an operator: it cannot be replayed safely. */
  quarantine(e: SpoolEntry): string {
    if (this.entries[0] !== e) throw new Error('spool: only the head batch can be moved');
    const q = path.join(this.dir, 'quarantine');
    mkdirSync(q, { recursive: true });
    const to = path.join(q, path.basename(e.file));
    renameSync(e.file, to);
    this.entries.shift();
    this.total -= e.bytes;
    return to;
  }

  /** Files in quarantine/ (shown by `v6scope store check`). */
  quarantined(): string[] {
    try {
      const q = path.join(this.dir, 'quarantine');
      return readdirSync(q).filter((n) => n.endsWith(SUFFIX) && statSync(path.join(q, n)).isFile());
    } catch {
      return [];
    }
  }
}
