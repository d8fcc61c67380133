/**
 * A small classic-pcap writer and a frame builder, for tests and the demo generator.
 *
 * `buildFrame(spec)` returns the bytes of one frame as they would be on the wire: link header
 * (Ethernet with any VLAN tag stack, Linux cooked v1/v2, loopback NULL/LOOP, or none for raw IP),
 * IPv4 (options via `ihl`, fragments) or IPv6 (extension headers incl. fragment, AH and the jumbo
 * payload option), then TCP/UDP/ICMP/ICMPv6 and payload. Checksums are left zero.
 *
 * `PcapWriter` writes classic pcap (either byte order, micro- or nanosecond timestamps) to a file
 * (buffered, synchronous writes) or to memory; frames longer than the snap length are truncated
 * while the record's original length keeps the wire length.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { parseIP } from '../../net/ip.js';
import { parseMac } from '../../net/mac.js';

/** IPv6 extension header for {@link FrameSpec.ext}. */
export type Ext6 =
  | {
      /** Hop-by-hop (0), routing (43), destination options (60), mobility (135), HIP (139), shim6 (140). */
      type: 0 | 43 | 60 | 135 | 139 | 140;
      /** Total header bytes, a multiple of 8 (default 8). */
      length?: number;
      /** Hop-by-hop only: carry a Jumbo Payload option and set the payload length field to 0. */
      jumbo?: boolean;
    }
  | {
      type: 44;
      /** Fragment offset in bytes (a multiple of 8). */
      offset?: number;
      more?: boolean;
      id?: number;
    }
  | {
      type: 51;
      /** Total AH bytes, a multiple of 4 (default 24: 12-byte header + 12-byte ICV). */
      length?: number;
    };

export interface FrameSpec {
  /** LINKTYPE of the frame (default 1, Ethernet). */
  link?: number;
  srcMac?: number | string;
  dstMac?: number | string;
  /** VLAN ids, outermost first (Ethernet and cooked links). */
  vlans?: number[];
  /** TPID per tag (default 0x88a8 for outer tags of a stack, 0x8100 for the innermost). */
  vlanTpids?: number[];
  /** A non-IP frame: this EtherType with `payload` (or payloadLength zeros) as its body. */
  etherType?: number;
  /** Address text; the family follows it (IPv4 dotted quad → IPv4). */
  src?: string;
  dst?: string;
  /** Transport protocol (default tcp). */
  proto?: number | 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  srcPort?: number;
  dstPort?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  /** Bytes after the transport header (zeros), unless `payload` is given. */
  payloadLength?: number;
  payload?: Uint8Array;
  /** IPv4 identification. */
  ipId?: number;
  /** IPv4 fragment offset in bytes (a multiple of 8); > 0 means no transport header. */
  fragmentOffset?: number;
  moreFragments?: boolean;
  ttl?: number;
  /** IPv4 header length in 32-bit words (default 5; more adds NOP options). */
  ihl?: number;
  /** Override the IP version nibble (to build malformed packets). */
  version?: number;
  /** Override the IPv4 total length / IPv6 payload length field. */
  lengthField?: number;
  /** IPv6 extension headers, in order. */
  ext?: Ext6[];
  /** Loopback (NULL/LOOP) address family value (default 2 for IPv4, 30 for IPv6). */
  loopbackAf?: number;
}

const PROTO_NUM: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

class Bytes {
  parts: Uint8Array[] = [];
  length = 0;
  push(a: Uint8Array): void {
    this.parts.push(a);
    this.length += a.length;
  }
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

function u16(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 255, v & 255);
}
function u32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}
function macBytes(m: number | string | undefined, dflt: number): Uint8Array {
  const v = m === undefined ? dflt : typeof m === 'string' ? parseMac(m) : m;
  const b = new Uint8Array(6);
  for (let i = 0; i < 6; i++) b[i] = Math.floor(v / 2 ** (8 * (5 - i))) & 255;
  return b;
}

