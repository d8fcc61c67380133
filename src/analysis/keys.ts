/** Rendering group-key values for people and JSON: addresses per RFC 5952, MACs, directions. */
import { DIRECTION_NAMES, FIELD_BY_NAME } from '../schema/fields.js';
import { formatIP, isIPv4Mapped } from '../net/ip.js';
import { formatMac } from '../net/mac.js';
import type { GroupBy, Row } from '../store/query.js';

const FLOW_ADDR_FIELDS = new Set(['src_addr', 'dst_addr', 'peer_addr']);

export type KeyFormatter = (field: string, value: Row[string], row: Row) => string | number;

/** Render a group key value for people and JSON: addresses per RFC 5952, MACs, directions. */
export function keyFormatter(groupBy: readonly GroupBy[]): KeyFormatter {
  const prefixes = new Map(groupBy.filter((g) => g.prefix).map((g) => [g.field, g.prefix!]));
  return (field, value, row) => {
    const def = FIELD_BY_NAME.get(field);
    if (value instanceof Uint8Array) {
      // Flow addresses follow the flow's explicit family; others (exporter_addr) their own bytes.
      const flowAddr = FLOW_ADDR_FIELDS.has(field) && row.family !== undefined;
      const fam = flowAddr ? (Number(row.family) === 4 ? 4 : 6) : isIPv4Mapped(value) ? 4 : 6;
      const text = formatIP(value, fam);
      const p = prefixes.get(field);
      if (!p) return text;
      return `${text}/${fam === 4 ? p.v4 : p.v6}`;
    }
    if (def?.kind === 'mac') return formatMac(Number(value));
    if (field === 'direction') return DIRECTION_NAMES[Number(value)] ?? String(value);
    if (typeof value === 'number' || typeof value === 'string') return value;
    return String(value);
  };
}
