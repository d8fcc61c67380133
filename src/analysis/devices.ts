/**
 * Devices: one identity per device (its MAC when the data has one, else its address) with every
 * address it used or was seen with — IPv4, stable IPv6, EUI-64, link-local and rotating privacy
 * addresses — first/last seen, traffic per family and whether it ever used IPv6. Addresses come
 * from the flows (the device's end of each flow) and from neighbour/lease facts; hostnames from
 * leases.
 */
import { classify } from '../net/classify.js';
import { formatIP } from '../net/ip.js';
import { formatMac, isEui64, macFromEui64, parseMac } from '../net/mac.js';
import { NEIGHBORS } from '../schema/facts.js';
import { METRICS, Direction, type MetricName } from '../schema/fields.js';
import type { Row } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { loadDeviceResolver } from './identity.js';

type Counts = Record<MetricName, number>;

export type AddressKind = 'ipv4' | 'link-local' | 'eui-64' | 'privacy-or-stable' | 'ula' | 'other';

export interface DeviceAddress {
  addr: string;
  family: 4 | 6;
  kind: AddressKind;
  /** Seen in flows between these times (epoch ms), or only in neighbour/lease facts (null). */
  firstSeen: number | null;
  lastSeen: number | null;
  /** Where it was seen: "flows" and/or fact sources (dnsmasq, ip-neigh, ...). */
  sources: string[];
}

export interface Device {
  id: string;
  /** MAC in colon form when the id is one. */
  mac: string | null;
  hostname: string | null;
  addresses: DeviceAddress[];
  firstSeen: number;
  lastSeen: number;
  ipv4: Counts;
  ipv6: Counts;
  /** ipv6 / (ipv4 + ipv6) by bytes (null when no traffic). */
  ipv6Share: number | null;
  usedIPv6: boolean;
}

function addressKind(addr: Uint8Array, family: 4 | 6, mac: number | null): AddressKind {
  if (family === 4) return 'ipv4';
  const c = classify(addr, 6);
  if (c === 'link-local') return 'link-local';
  if (isEui64(addr) && (mac === null || macFromEui64(addr) === mac)) return 'eui-64';
  if (c === 'ula') return 'ula';
  if (c === 'global-unicast' || c === 'documentation') return 'privacy-or-stable';
  return 'other';
}

const macOf = (id: string): number | null => {
  try {
    return parseMac(id);
  } catch {
    return null;
  }
};

