import { describe, expect, it } from 'vitest';
import { LocalEnricher, servicePort } from '../../src/enrich/local.js';
import { parseIP } from '../../src/net/ip.js';
import { parseMac } from '../../src/net/mac.js';
import { Direction, emptyFlow, type FlowRecord } from '../../src/schema/fields.js';

function flow(src: string, dst: string, o: Partial<FlowRecord> = {}): FlowRecord {
  const s = parseIP(src);
  const d = parseIP(dst);
  return { ...emptyFlow(), family: s.family, src_addr: s.addr, dst_addr: d.addr, ...o };
}

const LAPTOP = parseMac('02:00:00:00:00:0a');
const ROUTER = parseMac('02:00:00:00:00:01');

describe('LocalEnricher', () => {
  const e = new LocalEnricher({ localPrefixes: ['2001:db8:4a1:10::/64', '198.51.100.0/24'] });

  it.each([
    ['192.168.1.10', '203.0.113.5', Direction.outbound, '203.0.113.5'],
    ['203.0.113.5', '192.168.1.10', Direction.inbound, '203.0.113.5'],
    ['2001:db8:4a1:10::5', '3fff::1', Direction.outbound, '3fff::1'],
    ['3fff::1', '2001:db8:4a1:10::5', Direction.inbound, '3fff::1'],
    ['198.51.100.7', '8.8.8.8', Direction.outbound, '8.8.8.8'],
    ['8.8.8.8', '9.9.9.9', Direction.unknown, '9.9.9.9'],
    ['fe80::1', 'ff02::1', Direction.unknown, 'ff02::1'],
    ['2001:db8:4a1:11::5', '3fff::1', Direction.unknown, '3fff::1'], // neighbouring /64 is not local
  ])('%s → %s is %s with peer %s', (src, dst, dir, peer) => {
    const r = flow(src, dst);
    e.enrich([r]);
    expect(r.direction).toBe(dir);
    expect(Buffer.from(r.peer_addr).equals(Buffer.from(parseIP(peer).addr))).toBe(true);
  });

  it('uses the local MAC as device id, else the local address', () => {
    const a = flow('192.168.1.10', '203.0.113.5', { src_mac: LAPTOP, dst_mac: ROUTER });
    const b = flow('3fff::1', '2001:db8:4a1:10::5');
    const c = flow('8.8.8.8', '9.9.9.9');
    e.enrich([a, b, c]);
    expect(a.device_id).toBe('02:00:00:00:00:0a');
    expect(b.device_id).toBe('2001:db8:4a1:10::5');
    expect(c.device_id).toBe('');
  });

  it('attributes local-to-local flows (DNS to the router) to the device, not the gateway', () => {
    const en = new LocalEnricher();
    const out = flow('192.168.1.10', '203.0.113.5', { src_mac: LAPTOP, dst_mac: ROUTER });
    const query = flow('192.168.1.10', '192.168.1.1', { src_mac: LAPTOP, dst_mac: ROUTER, proto: 17, src_port: 40000, dst_port: 53 });
    const answer = flow('192.168.1.1', '192.168.1.10', { src_mac: ROUTER, dst_mac: LAPTOP, proto: 17, src_port: 53, dst_port: 40000 });
    en.enrich([answer, query, out]); // gateway learned from the batch, whatever the order
    expect(query.device_id).toBe('02:00:00:00:00:0a');
    expect(answer.device_id).toBe('02:00:00:00:00:0a');
    expect(query.service_port).toBe(53);
    expect(answer.service_port).toBe(53);
    // the peer of both directions is the router, not the device itself
    const router = Buffer.from(parseIP('192.168.1.1').addr);
    expect(Buffer.from(query.peer_addr).equals(router)).toBe(true);
    expect(Buffer.from(answer.peer_addr).equals(router)).toBe(true);
  });

  it('does not take a device for a gateway because of duplicate address detection from ::', () => {
    // DAD: NS from the unspecified address to the solicited-node group, before the laptop has an address
    const en = new LocalEnricher({ localPrefixes: ['2001:db8:4a1:10::/64'] });
    const dad = flow('::', 'ff02::1:ff00:5', { src_mac: LAPTOP, dst_mac: parseMac('33:33:ff:00:00:05'), proto: 58, dst_port: 135 * 256 });
    const out = flow('192.168.1.10', '203.0.113.5', { src_mac: LAPTOP, dst_mac: ROUTER });
    const query = flow('192.168.1.10', '192.168.1.1', { src_mac: LAPTOP, dst_mac: ROUTER, proto: 17, src_port: 68, dst_port: 67 });
    const ack = flow('192.168.1.1', '192.168.1.10', { src_mac: ROUTER, dst_mac: LAPTOP, proto: 17, src_port: 67, dst_port: 68 });
    en.enrich([dad, out, query, ack]);
    expect(dad.device_id).toBe('02:00:00:00:00:0a');
    expect(query.device_id).toBe('02:00:00:00:00:0a');
    expect(ack.device_id).toBe('02:00:00:00:00:0a');
  });

  it('attributes multicast and broadcast to their sender (router advertisements to the router)', () => {
    const en = new LocalEnricher();
    const ra = flow('fe80::1', 'ff02::1', { src_mac: ROUTER, dst_mac: parseMac('33:33:00:00:00:01'), proto: 58, dst_port: 134 * 256 });
    const mdns = flow('192.168.1.10', '224.0.0.251', { proto: 17, src_port: 5353, dst_port: 5353 }); // no MACs (e.g. NetFlow)
    const bcast = flow('0.0.0.0', '255.255.255.255', { src_mac: LAPTOP, dst_mac: parseMac('ff:ff:ff:ff:ff:ff'), proto: 17, src_port: 68, dst_port: 67 });
    en.enrich([ra, mdns, bcast]);
    expect(ra.device_id).toBe('02:00:00:00:00:01');
    expect(mdns.device_id).toBe('192.168.1.10');
    expect(bcast.device_id).toBe('02:00:00:00:00:0a');
    expect(bcast.direction).toBe(Direction.unknown);
  });

  it('rejects an invalid local prefix with a clear error', () => {
    expect(() => new LocalEnricher({ localPrefixes: ['2001:db8::/129'] })).toThrow(/2001:db8::\/129/);
  });
});

describe('servicePort', () => {
  it.each([
    [6, 51000, 443, Direction.outbound, 443],
    [6, 443, 51000, Direction.inbound, 443],
    [6, 51413, 6881, Direction.outbound, 6881],
    [6, 6881, 51413, Direction.inbound, 6881],
    [17, 40000, 53, Direction.unknown, 53],
    [17, 5000, 6000, Direction.unknown, 5000],
    [1, 0, 2048, Direction.outbound, 0],
    [58, 0, 34560, Direction.inbound, 0],
    [47, 0, 0, Direction.outbound, 0],
  ])('proto %i %i→%i (%i) is %i', (proto, s, d, dir, want) => {
    expect(servicePort({ proto, src_port: s, dst_port: d, direction: dir })).toBe(want);
  });
});
