/**
 * Fact tables: what v6scope learns beside flows, declared once like the flow fields (fields.ts) so
 * each store derives its DDL from the same list.
 *
 * - `dns_answers`: passive DNS — one row per address in a response to an A/AAAA question, or one
 *   row with no address (answer_family 0) for NODATA / NXDOMAIN.
 * - `neighbors`: device identity evidence — a MAC seen with an address (neighbour tables, DHCP
 *   leases, flows), with the hostname when the source has one.
 */
import type { FieldKind } from './fields.js';

export interface FactField {
  readonly name: string;
  readonly kind: FieldKind;
  readonly description: string;
}

export interface FactTable {
  readonly name: string;
  readonly description: string;
  /** Column filtered by time ranges (a `time` field). */
  readonly timeField: string;
  readonly fields: readonly FactField[];
}

const ff = (name: string, kind: FieldKind, description: string): FactField => ({ name, kind, description });

export const DNS_ANSWERS: FactTable = {
  name: 'dns_answers',
  description: 'Passive DNS: responses to A/AAAA questions seen on the wire or reported by a resolver.',
  timeField: 'time',
  fields: [
    ff('time', 'time', 'When the response was seen.'),
    ff('client_addr', 'addr', 'Who asked (the destination of the response).'),
    ff('client_family', 'u8', 'Address family of client_addr.'),
    ff('client_mac', 'mac', "The client's MAC when known."),
    ff('server_addr', 'addr', 'The resolver that answered.'),
    ff('name', 'string', 'The question name, lower case, no trailing dot.'),
    ff('qtype', 'u16', 'Question type: 1 (A) or 28 (AAAA).'),
    ff('kind', 'string', 'addresses | nodata | nxdomain | error | noerror (a resolver log line: answered, content unknown).'),
    ff('answer_family', 'u8', 'Family of answer_addr (4 or 6); 0 when the row carries no address.'),
    ff('answer_addr', 'addr', 'One address of the answer (after CNAMEs).'),
    ff('ttl', 'u32', 'TTL of the answer (smallest along the CNAME chain), or the negative-caching TTL.'),
  ],
};

export const NEIGHBORS: FactTable = {
  name: 'neighbors',
  description: 'Device identity evidence: a MAC with an address, from neighbour tables and DHCP leases.',
  timeField: 'seen_at',
  fields: [
    ff('seen_at', 'time', 'When the fact was true (import time, or the time the source gives).'),
    ff('mac', 'mac', 'The device MAC.'),
    ff('family', 'u8', 'Address family (4 or 6).'),
    ff('addr', 'addr', 'The address.'),
    ff('hostname', 'string', 'Hostname from a lease, when known.'),
    ff('source', 'string', 'Where the fact came from (ip-neigh, mikrotik-arp, dnsmasq, kea4, ...).'),
    ff('expires_at', 'time', 'Lease expiry (0 when unknown or infinite).'),
  ],
};

export const FACT_TABLES: readonly FactTable[] = [DNS_ANSWERS, NEIGHBORS];

/** A row of a fact table: values by field name (addresses 16 bytes, MACs/times numbers). */
export type FactRow = Record<string, number | string | Uint8Array>;
