/**
 * The HTTP API (JSON, read-only) over the store's query model and the analyses, and Prometheus
 * /metrics. node:http only. Every endpoint is documented in docs/api.md.
 *
 * - Errors: 400 with {error: {code, message, param, position?, column?, reason?}} for bad
 *   parameters (filters carry the position), 401 without the token, 404 unknown path, 405 other
 *   methods (the API is read-only), 500 with an id only — details go to the log, never to clients.
 * - Identical requests in flight share one computation; the find-and-fix context and the device
 *   list are cached for `cacheMs` (they are whole-range computations).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostPenetration, listDevices, loadDeviceNames, type Device } from '../analysis/devices.js';
import { loadNameTable, type NameStatus } from '../analysis/evidence.js';
import { buildFindContext, currentShare, fixes, floor, laggards, type FindContext, type LaggardDimension } from '../analysis/find.js';
import { keyFormatter } from '../analysis/keys.js';
import { computeShare } from '../analysis/share.js';
import { parseDuration, parseTime, UsageError } from '../cli/common.js';
import { GROUP_ALIASES, parseGroupBy } from '../cli/query-options.js';
import { shareToJson } from '../cli/share-output.js';
import type { ListenAddress } from '../config/index.js';
import { openAsnLookup, type AsnLookup } from '../enrich/asn.js';
import { formatIP } from '../net/ip.js';
import { formatMac, parseMac } from '../net/mac.js';
import { FILTER_ALIASES, FilterError, formatFilter, MAX_FILTER_LENGTH, parseFilter, SYMBOLIC_VALUES } from '../query/filter.js';
import { DIMENSIONS, DIRECTION_NAMES, FIELDS, METRICS, type MetricName } from '../schema/fields.js';
import { QueryError } from '../store/compile.js';
import type { FilterExpr, GroupBy, Row } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { fileMetricsSource, Histogram, renderMetrics, shareByExporter, type ApiStats, type MetricsSource } from './metrics.js';
import { defaultConsoleDir, isConsolePath, StaticFiles } from './static.js';

export const API_PREFIX = '/api/v1';
const HOUR = 3_600_000;

export interface ApiOptions {
  store: FlowStore;
  dataDir: string;
  /** Collector health and writer counters (default: DATA/exporters.json). */
  metrics?: MetricsSource;
  /** ASN lookup for destinations: 'default' = the bundled ranges (if installed), null = none. */
  asn?: AsnLookup | null | 'default';
  /** Bearer token required on every request (null/undefined: none). */
  token?: string | null;
  /** Error details (with the id given to the client) and notices. Default: stderr. */
  log?: (line: string) => void;
  /** How long find-and-fix contexts, device lists and names are reused, ms (default 10 s). */
  cacheMs?: number;
  /** Window of the per-exporter IPv6 share gauges, ms (default 1 h). */
  shareWindowMs?: number;
  /** The built web console served on paths outside /api/ and /metrics (default dist/console; null: none). docs/console.md */
  consoleDir?: string | null;
  now?: () => number;
}

/** A client mistake: status 4xx with a machine-readable code and the parameter it concerns. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Params = Map<string, string>;

interface Endpoint {
  /** Query parameters it takes. */
  params: readonly string[];
  /**
   * The body is reused for cacheMs: endpoints computed from the cached find-and-fix context,
   * device list or name table (so no staler than those), whose own computation is costly.
   */
  cache?: boolean;
  run(p: Params, match: string[]): Promise<unknown>;
}

const RANGE = ['since', 'until'] as const;

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time check of `Authorization: Bearer <token>`. */
export function checkBearer(header: string | undefined, token: string): boolean {
  const want = digest(token);
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const got = digest(m ? m[1]! : `\u0000${randomBytes(8).toString('hex')}`);
  return timingSafeEqual(want, got) && m !== null;
}

export class Api {
  readonly stats: ApiStats = { requests: new Map(), latency: new Histogram() };
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly cache = new Map<string, { expires: number; value: Promise<unknown> }>();
  private readonly metrics: MetricsSource;
  private asnPromise: Promise<AsnLookup | undefined> | null = null;
  private readonly endpoints: [RegExp, string, Endpoint][];
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly cacheMs: number;
  private readonly console: StaticFiles | null;

