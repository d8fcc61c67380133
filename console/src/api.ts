/**
 * The console's only data source: GET api/v1/... relative to the page's <base> (so it works under
 * a reverse-proxy prefix), with the access token from sessionStorage when one was entered.
 */
import type { ApiErrorBody } from './types.js';

const TOKEN_KEY = 'v6scope.token';

export class ApiFailure extends Error {
  constructor(readonly body: ApiErrorBody) {
    super(body.message);
  }
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the token lives for this page only */
  }
}

export type Params = Record<string, string | number | boolean | null | undefined>;

export function apiUrl(path: string, params: Params = {}): URL {
  const url = new URL(`api/v1/${path}`, document.baseURI);
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, String(v));
  return url;
}

let pending = 0;
function setBusy(delta: number): void {
  pending += delta;
  document.body.dataset.busy = String(pending);
}

export async function apiGet<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  setBusy(1);
  try {
    let res: Response;
    try {
      res = await fetch(apiUrl(path, params), { headers, signal, credentials: 'omit' });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new ApiFailure({ status: 0, code: 'network', message: `cannot reach the v6scope API (${(e as Error).message})` });
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const err = (body as { error?: ApiErrorBody } | null)?.error;
      throw new ApiFailure(err ?? { status: res.status, code: 'http', message: `HTTP ${res.status}` });
    }
    return body as T;
  } finally {
    setBusy(-1);
  }
}

/** The end of stored data (the API's default `until`), reused for 30 s. */
let endCache: { at: number; value: Promise<{ since: number; until: number } | null> } | null = null;
export function dataRange(signal?: AbortSignal): Promise<{ since: number; until: number } | null> {
  const now = Date.now();
  if (endCache && now - endCache.at < 30_000) return endCache.value;
  const value = apiGet<{ since?: string; until?: string }>('share', {}, signal).then((r) => (r.since && r.until ? { since: Date.parse(r.since), until: Date.parse(r.until) } : null));
  endCache = { at: now, value };
  value.catch(() => {
    endCache = null;
  });
  return value;
}
