/** The command line contract: --help everywhere, exit codes 0/1/2, one-line errors, --data/V6SCOPE_DATA. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COMMANDS = ['ingest', 'decode', 'serve', 'api', 'collect', 'exporters', 'capture', 'config', 'share', 'report', 'devices', 'laggards', 'floor', 'fix', 'import', 'dns', 'aws', 'demo', 'store', 'fields'];

describe('v6scope CLI', () => {
  it('prints help with every command listed', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(c);
    expect(r.stdout).toContain('--data');
  });

  it.each(COMMANDS)('%s --help exits 0 and documents its options', async (c) => {
    const r = await runCli([c, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Usage: v6scope ${c}`));
  });

  it.each([
    [['nosuchcommand']],
    [['share', '--by', 'nosuchdimension']],
    [['share', '--since', 'yesterday-ish']],
    [['share', '--since', '2026-11-02', '--until', '2026-11-01']],
    [['share', '--bucket', '10x']],
    [['share', '--sort', 'octets']],
    [['share', '--by', 'proto/24']],
    [['share', '--by', 'peer_addr/129']],
    [['ingest']],
    [['ingest', '/no/such/file.pcap']],
    [['ingest', '--local', 'not-a-prefix', '/etc/hostname']],
    [['demo', '--days', '0']],
    [['share', '--data', '']],
    [['laggards', '--by', 'colour']],
    [['floor', '--top', '0']],
    [['fix', '--since', 'soon']],
    [['import', 'neighbors']],
    [['import', 'neighbours', '/etc/hostname']],
    [['import', 'leases', '--format', 'nosuch', '/etc/hostname']],
    [['demo', '--seed', 'x']],
    [['demo', '--start', 'someday']],
  ])('usage error %j exits 2 with a one-line message', async (args) => {
    const r = await runCli(['--data', path.join(dir, 'usage'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().length).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it('runtime errors exit 1 naming the file', async () => {
    const bad = path.join(dir, 'not-a-capture.pcap');
    writeFileSync(bad, 'this is not a capture file at all, just text\n'.repeat(4));
    const r = await runCli(['--data', path.join(dir, 'rt'), 'ingest', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not-a-capture.pcap');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('share on an empty data directory says so, and --json stays valid JSON', async () => {
    const r = await runCli(['--data', path.join(dir, 'empty'), 'share']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no data/);
    const j = await runCli(['--json', 'share'], { env: { V6SCOPE_DATA: path.join(dir, 'empty2') } });
    expect(j.code).toBe(0);
    expect(() => JSON.parse(j.stdout)).not.toThrow();
  });

  it('accepts global options after the command too', async () => {
    const r = await runCli(['share', '--json', '--data', path.join(dir, 'empty3')]);
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('fields --markdown matches docs/fields.md (the docs are generated from the schema)', async () => {
    const r = await runCli(['fields', '--markdown']);
    expect(r.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync(path.join(__dirname, '../../docs/fields.md'), 'utf8');
    expect(doc).toBe(r.stdout);
  });

  it('exporters: the store writer line names flows lost to store errors and the last error', async () => {
    const data = path.join(dir, 'exp');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(data, { recursive: true });
    const health = {
      updated: '2026-12-02T00:00:00.000Z',
      startedAt: '2026-12-02T00:00:00.000Z',
      listeners: [],
      exporters: [],
      totals: { socketDrops: 0 },
      writer: { stored: 41200, droppedFlows: 0, droppedBatches: 0, failedFlows: 458752, failedBatches: 14, lastError: 'TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB\n\nPossible solutions: …' },
    };
    writeFileSync(path.join(data, 'exporters.json'), JSON.stringify(health));
    const r = await runCli(['--data', data, 'exporters']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('458752 lost to store errors');
    expect(r.stdout).toContain('last store error: TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB\n');
    expect(r.stdout).not.toContain('Possible solutions');
  });
});
