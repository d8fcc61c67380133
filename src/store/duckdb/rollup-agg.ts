/**
 * Pre-aggregation of a batch's rollup contributions in JavaScript, before they are written to the
 * pending table: flows with the same finest-rollup time bucket and the same rollup dimensions become
 * one row with summed metrics. Exact: the rollups sum these rows again, and every sum stays an exact
 * integer (a group whose sum would pass 2^53 − 1 is continued in a new row).
 *
 * The key and the row objects are built by generated code (one function per column list), so that
 * every property is read by name and every output row has one shape.
 */
import { FIELD_BY_NAME, METRICS } from '../../schema/fields.js';
import type { ChunkColumn } from './chunk-append.js';

type Row = Record<string, unknown>;
export type RollupAggregator = (rows: readonly Row[]) => Row[];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Address bytes → key text, cached by object (exporters share one Uint8Array per exporter). */
function addrKeyFn(): (a: Uint8Array) => string {
  const cache = new WeakMap<Uint8Array, string>();
  return (a) => {
    let s = cache.get(a);
    if (s === undefined) {
      s = '';
      for (let i = 0; i < a.length; i++) s += (a[i]! < 16 ? '0' : '') + a[i]!.toString(16);
      cache.set(a, s);
    }
    return s;
  };
}

/**
 * An aggregator for rows with `columns` (time_received, dimensions, metrics — the pending table's
 * columns), bucketing time_received to `resolutionMs`.
 */
export function rollupAggregator(columns: readonly ChunkColumn[], resolutionMs: number): RollupAggregator {
  const metrics = new Set<string>(METRICS);
  for (const c of columns) if (!IDENT.test(c.name)) throw new Error(`column name ${c.name} is not an identifier`);
  const dims = columns.filter((c) => c.name !== 'time_received' && !metrics.has(c.name));
  const mets = columns.filter((c) => metrics.has(c.name));
  if (!columns.some((c) => c.name === 'time_received') || mets.length !== METRICS.length) throw new Error('pending columns need time_received and every metric');
  for (const d of dims) if (FIELD_BY_NAME.get(d.name)?.role !== 'dimension') throw new Error(`${d.name} is not a dimension`);
  // Unambiguous key: numbers end with ',', strings are length-prefixed, addresses are 32 hex digits.
  const keyParts = dims.map((d) =>
    d.kind === 'string' ? `r.${d.name}.length + ':' + r.${d.name}` : d.kind === 'addr' ? `addrKey(r.${d.name})` : `r.${d.name} + ','`,
  );
  const make = columns.map((c) => `${c.name}: ${c.name === 'time_received' ? 't' : `r.${c.name}`}`).join(', ');
  const overflow = mets.map((m) => `e.${m.name} + r.${m.name} > ${Number.MAX_SAFE_INTEGER}`).join(' || ');
  const add = mets.map((m) => `e.${m.name} += r.${m.name};`).join(' ');
  const src = `'use strict';
return function aggregate(rows) {
  const m = new Map();
  const out = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const t = Math.floor(r.time_received / ${resolutionMs}) * ${resolutionMs};
    const k = t + ',' + ${keyParts.join(" + '|' + ")};
    let e = m.get(k);
    if (e !== undefined && (${overflow})) e = undefined;
    if (e === undefined) {
      e = { ${make} };
      out.push(e);
      m.set(k, e);
    } else {
      ${add}
    }
  }
  return out;
};`;
  return new Function('addrKey', src)(addrKeyFn()) as RollupAggregator;
}
