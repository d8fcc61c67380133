/**
 * 100,000 mutated and truncated datagrams derived from real softflowd exports (v5, v9, IPFIX, IPFIX
 * biflow): no exception escapes, nothing is counted as an internal error, every datagram is counted
 * and every datagram the decoder did not accept whole is counted by kind. Each datagram also goes to
 * a twin decoder in transient mode (records reused from call to call, as in serve's collector
 * thread) that decodes flow templates with generated functions from their first record
 * (codegen.ts), while the first decoders interpret every template: the twin's records must equal
 * theirs, field by field, right after each call, and so must the stats.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../../src/net/ip.js';
import { FIELDS, type FlowRecord } from '../../../src/schema/fields.js';
import { FlowDecoder, type ExporterStats } from '../../../src/sources/flow/index.js';
import { xorshift32 } from '../../helpers/rng.js';
import { requireTools } from '../../helpers/tools.js';
import { runSoftflowd, udpSink, writeMixedCapture } from './peers.js';

const HAVE = requireTools('softflowd');
const EXPORTER = { addr: parseIP('192.0.2.1').addr, port: 2055 };

describe.runIf(HAVE)('fuzz', () => {
  let dir: string;
  const seeds: Buffer[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-flowfuzz-'));
    const capture = path.join(dir, 'mixed.pcap');
    writeMixedCapture(capture);
    for (const args of [['-v', '5'], ['-v', '9', '-6'], ['-v', '10', '-6'], ['-v', '10', '-6', '-b', '-A', 'micro'], ['-v', '9', '-6', '-s', '3']]) {
      const sink = await udpSink();
      await runSoftflowd(capture, sink.port, args, dir);
      await new Promise((r) => setTimeout(r, 200));
      await sink.close();
      seeds.push(...sink.datagrams);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('survives 100,000 mutated datagrams and counts every rejection', () => {
    expect(seeds.length).toBeGreaterThan(5);
    const next = xorshift32(0x5eed);
    const rnd = (): number => next() / 0x1_0000_0000;
    const int = (n: number): number => Math.floor(rnd() * n);
    const mutate = (src: Buffer): Uint8Array => {
      let b: Uint8Array = Uint8Array.from(src);
      const ops = 1 + int(4);
      for (let k = 0; k < ops; k++) {
        switch (int(8)) {
          case 0: // bit flip
            if (b.length) b[int(b.length)]! ^= 1 << int(8);
            break;
          case 1: // random byte
            if (b.length) b[int(b.length)] = int(256);
            break;
          case 2: // truncate
            b = b.subarray(0, int(b.length + 1));
            break;
          case 3: // extend with garbage or zeros
            b = Uint8Array.from([...b, ...Array.from({ length: int(64) }, () => (rnd() < 0.5 ? 0 : int(256)))]);
            break;
          case 4: {
            // corrupt a 16-bit length/ID-like field at an aligned offset
            if (b.length >= 2) {
              const o = int(b.length >> 1) << 1;
              const v = [0, 1, 2, 3, 4, 255, 256, 0xffff, int(0x10000)][int(9)]!;
              b[o] = v >> 8;
              if (o + 1 < b.length) b[o + 1] = v & 0xff;
            }
            break;
          }
          case 5: // splice in a chunk of another seed
            {
              const other = seeds[int(seeds.length)]!;
              const from = int(other.length);
              const chunk = other.subarray(from, from + int(200));
              const at = int(b.length + 1);
              b = Uint8Array.from([...b.subarray(0, at), ...chunk, ...b.subarray(at)]);
            }
            break;
          case 6: // set the version field
            if (b.length >= 2) b[1] = [5, 9, 10, int(256)][int(4)]!;
            break;
          default: // zero a run
            if (b.length) b.fill(0, int(b.length), int(b.length) + int(32));
        }
      }
      return b;
    };

    const N = 100_000;
    // Some decoders with clean state, some with templates learnt from the unmutated seeds.
    const I = Infinity;
    const decoders = [new FlowDecoder({ compileAfter: I }), new FlowDecoder({ compileAfter: I }), new FlowDecoder({ pendingSetsPerDomain: 4, compileAfter: I })];
    const twin = { transientRecords: true, compileAfter: 0 };
    const twins = [new FlowDecoder(twin), new FlowDecoder(twin), new FlowDecoder({ pendingSetsPerDomain: 4, ...twin })];
    for (const s of seeds) decoders[1]!.decode(s, EXPORTER, 0);
    for (const s of seeds) twins[1]!.decode(s, EXPORTER, 0);
    /** A record as text, every field (addresses as hex): what the twins' outputs are compared by. */
    const text = (r: FlowRecord): string =>
      FIELDS.map((f) => {
        const x = (r as unknown as Record<string, unknown>)[f.name];
        return x instanceof Uint8Array ? Buffer.from(x).toString('hex') : String(x);
      }).join(' ');
    let compared = 0;
    const base = decoders.map((d) => d.stats()[0]?.datagrams ?? 0);
    let records = 0;
    let silentEmpty = 0;
    for (let i = 0; i < N; i++) {
      const d = decoders[i % decoders.length]!;
      const dg = mutate(seeds[int(seeds.length)]!);
      const errBefore = d.totals().errors;
      let out;
      try {
        out = d.decode(dg, EXPORTER, i);
      } catch (e) {
        throw new Error(`decode threw on datagram ${i} (${Buffer.from(dg).toString('hex')}): ${(e as Error).message}`);
      }
      records += out.length;
      const twin = twins[i % twins.length]!.decode(dg, EXPORTER, i);
      expect(twin.length, `datagram ${i}`).toBe(out.length);
      for (let k = 0; k < out.length; k++) {
        const a = text(out[k]!);
        const b = text(twin[k]!);
        if (a !== b) throw new Error(`datagram ${i}, record ${k}: transient ${b} != ${a}`);
        compared++;
      }
      for (const r of out) {
        if (!((r.family === 4 || r.family === 6) && r.src_addr.length === 16 && Number.isFinite(r.bytes) && r.bytes >= 0)) {
          throw new Error(`bad record from datagram ${i}: ${JSON.stringify({ ...r, src_addr: [...r.src_addr] })}`);
        }
      }
      const errAfter = d.totals().errors;
      const version = dg.length >= 2 ? (dg[0]! << 8) | dg[1]! : -1;
      // A datagram that is not a flow export at all is always counted as rejected.
      if (version !== 5 && version !== 9 && version !== 10 && errAfter <= errBefore) throw new Error(`datagram ${i} (version ${version}) not counted`);
      if (out.length === 0 && errAfter === errBefore) silentEmpty++;
    }
    let total = 0;
    for (const [k, d] of decoders.entries()) {
      const s = d.stats()[0]!;
      total += s.datagrams - base[k]!;
      expect(s.errors.internal).toBe(0);
      expect(s.datagramsRejected).toBeLessThanOrEqual(s.datagramsWithErrors);
    }
    expect(total).toBe(N);
    expect(records).toBeGreaterThan(0);
    expect(compared).toBe(records);
    // Stats equal but for the template dumps' `compiled` flag, which the twins set on some templates.
    const plain = (s: ExporterStats[]): unknown =>
      s.map((e) => ({ ...e, domains: e.domains.map((dm) => ({ ...dm, templates: dm.templates.map(({ compiled: _c, ...t }) => t) })) }));
    expect(twins.map((d) => plain(d.stats()))).toEqual(decoders.map((d) => plain(d.stats())));
    const compiledTemplates = (d: FlowDecoder): number => d.stats().flatMap((e) => e.domains.flatMap((dm) => dm.templates.filter((t) => t.compiled))).length;
    expect(twins.map(compiledTemplates).reduce((a, b) => a + b)).toBeGreaterThan(10);
    expect(decoders.map(compiledTemplates).reduce((a, b) => a + b)).toBe(0);
    // Datagrams with no records and no error are template/options-only ones (or fully valid
    // mutations such as a changed count field): a minority.
    expect(silentEmpty).toBeLessThan(N / 2);
  }, 120_000);
});
