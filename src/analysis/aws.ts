/**
 * The AWS report: IPv6 adoption and performance from VPC/TGW flow logs and ALB/NLB/CloudFront
 * access logs. Shares are IPv6 / (IPv4 + IPv6) of the same quantity (never a count over itself);
 * NODATA/SKIPDATA rows and rows without an address family are outside every denominator.
 *
 * Inputs: the flow store (per kind, VPC, subnet, interface, direction and action — the schema's
 * vpc_id, subnet_id, interface_id, action and direction fields; distinct clients and their /64 and
 * /48 prefixes) and the AWS side aggregate (first-sighting totals, NODATA/SKIPDATA, address
 * classes, hourly trend, latency histograms).
 */
import { formatIP } from '../net/ip.js';
import type { AwsSummary, Counters } from '../sources/cloud/summary.js';
import type { RequestCell } from '../sources/cloud/requests.js';
import type { FlowStore } from '../store/store.js';
import type { Row } from '../store/query.js';

export interface FamilySplit {
  v4: number;
  v6: number;
  /** v6 / (v4 + v6); null when both are 0. */
  share: number | null;
}

export interface TrafficShare {
  flows: FamilySplit;
  bytes: FamilySplit;
  packets: FamilySplit;
}

export interface GroupShare extends TrafficShare {
  key: string;
}

export interface RequestFamilyStats {
  requests: number;
  latencyMs: { p50: number | null; p90: number | null; p99: number | null; mean: number | null };
  rate4xx: number | null;
  rate5xx: number | null;
  requestBytes: { mean: number | null; p50: number | null; p99: number | null };
  responseBytes: { mean: number | null; p50: number | null; p99: number | null };
}

export interface AwsReport {
  objects: number;
  flowLogs: {
    /** Every record (one connection seen on N interfaces counts N times). */
    all: TrafficShare;
    /** First sightings: one connection counted once across interfaces. */
    unique: TrafficShare;
    byKind: GroupShare[];
    byVpc: GroupShare[];
    bySubnet: GroupShare[];
    byInterface: GroupShare[];
    byDirection: GroupShare[];
    reject: { v4: { flows: number; rejected: number; share: number | null }; v6: { flows: number; rejected: number; share: number | null } };
    nodata: number;
    skipdata: number;
    noFamily: number;
  };
  requests: {
    total: FamilySplit;
    byKind: { kind: string; requests: FamilySplit; v4: RequestFamilyStats; v6: RequestFamilyStats }[];
    clients: FamilySplit;
    topV6Clients64: { prefix: string; requests: number; bytes: number }[];
    topV6Clients48: { prefix: string; requests: number; bytes: number }[];
  };
  addressTypes: { source: string; role: string; family: number; class: string; count: number }[];
  trend: { hour: string; flows: FamilySplit; bytes: FamilySplit }[];
  mappedAsIPv4: number;
}

/** Flow log (VPC, TGW) figures from the store: per kind, VPC, subnet, interface, direction, action. */
async function flowLogGroups(store: FlowStore, top: number) {
  const range = await store.timeRange();
  if (!range) return null;
  const filter = { op: 'in', field: 'source_kind', values: [...FLOW_KINDS] } as const;
  const by = async (field: string): Promise<[string, string, Counters][]> => {
    const r = await store.query({ since: range.min, until: range.max + 1, filter, groupBy: [{ field }, { field: 'family' }], metrics: ['flows', 'bytes', 'packets'] });
    return r.rows.map((row: Row) => [String(row[field]), String(row.family), { flows: Number(row.flows), bytes: Number(row.bytes), packets: Number(row.packets) }]);
  };
  const kinds = await by('source_kind');
  const all = new Acc();
  for (const [, fam, c] of kinds) all.add(fam, c);
  const nonEmpty = (rows: [string, string, Counters][]) => rows.filter(([k]) => k !== '');
  const dirName: Record<string, string> = { '0': 'unknown', '1': 'ingress', '2': 'egress' };
  const reject = { v4: { flows: 0, rejected: 0 }, v6: { flows: 0, rejected: 0 } };
  for (const [action, fam, c] of await by('action')) {
    const r = fam === '6' ? reject.v6 : reject.v4;
    r.flows += c.flows;
    if (action === 'REJECT') r.rejected += c.flows;
  }
  return {
    all: all.share(),
    byKind: grouped(kinds),
    byVpc: grouped(nonEmpty(await by('vpc_id')), top),
    bySubnet: grouped(nonEmpty(await by('subnet_id')), top),
    byInterface: grouped(nonEmpty(await by('interface_id')), top),
    byDirection: grouped((await by('direction')).map(([d, fam, c]) => [dirName[d] ?? d, fam, c])),
    reject: {
      v4: { ...reject.v4, share: reject.v4.flows ? reject.v4.rejected / reject.v4.flows : null },
      v6: { ...reject.v6, share: reject.v6.flows ? reject.v6.rejected / reject.v6.flows : null },
    },
  };
}

