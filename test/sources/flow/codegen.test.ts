/**
 * Generated record functions (src/sources/flow/codegen.ts) against the op-list interpreter: random
 * v9 and IPFIX templates (every IE the decoder reads, reduced-size and unusable lengths, unknown
 * and enterprise IEs, the same IE twice, both address families in one template, sampling in the
 * record and from options data, uptime-relative times) with random records, decoded by an
 * interpreter-only decoder and by decoders that compile at once (records kept or reused). Every
 * record must be equal field by field, and so must the exporter stats.
 */
import { describe, expect, it } from 'vitest';
import { FIELDS, type FlowRecord } from '../../../src/schema/fields.js';
import { compilable, recordSource } from '../../../src/sources/flow/codegen.js';
import { FlowDecoder, type ExporterStats } from '../../../src/sources/flow/index.js';
import { compileTemplate } from '../../../src/sources/flow/template.js';
import { xorshift32 } from '../../helpers/rng.js';
import {
  concat,
  ipfixMessage,
  ipfixOptionsTemplate,
  ipfixTemplate,
  set,
  u16,
  u32,
  u8,
  v9OptionsTemplate,
  v9Packet,
  v9Template,
  type Bytes,
  type Field,
} from './encode.js';

const VARLEN = 65535;
const R = 29305;
/** [IE, allowed lengths, enterprise] — lengths outside the IE's accepted ones make the field unusable (skipped). */
const POOL: [number, number[], number?][] = [
  [1, [1, 2, 3, 4, 5, 6, 7, 8]], [2, [1, 2, 4, 8]], [85, [4, 8]], [86, [4, 8]], [23, [4, 8]], [24, [4, 8]],
  [4, [1, 2]], [6, [1, 2]], [7, [2, 1, 4]], [11, [2, 1]], [8, [4, 4, 4, 16]], [12, [4, 4, 4, 3]],
  [27, [16, 16, 4]], [28, [16, 16, 8]], [10, [2, 4, 8]], [14, [2, 4, 8]], [16, [2, 4, 8]], [17, [2, 4, 6]],
  [60, [1]], [61, [1]], [32, [2]], [139, [2]], [176, [1]], [177, [1]], [178, [1]], [179, [1]],
  [56, [6, 6, 8]], [80, [6]], [81, [6]], [57, [6]], [21, [4]], [22, [4]], [150, [4]], [151, [4]],
  [152, [8]], [153, [8]], [154, [8]], [155, [8]], [156, [8]], [157, [8]], [158, [4]], [159, [4]], [160, [8]],
  [34, [1, 2, 4]], [48, [1, 2]], [50, [4]], [302, [4]], [305, [4]], [306, [4]], [309, [4]], [310, [4]],
  [35, [1]], [49, [1]], [304, [1]], [312, [2]], [224, [2]],
  [5, [1]], [15, [4]], [62, [16]], [999, [3]], [7, [4], 9], [1, [8], 9],
  // variable length (IPFIX only): skipped strings (e.g. nProbe's), an unusable counter, a known
  // enterprise IE, the same IE twice
  [82, [VARLEN]], [94, [VARLEN]], [1, [VARLEN]], [100, [VARLEN], 35632],
  // RFC 5103 reverse IEs (IPFIX only): counters, flags, times, MACs
  [1, [8, 4], R], [2, [8, 4], R], [85, [8], R], [86, [8], R], [6, [1, 2], R], [150, [4], R], [151, [4], R],
  [152, [8], R], [153, [8], R], [158, [4], R], [159, [4], R], [56, [6], R], [80, [6], R],
];
/** Packet sections: the template is not compilable, the interpreter decodes it in every decoder. */
const RARE: [number, number[], number?][] = [[315, [40]], [313, [VARLEN]]];

