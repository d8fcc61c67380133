/**
 * The DuckDB store's CSV append path (src/store/duckdb/csv-append.ts): batches serialised as CSV
 * and loaded by DuckDB's read_csv must store exactly what the appender path stores — hostile strings
 * (quotes, commas, CR/LF, tabs, backslashes, NUL, emoji, lone surrogates, very long names) and
 * extreme numbers (u64 near 2^53, u32 max, 0, all-ones addresses). Every row is read back from raw
 * and compared field by field with the records sent, for both paths; the temporary files are gone
 * afterwards; batches the CSV path does not take (a line too long, a value outside its column's
 * range) go through the appender and come back as they always did.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../src/net/ip.js';
import { emptyFlow, FIELDS, type FlowRecord } from '../../src/schema/fields.js';
import { csvBuffer, csvLayout } from '../../src/store/duckdb/csv-append.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import type { FlowStore } from '../../src/store/index.js';
import { HOSTILE, HOUR, makeHostileFlows, oracle, rowsToMap, T0 } from './oracle.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'v6scope-csv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NASTY = [
  ...HOSTILE,
  '',
  ',',
  '"',
  '""',
  '"a,b"',
  'a"b',
  '\r',
  '\n',
  '\r\n',
  'end\r',
  '\t\t',
  '\\',
  '\\"',
  '\0\0',
  ' leading and trailing spaces ',
  'NULL',
  '\\N',
  'emoji 🚀👩‍👩‍👧 and 日本語, é',
  'lone \ud800 surrogate',
  'x'.repeat(100_000),
  `"${'é,"\n'.repeat(20_000)}"`,
];

const U53 = Number.MAX_SAFE_INTEGER;

/** Flows with a hostile string in every string field and extreme values in every numeric one. */
function nastyFlows(n: number): FlowRecord[] {
  const addrs = ['::', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '192.0.2.1', '255.255.255.255', '0.0.0.0', '2001:db8::8000:0:0:1', '8000::'].map((a) => parseIP(a).addr);
  const out: FlowRecord[] = [];
  for (let i = 0; i < n; i++) {
    const s = (k: number): string => NASTY[(i + k) % NASTY.length]!;
    const big = (k: number): number => [0, 1, 9, 10, 999_999_999, 1_000_000_000, 2 ** 32 - 1, 2 ** 32, 2 ** 52, U53 - 1, U53][(i + k) % 11]!;
    out.push({
      ...emptyFlow(),
      time_received: T0 + (i % 7) * HOUR + i,
      time_start: [0, U53, 1][i % 3]!,
      time_end: U53 - i,
      source_kind: s(0),
      exporter_addr: addrs[i % addrs.length]!,
      exporter_name: s(1),
      observation_domain: [0, 0xffff_ffff, 1][i % 3]!,
      sampling_rate: [1, 0xffff_ffff, 0][i % 3]!,
      family: i % 2 ? 4 : 6,
      src_addr: addrs[(i + 1) % addrs.length]!,
      dst_addr: addrs[(i + 2) % addrs.length]!,
      src_port: [0, 65535, 1][i % 3]!,
      dst_port: [65535, 0, 443][i % 3]!,
      proto: [0, 255, 6][i % 3]!,
      service_port: 65535,
      tcp_flags: 255,
      in_if: 0xffff_ffff,
      out_if: 0,
      src_mac: 0xffff_ffff_ffff,
      dst_mac: big(3),
      direction: i % 3,
      device_id: s(2),
      peer_addr: addrs[(i + 3) % addrs.length]!,
      dst_name: s(3),
      src_asn: 0xffff_ffff,
      dst_asn: 0,
      vpc_id: s(4),
      subnet_id: s(5),
      interface_id: s(6),
      action: s(7),
      log_object: s(8),
      bytes: big(0),
      packets: big(1),
      flows: big(2),
    });
  }
  return out;
}

