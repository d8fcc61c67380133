/** Passive-DNS sightings → rows of the `dns_answers` fact table (src/schema/facts.ts). */
import { parseIP } from '../net/ip.js';
import type { FactRow } from '../schema/facts.js';
import type { DnsSighting } from '../sources/dns/sighting.js';

const NO_ADDR = new Uint8Array(16);

/** One row per answered address, or one address-less row for NODATA / NXDOMAIN / errors. */
export function dnsSightingRows(s: DnsSighting): FactRow[] {
  const base = {
    time: Math.floor(s.timeMs),
    client_addr: s.client,
    client_family: s.family,
    client_mac: s.clientMac,
    server_addr: s.server,
    name: s.answer.name,
    qtype: s.answer.qtype,
    kind: s.answer.kind,
    ttl: s.answer.ttl,
  };
  if (s.answer.addresses.length === 0) return [{ ...base, answer_family: 0, answer_addr: NO_ADDR }];
  return s.answer.addresses.map((text) => {
    const a = parseIP(text);
    return { ...base, answer_family: a.family, answer_addr: a.addr };
  });
}
