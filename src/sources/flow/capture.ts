/**
 * Read a capture of exporter traffic (UDP datagrams on any port) and hand every NetFlow v5/v9 or
 * IPFIX datagram to a FlowDecoder, and every sFlow v5 datagram to an SflowDecoder (when given).
 * Datagrams are recognised by their version field (5, 9, 10) and a plausible header; sFlow first:
 * it starts 00 00 00 05 and then an agent address type 1 or 2, where NetFlow v5 starts 00 05.
 * Anything else (and IP fragments, which cannot be reassembled here) is counted and skipped.
 */
import type { FlowRecord } from '../../schema/fields.js';
import { DECODE_IP, PacketDecoder } from '../packets/decode.js';
import { readCapture, type CaptureSource, type ReadCaptureResult } from '../packets/pcap.js';
import { looksLikeSflow, type SflowDecoder } from '../sflow/decoder.js';
import type { FlowDecoder } from './decoder.js';

export interface CaptureFlowStats {
  packets: number;
  /** UDP datagrams that look like NetFlow/IPFIX and were decoded. */
  flowDatagrams: number;
  /** UDP datagrams that look like sFlow v5 and were decoded (0 without an SflowDecoder). */
  sflowDatagrams: number;
  /** UDP datagrams that are not NetFlow/IPFIX (nor sFlow, when decoded). */
  otherUdp: number;
  /** Non-UDP or non-IP packets. */
  notUdp: number;
  /** IP fragments (not reassembled) and UDP headers cut by the snap length. */
  skipped: number;
  capture: ReadCaptureResult | null;
}

/**
 * The offset and length of the UDP payload of the IP packet at `ip` (buffer end `end`), or null.
 * Walks IPv6 extension headers; fragments are not reassembled (null).
 */
export function udpPayload(b: Uint8Array, ip: number, end: number, family: 4 | 6): { off: number; len: number } | null {
  let p: number;
  let proto: number;
  if (family === 4) {
    if (end - ip < 20) return null;
    const ihl = (b[ip]! & 15) << 2;
    if ((((b[ip + 6]! << 8) | b[ip + 7]!) & 0x3fff) !== 0) return null; // fragment
    proto = b[ip + 9]!;
    p = ip + ihl;
  } else {
    if (end - ip < 40) return null;
    proto = b[ip + 6]!;
    p = ip + 40;
    for (let n = 0; n < 24; n++) {
      if (proto === 0 || proto === 43 || proto === 60 || proto === 135 || proto === 139 || proto === 140) {
        if (end - p < 2) return null;
        proto = b[p]!;
        p += (b[p + 1]! + 1) << 3;
      } else if (proto === 51) {
        if (end - p < 2) return null;
        proto = b[p]!;
        p += (b[p + 1]! + 2) << 2;
      } else if (proto === 44) {
        if (end - p < 8) return null;
        const fo = (b[p + 2]! << 8) | b[p + 3]!;
        if ((fo & 0xfff9) !== 0) return null; // a real fragment
        proto = b[p]!;
        p += 8;
      } else break;
    }
  }
  if (proto !== 17 || end - p < 8) return null;
  const udpLen = (b[p + 4]! << 8) | b[p + 5]!;
  const avail = end - p - 8;
  // UDP length 0 (jumbograms) or larger than what was captured: take what is there.
  const len = udpLen >= 8 && udpLen - 8 <= avail ? udpLen - 8 : avail;
  return { off: p + 8, len };
}

/** True when the bytes start like a NetFlow v5/v9 or IPFIX header. */
export function looksLikeFlowExport(b: Uint8Array): boolean {
  if (b.length < 16) return false;
  const v = (b[0]! << 8) | b[1]!;
  if (v === 5) return b.length >= 24;
  if (v === 9) return b.length >= 20;
  if (v === 10) return ((b[2]! << 8) | b[3]!) >= 16;
  return false;
}

/**
 * Decode every NetFlow/IPFIX datagram of a capture. `onRecords` receives each datagram's records
 * (with the capture time as time_received). Capture format errors reject (after the packets before
 * the damage were delivered).
 */
export async function decodeCapture(
  source: CaptureSource,
  decoder: FlowDecoder,
  onRecords: (records: FlowRecord[]) => void,
  opts: { name?: string; sflow?: SflowDecoder } = {},
): Promise<CaptureFlowStats> {
  const pd = new PacketDecoder();
  const st: CaptureFlowStats = { packets: 0, flowDatagrams: 0, sflowDatagrams: 0, otherUdp: 0, notUdp: 0, skipped: 0, capture: null };
  const sflow = opts.sflow;
  const exporterAddr = new Uint8Array(16);
  st.capture = await readCapture(
    source,
    (p) => {
      st.packets++;
      if (pd.decodePacket(p) !== DECODE_IP) {
        st.notUdp++;
        return;
      }
      const info = pd.info;
      if (info.proto !== 17) {
        st.notUdp++;
        return;
      }
      const end = p.offset + p.capLen;
      const u = udpPayload(p.buf, info.ipOffset, end, info.family as 4 | 6);
      if (!u) {
        st.skipped++;
        return;
      }
      const payload = p.buf.subarray(u.off, u.off + u.len);
      const isSflow = sflow !== undefined && looksLikeSflow(payload);
      if (!isSflow && !looksLikeFlowExport(payload)) {
        st.otherUdp++;
        return;
      }
      const dv = new DataView(exporterAddr.buffer);
      dv.setInt32(0, info.s0);
      dv.setInt32(4, info.s1);
      dv.setInt32(8, info.s2);
      dv.setInt32(12, info.s3);
      if (isSflow) st.sflowDatagrams++;
      else st.flowDatagrams++;
      const from = { addr: exporterAddr, port: info.srcPort };
      const recs = isSflow ? sflow.decode(payload, from, p.tsMs) : decoder.decode(payload, from, p.tsMs);
      if (recs.length > 0) onRecords(recs);
    },
    opts.name !== undefined ? { name: opts.name } : {},
  );
  return st;
}
