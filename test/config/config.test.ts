/** The YAML configuration: defaults, validation errors that name the key, `v6scope config check`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, fmtDuration, parseConfig, parseListen } from '../../src/config/index.js';
import { runCli } from '../helpers/cli.js';
import { defaultDuckDBMemoryLimit } from '../../src/store/index.js';

function err(yaml: string): ConfigError {
  try {
    parseConfig(yaml, 'v6scope.yaml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('configuration', () => {
  it('an empty file is the defaults', () => {
    expect(parseConfig('')).toEqual(defaultConfig());
    expect(parseConfig('{}')).toEqual(defaultConfig());
    const c = defaultConfig();
    expect(c.store.kind).toBe('duckdb');
    expect(c.retention.raw).toBe(30 * 86_400_000);
    expect(c.batch).toEqual({ max_flows: 122_880, max_delay: 1000, max_pending: 8, max_pending_flows: 262_144, max_pending_memory: 128 * 2 ** 20 });
  });

  it('reads every section', () => {
    const c = parseConfig(`
collectors:
  - protocol: ipfix
    listen: ["0.0.0.0:4739", "[::]:4739"]
    receive_buffer: 16MiB
    name: edge
  - protocol: netflow          # default ports 2055 for both families
capture: { interface: eth0, bpf: "not port 22", idle_timeout: 30s }
local_prefixes: [2001:db8:1::/48, 198.51.100.0/24]
store:
  kind: clickhouse
  clickhouse: { url: "http://ch:8123", database: flows }
retention: { raw: 7d, rollup_1m: 2w, rollup_5m: 90d, rollup_1h: 2y, interval: 30m }
batch: { max_flows: 10000, max_delay: 500ms, max_pending: 4, max_pending_flows: 50000, max_pending_memory: 64MiB }
state: { save_interval: 1m }
`);
    expect(c.collectors[0]).toMatchObject({ protocol: 'ipfix', receive_buffer: 16 * 1024 * 1024, name: 'edge' });
    expect(c.collectors[0]!.listen.map((a) => [a.family, a.host, a.port])).toEqual([
      [4, '0.0.0.0', 4739],
      [6, '::', 4739],
    ]);
    expect(c.collectors[1]!.listen.map((a) => a.text)).toEqual(['0.0.0.0:2055', '[::]:2055']);
    expect(c.capture).toEqual({ interface: 'eth0', bpf: 'not port 22', active_timeout: 300_000, idle_timeout: 30_000 });
    expect(c.store.kind).toBe('clickhouse');
    expect(c.store.clickhouse.database).toBe('flows');
    expect(c.retention).toEqual({ raw: 7 * 86_400_000, rollup_1m: 14 * 86_400_000, rollup_5m: 90 * 86_400_000, rollup_1h: 2 * 365 * 86_400_000, interval: 1_800_000 });
    expect(c.batch).toEqual({ max_flows: 10_000, max_delay: 500, max_pending: 4, max_pending_flows: 50_000, max_pending_memory: 64 * 2 ** 20 });
    expect(c.state.save_interval).toBe(60_000);
  });

  it('errors name the offending key and its line', () => {
    const cases: [string, string][] = [
      ['collectors:\n  - protocol: netflw\n', 'v6scope.yaml:2: collectors[0].protocol: expected one of netflow, ipfix, sflow, auto, got "netflw"'],
      ['collectors:\n  - listen: ["0.0.0.0:2055", "[::]:70000"]\n', 'collectors[0].listen[1]: "[::]:70000": port must be 0-65535'],
      ['collectors:\n  - listen: ["::1:2055"]\n', 'collectors[0].listen[0]: "::1:2055": write IPv6 addresses in brackets'],
      ['collectors:\n  - listen: "example.com:2055"\n', 'collectors[0].listen: "example.com:2055": "example.com" is not an IP address'],
      ['collectors:\n  - listen: ["[::]:2055"]\n  - listen: ["[::]:2055"]\n', 'collectors[1].listen[0]: [::]:2055 is already used by collectors[0].listen[0]'],
      ['collectors:\n  - receive_buffer: lots\n', 'collectors[0].receive_buffer: expected a size in bytes'],
      ['collectors:\n  - listn: []\n', 'collectors[0].listn: unknown key (did you mean "listen"?)'],
      ['batch:\n  max_flow: 3\n', 'v6scope.yaml:2: batch.max_flow: unknown key (did you mean "max_flows"?)'],
      ['batch:\n  max_flows: 0\n', 'batch.max_flows: must be between 1 and 10000000, got 0'],
      ['batch:\n  max_delay: 5\n', 'batch.max_delay: expected a duration with a unit'],
      ['retention:\n  raw: 30\n', 'retention.raw: expected a duration with a unit'],
      ['retention:\n  rollup_1h: -1d\n', 'retention.rollup_1h: expected a duration'],
      ['local_prefixes: [2001:db8::/129]\n', 'local_prefixes[0]: '],
      ['store:\n  kind: postgres\n', 'store.kind: expected one of duckdb, clickhouse'],
      ['store:\n  duckdb: { memory_limit: 1MB }\n', 'store.duckdb.memory_limit: must be between 16777216 and'],
      ['store:\n  duckdb: { memory_limit: lots }\n', 'store.duckdb.memory_limit: expected a size in bytes'],
      ['store:\n  clickhouse: { url: "ch:8123" }\n', 'store.clickhouse.url: expected an http:// or https:// URL'],
      ['capture:\n  interface: "eth0; rm -rf /"\n', 'capture.interface: "eth0; rm -rf /" is not an interface name'],
      ['colectors: []\n', 'colectors: unknown key (did you mean "collectors"?)'],
      ['collectors: {protocol: auto}\n', 'collectors: expected a list'],
      ['- 1\n- 2\n', 'expected a mapping'],
      ['batch: {max_flows: 1, max_flows: 2}\n', 'invalid YAML'],
      ['batch: [\n', 'invalid YAML'],
    ];
    for (const [yaml, msg] of cases) expect(err(yaml).message, yaml).toContain(msg);
    expect(err('collectors:\n  - protocol: x\n').key).toBe('collectors[0].protocol');
  });

  it('store.duckdb.memory_limit: a size, 0 or absent for v6scope\'s default (an eighth of the memory, 128 to 512 MiB)', () => {
    const MiB = 2 ** 20;
    expect(defaultDuckDBMemoryLimit(24 * 1024 * MiB)).toBe(512 * MiB);
    expect(defaultDuckDBMemoryLimit(2 * 1024 * MiB)).toBe(256 * MiB);
    expect(defaultDuckDBMemoryLimit(3 * 1024 * MiB + 5)).toBe(384 * MiB);
    expect(defaultDuckDBMemoryLimit(3001 * MiB)).toBe(375 * MiB); // whole MiB, rounded down
    expect(defaultDuckDBMemoryLimit(1000 * MiB)).toBe(128 * MiB);
    expect(defaultDuckDBMemoryLimit(512 * MiB)).toBe(128 * MiB);
    expect(parseConfig('store:\n  duckdb: { memory_limit: 256MiB }\n').store.duckdb).toEqual({ path: '', memory_limit: 256 * 2 ** 20, write_memory_limit: 64 * 2 ** 20 });
    expect(parseConfig('store:\n  duckdb: { memory_limit: 0 }\n').store.duckdb.memory_limit).toBe(0);
    expect(defaultConfig().store.duckdb.memory_limit).toBe(0);
  });

  it('store.duckdb.write_memory_limit: a size of at least 16 MiB, 64 MiB when absent, 0 for none', () => {
    const MiB = 2 ** 20;
    expect(defaultConfig().store.duckdb.write_memory_limit).toBe(64 * MiB);
    expect(parseConfig('store:\n  duckdb: { memory_limit: 1GiB }\n').store.duckdb.write_memory_limit).toBe(64 * MiB);
    expect(parseConfig('store:\n  duckdb: { write_memory_limit: 96MiB }\n').store.duckdb.write_memory_limit).toBe(96 * MiB);
    expect(parseConfig('store:\n  duckdb: { write_memory_limit: 0 }\n').store.duckdb.write_memory_limit).toBe(0);
    expect(() => parseConfig('store:\n  duckdb: { write_memory_limit: 8MiB }\n')).toThrow(/store\.duckdb\.write_memory_limit: must be between 16777216 and/);
    expect(() => parseConfig('store:\n  duckdb: { write_memory_limit: some }\n')).toThrow(/store\.duckdb\.write_memory_limit: expected a size in bytes/);
  });

  it('listen addresses and durations', () => {
    expect(parseListen(':2055')).toMatchObject({ host: '0.0.0.0', family: 4, port: 2055 });
    expect(parseListen('[fe80::1]:9995')).toMatchObject({ host: 'fe80::1', family: 6, port: 9995 });
    expect(parseListen('[1.2.3.4]:1')).toMatch(/only IPv6/);
    expect(fmtDuration(30 * 86_400_000)).toBe('30d');
    expect(fmtDuration(1500)).toBe('1500ms');
  });
});

describe('v6scope config check', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the effective configuration; a mistake exits 2 naming the key', async () => {
    const good = path.join(dir, 'good.yaml');
    writeFileSync(good, 'collectors:\n  - listen: ["127.0.0.1:2055"]\nretention: { raw: 7d }\n');
    const r = await runCli(['--config', good, '--json', 'config', 'check']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { valid: boolean; config: { retention: { raw: string; rollup_1h: string }; collectors: { listen: string[]; protocol: string }[] } };
    expect(j.valid).toBe(true);
    expect(j.config.retention).toMatchObject({ raw: '1w', rollup_1h: '5y' });
    expect(j.config.collectors[0]).toMatchObject({ protocol: 'auto', listen: ['127.0.0.1:2055'] });
    const text = await runCli(['config', 'check'], { env: { V6SCOPE_CONFIG: good } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/retention:\n {2}raw: 1w/);

    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'batch:\n  max_delay: soon\n');
    const b = await runCli(['--config', bad, 'config', 'check']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim()).toMatch(/^v6scope: config .*bad\.yaml:2: batch\.max_delay: expected a duration/);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    const missing = await runCli(['--config', path.join(dir, 'nope.yaml'), 'config', 'check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.yaml: no such file/);
    // serve validates the same way before starting anything.
    const s = await runCli(['--data', dir, '--config', bad, 'serve']);
    expect(s.code).toBe(2);
    const none = await runCli(['--data', dir, 'serve']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nothing to serve/);
  });
});
