#!/usr/bin/env node
/**
 * Packets → flows throughput, without the store: read only, read + decode, and the whole
 * captureToFlows pipeline (read + decode + meter + FlowRecord batches), each timed over a few
 * rounds; nfdump's nfpcapd on the same file as the reference when it is installed.
 *
 *   npm run build && node bench/packets-decode.mjs [FILE.pcap] [rounds=3]
 *
 * Without FILE, a 5,000,000-packet synthetic capture is generated once with bench/gen-pcap.mjs in
 * the temp directory. V6SCOPE_PACKETS_MODULE may point at another build of src/sources/packets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modPath = process.env.V6SCOPE_PACKETS_MODULE ?? path.join(root, 'dist/sources/packets/index.js');
if (!existsSync(modPath)) {
  console.error(`missing ${modPath}: run "npm run build" first`);
  process.exit(1);
}
const { readCapture, PacketDecoder, captureToFlows } = await import(pathToFileURL(modPath).href);

let file = process.argv[2];
const rounds = Number(process.argv[3] ?? 3);
if (!file) {
  file = path.join(os.tmpdir(), 'v6scope-bench-5m.pcap');
  if (!existsSync(file)) execFileSync(process.execPath, [path.join(root, 'bench/gen-pcap.mjs'), file, '5000000'], { stdio: 'inherit' });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en');

async function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, r };
}

const modes = {
  read: async () => {
    let n = 0;
    await readCapture(file, () => n++);
    return { packets: n };
  },
  'read+decode': async () => {
    const d = new PacketDecoder();
    let n = 0;
    await readCapture(file, (p) => {
      n++;
      d.decodePacket(p);
    });
    return { packets: n };
  },
  'read+decode+meter': async () => {
    let flows = 0;
    const s = await captureToFlows(file, { exporterName: path.basename(file), onFlows: (b) => void (flows += b.length) });
    return { packets: s.packets, flows, stats: s };
  },
};

console.log(`capture: ${file}`);
let packets = 0;
let full = 0;
for (const [name, fn] of Object.entries(modes)) {
  const runs = [];
  let last;
  for (let i = 0; i < rounds; i++) {
    const { s, r } = await time(fn);
    runs.push(s);
    last = r;
  }
  packets = last.packets;
  const m = median(runs);
  if (name === 'read+decode+meter') full = m;
  console.log(
    `${name.padEnd(18)} ${m.toFixed(2)} s (runs ${runs.map((x) => x.toFixed(2)).join(', ')})  ${fmt(packets / m)} packets/s` +
      (last.flows !== undefined ? `  ${fmt(last.flows)} flows, ${fmt(last.stats.ipv4Packets)} IPv4 + ${fmt(last.stats.ipv6Packets)} IPv6 packets` : ''),
  );
}

if (spawnSync('sh', ['-c', 'command -v nfpcapd']).status === 0) {
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'v6scope-nfpcapd-'));
    const t0 = process.hrtime.bigint();
    const r = spawnSync('nfpcapd', ['-r', file, '-l', dir], { stdio: 'ignore' });
    runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) {
      console.log(`nfpcapd failed (${r.status})`);
      break;
    }
  }
  const m = median(runs);
  console.log(`${'nfpcapd -r'.padEnd(18)} ${m.toFixed(2)} s (runs ${runs.map((x) => x.toFixed(2)).join(', ')})  ${fmt(packets / m)} packets/s  → v6scope pipeline is ${(m / full).toFixed(2)}× nfpcapd`);
} else {
  console.log('nfpcapd not installed (apt-get install nfdump) — no reference run');
}
