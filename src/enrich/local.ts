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
import type { ColumnarBatch } from '../collect/flow-batch.js';
import { Direction, FIELD_INDEX as F, type FlowRecord } from '../schema/fields.js';
import { addrAt, formatIP } from '../net/ip.js';
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

  /** Whether the address (16 bytes at `offset` of `addr`) is local. */
  isLocal(addr: Uint8Array, family: 4 | 6, offset = 0): boolean {
    for (const p of this.prefixes) {
      if (p.family === family && prefixContains(p, addr, family, offset)) return true;
    }
    return false;
  }

  /** Which ends are local: 1 the source, 2 the destination, 3 both, 0 neither; learns gateway MACs. */
  private localCode(s: boolean, d: boolean, srcMac: number, dstMac: number): number {
    const code = (s ? 1 : 0) | (d ? 2 : 0);
    // A gateway's MAC is unicast (group bit clear): never learn a multicast/broadcast MAC.
    if (code === 1 && isUnicastMac(dstMac)) this.gatewayMacs.add(dstMac);
    else if (code === 2 && isUnicastMac(srcMac)) this.gatewayMacs.add(srcMac);
    return code;
  }

  /**
   * Whether the device is the source (true), the destination (false) or unknown (null). Both
   * local: the sender of multicast/broadcast (a router advertisement, an mDNS announcement), else
   * the endpoint that is not a gateway. Neither local: unknown. The destination address is the 16
   * bytes at `o` of `dst`.
   */
  private deviceIsSrc(code: number, srcMac: number, dstMac: number, dst: Uint8Array, o: number, family: number): boolean | null {
    if (code === 1) return true;
    if (code === 2) return false;
    if (code !== 3) return null;
    return isGroupDestination(dstMac, dst, o, family) ? true : !(this.gatewayMacs.has(srcMac) && !this.gatewayMacs.has(dstMac));
  }

  /** Enrich a batch in place. Gateway MACs are learned from the whole batch first. */
  enrich(batch: FlowRecord[]): void {
    const local = new Uint8Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const fam = r.family as 4 | 6;
      local[i] = this.localCode(this.isLocal(r.src_addr, fam), this.isLocal(r.dst_addr, fam), r.src_mac, r.dst_mac);
    }
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const code = local[i]!;
      r.direction = directionOf(code);
      const deviceIsSrc = this.deviceIsSrc(code, r.src_mac, r.dst_mac, r.dst_addr, 0, r.family);
      // the other end from the device; the destination when there is none
      r.peer_addr = deviceIsSrc === false ? r.src_addr : r.dst_addr;
      if (deviceIsSrc !== null) {
        const mac = deviceIsSrc ? r.src_mac : r.dst_mac;
        r.device_id = mac !== 0 ? formatMac(mac) : formatIP(deviceIsSrc ? r.src_addr : r.dst_addr, r.family as 4 | 6);
      }
      r.service_port = servicePort(r);
    }
  }

  /**
   * The same enrichment on rows of columnar batches (collect/flow-batch.ts), in place and without
   * records: direction, peer_addr, device_id (added to the batch's dictionary) and service_port.
   * Gateway MACs are learned from all the ranges first, as `enrich` does for its batch. A range's
   * `directions` (per row of its batch; 0 = none) are directions the source itself gives (VPC flow
   * logs' `flow-direction`): they win over the local prefixes' for the direction, the peer and the
   * service port (the device is still the local end).
   */
  enrichColumnar(ranges: readonly { readonly batch: ColumnarBatch; readonly from: number; readonly to: number; readonly directions?: Uint8Array }[]): void {
    const codes = ranges.map((r) => {
      const c = r.batch.cols;
      const fam = c[F.family]!;
      const src = c[F.src_addr] as Uint8Array;
      const dst = c[F.dst_addr] as Uint8Array;
      const sm = c[F.src_mac]!;
      const dm = c[F.dst_mac]!;
      const out = new Uint8Array(Math.max(0, r.to - r.from));
      for (let i = r.from; i < r.to; i++) {
        const f = fam[i] as 4 | 6;
        out[i - r.from] = this.localCode(this.isLocal(src, f, i * 16), this.isLocal(dst, f, i * 16), sm[i]!, dm[i]!);
      }
      return out;
    });
    ranges.forEach((r, x) => {
      const c = r.batch.cols;
      const fam = c[F.family]!;
      const src = c[F.src_addr] as Uint8Array;
      const dst = c[F.dst_addr] as Uint8Array;
      const peer = c[F.peer_addr] as Uint8Array;
      const sm = c[F.src_mac]!;
      const dm = c[F.dst_mac]!;
      const dir = c[F.direction]!;
      const svc = c[F.service_port]!;
      const proto = c[F.proto]!;
      const sp = c[F.src_port]!;
      const dp = c[F.dst_port]!;
      const dev = c[F.device_id]!;
      const dict = r.batch.dicts[F.device_id]!;
      let index = this.dictIndex.get(dict);
      if (!index) this.dictIndex.set(dict, (index = new Map(dict.map((s, i) => [s, i]))));
      const ids = this.deviceIds.use(dict);
      const code = codes[x]!;
      const given = r.directions;
      for (let i = r.from; i < r.to; i++) {
        const k = code[i - r.from]!;
        const f = fam[i] as 4 | 6;
        const o = i * 16;
        const g = given ? given[i]! : 0;
        const direction = g !== 0 ? g : directionOf(k);
        dir[i] = direction;
        const deviceIsSrc = this.deviceIsSrc(k, sm[i]!, dm[i]!, dst, o, f);
        // the other end from the device, else the destination; with a given direction, the remote end
        const peerFrom = g !== 0 ? (g === Direction.inbound ? src : dst) : deviceIsSrc === false ? src : dst;
        for (let b = 0; b < 16; b++) peer[o + b] = peerFrom[o + b]!;
        if (deviceIsSrc !== null) {
          const mac = deviceIsSrc ? sm[i]! : dm[i]!;
          const a = deviceIsSrc ? src : dst;
          // an address-identified device seen earlier in this dictionary: its index without formatting
          let ix = mac !== 0 ? -1 : ids.get(a, o, f);
          if (ix < 0) {
            const id = mac !== 0 ? formatMac(mac) : formatIP(addrAt(a, o, SCRATCH), f);
            ix = index.get(id) ?? -1;
            if (ix < 0) {
              ix = dict.length;
              dict.push(id);
              index.set(id, ix);
            }
            if (mac === 0) ids.set(a, o, f, ix);
          }
          dev[i] = ix;
        }
        svc[i] = servicePortOf(proto[i]!, sp[i]!, dp[i]!, direction);
      }
    });
  }

  /** Address → device id index in the current dictionary (saves formatting repeated addresses). */
  private readonly deviceIds = new AddressIndexCache();

  /** Per columnar dictionary of device ids, its values' indexes (dictionaries only grow). */
  private readonly dictIndex = new WeakMap<string[], Map<string, number>>();
}

