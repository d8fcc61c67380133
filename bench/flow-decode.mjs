#!/usr/bin/env node
/**
 * Flow decoder throughput (issue 3): IPFIX and NetFlow v9 records per second on one core, on the
 * collector benchmark's realistic export — two 20-field templates (IPv4 and IPv6: addresses,
 * ports, protocol, flags, ToS, interfaces, counters, start/end times, AS numbers, next hop, prefix
 * lengths, direction, IP version), 10 IPv4 + 6 IPv6 records per datagram (bench/ipfix-replay.mjs;
 * the v9 export is the same records with v9's uptime-relative FIRST/LAST_SWITCHED times).
 *
 *   npm run build && node bench/flow-decode.mjs [datagrams=50000] [rounds=5] [--no-peer]
 *
 * In process (no socket, no store), per format:
 * - records:  FlowDecoder.decode → FlowRecords (what `decode`, `collect` and capture use);
 * - columnar: what serve's collector thread does — a decoder in transient mode (records reused
 *   from datagram to datagram), each record pushed into a ColumnarBuilder;
 * - interpreted: as `records`, with the op-list interpreter only (compileAfter: Infinity) — the
 *   decoder without its generated per-template record functions (src/sources/flow/codegen.ts).
 * Peer, same run, same datagrams: both exports written as pcap files (Ethernet/IPv4/UDP, with the
 * project's PcapWriter), read by
 * pmacct's `nfacctd -I FILE` (decode, aggregate by protocol, print plugin; its CPU time: core and
 * plugin processes) and by `v6scope decode --stats FILE` (pcap reading + decoding, no output per
 * record); records per CPU-second of each and the ratio. nfacctd's packet and byte totals and
 * v6scope's record count are checked against the generator's own sums (the run fails otherwise).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataMessage, RECS_PER, templateMessage, templateRecord, V4_FIELDS, V6_FIELDS } from './ipfix-replay.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.V6SCOPE_DIST ?? path.join(ROOT, 'dist');
const { FlowDecoder } = await import(`${DIST}/sources/flow/index.js`);
const { ColumnarBuilder } = await import(`${DIST}/collect/flow-batch.js`);
const { PcapWriter, buildFrame } = await import(`${DIST}/sources/packets/writer.js`);

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const N = Number(args[0] ?? 50_000);
const ROUNDS = Number(args[1] ?? 5);
const PEER = !process.argv.includes('--no-peer');
const UPTIME = 3_600_000;
const EXPORT_SEC = Math.floor(Date.UTC(2026, 11, 1) / 1000) + 1;

/** IPFIX datagram k, with its sequence number (records before it) and export time. */
function ipfix(k) {
  const b = dataMessage(k);
  b.writeUInt32BE(EXPORT_SEC, 4);
  b.writeUInt32BE((k * RECS_PER) >>> 0, 8);
  return b;
}

/** v9 fields: the IPFIX templates with flowStart/EndMilliseconds (152/153, 8 bytes) as FIRST/LAST_SWITCHED (22/21, uptime ms). */
const v9Fields = (f) => f.map(([ie, l]) => (ie === 152 ? [22, 4] : ie === 153 ? [21, 4] : [ie, l]));
const V9_4 = v9Fields(V4_FIELDS);
const V9_6 = v9Fields(V6_FIELDS);

function v9Header(count, seq) {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(9, 0);
  h.writeUInt16BE(count, 2);
  h.writeUInt32BE(UPTIME, 4);
  h.writeUInt32BE(EXPORT_SEC, 8);
  h.writeUInt32BE(seq >>> 0, 12);
  h.writeUInt32BE(1, 16);
  return h;
}

function v9Template() {
  const body = Buffer.concat([templateRecord(256, V9_4), templateRecord(257, V9_6)]);
  const fs = Buffer.alloc(4);
  fs.writeUInt16BE(0, 0);
  fs.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([v9Header(2, 0), fs, body]);
}

/**
 * v9 datagram k: the IPFIX datagram's records re-encoded field by field (8-byte times → 4-byte
 * uptime values 2 s and 1 s before the export), in flowsets padded to 4 bytes.
 */
