/**
 * An independent, deliberately small reader for the demo's capture (classic little-endian pcap,
 * Ethernet, IPv4/IPv6 without extension headers, TCP/UDP/ICMP/ICMPv6) and a minimal DNS decoder, so
 * the tests can recount the ground truth without v6scope's own decoder and flow meter.
 */
import { readFileSync } from 'node:fs';
import { formatIP } from '../../src/net/ip.js';
import { formatMac, macFromBytes } from '../../src/net/mac.js';

export interface Pkt {
  /** Capture time in microseconds since the epoch. */
  tUs: number;
  capLen: number;
  origLen: number;
  srcMac: string;
  dstMac: string;
  /** 0 for non-IP frames. */
  fam: 0 | 4 | 6;
  ipLen: number;
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  tcpFlags: number;
  /** The transport payload as captured (UDP only; empty otherwise). */
  udpPayload: Uint8Array;
}

export interface Capture {
  magic: number;
  snaplen: number;
  linkType: number;
  packets: Pkt[];
}

function v4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
function v6(b: Uint8Array, o: number): string {
  return formatIP(Uint8Array.from(b.subarray(o, o + 16)), 6);
}

export function readCaptureFile(file: string): Capture {
  const buf = readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== 0xa1b2c3d4) throw new Error(`unexpected pcap magic ${magic.toString(16)}`);
  const snaplen = dv.getUint32(16, true);
  const linkType = dv.getUint32(20, true);
  const packets: Pkt[] = [];
  let pos = 24;
  while (pos < buf.length) {
    const sec = dv.getUint32(pos, true);
    const usec = dv.getUint32(pos + 4, true);
    const capLen = dv.getUint32(pos + 8, true);
    const origLen = dv.getUint32(pos + 12, true);
    const f = buf.subarray(pos + 16, pos + 16 + capLen);
    pos += 16 + capLen;
    const p: Pkt = {
      tUs: sec * 1e6 + usec,
      capLen,
      origLen,
      dstMac: formatMac(macFromBytes(f, 0)),
      srcMac: formatMac(macFromBytes(f, 6)),
      fam: 0,
      ipLen: 0,
      src: '',
      dst: '',
      proto: 0,
      sport: 0,
      dport: 0,
      tcpFlags: 0,
      udpPayload: new Uint8Array(0),
    };
    const et = (f[12]! << 8) | f[13]!;
    let l4 = -1;
    if (et === 0x0800) {
      p.fam = 4;
      p.ipLen = (f[16]! << 8) | f[17]!;
      p.proto = f[23]!;
      p.src = v4(f, 26);
      p.dst = v4(f, 30);
      l4 = 14 + (f[14]! & 15) * 4;
    } else if (et === 0x86dd) {
      p.fam = 6;
      p.ipLen = ((f[18]! << 8) | f[19]!) + 40;
      p.proto = f[20]!;
      p.src = v6(f, 22);
      p.dst = v6(f, 38);
      l4 = 54;
    }
    if (l4 >= 0) {
      if (p.proto === 6 || p.proto === 17) {
        p.sport = (f[l4]! << 8) | f[l4 + 1]!;
        p.dport = (f[l4 + 2]! << 8) | f[l4 + 3]!;
        if (p.proto === 6) p.tcpFlags = f[l4 + 13]!;
        else p.udpPayload = f.subarray(l4 + 8);
      } else if (p.proto === 1 || p.proto === 58) {
        p.dport = f[l4]! * 256 + f[l4 + 1]!;
      }
    }
    packets.push(p);
  }
  return { magic, snaplen, linkType, packets };
}

export const flowKey = (p: Pkt): string => `${p.fam} ${p.src} ${p.dst} ${p.proto} ${p.sport} ${p.dport}`;

// --- DNS ------------------------------------------------------------------------------------

export interface DnsRecord {
  name: string;
  type: number;
  ttl: number;
  /** Address text for A/AAAA; the decoded target for CNAME; "" otherwise. */
  data: string;
}

export interface DnsDecoded {
  id: number;
  flags: number;
  questions: { name: string; type: number; class: number }[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

function readName(b: Uint8Array, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  let jumps = 0;
  for (;;) {
    if (off >= b.length) throw new Error('DNS name runs past the message');
    const len = b[off]!;
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      const ptr = ((len & 0x3f) << 8) | b[off + 1]!;
      if (ptr >= off) throw new Error('DNS compression pointer does not point backwards');
      if (next < 0) next = off + 2;
      if (++jumps > 32) throw new Error('DNS compression loop');
      off = ptr;
      continue;
    }
    if (len > 63) throw new Error('DNS label too long');
    labels.push(Buffer.from(b.subarray(off + 1, off + 1 + len)).toString('latin1'));
    off += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Decode a whole DNS message; throws when it is malformed or has trailing bytes. */
export function decodeDns(b: Uint8Array): DnsDecoded {
  const u16 = (o: number) => (b[o]! << 8) | b[o + 1]!;
  const u32 = (o: number) => ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
  const out: DnsDecoded = { id: u16(0), flags: u16(2), questions: [], answers: [], authority: [], additional: [] };
  const counts = [u16(4), u16(6), u16(8), u16(10)] as const;
  let off = 12;
  for (let i = 0; i < counts[0]; i++) {
    const n = readName(b, off);
    out.questions.push({ name: n.name, type: u16(n.next), class: u16(n.next + 2) });
    off = n.next + 4;
  }
  const sections = [out.answers, out.authority, out.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const n = readName(b, off);
      const type = u16(n.next);
      const ttl = u32(n.next + 4);
      const rdlen = u16(n.next + 8);
      const rd = n.next + 10;
      if (rd + rdlen > b.length) throw new Error('DNS record data runs past the message');
      let data = '';
      if (type === 1 && rdlen === 4) data = v4(b, rd);
      else if (type === 28 && rdlen === 16) data = v6(b, rd);
      else if (type === 5) data = readName(b, rd).name;
      else if (type === 1 || type === 28) throw new Error(`bad address length ${rdlen}`);
      sections[s]!.push({ name: n.name, type, ttl, data });
      off = rd + rdlen;
    }
  }
  if (off !== b.length) throw new Error(`DNS message has ${b.length - off} trailing bytes`);
  return out;
}
