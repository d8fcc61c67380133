/**
 * The filter expression language of the API and console, parsed into the store's FilterExpr (the
 * query model); nothing here ever becomes SQL text — the store binds every value.
 *
 *   expr       := or
 *   or         := and (("OR" | "||") and)*
 *   and        := unary (("AND" | "&&") unary)*
 *   unary      := ("NOT" | "!") unary | "(" expr ")" | predicate
 *   predicate  := FIELD op value
 *               | FIELD ["NOT"] "IN" "(" value ("," value)* ")"
 *               | FIELD ["NOT"] "<<" prefix              (address inside a prefix, IPv4 or IPv6)
 *   op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   value      := number | "string" | 'string' | bare word (address, MAC, prefix, enum name)
 *
 * Keywords are case-insensitive. FIELD is a schema dimension (src/schema/fields.ts) or an alias
 * (`device` → device_id, ...; see FILTER_ALIASES). Every value is checked against its field's kind
 * and, when the field has one, its closed `values` list. Addresses and prefixes are parsed by
 * src/net/ip.ts / prefix.ts, MACs by src/net/mac.ts. Strings take the escapes \" \' \\ \n \t \r
 * \0 and \uXXXX.
 *
 * Errors are FilterError (a QueryError) with the 0-based `position`, the 1-based `column` and the
 * `reason`, e.g. `unknown field "dst_prot" at column 5 (did you mean dst_port?)`.
 */
import { AddressError, formatIP, parseIP } from '../net/ip.js';
import { formatMac, parseMac } from '../net/mac.js';
import { parsePrefix, prefixRange } from '../net/prefix.js';
import { DIRECTION_NAMES, FIELDS, FIELD_BY_NAME, type FieldDef } from '../schema/fields.js';
import { QueryError } from '../store/compile.js';
import type { CompareOp, FilterExpr, Scalar } from '../store/query.js';

/** A filter expression that does not parse or does not fit the schema. */
export class FilterError extends QueryError {
  override readonly name = 'FilterError' as 'QueryError';
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** 0-based offset into the expression. */
    readonly position: number,
    /** Length of the offending text (at least 1). */
    readonly length = 1,
    /** Optional hint appended in parentheses (e.g. did you mean ...?). */
    readonly hint?: string,
  ) {
    super(`${reason} at column ${position + 1}${hint ? ` (${hint})` : ''}`);
  }
  /** 1-based column. */
  get column(): number {
    return this.position + 1;
  }
  toJSON(): { message: string; reason: string; position: number; column: number; length: number; hint?: string } {
    return { message: this.message, reason: this.reason, position: this.position, column: this.column, length: this.length, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

/**
 * Friendly field names. They match the CLI's group-by aliases (src/cli/query-options.ts) where
 * those name one plain field; `app` and `destination` group on several fields/prefixes and have no
 * single-value filter meaning, so they are not filter aliases.
 */
export const FILTER_ALIASES: Readonly<Record<string, string>> = {
  device: 'device_id',
  exporter: 'exporter_name',
  protocol: 'proto',
  port: 'service_port',
  peer: 'peer_addr',
  source: 'source_kind',
  src: 'src_addr',
  dst: 'dst_addr',
  name: 'dst_name',
};

/** Symbolic values accepted for some numeric fields. */
const PROTO_NAMES: Readonly<Record<string, number>> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, sctp: 132 };
const DIRECTION_VALUES: Readonly<Record<string, number>> = Object.fromEntries(Object.entries(DIRECTION_NAMES).map(([k, v]) => [v, Number(k)]));
export const SYMBOLIC_VALUES: Readonly<Record<string, Readonly<Record<string, number>>>> = { proto: PROTO_NAMES, direction: DIRECTION_VALUES };

const MAX_BY_KIND: Partial<Record<FieldDef['kind'], number>> = {
  u8: 0xff,
  u16: 0xffff,
  u32: 0xffff_ffff,
  u64: Number.MAX_SAFE_INTEGER,
  time: Number.MAX_SAFE_INTEGER,
};

/** Longest expression accepted (characters) and deepest nesting. */
export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 64;
const MAX_IN_VALUES = 1000;

export interface FilterParseOptions {
  /**
   * Device names (hostname → device id) for `device = "tv"`: a device_id value that is not an id
   * but a known name becomes that device's id.
   */
  deviceNames?: ReadonlyMap<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Tokens

type TokKind = 'word' | 'string' | 'op' | 'lparen' | 'rparen' | 'comma' | 'eof';
interface Token {
  kind: TokKind;
  /** Source text (for strings: the decoded value). */
  text: string;
  pos: number;
  /** Length in the source. */
  len: number;
}

const OPS = ['<<', '<=', '>=', '!=', '<>', '==', '&&', '||', '=', '<', '>', '!'] as const;

function isWordChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || // 0-9
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    c === 95 || // _
    c === 46 || // .
    c === 58 || // :
    c === 47 || // /
    c === 45 || // -
    c === 37 || // % (zone ids, rejected later with a reason)
    c === 43 // + (ISO offsets)
  );
}

