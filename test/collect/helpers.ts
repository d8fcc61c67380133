/** Helpers for the collector tests: run `v6scope serve` as a process, read the store, drive softflowd. */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { CLI, ROOT } from '../helpers/cli.js';
import { runSoftflowd } from '../sources/flow/peers.js';

export interface ServeProc {
  child: ChildProcess;
  /** Bound ports by family, in the order of the "collecting on" line. */
  ports: { family: 4 | 6; host: string; port: number }[];
  stderr: () => string;
  /** SIGTERM (or the given signal) and wait for the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export function writeConfig(dir: string, yaml: string, name = 'v6scope.yaml'): string {
  const f = path.join(dir, name);
  writeFileSync(f, yaml);
  return f;
}

/** Start `v6scope serve` and wait until it says "ready". */
export async function startServeCli(dataDir: string, configFile: string, timeoutMs = 20_000): Promise<ServeProc> {
  const child = spawn(process.execPath, [CLI, '--data', dataDir, '--config', configFile, 'serve'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const t0 = Date.now();
  while (!/serve: ready/.test(err)) {
    if (child.exitCode !== null || Date.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`v6scope serve did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = /collecting on (.*?)(?: \(|\n)/.exec(err);
  const ports = (m?.[1] ?? '').split(', ').filter(Boolean).map((s) => {
    const x = /^\[?([^\]]*?)\]?:(\d+)\/udp$/.exec(s.trim())!;
    return { family: (x[1]!.includes(':') ? 6 : 4) as 4 | 6, host: x[1]!, port: Number(x[2]) };
  });
  return {
    child,
    ports,
    stderr: () => err,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.kill(signal);
      const code = await closed;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Run SQL against DATA/v6scope.duckdb (after serve stopped) and return rows as JS values. */
export async function queryDuck(dataDir: string, sql: string): Promise<unknown[][]> {
  const inst = await DuckDBInstance.create(path.join(dataDir, 'v6scope.duckdb'), { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  try {
    const r = await c.runAndReadAll(sql);
    return r.getRowsJS() as unknown[][];
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

export interface Totals {
  flows: number;
  packets: number;
  bytes: number;
}

/** Per-family totals of the raw table, optionally for one source_kind. */
export async function storeTotals(dataDir: string, where = 'TRUE'): Promise<{ v4: Totals; v6: Totals }> {
  const rows = await queryDuck(dataDir, `SELECT family, sum(flows), sum(packets), sum(bytes) FROM raw WHERE ${where} GROUP BY family`);
  const res = { v4: { flows: 0, packets: 0, bytes: 0 }, v6: { flows: 0, packets: 0, bytes: 0 } };
  for (const [fam, fl, pk, by] of rows) {
    const t = Number(fam) === 6 ? res.v6 : res.v4;
    t.flows = Number(fl);
    t.packets = Number(pk);
    t.bytes = Number(by);
  }
  return res;
}

/** softflowd on a capture exporting to HOST:PORT (IPv6 in brackets): the flow tests' runner. */
export async function softflowdTo(capture: string, dest: string, args: string[], dir: string, timeoutMs = 30_000): Promise<void> {
  await runSoftflowd(capture, dest, args, dir, timeoutMs);
}

/** Send datagrams from a chosen local address (e.g. 127.0.0.2 to look like another exporter). */
export async function sendFrom(datagrams: readonly Uint8Array[], to: { host: string; port: number }, from?: string): Promise<void> {
  const fam = to.host.includes(':') ? 'udp6' : 'udp4';
  const s = dgram.createSocket(fam);
  await new Promise<void>((resolve) => s.bind({ address: from ?? (fam === 'udp6' ? '::1' : '127.0.0.1'), port: 0 }, resolve));
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => s.send(d, to.port, to.host, (e) => (e ? reject(e) : resolve())));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
