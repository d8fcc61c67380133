/**
 * The report: overall IPv6 share, its trend, and the biggest IPv4 talkers (devices, destinations,
 * applications). One structured object that the CLI prints and later the HTML report and API reuse.
 */
import type { GroupBy } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { hostPenetration, listDevices } from './devices.js';
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
}

export const REPORT_GROUPINGS: Record<'devices' | 'destinations' | 'applications', GroupBy[]> = {
  devices: [{ field: 'device_id' }],
  destinations: [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 }, as: 'peer_addr' }],
  applications: [{ field: 'proto' }, { field: 'service_port' }],
};

export async function buildReport(store: FlowStore, o: { since: number; until: number; bucketMs: number; limit?: number }): Promise<Report> {
  const share = await computeShare(store, { since: o.since, until: o.until, bucket: o.bucketMs });
  const top = async (groupBy: GroupBy[]) =>
    topTalkers(store, { since: o.since, until: o.until, family: 4, groupBy, limit: o.limit ?? 10, formatKey: keyFormatter(groupBy) });
  const [devices, destinations, applications, all] = await Promise.all([
    top(REPORT_GROUPINGS.devices),
    top(REPORT_GROUPINGS.destinations),
    top(REPORT_GROUPINGS.applications),
    listDevices(store, o.since, o.until),
  ]);
  return {
    share,
    bucketMs: o.bucketMs,
    ipv4Bytes: devices.familyBytes,
    topIPv4: { devices: devices.talkers, destinations: destinations.talkers, applications: applications.talkers },
    hostPenetration: hostPenetration(all),
  };
}
