/**
 * Find and fix: which devices, applications and destinations keep the network on IPv4 (laggards),
 * why every remaining IPv4 byte is there (the floor, one cause per byte), and what to do about each
 * laggard with the IPv6 share the network would have once it is done (what-if). Written against
 * the query model and the fact store only, so it runs on any store. docs/find-and-fix.md explains
 * each rule.
 */
import { formatIP } from '../net/ip.js';
import { METRICS, type MetricName } from '../schema/fields.js';
import type { FilterExpr, Row } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { INFRASTRUCTURE_APPS, labelApps, P2P_APP, type P2PListener, type TrafficRow } from './apps.js';
import { destinationIPv6, loadDnsEvidence, type DestinationIPv6, type DnsEvidence } from './evidence.js';
import { parseIP } from '../net/ip.js';
import type { AsnLookup } from '../enrich/asn.js';
import { loadDeviceResolver } from './identity.js';

export type Counts = Record<MetricName, number>;
const zero = (): Counts => ({ bytes: 0, packets: 0, flows: 0 });
const add = (a: Counts, r: Counts): void => {
  for (const m of METRICS) a[m] += r[m];
};

/** Why an IPv4 byte is there. Exactly one per byte; the order below is the precedence. */
export const CAUSES = ['infrastructure', 'ipv4-only-device', 'legacy-destination', 'fixable', 'unknown'] as const;
export type Cause = (typeof CAUSES)[number];

export const CAUSE_TEXT: Record<Cause, string> = {
  infrastructure: 'network infrastructure (DNS, NTP, DHCP, local traffic)',
  'ipv4-only-device': 'the device never used IPv6',
  'legacy-destination': 'the destination has no AAAA record',
  fixable: 'device and destination both have IPv6, yet the traffic used IPv4',
  unknown: 'no DNS evidence about the destination',
};

/** An IPv4 traffic row with its application, destination and cause. */
export interface LabelledRow extends TrafficRow {
  app: string;
  /** DNS names the remote address was given for (may be empty). */
  names: string[];
  /** Origin AS of the remote address and its organisation (when an ASN database is given). */
  asn: number | null;
  asOrg: string | null;
  destinationIPv6: DestinationIPv6;
  cause: Cause;
}

export interface DeviceFacts {
  /** Traffic per family in the range. */
  ipv4: Counts;
  ipv6: Counts;
  usedIPv6: boolean;
}

export interface FindContext {
  since: number;
  until: number;
  /** All traffic per family (the share's denominators). */
  total: { ipv4: Counts; ipv6: Counts };
  /** Every IPv4 row, labelled. */
  ipv4: LabelledRow[];
  devices: Map<string, DeviceFacts>;
  listeners: P2PListener[];
  evidence: DnsEvidence;
  /** The filter the traffic was restricted by (undefined: all traffic). */
  filter?: FilterExpr;
}

const FIND_GROUP_BY = ['device_id', 'family', 'direction', 'proto', 'src_port', 'dst_port', 'service_port', 'peer_addr'] as const;

/** The grouping key of a traffic row (every FIND_GROUP_BY field), to match filtered rows with the whole. */
function rowKey(r: Row): string {
  return `${String(r.device_id)}|${Number(r.family)}|${Number(r.direction)}|${Number(r.proto)}|${Number(r.src_port)}|${Number(r.dst_port)}|${Number(r.service_port)}|${formatIP(r.peer_addr as Uint8Array, Number(r.family) as 4 | 6)}`;
}

export interface FindOptions {
  /** Names destinations by their AS. */
  asn?: AsnLookup;
  /**
   * Restrict the traffic analysed (e.g. one exporter, one device, a port range). Labels (the
   * application recognised by behaviour, whether a device ever used IPv6, the cause) are still
   * decided on all the range's traffic: a device that uses IPv6 only on traffic the filter leaves
   * out is not an IPv4-only device. Totals, rankings, the floor and the what-if are those of the
   * filtered traffic ("the IPv6 share of this slice if …").
   */
  filter?: FilterExpr;
}

