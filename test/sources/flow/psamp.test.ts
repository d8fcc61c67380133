/**
 * Packet-sampling records (PSAMP, RFC 5476/5477; IE 315 dataLinkFrameSection as in RFC 7133, IE 313
 * ipHeaderPacketSection): no address IEs, only the sampled packet's leading bytes. The decoder runs
 * them through the packet parser. The expected values come from tshark reading the same frames from
 * the whole capture (not from v6scope's parser), and the sampling rate is applied exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '../../../src/net/ip.js';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { FlowDecoder } from '../../../src/sources/flow/index.js';
import { readCapture } from '../../../src/sources/packets/pcap.js';
import { hasTool, requireTools } from '../../helpers/tools.js';
import { concat, ipfixMessage, ipfixOptionsTemplate, ipfixTemplate, set, u16, u32, u8, uint, v9Packet, v9Template, varlen, type Field } from './encode.js';
import { writeMixedCapture } from './peers.js';

const EXP = { addr: parseIP('192.0.2.7').addr, port: 4739 };
const NOW = Date.UTC(2026, 0, 1, 13, 0, 0);
const SECS = Math.floor(NOW / 1000);
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-psamp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Frame {
  bytes: Uint8Array;
  origLen: number;
}

async function frames(file: string): Promise<Frame[]> {
  const out: Frame[] = [];
  await readCapture(file, (p) => out.push({ bytes: p.data.slice(), origLen: p.origLen }));
  return out;
}

/** What tshark says each frame is: "family src dst proto sport dport iplen". */
function tsharkView(file: string): string[] {
  const text = execFileSync(
    'tshark',
    ['-n', '-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=f', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'ip.proto', '-e', 'ipv6.nxt', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'udp.srcport', '-e', 'udp.dstport', '-e', 'icmp.type', '-e', 'icmp.code', '-e', 'icmpv6.type', '-e', 'icmpv6.code', '-e', 'ip.len', '-e', 'ipv6.plen'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [s4, d4, s6, d6, p4, p6, ts, td, us, ud, it, ic, it6, ic6, len4, plen6] = line.split('|');
      const v6 = s6 !== '';
      const proto = Number(v6 ? p6 : p4);
      let sport = 0;
      let dport = 0;
      if (proto === 6) [sport, dport] = [Number(ts), Number(td)];
      else if (proto === 17) [sport, dport] = [Number(us), Number(ud)];
      else if (proto === 1) dport = Number(it) * 256 + Number(ic);
      else if (proto === 58) dport = Number(it6) * 256 + Number(ic6);
      const iplen = v6 ? Number(plen6) + 40 : Number(len4);
      return `${v6 ? 6 : 4} ${v6 ? s6 : s4} ${v6 ? d6 : d4} ${proto} ${sport} ${dport} ${iplen}`;
    });
}

const view = (r: FlowRecord, rate: number): string =>
  `${r.family} ${formatIP(r.src_addr, r.family as 4 | 6)} ${formatIP(r.dst_addr, r.family as 4 | 6)} ${r.proto} ${r.src_port} ${r.dst_port} ${r.bytes / rate}`;