/** Build one frame (wire bytes). See {@link FrameSpec}. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const link = spec.link ?? 1;
  let l3: Uint8Array;
  let et: number;
  if (spec.etherType !== undefined) {
    et = spec.etherType;
    l3 = spec.payload ?? new Uint8Array(spec.payloadLength ?? 46);
  } else {
    const src = parseIP(spec.src ?? '192.0.2.1');
    const dst = parseIP(spec.dst ?? (src.family === 4 ? '198.51.100.1' : '2001:db8::2'));
    if (src.family !== dst.family) throw new Error('buildFrame: source and destination families differ');
    const proto = typeof spec.proto === 'string' ? PROTO_NUM[spec.proto]! : (spec.proto ?? 6);
    const v6frag = spec.ext?.find((e) => e.type === 44) as { offset?: number } | undefined;
    const laterFragment = src.family === 4 ? (spec.fragmentOffset ?? 0) > 0 : (v6frag?.offset ?? 0) > 0;
    const payload = spec.payload ?? new Uint8Array(spec.payloadLength ?? 0);
    const l4 = new Bytes();
    if (!laterFragment) {
      if (proto === 6) {
        const h = new Uint8Array(20);
        h.set(u16(spec.srcPort ?? 40000), 0);
        h.set(u16(spec.dstPort ?? 443), 2);
        h[12] = 5 << 4;
        h[13] = spec.tcpFlags ?? 0x10;
        h.set(u16(65535), 14);
        l4.push(h);
      } else if (proto === 17) {
        const h = new Uint8Array(8);
        h.set(u16(spec.srcPort ?? 40000), 0);
        h.set(u16(spec.dstPort ?? 53), 2);
        h.set(u16((8 + payload.length) & 0xffff), 4);
        l4.push(h);
      } else if (proto === 1 || proto === 58) {
        const h = new Uint8Array(8);
        h[0] = spec.icmpType ?? (proto === 1 ? 8 : 128);
        h[1] = spec.icmpCode ?? 0;
        l4.push(h);
      }
    }
    l4.push(payload);
    const body = l4.concat();
    if (src.family === 4) {
      const ihl = spec.ihl ?? 5;
      const h = new Uint8Array(Math.max(20, ihl * 4)).fill(1, 20); // NOP options
      h[0] = ((spec.version ?? 4) << 4) | (ihl & 15);
      h.set(u16(spec.lengthField ?? (h.length + body.length) & 0xffff), 2);
      h.set(u16(spec.ipId ?? 0), 4);
      h.set(u16(((spec.moreFragments ? 0x2000 : 0) | ((spec.fragmentOffset ?? 0) >> 3)) & 0xffff), 6);
      h[8] = spec.ttl ?? 64;
      h[9] = proto;
      h.set(src.addr.subarray(12), 12);
      h.set(dst.addr.subarray(12), 16);
      const out = new Uint8Array(h.length + body.length);
      out.set(h);
      out.set(body, h.length);
      l3 = out;
      et = 0x0800;
    } else {
      const exts = spec.ext ?? [];
      const hdrs: Uint8Array[] = [];
      let jumbo = false;
      for (let i = 0; i < exts.length; i++) {
        const e = exts[i]!;
        const next = i + 1 < exts.length ? exts[i + 1]!.type : proto;
        let x: Uint8Array;
        if (e.type === 44) {
          x = new Uint8Array(8);
          x.set(u16(((e.offset ?? 0) & 0xfff8) | (e.more ? 1 : 0)), 2);
          x.set(u32(e.id ?? 0), 4);
        } else if (e.type === 51) {
          const len = e.length ?? 24;
          x = new Uint8Array(len);
          x[1] = len / 4 - 2;
        } else {
          const len = e.length ?? 8;
          x = new Uint8Array(len);
          x[1] = len / 8 - 1;
          if (e.type === 0 && e.jumbo) {
            jumbo = true;
            x[2] = 0xc2;
            x[3] = 4; // value filled in below
            if (len > 8) x[6] = 1; // PadN over the rest
            if (len > 8) x[7] = len - 8;
          } else if (e.type === 0 || e.type === 60) {
            x[2] = 1; // PadN
            x[3] = len - 4;
          }
        }
        x[0] = next;
        hdrs.push(x);
      }
      const extLen = hdrs.reduce((a, x) => a + x.length, 0);
      const h = new Uint8Array(40);
      h[0] = (spec.version ?? 6) << 4;
      const plen = extLen + body.length;
      h.set(u16(spec.lengthField ?? (jumbo ? 0 : plen & 0xffff)), 4);
      h[6] = exts.length > 0 ? exts[0]!.type : proto;
      h[7] = spec.ttl ?? 64;
      h.set(src.addr, 8);
      h.set(dst.addr, 24);
      if (jumbo) hdrs[0]!.set(u32(plen), 4);
      const out = new Uint8Array(40 + plen);
      out.set(h);
      let o = 40;
      for (const x of hdrs) {
        out.set(x, o);
        o += x.length;
      }
      out.set(body, o);
      l3 = out;
      et = 0x86dd;
    }
  }
  const famV6 = et === 0x86dd;
  const frame = new Bytes();
  const tagged = (): void => {
    const vlans = spec.vlans ?? [];
    vlans.forEach((id, i) => {
      const tpid = spec.vlanTpids?.[i] ?? (i < vlans.length - 1 ? 0x88a8 : 0x8100);
      frame.push(u16(tpid));
      frame.push(u16(id & 0x0fff));
    });
  };
  switch (link) {
    case 1:
      frame.push(macBytes(spec.dstMac, 0x02000000000b));
      frame.push(macBytes(spec.srcMac, 0x02000000000a));
      tagged();
      frame.push(u16(et));
      break;
    case 113: {
      const h = new Uint8Array(14);
      h.set(u16(1), 2); // ARPHRD_ETHER
      h.set(u16(6), 4);
      h.set(macBytes(spec.srcMac, 0x02000000000a), 6);
      frame.push(h);
      if (spec.vlans?.length) {
        // cooked captures keep the tags after the protocol field
        frame.push(u16(spec.vlanTpids?.[0] ?? (spec.vlans.length > 1 ? 0x88a8 : 0x8100)));
        const rest = spec.vlans.slice(1);
        frame.push(u16(spec.vlans[0]! & 0x0fff));
        rest.forEach((id, i) => {
          frame.push(u16(spec.vlanTpids?.[i + 1] ?? (i < rest.length - 1 ? 0x88a8 : 0x8100)));
          frame.push(u16(id & 0x0fff));
        });
      }
      frame.push(u16(et));
      break;
    }
    case 276: {
      const h = new Uint8Array(20);
      h.set(u16(spec.vlans?.length ? (spec.vlanTpids?.[0] ?? 0x8100) : et), 0);
      h.set(u32(1), 4); // ifindex
      h.set(u16(1), 8); // ARPHRD_ETHER
      h[10] = 0;
      h[11] = 6;
      h.set(macBytes(spec.srcMac, 0x02000000000a), 12);
      frame.push(h);
      if (spec.vlans?.length) {
        frame.push(u16(spec.vlans[0]! & 0x0fff));
        const rest = spec.vlans.slice(1);
        rest.forEach((id, i) => {
          frame.push(u16(spec.vlanTpids?.[i + 1] ?? 0x8100));
          frame.push(u16(id & 0x0fff));
        });
        frame.push(u16(et));
      }
      break;
    }
    case 0:
    case 108: {
      const af = spec.loopbackAf ?? (famV6 ? 30 : 2);
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, af, link === 108 ? false : true);
      frame.push(h);
      break;
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      break;
    default:
      throw new Error(`buildFrame: unsupported link type ${link}`);
  }
  frame.push(l3);
  return frame.concat();
}

export interface PcapWriterOptions {
  /** LINKTYPE in the file header (default 1, Ethernet). */
  linkType?: number;
  /** Snap length: frames are truncated to it, their original length kept (default 262144). */
  snaplen?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Write big-endian (default: little-endian). */
  bigEndian?: boolean;
}

