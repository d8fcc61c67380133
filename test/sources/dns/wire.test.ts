/**
 * DNS wire reader: messages from the demo's independent RFC 1035 encoder and hand-built bytes,
 * damaged input (never an exception), and — on a real capture — agreement with tshark's own DNS
 * dissector on every response.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeDnsMessage, QTYPE, dnsAnswer, dnsQuery, type DnsMessage } from '../../../src/demo/dns.js';
import { generateDemo } from '../../../src/demo/index.js';
import { formatIP } from '../../../src/net/ip.js';
import { parseDnsMessage, RR_TYPE, summariseAnswer } from '../../../src/sources/dns/wire.js';
import type { DnsSighting } from '../../../src/sources/dns/sighting.js';
import { captureToFlows } from '../../../src/sources/packets/index.js';
import { xorshift32 } from '../../helpers/rng.js';
import { requireTools } from '../../helpers/tools.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-dns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOA = { mname: 'ns1.example', rname: 'hostmaster.example', serial: 1, refresh: 7200, retry: 3600, expire: 1209600, minimum: 120 };

function msg(m: Partial<DnsMessage> & Pick<DnsMessage, 'questions'>): Uint8Array {
  return encodeDnsMessage({ id: 0x1234, response: true, recursionAvailable: true, ...m });
}

describe('parseDnsMessage / summariseAnswer', () => {
  it('reads an AAAA answer (compressed names) with its TTL', () => {
    const b = dnsAnswer(7, 'Video.Example.NET', QTYPE.AAAA, ['2001:db8:f00d::10', '2001:db8:f00d::11'], 300);
    const r = parseDnsMessage(b);
    expect(r.error).toBeUndefined();
    expect(r.message!.id).toBe(7);
    expect(r.message!.questions).toEqual([{ name: 'video.example.net', type: RR_TYPE.AAAA, class: 1 }]);
    expect(summariseAnswer(r.message!)).toEqual({
      name: 'video.example.net',
      qtype: 28,
      kind: 'addresses',
      addresses: ['2001:db8:f00d::10', '2001:db8:f00d::11'],
      cnames: [],
      ttl: 300,
    });
  });

  it('NODATA: the name exists without AAAA; negative TTL = min(SOA TTL, SOA minimum)', () => {
    const b = msg({
      questions: [{ name: 'news.example', type: QTYPE.AAAA }],
      authority: [{ name: 'example', ttl: 900, data: { type: QTYPE.SOA, soa: SOA } }],
    });
    expect(summariseAnswer(parseDnsMessage(b).message!)).toMatchObject({ kind: 'nodata', addresses: [], ttl: 120 });
    // without an SOA (RFC 2308 type 2) the negative TTL is unknown: 0
    const b2 = dnsAnswer(1, 'news.example', QTYPE.AAAA, [], 60, { soaForNodata: false });
    expect(summariseAnswer(parseDnsMessage(b2).message!)).toMatchObject({ kind: 'nodata', ttl: 0 });
  });

  it('NXDOMAIN and SERVFAIL', () => {
    const nx = msg({ rcode: 3, questions: [{ name: 'nope.example', type: QTYPE.A }], authority: [{ name: 'example', ttl: 60, data: { type: QTYPE.SOA, soa: SOA } }] });
    expect(summariseAnswer(parseDnsMessage(nx).message!)).toMatchObject({ kind: 'nxdomain', ttl: 60 });
    const sf = msg({ rcode: 2, questions: [{ name: 'x.example', type: QTYPE.A }] });
    expect(summariseAnswer(parseDnsMessage(sf).message!)).toMatchObject({ kind: 'error' });
  });

  it('follows a CNAME chain to the addresses; TTL is the smallest along it', () => {
    const b = msg({
      questions: [{ name: 'www.shop.example', type: QTYPE.A }],
      answers: [
        { name: 'www.shop.example', ttl: 3600, data: { type: QTYPE.CNAME, target: 'shop.cdn.example' } },
        { name: 'shop.cdn.example', ttl: 600, data: { type: QTYPE.CNAME, target: 'edge7.cdn.example' } },
        { name: 'edge7.cdn.example', ttl: 20, data: { type: QTYPE.A, address: '203.0.113.45' } },
        { name: 'unrelated.example', ttl: 5, data: { type: QTYPE.A, address: '192.0.2.1' } },
      ],
    });
    expect(summariseAnswer(parseDnsMessage(b).message!)).toEqual({
      name: 'www.shop.example',
      qtype: 1,
      kind: 'addresses',
      addresses: ['203.0.113.45'],
      cnames: ['shop.cdn.example', 'edge7.cdn.example'],
      ttl: 20,
    });
    // a CNAME chain that ends without an address of the asked type is NODATA for that type
    const dangling = msg({ questions: [{ name: 'a.example', type: QTYPE.AAAA }], answers: [{ name: 'a.example', ttl: 60, data: { type: QTYPE.CNAME, target: 'b.example' } }] });
    expect(summariseAnswer(parseDnsMessage(dangling).message!)).toMatchObject({ kind: 'nodata', cnames: ['b.example'] });
  });

  it('queries, other question types and non-IN classes are not summarised', () => {
    expect(summariseAnswer(parseDnsMessage(dnsQuery(1, 'a.example', QTYPE.A)).message!)).toBeNull();
    expect(summariseAnswer(parseDnsMessage(msg({ questions: [{ name: 'a.example', type: 16 }] })).message!)).toBeNull();
    expect(summariseAnswer(parseDnsMessage(msg({ questions: [{ name: 'a.example', type: 1, class: 3 }] })).message!)).toBeNull();
  });

  it('escapes label bytes that would be ambiguous in text', () => {
    // one label "a.b" and a label with a space and a high byte
    const b = new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x2e, 0x62, 3, 0x20, 0xff, 0x5c, 0, 0, 1, 0, 1]);
    expect(parseDnsMessage(b).message!.questions[0]!.name).toBe('a\\046b.\\032\\255\\092');
  });

  it.each([
    ['a short header', new Uint8Array(11), /shorter than the 12-byte header/],
    ['a forward pointer', new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1]), /points forward/],
    ['a pointer to itself', new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]), /points forward/],
    ['a label past the end', new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 9, 0x61]), /runs past/],
    ['an extended label type', new Uint8Array([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0]), /label type/],
    ['huge counts', new Uint8Array([0, 1, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), /counts exceed/],
  ])('rejects %s with a reason', (_what, b, re) => {
    const r = parseDnsMessage(b);
    expect(r.message).toBeUndefined();
    expect(r.error).toMatch(re);
  });

  it('rejects an A record whose data is not 4 bytes', () => {
    const good = dnsAnswer(1, 'a.example', QTYPE.A, ['192.0.2.1'], 60);
    const bad = Uint8Array.from(good);
    // the RDLENGTH of the only answer is the 2 bytes before the last 4
    bad[bad.length - 6] = 0;
    bad[bad.length - 5] = 3;
    expect(parseDnsMessage(bad.subarray(0, bad.length - 1)).error).toMatch(/A record with 3 bytes/);
  });

  it('every truncation of a valid response is an error, and 50,000 mutations never throw', () => {
    const samples = [
      dnsAnswer(9, 'video.example.net', QTYPE.AAAA, ['2001:db8:f00d::10'], 300),
      dnsAnswer(9, 'news.example', QTYPE.AAAA, [], 300),
      msg({ questions: [{ name: 'www.shop.example', type: QTYPE.A }], answers: [{ name: 'www.shop.example', ttl: 1, data: { type: QTYPE.CNAME, target: 'shop.example' } }, { name: 'shop.example', ttl: 1, data: { type: QTYPE.A, address: '203.0.113.45' } }] }),
    ];
    for (const s of samples) for (let n = 0; n < s.length; n++) expect(parseDnsMessage(s.subarray(0, n)).error, `cut at ${n}`).toBeDefined();
    const next = xorshift32(1035);
    let parsed = 0;
    for (let i = 0; i < 50_000; i++) {
      const s = samples[i % samples.length]!;
      const b = Uint8Array.from(s.subarray(0, next() % 3 === 0 ? next() % (s.length + 1) : s.length));
      for (let k = next() % 4; k >= 0 && b.length > 0; k--) b[next() % b.length] = next() & 0xff;
      const r = parseDnsMessage(b); // must not throw
      if (r.message) {
        parsed++;
        summariseAnswer(r.message);
      }
    }
    expect(parsed).toBeGreaterThan(0);
  });
});

describe('passive DNS from a capture, cross-checked with tshark', () => {
  const haveTshark = requireTools('tshark');

  it.skipIf(!haveTshark)('every A/AAAA response in the demo capture, as tshark reads it', async () => {
    const demo = await generateDemo({ seed: 4, start: Date.UTC(2026, 0, 5), days: 1, outDir: path.join(dir, 'demo') });
    const seen: DnsSighting[] = [];
    const stats = await captureToFlows(demo.pcapPath, { exporterName: 'x', onFlows: () => undefined, onDns: (s) => seen.push(s) });
    expect(stats.dns.malformed).toBe(0);
    expect(stats.dns.sightings).toBe(seen.length);

    const out = execFileSync(
      'tshark',
      ['-r', demo.pcapPath, '-Y', 'udp.srcport == 53 && dns.flags.response == 1', '-T', 'fields', '-E', 'separator=|', '-e', 'dns.qry.name', '-e', 'dns.qry.type', '-e', 'dns.a', '-e', 'dns.aaaa', '-e', 'ip.dst', '-e', 'ipv6.dst'],
      { maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] },
    ).toString();
    const expected = out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [name, type, a, aaaa, dst4, dst6] = l.split('|');
        const addrs = (Number(type) === 1 ? a : aaaa)!.split(',').filter(Boolean);
        return `${name!.toLowerCase()} ${type} ${dst4 || dst6} ${addrs.join(',')}`;
      });
    const got = seen.map((s) => `${s.answer.name} ${s.answer.qtype} ${formatIP(s.client, s.family)} ${s.answer.addresses.join(',')}`);
    expect(got.length).toBeGreaterThan(100);
    expect(got).toEqual(expected);

    // and the names' answers are the ones the generator's resolver gives
    const truth = new Map(demo.truth.dns.map((d) => [d.name, d]));
    for (const s of seen) {
      const t = truth.get(s.answer.name)!;
      for (const a of s.answer.addresses) expect(s.answer.qtype === 1 ? t.a : t.aaaa).toContain(a);
      if (s.answer.qtype === 28 && t.aaaa.length === 0) expect(s.answer.kind).toBe('nodata');
      expect(s.answer.ttl).toBeLessThanOrEqual(t.ttl);
    }
  });
});
