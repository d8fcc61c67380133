/** The api: configuration section and the `v6scope api` command's exposure rules. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiConfigError, apiConfigToJson, checkExposure, isLoopback, validateApiSection } from '../../src/server/config.js';
import { checkBearer } from '../../src/server/api.js';
import { runCli } from '../helpers/cli.js';

const TOKEN = 'abcdefghijklmnop-0123';
const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-api-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('validateApiSection', () => {
  it('defaults: loopback 127.0.0.1:8080, 1 h share window', () => {
    const c = validateApiSection({});
    expect(c.listen.map((l) => l.text)).toEqual(['127.0.0.1:8080']);
    expect(c.share_window).toBe(3_600_000);
    expect(validateApiSection(undefined).listen).toEqual([]); // absent section: serve runs no API
  });

  it('listen lists, IPv6, token, token_file, share_window', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const c = validateApiSection({ listen: ['[::1]:9090', '0.0.0.0:8080'], token_file: file, share_window: '5m' });
    expect(c.listen.map((l) => [l.host, l.port, l.family])).toEqual([['::1', 9090, 6], ['0.0.0.0', 8080, 4]]);
    expect(c.token).toBe(TOKEN);
    expect(c.share_window).toBe(300_000);
    expect(apiConfigToJson(c)).toEqual({ listen: ['[::1]:9090', '0.0.0.0:8080'], token: '(set)', share_window: '300s' });
  });

  it.each([
    [{ listen: '0.0.0.0:8080' }, 'api.listen', /requires an access token/],
    [{ listen: ['[::]:8080'] }, 'api.listen', /requires an access token/],
    [{ listen: ['192.168.1.2:8080'], token: 'short' }, 'api.token', /too short/],
    [{ listen: ['nohost'] }, 'api.listen[0]', /HOST:PORT/],
    [{ listen: [] }, 'api.listen', /at least one/],
    [{ listen: [8080] }, 'api.listen[0]', /expected "HOST:PORT"/],
    [{ tokens: 'x' }, 'api.tokens', /unknown key/],
    [{ token: 5 }, 'api.token', /non-empty string/],
    [{ token: TOKEN, token_file: '/x' }, 'api.token_file', /not both/],
    [{ token_file: '/nonexistent/token' }, 'api.token_file', /cannot read/],
    [{ share_window: 'soon' }, 'api.share_window', /duration/],
    ['yes', 'api', /expected a mapping/],
  ])('%j → %s', (raw, key, re) => {
    let err: unknown;
    try {
      validateApiSection(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiConfigError);
    expect((err as ApiConfigError).message).toMatch(re);
    expect((err as ApiConfigError).message.startsWith(`${key}: `)).toBe(true);
  });

  it('loopback: 127/8 and ::1 only', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1'].map(isLoopback)).toEqual([true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.1', '::ffff:127.0.0.1', '2001:db8::1'].map(isLoopback)).toEqual([false, false, false, false, false]);
    expect(checkExposure([{ host: '127.0.0.1', port: 1, family: 4, text: '127.0.0.1:1' }], null)).toBeNull();
  });

  it('bearer check: exact token only', () => {
    expect(checkBearer(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(checkBearer(`bearer  ${TOKEN}`, TOKEN)).toBe(true);
    for (const h of [undefined, '', TOKEN, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, `Bearer`, `Bearer ${TOKEN} extra`]) expect(checkBearer(h, TOKEN)).toBe(false);
  });
});

describe('v6scope api (CLI)', () => {
  const data = path.join(dir, 'data');
  it('refuses a non-loopback address without a token (exit 2)', async () => {
    const r = await runCli(['--data', data, 'api', '--listen', '0.0.0.0:0'], { env: { V6SCOPE_API_TOKEN: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/0\.0\.0\.0:0 \(not loopback\) requires an access token/);
    const bad = await runCli(['--data', data, 'api', '--listen', 'localhost:80'], { env: { V6SCOPE_API_TOKEN: '' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not an IP address/);
  });

  it('reads the api section of --config and the token from V6SCOPE_API_TOKEN', async () => {
    const cfg = path.join(dir, 'v6scope.yaml');
    writeFileSync(cfg, 'api:\n  listen: ["0.0.0.0:8080"]\n  tokn: x\n');
    const r = await runCli(['--data', data, '--config', cfg, 'api']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/api\.tokn: unknown key/);
    const short = await runCli(['--data', data, 'api', '--listen', '0.0.0.0:0'], { env: { V6SCOPE_API_TOKEN: 'short' } });
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/too short/);
  });
});
