/**
 * `v6scope capture` on a veth interface inside a network namespace this test creates: HTTP (curl),
 * ICMP/ICMPv6 (ping) and DNS over IPv4 and IPv6 between the namespace and the host; the flows and
 * the DNS answers seen on the wire must be stored. Skipped without root (netns creation impossible);
 * under CI=true that fails instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../helpers/cli.js';
import { IN_CI, requireTools } from '../helpers/tools.js';
import { queryDuck, waitFor } from './helpers.js';

const TOOLS = requireTools('ip', 'tcpdump', 'curl', 'ping');
const tag = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
const NS = `v6scope-t${tag}`;
const HOST_IF = `v6h${tag}`;
const NS_IF = `v6n${tag}`;
const NET = 200 + (process.pid % 50);
const HOST4 = `10.${NET}.0.1`;
const NS4 = `10.${NET}.0.2`;
const HOST6 = `fd00:${NET}::1`;
const NS6 = `fd00:${NET}::2`;

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Create the namespace and veth pair; returns why it could not (null when done). */
function setupNetns(): string | null {
  try {
    sh(['ip', 'netns', 'add', NS]);
  } catch (e) {
    return `cannot create a network namespace (${String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim()}); needs root`;
  }
  sh(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
  sh(['ip', 'link', 'set', NS_IF, 'netns', NS]);
  sh(['ip', 'addr', 'add', `${HOST4}/24`, 'dev', HOST_IF]);
  sh(['ip', '-6', 'addr', 'add', `${HOST6}/64`, 'dev', HOST_IF, 'nodad']);
  sh(['ip', 'link', 'set', HOST_IF, 'up']);
  sh(['ip', 'netns', 'exec', NS, 'ip', 'addr', 'add', `${NS4}/24`, 'dev', NS_IF]);
  sh(['ip', 'netns', 'exec', NS, 'ip', '-6', 'addr', 'add', `${NS6}/64`, 'dev', NS_IF, 'nodad']);
  sh(['ip', 'netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
  sh(['ip', 'netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  return null;
}

function teardown(): void {
  try {
    sh(['ip', 'netns', 'del', NS]); // removes the veth pair too
  } catch {
    // not created
  }
  try {
    sh(['ip', 'link', 'del', HOST_IF]);
  } catch {
    // already gone
  }
}

/** A DNS query for `name` (type 1 or 28), id 0x1234. */
function dnsQuery(name: string, qtype: number): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, qtype, 0, 1])]);
}

