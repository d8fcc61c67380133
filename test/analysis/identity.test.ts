/** One device, many addresses: flows without MACs are merged by neighbour/lease facts and EUI-64. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listDevices } from '../../src/analysis/devices.js';
import { buildFindContext, laggards } from '../../src/analysis/find.js';
import { parseIP } from '../../src/net/ip.js';
import { parseMac } from '../../src/net/mac.js';
import { NEIGHBORS } from '../../src/schema/facts.js';
import { Direction, emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;
const T = Date.UTC(2026, 10, 2);

/** A flow as a MAC-less exporter (NetFlow from the router) reports it: the device id is the address. */
function flow(t: number, src: string, dst: string, bytes: number): FlowRecord {
  const s = parseIP(src);
  const d = parseIP(dst);
  return { ...emptyFlow(), time_received: t, family: s.family, src_addr: s.addr, dst_addr: d.addr, peer_addr: d.addr, device_id: src, direction: Direction.outbound, proto: 6, src_port: 50000, dst_port: 443, service_port: 443, bytes, packets: 1, flows: 1 };
}

describe('device identity across addresses', () => {
  it('merges an IPv4 address and two rotating privacy addresses by lease/neighbour facts, and EUI-64 by the MAC inside', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'id.duckdb') });
    const phone = '02:00:00:00:00:aa';
    await store.append([
      flow(T + 1000, '192.168.1.20', '203.0.113.1', 100),
      flow(T + 2000, '2001:db8:1:1:1111:2222:3333:4444', '2001:db8:ffff::1', 1000), // day 1 privacy address
      flow(T + DAY + 2000, '2001:db8:1:1:5555:6666:7777:8888', '2001:db8:ffff::1', 2000), // day 2
      flow(T + 3000, '2001:db8:1:1:200:5eff:fe00:5315', '2001:db8:ffff::1', 400), // EUI-64 of 00:00:5e:00:53:15
      flow(T + 4000, '192.168.1.99', '203.0.113.1', 7), // no evidence: stays an address
    ]);
    const fact = (addr: string, src: string) => {
      const p = parseIP(addr);
      return { seen_at: T + 2 * DAY, mac: parseMac(phone), family: p.family, addr: p.addr, hostname: src === 'dnsmasq' ? 'phone' : '', source: src, expires_at: 0 };
    };
    await store.facts!.append(NEIGHBORS, [fact('192.168.1.20', 'dnsmasq'), fact('2001:db8:1:1:1111:2222:3333:4444', 'ip-neigh'), fact('2001:db8:1:1:5555:6666:7777:8888', 'ip-neigh')]);

    const devices = await listDevices(store, T, T + 3 * DAY);
    expect(devices.map((d) => [d.id, d.hostname, d.ipv4.bytes, d.ipv6.bytes])).toEqual([
      [phone, 'phone', 100, 3000],
      ['00:00:5e:00:53:15', null, 0, 400],
      ['192.168.1.99', null, 7, 0],
    ]);
    const p = devices[0]!;
    expect(p.addresses.map((a) => [a.addr, a.firstSeen !== null])).toEqual([
      ['192.168.1.20', true],
      ['2001:db8:1:1:1111:2222:3333:4444', true],
      ['2001:db8:1:1:5555:6666:7777:8888', true],
    ]);
    expect(devices[1]!.addresses.map((a) => a.kind)).toEqual(['eui-64']);

    const ctx = await buildFindContext(store, T, T + 3 * DAY);
    expect(laggards(ctx, 'device').map((l) => [l.key, l.ipv4.bytes])).toEqual([
      [phone, 100],
      ['192.168.1.99', 7],
    ]);
    expect(ctx.devices.get(phone)!.usedIPv6).toBe(true); // so its IPv4 is not "IPv4-only device"
    await store.close();
  });
});
