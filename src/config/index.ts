/**
 * The YAML configuration: one file (`--config FILE` / V6SCOPE_CONFIG), validated by hand against
 * the declaration below, with a default for every key. Errors name the offending key path
 * (`collectors[1].listen[0]`) and, when known, the line in the file.
 *
 * Every key is documented in docs/configuration.md; keep the two in step.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { parsePrefix } from '../net/prefix.js';
import { tryParseIP } from '../net/ip.js';
import { DEFAULT_RETENTION, type RetentionConfig } from '../store/store.js';
import { apiConfigToJson, defaultApiConfig, validateApiSection, type ApiConfig } from '../server/config.js';

/** A mistake in the configuration: names the key (dotted path) and the file position. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly key: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(`${file ? `${file}${line ? `:${line}` : ''}: ` : ''}${key ? `${key}: ` : ''}${message}`);
  }
}

export type CollectorProtocol = 'netflow' | 'ipfix' | 'sflow' | 'auto';
export const COLLECTOR_PROTOCOLS: readonly CollectorProtocol[] = ['netflow', 'ipfix', 'sflow', 'auto'];

/** A UDP endpoint: host is an IP address (IPv6 without brackets). */
export interface ListenAddress {
  host: string;
  family: 4 | 6;
  port: number;
  /** As written: `0.0.0.0:2055`, `[::]:2055`. */
  text: string;
}

export interface CollectorConfig {
  protocol: CollectorProtocol;
  listen: ListenAddress[];
  /** SO_RCVBUF requested, bytes (the kernel caps it at net.core.rmem_max). */
  receive_buffer: number;
  /** exporter_name recorded with the flows ('' = none). */
  name: string;
}

export interface CaptureConfig {
  /** Interface to capture on (null: no capture in `serve`). */
  interface: string | null;
  /** tcpdump filter expression ('' = everything). */
  bpf: string;
  active_timeout: number;
  idle_timeout: number;
}

export interface ClickHouseConfig {
  url: string;
  database: string;
  username: string;
  password: string;
  /** Cluster name of the servers' remote_servers ('' = one server): Distributed tables over `_local` ones. */
  cluster: string;
  /** HTTP URLs of every cluster node for the DDL (empty = the hosts system.clusters lists). */
  cluster_nodes: string[];
  /** Replicated* engines (ZooKeeper): zookeeper_path ('' = /clickhouse/tables/{shard}/{database}/{table}), replica ('' = {replica}). */
  replicated: boolean;
  zookeeper_path: string;
  replica: string;
  /** Disk spool of the writing daemons (`serve`, `capture`) for ClickHouse outages. */
  spool: { enabled: boolean; dir: string; max_size: number };
  /** Extra options for the ClickHouse store, passed through as written. */
  options: Record<string, unknown>;
}

export interface StoreConfig {
  kind: 'duckdb' | 'clickhouse';
  /**
   * DuckDB file ('' = DATA/v6scope.duckdb), and the most memory DuckDB may use, bytes (0 = v6scope's
   * default: store/index.ts, defaultDuckDBMemoryLimit).
   */
  duckdb: {
    path: string;
    memory_limit: number;
    /**
     * DuckDB's memory limit in the writing daemons (`serve`, `capture`), bytes: everything runs
     * under it, and what runs out of memory under it (a large read, a roll-up) is done again under
     * `memory_limit` (0 = `memory_limit` throughout).
     */
    write_memory_limit: number;
  };
  clickhouse: ClickHouseConfig;
}

export interface RetentionSettings extends RetentionConfig {
  /** How often `serve` applies retention, ms. */
  interval: number;
}

