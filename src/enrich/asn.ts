/**
 * ASN and organisation of an address, for naming destinations and filling `src_asn`/`dst_asn`.
 *
 * Two sources:
 * - the default: the free RouteViews + DB-IP + NRO ASN ranges shipped in the npm package
 *   `@ip-location-db/asn` (CSV of inclusive numeric ranges, CC BY 4.0), loaded into sorted typed
 *   arrays and searched by bisection;
 * - a user-supplied MaxMind DB file (`--asn-db FILE.mmdb`, e.g. GeoLite2-ASN or a DB-IP ASN
 *   database: records with `autonomous_system_number` and `autonomous_system_organization`), read
 *   with the `maxmind` package.
 * Lookups of special-purpose addresses (private, documentation, ...) return null without looking.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Reader, type AsnResponse } from 'maxmind';
import { classify } from '../net/classify.js';
import { formatIP } from '../net/ip.js';

export interface AsnInfo {
  asn: number;
  org: string;
}

export interface AsnLookup {
  /** What the data is (for notes and --json). */
  readonly source: string;
  lookup(addr: Uint8Array, family: 4 | 6): AsnInfo | null;
}

/** Only global unicast addresses have an origin AS worth looking up. */
function routable(addr: Uint8Array, family: 4 | 6): boolean {
  const c = classify(addr, family);
  return c === 'global-unicast';
}

/** Sorted, non-overlapping inclusive ranges of one family with their ASN and organisation index. */
class RangeTable {
  constructor(
    /** IPv4: start/end as u32; IPv6: start/end as (hi, lo) u64 pairs. */
    readonly startHi: BigUint64Array | Uint32Array,
    readonly startLo: BigUint64Array | null,
    readonly endHi: BigUint64Array | Uint32Array,
    readonly endLo: BigUint64Array | null,
    readonly asn: Uint32Array,
    readonly org: Uint32Array,
  ) {}
}

function u32of(addr: Uint8Array): number {
  return ((addr[12]! << 24) >>> 0) + (addr[13]! << 16) + (addr[14]! << 8) + addr[15]!;
}

function u64of(addr: Uint8Array, off: number): bigint {
  let v = 0n;
  for (let i = off; i < off + 8; i++) v = (v << 8n) | BigInt(addr[i]!);
  return v;
}

