/**
 * `v6scope report --html/--png/--json` end to end through the built CLI on a demo data directory:
 * files written and named, JSON with the find-and-fix sections (old keys kept), and bad paths
 * refused with a one-line error and exit code 2 before any work.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth } from '../../src/demo/index.js';
import { runCli } from '../helpers/cli.js';
import { decodePng, pct, PNG_SIGNATURE, structureProblems } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = path.join(dir, 'data');
let truth: GroundTruth;

beforeAll(async () => {
  const r = await runCli(['--data', data, '-q', 'demo', '--days', '2', '--start', '2026-01-05', '--seed', '21']);
  expect(r.code, r.stderr).toBe(0);
  truth = JSON.parse(readFileSync(path.join(data, 'demo', 'ground-truth.json'), 'utf8')) as GroundTruth;
});

describe('v6scope report --html / --png', () => {
  it('writes one HTML file and one PNG per chart, and names them', async () => {
    const html = path.join(dir, 'out', 'report.html');
    const png = path.join(dir, 'out', 'charts');
    mkdirSync(path.dirname(html));
    const r = await runCli(['--data', data, 'report', '--html', html, '--png', png]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${html}`);
    const page = readFileSync(html, 'utf8');
    expect(structureProblems(page, { html: true })).toEqual([]);
    expect(page).toContain(`<span class="big" id="share-bytes"><data value="${truth.share.bytes}">${pct(truth.share.bytes)}</data></span>`);
    expect(page).not.toMatch(/<script|<link|\bsrc=/i);
    const files = readdirSync(png).sort();
    expect(files).toEqual(['devices.png', 'floor.png', 'laggards-app.png', 'laggards-destination.png', 'laggards-device.png', 'share.png', 'trend.png']);
    for (const f of files) {
      const buf = readFileSync(path.join(png, f));
      expect(buf.subarray(0, 8).equals(PNG_SIGNATURE), f).toBe(true);
      const img = decodePng(buf);
      expect(img.width, f).toBe(1440); // 720 px charts at 2×
      expect(r.stdout).toContain(`wrote ${path.join(png, f)}`);
    }
    expect(readdirSync(path.dirname(html)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--json keeps the report’s keys and adds floor, fixes, laggards and devices equal to the ground truth', async () => {
    const out = path.join(dir, 'json.html');
    const r = await runCli(['--data', data, '--json', 'report', '--no-asn', '--html', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('wrote'); // file notices go to stderr: stdout is JSON only
    expect(existsSync(out)).toBe(true);
    const j = JSON.parse(r.stdout) as Record<string, unknown> & {
      bytes: { ipv6Share: number };
      floor: { ipv4: { bytes: number }; causes: { cause: keyof GroundTruth['floor']; ipv4: { bytes: number; packets: number; flows: number } }[] };
      fixes: { id: string; after: { bytes: number } | null }[];
      devices: { id: string; name: string | null; usedIPv6: boolean }[];
      laggards: { device: { key: string; name: string | null }[] };
      hostPenetration: { withIPv6: number; all: number };
    };
    for (const k of ['since', 'until', 'bytes', 'packets', 'flows', 'series', 'notMeasurable', 'notes', 'bucket', 'topIPv4', 'ipv4Bytes', 'hostPenetration']) expect(j, k).toHaveProperty(k);
    expect(j.bytes.ipv6Share).toBeCloseTo(truth.share.bytes, 12);
    expect(Object.fromEntries(j.floor.causes.map((c) => [c.cause, c.ipv4]))).toEqual(truth.floor);
    expect(j.fixes[0]!.id).toBe(`p2p-binding:${truth.devices.find((d) => d.name === 'nas')!.mac}`);
    expect(j.laggards.device[0]!.name).toBe('nas');
    for (const d of truth.devices.filter((x) => x.role === 'client')) {
      const got = j.devices.find((x) => x.id === d.mac);
      expect({ name: got?.name, usedIPv6: got?.usedIPv6 }).toEqual({ name: d.name, usedIPv6: d.ipv6Totals.flows > 0 });
    }
  });

  it('plain --json without files prints only JSON; the text report still prints', async () => {
    const j = await runCli(['--data', data, 'report', '--json', '--no-asn']);
    expect(j.code).toBe(0);
    expect(() => JSON.parse(j.stdout)).not.toThrow();
    const t = await runCli(['--data', data, 'report']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^v6scope report — /);
    expect(t.stdout).toContain(pct(truth.share.bytes));
  });

  it.each([
    [['--html', ''], /--html needs a file name/],
    [['--html', '/no/such/dir/report.html'], /--html: directory \/no\/such\/dir does not exist/],
    [['--html', '.'], /is a directory/],
    [['--png', '/no/such/dir/charts'], /--png: directory \/no\/such\/dir does not exist/],
    [['--png', '/etc/hostname'], /is a file, not a directory/],
    [['--png', 'charts', '--font', '/no/such/font.ttf'], /--font: \/no\/such\/font\.ttf is not a file/],
    [['--html', 'r.html', '--bucket', '10x'], /invalid --bucket/],
    [['--png', 'charts', '--font', '/etc/hostname'], /--font: \/etc\/hostname is not a TrueType\/OpenType font/],
  ])('bad output %j: exit 2, one line, nothing written', async (args, msg) => {
    const cwd = mkdtempSync(path.join(dir, 'bad-'));
    const r = await runCli(['--data', data, 'report', ...args], { cwd });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a file that cannot be written is a runtime error (exit 1) naming it', async () => {
    // /proc exists and is a directory (the usage checks pass), but no file can be created in it, not even by root
    const r = await runCli(['--data', data, 'report', '--no-asn', '--html', '/proc/v6scope-report.html']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^v6scope: cannot write \/proc\/v6scope-report\.html: .+\n$/);
  });

  it('no data: says so and writes nothing', async () => {
    const out = path.join(dir, 'empty.html');
    const r = await runCli(['--data', path.join(dir, 'nodata'), 'report', '--html', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no data .* \(no report written\)/);
    expect(existsSync(out)).toBe(false);
  });
});
