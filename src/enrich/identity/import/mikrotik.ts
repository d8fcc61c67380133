/**
 * MikroTik RouterOS (v6 and v7) `/ip arp print` and `/ipv6 neighbor print`, in their three shapes:
 *
 * - columns: an optional `Flags:` legend (v6 `X - disabled, I - invalid, H - DHCP, D - dynamic,
 *   P - published, C - complete`; v7 the same in capitals with `;` between groups), on v7 a
 *   `Columns:` line, a `#` header naming the columns, then rows `index flags values...` aligned
 *   under the header; the MAC cell is blank for incomplete entries;
 * - `print terse`: one `index flags key=value ...` line per entry;
 * - `print detail`: like terse, wrapped onto indented continuation lines, entries separated by a
 *   blank line; `;;; comment` may follow the flags.
 *
 * Disabled (X), invalid (I) and published (P, proxy-ARP) entries and entries without a MAC are
 * skipped. IPv4 entries are `mikrotik-arp` facts, IPv6 entries `mikrotik-nd`.
 */
import type { ImportOptions, ImportResult, NeighborFact } from './types.js';
import { Collector, ipOf, isBlank, macOf, parseUint, splitLines, tokens } from './util.js';

const STATUSES = new Set(['reachable', 'stale', 'delay', 'probe', 'failed', 'incomplete', 'permanent', 'noarp', 'none', 'nostate']);

interface Column {
  name: string;
  start: number;
}

interface Rec {
  line: number;
  text: string;
  flags: string;
  kv: Map<string, string>;
}

function isFlagToken(t: string): boolean {
  if (t.length === 0) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 42 /* * */)) return false;
  }
  return true;
}

function leadingSpace(line: string): boolean {
  const c = line.charCodeAt(0);
  return c === 32 || c === 9;
}

/**
 * Parse `key=value` pairs (values may be "quoted" with \" escapes) from line[pos..] into kv.
 * Returns an error message or null.
 */
function parseKv(line: string, pos: number, kv: Map<string, string>): string | null {
  let i = pos;
  const n = line.length;
  while (i < n) {
    while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
    if (i >= n) break;
    if (line.startsWith(';;;', i)) {
      kv.set('comment', line.slice(i + 3).trim());
      return null;
    }
    const ks = i;
    while (i < n && line[i] !== '=' && line[i] !== ' ' && line[i] !== '\t') i++;
    if (line[i] !== '=' || i === ks) return `expected key=value at ${JSON.stringify(line.slice(ks, i + 1))}`;
    const key = line.slice(ks, i);
    i++;
    let val = '';
    if (line[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const ch = line[i]!;
        if (ch === '\\' && i + 1 < n) {
          val += line[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          i++;
          break;
        }
        val += ch;
        i++;
      }
      if (!closed) return `unterminated quoted value for ${key}`;
    } else {
      const vs = i;
      while (i < n && line[i] !== ' ' && line[i] !== '\t') i++;
      val = line.slice(vs, i);
    }
    kv.set(key, val);
  }
  return null;
}

/** Column start positions from a `#` header line. */
function parseHeader(line: string): Column[] {
  const cols: Column[] = [];
  let i = line.indexOf('#') + 1;
  while (i < line.length) {
    while (i < line.length && line[i] === ' ') i++;
    if (i >= line.length) break;
    const s = i;
    while (i < line.length && line[i] !== ' ') i++;
    cols.push({ name: line.slice(s, i), start: s });
  }
  return cols;
}

/** A column row → record fields, or an error message. */
function parseRow(line: string, cols: Column[], lineNo: number): Rec | string {
  const ai = cols.findIndex((c) => c.name === 'ADDRESS');
  if (ai < 0) return 'the column header has no ADDRESS column';
  const addrStart = cols[ai]!.start;
  // Positional cut first: RouterOS left-aligns every value under its column name.
  const pre = tokens(line.slice(0, addrStart));
  const aligned = line.length > addrStart && line[addrStart - 1] === ' ' && line[addrStart] !== ' ';
  if (aligned && pre.length >= 1 && !Number.isNaN(parseUint(pre[0]!)) && pre.slice(1).every(isFlagToken)) {
    const kv = new Map<string, string>();
    let ok = true;
    for (let k = 0; k < cols.length; k++) {
      const c = cols[k]!;
      if (c.start < addrStart) continue;
      const end = k + 1 < cols.length ? cols[k + 1]!.start : line.length;
      if (k + 1 < cols.length && line.length > end && line[end - 1] !== ' ' && line[end] !== ' ') ok = false; // value overflows
      kv.set(c.name.toLowerCase(), line.slice(c.start, end).trim());
    }
    const mac = kv.get('mac-address') ?? '';
    if (ok && ipOf(kv.get('address') ?? '') !== null && (mac === '' || macOf(mac) !== null)) {
      return { line: lineNo, text: line, flags: pre.slice(1).join(''), kv };
    }
  }
  // Token fallback (misaligned or overflowing columns): flags, then the columns in order.
  const t = tokens(line);
  let k = 1;
  let flags = '';
  while (k < t.length && isFlagToken(t[k]!) && ipOf(t[k]!) === null) flags += t[k++]!;
  const kv = new Map<string, string>();
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j]!;
    if (c.start < addrStart) continue;
    const name = c.name.toLowerCase();
    const v = t[k];
    if (v === undefined) break;
    if (name === 'address') {
      if (ipOf(v) === null) return `address ${JSON.stringify(v)} is not an IP address`;
      kv.set(name, v);
      k++;
    } else if (name === 'mac-address') {
      if (macOf(v) !== null) {
        kv.set(name, v);
        k++;
      } else kv.set(name, '');
    } else if (name === 'status') {
      if (STATUSES.has(v)) {
        kv.set(name, v);
        k++;
      }
    } else {
      kv.set(name, v);
      k++;
    }
  }
  if (!kv.has('address')) return 'no address';
  if (k < t.length) return `unexpected ${JSON.stringify(t.slice(k).join(' '))} after the columns`;
  return { line: lineNo, text: line, flags, kv };
}

