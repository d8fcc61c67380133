/**
 * VPC Flow Logs in Parquet (as AWS delivers them to S3, Hive-compatible prefixes): fixtures are
 * written by DuckDB itself (COPY … TO … (FORMAT parquet)) from text lines with known content, with
 * the AWS Parquet column names (underscores) and types (INT_32 version/ports/protocol/tcp_flags,
 * INT_64 packets/bytes/start/end, STRING for the rest; "Flow log records", Available fields,
 * https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html). Ingesting the Parquet
 * file must store exactly the records that ingesting the same lines as text stores.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalEnricher } from '../../../src/enrich/local.js';
import { AwsIngester } from '../../../src/pipeline/ingest-aws.js';
import { listLocal } from '../../../src/sources/cloud/inputs.js';
import { AwsSummary } from '../../../src/sources/cloud/summary.js';
import type { FlowRecord } from '../../../src/schema/fields.js';
import type { FlowStore } from '../../../src/store/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-parquet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A store that keeps what it is given. */
function memStore(): FlowStore & { rows: FlowRecord[] } {
  const rows: FlowRecord[] = [];
  return {
    kind: 'memory',
    rows,
    append: async (b) => {
      rows.push(...b);
    },
    query: async () => ({ rows: [], table: 'raw', sql: '' }),
    timeRange: async () => null,
    applyRetention: async () => undefined,
    tables: () => [],
    close: async () => undefined,
  };
}

const COLUMNS: [string, string][] = [
  ['version', 'INTEGER'],
  ['account_id', 'VARCHAR'],
  ['vpc_id', 'VARCHAR'],
  ['subnet_id', 'VARCHAR'],
  ['interface_id', 'VARCHAR'],
  ['srcaddr', 'VARCHAR'],
  ['dstaddr', 'VARCHAR'],
  ['srcport', 'INTEGER'],
  ['dstport', 'INTEGER'],
  ['protocol', 'INTEGER'],
  ['packets', 'BIGINT'],
  ['bytes', 'BIGINT'],
  ['start', 'BIGINT'],
  ['end', 'BIGINT'],
  ['action', 'VARCHAR'],
  ['log_status', 'VARCHAR'],
  ['type', 'VARCHAR'],
  ['pkt_srcaddr', 'VARCHAR'],
  ['pkt_dstaddr', 'VARCHAR'],
  ['tcp_flags', 'INTEGER'],
  ['flow_direction', 'VARCHAR'],
  ['traffic_path', 'INTEGER'],
];

function lines(n: number): string[] {
  const out: string[] = [];
  const addrs: [string, string, string][] = [
    ['203.0.113.12', '10.0.0.5', 'IPv4'],
    ['fd00::1', '3fff::10', 'IPv6'],
    ['3fff::1', '2600:1f18::5', 'IPv6'],
    ['::ffff:192.0.2.1', '10.0.0.6', 'IPv4'],
  ];
  for (let i = 0; i < n; i++) {
    const [s, d, t] = addrs[i % addrs.length]!;
    const nat = i % 7 === 0 && t === 'IPv4' ? '198.51.100.7' : '-';
    const status = i % 97 === 5 ? 'NODATA' : 'OK';
    const traffic = status === 'OK';
    out.push(
      [
        5,
        '123456789012',
        `vpc-0a${i % 2}`,
        `subnet-0b${i % 3}`,
        `eni-0c${i % 5}`,
        traffic ? s : '-',
        traffic ? d : '-',
        traffic ? 1024 + (i % 60000) : '-',
        traffic ? 443 : '-',
        traffic ? 6 : '-',
        traffic ? 1 + (i % 50) : '-',
        traffic ? 100 * (1 + (i % 50)) : '-',
        1764590400 + i,
        1764590460 + i,
        traffic ? (i % 10 === 3 ? 'REJECT' : 'ACCEPT') : '-',
        status,
        traffic ? t : '-',
        traffic ? nat : '-',
        '-',
        traffic ? 19 : '-',
        traffic ? (i % 2 ? 'ingress' : 'egress') : '-',
        traffic ? 1 + (i % 3) : '-',
      ].join(' '),
    );
  }
  // A malformed record: a port out of range.
  out.push('5 123456789012 vpc-0a0 subnet-0b0 eni-0c0 203.0.113.12 10.0.0.5 70000 443 6 1 100 1764590400 1764590460 ACCEPT OK IPv4 - - 19 egress 1');
  return out;
}

