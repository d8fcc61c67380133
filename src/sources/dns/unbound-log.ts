/**
 * Unbound log lines (unbound.conf `log-replies`, `log-queries`, `log-local-actions`,
 * `log-servfail`), from Unbound's own logfile (or stderr) or from syslog. Shapes, from Unbound's
 * source (util/log.c, util/data/msgreply.c log_reply_info, services/localzone.c) and checked
 * against Unbound 1.17:
 *
 *   logfile       [1764590000] unbound[1234:0] info: MSG          (default)
 *                 Dec 01 12:29:57 unbound[1234:0] reply: MSG       (log-time-ascii: yes; local time, no year)
 *                 2026-12-01T12:29:57.123+01:00 unbound[1234:0] info: MSG   (log-time-iso, newer Unbound)
 *   syslog        Dec  1 12:29:57 host unbound: [1234:0] info: MSG
 *                 2026-12-01T12:29:57.123456+01:00 host unbound[1234]: [1234:0] info: MSG
 *
 *   reply (log-replies)      CLIENT QNAME. TYPE CLASS RCODE SECONDS.USEC CACHED PKTLEN
 *                            CLIENT - - - FORMERR - - -
 *   query (log-queries)      CLIENT QNAME. TYPE CLASS
 *   local action             ZONE. ZONETYPE CLIENT@PORT QNAME. TYPE CLASS
 *   servfail (log-servfail)  error: SERVFAIL <QNAME. TYPE CLASS>: REASON
 *
 * The tag is "info:" unless `log-tag-queryreply: yes` makes it "query:" / "reply:". The identity
 * (`log-identity`) may replace "unbound".
 *
 * What a reply line can tell: that CLIENT asked QNAME/TYPE and got RCODE — NXDOMAIN says the name
 * does not exist; NOERROR says it exists. What it cannot: the addresses, and whether a NOERROR
 * answer held records of the type at all (NOERROR with an empty answer is NODATA). So a NOERROR
 * reply to AAAA is NOT evidence of an AAAA record, nor of its absence: it becomes a row of kind
 * "noerror" (answer content unknown). See docs/passive-dns.md.
 */
import { tryParseIP } from '../../net/ip.js';
import { RCODE } from './wire.js';

export type UnboundLogEntry =
  | { kind: 'reply'; timeMs: number; client: string; name: string; qtype: number; qclass: number; rcode: number; durationMs: number; cached: boolean; size: number }
  | { kind: 'query'; timeMs: number; client: string; name: string; qtype: number; qclass: number }
  | { kind: 'local-action'; timeMs: number; zone: string; zoneType: string; client: string; name: string; qtype: number }
  | { kind: 'servfail'; timeMs: number; name: string; qtype: number; reason: string }
  /** An Unbound line of another kind (startup, statistics, FORMERR replies...). */
  | { kind: 'other'; timeMs: number };

export type UnboundLineResult =
  | { entry: UnboundLogEntry; error?: undefined; foreign?: undefined }
  | { entry?: undefined; error: string; foreign?: undefined }
  /** A syslog line of another program (skipped, not an error). */
  | { entry?: undefined; error?: undefined; foreign: true };

const TYPE_NUMBERS: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, DS: 43,
  RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, TLSA: 52, SVCB: 64, HTTPS: 65, SPF: 99, ANY: 255, CAA: 257, NULL: 10,
};
const CLASS_NUMBERS: Record<string, number> = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };
const RCODE_NUMBERS: Record<string, number> = {
  ...RCODE, NXRRSET: 8, YXDOMAIN: 6, YXRRSET: 7, NOTAUTH: 9, NOTZONE: 10,
};

/** "AAAA" or RFC 3597 "TYPE28" → number; null when unknown. */
export function rrTypeNumber(t: string): number | null {
  const u = t.toUpperCase();
  if (u in TYPE_NUMBERS) return TYPE_NUMBERS[u]!;
  const m = /^TYPE(\d{1,5})$/.exec(u);
  return m && Number(m[1]) <= 65535 ? Number(m[1]) : null;
}
function classNumber(c: string): number | null {
  const u = c.toUpperCase();
  if (u in CLASS_NUMBERS) return CLASS_NUMBERS[u]!;
  const m = /^CLASS(\d{1,5})$/.exec(u);
  return m && Number(m[1]) <= 65535 ? Number(m[1]) : null;
}
function rcodeNumber(r: string): number | null {
  const u = r.toUpperCase();
  if (u in RCODE_NUMBERS) return RCODE_NUMBERS[u]!;
  const m = /^RCODE(\d{1,4})$/.exec(u);
  return m ? Number(m[1]) : null;
}

