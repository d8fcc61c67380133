import { describe, expect, it } from 'vitest';
import { FlowDecoder, type ExporterStats } from '../../../src/sources/flow/index.js';
import { formatIP, parseIP } from '../../../src/net/ip.js';
import { formatMac } from '../../../src/net/mac.js';
import type { FlowRecord } from '../../../src/schema/fields.js';
import {
  concat, ip4, ip6, ipfixMessage, ipfixOptionsTemplate, ipfixTemplate, mac, ntp, set, u16, u32, u64, u8, uint,
  v5Packet, v9OptionsTemplate, v9Packet, v9Template, varlen, type Field,
} from './encode.js';

const EXP = { addr: parseIP('192.0.2.1').addr, port: 2055 };
const EXP2 = { addr: parseIP('2001:db8::99').addr, port: 4739 };
const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const SECS = Math.floor(NOW / 1000) - 5;

const src = (r: FlowRecord): string => formatIP(r.src_addr, r.family as 4 | 6);
const dst = (r: FlowRecord): string => formatIP(r.dst_addr, r.family as 4 | 6);
function statsOf(d: FlowDecoder, exporter = '192.0.2.1'): ExporterStats {
  const s = d.stats().find((x) => x.exporter === exporter);
  if (!s) throw new Error(`no stats for ${exporter}`);
  return s;
}

describe('NetFlow v5', () => {
  it('decodes records, uptime-relative times, header sampling and the engine as domain', () => {
    const d = new FlowDecoder();
    const pkt = v5Packet(
      { uptime: 100_000, secs: SECS, nsecs: 5_000_000, seq: 0, engineType: 1, engineId: 2, sampling: 0x4000 | 100 },
      [
        { src: '10.1.2.3', dst: '198.51.100.9', input: 3, output: 7, packets: 4, bytes: 400, first: 90_000, last: 99_000, srcPort: 1234, dstPort: 80, flags: 0x1b, proto: 6, srcAs: 64500, dstAs: 64501 },
        { src: '10.1.2.4', dst: '198.51.100.10', packets: 1, bytes: 84, first: 99_500, last: 99_500, proto: 1, dstPort: 0x0800 },
      ],
    );
    const recs = d.decode(pkt, EXP, NOW);
    expect(recs).toHaveLength(2);
    const [a, b] = recs as [FlowRecord, FlowRecord];
    expect(a.source_kind).toBe('netflow5');
    expect(a.family).toBe(4);
    expect(src(a)).toBe('10.1.2.3');
    expect(dst(a)).toBe('198.51.100.9');
    expect(formatIP(a.src_addr)).toBe('::ffff:10.1.2.3');
    expect([a.in_if, a.out_if, a.src_port, a.dst_port, a.tcp_flags, a.proto, a.src_asn, a.dst_asn]).toEqual([3, 7, 1234, 80, 0x1b, 6, 64500, 64501]);
    expect(a.sampling_rate).toBe(100);
    expect(a.packets).toBe(400);
    expect(a.bytes).toBe(40_000);
    expect(a.flows).toBe(1);
    // export time = SECS s + 5 ms; first was 10 s of uptime before the export.
    expect(a.time_start).toBe(SECS * 1000 + 5 - 10_000);
    expect(a.time_end).toBe(SECS * 1000 + 5 - 1_000);
    expect(a.time_received).toBe(NOW);
    expect(a.observation_domain).toBe(0x0102);
    expect(formatIP(a.exporter_addr, 4)).toBe('192.0.2.1');
    expect(b.dst_port).toBe(0x0800);
    expect(statsOf(d).samplingRates).toEqual([100]);
  });

  it('handles uptime wrap-around, sampling interval 0 and sequence loss in records', () => {
    const d = new FlowDecoder();
    const rec = { src: '10.0.0.1', dst: '10.0.0.2', packets: 2, bytes: 100, first: 0xffff_fff0, last: 0x10, proto: 17 };
    const r1 = d.decode(v5Packet({ uptime: 0x20, secs: SECS, seq: 100 }, [rec, rec]), EXP, NOW);
    expect(r1[0]!.sampling_rate).toBe(1);
    expect(r1[0]!.bytes).toBe(100);
    expect(r1[0]!.time_start).toBe(SECS * 1000 - 0x30);
    expect(r1[0]!.time_end).toBe(SECS * 1000 - 0x10);
    d.decode(v5Packet({ uptime: 0x20, secs: SECS, seq: 105 }, [rec]), EXP, NOW); // 3 records lost
    d.decode(v5Packet({ uptime: 0x20, secs: SECS, seq: 102 }, [rec, rec]), EXP, NOW); // 2 of them arrive late
    d.decode(v5Packet({ uptime: 0x20, secs: SECS, seq: 102 }, [rec, rec]), EXP, NOW); // duplicate
    const seq = statsOf(d).domains[0]!.sequence;
    expect(seq).toMatchObject({ unit: 'records', missing: 1, late: 1, duplicates: 1 });
  });

  it('counts a truncated datagram and keeps the whole records', () => {
    const d = new FlowDecoder();
    const rec = { src: '10.0.0.1', dst: '10.0.0.2', packets: 1, bytes: 60, first: 1, last: 2, proto: 6 };
    const pkt = v5Packet({ count: 3, uptime: 10, secs: SECS, seq: 0 }, [rec, rec]);
    expect(d.decode(pkt.subarray(0, pkt.length - 5), EXP, NOW)).toHaveLength(1);
    expect(d.decode(pkt.subarray(0, 20), EXP, NOW)).toHaveLength(0);
    const s = statsOf(d);
    expect(s.errors.truncated).toBe(2);
    expect(s.datagramsRejected).toBe(1);
  });
});

