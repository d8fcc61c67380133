/** Shared CLI plumbing: global options, errors and exit codes, time parsing, output helpers. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { configuredStoreExists } from '../store/index.js';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface GlobalOptions {
  data: string;
  config?: string;
  json: boolean;
  quiet: boolean;
}

/** The global options, wherever they were written on the command line. */
export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as Partial<GlobalOptions> & Record<string, unknown>;
  // An empty V6SCOPE_DATA (`V6SCOPE_DATA= v6scope ...`) means unset; an empty --data is a mistake.
  let data = typeof o.data === 'string' ? o.data : (process.env.V6SCOPE_DATA ?? '');
  if (data === '') {
    if (optionSource(cmd, 'data') === 'cli') throw new UsageError('--data needs a directory');
    data = './data';
  }
  const g: GlobalOptions = {
    data: path.resolve(data),
    config: (o.config as string | undefined) ?? process.env.V6SCOPE_CONFIG,
    json: Boolean(o.json),
    quiet: Boolean(o.quiet),
  };
  lastGlobals = g;
  return g;
}

/** The global options the running command resolved last (see storeExists). */
let lastGlobals: GlobalOptions | undefined;

/** The --config file (or the defaults); mistakes in it are usage errors (exit code 2). */
export function configOf(g: Pick<GlobalOptions, 'config'>): Config {
  try {
    return loadConfig(g.config || undefined);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`config ${e.message}`);
    throw e;
  }
}

function optionSource(cmd: Command, key: string): string | undefined {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const src = c.getOptionValueSource(key);
    if (src !== undefined) return src;
  }
  return undefined;
}

/**
 * Whether the command has a store to read (the one `openStore(globals)` opens): the configured
 * DuckDB file exists, or the configuration names ClickHouse. Given only a data directory, the
 * configuration of the running command's global options is used when they name that directory
 * (so `storeExists(g.data)` and `storeExists(g)` agree), else DATA/v6scope.duckdb.
 */
export function storeExists(where: string | Pick<GlobalOptions, 'data' | 'config'>): boolean {
  if (typeof where === 'string') {
    if (lastGlobals && lastGlobals.data === path.resolve(where)) return storeExists(lastGlobals);
    return existsSync(path.join(where, 'v6scope.duckdb'));
  }
  return configuredStoreExists(configOf(where), where.data);
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Parse a duration like 90s, 5m, 1h, 7d, 2w. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid ${what} "${text}": expected a number and a unit s, m, h, d or w (e.g. 5m, 1h, 7d)`);
  const v = Number(m[1]) * UNIT_MS[m[2]!]!;
  if (!(v > 0)) throw new UsageError(`invalid ${what} "${text}": must be positive`);
  return v;
}

/**
 * Parse a point in time: `now`, a duration ago (`24h`, `7d`), an ISO 8601 date or date-time
 * (UTC unless it carries an offset), or epoch seconds/milliseconds.
 */
export function parseTime(text: string, now: number, what = 'time'): number {
  const t = text.trim();
  if (t === 'now') return now;
  if (/^\d+(?:\.\d+)?[smhdw]$/.test(t)) return now - parseDuration(t, what);
  if (/^\d{9,10}$/.test(t)) return Number(t) * 1000;
  if (/^\d{12,13}$/.test(t)) return Number(t);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(t) && t.length > 10;
    const iso = t.length === 10 ? `${t}T00:00:00Z` : hasZone ? t.replace(' ', 'T') : `${t.replace(' ', 'T')}Z`;
    const v = Date.parse(iso);
    if (Number.isFinite(v)) return v;
  }
  throw new UsageError(
    `invalid ${what} "${text}": use now, a duration ago (24h, 7d), an ISO date (2026-11-01 or 2026-11-01T12:00Z) or epoch seconds`,
  );
}

/** Print JSON (addresses must already be text). */
/** A path as people want to read it: relative when under the working directory, else absolute. */
export function displayPath(p: string): string {
  const abs = path.resolve(p);
  const rel = path.relative(process.cwd(), abs);
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function fmtCount(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

export function fmtBytes(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TB`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function fmtShare(s: number | null): string {
  return s === null ? '–' : `${(s * 100).toFixed(1)} %`;
}

export function fmtTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, 'Z');
}

/** A plain text table with right-aligned numeric columns. */
export function table(header: string[], rows: string[][], alignRight: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
