/**
 * ISC DHCP server lease files: `dhcpd.leases` (DHCPv4) and `dhcpd6.leases` (DHCPv6).
 *
 * The file is a sequence of statements; `lease ADDR { ... }` blocks carry `starts`, `ends`,
 * `cltt` (`W YYYY/MM/DD HH:MM:SS` in UTC, `epoch N;` with db-time-format local, or `never`),
 * `binding state S`, `hardware ethernet MAC` and `client-hostname "name"`. DHCPv6 identities are
 * `ia-na "IAID+DUID" { cltt ...; iaaddr ADDR { binding state S; ends ...; } }` (also `ia-ta`;
 * `ia-pd`/`iaprefix` delegations are skipped): the quoted id is 4 IAID bytes then the client DUID,
 * written with printable ASCII kept and other bytes as `\ooo` octal escapes; the MAC comes from a
 * DUID-LLT/DUID-LL over Ethernet. The file is append-only: a later entry for the same address
 * replaces the earlier one (the earlier is counted as skipped, "superseded").
 *
 * Abandoned and backup leases carry no client identity and are skipped; free/expired/released
 * leases that still name a hardware address are facts with that `state`.
 */
import type { ImportOptions, ImportResult, NeighborFact, NeighborSource } from './types.js';
import { Collector, hexBytes, ipOf, macFromDuid, macOf, parseUint, splitLines } from './util.js';

interface Tok {
  kind: 'word' | 'string' | '{' | '}' | ';';
  text: string;
  /** Decoded bytes of a string token. */
  bytes?: Uint8Array;
  line: number;
}

interface Stmt {
  words: Tok[];
  line: number;
  block?: Stmt[];
  /** Line where the block was closed (for error text) */
  endLine?: number;
}

function tokenize(text: string, c: Collector, lines: string[]): Tok[] {
  const out: Tok[] = [];
  let line = 1;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      i++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (ch === '{' || ch === '}' || ch === ';') {
      out.push({ kind: ch, text: ch, line });
      i++;
      continue;
    }
    if (ch === '"') {
      const startLine = line;
      i++;
      const bytes: number[] = [];
      let s = '';
      let closed = false;
      while (i < n) {
        const d = text[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\n') {
          // Strings never span lines in a lease file: treat as unterminated.
          break;
        }
        if (d === '\\' && i + 1 < n) {
          const e = text.charCodeAt(i + 1);
          if (e >= 48 && e <= 55) {
            let v = 0;
            let k = i + 1;
            while (k < n && k < i + 4 && text.charCodeAt(k) >= 48 && text.charCodeAt(k) <= 55) v = v * 8 + (text.charCodeAt(k++) - 48);
            bytes.push(v & 0xff);
            s += String.fromCharCode(v & 0xff);
            i = k;
            continue;
          }
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r' };
          const lit = map[text[i + 1]!] ?? text[i + 1]!;
          bytes.push(lit.charCodeAt(0) & 0xff);
          s += lit;
          i += 2;
          continue;
        }
        bytes.push(text.charCodeAt(i) & 0xff);
        s += d;
        i++;
      }
      if (!closed) {
        c.error(startLine, 'unterminated string', lines[startLine - 1] ?? '');
        // Resynchronise at the end of the line: a ";" there closes the statement.
        out.push({ kind: 'string', text: s, bytes: Uint8Array.from(bytes), line: startLine });
        continue;
      }
      out.push({ kind: 'string', text: s, bytes: Uint8Array.from(bytes), line: startLine });
      continue;
    }
    const s = i;
    while (i < n) {
      const d = text[i]!;
      if (d === ' ' || d === '\t' || d === '\n' || d === '\r' || d === '{' || d === '}' || d === ';' || d === '"' || d === '#') break;
      i++;
    }
    out.push({ kind: 'word', text: text.slice(s, i), line });
  }
  return out;
}

/** Statements until "}" (or EOF at top level). */
function parseBlock(toks: Tok[], pos: { i: number }, top: boolean, c: Collector, lines: string[]): Stmt[] {
  const out: Stmt[] = [];
  let words: Tok[] = [];
  while (pos.i < toks.length) {
    const t = toks[pos.i++]!;
    if (t.kind === ';') {
      if (words.length > 0) out.push({ words, line: words[0]!.line });
      words = [];
    } else if (t.kind === '{') {
      const line = words[0]?.line ?? t.line;
      const block = parseBlock(toks, pos, false, c, lines);
      out.push({ words, line, block, endLine: toks[pos.i - 1]?.line ?? line });
      words = [];
    } else if (t.kind === '}') {
      if (words.length > 0) {
        c.error(words[0]!.line, 'statement without ";"', lines[words[0]!.line - 1] ?? '');
      }
      if (top) {
        c.error(t.line, 'unexpected "}"', lines[t.line - 1] ?? '');
        words = [];
        continue;
      }
      return out;
    } else {
      // A statement never spans a blank-line-separated lease: a new "lease"/"ia-na" word at the
      // start of a line after an unterminated statement starts over.
      if (words.length > 0 && t.line !== words[words.length - 1]!.line && t.kind === 'word' && BLOCK_WORDS.has(t.text)) {
        c.error(words[0]!.line, 'statement without ";"', lines[words[0]!.line - 1] ?? '');
        words = [];
      }
      words.push(t);
    }
  }
  if (words.length > 0) c.error(words[0]!.line, 'statement without ";" at end of file', lines[words[0]!.line - 1] ?? '');
  if (!top) {
    const last = toks[toks.length - 1];
    const line = last?.line ?? 1;
    c.error(line, 'missing "}" at end of file', lines[line - 1] ?? '');
  }
  return out;
}

