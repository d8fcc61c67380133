/**
 * The web console end to end: `v6scope serve` (built CLI, dist/) over the demo network's data,
 * driven by headless Chromium (playwright-core, /usr/bin/chromium). Every expected number is
 * computed here from the demo's ground truth (DATA/demo/ground-truth.json, counted by the
 * generator), never by the code under test. Screenshots go to test-artifacts/console/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth, GroundTruthDevice, Totals } from '../../src/demo/index.js';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { IN_CI, requireTools } from '../helpers/tools.js';

const CHROMIUM = '/usr/bin/chromium';
/** serve runs with an access token, as it would when exposed: the console asks for it. */
const TOKEN = 'console-test-token-0123456789';
/** As if the user had entered the token in the tab. */
const tokenScript = `sessionStorage.setItem('v6scope.token', ${JSON.stringify(TOKEN)});`;
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
/** Generous: the machine is shared and slow; nothing here asserts on time. */
const WAIT = 90_000;

/** Under CI a missing Chromium fails the suite; elsewhere it is skipped with a warning. */
function chromiumAvailable(): boolean {
  if (!requireTools('chromium')) return false;
  if (existsSync(CHROMIUM)) return true;
  const msg = `missing test dependency: ${CHROMIUM} (Debian package chromium)`;
  if (IN_CI) throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return false;
}
const HAVE_CHROMIUM = chromiumAvailable();

// Independent of the console's own formatting code: the CLI's rules, restated.
const pct = (s: number): string => `${(s * 100).toFixed(1)} %`;
const share = (t: { ipv4: Totals; ipv6: Totals } | { ipv4Totals: Totals; ipv6Totals: Totals }, m: keyof Totals): number => {
  const [v4, v6] = 'ipv4Totals' in t ? [t.ipv4Totals, t.ipv6Totals] : [t.ipv4, t.ipv6];
  return v6[m] / (v4[m] + v6[m]);
};

/** RFC 4180 parser (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let dir = '';
let truth: GroundTruth;
let serve: ChildProcess | null = null;
let serveLog = '';
let base = '';
let browser: Browser | null = null;
let ctx: BrowserContext;

async function startServe(dataDir: string): Promise<void> {
  // port 0 would be logged as :0 by serve, so pick a free port (retry if someone takes it first)
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = path.join(dir, 'v6scope.yaml');
    // the demo is dated 2026-01: keep every table (serve applies retention at start)
    writeFileSync(
      config,
      `collectors:\n  - protocol: auto\n    listen: ["127.0.0.1:0"]\napi:\n  listen: ["127.0.0.1:${port}"]\n  token: "${TOKEN}"\nretention:\n  raw: 10y\n  rollup_1m: 10y\n  rollup_5m: 10y\n  rollup_1h: 10y\n`,
    );
    const child = spawn(process.execPath, [CLI, '--data', dataDir, '--config', config, 'serve'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    serveLog = '';
    const ready = await new Promise<boolean>((resolve) => {
      child.stderr!.on('data', (d: Buffer) => {
        serveLog += d.toString();
        if (serveLog.includes('ready')) resolve(true);
      });
      child.once('exit', () => resolve(false));
    });
    if (ready) {
      serve = child;
      base = `http://127.0.0.1:${port}`;
      return;
    }
    if (!/EADDRINUSE|cannot listen/.test(serveLog)) throw new Error(`v6scope serve did not start:\n${serveLog}`);
  }
  throw new Error(`v6scope serve found no free port:\n${serveLog}`);
}

async function open(page: Page, p: string): Promise<void> {
  await page.goto(`${base}${p}`, { waitUntil: 'load', timeout: WAIT });
  await ready(page);
}

/** The page finished rendering (its API calls answered) and every chart drew at least once. */
async function ready(page: Page): Promise<void> {
  await page.waitForSelector('main[data-state="ready"]', { timeout: WAIT });
  // No chart is left shown and not yet drawn. A selector, not waitForFunction: the console's CSP
  // (script-src 'self') refuses the eval waitForFunction polls its predicate with, so it failed
  // whenever the charts were not drawn at its first look.
  await page.waitForSelector('.chart:not([hidden]):not([data-rendered])', { state: 'detached', timeout: WAIT });
  await page.waitForLoadState('networkidle', { timeout: WAIT });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function downloadCsv(page: Page, panelName: string): Promise<string[][]> {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.click(`[data-panel="${panelName}"] [data-action="csv"]`)]);
  expect(dl.suggestedFilename()).toBe(`${panelName}.csv`);
  const file = await dl.path();
  return parseCsv(readFileSync(file, 'utf8'));
}

