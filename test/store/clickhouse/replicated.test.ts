/**
 * Replicated engines (`replicated: true`): two replicas of one shard — two clickhouse-server
 * processes on loopback with their own interserver ports and `{replica}` macros — and one ZooKeeper
 * started here (Debian's `zookeeper` package; skipped without it, except under CI=true where a
 * missing ZooKeeper or ClickHouse fails the test). Flows inserted via
 * one replica are read via the other with the same totals, every rollup equals the JS oracle on both
 * replicas, and two batches that make identical rollup blocks are both kept (the replicated insert
 * deduplication is off for the rollups).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { openClickHouseStore, type ClickHouseFlowStore } from '../../../src/store/clickhouse/store.js';
import { hex, makeFlows, oracle, rowsToMap, SPAN, T0 } from '../oracle.js';
import { IN_CI } from '../../helpers/tools.js';
import { freePort, haveClickHouse, startClickHouse, type ClickHouseServer } from './server.js';

const ZK_JAR = '/usr/share/java/zookeeper.jar';
const haveZooKeeper = existsSync(ZK_JAR) && spawnSync('sh', ['-c', 'command -v java']).status === 0;
const available = haveZooKeeper && haveClickHouse();
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-repl-'));
const servers: ClickHouseServer[] = [];
let zk: ChildProcess | undefined;

/**
 * ZooKeeper serves requests: its four-letter `srvr` answers with its mode (not "not currently
 * serving"). Bounded: a port that accepts and never answers (it may belong to another test's server
 * for a moment) counts as not serving.
 */
function serving(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('srvr'));
    let out = '';
    s.setTimeout(2_000, () => s.destroy());
    s.on('data', (d) => (out += String(d)));
    s.on('close', () => resolve(/Mode: standalone/.test(out)));
    s.on('error', () => resolve(false));
  });
}

/** The whole start-up shares one budget, below the hook's timeout, so a failure names its step. */
const BUDGET_MS = 150_000;
let started = Date.now();
const steps: string[] = [];
function step(what: string): void {
  steps.push(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '(no log)';
}
function fail(why: string): never {
  const logs = [`ZooKeeper log:\n${tail(path.join(dir, 'zk', 'zk.log'))}`, ...servers.map((s) => `${s.dir} server.err.log:\n${tail(path.join(s.dir, 'server.err.log'))}`)];
  throw new Error(`${why}\nsteps: ${steps.join('; ')}\n${logs.join('\n')}`);
}

async function startZooKeeper(): Promise<number> {
  const zdir = path.join(dir, 'zk');
  mkdirSync(path.join(zdir, 'data'), { recursive: true });
  // A port picked free can be taken by another test before ZooKeeper binds it: then it exits, and
  // it is started again on another port.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const cfg = path.join(zdir, 'zoo.cfg');
    writeFileSync(cfg, `tickTime=500\ndataDir=${path.join(zdir, 'data')}\nclientPort=${port}\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=srvr\n`);
    const log = openSync(path.join(zdir, 'zk.log'), 'a');
    const child = spawn('java', ['-Xmx256m', '-cp', `/etc/zookeeper/conf:${ZK_JAR}`, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], { cwd: zdir, stdio: ['ignore', log, log] });
    closeSync(log);
    zk = child;
    step(`ZooKeeper launched on port ${port}`);
    while (!(await serving(port))) {
      if (child.exitCode !== null) {
        step(`ZooKeeper exited with ${child.exitCode}`);
        if (attempt < 3) break;
        fail(`ZooKeeper exited with ${child.exitCode}`);
      }
      if (Date.now() - started > BUDGET_MS) fail('ZooKeeper did not serve in time');
      await new Promise((r) => setTimeout(r, 200));
    }
    if (child.exitCode === null) {
      step('ZooKeeper serving');
      return port;
    }
  }
}

