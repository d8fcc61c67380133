/**
 * The demo's ground truth (ground-truth.json), counted by the generator from the packets it wrote —
 * never by v6scope's decoder — so it can check the decoder, the flow meter and the analysis.
 *
 * Bytes are IP-layer bytes as written in the headers (IPv4 total length, IPv6 payload length + 40),
 * one packet per frame, flows are unidirectional 5-tuple flows (ICMP/ICMPv6: source port 0,
 * destination port type*256+code) under the flow meter's default timeouts.
 */
export interface Totals {
  bytes: number;
  packets: number;
  flows: number;
}

export interface FamilyTotals {
  ipv4: Totals;
  ipv6: Totals;
}

export interface Shares {
  bytes: number;
  packets: number;
  flows: number;
}

export interface GroundTruthDevice {
  name: string;
  /** "client" for the LAN's devices, "gateway" for the router. */
  role: 'client' | 'gateway';
  /** What it is and how it behaves, for people reading the demo. */
  description: string;
  mac: string;
  ipv4: string[];
  /** Every IPv6 address it used in a packet of the capture (link-local, stable, temporary addresses). */
  ipv6: string[];
  /** Every flow where the device is one endpoint (both directions). */
  ipv4Totals: Totals;
  ipv6Totals: Totals;
}

export interface GroundTruthDestination {
  name: string;
  description: string;
  ipv4: string[];
  ipv6: string[];
  /** Every flow where the destination is one endpoint (both directions). */
  ipv4Totals: Totals;
  ipv6Totals: Totals;
}

export interface GroundTruth {
  /** Format version of this file. */
  version: 1;
  seed: number;
  /** Epoch ms (UTC) of the first day's 00:00, and of the end of the last day. */
  start: number;
  end: number;
  startIso: string;
  endIso: string;
  days: number;
  /** Frames in the capture (IP packets plus the non-IP frames, e.g. ARP). */
  packetsWritten: number;
  /** Frames that are not IP (ARP): in the capture, not in any total. */
  nonIpFrames: number;
  snaplen: number;
  localPrefixes: string[];
  total: FamilyTotals;
  /** ipv6 / (ipv4 + ipv6) per metric. */
  share: Shares;
  /** LAN clients (role "client", whose totals add up to `total` minus `gatewayOnly`) and the router. */
  devices: GroundTruthDevice[];
  /** Traffic none of the client devices is an endpoint of (router advertisements...). */
  gatewayOnly: FamilyTotals;
  destinations: GroundTruthDestination[];
  /** What the router's resolver answers (also visible in the capture). */
  dns: { name: string; a: string[]; aaaa: string[]; ttl: number }[];
  /** The BitTorrent client (on the NAS, bound to IPv4): its traffic, peers from 198.18.0.0/15. */
  bittorrent: { device: string; boundTo: 'ipv4' | 'dual-stack'; peers: number; totals: FamilyTotals; bytesShareOfAll: number };
  /**
   * Every IPv4 byte/packet/flow by the floor cause the generator knows it has (infrastructure,
   * ipv4-only-device, legacy-destination, fixable, unknown), in the precedence of
   * docs/find-and-fix.md.
   */
  floor: Record<'infrastructure' | 'ipv4-only-device' | 'legacy-destination' | 'fixable' | 'unknown', Totals>;
  whatIf: {
    /** The IPv6 shares if the BitTorrent client's IPv4 traffic moved to IPv6 (its peers are dual-stack). */
    bittorrentToIPv6: { bytesShare: number; packetsShare: number; flowsShare: number };
  };
}

export interface DemoResult {
  pcapPath: string;
  truthPath: string;
  /** The router's DHCP leases (dnsmasq format): device names for `v6scope import leases`. */
  leasesPath: string;
  truth: GroundTruth;
  /** Wall-clock time the generation took (ms). */
  elapsedMs: number;
  /** Size of the pcap file (bytes). */
  pcapBytes: number;
}
