/**
 * Real peers: pmacctd watches one end of a veth pair whose other end is in a network namespace the
 * test creates, with three plugins at once — sfprobe (sFlow v5, sampling 1), nfprobe v9 and
 * nfprobe IPFIX — so all three see the same packets. The namespace pings, sends UDP and fetches
 * over HTTP (IPv4 and IPv6). The exported datagrams are decoded by v6scope and replayed to
 * sfcapd / nfcapd; per-family totals are compared with nfdump's and with the generated traffic.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { formatIP, parseIP } from '../../../src/net/ip.js';
import { FlowDecoder } from '../../../src/sources/flow/index.js';
import { SflowDecoder } from '../../../src/sources/sflow/index.js';
import { IN_CI, isRoot, requireTools } from '../../helpers/tools.js';
import { freeUdpPort, nfdumpTotals, run, sendAll, udpSink } from '../flow/peers.js';

const canRun = (() => {
  if (!requireTools('pmacctd', 'sfcapd', 'nfcapd', 'nfdump', 'ip', 'ping', 'curl', 'python3')) return false;
  if (!isRoot()) {
    if (IN_CI) throw new Error('the pmacctd test needs root (network namespaces, packet capture)');
    console.warn('skipping pmacctd test: needs root');
    return false;
  }
  return true;
})();

const N = (process.pid % 200) + 20;
const NS = `v6s-sf-${process.pid}`;
const HOST_IF = `v6sf${process.pid % 100000}h`;
const NS_IF = `v6sf${process.pid % 100000}n`;
const H4 = `10.77.${N}.1`;
const C4 = `10.77.${N}.2`;
const H6 = `fd77:${N}::1`;
const C6 = `fd77:${N}::2`;
const PINGS = 4;
const PING4_SIZE = 100;
const PING6_SIZE = 200;
const UDP_COUNT = 5;
const UDP_SIZE = 120;
const BODY = 3000;

interface Totals { flows: number; packets: number; bytes: number }
const zero = (): Totals => ({ flows: 0, packets: 0, bytes: 0 });

function totals(recs: FlowRecord[], pred: (r: FlowRecord) => boolean = () => true): { v4: Totals; v6: Totals } {
  const v4 = zero();
  const v6 = zero();
  for (const r of recs) {
    if (!pred(r)) continue;
    const t = r.family === 6 ? v6 : v4;
    t.flows += r.flows;
    t.packets += r.packets;
    t.bytes += r.bytes;
  }
  return { v4, v6 };
}


/** Start a collector (sfcapd / nfcapd), replay datagrams to it, stop it, return nfdump's per-family totals. */
async function replayTo(tool: 'sfcapd' | 'nfcapd', datagrams: Buffer[], dir: string): Promise<{ v4: Totals; v6: Totals }> {
  const port = await freeUdpPort();
  const child = spawn(tool, ['-b', '127.0.0.1', '-p', String(port), '-w', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const start = Date.now();
  while (!out.includes('Startup') && Date.now() - start < 2000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  await sendAll(datagrams, port);
  await new Promise((r) => setTimeout(r, 300));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  child.kill('SIGTERM');
  await closed;
  clearTimeout(timer);
  return { v4: await nfdumpTotals(dir, 'ipv4'), v6: await nfdumpTotals(dir, 'ipv6') };
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr?.toString()}`);
}
const inNs = (cmd: string, args: string[]): Promise<string> => run('ip', ['netns', 'exec', NS, cmd, ...args]);

describe.skipIf(!canRun)('pmacctd sfprobe / nfprobe in a network namespace', () => {
  let dir: string;
  const datagrams: Record<'sf' | 'v9' | 'ipfix', Buffer[]> = { sf: [], v9: [], ipfix: [] };
  let pmacctd: ChildProcess | null = null;
  let pmLog = '';
  const servers: { close: () => void }[] = [];
  const udpReceived: number[] = [];

  function cleanup(): void {
    if (pmacctd && pmacctd.exitCode === null) pmacctd.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', HOST_IF], { stdio: 'ignore' });
    for (const s of servers) s.close();
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-pmacct-'));
    cleanup();
    servers.length = 0;
    // The namespace and the veth pair (no duplicate address detection: usable at once).
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
    sh('ip', ['link', 'set', NS_IF, 'netns', NS]);
    sh('ip', ['addr', 'add', `${H4}/24`, 'dev', HOST_IF]);
    sh('ip', ['-6', 'addr', 'add', `${H6}/64`, 'dev', HOST_IF, 'nodad']);
    sh('ip', ['link', 'set', HOST_IF, 'up']);
    sh('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${C4}/24`, 'dev', NS_IF]);
    sh('ip', ['netns', 'exec', NS, 'ip', '-6', 'addr', 'add', `${C6}/64`, 'dev', NS_IF, 'nodad']);
    sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
    sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);

    // Servers on the host side: HTTP (TCP) and a UDP sink, IPv4 and IPv6.
    const body = Buffer.alloc(BODY, 'x');
    const web = http.createServer((_req, res) => {
      res.setHeader('connection', 'close');
      res.end(body);
    });
    await new Promise<void>((resolve) => web.listen(0, '::', resolve));
    servers.push({ close: () => web.close() });
    const httpPort = (web.address() as { port: number }).port;
    const udpPort = await freeUdpPort();
    for (const [type, addr] of [['udp4', H4], ['udp6', H6]] as const) {
      const s = dgram.createSocket(type);
      s.on('message', (m) => udpReceived.push(m.length));
      await new Promise<void>((resolve) => s.bind(udpPort, addr, resolve));
      servers.push({ close: () => s.close() });
    }

    // Exporters' destinations: v6scope's sinks (the datagrams are replayed to sfcapd/nfcapd later).
    const sinks = { sf: await udpSink(), v9: await udpSink(), ipfix: await udpSink() };
    const conf = path.join(dir, 'pmacctd.conf');
    const timeouts = 'tcp=1:tcp.rst=1:tcp.fin=1:udp=1:icmp=1:general=1:maxlife=60:expint=1';
    writeFileSync(
      conf,
      [
        'daemonize: false',
        `pcap_interface: ${HOST_IF}`,
        // Only the generated traffic (no ARP / neighbour discovery / MLD, which come and go).
        `pcap_filter: icmp or (icmp6 and (ip6[40] == 128 or ip6[40] == 129)) or tcp port ${httpPort} or udp port ${udpPort}`,
        'plugins: sfprobe[sf], nfprobe[v9], nfprobe[ipfix]',
        'sampling_rate: 1',
        `sfprobe_receiver[sf]: 127.0.0.1:${sinks.sf.port}`,
        'sfprobe_agentip[sf]: 192.0.2.10',
        'sfprobe_agentsubid[sf]: 3',
        `nfprobe_receiver[v9]: 127.0.0.1:${sinks.v9.port}`,
        'nfprobe_version[v9]: 9',
        `nfprobe_timeouts[v9]: ${timeouts}`,
        `nfprobe_receiver[ipfix]: 127.0.0.1:${sinks.ipfix.port}`,
        'nfprobe_version[ipfix]: 10',
        `nfprobe_timeouts[ipfix]: ${timeouts}`,
        '',
      ].join('\n'),
    );
    pmacctd = spawn('pmacctd', ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    pmacctd.stdout!.on('data', (d: Buffer) => (pmLog += d.toString()));
    pmacctd.stderr!.on('data', (d: Buffer) => (pmLog += d.toString()));
    const pmClosed = new Promise<void>((resolve) => pmacctd!.on('close', () => resolve()));
    const start = Date.now();
    while ((pmLog.match(/Exporting flows/g) ?? []).length < 3 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));

    // The traffic.
    await inNs('ping', ['-4', '-c', String(PINGS), '-i', '0.2', '-s', String(PING4_SIZE), H4]);
    await inNs('ping', ['-6', '-c', String(PINGS), '-i', '0.2', '-s', String(PING6_SIZE), H6]);
    const py = [
      'import socket, sys, time',
      'for fam, addr in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):',
      '    s = socket.socket(fam, socket.SOCK_DGRAM)',
      `    for i in range(${UDP_COUNT}):`,
      `        s.sendto(b"u" * ${UDP_SIZE}, (addr, ${udpPort}))`,
      '        time.sleep(0.02)',
    ].join('\n');
    await inNs('python3', ['-c', py, H4, H6]);
    await inNs('curl', ['-s', '-o', '/dev/null', '--max-time', '10', `http://${H4}:${httpPort}/`]);
    await inNs('curl', ['-s', '-o', '/dev/null', '--max-time', '10', `http://[${H6}]:${httpPort}/`]);

    // Let the sFlow agent send its last samples and the flow caches expire, then stop pmacctd.
    await new Promise((r) => setTimeout(r, 3000));
    pmacctd.kill('SIGTERM');
    const killer = setTimeout(() => pmacctd?.kill('SIGKILL'), 10_000);
    await pmClosed;
    clearTimeout(killer);
    await new Promise((r) => setTimeout(r, 500));
    for (const k of ['sf', 'v9', 'ipfix'] as const) {
      await sinks[k].close();
      datagrams[k] = sinks[k].datagrams;
    }
  }, 60_000);

  afterAll(() => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const exporter = { addr: parseIP('127.0.0.1').addr, port: 0 };
  const decodeSflow = (): { recs: FlowRecord[]; dec: SflowDecoder } => {
    const dec = new SflowDecoder();
    return { recs: datagrams.sf.flatMap((d, i) => dec.decode(d, exporter, i)), dec };
  };
  const decodeFlow = (k: 'v9' | 'ipfix'): { recs: FlowRecord[]; dec: FlowDecoder } => {
    const dec = new FlowDecoder();
    return { recs: datagrams[k].flatMap((d, i) => dec.decode(d, exporter, i)), dec };
  };

  it('sFlow: every sample decodes, totals equal the generated traffic', () => {
    expect(datagrams.sf.length, pmLog.slice(-2000)).toBeGreaterThan(0);
    expect(udpReceived).toEqual(Array(2 * UDP_COUNT).fill(UDP_SIZE));
    const { recs, dec } = decodeSflow();
    const st = dec.stats();
    expect(st.map((a) => a.agent)).toEqual(['192.0.2.10']);
    const a = st[0]!;
    expect(Object.values(a.errors).reduce((x, y) => x + y, 0), JSON.stringify(a.errors)).toBe(0);
    expect(a.subAgents.map((s) => [s.subAgent, s.sequence.missing, s.samples.missing])).toEqual([[3, 0, 0]]);
    expect(a.records).toBe(a.flowSamples);
    expect(recs.every((r) => r.source_kind === 'sflow' && r.sampling_rate === 1 && r.packets === 1 && r.flows === 1 && r.observation_domain === 3)).toBe(true);
    expect(recs.every((r) => formatIP(r.exporter_addr, 4) === '192.0.2.10')).toBe(true);

    const echo = totals(recs, (r) => (r.proto === 1 && (r.dst_port === 0x0800 || r.dst_port === 0)) || (r.proto === 58 && (r.dst_port === 128 * 256 || r.dst_port === 129 * 256)));
    expect(echo.v4).toEqual({ flows: 2 * PINGS, packets: 2 * PINGS, bytes: 2 * PINGS * (20 + 8 + PING4_SIZE) });
    expect(echo.v6).toEqual({ flows: 2 * PINGS, packets: 2 * PINGS, bytes: 2 * PINGS * (40 + 8 + PING6_SIZE) });
    const udp = totals(recs, (r) => r.proto === 17);
    expect(udp.v4).toEqual({ flows: UDP_COUNT, packets: UDP_COUNT, bytes: UDP_COUNT * (20 + 8 + UDP_SIZE) });
    expect(udp.v6).toEqual({ flows: UDP_COUNT, packets: UDP_COUNT, bytes: UDP_COUNT * (40 + 8 + UDP_SIZE) });
    const tcp = totals(recs, (r) => r.proto === 6);
    expect(tcp.v4.bytes).toBeGreaterThan(BODY);
    expect(tcp.v6.bytes).toBeGreaterThan(BODY);
    const addrs = new Set(recs.map((r) => `${formatIP(r.src_addr, r.family as 4 | 6)}>${formatIP(r.dst_addr, r.family as 4 | 6)}`));
    expect([...addrs].sort()).toEqual([`${C4}>${H4}`, `${H4}>${C4}`, `${C6}>${H6}`, `${H6}>${C6}`].sort());
  });

  it('sFlow: same per-family samples and packets as sfcapd/nfdump; bytes = its frame bytes less 18 per packet', async () => {
    const { recs } = decodeSflow();
    const mine = totals(recs);
    const ref = await replayTo('sfcapd', datagrams.sf, mkdtempSync(path.join(dir, 'sf-')));
    // sfcapd counts the sampled frame length (Ethernet header 14 + IP packet + FCS 4); v6scope
    // counts IP-layer bytes. Untagged Ethernet on a veth: exactly 18 bytes per sampled packet.
    for (const [m, r] of [[mine.v4, ref.v4], [mine.v6, ref.v6]] as const) {
      expect(m.flows).toBe(r.flows);
      expect(m.packets).toBe(r.packets);
      expect(m.bytes).toBe(r.bytes - 18 * r.packets);
      expect(m.packets).toBeGreaterThan(0);
    }
  });

  for (const k of ['v9', 'ipfix'] as const) {
    it(`nfprobe ${k}: v6scope equals nfcapd/nfdump, and sFlow's per-family packets and bytes equal it`, async () => {
      expect(datagrams[k].length, pmLog.slice(-2000)).toBeGreaterThan(0);
      const { recs, dec } = decodeFlow(k);
      const st = dec.stats()[0]!;
      expect(Object.values(st.errors).reduce((x, y) => x + y, 0), JSON.stringify(st.errors)).toBe(0);
      const mine = totals(recs);
      const ref = await replayTo('nfcapd', datagrams[k], mkdtempSync(path.join(dir, `${k}-`)));
      expect(mine.v4).toEqual(ref.v4);
      expect(mine.v6).toEqual(ref.v6);
      // The same packets, seen by the sFlow plugin with sampling 1 (flows are not comparable:
      // a flow cache entry vs one record per sample).
      const sf = totals(decodeSflow().recs);
      expect({ packets: sf.v4.packets, bytes: sf.v4.bytes }).toEqual({ packets: mine.v4.packets, bytes: mine.v4.bytes });
      expect({ packets: sf.v6.packets, bytes: sf.v6.bytes }).toEqual({ packets: mine.v6.packets, bytes: mine.v6.bytes });
    });
  }
});
