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
import { fullColumn, strides, type ColumnarBatch } from '../collect/flow-batch.js';
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
/** LocalEnricher's first-byte verdicts. */
const NONE = 0;
const CHECK = 1;
const ALL = 2;

export class LocalEnricher {
  readonly prefixes: readonly Prefix[];
  private readonly gatewayMacs = new Set<number>();

  /**
   * Per family, a verdict by the address's first byte (IPv4: its first octet; IPv6: byte 0):
   * NONE no prefix can contain it, ALL a prefix of at most 8 bits contains it, else CHECK the
   * family's longer prefixes (`longer`). Most addresses are decided by one lookup.
   */
  private readonly firstByte4 = new Uint8Array(256);
  private readonly firstByte6 = new Uint8Array(256);
  private readonly longer4: Prefix[] = [];
  private readonly longer6: Prefix[] = [];

  constructor(opts: LocalEnricherOptions = {}) {
    const texts = [...(opts.defaults === false ? [] : DEFAULT_LOCAL_PREFIXES), ...(opts.localPrefixes ?? [])];
    this.prefixes = texts.map((t) => parsePrefix(t));
    for (const p of this.prefixes) {
      const table = p.family === 4 ? this.firstByte4 : this.firstByte6;
      const first = p.addr[p.family === 4 ? 12 : 0]!;
      if (p.length <= 8) {
        const mask = (0xff00 >> p.length) & 0xff;
        for (let v = 0; v < 256; v++) if ((v & mask) === (first & mask)) table[v] = ALL;
      } else {
        (p.family === 4 ? this.longer4 : this.longer6).push(p);
        if (table[first] === NONE) table[first] = CHECK;
      }
    }
  }

  /**
   * Whether the address (16 bytes at `offset` of `addr`) is local. Decided by the first byte when
   * it can be (firstByte4/6: NONE no prefix can hold it, ALL a prefix of at most 8 bits does, CHECK
   * the family's longer prefixes decide); an IPv4 address must be IPv4-mapped (::ffff:a.b.c.d).
   */
  isLocal(addr: Uint8Array, family: 4 | 6, offset = 0): boolean {
    let verdict: number;
    if (family === 6) verdict = this.firstByte6[addr[offset]!]!;
    else if (family === 4) {
      for (let i = 0; i < 10; i++) if (addr[offset + i] !== 0) return false;
      if (addr[offset + 10] !== 0xff || addr[offset + 11] !== 0xff) return false;
      verdict = this.firstByte4[addr[offset + 12]!]!;
    } else return false;
    if (verdict !== CHECK) return verdict === ALL;
    for (const p of family === 4 ? this.longer4 : this.longer6) if (prefixContains(p, addr, family, offset)) return true;
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
    // Columns read may be constant (one row: the stride is 0); the ones written are made full first.
    const readStrides = ranges.map((r) => strides(r.batch.cols)); // the columns read are never written
    const codes = ranges.map((r, x) => {
      const c = r.batch.cols;
      const st = readStrides[x]!;
      const fam = c[F.family]!;
      const src = c[F.src_addr] as Uint8Array;
      const dst = c[F.dst_addr] as Uint8Array;
      const sm = c[F.src_mac]!;
      const dm = c[F.dst_mac]!;
      const [sf, ss, sd, ssm, sdm] = [st[F.family]!, st[F.src_addr]!, st[F.dst_addr]!, st[F.src_mac]!, st[F.dst_mac]!];
      const out = new Uint8Array(Math.max(0, r.to - r.from));
      for (let i = r.from; i < r.to; i++) {
        const f = fam[i * sf] as 4 | 6;
        out[i - r.from] = this.localCode(this.isLocal(src, f, i * 16 * ss), this.isLocal(dst, f, i * 16 * sd), sm[i * ssm]!, dm[i * sdm]!);
      }
      return out;
    });
    ranges.forEach((r, x) => {
      const c = r.batch.cols;
      const dir = fullColumn(r.batch, F.direction);
      const peer = fullColumn(r.batch, F.peer_addr) as Uint8Array;
      const svc = fullColumn(r.batch, F.service_port);
      const dev = fullColumn(r.batch, F.device_id);
      const st = readStrides[x]!;
      const fam = c[F.family]!;
      const src = c[F.src_addr] as Uint8Array;
      const dst = c[F.dst_addr] as Uint8Array;
      const sm = c[F.src_mac]!;
      const dm = c[F.dst_mac]!;
      const proto = c[F.proto]!;
      const sp = c[F.src_port]!;
      const dp = c[F.dst_port]!;
      const [sf, ss, sd, ssm, sdm, spr, ssp, sdp] = [st[F.family]!, st[F.src_addr]!, st[F.dst_addr]!, st[F.src_mac]!, st[F.dst_mac]!, st[F.proto]!, st[F.src_port]!, st[F.dst_port]!];
      const dict = r.batch.dicts[F.device_id]!;
      let index = this.dictIndex.get(dict);
      if (!index) this.dictIndex.set(dict, (index = new Map(dict.map((s, i) => [s, i]))));
      const ids = this.deviceIds.use(dict);
      const code = codes[x]!;
      const given = r.directions;
      for (let i = r.from; i < r.to; i++) {
        const k = code[i - r.from]!;
        const f = fam[i * sf] as 4 | 6;
        const o = i * 16;
        const os = o * ss;
        const od = o * sd;
        const smac = sm[i * ssm]!;
        const dmac = dm[i * sdm]!;
        const g = given ? given[i]! : 0;
        const direction = g !== 0 ? g : directionOf(k);
        dir[i] = direction;
        const deviceIsSrc = this.deviceIsSrc(k, smac, dmac, dst, od, f);
        // the other end from the device, else the destination; with a given direction, the remote end
        const peerIsSrc = g !== 0 ? g === Direction.inbound : deviceIsSrc === false;
        const peerFrom = peerIsSrc ? src : dst;
        const op = peerIsSrc ? os : od;
        for (let b = 0; b < 16; b++) peer[o + b] = peerFrom[op + b]!;
        if (deviceIsSrc !== null) {
          const mac = deviceIsSrc ? smac : dmac;
          const a = deviceIsSrc ? src : dst;
          const oa = deviceIsSrc ? os : od;
          let ix: number;
          if (mac !== 0) {
            const id = formatMac(mac);
            ix = index.get(id) ?? -1;
            if (ix < 0) {
              ix = dict.length;
              dict.push(id);
              index.set(id, ix);
            }
          } else ix = ids.indexOf(a, oa, f);
          dev[i] = ix;
        }
        svc[i] = servicePortOf(proto[i * spr]!, sp[i * ssp]!, dp[i * sdp]!, direction);
      }
    });
  }