export interface BatchConfig {
  /** Flows per store append (a batch is written when it has this many flows...). */
  max_flows: number;
  /** ...or when its oldest flow has waited this long, ms. */
  max_delay: number;
  /** Batches waiting for the store; beyond this, new batches are dropped and counted. */
  max_pending: number;
  /** Flows waiting in those batches (bounds the writer's memory); beyond it, dropped and counted. */
  max_pending_flows: number;
  /**
   * Memory those batches may take, bytes: a flow waiting columnar (from the collector threads) is
   * counted as ~200 bytes, one waiting as a record (live capture) as 1 kB. Beyond it, dropped and counted.
   */
  max_pending_memory: number;
}

export interface StateConfig {
  /** How often templates (DATA/templates.json) and exporter health (DATA/exporters.json) are saved, ms. */
  save_interval: number;
}

export interface Config {
  collectors: CollectorConfig[];
  capture: CaptureConfig;
  local_prefixes: string[];
  store: StoreConfig;
  retention: RetentionSettings;
  batch: BatchConfig;
  state: StateConfig;
  /** The HTTP API and /metrics served by `serve` (src/server/config.ts). */
  api: ApiConfig;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export const DEFAULT_RECEIVE_BUFFER = 8 * 1024 * 1024;

export function defaultCollectors(): CollectorConfig[] {
  return [];
}

/** The configuration when no file is given. */
export function defaultConfig(): Config {
  return {
    collectors: defaultCollectors(),
    capture: { interface: null, bpf: '', active_timeout: 5 * MINUTE, idle_timeout: 60 * SECOND },
    local_prefixes: [],
    store: {
      kind: 'duckdb',
      duckdb: { path: '', memory_limit: 0, write_memory_limit: 64 * 2 ** 20 },
      clickhouse: {
        url: 'http://127.0.0.1:8123',
        database: 'v6scope',
        username: 'default',
        password: '',
        cluster: '',
        cluster_nodes: [],
        replicated: false,
        zookeeper_path: '',
        replica: '',
        spool: { enabled: true, dir: '', max_size: 1 << 30 },
        options: {},
      },
    },
    retention: { ...DEFAULT_RETENTION, interval: 60 * MINUTE },
    batch: { max_flows: 122_880, max_delay: 1 * SECOND, max_pending: 8, max_pending_flows: 262_144, max_pending_memory: 128 * 2 ** 20 },
    state: { save_interval: 10 * SECOND },
    api: defaultApiConfig(),
  };
}

/** The default ports of each protocol (both families). */
export function defaultListen(protocol: CollectorProtocol): string[] {
  const port = protocol === 'ipfix' ? 4739 : protocol === 'sflow' ? 6343 : 2055;
  return [`0.0.0.0:${port}`, `[::]:${port}`];
}

// -----------------------------------------------------------------------------------------------
// Scalars

const DUR_UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: 60 * MINUTE, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

/** `500ms`, `10s`, `5m`, `1h`, `30d`, `2w`, `5y` → ms. Bare numbers are rejected (units matter). */
export function parseConfigDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)$/.exec(text.trim());
  if (!m) return null;
  const v = Number(m[1]) * DUR_UNITS[m[2]!]!;
  return Number.isFinite(v) && v > 0 ? Math.round(v) : null;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** `8MiB`, `4 MB`, `262144` → bytes. */
export function parseSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return null;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const v = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(v) ? v : null;
}

/** `HOST:PORT` with IPv6 in brackets (`[::]:2055`); `:PORT` alone means `0.0.0.0:PORT`. */
export function parseListen(text: string): ListenAddress | string {
  const t = text.trim();
  let host: string;
  let portText: string;
  const b = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (b) {
    host = b[1]!;
    portText = b[2]!;
  } else {
    const i = t.lastIndexOf(':');
    if (i < 0) return `"${text}" is not HOST:PORT (IPv6 in brackets, e.g. [::]:2055)`;
    host = t.slice(0, i);
    portText = t.slice(i + 1);
    if (host.includes(':')) return `"${text}": write IPv6 addresses in brackets, e.g. [${host}]:${portText}`;
    if (host === '') host = '0.0.0.0';
  }
  if (!/^\d+$/.test(portText) || Number(portText) < 0 || Number(portText) > 65535) return `"${text}": port must be 0-65535`;
  const ip = tryParseIP(host);
  if (!ip) return `"${text}": "${host}" is not an IP address`;
  if (b && ip.family !== 6) return `"${text}": only IPv6 addresses go in brackets`;
  return { host, family: ip.family, port: Number(portText), text: t };
}

