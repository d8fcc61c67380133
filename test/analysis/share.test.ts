/**
 * computeShare on the real DuckDB store, against sums computed here from the generated records.
 * Includes a NetFlow v5 exporter, which must be reported as not measurable and kept out of shares.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeShare } from '../../src/analysis/share.js';
import { topTalkers } from '../../src/analysis/talkers.js';
import { keyFormatter } from '../../src/analysis/keys.js';
import { ipv4ToMapped, parseIP } from '../../src/net/ip.js';
import { emptyFlow, type FlowRecord } from '../../src/schema/fields.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import type { FlowStore } from '../../src/store/store.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 2);

let seed = 12345;
const rnd = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};

function records(): FlowRecord[] {
  const out: FlowRecord[] = [];
  for (let i = 0; i < 5000; i++) {
    const v6 = rnd() < 0.6;
    const nf5 = !v6 && rnd() < 0.1;
    const dev = `dev${Math.floor(rnd() * 5)}`;
    const r: FlowRecord = {
      ...emptyFlow(),
      time_received: T0 + Math.floor(rnd() * 48 * HOUR),
      source_kind: nf5 ? 'netflow5' : 'pcap',
      exporter_name: nf5 ? 'old-router' : 'cap',
      family: v6 ? 6 : 4,
      src_addr: v6 ? parseIP(`2001:db8::${(i % 300).toString(16)}`).addr : ipv4ToMapped(0xc0a80100 + (i % 200)),
      dst_addr: v6 ? parseIP(`3fff:0:${i % 7}::1`).addr : ipv4ToMapped(0xcb007100 + (i % 9)),
      proto: rnd() < 0.8 ? 6 : 17,
      device_id: dev,
      bytes: 40 + Math.floor(rnd() * 1e6),
      packets: 1 + Math.floor(rnd() * 1000),
      flows: 1,
    };
    r.peer_addr = r.dst_addr;
    out.push(r);
  }
  return out;
}

let store: FlowStore;
const recs = records();

beforeAll(async () => {
  store = await openDuckDBStore({ path: ':memory:' });
  await store.append(recs.slice(0, 2000));
  await store.append(recs.slice(2000));
});
afterAll(async () => store.close());

function expected(filter: (r: FlowRecord) => boolean) {
  const e = { bytes: { ipv4: 0, ipv6: 0 }, packets: { ipv4: 0, ipv6: 0 }, flows: { ipv4: 0, ipv6: 0 } };
  for (const r of recs) {
    if (!filter(r) || r.source_kind === 'netflow5') continue;
    const k = r.family === 4 ? 'ipv4' : 'ipv6';
    e.bytes[k] += r.bytes;
    e.packets[k] += r.packets;
    e.flows[k] += r.flows;
  }
  return e;
}

describe('computeShare', () => {
  const range = { since: T0, until: T0 + 48 * HOUR };

  it('overall shares equal the independent sums, without the NetFlow v5 exporter', async () => {
    const r = await computeShare(store, range);
    const e = expected(() => true);
    for (const m of ['bytes', 'packets', 'flows'] as const) {
      expect(r[m].ipv4).toBe(e[m].ipv4);
      expect(r[m].ipv6).toBe(e[m].ipv6);
      expect(r[m].ipv6Share).toBeCloseTo(e[m].ipv6 / (e[m].ipv4 + e[m].ipv6), 12);
    }
    expect(r.notMeasurable).toHaveLength(1);
    expect(r.notMeasurable[0]!.exporterName).toBe('old-router');
    const nf5Bytes = recs.filter((x) => x.source_kind === 'netflow5').reduce((s, x) => s + x.bytes, 0);
    expect(r.notMeasurable[0]!.bytes).toBe(nf5Bytes);
    expect(r.notes.join(' ')).toMatch(/cannot see IPv6/);
  });

  it('series buckets add up per hour', async () => {
    const r = await computeShare(store, { ...range, bucket: HOUR });
    expect(r.series!.length).toBe(48);
    const h5 = T0 + 5 * HOUR;
    const e = expected((x) => x.time_received >= h5 && x.time_received < h5 + HOUR);
    const p = r.series!.find((s) => s.time === h5)!;
    expect(p.bytes.ipv4).toBe(e.bytes.ipv4);
    expect(p.flows.ipv6).toBe(e.flows.ipv6);
    expect(r.tables).toContain('rollup_1h');
  });

  it('groups by device', async () => {
    const r = await computeShare(store, { ...range, groupBy: [{ field: 'device_id' }] });
    expect(r.groups!.length).toBe(5);
    for (const g of r.groups!) {
      const e = expected((x) => x.device_id === g.key.device_id);
      expect(g.bytes).toEqual({ ...e.bytes, ipv6Share: e.bytes.ipv6 / (e.bytes.ipv4 + e.bytes.ipv6) });
    }
    // sorted by total bytes, descending
    const totals = r.groups!.map((g) => g.bytes.ipv4 + g.bytes.ipv6);
    expect([...totals].sort((a, b) => b - a)).toEqual(totals);
  });

  it('groups by destination prefix with RFC 5952 / dotted keys', async () => {
    const groupBy = [{ field: 'peer_addr', prefix: { v6: 48, v4: 24 }, as: 'peer_addr' }];
    const r = await computeShare(store, { ...range, groupBy, formatKey: keyFormatter(groupBy), limit: 100 });
    const keys = r.groups!.map((g) => g.key.peer_addr).sort();
    expect(keys).toContain('203.0.113.0/24');
    expect(keys).toContain('3fff:0:3::/48');
    const v4 = r.groups!.find((g) => g.key.peer_addr === '203.0.113.0/24')!;
    expect(v4.bytes.ipv4).toBe(expected((x) => x.family === 4).bytes.ipv4);
    expect(v4.bytes.ipv6).toBe(0);
  });

  it('an empty range has null shares and a note', async () => {
    const r = await computeShare(store, { since: T0 - 10 * HOUR, until: T0 - 9 * HOUR });
    expect(r.bytes.ipv6Share).toBeNull();
    expect(r.notes.join(' ')).toMatch(/No measurable traffic/);
  });
});

describe('topTalkers', () => {
  it('ranks IPv4 devices by bytes with their share of IPv4', async () => {
    const groupBy = [{ field: 'device_id' }];
    const t = await topTalkers(store, { since: T0, until: T0 + 48 * HOUR, family: 4, groupBy, formatKey: keyFormatter(groupBy) });
    const all4 = recs.filter((x) => x.family === 4).reduce((s, x) => s + x.bytes, 0);
    expect(t.familyBytes).toBe(all4);
    const top = t.talkers[0]!;
    const devBytes = recs.filter((x) => x.family === 4 && x.device_id === top.key.device_id).reduce((s, x) => s + x.bytes, 0);
    expect(top.bytes).toBe(devBytes);
    expect(top.shareOfFamilyBytes).toBeCloseTo(devBytes / all4, 12);
  });
});
