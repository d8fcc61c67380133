/**
 * IPv6 share by bytes, packets and flows: overall, as a time series, and grouped by any dimension.
 *
 * share = IPv6 / (IPv4 + IPv6), computed separately for each metric (they differ: bulk transfers
 * weigh in bytes, chatty protocols in flows). Records from sources that cannot see IPv6 at all
 * (NetFlow v5 exporters) are listed as "not measurable" and kept out of every denominator: their
 * IPv4-only view says nothing about the network's IPv6 adoption.
 *
 * Everything goes through the store's query model, so the same code runs on every store.
 */
import { METRICS, SOURCE_KINDS, SOURCE_KIND_NAMES, type MetricName } from '../schema/fields.js';
import type { FilterExpr, GroupBy, Query, Row } from '../store/query.js';
import { groupKey } from '../store/query.js';
import type { FlowStore } from '../store/store.js';

export interface FamilySplit {
  ipv4: number;
  ipv6: number;
  /** ipv6 / (ipv4 + ipv6); null when there is no traffic at all. */
  ipv6Share: number | null;
}

export type Split3 = Record<MetricName, FamilySplit>;

export interface SeriesPoint extends Split3 {
  /** Bucket start, epoch ms. */
  time: number;
}

export interface GroupShare extends Split3 {
  /** Group key values (addresses as RFC 5952 text via the formatter given to shareByGroup). */
  key: Record<string, string | number>;
}

export interface NotMeasurableSource {
  sourceKind: string;
  exporterName: string;
  exporterAddr: Uint8Array;
  reason: string;
  bytes: number;
  packets: number;
  flows: number;
}

export interface ShareReport extends Split3 {
  since: number;
  until: number;
  series?: SeriesPoint[];
  groups?: GroupShare[];
  notMeasurable: NotMeasurableSource[];
  notes: string[];
  /** Tables that answered, for --explain. */
  tables: string[];
}

export interface ShareOptions {
  since: number;
  until: number;
  filter?: FilterExpr;
  /** Time-series bucket in ms (omit for no series). */
  bucket?: number;
  /** Group-by dimensions (omit for no groups). */
  groupBy?: readonly GroupBy[];
  /** Sort groups by this metric's total (default bytes), descending. */
  orderBy?: MetricName;
  /** Keep the top N groups (default 50). */
  limit?: number;
  /** Turns a group key value (addresses are Uint8Array) into text/number for output. */
  formatKey?: (field: string, value: Row[string], row: Row) => string | number;
}

const NOT_MEASURABLE_KINDS = SOURCE_KIND_NAMES.filter((k) => !SOURCE_KINDS[k].canSeeIPv6);

function emptySplit3(): Split3 {
  return {
    bytes: { ipv4: 0, ipv6: 0, ipv6Share: null },
    packets: { ipv4: 0, ipv6: 0, ipv6Share: null },
    flows: { ipv4: 0, ipv6: 0, ipv6Share: null },
  };
}

function addRow(target: Split3, row: Row): void {
  const fam = Number(row.family);
  if (fam !== 4 && fam !== 6) return; // the schema allows only 4 and 6; anything else is not traffic we can attribute
  for (const m of METRICS) {
    const v = Number(row[m] ?? 0);
    if (fam === 4) target[m].ipv4 += v;
    else target[m].ipv6 += v;
  }
}

function finish(s: Split3): Split3 {
  for (const m of METRICS) {
    const t = s[m].ipv4 + s[m].ipv6;
    s[m].ipv6Share = t > 0 ? s[m].ipv6 / t : null;
  }
  return s;
}

function and(a: FilterExpr | undefined, b: FilterExpr): FilterExpr {
  return a ? { op: 'and', args: [a, b] } : b;
}

/** The IPv6 share over [since, until), with optional series and groups. */
export async function computeShare(store: FlowStore, opts: ShareOptions): Promise<ShareReport> {
  const tables: string[] = [];
  const base = { since: opts.since, until: opts.until, metrics: METRICS } as const;

  // 1. Which sources contributed, and which of them cannot see IPv6.
  const bySource = await store.query({
    ...base,
    filter: opts.filter,
    groupBy: [{ field: 'source_kind' }, { field: 'exporter_name' }, { field: 'exporter_addr' }],
  });
  tables.push(bySource.table);
  const notMeasurable: NotMeasurableSource[] = [];
  for (const r of bySource.rows) {
    const kind = String(r.source_kind);
    if ((NOT_MEASURABLE_KINDS as string[]).includes(kind)) {
      notMeasurable.push({
        sourceKind: kind,
        exporterName: String(r.exporter_name),
        exporterAddr: r.exporter_addr as Uint8Array,
        reason: `${SOURCE_KINDS[kind as keyof typeof SOURCE_KINDS].label} cannot carry IPv6 flows`,
        bytes: Number(r.bytes),
        packets: Number(r.packets),
        flows: Number(r.flows),
      });
    }
  }
  const measurable: FilterExpr | undefined =
    notMeasurable.length > 0
      ? and(opts.filter, { op: 'in', field: 'source_kind', values: NOT_MEASURABLE_KINDS, negate: true })
      : opts.filter;

  // 2. Overall.
  const overall = await store.query({ ...base, filter: measurable, groupBy: [{ field: 'family' }] });
  tables.push(overall.table);
  const total = emptySplit3();
  for (const r of overall.rows) addRow(total, r);
  finish(total);

  const report: ShareReport = { since: opts.since, until: opts.until, ...total, notMeasurable, notes: [], tables };

  // 3. Series.
  if (opts.bucket) {
    const q: Query = { ...base, filter: measurable, groupBy: [{ field: 'family' }], bucket: opts.bucket };
    const res = await store.query(q);
    tables.push(res.table);
    const points = new Map<number, Split3>();
    for (const r of res.rows) {
      const t = Number(r.time);
      let p = points.get(t);
      if (!p) points.set(t, (p = emptySplit3()));
      addRow(p, r);
    }
    report.series = [...points.entries()].sort((a, b) => a[0] - b[0]).map(([time, s]) => ({ time, ...finish(s) }));
  }

  // 4. Groups.
  if (opts.groupBy && opts.groupBy.length > 0) {
    const res = await store.query({ ...base, filter: measurable, groupBy: [...opts.groupBy, { field: 'family' }] });
    tables.push(res.table);
    const keys = opts.groupBy.map(groupKey);
    const fmt = opts.formatKey ?? ((_f, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    const groups = new Map<string, GroupShare>();
    for (const r of res.rows) {
      const key: Record<string, string | number> = {};
      opts.groupBy.forEach((g, i) => {
        const k = keys[i]!;
        key[k] = fmt(g.field, r[k]!, r);
      });
      const id = JSON.stringify(key);
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key, ...emptySplit3() }));
      addRow(g, r);
    }
    const order = opts.orderBy ?? 'bytes';
    report.groups = [...groups.values()]
      .map((g) => ({ ...g, ...finish(g) }))
      .sort((a, b) => b[order].ipv4 + b[order].ipv6 - (a[order].ipv4 + a[order].ipv6))
      .slice(0, opts.limit ?? 50);
  }

  if (notMeasurable.length > 0) {
    report.notes.push(
      `${notMeasurable.length} source(s) cannot see IPv6 (${notMeasurable.map((n) => n.exporterName || n.sourceKind).join(', ')}): their traffic is listed as not measurable and kept out of every share.`,
    );
  }
  if (total.bytes.ipv4 + total.bytes.ipv6 === 0) report.notes.push('No measurable traffic in the selected time range.');
  return report;
}
