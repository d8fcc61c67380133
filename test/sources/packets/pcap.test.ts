import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFormatError, readCapture, type CaptureSource, type ReadCaptureOptions } from '../../../src/sources/packets/pcap.js';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';
import { PcapngBuilder } from './pcapng-builder.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(data: Uint8Array, name = `f${fileNo++}.pcap`): string {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
}

interface Got {
  sec: number;
  ns: number;
  ms: number;
  link: number;
  ifid: number;
  cap: number;
  orig: number;
  at: number;
  hex: string;
}

async function readAll(src: CaptureSource, opts: ReadCaptureOptions = {}): Promise<{ packets: Got[]; error?: CaptureFormatError; result?: Awaited<ReturnType<typeof readCapture>> }> {
  const packets: Got[] = [];
  try {
    const result = await readCapture(
      src,
      (p) => packets.push({ sec: p.tsSec, ns: p.tsNs, ms: p.tsMs, link: p.linkType, ifid: p.interfaceId, cap: p.capLen, orig: p.origLen, at: p.fileOffset, hex: Buffer.from(p.data).toString('hex') }),
      opts,
    );
    return { packets, result };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { packets, error: e };
    throw e;
  }
}

function frames(n: number, seed = 1): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(buildFrame({ src: '192.0.2.1', dst: `198.51.100.${(i + seed) % 250}`, proto: i % 2 ? 'udp' : 'tcp', srcPort: 1000 + i, dstPort: 53, payloadLength: (i * 37) % 300 }));
  }
  return out;
}

function chunked(data: Uint8Array, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let o = 0;
  let i = 0;
  while (o < data.length) {
    const n = sizes[i++ % sizes.length]!;
    parts.push(Buffer.from(data.subarray(o, o + n)));
    o += n;
  }
  return Readable.from(parts);
}

describe('classic pcap', () => {
  for (const bigEndian of [false, true]) {
    for (const nanosecond of [false, true]) {
      it(`${bigEndian ? 'big' : 'little'}-endian, ${nanosecond ? 'nanosecond' : 'microsecond'} timestamps`, async () => {
        const w = new PcapWriter({ bigEndian, nanosecond, linkType: 1 });
        const fs = frames(3);
        w.writeTs(fs[0]!, 1_700_000_000, 123_456_789);
        w.writeTs(fs[1]!, 1_700_000_001, 999_999_999);
        w.writeTs(fs[2]!, 4_000_000_000, 1_000); // past 2038: unsigned seconds
        const { packets, result } = await readAll(file(w.toBuffer()));
        expect(result?.format).toBe('pcap');
        expect(result?.linkTypes).toEqual([1]);
        const frac = (ns: number): number => (nanosecond ? ns : Math.floor(ns / 1000) * 1000);
        expect(packets.map((p) => [p.sec, p.ns])).toEqual([
          [1_700_000_000, frac(123_456_789)],
          [1_700_000_001, frac(999_999_999)],
          [4_000_000_000, 1_000],
        ]);
        expect(packets[0]!.ms).toBeCloseTo(1_700_000_000_123.456789 - (nanosecond ? 0 : 0.000789), 3);
        expect(packets.map((p) => p.hex)).toEqual(fs.map((f) => Buffer.from(f).toString('hex')));
        expect(packets.map((p) => p.at)).toEqual([24, 24 + 16 + fs[0]!.length, 24 + 32 + fs[0]!.length + fs[1]!.length]);
      });
    }
  }

  it('snapped packets: captured length ≤ snaplen, original length kept', async () => {
    const w = new PcapWriter({ snaplen: 64, linkType: 1 });
    const f = buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', payloadLength: 1000 });
    w.write(f, 1e12);
    const { packets } = await readAll(file(w.toBuffer()));
    expect(packets[0]).toMatchObject({ cap: 64, orig: f.length });
  });

  it('the modified (Kuznetzov) format with 24-byte record headers', async () => {
    const f = frames(2);
    const parts: Buffer[] = [];
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2cd34, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(1, 20);
    parts.push(h);
    for (const [i, x] of f.entries()) {
      const r = Buffer.alloc(24);
      r.writeUInt32LE(100 + i, 0);
      r.writeUInt32LE(5, 4);
      r.writeUInt32LE(x.length, 8);
      r.writeUInt32LE(x.length, 12);
      parts.push(r, Buffer.from(x));
    }
    const { packets, error } = await readAll(file(Buffer.concat(parts)));
    expect(error).toBeUndefined();
    expect(packets.map((p) => [p.sec, p.ns, p.cap])).toEqual([
      [100, 5000, f[0]!.length],
      [101, 5000, f[1]!.length],
    ]);
  });

  it('the link type comes from the header (FCS bits ignored)', async () => {
    const w = new PcapWriter({ linkType: 276 });
    w.write(buildFrame({ link: 276, src: '2001:db8::1', dst: '2001:db8::2' }), 0);
    const buf = w.toBuffer();
    buf.writeUInt32LE(276 | (0x1 << 26) | (0x4 << 28), 20);
    const { packets } = await readAll(file(buf));
    expect(packets[0]!.link).toBe(276);
  });
});

