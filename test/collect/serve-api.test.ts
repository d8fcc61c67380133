/** `v6scope serve` with an `api:` section: the API and /metrics run beside the collectors on one store. */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startServeCli, writeConfig } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-serve-api-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('serve with the API', () => {
  it('answers /api/v1/share and /metrics while collecting, and stops cleanly', async () => {
    const port = await freePort();
    const cfg = writeConfig(dir, `collectors:\n  - protocol: auto\n    listen: "127.0.0.1:0"\napi:\n  listen: "127.0.0.1:${port}"\n`);
    const s = await startServeCli(path.join(dir, 'data'), cfg);
    try {
      expect(s.stderr()).toMatch(new RegExp(`API on 127\\.0\\.0\\.1:${port}`));
      const share = await fetch(`http://127.0.0.1:${port}/api/v1/share`);
      expect(share.status).toBe(200);
      expect(share.headers.get('content-type')).toMatch(/json/);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# (HELP|TYPE) v6scope_/m);
      const bad = await fetch(`http://127.0.0.1:${port}/api/v1/share?filter=${encodeURIComponent('family = ')}`);
      expect(bad.status).toBe(400);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('config check refuses a public API address without a token, naming the key', async () => {
    const cfg = writeConfig(dir, `api:\n  listen: "0.0.0.0:8080"\n`, 'public.yaml');
    const r = await runCli(['--config', cfg, 'config', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/api/);
    const ok = writeConfig(dir, `api:\n  listen: "[::1]:8080"\n`, 'ok.yaml');
    const j = await runCli(['--config', ok, '--json', 'config', 'check']);
    expect(j.code).toBe(0);
    expect((JSON.parse(j.stdout) as { config: { api: { listen: string[] } } }).config.api.listen).toEqual(['[::1]:8080']);
  });
});
