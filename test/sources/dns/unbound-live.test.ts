/**
 * The real peer: an Unbound started on loopback with a generated configuration (no upstream; a
 * local zone with A-only, A+AAAA, AAAA-only and record-less names), dnstap to `v6scope dns dnstap`
 * and log-replies to a logfile. dig asks A and AAAA for each name; `v6scope dns names --json` must
 * give exactly the right table, and the log-replies import must agree wherever a reply line can say
 * something. Also the CLI's usage errors and malformed-line reporting.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../../helpers/cli.js';
import { IN_CI, requireTools } from '../../helpers/tools.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-unbound-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A port free for both UDP and TCP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const srv = net.createServer();
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    await new Promise<void>((r) => srv.close(() => r()));
    if (ok) return port;
  }
  throw new Error('no free port');
}

function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

function exited(c: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('process did not exit')), timeoutMs);
    c.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

// The zone: what each name holds, and which types the test asks.
const ZONE = [
  { name: 'a.v6.test', a: ['192.0.2.1'], aaaa: [], ask: ['A', 'AAAA'] },
  { name: 'a4.v6.test', a: ['192.0.2.4'], aaaa: [], ask: ['A'] },
  { name: 'both.v6.test', a: ['192.0.2.2', '192.0.2.3'], aaaa: ['2001:db8::2'], ask: ['A', 'AAAA'] },
  { name: 'six.v6.test', a: [], aaaa: ['2001:db8::6'], ask: ['A', 'AAAA'] },
  { name: 'empty.v6.test', a: [], aaaa: [], ask: ['A', 'AAAA'] }, // exists (a TXT record), no address: NODATA
  { name: 'nope.v6.test', a: null, aaaa: null, ask: ['A', 'AAAA'] }, // does not exist: NXDOMAIN
] as const;

/** The name table as it must be, written from the zone above. */
const EXPECTED = [
  { name: 'a.v6.test', status: 'aaaa-empty', ipv4: ['192.0.2.1'], ipv6: [], nxdomain: false, aEmpty: false, aaaaEmpty: true, askedTypes: ['A', 'AAAA'] },
  { name: 'a4.v6.test', status: 'only-a', ipv4: ['192.0.2.4'], ipv6: [], nxdomain: false, aEmpty: false, aaaaEmpty: false, askedTypes: ['A'] },
  { name: 'both.v6.test', status: 'has-aaaa', ipv4: ['192.0.2.2', '192.0.2.3'], ipv6: ['2001:db8::2'], nxdomain: false, aEmpty: false, aaaaEmpty: false, askedTypes: ['A', 'AAAA'] },
  { name: 'empty.v6.test', status: 'aaaa-empty', ipv4: [], ipv6: [], nxdomain: false, aEmpty: true, aaaaEmpty: true, askedTypes: ['A', 'AAAA'] },
  { name: 'nope.v6.test', status: 'nxdomain', ipv4: [], ipv6: [], nxdomain: true, aEmpty: false, aaaaEmpty: false, askedTypes: ['A', 'AAAA'] },
  { name: 'six.v6.test', status: 'has-aaaa', ipv4: [], ipv6: ['2001:db8::6'], nxdomain: false, aEmpty: true, aaaaEmpty: false, askedTypes: ['A', 'AAAA'] },
];

interface NameRow {
  name: string;
  status: string;
  ipv4: string[];
  ipv6: string[];
  nxdomain: boolean;
  aEmpty: boolean;
  aaaaEmpty: boolean;
  askedTypes: string[];
  noerrorTypes: string[];
  lastSeen: string;
}

const pick = (r: NameRow): Partial<NameRow> => ({ name: r.name, status: r.status, ipv4: [...r.ipv4].sort(), ipv6: r.ipv6, nxdomain: r.nxdomain, aEmpty: r.aEmpty, aaaaEmpty: r.aaaaEmpty, askedTypes: r.askedTypes });

function dnstapBuild(): boolean {
  const v = execFileSync('unbound', ['-V']).toString();
  if (v.includes('--enable-dnstap')) return true;
  if (IN_CI) throw new Error('this unbound is built without dnstap (--enable-dnstap)');
  console.warn('skipping: unbound built without dnstap');
  return false;
}

