/**
 * The web console's files (the Vite build in dist/console), served by the API server on every
 * path that is not under /api/ and not /metrics. docs/console.md.
 *
 * - The console's HTML, scripts and styles hold no data, so they are public even when the API
 *   requires a token (a browser cannot send a bearer header when it navigates); every /api call
 *   the console makes carries the token, which it asks the user for and keeps in sessionStorage.
 * - Hashed build assets (/assets/name-HASH.ext) are cached for a year (`immutable`); index.html
 *   and everything else must be revalidated (ETag). Text is gzipped when the client accepts it.
 * - Client routes (/, /explorer, /devices, /devices/{id}, /floor, /exporters) get index.html with
 *   a relative `<base href>` (so the console also works behind a reverse proxy under a sub-path);
 *   other paths without a file are 404.
 * - Paths are resolved inside the console directory only: `..`, `.` and dot-segments, encoded
 *   slashes and backslashes, NUL bytes and symlinks leading outside are refused.
 */
import { existsSync, realpathSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** Client-side routes of the console: they all load index.html. */
export const CLIENT_ROUTE = /^\/(?:(?:explorer|devices|floor|exporters)\/?|devices\/[^/]+\/?)?$/;

/** Is this request path (no query) for the console rather than the API or /metrics? */
export function isConsolePath(pathname: string): boolean {
  return pathname !== '/api' && !pathname.startsWith('/api/') && pathname !== '/metrics' && !pathname.startsWith('/metrics/');
}

/** Text worth compressing (the ECharts bundle is ~650 kB, ~210 kB gzipped). */
const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'none'",
};

/** The built console next to this module: dist/console from dist/server, or from src/server. */
export function defaultConsoleDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.resolve(here, '../console');
  if (existsSync(path.join(built, 'index.html'))) return built;
  return path.resolve(here, '../../dist/console');
}

interface Loaded {
  body: Buffer;
  etag: string;
}

export class StaticFiles {
  private readonly root: string;
  private rootReal: string | null = null;
  /** Gzipped bodies by ETag (the build is small: a few files). */
  private readonly gz = new Map<string, Buffer>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /**
   * The file a request path maps to, relative to the root, or null when the path is not one this
   * server will ever serve (traversal, hidden files, encoded separators, bad encoding).
   */
  static safeRelative(pathname: string): string | null {
    if (!pathname.startsWith('/')) return null;
    let segments: string[];
    try {
      segments = pathname
        .slice(1)
        .split('/')
        .map((s) => decodeURIComponent(s));
    } catch {
      return null;
    }
    if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
    for (const s of segments) {
      if (s === '' && segments.length > 1) return null; // '//' in the path
      if (s.startsWith('.') || s.includes('/') || s.includes('\\') || s.includes('\0') || s.includes(':')) return null;
    }
    return segments.join('/');
  }

  /** Serve one request (GET/HEAD; others 405). Never throws; errors are 404/500 without details. */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.serve(req, res).catch(() => {
      if (!res.headersSent) this.text(req, res, 500, 'internal error\n');
      else res.destroy();
    });
  };

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.text(req, res, 405, `${req.method ?? ''} is not allowed (GET, HEAD)\n`, { Allow: 'GET, HEAD' });
      return;
    }
    const rawPath = (req.url ?? '/').split(/[?#]/, 1)[0]!;
    const rel = StaticFiles.safeRelative(rawPath);
    if (rel !== null && rel !== '' && rel !== 'index.html') {
      const file = await this.load(rel);
      if (file) {
        const type = CONTENT_TYPES[path.extname(rel).toLowerCase()] ?? 'application/octet-stream';
        const hashed = rel.startsWith('assets/') && /-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(rel);
        this.send(req, res, file, type, hashed ? IMMUTABLE : REVALIDATE);
        return;
      }
    }
    if (rel === 'index.html' || CLIENT_ROUTE.test(rawPath)) {
      const index = await this.load('index.html');
      if (!index) {
        this.text(req, res, 404, 'the web console is not built: run "npm run build" (it builds dist/console)\n');
        return;
      }
      // A relative <base> so that assets and API calls resolve against the console's root, also
      // when a reverse proxy mounts it under a prefix (/devices/x → "../").
      const depth = rawPath.split('/').length - 2;
      const base = depth > 0 ? '../'.repeat(depth) : './';
      const html = index.body.toString('utf8').replace(/<head>(\s*<meta charset="utf-8">)?/i, (m) => `${m}\n    <base href="${base}">`);
      this.send(req, res, { body: Buffer.from(html, 'utf8'), etag: `${index.etag.slice(0, -1)}-${depth}"` }, CONTENT_TYPES['.html']!, REVALIDATE);
      return;
    }
    this.text(req, res, 404, 'not found\n');
  }

  /** A regular file inside the root (after resolving symlinks), or null. */
  private async load(rel: string): Promise<Loaded | null> {
    const file = path.resolve(this.root, rel);
    if (file !== this.root && !file.startsWith(this.root + path.sep)) return null;
    try {
      this.rootReal ??= realpathSync(this.root);
      const real = await realpath(file);
      if (!real.startsWith(this.rootReal + path.sep)) return null;
      const st = await stat(real);
      if (!st.isFile()) return null;
      const body = await readFile(real);
      return { body, etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"` };
    } catch {
      return null;
    }
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, f: Loaded, type: string, cache: string): void {
    const compressible = COMPRESSIBLE.test(type) && f.body.length >= 1024;
    const gzip = compressible && /(^|[\s,])gzip(?!;\s*q=0(\.0*)?\s*(,|$))/i.test(String(req.headers['accept-encoding'] ?? ''));
    // each encoding is its own representation, with its own ETag
    const etag = gzip ? `${f.etag.slice(0, -1)}-gz"` : f.etag;
    const headers: Record<string, string> = { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': cache, ETag: etag, ...(compressible ? { Vary: 'Accept-Encoding' } : {}) };
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm.split(/\s*,\s*/).includes(etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    let body = f.body;
    if (gzip) {
      let z = this.gz.get(etag);
      if (!z) {
        z = gzipSync(f.body, { level: 9 });
        if (this.gz.size >= 64) this.gz.clear();
        this.gz.set(etag, z);
      }
      body = z;
      headers['Content-Encoding'] = 'gzip';
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private text(req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
    const buf = Buffer.from(body, 'utf8');
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(buf.length), 'Cache-Control': 'no-store', ...extra });
    res.end(req.method === 'HEAD' ? undefined : buf);
  }
}
