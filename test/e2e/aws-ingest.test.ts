/**
 * `v6scope aws ingest` / `aws report` end to end on generated logs with known ground truth:
 * 203.0.113.12 is IPv4, fd00::1 and 3fff::1 are IPv6, ::ffff:192.0.2.1 is IPv4 (IPv4 seen
 * through an IPv6 socket representation — see src/sources/cloud/vpc.ts). Shares must equal the
 * ground truth computed here; malformed lines are reported with file and line; re-runs skip
 * objects already ingested, from a directory in the S3 key layouts and from a local S3-compatible
 * server (s3rver, never real AWS) — text .log.gz objects and Parquet objects (written by DuckDB
 * with the column names and types of AWS's Parquet flow logs).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-aws-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FORMAT = '${version} ${account-id} ${vpc-id} ${subnet-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}';
const HEADER = FORMAT.replace(/\$\{|\}/g, '');
const T0 = 1_764_590_400; // 2025-12-01T12:00:00Z

interface Truth {
  flows: [number, number];
  bytes: [number, number];
  packets: [number, number];
  rejected: [number, number];
  nodata: number;
  skipdata: number;
}

/** One VPC log file with ground truth; `dupes` connections are also logged on a second interface. */
function vpcFile(seed: number, n: number, truth: Truth, unique: Truth): string {
  const addrs: [string, 4 | 6][] = [
    ['203.0.113.12', 4],
    ['fd00::1', 6],
    ['3fff::1', 6],
    ['::ffff:192.0.2.1', 4],
  ];
  const lines = [HEADER];
  for (let i = 0; i < n; i++) {
    const [src, fam] = addrs[(i + seed) % addrs.length]!;
    const dst = fam === 6 ? '3fff::10' : '10.0.0.5';
    const packets = 1 + ((i * 7 + seed) % 50);
    const bytes = packets * (60 + ((i * 13) % 1400));
    const action = i % 10 === 3 ? 'REJECT' : 'ACCEPT';
    const fi = fam === 6 ? 1 : 0;
    const sp = 1024 + ((seed * 1000 + i) % 60000);
    const line = `5 123456789012 vpc-0a${seed % 2} subnet-0b${i % 3} eni-0c${seed} ${src} ${dst} ${sp} 443 6 ${packets} ${bytes} ${T0 + i} ${T0 + i + 30} ${action} OK ingress`;
    // Runs of spaces are legal separators.
    lines.push(i % 5 === 0 ? line.replace(/ /g, '   ') : line);
    for (const t of [truth, unique]) {
      t.flows[fi]++;
      t.bytes[fi] += bytes;
      t.packets[fi] += packets;
    }
    if (action === 'REJECT') truth.rejected[fi]++;
    if (i % 17 === 0) {
      // The same connection seen by the receiving side's interface: a record, not a new connection.
      lines.push(`5 123456789012 vpc-0a${seed % 2} subnet-0b${i % 3} eni-0d${seed} ${src} ${dst} ${sp} 443 6 ${packets} ${bytes} ${T0 + i} ${T0 + i + 30} ${action} OK egress`);
      truth.flows[fi]++;
      truth.bytes[fi] += bytes;
      truth.packets[fi] += packets;
      if (action === 'REJECT') truth.rejected[fi]++;
    }
  }
  lines.push(`5 123456789012 vpc-0a0 subnet-0b0 eni-0c${seed} - - - - - - - ${T0} ${T0 + 60} - NODATA -`);
  lines.push(`5 123456789012 vpc-0a0 subnet-0b0 eni-0c${seed} - - - - - - - ${T0} ${T0 + 60} - SKIPDATA -`);
  truth.nodata++;
  truth.skipdata++;
  return `${lines.join('\n')}\n`;
}

const newTruth = (): Truth => ({ flows: [0, 0], bytes: [0, 0], packets: [0, 0], rejected: [0, 0], nodata: 0, skipdata: 0 });
const share = (p: [number, number]) => p[1] / (p[0] + p[1]);

/** Relative paths of the S3 layouts (default and Hive-style). */
function layoutKey(i: number): string {
  const name = `123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20251201T12${String(i).padStart(2, '0')}Z_hash${i}.log.gz`;
  return i % 2 === 0
    ? `AWSLogs/123456789012/vpcflowlogs/us-east-1/2025/12/01/${name}`
    : `AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2025/month=12/day=01/hour=12/${name}`;
}

const truth = newTruth();
const unique = newTruth();
const files: { key: string; body: Buffer }[] = [];
for (let i = 0; i < 6; i++) files.push({ key: layoutKey(i), body: gzipSync(vpcFile(i, 300 + i * 11, truth, unique)) });

