/**
 * The `api:` section of the YAML configuration (HTTP API, /metrics):
 *
 *   api:
 *     listen: ["127.0.0.1:8080"]     # HOST:PORT, repeatable; IPv6 as [::1]:8080
 *     token: "s3cret"                # or token_file: /etc/v6scope/api-token (or env V6SCOPE_API_TOKEN)
 *     share_window: 1h               # window of the IPv6 share gauges on /metrics
 *
 * Binding to anything but loopback requires a token. This module is standalone so that
 * src/config/index.ts can import it: `validateApiSection(top.api, ['api'], fail)` inside
 * validateConfig, `apiConfigToJson(c.api)` in configToJson, and add 'api' to its top-level keys.
 * Until then `v6scope api` reads the section itself with `readApiSection(file)`.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseConfigDuration, parseListen, type ListenAddress } from '../config/index.js';
import { parseIP } from '../net/ip.js';

export interface ApiConfig {
  /** Where the API listens ([] = not served by `serve`). */
  listen: ListenAddress[];
  /** Bearer token required on every request (null: none; then only loopback binds are allowed). */
  token: string | null;
  /** Window of the per-exporter IPv6 share gauges on /metrics, ms. */
  share_window: number;
}

export const API_KEYS = ['listen', 'token', 'token_file', 'share_window'] as const;
export const DEFAULT_API_LISTEN = '127.0.0.1:8080';
const HOUR = 3_600_000;

/** The default when the section is absent: the API is off (serve), token from the environment. */
export function defaultApiConfig(): ApiConfig {
  return { listen: [], token: envToken(), share_window: HOUR };
}

function envToken(): string | null {
  const t = process.env.V6SCOPE_API_TOKEN;
  return t ? t : null;
}

/** A mistake in the api section: `key` is the dotted path (api.listen[0]). */
export class ApiConfigError extends Error {
  override readonly name = 'ApiConfigError';
  constructor(
    message: string,
    readonly path: (string | number)[],
  ) {
    super(`${keyPath(path)}: ${message}`);
  }
}

function keyPath(p: (string | number)[]): string {
  return p.map((x, i) => (typeof x === 'number' ? `[${x}]` : i === 0 ? x : `.${x}`)).join('');
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`);

/** Is this listen address loopback (127.0.0.0/8, ::1)? */
export function isLoopback(host: string): boolean {
  try {
    const p = parseIP(host);
    if (p.family === 4) return p.addr[12] === 127;
    return p.addr.every((b, i) => b === (i === 15 ? 1 : 0));
  } catch {
    return host === 'localhost';
  }
}

/** Minimum token length: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

/** Check that non-loopback binds have a token; returns an error message or null. */
export function checkExposure(listen: readonly ListenAddress[], token: string | null): string | null {
  const open = listen.filter((l) => !isLoopback(l.host));
  if (open.length > 0 && !token) {
    return `listening on ${open.map((l) => l.text).join(', ')} (not loopback) requires an access token: set api.token, api.token_file or V6SCOPE_API_TOKEN (see docs/api.md)`;
  }
  if (token !== null && token.length < MIN_TOKEN_LENGTH) return `the API token is too short (${token.length} characters; at least ${MIN_TOKEN_LENGTH})`;
  return null;
}

/**
 * Validate the `api` section (plain values as YAML gives them). `fail` lets the caller raise its
 * own error type (ConfigError with the file line); by default ApiConfigError.
 */
export function validateApiSection(
  raw: unknown,
  path: (string | number)[] = ['api'],
  fail: (path: (string | number)[], message: string) => never = (p, m) => {
    throw new ApiConfigError(m, p);
  },
): ApiConfig {
  const d = defaultApiConfig();
  if (raw === undefined || raw === null) return d;
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(path, `expected a mapping (keys: ${API_KEYS.join(', ')})`);
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!(API_KEYS as readonly string[]).includes(k)) fail([...path, k], `unknown key (keys: ${API_KEYS.join(', ')})`);
  let listen: ListenAddress[] = [];
  const texts = o.listen === undefined || o.listen === null ? [DEFAULT_API_LISTEN] : typeof o.listen === 'string' ? [o.listen] : o.listen;
  if (!Array.isArray(texts)) fail([...path, 'listen'], `expected "HOST:PORT" or a list of them, got ${describe(o.listen)}`);
  listen = (texts as unknown[]).map((t, i) => {
    const p = typeof o.listen === 'string' || o.listen == null ? [...path, 'listen'] : [...path, 'listen', i];
    if (typeof t !== 'string') fail(p, `expected "HOST:PORT", got ${describe(t)}`);
    const a = parseListen(t as string);
    if (typeof a === 'string') fail(p, a);
    return a as ListenAddress;
  });
  if (listen.length === 0) fail([...path, 'listen'], 'needs at least one HOST:PORT');
  let token = d.token;
  if (o.token !== undefined && o.token !== null) {
    if (typeof o.token !== 'string' || o.token === '') fail([...path, 'token'], `expected a non-empty string, got ${describe(o.token)}`);
    token = o.token as string;
  }
  if (o.token_file !== undefined && o.token_file !== null) {
    if (o.token !== undefined && o.token !== null) fail([...path, 'token_file'], 'give token or token_file, not both');
    if (typeof o.token_file !== 'string') fail([...path, 'token_file'], `expected a file name, got ${describe(o.token_file)}`);
    try {
      token = readFileSync(o.token_file as string, 'utf8').trim();
    } catch (e) {
      fail([...path, 'token_file'], `cannot read ${JSON.stringify(o.token_file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!token) fail([...path, 'token_file'], 'the file is empty');
  }
  let share_window = d.share_window;
  if (o.share_window !== undefined && o.share_window !== null) {
    const v = typeof o.share_window === 'string' ? parseConfigDuration(o.share_window) : null;
    if (v === null || v <= 0) fail([...path, 'share_window'], `expected a duration like 5m or 1h, got ${describe(o.share_window)}`);
    share_window = v as number;
  }
  const exposure = checkExposure(listen, token);
  if (exposure) fail([...path, token ? 'token' : 'listen'], exposure);
  return { listen, token, share_window };
}

/** The section as JSON-able values for `config check` (the token is never printed). */
export function apiConfigToJson(c: ApiConfig): Record<string, unknown> {
  return { listen: c.listen.map((l) => l.text), token: c.token ? '(set)' : null, share_window: `${Math.round(c.share_window / 1000)}s` };
}

/** Read only the `api` section of a YAML configuration file (absent file or section: null). */
export function readApiSection(file: string | undefined): ApiConfig | null {
  if (!file) return null;
  const doc = parse(readFileSync(file, 'utf8')) as unknown;
  if (!doc || typeof doc !== 'object' || !('api' in doc)) return null;
  return validateApiSection((doc as { api: unknown }).api);
}
