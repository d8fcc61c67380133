/**
 * The DuckDB store's columnar appends (src/store/duckdb/chunk-append.ts write DuckDB's in-memory
 * layouts themselves: inline strings of up to 12 UTF-8 bytes, longer ones through DuckDB, addresses
 * as reversed 128-bit words, u64 as two 32-bit words) must store exactly the records sent — hostile
 * strings (quotes, commas, CR/LF, tabs, backslashes, NUL, emoji, lone surrogates, very long names,
 * strings of exactly 11, 12 and 13 bytes and multi-byte characters across that edge) and extreme
 * numbers (u64 near 2^53, u32 max, 0, all-ones addresses). Every row is read back from raw with
 * DuckDB's own text conversion and compared field by field with the records sent, over several
 * data chunks (one chunk object is reused, so a value left over from an earlier chunk would show).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../src/net/ip.js';
import { emptyFlow, FIELDS, type FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import { defaultDuckDBMemoryLimit, openConfiguredStore } from '../../src/store/index.js';
import { parseConfig } from '../../src/config/index.js';
import type { FlowStore } from '../../src/store/index.js';
import { HOSTILE, HOUR, makeHostileFlows, oracle, rowsToMap, T0 } from './oracle.js';
import { encodeBatch, strides } from '../../src/collect/flow-batch.js';
import { NEIGHBORS } from '../../src/schema/facts.js';
import { openConfiguredStore as openDaemonStore } from '../../src/collect/serve.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'v6scope-append-'));
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
  'abcdefghijk', // 11 bytes: inline
  'abcdefghijkl', // 12: the longest inline
  'abcdefghijklm', // 13: the shortest through DuckDB's heap
  'abcdefghijké', // 13 bytes, 12 characters
  'abcdefghijé', // 12 bytes, 11 characters
  '🚀🚀🚀', // 12 bytes in 3 characters (6 UTF-16 units)
  '🚀🚀🚀x',
  'a\u0000bcdefghijkl\u0000', // NUL inside, 14 bytes
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

/** Flows on the chunk and slice edges: distinct ports and counters, long and short DNS names. */
function edgeFlows(n: number): FlowRecord[] {
  return makeHostileFlows(n, 13).map((f, i) => ({ ...f, src_port: i % 65536, bytes: i, dst_name: i % 3 === 0 ? `long-name-${i}.example.org` : `n${i % 100}` }));
}

/**
 * Flows whose strings span several 64 kB heap segments per 2,048-row chunk and column: ~2,000
 * distinct values of 13-400 bytes, values that fill a segment exactly (65,536 bytes, also in
 * two-byte characters) or overflow it by one (65,537: alone), multi-byte characters, inline values
 * and the same value on consecutive rows.
 */
function segmentFlows(n: number): FlowRecord[] {
  const value = (i: number, k: number): string => {
    const j = (i * 7 + k * 13) % 4099;
    if (j === 5) return 'y'.repeat(65_536);
    if (j === 6) return 'z'.repeat(65_537);
    if (j === 7) return `${'é'.repeat(32_767)}ab`; // 65,536 bytes in two-byte characters
    if (j % 11 === 0) return `s${j % 50}`; // inline
    if (j % 13 === 0) return 'repeated-long-value-on-runs';
    return `${k}:${j}:${'ü€🚀'.charAt(j % 3)}${'v'.repeat(13 + ((j * 31) % 380))}`;
  };
  return makeHostileFlows(n, 17).map((f, i) => ({
    ...f,
    device_id: value(i, 0),
    dst_name: value(i, 1),
    interface_id: value(i, 2),
    exporter_name: i % 2 ? value(i, 3) : 'r1',
  }));
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

/** The same encoding, from the records sent (a lone surrogate is stored as U+FFFD). */
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

/** Every rollup, grouped by all its dimensions over whole days (the planner picks it), equals the oracle of `flows`. */
async function expectRollupsEqualOracle(store: FlowStore, flows: readonly FlowRecord[]): Promise<void> {
  for (const t of store.tables().filter((x) => x.resolutionMs > 0)) {
    const dims = [...t.dimensions];
    const q = { since: T0, until: T0 + 3 * 24 * HOUR, bucket: t.resolutionMs, groupBy: dims.map((field) => ({ field })) };
    const res = await store.query(q);
    expect(res.table).toBe(t.name);
    const key = (r: FlowRecord): Record<string, string | number> =>
      Object.fromEntries(dims.map((n) => {
        const v = (r as unknown as Record<string, unknown>)[n];
        return [n, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : (v as string | number)];
      }));
    expect(rowsToMap(res.rows, ['time', ...dims]), t.name).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key }));
  }
}

