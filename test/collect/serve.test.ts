/**
 * `v6scope serve` with real peers on loopback: softflowd exports to the IPv4 and the IPv6 listener,
 * the same exports go to nfcapd, and the per-family totals in the store equal nfdump's. Templates
 * survive a restart between a template and its data; injected sequence gaps are reported exactly
 * by `v6scope exporters --json`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectorHealth } from '../../src/collect/collector.js';
import { runCli } from '../helpers/cli.js';
import { requireTools } from '../helpers/tools.js';
import { ip4, ip6, ipfixMessage, ipfixTemplate, set, u16, u32, u64, u8, concat, type Field } from '../sources/flow/encode.js';
import { nfdumpTotals, startNfcapd, freeUdpPort, udpSink, runSoftflowd, writeMixedCapture } from '../sources/flow/peers.js';
import { buildFrame, PcapWriter } from '../../src/sources/packets/writer.js';
import { queryDuck, sendFrom, softflowdTo, startServeCli, storeTotals, waitFor, writeConfig } from './helpers.js';

const HAVE = requireTools('softflowd', 'nfcapd', 'nfdump');

const CONFIG = `
collectors:
  - protocol: auto
    listen: ["127.0.0.1:0", "[::1]:0"]
    receive_buffer: 1MiB
batch:
  max_flows: 500
  max_delay: 100ms
state:
  save_interval: 100ms
`;


function health(dataDir: string): CollectorHealth {
  return JSON.parse(readFileSync(path.join(dataDir, 'exporters.json'), 'utf8')) as CollectorHealth;
}

describe.runIf(HAVE)('v6scope serve with softflowd and nfcapd', () => {
  let dir: string;
  let capture: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-serve-'));
    capture = path.join(dir, 'mixed.pcap');
    writeMixedCapture(capture);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('IPv4 and IPv6 listeners: per-family flow/packet/byte totals equal nfdump\'s', async () => {
    const data = path.join(dir, 'data-peers');
    const serve = await startServeCli(data, writeConfig(dir, CONFIG));
    const p4 = serve.ports.find((p) => p.family === 4)!;
    const p6 = serve.ports.find((p) => p.family === 6)!;
    expect(p4.port).toBeGreaterThan(0);
    expect(p6.port).toBeGreaterThan(0);
    const runs = [
      { kind: 'netflow9', dest: `127.0.0.1:${p4.port}`, args: ['-v', '9', '-6'] },
      { kind: 'ipfix', dest: `[::1]:${p6.port}`, args: ['-v', '10', '-6'] },
    ];
    try {
      for (const r of runs) await softflowdTo(capture, r.dest, r.args, dir);
      // Every datagram has arrived once the health file has counted them all (checked below).
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.stderr()).toMatch(/stopped: \d+ flows stored/);
    const h = health(data);
    expect(h.totals.socketDrops).toBe(0);
    expect(h.totals.decodeErrors).toBe(0);
    expect(h.exporters.map((e) => e.exporter).sort()).toEqual(['127.0.0.1', '::1']);
    expect(h.listeners.every((l) => l.datagrams > 0 && l.receiveBuffer > 0)).toBe(true);

    for (const r of runs) {
      const nfdir = path.join(dir, `nf-${r.kind}`);
      mkdirSync(nfdir, { recursive: true });
      const port = await freeUdpPort();
      const nf = await startNfcapd(port, nfdir);
      try {
        await softflowdTo(capture, `127.0.0.1:${port}`, r.args, dir);
        await new Promise((res) => setTimeout(res, 300));
      } finally {
        await nf.stop();
      }
      const mine = await storeTotals(data, `source_kind = '${r.kind}'`);
      const ref4 = await nfdumpTotals(nfdir, 'ipv4');
      const ref6 = await nfdumpTotals(nfdir, 'ipv6');
      expect(mine.v4, r.kind).toEqual(ref4);
      expect(mine.v6, r.kind).toEqual(ref6);
      expect(mine.v4.flows).toBeGreaterThan(0);
      expect(mine.v6.flows).toBeGreaterThan(0);
    }
    // The exporters command reads the same file.
    const cli = await runCli(['--data', data, 'exporters']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/127\.0\.0\.1/);
    expect(cli.stdout).toMatch(/socket drops/);
  });

  it('a restart between a template and its data still decodes the data', async () => {
    const data = path.join(dir, 'data-restart');
    const cfg = writeConfig(dir, CONFIG, 'restart.yaml');
    const fields: Field[] = [
      [8, 4], [12, 4], [27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [60, 1], [1, 8], [2, 8], [152, 8], [153, 8],
    ];
    const t0 = Date.UTC(2026, 0, 1, 12);
    const tpl = ipfixMessage({ exportTime: t0 / 1000, seq: 0, domain: 7 }, set(2, ipfixTemplate(300, fields)));
    const rec = (v6: boolean, i: number): Uint8Array =>
      concat(
        v6 ? ip4('0.0.0.0') : ip4(`10.1.0.${i + 1}`), v6 ? ip4('0.0.0.0') : ip4('192.0.2.1'),
        v6 ? ip6(`2001:db8::${i + 1}`) : ip6('::'), v6 ? ip6('2001:db8:ffff::1') : ip6('::'),
        u16(40000 + i), u16(443), u8(6), u8(v6 ? 6 : 4), u64(1000 + i), u64(10 + i), u64(t0), u64(t0 + 1000),
      );
    const data1 = ipfixMessage({ exportTime: t0 / 1000, seq: 0, domain: 7 }, set(300, rec(false, 0), rec(true, 1), rec(false, 2)));

    let serve = await startServeCli(data, cfg);
    const p4 = serve.ports.find((p) => p.family === 4)!;
    await sendFrom([tpl], p4);
    await waitFor(() => {
      try {
        return health(data).exporters.some((e) => e.templatesKnown === 1);
      } catch {
        return false;
      }
    }, 10_000, 'the template to be known');
    expect(await serve.stop()).toBe(0);
    const snap = JSON.parse(readFileSync(path.join(data, 'templates.json'), 'utf8')) as { exporters: unknown[] };
    expect(snap.exporters).toHaveLength(1);

    serve = await startServeCli(data, cfg);
    expect(serve.stderr()).toMatch(/1 templates restored/);
    // The port may differ after the restart: templates are scoped by exporter address, not port.
    await sendFrom([data1], serve.ports.find((p) => p.family === 4)!);
    await waitFor(() => {
      try {
        return health(data).exporters.some((e) => e.records === 3);
      } catch {
        return false;
      }
    }, 10_000, 'the data records');
    expect(await serve.stop()).toBe(0);
    const h = health(data);
    expect(h.templatesRestored).toBe(1);
    expect(h.exporters[0]!.errors['unknown-template']).toBe(0);
    const rows = await queryDuck(data, `SELECT family, sum(packets), sum(bytes), count(*) FROM raw GROUP BY family ORDER BY family`);
    expect(rows.map((r) => r.map(Number))).toEqual([
      [4, 10 + 12, 1000 + 1002, 2],
      [6, 11, 1001, 1],
    ]);
  });

  it('sequence gaps injected into a replay are reported exactly by "v6scope exporters --json"', async () => {
    // A softflowd NetFlow v9 export (sequence numbers count packets) and an IPFIX one (records),
    // recorded, then replayed from two exporter addresses with some datagrams left out.
    // Many distinct flows, so that each export takes many datagrams.
    const many = path.join(dir, 'many.pcap');
    const w = PcapWriter.toFile(many);
    for (let i = 0; i < 600; i++) {
      const v6 = i % 2 === 0;
      const src = v6 ? `2001:db8:1::${(i + 1).toString(16)}` : `10.2.${i >> 8}.${i & 255}`;
      w.write(buildFrame({ src, dst: v6 ? '2001:db8:ffff::1' : '198.51.100.7', proto: 'udp', srcPort: 1024 + i, dstPort: 53, payloadLength: 40 }), Date.UTC(2026, 0, 1, 12) + i);
    }
    w.close();
    const record = async (args: string[]): Promise<Buffer[]> => {
      const sink = await udpSink();
      try {
        await runSoftflowd(many, sink.port, args, dir);
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        await sink.close();
      }
      return sink.datagrams;
    };
    const v9 = await record(['-v', '9', '-6']);
    const v5 = await record(['-v', '5']);
    expect(v9.length).toBeGreaterThan(6);
    expect(v5.length).toBeGreaterThan(6);
    // Leave out data-only datagrams (templates must still arrive): v9 loss counts packets.
    const v9Drop = new Set<number>();
    for (let i = 1; i < v9.length - 1 && v9Drop.size < 3; i++) {
      const d = v9[i]!;
      if (d.readUInt16BE(20) >= 256) v9Drop.add(i), i++;
    }
    // NetFlow v5: loss counts flow records (each header says how many it carries).
    const v5Drop = new Set([1, 3, v5.length - 2]);
    const v5Missing = [...v5Drop].reduce((a, i) => a + v5[i]!.readUInt16BE(2), 0);
    expect(v9Drop.size).toBe(3);

    // IPFIX from our encoder: sequence numbers count data records; messages of 5 records.
    const fields: Field[] = [[8, 4], [12, 4], [4, 1], [1, 4], [2, 4]];
    const msgs: Uint8Array[] = [];
    let seq = 0;
    for (let m = 0; m < 20; m++) {
      const recs = Array.from({ length: 5 }, (_, i) => concat(ip4(`10.0.0.${i + 1}`), ip4('192.0.2.9'), u8(17), u32(100), u32(2)));
      const sets = m === 0 ? [set(2, ipfixTemplate(256, fields)), set(256, ...recs)] : [set(256, ...recs)];
      msgs.push(ipfixMessage({ exportTime: 1_767_268_800, seq, domain: 1 }, ...sets));
      seq += 5;
    }
    const ipfixDrop = new Set([4, 5, 11]);

    const data = path.join(dir, 'data-seq');
    const serve = await startServeCli(data, writeConfig(dir, CONFIG, 'seq.yaml'));
    const p4 = serve.ports.find((p) => p.family === 4)!;
    const p6 = serve.ports.find((p) => p.family === 6)!;
    try {
      await sendFrom(v9.filter((_, i) => !v9Drop.has(i)), p4, '127.0.0.2');
      await sendFrom(v5.filter((_, i) => !v5Drop.has(i)), p4, '127.0.0.3');
      await sendFrom(msgs.filter((_, i) => !ipfixDrop.has(i)), p6, '::1');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    const cli = await runCli(['--data', data, '--json', 'exporters']);
    expect(cli.code).toBe(0);
    const h = JSON.parse(cli.stdout) as CollectorHealth;
    const by = new Map(h.exporters.map((e) => [e.exporter, e]));
    const missing = (a: string): number[] => by.get(a)!.domains.map((d) => d.sequence.missing);
    expect(missing('127.0.0.2')).toEqual([3]);
    expect(by.get('127.0.0.2')!.domains[0]!.sequence.unit).toBe('packets');
    expect(missing('127.0.0.3')).toEqual([v5Missing]);
    expect(missing('::1')).toEqual([15]);
    expect(by.get('::1')!.sequenceMissing).toBe(15);
    expect(by.get('::1')!.records).toBe(85);
    for (const e of h.exporters) expect(e.domains.every((d) => d.sequence.duplicates === 0 && d.sequence.resets === 0)).toBe(true);
    expect(h.totals.socketDrops).toBe(0);
  });
});
