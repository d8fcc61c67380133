/**
 * 100,000 mutated and truncated sFlow datagrams derived from real pmacct sfprobe exports (pmacctd
 * reading a generated capture) plus hand-built ones (IPv6 agent, expanded samples, sampled IP and
 * extended records): no exception escapes, nothing is counted as an internal error, every datagram
 * is counted, and every datagram that is not sFlow v5 at all is counted as rejected.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../../src/net/ip.js';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';
import { SflowDecoder } from '../../../src/sources/sflow/index.js';
import { xorshift32 } from '../../helpers/rng.js';
import { requireTools } from '../../helpers/tools.js';
import { udpSink, writeMixedCapture } from '../flow/peers.js';
import { counterSample, datagram, extGateway, extRouter, extSwitch, flowSample, rawHeader, sampledIp } from './encode.js';

const HAVE = requireTools('pmacctd');
const SOURCE = { addr: parseIP('192.0.2.1').addr, port: 6343 };

/**
 * Run pmacctd's sfprobe over a capture file, exporting to 127.0.0.1:port; resolves with its exit
 * code and output when it exits (killed after 30 s).
 */
async function pmacctdOnFile(capture: string, port: number, dir: string): Promise<{ code: number | null; out: string }> {
  const conf = path.join(dir, `sfprobe-${port}.conf`);
  writeFileSync(
    conf,
    [`daemonize: false`, `pcap_savefile: ${capture}`, `plugins: sfprobe`, `sfprobe_receiver: 127.0.0.1:${port}`, `sfprobe_agentip: 192.0.2.10`, `sampling_rate: 1`, ''].join('\n'),
  );
  const child = spawn('pmacctd', ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, out };
}

function handBuilt(): Uint8Array[] {
  const f4 = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', payloadLength: 600, vlans: [10] });
  const f6 = buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'udp', payloadLength: 300, vlans: [100, 200], ext: [{ type: 0 }, { type: 60 }] });
  return [
    datagram(
      { agent: '2001:db8:ffff::1', subAgent: 2, seq: 9 },
      flowSample({ expanded: true, rate: 512, input: [0, 3], output: [1, 7] }, rawHeader(1, f6.length + 4, 4, f6), extSwitch(100, 0, 200, 0), extRouter('2001:db8::fe', 64, 48)),
      counterSample(true),
      flowSample({ rate: 128, input: 5, output: 0x3fffffff }, rawHeader(1, f4.length + 4, 4, f4.subarray(0, 64)), extGateway('192.0.2.254', 64500, 64501, 0, [[64510, 64511]])),
    ),
    datagram(
      { agent: '192.0.2.7', seq: 77 },
      flowSample({ rate: 10 }, sampledIp(4, { length: 1500, proto: 6, src: '10.1.1.1', dst: '10.2.2.2', srcPort: 1, dstPort: 2 })),
      flowSample({ rate: 10 }, sampledIp(6, { length: 1280, proto: 58, src: '2001:db8::a', dst: '2001:db8::b', srcPort: 128, dstPort: 0 })),
      counterSample(),
    ),
  ];
}

