/**
 * dnstap protobuf: frames assembled byte by byte from dnstap.proto's field numbers (keys and
 * varints worked out by hand, see the comments), unknown fields, damaged input, the sighting rules
 * (client = query_address, referrals ignored), and a fuzz run that must never throw.
 */
import { describe, expect, it } from 'vitest';
import { dnsAnswer, encodeDnsMessage, QTYPE } from '../../../src/demo/dns.js';
import { formatIP } from '../../../src/net/ip.js';
import { decodeDnstap, dnstapSighting, emptyDnstapStats, encodeDnstap } from '../../../src/sources/dns/dnstap.js';
import { xorshift32 } from '../../helpers/rng.js';

/** Length-delimited field: key, then a one-byte length (all test payloads are < 128 bytes... or two bytes). */
function ld(key: number, bytes: ArrayLike<number>): number[] {
  const n = bytes.length;
  const len = n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7];
  return [key, ...len, ...Array.from(bytes)];
}

const AAAA_RESPONSE = dnsAnswer(0x4242, 'Www.Example.ORG', QTYPE.AAAA, ['2001:db8::80'], 600);

// Message (dnstap.proto):
//   0x08 0x06              type (field 1, varint) = CLIENT_RESPONSE (6)
//   0x10 0x01              socket_family (2) = INET
//   0x18 0x01              socket_protocol (3) = UDP
//   0x22 0x04 c0 00 02 0a  query_address (4, bytes) = 192.0.2.10
//   0x2a 0x04 c0 00 02 35  response_address (5) = 192.0.2.53
//   0x30 0x88 0x9e 0x03    query_port (6) = 53000 (8 + 30·128 + 3·16384)
//   0x38 0x35              response_port (7) = 53
//   0x60 0x80 0xe2 0xcf 0xaa 0x06   response_time_sec (12) = 1 700 000 000
//   0x6d 80 b2 e6 0e       response_time_nsec (13, fixed32 LE) = 250 000 000
//   0x72 len ...           response_message (14)
const MESSAGE = [
  0x08, 0x06, 0x10, 0x01, 0x18, 0x01, 0x22, 0x04, 0xc0, 0x00, 0x02, 0x0a, 0x2a, 0x04, 0xc0, 0x00, 0x02, 0x35,
  0x30, 0x88, 0x9e, 0x03, 0x38, 0x35, 0x60, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x6d, 0x80, 0xb2, 0xe6, 0x0e,
  ...ld(0x72, AAAA_RESPONSE),
];
// Dnstap: identity (1) "ub", version (2) "1.17", message (14), type (15) = MESSAGE (1).
const FRAME = Uint8Array.from([...ld(0x0a, [0x75, 0x62]), ...ld(0x12, [0x31, 0x2e, 0x31, 0x37]), ...ld(0x72, MESSAGE), 0x78, 0x01]);

describe('decodeDnstap', () => {
  it('reads every field of a hand-built CLIENT_RESPONSE', () => {
    const r = decodeDnstap(FRAME);
    expect(r.error).toBeUndefined();
    const d = r.dnstap!;
    expect(d.identity).toBe('ub');
    expect(d.version).toBe('1.17');
    expect(d.type).toBe(1);
    const m = d.message!;
    expect(m.type).toBe(6);
    expect(m.socketFamily).toBe(1);
    expect(m.socketProtocol).toBe(1);
    expect([...m.queryAddress!]).toEqual([192, 0, 2, 10]);
    expect([...m.responseAddress!]).toEqual([192, 0, 2, 53]);
    expect(m.queryPort).toBe(53000);
    expect(m.responsePort).toBe(53);
    expect(m.responseTimeSec).toBe(1_700_000_000);
    expect(m.responseTimeNsec).toBe(250_000_000);
    expect([...m.responseMessage!]).toEqual([...AAAA_RESPONSE]);
    expect(m.queryMessage).toBeUndefined();
  });

  it('the encoder writes the same bytes', () => {
    const d = decodeDnstap(FRAME).dnstap!;
    expect([...encodeDnstap(d)]).toEqual([...FRAME]);
  });

  it('skips unknown fields of every wire type, in both messages', () => {
    // field 3 (extra, bytes) "x"; field 99 varint 300 (key 99·8 = 792 → 0x98 0x06; 300 → 0xac 0x02);
    // field 20 fixed64 (key 0xa1 0x01); field 21 fixed32 (key 0xad 0x01).
    const unknown = [0x1a, 0x01, 0x78, 0x98, 0x06, 0xac, 0x02, 0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x01, 9, 9, 9, 9];
    const frame = Uint8Array.from([...unknown, ...ld(0x72, [...unknown.slice(3), ...MESSAGE]), 0x78, 0x01]);
    const r = decodeDnstap(frame);
    expect(r.error).toBeUndefined();
    expect(r.dnstap!.message!.queryPort).toBe(53000);
    expect([...r.dnstap!.message!.responseMessage!]).toEqual([...AAAA_RESPONSE]);
  });

  it('reports damage instead of throwing', () => {
    expect(decodeDnstap(FRAME.subarray(0, FRAME.length - 30)).error).toMatch(/runs past the end/);
    expect(decodeDnstap(Uint8Array.from([0x08, 0x80, 0x80])).error).toMatch(/varint .* runs past the end/);
    expect(decodeDnstap(Uint8Array.from([0x08, ...Array(11).fill(0xff)])).error).toMatch(/longer than 10 bytes/);
    expect(decodeDnstap(Uint8Array.from([0x0b, 0x00])).error).toMatch(/wire type 3/);
    expect(decodeDnstap(Uint8Array.from([0x00, 0x00])).error).toMatch(/field number 0/);
    expect(decodeDnstap(Uint8Array.from([0x6d, 1, 2])).error).toMatch(/fixed32/);
    expect(decodeDnstap(new Uint8Array(0))).toEqual({ dnstap: {} });
  });
});