const HAVE = requireTools('unbound', 'dig') && dnstapBuild();

describe.runIf(HAVE)('a real Unbound sends dnstap and log-replies', () => {
  it('the name table is exactly right, and the log-replies import agrees where it can', async () => {
    const data = path.join(dir, 'data');
    const sock = path.join(dir, 'tap.sock');
    const logfile = path.join(dir, 'unbound.log');
    const port = await freePort();

    // 1. v6scope listens first (Unbound connects at start and retries otherwise).
    const tap = spawn(process.execPath, [CLI, '--data', data, '--json', 'dns', 'dnstap', '--socket', sock, '--flush-interval', '1s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(tap);
    let tapOut = '';
    let tapErr = '';
    tap.stdout!.on('data', (d: Buffer) => (tapOut += d.toString()));
    tap.stderr!.on('data', (d: Buffer) => (tapErr += d.toString()));
    await waitFor('v6scope to listen', () => tapErr.includes('listening for dnstap') && existsSync(sock));

    // 2. Unbound: loopback, no upstream, local data only, dnstap + log-replies.
    const localData = ZONE.flatMap((z) => [...(z.a ?? []).map((a) => `  local-data: "${z.name}. 300 IN A ${a}"`), ...(z.aaaa ?? []).map((a) => `  local-data: "${z.name}. 300 IN AAAA ${a}"`)]);
    const conf = path.join(dir, 'unbound.conf');
    writeFileSync(
      conf,
      [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${port}`,
        '  do-ip6: no',
        '  num-threads: 1',
        '  do-daemonize: no',
        '  chroot: ""',
        '  username: ""',
        `  directory: "${dir}"`,
        '  pidfile: ""',
        `  logfile: "${logfile}"`,
        '  use-syslog: no',
        '  verbosity: 1',
        '  log-replies: yes',
        '  module-config: "iterator"',
        '  access-control: 127.0.0.0/8 allow',
        '  local-zone: "v6.test." static',
        ...localData,
        '  local-data: "empty.v6.test. 300 IN TXT \\"no address here\\""',
        'remote-control:',
        '  control-enable: no',
        'dnstap:',
        '  dnstap-enable: yes',
        `  dnstap-socket-path: "${sock}"`,
        '  dnstap-send-identity: yes',
        '  dnstap-send-version: yes',
        '  dnstap-log-client-query-messages: yes',
        '  dnstap-log-client-response-messages: yes',
        '',
      ].join('\n'),
    );
    execFileSync('unbound-checkconf', [conf]);
    const ub = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(ub);
    let ubErr = '';
    ub.stderr!.on('data', (d: Buffer) => (ubErr += d.toString()));
    await waitFor('Unbound to start', () => existsSync(logfile) && readFileSync(logfile, 'utf8').includes('start of service')).catch((e) => {
      throw new Error(`${(e as Error).message}: ${ubErr}`);
    });
    await waitFor('Unbound to connect to the dnstap socket', () => tapErr.includes('dnstap writer connected'));

    // 3. dig asks; its answers are the zone (a sanity check of the setup itself).
    for (const z of ZONE) {
      for (const t of z.ask) {
        const out = execFileSync('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', z.name, t]).toString();
        const status = /status: (\w+)/.exec(out)?.[1];
        expect(status, `${z.name} ${t}`).toBe(z.a === null ? 'NXDOMAIN' : 'NOERROR');
      }
    }

    // Unbound's workers wake its dnstap thread after 1 s (or 32 queued messages), and what is still
    // queued when it stops is dropped: give the timer time to fire.
    await new Promise((r) => setTimeout(r, 2500));

    // 4. Unbound stops first (it sends STOP, v6scope answers FINISH), then v6scope (flushes, exits 0).
    ub.kill('SIGTERM');
    expect(await exited(ub)).toBe(0);
    tap.kill('SIGTERM');
    expect(await exited(tap)).toBe(0);
    const summary = JSON.parse(tapOut) as Record<string, number>;
    const asked = ZONE.reduce((n, z) => n + z.ask.length, 0);
    expect(summary).toMatchObject({ connections: 1, finished: 1, protocolErrors: 0, undecodable: 0, malformed: 0, sightings: asked });
    // Client queries were logged too (dnstap-log-client-query-messages), and skipped.
    expect(summary.otherMessages).toBe(asked);

    // 5. The name table from dnstap: exactly the zone.
    const names = await runCli(['--data', data, '--json', 'dns', 'names']);
    expect(names.code, names.stderr).toBe(0);
    const table = JSON.parse(names.stdout) as NameRow[];
    expect(table.map(pick)).toEqual(EXPECTED);
    for (const r of table) expect(Date.now() - Date.parse(r.lastSeen)).toBeLessThan(120_000);

    // 6. The log-replies import, alone: agrees on what a reply line can tell.
    const logData = path.join(dir, 'logdata');
    const imp = await runCli(['--data', logData, '--json', 'dns', 'import-log', logfile]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject([{ replies: asked, rows: asked, malformed: 0 }]);
    const fromLog = JSON.parse((await runCli(['--data', logData, '--json', 'dns', 'names'])).stdout) as NameRow[];
    expect(fromLog.map((r) => r.name)).toEqual(EXPECTED.map((r) => r.name));
    for (const r of fromLog) {
      const truth = EXPECTED.find((e) => e.name === r.name)!;
      expect(r.askedTypes, r.name).toEqual(truth.askedTypes);
      // NXDOMAIN is the one status a reply line proves; everything else stays unknown, never "has AAAA".
      expect(r.status, r.name).toBe(truth.nxdomain ? 'nxdomain' : 'unknown');
      expect(r.noerrorTypes, r.name).toEqual(truth.nxdomain ? [] : truth.askedTypes);
      expect(r.ipv4.length + r.ipv6.length).toBe(0);
    }

    // 7. Log rows added to the dnstap data change no status (NOERROR is not evidence either way).
    const both = await runCli(['--data', data, '-q', 'dns', 'import-log', logfile]);
    expect(both.code, both.stderr).toBe(0);
    const merged = JSON.parse((await runCli(['--data', data, '--json', 'dns', 'names'])).stdout) as NameRow[];
    expect(merged.map(pick)).toEqual(EXPECTED);

    // 8. A damaged copy: the bad lines are reported as FILE:LINE and skipped, the rest imported, exit 1.
    const damaged = path.join(dir, 'damaged.log');
    copyFileSync(logfile, damaged);
    const good = readFileSync(logfile, 'utf8').split('\n').filter(Boolean).length;
    appendFileSync(damaged, 'not a log line\n[1796128170] unbound[1:0] info: 127.0.0.1 x.v6.test. A IN NOERROR soon 1 40\n');
    const bad = await runCli(['--data', path.join(dir, 'damaged'), '--json', 'dns', 'import-log', damaged]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`damaged.log:${good + 1}: not an Unbound log line`);
    expect(bad.stderr).toContain(`damaged.log:${good + 2}: bad duration "soon"`);
    expect(JSON.parse(bad.stdout)).toMatchObject([{ rows: asked, malformed: 2 }]);
  });
});

describe('dns command line', () => {
  it('usage errors exit 2 with one line; an empty store gives an empty table', async () => {
    const empty = path.join(dir, 'empty');
    const n = await runCli(['--data', empty, '--json', 'dns', 'names']);
    expect(n.code).toBe(0);
    expect(JSON.parse(n.stdout)).toEqual([]);
    const s = await runCli(['--data', empty, 'dns', 'names', '--status', 'maybe']);
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    const m = await runCli(['--data', empty, 'dns', 'import-log', path.join(dir, 'missing.log')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/no such file/);
    const b = await runCli(['--data', empty, 'dns', 'dnstap', '--socket', path.join(dir, 'x.sock'), '--batch', '0']);
    expect(b.code).toBe(2);
    const r = await runCli(['--data', empty, 'dns', 'dnstap']);
    expect(r.code).toBe(2);
  });

  it('a socket path that is a regular file is a runtime error (exit 1, one line)', async () => {
    const f = path.join(dir, 'regular-file');
    writeFileSync(f, 'x');
    const r = await runCli(['--data', path.join(dir, 'd2'), 'dns', 'dnstap', '--socket', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^v6scope: cannot listen on .*regular-file: .* is not a socket\n$/);
  });
});