// A v9 / IPFIX data template covering most fields the decoder maps.
const V9_FIELDS: Field[] = [
  [8, 4], [12, 4], [27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [6, 1], [10, 2], [14, 4],
  [1, 4], [2, 4], [22, 4], [21, 4], [56, 6], [80, 6], [61, 1],
];
function v9Record(o: { s4?: string; d4?: string; s6?: string; d6?: string; sp: number; dp: number; proto: number; flags: number; bytes: number; pkts: number; first: number; last: number; dir?: number }): Uint8Array {
  return concat(
    ip4(o.s4 ?? '0.0.0.0'), ip4(o.d4 ?? '0.0.0.0'), ip6(o.s6 ?? '::'), ip6(o.d6 ?? '::'),
    u16(o.sp), u16(o.dp), u8(o.proto), u8(o.flags), u16(5), u32(6), u32(o.bytes), u32(o.pkts), u32(o.first), u32(o.last),
    mac('02:00:00:00:00:01'), mac('02:00:00:00:00:02'), u8(o.dir ?? 0),
  );
}

describe('NetFlow v9', () => {
  it('decodes template and data in one packet; family from the non-zero address IEs', () => {
    const d = new FlowDecoder();
    const pkt = v9Packet(
      { uptime: 1_000_000, secs: SECS, seq: 1, sourceId: 7 },
      set(0, v9Template(300, V9_FIELDS)),
      set(
        300,
        v9Record({ s4: '192.0.2.10', d4: '203.0.113.5', sp: 5555, dp: 443, proto: 6, flags: 0x12, bytes: 1500, pkts: 3, first: 990_000, last: 995_000, dir: 1 }),
        v9Record({ s6: '2001:db8::10', d6: '2001:db8:ff::1', sp: 5556, dp: 53, proto: 17, flags: 0, bytes: 200, pkts: 2, first: 999_000, last: 999_500 }),
        new Uint8Array(3), // padding
      ),
    );
    const recs = d.decode(pkt, EXP, NOW);
    expect(recs).toHaveLength(2);
    const [a, b] = recs as [FlowRecord, FlowRecord];
    expect([a.family, src(a), dst(a), a.src_port, a.dst_port, a.proto, a.tcp_flags, a.in_if, a.out_if]).toEqual([4, '192.0.2.10', '203.0.113.5', 5555, 443, 6, 0x12, 5, 6]);
    expect([a.bytes, a.packets, a.sampling_rate, a.observation_domain, a.source_kind]).toEqual([1500, 3, 1, 7, 'netflow9']);
    expect(a.time_start).toBe(SECS * 1000 - 10_000);
    expect(a.time_end).toBe(SECS * 1000 - 5_000);
    expect(formatMac(a.src_mac)).toBe('02:00:00:00:00:01');
    expect(formatMac(a.dst_mac)).toBe('02:00:00:00:00:02');
    expect(a.direction).toBe(2); // flowDirection 1 = egress
    expect([b.family, src(b), dst(b), b.dst_port, b.proto, b.bytes]).toEqual([6, '2001:db8::10', '2001:db8:ff::1', 53, 17, 200]);
    expect(b.direction).toBe(1);
    const s = statsOf(d);
    expect(s.errors).toMatchObject({ truncated: 0, 'bad-length': 0, 'unknown-template': 0 });
    expect(s.domains[0]!.templates[0]!.fields.map((f) => f.name)).toContain('sourceIPv6Address');
  });

  it('takes the family from ipVersion (IE 60) when present', () => {
    const d = new FlowDecoder();
    const fields: Field[] = [[60, 1], [8, 4], [12, 4], [27, 16], [28, 16], [1, 4], [2, 4]];
    const rec = concat(u8(6), ip4('10.0.0.1'), ip4('10.0.0.2'), ip6('::'), ip6('2001:db8::2'), u32(100), u32(1));
    const [r] = d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 0, sourceId: 0 }, set(0, v9Template(256, fields)), set(256, rec)), EXP, NOW);
    expect(r!.family).toBe(6);
    expect(src(r!)).toBe('::');
    expect(dst(r!)).toBe('2001:db8::2');
  });

  it('applies samplers from options data, per sampler ID, and an interval of 0 as unsampled', () => {
    const d = new FlowDecoder();
    const opts = v9OptionsTemplate(400, [[1, 4]], [[48, 1], [49, 1], [50, 4]]);
    const optsRecs = concat(u32(0), u8(1), u8(2), u32(10), u32(0), u8(2), u8(2), u32(1000), u32(0), u8(3), u8(1), u32(0), new Uint8Array(2));
    const data = v9Template(301, [[8, 4], [12, 4], [1, 4], [2, 4], [48, 1]]);
    const rec = (sid: number): Uint8Array => concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(100), u32(2), u8(sid));
    const recs = d.decode(
      v9Packet({ uptime: 1, secs: SECS, seq: 0, sourceId: 1 }, set(1, opts, new Uint8Array(2)), set(0, data), set(400, optsRecs), set(301, rec(1), rec(2), rec(3), rec(9))),
      EXP,
      NOW,
    );
    expect(recs.map((r) => [r.sampling_rate, r.bytes, r.packets])).toEqual([
      [10, 1000, 20],
      [1000, 100_000, 2000],
      [1, 100, 2], // sampler 3 announced interval 0: unsampled, not zeroed
      [1, 100, 2], // unknown sampler, no default: unsampled
    ]);
    const s = statsOf(d);
    expect(s.domains[0]!.samplers).toEqual({ '1': 10, '2': 1000, '3': 1 });
    expect(s.optionsRecords).toBe(3);
    expect(s.domains[0]!.templates.find((t) => t.id === 400)!.fields[0]!.name).toBe('scope:system');
    // An exporter-wide interval (IE 34 without a sampler ID) is the default for the others.
    const opts2 = v9OptionsTemplate(401, [[1, 4]], [[34, 4], [35, 1]]);
    const out = d.decode(
      v9Packet({ uptime: 1, secs: SECS, seq: 1, sourceId: 1 }, set(1, opts2, new Uint8Array(1)), set(401, concat(u32(0), u32(64), u8(2))), set(301, rec(9))),
      EXP,
      NOW,
    );
    expect(out.map((r) => r.sampling_rate)).toEqual([64]);
    expect(statsOf(d).samplingRates).toEqual([1, 10, 64, 1000]);
  });

  it('uses a sampling interval carried in the data record itself', () => {
    const d = new FlowDecoder();
    const t = v9Template(302, [[8, 4], [12, 4], [1, 4], [2, 4], [34, 4]]);
    const [r] = d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 0, sourceId: 0 }, set(0, t), set(302, concat(ip4('1.1.1.1'), ip4('2.2.2.2'), u32(50), u32(1), u32(512)))), EXP, NOW);
    expect([r!.sampling_rate, r!.bytes, r!.packets]).toEqual([512, 25_600, 512]);
  });

  it('buffers data sets that arrive before their template and decodes them when it comes', () => {
    const d = new FlowDecoder();
    const t = v9Template(310, [[8, 4], [12, 4], [1, 4], [2, 4]]);
    const rec = concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(77), u32(1));
    expect(d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 0, sourceId: 0 }, set(310, rec, rec)), EXP, NOW)).toHaveLength(0);
    expect(statsOf(d).errors['unknown-template']).toBe(1);
    expect(statsOf(d).domains[0]!.pendingSets).toBe(1);
    const recs = d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 1, sourceId: 0 }, set(0, t), set(310, rec)), EXP, NOW + 1000);
    expect(recs.map((r) => r.bytes)).toEqual([77, 77, 77]);
    expect(recs[0]!.time_received).toBe(NOW); // the buffered set keeps its own receive time
    expect(statsOf(d).pendingDecoded).toBe(1);
    // Without buffering: counted and dropped.
    const d2 = new FlowDecoder({ pendingSetsPerDomain: 0 });
    d2.decode(v9Packet({ uptime: 1, secs: SECS, seq: 0, sourceId: 0 }, set(310, rec)), EXP, NOW);
    expect(statsOf(d2).errors).toMatchObject({ 'unknown-template': 1, 'pending-dropped': 1 });
  });

  it('counts sequence loss in export packets, late and duplicate packets exactly', () => {
    const d = new FlowDecoder();
    for (const seq of [10, 11, 14, 12, 12, 13, 15, 15]) d.decode(v9Packet({ uptime: 1, secs: SECS, seq, sourceId: 3 }), EXP, NOW);
    expect(statsOf(d).domains[0]!.sequence).toEqual({ unit: 'packets', messages: 8, missing: 0, late: 2, duplicates: 2, resets: 0 });
    d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 20, sourceId: 3 }), EXP, NOW);
    expect(statsOf(d).domains[0]!.sequence.missing).toBe(4);
    // Source IDs are separate sequence spaces.
    d.decode(v9Packet({ uptime: 1, secs: SECS, seq: 5000, sourceId: 4 }), EXP, NOW);
    expect(statsOf(d).domains[1]!.sequence.missing).toBe(0);
  });
});