function v9(k, src) {
  const sets = [];
  let o = 16;
  for (const [id, fields, v9f] of [[256, V4_FIELDS, V9_4], [257, V6_FIELDS, V9_6]]) {
    const setLen = src.readUInt16BE(o + 2);
    const recLen = fields.reduce((a, x) => a + x[1], 0);
    const n = (setLen - 4) / recLen;
    const outLen = v9f.reduce((a, x) => a + x[1], 0);
    const body = Buffer.alloc(Math.ceil((4 + n * outLen) / 4) * 4);
    body.writeUInt16BE(id, 0);
    body.writeUInt16BE(body.length, 2);
    let p = o + 4;
    let q = 4;
    for (let r = 0; r < n; r++) {
      fields.forEach(([ie, l]) => {
        if (ie === 152 || ie === 153) body.writeUInt32BE(UPTIME - (ie === 152 ? 2000 : 1000), q), (q += 4);
        else src.copy(body, q, p, p + l), (q += l);
        p += l;
      });
    }
    sets.push(body);
    o += setLen;
  }
  return Buffer.concat([v9Header(RECS_PER, k + 1), ...sets]);
}

const exports = { ipfix: { template: (() => { const t = templateMessage(); t.writeUInt32BE(EXPORT_SEC, 4); return t; })(), data: [] }, v9: { template: v9Template(), data: [] } };
for (let k = 0; k < N; k++) {
  const d = ipfix(k);
  exports.ipfix.data.push(d);
  exports.v9.data.push(v9(k, d));
}
// The generator's own sums (bench/ipfix-replay.mjs: bytes 1000 + r % 5000 for IPv4, 1500 + r % 5000
// for IPv6; packets 1 + r % 10; record r = k * 16 + i).
let truthPackets = 0;
let truthBytes = 0;
for (let r = 0; r < N * RECS_PER; r++) {
  truthPackets += 1 + (r % 10);
  truthBytes += (r % RECS_PER < 10 ? 1000 : 1500) + (r % 5000);
}
const exporter = { addr: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 192, 0, 2, 1]), port: 4739 };

function run(format, mode) {
  const x = exports[format];
  const columnar = mode === 'columnar';
  // 'interpreted': the op-list interpreter only (no generated record functions), for the A/B
  const d = new FlowDecoder({ transientRecords: columnar, compileAfter: mode === 'interpreted' ? Infinity : undefined });
  d.decode(x.template, exporter, 0);
  const b = columnar ? new ColumnarBuilder(32_768) : null;
  let records = 0;
  let packets = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (const dg of x.data) {
    const recs = d.decode(dg, exporter, 0);
    records += recs.length;
    if (b) {
      for (let i = 0; i < recs.length; i++) {
        b.push(recs[i]);
        if (b.full) b.clear();
      }
    } else packets += recs[0].packets;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  const st = d.stats()[0];
  if (Object.values(st.errors).some((n) => n > 0)) throw new Error(`${format}: decode errors ${JSON.stringify(st.errors)}`);
  if (records !== N * RECS_PER) throw new Error(`${format}: ${records} records decoded, ${N * RECS_PER} sent`);
  return { s, rps: records / s, cpu, perCpuSecond: records / cpu, packets };
}

const inProcess = {};
const generatedVsInterpreted = {};
const MODES = ['records', 'columnar', 'interpreted'];
for (const format of ['ipfix', 'v9']) {
  // rounds interleaved across the modes (a noisy neighbour then slows all of them alike)
  const byMode = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) for (const m of MODES) byMode[m].push(run(format, m));
  for (const mode of MODES) {
    const rs = byMode[mode];
    rs.sort((a, b) => a.rps - b.rps);
    const key = `${format} ${mode}`;
    const med = rs[Math.floor(rs.length / 2)];
    const perCpu = rs.map((x) => x.perCpuSecond).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
    // records per CPU-second (the process's CPU time, GC threads included) is steadier than per
    // wall second on a shared VM, where stolen time counts in the wall time only
    inProcess[key] = { medianRecordsPerSec: Math.round(med.rps), medianRecordsPerCpuSecond: Math.round(perCpu), usPerRecord: +(1e6 / med.rps).toFixed(3), rounds: rs.map((x) => Math.round(x.rps)) };
    console.error(`${key}: ${inProcess[key].medianRecordsPerSec.toLocaleString('en')} records/s, ${inProcess[key].medianRecordsPerCpuSecond.toLocaleString('en')} per CPU-second (medians of ${ROUNDS})`);
  }
  const per = (m) => inProcess[`${format} ${m}`].medianRecordsPerCpuSecond;
  generatedVsInterpreted[format] = +(per('records') / per('interpreted')).toFixed(2);
  console.error(`${format}: generated record functions / interpreter = ${generatedVsInterpreted[format]} (records per CPU-second)`);
}

