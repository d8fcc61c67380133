/**
 * DNS evidence for the find-and-fix analyses: what passive DNS says about each name (has AAAA,
 * only A, AAAA asked but empty) and which names each address was given for.
 */
import { formatIP } from '../net/ip.js';
import { DNS_ANSWERS, type FactRow } from '../schema/facts.js';
import type { FlowStore } from '../store/store.js';

export interface NameEvidence {
  name: string;
  /** An A answer with addresses was seen. */
  hasA: boolean;
  /** An AAAA answer with addresses was seen. */
  hasAAAA: boolean;
  /** AAAA was asked and the answer was empty (NODATA): the name has no IPv6 address. */
  aaaaEmpty: boolean;
  /** The name does not exist. */
  nxdomain: boolean;
  /** Addresses answered for it (RFC 5952 / dotted quad). */
  ipv4: string[];
  ipv6: string[];
}

export interface DnsEvidence {
  names: Map<string, NameEvidence>;
  /** Address text (RFC 5952) → the names it was an answer for, sorted. */
  namesByAddr: Map<string, string[]>;
  /** Rows read. */
  answers: number;
}

/**
 * What DNS says about a destination's IPv6, for the floor: one of its names has AAAA; AAAA was
 * asked for its names and came back empty; only A was ever asked (an IPv4-only client asking: says
 * nothing about IPv6); or no name is known for the address.
 */
export type DestinationIPv6 = 'has-aaaa' | 'no-aaaa' | 'aaaa-not-asked' | 'no-evidence';

/** Load passive DNS up to `until` (answers seen before the range still name its flows). */
export async function loadDnsEvidence(store: FlowStore, until: number): Promise<DnsEvidence> {
  const names = new Map<string, NameEvidence>();
  const byAddr = new Map<string, Set<string>>();
  const rows = store.facts ? await store.facts.read(DNS_ANSWERS, { until }) : [];
  for (const r of rows) {
    const name = String(r.name);
    let e = names.get(name);
    if (!e) names.set(name, (e = { name, hasA: false, hasAAAA: false, aaaaEmpty: false, nxdomain: false, ipv4: [], ipv6: [] }));
    const kind = String(r.kind);
    const qtype = Number(r.qtype);
    if (kind === 'nxdomain') e.nxdomain = true;
    else if (kind === 'nodata' && qtype === 28) e.aaaaEmpty = true;
    else if (kind === 'addresses') {
      const fam = Number(r.answer_family);
      if (fam !== 4 && fam !== 6) continue;
      const text = formatIP(r.answer_addr as Uint8Array, fam);
      const list = fam === 4 ? e.ipv4 : e.ipv6;
      if (!list.includes(text)) list.push(text);
      if (fam === 4) e.hasA = true;
      else e.hasAAAA = true;
      let s = byAddr.get(text);
      if (!s) byAddr.set(text, (s = new Set()));
      s.add(name);
    }
  }
  return { names, namesByAddr: new Map([...byAddr].map(([a, s]) => [a, [...s].sort()])), answers: rows.length };
}

/** Whether the names an address was given for have IPv6: any AAAA wins; else "no AAAA" if known. */
export function destinationIPv6(ev: DnsEvidence, addrText: string): { status: DestinationIPv6; names: string[] } {
  const names = ev.namesByAddr.get(addrText) ?? [];
  if (names.length === 0) return { status: 'no-evidence', names };
  const es = names.map((n) => ev.names.get(n)!);
  if (es.some((e) => e.hasAAAA)) return { status: 'has-aaaa', names };
  if (es.some((e) => e.aaaaEmpty)) return { status: 'no-aaaa', names };
  return { status: 'aaaa-not-asked', names };
}

// ---- The name table (v6scope dns names): per name, what passive DNS says, with first/last seen ----