/**
 * Unbound's presentation of a name (dname_str: labels joined by ".", trailing dot, root "."; bytes
 * other than letters, digits, "-" and "_" printed as "?") → v6scope's form: lower case, no trailing
 * dot. Null when it is not a name.
 */
function normaliseName(n: string): string | null {
  if (n === '.') return '';
  if (!n.endsWith('.') || n.length > 256 || n.includes('..')) return null;
  return n.slice(0, -1).toLowerCase();
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

export interface UnboundLogOptions {
  /** Reference time for timestamps without a year (log-time-ascii, classic syslog): the year is
   * the one that puts the line at most a day after `now`. Default Date.now(). */
  now?: number;
  /** Force the year of year-less timestamps. */
  year?: number;
}

// ts, then either "ident[pid:tid] tag: msg" (logfile) or "host ident[pid]?: [pid:tid] tag: msg" (syslog)
const TS = String.raw`(\[\d{1,12}\]|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)`;
const LOGFILE_RE = new RegExp(String.raw`^${TS} ([^\s\[\]:]+)\[(\d+):([0-9a-fA-F]+)\] ([a-z]+): (.*)$`);
const SYSLOG_RE = new RegExp(String.raw`^${TS} (\S+) ([^\s\[\]:]+)(?:\[\d+\])?: (.*)$`);
const SYSLOG_UNBOUND_MSG = /^\[(\d+):([0-9a-fA-F]+)\] ([a-z]+): (.*)$/;

function parseTimestamp(ts: string, o: UnboundLogOptions): number | null {
  if (ts.startsWith('[')) return Number(ts.slice(1, -1)) * 1000;
  if (/^\d{4}-/.test(ts)) {
    const v = Date.parse(ts.replace(' ', 'T'));
    return Number.isFinite(v) ? v : null;
  }
  // "Dec 01 12:29:57" / "Dec  1 12:29:57": local time, no year.
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})$/.exec(ts);
  if (!m || !(m[1]! in MONTHS)) return null;
  const make = (y: number): number => new Date(y, MONTHS[m[1]!]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])).getTime();
  if (o.year !== undefined) return make(o.year);
  const now = o.now ?? Date.now();
  const y = new Date(now).getFullYear();
  const t = make(y);
  return t > now + 86_400_000 ? make(y - 1) : t;
}

/** Parse one line. Never throws. */
export function parseUnboundLogLine(line: string, opts: UnboundLogOptions = {}): UnboundLineResult {
  const l = line.replace(/\r$/, '');
  let ts: string;
  let tag: string;
  let msg: string;
  const lf = LOGFILE_RE.exec(l);
  if (lf) {
    ts = lf[1]!;
    tag = lf[5]!;
    msg = lf[6]!;
  } else {
    const sl = SYSLOG_RE.exec(l);
    if (!sl) return { error: 'not an Unbound log line' };
    const inner = SYSLOG_UNBOUND_MSG.exec(sl[4]!);
    if (!inner) {
      // Another program's syslog line, or an Unbound one without the [pid:tid] prefix.
      return /unbound/i.test(sl[3]!) ? { error: 'Unbound syslog line without its [pid:thread] prefix' } : { foreign: true };
    }
    ts = sl[1]!;
    tag = inner[3]!;
    msg = inner[4]!;
  }
  const timeMs = parseTimestamp(ts, opts);
  if (timeMs === null || !Number.isFinite(timeMs)) return { error: `bad timestamp "${ts}"` };
  return parseMessage(tag, msg.trimEnd(), timeMs);
}

