/**
 * Find and fix on the demo network, through the CLI: every number is compared with the ground
 * truth the generator counted (ground-truth.json), never with v6scope's own output.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth, Totals } from '../../src/demo/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-find-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = path.join(dir, 'data');

type Counts = Totals;
const METRICS = ['bytes', 'packets', 'flows'] as const;
const pick = (c: Counts): Counts => ({ bytes: c.bytes, packets: c.packets, flows: c.flows });
const minus = (a: Counts, b: Counts): Counts => ({ bytes: a.bytes - b.bytes, packets: a.packets - b.packets, flows: a.flows - b.flows });
const plus = (a: Counts, b: Counts): Counts => ({ bytes: a.bytes + b.bytes, packets: a.packets + b.packets, flows: a.flows + b.flows });
const ZERO: Counts = { bytes: 0, packets: 0, flows: 0 };

async function json<T>(args: string[]): Promise<T> {
  const r = await runCli(['--data', data, '--json', ...args]);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('find and fix on the demo network', () => {
  let truth: GroundTruth;
  const dest = (name: string) => truth.destinations.find((d) => d.name === name)!;
  const dev = (name: string) => truth.devices.find((d) => d.name === name)!;

  beforeAll(async () => {
    const r = await runCli(['--data', data, '-q', 'demo', '--days', '3', '--start', '2026-01-05', '--seed', '21']);
    expect(r.code, r.stderr).toBe(0);
    truth = JSON.parse(readFileSync(path.join(data, 'demo', 'ground-truth.json'), 'utf8')) as GroundTruth;
  });

  it('laggards --by device: each device’s IPv4 traffic, named from the DHCP leases', async () => {
    const j = await json<{ laggards: { key: string; name: string | null; ipv4: Counts; shareOfIPv4Bytes: number }[] }>(['laggards', '--by', 'device', '--limit', '100']);
    const got = new Map(j.laggards.map((l) => [l.key, l]));
    for (const d of truth.devices.filter((x) => x.role === 'client' && x.ipv4Totals.flows > 0)) {
      const l = got.get(d.mac);
      expect(l, d.name).toBeDefined();
      expect({ name: l!.name, ipv4: pick(l!.ipv4) }).toEqual({ name: d.name, ipv4: d.ipv4Totals });
      expect(l!.shareOfIPv4Bytes).toBeCloseTo(d.ipv4Totals.bytes / truth.total.ipv4.bytes, 12);
    }
    // the ranking is by IPv4 bytes: the NAS with its BitTorrent client first
    expect(j.laggards[0]!.name).toBe('nas');
  });

  it('laggards --by app: BitTorrent recognised by behaviour, exactly the client’s peer traffic', async () => {
    const j = await json<{ laggards: { key: string; ipv4: Counts; causes: Record<string, Counts> }[] }>(['laggards', '--by', 'app', '--limit', '100']);
    const bt = j.laggards.find((l) => l.key === 'bittorrent');
    expect(bt).toBeDefined();
    // the generator's BitTorrent traffic includes the HTTPS tracker announces, which are HTTPS to a
    // named dual-stack host, not peer traffic
    const expected = minus(truth.bittorrent.totals.ipv4, dest('tracker.example').ipv4Totals);
    expect(pick(bt!.ipv4)).toEqual(expected);
    expect(pick(bt!.causes.fixable!)).toEqual(expected);
    expect(truth.bittorrent.totals.ipv6).toEqual(ZERO);
  });

  it('floor: every IPv4 byte in exactly one cause; the camera and the IPv4-only sites are the floor', async () => {
    const j = await json<{ ipv4: Counts; causes: { cause: string; ipv4: Counts }[] }>(['floor']);
    const by = new Map(j.causes.map((c) => [c.cause, pick(c.ipv4)]));
    expect([...by.keys()]).toEqual(['infrastructure', 'ipv4-only-device', 'legacy-destination', 'fixable', 'unknown']);
    expect(pick(j.ipv4)).toEqual(truth.total.ipv4);
    expect(j.causes.reduce((a, c) => plus(a, c.ipv4), ZERO)).toEqual(truth.total.ipv4);
    // the camera never uses IPv6: its cloud traffic (the only client of cam-cloud) is its floor
    expect(dev('camera').ipv6Totals).toEqual(ZERO);
    expect(by.get('ipv4-only-device')).toEqual(dest('cam-cloud.example').ipv4Totals);
    // destinations without AAAA, reached by dual-stack devices
    const legacy = truth.destinations.filter((d) => d.ipv6.length === 0 && d.name !== 'cam-cloud.example' && d.ipv4Totals.flows > 0);
    expect(legacy.map((d) => d.name).sort()).toEqual(['game.example', 'news.example', 'shop.example']);
    expect(by.get('legacy-destination')).toEqual(legacy.reduce((a, d) => plus(a, d.ipv4Totals), ZERO));
    expect(by.get('unknown')).toEqual(ZERO); // the capture carries every DNS answer
    // and every cause equals the one the generator knows each exchange has
    expect(Object.fromEntries(by)).toEqual(truth.floor);
  });

  it('fix: the BitTorrent binding first, with the share the generator computed for that fix', async () => {
    const j = await json<{ now: Counts; fixes: { id: string; title: string; snippet?: string; ipv4: Counts; before: Counts; after: Counts | null }[] }>(['fix', '--limit', '100']);
    const nas = dev('nas');
    const first = j.fixes[0]!;
    expect(first.id).toBe(`p2p-binding:${nas.mac}`);
    expect(first.title).toMatch(/BitTorrent client on nas/);
    expect(first.snippet).toMatch(/bind-address-ipv6/);
    const all = (m: (typeof METRICS)[number]) => truth.total.ipv4[m] + truth.total.ipv6[m];
    const moved = minus(truth.bittorrent.totals.ipv4, dest('tracker.example').ipv4Totals);
    for (const m of METRICS) {
      expect(j.now[m]).toBeCloseTo(truth.share[m], 12);
      expect(first.before[m]).toBeCloseTo(truth.share[m], 12);
      expect(first.after![m]).toBeCloseTo((truth.total.ipv6[m] + moved[m]) / all(m), 12);
    }
    // the generator's own what-if also moves the tracker announces: within their share of the traffic
    const tracker = dest('tracker.example').ipv4Totals.bytes / all('bytes');
    expect(Math.abs(first.after!.bytes - truth.whatIf.bittorrentToIPv6.bytesShare)).toBeLessThanOrEqual(tracker + 1e-12);
    // legacy destinations: nothing to fix locally
    const news = j.fixes.find((f) => f.id === 'legacy-destination:news.example')!;
    expect(news.after).toBeNull();
    expect(pick(news.ipv4)).toEqual(dest('news.example').ipv4Totals);
    // the IPv4-only camera: a candidate for translation, its what-if moves its traffic
    const cam = j.fixes.find((f) => f.id === `ipv4-only-device:${dev('camera').mac}`)!;
    expect(cam.after!.bytes).toBeCloseTo((truth.total.ipv6.bytes + dest('cam-cloud.example').ipv4Totals.bytes) / all('bytes'), 12);
  });

  it('--filter on share: one device’s traffic, equal to the generator’s totals for it', async () => {
    const nas = dev('nas');
    const j = await json<Record<(typeof METRICS)[number], { ipv4: number; ipv6: number }> & { filter: string }>(['share', '--filter', 'device = "nas"']);
    expect(j.filter).toBe('device = "nas"');
    for (const m of METRICS) expect({ m, ipv4: j[m].ipv4, ipv6: j[m].ipv6 }).toEqual({ m, ipv4: nas.ipv4Totals[m], ipv6: nas.ipv6Totals[m] });
  });

  it('--filter on floor: keeping only IPv4 changes no cause (causes are decided on all traffic)', async () => {
    const j = await json<{ now: Counts; ipv4: Counts; causes: { cause: string; ipv4: Counts }[] }>(['floor', '--filter', 'family = 4']);
    expect(Object.fromEntries(j.causes.map((c) => [c.cause, pick(c.ipv4)]))).toEqual(truth.floor);
    expect(pick(j.ipv4)).toEqual(truth.total.ipv4);
    expect(j.now).toEqual(ZERO); // the slice has no IPv6 at all
  });

  it('--filter on laggards and fix: the what-if is that of the slice (the NAS alone)', async () => {
    const nas = dev('nas');
    const moved = minus(truth.bittorrent.totals.ipv4, dest('tracker.example').ipv4Totals);
    const j = await json<{ ipv4: Counts; now: Counts; laggards: { key: string; ipv4: Counts; whatIfFixed: Counts }[] }>(['laggards', '--by', 'app', '--filter', `device_id = ${nas.mac}`]);
    expect(pick(j.ipv4)).toEqual(nas.ipv4Totals);
    const bt = j.laggards.find((l) => l.key === 'bittorrent')!;
    expect(pick(bt.ipv4)).toEqual(moved); // still recognised by behaviour inside the slice
    const f = await json<{ fixes: { id: string; before: Counts; after: Counts | null }[] }>(['fix', '--filter', 'device = "nas"']);
    const first = f.fixes[0]!;
    expect(first.id).toBe(`p2p-binding:${nas.mac}`);
    for (const m of METRICS) {
      const all = nas.ipv4Totals[m] + nas.ipv6Totals[m];
      expect(j.now[m]).toBeCloseTo(nas.ipv6Totals[m] / all, 12);
      expect(bt.whatIfFixed[m]).toBeCloseTo((nas.ipv6Totals[m] + moved[m]) / all, 12);
      expect(first.after![m]).toBeCloseTo((nas.ipv6Totals[m] + moved[m]) / all, 12);
    }
  });

  it('laggards --sort packets|flows ranks by that metric, with each laggard’s share of it', async () => {
    for (const sort of ['packets', 'flows'] as const) {
      const j = await json<{ sort: string; laggards: { key: string; ipv4: Counts; shareOfIPv4: Counts }[] }>(['laggards', '--by', 'device', '--sort', sort, '--limit', '100']);
      expect(j.sort).toBe(sort);
      const want = truth.devices
        .filter((d) => d.role === 'client' && d.ipv4Totals.flows > 0)
        .sort((a, b) => b.ipv4Totals[sort] - a.ipv4Totals[sort])
        .map((d) => d.mac);
      expect(j.laggards.map((l) => l.key).filter((k) => want.includes(k))).toEqual(want);
      for (const l of j.laggards) expect(l.shareOfIPv4[sort]).toBeCloseTo(l.ipv4[sort] / truth.total.ipv4[sort], 12);
    }
  });

  it('a bad --filter is a usage error that points at the column', async () => {
    const r = await runCli(['--data', data, 'laggards', '--filter', 'family = 4 AND dst_prot = 443']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--filter: unknown field "dst_prot" at column 16/);
    expect(r.stderr).toContain('\n                 ^^^^^^^^');
    const s = await runCli(['--data', data, 'share', '--filter', 'dst_addr << 2001:db8::/129']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--filter: .*column/);
  });

  it('devices: addresses, names and host penetration', async () => {
    const j = await json<{ hostPenetration: { withIPv6: number; all: number }; devices: { id: string; hostname: string | null; usedIPv6: boolean; addresses: { addr: string; family: number; kind: string }[] }[] }>(['devices']);
    const got = new Map(j.devices.map((d) => [d.id, d]));
    for (const d of truth.devices.filter((x) => x.role === 'client')) {
      const g = got.get(d.mac)!;
      expect(g, d.name).toBeDefined();
      expect(g.hostname).toBe(d.name);
      expect(g.usedIPv6).toBe(d.ipv6Totals.flows > 0);
      expect(g.addresses.filter((a) => a.family === 4).map((a) => a.addr)).toEqual(d.ipv4);
      expect(g.addresses.filter((a) => a.family === 6).map((a) => a.addr).sort()).toEqual([...d.ipv6].sort());
    }
    expect(got.get(dev('speaker').mac)!.addresses.some((a) => a.kind === 'eui-64')).toBe(true);
    expect(got.get(dev('camera').mac)!.usedIPv6).toBe(false);
    const clients = truth.devices.filter((x) => x.role === 'client');
    expect(j.hostPenetration.all).toBe(clients.length + 1); // and the router
    expect(j.hostPenetration.withIPv6).toBe(clients.filter((d) => d.ipv6Totals.flows > 0).length + 1);
  });

  it('import: leases and neighbour tables, malformed lines reported with their line numbers', async () => {
    const neigh = path.join(dir, 'neigh.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(neigh, ['192.168.1.200 dev br-lan lladdr 02:00:00:00:00:c8 REACHABLE', 'this is not a neighbour line', 'fe80::c8 dev br-lan lladdr 02:00:00:00:00:c8 STALE', ''].join('\n'));
    const r = await runCli(['--data', data, 'import', 'neighbors', neigh]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/neigh\.txt:2:/);
    expect(r.stdout).toMatch(/2 entries imported/);
    const bad = await runCli(['--data', data, 'import', 'sideways', neigh]);
    expect(bad.code).toBe(2);
  });
});
