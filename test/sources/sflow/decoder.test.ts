/**
 * sFlow v5 decoder on hand-built datagrams (test/sources/sflow/encode.ts). Expected values are
 * computed from what was encoded: IP-layer bytes = header sizes + payload, times the rate.
 */
import { describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '../../../src/net/ip.js';
import { buildFrame } from '../../../src/sources/packets/writer.js';
import { looksLikeFlowExport } from '../../../src/sources/flow/capture.js';
import { looksLikeSflow, SflowDecoder, type SflowSample } from '../../../src/sources/sflow/index.js';
import { mac } from '../flow/encode.js';
import {
  concat,
  counterSample,
  datagram,
  extGateway,
  extRouter,
  extSwitch,
  flowSample,
  rawHeader,
  sampledEthernet,
  sampledIp,
  tlv,
  u32,
} from './encode.js';

const SRC = { addr: parseIP('192.0.2.200').addr, port: 6343 };
const T = 1_770_000_000_000;

function dec(opts: ConstructorParameters<typeof SflowDecoder>[0] = {}): SflowDecoder {
  return new SflowDecoder(opts);
}
const errs = (d: SflowDecoder, i = 0): Record<string, number> =>
  Object.fromEntries(Object.entries(d.stats()[i]!.errors).filter(([, n]) => n > 0));

describe('sFlow v5 decoder', () => {
  it('flow sample with an Ethernet header: one record, packets = rate, bytes = IPv4 total length × rate', () => {
    // TCP: 20 (IP) + 20 (TCP) + 1000 payload = 1040 IP bytes; frame 14 + 1040 + 4 FCS.
    const frame = buildFrame({ src: '10.1.2.3', dst: '198.51.100.7', proto: 'tcp', srcPort: 40001, dstPort: 443, tcpFlags: 0x18, payloadLength: 1000, srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02' });
    expect(frame.length).toBe(14 + 1040);
    const hdr = frame.subarray(0, 128); // the agent snaps the header at 128 bytes
    const d = dec({ exporterName: 'sw1' });
    const dg = datagram({ agent: '192.0.2.1', subAgent: 7, seq: 10 }, flowSample({ rate: 256, input: 3, output: 4 }, rawHeader(1, frame.length + 4, 4, hdr)));
    const recs = d.decode(dg, SRC, T);
    expect(recs).toHaveLength(1);
    const r = recs[0]!;
    expect(r).toMatchObject({
      source_kind: 'sflow', family: 4, proto: 6, src_port: 40001, dst_port: 443, tcp_flags: 0x18,
      packets: 256, bytes: 1040 * 256, flows: 1, sampling_rate: 256, observation_domain: 7,
      in_if: 3, out_if: 4, src_mac: 0x020000000001, dst_mac: 0x020000000002, time_received: T, time_start: T, time_end: T,
      exporter_name: 'sw1',
    });
    expect(formatIP(r.src_addr, 4)).toBe('10.1.2.3');
    expect(formatIP(r.dst_addr, 4)).toBe('198.51.100.7');
    expect(formatIP(r.exporter_addr)).toBe('::ffff:192.0.2.1');
    expect(r.src_addr.length).toBe(16);
    const st = d.stats()[0]!;
    expect(st).toMatchObject({ agent: '192.0.2.1', port: 6343, datagrams: 1, flowSamples: 1, records: 1, datagramsRejected: 0, samplingRates: [256] });
    expect(errs(d)).toEqual({});
  });

  it('IPv6 agent, expanded flow sample, QinQ-tagged IPv6 UDP header, expanded interfaces', () => {
    // UDP: 40 (IPv6) + 8 (UDP) + 300 = payload length 308 → 348 IP bytes.
    const frame = buildFrame({ src: '2001:db8::1', dst: '2001:db8:1::53', proto: 'udp', srcPort: 5353, dstPort: 53, payloadLength: 300, vlans: [100, 200] });
    const seen: SflowSample[] = [];
    const d = dec({ onSample: (s) => seen.push(s) });
    const dg = datagram(
      { agent: '2001:db8:ffff::1', subAgent: 1, seq: 3 },
      flowSample({ expanded: true, rate: 1000, sourceType: 0, sourceIndex: 70000, input: [0, 70000], output: [2, 5] }, rawHeader(1, frame.length + 4, 4, frame.subarray(0, 100))),
    );
    const recs = d.decode(dg, SRC, T);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ family: 6, proto: 17, src_port: 5353, dst_port: 53, bytes: 348 * 1000, packets: 1000, in_if: 70000, out_if: 0 });
    expect(formatIP(recs[0]!.src_addr, 6)).toBe('2001:db8::1');
    expect(formatIP(recs[0]!.exporter_addr)).toBe('2001:db8:ffff::1');
    expect(seen[0]).toMatchObject({ expanded: true, sourceIdIndex: 70000, samplingRate: 1000, inputFormat: 0, input: 70000, outputFormat: 2, output: 5, headerProtocol: 1, headerLength: 100 });
    expect(d.stats()[0]!.agent).toBe('2001:db8:ffff::1');
  });

  it('compact interfaces: 0x3fffffff is unknown, format 1 (discarded) and 2 (multiple) name no interface', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payloadLength: 10 });
    const d = dec();
    const mk = (input: number, output: number): Uint8Array => datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1, input, output }, rawHeader(1, frame.length, 0, frame)));
    expect(d.decode(mk(0x3fffffff, (1 << 30) | 5), SRC, T)[0]).toMatchObject({ in_if: 0, out_if: 0 });
    expect(d.decode(mk(12, (2 << 30) | 3), SRC, T)[0]).toMatchObject({ in_if: 12, out_if: 0 });
    expect(d.decode(mk(0x3ffffffe, 9), SRC, T)[0]).toMatchObject({ in_if: 0x3ffffffe, out_if: 9 });
  });

  it('raw IPv4 and IPv6 header protocols (11, 12), and MPLS-labelled Ethernet', () => {
    const ip4pkt = buildFrame({ link: 101, src: '192.0.2.9', dst: '203.0.113.5', proto: 'icmp', icmpType: 8, payloadLength: 56 });
    const ip6pkt = buildFrame({ link: 101, src: '2001:db8::9', dst: '2001:db8::5', proto: 'icmpv6', icmpType: 128, payloadLength: 56 });
    // Two MPLS labels (the second with bottom-of-stack) in front of the IPv4 packet.
    const mpls = buildFrame({ etherType: 0x8847, payload: concat(Uint8Array.of(0, 0x10, 0x00, 0x40), Uint8Array.of(0, 0x20, 0x01, 0x40), ip4pkt) });
    const d = dec();
    const recs = d.decode(
      datagram(
        { agent: '192.0.2.1' },
        flowSample({ rate: 2 }, rawHeader(11, ip4pkt.length, 0, ip4pkt)),
        flowSample({ rate: 2, seq: 2 }, rawHeader(12, ip6pkt.length, 0, ip6pkt)),
        flowSample({ rate: 2, seq: 3 }, rawHeader(1, mpls.length + 4, 4, mpls)),
      ),
      SRC,
      T,
    );
    expect(recs.map((r) => [r.family, r.proto, r.src_port, r.dst_port, r.bytes])).toEqual([
      [4, 1, 0, 8 * 256, (20 + 8 + 56) * 2],
      [6, 58, 0, 128 * 256, (40 + 8 + 56) * 2],
      [4, 1, 0, 8 * 256, (20 + 8 + 56) * 2],
    ]);
    expect(errs(d)).toEqual({});
  });

  it('bytes come from the IP header, not the header length nor the frame length', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', payloadLength: 1400 });
    const d = dec();
    // Only 64 bytes of the header, a frame length with FCS and 4 more bytes of trailer.
    const r = d.decode(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 10 }, rawHeader(1, frame.length + 8, 4, frame.subarray(0, 64)))), SRC, T)[0]!;
    expect(r.bytes).toBe((20 + 20 + 1400) * 10);
    expect(r.packets).toBe(10);
  });

  it('sampled IPv4 / IPv6 records when there is no raw header; ICMP type/code in dst_port', () => {
    const d = dec();
    const recs = d.decode(
      datagram(
        { agent: '192.0.2.1' },
        flowSample({ rate: 50 }, sampledIp(4, { length: 576, proto: 6, src: '10.9.8.7', dst: '192.0.2.33', srcPort: 1234, dstPort: 80, tcpFlags: 0x12 })),
        flowSample({ rate: 50, seq: 2 }, sampledIp(6, { length: 1280, proto: 17, src: '2001:db8::a', dst: '2001:db8::b', srcPort: 4000, dstPort: 443 })),
        flowSample({ rate: 50, seq: 3 }, sampledIp(4, { length: 84, proto: 1, src: '10.0.0.1', dst: '10.0.0.2', srcPort: 3, dstPort: 1 })),
      ),
      SRC,
      T,
    );
    expect(recs.map((r) => [r.family, r.proto, r.src_port, r.dst_port, r.tcp_flags, r.bytes, r.packets])).toEqual([
      [4, 6, 1234, 80, 0x12, 576 * 50, 50],
      [6, 17, 4000, 443, 0, 1280 * 50, 50],
      [4, 1, 0, 3 * 256 + 1, 0, 84 * 50, 50],
    ]);
    expect(formatIP(recs[1]!.dst_addr, 6)).toBe('2001:db8::b');
  });

  it('a raw header wins over a sampled IP record; sampled Ethernet gives MACs; extended switch, router, gateway', () => {
    const frame = buildFrame({ link: 101, src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', srcPort: 9, dstPort: 10, payloadLength: 100 });
    const seen: SflowSample[] = [];
    const d = dec({ onSample: (s) => seen.push(s) });
    const recs = d.decode(
      datagram(
        { agent: '192.0.2.1' },
        flowSample(
          { rate: 4 },
          sampledEthernet(frame.length + 18, mac('02:aa:bb:cc:dd:01'), mac('02:aa:bb:cc:dd:02'), 0x0800),
          sampledIp(4, { length: 9999, proto: 6, src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 }),
          rawHeader(11, frame.length, 0, frame),
          extSwitch(10, 1, 20, 2),
          extRouter('2001:db8::fe', 24, 16),
          extGateway('192.0.2.254', 64500, 64501, 64502, [[64510, 64511], [64512, 65550]]),
        ),
      ),
      SRC,
      T,
    );
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ proto: 17, src_port: 9, dst_port: 10, bytes: (20 + 8 + 100) * 4, src_mac: 0x02aabbccdd01, dst_mac: 0x02aabbccdd02, src_asn: 64501, dst_asn: 65550 });
    expect(seen[0]).toMatchObject({ srcVlan: 10, srcPriority: 1, dstVlan: 20, dstPriority: 2, srcMaskLen: 24, dstMaskLen: 16 });
    expect(formatIP(seen[0]!.nextHop!)).toBe('2001:db8::fe');
    expect(errs(d)).toEqual({});
  });

  it('counter samples, unknown samples and unknown records are counted and skipped by length', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payloadLength: 10 });
    const d = dec();
    const recs = d.decode(
      datagram(
        { agent: '192.0.2.1' },
        counterSample(),
        tlv(5, new Uint8Array(20)), // discarded packet sample: not handled here
        counterSample(true),
        tlv(1, new Uint8Array(12), 4413), // enterprise 4413 sample
        flowSample({ rate: 1 }, tlv(2100, new Uint8Array(8)), tlv(1, new Uint8Array(5), 8800), rawHeader(1, frame.length, 0, frame), tlv(1005, new Uint8Array(12))),
      ),
      SRC,
      T,
    );
    expect(recs).toHaveLength(1);
    const st = d.stats()[0]!;
    expect(st.counterSamples).toBe(2);
    expect(st.skipped).toMatchObject({ counterSamples: 2, unknownSamples: 2, unknownRecords: 3 });
    expect(errs(d)).toEqual({});
  });

  it('non-IP headers and samples without a packet record give no record, counted', () => {
    const arp = buildFrame({ etherType: 0x0806, payloadLength: 28 });
    const d = dec();
    const recs = d.decode(
      datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, rawHeader(1, 64, 4, arp)), flowSample({ rate: 1 }, extSwitch(1, 0, 1, 0)), flowSample({ rate: 1 }, rawHeader(7, 60, 0, new Uint8Array(40)))),
      SRC,
      T,
    );
    expect(recs).toHaveLength(0);
    expect(d.stats()[0]!.skipped).toMatchObject({ notIp: 1, noPacket: 1, unknownHeaderProtocol: 1 });
  });

  describe('length caps and damage: never throws, everything counted', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payloadLength: 10 });
    const good = flowSample({ rate: 1 }, rawHeader(1, frame.length, 0, frame));
    const one = (dg: Uint8Array): { d: SflowDecoder; n: number } => {
      const d = dec();
      return { d, n: d.decode(dg, SRC, T).length };
    };

    it('header length larger than its record', () => {
      const bad = flowSample({ rate: 1 }, rawHeader(1, frame.length, 0, frame, 200));
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, bad, good));
      expect(n).toBe(1);
      expect(errs(d)).toEqual({ 'bad-header': 1 });
    });

    it('header length 0xffffffff', () => {
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, rawHeader(1, frame.length, 0, frame, 0xffffffff))));
      expect(n).toBe(0);
      expect(errs(d)).toEqual({ 'bad-header': 1 });
    });

    it('a damaged IP header inside the raw header', () => {
      const broken = Uint8Array.from(frame);
      broken[14] = 0x42; // version 4, IHL 2
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, rawHeader(1, frame.length, 0, broken))));
      expect(n).toBe(0);
      expect(errs(d)).toEqual({ 'bad-header': 1 });
    });

    it('a record running past its sample rejects the sample, the next sample is decoded', () => {
      const rec = rawHeader(1, frame.length, 0, frame);
      const cut = concat(u32(1), u32(0xfff0), rec.subarray(8)); // record length far too large
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, cut), good));
      expect(n).toBe(1);
      expect(errs(d)).toEqual({ truncated: 1 });
    });

    it('a sample running past the datagram', () => {
      const long = flowSample({ rate: 1, length: 5000 }, rawHeader(1, frame.length, 0, frame));
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, good, long));
      expect(n).toBe(1);
      expect(errs(d)).toEqual({ truncated: 1 });
    });

    it('absurd sample and record counts', () => {
      const a = one(datagram({ agent: '192.0.2.1', count: 0x7fffffff }, good));
      expect(a.n).toBe(1);
      expect(errs(a.d)).toEqual({ 'bad-count': 1 });
      const b = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1, count: 1_000_000 }, rawHeader(1, frame.length, 0, frame))));
      expect(b.n).toBe(1);
      expect(errs(b.d)).toEqual({ 'bad-count': 1 });
    });

    it('samples and records shorter than their fixed part', () => {
      const a = one(datagram({ agent: '192.0.2.1' }, tlv(1, new Uint8Array(20)), good));
      expect(a.n).toBe(1);
      expect(errs(a.d)).toEqual({ 'bad-length': 1 });
      const b = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, tlv(3, new Uint8Array(16)), tlv(4, new Uint8Array(40)), tlv(1, new Uint8Array(8)))));
      expect(b.n).toBe(0);
      expect(errs(b.d)).toEqual({ 'bad-length': 3 });
    });

    it('whole-datagram rejections are counted against the UDP source', () => {
      const d = dec();
      const whole = datagram({ agent: '192.0.2.1' }, good);
      expect(d.decode(new Uint8Array(0), SRC, T)).toEqual([]);
      expect(d.decode(whole.subarray(0, 20), SRC, T)).toEqual([]);
      expect(d.decode(datagram({ agent: '192.0.2.1', version: 4 }, good), SRC, T)).toEqual([]);
      expect(d.decode(datagram({ agent: '192.0.2.1', addressType: 3 }, good), SRC, T)).toEqual([]);
      expect(d.decode(datagram({ agent: '2001:db8::1' }).subarray(0, 36), SRC, T)).toEqual([]);
      const st = d.stats();
      expect(st).toHaveLength(1);
      expect(st[0]).toMatchObject({ agent: '192.0.2.200', datagrams: 5, datagramsRejected: 5, datagramsWithErrors: 5 });
      expect(errs(d)).toEqual({ truncated: 3, 'bad-version': 1, 'bad-address-type': 1 });
    });

    it('sampling rate 0 is counted and taken as 1; trailing garbage is counted', () => {
      const { d, n } = one(concat(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 0 }, rawHeader(1, frame.length, 0, frame))), Uint8Array.of(1, 2, 3, 4)));
      expect(n).toBe(1);
      expect(errs(d)).toEqual({ 'bad-rate': 1, 'bad-length': 1 });
      const zeros = one(concat(datagram({ agent: '192.0.2.1' }, good), new Uint8Array(8)));
      expect(errs(zeros.d)).toEqual({});
    });

    it('bad next-hop address type and damaged AS path in extended records', () => {
      const badRouter = tlv(1002, concat(u32(9), new Uint8Array(12)));
      const badGw = tlv(1003, concat(u32(1), new Uint8Array(4), u32(1), u32(2), u32(3), u32(1000)));
      const { d, n } = one(datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, badRouter, badGw, rawHeader(1, frame.length, 0, frame))));
      expect(n).toBe(1);
      expect(errs(d)).toEqual({ 'bad-address-type': 1, 'bad-count': 1 });
    });

    it('state limits are counted', () => {
      const d = dec({ maxSubAgentsPerAgent: 1, maxSourcesPerSubAgent: 1, maxAgents: 1 });
      d.decode(datagram({ agent: '192.0.2.1', subAgent: 0 }, good), SRC, T);
      d.decode(datagram({ agent: '192.0.2.1', subAgent: 1 }, good), SRC, T);
      d.decode(datagram({ agent: '192.0.2.1', subAgent: 0 }, flowSample({ rate: 1, sourceIndex: 9 }, rawHeader(1, frame.length, 0, frame))), SRC, T);
      expect(d.decode(datagram({ agent: '192.0.2.2' }, good), SRC, T)).toEqual([]); // agent limit: dropped
      expect(errs(d)).toEqual({ 'state-limit': 2 });
      expect(d.totals()).toEqual({ datagrams: 3, records: 3, errors: 2 });
    });
  });

  it('sequence loss per agent + sub-agent (datagrams) and per data source (samples)', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payloadLength: 10 });
    const d = dec();
    const s = (seq: number, idx = 1): Uint8Array => flowSample({ rate: 1, seq, sourceIndex: idx, drops: seq }, rawHeader(1, frame.length, 0, frame));
    // Sub-agent 0: datagrams 1, 2, 5 (3 and 4 lost), then 4 arrives late. Sub-agent 1: 100, 101.
    d.decode(datagram({ agent: '192.0.2.1', seq: 1 }, s(1), s(1, 2)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.1', seq: 2 }, s(2), s(2, 2)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.1', subAgent: 1, seq: 100 }, s(50)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.1', seq: 5 }, s(6), s(3, 2)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.1', subAgent: 1, seq: 101 }, s(51)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.1', seq: 4 }, s(5)), SRC, T);
    // Another agent with the same sub-agent and sequence numbers is independent.
    d.decode(datagram({ agent: '192.0.2.2', seq: 1 }, s(1)), SRC, T);
    d.decode(datagram({ agent: '192.0.2.2', seq: 2 }, s(2)), SRC, T);
    const [a, b] = d.stats();
    expect(a!.subAgents.map((x) => [x.subAgent, x.sequence.missing, x.sequence.late, x.sequence.duplicates])).toEqual([
      [0, 1, 1, 0],
      [1, 0, 0, 0],
    ]);
    // Source 1 of sub-agent 0: 1, 2, 6, 5 → 3 and 4 missing, 5 late → missing 2.
    expect(a!.subAgents[0]!.samples).toEqual({ sources: 2, missing: 2, late: 1, duplicates: 0, resets: 0 });
    expect(a!.subAgents[0]!.agentDrops).toBe(5 + 3);
    expect(b!.subAgents[0]!.sequence.missing).toBe(0);
  });

  it('detection: sFlow starts 00 00 00 05 + address type 1/2, NetFlow v5 starts 00 05', () => {
    const frame = buildFrame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payloadLength: 10 });
    const sf4 = datagram({ agent: '192.0.2.1' }, flowSample({ rate: 1 }, rawHeader(1, frame.length, 0, frame)));
    const sf6 = datagram({ agent: '2001:db8::1' });
    const v5 = concat(Uint8Array.of(0, 5, 0, 1), new Uint8Array(20 + 48));
    expect(looksLikeSflow(sf4)).toBe(true);
    expect(looksLikeSflow(sf6)).toBe(true);
    expect(looksLikeSflow(v5)).toBe(false);
    expect(looksLikeFlowExport(v5)).toBe(true);
    expect(looksLikeSflow(datagram({ agent: '192.0.2.1', addressType: 0 }))).toBe(false);
    expect(looksLikeSflow(sf4.subarray(0, 27))).toBe(false);
    expect(looksLikeSflow(sf6.subarray(0, 39))).toBe(false);
  });
});
