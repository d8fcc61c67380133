/**
 * AWS logs → columnar flow batches → store, plus the AWS side aggregate (src/sources/cloud/summary.ts).
 *
 * - Objects (files or S3 objects) already ingested with the same size and ETag/mtime are skipped.
 * - Malformed lines are reported as `file:line: reason`, counted, and the rest is ingested.
 * - Memory is bounded: bytes are streamed, flows are appended in batches with up to the store's
 *   `appendDepth` batches in flight while the next is parsed, and the dedup window is capped.
 * - VPC/TGW text is parsed from the bytes (sources/cloud/vpc-bytes.ts) straight into a columnar
 *   batch (collect/flow-batch.ts), without records; lines the fast path does not handle go through
 *   the reference string parser (sources/cloud/vpc.ts), as do access logs and Parquet rows, and
 *   their records are encoded into the same batch in file order. A batch is enriched in place and
 *   appended with the store's `appendColumnar` (stores without it get records).
 *
 * Crash safety — every line is stored exactly once, whatever moment the process dies at:
 * - Every row carries its object's identity (`log_object`: a 12-character hash of key, ETag/mtime
 *   and size).
 * - Before an object's first row is appended, a start record is appended and fsynced to
 *   DATA/aws/journal.jsonl. Each append is atomic in the store, appends of one object are made in
 *   order, and each one after the first commits only if the one before it did (`appendColumnar`'s
 *   `after`; a store that takes one append at a time gets them one at a time), so the rows stored
 *   for an object are always a prefix of its records.
 * - An object is "done" when DATA/aws/state.json (written to a temporary file, fsynced, renamed)
 *   lists it together with its side aggregate. A re-run skips done objects; for an object that was
 *   started but is not done it asks the store how many rows carry its identity, re-reads the object
 *   (to rebuild its side aggregate) and appends only the records after that prefix.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { classify } from '../net/classify.js';
import { addrAt } from '../net/ip.js';
import type { LocalEnricher } from '../enrich/local.js';
import { ColumnarBuilder, decodeBatch } from '../collect/flow-batch.js';
import { FIELD_INDEX as COL, type FlowRecord } from '../schema/fields.js';
import type { FlowStore } from '../store/store.js';
import { CloudFrontFormat, isAlbLine, parseAlbLine, parseNlbLine, requestFlow, type AccessRequest } from '../sources/cloud/alb.js';
import type { Readable } from 'node:stream';
import { readChunks, type LogKind, type LogObject } from '../sources/cloud/inputs.js';
import { isParquetKey, readParquetObject } from '../sources/cloud/parquet.js';
import { AwsSummary, saveSummary } from '../sources/cloud/summary.js';
import { EMPTY, FALLBACK, NODATA, ROW, SKIPDATA, VpcByteParser } from '../sources/cloud/vpc-bytes.js';
import { isMappedText, isVpcHeader, LogFormatError, parseVpcFormat, splitFields, TGW_DEFAULT_FORMAT, VPC_DEFAULT_FORMAT, VpcFormat } from '../sources/cloud/vpc.js';

/**
 * Rows per store append: the stores' per-append cost favours large batches, and DuckDB writes a
 * transaction's full row groups (122,880 rows) compressed straight to the file instead of through
 * its WAL — 1 M VPC lines took 17–19 s with this size against 22 s with 65,536 (bench/RESULTS.md).
 */
const BATCH_SIZE = 122_880;
const DEDUP_CAP = 1 << 20;
/** Malformed lines printed per object (all are counted). */
const MAX_REPORTED = 5;

/** What the ingest needs of a store (a FlowStore, or the parse thread's proxy of one). */
export type IngestStore = Pick<FlowStore, 'append' | 'appendColumnar' | 'appendDepth' | 'query'>;

export interface AwsIngestOptions {
  store: IngestStore;
  enricher: LocalEnricher;
  dataDir: string;
  summary: AwsSummary;
  /** Force the log kind (else from the key layout, then from the content). */
  kind?: LogKind;
  /** VPC/TGW custom format for files without a header line. */
  format?: string;
  /** Ingest again objects already recorded as ingested. */
  force?: boolean;
  /** Rows per store append (default 122,880). */
  batchSize?: number;
  onWarning?: (msg: string) => void;
  onProgress?: (bytes: number, lines: number) => void;
}