describe('PSAMP packet sections (IE 315 / 313)', () => {
  const file = path.join(dir, 'mixed.pcap');
  writeMixedCapture(file);

  it.skipIf(!hasTool('tshark') && process.env.CI !== 'true')('IPFIX dataLinkFrameSection (variable length, 64-byte sections): every sampled packet as tshark sees it, scaled once', async () => {
    if (!requireTools('tshark')) return;
    const fs = await frames(file);
    const want = tsharkView(file);
    expect(want).toHaveLength(fs.length);

    // Options template: selectorId scope, samplingPacketInterval 1 / samplingPacketSpace 9 → 1 in 10.
    const OPT: Field[] = [[302, 8], [305, 4], [306, 4]];
    const DATA: Field[] = [[302, 8], [10, 4], [312, 2], [315, 0xffff]];
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    let seq = 0;
    out.push(...d.decode(ipfixMessage({ exportTime: SECS, seq, domain: 5 }, set(3, ipfixOptionsTemplate(300, 1, OPT)), set(300, concat(uint(7, 8), u32(1), u32(9)))), EXP, NOW));
    out.push(...d.decode(ipfixMessage({ exportTime: SECS, seq, domain: 5 }, set(2, ipfixTemplate(256, DATA))), EXP, NOW));
    for (let i = 0; i < fs.length; i += 20) {
      const recs = fs.slice(i, i + 20).map((f) => concat(uint(7, 8), u32(3), u16(f.origLen), varlen(f.bytes.subarray(0, 64), i % 40 === 0)));
      out.push(...d.decode(ipfixMessage({ exportTime: SECS, seq, domain: 5 }, set(256, ...recs)), EXP, NOW));
      seq += recs.length;
    }
    expect(out).toHaveLength(fs.length);
    expect(out.map((r) => view(r, 10))).toEqual(want);
    for (const r of out) {
      expect(r.sampling_rate).toBe(10);
      expect(r.packets).toBe(10);
      expect(r.in_if).toBe(3);
      expect(r.src_mac).not.toBe(0); // from the frame's Ethernet header
    }
    const st = d.stats()[0]!;
    expect(Object.values(st.errors).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it.skipIf(!hasTool('tshark') && process.env.CI !== 'true')('NetFlow v9 fixed-length sections: 313 ipHeaderPacketSection and 315 with ipTotalLength', async () => {
    if (!requireTools('tshark')) return;
    const fs = await frames(file);
    const want = tsharkView(file);
    const d = new FlowDecoder();
    const out: FlowRecord[] = [];
    // 313: the IP header onwards, 48 bytes (zero-padded when the packet is shorter)
    const T313: Field[] = [[10, 2], [313, 48]];
    const pad = (b: Uint8Array, n: number): Uint8Array => {
      const o = new Uint8Array(n);
      o.set(b.subarray(0, n));
      return o;
    };
    out.push(...d.decode(v9Packet({ uptime: 1000, secs: SECS, seq: 0, sourceId: 1 }, set(0, v9Template(260, T313))), EXP, NOW));
    for (let i = 0; i < fs.length; i += 10) {
      const recs = fs.slice(i, i + 10).map((f) => concat(u16(1), pad(f.bytes.subarray(14), 48)));
      out.push(...d.decode(v9Packet({ uptime: 1000, secs: SECS, seq: i / 10 + 1, sourceId: 1 }, set(260, ...recs)), EXP, NOW));
    }
    expect(out.map((r) => view(r, 1))).toEqual(want);
    expect(out.every((r) => r.packets === 1 && r.src_mac === 0)).toBe(true);

    // 315 with ipTotalLength (224) given by the exporter: that length wins over the header's
    const d2 = new FlowDecoder();
    const T315: Field[] = [[224, 2], [315, 64]];
    d2.decode(v9Packet({ uptime: 1000, secs: SECS, seq: 0, sourceId: 1 }, set(0, v9Template(261, T315))), EXP, NOW);
    const got = d2.decode(v9Packet({ uptime: 1000, secs: SECS, seq: 1, sourceId: 1 }, set(261, concat(u16(1234), pad(fs[0]!.bytes, 64)))), EXP, NOW);
    expect(got).toHaveLength(1);
    expect(got[0]!.bytes).toBe(1234);
    expect(view(got[0]!, 1).split(' ').slice(0, 6)).toEqual(want[0]!.split(' ').slice(0, 6));
  });

  it('a section that is not an IP packet is counted as bad-section; the other records of the set are kept', async () => {
    const fs = await frames(file);
    const d = new FlowDecoder();
    const DATA: Field[] = [[315, 0xffff]];
    d.decode(ipfixMessage({ exportTime: SECS, seq: 0, domain: 1 }, set(2, ipfixTemplate(256, DATA))), EXP, NOW);
    const arp = concat(new Uint8Array(12).fill(0xff), u16(0x0806), new Uint8Array(28));
    const recs = [varlen(fs[0]!.bytes.subarray(0, 60)), varlen(new Uint8Array([1, 2, 3])), varlen(arp), varlen(concat(fs[1]!.bytes.subarray(0, 14), u8(0x45), new Uint8Array(3))), varlen(new Uint8Array(0)), varlen(fs[2]!.bytes.subarray(0, 60))];
    const out = d.decode(ipfixMessage({ exportTime: SECS, seq: 0, domain: 1 }, set(256, ...recs)), EXP, NOW);
    expect(out).toHaveLength(2);
    expect(d.stats()[0]!.errors['bad-section']).toBe(4);
    expect(d.stats()[0]!.errors.internal).toBe(0);
  });

  it('a template with address IEs and a section keeps using the IEs', () => {
    const d = new FlowDecoder();
    const DATA: Field[] = [[8, 4], [12, 4], [1, 4], [2, 4], [315, 0xffff]];
    d.decode(ipfixMessage({ exportTime: SECS, seq: 0, domain: 1 }, set(2, ipfixTemplate(256, DATA))), EXP, NOW);
    const rec = concat(parseIP('10.0.0.1').addr.subarray(12), parseIP('10.0.0.2').addr.subarray(12), u32(500), u32(5), varlen(new Uint8Array([9, 9, 9])));
    const out = d.decode(ipfixMessage({ exportTime: SECS, seq: 0, domain: 1 }, set(256, rec)), EXP, NOW);
    expect(out.map((r) => [formatIP(r.src_addr, 4), formatIP(r.dst_addr, 4), r.bytes, r.packets])).toEqual([['10.0.0.1', '10.0.0.2', 500, 5]]);
    expect(d.stats()[0]!.errors['bad-section']).toBe(0);
  });
});
