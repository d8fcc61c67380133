/**
 * Linux `ip neigh show` (iproute2) text and `ip -j neigh show` JSON.
 *
 * Text lines are what iproute2's print_neigh writes:
 *   `[Deleted|Miss] DST [dev IF] [lladdr LL] [router] [proxy] [extern_learn] [offload] [managed]
 *    [ref N used U/C/T probes P] [STATE...] [proto P]`
 * (`dev` is left out by `ip neigh show dev IF`; `-s` adds the cache statistics). Entries without
 * lladdr (FAILED, INCOMPLETE, proxy entries) carry no fact and are skipped, not errors.
 */
import type { ImportOptions, ImportResult, NeighborFact } from './types.js';
import { Collector, hexBytes, ipOf, isBlank, macOf, parseUint, splitLines, tokens } from './util.js';

export const NEIGH_STATES = new Set(['INCOMPLETE', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'NOARP', 'PERMANENT', 'NONE']);
const FLAG_WORDS = new Set(['router', 'proxy', 'extern_learn', 'offload', 'managed', 'extern_valid']);
/** Words followed by one argument. */
const ARG_WORDS = new Set(['dev', 'lladdr', 'ref', 'used', 'probes', 'proto', 'protocol', 'vrf', 'nhid']);

/** Lower-case letters and underscores: the shape of iproute2's flag words. */
function isFlagWord(w: string): boolean {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || c === 95)) return false;
  }
  return w.length > 0;
}

interface Entry {
  dst: string;
  lladdr?: string;
  router: boolean;
  proxy: boolean;
  states: string[];
  /** Seconds since last confirmation (from -s statistics). */
  confirmedAgo?: number;
}

/** Turn one entry into a fact, a skip, or an error message. */
function emit(c: Collector, e: Entry, lineNo: number, text: string, now: number | undefined): void {
  const ip = ipOf(e.dst);
  if (ip === null || ip.port !== undefined) {
    c.error(lineNo, `destination ${JSON.stringify(e.dst)} is not an IP address`, text);
    return;
  }
  if (e.lladdr === undefined) {
    c.skip(e.proxy ? 'proxy entry' : 'no link-layer address (FAILED/INCOMPLETE)');
    return;
  }
  const mac = macOf(e.lladdr);
  if (mac === null) {
    // Tunnels print 4/16-byte link-layer addresses (as hex or as an IP): not an error, no MAC.
    const b = hexBytes(e.lladdr);
    if ((b !== null && b.length !== 6) || ipOf(e.lladdr) !== null) c.skip('link-layer address is not a 48-bit MAC');
    else c.error(lineNo, `lladdr ${JSON.stringify(e.lladdr)} is not a MAC address`, text);
    return;
  }
  if (e.proxy) {
    c.skip('proxy entry');
    return;
  }
  const f: NeighborFact = { mac, family: ip.family, addr: ip.addr, source: 'ip-neigh', line: lineNo };
  if (e.states.length > 0) f.state = e.states.join(',');
  if (e.router) f.isRouter = true;
  if (e.confirmedAgo !== undefined && now !== undefined) f.seenAt = now - e.confirmedAgo * 1000;
  c.fact(f);
}

export function parseIpNeighText(text: string, opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (isBlank(line)) continue;
    const t = tokens(line);
    const lineNo = i + 1;
    let k = 0;
    if (t[0] === 'Deleted' || t[0] === 'Miss') {
      c.skip(t[0] === 'Deleted' ? 'deleted entry' : 'miss event');
      continue;
    }
    if (t[0]!.startsWith('#')) {
      c.skip('comment');
      continue;
    }
    const e: Entry = { dst: t[k++]!, router: false, proxy: false, states: [] };
    let bad: string | null = null;
    while (k < t.length) {
      const w = t[k++]!;
      if (ARG_WORDS.has(w)) {
        const v = t[k++];
        if (v === undefined) {
          bad = `"${w}" without a value`;
          break;
        }
        if (w === 'lladdr') e.lladdr = v;
        else if (w === 'used') {
          const parts = v.split('/');
          const conf = parts.length === 3 ? parseUint(parts[1]!) : NaN;
          if (Number.isNaN(conf)) {
            bad = `"used ${v}" is not U/C/T seconds`;
            break;
          }
          e.confirmedAgo = conf;
        }
      } else if (FLAG_WORDS.has(w)) {
        if (w === 'router') e.router = true;
        else if (w === 'proxy') e.proxy = true;
      } else if (NEIGH_STATES.has(w)) {
        e.states.push(w);
      } else if (isFlagWord(w)) {
        // A flag word from a newer iproute2: ignore it.
      } else {
        bad = `unexpected ${JSON.stringify(w)}`;
        break;
      }
    }
    if (bad !== null) {
      c.error(lineNo, bad, line);
      continue;
    }
    emit(c, e, lineNo, line, opts.now);
  }
  return c.result('ip-neigh');
}

/** Line number (1-based) of every top-level array element's start, scanning JSON text. */
function elementLines(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let line = 1;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) line++;
    if (inStr) {
      if (ch === 92) i++;
      else if (ch === 34) inStr = false;
      continue;
    }
    if (ch === 34) inStr = true;
    else if (ch === 123 || ch === 91) {
      if (depth === 1 && ch === 123) out.push(line);
      depth++;
    } else if (ch === 125 || ch === 93) depth--;
  }
  return out;
}

function lineAtOffset(text: string, off: number): number {
  let line = 1;
  for (let i = 0; i < off && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function parseIpNeighJson(text: string, opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const m = /position (\d+)/.exec(msg);
    const line = m ? lineAtOffset(text, Number(m[1])) : 1;
    c.error(line, `invalid JSON: ${msg}`, splitLines(text)[line - 1] ?? '');
    return c.result('ip-neigh-json');
  }
  if (!Array.isArray(data)) {
    c.error(1, 'expected a JSON array of neighbour objects (ip -j neigh show)', splitLines(text)[0] ?? '');
    return c.result('ip-neigh-json');
  }
  const lines = elementLines(text);
  const textLines = splitLines(text);
  data.forEach((o: unknown, idx) => {
    const lineNo = lines[idx] ?? 1;
    const lineText = JSON.stringify(o) ?? String(o);
    if (o === null || typeof o !== 'object' || Array.isArray(o)) {
      c.error(lineNo, 'array element is not an object', lineText);
      return;
    }
    const r = o as Record<string, unknown>;
    if (r['deleted'] === true) {
      c.skip('deleted entry');
      return;
    }
    if (typeof r['dst'] !== 'string') {
      c.error(lineNo, 'missing "dst" string', lineText);
      return;
    }
    const e: Entry = { dst: r['dst'], router: 'router' in r, proxy: 'proxy' in r, states: [] };
    if (r['lladdr'] !== undefined) {
      if (typeof r['lladdr'] !== 'string') {
        c.error(lineNo, '"lladdr" is not a string', lineText);
        return;
      }
      e.lladdr = r['lladdr'];
    }
    const st = r['state'];
    if (Array.isArray(st)) {
      for (const s of st) if (typeof s === 'string') e.states.push(s);
    } else if (typeof st === 'string') e.states.push(st);
    if (typeof r['confirmed'] === 'number' && Number.isFinite(r['confirmed'])) e.confirmedAgo = r['confirmed'];
    emit(c, e, lineNo, textLines.length > 1 ? (textLines[lineNo - 1] ?? lineText) : lineText, opts.now);
  });
  return c.result('ip-neigh-json');
}
