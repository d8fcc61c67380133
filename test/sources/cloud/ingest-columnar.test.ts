/**
 * The AWS ingest writes VPC/TGW lines of the byte path straight into columnar batches, enriches
 * them in place and hands them to the store's `appendColumnar` (no records). What it stores must be
 * exactly what the reference path makes of the same lines: the string parser
 * (VpcFormat.parseFields), the record enrichment (LocalEnricher.enrich), then the log's own
 * `flow-direction` with its peer and service port — row for row, in file order, across batches,
 * with lines the byte path hands over (IPv4-mapped addresses), malformed lines and NODATA between
 * them. (Resuming after a stored prefix is checked end to end in test/e2e/aws-crash.test.ts.)
 * With the parse in a thread of its own (`aws ingest`'s path), the store in the calling thread
 * must get the same rows in the same order, and the side aggregate and results must be the same.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBatch } from '../../../src/collect/flow-batch.js';
import { LocalEnricher, servicePort } from '../../../src/enrich/local.js';
import { ingestSources, ingestSourcesInThread, type AwsIngestJob } from '../../../src/pipeline/aws-thread.js';
import { AwsIngester } from '../../../src/pipeline/ingest-aws.js';
import { Direction, type FlowRecord } from '../../../src/schema/fields.js';
import { listLocal } from '../../../src/sources/cloud/inputs.js';
import { AwsSummary, loadSummary } from '../../../src/sources/cloud/summary.js';
import { LogFormatError, parseVpcFormat, splitFields, VpcFormat } from '../../../src/sources/cloud/vpc.js';
import type { ColumnarRange, FlowStore } from '../../../src/store/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-ingest-columnar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FORMAT = '${version} ${vpc-id} ${subnet-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status} ${flow-direction}';
const LOCAL = ['2600:1f18:aa::/48', '198.51.100.0/24'];

/**
 * A store that keeps what it is given, as records; `columnar` says whether it offers appendColumnar,
 * `depth` is its appendDepth (appends without `after`, or with one other than the previous append,
 * are counted in `unchained`).
 */
function memStore(columnar: boolean, depth?: number): FlowStore & { rows: FlowRecord[]; columnarAppends: number; unchained: number } {
  let last: Promise<unknown> | undefined;
  const s = {
    kind: 'memory',
    appendDepth: depth,
    unchained: 0,
    rows: [] as FlowRecord[],
    columnarAppends: 0,
    append: async (b: readonly FlowRecord[]) => {
      s.rows.push(...b);
    },
    query: async () => ({ rows: [], table: 'raw', sql: '' }),
    timeRange: async () => null,
    applyRetention: async () => undefined,
    tables: () => [],
    close: async () => undefined,
  };
  if (!columnar) return s;
  return Object.assign(s, {
    appendColumnar: (ranges: readonly ColumnarRange[], _w?: () => void, after?: Promise<unknown>) => {
      s.columnarAppends++;
      if (after === undefined || after !== last) s.unchained++;
      for (const r of ranges) {
        const all = decodeBatch({ n: r.to, cols: [...r.batch.cols], dicts: r.batch.dicts.map((d) => (d ? [...d] : null)) });
        s.rows.push(...all.slice(r.from, r.to).map((x) => ({ ...x, src_addr: x.src_addr.slice(), dst_addr: x.dst_addr.slice(), peer_addr: x.peer_addr.slice(), exporter_addr: x.exporter_addr.slice() })));
      }
      const p = new Promise<void>((resolve) => setTimeout(resolve, 1));
      last = p;
      return p;
    },
  });
}