describe('pcapng', () => {
  it('little- and big-endian sections, several interfaces and resolutions, EPB/SPB/PB, unknown blocks skipped', async () => {
    const f = frames(8);
    const b = new PcapngBuilder()
      .shb(true)
      .idb(1, { name: 'eth0' }) // default µs
      .idb(276, { tsresol: 9, snaplen: 65535 }) // ns
      .block(0x00000bad, new Uint8Array(13)) // custom block
      .epb(0, 1_700_000_000_123_456n, f[0]!)
      .epb(1, 1_700_000_000_123_456_789n, f[1]!, 1500)
      .block(5, new Uint8Array(24)) // interface statistics
      .spb(f[2]!) // no timestamp: keeps the previous packet's
      .pb(0, 1_700_000_001_000_001n, f[3]!)
      .shb(false) // new section, big-endian, interfaces reset
      .idb(101, { tsresol: 0x80 | 20, tsoffset: 1_600_000_000 }) // 2^-20 s units, offset
      .idb(113, { tsresol: 3 }) // ms
      .block(4, new Uint8Array(8)) // name resolution
      .epb(0, (100n << 20n) + (1n << 19n), f[4]!) // 100.5 s after the offset
      .epb(1, 1_700_000_002_345n, f[5]!)
      .shb(true)
      .idb(1, { tsresol: 6, tsoffset: -10 })
      .epb(0, 1_700_000_010_000_000n, f[6]!)
      .build();
    const { packets, result, error } = await readAll(file(b, 'x.pcapng'));
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ format: 'pcapng', packets: 7, sections: 3 });
    expect(result?.linkTypes.sort((a, c) => a - c)).toEqual([1, 101, 113, 276]);
    expect(packets.map((p) => [p.link, p.ifid, p.sec, p.ns])).toEqual([
      [1, 0, 1_700_000_000, 123_456_000],
      [276, 1, 1_700_000_000, 123_456_789],
      [1, 0, 1_700_000_000, 123_456_789],
      [1, 0, 1_700_000_001, 1_000],
      [101, 0, 1_600_000_100, 500_000_000],
      [113, 1, 1_700_000_002, 345_000_000],
      [1, 0, 1_700_000_000, 0], // 1_700_000_010 s - 10 s offset
    ]);
    expect(packets[1]).toMatchObject({ cap: f[1]!.length, orig: 1500 });
    expect(packets.map((p) => p.hex)).toEqual(f.slice(0, 7).map((x) => Buffer.from(x).toString('hex')));
  });

  it('an SPB is cut to the interface snap length', async () => {
    const f = buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', payloadLength: 200 });
    const b = new PcapngBuilder().shb().idb(1, { snaplen: 64 }).spb(f.subarray(0, 64), f.length).build();
    const { packets } = await readAll(file(b));
    expect(packets[0]).toMatchObject({ cap: 64, orig: f.length });
  });

  it('power-of-2 and large power-of-10 resolutions stay exact', async () => {
    const b = new PcapngBuilder()
      .shb()
      .idb(1, { tsresol: 0x80 | 30 })
      .idb(1, { tsresol: 12 }) // picoseconds: beyond 2^36 units per second (BigInt path)
      .epb(0, (1_700_000_000n << 30n) + (1n << 29n) + (1n << 28n), new Uint8Array(60))
      .epb(1, 1_000_000n * 10n ** 12n + 123_456_789_012n, new Uint8Array(60))
      .build();
    const { packets } = await readAll(file(b));
    expect(packets.map((p) => [p.sec, p.ns])).toEqual([
      [1_700_000_000, 750_000_000],
      [1_000_000, 123_456_789],
    ]);
  });
});

