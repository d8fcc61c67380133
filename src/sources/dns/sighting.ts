/**
 * A DNS response seen on the wire (passive DNS from captures): who asked, which resolver answered,
 * when, and what the answer says about the name. Enrichment keeps these to name destinations and
 * to tell "the name has no AAAA" from "the device did not use IPv6".
 */
import { parseDnsMessage, summariseAnswer, type DnsAnswerSummary } from './wire.js';

export interface DnsSighting {
  /** Capture time of the response, epoch ms. */
  timeMs: number;
  family: 4 | 6;
  /** The client (destination of the response), 16 bytes (IPv4-mapped for IPv4); a copy. */
  client: Uint8Array;
  /** The resolver that answered (source of the response), 16 bytes; a copy. */
  server: Uint8Array;
  /** The client's MAC when the capture has Ethernet headers (48-bit number, 0 = unknown). */
  clientMac: number;
  answer: DnsAnswerSummary;
}

export interface DnsSightingStats {
  /** UDP datagrams from port 53 that were looked at. */
  responses: number;
  /** Responses to A/AAAA questions turned into sightings. */
  sightings: number;
  /** Responses that did not parse (cut by the snap length, or corrupt). */
  malformed: number;
  /** Parsed, but not an A/AAAA response (other types, queries from port 53, ...). */
  ignored: number;
}

export const emptyDnsStats = (): DnsSightingStats => ({ responses: 0, sightings: 0, malformed: 0, ignored: 0 });

/** Parse one UDP payload from port 53; updates `stats`; null when it yields no sighting. */
export function dnsSightingFromPayload(
  payload: Uint8Array,
  meta: { timeMs: number; family: 4 | 6; client: Uint8Array; server: Uint8Array; clientMac: number },
  stats: DnsSightingStats,
): DnsSighting | null {
  stats.responses++;
  const r = parseDnsMessage(payload);
  if (!r.message) {
    stats.malformed++;
    return null;
  }
  const answer = summariseAnswer(r.message);
  if (!answer) {
    stats.ignored++;
    return null;
  }
  stats.sightings++;
  return { ...meta, answer };
}