const BLOCK_WORDS = new Set(['lease', 'ia-na', 'ia-ta', 'ia-pd', 'host', 'failover', 'iaaddr', 'iaprefix']);

const WEEKDAY_MAX = 6;

/** `W YYYY/MM/DD HH:MM:SS` (UTC) | `epoch N` | `never` → epoch ms (Infinity for never), or an error message. */
function parseTime(words: Tok[]): number | string {
  const w = words.slice(1).map((t) => t.text);
  if (w.length === 1 && w[0] === 'never') return Infinity;
  if (w.length === 2 && w[0] === 'epoch') {
    const v = parseUint(w[1]!);
    return Number.isNaN(v) ? `bad epoch time ${JSON.stringify(w[1])}` : v * 1000;
  }
  if (w.length !== 3) return `bad time ${JSON.stringify(w.join(' '))}`;
  const wd = parseUint(w[0]!);
  const d = w[1]!.split('/');
  const tm = w[2]!.split(':');
  if (Number.isNaN(wd) || wd > WEEKDAY_MAX || d.length !== 3 || tm.length !== 3) return `bad time ${JSON.stringify(w.join(' '))}`;
  const [y, mo, da] = d.map(parseUint) as [number, number, number];
  const [h, mi, se] = tm.map(parseUint) as [number, number, number];
  if ([y, mo, da, h, mi, se].some(Number.isNaN) || mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59 || se > 60) {
    return `bad time ${JSON.stringify(w.join(' '))}`;
  }
  return Date.UTC(y, mo - 1, da, h, mi, se);
}

interface Pending {
  fact: NeighborFact;
}

