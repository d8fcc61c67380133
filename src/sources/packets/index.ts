/**
 * Packets → flows: capture reader (pcap, pcapng) → link/IP decoder → flow meter, in one pass with
 * no per-packet allocation. The hot path of `v6scope ingest FILE...`; live capture pipes
 * `tcpdump -U --immediate-mode -w -` into the same function (see captureToFlows).
 */
import type { FlowRecord } from '../../schema/fields.js';
import { dnsSightingFromPayload, emptyDnsStats, type DnsSighting, type DnsSightingStats } from '../dns/sighting.js';
import { DECODE_IP, MALFORMED_KINDS, PacketDecoder, type MalformedKind, type PacketInfo } from './decode.js';
import { FlowMeter } from './meter.js';
import { CaptureFormatError, readCapture, type CaptureFormat, type CapturePacket, type CaptureSource } from './pcap.js';

export { CaptureFormatError, CapturePacket, readCapture, PCAP_MAX_CAPLEN_DEFAULT, PCAPNG_MAX_BLOCK } from './pcap.js';
export type { CaptureFormat, CaptureSource, ReadCaptureOptions, ReadCaptureResult } from './pcap.js';
export {
  DECODE_IP,
  DECODE_MALFORMED,
  DECODE_NOT_IP,
  DECODE_UNSUPPORTED_LINK,
  LINKTYPE,
  MALFORMED_KINDS,
  PacketDecoder,
  PacketInfo,
  SUPPORTED_LINK_TYPES,
} from './decode.js';
export type { DecodeStats, MalformedKind, PacketDecoderOptions } from './decode.js';
export {
  DEFAULT_ACTIVE_TIMEOUT_MS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_FIN_LINGER_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_RST_LINGER_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  FlowMeter,
} from './meter.js';
export type { FlowMeterOptions } from './meter.js';
export { buildFrame, PcapWriter } from './writer.js';
export type { FrameSpec, PcapWriterOptions, Ext6 } from './writer.js';

export interface CaptureStats {
  format: CaptureFormat | null;
  /** Packets read from the capture. */
  packets: number;
  /** IP-layer bytes of the IP packets metered (what the flows sum to). */
  bytes: number;
  /** Packets decoded as IPv4/IPv6 and metered. */
  ipPackets: number;
  ipv4Packets: number;
  ipv6Packets: number;
  /** Non-IP frames (ARP, LLDP, ...) and frames of unsupported link types. */
  skippedNonIp: number;
  /** Link types met that the decoder does not support (their frames are in skippedNonIp). */
  unsupportedLinkTypes: number[];
  /** Packets with a damaged IP header, by kind (skipped). */
  malformed: Record<MalformedKind, number>;
  malformedTotal: number;
  /** IP fragments seen, and later fragments attributed to their first fragment's ports. */
  fragments: number;
  fragmentsAttributed: number;
  /** Flow records emitted. */
  flows: number;
  /** Input bytes read. */
  bytesRead: number;
  /** DNS responses seen (only counted when `onDns` is given). */
  dns: DnsSightingStats;
  /**
   * Set (non-enumerable, so the stats stay JSON-serialisable) on the stats attached to the thrown
   * error when the capture is damaged.
   */
  error?: CaptureFormatError;
}

