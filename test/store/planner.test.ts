import { describe, expect, it } from 'vitest';
import { planTable, tableSpecs, whyNot } from '../../src/store/planner.js';
import { DEFAULT_RETENTION, type Query } from '../../src/store/index.js';
import { ROLLUP_DIMENSIONS } from '../../src/schema/fields.js';

const H = 3_600_000;
const M = 60_000;
const T = Date.UTC(2026, 10, 2);
const specs = tableSpecs(DEFAULT_RETENTION);

describe('planner', () => {
  it('derives raw (all dimensions) and three rollups (only rollup dimensions) from the schema', () => {
    expect(specs.map((s) => [s.name, s.resolutionMs])).toEqual([
      ['raw', 0],
      ['rollup_1m', M],
      ['rollup_5m', 5 * M],
      ['rollup_1h', H],
    ]);
    for (const s of specs.slice(1)) expect(s.dimensions).toEqual(ROLLUP_DIMENSIONS.map((f) => f.name));
    expect(specs[0]!.dimensions).toContain('src_addr');
    expect(specs[1]!.dimensions).not.toContain('src_addr');
  });

  it.each<[string, Query, string]>([
    ['hour-aligned totals', { since: T, until: T + 24 * H }, 'rollup_1h'],
    ['hourly series', { since: T, until: T + 24 * H, bucket: H }, 'rollup_1h'],
    ['5-minute series', { since: T, until: T + H, bucket: 5 * M }, 'rollup_5m'],
    ['range on 5-minute boundaries', { since: T + 5 * M, until: T + H }, 'rollup_5m'],
    ['1-minute series', { since: T, until: T + H, bucket: M }, 'rollup_1m'],
    ['range on minute boundaries', { since: T + M, until: T + H }, 'rollup_1m'],
    ['range off minute boundaries', { since: T + 1, until: T + H }, 'raw'],
    ['30 s buckets', { since: T, until: T + H, bucket: 30_000 }, 'raw'],
    ['7-minute buckets', { since: T, until: T + H, bucket: 7 * M }, 'rollup_1m'],
    ['group by device', { since: T, until: T + H, groupBy: [{ field: 'device_id' }] }, 'rollup_1h'],
    ['group by a high-cardinality field', { since: T, until: T + H, groupBy: [{ field: 'src_addr' }] }, 'raw'],
    ['filter on a high-cardinality field', { since: T, until: T + H, filter: { op: 'cmp', field: 'dst_port', cmp: '=', value: 443 } }, 'raw'],
    [
      'nested filter on rollup fields',
      { since: T, until: T + H, filter: { op: 'not', arg: { op: 'or', args: [{ op: 'cmp', field: 'family', cmp: '=', value: 4 }, { op: 'in', field: 'proto', values: [6] }] } } },
      'rollup_1h',
    ],
  ])('%s → %s', (_name, q, table) => {
    expect(planTable(q, specs).name).toBe(table);
  });

  it('skips a rollup that retention has pruned before `since`, and says why', () => {
    const q: Query = { since: T, until: T + 24 * H, bucket: H };
    const retained = new Map([['rollup_1h', T + H]]);
    expect(planTable(q, specs, retained).name).toBe('rollup_5m');
    expect(whyNot(q, specs[3]!, retained)).toMatch(/only holds data from/);
    expect(whyNot({ since: T, until: T + H, groupBy: [{ field: 'src_addr' }] }, specs[3]!)).toMatch(/lacks src_addr/);
    expect(whyNot({ since: T + 1, until: T + H }, specs[1]!)).toMatch(/not aligned/);
  });
});
