import { describe, expect, it } from 'vitest';
import { labelApps, wellKnownApp, type TrafficRow } from '../../src/analysis/apps.js';

const row = (o: Partial<TrafficRow>): TrafficRow => ({
  device: 'nas',
  family: 4,
  direction: 2,
  proto: 17,
  srcPort: 51413,
  dstPort: 40000,
  servicePort: 40000,
  peer: '198.18.0.1',
  bytes: 100,
  packets: 1,
  flows: 1,
  ...o,
});

describe('labelApps', () => {
  const named = new Set(['203.0.113.40', '203.0.113.80']);
  const isNamed = (p: string) => named.has(p);

  it('finds a peer-to-peer listener by its many unnamed high-port peers, and labels the device’s P2P flows', () => {
    const rows: TrafficRow[] = [];
    for (let i = 1; i <= 8; i++) rows.push(row({ peer: `198.18.0.${i}`, dstPort: 20000 + i })); // DHT from the listener port
    rows.push(row({ direction: 1, proto: 6, srcPort: 33000, dstPort: 51413, peer: '198.18.0.1' })); // inbound TCP to the listener
    rows.push(row({ proto: 6, srcPort: 45000, dstPort: 6881, peer: '198.18.9.9' })); // outbound TCP to a peer never seen on the listener
    rows.push(row({ proto: 6, srcPort: 45001, dstPort: 443, servicePort: 443, peer: '203.0.113.40' })); // HTTPS to a named host
    rows.push(row({ proto: 17, srcPort: 45002, dstPort: 27015, servicePort: 27015, peer: '203.0.113.80' })); // a game server with a name
    rows.push(row({ direction: 0, proto: 17, srcPort: 45003, dstPort: 53, servicePort: 53, peer: '192.168.1.1' }));
    const { apps, listeners } = labelApps(rows, isNamed);
    expect(listeners).toEqual([{ device: 'nas', proto: 17, port: 51413, peers: 8 }]);
    expect(apps).toEqual([...Array(8).fill('bittorrent'), 'bittorrent', 'bittorrent', 'https', 'udp/27015', 'dns']);
  });

  it('needs enough distinct peers: seven are not a swarm, and named peers do not count', () => {
    const rows = [1, 2, 3, 4, 5, 6, 7].map((i) => row({ peer: `198.18.0.${i}` }));
    rows.push(row({ peer: '203.0.113.40' }), row({ peer: '203.0.113.80' }));
    const { apps, listeners } = labelApps(rows, isNamed);
    expect(listeners).toEqual([]);
    expect(new Set(apps)).toEqual(new Set(['udp/40000']));
  });

  it('only the listener’s device is P2P: another device with high-port traffic is not', () => {
    const rows = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => row({ peer: `198.18.0.${i}` }));
    rows.push(row({ device: 'laptop', proto: 6, srcPort: 50000, dstPort: 6881, servicePort: 6881, peer: '198.18.0.1' }));
    expect(labelApps(rows, isNamed).apps.at(-1)).toBe('tcp/6881');
  });
});

describe('wellKnownApp', () => {
  it.each([
    [6, 443, 'https'],
    [17, 443, 'quic'],
    [17, 53, 'dns'],
    [17, 123, 'ntp'],
    [1, 0, 'icmp'],
    [58, 0, 'icmpv6'],
    [6, 6881, 'tcp/6881'],
    [47, 0, 'proto-47'],
  ])('%i/%i → %s', (proto, port, app) => expect(wellKnownApp(proto, port)).toBe(app));
});