describe('chunk boundaries and streams', () => {
  const w = new PcapWriter({ nanosecond: true });
  const fs = frames(300);
  fs.forEach((f, i) => w.writeTs(f, 1_700_000_000 + i, i * 1001));
  w.writeTs(buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', payloadLength: 9000 }), 1_700_001_000, 0); // bigger than the chunks
  const pcap = w.toBuffer();
  const ngb = new PcapngBuilder().shb().idb(1, { tsresol: 9 });
  fs.forEach((f, i) => ngb.epb(0, BigInt(1_700_000_000 + i) * 1_000_000_000n + BigInt(i), f));
  ngb.shb(false).idb(1).epb(0, 5n, new Uint8Array(20_000));
  const pcapng = ngb.build();

  for (const [name, data] of [
    ['pcap', pcap],
    ['pcapng', pcapng],
  ] as const) {
    it(`${name}: tiny read chunks give the same packets as one big read`, async () => {
      const p = file(data);
      const whole = await readAll(p);
      expect(whole.packets.length).toBe(301);
      for (const chunkSize of [64, 100, 1000, 4093]) {
        const small = await readAll(p, { chunkSize });
        expect(small.error).toBeUndefined();
        expect(small.packets).toEqual(whole.packets);
      }
    });

    it(`${name}: a stream of odd-sized pieces gives the same packets`, async () => {
      const whole = await readAll(file(data));
      const s1 = await readAll(chunked(data, [1, 7, 3, 100, 2, 5000, 13]));
      expect(s1.packets).toEqual(whole.packets);
      const s2 = await readAll(chunked(data, [65536]), { chunkSize: 64 });
      expect(s2.packets).toEqual(whole.packets);
    });
  }

  it('onChunk reports progress with the file size and is awaited', async () => {
    const p = file(pcap);
    const seen: [number, number | undefined][] = [];
    let inFlight = false;
    await readCapture(p, () => expect(inFlight).toBe(false), {
      chunkSize: 8192,
      onChunk: async (read, total) => {
        seen.push([read, total]);
        inFlight = true;
        await new Promise((r) => setTimeout(r, 1));
        inFlight = false;
      },
    });
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.at(-1)).toEqual([pcap.length, pcap.length]);
  });

  it('an empty stream is an error; a header-only capture has no packets', async () => {
    const e = await readAll(Readable.from([]));
    expect(e.error?.message).toMatch(/^stream: empty file/);
    const h = await readAll(file(new PcapWriter().toBuffer()));
    expect(h.error).toBeUndefined();
    expect(h.packets).toEqual([]);
  });
});

