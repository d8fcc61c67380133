/**
 * Unbound log lines: the shapes Unbound 1.17 writes to its logfile (default, log-time-ascii,
 * log-tag-queryreply), syslog forms, malformed lines with their line numbers, the rows a reply
 * becomes (never an AAAA record from a NOERROR line), and a fuzz run that must never throw.
 */
import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import { unboundLogRow } from '../../../src/pipeline/dns-log-facts.js';
import { parseUnboundLog, parseUnboundLogLine } from '../../../src/sources/dns/unbound-log.js';
import { xorshift32 } from '../../helpers/rng.js';

// Lines as Unbound 1.17.1 wrote them (log-replies, log-queries, log-local-actions, log-servfail).
const LOGFILE = `[1796128168] unbound[29672:0] notice: init module 0: iterator
[1796128168] unbound[29672:0] info: start of service (unbound 1.17.1).
[1796128170] unbound[29672:0] info: 127.0.0.1 a.v6.test. A IN
[1796128170] unbound[29672:0] info: v6.test. static 127.0.0.1@40227 a.v6.test. A IN
[1796128170] unbound[29672:0] info: 127.0.0.1 a.v6.test. A IN NOERROR 0.000000 1 54
[1796128170] unbound[29672:0] info: 127.0.0.1 nope.v6.test. AAAA IN NXDOMAIN 0.000000 1 41
[1796128170] unbound[29672:0] info: 127.0.0.1 example.com. A IN
[1796128170] unbound[29672:0] error: SERVFAIL <example.com. A IN>: failed to get a delegation (eg. prime failure)
[1796128170] unbound[29672:0] info: 127.0.0.1 example.com. A IN SERVFAIL 0.006396 0 40
`;