/** AWS's Parquet flow log columns for FORMAT (names with underscores, typed; '-' is NULL). */
const PARQUET_TYPES: Record<string, string> = { version: 'INTEGER', srcport: 'INTEGER', dstport: 'INTEGER', protocol: 'INTEGER', packets: 'BIGINT', bytes: 'BIGINT', start: 'BIGINT', end: 'BIGINT' };

/** The text log as a Parquet file (DuckDB's writer, Snappy as AWS uses), read back as bytes. */
async function toParquet(text: string): Promise<Buffer> {
  const work = mkdtempSync(path.join(dir, 'pq-'));
  const txt = path.join(work, 'in.log');
  const out = path.join(work, 'out.parquet');
  writeFileSync(txt, text.replace(/ +/g, ' '));
  const cols = HEADER.split(' ').map((n) => `'${n}': '${PARQUET_TYPES[n] ?? 'VARCHAR'}'`).join(', ');
  const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const c = await inst.connect();
  const names = HEADER.split(' ').map((n) => `"${n}" AS "${n.replace(/-/g, '_')}"`).join(', ');
  await c.run(`COPY (SELECT ${names} FROM read_csv('${txt}', delim = ' ', header = true, auto_detect = false, nullstr = '-', columns = {${cols}})) TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
  c.closeSync();
  inst.closeSync();
  return readFileSync(out);
}
const pqTruth = newTruth();
const pqTexts = [10, 11].map((seed) => ({ key: layoutKey(seed).replace(/\.log\.gz$/, '.log.parquet'), text: vpcFile(seed, 2500 + seed, pqTruth, newTruth()) }));

async function json(args: string[]) {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('aws ingest: VPC flow logs from a directory in the S3 key layouts', () => {
  const tree = path.join(dir, 'tree');
  const data = path.join(dir, 'data-dir');
  beforeAll(() => {
    for (const f of files) {
      mkdirSync(path.dirname(path.join(tree, f.key)), { recursive: true });
      writeFileSync(path.join(tree, f.key), f.body);
    }
  });

  it('shares equal the ground truth; NODATA/SKIPDATA counted outside them', async () => {
    const ing = await json(['--data', data, '--json', 'aws', 'ingest', tree]);
    expect(ing.objects).toBe(6);
    expect(ing.ingested).toBe(6);
    expect(ing.malformed).toBe(0);
    expect(ing.flows).toBe(truth.flows[0] + truth.flows[1]);
    expect(ing.nodata).toBe(6);
    expect(ing.skipdata).toBe(6);
    const rep = await json(['--data', data, '--json', 'aws', 'report']);
    const fl = rep.flowLogs;
    expect(fl.all.flows).toEqual({ v4: truth.flows[0], v6: truth.flows[1], share: share(truth.flows) });
    expect(fl.all.bytes).toEqual({ v4: truth.bytes[0], v6: truth.bytes[1], share: share(truth.bytes) });
    expect(fl.all.packets).toEqual({ v4: truth.packets[0], v6: truth.packets[1], share: share(truth.packets) });
    // One connection logged on two interfaces counts once.
    expect(fl.unique.flows).toEqual({ v4: unique.flows[0], v6: unique.flows[1], share: share(unique.flows) });
    expect(fl.unique.bytes.v6).toBe(unique.bytes[1]);
    expect(fl.reject.v4.rejected).toBe(truth.rejected[0]);
    expect(fl.reject.v6.rejected).toBe(truth.rejected[1]);
    expect(fl.nodata).toBe(6);
    expect(fl.skipdata).toBe(6);
    expect(fl.byVpc.map((r: { key: string }) => r.key).sort()).toEqual(['vpc-0a0', 'vpc-0a1']);
    expect(fl.bySubnet.length).toBe(3);
    const dirs = Object.fromEntries(fl.byDirection.map((r: { key: string; flows: { v4: number; v6: number } }) => [r.key, r.flows.v4 + r.flows.v6]));
    expect(dirs.ingress + dirs.egress).toBe(truth.flows[0] + truth.flows[1]);
    expect(rep.mappedAsIPv4).toBeGreaterThan(0);
    // Address classes: fd00::1 is ULA, 3fff::1 documentation, 203.0.113.12 and ::ffff:192.0.2.1 documentation (IPv4).
    const cls = rep.addressTypes.filter((a: { role: string }) => a.role === 'src').map((a: { family: number; class: string }) => `${a.family}:${a.class}`).sort();
    expect(cls).toEqual(['4:documentation', '6:documentation', '6:ula']);
    // The flows are in the store too: the generic share agrees.
    const sh = await json(['--data', data, '--json', 'share', '--since', '2025-12-01', '--until', '2025-12-02']);
    expect(JSON.stringify(sh)).toContain(String(truth.flows[1]));
  });

  it('a second run ingests nothing new', async () => {
    const ing = await json(['--data', data, '--json', 'aws', 'ingest', tree]);
    expect(ing.ingested).toBe(0);
    expect(ing.skipped).toBe(6);
    const rep = await json(['--data', data, '--json', 'aws', 'report']);
    expect(rep.flowLogs.all.flows.v6).toBe(truth.flows[1]);
  });

  it('--emf prints CloudWatch Embedded Metric Format lines', async () => {
    const r = await runCli(['--data', data, 'aws', 'report', '--emf']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const vpc = lines.find((l) => l.Source === 'vpc');
    expect(vpc._aws.CloudWatchMetrics[0].Namespace).toBe('v6scope');
    expect(vpc.IPv6ShareFlows).toBeCloseTo(share(truth.flows) * 100, 1);
    expect(vpc.IPv6RejectedFlows).toBe(truth.rejected[1]);
  });
});

describe('aws ingest: malformed lines', () => {
  it('are reported with file and line number, counted, and the rest is ingested', async () => {
    const data = path.join(dir, 'data-bad');
    const file = path.join(dir, 'bad.log');
    const lines = [
      '2 123456789010 eni-1235b8ca123456789 203.0.113.12 10.0.0.5 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 203.0.113.999 10.0.0.5 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      '2 123456789010 eni-1235b8ca123456789 3fff::1 fd00::1 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK',
      'this is not a flow log record',
      '2 123456789010 eni-1235b8ca123456789 fd00::1 3fff::1 22 20641 6 10 1000 1418530010 1418530070 ACCEPT OK',
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await runCli(['--data', data, '--json', 'aws', 'ingest', '--kind', 'vpc', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2: invalid source address "203.0.113.999"`);
    expect(r.stderr).toContain(`${file}:4: 7 fields, expected 14`);
    const out = JSON.parse(r.stdout);
    expect(out.malformed).toBe(2);
    expect(out.flows).toBe(3);
    const rep = await json(['--data', data, '--json', 'aws', 'report']);
    expect(rep.flowLogs.all.flows).toEqual({ v4: 1, v6: 2, share: 2 / 3 });
  });
});

