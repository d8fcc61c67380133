/**
 * Neighbour and lease facts imported from operators' text exports (issue #4, device identity).
 *
 * Every importer turns one text (an `ip neigh` dump, a RouterOS print, a DHCP lease file) into
 * `NeighborFact`s: "this MAC had this address", with whatever the format adds (state, hostname,
 * lease expiry). The importers are pure: no I/O, no clock (pass `now` for relative times).
 */

export type NeighborSource =
  | 'ip-neigh'
  | 'mikrotik-arp'
  | 'mikrotik-nd'
  | 'dnsmasq'
  | 'isc-dhcpd'
  | 'isc-dhcpd6'
  | 'kea4'
  | 'kea6'
  | 'odhcpd';

export interface NeighborFact {
  /** 48-bit MAC address. */
  mac: number;
  family: 4 | 6;
  /** 16 bytes (IPv4-mapped for IPv4), from parseIP. */
  addr: Uint8Array;
  /** Host name from a lease (none when the lease has none, `*` / `-` in the file). */
  hostname?: string;
  source: NeighborSource;
  /** Neighbour state (REACHABLE, STALE, ... upper case) or lease binding state (active, free, ...). */
  state?: string;
  /** The neighbour is a router (`ip neigh` "router" flag, RouterOS R flag). */
  isRouter?: boolean;
  /** Lease end, epoch ms; `Infinity` for infinite leases. */
  expiresAt?: number;
  /** When the binding was last seen/confirmed, epoch ms, if the format says. */
  seenAt?: number;
  /** 1-based line in the input where the entry starts. */
  line: number;
}

export interface ImportError {
  /** 1-based line of the offending text. */
  line: number;
  /** What is wrong. */
  message: string;
  /** The offending line (capped at 200 characters). */
  text: string;
}

export interface ImportResult {
  facts: NeighborFact[];
  errors: ImportError[];
  /** The format that was parsed (detected or forced), `unknown` when none could be recognised. */
  format: string;
  /**
   * Lines/entries that carry no fact: FAILED/INCOMPLETE neighbours without lladdr, comments,
   * headers, superseded or non-valid leases, DUIDs that carry no MAC...
   */
  skipped: number;
  /** `skipped` broken down by reason. */
  skipReasons: Record<string, number>;
}

export const FORMAT_NAMES = [
  'ip-neigh',
  'ip-neigh-json',
  'mikrotik',
  'dnsmasq',
  'odhcpd',
  'isc-dhcpd',
  'isc-dhcpd6',
  'kea4',
  'kea6',
] as const;

export type FormatName = (typeof FORMAT_NAMES)[number];

export interface ImportOptions {
  /** Parse as this format instead of detecting it (throws for a name not in FORMAT_NAMES). */
  format?: FormatName | string;
  /** Helps detection when the content is ambiguous or empty (e.g. `dhcpd6.leases`). */
  fileName?: string;
  /**
   * The time the export was taken, epoch ms. Used only for formats with relative times
   * (`ip -s neigh` "used a/b/c" seconds ago); without it such facts get no `seenAt`.
   */
  now?: number;
}
