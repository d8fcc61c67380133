/** Top talkers of one address family by any dimension, with each one's share of that family's traffic. */
import { METRICS, type MetricName } from '../schema/fields.js';
import type { FilterExpr, GroupBy, Row } from '../store/query.js';
import { groupKey } from '../store/query.js';
import type { FlowStore } from '../store/store.js';

export interface Talker {
  key: Record<string, string | number>;
  bytes: number;
  packets: number;
  flows: number;
  /** This talker's fraction of all bytes of the family in the range. */
  shareOfFamilyBytes: number;
}

export interface TalkersOptions {
  since: number;
  until: number;
  family: 4 | 6;
  groupBy: readonly GroupBy[];
  filter?: FilterExpr;
  orderBy?: MetricName;
  limit?: number;
  formatKey?: (field: string, value: Row[string], row: Row) => string | number;
}

export async function topTalkers(store: FlowStore, o: TalkersOptions): Promise<{ talkers: Talker[]; familyBytes: number; table: string }> {
  const famFilter: FilterExpr = { op: 'cmp', field: 'family', cmp: '=', value: o.family };
  const filter: FilterExpr = o.filter ? { op: 'and', args: [o.filter, famFilter] } : famFilter;
  const totalRes = await store.query({ since: o.since, until: o.until, filter, metrics: ['bytes'] });
  const familyBytes = Number(totalRes.rows[0]?.bytes ?? 0);
  // The family is a group key too, so that address keys are formatted in the right family.
  const res = await store.query({
    since: o.since,
    until: o.until,
    filter,
    groupBy: [...o.groupBy, { field: 'family' }],
    metrics: METRICS,
    orderBy: o.orderBy ?? 'bytes',
    limit: o.limit ?? 10,
  });
  const keys = o.groupBy.map(groupKey);
  const fmt = o.formatKey ?? ((_f: string, v: Row[string]) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  const talkers = res.rows.map((r) => {
    const key: Record<string, string | number> = {};
    o.groupBy.forEach((g, i) => {
      key[keys[i]!] = fmt(g.field, r[keys[i]!]!, r);
    });
    const bytes = Number(r.bytes);
    return { key, bytes, packets: Number(r.packets), flows: Number(r.flows), shareOfFamilyBytes: familyBytes > 0 ? bytes / familyBytes : 0 };
  });
  return { talkers, familyBytes, table: res.table };
}