export function split(v4: number, v6: number): FamilySplit {
  return { v4, v6, share: v4 + v6 > 0 ? v6 / (v4 + v6) : null };
}

const zero = (): Counters => ({ flows: 0, bytes: 0, packets: 0 });

class Acc {
  v4 = zero();
  v6 = zero();
  add(fam: string, c: Counters): void {
    const t = fam === '6' ? this.v6 : this.v4;
    t.flows += c.flows;
    t.bytes += c.bytes;
    t.packets += c.packets;
  }
  share(): TrafficShare {
    return { flows: split(this.v4.flows, this.v6.flows), bytes: split(this.v4.bytes, this.v6.bytes), packets: split(this.v4.packets, this.v6.packets) };
  }
}

function grouped(entries: [string, string, Counters][], limit = 50): GroupShare[] {
  const m = new Map<string, Acc>();
  for (const [key, fam, c] of entries) {
    let a = m.get(key);
    if (!a) m.set(key, (a = new Acc()));
    a.add(fam, c);
  }
  return [...m]
    .map(([key, a]) => ({ key, ...a.share() }))
    .sort((x, y) => y.flows.v4 + y.flows.v6 - (x.flows.v4 + x.flows.v6) || (x.key < y.key ? -1 : 1))
    .slice(0, limit);
}

const FLOW_KINDS = new Set(['vpc', 'tgw']);
const ACCESS_KINDS = ['alb', 'nlb', 'cloudfront'];

function requestStats(c: RequestCell | undefined): RequestFamilyStats {
  const answered = c ? c.requests - c.status['0'] : 0;
  return {
    requests: c?.requests ?? 0,
    latencyMs: {
      p50: c?.latencyMs.quantile(0.5) ?? null,
      p90: c?.latencyMs.quantile(0.9) ?? null,
      p99: c?.latencyMs.quantile(0.99) ?? null,
      mean: c?.latencyMs.mean() ?? null,
    },
    rate4xx: c && answered > 0 ? c.status['4xx'] / answered : null,
    rate5xx: c && answered > 0 ? c.status['5xx'] / answered : null,
    requestBytes: { mean: c?.requestBytes.mean() ?? null, p50: c?.requestBytes.quantile(0.5) ?? null, p99: c?.requestBytes.quantile(0.99) ?? null },
    responseBytes: { mean: c?.responseBytes.mean() ?? null, p50: c?.responseBytes.quantile(0.5) ?? null, p99: c?.responseBytes.quantile(0.99) ?? null },
  };
}

export async function awsReport(summary: AwsSummary, store: FlowStore | null, opts: { top?: number } = {}): Promise<AwsReport> {
  const top = opts.top ?? 10;
  const fl = store ? await flowLogGroups(store, top) : null;
  const unique = new Acc();
  for (const [key, c] of Object.entries(summary.unique)) {
    const [kind, fam] = key.split('|') as [string, string];
    if (FLOW_KINDS.has(kind)) unique.add(fam, c);
  }
  const st = (k: string): number => Object.entries(summary.status).reduce((s, [key, n]) => (key.endsWith(`|${k}`) ? s + n : s), 0);

  // Requests
  const byKind: AwsReport['requests']['byKind'] = [];
  let r4 = 0;
  let r6 = 0;
  for (const kind of ACCESS_KINDS) {
    const c4 = summary.requests.cells.get(`${kind}|4`);
    const c6 = summary.requests.cells.get(`${kind}|6`);
    if (!c4 && !c6) continue;
    r4 += c4?.requests ?? 0;
    r6 += c6?.requests ?? 0;
    byKind.push({ kind, requests: split(c4?.requests ?? 0, c6?.requests ?? 0), v4: requestStats(c4), v6: requestStats(c6) });
  }

  // Distinct clients and top IPv6 client prefixes, from the store.
  let clients = split(0, 0);
  let top64: AwsReport['requests']['topV6Clients64'] = [];
  let top48: AwsReport['requests']['topV6Clients48'] = [];
  const range = store && byKind.length ? await store.timeRange() : null;
  if (store && range) {
    const base = {
      since: range.min,
      until: range.max + 1,
      filter: { op: 'in', field: 'source_kind', values: ACCESS_KINDS } as const,
    };
    const res = await store.query({ ...base, groupBy: [{ field: 'family' }, { field: 'src_addr' }], metrics: ['flows'] });
    let c4 = 0;
    let c6 = 0;
    for (const row of res.rows) Number(row.family) === 6 ? c6++ : c4++;
    clients = split(c4, c6);
    const topBy = async (bits: number): Promise<{ prefix: string; requests: number; bytes: number }[]> => {
      const q = await store.query({
        since: base.since,
        until: base.until,
        filter: { op: 'and', args: [base.filter, { op: 'cmp', field: 'family', cmp: '=', value: 6 }] },
        groupBy: [{ field: 'src_addr', prefix: { v6: bits, v4: 32 }, as: 'p' }],
        metrics: ['flows', 'bytes'],
        orderBy: 'flows',
        limit: top,
      });
      return q.rows.map((row: Row) => ({ prefix: `${formatIP(row.p as Uint8Array, 6)}/${bits}`, requests: Number(row.flows), bytes: Number(row.bytes) }));
    };
    top64 = await topBy(64);
    top48 = await topBy(48);
  }

  const addressTypes = Object.entries(summary.classes)
    .map(([key, count]) => {
      const [source, role, family, cls] = key.split('|') as [string, string, string, string];
      return { source, role, family: Number(family), class: cls, count };
    })
    .sort((a, b) => (a.source + a.role).localeCompare(b.source + b.role) || a.family - b.family || b.count - a.count);

  const hours = new Map<number, Acc>();
  for (const [key, c] of Object.entries(summary.hours)) {
    const [h, , fam] = key.split('|') as [string, string, string];
    let a = hours.get(Number(h));
    if (!a) hours.set(Number(h), (a = new Acc()));
    a.add(fam, c);
  }
  const trend = [...hours]
    .sort((a, b) => a[0] - b[0])
    .map(([h, a]) => {
      const s = a.share();
      return { hour: new Date(h).toISOString(), flows: s.flows, bytes: s.bytes };
    });

  return {
    objects: Object.keys(summary.objects).length,
    flowLogs: {
      all: fl?.all ?? new Acc().share(),
      unique: unique.share(),
      byKind: fl?.byKind ?? [],
      byVpc: fl?.byVpc ?? [],
      bySubnet: fl?.bySubnet ?? [],
      byInterface: fl?.byInterface ?? [],
      byDirection: fl?.byDirection ?? [],
      reject: fl?.reject ?? { v4: { flows: 0, rejected: 0, share: null }, v6: { flows: 0, rejected: 0, share: null } },
      nodata: st('nodata'),
      skipdata: st('skipdata'),
      noFamily: st('no-family'),
    },
    requests: { total: split(r4, r6), byKind, clients, topV6Clients64: top64, topV6Clients48: top48 },
    addressTypes,
    trend,
    mappedAsIPv4: summary.mappedAsIPv4,
  };
}