/** Load the traffic of [since, until) and label its IPv4 part; see FindOptions. */
export async function buildFindContext(store: FlowStore, since: number, until: number, o: FindOptions = {}): Promise<FindContext> {
  const groupBy = FIND_GROUP_BY.map((field) => ({ field }));
  const res = await store.query({ since, until, groupBy });
  const identity = await loadDeviceResolver(store);
  const toTraffic = (r: Row): TrafficRow => {
    const family = Number(r.family) as 4 | 6;
    return {
      device: identity.resolve(String(r.device_id)),
      family,
      direction: Number(r.direction),
      proto: Number(r.proto),
      srcPort: Number(r.src_port),
      dstPort: Number(r.dst_port),
      servicePort: Number(r.service_port),
      peer: formatIP(r.peer_addr as Uint8Array, family),
      bytes: Number(r.bytes),
      packets: Number(r.packets),
      flows: Number(r.flows),
    };
  };
  const rows = res.rows.map(toTraffic);
  const evidence = await loadDnsEvidence(store, until);
  const { apps, listeners } = labelApps(rows, (peer) => evidence.namesByAddr.has(peer));

  // Device facts from all the traffic: whether a device ever used IPv6 does not depend on the filter.
  const allDevices = new Map<string, DeviceFacts>();
  for (const r of rows) {
    if (!r.device) continue;
    let d = allDevices.get(r.device);
    if (!d) allDevices.set(r.device, (d = { ipv4: zero(), ipv6: zero(), usedIPv6: false }));
    add(r.family === 4 ? d.ipv4 : d.ipv6, r);
  }
  for (const d of allDevices.values()) d.usedIPv6 = d.ipv6.flows > 0;

  const label = (r: TrafficRow, app: string): LabelledRow => {
    const dest = destinationIPv6(evidence, r.peer);
    const dev = allDevices.get(r.device);
    let cause: Cause;
    if (r.direction === 0 || INFRASTRUCTURE_APPS.has(app)) cause = 'infrastructure';
    else if (!dev || !dev.usedIPv6) cause = 'ipv4-only-device';
    else if (app === P2P_APP) cause = 'fixable'; // the peers are reachable over IPv6 once the client binds to it
    else if (dest.status === 'has-aaaa') cause = 'fixable';
    else if (dest.status === 'no-aaaa') cause = 'legacy-destination';
    else cause = 'unknown';
    const as = o.asn && r.direction !== 0 ? o.asn.lookup(parseIP(r.peer).addr, 4) : null;
    return { ...r, app, names: dest.names, asn: as?.asn ?? null, asOrg: as?.org ?? null, destinationIPv6: dest.status, cause };
  };

  // The rows analysed: all of them, or the filtered ones with the labels of their whole group.
  let selected: { row: TrafficRow; app: string }[];
  if (o.filter === undefined) {
    selected = rows.map((row, i) => ({ row, app: apps[i]! }));
  } else {
    const appByKey = new Map<string, string>();
    res.rows.forEach((r, i) => appByKey.set(rowKey(r), apps[i]!));
    const filtered = await store.query({ since, until, groupBy, filter: o.filter });
    selected = filtered.rows.map((r) => {
      const row = toTraffic(r);
      // a filtered group is part of the unfiltered group with the same key (same range, more
      // conditions); a key only the second query saw (flows stored in between) is labelled alone
      return { row, app: appByKey.get(rowKey(r)) ?? labelApps([row], (peer) => evidence.namesByAddr.has(peer)).apps[0]! };
    });
  }

  const total = { ipv4: zero(), ipv6: zero() };
  const devices = new Map<string, DeviceFacts>();
  const ipv4: LabelledRow[] = [];
  for (const { row: r, app } of selected) {
    add(r.family === 4 ? total.ipv4 : total.ipv6, r);
    if (r.device) {
      let d = devices.get(r.device);
      if (!d) devices.set(r.device, (d = { ipv4: zero(), ipv6: zero(), usedIPv6: allDevices.get(r.device)?.usedIPv6 ?? false }));
      add(r.family === 4 ? d.ipv4 : d.ipv6, r);
    }
    if (r.family === 4) ipv4.push(label(r, app));
  }
  const devicesSeen = new Set(devices.keys());
  return { since, until, total, ipv4, devices, listeners: listeners.filter((l) => devicesSeen.has(l.device)), evidence, filter: o.filter };
}