function describeChar(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c < 32 || c === 127) return `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
  return `character ${JSON.stringify(ch)}`;
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    if (c === 40) {
      out.push({ kind: 'lparen', text: '(', pos: i, len: 1 });
      i++;
      continue;
    }
    if (c === 41) {
      out.push({ kind: 'rparen', text: ')', pos: i, len: 1 });
      i++;
      continue;
    }
    if (c === 44) {
      out.push({ kind: 'comma', text: ',', pos: i, len: 1 });
      i++;
      continue;
    }
    if (c === 34 || c === 39) {
      const quote = src[i]!;
      const start = i;
      let val = '';
      i++;
      for (;;) {
        if (i >= n) throw new FilterError(`unterminated string (missing closing ${quote})`, start, n - start);
        const ch = src[i]!;
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new FilterError(`unterminated string (missing closing ${quote})`, start, n - start);
          const simple: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', n: '\n', t: '\t', r: '\r', '0': '\0' };
          if (simple[e] !== undefined) {
            val += simple[e];
            i += 2;
          } else if (e === 'u') {
            const hex = src.slice(i + 2, i + 6);
            let ok = hex.length === 4;
            for (let k = 0; k < hex.length && ok; k++) {
              const h = hex.charCodeAt(k);
              ok = (h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102);
            }
            if (!ok) throw new FilterError('invalid \\u escape: expected 4 hex digits', i, Math.min(6, n - i));
            val += String.fromCharCode(parseInt(hex, 16));
            i += 6;
          } else {
            throw new FilterError(`unknown escape \\${e} in string (use \\" \\' \\\\ \\n \\t \\r \\0 \\uXXXX)`, i, 2);
          }
          continue;
        }
        const code = ch.charCodeAt(0);
        if (code < 32 || code === 127) throw new FilterError(`${describeChar(ch)} in string (write it as an escape)`, i);
        val += ch;
        i++;
      }
      out.push({ kind: 'string', text: val, pos: start, len: i - start });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      out.push({ kind: 'op', text: op, pos: i, len: op.length });
      i += op.length;
      continue;
    }
    if (isWordChar(c)) {
      const start = i;
      while (i < n && isWordChar(src.charCodeAt(i))) i++;
      out.push({ kind: 'word', text: src.slice(start, i), pos: start, len: i - start });
      continue;
    }
    throw new FilterError(`unexpected ${describeChar(String.fromCodePoint(src.codePointAt(i)!))}`, i);
  }
  out.push({ kind: 'eof', text: '', pos: n, len: 0 });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Suggestions

