/**
 * Tables derived from the schema, and the planner that picks the coarsest one able to answer a
 * query exactly (see docs/storage.md).
 */
import { FIELDS, ROLLUP_DIMENSIONS } from '../schema/fields.js';
import { fieldsUsed, type Query } from './query.js';
import type { RetentionConfig, TableSpec } from './store.js';

const MIN = 60_000;

export function tableSpecs(retention: RetentionConfig): TableSpec[] {
  const all = FIELDS.filter((f) => f.role === 'dimension').map((f) => f.name);
  const rollup = ROLLUP_DIMENSIONS.map((f) => f.name);
  return [
    { name: 'raw', resolutionMs: 0, retentionMs: retention.raw, dimensions: all },
    { name: 'rollup_1m', resolutionMs: MIN, retentionMs: retention.rollup_1m, dimensions: rollup },
    { name: 'rollup_5m', resolutionMs: 5 * MIN, retentionMs: retention.rollup_5m, dimensions: rollup },
    { name: 'rollup_1h', resolutionMs: 60 * MIN, retentionMs: retention.rollup_1h, dimensions: rollup },
  ];
}

/**
 * The coarsest table that has every field used, whose resolution divides the bucket, whose bucket
 * boundaries the range falls on, and that still holds data from `since` (retainedFrom: earliest
 * time each table holds after retention; absent = everything ingested).
 */
export function planTable(q: Query, specs: readonly TableSpec[], retainedFrom: ReadonlyMap<string, number> = new Map()): TableSpec {
  const used = fieldsUsed(q);
  const candidates = [...specs].sort((a, b) => b.resolutionMs - a.resolutionMs);
  for (const t of candidates) {
    if (t.resolutionMs === 0) return t;
    const dims = new Set(t.dimensions);
    if (![...used].every((f) => dims.has(f))) continue;
    if (q.bucket !== undefined && q.bucket % t.resolutionMs !== 0) continue;
    if (q.since % t.resolutionMs !== 0 || q.until % t.resolutionMs !== 0) continue;
    const from = retainedFrom.get(t.name);
    if (from !== undefined && q.since < from) continue;
    return t;
  }
  const raw = specs.find((s) => s.resolutionMs === 0);
  if (!raw) throw new Error('no raw table');
  return raw;
}
