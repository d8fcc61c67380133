#!/usr/bin/env node
/**
 * Writes a synthetic but realistic classic pcap for throughput benchmarks: N packets over many
 * interleaved flows (IPv4 and IPv6 mixed, TCP and UDP, a few VLAN-tagged frames), Ethernet link
 * type, snaplen 128 with wire lengths from 60 to 1514, timestamps advancing ~8,000 packets/s so
 * that idle and active timeouts fire as in a real capture. Deterministic (seeded xorshift).
 *
 *   node bench/gen-pcap.mjs OUT.pcap [packets=5000000]
 */
import { openSync, writeSync, closeSync } from 'node:fs';

const out = process.argv[2];
const total = Number(process.argv[3] ?? 5_000_000);
if (!out) {
  console.error('usage: gen-pcap.mjs OUT.pcap [packets]');
  process.exit(2);
}

let seed = 0x9e3779b9;
const rnd = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};

const SNAP = 128;
const fd = openSync(out, 'w');
const hdr = Buffer.alloc(24);
hdr.writeUInt32LE(0xa1b2c3d4, 0);
hdr.writeUInt16LE(2, 4);
hdr.writeUInt16LE(4, 6);
hdr.writeUInt32LE(SNAP, 16);
hdr.writeUInt32LE(1, 20); // Ethernet
writeSync(fd, hdr);

const POOL = 20_000;
const flows = [];
let portCounter = 1024;
function newFlow() {
  const v6 = rnd() < 0.6;
  const tcp = rnd() < 0.8;
  const host = (rnd() * 250) | 0;
  const remote = (rnd() * 65536) | 0;
  const sport = 1024 + (portCounter++ % 60000);
  const dport = tcp ? [443, 80, 22, 993, 51413][(rnd() * 5) | 0] : [53, 123, 443, 6881][(rnd() * 4) | 0];
  const big = rnd() < 0.3;
  return { v6, tcp, host, remote, sport, dport, left: big ? 200 + ((rnd() * 2000) | 0) : 1 + ((rnd() * 20) | 0), big, vlan: rnd() < 0.05 };
}
for (let i = 0; i < POOL; i++) flows.push(newFlow());

const CHUNK = 8 << 20;
let buf = Buffer.alloc(CHUNK);
let off = 0;
let tUs = Date.UTC(2026, 10, 2) * 1000;
for (let n = 0; n < total; n++) {
  const i = (rnd() * POOL) | 0;
  const f = flows[i];
  const reverse = rnd() < 0.4;
  tUs += 1 + ((rnd() * 250) | 0);
  const l4 = f.tcp ? 20 : 8;
  const ipHdr = f.v6 ? 40 : 20;
  const payload = f.big && !reverse ? 1460 - (f.v6 ? 20 : 0) : (rnd() * 200) | 0;
  const ipLen = ipHdr + l4 + payload;
  const l2 = 14 + (f.vlan ? 4 : 0);
  const wire = l2 + ipLen;
  const cap = Math.min(SNAP, wire);
  if (off + 16 + cap > CHUNK) {
    writeSync(fd, buf, 0, off);
    off = 0;
  }
  buf.writeUInt32LE(Math.floor(tUs / 1e6), off);
  buf.writeUInt32LE(tUs % 1e6, off + 4);
  buf.writeUInt32LE(cap, off + 8);
  buf.writeUInt32LE(wire, off + 12);
  let p = off + 16;
  const frame = buf.subarray(p, p + cap);
  frame.fill(0);
  // MACs: device and router
  frame[0] = 0x02; frame[5] = reverse ? f.host : 1;
  frame[6] = 0x02; frame[11] = reverse ? 1 : f.host;
  let q = 12;
  if (f.vlan) {
    frame.writeUInt16BE(0x8100, q); frame.writeUInt16BE(10, q + 2); q += 4;
  }
  frame.writeUInt16BE(f.v6 ? 0x86dd : 0x0800, q);
  q += 2;
  const local = f.v6 ? [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, f.host] : [192, 168, 1, f.host];
  const remote = f.v6 ? [0x26, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, f.remote >> 8, f.remote & 255] : [203, 0, f.remote >> 8, f.remote & 255];
  const src = reverse ? remote : local;
  const dst = reverse ? local : remote;
  const proto = f.tcp ? 6 : 17;
  if (f.v6) {
    frame[q] = 0x60;
    frame.writeUInt16BE(ipLen - 40, q + 4);
    frame[q + 6] = proto;
    frame[q + 7] = 64;
    for (let k = 0; k < 16; k++) { frame[q + 8 + k] = src[k]; frame[q + 24 + k] = dst[k]; }
    q += 40;
  } else {
    frame[q] = 0x45;
    frame.writeUInt16BE(ipLen, q + 2);
    frame[q + 8] = 64;
    frame[q + 9] = proto;
    for (let k = 0; k < 4; k++) { frame[q + 12 + k] = src[k]; frame[q + 16 + k] = dst[k]; }
    q += 20;
  }
  frame.writeUInt16BE(reverse ? f.dport : f.sport, q);
  frame.writeUInt16BE(reverse ? f.sport : f.dport, q + 2);
  if (f.tcp) {
    frame[q + 12] = 0x50;
    frame[q + 13] = f.left === 1 ? 0x11 : 0x10; // FIN|ACK on the last packet, else ACK
  } else {
    frame.writeUInt16BE(8 + payload, q + 4);
  }
  off += 16 + cap;
  if (--f.left <= 0) flows[i] = newFlow();
}
writeSync(fd, buf, 0, off);
closeSync(fd);
console.error(`wrote ${total} packets to ${out}`);