describe('parseUnboundLogLine', () => {
  it('reads a reply line: client, name (lower case, no dot), type, class, rcode, duration, cached, size', () => {
    const r = parseUnboundLogLine('[1796128170] unbound[29672:0] info: 2001:db8::5 WWW.Example.COM. AAAA IN NOERROR 0.012500 0 98');
    expect(r.entry).toEqual({ kind: 'reply', timeMs: 1_796_128_170_000, client: '2001:db8::5', name: 'www.example.com', qtype: 28, qclass: 1, rcode: 0, durationMs: 12.5, cached: false, size: 98 });
  });

  it('log-tag-queryreply and log-time-ascii (local time, year from the reference time)', () => {
    const now = new Date(2026, 11, 1, 13, 0, 0).getTime();
    const q = parseUnboundLogLine('Dec 01 12:29:57 unbound[29856:0] query: 127.0.0.1 both.v6.test. AAAA IN', { now });
    expect(q.entry).toEqual({ kind: 'query', timeMs: new Date(2026, 11, 1, 12, 29, 57).getTime(), client: '127.0.0.1', name: 'both.v6.test', qtype: 28, qclass: 1 });
    const r = parseUnboundLogLine('Dec 01 12:29:57 unbound[29856:0] reply: 127.0.0.1 both.v6.test. AAAA IN NOERROR 0.000000 1 69', { now });
    expect(r.entry).toMatchObject({ kind: 'reply', rcode: 0, cached: true, size: 69 });
    // A December line read in January belongs to the previous year.
    const jan = new Date(2027, 0, 2).getTime();
    expect(parseUnboundLogLine('Dec 31 23:00:00 unbound[1:0] info: 10.0.0.2 x.example. A IN NXDOMAIN 0.000000 0 40', { now: jan }).entry!.timeMs).toBe(new Date(2026, 11, 31, 23).getTime());
    expect(parseUnboundLogLine('Dec 31 23:00:00 unbound[1:0] info: 10.0.0.2 x.example. A IN NXDOMAIN 0.000000 0 40', { year: 2020 }).entry!.timeMs).toBe(new Date(2020, 11, 31, 23).getTime());
  });

  it('syslog forms (classic, RFC 3339, journalctl with pid) and an ISO logfile timestamp', () => {
    const a = parseUnboundLogLine('Dec  1 12:29:57 router unbound: [2211:1] info: 192.168.1.20 cdn.example. A IN NOERROR 0.031000 0 61', { year: 2026 });
    expect(a.entry).toMatchObject({ kind: 'reply', client: '192.168.1.20', name: 'cdn.example', timeMs: new Date(2026, 11, 1, 12, 29, 57).getTime() });
    const b = parseUnboundLogLine('2026-12-01T12:29:57.500000+01:00 router unbound[2211]: [2211:0] reply: fe80::1%eth0 cdn.example. AAAA IN NXDOMAIN 0.000100 0 50');
    expect(b.entry).toMatchObject({ kind: 'reply', client: 'fe80::1%eth0', qtype: 28, rcode: 3, timeMs: Date.UTC(2026, 11, 1, 11, 29, 57, 500) });
    const c = parseUnboundLogLine('2026-12-01T12:29:57.123Z unbound[5:0] info: 10.1.1.1 a.example. A IN NOERROR 0.000000 1 45');
    expect(c.entry).toMatchObject({ kind: 'reply', timeMs: Date.UTC(2026, 11, 1, 12, 29, 57, 123) });
    expect(parseUnboundLogLine('Dec  1 12:29:58 router sshd[99]: Accepted publickey for root').foreign).toBe(true);
  });

  it('local actions, SERVFAIL reasons, FORMERR replies, other lines', () => {
    expect(parseUnboundLogLine('[1] unbound[1:0] info: ads.example. always_nxdomain 10.0.0.9@5353 track.ads.example. AAAA IN').entry).toEqual({
      kind: 'local-action', timeMs: 1000, zone: 'ads.example', zoneType: 'always_nxdomain', client: '10.0.0.9', name: 'track.ads.example', qtype: 28,
    });
    expect(parseUnboundLogLine('[1] unbound[1:0] error: SERVFAIL <example.com. A IN>: exceeded the maximum nameserver nxdomains').entry).toEqual({
      kind: 'servfail', timeMs: 1000, name: 'example.com', qtype: 1, reason: 'exceeded the maximum nameserver nxdomains',
    });
    expect(parseUnboundLogLine('[1] unbound[1:0] info: 10.0.0.9 - - - FORMERR - - - ').entry).toEqual({ kind: 'other', timeMs: 1000 });
    expect(parseUnboundLogLine('[1] unbound[1:0] info: server stats for thread 0: 5 queries').entry).toEqual({ kind: 'other', timeMs: 1000 });
    expect(parseUnboundLogLine('[1] unbound[1:0] reply: 10.0.0.9 . NS IN NOERROR 0.000000 1 500').entry).toMatchObject({ name: '', qtype: 2 });
    expect(parseUnboundLogLine('[1] unbound[1:0] reply: 10.0.0.9 x.example. TYPE65534 IN NOERROR 0.000000 1 50').entry).toMatchObject({ qtype: 65534 });
  });

  it('malformed lines say why', () => {
    const bad: [string, RegExp][] = [
      ['garbage', /not an Unbound log line/],
      ['[1] unbound[1:0] reply: 10.0.0.9 x.example. A IN', /without rcode/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example. A IN NOERROR 0.000000 1', /7 fields/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example. BOGUS IN NOERROR 0.000000 1 40', /unknown type "BOGUS"/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example. A IN MAYBE 0.000000 1 40', /unknown rcode "MAYBE"/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example A IN NOERROR 0.000000 1 40', /bad name/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example. A IN NOERROR fast 1 40', /bad duration/],
      ['[1] unbound[1:0] info: 10.0.0.9 x.example. A IN NOERROR 0.000000 2 40', /bad cached flag/],
      ['Dec  1 12:29:58 router unbound: info: no thread prefix', /without its \[pid:thread\] prefix/],
      ['Foo 99 12:00:00 unbound[1:0] info: 10.0.0.9 x.example. A IN NOERROR 0.000000 1 40', /bad timestamp/],
    ];
    for (const [line, why] of bad) expect(parseUnboundLogLine(line).error, line).toMatch(why);
  });
});

describe('parseUnboundLog + rows', () => {
  it('counts each kind and reports malformed lines by number; the rest is kept', () => {
    const text = `${LOGFILE}this line is junk\n\n[1796128171] unbound[29672:0] info: 127.0.0.1 six.v6.test. AAAA IN NOERROR 0.000000 1 68\n`;
    const r = parseUnboundLog(text);
    expect(r.stats).toEqual({ lines: 12, replies: 4, queries: 2, localActions: 1, servfails: 1, other: 3, malformed: 1 });
    expect(r.errors).toEqual([{ line: 10, message: 'not an Unbound log line', text: 'this line is junk' }]);
    expect(r.entries.filter((e) => e.kind === 'reply').map((e) => (e as { name: string }).name)).toEqual(['a.v6.test', 'nope.v6.test', 'example.com', 'six.v6.test']);
  });

  it('a NOERROR reply is "noerror" (content unknown), never an address; NXDOMAIN and SERVFAIL keep their meaning', () => {
    const r = parseUnboundLog(LOGFILE);
    const rows = r.entries.map((e) => unboundLogRow(e)).filter((x) => x !== null);
    expect(rows.map((x) => [x.name, x.qtype, x.kind, x.answer_family, formatIP(x.client_addr as Uint8Array, 4), x.time])).toEqual([
      ['a.v6.test', 1, 'noerror', 0, '127.0.0.1', 1_796_128_170_000],
      ['nope.v6.test', 28, 'nxdomain', 0, '127.0.0.1', 1_796_128_170_000],
      ['example.com', 1, 'error', 0, '127.0.0.1', 1_796_128_170_000],
    ]);
    // Other types and classes make no row.
    const txt = parseUnboundLogLine('[1] unbound[1:0] info: 10.0.0.9 x.example. TXT IN NOERROR 0.000000 1 50').entry!;
    expect(unboundLogRow(txt)).toBeNull();
    const ch = parseUnboundLogLine('[1] unbound[1:0] info: 10.0.0.9 version.bind. A CH NOERROR 0.000000 1 50').entry!;
    expect(unboundLogRow(ch)).toBeNull();
  });

  it('fuzz: mutated lines never throw', () => {
    const rnd = xorshift32(77);
    const lines = LOGFILE.split('\n').filter(Boolean);
    const alphabet = ' .:[]@-0123456789abcdefABCDEFINOXRSTUVWYZ\t<>%';
    let malformed = 0;
    for (let n = 0; n < 20_000; n++) {
      const chars = [...lines[rnd() % lines.length]!];
      const edits = 1 + (rnd() % 4);
      for (let i = 0; i < edits; i++) {
        const at = rnd() % (chars.length + 1);
        const op = rnd() % 3;
        const c = alphabet[rnd() % alphabet.length]!;
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      const r = parseUnboundLogLine(chars.join(''));
      if (r.error) malformed++;
    }
    expect(malformed).toBeGreaterThan(0);
  });
});