describe('IPFIX', () => {
  const H = (seq = 0, domain = 1): { exportTime: number; seq: number; domain: number } => ({ exportTime: SECS, seq, domain });

  it('decodes variable-length, reduced-size, enterprise and repeated IEs with absolute ms times', () => {
    const d = new FlowDecoder();
    const fields: Field[] = [
      [8, 4], [12, 4],
      [82, 0xffff], // interfaceName, variable length
      [1, 2], // octetDeltaCount, reduced to 2 bytes
      [2, 8], // packetDeltaCount, full 8 bytes
      [1000, 6, 9], // enterprise 9 IE, skipped by length
      [7, 2], [7, 2], // the same IE twice: the first wins
      [11, 2], [4, 1], [6, 2], // tcpControlBits in 2 bytes
      [94, 0xffff], // applicationDescription, variable length (long form below)
      [152, 8], [153, 8], [56, 6], [80, 6], [10, 4], [14, 4], [61, 1],
      [210, 0], // zero-length field
    ];
    const rec = (name: string, long: boolean, bytes: number): Uint8Array =>
      concat(
        ip4('192.0.2.50'), ip4('198.51.100.60'), varlen(new TextEncoder().encode(name)), u16(bytes), u64(3),
        new Uint8Array([9, 9, 9, 9, 9, 9]), u16(40000), u16(1), u16(443), u8(6), u16(0x0112),
        varlen(new Uint8Array(long ? 300 : 2), long), u64(NOW - 2500), u64(NOW - 500),
        mac('aa:bb:cc:00:00:01'), mac('aa:bb:cc:00:00:02'), u32(70000), u32(2), u8(0),
      );
    const msg = ipfixMessage(H(), set(2, ipfixTemplate(500, fields)), set(500, rec('eth0', false, 1234), rec('ge-0/0/1', true, 65000), new Uint8Array(3)));
    const recs = d.decode(msg, EXP2, NOW);
    expect(recs).toHaveLength(2);
    const [a, b] = recs as [FlowRecord, FlowRecord];
    expect([a.family, src(a), dst(a), a.src_port, a.dst_port, a.proto, a.tcp_flags]).toEqual([4, '192.0.2.50', '198.51.100.60', 40000, 443, 6, 0x12]);
    expect([a.bytes, a.packets, b.bytes, b.packets]).toEqual([1234, 3, 65000, 3]);
    expect([a.time_start, a.time_end]).toEqual([NOW - 2500, NOW - 500]);
    expect([formatMac(a.src_mac), formatMac(a.dst_mac), a.in_if, a.out_if, a.direction]).toEqual(['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02', 70000, 2, 1]);
    expect(a.source_kind).toBe('ipfix');
    expect(formatIP(a.exporter_addr)).toBe('2001:db8::99');
    const s = statsOf(d, '2001:db8::99');
    expect(Object.values(s.errors).every((n) => n === 0)).toBe(true);
    expect(s.domains[0]!.templates[0]!.fields[5]).toEqual({ id: 1000, enterprise: 9, length: 6, name: '9/1000' });
  });

  it('converts every IPFIX time encoding', () => {
    const start = NOW - 3_250;
    const end = NOW - 1_125;
    const exportMs = SECS * 1000;
    const cases: { fields: Field[]; data: Uint8Array; want: [number, number] }[] = [
      { fields: [[150, 4], [151, 4]], data: concat(u32(Math.floor(start / 1000)), u32(Math.floor(end / 1000))), want: [Math.floor(start / 1000) * 1000, Math.floor(end / 1000) * 1000] },
      { fields: [[152, 8], [153, 8]], data: concat(u64(start), u64(end)), want: [start, end] },
      { fields: [[154, 8], [155, 8]], data: concat(ntp(start), ntp(end)), want: [start, end] },
      { fields: [[156, 8], [157, 8]], data: concat(ntp(start), ntp(end)), want: [start, end] },
      { fields: [[158, 4], [159, 4]], data: concat(u32(4_000_500), u32(1_000_000)), want: [exportMs - 4001, exportMs - 1000] },
      { fields: [[160, 8], [22, 4], [21, 4]], data: concat(u64(NOW - 100_000), u32(60_000), u32(90_000)), want: [NOW - 40_000, NOW - 10_000] },
      { fields: [[152, 8]], data: u64(start), want: [start, start] },
      { fields: [], data: new Uint8Array(0), want: [exportMs, exportMs] },
    ];
    for (const [i, c] of cases.entries()) {
      const d = new FlowDecoder();
      const fields: Field[] = [[8, 4], [12, 4], [1, 4], ...c.fields];
      const msg = ipfixMessage(H(), set(2, ipfixTemplate(256, fields)), set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1), c.data)));
      const [r] = d.decode(msg, EXP, NOW);
      expect([r!.time_start, r!.time_end], `case ${i}`).toEqual(c.want);
    }
  });

  it('takes systemInitTimeMilliseconds from options data for sysUpTime-relative times', () => {
    const d = new FlowDecoder();
    const msg = ipfixMessage(
      H(),
      set(3, ipfixOptionsTemplate(260, 1, [[149, 4], [160, 8]])),
      set(2, ipfixTemplate(261, [[8, 4], [12, 4], [22, 4], [21, 4]])),
      set(260, concat(u32(1), u64(NOW - 1_000_000))),
      set(261, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(900_000), u32(990_000))),
    );
    const [r] = d.decode(msg, EXP, NOW);
    expect([r!.time_start, r!.time_end]).toEqual([NOW - 100_000, NOW - 10_000]);
  });

  it('applies several selectors (302 + 305/306 and 309/310) announced by options templates', () => {
    const d = new FlowDecoder();
    const msg = ipfixMessage(
      H(),
      set(3, ipfixOptionsTemplate(270, 1, [[302, 4], [305, 4], [306, 4]]), ipfixOptionsTemplate(271, 1, [[302, 2], [309, 4], [310, 4]])),
      set(270, concat(u32(5), u32(1), u32(99)), concat(u32(6), u32(0), u32(0))),
      set(271, concat(u16(7), u32(2), u32(2000))),
      set(2, ipfixTemplate(272, [[27, 16], [28, 16], [1, 8], [2, 8], [302, 4]])),
      set(
        272,
        ...[5, 6, 7, 8].map((sel) => concat(ip6('2001:db8::1'), ip6('2001:db8::2'), u64(1000), u64(2), u32(sel))),
      ),
    );
    const recs = d.decode(msg, EXP, NOW);
    expect(recs.map((r) => [r.sampling_rate, r.bytes, r.packets])).toEqual([
      [100, 100_000, 200],
      [1, 1000, 2], // interval 0: unsampled
      [1000, 1_000_000, 2000],
      [1, 1000, 2], // unknown selector
    ]);
    expect(statsOf(d).domains[0]!.samplers).toEqual({ '5': 100, '6': 1, '7': 1000 });
  });

  it('withdraws templates one at a time and all at once, in wire order', () => {
    const d = new FlowDecoder();
    const rec = concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(5));
    const tpl = (id: number): Uint8Array => ipfixTemplate(id, [[8, 4], [12, 4], [1, 4]]);
    // Data, then withdrawal, then data again in the same message: the second set is unknown.
    let recs = d.decode(ipfixMessage(H(0), set(2, tpl(300), tpl(301)), set(300, rec), set(2, concat(u16(300), u16(0))), set(300, rec), set(301, rec)), EXP, NOW);
    expect(recs).toHaveLength(2);
    expect(statsOf(d).errors['unknown-template']).toBe(1);
    expect(statsOf(d).templateWithdrawals).toBe(1);
    // Withdraw all data templates (ID 2 in a template set).
    recs = d.decode(ipfixMessage(H(2), set(2, concat(u16(2), u16(0))), set(301, rec)), EXP, NOW);
    expect(recs).toHaveLength(0);
    expect(statsOf(d).domains[0]!.templates).toHaveLength(0);
    expect(statsOf(d).errors['unknown-template']).toBe(2);
  });

  it('emits RFC 5103 biflows as two records (reverse IEs, enterprise 29305)', () => {
    const d = new FlowDecoder();
    const fields: Field[] = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [1, 8], [2, 8], [1, 8, 29305], [2, 8, 29305], [6, 1], [6, 1, 29305], [152, 8], [153, 8], [152, 8, 29305], [153, 8, 29305]];
    const rec = (rb: number, rp: number): Uint8Array =>
      concat(ip6('2001:db8::a'), ip6('2001:db8::b'), u16(50000), u16(443), u8(6), u64(600), u64(6), u64(rb), u64(rp), u8(0x02), u8(0x12), u64(NOW - 900), u64(NOW - 100), u64(NOW - 850), u64(NOW - 150));
    const recs = d.decode(ipfixMessage(H(), set(2, ipfixTemplate(280, fields)), set(280, rec(9000, 8), rec(0, 0))), EXP, NOW);
    expect(recs).toHaveLength(3);
    const [f, r, lone] = recs as [FlowRecord, FlowRecord, FlowRecord];
    expect([src(f), dst(f), f.src_port, f.dst_port, f.bytes, f.packets, f.tcp_flags, f.time_start, f.time_end]).toEqual(['2001:db8::a', '2001:db8::b', 50000, 443, 600, 6, 0x02, NOW - 900, NOW - 100]);
    expect([src(r), dst(r), r.src_port, r.dst_port, r.bytes, r.packets, r.tcp_flags, r.time_start, r.time_end]).toEqual(['2001:db8::b', '2001:db8::a', 443, 50000, 9000, 8, 0x12, NOW - 850, NOW - 150]);
    expect([lone.bytes, lone.packets]).toEqual([600, 6]);
  });

  it('falls back to total counts (85/86) and to post counts (23/24)', () => {
    const d = new FlowDecoder();
    const msg = ipfixMessage(
      H(),
      set(2, ipfixTemplate(290, [[8, 4], [12, 4], [85, 8], [86, 8]]), ipfixTemplate(291, [[8, 4], [12, 4], [23, 4], [24, 4]])),
      set(290, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u64(111), u64(11))),
      set(291, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(222), u32(22))),
    );
    expect(d.decode(msg, EXP, NOW).map((r) => [r.bytes, r.packets])).toEqual([[111, 11], [222, 22]]);
  });

  it('scopes templates by exporter and observation domain', () => {
    const d = new FlowDecoder();
    const a = ipfixTemplate(256, [[8, 4], [12, 4], [1, 4]]);
    const b = ipfixTemplate(256, [[27, 16], [28, 16], [1, 4]]);
    d.decode(ipfixMessage(H(0, 1), set(2, a)), EXP, NOW);
    d.decode(ipfixMessage(H(0, 2), set(2, b)), EXP, NOW);
    const r1 = d.decode(ipfixMessage(H(0, 1), set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1)))), EXP, NOW);
    const r2 = d.decode(ipfixMessage(H(0, 2), set(256, concat(ip6('2001:db8::1'), ip6('2001:db8::2'), u32(2)))), EXP, NOW);
    const r3 = d.decode(ipfixMessage(H(0, 1), set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1)))), EXP2, NOW);
    expect([r1[0]!.family, r1[0]!.observation_domain, r2[0]!.family, r2[0]!.observation_domain]).toEqual([4, 1, 6, 2]);
    expect(r3).toHaveLength(0); // another exporter: template unknown there
    // The source port is not part of the key.
    expect(d.decode(ipfixMessage(H(1, 1), set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1)))), { ...EXP, port: 1 }, NOW)).toHaveLength(1);
  });

  it('counts sequence loss in data records per observation domain', () => {
    const d = new FlowDecoder();
    const t = set(2, ipfixTemplate(256, [[8, 4], [12, 4], [1, 4]]));
    const recs = (n: number): Uint8Array => set(256, ...Array.from({ length: n }, () => concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1))));
    d.decode(ipfixMessage(H(0, 1), t, recs(3)), EXP, NOW); // 0..2
    d.decode(ipfixMessage(H(3, 1), recs(2)), EXP, NOW); // 3..4
    d.decode(ipfixMessage(H(10, 1), recs(1)), EXP, NOW); // 5..9 missing
    d.decode(ipfixMessage(H(5, 1), recs(2)), EXP, NOW); // 5..6 late
    d.decode(ipfixMessage(H(0, 2), t, recs(4)), EXP, NOW); // other domain
    d.decode(ipfixMessage(H(4, 2), recs(1)), EXP, NOW);
    const doms = statsOf(d).domains;
    expect(doms[0]!.sequence).toMatchObject({ unit: 'records', missing: 3, late: 1, duplicates: 0 });
    expect(doms[1]!.sequence).toMatchObject({ missing: 0, late: 0, duplicates: 0 });
  });

  it('counts malformed input by kind and never throws', () => {
    const d = new FlowDecoder();
    const t = ipfixTemplate(256, [[8, 4], [12, 4], [1, 4]]);
    const rec = concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1));
    const cases: [Uint8Array, string][] = [
      [new Uint8Array(0), 'truncated'],
      [u8(10), 'truncated'],
      [concat(u16(7), new Uint8Array(30)), 'bad-version'],
      [concat(u16(10), u16(8), new Uint8Array(12)), 'bad-length'],
      [concat(u16(10), u16(16), new Uint8Array(8)), 'truncated'],
      [ipfixMessage(H(), set(2, t), concat(u16(256), u16(2), u16(1))), 'bad-length'],
      [ipfixMessage(H(), set(2, t), concat(u16(256), u16(40)), rec), 'truncated'],
      [ipfixMessage(H(), set(4, rec)), 'bad-set-id'],
      [ipfixMessage(H(), set(2, ipfixTemplate(12, [[8, 4]]))), 'bad-template'],
      [ipfixMessage(H(), set(3, ipfixOptionsTemplate(300, 0, [[8, 4]]))), 'bad-template'],
      [ipfixMessage(H(), set(2, concat(u16(300), u16(3), u16(8), u16(4)))), 'bad-template'],
      [ipfixMessage(H(), set(2, ipfixTemplate(301, [[210, 0]]))), 'bad-template'],
      [ipfixMessage(H(), set(2, ipfixTemplate(302, [[8, 4], [82, 0xffff]])), set(302, concat(ip4('1.2.3.4'), u8(200), u8(1)))), 'bad-record'],
      [ipfixMessage(H(), set(2, ipfixTemplate(303, [[1, 4]])), set(303, u32(5))), 'no-address'],
      [v9Packet({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, set(0, concat(u16(400), u16(0), u32(1)))), 'bad-template'],
      [v9Packet({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, set(1, concat(u16(400), u16(3), u16(4), new Uint8Array(8)))), 'bad-template'],
      [v9Packet({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, set(7, rec)), 'bad-set-id'],
      [new Uint8Array(10).fill(0).map((_, i) => (i === 1 ? 9 : 0)), 'truncated'],
    ];
    for (const [i, [dg, kind]] of cases.entries()) {
      const before = (d.stats()[0]?.errors ?? {}) as Record<string, number>;
      expect(() => d.decode(dg, EXP, NOW), `case ${i}`).not.toThrow();
      const after = statsOf(d).errors as Record<string, number>;
      expect(after[kind]! - (before[kind] ?? 0), `case ${i}: ${kind}`).toBe(1);
    }
    const s = statsOf(d);
    expect(s.datagrams).toBe(cases.length);
    expect(s.datagramsWithErrors).toBe(cases.length);
    expect(s.errors.internal).toBe(0);
  });

  it('ignores zero-filled tails and padding without counting errors', () => {
    const d = new FlowDecoder();
    const t = ipfixTemplate(256, [[8, 4], [12, 4], [1, 4]]);
    const rec = concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(1));
    const msg = ipfixMessage(H(), set(2, t, new Uint8Array(3)), set(256, rec, new Uint8Array(11)));
    expect(d.decode(concat(msg, new Uint8Array(40)), EXP, NOW)).toHaveLength(1);
    const v9 = v9Packet({ uptime: 0, secs: 0, seq: 0, sourceId: 0 }, set(0, v9Template(256, [[8, 4], [12, 4]]), new Uint8Array(4)), set(256, ip4('1.1.1.1'), ip4('2.2.2.2')), new Uint8Array(6));
    expect(d.decode(v9, EXP, NOW)).toHaveLength(1);
    expect(statsOf(d).datagramsWithErrors).toBe(0);
  });

  it('handles 8-byte counters and reduced-size encodings of 1, 3 and 5 bytes', () => {
    const d = new FlowDecoder();
    const t = ipfixTemplate(256, [[8, 4], [12, 4], [1, 5], [2, 3], [10, 1]]);
    const [r] = d.decode(ipfixMessage(H(), set(2, t), set(256, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), uint(2 ** 36 + 7, 5), uint(70000, 3), u8(9)))), EXP, NOW);
    expect([r!.bytes, r!.packets, r!.in_if]).toEqual([2 ** 36 + 7, 70000, 9]);
  });
});

