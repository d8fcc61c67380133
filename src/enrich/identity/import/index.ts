/**
 * Import neighbour/lease facts from the text exports operators have: `ip neigh` (text and JSON),
 * MikroTik RouterOS ARP/ND prints, dnsmasq, odhcpd, ISC dhcpd/dhcpd6 and Kea lease files.
 *
 * `importNeighbors(text)` detects the format (`detectFormat`) or takes a forced one; it never
 * throws on bad input — malformed lines become `errors` with their line numbers — and throws only
 * for a forced format name it does not know.
 */
import { parseDnsmasq } from './dnsmasq.js';
import { parseIpNeighJson, parseIpNeighText, NEIGH_STATES } from './ip-neigh.js';
import { parseIscDhcpd } from './isc-dhcpd.js';
import { parseKea } from './kea.js';
import { parseMikrotik } from './mikrotik.js';
import { parseOdhcpd } from './odhcpd.js';
import { FORMAT_NAMES, type FormatName, type ImportOptions, type ImportResult } from './types.js';
import { Collector, hexBytes, ipOf, isBlank, macOf, parseUint, splitLines, tokens } from './util.js';

export * from './types.js';
export { macFromDuid } from './util.js';

const PARSERS: Record<FormatName, (text: string, opts: ImportOptions) => ImportResult> = {
  'ip-neigh': parseIpNeighText,
  'ip-neigh-json': parseIpNeighJson,
  mikrotik: parseMikrotik,
  dnsmasq: parseDnsmasq,
  odhcpd: parseOdhcpd,
  'isc-dhcpd': parseIscDhcpd,
  'isc-dhcpd6': parseIscDhcpd,
  kea4: parseKea,
  kea6: parseKea,
};

function isFormatName(s: string): s is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(s);
}

/** A format from a file name alone (`dhcp.leases`, `dhcpd6.leases`, `kea-leases4.csv`...). */
function formatFromName(fileName: string | undefined): FormatName | null {
  if (!fileName) return null;
  const base = (fileName.split(/[\\/]/).pop() ?? '').toLowerCase();
  if (base.startsWith('dhcpd6.leases')) return 'isc-dhcpd6';
  if (base.startsWith('dhcpd.leases')) return 'isc-dhcpd';
  if (base.startsWith('kea-leases4')) return 'kea4';
  if (base.startsWith('kea-leases6')) return 'kea6';
  if (base.includes('odhcpd')) return 'odhcpd';
  if (base === 'dhcp.leases' || base.includes('dnsmasq')) return 'dnsmasq';
  return null;
}

// Per-line votes for the line-oriented formats.
function looksIpNeigh(t: string[]): boolean {
  if (t.length < 2) return false;
  const first = t[0] === 'Deleted' || t[0] === 'Miss' ? 1 : 0;
  if (ipOf(t[first]!) === null) return false;
  const next = t[first + 1];
  return next === 'dev' || next === 'lladdr' || next === 'proxy' || (next !== undefined && NEIGH_STATES.has(next));
}

function looksDnsmasq(t: string[]): boolean {
  if (t[0] === 'duid' && t.length === 2 && hexBytes(t[1]!) !== null) return true;
  if (t.length !== 5 && t.length !== 4) return false;
  if (Number.isNaN(parseUint(t[0]!)) || ipOf(t[2]!) === null) return false;
  const second = t[1]!;
  return macOf(second) !== null || !Number.isNaN(parseUint(second.startsWith('T') ? second.slice(1) : second)) || second.indexOf('-') === 2;
}

function looksOdhcpd(t: string[]): boolean {
  return t.length >= 8 && t[0] === '#' && hexBytes(t[2]!) !== null && (t[5] === '-1' || !Number.isNaN(parseUint(t[5]!))) && !Number.isNaN(parseUint(t[7]!));
}