export interface CaptureToFlowsOptions {
  /** exporter_name of the records (e.g. the file's base name, or the interface). */
  exporterName: string;
  /** Default 300 s (nfpcapd's). */
  activeTimeoutMs?: number;
  /** Default 60 s (nfpcapd's). */
  idleTimeoutMs?: number;
  finLingerMs?: number;
  rstLingerMs?: number;
  /** Records per onFlows call (default 2048). */
  batchSize?: number;
  /** Read size (default 4 MiB). */
  chunkSize?: number;
  /** Name for error messages (default: the path, or "stream"). */
  name?: string;
  /**
   * For streams (live capture): hand a partial batch over when its oldest record has waited this
   * long in wall-clock time (checked as data arrives; default 1000 ms). Files always fill batches.
   */
  maxBatchDelayMs?: number;
  /**
   * Streams only (live capture): every this many wall-clock ms without new data, advance the
   * meter's capture time by the wall-clock time elapsed since the last data and emit the flows that
   * expired (default: off — time only advances with packet timestamps).
   */
  liveTickMs?: number;
  /**
   * Passive DNS: called for every response to an A/AAAA question seen in UDP from port 53 (not
   * for fragments, nor for DNS over TCP). Only parsed when given.
   */
  onDns?: (s: DnsSighting) => void;
  /** Receives the flow records in batches, in emission order; a returned promise is awaited. */
  onFlows: (batch: FlowRecord[]) => void | Promise<void>;
  /** After each chunk read: input bytes so far and, for files, the file size. */
  onProgress?: (bytesRead: number, totalBytes?: number) => void;
}

/** Source ('s') or destination ('d') address of the decoded packet as 16 fresh bytes. */
function infoAddr(i: PacketInfo, which: 's' | 'd'): Uint8Array {
  const a = new Uint8Array(16);
  const dv = new DataView(a.buffer);
  dv.setInt32(0, which === 's' ? i.s0 : i.d0);
  dv.setInt32(4, which === 's' ? i.s1 : i.d1);
  dv.setInt32(8, which === 's' ? i.s2 : i.d2);
  dv.setInt32(12, which === 's' ? i.s3 : i.d3);
  return a;
}

/**
 * Read a capture file (path) or stream, meter its packets into flows and hand them to
 * `opts.onFlows` in batches. Resolves with the statistics.
 *
 * Damaged input: when the capture is truncated or corrupt, the flows metered from the packets
 * before the damage are flushed and delivered to `onFlows` (every delivery awaited) and THEN the
 * {@link CaptureFormatError} is thrown; its `stats` property holds this capture's
 * {@link CaptureStats} (with `error` set to the same error). Any other error (I/O, an exception or
 * rejection from onFlows) propagates as is, without the flush.
 *
 * Live capture: pipe `tcpdump -U --immediate-mode -w -` (without --immediate-mode, Linux tcpdump
 * holds packets in its ring buffer for up to a second or more) into `source` and set `liveTickMs`,
 * so flows still expire while the network is quiet.
 */