describe('dnstapSighting', () => {
  it('a CLIENT_RESPONSE names the client (query_address) and the resolver (response_address)', () => {
    const stats = emptyDnstapStats();
    const s = dnstapSighting(FRAME, stats)!;
    expect(s.timeMs).toBe(1_700_000_000_250);
    expect(s.family).toBe(4);
    expect(formatIP(s.client, 4)).toBe('192.0.2.10');
    expect(formatIP(s.server, 4)).toBe('192.0.2.53');
    expect(s.answer).toEqual({ name: 'www.example.org', qtype: 28, kind: 'addresses', addresses: ['2001:db8::80'], cnames: [], ttl: 600 });
    expect(stats).toMatchObject({ responses: 1, sightings: 1 });
  });

  const frameOf = (type: number, response: Uint8Array | undefined, extra: { q?: number[]; sec?: number } = {}): Uint8Array =>
    encodeDnstap({ type: 1, message: { type, socketFamily: 2, queryAddress: Uint8Array.from(extra.q ?? [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 7]), responseTimeSec: extra.sec, responseMessage: response } });

  it('IPv6 clients, NXDOMAIN, and a missing time (now stands in)', () => {
    const nx = encodeDnsMessage({ id: 1, response: true, rcode: 3, questions: [{ name: 'nope.example', type: QTYPE.A }] });
    const s = dnstapSighting(frameOf(6, nx), emptyDnstapStats(), 12345)!;
    expect(s.family).toBe(6);
    expect(formatIP(s.client)).toBe('2001:db8::7');
    expect(formatIP(s.server)).toBe('::');
    expect(s.timeMs).toBe(12345);
    expect(s.answer.kind).toBe('nxdomain');
  });

  it('resolver side: NODATA with SOA kept, NODATA without SOA (a referral) ignored; queries are other messages', () => {
    const stats = emptyDnstapStats();
    const withSoa = dnsAnswer(2, 'v4only.example', QTYPE.AAAA, [], 300);
    const noSoa = dnsAnswer(3, 'sub.example', QTYPE.AAAA, [], 300, { soaForNodata: false });
    expect(dnstapSighting(frameOf(4, withSoa, { sec: 1 }), stats)!.answer.kind).toBe('nodata');
    expect(dnstapSighting(frameOf(8, noSoa, { sec: 1 }), stats)).toBeNull();
    // The same SOA-less NODATA told to a client is NODATA (Unbound's local-data answers have no SOA).
    expect(dnstapSighting(frameOf(6, noSoa, { sec: 1 }), stats)!.answer.kind).toBe('nodata');
    expect(dnstapSighting(frameOf(5, undefined), stats)).toBeNull();
    expect(dnstapSighting(frameOf(6, Uint8Array.of(1, 2, 3)), stats)).toBeNull();
    expect(dnstapSighting(Uint8Array.of(0xff), stats)).toBeNull();
    expect(stats).toEqual({ responses: 4, sightings: 2, malformed: 1, ignored: 1, undecodable: 1, otherMessages: 1 });
  });
});

describe('fuzz: damaged dnstap never throws', () => {
  it('15 000 mutated and truncated frames, and random bytes', () => {
    const rnd = xorshift32(0xd15ea5e);
    const stats = emptyDnstapStats();
    for (let n = 0; n < 15_000; n++) {
      let b: Uint8Array;
      if (n % 10 === 0) b = Uint8Array.from({ length: rnd() % 64 }, () => rnd() & 255);
      else {
        b = FRAME.slice();
        const flips = 1 + (rnd() % 6);
        for (let i = 0; i < flips; i++) b[rnd() % b.length] = rnd() & 255;
        if (rnd() % 4 === 0) b = b.subarray(0, rnd() % b.length);
      }
      dnstapSighting(b, stats, 0);
    }
    expect(stats.undecodable).toBeGreaterThan(0);
    expect(stats.sightings).toBeGreaterThan(0);
  });
});
