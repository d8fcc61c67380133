/** The JSON the console reads from /api/v1 (docs/api.md). */
export type Metric = 'bytes' | 'packets' | 'flows';
export const METRICS: readonly Metric[] = ['bytes', 'packets', 'flows'];

export interface FamilyCounts {
  ipv4: number;
  ipv6: number;
  ipv6Share: number | null;
}
export type Counts = Record<Metric, number>;
export type Shares = Record<Metric, number | null>;

export interface SharePoint extends Record<Metric, FamilyCounts> {
  time: string;
}
export interface ShareGroup extends Record<Metric, FamilyCounts> {
  key: Record<string, string | number>;
}
export interface ShareResponse {
  since?: string;
  until?: string;
  bytes: FamilyCounts | null;
  packets: FamilyCounts | null;
  flows: FamilyCounts | null;
  series?: SharePoint[];
  groups?: ShareGroup[];
  notMeasurable?: unknown[];
  notes?: string[];
  bucket?: number;
  by?: string[];
  /** The range queried, epoch ms. */
  range?: { since: number; until: number };
}

export interface Laggard {
  key: string;
  name?: string | null;
  names: string[];
  asn: number | null;
  asOrg: string | null;
  ipv4: Counts;
  shareOfIPv4Bytes: number;
  causes: Record<string, Counts>;
  whatIfFixed: Shares;
}
export interface LaggardsResponse {
  by: string;
  since?: string;
  until?: string;
  now?: Shares;
  ipv4?: Counts;
  laggards?: Laggard[];
  notes?: string[];
}

export interface Fix {
  id: string;
  title: string;
  advice: string;
  snippet?: string;
  device?: string;
  app?: string;
  cause: string;
  ipv4: Counts;
  before: Shares;
  after: Shares | null;
}
export interface FixesResponse {
  since?: string;
  until?: string;
  now?: Shares;
  fixes?: Fix[];
  notes?: string[];
}

export interface FloorTop {
  device: string;
  app: string;
  destination: string;
  ipv4: Counts;
}
export interface FloorCause {
  cause: string;
  description: string;
  ipv4: Counts;
  shareOfIPv4Bytes: number;
  top: FloorTop[];
}
export interface FloorResponse {
  since?: string;
  until?: string;
  now?: Shares;
  ipv4?: Counts;
  causes?: FloorCause[];
  notes?: string[];
}

export interface DeviceAddress {
  addr: string;
  family: 4 | 6;
  kind: string;
  firstSeen: number;
  lastSeen: number;
  sources: string[];
}
export interface Device {
  id: string;
  mac: string;
  hostname: string | null;
  addresses: DeviceAddress[];
  firstSeen: number;
  lastSeen: number;
  ipv4: Counts;
  ipv6: Counts;
  ipv6Share: number | null;
  usedIPv6: boolean;
}
export interface DevicesResponse {
  since?: string;
  until?: string;
  hostPenetration?: { withIPv6: number; all: number; ratio: number | null };
  devices: Device[];
  notes?: string[];
}
export interface DeviceResponse {
  since?: string;
  until?: string;
  device: Device;
}

export interface FieldInfo {
  name: string;
  kind: string;
  role: string;
  description: string;
}
export interface FieldsResponse {
  fields: FieldInfo[];
  dimensions: string[];
  groupAliases: Record<string, unknown>;
  filterAliases: Record<string, string>;
  filter: { examples: string[]; maxLength: number };
}

export interface ExporterHealth {
  exporter: string;
  datagrams: number;
  datagramsRejected: number;
  records: number;
  errors: Record<string, number>;
  samplingRates: number[];
  templatesKnown: number;
  sequenceMissing: number;
  unsupportedDatagrams: number;
  sflowDatagrams: number;
  lastSeen: string | null;
}
export interface ListenerHealth {
  listen: string;
  protocol: string;
  receiveBuffer: number;
  socketDrops: number;
  rxQueue: number;
  datagrams: number;
}
export interface ExportersResponse {
  available: boolean;
  origin: 'live' | 'file';
  notes?: string[];
  updated?: string;
  startedAt?: string;
  listeners?: ListenerHealth[];
  exporters?: ExporterHealth[];
  totals?: { datagrams: number; records: number; decodeErrors: number; socketDrops: number; unsupportedDatagrams: number };
  templatesRestored?: number;
  writer?: Record<string, unknown>;
}

/** The body of every API error. */
export interface ApiErrorBody {
  status: number;
  code: string;
  message: string;
  param?: string;
  reason?: string;
  position?: number;
  column?: number;
  length?: number;
  hint?: string;
  id?: string;
}