function generator(seed: number) {
  const rnd = xorshift32(seed);
  const int = (n: number): number => rnd() % n;
  const pick = <T,>(a: readonly T[]): T => a[int(a.length)]!;
  function template(ipfix: boolean): Field[] {
    const n = 1 + int(22);
    const fields: Field[] = [];
    // most templates carry addresses (else most records are dropped as no-address)
    if (int(8) > 0) fields.push(pick<Field>([[8, 4], [27, 16]]), pick<Field>([[12, 4], [28, 16]]));
    for (let i = 0; i < n; i++) {
      const [id, lens, ent] = pick(int(40) === 0 ? RARE : POOL);
      if ((ent || lens.includes(VARLEN)) && !ipfix) continue; // v9 has no enterprise bit, no variable length
      fields.push(ent ? [id, pick(lens), ent] : [id, pick(lens)]);
    }
    return fields;
  }
  /** A value for one field: biased towards the values that take the decoder's branches. */
  function value(id: number, len: number): Bytes {
    if (len === VARLEN) {
      // short or long form (255 + 2 bytes), sometimes the long form for a short value
      const n = int(4) === 0 ? 255 + int(300) : int(40);
      const data = new Uint8Array(n).map(() => rnd() & 0xff);
      return n < 255 && int(4) > 0 ? concat(u8(n), data) : concat(u8(255), u16(n), data);
    }
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = rnd() & 0xff;
    const small = (v: number): Bytes => {
      const o = new Uint8Array(len);
      let x = v;
      for (let i = len - 1; i >= 0; i--) {
        o[i] = x & 0xff;
        x = Math.floor(x / 256);
      }
      return o;
    };
    switch (id) {
      case 60:
        return small(pick([4, 6, 4, 6, 0, 5]));
      case 4:
        return small(pick([1, 6, 17, 58, 58, 0]));
      case 61:
        return small(pick([0, 1, 2]));
      case 8:
      case 12:
      case 27:
      case 28:
        return int(4) === 0 ? new Uint8Array(len) : b;
      case 34: case 50: case 305: case 306: case 309: case 310:
        return int(3) === 0 ? new Uint8Array(len) : small(int(2000));
      case 48: case 302:
        return small(int(3));
      case 32: case 139: case 176: case 177: case 178: case 179:
        return int(3) === 0 ? new Uint8Array(len) : b;
      case 7: case 11:
        return int(5) === 0 ? new Uint8Array(len) : b;
      case 21: case 22:
        // uptimes after the header's (exported before a wrap of sysUpTime) or near 2^32
        return small(int(2) === 0 ? int(8_000_000) : 4_294_967_295 - int(4_000_000));
      case 160:
        return int(2) === 0 ? new Uint8Array(len) : small(1_700_000_000_000 + int(1e9));
      case 315:
        return b;
      default:
        return b;
    }
  }
  return { int, pick, template, value };
}

const text = (r: FlowRecord): string =>
  FIELDS.map((f) => {
    const x = (r as unknown as Record<string, unknown>)[f.name];
    return x instanceof Uint8Array ? Buffer.from(x).toString('hex') : String(x);
  }).join(' ');

/** Stats without the `compiled` flag of the template dumps (the only thing that may differ). */
function plain(s: ExporterStats[]): unknown {
  return s.map((e) => ({ ...e, domains: e.domains.map((d) => ({ ...d, templates: d.templates.map(({ compiled: _c, ...t }) => t) })) }));
}

