/** Drive softflowd (exporter) and nfcapd/nfdump (reference collector) for the flow tests. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';

/** A deterministic capture: IPv4 + IPv6, TCP (both directions), UDP, ICMP, ICMPv6. */
export function writeMixedCapture(file: string, t0 = Date.UTC(2026, 0, 1, 12, 0, 0)): { packets: number } {
  const w = PcapWriter.toFile(file);
  let t = t0;
  for (let i = 0; i < 400; i++) {
    const c = i % 20;
    const v6 = c % 2 === 0;
    const [a, b] = v6 ? [`2001:db8:${c}::1`, `2001:db8:ffff::${c + 1}`] : [`10.0.${c}.1`, `198.51.100.${c + 1}`];
    w.write(buildFrame({ src: a, dst: b, proto: 'tcp', srcPort: 40000 + c, dstPort: 443, tcpFlags: i < 20 ? 0x02 : 0x18, payloadLength: (i * 37) % 1200 }), (t += 3));
    w.write(buildFrame({ src: b, dst: a, proto: 'tcp', srcPort: 443, dstPort: 40000 + c, tcpFlags: 0x10, payloadLength: (i * 53) % 1400 }), (t += 3));
    if (i % 4 === 0) w.write(buildFrame({ src: a, dst: b, proto: 'udp', srcPort: 5353 + c, dstPort: 53, payloadLength: 20 + c }), (t += 3));
    if (i % 10 === 0) w.write(buildFrame({ src: a, dst: b, proto: v6 ? 'icmpv6' : 'icmp', icmpType: v6 ? 128 : 8, payloadLength: 56 }), (t += 3));
  }
  w.close();
  return { packets: w.packets };
}

/** A UDP socket on 127.0.0.1 collecting datagrams. */
export async function udpSink(): Promise<{ port: number; datagrams: Buffer[]; close: () => Promise<void> }> {
  const s = dgram.createSocket('udp4');
  const datagrams: Buffer[] = [];
  s.on('message', (m) => datagrams.push(m));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return { port: s.address().port, datagrams, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/**
 * Run softflowd on a capture, exporting to 127.0.0.1:port (or to a HOST:PORT string, IPv6 in
 * brackets). softflowd 1.1.0 blocks in accept() on its control socket once per loop when reading a
 * file, so we keep connecting to it until it exits.
 */
export async function runSoftflowd(capture: string, dest: number | string, args: string[], dir: string, timeoutMs = 30_000): Promise<string> {
  const tag = Math.random().toString(36).slice(2);
  const ctl = path.join(dir, `sf-${tag}.ctl`);
  const target = typeof dest === 'number' ? `127.0.0.1:${dest}` : dest;
  const child = spawn('softflowd', ['-r', capture, '-n', target, '-d', '-p', path.join(dir, `sf-${tag}.pid`), '-c', ctl, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const poke = setInterval(() => {
    const c = net.connect(ctl);
    c.on('connect', () => c.end());
    c.on('error', () => {});
  }, 20);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(poke);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`softflowd exited with ${code}: ${out}`);
  return out;
}

/** Start nfcapd on 127.0.0.1:port writing into dir; stop() ends it (files are flushed on exit). */
export async function startNfcapd(port: number, dir: string): Promise<{ stop: () => Promise<void> }> {
  const child = spawn('nfcapd', ['-b', '127.0.0.1', '-p', String(port), '-w', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  // Ready once it logs its startup line (or after a short grace period).
  const start = Date.now();
  while (!out.includes('Startup') && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  return {
    stop: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.kill('SIGTERM');
      await closed;
      clearTimeout(timer);
    },
  };
}

export async function sendAll(datagrams: Buffer[], port: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  for (const d of datagrams) {
    await new Promise<void>((resolve, reject) => s.send(d, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await new Promise((r) => setImmediate(r));
  }
  await new Promise<void>((r) => s.close(() => r()));
}

export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Flow, packet and byte totals (the unit every peer comparison uses). */
export interface PeerTotals {
  flows: number;
  packets: number;
  bytes: number;
}

/** nfdump's totals over the nfcapd/sfcapd files in `dir` for a filter such as `ipv4` or `ipv6`. */
export async function nfdumpTotals(dir: string, filter: string): Promise<PeerTotals> {
  const out = await run('nfdump', ['-R', dir, '-N', '-q', '-o', 'fmt:%pkt %byt %fl', filter]);
  const t: PeerTotals = { flows: 0, packets: 0, bytes: 0 };
  for (const line of out.split('\n')) {
    const m = line.trim().split(/\s+/);
    if (m.length !== 3 || !/^\d+$/.test(m[0]!)) continue;
    t.packets += Number(m[0]);
    t.bytes += Number(m[1]);
    t.flows += Number(m[2]);
  }
  return t;
}
