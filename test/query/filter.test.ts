import { describe, expect, it } from 'vitest';
import { parseIP } from '../../src/net/ip.js';
import { parsePrefix, prefixRange } from '../../src/net/prefix.js';
import { FilterError, formatFilter, parseFilter } from '../../src/query/filter.js';
import { QueryError } from '../../src/store/compile.js';
import type { FilterExpr } from '../../src/store/query.js';

const ip = (t: string): Uint8Array => parseIP(t).addr;
const range = (t: string): { first: Uint8Array; last: Uint8Array } => prefixRange(parsePrefix(t));

const GOOD: [string, FilterExpr][] = [
  ['family = 4', { op: 'cmp', field: 'family', cmp: '=', value: 4 }],
  ['family == 6', { op: 'cmp', field: 'family', cmp: '=', value: 6 }],
  ['FAMILY=6', { op: 'cmp', field: 'family', cmp: '=', value: 6 }],
  ['dst_port != 443', { op: 'cmp', field: 'dst_port', cmp: '!=', value: 443 }],
  ['dst_port <> 443', { op: 'cmp', field: 'dst_port', cmp: '!=', value: 443 }],
  ['src_port < 1024', { op: 'cmp', field: 'src_port', cmp: '<', value: 1024 }],
  ['src_port <= 1024', { op: 'cmp', field: 'src_port', cmp: '<=', value: 1024 }],
  ['src_port>1024', { op: 'cmp', field: 'src_port', cmp: '>', value: 1024 }],
  ['src_port >= 0x400', { op: 'cmp', field: 'src_port', cmp: '>=', value: 1024 }],
  ['proto = tcp', { op: 'cmp', field: 'proto', cmp: '=', value: 6 }],
  ['protocol = UDP', { op: 'cmp', field: 'proto', cmp: '=', value: 17 }],
  ['direction = outbound', { op: 'cmp', field: 'direction', cmp: '=', value: 2 }],
  ['port = 53', { op: 'cmp', field: 'service_port', cmp: '=', value: 53 }],
  ['device = "tv"', { op: 'cmp', field: 'device_id', cmp: '=', value: '00:00:5e:00:53:12' }],
  ['device = "unknown-name"', { op: 'cmp', field: 'device_id', cmp: '=', value: 'unknown-name' }],
  ['device = 00-00-5E-00-53-12', { op: 'cmp', field: 'device_id', cmp: '=', value: '00:00:5e:00:53:12' }],
  ['device_id = \'a\\\'b\\"c\\\\d\\n\\u00e9\'', { op: 'cmp', field: 'device_id', cmp: '=', value: 'a\'b"c\\d\né' }],
  ['dst_name = "news.example"', { op: 'cmp', field: 'dst_name', cmp: '=', value: 'news.example' }],
  ['name = www.example', { op: 'cmp', field: 'dst_name', cmp: '=', value: 'www.example' }],
  ['source_kind = PCAP', { op: 'cmp', field: 'source_kind', cmp: '=', value: 'pcap' }],
  ['src_mac = aa:bb:cc:dd:ee:ff', { op: 'cmp', field: 'src_mac', cmp: '=', value: 0xaabbccddeeff }],
  ['src_mac = aabb.ccdd.eeff', { op: 'cmp', field: 'src_mac', cmp: '=', value: 0xaabbccddeeff }],
  ['dst_mac = 0', { op: 'cmp', field: 'dst_mac', cmp: '=', value: 0 }],
  ['dst_addr = 2001:db8::1', { op: 'cmp', field: 'dst_addr', cmp: '=', value: ip('2001:db8::1') }],
  ['dst_addr = "2001:db8::1"', { op: 'cmp', field: 'dst_addr', cmp: '=', value: ip('2001:db8::1') }],
  ['peer = 192.0.2.7', { op: 'cmp', field: 'peer_addr', cmp: '=', value: ip('192.0.2.7') }],
  ['src = ::ffff:192.0.2.7', { op: 'cmp', field: 'src_addr', cmp: '=', value: ip('192.0.2.7') }],
  ['exporter_addr = ::', { op: 'cmp', field: 'exporter_addr', cmp: '=', value: new Uint8Array(16) }],
  ['dst_addr << 2001:db8::/32', { op: 'prefix', field: 'dst_addr', ...range('2001:db8::/32') }],
  ['dst_addr << 192.0.2.0/24', { op: 'prefix', field: 'dst_addr', ...range('192.0.2.0/24') }],
  ['dst_addr << "10.0.0.0/8"', { op: 'prefix', field: 'dst_addr', ...range('10.0.0.0/8') }],
  ['dst_addr << 192.0.2.1', { op: 'prefix', field: 'dst_addr', ...range('192.0.2.1/32') }],
  ['dst_addr NOT << fe80::/10', { op: 'not', arg: { op: 'prefix', field: 'dst_addr', ...range('fe80::/10') } }],
  ['dst_port IN (6881, 6889)', { op: 'in', field: 'dst_port', values: [6881, 6889] }],
  ['dst_port not in (80)', { op: 'in', field: 'dst_port', values: [80], negate: true }],
  ['proto IN (tcp, udp, 58)', { op: 'in', field: 'proto', values: [6, 17, 58] }],
  ['time_start >= 1767571200000', { op: 'cmp', field: 'time_start', cmp: '>=', value: 1767571200000 }],
  ['time_start < "2026-01-05T00:00Z"', { op: 'cmp', field: 'time_start', cmp: '<', value: Date.UTC(2026, 0, 5) }],
  [
    'family = 4 AND dst_port IN (6881, 6889) AND device = "tv"',
    {
      op: 'and',
      args: [
        { op: 'cmp', field: 'family', cmp: '=', value: 4 },
        { op: 'in', field: 'dst_port', values: [6881, 6889] },
        { op: 'cmp', field: 'device_id', cmp: '=', value: '00:00:5e:00:53:12' },
      ],
    },
  ],
  [
    'NOT (proto = 6 OR proto = 17)',
    { op: 'not', arg: { op: 'or', args: [{ op: 'cmp', field: 'proto', cmp: '=', value: 6 }, { op: 'cmp', field: 'proto', cmp: '=', value: 17 }] } },
  ],
  [
    '!(family = 4) && (proto = 6 || proto = 17)',
    {
      op: 'and',
      args: [
        { op: 'not', arg: { op: 'cmp', field: 'family', cmp: '=', value: 4 } },
        { op: 'or', args: [{ op: 'cmp', field: 'proto', cmp: '=', value: 6 }, { op: 'cmp', field: 'proto', cmp: '=', value: 17 }] },
      ],
    },
  ],
  // AND binds tighter than OR
  [
    'family = 4 or family = 6 and proto = 6',
    { op: 'or', args: [{ op: 'cmp', field: 'family', cmp: '=', value: 4 }, { op: 'and', args: [{ op: 'cmp', field: 'family', cmp: '=', value: 6 }, { op: 'cmp', field: 'proto', cmp: '=', value: 6 }] }] },
  ],
  ['  ((family = 6))  ', { op: 'cmp', field: 'family', cmp: '=', value: 6 }],
  ['not not family = 6', { op: 'not', arg: { op: 'not', arg: { op: 'cmp', field: 'family', cmp: '=', value: 6 } } }],
];

