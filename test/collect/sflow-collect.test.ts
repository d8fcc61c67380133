/** sFlow v5 datagrams arriving on a collector socket are decoded, and the agent shows in the health file. */
import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { CollectorSet } from '../../src/collect/collector.js';
import { parseListen, type ListenAddress } from '../../src/config/index.js';
import type { FlowRecord } from '../../src/schema/fields.js';
import { buildFrame } from '../../src/sources/packets/writer.js';
import { datagram, flowSample, rawHeader } from '../sources/sflow/encode.js';

describe('collector: sFlow', () => {
  it('decodes sFlow on an auto listener, scales by the rate once, and reports the agent', async () => {
    const listen = parseListen('127.0.0.1:0') as ListenAddress;
    const got: FlowRecord[] = [];
    const set = new CollectorSet({ collectors: [{ protocol: 'auto', listen: [listen], receive_buffer: 1 << 20, name: 'sw1' }], onRecords: (r) => got.push(...r), dataDir: null });
    const [l] = await set.start();
    const f6 = buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', proto: 'udp', payloadLength: 100 }); // 148 IP bytes
    const d = datagram({ agent: '192.0.2.9', seq: 1 }, flowSample({ rate: 100 }, rawHeader(1, f6.length + 4, 4, f6)));
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(d, l!.port, '127.0.0.1', () => r()));
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    sock.close();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ family: 6, source_kind: 'sflow', sampling_rate: 100, packets: 100, bytes: 148 * 100, exporter_name: 'sw1' });
    const h = set.health();
    expect(h.sflow.totals).toMatchObject({ datagrams: 1, records: 1, errors: 0 });
    expect(h.exporters[0]).toMatchObject({ sflowDatagrams: 1, unsupportedDatagrams: 0 });
    await set.stop();
  });
});