/** Scratch for addrAt (the address being formatted). */
const SCRATCH = new Uint8Array(16);

/**
 * A direct-mapped cache from an address (16 bytes and family) to its index in one string
 * dictionary: 65,536 slots, an entry replaced by the next address hashing to its slot. Entries
 * belong to the dictionary given to `use`; another dictionary invalidates them all (a generation).
 */
class AddressIndexCache {
  private static readonly SLOTS = 1 << 16;
  private readonly keys = new Uint8Array(AddressIndexCache.SLOTS * 16);
  private readonly fams = new Uint8Array(AddressIndexCache.SLOTS);
  private readonly ixs = new Int32Array(AddressIndexCache.SLOTS);
  private readonly gens = new Uint32Array(AddressIndexCache.SLOTS);
  private gen = 1;
  private dict: readonly string[] | null = null;

  use(dict: readonly string[]): this {
    if (dict !== this.dict) {
      this.dict = dict;
      this.gen++;
    }
    return this;
  }

  private slot(a: Uint8Array, o: number): number {
    let h = 0x811c9dc5;
    for (let b = 0; b < 16; b++) h = Math.imul(h ^ a[o + b]!, 0x01000193);
    return (h ^ (h >>> 16)) & (AddressIndexCache.SLOTS - 1);
  }

  /** The index cached for the 16 bytes at `o` of `a` with family `f`, or -1. */
  get(a: Uint8Array, o: number, f: number): number {
    const s = this.slot(a, o);
    if (this.gens[s] !== this.gen || this.fams[s] !== f) return -1;
    const k = s * 16;
    for (let b = 0; b < 16; b++) if (this.keys[k + b] !== a[o + b]) return -1;
    return this.ixs[s]!;
  }

  set(a: Uint8Array, o: number, f: number, ix: number): void {
    const s = this.slot(a, o);
    const k = s * 16;
    for (let b = 0; b < 16; b++) this.keys[k + b] = a[o + b]!;
    this.fams[s] = f;
    this.ixs[s] = ix;
    this.gens[s] = this.gen;
  }

}


function directionOf(code: number): number {
  return code === 1 ? Direction.outbound : code === 2 ? Direction.inbound : Direction.unknown;
}

/** A MAC (48-bit number) that is set and has the I/G (group) bit clear. */
function isUnicastMac(mac: number): boolean {
  return mac !== 0 && Math.floor(mac / 2 ** 40) % 2 === 0;
}

/** Multicast or broadcast destination, by MAC (when known) or by address (16 bytes at `o` of `a`). */
function isGroupDestination(dstMac: number, a: Uint8Array, o: number, family: number): boolean {
  if (dstMac !== 0) return !isUnicastMac(dstMac);
  if (family === 6) return a[o] === 0xff;
  return (a[o + 12]! & 0xf0) === 0xe0 || (a[o + 12] === 255 && a[o + 13] === 255 && a[o + 14] === 255 && a[o + 15] === 255);
}

/** The service side of a flow's ports (see the schema's `service_port`). */
export function servicePort(r: Pick<FlowRecord, 'proto' | 'src_port' | 'dst_port' | 'direction'>): number {
  return servicePortOf(r.proto, r.src_port, r.dst_port, r.direction);
}

function servicePortOf(proto: number, s: number, d: number, direction: number): number {
  if (proto === ICMP || proto === ICMPV6) return 0;
  if (s === 0 && d === 0) return 0;
  if (s < 1024 && d >= 1024) return s;
  if (d < 1024 && s >= 1024) return d;
  if (direction === Direction.outbound) return d;
  if (direction === Direction.inbound) return s;
  return Math.min(s, d);
}
