/**
 * Starts a private clickhouse-server for tests: loopback only, free ports, a temporary data
 * directory and a generated minimal config (the XML layout 18.16 needs; current servers accept it
 * too), run as the current user. Waits for /ping; `stop()` terminates it and removes the directory.
 *
 * `findClickHouseServer()` looks in PATH and in /usr/sbin (Debian installs the binary there, which is
 * not in a normal user's PATH). Under CI=true a missing binary fails the test (requireTools).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireTools } from '../../helpers/tools.js';

export interface ClickHouseServer {
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  readonly dir: string;
  /** Terminate the server and remove its directory. */
  stop(): Promise<void>;
  /** Terminate the server (SIGKILL by default: a crash) and keep its data for `restart`. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start it again on the same ports and data directory; resolves once /ping answers. */
  restart(): Promise<void>;
}

export interface StartOptions {
  /** Ports to use (default: free ones). */
  readonly httpPort?: number;
  readonly tcpPort?: number;
  /** XML inserted into the server configuration (e.g. remote_servers for a cluster). */
  readonly extraConfig?: string;
}

/** The server command (argv prefix), or null when none is installed. */
export function findClickHouseServer(): string[] | null {
  const inPath = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' });
  if (inPath.status === 0 && inPath.stdout.trim()) return [inPath.stdout.trim()];
  for (const p of ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server']) if (existsSync(p)) return [p];
  for (const p of ['/usr/bin/clickhouse', '/usr/local/bin/clickhouse']) if (existsSync(p)) return [p, 'server'];
  return null;
}

/** True when a server can be started; under CI a missing one throws (the test fails). */
export function haveClickHouse(): boolean {
  if (findClickHouseServer()) return true;
  return requireTools('clickhouse-server');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Start a server. Free ports are picked before the server binds them, so another test running at the
 * same time can take one in between: when the server then fails with "Address already in use" on
 * ports picked here, it is started again on new ones (up to three times).
 */
export async function startClickHouse(opts: StartOptions = {}): Promise<ClickHouseServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (e) {
      const portsPicked = opts.httpPort === undefined && opts.tcpPort === undefined;
      if (!portsPicked || attempt >= 3 || !/Address already in use/i.test(String(e))) throw e;
    }
  }
}

async function startOnce(opts: StartOptions): Promise<ClickHouseServer> {
  const cmd = findClickHouseServer();
  if (!cmd) throw new Error('clickhouse-server not found (scripts/install-test-deps.sh installs it)');
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-ch-'));
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(path.join(dir, sub));
  const httpPort = opts.httpPort ?? (await freePort());
  let tcpPort = opts.tcpPort ?? (await freePort());
  while (tcpPort === httpPort) tcpPort = await freePort();
  const p = (x: string): string => xml(path.join(dir, x));
  writeFileSync(
    path.join(dir, 'users.xml'),
    `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`,
  );
  writeFileSync(
    path.join(dir, 'config.xml'),
    `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${p('server.log')}</log>
    <errorlog>${p('server.err.log')}</errorlog>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${p('data')}/</path>
  <tmp_path>${p('tmp')}/</tmp_path>
  <user_files_path>${p('user_files')}/</user_files_path>
  <format_schema_path>${p('format_schemas')}/</format_schema_path>
  <users_config>${p('users.xml')}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>32</max_concurrent_queries>
${opts.extraConfig ?? ''}
</yandex>
`,
  );
  const url = `http://127.0.0.1:${httpPort}`;
  let child: ChildProcess | undefined;
  let exited: number | null | undefined;
  let exit: Promise<void> = Promise.resolve();
  const launch = (): void => {
    const out = openSync(path.join(dir, 'stdout.log'), 'a');
    child = spawn(cmd[0]!, [...cmd.slice(1), `--config-file=${path.join(dir, 'config.xml')}`], { cwd: dir, stdio: ['ignore', out, out] });
    closeSync(out);
    exited = undefined;
    const c = child;
    exit = new Promise<void>((resolve) =>
      c.once('exit', (code) => {
        exited = code;
        resolve();
      }),
    );
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child && exited === undefined) {
      child.kill(signal);
      const killer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(killer);
    }
  };
  const stop = async (): Promise<void> => {
    await kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== undefined) {
        const log = ['stdout.log', 'server.err.log'].map((f) => (existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8').slice(-2000) : '')).join('\n');
        throw new Error(`clickhouse-server exited with ${String(exited)} during start:\n${log}`);
      }
      try {
        // A bounded wait: the port may briefly belong to something that accepts and never answers.
        const r = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(5_000) });
        if (r.ok && (await r.text()).startsWith('Ok')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('clickhouse-server did not answer /ping within 60 s');
      await new Promise((res) => setTimeout(res, 100));
    }
  };
  const restart = async (): Promise<void> => {
    await kill();
    // The old process may hold the ports for a moment after it exits.
    for (let i = 0; ; i++) {
      launch();
      try {
        await waitReady();
        return;
      } catch (e) {
        if (i >= 20 || exited === undefined) throw e;
        await new Promise((res) => setTimeout(res, 250));
      }
    }
  };
  launch();
  try {
    await waitReady();
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, httpPort, tcpPort, dir, stop, kill, restart };
}