/** IPv6 share per metric if `moved` IPv4 traffic went over IPv6 instead (totals unchanged). */
export function whatIf(ctx: FindContext, moved: Counts): Counts {
  const out = zero();
  for (const m of METRICS) {
    const all = ctx.total.ipv4[m] + ctx.total.ipv6[m];
    out[m] = all ? (ctx.total.ipv6[m] + moved[m]) / all : 0;
  }
  return out;
}

/** part / whole per metric (0 where the whole is 0). */
function shareOf(part: Counts, whole: Counts): Counts {
  const out = zero();
  for (const m of METRICS) out[m] = whole[m] ? part[m] / whole[m] : 0;
  return out;
}

export function currentShare(ctx: FindContext): Counts {
  return whatIf(ctx, zero());
}

// ---------------------------------------------------------------------------------------------
// Laggards

export type LaggardDimension = 'device' | 'app' | 'destination';

export interface Laggard {
  key: string;
  /** Destination: its DNS names (or empty); device/app: empty. */
  names: string[];
  /** Destination: origin AS and organisation when known. */
  asn: number | null;
  asOrg: string | null;
  ipv4: Counts;
  /** This laggard's IPv4 bytes / all IPv4 bytes. */
  shareOfIPv4Bytes: number;
  /** Its share of all IPv4 traffic per metric (bytes, packets, flows). */
  shareOfIPv4: Counts;
  /** Its IPv4 traffic by cause. */
  causes: Partial<Record<Cause, Counts>>;
  /** The network's IPv6 share if its fixable IPv4 traffic moved to IPv6. */
  whatIfFixed: Counts;
}

/**
 * Destination key: peer-to-peer peers as one; else the name(s) DNS gave the address; else its
 * origin AS and organisation; else the address.
 */
function destinationKey(r: LabelledRow): string {
  if (r.app === P2P_APP) return `${P2P_APP} peers`;
  if (r.names.length) return r.names.join(', ');
  return r.asn !== null ? `AS${r.asn} ${r.asOrg ?? ''}`.trim() : r.peer;
}

