#!/usr/bin/env node
/**
 * Deterministic VPC Flow Logs file as AWS delivers it to S3: gzip, a header line naming the fields,
 * then one record per line. Usage: node bench/aws-gen-vpc.mjs OUT.log.gz [lines=1000000] [format=v2|v5]
 *
 * Mix: 60 % IPv4 / 40 % IPv6 (about 50,000 local IPv4 hosts in 10/8, 5,600 local IPv6 hosts in
 * 2600:1f18::/32; 250 IPv4 and about 90,000 IPv6 peers, some in fd00::/8), 10 % REJECT, 1 in 1000 rows
 * NODATA, ports and counters varying, timestamps over one hour.
 */
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';

const out = process.argv[2];
const N = Number(process.argv[3] ?? 1_000_000);
const FMT = process.argv[4] ?? 'v2';
if (!out) {
  process.stderr.write('usage: node bench/aws-gen-vpc.mjs OUT.log.gz [lines] [v2|v5]\n');
  process.exit(2);
}
const V2 = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const V5 = 'version account-id vpc-id subnet-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status type pkt-srcaddr pkt-dstaddr flow-direction tcp-flags';
const T0 = 1_764_590_400;
let seed = 12345;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
const gz = createGzip({ level: 6 });
const ws = createWriteStream(out);
gz.pipe(ws);
const parts = [FMT === 'v5' ? V5 : V2];
const write = async (s) => {
  if (!gz.write(s)) await new Promise((r) => gz.once('drain', r));
};
for (let i = 0; i < N - 1; i++) {
  const r = rnd();
  const eni = `eni-0${(r % 40).toString(16).padStart(16, '0')}`;
  const six = r % 10 < 4;
  const local = six ? `2600:1f18:${(r % 7).toString(16)}:${(r >> 3) % 8}::${((r >> 11) % 100).toString(16)}` : `10.0.${r % 200}.${(r >> 8) % 250}`;
  const peer = six ? (r % 13 === 0 ? `fd00::${r % 999}` : `2a00:1450:4001:${(r >> 5) % 900}::${(r >> 2) % 100}`) : `203.0.113.${(r >> 4) % 250}`;
  const out_ = r % 2 === 0;
  const src = out_ ? local : peer;
  const dst = out_ ? peer : local;
  const sp = 1024 + (rnd() % 60000);
  const dp = [443, 80, 53, 22, 8080][r % 5];
  const proto = dp === 53 ? 17 : 6;
  const pk = 1 + (rnd() % 500);
  const by = pk * (40 + (rnd() % 1400));
  const st = T0 + (i % 3600);
  const action = r % 10 === 7 ? 'REJECT' : 'ACCEPT';
  let line;
  if (i % 1000 === 999) {
    line = FMT === 'v5' ? `5 123456789012 vpc-0a1 subnet-0b${r % 4} ${eni} - - - - - - - ${st} ${st + 60} - NODATA - - - - -` : `2 123456789012 ${eni} - - - - - - - ${st} ${st + 60} - NODATA`;
  } else if (FMT === 'v5') {
    line = `5 123456789012 vpc-0a${r % 3} subnet-0b${r % 4} ${eni} ${src} ${dst} ${sp} ${dp} ${proto} ${pk} ${by} ${st} ${st + 60} ${action} OK ${six ? 'IPv6' : 'IPv4'} ${src} ${dst} ${out_ ? 'egress' : 'ingress'} ${proto === 6 ? 19 : 0}`;
  } else {
    line = `2 123456789012 ${eni} ${src} ${dst} ${sp} ${dp} ${proto} ${pk} ${by} ${st} ${st + 60} ${action} OK`;
  }
  parts.push(line);
  if (parts.length >= 4096) {
    await write(parts.join('\n') + '\n');
    parts.length = 0;
  }
}
if (parts.length) await write(parts.join('\n') + '\n');
gz.end();
await new Promise((r) => ws.on('finish', r));