function emit(c: Collector, r: Rec): void {
  const { kv, flags } = r;
  const yes = (k: string): boolean => kv.get(k) === 'yes' || kv.get(k) === 'true';
  if (flags.includes('X') || yes('disabled')) return c.skip('disabled entry');
  if (flags.includes('I') || yes('invalid')) return c.skip('invalid entry');
  const addrText = kv.get('address');
  if (addrText === undefined || addrText === '') return c.error(r.line, 'entry without an address', r.text);
  const ip = ipOf(addrText);
  if (ip === null || ip.port !== undefined) return c.error(r.line, `address ${JSON.stringify(addrText)} is not an IP address`, r.text);
  if (flags.includes('P') || yes('published')) return c.skip('published (proxy-ARP) entry');
  const macText = kv.get('mac-address') ?? '';
  if (macText === '') return c.skip('no MAC (incomplete/failed)');
  const mac = macOf(macText);
  if (mac === null) return c.error(r.line, `mac-address ${JSON.stringify(macText)} is not a MAC address`, r.text);
  const status = kv.get('status');
  if (status !== undefined && status !== '' && !STATUSES.has(status)) return c.error(r.line, `unknown status ${JSON.stringify(status)}`, r.text);
  const f: NeighborFact = { mac, family: ip.family, addr: ip.addr, source: ip.family === 4 ? 'mikrotik-arp' : 'mikrotik-nd', line: r.line };
  if (status) f.state = status.toUpperCase();
  if (flags.includes('R') || yes('router')) f.isRouter = true;
  c.fact(f);
}

export function parseMikrotik(text: string, _opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  let cols: Column[] | null = null;
  let rec: Rec | null = null;
  const flush = (): void => {
    if (rec !== null) emit(c, rec);
    rec = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (isBlank(line)) {
      flush();
      continue;
    }
    const tr = line.trim();
    if (tr.startsWith('Flags:') || tr.startsWith('Columns:')) {
      flush();
      c.skip('header');
      continue;
    }
    if (tr.startsWith('#')) {
      flush();
      cols = parseHeader(line);
      if (!cols.some((x) => x.name === 'ADDRESS')) {
        cols = null;
        c.error(lineNo, 'column header without an ADDRESS column', line);
      } else c.skip('header');
      continue;
    }
    if (tr.startsWith(';;;')) {
      c.skip('comment');
      continue;
    }
    if (tr.startsWith('[') && (tr.includes('] >') || tr.includes('] /'))) {
      flush();
      c.skip('prompt');
      continue;
    }
    const t = tokens(line);
    if (!Number.isNaN(parseUint(t[0]!))) {
      // A new entry: key=value (terse/detail) when any token after the flags has "=" or ";;;".
      let k = 1;
      let flags = '';
      while (k < t.length && !t[k]!.includes('=') && !t[k]!.startsWith(';;;') && isFlagToken(t[k]!) && ipOf(t[k]!) === null) flags += t[k++]!;
      const kvStyle = k === t.length ? cols === null : t[k]!.includes('=') || t[k]!.startsWith(';;;');
      if (kvStyle) {
        flush();
        const kv = new Map<string, string>();
        // Position just after the flags tokens.
        let pos = 0;
        for (let j = 0; j < k; j++) pos = line.indexOf(t[j]!, pos) + t[j]!.length;
        const err = parseKv(line, pos, kv);
        if (err !== null) {
          c.error(lineNo, err, line);
          continue;
        }
        rec = { line: lineNo, text: line, flags, kv };
        continue;
      }
      flush();
      if (cols === null) {
        c.error(lineNo, 'column row before a "#" column header', line);
        continue;
      }
      const r = parseRow(line, cols, lineNo);
      if (typeof r === 'string') c.error(lineNo, r, line);
      else emit(c, r);
      continue;
    }
    if (rec !== null && leadingSpace(line) && tr.includes('=')) {
      const err = parseKv(line, 0, (rec as Rec).kv);
      if (err !== null) {
        c.error(lineNo, err, line);
        rec = null;
      }
      continue;
    }
    flush();
    c.error(lineNo, 'not a RouterOS print line', line);
  }
  flush();
  return c.result('mikrotik');
}