describe('aws ingest: access logs', () => {
  it('request and client shares, latency and 5xx rate by family', async () => {
    const data = path.join(dir, 'data-alb');
    const albDir = path.join(dir, 'alb/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/12/01');
    mkdirSync(albDir, { recursive: true });
    const clients: [string, 4 | 6][] = [
      ['203.0.113.12', 4],
      ['fd00::1', 6],
      ['3fff::1', 6],
      ['::ffff:192.0.2.1', 4],
      ['3fff:0:0:1::5', 6],
    ];
    const lines: string[] = [];
    const req = [0, 0];
    const err5 = [0, 0];
    const lat: number[][] = [[], []];
    for (let i = 0; i < 500; i++) {
      const [ip, fam] = clients[i % clients.length]!;
      const fi = fam === 6 ? 1 : 0;
      const ms = fam === 6 ? 20 + (i % 50) : 10 + (i % 30);
      const status = i % 20 === 7 ? 502 : 200;
      req[fi]!++;
      if (status >= 500) err5[fi]!++;
      lat[fi]!.push(ms);
      const t = new Date(Date.UTC(2025, 11, 1, 12, 0, i)).toISOString();
      lines.push(
        `https ${t} app/my-lb/50dc6c495c0c9188 ${ip}:${40000 + i} 10.0.0.1:80 0.000 ${(ms / 1000).toFixed(3)} 0.000 ${status} ${status} 100 ${1000 + i} "GET https://example.com:443/ HTTP/1.1" "curl/8" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1 "Root=1-1" "example.com" "-" 0 ${t} "forward" "-" "-" "10.0.0.1:80" "${status}" "-" "-" TID_1`,
      );
    }
    writeFileSync(path.join(albDir, '123456789012_elasticloadbalancing_us-east-1_app.my-lb.50dc6c495c0c9188_20251201T1200Z_10.0.0.1_abc.log.gz'), gzipSync(`${lines.join('\n')}\n`));
    const ing = await json(['--data', data, '--json', 'aws', 'ingest', path.join(dir, 'alb')]);
    expect(ing.requests).toBe(500);
    expect(ing.objectsDetail[0].kind).toBe('alb');
    const rep = await json(['--data', data, '--json', 'aws', 'report']);
    expect(rep.requests.total).toEqual({ v4: req[0], v6: req[1], share: req[1]! / 500 });
    // Distinct clients: 2 IPv4 (203.0.113.12, 192.0.2.1), 3 IPv6.
    expect(rep.requests.clients).toEqual({ v4: 2, v6: 3, share: 3 / 5 });
    const alb = rep.requests.byKind.find((k: { kind: string }) => k.kind === 'alb');
    expect(alb.v6.rate5xx).toBeCloseTo(err5[1]! / req[1]!, 10);
    expect(alb.v4.rate5xx).toBeCloseTo(err5[0]! / req[0]!, 10);
    const p50 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.ceil(0.5 * a.length) - 1]!;
    expect(Math.abs(alb.v6.latencyMs.p50 - p50(lat[1]!)) / p50(lat[1]!)).toBeLessThan(0.03);
    expect(Math.abs(alb.v4.latencyMs.p50 - p50(lat[0]!)) / p50(lat[0]!)).toBeLessThan(0.03);
    // 3fff::1 and 3fff:0:0:1::5 share a /48 but not a /64.
    expect(rep.requests.topV6Clients48.find((r: { prefix: string }) => r.prefix === '3fff::/48').requests).toBe(200);
    expect(rep.requests.topV6Clients64.length).toBe(3);
  });
});

