import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { buildFrame, CaptureFormatError, captureToFlows, PcapWriter, type CaptureStats } from '../../../src/sources/packets/index.js';
import { hasTool, requireTools } from '../../helpers/tools.js';
import { PcapngBuilder } from './pcapng-builder.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-c2f-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 3, 1);

/** A small mixed capture: 3 TCP v4 flows × 2 directions, a v6 UDP exchange, ICMP, ARP, a malformed frame. */
function sampleCapture(opts: { snaplen?: number } = {}): { buf: Buffer; recordEnds: number[] } {
  const w = new PcapWriter({ snaplen: opts.snaplen ?? 262144 });
  const recordEnds: number[] = [];
  let t = T0;
  const put = (f: Uint8Array): void => {
    t += 10;
    w.write(f, t);
    recordEnds.push(w.toBuffer().length);
  };
  for (let c = 0; c < 3; c++) {
    const a = { src: '192.168.1.10', dst: `203.0.113.${c + 1}`, srcPort: 50000 + c, dstPort: 443 } as const;
    const b = { src: a.dst, dst: a.src, srcPort: 443, dstPort: 50000 + c } as const;
    put(buildFrame({ ...a, tcpFlags: 0x02 }));
    put(buildFrame({ ...b, tcpFlags: 0x12 }));
    put(buildFrame({ ...a, tcpFlags: 0x10 }));
    put(buildFrame({ ...b, tcpFlags: 0x18, payloadLength: 1200 }));
    put(buildFrame({ ...a, tcpFlags: 0x11 }));
    put(buildFrame({ ...b, tcpFlags: 0x11 }));
    put(buildFrame({ ...a, tcpFlags: 0x10 }));
  }
  put(buildFrame({ src: '2001:db8::10', dst: '2001:db8::53', proto: 'udp', srcPort: 5353, dstPort: 53, payloadLength: 30 }));
  put(buildFrame({ src: '2001:db8::53', dst: '2001:db8::10', proto: 'udp', srcPort: 53, dstPort: 5353, payloadLength: 300 }));
  put(buildFrame({ src: '192.168.1.10', dst: '192.168.1.1', proto: 'icmp', icmpType: 8, payloadLength: 56 }));
  put(buildFrame({ etherType: 0x0806, payloadLength: 28 }));
  put(buildFrame({ src: '192.168.1.10', dst: '192.168.1.1', ihl: 3 }));
  return { buf: w.toBuffer(), recordEnds };
}

async function collect(src: string | Readable, extra: Partial<Parameters<typeof captureToFlows>[1]> = {}): Promise<{ flows: FlowRecord[]; stats?: CaptureStats; error?: CaptureFormatError; order: string[] }> {
  const flows: FlowRecord[] = [];
  const order: string[] = [];
  try {
    const stats = await captureToFlows(src, {
      exporterName: 'sample.pcap',
      onFlows: (b) => {
        order.push(`batch ${b.length}`);
        flows.push(...b);
      },
      ...extra,
    });
    return { flows, stats, order };
  } catch (e) {
    order.push('error');
    if (e instanceof CaptureFormatError) return { flows, error: e, order };
    throw e;
  }
}

