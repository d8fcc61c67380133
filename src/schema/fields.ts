/**
 * The single declaration of v6scope's flow fields.
 *
 * Everything else is derived from this list: the `FlowRecord` type, the stores' DDL (raw table and
 * rollups), the dimensions the query model / API / filter language accept, the JSON output keys and
 * the field table in docs/fields.md (`v6scope fields --markdown`). Adding a field is one edit here.
 *
 * Conventions
 * - Names are snake_case and are used verbatim as SQL column names, JSON keys and filter identifiers.
 * - `addr` values are 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) and the explicit
 *   `family` field says which family the flow is (never guessed from the bytes).
 * - `mac` values are 48-bit integers (0 = unknown).
 * - `time` values are milliseconds since the Unix epoch (UTC).
 * - Counters are already scaled by the sampling rate (once, at decode time); the rate is kept.
 */

/** How a field is represented. The store dialects map each kind to a column type. */
export type FieldKind =
  | 'time' // epoch milliseconds
  | 'addr' // 16 bytes (Uint8Array), IPv4-mapped for IPv4
  | 'mac' // 48-bit integer, 0 = unknown
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64' // counters; JS number (exact up to 2^53)
  | 'string';

/** dimension: can be grouped by and filtered on. metric: summed. time: the time axis. */
export type FieldRole = 'time' | 'dimension' | 'metric';

export interface FieldDef<N extends string = string, K extends FieldKind = FieldKind> {
  readonly name: N;
  readonly kind: K;
  readonly role: FieldRole;
  /** One-line meaning, used in docs/fields.md and `--help` texts. */
  readonly description: string;
  /**
   * Kept in the rollup tables (1 min / 5 min / 1 h). High-cardinality columns (addresses, ports,
   * MACs, names) are only in the raw table, as in Akvorado's consolidated tables.
   */
  readonly rollup: boolean;
  /** Optional closed set of values (documented, validated by the filter language). */
  readonly values?: readonly (string | number)[];
}

function f<const N extends string, const K extends FieldKind>(
  name: N,
  kind: K,
  role: FieldRole,
  rollup: boolean,
  description: string,
  values?: readonly (string | number)[],
): FieldDef<N, K> {
  return values ? { name, kind, role, rollup, description, values } : { name, kind, role, rollup, description };
}

/** Where a record came from. `canSeeIPv6` is false for sources that can only ever report IPv4. */
export const SOURCE_KINDS = {
  pcap: { canSeeIPv6: true, label: 'packet capture' },
  netflow5: { canSeeIPv6: false, label: 'NetFlow v5 (IPv4 only)' },
  netflow9: { canSeeIPv6: true, label: 'NetFlow v9' },
  ipfix: { canSeeIPv6: true, label: 'IPFIX' },
  sflow: { canSeeIPv6: true, label: 'sFlow v5' },
  vpc: { canSeeIPv6: true, label: 'AWS VPC Flow Logs' },
  tgw: { canSeeIPv6: true, label: 'AWS Transit Gateway flow logs' },
  alb: { canSeeIPv6: true, label: 'AWS ALB access logs' },
  nlb: { canSeeIPv6: true, label: 'AWS NLB access logs' },
  cloudfront: { canSeeIPv6: true, label: 'AWS CloudFront access logs' },
} as const;
export type SourceKind = keyof typeof SOURCE_KINDS;
export const SOURCE_KIND_NAMES = Object.keys(SOURCE_KINDS) as SourceKind[];

/** Flow direction relative to the observed network (enrichment decides it from local prefixes). */
export const Direction = { unknown: 0, inbound: 1, outbound: 2 } as const;
export type DirectionValue = (typeof Direction)[keyof typeof Direction];
export const DIRECTION_NAMES: Record<number, string> = { 0: 'unknown', 1: 'inbound', 2: 'outbound' };