describe('aws ingest: a local S3-compatible server', () => {
  const require = createRequire(import.meta.url);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const S3rver = require('s3rver') as any;
  let server: { close(): Promise<void> } | null = null;
  let endpoint = '';
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

  beforeAll(async () => {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    const s = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: path.join(dir, 's3'), configureBuckets: [{ name: 'flowlogs' }, { name: 'pqlogs' }] });
    const addr = (await s.run()) as { port: number };
    server = s;
    endpoint = `http://127.0.0.1:${addr.port}`;
    const c = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    for (const f of files) await c.send(new PutObjectCommand({ Bucket: 'flowlogs', Key: f.key, Body: f.body }));
    await c.send(new PutObjectCommand({ Bucket: 'flowlogs', Key: 'other/readme.txt', Body: 'not under the prefix' }));
    for (const f of pqTexts) await c.send(new PutObjectCommand({ Bucket: 'pqlogs', Key: f.key, Body: await toParquet(f.text) }));
    c.destroy();
  });
  afterAll(async () => {
    await server?.close();
  });

  /**
   * `aws ingest` of an S3 prefix twice: the first run ingests `objects` objects with the truth's
   * flows, the second nothing; the report's bytes and packets equal the truth. The first run's JSON.
   */
  async function ingestTwice(data: string, url: string, objects: number, t: Truth) {
    const args = ['--data', data, '--json', 'aws', 'ingest', '--endpoint', endpoint, url];
    const r1 = await runCli(args, { env });
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const a = JSON.parse(r1.stdout);
    expect(a.ingested).toBe(objects);
    expect(a.flows).toBe(t.flows[0] + t.flows[1]);
    const r2 = await runCli(args, { env });
    expect(r2.code).toBe(0);
    expect(JSON.parse(r2.stdout)).toMatchObject({ ingested: 0, skipped: objects });
    const rep = await json(['--data', data, '--json', 'aws', 'report']);
    expect(rep.flowLogs.all.bytes).toEqual({ v4: t.bytes[0], v6: t.bytes[1], share: share(t.bytes) });
    expect(rep.flowLogs.all.packets).toEqual({ v4: t.packets[0], v6: t.packets[1], share: share(t.packets) });
    return a;
  }

  it('reads every object once; a second run ingests nothing new', async () => {
    const data = path.join(dir, 'data-s3');
    const a = await ingestTwice(data, 's3://flowlogs/AWSLogs/', files.length, truth);
    expect(new Set(a.objectsDetail.map((o: { key: string }) => o.key)).size).toBe(files.length);
    const state = JSON.parse(readFileSync(path.join(data, 'aws/state.json'), 'utf8'));
    expect(Object.keys(state.objects).every((k) => k.startsWith('s3://flowlogs/AWSLogs/'))).toBe(true);
  });

  it('Parquet objects: every record once, totals equal the ground truth, a second run ingests nothing', async () => {
    await ingestTwice(path.join(dir, 'data-s3-parquet'), 's3://pqlogs/AWSLogs/', pqTexts.length, pqTruth);
  });
});
