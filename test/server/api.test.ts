/**
 * The HTTP API on the demo network: every endpoint against the ground truth and against the
 * analyses' own functions (the API is a thin layer over them); bad filters, bad time ranges,
 * unknown dimensions; tokens; /metrics as Prometheus text.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireTools } from '../helpers/tools.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPenetration, listDevices, loadDeviceNames } from '../../src/analysis/devices.js';
import { loadNameTable } from '../../src/analysis/evidence.js';
import { buildFindContext, currentShare, fixes, floor, laggards, type FindContext } from '../../src/analysis/find.js';
import { keyFormatter } from '../../src/analysis/keys.js';
import { computeShare } from '../../src/analysis/share.js';
import { parseGroupBy } from '../../src/cli/query-options.js';
import { shareToJson } from '../../src/cli/share-output.js';
import { parseListen, type ListenAddress } from '../../src/config/index.js';
import { parseFilter } from '../../src/query/filter.js';
import { startApiServer, type ApiServer } from '../../src/server/api.js';
import { startApiForServe } from '../../src/server/index.js';
import { FIELDS, METRICS } from '../../src/schema/fields.js';
import type { FlowStore } from '../../src/store/store.js';
import { demoFixture, parseProm, type DemoFixture } from './demo-fixture.js';

const LOOPBACK = parseListen('127.0.0.1:0') as ListenAddress;
const TOKEN = 'correct-horse-battery-staple';

let fx: DemoFixture;
let server: ApiServer;
let base = '';
let ctx: FindContext;
let names: Map<string, string>;
const logged: string[] = [];

interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function get(p: string, init: RequestInit = {}, at = base): Promise<Res> {
  const r = await fetch(`${at}${p}`, init);
  const text = await r.text();
  let json: unknown = undefined;
  if ((r.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text);
  return { status: r.status, headers: r.headers, text, json };
}

/** JSON round trip: what the analyses return, as a client sees it. */
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

beforeAll(async () => {
  fx = await demoFixture();
  server = await startApiServer({ store: fx.store, dataDir: fx.dataDir, listen: [LOOPBACK], asn: null, log: (l) => logged.push(l) });
  base = `http://127.0.0.1:${server.addresses[0]!.port}`;
  ctx = await buildFindContext(fx.store, fx.truth.start, fx.truth.end);
  names = await loadDeviceNames(fx.store);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await fx?.cleanup();
});

const dev = (name: string) => fx.truth.devices.find((d) => d.name === name)!;