/** Classic pcap writer, to memory (`new PcapWriter()` + `toBuffer()`) or to a file (`PcapWriter.toFile`). */
export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;
  readonly littleEndian: boolean;
  packets = 0;
  private fd: number | null = null;
  private chunks: Buffer[] = [];
  private buf = Buffer.alloc(1 << 20);
  private pos = 0;

  constructor(opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType ?? 1;
    this.snaplen = opts.snaplen ?? 262144;
    this.nanosecond = opts.nanosecond ?? false;
    this.littleEndian = !opts.bigEndian;
    const h = Buffer.alloc(24);
    const dv = new DataView(h.buffer, h.byteOffset, 24);
    const le = this.littleEndian;
    dv.setUint32(0, this.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
    dv.setUint16(4, 2, le);
    dv.setUint16(6, 4, le);
    dv.setUint32(16, this.snaplen, le);
    dv.setUint32(20, this.linkType, le);
    this.append(h);
  }

  /** A writer that streams to `path` (buffered synchronous writes; call close()). */
  static toFile(path: string, opts: PcapWriterOptions = {}): PcapWriter {
    const w = new PcapWriter(opts);
    w.fd = openSync(path, 'w');
    w.flushBuffer();
    return w;
  }

  /** Write a frame captured at `tsMs` (epoch ms; sub-ms fractions kept to the file's resolution). */
  write(frame: Uint8Array, tsMs: number, origLen?: number): void {
    let sec = Math.floor(tsMs / 1000);
    let ns = Math.round((tsMs - sec * 1000) * 1e6);
    if (ns >= 1e9) {
      sec++;
      ns -= 1e9;
    }
    this.writeTs(frame, sec, ns, origLen);
  }

  /** Write a frame with an exact timestamp: whole seconds and nanoseconds. */
  writeTs(frame: Uint8Array, sec: number, ns: number, origLen = frame.length): void {
    const cap = Math.min(frame.length, this.snaplen);
    const h = Buffer.alloc(16);
    const dv = new DataView(h.buffer, h.byteOffset, 16);
    const le = this.littleEndian;
    dv.setUint32(0, sec, le);
    dv.setUint32(4, this.nanosecond ? ns : Math.floor(ns / 1000), le);
    dv.setUint32(8, cap, le);
    dv.setUint32(12, origLen, le);
    this.append(h);
    this.append(frame.subarray(0, cap));
    this.packets++;
  }

  /** The whole file so far (in-memory writers). */
  toBuffer(): Buffer {
    if (this.fd !== null) throw new Error('PcapWriter.toBuffer: this writer writes to a file');
    return Buffer.concat([...this.chunks, this.buf.subarray(0, this.pos)]);
  }

  /** Flush and close the file (no-op for in-memory writers). */
  close(): void {
    if (this.fd === null) return;
    this.flushBuffer();
    closeSync(this.fd);
    this.fd = null;
    this.chunks = [];
  }

  private append(a: Uint8Array): void {
    if (this.pos + a.length > this.buf.length) {
      this.flushBuffer();
      if (a.length > this.buf.length) {
        if (this.fd !== null) writeSync(this.fd, a);
        else this.chunks.push(Buffer.from(a));
        return;
      }
    }
    this.buf.set(a, this.pos);
    this.pos += a.length;
  }

  private flushBuffer(): void {
    if (this.pos === 0) return;
    if (this.fd !== null) {
      let o = 0;
      while (o < this.pos) o += writeSync(this.fd, this.buf, o, this.pos - o);
    } else this.chunks.push(Buffer.from(this.buf.subarray(0, this.pos)));
    this.pos = 0;
  }
}
