/**
 * AWS logs → FlowRecord batches → store, plus the AWS side aggregate (src/sources/cloud/summary.ts).
 *
 * - Objects (files or S3 objects) already ingested with the same size and ETag/mtime are skipped.
 * - Malformed lines are reported as `file:line: reason`, counted, and the rest is ingested.
 * - Memory is bounded: lines are streamed, flows are appended in batches with at most
 *   MAX_IN_FLIGHT batches queued on the store, and the dedup window is capped.
 * - The state (DATA/aws/state.json) is written after each object whose flows are durable, at most
 *   once a second, and at the end.
 */
import { classify } from '../net/classify.js';
import type { LocalEnricher } from '../enrich/local.js';
import { servicePort } from '../enrich/local.js';
import { Direction, type FlowRecord } from '../schema/fields.js';
import type { FlowStore } from '../store/store.js';
import { CloudFrontFormat, isAlbLine, parseAlbLine, parseNlbLine, requestFlow, type AccessRequest } from '../sources/cloud/alb.js';
import { readLines, type LogKind, type LogObject } from '../sources/cloud/inputs.js';
import { AwsSummary, saveSummary } from '../sources/cloud/summary.js';
import { isMappedText, isVpcHeader, LogFormatError, parseVpcFormat, splitFields, TGW_DEFAULT_FORMAT, VPC_DEFAULT_FORMAT, VpcFormat, type VpcMeta } from '../sources/cloud/vpc.js';

const BATCH_SIZE = 16_384;
const MAX_IN_FLIGHT = 3;
const DEDUP_CAP = 1 << 20;
/** Malformed lines printed per object (all are counted). */
const MAX_REPORTED = 5;

export interface AwsIngestOptions {
  store: FlowStore;
  enricher: LocalEnricher;
  dataDir: string;
  summary: AwsSummary;
  /** Force the log kind (else from the key layout, then from the content). */
  kind?: LogKind;
  /** VPC/TGW custom format for files without a header line. */
  format?: string;
  /** Ingest again objects already recorded as ingested. */
  force?: boolean;
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
  private readonly dedup = new Map<string, string>();
  private lastSave = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  flowsStored = 0;

  constructor(private readonly opts: AwsIngestOptions) {}

  isDone(o: LogObject): boolean {
    const e = this.opts.summary.objects[o.key];
    return !this.opts.force && e !== undefined && e.size === o.size && e.tag === o.tag;
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
    const delta = new AwsSummary();
    let batch: FlowRecord[] = [];
    let dirs: number[] = [];
    let batchIsFlowLog = true;
    let stored = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const b = batch;
      const d = dirs;
      const isFlowLog = batchIsFlowLog;
      batch = [];
      dirs = [];
      if (isFlowLog) {
        this.opts.enricher.enrich(b);
        for (let i = 0; i < b.length; i++) {
          const dir = d[i]!;
          if (dir === 0) continue;
          const r = b[i]!;
          r.direction = dir;
          r.peer_addr = dir === Direction.inbound ? r.src_addr : r.dst_addr;
          r.service_port = servicePort(r);
        }
      }
      while (this.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.inFlight);
      if (this.failure) throw this.failure;
      const p: Promise<void> = this.opts.store.append(b).then(
        () => {
          stored += b.length;
          this.flowsStored += b.length;
          this.inFlight.delete(p);
        },
        (e: unknown) => {
          this.failure ??= e;
          this.inFlight.delete(p);
        },
      );
      this.inFlight.add(p);
    };
    const malformed = (lineNo: number, msg: string): void => {
      res.malformed++;
      const text = `${o.display}:${lineNo}: ${msg}`;
      if (res.malformedSamples.length < MAX_REPORTED) {
        res.malformedSamples.push(text);
        this.opts.onWarning?.(text);
      }
    };

