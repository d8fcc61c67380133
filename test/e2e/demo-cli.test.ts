/**
 * `v6scope demo` end to end, as `npm start` runs it: the generator writes a capture and its own
 * ground truth, the CLI ingests the capture through the real decoder, flow meter, enricher and
 * DuckDB store, and the numbers the CLI reports are compared here with ground-truth.json as read
 * from disk (counts, not only shares; per device as well as overall).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth } from '../../src/demo/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-demo-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FamilyJson {
  ipv4: number;
  ipv6: number;
  ipv6Share: number | null;
}
type ShareJson = Record<'bytes' | 'packets' | 'flows', FamilyJson> & {
  groups?: ({ key: Record<string, string> } & Record<'bytes' | 'packets' | 'flows', FamilyJson>)[];
};

const METRICS = ['bytes', 'packets', 'flows'] as const;

describe('v6scope demo (the npm start path)', () => {
  it('runs a full default week in the default ./data and reports shares equal to the ground truth', async () => {
    const cwd = path.join(dir, 'default');
    mkdirSync(cwd);
    const r = await runCli(['demo'], { cwd, env: { V6SCOPE_DATA: '' } });
    expect(r.stderr).not.toMatch(/MISMATCH|\n\s+at /);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(cwd, 'data', 'v6scope.duckdb'))).toBe(true);
    const truth = JSON.parse(readFileSync(path.join(cwd, 'data', 'demo', 'ground-truth.json'), 'utf8')) as GroundTruth;
    expect(truth.days).toBe(7);
    // The text report shows each share with one decimal, next to the truth, and says they match.
    for (const m of METRICS) {
      const pct = `${(truth.share[m] * 100).toFixed(1)} %`;
      expect(r.stdout).toMatch(new RegExp(`${m}\\s+computed ${pct.replace('.', '\\.')}\\s+truth ${pct.replace('.', '\\.')}\\s+match`));
    }
    // The story: about two thirds IPv6 by bytes, and fixing the BitTorrent binding passes 80 %.
    expect(truth.share.bytes).toBeGreaterThan(0.6);
    expect(truth.share.bytes).toBeLessThan(0.72);
    expect(truth.whatIf.bittorrentToIPv6.bytesShare).toBeGreaterThan(0.8);
  });

  describe('on a smaller run, every number the CLI reports equals the ground truth', () => {
    const data = path.join(dir, 'two-days');
    let truth: GroundTruth;
    beforeAll(async () => {
      const r = await runCli(['--data', data, '--json', 'demo', '--days', '2', '--start', '2026-01-05', '--seed', '11']);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { groundTruth: { metric: string; match: boolean }[] };
      expect(j.groundTruth.map((g) => g.match)).toEqual([true, true, true]);
      truth = JSON.parse(readFileSync(path.join(data, 'demo', 'ground-truth.json'), 'utf8')) as GroundTruth;
    });

    it('share --json: per-family bytes, packets and flows', async () => {
      const r = await runCli(['--data', data, 'share', '--json']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as ShareJson;
      for (const m of METRICS) {
        expect({ m, ipv4: s[m].ipv4, ipv6: s[m].ipv6 }).toEqual({ m, ipv4: truth.total.ipv4[m], ipv6: truth.total.ipv6[m] });
        expect(s[m].ipv6Share).toBeCloseTo(truth.share[m], 12);
      }
    });

    it('share --by device --json: each LAN device, and the router for what only it sends', async () => {
      const r = await runCli(['--data', data, 'share', '--by', 'device', '--json', '--limit', '100']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout) as ShareJson;
      const got = new Map(s.groups!.map((g) => [g.key.device_id, g]));
      const clients = truth.devices.filter((d) => d.role === 'client');
      expect(clients.length).toBeGreaterThanOrEqual(6);
      for (const d of clients) {
        const g = got.get(d.mac);
        expect(g, d.name).toBeDefined();
        for (const m of METRICS) {
          expect({ device: d.name, m, ipv4: g![m].ipv4, ipv6: g![m].ipv6 }).toEqual({ device: d.name, m, ipv4: d.ipv4Totals[m], ipv6: d.ipv6Totals[m] });
        }
      }
      // Flows between a device and the router count for the device; the router keeps only the
      // traffic no client is an endpoint of (router advertisements...).
      const router = truth.devices.find((d) => d.role === 'gateway')!;
      const g = got.get(router.mac);
      for (const m of METRICS) {
        expect({ m, ipv4: g?.[m].ipv4 ?? 0, ipv6: g?.[m].ipv6 ?? 0 }).toEqual({ m, ipv4: truth.gatewayOnly.ipv4[m], ipv6: truth.gatewayOnly.ipv6[m] });
      }
      expect(got.size).toBe(clients.length + (g ? 1 : 0));
      // the IPv4-only camera has no IPv6 at all
      const camera = clients.find((d) => d.name === 'camera')!;
      expect(got.get(camera.mac)!.bytes.ipv6Share).toBe(0);
    });

    it('report --json: host penetration counts the devices that used IPv6', async () => {
      const r = await runCli(['--data', data, 'report', '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout) as { hostPenetration: { withIPv6: number; all: number } };
      const clients = truth.devices.filter((d) => d.role === 'client');
      // the router sends IPv6 router advertisements: it is a device that uses IPv6 too
      expect(j.hostPenetration).toEqual({ withIPv6: clients.filter((d) => d.ipv6Totals.flows > 0).length + 1, all: clients.length + 1, ratio: expect.any(Number) });
    });

    it('a second demo run replaces the first one, and refuses a data directory holding other data', async () => {
      const again = await runCli(['--data', data, '-q', '--json', 'demo', '--days', '2', '--start', '2026-01-05', '--seed', '11']);
      expect(again.code).toBe(0);
      const s = JSON.parse((await runCli(['--data', data, 'share', '--json'])).stdout) as ShareJson;
      expect(s.flows.ipv4 + s.flows.ipv6).toBe(truth.total.ipv4.flows + truth.total.ipv6.flows); // not doubled

      // a data directory with a store but no demo marker
      const other = path.join(dir, 'other');
      const seeded = await runCli(['--data', other, '-q', 'demo', '--days', '1', '--start', '2026-01-05']);
      expect(seeded.code).toBe(0);
      rmSync(path.join(other, 'demo'), { recursive: true });
      const refused = await runCli(['--data', other, 'demo', '--days', '1']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--force/);
    });
  });
});