const column = (rows: string[][], label: string): string[] => {
  const i = rows[0]!.indexOf(label);
  expect(i, `CSV column ${label} in ${rows[0]!.join(',')}`).toBeGreaterThanOrEqual(0);
  return rows.slice(1).map((r) => r[i]!);
};
const sum = (xs: string[]): number => xs.reduce((a, x) => a + Number(x), 0);

const dev = (name: string): GroundTruthDevice => truth.devices.find((d) => d.name === name)!;

describe.skipIf(!HAVE_CHROMIUM)('web console (headless Chromium against v6scope serve on the demo)', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    if (process.env.V6SCOPE_SKIP_BUILD !== '1') {
      // the global setup compiled the server; the console is a Vite build (scripts/test.sh does both)
      const r = spawn(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'console/vite.config.ts', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' });
      expect(await new Promise((res) => r.once('exit', res))).toBe(0);
    }
    expect(existsSync(path.join(ROOT, 'dist/console/index.html')), 'dist/console is built (npm run build)').toBe(true);
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-console-'));
    const data = path.join(dir, 'data');
    const demo = await runCli(['--data', data, '--quiet', 'demo', '--days', '2', '--start', '2026-01-05', '--seed', '21'], { timeoutMs: 240_000 });
    expect(demo.code, demo.stderr).toBe(0);
    truth = JSON.parse(readFileSync(path.join(data, 'demo', 'ground-truth.json'), 'utf8')) as GroundTruth;
    await startServe(data);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: WAIT });
    ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, colorScheme: 'light' });
    ctx.setDefaultTimeout(WAIT);
    // as if the user had entered the token in this tab (the prompt itself has its own test)
    await ctx.addInitScript(tokenScript);
  }, 360_000);

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve!.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('access token: the console is public, the API is not; the console asks for the token and keeps it in the tab', async () => {
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect((await fetch(`${base}/api/v1/share`)).status).toBe(401);
    const fresh = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    fresh.setDefaultTimeout(WAIT);
    const page = await fresh.newPage();
    await page.goto(`${base}/explorer?filter=${encodeURIComponent('family = 6')}`, { waitUntil: 'load' });
    await page.waitForSelector('main[data-state="error"] form.token', { timeout: WAIT });
    await page.fill('form.token input[name="token"]', `${TOKEN}-wrong`);
    await page.click('form.token button[type="submit"]');
    await page.waitForSelector('main[data-state="error"] form.token :text("not accepted")', { timeout: WAIT });
    await shot(page, 'token');
    await page.fill('form.token input[name="token"]', TOKEN);
    await page.click('form.token button[type="submit"]');
    await ready(page);
    // the view asked for in the URL, now with data: IPv6 only
    expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(1));
    expect(await page.evaluate("sessionStorage.getItem('v6scope.token')")).toBe(TOKEN);
    expect(await page.evaluate("localStorage.getItem('v6scope.token')")).toBeNull();
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    await fresh.close();
  });

  it('home: the ground-truth IPv6 share by bytes, packets and flows, and the biggest fix with its uplift', async () => {
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await open(page, '/');
    for (const m of ['bytes', 'packets', 'flows'] as const) {
      expect((await page.textContent(`[data-kpi="${m}"] .kpi-value`))?.trim(), m).toBe(pct(truth.share[m]));
    }
    // the BitTorrent client on the NAS is the biggest laggard; fixing it gives the generator's what-if
    const nasRow = page.locator('[data-panel="laggards"] tbody tr').first();
    expect(await nasRow.locator('td').first().textContent()).toBe('nas');
    expect(await nasRow.textContent()).toContain(pct(truth.whatIf.bittorrentToIPv6.bytesShare));
    expect(await page.locator('.fixes li').first().textContent()).toContain(`IPv6 ${pct(truth.share.bytes)} → ${pct(truth.whatIf.bittorrentToIPv6.bytesShare)}`);
    expect(await page.locator('.chart svg').count()).toBeGreaterThanOrEqual(3);
    await shot(page, 'home');
    // all stored data: the same share here (the demo is 2 days), trends still end at the data's end
    await page.selectOption('select[name="range"]', 'all');
    await page.waitForURL((u) => u.searchParams.get('range') === 'all', { timeout: WAIT });
    await ready(page);
    expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(truth.share.bytes));
    expect(await page.locator('[data-panel="trend-24h"] .chart svg').count()).toBe(1);
    expect(await page.locator('[data-panel="trend-7d"] .chart svg').count()).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('explorer: a filter updates the chart, the table, the CSV and the URL; reloading the URL restores the view', async () => {
    const page = await ctx.newPage();
    await open(page, '/explorer');
    const chart = page.locator('[data-panel="explorer-series"] .chart');
    const before = await chart.innerHTML();
    const tableBefore = await page.locator('[data-panel="explorer-series"] table').textContent();
    expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(truth.share.bytes));

    const filter = 'device = "tv"';
    await page.fill('input[name="filter"]', filter);
    await page.press('input[name="filter"]', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('filter') === filter, { timeout: WAIT });
    await ready(page);
    const tv = dev('tv');
    expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(share(tv, 'bytes')));
    expect(await chart.innerHTML()).not.toBe(before);
    // the table view shows the same series, and it changed with the filter
    await page.click('[data-panel="explorer-series"] [data-action="toggle-table"]');
    const table = page.locator('[data-panel="explorer-series"] table');
    await table.waitFor({ state: 'visible' });
    const tableAfter = await table.textContent();
    expect(tableAfter).not.toBe(tableBefore);
    // CSV: the exact counters; over all buckets they add up to the device's ground truth
    const csv = await downloadCsv(page, 'explorer-series');
    expect(await table.locator('tbody tr').count()).toBe(csv.length - 1);
    expect(sum(column(csv, 'IPv4 bytes'))).toBe(tv.ipv4Totals.bytes);
    expect(sum(column(csv, 'IPv6 bytes'))).toBe(tv.ipv6Totals.bytes);
    expect(sum(column(csv, 'IPv6 flows'))).toBe(tv.ipv6Totals.flows);
    await shot(page, 'explorer-filtered');

    // group by application as well: the URL keeps both
    await page.fill('input[name="by"]', 'app');
    await page.press('input[name="by"]', 'Enter');
    await page.waitForURL((u) => u.searchParams.get('by') === 'app' && u.searchParams.get('filter') === filter, { timeout: WAIT });
    await ready(page);
    const groups = await downloadCsv(page, 'explorer-groups');
    expect(sum(column(groups, 'IPv4 bytes')) + sum(column(groups, 'IPv6 bytes'))).toBeLessThanOrEqual(tv.ipv4Totals.bytes + tv.ipv6Totals.bytes);
    const url = page.url();

    await page.reload({ waitUntil: 'load' });
    await ready(page);
    expect(page.url()).toBe(url);
    expect(await page.inputValue('input[name="filter"]')).toBe(filter);
    expect(await page.inputValue('input[name="by"]')).toBe('app');
    expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(share(tv, 'bytes')));
    expect(await page.locator('[data-panel="explorer-series"] table').textContent()).toBe(tableAfter);
    expect(await page.locator('[data-panel="explorer-groups"]').getAttribute('data-rows')).toBe(String(groups.length - 1));

    // a fresh page on the shared URL shows the same view (back/forward too)
    const other = await ctx.newPage();
    await open(other, url.slice(base.length));
    expect((await other.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(share(tv, 'bytes')));
    await other.close();
    await page.goBack();
    await page.waitForURL((u) => u.searchParams.get('by') === null && u.searchParams.get('filter') === filter, { timeout: WAIT });
    await ready(page);
    expect(await page.inputValue('input[name="by"]')).toBe('');
    await page.close();
  });

  it('explorer: an invalid filter shows the API error inline, at its column', async () => {
    const page = await ctx.newPage();
    await open(page, '/explorer');
    const filter = 'family = 4 AND dst_prot = 80';
    await page.fill('input[name="filter"]', filter);
    await page.click('form.controls button[type="submit"]');
    await page.waitForURL((u) => u.searchParams.get('filter') === filter, { timeout: WAIT });
    await page.waitForSelector('main[data-state="ready"] [data-error="filter"] [data-reason]', { timeout: WAIT });
    const err = (await page.textContent('[data-error="filter"]')) ?? '';
    expect(err).toContain(`column ${filter.indexOf('dst_prot') + 1}`);
    expect(err).toContain('dst_prot');
    expect(err).toContain('dst_port'); // the hint
    expect(await page.getAttribute('input[name="filter"]', 'aria-invalid')).toBe('true');
    // the caret line points at the bad field
    const caret = ((await page.textContent('[data-error="filter"] pre.caret')) ?? '').split('\n');
    expect(caret[0]).toBe(filter);
    expect(caret[1]!.indexOf('^')).toBe(filter.indexOf('dst_prot'));
    expect(await page.locator('[data-panel="explorer-series"]').count()).toBe(0);
    await shot(page, 'explorer-bad-filter');
    await page.close();
  });

  it('devices: the list links to each device page, which shows the addresses the generator used', async () => {
    const page = await ctx.newPage();
    await open(page, '/devices');
    const clients = truth.devices.filter((d) => d.role === 'client');
    const csv = await downloadCsv(page, 'devices');
    const macs = column(csv, 'MAC');
    for (const d of clients) expect(macs, d.name).toContain(d.mac);
    await shot(page, 'devices');
    await page.click('[data-panel="devices"] [data-action="toggle-table"]');
    await page.click('[data-panel="devices"] table a:text-is("laptop")');
    for (const name of ['laptop', 'tv', 'camera']) {
      const d = dev(name);
      if (name !== 'laptop') await open(page, `/devices/${d.mac}`);
      else {
        await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/devices/${d.mac}`, { timeout: WAIT });
        await ready(page);
      }
      expect((await page.textContent('h1'))?.trim()).toBe(name);
      const v6 = await page.locator('[data-addresses="6"] tbody td:first-child').allTextContents();
      const v4 = await page.locator('[data-addresses="4"] tbody td:first-child').allTextContents();
      expect(new Set(v6), name).toEqual(new Set(d.ipv6));
      expect(new Set(v4), name).toEqual(new Set(d.ipv4));
      expect(await page.textContent('dl.facts')).toContain(d.mac);
      expect((await page.textContent('[data-kpi="bytes"] .kpi-value'))?.trim()).toBe(pct(share(d, 'bytes')));
      await shot(page, `device-${name}`);
    }
    await page.close();
  });

  it('floor: IPv4 by cause equals the ground truth; the sankey draws device → application → destination', async () => {
    const page = await ctx.newPage();
    await open(page, '/floor');
    const csv = await downloadCsv(page, 'floor-causes');
    const causes = column(csv, 'cause');
    const bytes = column(csv, 'IPv4 bytes');
    for (const [cause, t] of Object.entries(truth.floor)) expect({ cause, bytes: Number(bytes[causes.indexOf(cause)]) }).toEqual({ cause, bytes: t.bytes });
    expect(await page.locator('[data-panel="floor-flows"] .chart svg').count()).toBe(1);
    const flows = await downloadCsv(page, 'floor-flows');
    expect(column(flows, 'application')).toContain('bittorrent');
    await shot(page, 'floor');
    await page.close();
  });

  it('exporters: live collector health from serve (an IPFIX exporter that sent one template)', async () => {
    // a template-only IPFIX message: the exporter shows up with its template, and no flow is stored
    const udp = Number(/collecting on 127\.0\.0\.1:(\d+)\/udp/.exec(serveLog)?.[1]);
    expect(udp, serveLog).toBeGreaterThan(0);
    const msg = Buffer.alloc(32);
    msg.writeUInt16BE(10, 0); // IPFIX
    msg.writeUInt16BE(32, 2);
    msg.writeUInt32BE(Math.floor(truth.end / 1000), 4);
    msg.writeUInt32BE(0, 8); // sequence
    msg.writeUInt32BE(7, 12); // observation domain
    msg.writeUInt16BE(2, 16); // template set
    msg.writeUInt16BE(16, 18);
    msg.writeUInt16BE(256, 20); // template id
    msg.writeUInt16BE(2, 22); // field count
    msg.writeUInt16BE(8, 24); // sourceIPv4Address
    msg.writeUInt16BE(4, 26);
    msg.writeUInt16BE(12, 28); // destinationIPv4Address
    msg.writeUInt16BE(4, 30);
    const sock = dgram.createSocket('udp4');
    const auth = { headers: { authorization: `Bearer ${TOKEN}` } };
    try {
      // UDP may drop a datagram: resend until the collector reports the exporter
      await expect
        .poll(
          async () => {
            await new Promise<void>((r, j) => sock.send(msg, udp, '127.0.0.1', (e) => (e ? j(e) : r())));
            const h = (await (await fetch(`${base}/api/v1/exporters`, auth)).json()) as { exporters?: unknown[] };
            return h.exporters?.length ?? 0;
          },
          { timeout: WAIT, interval: 500 },
        )
        .toBeGreaterThan(0);
    } finally {
      sock.close();
    }
    const page = await ctx.newPage();
    await open(page, '/exporters');
    expect(await page.textContent('main')).toContain('live from serve');
    expect(await page.locator('[data-panel="listeners"] tbody tr').first().textContent()).toContain('127.0.0.1:0');
    const csv = await downloadCsv(page, 'exporters');
    expect(column(csv, 'exporter')[0]).toContain('127.0.0.1');
    expect(column(csv, 'templates')[0]).toBe('1');
    expect(Number(column(csv, 'datagrams')[0])).toBeGreaterThanOrEqual(1);
    expect(column(csv, 'records')[0]).toBe('0');
    await shot(page, 'exporters');
    await page.close();
  });

  it('dark mode: the toggle switches the theme and is remembered', async () => {
    const page = await ctx.newPage();
    await open(page, '/');
    const bg = (): Promise<string> => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    const light = await bg();
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.click('#theme');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    expect(await page.getAttribute('#theme', 'aria-pressed')).toBe('true');
    expect(await bg()).not.toBe(light);
    await page.reload({ waitUntil: 'load' });
    await ready(page);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await shot(page, 'home-dark');
    await page.click('#theme');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.close();
  });

  it('a 390 px wide phone: no page scrolls sideways', async () => {
    const phone = await browser!.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    phone.setDefaultTimeout(WAIT);
    await phone.addInitScript(tokenScript);
    const page = await phone.newPage();
    const tv = dev('tv');
    for (const [name, p] of [
      ['home', '/'],
      ['explorer', `/explorer?filter=${encodeURIComponent('family = 4 AND dst_prot = 80')}`],
      ['explorer-groups', `/explorer?by=device`],
      ['devices', '/devices'],
      ['device', `/devices/${tv.mac}`],
      ['floor', '/floor'],
      ['exporters', '/exporters'],
    ] as const) {
      await page.goto(`${base}${p}`, { waitUntil: 'load' });
      await page.waitForSelector('main[data-state="ready"]', { timeout: WAIT });
      await page.waitForLoadState('networkidle');
      const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>('({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
      expect({ name, scroll }).toEqual({ name, scroll: client });
      await shot(page, `phone-${name}`);
    }
    await phone.close();
  });
});