    let kind: LogKind | null = this.opts.kind ?? o.kindHint;
    let vpcFormat: VpcFormat | null = null;
    let cf: CloudFrontFormat | null = null;
    let lineNo = 0;
    let bytes = 0;
    const fields: string[] = [];
    const fallbackTime = Date.now();

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
      const r = f.parseFields(fields, fallbackTime);
      const k = f.sourceKind;
      if (r.kind !== 'flow') {
        delta.count(delta.status, `${k}|${r.kind}`);
        if (r.kind === 'nodata') res.nodata++;
        else if (r.kind === 'skipdata') res.skipdata++;
        else res.noFamily++;
        return;
      }
      const fl = r.flow;
      const fam = fl.family as 4 | 6;
      this.account(delta, k, fl, r.meta, fields, f);
      delta.addHour(fl.time_received, k, fam, fl.bytes, fl.packets);
      res.flows++;
      batch.push(fl);
      dirs.push(fl.direction);
    };

    const onAccess = (line: string, req: AccessRequest): void => {
      delta.requests.add(req);
      const fl = requestFlow(req);
      const k = req.kind;
      delta.addVpc(`${k}|||${req.lb}||${req.status >= 400 ? 'ERROR' : ''}|${req.family}`, 1, fl.bytes, 0);
      delta.addUnique(k, req.family, fl.bytes, 0);
      delta.addHour(req.time, k, req.family, fl.bytes, 0);
      delta.count(delta.classes, `${k}|client|${req.family}|${classify(req.client, req.family)}`);
      if (req.family === 4 && line.includes('::ffff:')) delta.mappedAsIPv4++;
      res.requests++;
      res.flows++;
      batch.push(fl);
      dirs.push(0);
    };

    let stream;
    try {
      stream = await o.open();
    } catch (e) {
      res.error = `${o.display}: ${(e as Error).message}`;
      return res;
    }
    try {
      for await (const lines of readLines(stream, (n) => {
        bytes += n;
      })) {
        for (const line of lines) {
          lineNo++;
          if (kind === null) {
            if (line.trim() === '') continue;
            kind = sniffKind(line) ?? 'vpc';
            res.kind = kind;
          }
          batchIsFlowLog = kind === 'vpc' || kind === 'tgw';
          try {
            if (kind === 'vpc' || kind === 'tgw') onFlowLog(line);
            else if (kind === 'cloudfront') {
              if (line.startsWith('#')) {
                if (line.startsWith('#Fields:')) cf = new CloudFrontFormat(line);
                continue;
              }
              if (line.trim() === '') continue;
              if (!cf) throw new LogFormatError('no #Fields header before the first entry');
              onAccess(line, cf.parse(line));
            } else {
              if (line.trim() === '') continue;
              onAccess(line, kind === 'alb' ? parseAlbLine(line) : parseNlbLine(line));
            }
          } catch (e) {
            if (!(e instanceof LogFormatError)) throw e;
            malformed(lineNo, e.message);
          }
          if (batch.length >= BATCH_SIZE) await flush();
        }
        res.lines = lineNo;
        this.opts.onProgress?.(bytes, lineNo);
      }
      await flush();
    } catch (e) {
      res.error = `${o.display}:${lineNo}: ${(e as Error).message}`;
    }
    await Promise.allSettled(this.inFlight);
    if (this.failure) throw this.failure;
    res.lines = lineNo;
    // An object that failed before anything was stored is retried next time; otherwise it is
    // recorded (with its error) so a re-run does not count its first part twice.
    if (res.error && stored === 0 && res.flows === 0) return res;
    this.opts.summary.merge(delta);
    this.opts.summary.objects[o.key] = {
      size: o.size,
      tag: o.tag,
      kind: res.kind,
      lines: res.lines,
      records: res.flows,
      malformed: res.malformed,
      ingestedAt: Date.now(),
    };
    if (Date.now() - this.lastSave > 1000) this.save();
    return res;
  }

  /** Side-aggregate one VPC/TGW flow (per interface, first-sighting dedup, address classes). */
  private account(delta: AwsSummary, k: string, fl: FlowRecord, m: VpcMeta, fields: readonly string[], f: VpcFormat): void {
    const fam = fl.family as 4 | 6;
    delta.addVpc(`${k}|${m.vpcId}|${m.subnetId}|${m.interfaceId}|${m.flowDirection}|${m.action}|${fam}`, 1, fl.bytes, fl.packets);
    // One connection is logged by every interface it crosses (egress at the sender, ingress at the
    // receiver, NAT and load balancer ENIs): count it once per 5-tuple and start minute.
    const key = `${fl.proto}|${addrKey(fl.src_addr)}|${fl.src_port}|${addrKey(fl.dst_addr)}|${fl.dst_port}|${Math.floor(fl.time_start / 60000)}`;
    const seen = this.dedup.get(key);
    if (seen === undefined || seen === m.interfaceId || m.interfaceId === '') {
      if (seen === undefined) {
        if (this.dedup.size >= DEDUP_CAP) this.dedup.clear();
        this.dedup.set(key, m.interfaceId);
      }
      delta.addUnique(k, fam, fl.bytes, fl.packets);
    }
    delta.count(delta.classes, `${k}|src|${fam}|${classify(fl.src_addr, fam)}`);
    delta.count(delta.classes, `${k}|dst|${fam}|${classify(fl.dst_addr, fam)}`);
    if (fam === 4) {
      for (const name of ['srcaddr', 'dstaddr', 'pkt-srcaddr', 'pkt-dstaddr']) {
        const i = f.fields.indexOf(name);
        if (i >= 0 && isMappedText(fields[i]!)) {
          delta.mappedAsIPv4++;
          break;
        }
      }
    }
  }

  save(): void {
    saveSummary(this.opts.dataDir, this.opts.summary);
    this.lastSave = Date.now();
  }
}

function addrKey(a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, 16).toString('latin1');
}