describe.runIf(HAVE)('sFlow fuzz', () => {
  let dir: string;
  const seeds: Uint8Array[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-sflowfuzz-'));
    const capture = path.join(dir, 'mixed.pcap');
    writeMixedCapture(capture);
    // A few VLAN / QinQ / MPLS / ARP frames too, so the sampled headers vary.
    const extra = path.join(dir, 'tagged.pcap');
    const w = PcapWriter.toFile(extra);
    const t0 = Date.UTC(2026, 0, 1);
    const ip = buildFrame({ link: 101, src: '10.9.9.9', dst: '10.8.8.8', proto: 'udp', payloadLength: 50 });
    for (let i = 0; i < 30; i++) {
      w.write(buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'tcp', payloadLength: i * 10, vlans: i % 2 ? [5] : [5, 6] }), t0 + i);
      w.write(buildFrame({ etherType: 0x8847, payload: Uint8Array.from([0, 0x10, 0x01, 64, ...ip]) }), t0 + i);
      w.write(buildFrame({ etherType: 0x0806, payloadLength: 28 }), t0 + i);
    }
    w.close();
    for (const file of [capture, extra]) {
      // pmacctd reading a savefile on a busy machine has been seen to export nothing once in a few
      // runs: try up to three times; no datagram at all after that is a failure.
      let last = '';
      for (let attempt = 1; attempt <= 3; attempt++) {
        const sink = await udpSink();
        const pm = await pmacctdOnFile(file, sink.port, dir);
        await new Promise((r) => setTimeout(r, 200));
        await sink.close();
        if (sink.datagrams.length > 0) {
          seeds.push(...sink.datagrams.map((d) => Uint8Array.from(d)));
          last = '';
          break;
        }
        last = `pmacctd (exit ${pm.code}) exported nothing: ${pm.out.slice(-2000)}`;
      }
      if (last) throw new Error(last);
    }
    seeds.push(...handBuilt());
  }, 90_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the unmutated seeds decode cleanly', () => {
    const d = new SflowDecoder();
    let recs = 0;
    for (const s of seeds) recs += d.decode(s, SOURCE, 0).length;
    expect(seeds.length).toBeGreaterThan(5);
    expect(d.totals().errors).toBe(0);
    // pmacctd sfprobe samples the IP frames of the two captures (1000; it may lose a few at the end of a file)
    expect(recs).toBeGreaterThan(900);
  });

  it('survives 100,000 mutated datagrams and counts every one', () => {
    const next = xorshift32(0x5f10);
    const rnd = (): number => next() / 0x1_0000_0000;
    const int = (n: number): number => Math.floor(rnd() * n);
    const put32 = (b: Uint8Array, o: number, v: number): void => {
      for (let i = 0; i < 4 && o + i < b.length; i++) b[o + i] = (v >>> (24 - 8 * i)) & 255;
    };
    const mutate = (src: Uint8Array): Uint8Array => {
      let b: Uint8Array = Uint8Array.from(src);
      const ops = 1 + int(4);
      for (let k = 0; k < ops; k++) {
        switch (int(9)) {
          case 0: // bit flip
            if (b.length) b[int(b.length)]! ^= 1 << int(8);
            break;
          case 1: // random byte
            if (b.length) b[int(b.length)] = int(256);
            break;
          case 2: // truncate
            b = b.subarray(0, int(b.length + 1));
            break;
          case 3: // extend with garbage or zeros
            b = Uint8Array.from([...b, ...Array.from({ length: int(64) }, () => (rnd() < 0.5 ? 0 : int(256)))]);
            break;
          case 4: // corrupt an aligned 32-bit word (lengths, counts, formats, rates)
          case 5:
            if (b.length >= 4) {
              const o = int(b.length >> 2) << 2;
              const v = [0, 1, 2, 3, 4, 5, 8, 16, 0x7fffffff, 0xffffffff, 0x3fffffff, 1001, 1002, 1003, int(0x10000), next()][int(16)]!;
              put32(b, o, v);
            }
            break;
          case 6: {
            // splice in a chunk of another seed at an aligned offset
            const other = seeds[int(seeds.length)]!;
            const from = int(other.length >> 2) << 2;
            const chunk = other.subarray(from, from + (int(50) << 2));
            const at = int((b.length >> 2) + 1) << 2;
            b = Uint8Array.from([...b.subarray(0, at), ...chunk, ...b.subarray(at)]);
            break;
          }
          case 7: // version / address type
            if (b.length >= 8) put32(b, int(2) * 4, [1, 2, 4, 5, 9, 10, int(256)][int(7)]!);
            break;
          default: // zero a run
            if (b.length) b.fill(0, int(b.length), int(b.length) + int(32));
        }
      }
      return b;
    };

    const N = 100_000;
    const d = new SflowDecoder();
    let records = 0;
    let rejectedUncounted = 0;
    for (let i = 0; i < N; i++) {
      const dg = mutate(seeds[int(seeds.length)]!);
      const before = d.totals();
      let out;
      try {
        out = d.decode(dg, SOURCE, i);
      } catch (e) {
        throw new Error(`decode threw on datagram ${i} (${Buffer.from(dg).toString('hex')}): ${(e as Error).message}`);
      }
      const after = d.totals();
      if (after.datagrams !== before.datagrams + 1) throw new Error(`datagram ${i} not counted`);
      records += out.length;
      for (const r of out) {
        if (
          !(
            (r.family === 4 || r.family === 6) &&
            r.source_kind === 'sflow' &&
            r.src_addr.length === 16 &&
            r.dst_addr.length === 16 &&
            Number.isFinite(r.bytes) &&
            r.bytes >= 0 &&
            r.packets >= 1 &&
            r.packets === r.sampling_rate &&
            r.flows === 1
          )
        ) {
          throw new Error(`bad record from datagram ${i}: ${JSON.stringify({ ...r, src_addr: [...r.src_addr], dst_addr: [...r.dst_addr], exporter_addr: [] })}`);
        }
      }
      // Not sFlow v5 with an IPv4/IPv6 agent (or too short for its header): must be counted as an error.
      const v = dg.length >= 4 ? ((dg[0]! << 24) | (dg[1]! << 16) | (dg[2]! << 8) | dg[3]!) >>> 0 : -1;
      const at = dg.length >= 8 ? ((dg[4]! << 24) | (dg[5]! << 16) | (dg[6]! << 8) | dg[7]!) >>> 0 : -1;
      const minLen = at === 2 ? 40 : 28;
      if ((v !== 5 || (at !== 1 && at !== 2) || dg.length < minLen) && after.errors <= before.errors) rejectedUncounted++;
    }
    expect(rejectedUncounted).toBe(0);
    const st = d.stats();
    expect(st.reduce((a, s) => a + s.errors.internal, 0)).toBe(0);
    expect(st.reduce((a, s) => a + s.datagrams, 0)).toBe(N);
    for (const s of st) expect(s.datagramsRejected).toBeLessThanOrEqual(s.datagramsWithErrors);
    expect(records).toBeGreaterThan(N);
    // Rejections of several kinds were met (the mutations reach the length caps).
    const kinds = new Set(st.flatMap((s) => Object.entries(s.errors).filter(([, n]) => n > 0).map(([k]) => k)));
    for (const k of ['truncated', 'bad-version', 'bad-address-type', 'bad-count', 'bad-header', 'bad-length']) expect(kinds.has(k), k).toBe(true);
  }, 120_000);
});