/**
 * CloudWatch Embedded Metric Format: one JSON line per source kind (dimension Source) with the
 * IPv6 shares, bytes and flows by family and rejected flows by family. Written to a CloudWatch
 * Logs stream, each line becomes metrics an alarm can watch.
 */
export function emfLines(rep: AwsReport, now: number, namespace = 'v6scope'): string[] {
  const lines: string[] = [];
  const pct = (s: number | null): number | undefined => (s === null ? undefined : Math.round(s * 10000) / 100);
  const emit = (source: string, metrics: [string, string, number | undefined][]): void => {
    const present = metrics.filter((m) => m[2] !== undefined) as [string, string, number][];
    if (!present.length) return;
    const obj: Record<string, unknown> = {
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [['Source']], Metrics: present.map(([Name, Unit]) => ({ Name, Unit })) }],
      },
      Source: source,
    };
    for (const [name, , v] of present) obj[name] = v;
    lines.push(JSON.stringify(obj));
  };
  for (const k of rep.flowLogs.byKind) {
    const isVpc = k.key === 'vpc';
    emit(k.key, [
      ['IPv6ShareFlows', 'Percent', pct(k.flows.share)],
      ['IPv6ShareBytes', 'Percent', pct(k.bytes.share)],
      ['IPv6SharePackets', 'Percent', pct(k.packets.share)],
      ['IPv4Bytes', 'Bytes', k.bytes.v4],
      ['IPv6Bytes', 'Bytes', k.bytes.v6],
      ['IPv4Flows', 'Count', k.flows.v4],
      ['IPv6Flows', 'Count', k.flows.v6],
      ...(isVpc
        ? ([
            ['IPv4RejectedFlows', 'Count', rep.flowLogs.reject.v4.rejected],
            ['IPv6RejectedFlows', 'Count', rep.flowLogs.reject.v6.rejected],
          ] as [string, string, number][])
        : []),
    ]);
  }
  for (const k of rep.requests.byKind) {
    emit(k.kind, [
      ['IPv6ShareRequests', 'Percent', pct(k.requests.share)],
      ['IPv4Requests', 'Count', k.requests.v4],
      ['IPv6Requests', 'Count', k.requests.v6],
      ['IPv4LatencyP50', 'Milliseconds', k.v4.latencyMs.p50 ?? undefined],
      ['IPv6LatencyP50', 'Milliseconds', k.v6.latencyMs.p50 ?? undefined],
      ['IPv4LatencyP99', 'Milliseconds', k.v4.latencyMs.p99 ?? undefined],
      ['IPv6LatencyP99', 'Milliseconds', k.v6.latencyMs.p99 ?? undefined],
      ['IPv4Rate5xx', 'Percent', pct(k.v4.rate5xx)],
      ['IPv6Rate5xx', 'Percent', pct(k.v6.rate5xx)],
    ]);
  }
  return lines;
}