export interface ObjectResult {
  key: string;
  display: string;
  kind: LogKind | 'unknown';
  skipped: boolean;
  lines: number;
  flows: number;
  requests: number;
  nodata: number;
  skipdata: number;
  noFamily: number;
  malformed: number;
  /** First malformed lines as `file:line: reason`. */
  malformedSamples: string[];
  /** Records of this object an interrupted earlier run had already stored (not stored again). */
  resumedAfter?: number;
  error?: string;
}

export function sniffKind(line: string): LogKind | null {
  const t = line.trimStart();
  if (t.startsWith('#Version') || t.startsWith('#Fields')) return 'cloudfront';
  if (t.startsWith('tls ')) return 'nlb';
  if (isAlbLine(t)) return 'alb';
  if (isVpcHeader(t)) return isTgwHeader(t) ? 'tgw' : 'vpc';
  return null;
}

function isTgwHeader(line: string): boolean {
  return /(^|\s|\$\{)(tgw-id|tgw-attachment-id|resource-type|tgw_id)/.test(line);
}

const ISO_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;

export class AwsIngester {
  /** 5-tuple + start minute hash → interned interface index (first sighting). */
  private readonly dedup = new TupleTable();
  private readonly ifaceIndex = new Map<string, number>([['', 0]]);
  private lastSave = 0;
  private readonly journal: ObjectJournal;
  flowsStored = 0;

  constructor(private readonly opts: AwsIngestOptions) {
    this.journal = new ObjectJournal(opts.dataDir);
  }

  isDone(o: LogObject): boolean {
    const e = this.opts.summary.objects[o.key];
    return !this.opts.force && e !== undefined && e.size === o.size && e.tag === o.tag;
  }

  /** The identity this object's rows carry, and whether an earlier run started storing them. */
  private identity(o: LogObject): { id: string; resume: boolean } {
    const started = this.journal.get(o.key);
    const done = this.opts.summary.objects[o.key];
    if (started && started.tag === o.tag && started.size === o.size && done?.id !== started.id) return { id: started.id, resume: true };
    const base = objectHash(`${o.key}@${o.tag}:${o.size}`);
    return { id: this.opts.force || done?.id === base ? objectHash(`${o.key}@${o.tag}:${o.size}#${Date.now()}`) : base, resume: false };
  }

  /** Rows of an object already in the store (from an interrupted run). */
  private async storedRows(id: string): Promise<number> {
    const r = await this.opts.store.query({
      since: 0,
      until: Number.MAX_SAFE_INTEGER,
      filter: { op: 'cmp', field: 'log_object', cmp: '=', value: id },
      metrics: ['flows'],
    });
    return r.rows.reduce((n, row) => n + Number(row.flows ?? 0), 0);
  }

  async ingest(o: LogObject): Promise<ObjectResult> {
    const res: ObjectResult = {
      key: o.key,
      display: o.display,
      kind: this.opts.kind ?? o.kindHint ?? 'unknown',
      skipped: false,
      lines: 0,
      flows: 0,
      requests: 0,
      nodata: 0,
      skipdata: 0,
      noFamily: 0,
      malformed: 0,
      malformedSamples: [],
    };
    if (this.isDone(o)) {
      res.skipped = true;
      return res;
    }
    const { id: objectId, resume } = this.identity(o);
    /** Records (flows or requests) of this object already stored by an interrupted run. */
    const skip = resume ? await this.storedRows(objectId) : 0;
    res.resumedAfter = skip;
    let started = false;
    let records = 0;

    const batchSize = this.opts.batchSize ?? BATCH_SIZE;
    const delta = new AwsSummary();
    const tally = new FlowTally();
    // The batch being filled, columnar: VPC/TGW lines of the byte path are parsed straight into
    // it, other records (access logs, Parquet rows, lines of the string path) are encoded into it.
    const rows = new ColumnarBuilder(batchSize);
    /** Per row of `rows`: the direction the log itself gives (VPC `flow-direction`), 0 when none. */
    let dirs = new Uint8Array(batchSize);
    /** `log_object`'s dictionary index in `rows` (-1: not added yet). */
    let objectIx = -1;
    let batchIsFlowLog = true;
    let stored = 0;
    const store = this.opts.store;
    // Records (a store without columnar appends) go one append at a time: `after` is columnar only.
    const depth = store.appendColumnar ? Math.max(1, store.appendDepth ?? 1) : 1;
    /** Appends sent and not yet awaited, oldest first; `last`: the store's promise of the newest. */
    const inFlight: Promise<void>[] = [];
    let last: Promise<void> | undefined;
    /** The first append that failed (later ones of the object fail with it). */
    let storeError: { e: unknown } | null = null;
    const flush = async (): Promise<void> => {
      // Up to `depth` appends outstanding: the next batch is parsed (and sent) while earlier ones
      // commit. The oldest is awaited first, so a store failure is seen in order and rethrown.
      while (inFlight.length >= depth) await inFlight.shift();
      if (rows.n === 0) return;
      const { batch } = rows.take();
      const d = dirs;
      dirs = new Uint8Array(batchSize);
      objectIx = -1;
      if (batchIsFlowLog) {
        this.opts.enricher.enrichColumnar([{ batch, from: 0, to: batch.n, directions: d }]);
      }
      if (!started) {
        this.journal.start(o.key, objectId, o.tag, o.size);
        started = true;
      }
      // Each append commits only if the previous one of this object did (`after`), so the stored
      // rows of an object are a prefix of its records. A store without a columnar append gets
      // records, one append at a time (its depth is 1).
      const n = batch.n;
      const range = { batch, from: 0, to: n };
      const sent = store.appendColumnar ? store.appendColumnar([range], undefined, last) : store.append(decodeBatch(batch));
      last = sent;
      const p = sent.then(
        () => {
          stored += n;
          this.flowsStored += n;
        },
        (e: unknown) => {
          storeError ??= { e };
          throw e;
        },
      );
      p.catch(() => undefined); // awaited (and rethrown) by a later flush or at the end
      inFlight.push(p);
    };
    /** Every append sent, awaited in order (the first failure is rethrown). */
    const drain = async (): Promise<void> => {
      while (inFlight.length > 0) await inFlight.shift();
    };
    const malformed = (lineNo: number, msg: string): void => {
      res.malformed++;
      const text = `${o.display}:${lineNo}: ${msg}`;
      if (res.malformedSamples.length < MAX_REPORTED) {
        res.malformedSamples.push(text);
        this.opts.onWarning?.(text);
      }
    };
    /** A record of this object: accounted always, stored unless an earlier run stored it. */
    const keep = (fl: FlowRecord, dir: number): boolean => {
      fl.log_object = objectId;
      records++;
      if (records <= skip) return false;
      dirs[rows.n] = dir;
      rows.push(fl);
      return true;
    };
    /** The byte path's flow in row `rows.n`: accounted, and kept unless an earlier run stored it. */
    const keepRow = (): void => {
      const c = rows.columns;
      const i = rows.n;
      this.accountRow(tally, rows, i);
      res.flows++;
      records++;
      if (records <= skip) return;
      if (objectIx < 0) objectIx = rows.intern(COL.log_object, objectId);
      c[COL.log_object]![i] = objectIx;
      dirs[i] = c[COL.direction]![i]!;
      rows.n = i + 1;
    };

    let kind: LogKind | null = this.opts.kind ?? o.kindHint;
    let vpcFormat: VpcFormat | null = null;
    let fast: VpcByteParser | null = null;
    let cf: CloudFrontFormat | null = null;
    let lineNo = 0;
    let bytes = 0;
    const fields: string[] = [];
    const fallbackTime = Date.now();

    const onFlow = (fl: FlowRecord): boolean => {
      this.account(tally, fl);
      res.flows++;
      return keep(fl, fl.direction);
    };

    /** The reference (string) path for one flow log line. */
    const onFlowLog = (line: string): void => {
      if (lineNo === 1 || (vpcFormat === null && isVpcHeader(line))) {
        if (isVpcHeader(line)) {
          vpcFormat = new VpcFormat(parseVpcFormat(line), { tgw: kind === 'tgw' ? true : undefined });
          kind = vpcFormat.sourceKind;
          res.kind = kind;
          return;
        }
      }
      if (vpcFormat === null) {
        const fmt = this.opts.format ?? (kind === 'tgw' ? TGW_DEFAULT_FORMAT : VPC_DEFAULT_FORMAT);
        vpcFormat = new VpcFormat(parseVpcFormat(fmt), { tgw: kind === 'tgw' ? true : undefined });
      }
      const f = vpcFormat;
      splitFields(line, fields);
      if (fields.length === 0) return;
      // CloudWatch Logs exports put the event timestamp before the message.
      if (fields.length === f.fields.length + 1 && ISO_TS.test(fields[0]!)) fields.shift();
      onFields(f, fields);
    };

    /** One record's fields (text line split, or a Parquet row) through the reference parser. */
    const onFields = (f: VpcFormat, fields: readonly string[]): void => {
      const r = f.parseFields(fields, fallbackTime);
      const k = f.sourceKind;
      if (r.kind !== 'flow') {
        delta.count(delta.status, `${k}|${r.kind}`);
        if (r.kind === 'nodata') res.nodata++;
        else if (r.kind === 'skipdata') res.skipdata++;
        else res.noFamily++;
        return;
      }
      if (r.flow.family === 4) {
        for (const name of ['srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr']) {
          const i = f.fields.indexOf(name);
          if (i >= 0 && isMappedText(fields[i]!)) {
            delta.mappedAsIPv4++;
            break;
          }
        }
      }
      onFlow(r.flow);
    };

    const onAccess = (line: string, req: AccessRequest): void => {
      delta.requests.add(req);
      const fl = requestFlow(req);
      const k = req.kind;
      delta.addUnique(k, req.family, fl.bytes, 0);
      delta.addHour(req.time, k, req.family, fl.bytes, 0);
      delta.count(delta.classes, `${k}|client|${req.family}|${classify(req.client, req.family)}`);
      if (req.family === 4 && line.includes('::ffff:')) delta.mappedAsIPv4++;
      res.requests++;
      res.flows++;
      keep(fl, 0);
    };

    /** One line as text (access logs, flow log headers, and lines the byte path hands over). */
    const onText = (line: string): void => {
      if (kind === null) {
        if (line.trim() === '') return;
        kind = sniffKind(line) ?? 'vpc';
        res.kind = kind;
      }
      batchIsFlowLog = kind === 'vpc' || kind === 'tgw';
      try {
        if (kind === 'vpc' || kind === 'tgw') onFlowLog(line);
        else if (kind === 'cloudfront') {
          if (line.startsWith('#')) {
            if (line.startsWith('#Fields:')) cf = new CloudFrontFormat(line);
            return;
          }
          if (line.trim() === '') return;
          if (!cf) throw new LogFormatError('no #Fields header before the first entry');
          onAccess(line, cf.parse(line));
        } else {
          if (line.trim() === '') return;
          onAccess(line, kind === 'alb' ? parseAlbLine(line) : parseNlbLine(line));
        }
      } catch (e) {
        if (!(e instanceof LogFormatError)) throw e;
        malformed(lineNo, e.message);
      }
    };

    const text = (buf: Buffer, s: number, e: number): string => buf.toString('utf8', s, e > s && buf[e - 1] === 13 ? e - 1 : e);
    const onLine = (buf: Buffer, s: number, e: number): void => {
      lineNo++;
      if (fast === null) {
        onText(text(buf, s, e));
        if (vpcFormat !== null && (kind === 'vpc' || kind === 'tgw')) fast = new VpcByteParser(vpcFormat, fallbackTime);
        return;
      }
      const r = fast.parseInto(buf, s, e, rows);
      if (r === ROW) keepRow();
      else if (r === FALLBACK) onText(text(buf, s, e));
      else if (r === NODATA) {
        res.nodata++;
        tally.nodata++;
      } else if (r === SKIPDATA) {
        res.skipdata++;
        tally.skipdata++;
      } else if (r !== EMPTY) throw new Error(`unexpected parser result ${String(r)}`);
    };

    let stream: Readable | null = null;
    const parquet = isParquetKey(o.key);
    if (!parquet) {
      try {
        stream = await o.open();
      } catch (e) {
        res.error = `${o.display}: ${(e as Error).message}`;
        return res;
      }
    }
    try {
      if (parquet) {
        // Parquet: rows, not lines (a malformed row is reported with its row number).
        for await (const chunk of readParquetObject(o)) {
          if (vpcFormat === null) {
            vpcFormat = new VpcFormat(parseVpcFormat(chunk.columns.join(' ')), { tgw: kind === 'tgw' ? true : undefined });
            kind = vpcFormat.sourceKind;
            res.kind = kind;
            batchIsFlowLog = true;
          }
          const f: VpcFormat = vpcFormat;
          for (const row of chunk.rows) {
            lineNo++;
            try {
              onFields(f, row);
            } catch (e) {
              if (!(e instanceof LogFormatError)) throw e;
              malformed(lineNo, e.message);
            }
            if (rows.n >= batchSize) await flush();
          }
          res.lines = lineNo;
          this.opts.onProgress?.(0, lineNo);
        }
      }
      let carry: Buffer | null = null;
      for await (const chunk of stream === null ? [] : readChunks(stream, (n) => {
        bytes += n;
      })) {
        let s = 0;
        if (carry !== null) {
          const nl = chunk.indexOf(10);
          if (nl < 0) {
            carry = Buffer.concat([carry, chunk]);
            continue;
          }
          const line: Buffer = Buffer.concat([carry, chunk.subarray(0, nl)]);
          carry = null;
          onLine(line, 0, line.length);
          s = nl + 1;
        }
        for (;;) {
          const nl = chunk.indexOf(10, s);
          if (nl < 0) break;
          onLine(chunk, s, nl);
          s = nl + 1;
          if (rows.n >= batchSize) await flush();
        }
        if (s < chunk.length) carry = Buffer.from(chunk.subarray(s));
        res.lines = lineNo;
        this.opts.onProgress?.(bytes, lineNo);
      }
      if (carry !== null && carry.length > 0) onLine(carry, 0, carry.length);
      await flush();
      await drain();
    } catch (e) {
      res.error = `${o.display}:${lineNo}: ${(e as Error).message}`;
    }
    // A store failure is fatal (its first error is rethrown): nothing after the stored prefix was
    // committed; a re-run resumes there.
    await Promise.allSettled(inFlight.splice(0));
    if (storeError !== null) throw (storeError as { e: unknown }).e;
    res.lines = lineNo;
    const k = res.kind === 'tgw' ? 'tgw' : 'vpc';
    tally.mergeInto(delta, k);
    // An object that failed before anything was stored is retried next time; otherwise it is
    // recorded (with its error) so a re-run does not count its first part twice.
    if (res.error && stored === 0 && skip === 0 && res.flows === 0) return res;
    this.opts.summary.merge(delta);
    this.opts.summary.objects[o.key] = {
      size: o.size,
      tag: o.tag,
      id: objectId,
      kind: res.kind,
      lines: res.lines,
      records: res.flows,
      malformed: res.malformed,
      ingestedAt: Date.now(),
    };
    if (Date.now() - this.lastSave > 1000) this.save();
    return res;
  }

  /** Side-aggregate one VPC/TGW flow record. */
  private account(t: FlowTally, fl: FlowRecord): void {
    this.accountFlow(t, fl.family, fl.src_addr, fl.dst_addr, 0, fl.proto, fl.src_port, fl.dst_port, fl.time_start, fl.interface_id, fl.bytes, fl.packets, fl.time_received);
  }

  /** Side-aggregate row `i` of a columnar batch being filled. */
  private accountRow(t: FlowTally, b: ColumnarBuilder, i: number): void {
    const c = b.columns;
    const iface = b.dictionary(COL.interface_id)[(c[COL.interface_id] as Uint32Array)[i]!]!;
    this.accountFlow(
      t,
      (c[COL.family] as Uint8Array)[i]!,
      c[COL.src_addr] as Uint8Array,
      c[COL.dst_addr] as Uint8Array,
      i * 16,
      (c[COL.proto] as Uint8Array)[i]!,
      (c[COL.src_port] as Uint16Array)[i]!,
      (c[COL.dst_port] as Uint16Array)[i]!,
      (c[COL.time_start] as Float64Array)[i]!,
      iface,
      (c[COL.bytes] as Float64Array)[i]!,
      (c[COL.packets] as Float64Array)[i]!,
      (c[COL.time_received] as Float64Array)[i]!,
    );
  }

  /**
   * Side-aggregate one VPC/TGW flow (first-sighting dedup, address classes, hours); its addresses
   * are the 16 bytes at `o` of `src` and `dst`.
   */
  private accountFlow(t: FlowTally, fam: number, src: Uint8Array, dst: Uint8Array, o: number, proto: number, sp: number, dp: number, timeStart: number, ifaceId: string, bytes: number, packets: number, received: number): void {
    // One connection is logged by every interface it crosses (egress at the sender, ingress at the
    // receiver, NAT and load balancer ENIs): count it once per 5-tuple and start minute.
    tupleHash(src, dst, o, proto, sp, dp, timeStart);
    let iface = this.ifaceIndex.get(ifaceId);
    if (iface === undefined) {
      if (this.ifaceIndex.size >= DEDUP_CAP) {
        this.ifaceIndex.clear();
        this.ifaceIndex.set('', 0);
        this.dedup.clear();
      }
      iface = this.ifaceIndex.size;
      this.ifaceIndex.set(ifaceId, iface);
    }
    const seen = this.dedup.seenOrAdd(hashA, hashB, iface);
    if (seen < 0 || seen === iface || iface === 0) t.unique(fam, bytes, packets);
    t.addClass(0, fam, classify(addrAt(src, o, AT), fam as 4 | 6));
    t.addClass(1, fam, classify(addrAt(dst, o, AT), fam as 4 | 6));
    t.hour(received, fam, bytes, packets);
  }

  /** Write the state (atomically, fsynced), then drop journal records of objects now done. */
  save(): void {
    saveSummary(this.opts.dataDir, this.opts.summary);
    this.journal.compact((key, id) => this.opts.summary.objects[key]?.id !== id);
    this.lastSave = Date.now();
  }
}

/**
 * The `log_object` value of an object's rows: 12 characters (72 bits of SHA-256 of key, version and
 * size) — short enough for DuckDB to store inline, and the same on every run.
 */
function objectHash(identity: string): string {
  return createHash('sha256').update(identity).digest('base64url').slice(0, 12);
}

let hashA = 0;
let hashB = 0;

/** Two independent 32-bit hashes of a flow's 5-tuple (addresses at `o` of s, d) and start minute, in hashA/hashB. */
function tupleHash(s: Uint8Array, d: Uint8Array, o: number, proto: number, srcPort: number, dstPort: number, timeStart: number): void {
  let a = 0x811c9dc5 ^ proto;
  let b = 0x01000193 ^ (srcPort * 65536 + dstPort);
  for (let i = 0; i < 16; i++) {
    a = Math.imul(a ^ s[o + i]!, 0x01000193);
    b = Math.imul(b ^ d[o + i]!, 0x5bd1e995);
    a = Math.imul(a ^ d[o + i]!, 0x01000193);
    b = Math.imul(b ^ s[o + i]!, 0x5bd1e995);
  }
  const m = Math.floor(timeStart / 60000);
  a = Math.imul(a ^ (m >>> 0), 0x01000193) ^ srcPort;
  b = Math.imul(b ^ ((m / 4294967296) >>> 0) ^ dstPort, 0x5bd1e995);
  b ^= b >>> 13;
  a ^= a >>> 15;
  hashA = a | 0;
  hashB = b | 0;
}

/** Scratch for addrAt (the address being classified). */
const AT = new Uint8Array(16);


/**
 * First sightings: 64-bit tuple hash → interface index, open addressing in typed arrays (no
 * per-entry objects, no boxed numbers). Holds up to DEDUP_CAP entries (load ≤ 1/2), then starts over.
 */
class TupleTable {
  private readonly mask = DEDUP_CAP * 2 - 1;
  private readonly a = new Int32Array(DEDUP_CAP * 2);
  private readonly b = new Int32Array(DEDUP_CAP * 2);
  /** interface index + 1; 0 = empty slot */
  private readonly v = new Int32Array(DEDUP_CAP * 2);
  size = 0;

  /** The interface index first seen with (ha, hb), or -1 after recording `iface` for it. */
  seenOrAdd(ha: number, hb: number, iface: number): number {
    if (this.size >= DEDUP_CAP) this.clear();
    let i = (ha ^ (hb >>> 7)) & this.mask;
    for (;;) {
      const v = this.v[i]!;
      if (v === 0) {
        this.a[i] = ha;
        this.b[i] = hb;
        this.v[i] = iface + 1;
        this.size++;
        return -1;
      }
      if (this.a[i] === ha && this.b[i] === hb) return v - 1;
      i = (i + 1) & this.mask;
    }
  }

  clear(): void {
    this.v.fill(0);
    this.size = 0;
  }
}

/** Per-object side aggregate of flow log records, with numeric keys (merged into the summary once). */
class FlowTally {
  nodata = 0;
  skipdata = 0;
  private readonly uniq = [0, 0, 0, 0, 0, 0];
  private readonly hours = new Map<number, number[]>();
  /** [role src/dst][family 4/6] → class → count */
  private readonly classes: Map<string, number>[] = [new Map(), new Map(), new Map(), new Map()];

  unique(fam: number, bytes: number, packets: number): void {
    const o = fam === 6 ? 3 : 0;
    this.uniq[o]!++;
    this.uniq[o + 1]! += bytes;
    this.uniq[o + 2]! += packets;
  }

  addClass(role: 0 | 1, fam: number, cls: string): void {
    const m = this.classes[role * 2 + (fam === 6 ? 1 : 0)]!;
    m.set(cls, (m.get(cls) ?? 0) + 1);
  }

  hour(time: number, fam: number, bytes: number, packets: number): void {
    const h = Math.floor(time / 3_600_000) * 3_600_000;
    let c = this.hours.get(h);
    if (c === undefined) this.hours.set(h, (c = [0, 0, 0, 0, 0, 0]));
    const o = fam === 6 ? 3 : 0;
    c[o]!++;
    c[o + 1]! += bytes;
    c[o + 2]! += packets;
  }

  mergeInto(delta: AwsSummary, k: string): void {
    if (this.nodata) delta.count(delta.status, `${k}|nodata`, this.nodata);
    if (this.skipdata) delta.count(delta.status, `${k}|skipdata`, this.skipdata);
    const u = this.uniq;
    for (const [fam, o] of [[4, 0], [6, 3]] as const) {
      if (u[o]) delta.addCounters(delta.unique, `${k}|${fam}`, u[o]!, u[o + 1]!, u[o + 2]!);
    }
    for (const [h, c] of this.hours) {
      for (const [fam, o] of [[4, 0], [6, 3]] as const) {
        if (c[o]) delta.addCounters(delta.hours, `${h}|${k}|${fam}`, c[o]!, c[o + 1]!, c[o + 2]!);
      }
    }
    this.classes.forEach((m, i) => {
      const role = i < 2 ? 'src' : 'dst';
      const fam = i % 2 === 0 ? 4 : 6;
      for (const [cls, n] of m) delta.count(delta.classes, `${k}|${role}|${fam}|${cls}`, n);
    });
  }
}

/**
 * The append-only start journal (DATA/aws/journal.jsonl): one fsynced line per object before its
 * first row is appended, `{"key","id","tag","size"}`. A torn last line (a crash mid-write) is
 * ignored: nothing of that object was appended yet.
 */
class ObjectJournal {
  private readonly file: string;
  private readonly started = new Map<string, { id: string; tag: string; size: number }>();
  private fd: number | null = null;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'aws', 'journal.jsonl');
    if (!existsSync(this.file)) return;
    for (const line of readFileSync(this.file, 'utf8').split('\n')) {
      if (!line) continue;
      try {
        const j = JSON.parse(line) as { key: string; id: string; tag: string; size: number };
        if (typeof j.key === 'string' && typeof j.id === 'string') this.started.set(j.key, { id: j.id, tag: String(j.tag), size: Number(j.size) });
      } catch {
        // torn last line
      }
    }
  }

  get(key: string): { id: string; tag: string; size: number } | undefined {
    return this.started.get(key);
  }

  start(key: string, id: string, tag: string, size: number): void {
    if (this.started.get(key)?.id === id) return;
    if (this.fd === null) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'a');
    }
    // A torn previous line must not swallow this one.
    writeSync(this.fd, `\n${JSON.stringify({ key, id, tag, size })}\n`);
    fsyncSync(this.fd);
    this.started.set(key, { id, tag, size });
  }

  /** Keep only the records `keep` says are still needed (after the state was saved). */
  compact(keep: (key: string, id: string) => boolean): void {
    const rest = [...this.started].filter(([k, v]) => keep(k, v.id));
    if (rest.length === this.started.size) return;
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    this.started.clear();
    for (const [k, v] of rest) this.started.set(k, v);
    if (!existsSync(this.file) && rest.length === 0) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, rest.map(([key, v]) => `${JSON.stringify({ key, id: v.id, tag: v.tag, size: v.size })}\n`).join(''));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
  }
}
