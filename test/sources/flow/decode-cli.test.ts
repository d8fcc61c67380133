import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';
import { runCli } from '../../helpers/cli.js';
import { concat, ip4, ip6, ipfixMessage, ipfixTemplate, mac, set, u16, u32, u64, u8, v9Packet, v9Template } from './encode.js';

const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);
const SECS = T0 / 1000;

describe('v6scope decode', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-decode-'));
    file = path.join(dir, 'export.pcap');
    const w = PcapWriter.toFile(file);
    const v9 = v9Packet(
      { uptime: 60_000, secs: SECS, seq: 0, sourceId: 5 },
      set(0, v9Template(256, [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [1, 4], [2, 4], [22, 4], [21, 4], [56, 6]])),
      set(256, concat(ip4('192.0.2.1'), ip4('198.51.100.2'), u16(1000), u16(80), u8(6), u32(500), u32(5), u32(50_000), u32(59_000), mac('02:11:22:33:44:55'))),
    );
    const ipfix = ipfixMessage(
      { exportTime: SECS, seq: 0, domain: 1 },
      set(2, ipfixTemplate(300, [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [1, 8], [2, 8], [152, 8], [153, 8]])),
      set(300, concat(ip6('2001:db8::1'), ip6('2001:db8:0:0:1::2'), u16(5353), u16(53), u8(17), u64(300), u64(3), u64(T0 - 2000), u64(T0 - 1000))),
    );
    w.write(buildFrame({ src: '192.0.2.254', dst: '192.0.2.100', proto: 'udp', srcPort: 40001, dstPort: 2055, payload: v9 }), T0);
    w.write(buildFrame({ src: '2001:db8::fe', dst: '2001:db8::100', proto: 'udp', srcPort: 40002, dstPort: 9999, payload: ipfix }), T0 + 1);
    w.write(buildFrame({ src: '192.0.2.254', dst: '192.0.2.100', proto: 'udp', srcPort: 1, dstPort: 53, payloadLength: 40 }), T0 + 2);
    w.write(buildFrame({ src: '192.0.2.254', dst: '192.0.2.100', proto: 'tcp', srcPort: 1, dstPort: 2055, payloadLength: 40 }), T0 + 3);
    w.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one JSON object per record with schema field names', async () => {
    const r = await runCli(['decode', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      source_kind: 'netflow9', exporter_addr: '192.0.2.254', observation_domain: 5, family: 4,
      src_addr: '192.0.2.1', dst_addr: '198.51.100.2', src_port: 1000, dst_port: 80, proto: 6, bytes: 500, packets: 5,
      src_mac: '02:11:22:33:44:55', time_start: T0 - 10_000, time_end: T0 - 1000, time_received: T0, flows: 1, sampling_rate: 1,
    });
    expect(lines[1]).toMatchObject({
      source_kind: 'ipfix', exporter_addr: '2001:db8::fe', family: 6, src_addr: '2001:db8::1', dst_addr: '2001:db8::1:0:0:2',
      dst_port: 53, proto: 17, bytes: 300, time_start: T0 - 2000, time_end: T0 - 1000,
    });
  });

  it('--stats --json reports exporters, counts and templates', async () => {
    const r = await runCli(['decode', file, '--stats', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { capture: Record<string, number>; exporters: { exporter: string; records: number; domains: { templates: { id: number; fields: { name: string }[] }[] }[] }[] };
    expect(j.capture).toMatchObject({ packets: 4, flowDatagrams: 2, otherUdp: 1, notUdp: 1 });
    expect(j.exporters.map((e) => [e.exporter, e.records])).toEqual([['192.0.2.254', 1], ['2001:db8::fe', 1]]);
    expect(j.exporters[1]!.domains[0]!.templates[0]!.fields[0]!.name).toBe('sourceIPv6Address');
    const text = await runCli(['decode', file, '--stats']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('exporter 192.0.2.254');
    expect(text.stdout).toContain('flowStartMilliseconds');
  });

  it('--stats marks the templates decoded by a generated function (hot ones), records unchanged', async () => {
    const hot = path.join(dir, 'hot.pcap');
    const w = PcapWriter.toFile(hot);
    const tpl = set(2, ipfixTemplate(400, [[8, 4], [12, 4], [4, 1], [1, 4], [2, 4]]));
    const rec = (i: number) => concat(ip4('192.0.2.1'), ip4(`198.51.100.${i % 250}`), u8(17), u32(100 + i), u32(1));
    // 70 records with the interpreter, then (hot after 64) the next datagram's 3 with the generated function
    const d1 = ipfixMessage({ exportTime: SECS, seq: 0, domain: 1 }, tpl, set(400, ...Array.from({ length: 70 }, (_, i) => rec(i))));
    const d2 = ipfixMessage({ exportTime: SECS, seq: 70, domain: 1 }, set(400, rec(70), rec(71), rec(72)));
    w.write(buildFrame({ src: '192.0.2.254', dst: '192.0.2.100', proto: 'udp', srcPort: 40001, dstPort: 4739, payload: d1 }), T0);
    w.write(buildFrame({ src: '192.0.2.254', dst: '192.0.2.100', proto: 'udp', srcPort: 40001, dstPort: 4739, payload: d2 }), T0 + 1);
    w.close();
    const text = await runCli(['decode', hot, '--stats']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('template 400 (compiled):');
    expect((await runCli(['decode', file, '--stats'])).stdout).not.toContain('(compiled)'); // one record per template: interpreted
    const recs = (await runCli(['decode', hot])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { dst_addr: string; bytes: number; proto: number });
    expect(recs).toHaveLength(73);
    expect(recs.slice(68).map((r) => [r.dst_addr, r.bytes, r.proto])).toEqual([68, 69, 70, 71, 72].map((i) => [`198.51.100.${i}`, 100 + i, 17]));
  });

  it('exit 2 for a missing file, 1 naming the file for a damaged capture', async () => {
    const missing = await runCli(['decode', path.join(dir, 'nope.pcap')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.pcap');
    const bad = path.join(dir, 'bad.pcap');
    writeFileSync(bad, 'this is not a capture file at all');
    const r = await runCli(['decode', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.pcap');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