// -----------------------------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

class Validator {
  constructor(
    private readonly file: string | undefined,
    private readonly lineOf: (path: (string | number)[]) => number | undefined,
  ) {}

  fail(path: (string | number)[], message: string): never {
    throw new ConfigError(message, keyPath(path), this.file, this.lineOf(path));
  }

  object(v: unknown, path: (string | number)[], known: readonly string[]): Obj {
    if (v === null || v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, `expected a mapping (keys: ${known.join(', ')})`);
    for (const k of Object.keys(v as Obj)) {
      if (!known.includes(k)) {
        const hint = known.find((x) => editDistance(x, k.toLowerCase().replace(/-/g, '_')) <= 2);
        this.fail([...path, k], `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${known.join(', ')}`);
      }
    }
    return v as Obj;
  }

  string(v: unknown, path: (string | number)[], dflt: string): string {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${describe(v)}`);
    return v;
  }

  oneOf<T extends string>(v: unknown, path: (string | number)[], allowed: readonly T[], dflt: T): T {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string' || !allowed.includes(v as T)) this.fail(path, `expected one of ${allowed.join(', ')}, got ${describe(v)}`);
    return v as T;
  }

  duration(v: unknown, path: (string | number)[], dflt: number): number {
    if (v === undefined || v === null) return dflt;
    const ms = typeof v === 'string' ? parseConfigDuration(v) : null;
    if (ms === null) this.fail(path, `expected a duration with a unit (500ms, 10s, 5m, 1h, 30d, 2w, 5y), got ${describe(v)}`);
    return ms;
  }

  size(v: unknown, path: (string | number)[], dflt: number, min: number, max: number): number {
    if (v === undefined || v === null) return dflt;
    const n = typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' ? parseSize(v) : null;
    if (n === null) this.fail(path, `expected a size in bytes (262144, 4MiB, 8 MB), got ${describe(v)}`);
    if (n < min || n > max) this.fail(path, `must be between ${min} and ${max} bytes, got ${n}`);
    return n;
  }

  int(v: unknown, path: (string | number)[], dflt: number, min: number, max: number): number {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(path, `must be between ${min} and ${max}, got ${v}`);
    return v;
  }

  list(v: unknown, path: (string | number)[]): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, `expected a list, got ${describe(v)}`);
    return v;
  }
}

function editDistance(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function keyPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}

const TOP_KEYS = ['collectors', 'capture', 'local_prefixes', 'store', 'retention', 'batch', 'state', 'api'] as const;

/**
 * Validate a parsed configuration (plain JS values, as YAML/JSON gives them) and fill in the
 * defaults. Throws ConfigError naming the first offending key.
 */
export function validateConfig(raw: unknown, file?: string, lineOf: (path: (string | number)[]) => number | undefined = () => undefined): Config {
  const v: Validator = new Validator(file, lineOf);
  const d = defaultConfig();
  const top = v.object(raw, [], TOP_KEYS);

  const collectors = v.list(top.collectors, ['collectors']).map((c, i): CollectorConfig => {
    const p: (string | number)[] = ['collectors', i];
    const o = v.object(c, p, ['protocol', 'listen', 'receive_buffer', 'name']);
    const protocol = v.oneOf(o.protocol, [...p, 'protocol'], COLLECTOR_PROTOCOLS, 'auto');
    const listenTexts = o.listen === undefined || o.listen === null ? defaultListen(protocol) : typeof o.listen === 'string' ? [o.listen] : v.list(o.listen, [...p, 'listen']);
    if (listenTexts.length === 0) v.fail([...p, 'listen'], 'needs at least one HOST:PORT');
    const listen = listenTexts.map((t, j) => {
      const lp = typeof o.listen === 'string' ? [...p, 'listen'] : [...p, 'listen', j];
      if (typeof t !== 'string') v.fail(lp, `expected "HOST:PORT", got ${describe(t)}`);
      const a = parseListen(t);
      if (typeof a === 'string') v.fail(lp, a);
      return a;
    });
    return {
      protocol,
      listen,
      receive_buffer: v.size(o.receive_buffer, [...p, 'receive_buffer'], DEFAULT_RECEIVE_BUFFER, 4096, 2 ** 31 - 1),
      name: v.string(o.name, [...p, 'name'], ''),
    };
  });
  // The same endpoint twice cannot be bound.
  const seen = new Map<string, string>();
  collectors.forEach((c, i) =>
    c.listen.forEach((a, j) => {
      const k = `${a.family}/${a.host}/${a.port}`;
      if (a.port !== 0 && seen.has(k)) v.fail(['collectors', i, 'listen', j], `${a.text} is already used by ${seen.get(k)}`);
      seen.set(k, keyPath(['collectors', i, 'listen', j]));
    }),
  );

  const co = v.object(top.capture, ['capture'], ['interface', 'bpf', 'active_timeout', 'idle_timeout']);
  const iface = co.interface === undefined || co.interface === null ? null : v.string(co.interface, ['capture', 'interface'], '');
  if (iface !== null && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) v.fail(['capture', 'interface'], `"${iface}" is not an interface name`);
  const capture: CaptureConfig = {
    interface: iface,
    bpf: v.string(co.bpf, ['capture', 'bpf'], d.capture.bpf),
    active_timeout: v.duration(co.active_timeout, ['capture', 'active_timeout'], d.capture.active_timeout),
    idle_timeout: v.duration(co.idle_timeout, ['capture', 'idle_timeout'], d.capture.idle_timeout),
  };

  const local_prefixes = v.list(top.local_prefixes, ['local_prefixes']).map((x, i) => {
    const p = ['local_prefixes', i];
    if (typeof x !== 'string') v.fail(p, `expected a prefix like 2001:db8:1::/48, got ${describe(x)}`);
    try {
      parsePrefix(x);
    } catch (e) {
      v.fail(p, (e as Error).message);
    }
    return x;
  });

  const so = v.object(top.store, ['store'], ['kind', 'duckdb', 'clickhouse']);
  const dk = v.object(so.duckdb, ['store', 'duckdb'], ['path', 'memory_limit', 'write_memory_limit']);
  const ck = v.object(so.clickhouse, ['store', 'clickhouse'], ['url', 'database', 'username', 'password', 'cluster', 'cluster_nodes', 'replicated', 'zookeeper_path', 'replica', 'spool', 'options']);
  if (ck.replicated !== undefined && ck.replicated !== null && typeof ck.replicated !== 'boolean') v.fail(['store', 'clickhouse', 'replicated'], `expected true or false, got ${describe(ck.replicated)}`);
  const cs = v.object(ck.spool, ['store', 'clickhouse', 'spool'], ['enabled', 'dir', 'max_size']);
  if (cs.enabled !== undefined && cs.enabled !== null && typeof cs.enabled !== 'boolean') v.fail(['store', 'clickhouse', 'spool', 'enabled'], `expected true or false, got ${describe(cs.enabled)}`);
  const cluster = v.string(ck.cluster, ['store', 'clickhouse', 'cluster'], '');
  if (cluster !== '' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(cluster)) v.fail(['store', 'clickhouse', 'cluster'], `expected a cluster name of remote_servers, got ${JSON.stringify(cluster)}`);
  const clusterNodes = v.list(ck.cluster_nodes, ['store', 'clickhouse', 'cluster_nodes']).map((x, i) => {
    const u = v.string(x, ['store', 'clickhouse', 'cluster_nodes', i], '');
    if (!/^https?:\/\/[^\s/]+/.test(u)) v.fail(['store', 'clickhouse', 'cluster_nodes', i], `expected an http:// or https:// URL, got ${JSON.stringify(u)}`);
    return u;
  });
  if (clusterNodes.length > 0 && cluster === '') v.fail(['store', 'clickhouse', 'cluster_nodes'], 'needs store.clickhouse.cluster');
  const chOptions = ck.options === undefined || ck.options === null ? {} : ck.options;
  if (typeof chOptions !== 'object' || Array.isArray(chOptions)) v.fail(['store', 'clickhouse', 'options'], 'expected a mapping');
  const url = v.string(ck.url, ['store', 'clickhouse', 'url'], d.store.clickhouse.url);
  if (!/^https?:\/\/[^\s/]+/.test(url)) v.fail(['store', 'clickhouse', 'url'], `expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  const store: StoreConfig = {
    kind: v.oneOf(so.kind, ['store', 'kind'], ['duckdb', 'clickhouse'] as const, 'duckdb'),
    duckdb: {
      path: v.string(dk.path, ['store', 'duckdb', 'path'], ''),
      memory_limit: dk.memory_limit === 0 ? 0 : v.size(dk.memory_limit, ['store', 'duckdb', 'memory_limit'], 0, 16 * 2 ** 20, Number.MAX_SAFE_INTEGER),
      write_memory_limit:
        dk.write_memory_limit === 0 ? 0 : v.size(dk.write_memory_limit, ['store', 'duckdb', 'write_memory_limit'], d.store.duckdb.write_memory_limit, 16 * 2 ** 20, Number.MAX_SAFE_INTEGER),
    },
    clickhouse: {
      url,
      database: v.string(ck.database, ['store', 'clickhouse', 'database'], d.store.clickhouse.database),
      username: v.string(ck.username, ['store', 'clickhouse', 'username'], d.store.clickhouse.username),
      password: v.string(ck.password, ['store', 'clickhouse', 'password'], d.store.clickhouse.password),
      cluster,
      cluster_nodes: clusterNodes,
      replicated: ck.replicated === true,
      zookeeper_path: v.string(ck.zookeeper_path, ['store', 'clickhouse', 'zookeeper_path'], ''),
      replica: v.string(ck.replica, ['store', 'clickhouse', 'replica'], ''),
      spool: {
        enabled: typeof cs.enabled === 'boolean' ? cs.enabled : d.store.clickhouse.spool.enabled,
        dir: v.string(cs.dir, ['store', 'clickhouse', 'spool', 'dir'], ''),
        max_size: v.size(cs.max_size, ['store', 'clickhouse', 'spool', 'max_size'], d.store.clickhouse.spool.max_size, 1 << 20, Number.MAX_SAFE_INTEGER),
      },
      options: chOptions as Record<string, unknown>,
    },
  };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(store.clickhouse.database)) v.fail(['store', 'clickhouse', 'database'], 'must be an identifier (letters, digits, _)');

  const ro = v.object(top.retention, ['retention'], ['raw', 'rollup_1m', 'rollup_5m', 'rollup_1h', 'interval']);
  const retention: RetentionSettings = {
    raw: v.duration(ro.raw, ['retention', 'raw'], d.retention.raw),
    rollup_1m: v.duration(ro.rollup_1m, ['retention', 'rollup_1m'], d.retention.rollup_1m),
    rollup_5m: v.duration(ro.rollup_5m, ['retention', 'rollup_5m'], d.retention.rollup_5m),
    rollup_1h: v.duration(ro.rollup_1h, ['retention', 'rollup_1h'], d.retention.rollup_1h),
    interval: v.duration(ro.interval, ['retention', 'interval'], d.retention.interval),
  };

  const bo = v.object(top.batch, ['batch'], ['max_flows', 'max_delay', 'max_pending', 'max_pending_flows', 'max_pending_memory']);
  const batch: BatchConfig = {
    max_flows: v.int(bo.max_flows, ['batch', 'max_flows'], d.batch.max_flows, 1, 10_000_000),
    max_delay: v.duration(bo.max_delay, ['batch', 'max_delay'], d.batch.max_delay),
    max_pending: v.int(bo.max_pending, ['batch', 'max_pending'], d.batch.max_pending, 1, 10_000),
    max_pending_flows: v.int(bo.max_pending_flows, ['batch', 'max_pending_flows'], d.batch.max_pending_flows, 1, 100_000_000),
    max_pending_memory: v.size(bo.max_pending_memory, ['batch', 'max_pending_memory'], d.batch.max_pending_memory, 1 << 20, Number.MAX_SAFE_INTEGER),
  };

  const sto = v.object(top.state, ['state'], ['save_interval']);
  const state: StateConfig = { save_interval: v.duration(sto.save_interval, ['state', 'save_interval'], d.state.save_interval) };

  const api = validateApiSection(top.api, ['api'], (path, message) => v.fail(path, message));

  return { collectors, capture, local_prefixes, store, retention, batch, state, api };
}

/** Parse and validate YAML text. */
export function parseConfig(text: string, file?: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.pos?.[0] !== undefined ? lc.linePos(e.pos[0]).line : undefined;
    throw new ConfigError(`invalid YAML: ${e.message.split('\n')[0]}`, '', file, pos);
  }
  const lineOf = (path: (string | number)[]): number | undefined => {
    // The deepest node of the path that exists in the document.
    let node: unknown = doc.contents;
    let found: Node | undefined = doc.contents ?? undefined;
    for (const p of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === p);
        if (!pair) break;
        found = (pair.key as Node) ?? found;
        node = pair.value;
        if (node && typeof node === 'object' && (isMap(node) || isSeq(node) || 'range' in (node as object))) found = node as Node;
      } else if (isSeq(node) && typeof p === 'number') {
        node = node.items[p];
        if (node && typeof node === 'object') found = node as Node;
      } else break;
    }
    const off = found?.range?.[0];
    return off !== undefined ? lc.linePos(off).line : undefined;
  };
  return validateConfig(doc.toJS(), file, lineOf);
}

/** Read, parse and validate a configuration file; no file → the defaults. */
export function loadConfig(file?: string): Config {
  if (file === undefined || file === '') return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(err.code === 'ENOENT' ? 'no such file' : `cannot read: ${err.message}`, '', file);
  }
  return parseConfig(text, file);
}

/** The configuration as JSON-able values with durations and sizes written back as text. */
export function configToJson(c: Config): Record<string, unknown> {
  return {
    collectors: c.collectors.map((x) => ({ protocol: x.protocol, listen: x.listen.map((a) => a.text), receive_buffer: x.receive_buffer, name: x.name })),
    capture: { ...c.capture, active_timeout: fmtDuration(c.capture.active_timeout), idle_timeout: fmtDuration(c.capture.idle_timeout) },
    local_prefixes: c.local_prefixes,
    store: { ...c.store, clickhouse: { ...c.store.clickhouse, password: c.store.clickhouse.password ? '(set)' : '' } },
    retention: Object.fromEntries(Object.entries(c.retention).map(([k, ms]) => [k, fmtDuration(ms)])),
    batch: { ...c.batch, max_delay: fmtDuration(c.batch.max_delay) },
    state: { save_interval: fmtDuration(c.state.save_interval) },
    api: apiConfigToJson(c.api),
  };
}

/** ms → the largest whole unit (`30d`, `90s`, `1500ms`). */
export function fmtDuration(ms: number): string {
  for (const u of ['y', 'w', 'd', 'h', 'm', 's'] as const) {
    const n = DUR_UNITS[u]!;
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  }
  return `${ms}ms`;
}

/** The retention part as the store wants it. */
export function retentionOf(c: Config): RetentionConfig {
  const { raw, rollup_1m, rollup_5m, rollup_1h } = c.retention;
  return { raw, rollup_1m, rollup_5m, rollup_1h };
}