export const FIELDS = [
  f('time_received', 'time', 'time', true, 'When the collector received the record (for captures: when the flow was exported by the meter). The time axis of every query.'),
  f('time_start', 'time', 'dimension', false, 'First packet of the flow.'),
  f('time_end', 'time', 'dimension', false, 'Last packet of the flow.'),
  f('source_kind', 'string', 'dimension', true, 'What produced the record.', SOURCE_KIND_NAMES),
  f('exporter_addr', 'addr', 'dimension', true, 'Address of the exporter (router, probe); :: for captures and logs.'),
  f('exporter_name', 'string', 'dimension', true, 'Exporter name: configured name, capture file or interface, log source.'),
  f('observation_domain', 'u32', 'dimension', true, 'IPFIX observation domain / NetFlow v9 source ID / sFlow sub-agent.'),
  f('sampling_rate', 'u32', 'dimension', true, 'Packet sampling rate applied by the exporter (1 = unsampled). Counters are already scaled by it.'),
  f('family', 'u8', 'dimension', true, 'Address family of the flow: 4 or 6. Taken from the packet/record, never guessed.', [4, 6]),
  f('src_addr', 'addr', 'dimension', false, 'Source address (16 bytes; IPv4 as ::ffff:a.b.c.d).'),
  f('dst_addr', 'addr', 'dimension', false, 'Destination address (16 bytes; IPv4 as ::ffff:a.b.c.d).'),
  f('src_port', 'u16', 'dimension', false, 'Source transport port (0 when the protocol has none).'),
  f('dst_port', 'u16', 'dimension', false, 'Destination transport port; for ICMP/ICMPv6 type*256+code as NetFlow does.'),
  f('proto', 'u8', 'dimension', true, 'IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...).'),
  f('service_port', 'u16', 'dimension', true, 'The service side of the conversation: the well-known port when one side is below 1024, else the remote (peer) port, else the lower port (0 for ICMP and port-less protocols).'),
  f('tcp_flags', 'u8', 'dimension', false, 'OR of the TCP flags seen in the flow.'),
  f('in_if', 'u32', 'dimension', true, 'Input interface index (0 = unknown).'),
  f('out_if', 'u32', 'dimension', true, 'Output interface index (0 = unknown).'),
  f('src_mac', 'mac', 'dimension', false, 'Source MAC address (0 = unknown).'),
  f('dst_mac', 'mac', 'dimension', false, 'Destination MAC address (0 = unknown).'),
  f('direction', 'u8', 'dimension', true, 'Direction relative to the observed network: 0 unknown, 1 inbound, 2 outbound.', [0, 1, 2]),
  f('device_id', 'string', 'dimension', true, 'Local device the flow belongs to (enrichment: MAC of the local endpoint, else its address).'),
  f('peer_addr', 'addr', 'dimension', false, 'Remote endpoint (the destination of outbound flows, the source of inbound ones; dst_addr when the direction is unknown).'),
  f('dst_name', 'string', 'dimension', false, 'DNS name of the remote endpoint, from passive DNS (empty when unknown).'),
  f('src_asn', 'u32', 'dimension', true, 'Autonomous system of the source (0 = unknown).'),
  f('dst_asn', 'u32', 'dimension', true, 'Autonomous system of the destination (0 = unknown).'),
  f('vpc_id', 'string', 'dimension', true, 'Cloud network (AWS VPC ID; for Transit Gateway logs the source VPC); empty for other sources.'),
  f('subnet_id', 'string', 'dimension', true, 'Cloud subnet (AWS subnet ID; for Transit Gateway logs the source subnet); empty for other sources.'),
  f('interface_id', 'string', 'dimension', false, 'Cloud network interface that logged the flow (AWS ENI ID; for Transit Gateway logs the attachment); empty for other sources.'),
  f('action', 'string', 'dimension', true, 'What a security group / network ACL did with the traffic (VPC Flow Logs `action`): ACCEPT, REJECT, or empty when not logged.', ['', 'ACCEPT', 'REJECT']),
  f('log_object', 'string', 'dimension', false, 'Identity of the log file or S3 object a record was read from (AWS logs: 12 characters, a hash of its key, version and size; empty for other sources). Lets an interrupted ingest resume without storing a line twice.'),
  f('bytes', 'u64', 'metric', true, 'IP-layer bytes (IPv4 total length, IPv6 payload length + 40), scaled by the sampling rate.'),
  f('packets', 'u64', 'metric', true, 'Packets, scaled by the sampling rate.'),
  f('flows', 'u64', 'metric', true, 'Number of flow records (1 per record; summed in rollups).'),
] as const;

type Fields = typeof FIELDS;
export type FieldName = Fields[number]['name'];

type KindToTs<K extends FieldKind> = K extends 'addr'
  ? Uint8Array
  : K extends 'string'
    ? string
    : number;

/** One flow record, exactly the fields above. */
export type FlowRecord = {
  [F in Fields[number] as F['name']]: KindToTs<F['kind']>;
};

export const FIELD_BY_NAME: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((d) => [d.name, d as FieldDef]));
/** Each field's position in FIELDS — its column in columnar batches (collect/flow-batch.ts). */
export const FIELD_INDEX = Object.freeze(Object.fromEntries(FIELDS.map((f, i) => [f.name, i]))) as Readonly<Record<FieldName, number>>;
export const DIMENSIONS: readonly FieldDef[] = FIELDS.filter((d) => d.role === 'dimension');
export const METRICS = ['bytes', 'packets', 'flows'] as const;
export type MetricName = (typeof METRICS)[number];
export const ROLLUP_DIMENSIONS: readonly FieldDef[] = FIELDS.filter((d) => d.role === 'dimension' && d.rollup);

export function fieldDef(name: string): FieldDef {
  const d = FIELD_BY_NAME.get(name);
  if (!d) throw new Error(`unknown field "${name}" (known: ${FIELDS.map((x) => x.name).join(', ')})`);
  return d;
}

const ZERO_ADDR = new Uint8Array(16);

/** A record with every field at its neutral value; decoders fill in what they know. */
export function emptyFlow(): FlowRecord {
  return {
    time_received: 0,
    time_start: 0,
    time_end: 0,
    source_kind: 'pcap',
    exporter_addr: ZERO_ADDR,
    exporter_name: '',
    observation_domain: 0,
    sampling_rate: 1,
    family: 4,
    src_addr: ZERO_ADDR,
    dst_addr: ZERO_ADDR,
    src_port: 0,
    dst_port: 0,
    proto: 0,
    service_port: 0,
    tcp_flags: 0,
    in_if: 0,
    out_if: 0,
    src_mac: 0,
    dst_mac: 0,
    direction: 0,
    device_id: '',
    peer_addr: ZERO_ADDR,
    dst_name: '',
    src_asn: 0,
    dst_asn: 0,
    vpc_id: '',
    subnet_id: '',
    interface_id: '',
    action: '',
    log_object: '',
    bytes: 0,
    packets: 0,
    flows: 1,
  };
}