function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // optimal string alignment: insertions, deletions, substitutions and adjacent transpositions
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/** The closest known name to `word`, when it is close enough to be a typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(w.length / 3)) ? best : undefined;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
const filterableNames = (): string[] => [...FIELDS.filter((f) => f.role === 'dimension').map((f) => f.name), ...Object.keys(FILTER_ALIASES)];

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly opts: FilterParseOptions,
  ) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private isKeyword(t: Token, kw: string): boolean {
    return t.kind === 'word' && t.text.toLowerCase() === kw;
  }
  private describe(t: Token): string {
    if (t.kind === 'eof') return 'end of expression';
    if (t.kind === 'string') return `string ${JSON.stringify(t.text)}`;
    return JSON.stringify(t.text);
  }

  parse(): FilterExpr {
    if (this.peek().kind === 'eof') throw new FilterError('empty filter expression', 0);
    const e = this.or(0);
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (t.kind === 'rparen') throw new FilterError('unbalanced ")"', t.pos);
      throw new FilterError(`expected AND, OR or the end of the expression, got ${this.describe(t)}`, t.pos, t.len);
    }
    return e;
  }

  private or(depth: number): FilterExpr {
    const args = [this.and(depth)];
    for (;;) {
      const t = this.peek();
      if (this.isKeyword(t, 'or') || (t.kind === 'op' && t.text === '||')) {
        this.next();
        args.push(this.and(depth));
      } else break;
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  }

  private and(depth: number): FilterExpr {
    const args = [this.unary(depth)];
    for (;;) {
      const t = this.peek();
      if (this.isKeyword(t, 'and') || (t.kind === 'op' && t.text === '&&')) {
        this.next();
        args.push(this.unary(depth));
      } else break;
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  }

  private unary(depth: number): FilterExpr {
    const t = this.peek();
    if (depth > MAX_DEPTH) throw new FilterError(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, t.pos, t.len);
    if (this.isKeyword(t, 'not') || (t.kind === 'op' && t.text === '!')) {
      this.next();
      return { op: 'not', arg: this.unary(depth + 1) };
    }
    if (t.kind === 'lparen') {
      this.next();
      if (this.peek().kind === 'rparen') throw new FilterError('empty parentheses', this.peek().pos);
      const e = this.or(depth + 1);
      const close = this.peek();
      if (close.kind !== 'rparen') {
        if (close.kind === 'eof') throw new FilterError('missing ")" to close the "(" here', t.pos);
        throw new FilterError(`expected ")", AND or OR, got ${this.describe(close)}`, close.pos, close.len);
      }
      this.next();
      return e;
    }
    return this.predicate();
  }

  private field(t: Token): FieldDef {
    if (t.kind !== 'word') {
      if (t.kind === 'eof') throw new FilterError('expected a field name, got the end of the expression', t.pos);
      throw new FilterError(`expected a field name, got ${this.describe(t)}`, t.pos, Math.max(1, t.len));
    }
    const lower = t.text.toLowerCase();
    if (KEYWORDS.has(lower)) throw new FilterError(`expected a field name, got the keyword ${t.text.toUpperCase()}`, t.pos, t.len);
    const name = FILTER_ALIASES[lower] ?? lower;
    const def = FIELD_BY_NAME.get(name);
    if (!def) {
      const s = suggest(lower, filterableNames());
      throw new FilterError(`unknown field ${JSON.stringify(t.text)}`, t.pos, t.len, s ? `did you mean ${s}?` : `fields: GET /api/v1/fields`);
    }
    if (def.role === 'metric') throw new FilterError(`${def.name} is a metric (summed), not a dimension: it cannot be filtered on`, t.pos, t.len);
    if (def.role === 'time') throw new FilterError(`${def.name} is the time axis: use the since/until parameters, not the filter`, t.pos, t.len);
    return def;
  }

  private predicate(): FilterExpr {
    const ft = this.next();
    const def = this.field(ft);
    let t = this.next();
    let negate = false;
    if (this.isKeyword(t, 'not')) {
      negate = true;
      t = this.next();
      if (!this.isKeyword(t, 'in') && !(t.kind === 'op' && t.text === '<<')) {
        throw new FilterError(`expected IN or << after NOT, got ${this.describe(t)}`, t.pos, Math.max(1, t.len));
      }
    }
    if (this.isKeyword(t, 'in')) {
      const open = this.next();
      if (open.kind !== 'lparen') throw new FilterError(`expected "(" after IN, got ${this.describe(open)}`, open.pos, Math.max(1, open.len));
      const values: Scalar[] = [];
      for (;;) {
        const v = this.next();
        if (v.kind === 'rparen' && values.length === 0) throw new FilterError('IN needs at least one value', v.pos);
        values.push(this.value(def, v, 'in'));
        if (values.length > MAX_IN_VALUES) throw new FilterError(`too many values in IN (at most ${MAX_IN_VALUES})`, v.pos, v.len);
        const sep = this.next();
        if (sep.kind === 'rparen') break;
        if (sep.kind !== 'comma') {
          if (sep.kind === 'eof') throw new FilterError('missing ")" to close the IN list', open.pos);
          throw new FilterError(`expected "," or ")" in the IN list, got ${this.describe(sep)}`, sep.pos, Math.max(1, sep.len));
        }
      }
      const e: FilterExpr = { op: 'in', field: def.name, values };
      return negate ? { ...e, negate: true } : e;
    }
    if (t.kind === 'op' && t.text === '<<') {
      const e = this.prefix(def, ft, this.next());
      return negate ? { op: 'not', arg: e } : e;
    }
    if (t.kind !== 'op' || !['=', '==', '!=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
      throw new FilterError(`expected a comparison (= != < <= > >=), IN or << after ${def.name}, got ${this.describe(t)}`, t.pos, Math.max(1, t.len));
    }
    const cmp: CompareOp = t.text === '==' ? '=' : t.text === '<>' ? '!=' : (t.text as CompareOp);
    const vt = this.next();
    if (vt.kind === 'op' && (vt.text === '=' || vt.text === '<' || vt.text === '>')) {
      throw new FilterError(`unexpected ${JSON.stringify(vt.text)} after ${JSON.stringify(t.text)}`, vt.pos, vt.len, 'use = != < <= > >=');
    }
    const value = this.value(def, vt, cmp);
    return { op: 'cmp', field: def.name, cmp, value };
  }

  private prefix(def: FieldDef, ft: Token, vt: Token): FilterExpr {
    if (def.kind !== 'addr') throw new FilterError(`<< (inside a prefix) needs an address field; ${def.name} is a ${def.kind} field`, ft.pos, ft.len);
    if (vt.kind !== 'word' && vt.kind !== 'string') {
      throw new FilterError(`expected a prefix like 2001:db8::/32 or 192.0.2.0/24 after <<, got ${this.describe(vt)}`, vt.pos, Math.max(1, vt.len));
    }
    try {
      const p = parsePrefix(vt.text);
      const { first, last } = prefixRange(p);
      return { op: 'prefix', field: def.name, first, last };
    } catch (e) {
      if (e instanceof AddressError) throw new FilterError(reasonOf(e), vt.pos, vt.len);
      throw e;
    }
  }

  /** A value token checked against the field's kind and closed value list. */
  private value(def: FieldDef, t: Token, ctx: CompareOp | 'in'): Scalar {
    if (t.kind !== 'word' && t.kind !== 'string') {
      if (t.kind === 'eof') throw new FilterError(`expected a value for ${def.name}, got the end of the expression`, t.pos);
      throw new FilterError(`expected a value for ${def.name}, got ${this.describe(t)}`, t.pos, Math.max(1, t.len));
    }
    const fail: (reason: string, hint?: string) => never = (reason, hint) => {
      throw new FilterError(reason, t.pos, t.len, hint);
    };
    const text = t.text;
    if (t.kind === 'word' && KEYWORDS.has(text.toLowerCase())) fail(`expected a value for ${def.name}, got the keyword ${text.toUpperCase()}`);
    let v: Scalar;
    switch (def.kind) {
      case 'addr': {
        if (text.includes('/')) fail(`${JSON.stringify(text)} is a prefix: use ${def.name} << ${text}`);
        try {
          const p = parseIP(text);
          if (p.zone !== undefined) fail(`zone IDs (%${p.zone}) are not stored; write the address without it`);
          v = p.addr;
        } catch (e) {
          if (e instanceof AddressError) fail(reasonOf(e));
          throw e;
        }
        break;
      }
      case 'mac': {
        const lower = text.toLowerCase();
        if (t.kind === 'word' && /^\d+$/.test(text)) {
          v = integer(def, text, fail);
          break;
        }
        try {
          v = parseMac(lower);
        } catch (e) {
          if (e instanceof AddressError) fail(reasonOf(e));
          throw e;
        }
        break;
      }
      case 'string': {
        v = text;
        if (def.name === 'device_id') {
          // a MAC written any way becomes the id's form (lower-case, colons); a known name, its id
          try {
            v = formatMac(parseMac(text));
          } catch {
            const id = this.opts.deviceNames?.get(text);
            if (id !== undefined) v = id;
          }
        }
        if (def.name === 'source_kind' && typeof v === 'string') v = v.toLowerCase();
        break;
      }
      case 'time': {
        if (t.kind === 'string' || !/^\d+$/.test(text)) {
          const ms = Date.parse(text);
          if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(text)) fail(`${def.name} is a time: expected epoch milliseconds or an ISO date/time like "2026-01-05T12:00Z", got ${JSON.stringify(text)}`);
          v = ms;
        } else v = integer(def, text, fail);
        break;
      }
      default: {
        const sym = SYMBOLIC_VALUES[def.name]?.[text.toLowerCase()];
        if (sym !== undefined && t.kind === 'word') v = sym;
        else if (t.kind === 'string') fail(`${def.name} is a number field (${def.kind}): write the number without quotes`);
        else v = integer(def, text, fail);
      }
    }
    if (def.values && (ctx === '=' || ctx === '!=' || ctx === 'in') && !def.values.includes(v as string | number)) {
      const names = SYMBOLIC_VALUES[def.name];
      const list = def.values.map((x) => (names ? `${x} (${Object.keys(names).find((k) => names[k] === x)})` : String(x))).join(', ');
      const s = typeof v === 'string' ? suggest(v, def.values.map(String)) : undefined;
      fail(`${def.name} cannot be ${JSON.stringify(typeof v === 'string' ? v : text)}: its values are ${list}`, s ? `did you mean ${s}?` : undefined);
    }
    return v;
  }
}

