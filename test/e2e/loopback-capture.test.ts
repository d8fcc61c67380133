/**
 * Real traffic, real capture, independent count: tcpdump records HTTP and UDP exchanges over
 * 127.0.0.1 and ::1 (started and stopped by this test), `v6scope ingest` meters the capture, and the
 * per-family packet and byte totals must equal tshark's for the same file. The capture is snapped
 * (-s 96), so bytes must come from the IP headers, not from the captured length.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { isRoot, requireTools, IN_CI } from '../helpers/tools.js';

const exec = promisify(execFile);

interface FamilyTotals {
  ipv4: { packets: number; bytes: number };
  ipv6: { packets: number; bytes: number };
}

/** Per-family packets and IP-layer bytes as tshark dissects them (ip.len; ipv6.plen + 40). */
async function tsharkTotals(file: string): Promise<FamilyTotals> {
  // Outer header only: for tunnelled packets tshark lists several values; the first is the outer one.
  const { stdout } = await exec('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.len', '-e', 'ipv6.plen'], {
    maxBuffer: 1 << 28,
  });
  const t: FamilyTotals = { ipv4: { packets: 0, bytes: 0 }, ipv6: { packets: 0, bytes: 0 } };
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [v4, v6] = line.split('\t');
    if (v4) {
      t.ipv4.packets++;
      t.ipv4.bytes += Number(v4);
    } else if (v6) {
      t.ipv6.packets++;
      t.ipv6.bytes += Number(v6) + 40;
    }
  }
  return t;
}

function startCapture(args: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${err}`)), 15_000);
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/listening on/.test(err)) {
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited with ${code}: ${err}`));
    });
  });
}

function stopCapture(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    p.removeAllListeners('exit');
    p.on('exit', () => resolve());
    p.kill('SIGINT');
  });
}

async function fetchOnce(host: string, port: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: `/?size=${size}`, agent: false }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
  });
}

async function udpExchange(host: string, port: number, type: 'udp4' | 'udp6', count: number): Promise<void> {
  const s = createSocket(type);
  await new Promise<void>((resolve) => s.bind(0, resolve));
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => s.send(Buffer.alloc(200 + i * 37, 7), port, host, (e) => (e ? reject(e) : resolve())));
  }
  await new Promise((r) => setTimeout(r, 50));
  s.close();
}

const canRun = (() => {
  const tools = requireTools('tcpdump', 'tshark', 'editcap');
  if (!tools) return false;
  if (!isRoot()) {
    if (IN_CI) throw new Error('the loopback capture test needs root for tcpdump');
    console.warn('skipping loopback capture test: needs root');
    return false;
  }
  return true;
})();

describe.skipIf(!canRun)('real loopback capture vs tshark', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-lo-'));
  const captures: Record<string, string> = {
    ethernet: path.join(dir, 'lo-ethernet.pcap'),
    cooked: path.join(dir, 'any-cooked.pcap'),
  };
  let port = 0;

  beforeAll(async () => {
    const server = http.createServer((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? 1000);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      res.end(Buffer.alloc(size, 0x61));
    });
    await new Promise<void>((resolve) => server.listen({ host: '::', port: 0, ipv6Only: false }, resolve));
    port = (server.address() as AddressInfo).port;
    const udp4 = createSocket('udp4');
    const udp6 = createSocket({ type: 'udp6', ipv6Only: true });
    await new Promise<void>((r) => udp4.bind(port, '127.0.0.1', r));
    await new Promise<void>((r) => udp6.bind(port, '::1', r));

    const filter = `port ${port}`;
    const lo = await startCapture(['-i', 'lo', '--immediate-mode', '-U', '-n', '-s', '96', '-w', captures.ethernet!, filter]);
    const any = await startCapture(['-i', 'any', '--immediate-mode', '-U', '-n', '-s', '96', '-w', captures.cooked!, filter]);
    for (let i = 0; i < 6; i++) await fetchOnce('127.0.0.1', port, 20_000 + i * 50_000);
    for (let i = 0; i < 12; i++) await fetchOnce('::1', port, 30_000 + i * 40_000);
    await udpExchange('127.0.0.1', port, 'udp4', 15);
    await udpExchange('::1', port, 'udp6', 25);
    // libpcap hands packets over in blocks; immediate mode plus a pause lets the last ones through.
    await new Promise((r) => setTimeout(r, 1500));
    await stopCapture(lo);
    await stopCapture(any);
    udp4.close();
    udp6.close();
    server.close();
    // The same traffic as pcapng, written by Wireshark's editcap.
    captures.pcapng = path.join(dir, 'lo-ethernet.pcapng');
    await exec('editcap', ['-F', 'pcapng', captures.ethernet!, captures.pcapng]);
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of ['ethernet', 'cooked', 'pcapng'] as const) {
    it(`per-family packets and bytes equal tshark's (${kind})`, async () => {
      const file = captures[kind]!;
      expect(statSync(file).size).toBeGreaterThan(1000);
      const expected = await tsharkTotals(file);
      expect(expected.ipv4.packets).toBeGreaterThan(50);
      expect(expected.ipv6.packets).toBeGreaterThan(100);

      const data = path.join(dir, `data-${kind}`);
      const ing = await runCli(['--data', data, 'ingest', file]);
      expect(ing.stderr).toBe('');
      expect(ing.code).toBe(0);
      const share = await runCli(['--data', data, '--json', 'share']);
      expect(share.code).toBe(0);
      const r = JSON.parse(share.stdout);
      expect({
        ipv4: { packets: r.packets.ipv4, bytes: r.bytes.ipv4 },
        ipv6: { packets: r.packets.ipv6, bytes: r.bytes.ipv6 },
      }).toEqual(expected);
      // The snapped capture is far smaller than the bytes it accounts for.
      expect(statSync(file).size).toBeLessThan(expected.ipv4.bytes + expected.ipv6.bytes);
      expect(r.bytes.ipv6Share).toBeCloseTo(expected.ipv6.bytes / (expected.ipv4.bytes + expected.ipv6.bytes), 12);
    });
  }
});
