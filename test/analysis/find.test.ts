/** Find-and-fix rules on hand-made flows (the demo end-to-end test covers the whole story). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFindContext, floor, laggards } from '../../src/analysis/find.js';
import type { AsnLookup } from '../../src/enrich/asn.js';
import { parseIP } from '../../src/net/ip.js';
import { Direction, emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-find-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T = Date.UTC(2026, 10, 2);

function flow(device: string, src: string, dst: string, o: Partial<FlowRecord>): FlowRecord {
  const s = parseIP(src);
  const d = parseIP(dst);
  return { ...emptyFlow(), time_received: T + 1000, family: s.family, src_addr: s.addr, dst_addr: d.addr, peer_addr: d.addr, device_id: device, direction: Direction.outbound, proto: 6, src_port: 50000, dst_port: 443, service_port: 443, bytes: 1000, packets: 10, flows: 1, ...o };
}

describe('find: destinations without DNS names', () => {
  it('are named by their origin AS when an ASN database is given, else by address; without DNS they are "unknown"', async () => {
    const store = await openDuckDBStore({ path: path.join(dir, 'a.duckdb') });
    await store.append([
      flow('pc', '192.168.1.2', '203.0.113.7', { bytes: 5000 }),
      flow('pc', '192.168.1.2', '203.0.113.8', { bytes: 3000 }),
      flow('pc', '192.168.1.2', '198.51.100.1', { bytes: 1000 }),
      flow('pc', '2001:db8:1::2', '2001:db8:2::1', { bytes: 7000 }),
    ]);
    const fake: AsnLookup = {
      source: 'test',
      lookup: (addr) => (addr[12] === 203 ? { asn: 64500, org: 'Example Transit' } : null),
    };
    const ctx = await buildFindContext(store, T, T + 3_600_000, { asn: fake });
    const l = laggards(ctx, 'destination');
    expect(l.map((x) => [x.key, x.ipv4.bytes, x.asn])).toEqual([
      ['AS64500 Example Transit', 8000, 64500],
      ['198.51.100.1', 1000, null],
    ]);
    const f = floor(ctx);
    expect(f.find((c) => c.cause === 'unknown')!.ipv4.bytes).toBe(9000);
    const plain = await buildFindContext(store, T, T + 3_600_000);
    expect(laggards(plain, 'destination').map((x) => x.key)).toEqual(['203.0.113.7', '203.0.113.8', '198.51.100.1']);
    await store.close();
  });
});
