/**
 * Per-template record decoders, generated as JavaScript source and compiled by V8.
 *
 * The op-list interpreter (FlowDecoder.readRecord + flowRecord) reads each field through a switch
 * on its kind into a slot array, then builds the record by asking, field by field, whether the
 * template has it. For a template that decodes many records, this module writes one function in
 * which every one of those questions is answered at generation time: each field the record needs
 * is read at its constant offset with the byte expression of its length, and only the branches
 * that depend on the record's values (address family from ipVersion, ICMP, sampling announced
 * in the record) are left.
 *
 * Scope: every flow template without packet sections (IE 315/313): fixed-length ones (routers,
 * softflowd, pmacct, MikroTik), variable-length ones (nProbe and other exporters' strings; the
 * length checks come first, then the fields at their offsets from the end of each variable field)
 * and RFC 5103 biflows (YAF; the reverse record as the interpreter makes it). Options templates
 * (a few records, exporter state) and PSAMP packet sections stay with the interpreter.
 *
 * The generated code must produce exactly the records the interpreter produces; the decoder's
 * tests decode the same datagrams (random templates, the fuzz corpus) both ways and compare.
 *
 * Only integers derived from the template (offsets, lengths, slot numbers) are written into the
 * source, each checked with Number.isInteger, so an exporter cannot inject code.
 */
import { emptyFlow, type FlowRecord, type SourceKind } from '../../schema/fields.js';
import * as I from './ie.js';
import { RD_MAC, RD_NTP_NS, RD_NTP_US, RD_OFFSET, RD_SECTION, RD_UINT } from './ie.js';
import { RD_VARLEN, type Template } from './template.js';

/** A reusable record and the address arrays it owns (transient mode). */
export interface PooledRecord {
  r: FlowRecord;
  src: Uint8Array;
  dst: Uint8Array;
}

/** What a generated function needs of the domain it decodes for. */
export interface RecordDomain {
  readonly domain: number;
  readonly samplers: ReadonlyMap<number, number>;
  readonly defaultRate: number;
  readonly sysInitMs: number;
}

/** What a generated function needs of the decoder (FlowDecoder implements it). */
export interface RecordHost {
  readonly transient: boolean;
  pooled(): PooledRecord;
  readonly ctx: { readonly version: 9 | 10; readonly kind: SourceKind; readonly exportMs: number; readonly sysUptime: number; readonly receivedAt: number };
  readonly exporterAddr: Uint8Array;
  readonly exporterName: string;
  readonly records: FlowRecord[];
  /** The rate of a record that carries none: its sampler's, else the domain's default, else 1. */
  samplerRate(dom: RecordDomain, sid: number): number;
  noteRate(rate: number): void;
  noAddress(): void;
}

/**
 * Decodes the record at `p` of `b`, the set ending at `end`; returns the record's end, or -1 when a
 * variable-length field runs past `end` (nothing decoded). For a fixed-length template the caller
 * has checked that the record fits.
 */
export type RecordFn = (d: RecordHost, b: Uint8Array, p: number, dom: RecordDomain, end: number) => number;

const TWO32 = 0x1_0000_0000;
const MAX_U32 = 0xffff_ffff;
const NTP_OFFSET_S = 2_208_988_800;

/** An NTP 64-bit timestamp at `o` → epoch ms (dateTimeMicro/Nanoseconds). */
export function ntpMs(b: Uint8Array, o: number): number {
  const sec = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  const frac = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
  return (sec - NTP_OFFSET_S) * 1000 + Math.floor((frac * 1000) / TWO32);
}

/** A sampling rate as stored: 1 for none, 0 or nonsense; whole; at most 2^32 - 1. */
export function clampRate(rate: number): number {
  if (!(rate >= 1)) return 1;
  return Math.min(MAX_U32, Math.round(rate));
}

/** Helpers the generated code calls (the interpreter's own). */
const HELPERS = { emptyFlow, ntpMs, clampRate };

/** Whether a template is decoded by a generated function (see the module comment). */
export function compilable(t: Template): boolean {
  const h = t.has;
  return !t.options && !h[I.S_FRAME] && !h[I.S_IPHDR];
}

function int(n: number): string {
  if (!Number.isInteger(n)) throw new Error(`codegen: not an integer: ${n}`);
  return String(n);
}