describe('generated record functions', () => {
  it('decode random v9 and IPFIX templates exactly as the interpreter does', () => {
    const g = generator(20261202);
    const interp = new FlowDecoder({ compileAfter: Infinity });
    const compiled = new FlowDecoder({ compileAfter: 0 });
    const reused = new FlowDecoder({ compileAfter: 0, transientRecords: true });
    const tiered = new FlowDecoder(); // the default: compiled after 64 records
    const decoders = [compiled, reused, tiered];
    let records = 0;
    const families = { 4: 0, 6: 0 };
    const kinds = { varlen: 0, biflow: 0 };
    const ITER = 1500;
    for (let k = 0; k < ITER; k++) {
      const ipfix = g.int(2) === 0;
      const fields = g.template(ipfix);
      const tid = 256 + g.int(4);
      const exporter = { addr: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, k % 50]), port: 2055 };
      const domain = g.int(3);
      const sets: Bytes[] = [];
      if (g.int(3) === 0) {
        // sampler announcements: with a sampler ID (several samplers) or without (the domain default)
        const withId = g.int(2) === 0;
        const opt: Field[] = withId ? [[48, 2], [34, 4]] : [[34, 4]];
        const rec = withId ? concat(u16(g.int(3)), u32(g.int(3) === 0 ? 0 : 1 + g.int(500))) : u32(1 + g.int(500));
        if (ipfix) sets.push(set(3, ipfixOptionsTemplate(300, 1, [[149, 4], ...opt])), set(300, concat(u32(domain), rec)));
        else sets.push(set(1, v9OptionsTemplate(300, [[1, 4]], opt)), set(300, concat(u32(domain), rec)));
      }
      if (ipfix && g.int(3) === 0) {
        // systemInitTimeMilliseconds from options data: the base of IPFIX flowStart/EndSysUpTime
        sets.push(set(3, ipfixOptionsTemplate(301, 1, [[149, 4], [160, 8]])), set(301, concat(u32(domain), u32(0x18c), u32(g.int(1_000_000)))));
      }
      sets.push(set(ipfix ? 2 : 0, ipfix ? ipfixTemplate(tid, fields) : v9Template(tid, fields.map(([i, l]) => [i, l] as Field))));
      const nrec = 1 + g.int(6);
      const recs: Bytes[] = [];
      for (let r = 0; r < nrec; r++) recs.push(concat(...fields.map(([id, len]) => g.value(id, len))));
      if (g.int(5) === 0) recs.push(new Uint8Array(g.int(3))); // padding
      else if (g.int(3) === 0) {
        // the last record cut (a variable-length field then runs past the set: counted, the records before it kept)
        const last = recs.pop()!;
        recs.push(last.subarray(0, g.int(last.length)));
      }
      sets.push(set(tid, ...recs));
      const dg = ipfix
        ? ipfixMessage({ exportTime: g.int(8) === 0 ? 1000 : 1_764_547_200 + k, seq: k, domain }, ...sets) // 1000: delta times before 1970
        : v9Packet({ uptime: 5_000_000 + k, secs: 1_764_547_200 + k, seq: k, sourceId: domain, count: 0 }, ...sets);
      const wantRecs = interp.decode(dg, exporter, 1_764_547_200_000 + k);
      for (const r of wantRecs) families[r.family as 4 | 6]++;
      const want = wantRecs.map(text);
      for (const [j, d] of decoders.entries()) {
        const got = d.decode(dg, exporter, 1_764_547_200_000 + k).map(text);
        if (got.join('\n') !== want.join('\n')) {
          throw new Error(`iteration ${k}, decoder ${j}, template ${JSON.stringify(fields)}:\n${got.join('\n')}\n!=\n${want.join('\n')}`);
        }
      }
      records += want.length;
      const t = compileTemplate(tid, fields.map(([id, length, enterprise]) => ({ id, length, enterprise: enterprise ?? 0 })), { options: false, scopeCount: 0, version: ipfix ? 10 : 9, wire: '' });
      if (t && compilable(t)) {
        if (!t.fixed) kinds.varlen += want.length;
        if (t.rBytesSlot >= 0 || t.rPktsSlot >= 0) kinds.biflow += want.length;
      }
    }
    expect(plain(compiled.stats())).toEqual(plain(interp.stats()));
    expect(plain(reused.stats())).toEqual(plain(interp.stats()));
    expect(plain(tiered.stats())).toEqual(plain(interp.stats()));
    // The comparison is not vacuous: many records, both families, most templates compiled.
    expect(records).toBeGreaterThan(3000);
    expect(families[4]).toBeGreaterThan(500);
    expect(families[6]).toBeGreaterThan(500);
    const dumps = compiled.stats().flatMap((e) => e.domains.flatMap((d) => d.templates.filter((t) => !t.options)));
    const n = dumps.filter((t) => t.compiled).length;
    expect(n).toBeGreaterThan(dumps.length * 0.6);
    expect(n).toBeLessThan(dumps.length); // some are not compilable (packet sections)
    // records of compilable variable-length and biflow templates (decoded by generated functions in `compiled`)
    expect(kinds.varlen).toBeGreaterThan(500);
    expect(kinds.biflow).toBeGreaterThan(500);
    expect(interp.stats().reduce((a, e) => a + e.errors['bad-record'], 0)).toBeGreaterThan(20); // cut variable-length records
    expect(interp.stats().flatMap((e) => e.domains.flatMap((d) => d.templates)).some((t) => t.compiled)).toBe(false);
  }, 60_000);

  it('compiles a template only once it is hot (compileAfter), and shows it in the template dump', () => {
    const fields: Field[] = [[8, 4], [12, 4], [1, 4], [2, 4]];
    const rec = concat(Uint8Array.from([192, 0, 2, 1, 198, 51, 100, 2]), u32(1000), u32(10));
    const d = new FlowDecoder({ compileAfter: 5 });
    const exporter = { addr: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 9]), port: 1 };
    const msg = (seq: number, n: number): Bytes =>
      ipfixMessage({ exportTime: 1_764_547_200, seq, domain: 1 }, set(2, ipfixTemplate(256, fields)), set(256, ...Array.from({ length: n }, () => rec)));
    const compiledNow = (): boolean => d.stats()[0]!.domains[0]!.templates[0]!.compiled;
    expect(d.decode(msg(0, 3), exporter, 0)).toHaveLength(3);
    expect(compiledNow()).toBe(false);
    expect(d.decode(msg(3, 3), exporter, 0)).toHaveLength(3); // 3 + 3 >= 5 after this set
    expect(compiledNow()).toBe(false);
    const out = d.decode(msg(6, 2), exporter, 0);
    expect(compiledNow()).toBe(true);
    expect(out.map((r) => [r.bytes, r.packets, r.family, r.src_addr.slice(12).join('.')])).toEqual([
      [1000, 10, 4, '192.0.2.1'],
      [1000, 10, 4, '192.0.2.1'],
    ]);
    // A refreshed template (new wire bytes) starts over with the interpreter.
    d.decode(ipfixMessage({ exportTime: 1_764_547_200, seq: 8, domain: 1 }, set(2, ipfixTemplate(256, [...fields, [5, 1]]))), exporter, 0);
    expect(compiledNow()).toBe(false);
  });

  it('reads each field at its constant offset; options templates stay with the interpreter', () => {
    const t = compileTemplate(256, [{ id: 8, length: 4, enterprise: 0 }, { id: 27, length: 16, enterprise: 0 }, { id: 1, length: 3, enterprise: 0 }], {
      options: false,
      scopeCount: 0,
      version: 10,
      wire: 'x',
    })!;
    const src = recordSource(t);
    // the reduced-size counter is read byte by byte at its offset (4 + 16 = 20)
    expect(src).toContain('const v0 = ((b[p + 20] * 256 + b[p + 21]) * 256 + b[p + 22]);');
    expect(src).toMatch(/fam = \(\(b\[v12 \+ 0\] === 0/); // both families: IPv6 unless its address is zero
    expect(() => recordSource(compileTemplate(300, [{ id: 1, length: 4, enterprise: 0 }], { options: true, scopeCount: 1, version: 10, wire: 'y' })!)).toThrow(/not compilable/);
  });
});
