import { describe, expect, it } from 'vitest';
import { dnsAnswer, dnsQuery, encodeDnsMessage, QTYPE, splitName } from '../../src/demo/dns.js';
import { decodeDns } from './read-capture.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('demo DNS encoder (RFC 1035 wire format)', () => {
  it('encodes a query byte for byte', () => {
    // id 0x1234, RD, 1 question: a.example IN A
    expect(hex(dnsQuery(0x1234, 'a.example', QTYPE.A))).toBe(
      '1234' + '0100' + '0001' + '0000' + '0000' + '0000' + '0161' + '076578616d706c65' + '00' + '0001' + '0001',
    );
  });

  it('encodes an A answer with a compression pointer to the question name', () => {
    expect(hex(dnsAnswer(0x1234, 'a.example', QTYPE.A, ['192.0.2.1'], 300))).toBe(
      '1234' + '8180' + '0001' + '0001' + '0000' + '0000' +
        '0161076578616d706c6500' + '0001' + '0001' +
        'c00c' + '0001' + '0001' + '0000012c' + '0004' + 'c0000201',
    );
  });

  it('encodes AAAA answers (16-byte RDATA, RFC 3596) and decodes back', () => {
    const m = dnsAnswer(7, 'video.example.net', QTYPE.AAAA, ['2001:db8:f00d::10', '2001:db8:f00d::11'], 300);
    const d = decodeDns(m);
    expect(d.flags).toBe(0x8180);
    expect(d.questions).toEqual([{ name: 'video.example.net', type: 28, class: 1 }]);
    expect(d.answers).toEqual([
      { name: 'video.example.net', type: 28, ttl: 300, data: '2001:db8:f00d::10' },
      { name: 'video.example.net', type: 28, ttl: 300, data: '2001:db8:f00d::11' },
    ]);
  });

  it('NODATA carries the zone SOA in the authority section, with compressed names; or no SOA on request', () => {
    const m = dnsAnswer(9, 'news.example', QTYPE.AAAA, [], 600);
    // authority: pointer to "example" inside the question (offset 12 + 5 = 17 = 0x11)
    expect(hex(m)).toContain('c011' + '0006' + '0001' + '0000012c');
    expect(hex(m)).toContain('036e7331c011'); // ns1 + pointer
    const d = decodeDns(m);
    expect(d.answers).toEqual([]);
    expect(d.authority).toHaveLength(1);
    expect(d.authority[0]).toMatchObject({ name: 'example', type: 6, ttl: 300 });
    const bare = decodeDns(dnsAnswer(9, 'news.example', QTYPE.AAAA, [], 600, { soaForNodata: false }));
    expect(bare.authority).toEqual([]);
    expect(bare.answers).toEqual([]);
  });

  it('adds an EDNS(0) OPT record when asked', () => {
    const d = decodeDns(dnsQuery(1, 'search.example.com', QTYPE.AAAA, { ednsUdpSize: 1232 }));
    expect(d.additional).toEqual([{ name: '', type: 41, ttl: 0, data: '' }]);
    const m = dnsQuery(1, 'search.example.com', QTYPE.AAAA, { ednsUdpSize: 1232 });
    expect(hex(m.subarray(m.length - 11))).toBe('00' + '0029' + '04d0' + '00000000' + '0000');
  });

  it('compresses CNAME targets against earlier names', () => {
    const m = encodeDnsMessage({
      id: 1,
      response: true,
      questions: [{ name: 'www.example.com', type: QTYPE.A }],
      answers: [
        { name: 'www.example.com', ttl: 60, data: { type: QTYPE.CNAME, target: 'cdn.example.com' } },
        { name: 'cdn.example.com', ttl: 60, data: { type: QTYPE.A, address: '198.51.100.7' } },
      ],
    });
    const d = decodeDns(m);
    expect(d.answers.map((a) => a.data)).toEqual(['cdn.example.com', '198.51.100.7']);
    expect(m.length).toBeLessThan(12 + 21 + 4 + 12 + 17 + 12 + 4 + 4); // well under the uncompressed size
  });

  it('rejects invalid names and mismatched addresses', () => {
    expect(() => splitName('a..b')).toThrow(/empty label/);
    expect(() => splitName(`${'x'.repeat(64)}.example`)).toThrow(/longer than 63/);
    expect(() => splitName(Array.from({ length: 130 }, () => 'ab').join('.'))).toThrow(/255/);
    expect(() => dnsAnswer(1, 'a.example', QTYPE.A, ['2001:db8::1'], 60)).toThrow(/A record/);
    expect(splitName('example.com.')).toEqual(['example', 'com']);
    expect(splitName('.')).toEqual([]);
  });
});