/** Index of the last range whose start <= x, or -1. */
function bisect(n: number, lessOrEqual: (i: number) => boolean): number {
  let lo = 0;
  let hi = n - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (lessOrEqual(mid)) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

export class CsvAsnLookup implements AsnLookup {
  private readonly cache = new Map<string, AsnInfo | null>();

  constructor(
    readonly source: string,
    private readonly v4: RangeTable,
    private readonly v6: RangeTable,
    private readonly orgs: string[],
  ) {}

  lookup(addr: Uint8Array, family: 4 | 6): AsnInfo | null {
    if (!routable(addr, family)) return null;
    if (family === 4) {
      const x = u32of(addr);
      const t = this.v4;
      const s = t.startHi as Uint32Array;
      const i = bisect(s.length, (k) => s[k]! <= x);
      if (i < 0 || (t.endHi as Uint32Array)[i]! < x) return null;
      return { asn: t.asn[i]!, org: this.orgs[t.org[i]!]! };
    }
    const key = formatIP(addr, 6);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const hi = u64of(addr, 0);
    const lo = u64of(addr, 8);
    const t = this.v6;
    const sh = t.startHi as BigUint64Array;
    const sl = t.startLo!;
    const i = bisect(sh.length, (k) => sh[k]! < hi || (sh[k] === hi && sl[k]! <= lo));
    let r: AsnInfo | null = null;
    if (i >= 0) {
      const eh = (t.endHi as BigUint64Array)[i]!;
      const el = t.endLo![i]!;
      if (eh > hi || (eh === hi && el >= lo)) r = { asn: t.asn[i]!, org: this.orgs[t.org[i]!]! };
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(key, r);
    return r;
  }
}

/** Split one CSV line (fields may be double-quoted with "" escapes). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else v += line[i++];
      }
      out.push(v);
      i++; // the comma
    } else {
      const j = line.indexOf(',', i);
      const end = j < 0 ? line.length : j;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

async function readRanges(file: string, family: 4 | 6, orgIndex: Map<string, number>, orgs: string[]): Promise<RangeTable> {
  const sh: bigint[] | number[] = [];
  const sl: bigint[] = [];
  const eh: bigint[] | number[] = [];
  const el: bigint[] = [];
  const asn: number[] = [];
  const org: number[] = [];
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  const MASK = (1n << 64n) - 1n;
  for await (const line of rl) {
    lineNo++;
    if (!line) continue;
    const f = csvFields(line);
    if (f.length < 4) throw new Error(`${file}:${lineNo}: expected 4 fields, got ${f.length}`);
    const name = f[3]!;
    let oi = orgIndex.get(name);
    if (oi === undefined) {
      oi = orgs.length;
      orgs.push(name);
      orgIndex.set(name, oi);
    }
    const a = Number(f[2]);
    if (!Number.isInteger(a) || a < 0) throw new Error(`${file}:${lineNo}: bad ASN "${f[2]}"`);
    if (family === 4) {
      (sh as number[]).push(Number(f[0]));
      (eh as number[]).push(Number(f[1]));
    } else {
      const s = BigInt(f[0]!);
      const e = BigInt(f[1]!);
      (sh as bigint[]).push(s >> 64n);
      sl.push(s & MASK);
      (eh as bigint[]).push(e >> 64n);
      el.push(e & MASK);
    }
    asn.push(a);
    org.push(oi);
  }
  if (family === 4) return new RangeTable(Uint32Array.from(sh as number[]), null, Uint32Array.from(eh as number[]), null, Uint32Array.from(asn), Uint32Array.from(org));
  return new RangeTable(BigUint64Array.from(sh as bigint[]), BigUint64Array.from(sl), BigUint64Array.from(eh as bigint[]), BigUint64Array.from(el), Uint32Array.from(asn), Uint32Array.from(org));
}

/** Where the default ASN package is installed (null when it is not). */
export function defaultAsnPackageDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    return path.dirname(require.resolve('@ip-location-db/asn/package.json'));
  } catch {
    return null;
  }
}

/** Load the `@ip-location-db/asn` ranges (about 515,000 ranges; a second or two). */
export async function loadDefaultAsn(dir = defaultAsnPackageDir()): Promise<CsvAsnLookup> {
  if (!dir) throw new Error('the ASN database package @ip-location-db/asn is not installed (npm ci installs it)');
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string };
  const orgIndex = new Map<string, number>();
  const orgs: string[] = [];
  const v4 = await readRanges(path.join(dir, 'asn-ipv4-num.csv'), 4, orgIndex, orgs);
  const v6 = await readRanges(path.join(dir, 'asn-ipv6-num.csv'), 6, orgIndex, orgs);
  return new CsvAsnLookup(`@ip-location-db/asn ${pkg.version ?? ''} (RouteViews, DB-IP, NRO; CC BY 4.0)`.replace('  ', ' '), v4, v6, orgs);
}

/** A MaxMind DB with ASN records (GeoLite2-ASN layout). */
export function openMmdbAsn(file: string): AsnLookup {
  if (!existsSync(file)) throw new Error(`no such ASN database: ${file}`);
  let reader: Reader<AsnResponse>;
  try {
    reader = new Reader<AsnResponse>(readFileSync(file));
  } catch (e) {
    throw new Error(`${file}: not a MaxMind DB file (${(e as Error).message})`);
  }
  const type = reader.metadata.databaseType;
  return {
    source: `${path.basename(file)} (${type})`,
    lookup(addr, family) {
      if (!routable(addr, family)) return null;
      const rec = reader.get(formatIP(addr, family));
      if (!rec || typeof rec.autonomous_system_number !== 'number') return null;
      return { asn: rec.autonomous_system_number, org: rec.autonomous_system_organization ?? '' };
    },
  };
}

/** The user's MMDB when given, else the default package. */
export async function openAsnLookup(mmdb?: string): Promise<AsnLookup> {
  return mmdb ? openMmdbAsn(mmdb) : loadDefaultAsn();
}
