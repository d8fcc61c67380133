/** `v6scope decode FILE.pcap` on a capture holding sFlow v5 and NetFlow v5 datagrams. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';
import { runCli } from '../../helpers/cli.js';
import { u16, u32 as w32, u8 } from '../flow/encode.js';
import { concat, datagram, flowSample, ip4, rawHeader } from './encode.js';

const T0 = Date.UTC(2026, 2, 1, 0, 0, 0);

describe('v6scope decode with sFlow', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'v6scope-sflow-decode-'));
    file = path.join(dir, 'export.pcap');
    const pkt = buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'tcp', srcPort: 50000, dstPort: 443, payloadLength: 500 });
    const sflow = datagram({ agent: '192.0.2.10', subAgent: 4, seq: 1 }, flowSample({ rate: 100, input: 2, output: 3 }, rawHeader(1, pkt.length + 4, 4, pkt.subarray(0, 128))));
    // NetFlow v5: header (24) + one record (48): 00 05 first, then count 1.
    const v5 = concat(
      u16(5), u16(1), w32(1000), w32(T0 / 1000), w32(0), w32(0), u8(0), u8(0), u16(0),
      ip4('10.0.0.1'), ip4('10.0.0.2'), ip4('0.0.0.0'), u16(1), u16(2), w32(3), w32(300), w32(900), w32(1000), u16(1234), u16(80), u8(0), u8(0x18), u8(6), u8(0), u16(0), u16(0), u8(0), u8(0), u16(0),
    );
    const w = PcapWriter.toFile(file);
    w.write(buildFrame({ src: '192.0.2.10', dst: '192.0.2.100', proto: 'udp', srcPort: 40000, dstPort: 6343, payload: sflow }), T0);
    w.write(buildFrame({ src: '192.0.2.20', dst: '192.0.2.100', proto: 'udp', srcPort: 40001, dstPort: 2055, payload: v5 }), T0 + 1);
    w.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints sFlow and NetFlow v5 records; --stats --json reports the sFlow agent', async () => {
    const r = await runCli(['decode', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      source_kind: 'sflow', exporter_addr: '192.0.2.10', observation_domain: 4, family: 6, src_addr: '2001:db8::1', dst_addr: '2001:db8::2',
      src_port: 50000, dst_port: 443, proto: 6, packets: 100, bytes: (40 + 20 + 500) * 100, flows: 1, sampling_rate: 100, in_if: 2, out_if: 3, time_received: T0,
    });
    expect(lines[1]).toMatchObject({ source_kind: 'netflow5', exporter_addr: '192.0.2.20', packets: 3, bytes: 300, src_port: 1234, dst_port: 80 });
    const s = await runCli(['decode', file, '--stats', '--json']);
    expect(s.code).toBe(0);
    const j = JSON.parse(s.stdout) as { capture: Record<string, number>; sflowAgents: { agent: string; records: number; flowSamples: number }[] };
    expect(j.capture).toMatchObject({ packets: 2, flowDatagrams: 1, sflowDatagrams: 1, otherUdp: 0 });
    expect(j.sflowAgents).toMatchObject([{ agent: '192.0.2.10', records: 1, flowSamples: 1 }]);
    const text = await runCli(['decode', file, '--stats']);
    expect(text.stdout).toContain('sFlow agent 192.0.2.10');
    expect(text.stdout).toContain('1 sFlow datagrams');
  });
});
