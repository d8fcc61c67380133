/**
 * The tables, derived from the schema, and the planner that picks the coarsest one able to answer a
 * query exactly.
 *
 * - `raw`: every field, one row per flow record.
 * - `rollup_1m`, `rollup_5m`, `rollup_1h`: the time bucket (start, in `time_received`), the
 *   dimensions declared `rollup: true`, and the summed metrics. A rollup may hold several rows for
 *   one (bucket, dimensions) — each appended batch adds its own — which is fine since queries SUM.
 */
import { DIMENSIONS, ROLLUP_DIMENSIONS } from '../schema/fields.js';
import { fieldsUsed, type Query } from './query.js';
import type { RetentionConfig, TableSpec } from './store.js';

const MINUTE = 60_000;

/** The rollup resolutions, finest first: [table name, resolution ms]. */
export const ROLLUPS = [
  ['rollup_1m', MINUTE],
  ['rollup_5m', 5 * MINUTE],
  ['rollup_1h', 60 * MINUTE],
] as const satisfies readonly (readonly [keyof RetentionConfig, number])[];

export const RAW_TABLE = 'raw';

/** The raw table and the rollups, finest first, with their retention. */
export function tableSpecs(retention: RetentionConfig): TableSpec[] {
  const all = DIMENSIONS.map((f) => f.name);
  const rollup = ROLLUP_DIMENSIONS.map((f) => f.name);
  return [
    { name: RAW_TABLE, resolutionMs: 0, retentionMs: retention.raw, dimensions: all },
    ...ROLLUPS.map(([name, resolutionMs]) => ({ name, resolutionMs, retentionMs: retention[name], dimensions: rollup })),
  ];
}

/** Why a table cannot answer `q`, or null when it can (exposed for `--explain` and tests). */
export function whyNot(q: Query, t: TableSpec, retainedFrom: ReadonlyMap<string, number> = new Map()): string | null {
  if (t.resolutionMs === 0) return null;
  const dims = new Set(t.dimensions);
  const missing = [...fieldsUsed(q)].filter((f) => !dims.has(f));
  if (missing.length) return `${t.name} lacks ${missing.join(', ')}`;
  if (q.bucket !== undefined && q.bucket % t.resolutionMs !== 0) return `bucket ${q.bucket} ms is not a multiple of ${t.resolutionMs} ms`;
  if (q.since % t.resolutionMs !== 0 || q.until % t.resolutionMs !== 0) return `range is not aligned to ${t.resolutionMs} ms`;
  const from = retainedFrom.get(t.name);
  if (from !== undefined && q.since < from) return `${t.name} only holds data from ${new Date(from).toISOString()}`;
  return null;
}

/**
 * The coarsest table that has every field the query uses (group-by and filters), whose resolution
 * divides the bucket, on whose boundaries `since` and `until` fall (else a coarse bucket would
 * over-include a partial one), and that still holds data from `since` (`retainedFrom`: the earliest
 * time each table holds after retention; absent = everything ingested). The raw table (resolution
 * 0) always qualifies. Pure.
 */
export function planTable(q: Query, specs: readonly TableSpec[], retainedFrom: ReadonlyMap<string, number> = new Map()): TableSpec {
  const raw = specs.find((s) => s.resolutionMs === 0);
  if (!raw) throw new Error('no raw table (resolution 0) among the table specs');
  const coarsestFirst = specs.filter((s) => s.resolutionMs > 0).sort((a, b) => b.resolutionMs - a.resolutionMs);
  return coarsestFirst.find((t) => whyNot(q, t, retainedFrom) === null) ?? raw;
}