/** The source of a template's record function (the body of `function (d, b, p, dom, end)`, see RecordFn). */
export function recordSource(t: Template): string {
  if (!compilable(t)) throw new Error(`template ${t.id} is not compilable`);
  const h = t.has;
  const kind = new Int32Array(I.NUM_SLOTS).fill(-1);
  const off = new Int32Array(I.NUM_SLOTS);
  const len = new Int32Array(I.NUM_SLOTS);
  /** The fixed segment a slot's field is in: 0 from the record's start, k after the k-th variable-length field. */
  const segOf = new Int32Array(I.NUM_SLOTS);
  const base = (k: number): string => (k === 0 ? 'p' : `p${int(k)}`);
  // Variable-length fields: their lengths are read and every segment checked against `end` before
  // any field is read (as the interpreter returns -1 before it builds a record).
  const prologue: string[] = [`if (p + ${int(t.firstSegLen)} > end) return -1;`];
  let seg = 0;
  let lastSegLen = t.firstSegLen;
  for (let i = 0; i < t.ops.length; i += 4) {
    const s = t.ops[i + 1]!;
    if (t.ops[i] === RD_VARLEN) {
      const from = base(seg);
      const k = int(++seg);
      lastSegLen = s; // a varlen op's "slot" is the length of the fixed segment after it
      prologue.push(
        `const o${k} = ${from} + ${int(t.ops[i + 2]!)}; if (o${k} >= end) return -1;`,
        `let l${k} = b[o${k}], q${k} = o${k} + 1;`,
        `if (l${k} === 255) { if (o${k} + 3 > end) return -1; l${k} = (b[o${k} + 1] << 8) | b[o${k} + 2]; q${k} = o${k} + 3; }`,
        `const p${k} = q${k} + l${k}; if (p${k} + ${int(s)} > end) return -1;`,
      );
      continue;
    }
    kind[s] = t.ops[i]!;
    off[s] = t.ops[i + 2]!;
    len[s] = t.ops[i + 3]!;
    segOf[s] = seg;
  }
  const recordEnd = `${base(seg)} + ${int(lastSegLen)}`;
  /** The byte expression reading slot s (as the interpreter's readRecord would). */
  const read = (s: number): string => {
    const P = base(segOf[s]!);
    const B = (k: number): string => `b[${P} + ${int(k)}]`;
    const o = off[s]!;
    switch (kind[s]) {
      case RD_UINT: {
        const l = len[s]!;
        if (l === 1) return B(o);
        if (l === 2) return `((${B(o)} << 8) | ${B(o + 1)})`;
        const u32 = (q: number): string => `(((${B(q)} << 24) | (${B(q + 1)} << 16) | (${B(q + 2)} << 8) | ${B(q + 3)}) >>> 0)`;
        if (l === 4) return u32(o);
        if (l === 8) return `(${u32(o)} * ${int(TWO32)} + ${u32(o + 4)})`;
        let e = B(o);
        for (let i = 1; i < l; i++) e = `(${e} * 256 + ${B(o + i)})`;
        return e;
      }
      case RD_OFFSET:
        return `(${P} + ${int(o)})`;
      case RD_MAC:
        return `(((${B(o)} << 8) | ${B(o + 1)}) * ${int(TWO32)} + (((${B(o + 2)} << 24) | (${B(o + 3)} << 16) | (${B(o + 4)} << 8) | ${B(o + 5)}) >>> 0))`;
      case RD_NTP_US:
      case RD_NTP_NS:
        return `H.ntpMs(b, ${P} + ${int(o)})`;
      case RD_SECTION:
      default:
        throw new Error(`codegen: slot ${s} has no readable op`);
    }
  };
  // Each slot the record uses is read once, into a const, declared at the top.
  const used = new Set<number>();
  const v = (s: number): string => {
    if (!h[s]) throw new Error(`codegen: slot ${s} is not in template ${t.id}`);
    used.add(s);
    return `v${int(s)}`;
  };
  /** Whether the value of a `len`-byte integer can exceed 2^32 - 1 (the interpreter clamps it). */
  const clamp32 = (s: number): string => (len[s]! > 4 ? `Math.min(${v(s)}, ${int(MAX_U32)})` : v(s));

  const L: string[] = [];
  // Family: ipVersion, else the non-zero address IE, else whichever address IEs exist.
  const has4 = h[I.S_SRC4] === 1 || h[I.S_DST4] === 1;
  const has6 = h[I.S_SRC6] === 1 || h[I.S_DST6] === 1;
  let fallback = '0';
  if (has4 && has6) {
    const zero16 = (s: number): string => {
      const parts: string[] = [];
      for (let i = 0; i < 16; i++) parts.push(`b[${v(s)} + ${i}] === 0`);
      return `(${parts.join(' && ')})`;
    };
    const z6 = [h[I.S_SRC6] ? zero16(I.S_SRC6) : '', h[I.S_DST6] ? zero16(I.S_DST6) : ''].filter(Boolean).join(' && ');
    fallback = `(${z6} ? 4 : 6)`;
  } else if (has6) fallback = '6';
  else if (has4) fallback = '4';
  if (h[I.S_IPVER]) L.push(`let fam = ${v(I.S_IPVER)}; if (fam !== 4 && fam !== 6) fam = ${fallback};`);
  else L.push(`const fam = ${fallback};`);
  if (!has4 && !has6) L.push(`if (fam === 0) { d.noAddress(); return ${recordEnd}; }`);

  // Sampling: in the record, else the record's sampler, else the domain's default, else 1.
  const rateTerms: string[] = [];
  if (h[I.S_SAMP_INT]) rateTerms.push(`${v(I.S_SAMP_INT)} > 0 ? ${v(I.S_SAMP_INT)}`);
  if (h[I.S_SAMPLER_INT]) rateTerms.push(`${v(I.S_SAMPLER_INT)} > 0 ? ${v(I.S_SAMPLER_INT)}`);
  if (h[I.S_PKT_INTERVAL]) {
    const space = h[I.S_PKT_SPACE] ? v(I.S_PKT_SPACE) : '0';
    rateTerms.push(`${v(I.S_PKT_INTERVAL)} > 0 ? (${v(I.S_PKT_INTERVAL)} + ${space}) / ${v(I.S_PKT_INTERVAL)}`);
  }
  if (h[I.S_SAMP_SIZE] && h[I.S_SAMP_POP]) rateTerms.push(`${v(I.S_SAMP_SIZE)} > 0 ? ${v(I.S_SAMP_POP)} / ${v(I.S_SAMP_SIZE)}`);
  const sid = h[I.S_SAMPLER_ID] ? v(I.S_SAMPLER_ID) : h[I.S_SELECTOR_ID] ? v(I.S_SELECTOR_ID) : '-1';
  if (rateTerms.length > 0) {
    L.push(`let rate = ${rateTerms.join(' : ')} : 0;`);
    L.push(`if (rate === 0) rate = d.samplerRate(dom, ${sid});`);
    L.push(`rate = H.clampRate(rate);`);
  } else L.push(`const rate = H.clampRate(d.samplerRate(dom, ${sid}));`);
  L.push(`d.noteRate(rate);`);

  L.push(`const ctx = d.ctx;`);
  L.push(`const slot = d.transient ? d.pooled() : null;`);
  L.push(`const r = slot !== null ? slot.r : H.emptyFlow();`);
  L.push(`r.time_received = ctx.receivedAt;`);
  L.push(`r.source_kind = ctx.kind;`);
  L.push(`r.exporter_addr = d.exporterAddr;`);
  L.push(`r.exporter_name = d.exporterName;`);
  L.push(`r.observation_domain = dom.domain;`);
  L.push(`r.sampling_rate = rate;`);
  L.push(`r.family = fam;`);
  const addr4 = (s: number, which: 'src' | 'dst'): string => {
    if (!h[s]) return `r.${which}_addr = M.MAPPED_ZERO;`;
    const o = v(s);
    return (
      `{ const a = slot !== null ? slot.${which} : new Uint8Array(16); a.fill(0, 0, 10); a[10] = 255; a[11] = 255; ` +
      `a[12] = b[${o}]; a[13] = b[${o} + 1]; a[14] = b[${o} + 2]; a[15] = b[${o} + 3]; r.${which}_addr = a; }`
    );
  };
  const addr6 = (s: number, which: 'src' | 'dst'): string => {
    if (!h[s]) return `r.${which}_addr = M.ZERO16;`;
    const o = v(s);
    const copy: string[] = [];
    for (let i = 0; i < 16; i++) copy.push(`a[${i}] = b[${o} + ${i}];`);
    return `{ const a = slot !== null ? slot.${which} : new Uint8Array(16); ${copy.join(' ')} r.${which}_addr = a; }`;
  };
  L.push(`if (fam === 4) { ${addr4(I.S_SRC4, 'src')} ${addr4(I.S_DST4, 'dst')} }`);
  L.push(`else { ${addr6(I.S_SRC6, 'src')} ${addr6(I.S_DST6, 'dst')} }`);
  L.push(`const proto = ${h[I.S_PROTO] ? `${v(I.S_PROTO)} & 255` : '0'};`);
  L.push(`r.proto = proto;`);
  L.push(`r.src_port = ${h[I.S_SRC_PORT] ? `${v(I.S_SRC_PORT)} & 65535` : '0'};`);
  L.push(`r.dst_port = ${h[I.S_DST_PORT] ? `${v(I.S_DST_PORT)} & 65535` : '0'};`);
  {
    // ICMP: type*256+code in dst_port, from the ICMP IEs when present.
    const t6: string[] = [];
    if (h[I.S_ICMP_TC6]) t6.push(v(I.S_ICMP_TC6));
    else if (h[I.S_ICMP_T6]) t6.push(`${v(I.S_ICMP_T6)} * 256 + ${h[I.S_ICMP_C6] ? v(I.S_ICMP_C6) : '0'}`);
    let t4 = '-1';
    if (h[I.S_ICMP_TC4]) t4 = v(I.S_ICMP_TC4);
    else if (h[I.S_ICMP_T4]) t4 = `${v(I.S_ICMP_T4)} * 256 + ${h[I.S_ICMP_C4] ? v(I.S_ICMP_C4) : '0'}`;
    const tc = t6.length > 0 ? `proto === 58 ? ${t6[0]} : ${t4}` : t4;
    L.push(
      `if (proto === 1 || proto === 58) { const tc = ${tc}; ` +
        `if (tc >= 0 && (tc > 0 || r.dst_port === 0)) r.dst_port = tc & 65535; r.src_port = 0; }`,
    );
  }
  L.push(`r.tcp_flags = ${h[I.S_TCP_FLAGS] ? `${v(I.S_TCP_FLAGS)} & 255` : '0'};`);
  L.push(`r.in_if = ${h[I.S_IN_IF] ? clamp32(I.S_IN_IF) : '0'};`);
  L.push(`r.out_if = ${h[I.S_OUT_IF] ? clamp32(I.S_OUT_IF) : '0'};`);
  L.push(`r.src_asn = ${h[I.S_SRC_AS] ? clamp32(I.S_SRC_AS) : '0'};`);
  L.push(`r.dst_asn = ${h[I.S_DST_AS] ? clamp32(I.S_DST_AS) : '0'};`);
  L.push(`r.src_mac = ${t.srcMacSlot >= 0 ? v(t.srcMacSlot) : '0'};`);
  L.push(`r.dst_mac = ${t.dstMacSlot >= 0 ? v(t.dstMacSlot) : '0'};`);
  // flowDirection: 0 ingress, 1 egress (enrichment recomputes it from local prefixes).
  L.push(`r.direction = ${h[I.S_DIR] ? `${v(I.S_DIR)} === 0 ? 1 : ${v(I.S_DIR)} === 1 ? 2 : 0` : '0'};`);
  L.push(`r.peer_addr = r.direction === 1 ? r.src_addr : r.dst_addr;`);
  L.push(`r.bytes = ${t.bytesSlot >= 0 ? `${v(t.bytesSlot)} * rate` : '0'};`);
  L.push(`r.packets = ${t.pktsSlot >= 0 ? `${v(t.pktsSlot)} * rate` : '0'};`);

  // Times: the first time IE present, in the interpreter's order of preference.
  const uptime = (s: number): string => {
    const init = h[I.S_SYSINIT] ? v(I.S_SYSINIT) : 'dom.sysInitMs';
    return `(ctx.version === 9 ? ctx.exportMs - ((ctx.sysUptime - ${v(s)}) | 0) : ${init} > 0 ? ${init} + ${v(s)} : -1)`;
  };
  const time = (ms: number, s: number, us: number, ns: number, dus: number, up: number): string => {
    if (h[ms]) return v(ms);
    if (h[s]) return `${v(s)} * 1000`;
    if (h[us]) return v(us);
    if (h[ns]) return v(ns);
    if (h[dus]) return `Math.floor(ctx.exportMs - ${v(dus)} / 1000)`;
    if (h[up]) return uptime(up);
    return '-1';
  };
  L.push(`let ts = ${time(I.S_START_MS, I.S_START_S, I.S_START_US, I.S_START_NS, I.S_START_DUS, I.S_FIRST_UP)};`);
  L.push(`let te = ${time(I.S_END_MS, I.S_END_S, I.S_END_US, I.S_END_NS, I.S_END_DUS, I.S_LAST_UP)};`);
  L.push(`if (ts < 0 && te < 0) ts = te = ctx.exportMs; else if (ts < 0) ts = te; else if (te < 0) te = ts;`);
  L.push(`r.time_start = ts;`);
  L.push(`r.time_end = te;`);
  L.push(`d.records.push(r);`);

  // RFC 5103 biflow: the reverse direction as its own record when it carried traffic.
  if (t.rBytesSlot >= 0 || t.rPktsSlot >= 0) {
    const rb = t.rBytesSlot >= 0 ? v(t.rBytesSlot) : '0';
    const rp = t.rPktsSlot >= 0 ? v(t.rPktsSlot) : '0';
    L.push(`if (${rb} > 0 || ${rp} > 0) {`);
    // not every field is assigned below: a reused record starts from emptyFlow()'s values
    L.push(`const q = d.transient ? Object.assign(d.pooled().r, M.EMPTY) : H.emptyFlow();`);
    for (const f of ['time_received', 'source_kind', 'exporter_addr', 'exporter_name', 'observation_domain']) L.push(`q.${f} = r.${f};`);
    L.push(`q.sampling_rate = rate;`);
    L.push(`q.family = fam;`);
    L.push(`q.src_addr = r.dst_addr;`);
    L.push(`q.dst_addr = r.src_addr;`);
    L.push(`q.proto = proto;`);
    L.push(`if (proto === 1 || proto === 58) q.dst_port = 0; else { q.src_port = r.dst_port; q.dst_port = r.src_port; }`);
    L.push(`q.tcp_flags = ${h[I.R_TCP_FLAGS] ? `${v(I.R_TCP_FLAGS)} & 255` : '0'};`);
    L.push(`q.in_if = r.out_if; q.out_if = r.in_if; q.src_asn = r.dst_asn; q.dst_asn = r.src_asn;`);
    L.push(`q.src_mac = ${h[I.R_SRC_MAC] ? v(I.R_SRC_MAC) : 'r.dst_mac'};`);
    L.push(`q.dst_mac = ${h[I.R_DST_MAC] ? v(I.R_DST_MAC) : 'r.src_mac'};`);
    L.push(`q.direction = r.direction === 1 ? 2 : r.direction === 2 ? 1 : 0;`);
    L.push(`q.peer_addr = q.direction === 1 ? q.src_addr : q.dst_addr;`);
    L.push(`q.bytes = ${rb} * rate;`);
    L.push(`q.packets = ${rp} * rate;`);
    // The reverse times when the record has any, else the forward ones.
    const rtime = (ms: number, s: number, dus: number): string => {
      if (h[ms]) return v(ms);
      if (h[s]) return `${v(s)} * 1000`;
      if (h[dus]) return `Math.floor(ctx.exportMs - ${v(dus)} / 1000)`;
      return '-1';
    };
    const rs = rtime(I.R_START_MS, I.R_START_S, I.R_START_DUS);
    const re = rtime(I.R_END_MS, I.R_END_S, I.R_END_DUS);
    if (rs === '-1' && re === '-1') L.push(`q.time_start = ts; q.time_end = te;`);
    else {
      L.push(`let rts = ${rs}; let rte = ${re};`);
      L.push(`if (rts < 0 && rte < 0) { rts = ts; rte = te; } else if (rts < 0) rts = rte; else if (rte < 0) rte = rts;`);
      L.push(`q.time_start = rts; q.time_end = rte;`);
    }
    L.push(`d.records.push(q);`);
    L.push(`}`);
  }
  L.push(`return ${recordEnd};`);

  const decls = [...used].sort((a, b) => a - b).map((s) => `const v${int(s)} = ${read(s)};`);
  return [...prologue, ...decls, ...L].join('\n');
}

/** Shared constants of the generated code (the interpreter's own). */
export interface RecordConstants {
  MAPPED_ZERO: Uint8Array;
  ZERO16: Uint8Array;
  /** emptyFlow()'s values, to reset a reused record. */
  EMPTY: Readonly<FlowRecord>;
}

const cache = new Map<string, RecordFn>();
const CACHE_MAX = 1024;

/**
 * The generated record function of a template. Templates of the same shape (many exporters of one
 * model, template refreshes under new IDs) share one function: the cache is keyed by its source.
 * A cached function keeps the `M` it was made with: every caller passes the decoder's constants.
 */
export function compileRecordFn(t: Template, M: RecordConstants): RecordFn {
  const src = recordSource(t);
  let fn = cache.get(src);
  if (fn === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function('H', 'M', `"use strict";\nreturn function decodeRecord(d, b, p, dom, end) {\n${src}\n};`) as (
      h: typeof HELPERS,
      m: RecordConstants,
    ) => RecordFn;
    fn = factory(HELPERS, M);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(src, fn);
  }
  return fn;
}
