import { describe, expect, it } from 'vitest';
import { formatIP, parseIP } from '../../../src/net/ip.js';
import type { FlowRecord } from '../../../src/schema/fields.js';
import { PacketInfo } from '../../../src/sources/packets/decode.js';
import { DEFAULT_ACTIVE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, FlowMeter, type FlowMeterOptions } from '../../../src/sources/packets/meter.js';

const T0 = Date.UTC(2026, 0, 1);

interface Pkt {
  t: number; // ms after T0
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  proto?: number;
  flags?: number;
  bytes?: number;
  srcMac?: number;
  dstMac?: number;
}

function info(p: Pkt): PacketInfo {
  const i = new PacketInfo();
  const s = parseIP(p.src ?? '192.0.2.1');
  const d = parseIP(p.dst ?? '198.51.100.1');
  const w = (a: Uint8Array, k: number): number => new DataView(a.buffer, a.byteOffset).getInt32(k * 4);
  i.family = s.family;
  i.s0 = w(s.addr, 0);
  i.s1 = w(s.addr, 1);
  i.s2 = w(s.addr, 2);
  i.s3 = w(s.addr, 3);
  i.d0 = w(d.addr, 0);
  i.d1 = w(d.addr, 1);
  i.d2 = w(d.addr, 2);
  i.d3 = w(d.addr, 3);
  i.proto = p.proto ?? 6;
  i.srcPort = p.sport ?? 40000;
  i.dstPort = p.dport ?? 443;
  i.tcpFlags = p.flags ?? (i.proto === 6 ? 0x10 : 0);
  i.bytes = p.bytes ?? 100;
  i.srcMac = p.srcMac ?? 0;
  i.dstMac = p.dstMac ?? 0;
  return i;
}

function run(pkts: Pkt[], opts: Partial<FlowMeterOptions> = {}): { flows: FlowRecord[]; batches: number[] } {
  const flows: FlowRecord[] = [];
  const batches: number[] = [];
  const m = new FlowMeter({
    exporterName: 'test.pcap',
    ...opts,
    onBatch: (b) => {
      batches.push(b.length);
      flows.push(...b);
    },
  });
  for (const p of pkts) m.add(info(p), T0 + p.t);
  m.flush();
  return { flows, batches };
}

const summary = (f: FlowRecord): string =>
  `${formatIP(f.src_addr, f.family as 4 | 6)}:${f.src_port}>${formatIP(f.dst_addr, f.family as 4 | 6)}:${f.dst_port}/${f.proto} ${f.time_start - T0}-${f.time_end - T0} p${f.packets} b${f.bytes} f${f.tcp_flags}`;

