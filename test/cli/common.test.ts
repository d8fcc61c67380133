import { describe, expect, it } from 'vitest';
import { parseDuration, parseTime, UsageError } from '../../src/cli/common.js';
import { chooseBucket, parseGroupBy } from '../../src/cli/query-options.js';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

describe('parseTime', () => {
  it.each([
    ['now', NOW],
    ['24h', NOW - 86_400_000],
    ['7d', NOW - 7 * 86_400_000],
    ['90s', NOW - 90_000],
    ['2026-11-01', Date.UTC(2026, 10, 1)],
    ['2026-11-01T12:30', Date.UTC(2026, 10, 1, 12, 30)],
    ['2026-11-01 12:30:15', Date.UTC(2026, 10, 1, 12, 30, 15)],
    ['2026-11-01T12:30:00Z', Date.UTC(2026, 10, 1, 12, 30)],
    ['2026-11-01T12:30:00+02:00', Date.UTC(2026, 10, 1, 10, 30)],
    ['1793577600', 1793577600_000],
    ['1793577600123', 1793577600123],
  ])('%s', (text, want) => expect(parseTime(text, NOW)).toBe(want));

  it.each(['yesterday', '', '2026-13-45', '12', '-5h', '5 h'])('rejects %j', (text) => {
    expect(() => parseTime(text, NOW)).toThrow(UsageError);
  });
});

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['2w', 14 * 86_400_000],
  ])('%s', (t, ms) => expect(parseDuration(t)).toBe(ms));
  it.each(['0s', '5', 'h', '5y'])('rejects %j', (t) => expect(() => parseDuration(t)).toThrow(UsageError));
});

describe('parseGroupBy', () => {
  it('expands aliases and prefixes', () => {
    expect(parseGroupBy('device')).toEqual([{ field: 'device_id' }]);
    expect(parseGroupBy('app')).toEqual([{ field: 'proto' }, { field: 'service_port' }]);
    expect(parseGroupBy('destination')).toEqual([{ field: 'peer_addr', prefix: { v6: 48, v4: 24 }, as: 'peer_addr' }]);
    expect(parseGroupBy('dst_addr/56, family')).toEqual([{ field: 'dst_addr', prefix: { v6: 56, v4: 24 }, as: 'dst_addr' }, { field: 'family' }]);
  });
  it.each(['nope', 'bytes', 'proto/8', 'dst_addr/200', 'dst_addr/64/33', ''])('rejects %j', (s) => {
    expect(() => parseGroupBy(s)).toThrow(UsageError);
  });
});

describe('chooseBucket', () => {
  it('keeps series at most ~200 points', () => {
    expect(chooseBucket({ since: 0, until: 7 * 86_400_000 })).toBe(3_600_000);
    expect(chooseBucket({ since: 0, until: 3_600_000 })).toBe(60_000);
    expect(chooseBucket({ since: 0, until: 365 * 86_400_000 })).toBe(7 * 86_400_000);
    expect(chooseBucket({ since: 0, until: 1 }, '1d')).toBe(86_400_000);
  });
});