/** Every raw row, each field encoded as text (addresses as hex), sorted: the store's content. */
async function rawContent(file: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(file);
  const conn = await inst.connect();
  try {
    const cols = FIELDS.map((f) => (f.kind === 'addr' ? `lpad(hex("${f.name}"), 32, '0')` : `"${f.name}"::VARCHAR`)).join(', ');
    const r = await conn.runAndReadAll(`SELECT ${cols} FROM raw`);
    return r.getRowsJS().map((row) => JSON.stringify(row)).sort();
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** The same encoding, from the records sent (a lone surrogate is stored as U+FFFD on both paths). */
function expectedContent(flows: readonly FlowRecord[]): string[] {
  return flows
    .map((f) =>
      JSON.stringify(
        FIELDS.map((d) => {
          const v = (f as unknown as Record<string, unknown>)[d.name];
          if (d.kind === 'addr') return Buffer.from(v as Uint8Array).toString('hex').toUpperCase();
          if (d.kind === 'string') return Buffer.from(v as string, 'utf8').toString('utf8');
          return String(v);
        }),
      ),
    )
    .sort();
}

async function storeAll(file: string, appendPath: 'csv' | 'appender', batches: readonly FlowRecord[][]): Promise<{ csvBatches: number; appenderBatches: number }> {
  const store = await openDuckDBStore({ path: file, appendPath, rollupFlushMs: 0 });
  for (const b of batches) await store.append(b);
  const stats = { ...(store as unknown as { appendStats: { csvBatches: number; appenderBatches: number } }).appendStats };
  await store.close();
  return stats;
}

const tempFiles = (): string[] => (existsSync('/dev/shm') ? readdirSync('/dev/shm') : readdirSync(dir)).filter((n) => n.startsWith(`v6scope-append-${process.pid}-`));

describe('DuckDB CSV append path', () => {
  it('serialises strings quoted with quotes doubled, and numbers and addresses as the reader types them', () => {
    const cols = [
      { name: 'a', kind: 'u64' as const },
      { name: 'b', kind: 'string' as const },
      { name: 'c', kind: 'addr' as const },
      { name: 'd', kind: 'u32' as const },
    ];
    const w = csvBuffer(16); // grows
    const rows = [
      { a: U53, b: 'x"y,\n', c: parseIP('2001:db8::1').addr, d: 0xffff_ffff },
      { a: 0, b: '', c: parseIP('::').addr, d: 0 },
      { a: 1e9, b: 'é🚀', c: parseIP('255.255.255.255').addr, d: 10 },
    ];
    expect(csvLayout(cols).serialise(rows, 0, rows.length, w)).toBe(true);
    expect(w.buf.subarray(0, w.pos).toString('utf8')).toBe(
      '9007199254740991,"x""y,\n",0x20010db800000000,0x0000000000000001,4294967295\n' +
        '0,"",0x0000000000000000,0x0000000000000000,0\n' +
        '1000000000,"é🚀",0x0000000000000000,0x0000ffffffffffff,10\n',
    );
    expect(csvLayout(cols).serialise([{ a: -1, b: '', c: rows[0]!.c, d: 0 }], 0, 1, csvBuffer())).toBe(false);
    expect(csvLayout(cols).serialise([{ a: 1.5, b: '', c: rows[0]!.c, d: 0 }], 0, 1, csvBuffer())).toBe(false);
    expect(csvLayout(cols).serialise([{ a: 0, b: '', c: rows[0]!.c, d: 2 ** 32 }], 0, 1, csvBuffer())).toBe(false);
    expect(csvLayout(cols).serialise([{ a: 0, b: 'x'.repeat(1_000_000), c: rows[0]!.c, d: 0 }], 0, 1, csvBuffer())).toBe(false);
  });

  it('hostile strings and extreme numbers round-trip exactly, the same as through the appender', async () => {
    const flows = nastyFlows(NASTY.length * 11); // every string in every string field, every number in every metric
    const batches = [flows.slice(0, 7), flows.slice(7, 200), flows.slice(200)];
    const csvFile = path.join(dir, 'csv.duckdb');
    const appFile = path.join(dir, 'app.duckdb');
    const csv = await storeAll(csvFile, 'csv', batches);
    const app = await storeAll(appFile, 'appender', batches);
    expect(csv).toEqual({ csvBatches: 3, appenderBatches: 0 });
    expect(app).toEqual({ csvBatches: 0, appenderBatches: 3 });
    const want = expectedContent(flows);
    const gotCsv = await rawContent(csvFile);
    expect(gotCsv.length).toBe(flows.length);
    expect(gotCsv).toEqual(want);
    expect(await rawContent(appFile)).toEqual(gotCsv);
    expect(tempFiles()).toEqual([]);
  });

  it('rollups from CSV-loaded pending rows equal the oracle (hostile device ids, large counters)', async () => {
    const flows = makeHostileFlows(3000, 5);
    const store: FlowStore = await openDuckDBStore({ path: path.join(dir, 'rollup.duckdb'), appendPath: 'csv', rollupFlushMs: 0 });
    try {
      for (let i = 0; i < flows.length; i += 1000) await store.append(flows.slice(i, i + 1000));
      const q = { since: T0, until: T0 + 3 * 24 * HOUR, bucket: HOUR, groupBy: [{ field: 'family' as const }, { field: 'device_id' as const }] };
      const a = await store.query(q);
      expect(a.table).toBe('rollup_1h');
      const key = (r: FlowRecord): Record<string, string | number> => ({ family: r.family, device_id: r.device_id });
      expect(rowsToMap(a.rows, ['time', 'family', 'device_id'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key }));
    } finally {
      await store.close();
    }
  });

  it('a batch the CSV path does not take goes through the appender, whole, and is stored as before', async () => {
    const flows = nastyFlows(50);
    const long = { ...flows[0]!, dst_name: 'y'.repeat(1_000_001) }; // a line over the reader's limit
    const odd = { ...flows[1]!, bytes: 1.5 }; // not an integer: the appender's own conversion decides
    const csvFile = path.join(dir, 'fallback-csv.duckdb');
    const appFile = path.join(dir, 'fallback-app.duckdb');
    const batches = [flows.slice(2, 20), [long, ...flows.slice(20, 30)], [odd, ...flows.slice(30)]];
    expect(await storeAll(csvFile, 'csv', batches)).toEqual({ csvBatches: 1, appenderBatches: 2 });
    await storeAll(appFile, 'appender', batches);
    const got = await rawContent(csvFile);
    expect(got.length).toBe(50);
    expect(got).toEqual(await rawContent(appFile));
    expect(got).toEqual(expect.arrayContaining(expectedContent([long])));
    expect(tempFiles()).toEqual([]);
  });
});