export function parseIscDhcpd(text: string, opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  const toks = tokenize(text, c, lines);
  const stmts = parseBlock(toks, { i: 0 }, true, c, lines);
  const byAddr = new Map<string, Pending | null>();
  const lineText = (n: number): string => lines[n - 1] ?? '';
  let sawV6 = false;

  /** Record the newest entry for an address (null: the newest says "no fact"). */
  const put = (key: string, p: Pending | null): void => {
    if (byAddr.has(key)) {
      c.skip('superseded by a later entry');
      byAddr.delete(key);
    }
    byAddr.set(key, p);
  };

  const times = (s: Stmt, acc: { ends?: number; cltt?: number; state?: string; bad?: boolean }): boolean => {
    const w0 = s.words[0]?.text;
    if (w0 === 'ends' || w0 === 'cltt' || w0 === 'starts') {
      const v = parseTime(s.words);
      if (typeof v === 'string') {
        c.error(s.line, v, lineText(s.line));
        acc.bad = true;
      } else if (w0 === 'ends') acc.ends = v;
      else if (w0 === 'cltt') acc.cltt = v;
      return true;
    }
    if (w0 === 'binding' && s.words[1]?.text === 'state') {
      acc.state = s.words[2]?.text;
      if (acc.state === undefined || s.words.length !== 3) {
        c.error(s.line, 'expected "binding state STATE"', lineText(s.line));
        acc.bad = true;
      }
      return true;
    }
    return false;
  };

  // A block that had a syntax error inside (unterminated string, missing ";") is not trusted.
  const syntaxErrorLines = c.errors.map((e) => e.line);
  const damaged = (s: Stmt): boolean => syntaxErrorLines.some((l) => l > s.line && l <= (s.endLine ?? s.line));
  for (const s of stmts) {
    const kw = s.words[0]?.text;
    if (s.block === undefined) {
      c.skip('statement without a lease');
      continue;
    }
    if (damaged(s)) {
      c.skip('lease block with a syntax error');
      continue;
    }
    if (kw === 'lease') {
      const addrText = s.words[1]?.text ?? '';
      const ip = s.words.length === 2 ? ipOf(addrText) : null;
      if (ip === null || ip.family !== 4 || ip.zone !== undefined || ip.port !== undefined) {
        c.error(s.line, `expected "lease A.B.C.D {", got ${JSON.stringify(s.words.map((w) => w.text).join(' '))}`, lineText(s.line));
        continue;
      }
      const acc: { ends?: number; cltt?: number; state?: string; bad?: boolean; mac?: number | null; host?: string } = {};
      for (const b of s.block) {
        if (times(b, acc)) continue;
        const w0 = b.words[0]?.text;
        if (w0 === 'hardware') {
          const type = b.words[1]?.text;
          const v = b.words[2]?.text ?? '';
          if (type === 'ethernet') {
            const mac = macOf(v.length === 17 ? v : padMac(v));
            if (mac === null) {
              c.error(b.line, `hardware ethernet ${JSON.stringify(v)} is not a MAC address`, lineText(b.line));
              acc.bad = true;
            } else acc.mac = mac;
          } else acc.mac = null;
        } else if (w0 === 'client-hostname') {
          const v = b.words[1];
          if (v?.kind === 'string') acc.host = v.text;
        }
      }
      if (acc.bad) continue;
      if (acc.state === 'abandoned' || acc.state === 'backup') {
        put(formatKey(ip.addr), null);
        c.skip(`${acc.state} lease`);
        continue;
      }
      if (acc.mac === undefined || acc.mac === null) {
        put(formatKey(ip.addr), null);
        c.skip(acc.mac === null ? 'non-Ethernet hardware address' : 'lease without a hardware address');
        continue;
      }
      const f: NeighborFact = { mac: acc.mac, family: 4, addr: ip.addr, source: 'isc-dhcpd', line: s.line };
      if (acc.host !== undefined && acc.host !== '') f.hostname = acc.host;
      if (acc.state !== undefined) f.state = acc.state;
      if (acc.ends !== undefined) f.expiresAt = acc.ends;
      if (acc.cltt !== undefined) f.seenAt = acc.cltt;
      put(formatKey(ip.addr), { fact: f });
      continue;
    }
    if (kw === 'ia-na' || kw === 'ia-ta' || kw === 'ia-pd') {
      sawV6 = true;
      const idTok = s.words[1];
      let id: Uint8Array | null = null;
      if (idTok?.kind === 'string') id = idTok.bytes ?? null;
      else if (idTok?.kind === 'word') id = hexBytes(idTok.text);
      if (id === null || s.words.length !== 2) {
        c.error(s.line, `expected ${kw} "IAID+DUID" {`, lineText(s.line));
        continue;
      }
      if (kw === 'ia-pd') {
        c.skip('prefix delegation');
        continue;
      }
      const m = id.length > 4 ? macFromDuid(id.subarray(4)) : { reason: 'IA id too short for IAID+DUID' };
      const ia: { cltt?: number; bad?: boolean } = {};
      for (const b of s.block) if (b.block === undefined) times(b, ia);
      for (const b of s.block) {
        if (b.block === undefined) continue;
        if (b.words[0]?.text !== 'iaaddr') {
          c.skip('statement without a lease');
          continue;
        }
        const a = b.words.length === 2 ? ipOf(b.words[1]!.text) : null;
        if (a === null || a.family !== 6 || a.zone !== undefined || a.port !== undefined) {
          c.error(b.line, `expected "iaaddr IPV6 {", got ${JSON.stringify(b.words.map((w) => w.text).join(' '))}`, lineText(b.line));
          continue;
        }
        const acc: { ends?: number; cltt?: number; state?: string; bad?: boolean; host?: string } = {};
        for (const x of b.block) {
          if (times(x, acc)) continue;
          // set ddns-fwd-name = "host.example.org";
          if (x.words[0]?.text === 'set' && x.words[1]?.text === 'ddns-fwd-name' && x.words[3]?.kind === 'string') acc.host = x.words[3].text;
        }
        if (acc.bad || ia.bad) continue;
        const key = formatKey(a.addr);
        if ('reason' in m) {
          put(key, null);
          c.skip(m.reason);
          continue;
        }
        if (acc.state === 'abandoned' || acc.state === 'backup') {
          put(key, null);
          c.skip(`${acc.state} lease`);
          continue;
        }
        const source: NeighborSource = 'isc-dhcpd6';
        const f: NeighborFact = { mac: m.mac, family: 6, addr: a.addr, source, line: b.line };
        if (acc.host !== undefined && acc.host !== '') f.hostname = acc.host;
        if (acc.state !== undefined) f.state = acc.state;
        if (acc.ends !== undefined) f.expiresAt = acc.ends;
        if (ia.cltt !== undefined) f.seenAt = ia.cltt;
        put(key, { fact: f });
      }
      continue;
    }
    c.skip('statement without a lease');
  }
  const winners: NeighborFact[] = [];
  for (const p of byAddr.values()) if (p !== null) winners.push(p.fact);
  winners.sort((x, y) => x.line - y.line);
  for (const f of winners) c.fact(f);
  const fmt = opts.format === 'isc-dhcpd6' || opts.format === 'isc-dhcpd' ? opts.format : sawV6 ? 'isc-dhcpd6' : 'isc-dhcpd';
  return c.result(fmt);
}

/** "a:b:c:d:e:f" (ISC prints single hex digits for bytes < 0x10) → "0a:0b:...". */
function padMac(v: string): string {
  const parts = v.split(':');
  if (parts.length !== 6 || parts.some((p) => p.length < 1 || p.length > 2)) return v;
  return parts.map((p) => p.padStart(2, '0')).join(':');
}

function formatKey(a: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += a[i]!.toString(16).padStart(2, '0');
  return s;
}
