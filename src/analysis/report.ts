/**
 * The report: overall IPv6 share, its trend, and the biggest IPv4 talkers (devices, destinations,
 * applications); with `findings`, also the find-and-fix sections (laggards, the floor, fixes with
 * their what-if, the device list). One structured object that the CLI prints as text or JSON and
 * src/report/ renders as HTML and PNG charts.
 */
import type { AsnLookup } from '../enrich/asn.js';
import type { GroupBy } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { hostPenetration, listDevices, loadDeviceNames, type Device } from './devices.js';
import { buildFindContext, currentShare, fixes, floor, laggards, type Counts, type Fix, type FloorCause, type Laggard, type LaggardDimension } from './find.js';
import { keyFormatter } from './keys.js';
import { computeShare, type ShareReport } from './share.js';
import { topTalkers, type Talker } from './talkers.js';

export interface Report {
  share: ShareReport;
  bucketMs: number;
  topIPv4: { devices: Talker[]; destinations: Talker[]; applications: Talker[] };
  ipv4Bytes: number;
  /** Beyond the shares: devices seen using IPv6 / all devices (issue 4's host penetration). */
  hostPenetration: { withIPv6: number; all: number; ratio: number | null };
  /** Find and fix (only when asked for: it reads every IPv4 row of the range). */
  findings?: Findings;
}

export interface Findings {
  /** IPv6 share per metric over all traffic of the range (the what-ifs' "before"). */
  now: Counts;
  ipv4: Counts;
  ipv6: Counts;
  laggards: Record<LaggardDimension, Laggard[]>;
  floor: FloorCause[];
  fixes: Fix[];
  devices: Device[];
  /** Device id → hostname from leases/neighbour tables. */
  names: Map<string, string>;
}

export interface FindingsOptions {
  asn?: AsnLookup;
  /** Laggards kept per dimension (default 10). */
  laggards?: number;
  /** Contributors kept per floor cause (default 5). */
  top?: number;
}

export const REPORT_GROUPINGS: Record<'devices' | 'destinations' | 'applications', GroupBy[]> = {
  devices: [{ field: 'device_id' }],
  destinations: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 }, as: 'peer_addr' }],
  applications: [{ field: 'proto' }, { field: 'service_port' }],
};

export async function buildReport(
  store: FlowStore,
  o: { since: number; until: number; bucketMs: number; limit?: number; findings?: FindingsOptions | boolean },
): Promise<Report> {
  const share = await computeShare(store, { since: o.since, until: o.until, bucket: o.bucketMs });
  const top = async (groupBy: GroupBy[]) =>
    topTalkers(store, { since: o.since, until: o.until, family: 4, groupBy, limit: o.limit ?? 10, formatKey: keyFormatter(groupBy) });
  const [devices, destinations, applications, all] = await Promise.all([
    top(REPORT_GROUPINGS.devices),
    top(REPORT_GROUPINGS.destinations),
    top(REPORT_GROUPINGS.applications),
    listDevices(store, o.since, o.until),
  ]);
  const report: Report = {
    share,
    bucketMs: o.bucketMs,
    ipv4Bytes: devices.familyBytes,
    topIPv4: { devices: devices.talkers, destinations: destinations.talkers, applications: applications.talkers },
    hostPenetration: hostPenetration(all),
  };
  if (o.findings) {
    const f = o.findings === true ? {} : o.findings;
    const ctx = await buildFindContext(store, o.since, o.until, { asn: f.asn });
    const names = await loadDeviceNames(store);
    const n = f.laggards ?? 10;
    report.findings = {
      now: currentShare(ctx),
      ipv4: { ...ctx.total.ipv4 },
      ipv6: { ...ctx.total.ipv6 },
      laggards: { device: laggards(ctx, 'device').slice(0, n), app: laggards(ctx, 'app').slice(0, n), destination: laggards(ctx, 'destination').slice(0, n) },
      floor: floor(ctx, f.top ?? 5),
      fixes: fixes(ctx, { names }),
      devices: all,
      names,
    };
  }
  return report;
}