/** Answer A/AAAA for www.example.test (TTL 300) — the host side's resolver. */
function dnsAnswer(q: Buffer): Buffer {
  let p = 12;
  while (q[p]! !== 0) p += q[p]! + 1;
  const qEnd = p + 5;
  const qtype = q.readUInt16BE(p + 1);
  const rdata = qtype === 28 ? Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]) : Buffer.from([203, 0, 113, 7]);
  const header = Buffer.from([q[0]!, q[1]!, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const answer = Buffer.concat([Buffer.from([0xc0, 12, 0, qtype, 0, 1, 0, 0, 0x01, 0x2c, 0, rdata.length]), rdata]);
  return Buffer.concat([header, q.subarray(12, qEnd), answer]);
}

function inNs(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} in ${NS}: exit ${code}: ${err}`))));
  });
}

describe.runIf(TOOLS)('v6scope capture in a network namespace', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-capture-'));
  afterAll(() => {
    teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the flows (IPv4 and IPv6, TCP/ICMP/ICMPv6/UDP) and the DNS answers seen on the wire', async (ctx) => {
    const why = setupNetns();
    if (why) {
      if (IN_CI) throw new Error(why);
      console.warn(`skipping: ${why}`);
      ctx.skip();
      return;
    }
    // Host side: an HTTP server and a DNS server on both families.
    const server = http.createServer((_req, res) => res.end('x'.repeat(5000)));
    await new Promise<void>((r) => server.listen(0, '::', r));
    const httpPort = (server.address() as { port: number }).port;
    const dns4 = dgram.createSocket('udp4');
    const dns6 = dgram.createSocket({ type: 'udp6', ipv6Only: true });
    for (const s of [dns4, dns6]) s.on('message', (m, r) => s.send(dnsAnswer(m), r.port, r.address));
    await new Promise<void>((r) => dns4.bind(53, HOST4, r));
    await new Promise<void>((r) => dns6.bind(53, HOST6, r));

    const data = path.join(dir, 'data');
    const child = spawn('ip', ['netns', 'exec', NS, process.execPath, CLI, '--data', data, 'capture', '--interface', NS_IF, '--bpf', 'not arp'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.resume();
    const closed = new Promise<number | null>((r) => child.on('close', r));
    let code: number | null = null;
    try {
      await waitFor(() => /listening on/.test(err) || child.exitCode !== null, 20_000, 'tcpdump to listen');
      expect(err).toMatch(new RegExp(`capture: listening on ${NS_IF}`));

      await inNs('curl', ['-s', '-o', '/dev/null', `http://${HOST4}:${httpPort}/`]);
      await inNs('curl', ['-s', '-o', '/dev/null', '-g', `http://[${HOST6}]:${httpPort}/`]);
      await inNs('ping', ['-c', '2', '-i', '0.2', '-W', '2', HOST4]);
      await inNs('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', HOST6]);
      const q = (server: string, qtype: number): string =>
        `const d=require('dgram');const s=d.createSocket('${server.includes(':') ? 'udp6' : 'udp4'}');` +
        `s.on('message',()=>{s.close()});setTimeout(()=>process.exit(3),3000).unref();` +
        `s.send(Buffer.from('${dnsQuery('www.example.test', qtype).toString('hex')}','hex'),53,'${server}')`;
      await inNs(process.execPath, ['-e', q(HOST4, 1)]);
      await inNs(process.execPath, ['-e', q(HOST6, 28)]);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.kill('SIGTERM');
      code = await closed;
      clearTimeout(t);
      server.close();
      dns4.close();
      dns6.close();
    }
    expect(code, err).toBe(0);
    expect(err).toMatch(/SIGTERM: \d+ packets/);

    const flows = (await queryDuck(data, `SELECT family, proto, count(*), sum(packets), sum(bytes) FROM raw GROUP BY ALL ORDER BY ALL`)).map((r) => r.map(Number));
    const has = (fam: number, proto: number): boolean => flows.some((r) => r[0] === fam && r[1] === proto && r[2]! > 0 && r[3]! > 0);
    expect(has(4, 6), JSON.stringify(flows)).toBe(true); // curl over IPv4
    expect(has(6, 6), JSON.stringify(flows)).toBe(true); // curl over IPv6
    expect(has(4, 1)).toBe(true); // ping
    expect(has(6, 58)).toBe(true); // ping -6 (and neighbour discovery)
    expect(has(4, 17) && has(6, 17)).toBe(true); // DNS
    // The HTTP responses (5000 bytes each) are in the TCP byte counts of both families.
    expect(flows.find((r) => r[0] === 4 && r[1] === 6)![4]).toBeGreaterThan(5000);
    expect(flows.find((r) => r[0] === 6 && r[1] === 6)![4]).toBeGreaterThan(5000);
    // Exporter name is the interface.
    const names = await queryDuck(data, `SELECT DISTINCT exporter_name, source_kind FROM raw`);
    expect(names).toEqual([[NS_IF, 'pcap']]);

    const dns = await queryDuck(data, `SELECT name, qtype, kind, answer_family, ttl, client_family FROM dns_answers ORDER BY qtype`);
    expect(dns.map((r) => r.map((x) => (typeof x === 'bigint' ? Number(x) : x)))).toEqual([
      ['www.example.test', 1, 'addresses', 4, 300, 4],
      ['www.example.test', 28, 'addresses', 6, 300, 6],
    ]);
  });
});
