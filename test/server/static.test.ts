/**
 * The console's static files (src/server/static.ts), through the API's request handler: traversal
 * attempts, content types, caching, the index.html fallback for client routes, and the token rule
 * (console files public, /api and /metrics not).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from '../../src/server/api.js';
import { CLIENT_ROUTE, isConsolePath, StaticFiles } from '../../src/server/static.js';
import type { FlowStore } from '../../src/store/store.js';

const TOKEN = 'correct-horse-battery-staple';
const SECRET = 'top-secret-outside-the-console';
const BIG = `${'export const x = "v6scope";\n'.repeat(400)}`;
const INDEX = '<!doctype html>\n<html lang="en">\n  <head>\n    <meta charset="utf-8">\n    <title>v6scope</title>\n    <script type="module" src="./assets/index-AbC123xy.js"></script>\n  </head>\n  <body></body>\n</html>\n';

let dir = '';
let root = '';
let server: http.Server;
let port = 0;
const logged: string[] = [];

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw request: the path is sent exactly as given (fetch would normalise "..", "%2e"). */
function raw(p: string, o: { method?: string; headers?: Record<string, string> } = {}, at = port): Promise<Res & { bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: at, path: p, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function listen(handler: http.RequestListener): Promise<{ s: http.Server; port: number }> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve({ s, port: (s.address() as AddressInfo).port }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'v6scope-static-'));
  root = path.join(dir, 'console');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), INDEX);
  writeFileSync(path.join(root, 'assets/index-AbC123xy.js'), 'console.log("app");\n');
  writeFileSync(path.join(root, 'assets/index-Zz9_-8Qw.css'), 'body{}\n');
  writeFileSync(path.join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(path.join(root, 'data.bin'), 'x');
  writeFileSync(path.join(root, 'assets/vendor-Qw3rTy12.js'), BIG);
  writeFileSync(path.join(root, '.env'), SECRET);
  writeFileSync(path.join(dir, 'secret.txt'), SECRET);
  symlinkSync(dir, path.join(root, 'link'));
  symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'secret-link.txt'));
  // the store is never touched by console requests; the API part only checks the token
  const api = new Api({ store: {} as FlowStore, dataDir: dir, consoleDir: root, token: TOKEN, asn: null, log: (l) => logged.push(l) });
  ({ s: server, port } = await listen(api.handle));
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe('console files', () => {
  it('content types, immutable caching for hashed assets, revalidation for the rest', async () => {
    const js = await raw('/assets/index-AbC123xy.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    expect(js.body).toBe('console.log("app");\n');
    const css = await raw('/assets/index-Zz9_-8Qw.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['cache-control']).toContain('immutable');
    const svg = await raw('/logo.svg');
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
    expect((await raw('/data.bin')).headers['content-type']).toBe('application/octet-stream');
    const index = await raw('/');
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("default-src 'self'");
    expect(index.headers['x-frame-options']).toBe('DENY');
  });

  it('ETag: a matching If-None-Match gets 304 without a body; HEAD has headers only', async () => {
    const a = await raw('/assets/index-AbC123xy.js');
    const etag = a.headers.etag!;
    expect(etag).toMatch(/^"[^"]+"$/);
    const b = await raw('/assets/index-AbC123xy.js', { headers: { 'If-None-Match': etag } });
    expect(b.status).toBe(304);
    expect(b.body).toBe('');
    const head = await raw('/assets/index-AbC123xy.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String('console.log("app");\n'.length));
    expect(head.body).toBe('');
  });

  it('gzip when accepted (own ETag, Vary), identity otherwise and for tiny files', async () => {
    const plain = await raw('/assets/vendor-Qw3rTy12.js');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.body).toBe(BIG);
    const z = await raw('/assets/vendor-Qw3rTy12.js', { headers: { 'Accept-Encoding': 'br, gzip;q=0.8' } });
    expect(z.headers['content-encoding']).toBe('gzip');
    expect(Number(z.headers['content-length'])).toBe(z.bytes.length);
    expect(z.bytes.length).toBeLessThan(BIG.length / 10);
    expect(gunzipSync(z.bytes).toString('utf8')).toBe(BIG);
    expect(z.headers.etag).not.toBe(plain.headers.etag);
    expect((await raw('/assets/vendor-Qw3rTy12.js', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': z.headers.etag! } })).status).toBe(304);
    expect((await raw('/assets/vendor-Qw3rTy12.js', { headers: { 'Accept-Encoding': 'gzip;q=0' } })).headers['content-encoding']).toBeUndefined();
    expect((await raw('/assets/index-AbC123xy.js', { headers: { 'Accept-Encoding': 'gzip' } })).headers['content-encoding']).toBeUndefined();
  });

  it('client routes get index.html with a relative <base> (reverse-proxy prefixes keep working)', async () => {
    for (const [p, base] of [
      ['/', './'],
      ['/index.html', './'],
      ['/explorer?filter=family%20%3D%204&by=device', './'],
      ['/explorer/', '../'],
      ['/devices', './'],
      ['/devices/00:00:5e:00:53:12', '../'],
      ['/devices/tv', '../'],
      ['/floor', './'],
      ['/exporters', './'],
    ] as const) {
      const r = await raw(p);
      expect({ p, status: r.status }).toEqual({ p, status: 200 });
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toContain(`<base href="${base}">`);
      expect(r.body.indexOf('<base')).toBeLessThan(r.body.indexOf('<script'));
      expect(r.body.indexOf('<meta charset')).toBeLessThan(r.body.indexOf('<base'));
    }
    // the same index at two depths has two ETags (the <base> differs)
    expect((await raw('/devices/tv')).headers.etag).not.toBe((await raw('/devices')).headers.etag);
  });

  it('other paths are 404 (no catch-all), plain text, no file names or stack', async () => {
    for (const p of ['/nope', '/devices/a/b', '/assets/missing-AbC123xy.js', '/missing.js', '/assets', '/assets/', '/explorerx']) {
      const r = await raw(p);
      expect({ p, status: r.status }).toEqual({ p, status: 404 });
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(r.body).not.toContain(dir);
    }
  });

  it('no directory traversal, hidden files or symlinks out of the console directory', async () => {
    for (const p of [
      '/../secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets\\..\\..\\secret.txt',
      '/%00/../secret.txt',
      '/index.html%00.js',
      '/link/secret.txt',
      '/secret-link.txt',
      '/.env',
      '/%2eenv',
      '//etc/passwd',
      '/%c0%ae%c0%ae/secret.txt',
      '/%ZZ',
      `/${encodeURIComponent(path.join(dir, 'secret.txt'))}`,
    ]) {
      const r = await raw(p);
      expect({ p, status: r.status }).toEqual({ p, status: 404 });
      expect(r.body).not.toContain(SECRET);
    }
    expect(StaticFiles.safeRelative('/assets/../x')).toBeNull();
    expect(StaticFiles.safeRelative('/a%2fb')).toBeNull();
    expect(StaticFiles.safeRelative('/C:%5cwindows')).toBeNull();
    expect(StaticFiles.safeRelative('/assets/index-AbC123xy.js')).toBe('assets/index-AbC123xy.js');
    expect(StaticFiles.safeRelative('/')).toBe('');
  });

  it('read-only: other methods are 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await raw('/', { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  it('with a token: the console is public (it holds no data), /api and /metrics are not', async () => {
    expect((await raw('/')).status).toBe(200);
    expect((await raw('/assets/index-AbC123xy.js')).status).toBe(200);
    for (const p of ['/api/v1/share', '/api/v1/fields', '/api', '/api/', '/metrics', '/metrics/x']) {
      const r = await raw(p);
      expect({ p, status: r.status }).toEqual({ p, status: 401 });
      expect(r.headers['www-authenticate']).toBe('Bearer realm="v6scope"');
    }
    const ok = await raw('/api/v1/fields', { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('a missing build says how to build it; consoleDir null turns the console off', async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty);
    const a = await listen(new Api({ store: {} as FlowStore, dataDir: dir, consoleDir: empty, asn: null }).handle);
    const b = await listen(new Api({ store: {} as FlowStore, dataDir: dir, consoleDir: null, asn: null }).handle);
    try {
      const r = await raw('/', {}, a.port);
      expect(r.status).toBe(404);
      expect(r.body).toContain('npm run build');
      const off = await raw('/', {}, b.port);
      expect(off.status).toBe(404);
      expect(JSON.parse(off.body).error.code).toBe('not_found');
    } finally {
      a.s.close();
      b.s.close();
    }
  });

  it('which paths are the console’s', () => {
    for (const p of ['/', '/explorer', '/assets/x.js', '/apiary', '/metricsx', '/index.html']) expect(isConsolePath(p), p).toBe(true);
    for (const p of ['/api', '/api/', '/api/v1/share', '/metrics', '/metrics/x']) expect(isConsolePath(p), p).toBe(false);
    for (const p of ['/', '/explorer', '/devices', '/devices/', '/devices/aa:bb', '/floor', '/exporters']) expect(CLIENT_ROUTE.test(p), p).toBe(true);
    for (const p of ['/devices/a/b', '/x', '/explorer/x', '/index.htm']) expect(CLIENT_ROUTE.test(p), p).toBe(false);
  });
});