describe('damaged captures', () => {
  const w = new PcapWriter();
  const fs = frames(10);
  fs.forEach((f, i) => w.writeTs(f, 1_700_000_000 + i, 0));
  const pcap = w.toBuffer();
  const recAt = (n: number): number => 24 + fs.slice(0, n).reduce((a, f) => a + 16 + f.length, 0);

  it('truncated inside a packet: earlier packets delivered, then an error naming file and offset', async () => {
    const cut = recAt(7) + 16 + 5;
    for (const chunkSize of [64, 1 << 20]) {
      const p = file(pcap.subarray(0, cut), 'capture.pcap');
      const { packets, error } = await readAll(p, { chunkSize });
      expect(packets.length).toBe(7);
      expect(error).toBeInstanceOf(CaptureFormatError);
      expect(error!.offset).toBe(recAt(7));
      expect(error!.message).toBe(`${p}: truncated packet record at byte offset ${recAt(7)} (header says ${fs[7]!.length} captured bytes, 5 remain)`);
    }
  });

  it('truncated inside a record header', async () => {
    const p = file(pcap.subarray(0, recAt(3) + 9));
    const { packets, error } = await readAll(p);
    expect(packets.length).toBe(3);
    expect(error!.message).toBe(`${p}: truncated packet record header at byte offset ${recAt(3)} (16-byte header, 9 bytes remain)`);
  });

  it('truncated stream', async () => {
    const { packets, error } = await readAll(chunked(pcap.subarray(0, recAt(5) + 30), [10, 333]), { name: 'tcpdump' });
    expect(packets.length).toBe(5);
    expect(error!.message).toMatch(new RegExp(`^tcpdump: truncated packet record at byte offset ${recAt(5)} `));
  });

  it('truncated file header, empty file, bad magic, gzip', async () => {
    expect((await readAll(file(pcap.subarray(0, 10)))).error!.message).toMatch(/truncated file header at byte offset 0 \(need 24 bytes, 10 present\)/);
    expect((await readAll(file(new Uint8Array(0)))).error!.message).toMatch(/empty file/);
    const text = file(Buffer.from('hello world, this is not a capture file at all'));
    expect((await readAll(text)).error!.message).toBe(`${text}: not a pcap or pcapng file (magic 0x68656c6c at byte offset 0)`);
    expect((await readAll(file(Buffer.from([0x1f, 0x8b, 8, 0, ...new Array(30).fill(0)])))).error!.message).toMatch(/gzip-compressed/);
  });

  it('corrupt record header (captured length beyond any snap length)', async () => {
    const bad = Buffer.from(pcap);
    bad.writeUInt32LE(0x7fffffff, recAt(4) + 8);
    const { packets, error } = await readAll(file(bad));
    expect(packets.length).toBe(4);
    expect(error!.message).toMatch(new RegExp(`corrupt packet record at byte offset ${recAt(4)} \\(captured length 2147483647 exceeds the limit of 262144 bytes\\)`));
  });

  it('unsupported pcap version', async () => {
    const bad = Buffer.from(pcap);
    bad.writeUInt16LE(3, 4);
    expect((await readAll(file(bad))).error!.message).toMatch(/unsupported pcap version 3\.4/);
  });

  const ng = (): PcapngBuilder => new PcapngBuilder().shb().idb(1).epb(0, 1n, fs[0]!).epb(0, 2n, fs[1]!);
  it('pcapng: block length mismatch', async () => {
    const good = ng().build();
    const third = good.length;
    const data = Buffer.from(ng().epb(0, 3n, fs[2]!).build());
    const at = third; // the third EPB starts where the two-packet file ended
    data.writeUInt32LE(data.readUInt32LE(at + 4) + 4, data.length - 4); // trailer disagrees
    const { packets, error } = await readAll(file(data));
    expect(packets.length).toBe(2);
    expect(error!.message).toMatch(new RegExp(`corrupt pcapng enhanced packet block at byte offset ${at} \\(block length mismatch: \\d+ at the start, \\d+ at the end\\)`));
  });

  it('pcapng: block length not a multiple of 4, or huge', async () => {
    const data = Buffer.from(ng().build());
    const at = data.length - (12 + 20 + ((fs[1]!.length + 3) & ~3) + 12 + 4);
    const d1 = Buffer.from(data);
    d1.writeUInt32LE(d1.readUInt32LE(at + 4) + 2, at + 4);
    expect((await readAll(file(d1))).error!.message).toMatch(new RegExp(`corrupt pcapng enhanced packet block at byte offset ${at} \\(block length \\d+ is not a multiple of 4`));
    const d2 = Buffer.from(data);
    d2.writeUInt32LE(0x40000000, at + 4);
    const r2 = await readAll(file(d2));
    expect(r2.packets.length).toBe(1);
    expect(r2.error!.message).toMatch(/block length 1073741824 is larger than 16777216/);
  });

  it('pcapng: truncated block', async () => {
    const data = ng().build();
    const p = file(data.subarray(0, data.length - 10));
    const { packets, error } = await readAll(p);
    expect(packets.length).toBe(1);
    expect(error!.message).toMatch(/truncated pcapng enhanced packet block at byte offset \d+ \(block length \d+, \d+ bytes remain\)/);
  });

  it('pcapng: packet on an undescribed interface, EPB captured length beyond the block', async () => {
    const d1 = new PcapngBuilder().shb().idb(1).epb(0, 1n, fs[0]!).epb(3, 2n, fs[1]!).build();
    const r1 = await readAll(file(d1));
    expect(r1.packets.length).toBe(1);
    expect(r1.error!.message).toMatch(/interface 3 is not described in this section; 1 interface\(s\) known/);
    const d2 = Buffer.from(new PcapngBuilder().shb().idb(1).epb(0, 1n, fs[0]!).build());
    const epbAt = d2.length - (12 + 20 + ((fs[0]!.length + 3) & ~3) + 12 + 4);
    d2.writeUInt32LE(5000, epbAt + 20);
    expect((await readAll(file(d2))).error!.message).toMatch(/captured length 5000 exceeds the block's \d+ data bytes/);
  });

  it('pcapng: bad byte-order magic', async () => {
    const d = Buffer.from(ng().build());
    d.writeUInt32LE(0x11223344, 8);
    expect((await readAll(file(d))).error!.message).toMatch(/corrupt pcapng section header at byte offset 0 \(bad byte-order magic 0x11223344\)/);
  });
});
