/**
 * Applications of flows: well-known services by protocol and service port, and peer-to-peer
 * (BitTorrent and the like) recognised by behaviour rather than by port numbers — a client that
 * listens on one high port and talks to many peers, high ports on both sides, peers that no DNS
 * answer named.
 */

/** One aggregated traffic row as the find-and-fix analyses read it (see traffic.ts). */
export interface TrafficRow {
  device: string;
  family: 4 | 6;
  /** 0 unknown (local to local, or neither local), 1 inbound, 2 outbound. */
  direction: number;
  proto: number;
  srcPort: number;
  dstPort: number;
  servicePort: number;
  /** The remote end (RFC 5952 / dotted quad). */
  peer: string;
  bytes: number;
  packets: number;
  flows: number;
}

export const P2P_APP = 'bittorrent';

const WELL_KNOWN: Record<string, string> = {
  '6/443': 'https',
  '17/443': 'quic',
  '6/80': 'http',
  '6/8080': 'http',
  '17/53': 'dns',
  '6/53': 'dns',
  '6/853': 'dns-over-tls',
  '17/853': 'dns-over-quic',
  '17/123': 'ntp',
  '17/67': 'dhcp',
  '17/68': 'dhcp',
  '17/546': 'dhcpv6',
  '17/547': 'dhcpv6',
  '17/5353': 'mdns',
  '17/1900': 'ssdp',
  '6/22': 'ssh',
  '6/993': 'imaps',
  '6/143': 'imap',
  '6/465': 'smtps',
  '6/587': 'submission',
  '6/25': 'smtp',
  '17/3478': 'stun',
  '17/500': 'ipsec-ike',
  '17/4500': 'ipsec-nat-t',
  '17/51820': 'wireguard',
  '6/1883': 'mqtt',
  '6/8883': 'mqtts',
  '6/554': 'rtsp',
};

/** Applications that keep a network running rather than serve its users (the floor's "infrastructure"). */
export const INFRASTRUCTURE_APPS: ReadonlySet<string> = new Set(['dns', 'dns-over-tls', 'dns-over-quic', 'ntp', 'dhcp', 'dhcpv6', 'mdns', 'ssdp', 'icmp', 'icmpv6']);

export function wellKnownApp(proto: number, servicePort: number): string {
  if (proto === 1) return 'icmp';
  if (proto === 58) return 'icmpv6';
  const name = WELL_KNOWN[`${proto}/${servicePort}`];
  if (name) return name;
  const p = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : `proto-${proto}`;
  return servicePort ? `${p}/${servicePort}` : p;
}

export interface P2POptions {
  /** Distinct peers a listening port needs before it counts as peer-to-peer (default 8). */
  minPeers?: number;
}

/** A device's peer-to-peer listener: the local port many peers talk to. */
export interface P2PListener {
  device: string;
  proto: number;
  port: number;
  peers: number;
}

const localPort = (r: TrafficRow): number => (r.direction === 2 ? r.srcPort : r.dstPort);
const remotePort = (r: TrafficRow): number => (r.direction === 2 ? r.dstPort : r.srcPort);

/**
 * Label every row with its application. Peer-to-peer: a device port ≥ 1024 that ≥ minPeers
 * distinct remote addresses exchanged traffic with, from their own ports ≥ 1024, marks a
 * listener; then every flow of that device on a listener port, and every flow of it where both
 * ports are ≥ 1024 and no DNS answer ever named the remote address (`isNamed`), is peer-to-peer.
 * Everything else gets its well-known name or protocol/port.
 */
export function labelApps(
  rows: readonly TrafficRow[],
  isNamed: (peer: string) => boolean,
  o: P2POptions = {},
): { apps: string[]; listeners: P2PListener[] } {
  const minPeers = o.minPeers ?? 8;
  // (device, proto, local port) → distinct high-port peers
  const byPort = new Map<string, Set<string>>();
  for (const r of rows) {
    if ((r.proto !== 6 && r.proto !== 17) || (r.direction !== 1 && r.direction !== 2)) continue;
    const lp = localPort(r);
    if (lp < 1024 || remotePort(r) < 1024 || isNamed(r.peer)) continue;
    const k = `${r.device}\u0000${r.proto}\u0000${lp}`;
    let s = byPort.get(k);
    if (!s) byPort.set(k, (s = new Set()));
    s.add(r.peer);
  }
  const listeners: P2PListener[] = [];
  const listenerKeys = new Set<string>();
  const p2pDevices = new Set<string>();
  for (const [k, peers] of byPort) {
    if (peers.size < minPeers) continue;
    const [device, proto, port] = k.split('\u0000') as [string, string, string];
    listeners.push({ device, proto: Number(proto), port: Number(port), peers: peers.size });
    listenerKeys.add(k);
    p2pDevices.add(device);
  }
  listeners.sort((a, b) => b.peers - a.peers || a.device.localeCompare(b.device) || a.port - b.port);
  const apps = rows.map((r) => {
    if (p2pDevices.has(r.device) && (r.proto === 6 || r.proto === 17) && (r.direction === 1 || r.direction === 2)) {
      if (listenerKeys.has(`${r.device}\u0000${r.proto}\u0000${localPort(r)}`)) return P2P_APP;
      if (r.srcPort >= 1024 && r.dstPort >= 1024 && !isNamed(r.peer)) return P2P_APP;
    }
    return wellKnownApp(r.proto, r.servicePort);
  });
  return { apps, listeners };
}
