/**
 * The AWS side aggregate: what the AWS report needs beyond the flow schema (NODATA/SKIPDATA rows,
 * first sightings of connections logged on several interfaces, address classes, request latencies
 * and statuses), plus the list of objects already ingested so re-runs skip them. Bounded by the
 * number of hours and address classes — never by the number of records. Kept as JSON in
 * DATA/aws/state.json. Per-VPC/subnet/interface figures and REJECT shares come from the store (the
 * schema's vpc_id, subnet_id, interface_id and action fields).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { RequestAggregate } from './requests.js';

export interface Counters {
  flows: number;
  bytes: number;
  packets: number;
}

export interface ObjectEntry {
  size: number;
  /** ETag for S3 objects, mtime (ms) for files. */
  tag: string;
  /** The identity its rows carry in the store (`log_object`). */
  id?: string;
  kind: string;
  lines: number;
  records: number;
  malformed: number;
  ingestedAt: number;
}

const zero = (): Counters => ({ flows: 0, bytes: 0, packets: 0 });

function addTo(m: Record<string, Counters>, key: string, flows: number, bytes: number, packets: number): void {
  const c = (m[key] ??= zero());
  c.flows += flows;
  c.bytes += bytes;
  c.packets += packets;
}

export class AwsSummary {
  /** `${kind}|${family}` → counters of first sightings only (one connection seen on several interfaces counts once). */
  unique: Record<string, Counters> = {};
  /** `${kind}|nodata` / `${kind}|skipdata` / `${kind}|no-family` → rows. */
  status: Record<string, number> = {};
  /** `${kind}|${role}|${family}|${class}` → flows (role src/dst for flow logs, client for access logs). */
  classes: Record<string, number> = {};
  /** `${hourStartMs}|${kind}|${family}` → counters (trend). */
  hours: Record<string, Counters> = {};
  /** Addresses written as ::ffff:a.b.c.d that were counted as IPv4. */
  mappedAsIPv4 = 0;
  requests = new RequestAggregate();
  objects: Record<string, ObjectEntry> = {};

  addCounters(m: Record<string, Counters>, key: string, flows: number, bytes: number, packets: number): void {
    addTo(m, key, flows, bytes, packets);
  }

  addUnique(kind: string, family: number, bytes: number, packets: number): void {
    addTo(this.unique, `${kind}|${family}`, 1, bytes, packets);
  }

  addHour(time: number, kind: string, family: number, bytes: number, packets: number): void {
    const h = Math.floor(time / 3_600_000) * 3_600_000;
    addTo(this.hours, `${h}|${kind}|${family}`, 1, bytes, packets);
  }

  count(rec: Record<string, number>, key: string, n = 1): void {
    rec[key] = (rec[key] ?? 0) + n;
  }

  /** Add another summary's aggregates (not its object list). */
  merge(o: AwsSummary): void {
    for (const [k, c] of Object.entries(o.unique)) addTo(this.unique, k, c.flows, c.bytes, c.packets);
    for (const [k, c] of Object.entries(o.hours)) addTo(this.hours, k, c.flows, c.bytes, c.packets);
    for (const [k, n] of Object.entries(o.status)) this.count(this.status, k, n);
    for (const [k, n] of Object.entries(o.classes)) this.count(this.classes, k, n);
    this.mappedAsIPv4 += o.mappedAsIPv4;
    this.requests.merge(o.requests);
  }

  toJSON(): Record<string, unknown> {
    return {
      version: 1,
      unique: this.unique,
      status: this.status,
      classes: this.classes,
      hours: this.hours,
      mappedAsIPv4: this.mappedAsIPv4,
      requests: this.requests.toJSON(),
      objects: this.objects,
    };
  }

  static fromJSON(j: any): AwsSummary {
    const s = new AwsSummary();
    if (!j || j.version !== 1) return s;
    s.unique = j.unique ?? {};
    s.status = j.status ?? {};
    s.classes = j.classes ?? {};
    s.hours = j.hours ?? {};
    s.mappedAsIPv4 = j.mappedAsIPv4 ?? 0;
    s.requests = RequestAggregate.from(j.requests);
    s.objects = j.objects ?? {};
    return s;
  }
}

export function summaryPath(dataDir: string): string {
  return path.join(dataDir, 'aws', 'state.json');
}

export function loadSummary(dataDir: string): AwsSummary {
  const p = summaryPath(dataDir);
  if (!existsSync(p)) return new AwsSummary();
  try {
    return AwsSummary.fromJSON(JSON.parse(readFileSync(p, 'utf8')));
  } catch (e) {
    throw new Error(`${p}: cannot read the AWS ingest state: ${(e as Error).message}`);
  }
}

/** Write atomically and durably: temporary file, fsync, rename, fsync of the directory. */
export function saveSummary(dataDir: string, s: AwsSummary): void {
  const p = summaryPath(dataDir);
  const dir = path.dirname(p);
  mkdirSync(dir, { recursive: true });
  const tmp = `${p}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(s));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, p);
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // directories cannot be fsynced on every platform; the rename is still atomic
  }
}
