import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../../src/sources/packets/pcap.js';
import { buildFrame, PcapWriter } from '../../../src/sources/packets/writer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PcapWriter', () => {
  it('writes a file through a buffer larger writes bypass, identical to the in-memory form', async () => {
    const p = path.join(dir, 'w.pcap');
    const fw = PcapWriter.toFile(p, { linkType: 1, snaplen: 2000 });
    const mw = new PcapWriter({ linkType: 1, snaplen: 2000 });
    const big = buildFrame({ src: '2001:db8::1', dst: '2001:db8::2', payloadLength: 3_000_000 });
    for (let i = 0; i < 3000; i++) {
      const f = i === 1500 ? big : buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: i, payloadLength: i % 700 });
      fw.write(f, 1_700_000_000_000 + i * 0.5);
      mw.write(f, 1_700_000_000_000 + i * 0.5);
    }
    fw.close();
    expect(readFileSync(p).equals(mw.toBuffer())).toBe(true);
    let n = 0;
    let bigSeen = false;
    await readCapture(p, (pk) => {
      if (pk.origLen === big.length) {
        bigSeen = true;
        expect(pk.capLen).toBe(2000);
      }
      expect(pk.tsMs).toBeCloseTo(1_700_000_000_000 + n * 0.5, 3);
      n++;
    });
    expect(n).toBe(3000);
    expect(bigSeen).toBe(true);
  });

  it('buildFrame: Ethernet/IPv4/TCP layout', () => {
    const f = buildFrame({ src: '192.0.2.1', dst: '198.51.100.2', srcPort: 1, dstPort: 2, tcpFlags: 0x02, payloadLength: 4, srcMac: '02:00:00:00:00:01', dstMac: 0x020000000002, ttl: 7, ipId: 9 });
    expect(Buffer.from(f).toString('hex')).toBe(
      '020000000002' + '020000000001' + '0800' + '4500002c' + '00090000' + '0706' + '0000' + 'c0000201' + 'c6336402' + '00010002' + '00000000' + '00000000' + '5002ffff' + '00000000' + '00000000',
    );
  });
});
