/**
 * ClickHouse from the configuration, end to end through the built CLI: `v6scope serve` with a
 * configuration naming ClickHouse and an IPFIX collector stores the flows sent to it in ClickHouse
 * (no DuckDB file appears), and the batch commands given the same `--config` (or V6SCOPE_CONFIG)
 * read them back — `share --json` and `laggards --json` equal the totals sent. `ingest` of the demo
 * capture into ClickHouse via `--config` gives the same share and laggards as into DuckDB.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorHealth } from '../../src/collect/collector.js';
import { DEMO_PCAP_NAME, defaultDemoStart, generateDemo } from '../../src/demo/index.js';
import { runCli } from '../helpers/cli.js';
import { sendFrom, startServeCli, waitFor, writeConfig } from '../collect/helpers.js';
import { concat, ip4, ip6, ipfixMessage, ipfixTemplate, set, u16, u64, u8, type Field } from '../sources/flow/encode.js';
import { haveClickHouse, startClickHouse, type ClickHouseServer } from '../store/clickhouse/server.js';

const available = haveClickHouse(); // throws under CI when the server is missing
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-e2e-ch-'));
let server: ClickHouseServer | undefined;

beforeAll(async () => {
  if (available) server = await startClickHouse();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sql(query: string, db: string): Promise<string[][]> {
  const r = await fetch(`${server!.url}/?database=${db}`, { method: 'POST', body: query });
  const t = await r.text();
  if (!r.ok) throw new Error(t);
  return t.trim() === '' ? [] : t.trim().split('\n').map((l) => l.split('\t'));
}

function clickhouseConfig(db: string, extra = ''): string {
  return `
store:
  kind: clickhouse
  clickhouse:
    url: ${server!.url}
    database: ${db}
${extra}`;
}

interface Family {
  ipv4: number;
  ipv6: number;
  ipv6Share: number | null;
}
type ShareJson = Record<'bytes' | 'packets' | 'flows', Family>;

describe.skipIf(!available)('ClickHouse named by the configuration, end to end', () => {
  it('serve (IPFIX collector → ClickHouse), then share and laggards --config read the totals sent', async () => {
    const db = 'v6_e2e_serve';
    const data = path.join(dir, 'serve-data');
    const cfg = writeConfig(
      dir,
      `collectors:
  - protocol: auto
    listen: ["127.0.0.1:0"]
batch:
  max_flows: 200
  max_delay: 100ms
state:
  save_interval: 100ms
${clickhouseConfig(db)}`,
      'serve-clickhouse.yaml',
    );
    // An hour ago (inside every retention, since serve applies retention when it starts).
    const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const fields: Field[] = [[8, 4], [12, 4], [27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [60, 1], [1, 8], [2, 8], [152, 8], [153, 8]];
    const want = { v4: { bytes: 0, packets: 0, flows: 0 }, v6: { bytes: 0, packets: 0, flows: 0 } };
    const rec = (i: number): Uint8Array => {
      const v6 = i % 3 !== 0;
      const bytes = 1000 + 7 * i;
      const packets = 2 + (i % 5);
      const t = v6 ? want.v6 : want.v4;
      t.bytes += bytes;
      t.packets += packets;
      t.flows += 1;
      return concat(
        v6 ? ip4('0.0.0.0') : ip4(`10.1.${i >> 8}.${i & 255}`), v6 ? ip4('0.0.0.0') : ip4('192.0.2.1'),
        v6 ? ip6(`2001:db8::${(i + 1).toString(16)}`) : ip6('::'), v6 ? ip6('2001:db8:ffff::1') : ip6('::'),
        u16(40000 + (i % 20000)), u16(443), u8(6), u8(v6 ? 6 : 4), u64(bytes), u64(packets), u64(t0 + i * 10), u64(t0 + i * 10 + 500),
      );
    };
    const N = 1200;
    const msgs: Uint8Array[] = [ipfixMessage({ exportTime: t0 / 1000, seq: 0, domain: 7 }, set(2, ipfixTemplate(300, fields)))];
    for (let i = 0; i < N; i += 20) msgs.push(ipfixMessage({ exportTime: t0 / 1000, seq: i, domain: 7 }, set(300, ...Array.from({ length: 20 }, (_, k) => rec(i + k)))));

    const serve = await startServeCli(data, cfg);
    try {
      await sendFrom(msgs, serve.ports.find((p) => p.family === 4)!);
      await waitFor(() => {
        try {
          const h = JSON.parse(readFileSync(path.join(data, 'exporters.json'), 'utf8')) as CollectorHealth;
          return h.exporters.some((e) => e.records === N);
        } catch {
          return false;
        }
      }, 20_000, 'every record to be decoded');
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.stderr()).toMatch(new RegExp(`stopped: ${N} flows stored`));
    expect(existsSync(path.join(data, 'v6scope.duckdb'))).toBe(false); // the store was ClickHouse
    expect((await sql('SELECT count(), sum(flows) FROM raw', db))[0]!.map(Number)).toEqual([N, N]);

    const share = await runCli(['--data', data, '--config', cfg, '--json', 'share']);
    expect(share.code, share.stderr).toBe(0);
    const s = JSON.parse(share.stdout) as ShareJson;
    for (const m of ['bytes', 'packets', 'flows'] as const) expect({ m, ipv4: s[m].ipv4, ipv6: s[m].ipv6 }).toEqual({ m, ipv4: want.v4[m], ipv6: want.v6[m] });

    // The configuration by V6SCOPE_CONFIG this time.
    const lag = await runCli(['--data', data, '--json', 'laggards', '--by', 'destination'], { env: { V6SCOPE_CONFIG: cfg } });
    expect(lag.code, lag.stderr).toBe(0);
    const l = JSON.parse(lag.stdout) as { ipv4: Record<'bytes' | 'packets' | 'flows', number>; laggards: { key: string }[] };
    expect(l.ipv4).toMatchObject(want.v4);
    expect(l.laggards.length).toBeGreaterThan(0);

    // The same command without the configuration reads the (absent) DuckDB store: no data.
    const none = await runCli(['--data', data, '--json', 'share'], { env: { V6SCOPE_CONFIG: '' } });
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ bytes: null, notes: ['no data stored yet'] });

    // store check through the configuration: ClickHouse, its tables and the daemon's spool (empty).
    const check = await runCli(['--data', data, '--config', cfg, '--json', 'store', 'check']);
    expect(check.code, check.stderr).toBe(0);
    const c = JSON.parse(check.stdout) as { store: string; database: string; tables: { name: string; rows: number }[]; spool: { dir: string; batches: number } };
    expect(c).toMatchObject({ store: 'clickhouse', database: db });
    expect(c.tables.find((t) => t.name === 'raw')!.rows).toBe(N);
    expect(c.spool).toMatchObject({ dir: path.join(data, 'spool', 'clickhouse'), batches: 0 });
    const repair = await runCli(['--data', data, '--config', cfg, '--json', 'store', 'repair']);
    expect(repair.code, repair.stderr).toBe(0);
    expect(JSON.parse(repair.stdout)).toMatchObject({ store: 'clickhouse', rebuilt: 0, remaining: [] });
  }, 180_000);

  it('ingest of the demo capture via --config into ClickHouse: the same share and laggards as into DuckDB', async () => {
    // The demo network's capture (what `v6scope demo` generates and ingests), one day of it.
    const demo = await generateDemo({ seed: 5, days: 1, start: defaultDemoStart(Date.now()), outDir: path.join(dir, 'demo') });
    const pcap = demo.pcapPath;
    expect(path.basename(pcap)).toBe(DEMO_PCAP_NAME);

    const duck = path.join(dir, 'ingest-duckdb');
    const chData = path.join(dir, 'ingest-clickhouse');
    const cfg = writeConfig(dir, clickhouseConfig('v6_e2e_ingest'), 'ingest-clickhouse.yaml');
    const a = await runCli(['--data', duck, '--json', 'ingest', pcap]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['--data', chData, '--config', cfg, '--json', 'ingest', pcap]);
    expect(b.code, b.stderr).toBe(0);
    const flows = (JSON.parse(a.stdout) as { flows: number }[])[0]!.flows;
    expect(flows).toBeGreaterThan(100);
    expect((JSON.parse(b.stdout) as { flows: number }[])[0]!.flows).toBe(flows);
    expect(existsSync(path.join(chData, 'v6scope.duckdb'))).toBe(false);
    expect(Number((await sql('SELECT count() FROM raw', 'v6_e2e_ingest'))[0]![0])).toBe(flows);

    for (const args of [['share'], ['share', '--by', 'device'], ['laggards'], ['floor']]) {
      const x = await runCli(['--data', duck, '--json', ...args]);
      const y = await runCli(['--data', chData, '--config', cfg, '--json', ...args]);
      expect(x.code, x.stderr).toBe(0);
      expect(y.code, y.stderr).toBe(0);
      expect(JSON.parse(y.stdout), args.join(' ')).toEqual(JSON.parse(x.stdout));
    }
  }, 300_000);
});
