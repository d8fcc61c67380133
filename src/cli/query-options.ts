/** Turning command-line query options (--by, --since, --until, --bucket) into the query model. */
import { loadDeviceNames } from '../analysis/devices.js';
import { FilterError, parseFilter } from '../query/filter.js';
import { DIMENSIONS, FIELD_BY_NAME } from '../schema/fields.js';
import type { FilterExpr, GroupBy } from '../store/query.js';
import type { FlowStore } from '../store/store.js';
import { parseDuration, parseTime, UsageError } from './common.js';

const HOUR = 3_600_000;

/** Friendly names for common groupings. */
export const GROUP_ALIASES: Record<string, string[]> = {
  device: ['device_id'],
  exporter: ['exporter_name'],
  protocol: ['proto'],
  port: ['service_port'],
  app: ['proto', 'service_port'],
  destination: ['peer_addr/48/24'],
  peer: ['peer_addr'],
  source: ['source_kind'],
};

/**
 * Parse `--by` specs: comma-separated schema dimensions or aliases; address fields take an
 * optional prefix `/V6LEN[/V4LEN]` (e.g. `peer_addr/48/24`, `dst_addr/64`; V4LEN defaults to 24).
 */
export function parseGroupBy(spec: string): GroupBy[] {
  const out: GroupBy[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const expanded = GROUP_ALIASES[raw] ?? [raw];
    for (const item of expanded) {
      const [name, v6, v4] = item.split('/');
      const def = FIELD_BY_NAME.get(name!);
      if (!def || def.role !== 'dimension') {
        throw new UsageError(
          `unknown dimension "${raw}": use one of ${Object.keys(GROUP_ALIASES).join(', ')} or a field: ${DIMENSIONS.map((d) => d.name).join(', ')}`,
        );
      }
      if (v6 === undefined) {
        out.push({ field: def.name });
        continue;
      }
      if (def.kind !== 'addr') throw new UsageError(`"${raw}": only address fields take a prefix length`);
      const l6 = Number(v6);
      const l4 = v4 === undefined ? 24 : Number(v4);
      if (!Number.isInteger(l6) || l6 < 0 || l6 > 128 || !Number.isInteger(l4) || l4 < 0 || l4 > 32) {
        throw new UsageError(`"${raw}": prefix lengths must be 0-128 for IPv6 and 0-32 for IPv4`);
      }
      out.push({ field: def.name, prefix: { v6: l6, v4: l4 }, as: def.name });
    }
  }
  if (out.length === 0) throw new UsageError('--by needs at least one dimension');
  return out;
}

export interface TimeRange {
  since: number;
  until: number;
}

/**
 * The query range: --since/--until when given, else all stored data, widened to whole hours so
 * that the hourly rollup can answer.
 */
export async function resolveRange(store: FlowStore, since?: string, until?: string, now = Date.now()): Promise<TimeRange | null> {
  let s = since !== undefined ? parseTime(since, now, '--since') : undefined;
  let u = until !== undefined ? parseTime(until, now, '--until') : undefined;
  if (s === undefined || u === undefined) {
    const r = await store.timeRange();
    if (!r) {
      if (s === undefined && u === undefined) return null;
      s ??= 0;
      u ??= now;
    } else {
      s ??= Math.floor(r.min / HOUR) * HOUR;
      u ??= Math.floor(r.max / HOUR) * HOUR + HOUR;
    }
  }
  if (u <= s) throw new UsageError(`empty time range: --until (${new Date(u).toISOString()}) must be after --since (${new Date(s).toISOString()})`);
  return { since: s, until: u };
}

const BUCKETS = [60_000, 300_000, 900_000, HOUR, 6 * HOUR, 24 * HOUR, 7 * 24 * HOUR];

/** A bucket giving at most ~maxPoints points over the range (or the user's --bucket). */
export function chooseBucket(range: TimeRange, text?: string, maxPoints = 200): number {
  if (text !== undefined) return parseDuration(text, '--bucket');
  const span = range.until - range.since;
  return BUCKETS.find((b) => span / b <= maxPoints) ?? BUCKETS[BUCKETS.length - 1]!;
}

export { keyFormatter } from '../analysis/keys.js';

/**
 * Parse `--filter EXPR` (the filter language of docs/api.md; `device = "tv"` takes device names
 * from DHCP leases). A bad expression is a usage error that points at the column:
 *
 *     --filter: unknown field "dst_prot" at column 16 (did you mean dst_port?)
 *       family = 4 AND dst_prot = 443
 *                      ^^^^^^^^
 */
export async function parseFilterOption(store: FlowStore, text: string | undefined): Promise<FilterExpr | undefined> {
  if (text === undefined || text.trim() === '') return undefined;
  const byId = await loadDeviceNames(store);
  try {
    return parseFilter(text, { deviceNames: new Map([...byId].map(([id, name]) => [name, id])) });
  } catch (e) {
    if (!(e instanceof FilterError)) throw e;
    const oneLine = text.replace(/[\r\n\t]/g, ' ');
    const caret = `${' '.repeat(Math.min(e.position, oneLine.length))}${'^'.repeat(Math.max(1, Math.min(e.length, oneLine.length - e.position || 1)))}`;
    throw new UsageError(`--filter: ${e.message}\n  ${oneLine}\n  ${caret}`);
  }
}