beforeAll(async () => {
  if (!available) return;
  started = Date.now();
  const zkPort = await startZooKeeper();
  for (const replica of ['r1', 'r2']) {
    const interserver = await freePort();
    servers.push(
      await startClickHouse({
        extraConfig:
          `<zookeeper><node><host>127.0.0.1</host><port>${zkPort}</port></node></zookeeper>` +
          `<macros><shard>01</shard><replica>${replica}</replica></macros>` +
          `<interserver_http_port>${interserver}</interserver_http_port><interserver_http_host>127.0.0.1</interserver_http_host>`,
      }),
    );
    step(`ClickHouse ${replica} answers /ping`);
  }
  // Each server has a ZooKeeper session (the first connection can take a moment).
  for (const srv of servers) {
    let last = '';
    for (;;) {
      try {
        const r = await fetch(`${srv.url}/`, { method: 'POST', body: "SELECT count() FROM system.zookeeper WHERE path = '/'", signal: AbortSignal.timeout(15_000) });
        if (r.ok) break;
        last = await r.text();
      } catch (e) {
        last = String(e);
      }
      if (Date.now() - started > BUDGET_MS) fail(`ClickHouse ${srv.url} cannot reach ZooKeeper: ${last}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    step(`ClickHouse ${srv.url} has a ZooKeeper session`);
  }
}, 180_000);
afterAll(async () => {
  if (process.env.V6SCOPE_KEEP_LOGS) for (const s of servers) console.log(s.dir, readFileSync(path.join(s.dir, 'server.err.log'), 'utf8').slice(-3000));
  for (const s of servers) await s.stop();
  if (zk && zk.exitCode === null) {
    const exited = new Promise((r) => zk!.once('exit', r));
    zk.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

async function sql(url: string, db: string, query: string): Promise<string[][]> {
  const r = await fetch(`${url}/?database=${db}`, { method: 'POST', body: query });
  const t = await r.text();
  if (!r.ok) throw new Error(t);
  return t.trim() === '' ? [] : t.trim().split('\n').map((l) => l.split('\t'));
}

function uniqueFlows(n: number, seed: number, first: number): FlowRecord[] {
  return makeFlows(n, seed).map((f, i) => ({ ...f, time_start: first + i }));
}

/** Wait until a replica has fetched every part the other wrote (SYSTEM SYNC REPLICA on each table). */
async function sync(url: string, db: string, store: ClickHouseFlowStore): Promise<void> {
  for (const t of store.tables()) await sql(url, db, `SYSTEM SYNC REPLICA ${t.name}`);
}

async function expectRollupsExact(store: ClickHouseFlowStore, flows: readonly FlowRecord[]): Promise<void> {
  for (const t of store.tables().filter((x) => x.resolutionMs > 0)) {
    const dims = [...t.dimensions];
    const res = await store.query({ since: T0, until: T0 + SPAN, bucket: t.resolutionMs, groupBy: dims.map((field) => ({ field })) });
    expect(res.table).toBe(t.name);
    const key = (r: FlowRecord): Record<string, string | number> =>
      Object.fromEntries(dims.map((n) => {
        const v = (r as unknown as Record<string, unknown>)[n];
        return [n, v instanceof Uint8Array ? hex(v) : (v as string | number)];
      }));
    expect(rowsToMap(res.rows, ['time', ...dims]), t.name).toEqual(oracle(flows, { since: T0, until: T0 + SPAN, bucket: t.resolutionMs, key }));
  }
}

describe.skipIf(!available && !IN_CI)('ClickHouse replicated engines (two replicas, one ZooKeeper)', () => {
  it('has its dependencies (zookeeper, java, clickhouse-server)', () => {
    expect(available, `missing test dependency: ${haveZooKeeper ? 'clickhouse-server' : 'zookeeper (and java)'} (scripts/install-test-deps.sh installs it)`).toBe(true);
  });

  it('insert via one replica, read via the other: same totals; identical rollup blocks are not deduplicated', async () => {
    const db = 'v6_repl';
    const [ra, rb] = [servers[0]!, servers[1]!];
    const a = await openClickHouseStore({ url: ra.url, database: db, replicated: true });
    const b = await openClickHouseStore({ url: rb.url, database: db, replicated: true });
    try {
      const engines = await sql(rb.url, db, `SELECT name, engine FROM system.tables WHERE database = '${db}' ORDER BY name`);
      const engineOf = new Map(engines.map(([n, e]) => [n, e]));
      expect(engineOf.get('raw')).toBe('ReplicatedMergeTree');
      for (const r of ['rollup_1m', 'rollup_5m', 'rollup_1h']) expect(engineOf.get(r)).toBe('ReplicatedSummingMergeTree');
      expect(engineOf.get('dns_answers')).toBe('ReplicatedMergeTree');

      const viaA = uniqueFlows(6000, 11, 0);
      for (let i = 0; i < viaA.length; i += 1500) await a.append(viaA.slice(i, i + 1500));
      // The same records twice more, as two batches: raw blocks differ (batch ids), rollup blocks are identical.
      const twice = uniqueFlows(500, 12, 100_000).map((f) => ({ ...f, time_received: T0 + 3_600_000 + (f.time_start % 1000) }));
      await a.append(twice);
      await a.append(twice);
      const viaB = uniqueFlows(3000, 13, 200_000);
      await b.append(viaB);
      const all = [...viaA, ...twice, ...twice, ...viaB];

      for (const [url, store] of [[rb.url, b], [ra.url, a]] as const) {
        await sync(url, db, store);
        const [[count, uniq]] = (await sql(url, db, 'SELECT count(), uniqExact(time_start, batch_id) FROM raw')) as [string[]];
        expect([Number(count), Number(uniq)]).toEqual([all.length, all.length]);
        const total = await store.query({ since: T0, until: T0 + SPAN });
        expect(total.rows[0]).toEqual({ bytes: all.reduce((s, f) => s + f.bytes, 0), packets: all.reduce((s, f) => s + f.packets, 0), flows: all.length });
        await expectRollupsExact(store, all);
      }
      expect((await b.repair()).rebuilt).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  }, 180_000);
});
