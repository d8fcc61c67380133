/**
 * Damaged captures through the CLI: a clear error naming the file and the byte offset, exit code 1,
 * and the flows read before the damage kept in the store. Per-family totals of the kept part are
 * checked against sums computed here from the frames written.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFrame, PcapWriter } from '../../src/sources/packets/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-damaged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 2, 10);
const N = 400;

/** N UDP packets, alternating families, each on its own 5-tuple; returns the file and record offsets. */
function makeCapture(): { buf: Buffer; offsets: number[]; ipLen: number[]; family: (4 | 6)[] } {
  const w = new PcapWriter({ snaplen: 96 });
  const offsets: number[] = [];
  const ipLen: number[] = [];
  const family: (4 | 6)[] = [];
  let off = 24;
  for (let i = 0; i < N; i++) {
    const v6 = i % 2 === 1;
    const payload = 100 + i;
    const frame = buildFrame({
      src: v6 ? '2001:db8:4a1:10::5' : '192.168.1.5',
      dst: v6 ? '3fff::10' : '203.0.113.10',
      proto: 'udp',
      srcPort: 20000 + i,
      dstPort: 443,
      payloadLength: payload,
    });
    offsets.push(off);
    w.write(frame, T0 + i * 10);
    off += 16 + Math.min(96, frame.length);
    ipLen.push(payload + 8 + (v6 ? 40 : 20));
    family.push(v6 ? 6 : 4);
  }
  return { buf: w.toBuffer(), offsets, ipLen, family };
}

async function shareOf(data: string) {
  const r = await runCli(['--data', data, '--json', 'share']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('damaged captures', () => {
  const cap = makeCapture();

  it('a truncated file: error names file and offset, earlier flows are kept and exact', async () => {
    const cut = cap.offsets[300]! + 40; // in the middle of packet 300
    const file = path.join(dir, 'truncated.pcap');
    writeFileSync(file, cap.buf.subarray(0, cut));
    const data = path.join(dir, 'd1');
    const r = await runCli(['--data', data, 'ingest', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('truncated.pcap');
    expect(r.stderr).toContain(`byte offset ${cap.offsets[300]}`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    const s = await shareOf(data);
    const exp = { 4: { p: 0, b: 0 }, 6: { p: 0, b: 0 } };
    for (let i = 0; i < 300; i++) {
      exp[cap.family[i]!].p++;
      exp[cap.family[i]!].b += cap.ipLen[i]!;
    }
    expect(s.packets.ipv4).toBe(exp[4].p);
    expect(s.packets.ipv6).toBe(exp[6].p);
    expect(s.bytes.ipv4).toBe(exp[4].b);
    expect(s.bytes.ipv6).toBe(exp[6].b);
    expect(s.flows.ipv4 + s.flows.ipv6).toBe(300);
  });

  it('a corrupted record header: error at that record, earlier flows kept', async () => {
    const b = Buffer.from(cap.buf);
    b.writeUInt32LE(0x7fffffff, cap.offsets[123]! + 8); // absurd captured length
    const file = path.join(dir, 'corrupt.pcap');
    writeFileSync(file, b);
    const data = path.join(dir, 'd2');
    const r = await runCli(['--data', data, 'ingest', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('corrupt.pcap');
    expect(r.stderr).toContain(`byte offset ${cap.offsets[123]}`);
    const s = await shareOf(data);
    expect(s.packets.ipv4 + s.packets.ipv6).toBe(123);
  });

  it('not a capture at all: clear error, nothing stored, other files still ingested', async () => {
    const bad = path.join(dir, 'notes.txt');
    writeFileSync(bad, 'hello, this is not a capture\n');
    const good = path.join(dir, 'good.pcap');
    writeFileSync(good, cap.buf);
    const data = path.join(dir, 'd3');
    const r = await runCli(['--data', data, 'ingest', bad, good]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.txt.*byte offset 0/);
    const s = await shareOf(data);
    expect(s.packets.ipv4 + s.packets.ipv6).toBe(N);
  });
});