describe('captureToFlows', () => {
  it('meters a capture into flows with full statistics', async () => {
    const { buf } = sampleCapture();
    const p = path.join(dir, 'sample.pcap');
    writeFileSync(p, buf);
    const { flows, stats } = await collect(p);
    expect(stats).toMatchObject({
      format: 'pcap',
      packets: 26,
      ipPackets: 24,
      ipv4Packets: 22,
      ipv6Packets: 2,
      skippedNonIp: 1,
      malformedTotal: 1,
      malformed: { 'bad-ihl': 1 },
      flows: 9,
      fragments: 0,
      bytesRead: buf.length,
    });
    expect(flows).toHaveLength(9);
    expect(flows.reduce((a, f) => a + f.packets, 0)).toBe(24);
    expect(flows.reduce((a, f) => a + f.bytes, 0)).toBe(stats!.bytes);
    const fwd = flows.find((f) => f.src_port === 50000)!;
    expect(fwd).toMatchObject({ packets: 4, bytes: 160, tcp_flags: 0x13, exporter_name: 'sample.pcap', family: 4, time_start: T0 + 10 });
    const icmp = flows.find((f) => f.proto === 1)!;
    expect(icmp).toMatchObject({ src_port: 0, dst_port: 2048, bytes: 84 });
    expect(JSON.parse(JSON.stringify(stats))).toMatchObject({ flows: 9 });
  });

  it('snapped capture counts the same bytes as the full one', async () => {
    const full = await collect(Readable.from([sampleCapture().buf]));
    const snapped = await collect(Readable.from([sampleCapture({ snaplen: 54 }).buf]));
    expect(snapped.stats!.bytes).toBe(full.stats!.bytes);
    expect(snapped.flows.map((f) => f.bytes).sort()).toEqual(full.flows.map((f) => f.bytes).sort());
  });

  it('truncated file: flows before the damage are delivered, then the CaptureFormatError is thrown', async () => {
    const { buf, recordEnds } = sampleCapture();
    const cut = recordEnds[9]! + 20; // 10 whole packets, then part of the 11th record
    const p = path.join(dir, 'cut.pcap');
    writeFileSync(p, buf.subarray(0, cut));
    const { flows, error, order } = await collect(p);
    expect(error).toBeInstanceOf(CaptureFormatError);
    expect(error!.message).toBe(`${p}: truncated packet record at byte offset ${recordEnds[9]} (header says ${readFileSync(p).readUInt32LE(recordEnds[9]! + 8)} captured bytes, 4 remain)`);
    expect(order.at(-1)).toBe('error');
    expect(order.length).toBeGreaterThan(1); // onFlows ran before the rejection
    expect(flows.reduce((a, f) => a + f.packets, 0)).toBe(10);
    const stats = error!.stats as CaptureStats;
    expect(stats).toMatchObject({ packets: 10, flows: flows.length, format: 'pcap' });
    expect(stats.error).toBe(error);
    expect(JSON.stringify(stats)).not.toContain('error'); // serialisable, no cycle
  });

  it('corrupt pcapng in a stream keeps the flows before the damage', async () => {
    const f = buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'udp' });
    const good = new PcapngBuilder().shb().idb(1, { tsresol: 9 }).epb(0, BigInt(T0) * 1_000_000n, f).epb(0, BigInt(T0 + 1) * 1_000_000n, f).build();
    const bad = Buffer.concat([good, Buffer.from([6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0])]);
    const { flows, error } = await collect(Readable.from([bad]), { name: 'live:eth0' });
    expect(error!.message).toMatch(/^live:eth0: corrupt pcapng enhanced packet block at byte offset \d+ \(block length 7 is not a multiple of 4/);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ packets: 2, family: 6, time_start: T0, time_end: T0 + 1 });
  });

  it('awaits onFlows (backpressure): never two batches in flight', async () => {
    const w = new PcapWriter();
    for (let i = 0; i < 5000; i++) w.write(buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1024 + i }), T0 + i);
    const p = path.join(dir, 'many.pcap');
    writeFileSync(p, w.toBuffer());
    let inFlight = 0;
    let maxInFlight = 0;
    let got = 0;
    const progress: number[] = [];
    const stats = await captureToFlows(p, {
      exporterName: 'x',
      batchSize: 100,
      chunkSize: 4096,
      onProgress: (read, total) => {
        expect(total).toBe(w.toBuffer().length);
        progress.push(read);
      },
      onFlows: async (b) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 1));
        got += b.length;
        inFlight--;
      },
    });
    expect(stats.flows).toBe(5000);
    expect(got).toBe(5000);
    expect(maxInFlight).toBe(1);
    expect(progress.at(-1)).toBe(w.toBuffer().length);
  });

  it('live stream: with liveTickMs, quiet flows expire by the wall clock before the stream ends', async () => {
    const live = new PassThrough();
    const w = new PcapWriter();
    const header = w.toBuffer();
    live.write(header);
    const got: FlowRecord[] = [];
    const done = captureToFlows(live, { exporterName: 'lo', idleTimeoutMs: 200, liveTickMs: 50, onFlows: (b) => void got.push(...b) });
    const frame = buildFrame({ src: '127.0.0.1', dst: '127.0.0.1', proto: 'udp', dstPort: 9999 });
    for (let i = 0; i < 3; i++) {
      const one = new PcapWriter();
      one.write(frame, Date.now());
      live.write(one.toBuffer().subarray(24));
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let waited = 0; got.length === 0 && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(got).toHaveLength(1); // delivered while the stream is still open
    expect(got[0]!.packets).toBe(3);
    live.end();
    const stats = await done;
    expect(stats.flows).toBe(1);
  });

  it('non-CaptureFormatError failures (onFlows throwing) propagate as they are', async () => {
    const p = path.join(dir, 'sample2.pcap');
    writeFileSync(p, sampleCapture().buf);
    await expect(
      captureToFlows(p, {
        exporterName: 'x',
        onFlows: () => {
          throw new Error('store down');
        },
      }),
    ).rejects.toThrow('store down');
  });
});

describe('cross-check with tshark (real tools)', () => {
  it.skipIf(!hasTool('tshark') && process.env.CI !== 'true')('tshark reads our pcap and pcapng the same way we do', async () => {
    if (!requireTools('tshark', 'capinfos')) return;
    const { buf } = sampleCapture({ snaplen: 80 });
    const p1 = path.join(dir, 'x.pcap');
    writeFileSync(p1, buf);
    const ng = new PcapngBuilder().shb(false).idb(1, { tsresol: 9 });
    const frames = [buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', payloadLength: 500 }), buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'udp', payloadLength: 70 })];
    ng.epb(0, 1_700_000_000_123_456_789n, frames[0]!).shb(true).idb(113).idb(1, { tsresol: 0x80 | 20 });
    ng.epb(1, (1_700_000_001n << 20n) + 3n, frames[1]!);
    const p2 = path.join(dir, 'x.pcapng');
    writeFileSync(p2, ng.build());
    for (const p of [p1, p2]) {
      const count = Number(/Number of packets:\s*(\d+)/.exec(execFileSync('capinfos', ['-c', '-M', p]).toString())![1]);
      const lines = execFileSync('tshark', ['-n', '-r', p, '-T', 'fields', '-E', 'occurrence=f', '-e', 'ip.len', '-e', 'ipv6.plen'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
        .split('\n');
      let v4 = 0;
      let v6 = 0;
      for (const l of lines) {
        const [a, b] = l.split('\t');
        if (a) v4 += Number(a);
        else if (b) v6 += Number(b) + 40;
      }
      const { flows, stats } = await collect(p);
      expect(stats!.packets).toBe(count);
      expect(flows.filter((f) => f.family === 4).reduce((a, f) => a + f.bytes, 0)).toBe(v4);
      expect(flows.filter((f) => f.family === 6).reduce((a, f) => a + f.bytes, 0)).toBe(v6);
    }
    const epochs = execFileSync('tshark', ['-r', p2, '-T', 'fields', '-e', 'frame.time_epoch'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().split('\n');
    expect(epochs).toEqual(['1700000000.123456789', '1700000001.000002861']);
  });
});