function looksMikrotik(line: string, t: string[]): boolean {
  const tr = line.trim();
  if (tr.startsWith('Flags:') || tr.startsWith('Columns:')) return true;
  if (tr.startsWith('#') && t.includes('ADDRESS')) return true;
  if (t.length >= 2 && !Number.isNaN(parseUint(t[0]!))) return t.some((x) => x.startsWith('address=') || x.startsWith('mac-address='));
  return false;
}

/**
 * The format of an export, from its content (and, when the content says nothing, its file name),
 * or null when it matches none.
 */
export function detectFormat(text: string, fileName?: string): FormatName | null {
  const lines = splitLines(text);
  const firstIdx = lines.findIndex((l) => !isBlank(l));
  if (firstIdx < 0) return formatFromName(fileName);
  const first = lines[firstIdx]!.trim();
  if (first.startsWith('[') || first.startsWith('{')) {
    try {
      const v: unknown = JSON.parse(text);
      if (Array.isArray(v)) return 'ip-neigh-json';
    } catch {
      // A MikroTik prompt line "[admin@MikroTik] > ..." also starts with "[".
    }
  }
  if (first.startsWith('address,')) {
    const h = first.split(',');
    if (h.includes('duid')) return 'kea6';
    if (h.includes('hwaddr')) return 'kea4';
  }
  const votes = { 'ip-neigh': 0, dnsmasq: 0, odhcpd: 0, mikrotik: 0 };
  let isc = 0;
  let isc6 = false;
  for (let i = firstIdx, seen = 0; i < lines.length && seen < 200; i++) {
    const line = lines[i]!;
    if (isBlank(line)) continue;
    seen++;
    const t = tokens(line);
    const w = t[0]!;
    if (w === 'lease' && t[2] === '{') isc += 2;
    else if ((w === 'ia-na' || w === 'ia-ta' || w === 'ia-pd') && t[t.length - 1] === '{') {
      isc += 2;
      isc6 = true;
    } else if (w === 'authoring-byte-order' || w === 'server-duid') {
      isc += 1;
      if (w === 'server-duid') isc6 = true;
    } else if (line.includes('dhcpd.leases(5)')) isc += 1;
    if (looksIpNeigh(t)) votes['ip-neigh']++;
    if (looksDnsmasq(t)) votes.dnsmasq++;
    if (looksOdhcpd(t)) votes.odhcpd++;
    if (looksMikrotik(line, t)) votes.mikrotik++;
  }
  if (isc > 0) {
    const byName = formatFromName(fileName);
    if (byName === 'isc-dhcpd6' || byName === 'isc-dhcpd') return isc6 ? 'isc-dhcpd6' : byName;
    return isc6 ? 'isc-dhcpd6' : 'isc-dhcpd';
  }
  let best: FormatName | null = null;
  let bestVotes = 0;
  for (const [k, v] of Object.entries(votes) as [FormatName, number][]) {
    if (v > bestVotes) {
      best = k;
      bestVotes = v;
    }
  }
  return best ?? formatFromName(fileName);
}

/** Parse an export into neighbour facts. Throws only when `opts.format` names no known format. */
export function importNeighbors(text: string, opts: ImportOptions = {}): ImportResult {
  if (opts.format !== undefined) {
    if (!isFormatName(opts.format)) {
      throw new Error(`unknown neighbour import format ${JSON.stringify(opts.format)} (known: ${FORMAT_NAMES.join(', ')})`);
    }
    return PARSERS[opts.format](text, opts);
  }
  const fmt = detectFormat(text, opts.fileName);
  if (fmt === null) {
    const c = new Collector();
    const lines = splitLines(text);
    const idx = lines.findIndex((l) => !isBlank(l));
    if (idx >= 0) {
      c.error(idx + 1, `unrecognised format (known: ${FORMAT_NAMES.join(', ')}); pass a format to force one`, lines[idx]!);
    }
    return c.result('unknown');
  }
  return PARSERS[fmt](text, { ...opts, format: fmt });
}

export { parseDnsmasq, parseIpNeighJson, parseIpNeighText, parseIscDhcpd, parseKea, parseMikrotik, parseOdhcpd };