/**
 * A name's IPv6 status, from the strongest evidence seen:
 * - `has-aaaa`: an AAAA answer with addresses;
 * - `aaaa-empty`: AAAA was asked and the answer was empty (NODATA): the name exists without IPv6;
 * - `only-a`: A answers with addresses, AAAA never asked (or its outcome unknown): IPv6 unknown;
 * - `nxdomain`: the name does not exist;
 * - `unknown`: answered, but nothing decisive (log-replies NOERROR only, errors, A NODATA only).
 */
export type NameStatus = 'has-aaaa' | 'aaaa-empty' | 'only-a' | 'nxdomain' | 'unknown';

export interface NameTableEntry extends NameEvidence {
  status: NameStatus;
  /** A was asked and the answer was empty (NODATA). */
  aEmpty: boolean;
  /** Question types (1, 28) seen answered NOERROR with unknown content (Unbound log-replies rows, kind "noerror"). */
  noerrorTypes: number[];
  /** Question types seen asked (any outcome). */
  askedTypes: number[];
  /** Rows with kind "error" (SERVFAIL, REFUSED...). */
  errors: number;
  /** Rows read for this name. */
  answers: number;
  firstSeen: number;
  lastSeen: number;
}

export function nameStatus(e: Pick<NameEvidence, 'hasA' | 'hasAAAA' | 'aaaaEmpty' | 'nxdomain'>): NameStatus {
  if (e.hasAAAA) return 'has-aaaa';
  if (e.aaaaEmpty) return 'aaaa-empty';
  if (e.hasA) return 'only-a';
  if (e.nxdomain) return 'nxdomain';
  return 'unknown';
}

/** Fold `dns_answers` rows into the name table, sorted by name. */
export function foldNameTable(rows: readonly FactRow[]): NameTableEntry[] {
  const names = new Map<string, NameTableEntry>();
  for (const r of rows) {
    const name = String(r.name);
    const time = Number(r.time);
    let e = names.get(name);
    if (!e) {
      e = {
        name, status: 'unknown', hasA: false, hasAAAA: false, aaaaEmpty: false, aEmpty: false, nxdomain: false,
        ipv4: [], ipv6: [], noerrorTypes: [], askedTypes: [], errors: 0, answers: 0, firstSeen: time, lastSeen: time,
      };
      names.set(name, e);
    }
    e.answers++;
    e.firstSeen = Math.min(e.firstSeen, time);
    e.lastSeen = Math.max(e.lastSeen, time);
    const kind = String(r.kind);
    const qtype = Number(r.qtype);
    if (!e.askedTypes.includes(qtype)) e.askedTypes.push(qtype);
    if (kind === 'nxdomain') e.nxdomain = true;
    else if (kind === 'nodata') {
      if (qtype === 28) e.aaaaEmpty = true;
      else if (qtype === 1) e.aEmpty = true;
    } else if (kind === 'noerror') {
      if (!e.noerrorTypes.includes(qtype)) e.noerrorTypes.push(qtype);
    } else if (kind === 'error') e.errors++;
    else if (kind === 'addresses') {
      const fam = Number(r.answer_family);
      if (fam !== 4 && fam !== 6) continue;
      const text = formatIP(r.answer_addr as Uint8Array, fam);
      const list = fam === 4 ? e.ipv4 : e.ipv6;
      if (!list.includes(text)) list.push(text);
      if (fam === 4) e.hasA = true;
      else e.hasAAAA = true;
    }
  }
  const out = [...names.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of out) {
    e.status = nameStatus(e);
    e.askedTypes.sort((a, b) => a - b);
    e.noerrorTypes.sort((a, b) => a - b);
  }
  return out;
}

/** The name table for rows with time in [since, until). */
export async function loadNameTable(store: FlowStore, range: { since?: number; until?: number } = {}): Promise<NameTableEntry[]> {
  const rows = store.facts ? await store.facts.read(DNS_ANSWERS, range) : [];
  return foldNameTable(rows);
}
