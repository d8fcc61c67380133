/**
 * Local-network enrichment: which side of a flow is "ours".
 *
 * From the configured local prefixes (plus the private/ULA/link-local defaults) it fills, in place:
 * - `direction`: outbound (local → remote), inbound (remote → local), unknown (both or neither local);
 * - `device_id`: the local endpoint — its MAC when the record carries one, else its address;
 * - `peer_addr`: the remote endpoint; for local-to-local flows the end that is not the device; else dst_addr;
 * - `service_port`: the service side of the conversation (see the schema).
 *
 * Flows between two local hosts (a device asking the router for DNS) are attributed to the device,
 * not to the gateway: the enricher learns gateway MACs as the layer-2 peer of traffic that leaves or
 * enters the local network, and for local-to-local flows picks the endpoint that is not a gateway.
 * Issue #4 (device identity) replaces the MAC/address id with a tracked device identity.
 */
import type { FlowRecord } from '../schema/fields.js';
import { Direction } from '../schema/fields.js';
import { formatIP } from '../net/ip.js';
import { formatMac } from '../net/mac.js';
import { parsePrefix, prefixContains, type Prefix } from '../net/prefix.js';

/** Private and local-scope prefixes that are local to any network. */
export const DEFAULT_LOCAL_PREFIXES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  '127.0.0.0/8',
  'fc00::/7',
  'fe80::/10',
  '::1/128',
  // Unspecified sources (DHCPv4 discover, IPv6 duplicate address detection) are on-link.
  '0.0.0.0/32',
  '::/128',
  // Multicast and broadcast never leave the site here (neighbour discovery, mDNS, SSDP, DHCP).
  'ff00::/8',
  '224.0.0.0/4',
  '255.255.255.255/32',
] as const;

export interface LocalEnricherOptions {
  /** Extra local prefixes (e.g. the LAN's global IPv6 /64 and public IPv4 ranges), as text. */
  readonly localPrefixes?: readonly string[];
  /** Include DEFAULT_LOCAL_PREFIXES (default true). */
  readonly defaults?: boolean;
}

const ICMP = 1;
const ICMPV6 = 58;

export class LocalEnricher {
  readonly prefixes: readonly Prefix[];
  private readonly gatewayMacs = new Set<number>();

  constructor(opts: LocalEnricherOptions = {}) {
    const texts = [...(opts.defaults === false ? [] : DEFAULT_LOCAL_PREFIXES), ...(opts.localPrefixes ?? [])];
    this.prefixes = texts.map((t) => parsePrefix(t));
  }

  isLocal(addr: Uint8Array, family: 4 | 6): boolean {
    for (const p of this.prefixes) {
      if (p.family === family && prefixContains(p, addr, family)) return true;
    }
    return false;
  }

  /** Enrich a batch in place. Gateway MACs are learned from the whole batch first. */
  enrich(batch: FlowRecord[]): void {
    const local: number[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const fam = r.family as 4 | 6;
      const s = this.isLocal(r.src_addr, fam);
      const d = this.isLocal(r.dst_addr, fam);
      const code = (s ? 1 : 0) | (d ? 2 : 0);
      local[i] = code;
      // A gateway's MAC is unicast (group bit clear): never learn a multicast/broadcast MAC.
      if (code === 1 && isUnicastMac(r.dst_mac)) this.gatewayMacs.add(r.dst_mac);
      else if (code === 2 && isUnicastMac(r.src_mac)) this.gatewayMacs.add(r.src_mac);
    }
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const code = local[i]!;
      let deviceIsSrc: boolean | null;
      if (code === 1) {
        r.direction = Direction.outbound;
        r.peer_addr = r.dst_addr;
        deviceIsSrc = true;
      } else if (code === 2) {
        r.direction = Direction.inbound;
        r.peer_addr = r.src_addr;
        deviceIsSrc = false;
      } else {
        r.direction = Direction.unknown;
        r.peer_addr = r.dst_addr;
        // Both local: the sender of multicast/broadcast (a router advertisement, an mDNS
        // announcement), else the endpoint that is not a gateway. Neither local: unknown.
        deviceIsSrc =
          code !== 3 ? null : isGroupDestination(r) ? true : !(this.gatewayMacs.has(r.src_mac) && !this.gatewayMacs.has(r.dst_mac));
      }
      if (deviceIsSrc !== null) {
        if (code === 3) r.peer_addr = deviceIsSrc ? r.dst_addr : r.src_addr; // the other end from the device
        const mac = deviceIsSrc ? r.src_mac : r.dst_mac;
        r.device_id = mac !== 0 ? formatMac(mac) : formatIP(deviceIsSrc ? r.src_addr : r.dst_addr, r.family as 4 | 6);
      }
      r.service_port = servicePort(r);
    }
  }
}

/** A MAC (48-bit number) that is set and has the I/G (group) bit clear. */
function isUnicastMac(mac: number): boolean {
  return mac !== 0 && Math.floor(mac / 2 ** 40) % 2 === 0;
}

/** Multicast or broadcast destination, by MAC (when known) or by address. */
function isGroupDestination(r: FlowRecord): boolean {
  if (r.dst_mac !== 0) return !isUnicastMac(r.dst_mac);
  const a = r.dst_addr;
  if (r.family === 6) return a[0] === 0xff;
  return (a[12]! & 0xf0) === 0xe0 || (a[12] === 255 && a[13] === 255 && a[14] === 255 && a[15] === 255);
}

/** The service side of a flow's ports (see the schema's `service_port`). */
export function servicePort(r: Pick<FlowRecord, 'proto' | 'src_port' | 'dst_port' | 'direction'>): number {
  if (r.proto === ICMP || r.proto === ICMPV6) return 0;
  const s = r.src_port;
  const d = r.dst_port;
  if (s === 0 && d === 0) return 0;
  if (s < 1024 && d >= 1024) return s;
  if (d < 1024 && s >= 1024) return d;
  if (r.direction === Direction.outbound) return d;
  if (r.direction === Direction.inbound) return s;
  return Math.min(s, d);
}
