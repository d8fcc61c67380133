#!/usr/bin/env node
/**
 * Flow decoder throughput: records/s decoding generated IPFIX datagrams (decode only, one core).
 * Usage: npm run build && node bench/flow-decode.mjs [datagrams] [rounds]
 * Each datagram: one data set of 30 records (IPv4 and IPv6 templates alternating, 12 fields each,
 * ms timestamps, MACs, interfaces); templates are sent once up front.
 */
import { FlowDecoder } from '../dist/sources/flow/index.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const PER = 30;

function be(n, len) {
  const a = new Uint8Array(len);
  let x = BigInt(n);
  for (let i = len - 1; i >= 0; i--) { a[i] = Number(x & 0xffn); x >>= 8n; }
  return a;
}
function cat(...p) {
  const out = new Uint8Array(p.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of p) { out.set(x, o); o += x.length; }
  return out;
}
const set = (id, ...r) => { const b = cat(...r); return cat(be(id, 2), be(b.length + 4, 2), b); };
const msg = (seq, ...sets) => { const b = cat(...sets); return cat(be(10, 2), be(b.length + 16, 2), be(1_780_000_000, 4), be(seq, 4), be(1, 4), b); };
const tpl = (id, fields) => cat(be(id, 2), be(fields.length, 2), ...fields.map(([i, l]) => cat(be(i, 2), be(l, 2))));
const common = [[7, 2], [11, 2], [4, 1], [6, 1], [10, 4], [14, 4], [1, 8], [2, 8], [152, 8], [153, 8], [56, 6], [80, 6]];
const T4 = tpl(256, [[8, 4], [12, 4], ...common]);
const T6 = tpl(257, [[27, 16], [28, 16], ...common]);

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
function rec(v6) {
  const addr = () => (v6 ? cat(be(0x20010db8, 4), be(0, 8), be(Math.floor(rnd() * 2 ** 32), 4)) : be(Math.floor(rnd() * 2 ** 32), 4));
  return cat(addr(), addr(), be(1024 + Math.floor(rnd() * 60000), 2), be(443, 2), be(6, 1), be(0x18, 1), be(3, 4), be(7, 4),
    be(Math.floor(rnd() * 1e6), 8), be(Math.floor(rnd() * 1000), 8), be(1_780_000_000_000 - 5000, 8), be(1_780_000_000_000, 8), be(0x020000000001, 6), be(0x020000000002, 6));
}
const datagrams = [];
let seq = 0;
for (let i = 0; i < N; i++) {
  const v6 = i % 2 === 0;
  datagrams.push(msg(seq, set(v6 ? 257 : 256, ...Array.from({ length: PER }, () => rec(v6)))));
  seq += PER;
}
const tmsg = msg(0, set(2, T4, T6));
const exporter = { addr: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1]), port: 4739 };
const results = [];
for (let r = 0; r < ROUNDS; r++) {
  const d = new FlowDecoder();
  d.decode(tmsg, exporter, 0);
  let records = 0;
  const t0 = process.hrtime.bigint();
  for (const dg of datagrams) records += d.decode(dg, exporter, 0).length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  results.push({ s, records, rps: records / s });
  const st = d.stats()[0];
  if (Object.values(st.errors).some((n) => n > 0)) throw new Error(`decode errors: ${JSON.stringify(st.errors)}`);
}
results.sort((a, b) => a.rps - b.rps);
const med = results[Math.floor(results.length / 2)];
console.log(JSON.stringify({
  datagrams: N, recordsPerDatagram: PER, rounds: ROUNDS, node: process.version,
  medianRecordsPerSec: Math.round(med.rps), medianSeconds: +med.s.toFixed(3),
  usPerRecord: +(1e6 / med.rps).toFixed(3), usPerDatagram: +((1e6 * med.s) / N).toFixed(2),
  all: results.map((x) => Math.round(x.rps)),
}));
