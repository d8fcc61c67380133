/**
 * A small, independent sFlow v5 encoder for test datagrams, written from the sFlow v5 specification
 * (XDR: big-endian 32-bit words, opaque data padded to 4 bytes), not from the decoder.
 */
import { concat, ip4, ip6, u32, type Bytes } from '../flow/encode.js';

export { concat, ip4, ip6, u32 };

/** XDR opaque<>: the bytes padded with zeros to a multiple of 4 (no length prefix). */
export function pad4(b: Bytes): Bytes {
  const n = (b.length + 3) & ~3;
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

/** address: type 1 + 4 bytes, or type 2 + 16 bytes. */
export function address(text: string): Bytes {
  return text.includes(':') ? concat(u32(2), ip6(text)) : concat(u32(1), ip4(text));
}

/** A data format word: enterprise << 12 | format. */
export function dataFormat(format: number, enterprise = 0): number {
  return ((enterprise << 12) | format) >>> 0;
}

/** A flow record / sample: format word, length, body. */
export function tlv(format: number, body: Bytes, enterprise = 0, lengthOverride?: number): Bytes {
  return concat(u32(dataFormat(format, enterprise)), u32(lengthOverride ?? body.length), body);
}

export interface DatagramSpec {
  agent: string;
  subAgent?: number;
  seq?: number;
  uptime?: number;
  /** Overrides the sample count (default: samples.length). */
  count?: number;
  version?: number;
  /** Overrides the agent address type word. */
  addressType?: number;
}

export function datagram(spec: DatagramSpec, ...samples: Bytes[]): Uint8Array {
  let agent = address(spec.agent);
  if (spec.addressType !== undefined) agent = concat(u32(spec.addressType), agent.subarray(4));
  return concat(
    u32(spec.version ?? 5),
    agent,
    u32(spec.subAgent ?? 0),
    u32(spec.seq ?? 1),
    u32(spec.uptime ?? 1000),
    u32(spec.count ?? samples.length),
    ...samples,
  );
}

export interface FlowSampleSpec {
  seq?: number;
  sourceType?: number;
  sourceIndex?: number;
  rate: number;
  pool?: number;
  drops?: number;
  /** Compact: the full 32-bit interface word. Expanded: [format, value]. */
  input?: number | [number, number];
  output?: number | [number, number];
  expanded?: boolean;
  /** Overrides the record count. */
  count?: number;
  /** Overrides the sample length. */
  length?: number;
}

export function flowSample(spec: FlowSampleSpec, ...records: Bytes[]): Bytes {
  const count = u32(spec.count ?? records.length);
  let body: Bytes;
  if (spec.expanded) {
    const inp = Array.isArray(spec.input) ? spec.input : [0, spec.input ?? 0];
    const outp = Array.isArray(spec.output) ? spec.output : [0, spec.output ?? 0];
    body = concat(
      u32(spec.seq ?? 1),
      u32(spec.sourceType ?? 0),
      u32(spec.sourceIndex ?? 1),
      u32(spec.rate),
      u32(spec.pool ?? spec.rate),
      u32(spec.drops ?? 0),
      u32(inp[0]!),
      u32(inp[1]!),
      u32(outp[0]!),
      u32(outp[1]!),
      count,
      ...records,
    );
  } else {
    const sid = (((spec.sourceType ?? 0) << 24) | (spec.sourceIndex ?? 1)) >>> 0;
    body = concat(
      u32(spec.seq ?? 1),
      u32(sid),
      u32(spec.rate),
      u32(spec.pool ?? spec.rate),
      u32(spec.drops ?? 0),
      u32(typeof spec.input === 'number' ? spec.input : 0),
      u32(typeof spec.output === 'number' ? spec.output : 0),
      count,
      ...records,
    );
  }
  return tlv(spec.expanded ? 3 : 1, body, 0, spec.length);
}

/** A counter sample with one generic interface counter block (88 bytes of zeros). */
export function counterSample(expanded = false): Bytes {
  const block = tlv(1, new Uint8Array(88));
  const hdr = expanded ? concat(u32(1), u32(0), u32(1)) : concat(u32(1), u32(1));
  return tlv(expanded ? 4 : 2, concat(hdr, u32(1), block));
}

/** Raw packet header record (format 1). */
export function rawHeader(protocol: number, frameLength: number, stripped: number, header: Bytes, headerLengthOverride?: number): Bytes {
  return tlv(1, concat(u32(protocol), u32(frameLength), u32(stripped), u32(headerLengthOverride ?? header.length), pad4(header)));
}

/** Sampled Ethernet (format 2). */
export function sampledEthernet(length: number, src: Bytes, dst: Bytes, type: number): Bytes {
  return tlv(2, concat(u32(length), pad4(src), pad4(dst), u32(type)));
}

/** Sampled IPv4 (format 3) / IPv6 (format 4). */
export function sampledIp(
  family: 4 | 6,
  f: { length: number; proto: number; src: string; dst: string; srcPort: number; dstPort: number; tcpFlags?: number; tos?: number },
): Bytes {
  const a = family === 4 ? concat(ip4(f.src), ip4(f.dst)) : concat(ip6(f.src), ip6(f.dst));
  return tlv(family === 4 ? 3 : 4, concat(u32(f.length), u32(f.proto), a, u32(f.srcPort), u32(f.dstPort), u32(f.tcpFlags ?? 0), u32(f.tos ?? 0)));
}

/** Extended switch (1001). */
export function extSwitch(srcVlan: number, srcPri: number, dstVlan: number, dstPri: number): Bytes {
  return tlv(1001, concat(u32(srcVlan), u32(srcPri), u32(dstVlan), u32(dstPri)));
}

/** Extended router (1002). */
export function extRouter(nextHop: string, srcMask: number, dstMask: number): Bytes {
  return tlv(1002, concat(address(nextHop), u32(srcMask), u32(dstMask)));
}

/** Extended gateway (1003) with AS path segments (type 2 = AS_SEQUENCE). */
export function extGateway(nextHop: string, as: number, srcAs: number, srcPeerAs: number, path: number[][]): Bytes {
  const segs = path.map((s) => concat(u32(2), u32(s.length), ...s.map((x) => u32(x))));
  return tlv(1003, concat(address(nextHop), u32(as), u32(srcAs), u32(srcPeerAs), u32(path.length), ...segs, u32(0), u32(100)));
}