/** Laggards by `by`, biggest IPv4 traffic first by `sort` (default bytes; ties by the other metrics, then key). */
export function laggards(ctx: FindContext, by: LaggardDimension, o: { sort?: MetricName } = {}): Laggard[] {
  const sort = o.sort ?? 'bytes';
  const keyOf = (r: LabelledRow): string => (by === 'device' ? r.device || '(unknown)' : by === 'app' ? r.app : destinationKey(r));
  const groups = new Map<string, { rows: LabelledRow[] }>();
  for (const r of ctx.ipv4) {
    const k = keyOf(r);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { rows: [] }));
    g.rows.push(r);
  }
  const allBytes = ctx.total.ipv4.bytes;
  const out: Laggard[] = [];
  for (const [key, g] of groups) {
    const ipv4 = zero();
    const causes: Partial<Record<Cause, Counts>> = {};
    for (const r of g.rows) {
      add(ipv4, r);
      add((causes[r.cause] ??= zero()), r);
    }
    out.push({
      key,
      names: by === 'destination' ? g.rows[0]!.names : [],
      asn: by === 'destination' ? g.rows[0]!.asn : null,
      asOrg: by === 'destination' ? g.rows[0]!.asOrg : null,
      ipv4,
      shareOfIPv4Bytes: allBytes ? ipv4.bytes / allBytes : 0,
      shareOfIPv4: shareOf(ipv4, ctx.total.ipv4),
      causes,
      whatIfFixed: whatIf(ctx, causes.fixable ?? zero()),
    });
  }
  const order = [sort, ...METRICS.filter((m) => m !== sort)];
  return out.sort((a, b) => {
    for (const m of order) if (b.ipv4[m] !== a.ipv4[m]) return b.ipv4[m] - a.ipv4[m];
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
}

// ---------------------------------------------------------------------------------------------
// The floor

export interface FloorCause {
  cause: Cause;
  description: string;
  ipv4: Counts;
  shareOfIPv4Bytes: number;
  /** Biggest contributors: device · application · destination. */
  top: { device: string; app: string; destination: string; ipv4: Counts }[];
}

export function floor(ctx: FindContext, topN = 5): FloorCause[] {
  const allBytes = ctx.total.ipv4.bytes;
  return CAUSES.map((cause) => {
    const ipv4 = zero();
    const contrib = new Map<string, { device: string; app: string; destination: string; ipv4: Counts }>();
    for (const r of ctx.ipv4) {
      if (r.cause !== cause) continue;
      add(ipv4, r);
      const destination = destinationKey(r);
      const k = `${r.device}\u0000${r.app}\u0000${destination}`;
      let c = contrib.get(k);
      if (!c) contrib.set(k, (c = { device: r.device || '(unknown)', app: r.app, destination, ipv4: zero() }));
      add(c.ipv4, r);
    }
    const top = [...contrib.values()].sort((a, b) => b.ipv4.bytes - a.ipv4.bytes).slice(0, topN);
    return { cause, description: CAUSE_TEXT[cause], ipv4, shareOfIPv4Bytes: allBytes ? ipv4.bytes / allBytes : 0, top };
  });
}

// ---------------------------------------------------------------------------------------------
// Fixes

export interface Fix {
  /** Stable id, e.g. "p2p-binding:nas". */
  id: string;
  title: string;
  /** What to do, in plain words. */
  advice: string;
  /** Ready-to-paste configuration, where one exists. */
  snippet?: string;
  device?: string;
  app?: string;
  cause: Cause;
  /** The IPv4 traffic the fix concerns; the what-if moves it to IPv6 when `after` is set. */
  ipv4: Counts;
  /** IPv6 share now, and after the fix (null when nothing can be fixed locally). */
  before: Counts;
  after: Counts | null;
}

const QBITTORRENT = `# qBittorrent: Tools → Options → Advanced
#   Network interface:            Any interface
#   Optional IP address to bind:  All addresses
# or in qBittorrent.conf ([BitTorrent] section), with qBittorrent stopped:
Session\\Interface=
Session\\InterfaceName=
Session\\InterfaceAddress=
# Transmission (settings.json, daemon stopped): listen on both families
"bind-address-ipv4": "0.0.0.0",
"bind-address-ipv6": "::",`;

const HAPPY_EYEBALLS = `# Check the device prefers IPv6 (RFC 6724) and that its IPv6 path works:
ip -6 addr show scope global        # a global address, not only fe80::
ip -6 route show default            # a default route from the router's RA
curl -6 -sS -o /dev/null -w '%{http_code} %{time_connect}\\n' https://<destination>/
# glibc: no "precedence ::ffff:0:0/96 100" line in /etc/gai.conf (it makes IPv4 preferred)`;

const UNBOUND_LOCAL = `# A local caching resolver answering over IPv6 too (unbound.conf):
server:
    interface: 0.0.0.0
    interface: ::0
    access-control: 192.168.0.0/16 allow
    access-control: fd00::/8 allow
    access-control: fe80::/10 allow
    prefetch: yes
    serve-expired: yes
    serve-expired-ttl: 86400
# and announce it over IPv6: RDNSS in router advertisements (RFC 8106) and/or DHCPv6.`;

/** Fixes for the top laggards, biggest gain first. */
export function fixes(ctx: FindContext, o: { names?: ReadonlyMap<string, string> } = {}): Fix[] {
  const before = currentShare(ctx);
  const label = (device: string): string => o.names?.get(device) ?? device;
  const group = new Map<string, { cause: Cause; device: string; app: string; rows: LabelledRow[] }>();
  for (const r of ctx.ipv4) {
    // one fix per (cause, device, kind of app): p2p per device, dual-stack destinations per device,
    // an IPv4-only device as a whole, legacy destinations per destination, infrastructure per app.
    let k: string;
    if (r.cause === 'fixable') k = `${r.app === P2P_APP ? 'p2p-binding' : 'dual-stack-over-ipv4'}:${r.device}`;
    else if (r.cause === 'ipv4-only-device') k = `ipv4-only-device:${r.device}`;
    else if (r.cause === 'legacy-destination') k = `legacy-destination:${destinationKey(r)}`;
    else if (r.cause === 'infrastructure') k = `infrastructure:${r.app}`;
    else k = `unknown:${r.device}`;
    let g = group.get(k);
    if (!g) group.set(k, (g = { cause: r.cause, device: r.device, app: r.app, rows: [] }));
    g.rows.push(r);
  }
  const out: Fix[] = [];
  for (const [id, g] of group) {
    const traffic = zero();
    for (const r of g.rows) add(traffic, r);
    const kind = id.slice(0, id.indexOf(':'));
    const dev = label(g.device);
    let fix: Omit<Fix, 'id' | 'cause' | 'before' | 'after' | 'ipv4'> & { moves: boolean };
    switch (kind) {
      case 'p2p-binding':
        fix = {
          title: `Let the BitTorrent client on ${dev} use IPv6`,
          advice: `${dev} has IPv6, yet its peer-to-peer traffic (${ctx.listeners.filter((l) => l.device === g.device).map((l) => `${l.proto === 6 ? 'TCP' : 'UDP'} port ${l.port}, ${l.peers} peers`).join('; ') || 'many peers on high ports'}) is all IPv4: the client is bound to an IPv4 address or interface. Bind it to all addresses so it listens and connects on IPv6 as well.`,
          snippet: QBITTORRENT,
          device: g.device,
          app: P2P_APP,
          moves: true,
        };
        break;
      case 'dual-stack-over-ipv4': {
        const dests = [...new Set(g.rows.map((r) => destinationKey(r)))].slice(0, 3).join(', ');
        fix = {
          title: `${dev} reaches dual-stack destinations over IPv4`,
          advice: `The destinations (${dests}) have AAAA records and ${dev} has IPv6, but these flows used IPv4: an application bound to IPv4, an address-selection policy preferring IPv4, or Happy Eyeballs falling back because the IPv6 path is slow or broken. Check the device's IPv6 address and route, and the application's settings.`,
          snippet: HAPPY_EYEBALLS,
          device: g.device,
          moves: true,
        };
        break;
      }
      case 'ipv4-only-device':
        fix = {
          title: `${dev} never uses IPv6`,
          advice: `${dev} sent no IPv6 at all. Look for a firmware update or an IPv6 setting; if it has none, it is a candidate for the DNS46/EAM translator (RFC 7757 SIIT), which gives it an IPv6 path without changing the device. The what-if assumes its traffic is translated.`,
          device: g.device,
          moves: true,
        };
        break;
      case 'legacy-destination':
        fix = {
          title: `${id.slice(id.indexOf(':') + 1)} has no IPv6`,
          advice: 'The destination has no AAAA record: nothing to fix locally. Ask its operator for IPv6, or prefer an alternative that has it.',
          moves: false,
        };
        break;
      case 'infrastructure':
        fix =
          g.app === 'dns' || g.app === 'dns-over-tls'
            ? {
                title: 'Resolve names over IPv6',
                advice: 'DNS queries go over IPv4. Offer the resolver on IPv6 (RDNSS in router advertisements, DHCPv6) — a local caching Unbound with prefetch and serve-expired also cuts lookup latency.',
                snippet: UNBOUND_LOCAL,
                app: g.app,
                moves: true,
              }
            : {
                title: `${g.app} over IPv4`,
                advice:
                  g.app === 'ntp'
                    ? 'Time servers are reached over IPv4: use an NTP pool name with AAAA records (most pool.ntp.org zones have them via 2.pool.ntp.org) in the devices and the router.'
                    : 'Network infrastructure traffic (DHCP, local discovery, ICMP, traffic within the LAN) that stays IPv4 by nature: part of the floor, not a laggard.',
                app: g.app,
                moves: g.app === 'ntp',
              };
        break;
      default:
        fix = {
          title: `Destinations of ${dev} without DNS evidence`,
          advice: 'No DNS answer names these addresses, so v6scope cannot tell whether they have IPv6. Feed it DNS (a capture that includes the resolver traffic, or Unbound dnstap/log-replies) to classify them.',
          device: g.device,
          moves: false,
        };
    }
    const { moves, ...rest } = fix;
    out.push({ ...rest, id, cause: g.cause, ipv4: traffic, before, after: moves ? whatIf(ctx, traffic) : null });
  }
  // biggest gain first; fixes that move nothing after them, by their traffic
  return out.sort((a, b) => (b.after ? b.after.bytes : -1) - (a.after ? a.after.bytes : -1) || b.ipv4.bytes - a.ipv4.bytes);
}