/** A pcap file of the datagrams (Ethernet, IPv4, UDP 40000 → 4739), 1,000 datagrams per second of capture time. */
function pcap(file, frames) {
  const w = PcapWriter.toFile(file);
  frames.forEach((p, i) => w.write(buildFrame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 'udp', srcPort: 40000, dstPort: 4739, payload: p }), EXPORT_SEC * 1000 + i));
  w.close();
}

/** CPU seconds of a command and its children (user + sys), wall seconds, stdout. */
function timed(cmd, argv, opts = {}) {
  const script = `t0=$(date +%s.%N); "$@" > "$OUT" 2> "$ERR"; rc=$?; t1=$(date +%s.%N); times > "$TIMES"; echo "$rc $t0 $t1" > "$WALL"`;
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-decode-peer-'));
  const f = (n) => path.join(dir, n);
  spawnSync('bash', ['-c', script, 'bash', cmd, ...argv], { env: { ...process.env, OUT: f('out'), ERR: f('err'), TIMES: f('times'), WALL: f('wall') }, stdio: 'inherit', ...opts });
  const [rc, t0, t1] = readFileSync(f('wall'), 'utf8').trim().split(' ').map(Number);
  // `times`: shell user/sys, then children user/sys, as 0m1.234s
  const lines = readFileSync(f('times'), 'utf8').trim().split('\n');
  const sec = (t) => t.split(/\s+/).map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; }).reduce((a, b) => a + b, 0);
  const out = { rc, wall: t1 - t0, cpu: sec(lines[1] ?? ''), stdout: readFileSync(f('out'), 'utf8'), stderr: readFileSync(f('err'), 'utf8') };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

const peer = {};
if (PEER) {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-decode-bench-'));
  try {
    for (const format of ['ipfix', 'v9']) {
      const file = path.join(dir, `${format}.pcap`);
      pcap(file, [exports[format].template, ...exports[format].data]);
      const csv = path.join(dir, `${format}.csv`);
      const conf = path.join(dir, `${format}.conf`);
      writeFileSync(conf, `daemonize: false\npcap_savefile: ${file}\nplugins: print\naggregate: proto\nprint_output: csv\nprint_output_file: ${csv}\nprint_refresh_time: 3600\n`);
      const n = timed('nfacctd', ['-f', conf]);
      if (n.rc !== 0) throw new Error(`nfacctd exited ${n.rc}: ${n.stderr.slice(-500)}`);
      const [, row] = readFileSync(csv, 'utf8').trim().split('\n');
      const [, packets, bytes] = row.split(',').map(Number);
      if (packets !== truthPackets || bytes !== truthBytes) throw new Error(`nfacctd ${format}: ${packets} packets, ${bytes} bytes; the export holds ${truthPackets}, ${truthBytes}`);
      const v = timed(process.execPath, [path.join(DIST, 'cli/main.js'), 'decode', '--stats', file]);
      if (v.rc !== 0) throw new Error(`v6scope decode exited ${v.rc}: ${v.stderr.slice(-500)}`);
      const m = /(\d+) records, 0 options records, 0 rejected/.exec(v.stdout);
      if (!m || Number(m[1]) !== N * RECS_PER) throw new Error(`v6scope decode ${format}: ${m?.[1]} records, ${N * RECS_PER} sent`);
      const records = N * RECS_PER;
      peer[format] = {
        records,
        nfacctd: { cpuSeconds: +n.cpu.toFixed(2), wallSeconds: +n.wall.toFixed(2), recordsPerCpuSecond: Math.round(records / n.cpu) },
        v6scopeDecode: { cpuSeconds: +v.cpu.toFixed(2), wallSeconds: +v.wall.toFixed(2), recordsPerCpuSecond: Math.round(records / v.cpu) },
        ratio: +(n.cpu / v.cpu).toFixed(2),
      };
      console.error(`${format} pcap: nfacctd ${n.cpu.toFixed(2)} CPU s, v6scope decode --stats ${v.cpu.toFixed(2)} CPU s (${N * RECS_PER} records)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(JSON.stringify({ datagrams: N, recordsPerDatagram: RECS_PER, rounds: ROUNDS, node: process.version, inProcess, generatedVsInterpreted, peer }, null, 1));