describe('snapshot / restore', () => {
  it('persists templates, samplers and system-init time as JSON', () => {
    const d = new FlowDecoder();
    const H = { exportTime: SECS, seq: 0, domain: 9 };
    d.decode(
      ipfixMessage(
        H,
        set(3, ipfixOptionsTemplate(260, 1, [[302, 4], [305, 4], [306, 4]])),
        set(260, concat(u32(1), u32(1), u32(9))),
        set(2, ipfixTemplate(261, [[8, 4], [12, 4], [1, 4], [302, 4], [82, 0xffff], [1000, 4, 9]])),
      ),
      EXP,
      NOW,
    );
    d.decode(v9Packet({ uptime: 0, secs: 0, seq: 0, sourceId: 3 }, set(0, v9Template(300, [[27, 16], [28, 16], [1, 4]]))), EXP2, NOW);
    const json = JSON.parse(JSON.stringify(d.snapshot()));
    const d2 = new FlowDecoder();
    expect(d2.restore(json)).toBe(3);
    const [a] = d2.decode(ipfixMessage({ ...H, seq: 1 }, set(261, concat(ip4('10.0.0.1'), ip4('10.0.0.2'), u32(10), u32(1), varlen(u8(1)), u32(0)))), EXP, NOW);
    expect([a!.sampling_rate, a!.bytes]).toEqual([10, 100]);
    const [b] = d2.decode(v9Packet({ uptime: 0, secs: 0, seq: 1, sourceId: 3 }, set(300, concat(ip6('2001:db8::1'), ip6('2001:db8::2'), u32(5)))), EXP2, NOW);
    expect([b!.family, b!.bytes]).toEqual([6, 5]);
    expect(d2.restore({ version: 1, exporters: [{ addr: 'nonsense', domains: [] }, null] })).toBe(0);
    expect(d2.restore('garbage')).toBe(0);
  });
});