/** Seeded lines: IPv4/IPv6, local or not, with and without flow-direction, pkt-*addr, and lines of every other kind. */
function lines(n: number): string[] {
  let seed = 7;
  const rnd = (k: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % k;
  const pick = <T>(a: readonly T[]): T => a[rnd(a.length)]!;
  const v4 = ['198.51.100.7', '198.51.100.200', '203.0.113.12', '192.0.2.44', '10.1.2.3'];
  const v6 = ['2600:1f18:aa:1::5', '2600:1f18:aa:2::9', '2a00:1450::200e', 'fd00::1', '3fff::1'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const six = rnd(10) < 4;
    const fam = six ? v6 : v4;
    const r = rnd(100);
    const start = 1_764_590_400 + rnd(3600);
    const f = [
      '5',
      pick(['vpc-0a1', 'vpc-0b2', '-']),
      pick(['subnet-01', 'subnet-02', 'subnet-03']),
      pick(['eni-0aa', 'eni-0bb', 'eni-0cc', 'eni-0dd']),
      '123456789012',
      six ? 'IPv6' : 'IPv4',
      pick(fam),
      pick(fam),
      String(pick([443, 53, 40000 + rnd(20000), 0])),
      String(pick([443, 22, 50000 + rnd(10000)])),
      rnd(4) === 0 ? pick(fam) : '-',
      rnd(4) === 0 ? pick(fam) : '-',
      pick(['6', '17', six ? '58' : '1']),
      String(40 + rnd(100000)),
      String(1 + rnd(90)),
      String(start),
      String(start + rnd(60)),
      pick(['ACCEPT', 'ACCEPT', 'REJECT', '-']),
      String(rnd(64)),
      'OK',
      pick(['ingress', 'egress', '-']),
    ];
    if (r < 3) f[19] = 'NODATA';
    else if (r < 6 && !six) f[6] = `::ffff:${f[6]}`; // IPv4-mapped: the string path decides
    else if (r < 7) f[8] = '70000'; // malformed
    out.push(f.join(' '));
  }
  return out;
}

/** What the reference path stores for the lines. */
function reference(text: string[]): FlowRecord[] {
  const f = new VpcFormat(parseVpcFormat(FORMAT));
  const recs: FlowRecord[] = [];
  const dirs: number[] = [];
  for (const l of text) {
    try {
      const r = f.parseFields(splitFields(l), 0);
      if (r.kind !== 'flow') continue;
      recs.push(r.flow);
      dirs.push(r.flow.direction);
    } catch (e) {
      if (!(e instanceof LogFormatError)) throw e;
    }
  }
  new LocalEnricher({ localPrefixes: LOCAL }).enrich(recs);
  recs.forEach((r, i) => {
    const d = dirs[i]!;
    if (d === 0) return;
    r.direction = d;
    r.peer_addr = d === Direction.inbound ? r.src_addr : r.dst_addr;
    r.service_port = servicePort(r);
  });
  return recs;
}

async function ingest(file: string, store: FlowStore, dataDir: string, batchSize = 700): Promise<{ r: Awaited<ReturnType<AwsIngester['ingest']>>; ing: AwsIngester }> {
  const ing = new AwsIngester({ store, enricher: new LocalEnricher({ localPrefixes: LOCAL }), dataDir, summary: new AwsSummary(), batchSize, kind: 'vpc' });
  const r = await ing.ingest(listLocal(file)[0]!);
  return { r, ing };
}

describe('AWS ingest: columnar batches', () => {
  const text = lines(6000);
  const file = path.join(dir, 'flows.log');
  writeFileSync(file, `${FORMAT.replace(/\$\{([^}]+)\}/g, '$1')}\n${text.join('\n')}\n`);

  it('store exactly what the string parser and the record enrichment make of the lines', async () => {
    const store = memStore(true);
    const { r } = await ingest(file, store, path.join(dir, 'a'));
    expect(r.error).toBeUndefined();
    expect(r.malformed).toBeGreaterThan(0);
    expect(r.nodata).toBeGreaterThan(0);
    expect(store.columnarAppends).toBeGreaterThan(5);
    const id = store.rows[0]!.log_object;
    expect(id).toMatch(/^[\w-]{12}$/);
    const want = reference(text).map((x) => ({ ...x, log_object: id }));
    expect(store.rows.length).toBe(want.length);
    store.rows.forEach((row, i) => expect(row, `row ${i}`).toEqual(want[i]));
    // the mix reaches every rule
    expect(new Set(store.rows.map((x) => x.direction))).toEqual(new Set([0, 1, 2]));
    expect(store.rows.some((x) => x.device_id !== '' && x.family === 6)).toBe(true);
  });

  it('a store without appendColumnar gets the same rows as records', async () => {
    const a = memStore(true);
    const b = memStore(false);
    await ingest(file, a, path.join(dir, 'b1'));
    await ingest(file, b, path.join(dir, 'b2'));
    expect(b.columnarAppends).toBe(0);
    const strip = (x: FlowRecord): FlowRecord => ({ ...x, log_object: '' });
    expect(b.rows.map(strip)).toEqual(a.rows.map(strip));
  });

  it('with the parse in its own thread: the same rows in the same order, the same results and side aggregate', async () => {
    const job = (data: string): AwsIngestJob => ({ sources: [file], dataDir: path.join(dir, data), kind: 'vpc', batchSize: 700, localPrefixes: LOCAL });
    const strip = (x: FlowRecord): FlowRecord => ({ ...x, log_object: '' });
    const here = memStore(true, 2);
    const inThisThread = await ingestSources(job('t0'), here);
    expect(here.columnarAppends).toBeGreaterThan(5);
    for (const [name, store] of [
      ['columnar, two appends outstanding', memStore(true, 2)],
      ['columnar, one at a time', memStore(true)],
      ['records', memStore(false)],
    ] as const) {
      const warnings: string[] = [];
      const objects: number[] = [];
      const results = await ingestSourcesInThread(job(name), store, { onWarning: (w) => warnings.push(w), onObject: (r) => objects.push(r.lines) });
      expect(store.rows.map(strip), name).toEqual(here.rows.map(strip));
      // one identity per object, as in the calling thread's run
      expect(new Set(store.rows.map((x) => x.log_object)).size).toBe(1);
      expect(results).toEqual(inThisThread);
      expect(objects).toEqual([6001]);
      expect(warnings).toEqual(results[0]!.malformedSamples);
      expect(warnings.length).toBeGreaterThan(0);
      const a = loadSummary(path.join(dir, 't0'));
      const b = loadSummary(path.join(dir, name));
      for (const x of [a, b]) for (const o of Object.values(x.objects)) o.ingestedAt = 0;
      expect(JSON.stringify(b)).toEqual(JSON.stringify(a));
    }
    // Each batch after an object's first is appended with the one before it as `after`.
    expect(here.unchained).toBe(1);
  });
});