  /** Address-identified device ids and their indexes in the dictionary being filled. */
  private readonly deviceIds = new DeviceIdCache();

  /** Per columnar dictionary of device ids, its values' indexes (dictionaries only grow). */
  private readonly dictIndex = new WeakMap<string[], Map<string, number>>();
}

/** Scratch for addrAt (the address being formatted). */
const SCRATCH = new Uint8Array(16);

/**
 * Address-identified device ids for columnar batches: a direct-mapped cache from an address (16
 * bytes and family) to its id text, 65,536 slots (an entry is replaced by the next address hashing
 * to its slot), kept across batches, so an address is formatted once while it stays cached. Each
 * slot also remembers the id's index in the dictionary of the batch being enriched (a generation per
 * dictionary), so a row whose device already has an entry in this dictionary costs a hash and a
 * compare. An id is added to a dictionary without looking it up there: the same address always
 * takes the same slot, so a dictionary gets an id twice only when its address was replaced in the
 * slot and came back (two indexes with the same text: the same value to every reader).
 */
class DeviceIdCache {
  private static readonly SLOTS = 1 << 16;
  private readonly keys = new Uint8Array(DeviceIdCache.SLOTS * 16);
  private readonly fams = new Uint8Array(DeviceIdCache.SLOTS);
  private readonly texts: string[] = new Array<string>(DeviceIdCache.SLOTS).fill('');
  private readonly ixs = new Int32Array(DeviceIdCache.SLOTS);
  private readonly gens = new Uint32Array(DeviceIdCache.SLOTS);
  private gen = 0;
  private dict: string[] | null = null;

  private slot(a: Uint8Array, o: number): number {
    let h = 0x811c9dc5;
    for (let b = 0; b < 16; b++) h = Math.imul(h ^ a[o + b]!, 0x01000193);
    return (h ^ (h >>> 16)) & (DeviceIdCache.SLOTS - 1);
  }

  /** Work on `dict` (the dictionary of the rows being enriched): a new one starts a generation. */
  use(dict: string[]): this {
    if (dict !== this.dict) {
      this.dict = dict;
      this.gen++;
    }
    return this;
  }

  /** The index in the current dictionary of the id of the address at `o` of `a` (family `f`), added when missing. */
  indexOf(a: Uint8Array, o: number, f: number): number {
    const dict = this.dict!;
    const s = this.slot(a, o);
    const k = s * 16;
    let hit = this.fams[s] === f;
    if (hit) {
      for (let b = 0; b < 16; b++) {
        if (this.keys[k + b] !== a[o + b]) {
          hit = false;
          break;
        }
      }
    }
    if (hit) {
      if (this.gens[s] === this.gen) return this.ixs[s]!;
    } else {
      for (let b = 0; b < 16; b++) this.keys[k + b] = a[o + b]!;
      this.fams[s] = f;
      this.texts[s] = formatIP(addrAt(a, o, SCRATCH), f as 4 | 6);
    }
    const ix = dict.length;
    dict.push(this.texts[s]!);
    this.ixs[s] = ix;
    this.gens[s] = this.gen;
    return ix;
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