function parseMessage(tag: string, msg: string, timeMs: number): UnboundLineResult {
  const tok = msg.split(/\s+/);
  const head = tok[0] ?? '';
  if (tag === 'error' && head === 'SERVFAIL') {
    const m = /^SERVFAIL <(\S+) (\S+) (\S+)>: ?(.*)$/.exec(msg);
    if (!m) return { error: 'malformed SERVFAIL line' };
    const name = normaliseName(m[1]!);
    const qtype = rrTypeNumber(m[2]!);
    if (name === null || qtype === null) return { error: 'malformed SERVFAIL line' };
    return { entry: { kind: 'servfail', timeMs, name, qtype, reason: m[4]! } };
  }
  if (tag !== 'info' && tag !== 'query' && tag !== 'reply') return { entry: { kind: 'other', timeMs } };
  const client = tryParseIP(head) ? head : null;
  if (!client) {
    // Local action: "ZONE. ZONETYPE CLIENT@PORT QNAME. TYPE CLASS".
    if (tok.length === 6 && head.endsWith('.') && /^.+@\d+$/.test(tok[2]!)) {
      const ip = tok[2]!.slice(0, tok[2]!.lastIndexOf('@'));
      const zone = normaliseName(head);
      const name = normaliseName(tok[3]!);
      const qtype = rrTypeNumber(tok[4]!);
      if (!tryParseIP(ip) || zone === null || name === null || qtype === null) return { error: 'malformed local-action line' };
      return { entry: { kind: 'local-action', timeMs, zone, zoneType: tok[1]!, client: ip, name, qtype } };
    }
    if (tag === 'info') return { entry: { kind: 'other', timeMs } }; // startup, statistics, ...
    return { error: `${tag} line without a client address` };
  }
  if (tok.length >= 5 && tok[1] === '-' && tok[2] === '-' && tok[3] === '-') return { entry: { kind: 'other', timeMs } }; // FORMERR reply
  if (tok.length === 4) {
    if (tag === 'reply') return { error: 'reply line without rcode, time, cached and size' };
    const name = normaliseName(tok[1]!);
    const qtype = rrTypeNumber(tok[2]!);
    const qclass = classNumber(tok[3]!);
    if (name === null) return { error: `bad name "${tok[1]}"` };
    if (qtype === null) return { error: `unknown type "${tok[2]}"` };
    if (qclass === null) return { error: `unknown class "${tok[3]}"` };
    return { entry: { kind: 'query', timeMs, client, name, qtype, qclass } };
  }
  // Reply: 8 fields; newer Unbound versions may append more (e.g. a destination): kept tolerant.
  if (tok.length < 8) return { error: `${tag === 'info' ? 'log' : tag} line with ${tok.length} fields (a query has 4, a reply 8)` };
  if (tag === 'query') return { error: 'query line with reply fields' };
  const name = normaliseName(tok[1]!);
  const qtype = rrTypeNumber(tok[2]!);
  const qclass = classNumber(tok[3]!);
  const rcode = rcodeNumber(tok[4]!);
  if (name === null) return { error: `bad name "${tok[1]}"` };
  if (qtype === null) return { error: `unknown type "${tok[2]}"` };
  if (qclass === null) return { error: `unknown class "${tok[3]}"` };
  if (rcode === null) return { error: `unknown rcode "${tok[4]}"` };
  if (!/^\d+\.\d{6}$/.test(tok[5]!)) return { error: `bad duration "${tok[5]}"` };
  if (tok[6] !== '0' && tok[6] !== '1') return { error: `bad cached flag "${tok[6]}"` };
  if (!/^\d{1,5}$/.test(tok[7]!)) return { error: `bad size "${tok[7]}"` };
  return {
    entry: { kind: 'reply', timeMs, client, name, qtype, qclass, rcode, durationMs: Number(tok[5]) * 1000, cached: tok[6] === '1', size: Number(tok[7]) },
  };
}

export interface UnboundLogStats {
  lines: number;
  replies: number;
  queries: number;
  localActions: number;
  servfails: number;
  /** Unbound lines of other kinds, blank lines, other programs' syslog lines. */
  other: number;
  malformed: number;
}

export interface UnboundLogParse {
  entries: UnboundLogEntry[];
  errors: { line: number; message: string; text: string }[];
  stats: UnboundLogStats;
}

/** Parse a whole log text; malformed lines are reported with their 1-based line numbers. */
export function parseUnboundLog(text: string, opts: UnboundLogOptions = {}): UnboundLogParse {
  const stats: UnboundLogStats = { lines: 0, replies: 0, queries: 0, localActions: 0, servfails: 0, other: 0, malformed: 0 };
  const entries: UnboundLogEntry[] = [];
  const errors: UnboundLogParse['errors'] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    stats.lines++;
    if (line.trim() === '') {
      stats.other++;
      return;
    }
    const r = parseUnboundLogLine(line, opts);
    if (r.error !== undefined) {
      stats.malformed++;
      errors.push({ line: i + 1, message: r.error, text: line.length > 200 ? `${line.slice(0, 200)}…` : line });
      return;
    }
    if (r.foreign) {
      stats.other++;
      return;
    }
    const e = r.entry!;
    if (e.kind === 'reply') stats.replies++;
    else if (e.kind === 'query') stats.queries++;
    else if (e.kind === 'local-action') stats.localActions++;
    else if (e.kind === 'servfail') stats.servfails++;
    else stats.other++;
    if (e.kind !== 'other') entries.push(e);
  });
  return { entries, errors, stats };
}

/** What a reply line says about its name: "noerror" (exists, content unknown), "nxdomain", or "error". */
export function replyKind(rcode: number): 'noerror' | 'nxdomain' | 'error' {
  return rcode === RCODE.NOERROR ? 'noerror' : rcode === RCODE.NXDOMAIN ? 'nxdomain' : 'error';
}
