#!/usr/bin/env node
/**
 * pcap → flows → store throughput: v6scope ingest vs nfdump's nfpcapd on the same capture, same run.
 *
 *   npm run bench:pcap                       # 5,000,000 packets (bench/gen-pcap.mjs), 3 rounds
 *   node bench/pcap-throughput.mjs FILE.pcap [rounds]
 *
 * Both tools read the file, meter flows (nfpcapd: -e 300,60 defaults; v6scope: its defaults) and write
 * them to their store (nfpcapd: nfcapd files; v6scope: DuckDB with rollups). Wall time per run,
 * packets/s, and the ratio v6scope/nfpcapd are printed as a Markdown row for bench/RESULTS.md. The
 * per-family packet and byte totals of both tools are compared (they must be equal).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'bench/work');
mkdirSync(work, { recursive: true });

let file = process.argv[2];
const rounds = Number(process.argv[3] ?? 3);
if (!file) {
  file = path.join(work, 'bench-5m.pcap');
  if (!existsSync(file)) execFileSync(process.execPath, [path.join(root, 'bench/gen-pcap.mjs'), file, '5000000'], { stdio: 'inherit' });
}
for (const tool of ['nfpcapd', 'nfdump', 'capinfos']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`missing ${tool}: apt-get install nfdump tshark`);
    process.exit(1);
  }
}
const packets = Number(/Number of packets:\s*([\d\s]+)/.exec(execFileSync('capinfos', ['-c', '-M', file]).toString())[1].replace(/\s/g, ''));

function timed(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return { s, stdout: r.stdout.toString() };
}

const results = { nfpcapd: [], v6scope: [] };
let nfTotals;
let v6Totals;
for (let i = 0; i < rounds; i++) {
  const nfDir = path.join(work, 'nfpcapd');
  rmSync(nfDir, { recursive: true, force: true });
  mkdirSync(nfDir);
  results.nfpcapd.push(timed('nfpcapd', ['-r', file, '-l', nfDir]).s);
  const sum = (filter) => {
    const out = execFileSync('nfdump', ['-R', nfDir, '-q', '-o', 'fmt:%pkt %byt', '-N', filter], { maxBuffer: 1 << 30 }).toString();
    let p = 0;
    let b = 0;
    for (const line of out.split('\n')) {
      const [pk, by] = line.trim().split(/\s+/);
      if (pk) {
        p += Number(pk);
        b += Number(by);
      }
    }
    return { packets: p, bytes: b };
  };
  if (i === 0) nfTotals = { ipv4: sum('ipv4'), ipv6: sum('ipv6') };

  const data = path.join(work, 'v6scope-data');
  rmSync(data, { recursive: true, force: true });
  results.v6scope.push(timed(process.execPath, [path.join(root, 'dist/cli/main.js'), '--data', data, '--quiet', 'ingest', file]).s);
  if (i === 0) {
    const share = JSON.parse(execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), '--data', data, '--json', 'share']).toString());
    v6Totals = { ipv4: { packets: share.packets.ipv4, bytes: share.bytes.ipv4 }, ipv6: { packets: share.packets.ipv6, bytes: share.bytes.ipv6 } };
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nf = median(results.nfpcapd);
const v6 = median(results.v6scope);
const same = JSON.stringify(nfTotals) === JSON.stringify(v6Totals);
console.log(`capture: ${file} (${packets} packets, ${(statSync(file).size / 1e6).toFixed(0)} MB)`);
console.log(`nfpcapd runs (s): ${results.nfpcapd.map((x) => x.toFixed(2)).join(', ')}`);
console.log(`v6scope runs (s): ${results.v6scope.map((x) => x.toFixed(2)).join(', ')}`);
console.log(`totals equal: ${same}\n  nfdump : ${JSON.stringify(nfTotals)}\n  v6scope: ${JSON.stringify(v6Totals)}`);
const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
console.log('\n| date | machine | packets | nfpcapd s (pkt/s) | v6scope s (pkt/s) | ratio v6scope/nfpcapd | totals equal |');
console.log(
  `| ${new Date().toISOString().slice(0, 10)} | ${os.cpus().length} × ${cpu}, Node ${process.version} | ${packets} | ${nf.toFixed(2)} (${Math.round(packets / nf).toLocaleString('en')}) | ${v6.toFixed(2)} (${Math.round(packets / v6).toLocaleString('en')}) | ${(nf / v6).toFixed(2)} | ${same} |`,
);
if (!same) process.exitCode = 1;