export async function captureToFlows(source: CaptureSource, opts: CaptureToFlowsOptions): Promise<CaptureStats> {
  const queue: FlowRecord[][] = [];
  const decoder = new PacketDecoder();
  const meter = new FlowMeter({
    exporterName: opts.exporterName,
    activeTimeoutMs: opts.activeTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs,
    finLingerMs: opts.finLingerMs,
    rstLingerMs: opts.rstLingerMs,
    batchSize: opts.batchSize,
    onBatch: (b) => queue.push(b),
  });
  const isStream = typeof source !== 'string';
  const maxDelay = opts.maxBatchDelayMs ?? 1000;
  let partialSince = 0;
  let packets = 0;
  let bytes = 0;
  let v4 = 0;
  let v6 = 0;
  let bytesRead = 0;
  let format: CaptureFormat | null = null;
  let lastTs = -Infinity;
  const info = decoder.info;

  const dnsStats = emptyDnsStats();
  const onDns = opts.onDns;
  const sawDns = (p: CapturePacket): void => {
    const l4 = info.l4Offset;
    if (info.capEnd - l4 < 8) return;
    const udpLen = (p.buf[l4 + 4]! << 8) | p.buf[l4 + 5]!;
    const payload = p.buf.subarray(l4 + 8, Math.min(info.capEnd, l4 + Math.max(8, udpLen)));
    const fam = info.family as 4 | 6;
    const s = dnsSightingFromPayload(payload, { timeMs: p.tsMs, family: fam, client: infoAddr(info, 'd'), server: infoAddr(info, 's'), clientMac: info.dstMac }, dnsStats);
    if (s) onDns!(s);
  };

  const onPacket = (p: CapturePacket): void => {
    packets++;
    if (decoder.decode(p.buf, p.offset, p.capLen, p.origLen, p.linkType, p.tsMs) === DECODE_IP) {
      bytes += info.bytes;
      if (info.family === 4) v4++;
      else v6++;
      meter.add(info, p.tsMs);
      if (onDns !== undefined && info.proto === 17 && info.srcPort === 53 && info.fragment === 0 && info.l4Offset >= 0) sawDns(p);
    }
    lastTs = p.tsMs;
  };

  // Deliveries are serialised: never two onFlows calls in flight, in emission order.
  let chain: Promise<void> = Promise.resolve();
  let tickError: unknown = null;
  const drainQueue = async (): Promise<void> => {
    while (queue.length > 0) {
      const b = queue.shift()!;
      const r = opts.onFlows(b);
      if (r && typeof (r as Promise<void>).then === 'function') await r;
    }
  };
  const deliver = (): Promise<void> => (chain = chain.then(drainQueue));

  // Wall-clock tick for quiet live captures: only while the reader waits for data.
  let busy = false;
  let lastDataWall = Date.now();
  let timer: NodeJS.Timeout | undefined;
  if (isStream && opts.liveTickMs !== undefined && opts.liveTickMs > 0) {
    const tick = opts.liveTickMs;
    timer = setInterval(() => {
      const now = Date.now();
      if (busy || lastTs === -Infinity || now - lastDataWall < tick || tickError) return;
      meter.expire(lastTs + (now - lastDataWall)); // capture time advances with the wall clock
      meter.emitBatch();
      deliver().catch((e: unknown) => {
        tickError = e;
      });
    }, Math.max(10, Math.min(tick, 1000)));
    timer.unref?.();
  }

  const stats = (): CaptureStats => {
    const malformed = { ...decoder.stats.malformed };
    let malformedTotal = 0;
    for (const k of MALFORMED_KINDS) malformedTotal += malformed[k];
    return {
      format,
      packets,
      bytes,
      ipPackets: decoder.stats.ipPackets,
      ipv4Packets: v4,
      ipv6Packets: v6,
      skippedNonIp: decoder.stats.skippedNonIp,
      unsupportedLinkTypes: [...decoder.unsupportedLinkTypes],
      malformed,
      malformedTotal,
      fragments: decoder.stats.fragments,
      fragmentsAttributed: decoder.stats.fragmentsAttributed,
      flows: meter.flowsEmitted,
      bytesRead,
      dns: { ...dnsStats },
    };
  };

  try {
    try {
      const r = await readCapture(source, onPacket, {
        chunkSize: opts.chunkSize,
        name: opts.name,
        onChunk: async (read, total) => {
          busy = true;
          bytesRead = read;
          if (tickError) throw tickError;
          if (isStream && meter.pendingRecords > 0) {
            const now = Date.now();
            if (partialSince === 0) partialSince = now;
            if (now - partialSince >= maxDelay) {
              meter.emitBatch();
              partialSince = 0;
            }
          }
          await deliver();
          opts.onProgress?.(read, total);
          lastDataWall = Date.now();
          busy = false;
        },
      });
      format = r.format;
      bytesRead = r.bytesRead;
    } catch (e) {
      busy = true;
      if (!(e instanceof CaptureFormatError)) throw e;
      format = e.format;
      meter.flush();
      await deliver();
      const s = stats();
      // non-enumerable: keeps the stats JSON-serialisable despite the cycle error → stats → error
      Object.defineProperty(s, 'error', { value: e, enumerable: false, writable: true, configurable: true });
      e.stats = s;
      throw e;
    }
    busy = true;
    meter.flush();
    await deliver();
    if (tickError) throw tickError;
    return stats();
  } finally {
    if (timer) clearInterval(timer);
  }
}