const names = new Map([['tv', '00:00:5e:00:53:12']]);

describe('parseFilter: valid expressions', () => {
  it.each(GOOD)('%s', (text, expected) => {
    expect(parseFilter(text, { deviceNames: names })).toEqual(expected);
  });

  it.each(GOOD)('round-trips through formatFilter: %s', (text) => {
    const e = parseFilter(text, { deviceNames: names });
    expect(parseFilter(formatFilter(e))).toEqual(e);
  });
});

/** [expression, expected column (1-based), reason pattern] */
const BAD: [string, number, RegExp][] = [
  ['', 1, /empty filter expression/],
  ['   ', 1, /empty filter expression/],
  ['dst_prot = 1', 1, /unknown field "dst_prot" at column 1 \(did you mean dst_port\?\)/],
  ['family = 4 AND dst_prot = 1', 16, /unknown field "dst_prot" at column 16 \(did you mean dst_port\?\)/],
  ['famly = 4', 1, /did you mean family\?/],
  ['xyzzy = 4', 1, /unknown field "xyzzy"/],
  ['bytes > 100', 1, /bytes is a metric/],
  ['time_received > 5', 1, /time axis: use the since\/until/],
  ['family = 5', 10, /family cannot be "5": its values are 4, 6/],
  ['family IN (4, 7)', 15, /family cannot be "7"/],
  ['direction = sideways', 13, /direction is a number field/],
  ['source_kind = pcapng', 15, /source_kind cannot be "pcapng".*did you mean pcap\?/],
  ['dst_port = 70000', 12, /out of range for dst_port \(u16: 0 to 65535\)/],
  ['proto = 256', 9, /out of range for proto/],
  ['proto = tpc', 9, /did you mean tcp\?/],
  ['dst_port = -1', 12, /expected an integer|unexpected/],
  ['dst_port = 1.5', 12, /expected an integer/],
  ['dst_port = "443"', 12, /write the number without quotes/],
  ['dst_addr = 2001:db8::g', 12, /invalid|character/i],
  ['dst_addr = 256.1.1.1', 12, /invalid|range|octet/i],
  ['dst_addr = 2001:db8::/32', 12, /is a prefix: use dst_addr << 2001:db8::\/32/],
  ['dst_addr << 2001:db8::/129', 13, /invalid prefix/],
  ['dst_addr << 192.0.2.0/33', 13, /invalid prefix/],
  ['dst_port << 10.0.0.0/8', 1, /needs an address field; dst_port is a u16 field/],
  ['dst_addr << ', 13, /expected a prefix/],
  ['src_mac = aa:bb:cc:dd:ee', 11, /invalid MAC|characters/i],
  ['src_mac = zz:bb:cc:dd:ee:ff', 11, /invalid MAC|unexpected character/i],
  ['family = 4 AND', 15, /expected a field name, got the end/],
  ['family = 4 AND OR family = 6', 16, /expected a field name, got the keyword OR/],
  ['family = 4 family = 6', 12, /expected AND, OR or the end of the expression, got "family"/],
  ['family', 7, /expected a comparison .* got end of expression/],
  ['family 4', 8, /expected a comparison/],
  ['family =', 9, /expected a value for family, got the end/],
  ['family = = 4', 10, /unexpected "=" after "="/],
  ['family => 4', 9, /unexpected|expected/],
  ['(family = 4', 1, /missing "\)" to close the "\(" here/],
  ['family = 4)', 11, /unbalanced "\)"/],
  ['()', 2, /empty parentheses/],
  ['dst_port IN ()', 14, /IN needs at least one value/],
  ['dst_port IN 80', 13, /expected "\(" after IN/],
  ['dst_port IN (80 443)', 17, /expected "," or "\)" in the IN list/],
  ['dst_port IN (80,', 17, /expected a value for dst_port, got the end/],
  ['dst_port IN (80', 13, /missing "\)" to close the IN list/],
  ['dst_port NOT = 80', 14, /expected IN or << after NOT/],
  ['device = "tv', 10, /unterminated string/],
  ['device = "a\\qb"', 12, /unknown escape \\q/],
  ['device = "\\u12"', 11, /invalid \\u escape/],
  ['device = "a\tb"', 12, /control character U\+0009 in string/],
  ['family = 4 ; drop table flows', 12, /unexpected character ";"/],
  ["family = 4' OR 1=1 --", 11, /unterminated string/],
  ['family = 4 # comment', 12, /unexpected character "#"/],
  ['dst_addr = fe80::1%eth0', 12, /zone|%/],
  ['time_start > "yesterday"', 14, /is a time: expected epoch milliseconds or an ISO date/],
  ['dst_port = in', 12, /got the keyword IN/],
  ['and = 1', 1, /got the keyword AND/],
  ['"family" = 4', 1, /expected a field name, got string "family"/],
  ['family = 4 AND dst_port IN (6881, 6889) AND device == tv AND ', 62, /expected a field name/],
  [`${'('.repeat(100)}family = 4${')'.repeat(100)}`, 66, /nested too deeply/],
  [`family = 4${' OR family = 4'.repeat(400)}`, 4097, /filter too long/],
];

describe('parseFilter: bad expressions give the position and the reason', () => {
  it.each(BAD)('%s', (text, column, reason) => {
    let err: unknown;
    try {
      parseFilter(text);
    } catch (e) {
      err = e;
    }
    expect(err, `no error for ${JSON.stringify(text)}`).toBeInstanceOf(FilterError);
    const fe = err as FilterError;
    expect(fe).toBeInstanceOf(QueryError);
    expect(fe.message).toMatch(reason);
    expect(fe.column).toBe(column);
    expect(fe.position).toBe(column - 1);
    expect(fe.message).toContain(`at column ${column}`);
    expect(fe.reason.length).toBeGreaterThan(0);
    expect(fe.message.startsWith(fe.reason)).toBe(true);
    expect(fe.toJSON()).toMatchObject({ position: column - 1, column, reason: fe.reason });
  });
});

describe('parseFilter: never SQL text', () => {
  it('keeps hostile strings as values', () => {
    const e = parseFilter(`dst_name = "x' OR 1=1; DROP TABLE raw; --"`);
    expect(e).toEqual({ op: 'cmp', field: 'dst_name', cmp: '=', value: "x' OR 1=1; DROP TABLE raw; --" });
  });
});