async function writeParquet(file: string, text: string[]): Promise<void> {
  const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const c = await inst.connect();
  await c.run(`CREATE TABLE t (${COLUMNS.map(([n, t]) => `"${n}" ${t}`).join(', ')})`);
  const app = await c.createAppender('t');
  for (const l of text) {
    l.split(' ').forEach((v, i) => {
      const type = COLUMNS[i]![1];
      if (v === '-') app.appendNull();
      else if (type === 'INTEGER') app.appendInteger(Number(v));
      else if (type === 'BIGINT') app.appendBigInt(BigInt(v));
      else app.appendVarchar(v);
    });
    app.endRow();
  }
  app.closeSync();
  mkdirSync(path.dirname(file), { recursive: true });
  await c.run(`COPY t TO '${file.replace(/'/g, "''")}' (FORMAT parquet, COMPRESSION gzip)`);
  c.closeSync();
  inst.closeSync();
}

async function ingest(target: string, dataDir: string) {
  const store = memStore();
  const ing = new AwsIngester({ store, enricher: new LocalEnricher(), dataDir, summary: new AwsSummary(), batchSize: 1000 });
  const results = [];
  for (const o of listLocal(target)) results.push(await ing.ingest(o));
  return { store, results };
}

const strip = (r: FlowRecord) => ({ ...r, log_object: '' });

describe('VPC flow logs in Parquet', () => {
  it('store exactly the records of the same lines as text, from a Hive-style S3 layout', async () => {
    // 5,000 rows: more than one DuckDB chunk (2,048 rows) and several store batches.
    const text = lines(5000);
    const hive = path.join(dir, 'hive/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2025/month=12/day=01/hour=12');
    const pq = path.join(hive, '123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20251201T1200Z_0a1b2c3d.log.parquet');
    await writeParquet(pq, text);
    const txt = path.join(dir, 'text.log');
    writeFileSync(txt, `${COLUMNS.map(([n]) => n.replace(/_/g, '-')).join(' ')}\n${text.join('\n')}\n`);

    const p = await ingest(path.join(dir, 'hive'), path.join(dir, 'd1'));
    const t = await ingest(txt, path.join(dir, 'd2'));
    expect(p.results).toHaveLength(1);
    const pr = p.results[0]!;
    const tr = t.results[0]!;
    expect(pr.kind).toBe('vpc');
    expect(pr.error).toBeUndefined();
    expect(pr.lines).toBe(5001);
    expect(pr.flows).toBe(tr.flows);
    expect(pr.nodata).toBe(tr.nodata);
    expect(pr.nodata).toBeGreaterThan(0);
    expect(pr.malformed).toBe(1);
    expect(pr.malformedSamples[0]).toContain(`${pq}:5001: srcport 70000 out of range`);
    expect(p.store.rows.length).toBe(t.store.rows.length);
    expect(p.store.rows.map(strip)).toEqual(t.store.rows.map(strip));
    // Known content: IPv6 rows are those of fd00::1 and 3fff::1; NAT rows use pkt-srcaddr.
    const v6 = p.store.rows.filter((r) => r.family === 6).length;
    const expected6 = text.filter((l) => / IPv6 /.test(l)).length;
    expect(v6).toBe(expected6);
    expect(p.store.rows.every((r) => r.vpc_id.startsWith('vpc-0a') && r.subnet_id.startsWith('subnet-0b') && r.interface_id.startsWith('eni-0c'))).toBe(true);
    expect(p.store.rows.filter((r) => r.action === 'REJECT').length).toBe(text.filter((l) => l.includes(' REJECT ')).length);
  });
});