function integer(def: FieldDef, text: string, fail: (reason: string, hint?: string) => never): number {
  const max = def.kind === 'mac' ? 0xffff_ffff_ffff : (MAX_BY_KIND[def.kind] ?? Number.MAX_SAFE_INTEGER);
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^\d+$/.test(text)) n = Number(text);
  else {
    const names = SYMBOLIC_VALUES[def.name];
    const s = names ? suggest(text, Object.keys(names)) : undefined;
    return fail(
      `${def.name} is a number field (${def.kind}): expected an integer from 0 to ${max}${names ? ` or one of ${Object.keys(names).join(', ')}` : ''}, got ${JSON.stringify(text)}`,
      s ? `did you mean ${s}?` : undefined,
    );
  }
  if (!Number.isSafeInteger(n) || n > max) return fail(`${text} is out of range for ${def.name} (${def.kind}: 0 to ${max})`);
  return n;
}

function reasonOf(e: AddressError): string {
  return e.message;
}

/** Parse a filter expression into the query model, or throw FilterError with the position. */
export function parseFilter(text: string, opts: FilterParseOptions = {}): FilterExpr {
  if (typeof text !== 'string') throw new FilterError('the filter must be a string', 0);
  if (text.length > MAX_FILTER_LENGTH) throw new FilterError(`filter too long (${text.length} characters; at most ${MAX_FILTER_LENGTH})`, MAX_FILTER_LENGTH);
  return new Parser(tokenize(text), opts).parse();
}