  constructor(private readonly o: ApiOptions) {
    this.console = o.consoleDir === null ? null : new StaticFiles(o.consoleDir ?? defaultConsoleDir());
    this.metrics = o.metrics ?? fileMetricsSource(o.dataDir);
    this.log = o.log ?? ((l) => process.stderr.write(`v6scope api: ${l}\n`));
    this.now = o.now ?? Date.now;
    this.cacheMs = o.cacheMs ?? 10_000;
    this.endpoints = [
      [/^\/api\/v1\/share$/, 'share', { params: [...RANGE, 'filter', 'by', 'bucket', 'series', 'sort', 'limit'], run: (p) => this.share(p) }],
      [/^\/api\/v1\/laggards$/, 'laggards', { params: [...RANGE, 'by', 'sort', 'filter', 'limit'], cache: true, run: (p) => this.laggards(p) }],
      [/^\/api\/v1\/floor$/, 'floor', { params: [...RANGE, 'filter', 'top'], cache: true, run: (p) => this.floor(p) }],
      [/^\/api\/v1\/fixes$/, 'fixes', { params: [...RANGE, 'filter', 'limit'], cache: true, run: (p) => this.fixes(p) }],
      [/^\/api\/v1\/devices$/, 'devices', { params: [...RANGE], cache: true, run: (p) => this.devices(p) }],
      [/^\/api\/v1\/devices\/([^/]+)$/, 'device', { params: [...RANGE], cache: true, run: (p, m) => this.device(p, m[1]!) }],
      [/^\/api\/v1\/exporters$/, 'exporters', { params: [], run: async () => this.exporters() }],
      [/^\/api\/v1\/flows$/, 'flows', { params: [...RANGE, 'filter', 'limit', 'cursor'], run: (p) => this.flows(p) }],
      [/^\/api\/v1\/fields$/, 'fields', { params: [], run: async () => this.fields() }],
      [/^\/api\/v1\/dns\/names$/, 'dns_names', { params: [...RANGE, 'status', 'q', 'limit'], cache: true, run: (p) => this.names(p) }],
      [/^\/api\/v1\/?$/, 'index', { params: [], run: async () => this.index() }],
    ];
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  /** The request handler (for http.createServer or tests). */
  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const t0 = performance.now();
    let endpoint = 'unknown';
    const done = (status: number, body: string, type: string, headers: Record<string, string> = {}): void => {
      const buf = Buffer.from(body, 'utf8');
      res.writeHead(status, {
        'Content-Type': type,
        'Content-Length': String(buf.length),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : buf);
      const k = `${endpoint} ${status}`;
      this.stats.requests.set(k, (this.stats.requests.get(k) ?? 0) + 1);
      this.stats.latency.observe((performance.now() - t0) / 1000);
    };
    const json = (status: number, v: unknown, headers?: Record<string, string>): void => done(status, `${JSON.stringify(v)}\n`, 'application/json; charset=utf-8', headers);
    const fail = (e: unknown): void => {
      if (e instanceof ApiError) {
        json(e.status, { error: { status: e.status, code: e.code, message: e.message, ...e.extra } }, e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="v6scope"' } : e.status === 405 ? { Allow: 'GET, HEAD' } : {});
        return;
      }
      const id = randomBytes(6).toString('hex');
      const err = e as Error;
      this.log(`internal error ${id} on ${req.method} ${req.url}: ${err?.stack ?? String(e)}`);
      json(500, { error: { status: 500, code: 'internal', message: `internal error (id ${id}; the details are in the server log)`, id } });
    };
    try {
      // The console's files are public (they hold no data); its /api calls carry the token.
      if (this.console && isConsolePath((req.url ?? '/').split('?', 1)[0]!)) {
        res.once('finish', () => this.stats.requests.set(`console ${res.statusCode}`, (this.stats.requests.get(`console ${res.statusCode}`) ?? 0) + 1));
        this.console.handle(req, res);
        return;
      }
      if (this.o.token && !checkBearer(req.headers.authorization, this.o.token)) {
        throw new ApiError(401, 'unauthorized', 'missing or wrong access token: send "Authorization: Bearer <token>"');
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed: the API is read-only (GET, HEAD)`);
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/metrics') {
        endpoint = 'metrics';
        this.renderMetrics().then((text) => done(200, text, 'text/plain; version=0.0.4; charset=utf-8'), fail);
        return;
      }
      for (const [re, name, ep] of this.endpoints) {
        const m = re.exec(url.pathname);
        if (!m) continue;
        endpoint = name;
        const params = this.params(url, ep.params);
        let seg: string[];
        try {
          seg = m.map((s) => decodeURIComponent(s));
        } catch {
          throw new ApiError(400, 'bad_path', 'invalid percent-encoding in the path');
        }
        const key = `${name}\u0000${seg.join('\u0000')}\u0000${[...params].sort().join('\u0000')}`;
        // identical requests in flight share the computation and the serialized body
        const body = async (): Promise<string> => `${JSON.stringify(await ep.run(params, seg))}\n`;
        (ep.cache ? this.cached(`body ${key}`, body) : this.coalesce(key, body)).then((body) => done(200, body, 'application/json; charset=utf-8'), fail);
        return;
      }
      throw new ApiError(404, 'not_found', `no such endpoint: ${url.pathname} (see ${API_PREFIX}/)`);
    } catch (e) {
      fail(e);
    }
  };

  private params(url: URL, allowed: readonly string[]): Params {
    const p: Params = new Map();
    for (const [k, v] of url.searchParams) {
      if (!allowed.includes(k)) {
        throw new ApiError(400, 'unknown_parameter', `unknown parameter "${k}"${allowed.length ? ` (this endpoint takes: ${allowed.join(', ')})` : ' (this endpoint takes none)'}`, { param: k });
      }
      if (p.has(k)) throw new ApiError(400, 'duplicate_parameter', `parameter "${k}" given more than once`, { param: k });
      p.set(k, v);
    }
    return p;
  }

  /** One computation for identical requests in flight. */
  private coalesce<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const cur = this.inflight.get(key);
    if (cur) return cur as Promise<T>;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Reuse a value for cacheMs (failures are not kept). */
  private cached<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const now = this.now();
    const c = this.cache.get(key);
    if (c && c.expires > now) return c.value as Promise<T>;
    if (this.cache.size > 256) for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
    const value = fn();
    this.cache.set(key, { expires: now + this.cacheMs, value });
    value.catch(() => this.cache.delete(key));
    return value;
  }

  // -------------------------------------------------------------------------------------------
  // Parameters

  private int(p: Params, name: string, def: number, max: number): number {
    const t = p.get(name);
    if (t === undefined) return def;
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > max) throw new ApiError(400, 'bad_parameter', `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(t)}`, { param: name });
    return Number(t);
  }

  private bool(p: Params, name: string): boolean {
    const t = p.get(name);
    if (t === undefined) return false;
    if (['1', 'true', 'yes', ''].includes(t)) return true;
    if (['0', 'false', 'no'].includes(t)) return false;
    throw new ApiError(400, 'bad_parameter', `${name} must be true or false, got ${JSON.stringify(t)}`, { param: name });
  }

  private time(p: Params, name: 'since' | 'until', now: number): number | undefined {
    const t = p.get(name);
    if (t === undefined) return undefined;
    try {
      return parseTime(t, now, name);
    } catch (e) {
      if (e instanceof UsageError) throw new ApiError(400, 'bad_time', e.message, { param: name });
      throw e;
    }
  }

  /**
   * The time range: since/until when given, else all stored data widened to whole hours (as the
   * CLI does). null when the store is empty and neither is given.
   */
  private async range(p: Params): Promise<{ since: number; until: number } | null> {
    const now = this.now();
    let s = this.time(p, 'since', now);
    let u = this.time(p, 'until', now);
    if (s !== undefined && u !== undefined && u <= s) {
      throw new ApiError(400, 'bad_time_range', `empty time range: until (${new Date(u).toISOString()}) must be after since (${new Date(s).toISOString()})`, { param: 'until' });
    }
    if (s === undefined || u === undefined) {
      const r = await this.cached('timeRange', () => this.o.store.timeRange());
      if (!r) {
        if (s === undefined && u === undefined) return null;
        s ??= 0;
        u ??= now;
      } else {
        s ??= Math.floor(r.min / HOUR) * HOUR;
        u ??= Math.floor(r.max / HOUR) * HOUR + HOUR;
      }
      if (u <= s) throw new ApiError(400, 'bad_time_range', `empty time range: until (${new Date(u).toISOString()}) must be after since (${new Date(s).toISOString()})`, { param: p.has('until') ? 'until' : 'since' });
    }
    return { since: s, until: u };
  }

  private async filter(p: Params): Promise<FilterExpr | undefined> {
    const text = p.get('filter');
    if (text === undefined || text.trim() === '') return undefined;
    const names = await this.deviceNamesByName();
    try {
      return parseFilter(text, { deviceNames: names });
    } catch (e) {
      if (e instanceof FilterError) {
        throw new ApiError(400, 'bad_filter', `filter: ${e.message}`, { param: 'filter', reason: e.reason, position: e.position, column: e.column, length: e.length, ...(e.hint ? { hint: e.hint } : {}) });
      }
      throw e;
    }
  }

  private deviceNames(): Promise<Map<string, string>> {
    return this.cached('deviceNames', () => loadDeviceNames(this.o.store));
  }

  private async deviceNamesByName(): Promise<Map<string, string>> {
    const byId = await this.deviceNames();
    return new Map([...byId].map(([id, name]) => [name, id]));
  }

  private asn(): Promise<AsnLookup | undefined> {
    const a = this.o.asn === undefined ? 'default' : this.o.asn;
    if (a === null) return Promise.resolve(undefined);
    if (a !== 'default') return Promise.resolve(a);
    this.asnPromise ??= openAsnLookup().catch((e: unknown) => {
      this.log(`no ASN data (${(e as Error).message}); destinations without DNS names are shown as addresses`);
      return undefined;
    });
    return this.asnPromise;
  }

  /** The find-and-fix context of a range (and filter: its canonical text is part of the cache key). */
  private findContext(r: { since: number; until: number }, filter?: FilterExpr): Promise<FindContext> {
    const key = `find ${r.since} ${r.until}${filter ? ` ${formatFilter(filter)}` : ''}`;
    return this.cached(key, async () => buildFindContext(this.o.store, r.since, r.until, { asn: await this.asn(), filter }));
  }

  private sortMetric(p: Params): MetricName {
    const v = p.get('sort') ?? 'bytes';
    if (!(METRICS as readonly string[]).includes(v)) throw new ApiError(400, 'bad_parameter', `sort must be one of ${METRICS.join(', ')}, got "${v}"`, { param: 'sort' });
    return v as MetricName;
  }

  private noData(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...extra, notes: ['no data stored yet'] };
  }

  /** Store errors that are the client's (a query the model rejects) become 400. */
  private async query<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof QueryError) throw new ApiError(400, 'bad_query', e.message);
      throw e;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Endpoints

  private index(): unknown {
    return {
      name: 'v6scope',
      endpoints: ['share', 'laggards', 'floor', 'fixes', 'devices', 'devices/{id}', 'exporters', 'flows', 'fields', 'dns/names'].map((e) => `${API_PREFIX}/${e}`).concat(['/metrics']),
      docs: 'docs/api.md',
    };
  }

  private async share(p: Params): Promise<unknown> {
    const sort = (p.get('sort') ?? 'bytes') as MetricName;
    if (!METRICS.includes(sort)) throw new ApiError(400, 'bad_parameter', `sort must be one of ${METRICS.join(', ')}, got ${JSON.stringify(p.get('sort'))}`, { param: 'sort' });
    const limit = this.int(p, 'limit', 50, 10_000);
    let groupBy: GroupBy[] | undefined;
    const by = p.get('by');
    if (by !== undefined) {
      try {
        groupBy = parseGroupBy(by);
      } catch (e) {
        if (e instanceof UsageError) throw new ApiError(400, 'unknown_dimension', e.message.replace('--by', 'by'), { param: 'by' });
        throw e;
      }
      if (groupBy.some((g) => g.field === 'family' && !g.prefix)) {
        throw new ApiError(400, 'unknown_dimension', 'by=family: every share is already split by family (IPv4 vs IPv6); group by another dimension', { param: 'by' });
      }
    }
    let bucket: number | undefined;
    const bt = p.get('bucket');
    if (bt !== undefined) {
      try {
        bucket = parseDuration(bt, 'bucket');
      } catch (e) {
        if (e instanceof UsageError) throw new ApiError(400, 'bad_parameter', e.message, { param: 'bucket' });
        throw e;
      }
      if (bucket < 60_000 || bucket % 1000 !== 0) throw new ApiError(400, 'bad_parameter', `bucket must be a whole number of seconds, at least 1m, got ${JSON.stringify(bt)}`, { param: 'bucket' });
    }
    const series = this.bool(p, 'series') || bucket !== undefined;
    const filter = await this.filter(p);
    const range = await this.range(p);
    if (!range) return this.noData({ bytes: null, packets: null, flows: null });
    if (series) {
      bucket ??= [60_000, 300_000, 900_000, HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR].find((b) => (range.until - range.since) / b <= 200) ?? 7 * 24 * HOUR;
      const points = (range.until - range.since) / bucket;
      if (points > 10_000) throw new ApiError(400, 'bad_parameter', `bucket ${bt} gives ${Math.ceil(points)} points over the range (at most 10000): choose a larger bucket`, { param: 'bucket' });
    }
    const report = await this.query(() =>
      computeShare(this.o.store, { ...range, filter, bucket: series ? bucket : undefined, groupBy, orderBy: sort, limit, formatKey: groupBy ? keyFormatter(groupBy) : undefined }),
    );
    return { ...shareToJson(report), range: { since: range.since, until: range.until }, ...(series ? { bucket } : {}), ...(groupBy ? { by: groupBy.map((g) => g.as ?? g.field) } : {}), tables: report.tables };
  }

  private laggardBy(p: Params): LaggardDimension {
    const by = p.get('by') ?? 'device';
    if (by !== 'device' && by !== 'app' && by !== 'destination') throw new ApiError(400, 'unknown_dimension', `by must be device, app or destination, got ${JSON.stringify(by)}`, { param: 'by' });
    return by;
  }

  private async laggards(p: Params): Promise<unknown> {
    const by = this.laggardBy(p);
    const sort = this.sortMetric(p);
    const limit = this.int(p, 'limit', 20, 10_000);
    const filter = await this.filter(p);
    const range = await this.range(p);
    if (!range) return this.noData();
    const ctx = await this.findContext(range, filter);
    const names = await this.deviceNames();
    const list = laggards(ctx, by, { sort }).slice(0, limit);
    return { by, sort, ...isoRange(range), ...filterEcho(p), now: currentShare(ctx), ipv4: { ...ctx.total.ipv4 }, laggards: list.map((l) => ({ ...l, name: by === 'device' ? (names.get(l.key) ?? null) : undefined })) };
  }

  private async floor(p: Params): Promise<unknown> {
    const top = this.int(p, 'top', 5, 1000);
    const filter = await this.filter(p);
    const range = await this.range(p);
    if (!range) return this.noData();
    const ctx = await this.findContext(range, filter);
    return { ...isoRange(range), ...filterEcho(p), now: currentShare(ctx), ipv4: { ...ctx.total.ipv4 }, causes: floor(ctx, top) };
  }

  private async fixes(p: Params): Promise<unknown> {
    const limit = this.int(p, 'limit', 10, 1000);
    const filter = await this.filter(p);
    const range = await this.range(p);
    if (!range) return this.noData();
    const ctx = await this.findContext(range, filter);
    const names = await this.deviceNames();
    return { ...isoRange(range), ...filterEcho(p), now: currentShare(ctx), fixes: fixes(ctx, { names }).slice(0, limit) };
  }

  private listDevices(r: { since: number; until: number }): Promise<Device[]> {
    return this.cached(`devices ${r.since} ${r.until}`, () => listDevices(this.o.store, r.since, r.until));
  }

  private async devices(p: Params): Promise<unknown> {
    const range = await this.range(p);
    if (!range) return this.noData({ devices: [] });
    const devices = await this.listDevices(range);
    return { ...isoRange(range), hostPenetration: hostPenetration(devices), devices };
  }

  private async device(p: Params, id: string): Promise<unknown> {
    const range = await this.range(p);
    const devices = range ? await this.listDevices(range) : [];
    let mac: string | null = null;
    try {
      mac = formatMac(parseMac(id));
    } catch {
      /* not a MAC */
    }
    const d = devices.find((x) => x.id === id || (mac !== null && x.mac === mac)) ?? devices.find((x) => x.hostname === id);
    if (!d) throw new ApiError(404, 'not_found', `no device ${JSON.stringify(id)} in the range (ids and names: GET ${API_PREFIX}/devices)`, { param: 'id' });
    return { ...(range ? isoRange(range) : {}), device: d };
  }

  private exporters(): unknown {
    const h = this.metrics.health();
    if (!h) return { available: false, origin: this.metrics.origin === 'live' ? 'live' : 'file', notes: ['no exporter health yet: run "v6scope serve" with collectors configured'] };
    return { available: true, origin: this.metrics.origin === 'live' ? 'live' : 'file', ...h, writer: h.writer ?? this.metrics.writer() ?? undefined };
  }

  /**
   * Raw flows, oldest first, paged by a cursor. The store interface has no raw-row scan, so this
   * groups by every dimension with a 1 ms bucket (the raw table answers; rows identical in every
   * field within the same millisecond come back summed, `flows` says how many) and pages by
   * (time, rows already returned at that time).
   */
  private async flows(p: Params): Promise<unknown> {
    const limit = this.int(p, 'limit', 100, 10_000);
    const filter = await this.filter(p);
    const range = await this.range(p);
    if (!range) return this.noData({ flows: [], next: null });
    let since = range.since;
    let skip = 0;
    const cursor = p.get('cursor');
    if (cursor !== undefined) {
      const m = /^(\d{1,16})_(\d{1,9})$/.exec(cursor);
      if (!m || Number(m[1]) < range.since || Number(m[1]) >= range.until) throw new ApiError(400, 'bad_parameter', 'cursor is not one this endpoint returned for this range', { param: 'cursor' });
      since = Number(m[1]);
      skip = Number(m[2]);
    }
    const groupBy: GroupBy[] = DIMENSIONS.map((d) => ({ field: d.name }));
    const res = await this.query(() => this.o.store.query({ since, until: range.until, filter, groupBy, bucket: 1, limit: limit + skip + 1 }));
    const rows = res.rows.slice(skip);
    const page = rows.slice(0, limit);
    let next: string | null = null;
    if (rows.length > limit && page.length > 0) {
      const t = Number(page[page.length - 1]!.time);
      const atT = page.filter((r) => Number(r.time) === t).length;
      next = `${t}_${(t === since ? skip : 0) + atT}`;
    }
    return { ...isoRange(range), limit, flows: page.map(flowJson), next, table: res.table };
  }

  private fields(): unknown {
    return {
      timeField: 'time_received',
      fields: FIELDS.map((f) => ({
        name: f.name,
        kind: f.kind,
        role: f.role,
        description: f.description,
        rollup: f.rollup,
        ...(f.values ? { values: f.values } : {}),
        ...(SYMBOLIC_VALUES[f.name] ? { symbolic: SYMBOLIC_VALUES[f.name] } : {}),
        ...(f.name === 'direction' ? { valueNames: DIRECTION_NAMES } : {}),
      })),
      dimensions: DIMENSIONS.map((d) => d.name),
      metrics: METRICS,
      groupAliases: GROUP_ALIASES,
      filterAliases: FILTER_ALIASES,
      filter: {
        operators: ['=', '!=', '<', '<=', '>', '>=', 'IN', 'NOT IN', '<<', 'NOT <<'],
        logical: ['AND', 'OR', 'NOT', '(', ')'],
        maxLength: MAX_FILTER_LENGTH,
        examples: ['family = 4 AND dst_port IN (6881, 6889) AND device = "tv"', 'dst_addr << 2001:db8::/32', 'NOT (proto = tcp OR proto = udp)', 'peer << 192.0.2.0/24'],
      },
      laggardDimensions: ['device', 'app', 'destination'],
    };
  }

  private async names(p: Params): Promise<unknown> {
    const now = this.now();
    const since = this.time(p, 'since', now);
    const until = this.time(p, 'until', now);
    if (since !== undefined && until !== undefined && until <= since) throw new ApiError(400, 'bad_time_range', 'empty time range: until must be after since', { param: 'until' });
    const statuses: NameStatus[] = ['has-aaaa', 'aaaa-empty', 'only-a', 'nxdomain', 'unknown'];
    const status = p.get('status');
    if (status !== undefined && !statuses.includes(status as NameStatus)) throw new ApiError(400, 'bad_parameter', `status must be one of ${statuses.join(', ')}, got ${JSON.stringify(status)}`, { param: 'status' });
    const q = p.get('q')?.toLowerCase();
    const limit = this.int(p, 'limit', 1000, 100_000);
    const table = await this.cached(`names ${since} ${until}`, () => loadNameTable(this.o.store, { since, until }));
    const matching = table.filter((e) => (status === undefined || e.status === status) && (q === undefined || e.name.toLowerCase().includes(q)));
    const counts: Record<string, number> = {};
    for (const e of table) counts[e.status] = (counts[e.status] ?? 0) + 1;
    return {
      ...(since !== undefined ? { since: new Date(since).toISOString() } : {}),
      ...(until !== undefined ? { until: new Date(until).toISOString() } : {}),
      total: table.length,
      matching: matching.length,
      byStatus: counts,
      names: matching.slice(0, limit),
    };
  }

  private async renderMetrics(): Promise<string> {
    const windowMs = this.o.shareWindowMs ?? HOUR;
    const share = await this.cached('metrics share', () => shareByExporter(this.o.store, windowMs, this.now()));
    return renderMetrics({ source: this.metrics, share, api: this.stats, windowMs });
  }
}

function isoRange(r: { since: number; until: number }): { since: string; until: string } {
  return { since: new Date(r.since).toISOString(), until: new Date(r.until).toISOString() };
}

const FLOW_ADDRS = new Set(['src_addr', 'dst_addr', 'peer_addr']);

/** A raw flow row as JSON: addresses RFC 5952 (flow addresses by the flow's family), MACs, times ms. */
export function flowJson(r: Row): Record<string, string | number> {
  const out: Record<string, string | number> = { time_received: Number(r.time) };
  const fam = Number(r.family) === 4 ? 4 : 6;
  for (const d of DIMENSIONS) {
    const v = r[d.name]!;
    if (v instanceof Uint8Array) out[d.name] = FLOW_ADDRS.has(d.name) ? formatIP(v, fam) : formatIP(v);
    else if (d.kind === 'mac') out[d.name] = Number(v) === 0 ? '' : formatMac(Number(v));
    else out[d.name] = v;
  }
  for (const m of METRICS) out[m] = Number(r[m]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Server

export interface ApiServer {
  api: Api;
  /** Bound addresses (the real port when 0 was asked for). */
  addresses: { host: string; port: number; family: 4 | 6 }[];
  close(): Promise<void>;
}

/** Listen on every address; fails (closing what was opened) when one cannot be bound. */
export async function startApiServer(opts: ApiOptions & { listen: readonly ListenAddress[] }): Promise<ApiServer> {
  const api = new Api(opts);
  const servers: http.Server[] = [];
  const addresses: ApiServer['addresses'] = [];
  const close = async (): Promise<void> => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
            s.closeAllConnections();
          }),
      ),
    );
  };
  try {
    for (const l of opts.listen) {
      const s = http.createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, api.handle);
      s.keepAliveTimeout = 5_000;
      s.maxHeadersCount = 64;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ host: l.host, port: l.port, ipv6Only: l.family === 6 && l.host === '::' ? false : undefined }, () => {
          s.off('error', reject);
          resolve();
        });
      });
      servers.push(s);
      const a = s.address() as AddressInfo;
      addresses.push({ host: a.address, port: a.port, family: l.family });
    }
  } catch (e) {
    await close();
    throw new Error(`cannot listen on ${opts.listen.map((l) => l.text).join(', ')}: ${(e as Error).message}`);
  }
  return { api, addresses, close };
}

/** The filter as the client sent it, echoed in find-and-fix answers (absent when none). */
function filterEcho(p: Params): { filter?: string } {
  const f = p.get('filter');
  return f !== undefined && f.trim() !== '' ? { filter: f } : {};
}