describe('FlowMeter', () => {
  it('defaults are nfpcapd’s: active 300 s, idle 60 s', () => {
    expect(DEFAULT_ACTIVE_TIMEOUT_MS).toBe(300_000);
    expect(DEFAULT_IDLE_TIMEOUT_MS).toBe(60_000);
  });

  it('fills every FlowRecord field it owns', () => {
    const { flows } = run([
      { t: 0, flags: 0x02, bytes: 60, srcMac: 0x02000000000a, dstMac: 0x02000000000b },
      { t: 10.7, flags: 0x18, bytes: 1500, srcMac: 0x0200000000ff },
      { t: 20.2, flags: 0x10, bytes: 52 },
    ]);
    expect(flows).toHaveLength(1);
    const f = flows[0]!;
    expect(f).toMatchObject({
      source_kind: 'pcap',
      exporter_name: 'test.pcap',
      family: 4,
      proto: 6,
      src_port: 40000,
      dst_port: 443,
      tcp_flags: 0x1a,
      bytes: 1612,
      packets: 3,
      flows: 1,
      time_start: T0,
      time_end: T0 + 20,
      time_received: T0 + 20,
      src_mac: 0x02000000000a,
      dst_mac: 0x02000000000b,
      sampling_rate: 1,
    });
    expect(f.src_addr).toEqual(parseIP('192.0.2.1').addr);
    expect(f.dst_addr).toEqual(parseIP('198.51.100.1').addr);
    expect(f.src_addr).not.toBe(flows[0]!.dst_addr);
  });

  it('keys on family, addresses, ports and protocol (unidirectional)', () => {
    const { flows } = run([
      { t: 0 },
      { t: 1, src: '198.51.100.1', dst: '192.0.2.1', sport: 443, dport: 40000 }, // reverse direction
      { t: 2, proto: 17, flags: 0 },
      { t: 3, sport: 40001 },
      { t: 4, src: '::ffff:192.0.2.1', dst: '::ffff:198.51.100.1' }, // same bytes, family 6
      { t: 5, src: '2001:db8::1', dst: '2001:db8::2' },
      { t: 6, src: '2001:db8::1', dst: '2001:db8::3' },
      { t: 7, src: '2001:db9::1', dst: '2001:db8::2' },
      { t: 8 },
    ]);
    expect(flows).toHaveLength(8);
    expect(flows.filter((f) => f.packets === 2)).toHaveLength(1);
    expect(flows.filter((f) => f.family === 6)).toHaveLength(4);
  });

  it('active timeout splits long flows', () => {
    const pkts: Pkt[] = [];
    for (let s = 0; s < 700; s++) pkts.push({ t: s * 1000 });
    const { flows } = run(pkts, { activeTimeoutMs: 300_000, idleTimeoutMs: 60_000 });
    expect(flows.map(summary)).toEqual([
      '192.0.2.1:40000>198.51.100.1:443/6 0-299000 p300 b30000 f16',
      '192.0.2.1:40000>198.51.100.1:443/6 300000-599000 p300 b30000 f16',
      '192.0.2.1:40000>198.51.100.1:443/6 600000-699000 p100 b10000 f16',
    ]);
  });

  it('idle timeout: a gap of idleTimeout or more starts a new flow', () => {
    const { flows } = run([{ t: 0 }, { t: 10_000 }, { t: 69_999 }, { t: 129_999 }, { t: 130_000 }], { idleTimeoutMs: 60_000 });
    expect(flows.map((f) => [f.time_start - T0, f.time_end - T0, f.packets])).toEqual([
      [0, 69_999, 3],
      [129_999, 130_000, 2],
    ]);
  });

  it('idle flows are swept (emitted) while the capture goes on, in capture time', () => {
    const pkts: Pkt[] = [{ t: 0, dport: 1 }];
    for (let s = 1; s <= 200; s++) pkts.push({ t: s * 1000, dport: 2 });
    const emitted: string[] = [];
    const m = new FlowMeter({ exporterName: 'x', batchSize: 1, idleTimeoutMs: 60_000, onBatch: (b) => emitted.push(`${b[0]!.dst_port}@${m.captureTime - T0}`) });
    for (const p of pkts) m.add(info(p), T0 + p.t);
    // flow to port 1 was idle 60 s at t = 60 s; the sweep (every 10 s of capture time) emits it by t = 70 s
    expect(emitted).toHaveLength(1);
    const at = Number(emitted[0]!.split('@')[1]);
    expect(emitted[0]!.startsWith('1@')).toBe(true);
    expect(at).toBeGreaterThanOrEqual(60_000);
    expect(at).toBeLessThanOrEqual(70_000);
    expect(m.activeFlows).toBe(1);
    m.flush();
    expect(emitted).toHaveLength(2);
    expect(m.activeFlows).toBe(0);
  });

  it('FIN: the final ACK within the linger still belongs to the flow; later packets start a new one', () => {
    const { flows } = run(
      [
        { t: 0, flags: 0x02 },
        { t: 1000, flags: 0x10 },
        { t: 2000, flags: 0x11 }, // FIN
        { t: 4000, flags: 0x10 }, // final ACK, 2 s later
        { t: 9500, flags: 0x10 }, // 5.5 s after the last packet: new flow
      ],
      { finLingerMs: 5000 },
    );
    expect(flows.map((f) => [f.packets, f.tcp_flags])).toEqual([
      [4, 0x13],
      [1, 0x10],
    ]);
  });

  it('RST closes quickly', () => {
    const { flows } = run(
      [
        { t: 0, flags: 0x18 },
        { t: 1000, flags: 0x14 }, // RST
        { t: 1500, flags: 0x04 }, // another RST 0.5 s later: same flow
        { t: 3000, flags: 0x10 }, // 1.5 s later: new flow
      ],
      { rstLingerMs: 1000 },
    );
    expect(flows.map((f) => [f.packets, f.tcp_flags])).toEqual([
      [3, 0x1c],
      [1, 0x10],
    ]);
  });

  it('a SYN on a closing flow (port reuse) starts a new flow at once', () => {
    const { flows } = run([{ t: 0, flags: 0x02 }, { t: 100, flags: 0x11 }, { t: 200, flags: 0x02 }, { t: 300, flags: 0x10 }]);
    expect(flows.map((f) => f.packets)).toEqual([2, 2]);
  });

  it('FIN/RST state only applies to TCP', () => {
    const { flows } = run([{ t: 0, proto: 17, flags: 0x01 }, { t: 30_000, proto: 17, flags: 0x01 }]);
    expect(flows).toHaveLength(1);
    expect(flows[0]!.tcp_flags).toBe(0);
  });

  it('out-of-order timestamps widen the flow instead of breaking it', () => {
    const { flows } = run([{ t: 5000 }, { t: 3000 }, { t: 8000 }]);
    expect(flows.map((f) => [f.time_start - T0, f.time_end - T0, f.packets])).toEqual([[3000, 8000, 3]]);
  });

  it('batches hold at most batchSize records', () => {
    const pkts: Pkt[] = [];
    for (let i = 0; i < 1000; i++) pkts.push({ t: i, sport: 1 + i });
    const { flows, batches } = run(pkts, { batchSize: 128 });
    expect(flows).toHaveLength(1000);
    expect(batches).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
  });

  it('survives weeks of capture time (time base re-based)', () => {
    const day = 86_400_000;
    const { flows } = run([{ t: 0 }, { t: 10 }, { t: 20 * day }, { t: 20 * day + 5 }, { t: 40 * day }]);
    expect(flows.map((f) => [f.time_start - T0, f.time_end - T0, f.packets])).toEqual([
      [0, 10, 2],
      [20 * day, 20 * day + 5, 2],
      [40 * day, 40 * day, 1],
    ]);
  });

  it('matches a simple reference model on random traffic (growth, sweeps, deletions)', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    const opts = { activeTimeoutMs: 20_000, idleTimeoutMs: 3_000, finLingerMs: 1_000, rstLingerMs: 300, sweepIntervalMs: 1_000 };
    const pkts: Pkt[] = [];
    let t = 0;
    for (let i = 0; i < 60_000; i++) {
      t += rnd(3);
      const h = rnd(5000);
      const v6 = h % 3 === 0;
      const flags = [0x10, 0x10, 0x10, 0x02, 0x11, 0x04, 0x18][rnd(7)]!;
      pkts.push({
        t,
        src: v6 ? `2001:db8::${h.toString(16)}` : `10.0.${h >> 8}.${h & 255}`,
        dst: v6 ? '2001:db8::ffff' : '192.0.2.1',
        sport: 1000 + (h % 97),
        dport: h % 2 ? 443 : 53,
        proto: h % 2 ? 6 : 17,
        flags: h % 2 ? flags : 0,
        bytes: 40 + rnd(1400),
      });
    }
    const { flows } = run(pkts, { ...opts, initialCapacity: 16 });

    // reference: a Map, expiry checked only when a packet of the same key arrives, and at the end
    type R = { key: string; start: number; last: number; packets: number; bytes: number; flags: number; st: number };
    const ref = new Map<string, R>();
    const out: string[] = [];
    const emit = (r: R): void => {
      out.push(`${r.key} ${r.start}-${r.last} p${r.packets} b${r.bytes} f${r.flags}`);
    };
    for (const p of pkts) {
      const fam = p.src!.includes(':') ? 6 : 4;
      const norm = (a: string): string => formatIP(parseIP(a).addr, fam);
      const key = `${fam} ${norm(p.src!)}:${p.sport}>${norm(p.dst!)}:${p.dport}/${p.proto}`;
      const flags = p.proto === 6 ? p.flags! : 0;
      let r = ref.get(key);
      if (r) {
        const limit = r.st === 0 ? opts.idleTimeoutMs : r.st === 1 ? opts.finLingerMs : opts.rstLingerMs;
        if (p.t - r.last >= limit || p.t - r.start >= opts.activeTimeoutMs || (r.st !== 0 && (flags & 0x12) === 0x02)) {
          emit(r);
          r = undefined;
        }
      }
      if (!r) {
        ref.set(key, { key, start: p.t, last: p.t, packets: 1, bytes: p.bytes!, flags, st: flags & 4 ? 2 : flags & 1 ? 1 : 0 });
        continue;
      }
      r.last = p.t;
      r.packets++;
      r.bytes += p.bytes!;
      r.flags |= flags;
      if (flags & 4) r.st = 2;
      else if (flags & 1 && r.st === 0) r.st = 1;
    }
    for (const r of ref.values()) emit(r);
    const got = flows.map(
      (f) =>
        `${f.family} ${formatIP(f.src_addr, f.family as 4 | 6)}:${f.src_port}>${formatIP(f.dst_addr, f.family as 4 | 6)}:${f.dst_port}/${f.proto} ${f.time_start - T0}-${f.time_end - T0} p${f.packets} b${f.bytes} f${f.tcp_flags}`,
    );
    expect(got.length).toBe(out.length);
    expect(got.sort()).toEqual(out.sort());
  });
});