describe('GET /api/v1/share', () => {
  it('overall: the ground truth, and exactly computeShare', async () => {
    const r = await get('/api/v1/share');
    expect(r.status).toBe(200);
    for (const m of METRICS) expect(r.json[m].ipv6Share).toBeCloseTo(fx.truth.share[m], 12);
    expect(r.json.bytes.ipv4).toBe(fx.truth.total.ipv4.bytes);
    expect(r.json.bytes.ipv6).toBe(fx.truth.total.ipv6.bytes);
    const direct = shareToJson(await computeShare(fx.store, { since: r.json.range.since, until: r.json.range.until }));
    expect({ ...r.json, range: undefined, tables: undefined }).toEqual(wire({ ...direct, range: undefined, tables: undefined }));
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('series with a bucket: one point per hour, adding up to the totals', async () => {
    const r = await get('/api/v1/share?bucket=1h');
    expect(r.status).toBe(200);
    expect(r.json.bucket).toBe(3_600_000);
    expect(r.json.series.length).toBe(48);
    for (const m of METRICS) {
      expect(r.json.series.reduce((a: number, p: any) => a + p[m].ipv4, 0)).toBe(fx.truth.total.ipv4[m]);
      expect(r.json.series.reduce((a: number, p: any) => a + p[m].ipv6, 0)).toBe(fx.truth.total.ipv6[m]);
    }
    const auto = await get('/api/v1/share?series=true');
    expect(auto.json.series.length).toBeGreaterThan(1);
  });

  it.each(['device', 'app', 'destination', 'dst_addr/64/24', 'peer_addr/48', 'proto,service_port', 'exporter', 'direction', 'src_mac'])('groups by %s as computeShare does', async (by) => {
    const r = await get(`/api/v1/share?by=${encodeURIComponent(by)}&limit=1000`);
    expect(r.status, r.text).toBe(200);
    const groupBy = parseGroupBy(by);
    const direct = shareToJson(await computeShare(fx.store, { since: r.json.range.since, until: r.json.range.until, groupBy, limit: 1000, formatKey: keyFormatter(groupBy) }));
    expect(r.json.groups).toEqual(wire(direct.groups));
    expect(r.json.groups.length).toBeGreaterThan(0);
  });

  it('groups by device: each device’s traffic is the generator’s', async () => {
    const r = await get('/api/v1/share?by=device&limit=100');
    for (const d of fx.truth.devices.filter((x) => x.role === 'client')) {
      const g = r.json.groups.find((x: any) => x.key.device_id === d.mac);
      expect(g, d.name).toBeDefined();
      expect({ v4: g.bytes.ipv4, v6: g.bytes.ipv6, f4: g.flows.ipv4 }).toEqual({ v4: d.ipv4Totals.bytes, v6: d.ipv6Totals.bytes, f4: d.ipv4Totals.flows });
    }
  });

  it('filters: device by name and by MAC give the device’s traffic; families split', async () => {
    const tv = dev('tv');
    for (const f of ['device = "tv"', `device = ${tv.mac}`, `device_id = "${tv.mac.toUpperCase()}"`]) {
      const r = await get(`/api/v1/share?filter=${encodeURIComponent(f)}`);
      expect(r.status, r.text).toBe(200);
      expect(r.json.bytes.ipv4, f).toBe(tv.ipv4Totals.bytes);
      expect(r.json.bytes.ipv6, f).toBe(tv.ipv6Totals.bytes);
    }
    const v6 = await get(`/api/v1/share?filter=${encodeURIComponent('family = 6')}`);
    expect(v6.json.bytes).toEqual({ ipv4: 0, ipv6: fx.truth.total.ipv6.bytes, ipv6Share: 1 });
    const not = await get(`/api/v1/share?filter=${encodeURIComponent('NOT (family = 6)')}`);
    expect(not.json.bytes).toEqual({ ipv4: fx.truth.total.ipv4.bytes, ipv6: 0, ipv6Share: 0 });
  });

  it.each(['peer_addr << 2001:db8::/32', 'peer << 203.0.113.0/24', 'family = 4 AND dst_port IN (6881, 6889, 51413) AND device = "nas"', 'NOT (proto = 6 OR proto = 17)', 'service_port >= 1024 AND direction = outbound'])(
    'filter %s: as computeShare with the parsed FilterExpr',
    async (f) => {
      const r = await get(`/api/v1/share?filter=${encodeURIComponent(f)}&by=device`);
      expect(r.status, r.text).toBe(200);
      const groupBy = parseGroupBy('device');
      const filter = parseFilter(f, { deviceNames: new Map([...names].map(([id, n]) => [n, id])) });
      const direct = shareToJson(await computeShare(fx.store, { since: r.json.range.since, until: r.json.range.until, filter, groupBy, formatKey: keyFormatter(groupBy) }));
      expect({ ...r.json, range: undefined, tables: undefined, by: undefined }).toEqual(wire({ ...direct, range: undefined, tables: undefined, by: undefined }));
      expect(r.json.bytes.ipv4 + r.json.bytes.ipv6).toBeGreaterThan(0);
    },
  );

  it('since/until: ISO dates, epoch seconds; a day is a part of the total', async () => {
    const day1 = await get('/api/v1/share?since=2026-01-05&until=2026-01-06');
    const day2 = await get(`/api/v1/share?since=${Date.UTC(2026, 0, 6) / 1000}&until=2026-01-07T00:00Z`);
    expect(day1.status).toBe(200);
    expect(day1.json.since).toBe('2026-01-05T00:00:00.000Z');
    expect(day1.json.bytes.ipv4 + day2.json.bytes.ipv4).toBe(fx.truth.total.ipv4.bytes);
    const empty = await get('/api/v1/share?since=2025-01-01&until=2025-01-02');
    expect(empty.json.bytes.ipv6Share).toBeNull();
  });
});

describe('errors', () => {
  it.each([
    ['dst_prot = 1', 1, /unknown field "dst_prot" at column 1 \(did you mean dst_port\?\)/],
    ['family = 4 AND dst_prot = 1', 16, /did you mean dst_port/],
    ['family = 5', 10, /its values are 4, 6/],
    ['dst_addr << 2001:db8::/200', 13, /invalid prefix/],
    ['(family = 4', 1, /missing "\)"/],
    ["dst_name = 'x", 12, /unterminated string/],
    ['family = 4; DROP TABLE raw', 11, /unexpected character ";"/],
  ])('bad filter %s → 400 with position and reason', async (f, column, re) => {
    for (const ep of ['share', 'flows']) {
      const r = await get(`/api/v1/${ep}?filter=${encodeURIComponent(f)}`);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ status: 400, code: 'bad_filter', param: 'filter', column, position: column - 1 });
      expect(r.json.error.message).toMatch(re);
      expect(typeof r.json.error.reason).toBe('string');
    }
  });

  it.each([
    ['/api/v1/share?since=yesterday', 'bad_time', 'since'],
    ['/api/v1/share?until=2026-13-01', 'bad_time', 'until'],
    ['/api/v1/share?since=2026-01-06&until=2026-01-05', 'bad_time_range', 'until'],
    ['/api/v1/share?since=2026-01-06&until=2026-01-06', 'bad_time_range', 'until'],
    ['/api/v1/laggards?since=2026-01-07&until=2026-01-05', 'bad_time_range', 'until'],
    ['/api/v1/flows?since=x', 'bad_time', 'since'],
    ['/api/v1/dns/names?since=2026-01-07&until=2026-01-05', 'bad_time_range', 'until'],
    ['/api/v1/devices?until=soon', 'bad_time', 'until'],
    ['/api/v1/share?by=dst_prot', 'unknown_dimension', 'by'],
    ['/api/v1/share?by=bytes', 'unknown_dimension', 'by'],
    ['/api/v1/share?by=device,family', 'unknown_dimension', 'by'],
    ['/api/v1/share?by=proto/24', 'unknown_dimension', 'by'],
    ['/api/v1/share?by=dst_addr/129', 'unknown_dimension', 'by'],
    ['/api/v1/laggards?by=country', 'unknown_dimension', 'by'],
    ['/api/v1/share?bucket=5x', 'bad_parameter', 'bucket'],
    ['/api/v1/share?bucket=1s', 'bad_parameter', 'bucket'],
    ['/api/v1/share?sort=octets', 'bad_parameter', 'sort'],
    ['/api/v1/share?limit=0', 'bad_parameter', 'limit'],
    ['/api/v1/share?limit=abc', 'bad_parameter', 'limit'],
    ['/api/v1/share?series=maybe', 'bad_parameter', 'series'],
    ['/api/v1/share?groupby=device', 'unknown_parameter', 'groupby'],
    ['/api/v1/share?by=device&by=app', 'duplicate_parameter', 'by'],
    ['/api/v1/laggards?filter=famly%3D4', 'bad_filter', 'filter'],
    ['/api/v1/floor?filter=dst_addr%20%3C%3C%202001%3Adb8%3A%3A%2F129', 'bad_filter', 'filter'],
    ['/api/v1/fixes?filter=(family%3D4', 'bad_filter', 'filter'],
    ['/api/v1/laggards?sort=octets', 'bad_parameter', 'sort'],
    ['/api/v1/devices?filter=family%3D4', 'unknown_parameter', 'filter'],
    ['/api/v1/flows?cursor=abc', 'bad_parameter', 'cursor'],
    ['/api/v1/dns/names?status=maybe', 'bad_parameter', 'status'],
  ])('%s → 400 %s', async (url, code, param) => {
    const r = await get(url);
    expect(r.status, r.text).toBe(400);
    expect(r.json.error).toMatchObject({ status: 400, code, param });
    expect(r.text).not.toMatch(/\n\s+at /);
  });

  it('unknown paths → 404, other methods → 405, both JSON', async () => {
    // (paths outside /api/ and /metrics are the web console's: test/server/static.test.ts)
    for (const p of ['/api', '/api/v2/share', '/api/v1/shares', '/api/v1/devices/a/b', '/metrics/x']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(r.json.error.code).toBe('not_found');
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await get('/api/v1/share', { method });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await fetch(`${base}/api/v1/fields`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('internal errors: 500 with an id, no stack; the details are logged', async () => {
    const broken: FlowStore = {
      ...fx.store,
      kind: 'broken',
      timeRange: async () => ({ min: 0, max: 1 }),
      query: async () => {
        throw new TypeError('secret detail: /var/lib/v6scope at line 42');
      },
    } as FlowStore;
    const log: string[] = [];
    const s = await startApiServer({ store: broken, dataDir: fx.dataDir, listen: [LOOPBACK], asn: null, log: (l) => log.push(l) });
    try {
      const r = await get('/api/v1/share', {}, `http://127.0.0.1:${s.addresses[0]!.port}`);
      expect(r.status).toBe(500);
      expect(r.json.error.code).toBe('internal');
      expect(r.json.error.id).toMatch(/^[0-9a-f]{12}$/);
      expect(r.text).not.toContain('secret');
      expect(r.text).not.toMatch(/\bat\b.*\.js/);
      expect(log.join('\n')).toContain(r.json.error.id);
      expect(log.join('\n')).toContain('secret detail');
    } finally {
      await s.close();
    }
  });
});

describe('find and fix endpoints', () => {
  it.each(['device', 'app', 'destination'] as const)('laggards?by=%s is laggards() of the analysis', async (by) => {
    const r = await get(`/api/v1/laggards?by=${by}&limit=1000`);
    expect(r.status).toBe(200);
    const direct = laggards(ctx, by).map((l) => ({ ...l, name: by === 'device' ? (names.get(l.key) ?? null) : undefined }));
    expect(r.json.laggards).toEqual(wire(direct));
    expect(r.json.now).toEqual(wire(currentShare(ctx)));
    expect(r.json.ipv4).toEqual(fx.truth.total.ipv4);
    if (by === 'device') expect(r.json.laggards[0].name).toBe('nas');
  });

  it('laggards default: by device, 20 rows', async () => {
    const r = await get('/api/v1/laggards');
    expect(r.json.by).toBe('device');
    expect(r.json.laggards.length).toBe(Math.min(20, laggards(ctx, 'device').length));
  });

  it('floor: floor() of the analysis; every IPv4 byte in one cause', async () => {
    const r = await get('/api/v1/floor?top=3');
    expect(r.json.causes).toEqual(wire(floor(ctx, 3)));
    const sum = r.json.causes.reduce((a: number, c: any) => a + c.ipv4.bytes, 0);
    expect(sum).toBe(fx.truth.total.ipv4.bytes);
  });

  it('filter= on laggards, floor and fixes: the analyses on the slice (totals of the device from the ground truth)', async () => {
    const nas = dev('nas');
    const q = `filter=${encodeURIComponent('device = "nas"')}`;
    const sliced = await buildFindContext(fx.store, fx.truth.start, fx.truth.end, { filter: parseFilter(`device_id = ${nas.mac}`) });
    const l = await get(`/api/v1/laggards?by=app&sort=packets&limit=1000&${q}`);
    expect(l.status, l.text).toBe(200);
    expect(l.json).toMatchObject({ by: 'app', sort: 'packets', filter: 'device = "nas"' });
    expect(l.json.ipv4).toEqual(nas.ipv4Totals);
    expect(l.json.laggards).toEqual(wire(laggards(sliced, 'app', { sort: 'packets' }).map((x) => ({ ...x, name: undefined }))));
    for (const m of METRICS) expect(l.json.now[m]).toBeCloseTo(nas.ipv6Totals[m] / (nas.ipv4Totals[m] + nas.ipv6Totals[m]), 12);
    const f = await get(`/api/v1/floor?${q}`);
    expect(f.json.causes).toEqual(wire(floor(sliced, 5)));
    const x = await get(`/api/v1/fixes?${q}`);
    expect(x.json.fixes).toEqual(wire(fixes(sliced, { names }).slice(0, 10)));
    expect(x.json.fixes[0].id).toBe('p2p-binding:' + nas.mac);
    // keeping only IPv4 moves no byte between causes
    const v4 = await get(`/api/v1/floor?filter=${encodeURIComponent('family = 4')}`);
    expect(v4.json.causes.map((c: any) => [c.cause, c.ipv4])).toEqual(floor(ctx, 5).map((c) => [c.cause, c.ipv4]));
  });

  it('fixes: fixes() of the analysis, biggest gain first', async () => {
    const r = await get('/api/v1/fixes?limit=50');
    expect(r.json.fixes).toEqual(wire(fixes(ctx, { names }).slice(0, 50)));
    expect(r.json.fixes[0].id).toBe('p2p-binding:' + dev('nas').mac);
  });
});

describe('devices', () => {
  it('the device list of the analysis, with host penetration', async () => {
    const r = await get('/api/v1/devices');
    const direct = await listDevices(fx.store, Date.parse(r.json.since), Date.parse(r.json.until));
    expect(r.json.devices).toEqual(wire(direct));
    expect(r.json.hostPenetration).toEqual(wire(hostPenetration(direct)));
    const camera = r.json.devices.find((d: any) => d.hostname === 'camera');
    expect(camera.usedIPv6).toBe(false);
  });

  it('one device by id, MAC in another form, or name: the generator’s addresses', async () => {
    const tv = dev('tv');
    for (const id of [tv.mac, tv.mac.toUpperCase().replace(/:/g, '-'), 'tv']) {
      const r = await get(`/api/v1/devices/${encodeURIComponent(id)}`);
      expect(r.status, id).toBe(200);
      expect(r.json.device.id).toBe(tv.mac);
      const addrs = r.json.device.addresses.map((a: any) => a.addr);
      for (const a of [...tv.ipv4, ...tv.ipv6]) expect(addrs).toContain(a);
    }
    const missing = await get('/api/v1/devices/no-such-device');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('not_found');
  });
});

describe('flows (raw, paged)', () => {
  it('pages through every flow once, oldest first, adding up to the totals', async () => {
    let cursor: string | null = null;
    let pages = 0;
    const seen = new Set<string>();
    const totals = { 4: { bytes: 0, flows: 0 }, 6: { bytes: 0, flows: 0 } } as Record<number, { bytes: number; flows: number }>;
    let last = -Infinity;
    do {
      const r: Res = await get(`/api/v1/flows?limit=2000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status, r.text).toBe(200);
      for (const f of r.json.flows) {
        expect(f.time_received).toBeGreaterThanOrEqual(last);
        last = f.time_received;
        const k = JSON.stringify(f);
        expect(seen.has(k)).toBe(false);
        seen.add(k);
        totals[f.family]!.bytes += f.bytes;
        totals[f.family]!.flows += f.flows;
      }
      cursor = r.json.next;
      pages++;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    expect(pages).toBeGreaterThan(1);
    expect(totals[4]).toEqual({ bytes: fx.truth.total.ipv4.bytes, flows: fx.truth.total.ipv4.flows });
    expect(totals[6]).toEqual({ bytes: fx.truth.total.ipv6.bytes, flows: fx.truth.total.ipv6.flows });
  });

  it('small pages follow the cursor without gaps; filters apply; fields are formatted', async () => {
    const all = await get('/api/v1/flows?limit=30');
    const a = await get('/api/v1/flows?limit=10');
    const b = await get(`/api/v1/flows?limit=10&cursor=${a.json.next}`);
    const c = await get(`/api/v1/flows?limit=10&cursor=${b.json.next}`);
    expect([...a.json.flows, ...b.json.flows, ...c.json.flows]).toEqual(all.json.flows);
    const f = await get(`/api/v1/flows?limit=200&filter=${encodeURIComponent('family = 6 AND proto = tcp AND peer << 2001:db8::/32')}`);
    expect(f.json.flows.length).toBeGreaterThan(0);
    for (const x of f.json.flows) {
      expect(x.family).toBe(6);
      expect(x.proto).toBe(6);
      expect(x.peer_addr.startsWith('2001:db8:')).toBe(true);
    }
    expect(Object.keys(all.json.flows[0]).sort()).toEqual([...FIELDS.map((x) => x.name)].sort());
    const v4 = (await get(`/api/v1/flows?limit=1&filter=${encodeURIComponent('family = 4 AND direction = outbound')}`)).json.flows[0];
    expect(v4.src_addr).toMatch(/^192\.168\.1\.\d+$/);
    expect(v4.src_mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  });
});

describe('fields, names, exporters', () => {
  it('fields: the schema, aliases and the filter language', async () => {
    const r = await get('/api/v1/fields');
    expect(r.json.fields.map((f: any) => f.name)).toEqual(FIELDS.map((f) => f.name));
    expect(r.json.fields.find((f: any) => f.name === 'family').values).toEqual([4, 6]);
    expect(r.json.groupAliases.device).toEqual(['device_id']);
    expect(r.json.filterAliases.device).toBe('device_id');
    expect(r.json.metrics).toEqual([...METRICS]);
  });

  it('dns/names: the name table, filtered by status and text', async () => {
    const r = await get('/api/v1/dns/names');
    expect(r.json.names).toEqual(wire(await loadNameTable(fx.store)));
    const empty = await get('/api/v1/dns/names?status=aaaa-empty');
    expect(empty.json.names.map((n: any) => n.name).sort()).toEqual(
      fx.truth.destinations.filter((d) => d.ipv6.length === 0 && d.name !== 'cam-cloud.example' && r.json.names.find((n: any) => n.name === d.name)?.aaaaEmpty).map((d) => d.name).sort(),
    );
    const q = await get('/api/v1/dns/names?q=NEWS&limit=1');
    expect(q.json.names.map((n: any) => n.name)).toEqual(['news.example']);
  });

  it('exporters: not available without DATA/exporters.json, then the file’s health', async () => {
    const none = await get('/api/v1/exporters');
    expect(none.json.available).toBe(false);
    writeFileSync(path.join(fx.dataDir, 'exporters.json'), JSON.stringify(HEALTH));
    const r = await get('/api/v1/exporters');
    expect(r.json).toMatchObject({ available: true, origin: 'file', exporters: [{ exporter: '192.0.2.1', records: 5000 }] });
  });
});

const HEALTH = {
  updated: '2026-01-06T12:00:00.000Z',
  startedAt: '2026-01-06T00:00:00.000Z',
  listeners: [{ listen: '0.0.0.0:2055', protocol: 'auto', family: 4, port: 2055, receiveBuffer: 8388608, socketDrops: 7, rxQueue: 0, datagrams: 200 }],
  exporters: [
    {
      exporter: '192.0.2.1', port: 50000, datagrams: 200, datagramsRejected: 1, datagramsWithErrors: 2, byVersion: { 5: 0, 9: 0, 10: 200 }, records: 5000, optionsRecords: 0,
      templateRecords: 4, templateWithdrawals: 0, pendingDecoded: 0, errors: { truncated: 2, 'no-template': 3 }, samplingRates: [1], domains: [],
      sflowDatagrams: 0, unsupportedDatagrams: 0, unexpectedProtocol: 0, lastSeen: '2026-01-06T11:59:59.000Z', listeners: { '0.0.0.0:2055': 200 }, templatesKnown: 4, sequenceMissing: 12,
    },
  ],
  totals: { datagrams: 200, records: 5000, decodeErrors: 5, socketDrops: 7, unsupportedDatagrams: 0 },
  writer: { received: 5000, stored: 4900, batchesStored: 10, droppedBatches: 0, droppedFlows: 0, failedBatches: 1, failedFlows: 100, lastError: 'x "quoted"', pending: 2, pendingFlows: 65536, pendingBytes: 12976128, maxPendingSeen: 3, filling: 5, appendMs: 1234, slowestAppendMs: 400 },
  templatesRestored: 0,
  sflow: { totals: { datagrams: 0, records: 0, errors: 0 }, agents: [] },
};

describe('/metrics', () => {
  it('Prometheus text: per-exporter ingest, errors, drops, store writes, IPv6 share', async () => {
    writeFileSync(path.join(fx.dataDir, 'exporters.json'), JSON.stringify(HEALTH));
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const { types, samples } = parseProm(r.text);
    const one = (name: string, labels: Record<string, string> = {}) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(one('v6scope_exporter_records_total', { exporter: '192.0.2.1' })[0]!.value).toBe(5000);
    expect(one('v6scope_exporter_decode_errors_total', { exporter: '192.0.2.1', kind: 'no-template' })[0]!.value).toBe(3);
    expect(one('v6scope_listener_socket_drops_total', { listen: '0.0.0.0:2055' })[0]!.value).toBe(7);
    expect(one('v6scope_store_write_seconds_total')[0]!.value).toBeCloseTo(1.234, 9);
    expect(one('v6scope_store_write_queue_depth')[0]!.value).toBe(2);
    expect(one('v6scope_store_write_queue_flows')[0]!.value).toBe(65536);
    expect(one('v6scope_store_write_queue_bytes')[0]!.value).toBe(12976128);
    expect(types.get('v6scope_exporter_records_total')).toBe('counter');
    expect(types.get('v6scope_ipv6_share')).toBe('gauge');
    // the share gauges: the last hour of stored data, as computeShare says
    const end = one('v6scope_share_window_end_timestamp_seconds')[0]!.value * 1000;
    const direct = await computeShare(fx.store, { since: end - 3_600_000, until: end });
    for (const m of METRICS) expect(one('v6scope_ipv6_share', { metric: m, name: 'demo-home.pcap' })[0]!.value).toBeCloseTo(direct[m].ipv6Share!, 12);
    // the API's own request counters and latency histogram
    expect(types.get('v6scope_api_request_duration_seconds')).toBe('histogram');
    const buckets = one('v6scope_api_request_duration_seconds_bucket').map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    // every metric the Grafana dashboard queries is exposed
    const dash = readFileSync(path.join(import.meta.dirname, '../../docs/grafana-dashboard.json'), 'utf8');
    const used = new Set([...dash.matchAll(/v6scope_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
    for (const name of used) expect(types.has(name), name).toBe(true);
    // promtool (Debian package "prometheus") lints the exposition too; under CI a missing one fails
    if (requireTools('promtool')) execFileSync('promtool', ['check', 'metrics'], { input: r.text });
  });
});

describe('access token', () => {
  it('with a token, every request needs "Authorization: Bearer"', async () => {
    const s = await startApiServer({ store: fx.store, dataDir: fx.dataDir, listen: [LOOPBACK], asn: null, token: TOKEN });
    const at = `http://127.0.0.1:${s.addresses[0]!.port}`;
    try {
      for (const p of ['/api/v1/share', '/metrics', '/api/v1/nope']) {
        const none = await get(p, {}, at);
        expect(none.status).toBe(401);
        expect(none.headers.get('www-authenticate')).toBe('Bearer realm="v6scope"');
        expect((await get(p, { headers: { authorization: `Bearer ${TOKEN}x` } }, at)).status).toBe(401);
        expect((await get(p, { headers: { authorization: `Basic ${TOKEN}` } }, at)).status).toBe(401);
        expect((await get(p, { headers: { authorization: TOKEN } }, at)).status).toBe(401);
      }
      expect((await get('/api/v1/share', { headers: { authorization: `Bearer ${TOKEN}` } }, at)).status).toBe(200);
      expect((await get('/metrics', { headers: { authorization: `bearer ${TOKEN}` } }, at)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('serve’s API refuses a non-loopback address without a token', async () => {
    const handle = { collectors: null, writer: { stats: () => ({}) } } as never;
    const open = parseListen('0.0.0.0:0') as ListenAddress;
    await expect(startApiForServe({ api: { listen: [open], token: null, share_window: 3_600_000 }, handle, store: fx.store, dataDir: fx.dataDir })).rejects.toThrow(/requires an access token/);
    const s = await startApiForServe({ api: { listen: [open], token: TOKEN, share_window: 3_600_000 }, handle, store: fx.store, dataDir: fx.dataDir });
    try {
      const at = `http://127.0.0.1:${s.addresses[0]!.port}`;
      expect((await get('/api/v1/fields', {}, at)).status).toBe(401);
      const m = await get('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } }, at);
      expect(parseProm(m.text).samples.find((x) => x.name === 'v6scope_health_available')!.labels.origin).toBe('live');
    } finally {
      await s.close();
    }
  });
});
