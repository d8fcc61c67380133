/**
 * Unbound log-replies entries → rows of the `dns_answers` fact table. A reply line carries no
 * answer, so each row is address-less (answer_family 0) with kind "noerror" (the name exists; the
 * answer's content is unknown), "nxdomain" or "error". See docs/passive-dns.md.
 */
import { parseIP } from '../net/ip.js';
import type { FactRow } from '../schema/facts.js';
import { replyKind, type UnboundLogEntry } from '../sources/dns/unbound-log.js';

const NO_ADDR = new Uint8Array(16);

/** The row for one entry, or null when it is not a reply to an IN A/AAAA question. */
export function unboundLogRow(e: UnboundLogEntry, server: Uint8Array = NO_ADDR): FactRow | null {
  if (e.kind !== 'reply' || e.qclass !== 1 || (e.qtype !== 1 && e.qtype !== 28)) return null;
  const client = parseIP(e.client);
  return {
    time: Math.floor(e.timeMs),
    client_addr: client.addr,
    client_family: client.family,
    client_mac: 0,
    server_addr: server,
    name: e.name,
    qtype: e.qtype,
    kind: replyKind(e.rcode),
    answer_family: 0,
    answer_addr: NO_ADDR,
    ttl: 0,
  };
}