export async function listDevices(store: FlowStore, since: number, until: number): Promise<Device[]> {
  const devices = new Map<string, Device & { addrMap: Map<string, DeviceAddress> }>();
  const get = (id: string): Device & { addrMap: Map<string, DeviceAddress> } => {
    let d = devices.get(id);
    if (!d) {
      const mac = macOf(id);
      devices.set(
        id,
        (d = {
          id,
          mac: mac === null ? null : formatMac(mac),
          hostname: null,
          addresses: [],
          addrMap: new Map(),
          firstSeen: Infinity,
          lastSeen: -Infinity,
          ipv4: { bytes: 0, packets: 0, flows: 0 },
          ipv6: { bytes: 0, packets: 0, flows: 0 },
          ipv6Share: null,
          usedIPv6: false,
        }),
      );
    }
    return d;
  };
  // Addresses used as device ids (sources without MACs) are merged into their MAC's device.
  const identity = await loadDeviceResolver(store);
  const idOf = (r: Row): string => identity.resolve(String(r.device_id));
  const traffic = await store.query({ since, until, groupBy: [{ field: 'device_id' }, { field: 'family' }], timeBounds: true });
  for (const r of traffic.rows) {
    const id = idOf(r);
    if (!id) continue;
    const d = get(id);
    const c = Number(r.family) === 4 ? d.ipv4 : d.ipv6;
    for (const m of METRICS) c[m] += Number(r[m]);
    d.firstSeen = Math.min(d.firstSeen, Number(r.first_seen));
    d.lastSeen = Math.max(d.lastSeen, Number(r.last_seen));
  }
  const seen = (d: Device & { addrMap: Map<string, DeviceAddress> }, addr: Uint8Array, family: 4 | 6, source: string, first: number | null, last: number | null): void => {
    const text = formatIP(addr, family);
    let a = d.addrMap.get(text);
    if (!a) d.addrMap.set(text, (a = { addr: text, family, kind: addressKind(addr, family, macOf(d.id)), firstSeen: null, lastSeen: null, sources: [] }));
    if (!a.sources.includes(source)) a.sources.push(source);
    if (first !== null) a.firstSeen = a.firstSeen === null ? first : Math.min(a.firstSeen, first);
    if (last !== null) a.lastSeen = a.lastSeen === null ? last : Math.max(a.lastSeen, last);
  };
  // The device's own end of its flows: the source of outbound flows, the destination of inbound ones.
  for (const [dir, field] of [
    [Direction.outbound, 'src_addr'],
    [Direction.inbound, 'dst_addr'],
  ] as const) {
    const res = await store.query({
      since,
      until,
      groupBy: [{ field: 'device_id' }, { field: 'family' }, { field }],
      filter: { op: 'cmp', field: 'direction', cmp: '=', value: dir },
      metrics: ['flows'],
      timeBounds: true,
    });
    for (const r of res.rows) {
      const id = idOf(r);
      if (!id || !devices.has(id)) continue;
      seen(get(id), r[field] as Uint8Array, Number(r.family) as 4 | 6, 'flows', Number(r.first_seen), Number(r.last_seen));
    }
  }
  // Local-to-local flows (DNS to the router, neighbour discovery, DHCP): the end whose MAC is the device's.
  for (const [addrField, macField] of [
    ['src_addr', 'src_mac'],
    ['dst_addr', 'dst_mac'],
  ] as const) {
    const res = await store.query({
      since,
      until,
      groupBy: [{ field: 'device_id' }, { field: 'family' }, { field: addrField }, { field: macField }],
      filter: { op: 'cmp', field: 'direction', cmp: '=', value: Direction.unknown },
      metrics: ['flows'],
      timeBounds: true,
    });
    for (const r of res.rows) {
      const id = idOf(r);
      const mac = Number(r[macField]);
      if (!id || !devices.has(id) || mac === 0 || formatMac(mac) !== id) continue;
      const addr = r[addrField] as Uint8Array;
      if (addr.every((b) => b === 0)) continue; // the unspecified address (DAD, DHCP discover)
      seen(get(id), addr, Number(r.family) as 4 | 6, 'flows', Number(r.first_seen), Number(r.last_seen));
    }
  }
  // Neighbour tables and leases: addresses (and hostnames) of devices known by MAC. Identity is not
  // bound to the range: a lease taken after it still names the device.
  const facts = store.facts ? await store.facts.read(NEIGHBORS) : [];
  for (const f of facts) {
    const id = formatMac(Number(f.mac));
    const d = devices.get(id);
    if (!d) continue; // a device that sent nothing in the range
    seen(d, f.addr as Uint8Array, Number(f.family) as 4 | 6, String(f.source), null, null);
    if (f.hostname) d.hostname = String(f.hostname);
  }
  const out: Device[] = [];
  for (const d of devices.values()) {
    const { addrMap, ...dev } = d;
    dev.addresses = [...addrMap.values()].sort((a, b) => a.family - b.family || (a.firstSeen ?? Infinity) - (b.firstSeen ?? Infinity) || a.addr.localeCompare(b.addr));
    dev.usedIPv6 = dev.ipv6.flows > 0;
    const all = dev.ipv4.bytes + dev.ipv6.bytes;
    dev.ipv6Share = all ? dev.ipv6.bytes / all : null;
    out.push(dev);
  }
  return out.sort((a, b) => b.ipv4.bytes + b.ipv6.bytes - (a.ipv4.bytes + a.ipv6.bytes) || a.id.localeCompare(b.id));
}

/** Host penetration: devices seen using IPv6 / all devices (issue 4's ratio). */
export function hostPenetration(devices: readonly Device[]): { withIPv6: number; all: number; ratio: number | null } {
  const withIPv6 = devices.filter((d) => d.usedIPv6).length;
  return { withIPv6, all: devices.length, ratio: devices.length ? withIPv6 / devices.length : null };
}

/** Device id (MAC) → hostname from neighbour/lease facts (the latest one wins). */
export async function loadDeviceNames(store: FlowStore): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const facts = store.facts ? await store.facts.read(NEIGHBORS) : [];
  for (const f of facts) if (f.hostname) names.set(formatMac(Number(f.mac)), String(f.hostname));
  return names;
}