describe('DuckDB roll-ups: the path follows how far the rows collapse', () => {
  it('rollups read raw while the 1 min rows are nearly as many, the 1 min rows once they are far fewer; exact either way', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'rollup-paths.duckdb'), rollupFlushMs: 0, rollupFlushRows: 1e9 });
    const sqls: string[] = [];
    type Conn = { run: (sql: string, ...a: unknown[]) => Promise<unknown> };
    const roll = (store as unknown as { rollConn: Conn }).rollConn;
    const run = roll.run.bind(roll);
    roll.run = (sql, ...a) => {
      sqls.push(sql);
      return run(sql, ...a);
    };
    const usedAgg = async (flows: FlowRecord[]): Promise<boolean> => {
      sqls.length = 0;
      await store.append(flows);
      await (store as unknown as { flushPending: () => Promise<void> }).flushPending();
      expect(sqls.some((q) => q.startsWith('INSERT INTO "rollup_1m"'))).toBe(true);
      return sqls.some((q) => q.includes('v6scope_rollup_agg'));
    };
    // nearly one 1 min row per flow, then 12 distinct flows repeated 250 times each
    const spread = makeHostileFlows(3000, 21);
    const repeated = (seed: number): FlowRecord[] => makeHostileFlows(12, seed).flatMap((f) => Array.from({ length: 250 }, () => ({ ...f })));
    const all: FlowRecord[] = [];
    try {
      expect(await usedAgg(spread)).toBe(false); // nothing known yet: from raw
      all.push(...spread);
      const r1 = repeated(22);
      expect(await usedAgg(r1)).toBe(false); // the last roll-up barely collapsed
      all.push(...r1);
      const r2 = repeated(23);
      expect(await usedAgg(r2)).toBe(true); // the last one made 12 rows of 3,000
      all.push(...r2);
      expect(await usedAgg(spread)).toBe(true);
      all.push(...spread);
      expect(await usedAgg(r1)).toBe(false);
      all.push(...r1);
      await expectRollupsEqualOracle(store, all);
    } finally {
      await store.close();
    }
  });
  it('at close, rows that barely collapse are rolled up by table, all at once; a rollup whose roll-up failed catches up alone at the next open', async () => {
    const file = path.join(dir, 'rollup-by-table.duckdb');
    let store = await openDuckDBStore({ path: file, rollupFlushMs: 0, rollupFlushRows: 1e9 });
    type Conn = { run: (sql: string, ...a: unknown[]) => Promise<unknown> };
    const lanes = [(store as unknown as { rollConn: Conn }).rollConn, ...(store as unknown as { rollExtra: Conn[] }).rollExtra];
    expect(lanes.length).toBe(3);
    const log: string[] = [];
    let failFiveMinutes = false;
    lanes.forEach((c, k) => {
      const run = c.run.bind(c);
      c.run = async (sql, ...a) => {
        if (failFiveMinutes && sql.startsWith('INSERT INTO "rollup_5m"')) throw new Error('injected rollup_5m failure');
        log.push(`${k} start ${sql.slice(0, 24)}`);
        try {
          return await run(sql, ...a);
        } finally {
          log.push(`${k} end ${sql.slice(0, 24)}`);
        }
      };
    });
    const spread = makeHostileFlows(3000, 31);
    const more = makeHostileFlows(3000, 32);
    const meta = async (): Promise<Record<string, number>> => {
      const inst = await DuckDBInstance.create(file);
      const c = await inst.connect();
      try {
        const r = await c.runAndReadAll(`SELECT key, value FROM v6scope_meta WHERE key LIKE 'rolled_up_batch%'`);
        return Object.fromEntries(r.getRowsJS().map(([k, v]) => [String(k), Number(v)]));
      } finally {
        c.closeSync();
        inst.closeSync();
      }
    };
    try {
      // batch 1, rolled up in one transaction while the store is open (how far do the rows collapse?)
      await store.append(spread);
      await (store as unknown as { flushPending: () => Promise<void> }).flushPending();
      expect(log.filter((e) => / start INSERT INTO "rollup_/.test(e)).map((e) => e[0])).toEqual(['0', '0', '0']);
      log.length = 0;
      failFiveMinutes = true;
      // batches 2 and 3, rolled up at close: by table, on the three connections at once
      await store.append(more.slice(0, 1500));
      await store.append(more.slice(1500));
    } finally {
      await store.close(); // the roll-up's failure is not the close's: pending rows wait for the next open
    }
    const starts = log.filter((e) => / start INSERT INTO "rollup_/.test(e));
    expect(starts.map((e) => e[0]).sort()).toEqual(['0', '2']); // 1m and 1h; 5m failed before its statement
    // both inserts ran at the same time
    const firstEnd = log.findIndex((e) => / end INSERT INTO "rollup_/.test(e));
    expect(log.slice(0, firstEnd).filter((e) => / start INSERT INTO "rollup_/.test(e)).length).toBe(2);
    expect(await meta()).toEqual({ rolled_up_batch: 1, 'rolled_up_batch:rollup_1m': 3, 'rolled_up_batch:rollup_1h': 3 });
    // the next open rolls up rollup_5m alone, from its own mark: every rollup exact, nothing twice
    store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    try {
      await expectRollupsEqualOracle(store, [...spread, ...more]);
    } finally {
      await store.close();
    }
    expect((await meta()).rolled_up_batch).toBe(3);
  });
});

describe('DuckDB columnar appends', () => {
  it('hostile strings and extreme numbers round-trip exactly, over several reused data chunks', async () => {
    const flows = nastyFlows(NASTY.length * 11 * 6); // every string in every string field, every number in every metric; > 2 chunks
    const file = path.join(dir, 'nasty.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    for (const b of [flows.slice(0, 7), flows.slice(7, 2100), flows.slice(2100, 2101), flows.slice(2101)]) await store.append(b);
    await store.close();
    const got = await rawContent(file);
    expect(got.length).toBe(flows.length);
    expect(got).toEqual(expectedContent(flows));
  });

  it('batches on the chunk (2,048) and slice (8,192) edges store every row once, unchanged', async () => {
    const sizes = [2047, 2048, 2049, 1, 8191, 8192, 8193];
    const flows = edgeFlows(sizes.reduce((a, b) => a + b, 0));
    const file = path.join(dir, 'edges.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    let at = 0;
    for (const n of sizes) {
      await store.append(flows.slice(at, at + n));
      at += n;
    }
    await store.close();
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('long strings over several 64 kB heap segments per chunk, on the segment edges, between inline and huge ones', async () => {
    const flows = segmentFlows(6000);
    const file = path.join(dir, 'segments.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    for (const b of [flows.slice(0, 4096), flows.slice(4096, 4097), flows.slice(4097)]) await store.append(b);
    await store.close();
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('rollups of hostile rows equal the oracle (hostile device ids, large counters)', async () => {
    const flows = makeHostileFlows(3000, 5);
    const store: FlowStore = await openDuckDBStore({ path: path.join(dir, 'rollup.duckdb'), rollupFlushMs: 0 });
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

  it('a record with a missing string or address is refused whole: nothing of its batch is stored', async () => {
    const file = path.join(dir, 'refused.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    const good = nastyFlows(30);
    await store.append(good);
    for (const [field, value] of [['device_id', undefined], ['src_addr', null], ['dst_name', 5]] as const) {
      const bad = nastyFlows(3000).map((f, i) => (i === 2500 ? ({ ...f, [field]: value } as unknown as FlowRecord) : f));
      await expect(store.append(bad)).rejects.toThrow();
    }
    await store.close();
    expect(await rawContent(file)).toEqual(expectedContent(good));
  });

  it("without store.duckdb.memory_limit, DuckDB gets v6scope's default, not DuckDB's own 80 % of the machine", async () => {
    const store = await openConfiguredStore(parseConfig('store:\n  duckdb: { path: default-limit.duckdb }\n'), dir);
    try {
      const conn = (store as unknown as { conn: { runAndReadAll(sql: string): Promise<{ getRowsJS(): unknown[][] }> } }).conn;
      const want = defaultDuckDBMemoryLimit();
      expect(want).toBeLessThanOrEqual(512 * 2 ** 20);
      expect(String((await conn.runAndReadAll(`SELECT current_setting('memory_limit')`)).getRowsJS()[0]![0])).toBe(`${(want / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      await store.close();
    }
  });

  it('store.duckdb.memory_limit reaches DuckDB; appends and roll-ups work under it', async () => {
    const store = await openConfiguredStore(parseConfig('store:\n  duckdb: { path: limited.duckdb, memory_limit: 64MiB }\n'), dir);
    try {
      const conn = (store as unknown as { conn: { runAndReadAll(sql: string): Promise<{ getRowsJS(): unknown[][] }> } }).conn;
      expect(String((await conn.runAndReadAll(`SELECT current_setting('memory_limit')`)).getRowsJS()[0]![0])).toBe('64.0 MiB');
      const flows = makeHostileFlows(5000, 7);
      for (let i = 0; i < flows.length; i += 2500) await store.append(flows.slice(i, i + 2500));
      const q = { since: T0, until: T0 + 3 * 24 * HOUR, bucket: HOUR, groupBy: [{ field: 'family' as const }] };
      const a = await store.query(q);
      expect(a.table).toBe('rollup_1h');
      expect(rowsToMap(a.rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
    } finally {
      await store.close();
    }
  });
});

/**
 * The writing daemons' memory: DuckDB under a write limit, raised to the full limit only to do
 * again what ran out of memory under it, lowered again after (store.duckdb.write_memory_limit);
 * reads on a lane of their own beside the appends.
 */
describe('DuckDB write memory limit', () => {
  type Conn = { runAndReadAll(sql: string): Promise<{ getRowsJS(): unknown[][] }> };
  type Stats = { raised: number; lowered: number; lowerFailures: number; retried: number };
  const limitOf = async (store: FlowStore): Promise<string> =>
    String((await (store as unknown as { conn: Conn }).conn.runAndReadAll(`SELECT current_setting('memory_limit')`)).getRowsJS()[0]![0]);
  const statsOf = (store: FlowStore): Stats => (store as unknown as { memoryLimitStats: Stats }).memoryLimitStats;
  async function until(what: () => Promise<boolean>, ms = 15_000): Promise<void> {
    for (const end = Date.now() + ms; !(await what()); ) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const q = { since: T0, until: T0 + 3 * 24 * HOUR, bucket: HOUR, groupBy: [{ field: 'family' as const }] };
  const OOM = 'Out of Memory Error: failed to pin block of size 256.0 KiB (64.0 MiB/64.0 MiB used)';

  it('appends, fact appends, roll-ups and reads run under the write limit', async () => {
    const MiB = 2 ** 20;
    const store = await openDuckDBStore({ path: path.join(dir, 'write-limit.duckdb'), memoryLimit: 256 * MiB, writeMemoryLimit: 64 * MiB, writeLimitAfterMs: 50, rollupFlushRows: 2500, rollupFlushMs: 0 });
    try {
      expect(await limitOf(store)).toBe('64.0 MiB');
      const flows = makeHostileFlows(10_000, 3);
      for (let i = 0; i < flows.length; i += 2500) await store.append(flows.slice(i, i + 2500));
      await store.facts!.append(NEIGHBORS, [{ seen_at: T0, mac: 0x020000000001, family: 6, addr: parseIP('2001:db8::1').addr, hostname: 'tv', source: 'dnsmasq', expires_at: 0 }]);
      await until(async () => (store as unknown as { rolling: unknown }).rolling === null);
      const a = await store.query(q);
      expect(a.table).toBe('rollup_1h');
      expect(rowsToMap(a.rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
      expect((await store.rowCounts!()).find((r) => r.table === 'raw')!.rows).toBe(10_000);
      expect((await store.facts!.read(NEIGHBORS)).length).toBe(1);
      expect(await store.timeRange()).not.toBeNull();
      expect(await limitOf(store)).toBe('64.0 MiB');
      // the limit was set once, at open, and never raised
      expect(statsOf(store)).toEqual({ raised: 0, lowered: 1, lowerFailures: 0, retried: 0 });
    } finally {
      await store.close();
    }
  });

  it('a read that runs out of memory under the write limit is done again under memory_limit, which is set back after it', async () => {
    const MiB = 2 ** 20;
    const store = await openDuckDBStore({ path: path.join(dir, 'write-limit-read.duckdb'), memoryLimit: 256 * MiB, writeMemoryLimit: 64 * MiB, writeLimitAfterMs: 300, rollupFlushMs: 0 });
    const s = store as unknown as { run(conn: unknown, c: unknown): Promise<unknown>; limitKiB: number };
    const real = s.run.bind(store);
    const limits: number[] = [];
    // DuckDB's own words when a query cannot get its memory, the first time only
    s.run = async (conn: unknown, c: unknown) => {
      limits.push(s.limitKiB);
      if (limits.length === 1) throw new Error(OOM);
      return real(conn, c);
    };
    try {
      const flows = makeHostileFlows(3000, 5);
      await store.append(flows);
      const a = await store.query(q);
      expect(limits).toEqual([64 * 1024, 256 * 1024]);
      expect(rowsToMap(a.rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
      expect(await limitOf(store)).toBe('256.0 MiB');
      await until(async () => statsOf(store).lowered === 2);
      expect(await limitOf(store)).toBe('64.0 MiB');
      expect(statsOf(store)).toEqual({ raised: 1, lowered: 2, lowerFailures: 0, retried: 1 });
      // other errors are not retried
      s.run = async () => {
        throw new Error('Binder Error: no such column');
      };
      await expect(store.query(q)).rejects.toThrow(/Binder Error/);
      expect(statsOf(store).retried).toBe(1);
    } finally {
      s.run = real;
      await store.close();
    }
  });

  it('reads run beside the appends, and each sees every append made before it', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'read-lane.duckdb'), rollupFlushMs: 0 });
    try {
      const flows = makeHostileFlows(6000, 8);
      const pending: Promise<unknown>[] = [];
      const seen: number[] = [];
      for (let i = 0; i < 6; i++) {
        pending.push(store.append(flows.slice(i * 1000, (i + 1) * 1000)));
        // asked for right after the append, without waiting for it
        pending.push(store.rowCounts!().then((r) => seen.push(r.find((x) => x.table === 'raw')!.rows)));
      }
      await Promise.all(pending);
      // each count includes the append asked for before it (and maybe later ones), never fewer
      seen.forEach((n, i) => expect(n).toBeGreaterThanOrEqual((i + 1) * 1000));
      const a = await store.query(q);
      expect(rowsToMap(a.rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
    } finally {
      await store.close();
    }
  });

  it('close finishes the reads asked for before it; a read asked for after it fails instead of waiting forever', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'read-close.duckdb'), rollupFlushMs: 0 });
    const flows = makeHostileFlows(1000, 9);
    await store.append(flows);
    const early = store.query(q);
    const closing = store.close();
    const late = store.query(q);
    late.catch(() => undefined);
    await closing;
    expect(rowsToMap((await early).rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
    await expect(late).rejects.toThrow();
  });

  it('a background roll-up that runs out of memory under the write limit is done again under the full one', async () => {
    const MiB = 2 ** 20;
    const store = await openDuckDBStore({ path: path.join(dir, 'write-limit-oom.duckdb'), memoryLimit: 256 * MiB, writeMemoryLimit: 32 * MiB, writeLimitAfterMs: 50, rollupFlushRows: 1000, rollupFlushMs: 0 });
    const s = store as unknown as { rollUpCommitted(c: unknown): Promise<void>; rolling: unknown; limitKiB: number };
    const real = s.rollUpCommitted.bind(store);
    const limits: number[] = [];
    let calls = 0;
    s.rollUpCommitted = async (c: unknown) => {
      limits.push(s.limitKiB);
      // DuckDB's own words when a roll-up cannot get its memory
      if (++calls === 1) throw new Error('Out of Memory Error: failed to pin block of size 256.0 KiB (32.0 MiB/32.0 MiB used)');
      return real(c);
    };
    try {
      const flows = makeHostileFlows(1000, 4);
      await store.append(flows);
      await until(async () => calls >= 2 && s.rolling === null);
      expect(limits).toEqual([32 * 1024, 256 * 1024]);
      expect(statsOf(store)).toMatchObject({ raised: 1, retried: 1 });
      await until(async () => statsOf(store).lowered === 2);
      expect(await limitOf(store)).toBe('32.0 MiB');
      // the rows are in the rollups (no roll-up was needed for this read)
      s.rollUpCommitted = real;
      const a = await store.query(q);
      expect(rowsToMap(a.rows, ['time', 'family'])).toEqual(oracle(flows, { since: q.since, until: q.until, bucket: q.bucket, key: (r) => ({ family: r.family }) }));
      expect(calls).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('the writing daemons open the configured store under store.duckdb.write_memory_limit; other commands and 0 under memory_limit', async () => {
    const cfg = parseConfig('store:\n  duckdb: { path: daemon.duckdb, memory_limit: 200MiB }\n');
    for (const [opts, want] of [[{ writeMemoryLimit: true }, '64.0 MiB'], [{}, '200.0 MiB']] as const) {
      const store = await openConfiguredStore(cfg, dir, opts);
      try {
        expect(await limitOf(store)).toBe(want);
      } finally {
        await store.close();
      }
    }
    const none = await openConfiguredStore(parseConfig('store:\n  duckdb: { path: daemon.duckdb, memory_limit: 200MiB, write_memory_limit: 0 }\n'), dir, { writeMemoryLimit: true });
    try {
      expect(await limitOf(none)).toBe('200.0 MiB');
    } finally {
      await none.close();
    }
    const daemon = await openDaemonStore(parseConfig('store:\n  duckdb: { path: daemon.duckdb, memory_limit: 200MiB, write_memory_limit: 48MiB }\n'), dir);
    try {
      expect(await limitOf(daemon)).toBe('48.0 MiB');
    } finally {
      await daemon.close();
    }
  });
});

/**
 * Columnar appends (`appendColumnar`: `serve`'s path, the collector threads' batches without
 * records) store exactly what `append` stores for the same flows: the same hostile and extreme
 * rows, sent as columnar batches in ranges that cut them anywhere (chunk and slice edges inside a
 * range, one-row ranges, two ranges of one batch in one append), read back the same way.
 */
describe('DuckDB columnar appends from columnar batches', () => {
  /** Append `flows` in batches of `sizes`, each cut into ranges at `cuts` (fractions). */
  async function viaColumns(file: string, flows: readonly FlowRecord[], sizes: readonly number[], cuts: readonly number[]): Promise<void> {
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    let at = 0;
    for (const n of sizes) {
      const { batch } = encodeBatch(flows.slice(at, at + n));
      const edges = [0, ...cuts.map((c) => Math.floor(n * c)), n];
      const ranges = edges.slice(1).map((to, i) => ({ batch, from: edges[i]!, to }));
      await store.appendColumnar!(ranges);
      at += n;
    }
    expect(at).toBe(flows.length);
    await store.close();
  }

  it('hostile strings and extreme numbers: the same rows as the records', async () => {
    const flows = nastyFlows(NASTY.length * 11 * 6);
    const file = path.join(dir, 'nasty-columnar.duckdb');
    await viaColumns(file, flows, [7, 2093, 1, flows.length - 2101], [0.5]);
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('ranges on the chunk (2,048) and slice (8,192) edges, one-row and empty ranges', async () => {
    const flows = edgeFlows(2047 + 2048 + 2049 + 1 + 8191 + 8192 + 8193);
    const file = path.join(dir, 'edges-columnar.duckdb');
    await viaColumns(file, flows, [2047 + 2048 + 2049 + 1, 8191 + 8192 + 8193], [0, 0.25, 0.25, 0.999]);
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('long strings over several heap segments per chunk', async () => {
    const flows = segmentFlows(6000);
    const file = path.join(dir, 'segments-columnar.duckdb');
    await viaColumns(file, flows, [4096, 1, 1903], [0.3]);
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('constant columns (one row for the whole batch) of every kind: the same rows as the records', async () => {
    // every field but packets has one value for all rows, extreme where the kind allows
    const base: FlowRecord = {
      ...emptyFlow(),
      time_received: 2 ** 53 - 1,
      time_start: 1_767_268_800_123,
      time_end: 1_767_268_800_999,
      source_kind: 'ipfix',
      exporter_addr: parseIP('2001:db8:ffff::fe').addr,
      exporter_name: 'edge-router-ü-'.repeat(5), // long: through the string heap
      observation_domain: 2 ** 32 - 1,
      sampling_rate: 1000,
      family: 6,
      src_addr: parseIP('2001:db8::1').addr,
      dst_addr: parseIP('::ffff:192.0.2.1').addr,
      src_port: 65535,
      dst_port: 443,
      proto: 255,
      tcp_flags: 0x1b,
      src_mac: 0x0200_5e00_0001,
      dst_mac: 2 ** 48 - 1,
      vpc_id: 'vpc-0123456789abcdef0',
      action: 'ACCEPT',
      bytes: 2 ** 53 - 1,
      flows: 7,
    };
    const flows = Array.from({ length: 5000 }, (_, i) => ({ ...base, packets: i }));
    const { batch } = encodeBatch(flows);
    const st = strides(batch.cols);
    expect(FIELDS.filter((f, k) => st[k] === 1).map((f) => f.name)).toEqual(['packets']);
    const file = path.join(dir, 'constant-columnar.duckdb');
    await viaColumns(file, flows, [4000, 1, 999], [0, 0.3]);
    expect(await rawContent(file)).toEqual(expectedContent(flows));
  });

  it('rollups of columnar appends equal the oracle', async () => {
    const flows = makeHostileFlows(3000, 5);
    const file = path.join(dir, 'rollup-columnar.duckdb');
    await viaColumns(file, flows, [1000, 1000, 1000], [0.5]);
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
    try {
      await expectRollupsEqualOracle(store, flows);
    } finally {
      await store.close();
    }
  });
});

describe("DuckDB's append unit", () => {
  // The store writer cuts batches at multiples of appendUnit because DuckDB writes a transaction's
  // whole row groups into the file, leaving only their block pointers in the WAL. If DuckDB's row
  // group were another size, or that path were gone, an append of one unit would fill the WAL.
  it('an append of one unit leaves the WAL almost empty; one row less writes the rows into it', async () => {
    const walAfter = async (rows: number): Promise<number> => {
      const file = path.join(dir, `unit-${rows}.duckdb`);
      const store = await openDuckDBStore({ path: file, rollupFlushMs: 0 });
      try {
        expect(store.appendUnit).toBe(122_880);
        const a = parseIP('2001:db8::1').addr;
        const flows = Array.from({ length: rows }, (_, i) => ({ ...emptyFlow(), time_received: T0 + i, family: 6, src_addr: a, dst_addr: a, bytes: i, packets: 1, flows: 1, device_id: `d${i % 5000}` }));
        const { batch } = encodeBatch(flows);
        await store.appendColumnar!([{ batch, from: 0, to: batch.n }]);
        return statSync(`${file}.wal`, { throwIfNoEntry: false })?.size ?? 0;
      } finally {
        await store.close();
      }
    };
    expect(await walAfter(122_880)).toBeLessThan(256 * 1024);
    expect(await walAfter(122_879)).toBeGreaterThan(4 * 1024 * 1024);
    // DuckDB's own view of the file: one row group of exactly one unit
    const inst = await DuckDBInstance.create(path.join(dir, 'unit-122880.duckdb'));
    const c = await inst.connect();
    const groups = (await c.runAndReadAll(`SELECT row_group_id, sum("count")::INTEGER FROM pragma_storage_info('raw') WHERE column_name = 'time_received' AND segment_type <> 'VALIDITY' GROUP BY row_group_id`)).getRowsJS();
    c.closeSync();
    inst.closeSync();
    expect(groups).toEqual([[0n, 122_880]]);
  });
});

/**
 * Appends made without waiting (serve's writer keeps two outstanding, FlowStore.appendDepth): the
 * next batch is written into the second connection's transaction while the previous one commits.
 * Every good batch must be stored once, commits must follow the batch order, a batch that fails
 * must take nothing of the others with it, a query made after the appends must see them all, and
 * the rollups (rolled up meanwhile) must stay exact.
 */
/**
 * Route every statement the store runs on its append connections through `around` (connection
 * index, the SQL, and the real run); returns how many connections there are.
 */
function interceptAppendRuns(store: FlowStore, around: (k: number, sql: string, run: () => Promise<unknown>) => Promise<unknown>): number {
  type Conn = { run: (sql: string, ...a: unknown[]) => Promise<unknown> };
  const conns = (store as unknown as { appendConns: Conn[] }).appendConns;
  conns.forEach((c, k) => {
    const run = c.run.bind(c);
    c.run = (sql, ...a) => around(k, sql, () => run(sql, ...a));
  });
  return conns.length;
}

describe('DuckDB appends made without waiting for the previous commit', () => {
  it('commit in order on two connections, each once durable; a failed one loses only itself; reads and rollups stay exact; columns are free once written', async () => {
    const file = path.join(dir, 'pipelined.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0, rollupFlushRows: 2500 });
    const flows = makeHostileFlows(12_000, 7);
    const log: string[] = [];
    const conns = interceptAppendRuns(store, async (k, sql, run) => {
      log.push(`${k} ${sql} start`);
      try {
        return await run();
      } finally {
        log.push(`${k} ${sql} end`);
      }
    });
    expect(conns).toBe(2);
    const BAD = 5;
    const done: number[] = [];
    const written: number[] = [];
    const appends: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      const { batch } = encodeBatch(flows.slice(i * 1000, (i + 1) * 1000));
      // batch BAD carries a value the chunk writer refuses (a number in a string dictionary)
      if (i === BAD) batch.dicts[FIELDS.findIndex((f) => f.name === 'device_id')]!.push(5 as unknown as string);
      // once the store says it has copied the rows, the columns are scribbled over: what is stored
      // must not change (the collector reuses the buffers from then on)
      const onWritten = (): void => {
        written.push(i);
        log.push(`written ${i}`);
        for (const c of batch.cols) c.fill(0);
      };
      appends.push(store.appendColumnar!([{ batch, from: 0, to: 500 }, { batch, from: 500, to: 1000 }], onWritten).then(() => void done.push(i)));
    }
    const total = store.query({ since: 0, until: Number.MAX_SAFE_INTEGER, metrics: ['flows'] });
    const settled = await Promise.allSettled(appends);
    expect(settled.map((s) => s.status)).toEqual(Array.from({ length: 12 }, (_, i) => (i === BAD ? 'rejected' : 'fulfilled')));
    expect(done).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    // onWritten: once per batch whose rows were copied, before that batch's COMMIT began (the
    // commits follow the batch order); never for the bad one
    expect(written).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    const commitStarts = log.flatMap((e, k) => (/^\d COMMIT start$/.test(e) ? [k] : []));
    expect(commitStarts.length).toBe(written.length);
    written.forEach((b, j) => expect(log.indexOf(`written ${b}`), `batch ${b}`).toBeLessThan(commitStarts[j]!));
    const good = flows.filter((_, j) => Math.floor(j / 1000) !== BAD);
    expect(Number((await total).rows[0]!.flows)).toBe(good.length);
    // overlap: a batch was begun on connection 1 while connection 0 was committing
    const overlapped = log.some((e, i) => e === '1 BEGIN TRANSACTION start' && log.slice(0, i).lastIndexOf('0 COMMIT start') > log.slice(0, i).lastIndexOf('0 COMMIT end'));
    expect(overlapped, log.join('\n')).toBe(true);
    try {
      await expectRollupsEqualOracle(store, good);
    } finally {
      await store.close();
    }
    expect(await rawContent(file)).toEqual(expectedContent(good));
    // batch numbers: one per stored batch, none for the failed one
    const inst = await DuckDBInstance.create(file);
    const conn = await inst.connect();
    try {
      const r = await conn.runAndReadAll(`SELECT v6scope_batch, count(*), min(time_received) FROM raw GROUP BY 1 ORDER BY 1`);
      const rows = r.getRowsJS().map(([b, n]) => [Number(b), Number(n)]);
      expect(rows.length).toBe(11);
      expect(rows.every(([, n]) => n === 1000)).toBe(true);
      expect(new Set(rows.map(([b]) => b)).size).toBe(11);
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
  });

  it('an append made with `after` commits only if that earlier one did: a failed fill or COMMIT takes the later chained appends with it, never the others', async () => {
    const file = path.join(dir, 'chained.duckdb');
    const store = await openDuckDBStore({ path: file, rollupFlushMs: 0, rollupFlushRows: 2500 });
    const flows = makeHostileFlows(9000, 11);
    const log: string[] = [];
    let commits = 0;
    // The 4th COMMIT fails: commits follow the batch order and only batches 0, 1, 5 and 6 reach
    // theirs (2 fails its fill, 3 and 4 depend on it), so it is batch 6's — after batch 7 was written.
    interceptAppendRuns(store, async (_k, sql, run) => {
      if (sql === 'COMMIT' && ++commits === 4) {
        // held until batch 7's rows are in the other connection's transaction (its fill does not wait for this COMMIT)
        for (let t = 0; t < 5000 && !log.includes('written 7'); t += 5) await new Promise((r) => setTimeout(r, 5));
        log.push('COMMIT 6 fails');
        throw new Error('injected COMMIT failure');
      }
      return run();
    });
    const BAD_FILL = 2;
    const batches = Array.from({ length: 9 }, (_, i) => {
      const { batch } = encodeBatch(flows.slice(i * 1000, (i + 1) * 1000));
      if (i === BAD_FILL) batch.dicts[FIELDS.findIndex((f) => f.name === 'device_id')]!.push(5 as unknown as string);
      return batch;
    });
    // chains: 0 → 1 → 2 (bad fill) → 3 → 4; 5 alone; 6 (COMMIT fails) → 7; 8 alone
    const afterOf: (number | null)[] = [null, 0, 1, 2, 3, null, null, 6, null];
    const appends: Promise<void>[] = [];
    batches.forEach((batch, i) => {
      const after = afterOf[i] === null ? undefined : appends[afterOf[i]!];
      appends.push(store.appendColumnar!([{ batch, from: 0, to: 1000 }], () => log.push(`written ${i}`), after));
    });
    const settled = await Promise.allSettled(appends);
    const outcome = settled.map((r) => (r.status === 'fulfilled' ? 'stored' : (r.reason as Error).message));
    expect(outcome[0]).toBe('stored');
    expect(outcome[1]).toBe('stored');
    expect(outcome[2]).not.toMatch(/not committed/);
    expect(outcome[3]).toMatch(/^not committed: an earlier append it depends on failed/);
    expect(outcome[4]).toMatch(/^not committed/);
    expect(outcome[5]).toBe('stored');
    expect(outcome[6]).toBe('injected COMMIT failure');
    expect(outcome[7]).toMatch(/^not committed: an earlier append it depends on failed \(injected COMMIT failure\)/);
    expect(outcome[8]).toBe('stored');
    // batch 7's rows were in its transaction before batch 6's COMMIT failed: the rollback is what kept it out
    expect(log.indexOf('written 7')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('written 7')).toBeLessThan(log.indexOf('COMMIT 6 fails'));
    const good = flows.filter((_, j) => [0, 1, 5, 8].includes(Math.floor(j / 1000)));
    try {
      expect(Number((await store.query({ since: 0, until: Number.MAX_SAFE_INTEGER, metrics: ['flows'] })).rows[0]!.flows)).toBe(good.length);
      await expectRollupsEqualOracle(store, good);
      // the connections are usable again: a later append commits
      await store.appendColumnar!([{ batch: encodeBatch(flows.slice(0, 10)).batch, from: 0, to: 10 }]);
    } finally {
      await store.close();
    }
    expect(await rawContent(file)).toEqual(expectedContent([...good, ...flows.slice(0, 10)]));
  });
});