/** Render a FilterExpr back as filter-language text (addresses per RFC 5952). Round-trips through parseFilter. */
export function formatFilter(e: FilterExpr): string {
  const val = (field: string, v: Scalar): string => {
    const def = FIELD_BY_NAME.get(field);
    if (v instanceof Uint8Array) return formatIP(v);
    if (def?.kind === 'mac' && typeof v === 'number') return formatMac(v);
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  };
  switch (e.op) {
    case 'and':
    case 'or':
      return e.args.length === 0 ? (e.op === 'and' ? 'NOT (family IN (4) AND family IN (6))' : 'family IN (4) AND family IN (6)') : e.args.map((a) => (a.op === 'and' || a.op === 'or' ? `(${formatFilter(a)})` : formatFilter(a))).join(e.op === 'and' ? ' AND ' : ' OR ');
    case 'not':
      return `NOT (${formatFilter(e.arg)})`;
    case 'cmp':
      return `${e.field} ${e.cmp} ${val(e.field, e.value)}`;
    case 'in':
      return `${e.field} ${e.negate ? 'NOT IN' : 'IN'} (${e.values.map((v) => val(e.field, v)).join(', ')})`;
    case 'prefix': {
      // the smallest prefix covering [first, last] (parseFilter only makes exact prefixes)
      let bits = 0;
      for (let i = 0; i < 16 && e.first[i] === e.last[i]; i++) bits += 8;
      if (bits < 128) {
        const i = bits >> 3;
        const x = e.first[i]! ^ e.last[i]!;
        bits += Math.clz32(x) - 24;
      }
      const mapped = e.first.slice(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff)) && bits >= 96;
      return `${e.field} << ${formatIP(e.first, mapped ? 4 : 6)}/${mapped ? bits - 96 : bits}`;
    }
  }
}
