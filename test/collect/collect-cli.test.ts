/** `v6scope collect --stdout json`: live decoded records on stdout, nothing stored. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, runCli } from '../helpers/cli.js';
import { concat, ip4, ip6, ipfixMessage, ipfixTemplate, set, u16, u32, u8, type Field } from '../sources/flow/encode.js';
import { sendFrom, waitFor } from './helpers.js';

describe('v6scope collect', () => {
  it('prints one JSON object per record, from IPv4 and IPv6 listeners, and exits after --count', async () => {
    const child = spawn(process.execPath, [CLI, 'collect', '--listen', '127.0.0.1:0', '--listen', '[::1]:0', '--stdout', 'json', '--count', '4'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await waitFor(() => /listening on/.test(err), 20_000, 'collect to listen');
    const [p4, p6] = [...err.matchAll(/:(\d+)\/udp/g)].map((m) => Number(m[1]));
    const f4: Field[] = [[8, 4], [12, 4], [7, 2], [11, 2], [4, 1], [2, 4], [1, 4]];
    const f6: Field[] = [[27, 16], [28, 16], [7, 2], [11, 2], [4, 1], [2, 4], [1, 4]];
    const m4 = ipfixMessage({ exportTime: 1_767_268_800, seq: 0, domain: 1 }, set(2, ipfixTemplate(256, f4)), set(256, concat(ip4('10.0.0.1'), ip4('192.0.2.1'), u16(5000), u16(53), u8(17), u32(1), u32(80)), concat(ip4('10.0.0.2'), ip4('192.0.2.1'), u16(5001), u16(53), u8(17), u32(2), u32(160))));
    const m6 = ipfixMessage({ exportTime: 1_767_268_800, seq: 0, domain: 1 }, set(2, ipfixTemplate(256, f6)), set(256, concat(ip6('2001:db8::1'), ip6('2001:db8::2'), u16(5000), u16(443), u8(6), u32(3), u32(300)), concat(ip6('2001:db8::1'), ip6('2001:db8::3'), u16(5001), u16(443), u8(6), u32(4), u32(400))));
    await sendFrom([m4], { host: '127.0.0.1', port: p4! });
    await sendFrom([m6], { host: '::1', port: p6! });
    const code = await closed;
    clearTimeout(timer);
    expect(code, err).toBe(0);
    const recs = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number>);
    expect(recs.map((r) => [r.family, r.src_addr, r.dst_addr, r.packets, r.bytes, r.source_kind])).toEqual([
      [4, '10.0.0.1', '192.0.2.1', 1, 80, 'ipfix'],
      [4, '10.0.0.2', '192.0.2.1', 2, 160, 'ipfix'],
      [6, '2001:db8::1', '2001:db8::2', 3, 300, 'ipfix'],
      [6, '2001:db8::1', '2001:db8::3', 4, 400, 'ipfix'],
    ]);
    expect(recs[2]!.exporter_addr).toBe('::1');
    expect(err).toMatch(/127\.0\.0\.1: 1 datagrams, 2 records/);
  });

  it('usage errors exit 2', async () => {
    for (const args of [['collect', '--listen', '::1:2055'], ['collect', '--listen', '127.0.0.1:1', '--stdout', 'csv'], ['collect']]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});
