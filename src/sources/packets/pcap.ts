/**
 * Streaming capture-file reader: classic pcap and pcapng, from a file path (read with fs in large
 * chunks) or from any byte stream (a Node Readable such as `tcpdump -U -w -` stdout, or an async
 * iterable of chunks), incrementally.
 *
 * Formats
 * - classic pcap: every magic variant — little/big endian, microsecond (0xa1b2c3d4) and nanosecond
 *   (0xa1b23c4d) timestamps, and the old "modified" (Kuznetzov, 0xa1b2cd34) 24-byte record headers.
 * - pcapng: Section Header Blocks in either byte order, several sections (each resets the interface
 *   list), Interface Description Blocks with per-interface link type, snap length and the
 *   `if_tsresol` (power-of-10 and power-of-2 forms) and `if_tsoffset` options; Enhanced Packet
 *   Blocks, Simple Packet Blocks (no timestamp: they take the previous packet's time) and the
 *   obsolete Packet Block. Every other block type is skipped by its length.
 *
 * Speed: one reusable {@link CapturePacket} is handed to the callback for every packet. It points
 * into the reader's buffer (`buf`, `offset`, `capLen`), valid only during the call; nothing is
 * allocated per packet unless the callback asks for `data` (a subarray).
 *
 * Damage: a truncated or corrupt input stops the read with a {@link CaptureFormatError} naming the
 * file, the byte offset and what was wrong — thrown only after every packet before the damage has
 * been delivered to the callback.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** A capture that is not a valid pcap/pcapng file, or is truncated or corrupt at `offset`. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
  /** File name (or stream label) as given to the reader. */
  readonly file: string;
  /** Byte offset of the damaged header/record/block from the start of the input. */
  readonly offset: number;
  /** The capture's format when it was recognised. */
  readonly format: CaptureFormat | null;
  /** Set by `captureToFlows`: what was read and metered before the damage (a CaptureStats). */
  stats?: unknown;
  constructor(file: string, offset: number, what: string, format: CaptureFormat | null = null) {
    super(`${file}: ${what}`);
    this.file = file;
    this.offset = offset;
    this.format = format;
  }
}

/**
 * One packet as the reader delivers it. The same object is reused for every packet; its bytes live
 * in the reader's buffer and are only valid during the callback.
 */
export class CapturePacket {
  /** Whole seconds since the Unix epoch (after pcapng `if_tsoffset`). */
  tsSec = 0;
  /** Nanoseconds within the second (microsecond files: a multiple of 1000). */
  tsNs = 0;
  /** Epoch milliseconds with the fraction (tsSec * 1000 + tsNs / 1e6). */
  tsMs = 0;
  /** LINKTYPE_* value of the interface the packet was captured on. */
  linkType = 0;
  /** pcapng interface id within its section (0 for classic pcap). */
  interfaceId = 0;
  /** Bytes captured (present in `buf`). */
  capLen = 0;
  /** Bytes on the wire (may be larger than capLen for snapped captures). */
  origLen = 0;
  /** The reader's buffer; the packet is buf[offset, offset + capLen). */
  buf: Uint8Array = EMPTY;
  offset = 0;
  /** Byte offset of this packet's record/block in the input. */
  fileOffset = 0;

  /** The captured bytes as a view (allocates a subarray object; valid during the callback only). */
  get data(): Uint8Array {
    return this.buf.subarray(this.offset, this.offset + this.capLen);
  }
}

const EMPTY = new Uint8Array(0);

export type CaptureFormat = 'pcap' | 'pcapng';

export interface ReadCaptureOptions {
  /** Read size for files, and initial buffer size (default 4 MiB). Small values exercise straddling. */
  chunkSize?: number;
  /** Name used in error messages (default: the path as given, or "stream"). */
  name?: string;
  /**
   * Called after each chunk has been parsed (all its complete packets delivered). If it returns a
   * promise the reader waits for it before reading on (backpressure).
   */
  onChunk?: (bytesRead: number, totalBytes: number | undefined) => void | Promise<void>;
}

export interface ReadCaptureResult {
  format: CaptureFormat | null;
  /** Packets delivered. */
  packets: number;
  /** Input bytes consumed. */
  bytesRead: number;
  /** pcapng sections seen (1 for classic pcap). */
  sections: number;
  /** Distinct link types seen. */
  linkTypes: number[];
}

/** Largest captured length accepted for a classic pcap record whatever the header's snaplen says. */
export const PCAP_MAX_CAPLEN_DEFAULT = 262_144;
/** Largest pcapng block accepted (also the cap on a classic pcap snaplen-based limit). */
export const PCAPNG_MAX_BLOCK = 16 * 1024 * 1024;

const DEFAULT_CHUNK = 4 * 1024 * 1024;

// pcapng block types
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 1;
const BT_PB = 2;
const BT_SPB = 3;
const BT_EPB = 6;
const BOM = 0x1a2b3c4d;

interface Iface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (10^n or 2^n). */
  unitsPerSec: number;
  /** Nanoseconds per unit when exact (1e9 / unitsPerSec). */
  nsPerUnit: number;
  /** if_tsoffset, seconds. */
  offsetSec: number;
}

type State = 'start' | 'pcap' | 'pcapng';

/**
 * The incremental parser: fed with (buffer, start, end), it delivers every complete packet and
 * returns where it stopped; `need` says how many bytes from there the next unit needs.
 */
class CaptureParser {
  state: State = 'start';
  format: CaptureFormat | null = null;
  need = 24;
  packets = 0;
  sections = 0;
  linkTypes = new Set<number>();
  private readonly pkt = new CapturePacket();
  // classic pcap
  private le = true;
  private recHdrLen = 16;
  private fracToNs = 1000;
  private maxCapLen = PCAP_MAX_CAPLEN_DEFAULT;
  private linkType = 0;
  // pcapng
  private ifaces: Iface[] = [];

  constructor(
    private readonly name: string,
    private readonly onPacket: (p: CapturePacket) => void,
  ) {}

  private fail(offset: number, what: string): never {
    throw new CaptureFormatError(this.name, offset, what, this.format);
  }

  /** Parse buf[pos, end); `base` is the input offset of buf[0]. Returns the new position. */
  consume(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number {
    if (this.state === 'start') {
      if (end - pos < 4) {
        this.need = 4;
        return pos;
      }
      const m = dv.getUint32(pos, false);
      if (m === BT_SHB) {
        this.state = 'pcapng';
        this.format = 'pcapng';
      } else {
        if (end - pos < 24) {
          this.need = 24;
          return pos;
        }
        this.readPcapHeader(dv, pos, base);
        pos += 24;
        this.state = 'pcap';
        this.format = 'pcap';
      }
    }
    return this.state === 'pcap' ? this.consumePcap(buf, dv, pos, end, base) : this.consumePcapng(buf, dv, pos, end, base);
  }

  /** End of input with buf[pos, end) left over: a truncation unless nothing is left. */
  finish(dv: DataView, pos: number, end: number, base: number): void {
    const left = end - pos;
    const at = base + pos;
    if (this.state === 'start') {
      if (left === 0 && at === 0) this.fail(0, 'empty file (no pcap or pcapng header)');
      if (left >= 4 && dv.getUint32(pos, false) !== BT_SHB) this.checkMagic(dv.getUint32(pos, false), at);
      this.fail(at, `truncated file header at byte offset ${at} (need 24 bytes, ${left} present)`);
    }
    if (left === 0) return;
    if (this.state === 'pcap') {
      if (left < this.recHdrLen) {
        this.fail(at, `truncated packet record header at byte offset ${at} (${this.recHdrLen}-byte header, ${left} bytes remain)`);
      }
      const capLen = dv.getUint32(pos + 8, this.le);
      this.fail(at, `truncated packet record at byte offset ${at} (header says ${capLen} captured bytes, ${left - this.recHdrLen} remain)`);
    }
    if (left < 8) this.fail(at, `truncated pcapng block header at byte offset ${at} (8 bytes needed, ${left} remain)`);
    const type = dv.getUint32(pos, this.le);
    let len: number;
    if (type === BT_SHB && left >= 12) {
      const le = dv.getUint32(pos + 8, true) === BOM;
      len = dv.getUint32(pos + 4, le);
    } else len = dv.getUint32(pos + 4, this.le);
    this.fail(at, `truncated pcapng ${blockName(type)} at byte offset ${at} (block length ${len}, ${left} bytes remain)`);
  }

  private checkMagic(m: number, at: number): void {
    switch (m) {
      case 0xa1b2c3d4:
      case 0xd4c3b2a1:
      case 0xa1b23c4d:
      case 0x4d3cb2a1:
      case 0xa1b2cd34:
      case 0x34cdb2a1:
      case BT_SHB:
        return;
    }
    if (m >>> 16 === 0x1f8b) this.fail(at, `gzip-compressed data, not a pcap/pcapng file (decompress it first)`);
    this.fail(at, `not a pcap or pcapng file (magic 0x${m.toString(16).padStart(8, '0')} at byte offset ${at})`);
  }

  private readPcapHeader(dv: DataView, pos: number, base: number): void {
    const m = dv.getUint32(pos, false);
    this.checkMagic(m, base + pos);
    this.le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1 || m === 0x34cdb2a1;
    this.fracToNs = m === 0xa1b23c4d || m === 0x4d3cb2a1 ? 1 : 1000;
    this.recHdrLen = m === 0xa1b2cd34 || m === 0x34cdb2a1 ? 24 : 16;
    const major = dv.getUint16(pos + 4, this.le);
    if (major !== 2) this.fail(base + pos + 4, `unsupported pcap version ${major}.${dv.getUint16(pos + 6, this.le)} at byte offset ${base + pos + 4}`);
    const snap = dv.getUint32(pos + 16, this.le);
    this.maxCapLen = Math.max(PCAP_MAX_CAPLEN_DEFAULT, Math.min(snap, PCAPNG_MAX_BLOCK));
    // Low 16 bits: link type; bits 26-31 carry FCS information (ignored: bytes come from IP headers).
    this.linkType = dv.getUint32(pos + 20, this.le) & 0xffff;
    this.linkTypes.add(this.linkType);
    this.sections = 1;
  }

  private consumePcap(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number {
    const le = this.le;
    const hdr = this.recHdrLen;
    const fracToNs = this.fracToNs;
    const max = this.maxCapLen;
    const p = this.pkt;
    const onPacket = this.onPacket;
    p.buf = buf;
    p.linkType = this.linkType;
    p.interfaceId = 0;
    for (;;) {
      if (end - pos < hdr) {
        this.need = hdr;
        return pos;
      }
      const capLen = dv.getUint32(pos + 8, le);
      if (capLen > max) {
        this.fail(base + pos, `corrupt packet record at byte offset ${base + pos} (captured length ${capLen} exceeds the limit of ${max} bytes)`);
      }
      const total = hdr + capLen;
      if (end - pos < total) {
        this.need = total;
        return pos;
      }
      const sec = dv.getUint32(pos, le);
      const ns = dv.getUint32(pos + 4, le) * fracToNs;
      p.tsSec = sec;
      p.tsNs = ns;
      p.tsMs = sec * 1000 + ns / 1e6;
      p.capLen = capLen;
      p.origLen = dv.getUint32(pos + 12, le);
      p.offset = pos + hdr;
      p.fileOffset = base + pos;
      this.packets++;
      onPacket(p);
      pos += total;
    }
  }

  private consumePcapng(buf: Uint8Array, dv: DataView, pos: number, end: number, base: number): number {
    const p = this.pkt;
    p.buf = buf;
    for (;;) {
      if (end - pos < 12) {
        this.need = 12;
        return pos;
      }
      let le = this.le;
      const type = dv.getUint32(pos, le);
      if (type === BT_SHB) {
        const bom = dv.getUint32(pos + 8, true);
        if (bom === BOM) le = true;
        else if (bom === 0x4d3c2b1a) le = false;
        else this.fail(base + pos, `corrupt pcapng section header at byte offset ${base + pos} (bad byte-order magic 0x${bom.toString(16)})`);
      }
      const len = dv.getUint32(pos + 4, le);
      if (len < 12 || len % 4 !== 0 || len > PCAPNG_MAX_BLOCK) {
        this.fail(base + pos, `corrupt pcapng ${blockName(type)} at byte offset ${base + pos} (block length ${len} is ${len > PCAPNG_MAX_BLOCK ? `larger than ${PCAPNG_MAX_BLOCK}` : 'not a multiple of 4 of at least 12'})`);
      }
      if (end - pos < len) {
        this.need = len;
        return pos;
      }
      const trailer = dv.getUint32(pos + len - 4, le);
      if (trailer !== len) {
        this.fail(base + pos, `corrupt pcapng ${blockName(type)} at byte offset ${base + pos} (block length mismatch: ${len} at the start, ${trailer} at the end)`);
      }
      switch (type) {
        case BT_EPB: {
          if (len < 32) this.fail(base + pos, `corrupt pcapng enhanced packet block at byte offset ${base + pos} (block length ${len} < 32)`);
          const ifid = dv.getUint32(pos + 8, le);
          const capLen = dv.getUint32(pos + 20, le);
          if (capLen > len - 32) {
            this.fail(base + pos, `corrupt pcapng enhanced packet block at byte offset ${base + pos} (captured length ${capLen} exceeds the block's ${len - 32} data bytes)`);
          }
          const iface = this.iface(ifid, base + pos);
          this.setTime(iface, dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le));
          p.linkType = iface.linkType;
          p.interfaceId = ifid;
          p.capLen = capLen;
          p.origLen = dv.getUint32(pos + 24, le);
          p.offset = pos + 28;
          p.fileOffset = base + pos;
          this.packets++;
          this.onPacket(p);
          break;
        }
        case BT_SPB: {
          if (len < 16) this.fail(base + pos, `corrupt pcapng simple packet block at byte offset ${base + pos} (block length ${len} < 16)`);
          const iface = this.iface(0, base + pos);
          const origLen = dv.getUint32(pos + 8, le);
          let capLen = Math.min(origLen, len - 16);
          if (iface.snaplen > 0 && capLen > iface.snaplen) capLen = iface.snaplen;
          // No timestamp in an SPB: the packet keeps the previous packet's time.
          p.linkType = iface.linkType;
          p.interfaceId = 0;
          p.capLen = capLen;
          p.origLen = origLen;
          p.offset = pos + 12;
          p.fileOffset = base + pos;
          this.packets++;
          this.onPacket(p);
          break;
        }
        case BT_PB: {
          if (len < 32) this.fail(base + pos, `corrupt pcapng packet block at byte offset ${base + pos} (block length ${len} < 32)`);
          const ifid = dv.getUint16(pos + 8, le);
          const capLen = dv.getUint32(pos + 20, le);
          if (capLen > len - 32) {
            this.fail(base + pos, `corrupt pcapng packet block at byte offset ${base + pos} (captured length ${capLen} exceeds the block's ${len - 32} data bytes)`);
          }
          const iface = this.iface(ifid, base + pos);
          this.setTime(iface, dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le));
          p.linkType = iface.linkType;
          p.interfaceId = ifid;
          p.capLen = capLen;
          p.origLen = dv.getUint32(pos + 24, le);
          p.offset = pos + 28;
          p.fileOffset = base + pos;
          this.packets++;
          this.onPacket(p);
          break;
        }
        case BT_IDB:
          this.readIdb(dv, pos, len, le, base);
          break;
        case BT_SHB: {
          if (len < 28) this.fail(base + pos, `corrupt pcapng section header at byte offset ${base + pos} (block length ${len} < 28)`);
          const major = dv.getUint16(pos + 12, le);
          if (major !== 1) this.fail(base + pos, `unsupported pcapng version ${major}.${dv.getUint16(pos + 14, le)} at byte offset ${base + pos}`);
          this.le = le;
          this.ifaces = [];
          this.sections++;
          break;
        }
        default:
          break; // NRB, ISB, DSB, custom and unknown blocks: skipped by length
      }
      pos += len;
    }
  }

  private iface(id: number, at: number): Iface {
    const i = this.ifaces[id];
    if (i === undefined) {
      this.fail(at, `corrupt pcapng packet block at byte offset ${at} (interface ${id} is not described in this section; ${this.ifaces.length} interface(s) known)`);
    }
    return i;
  }

  private readIdb(dv: DataView, pos: number, len: number, le: boolean, base: number): void {
    if (len < 20) this.fail(base + pos, `corrupt pcapng interface description block at byte offset ${base + pos} (block length ${len} < 20)`);
    const iface: Iface = {
      linkType: dv.getUint16(pos + 8, le),
      snaplen: dv.getUint32(pos + 12, le),
      unitsPerSec: 1e6,
      nsPerUnit: 1000,
      offsetSec: 0,
    };
    const optEnd = pos + len - 4;
    let o = pos + 16;
    while (o + 4 <= optEnd) {
      const code = dv.getUint16(o, le);
      const olen = dv.getUint16(o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > optEnd) {
        this.fail(base + o, `corrupt pcapng interface description block at byte offset ${base + pos} (option ${code} at byte offset ${base + o} overruns the block)`);
      }
      if (code === 9 && olen >= 1) {
        const v = dv.getUint8(o + 4);
        const exp = v & 0x7f;
        iface.unitsPerSec = v & 0x80 ? 2 ** exp : 10 ** exp;
        iface.nsPerUnit = 1e9 / iface.unitsPerSec;
      } else if (code === 14 && olen >= 8) {
        // int64 seconds
        const a = dv.getUint32(o + 4, le);
        const b = dv.getUint32(o + 8, le);
        const hi = le ? b : a;
        const lo = le ? a : b;
        iface.offsetSec = (hi | 0) * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.ifaces.push(iface);
    this.linkTypes.add(iface.linkType);
  }

  /** pcapng 64-bit timestamp (hi, lo) in the interface's units → tsSec/tsNs/tsMs, exact. */
  private setTime(iface: Iface, hi: number, lo: number): void {
    const p = this.pkt;
    const d = iface.unitsPerSec;
    let sec: number;
    let rem: number;
    if (hi < 0x200000) {
      // value < 2^53: exact in a double
      const v = hi * 4294967296 + lo;
      sec = Math.floor(v / d);
      rem = v - sec * d;
      if (rem < 0) {
        sec--;
        rem += d;
      } else if (rem >= d) {
        sec++;
        rem -= d;
      }
    } else if (d <= 2 ** 36) {
      // long division in base 2^16 keeps every intermediate below 2^53
      const q0 = Math.floor(hi / d);
      let r = hi - q0 * d;
      let t = r * 65536 + (lo >>> 16);
      let q1 = Math.floor(t / d);
      r = t - q1 * d;
      if (r < 0) {
        q1--;
        r += d;
      } else if (r >= d) {
        q1++;
        r -= d;
      }
      t = r * 65536 + (lo & 0xffff);
      let q2 = Math.floor(t / d);
      r = t - q2 * d;
      if (r < 0) {
        q2--;
        r += d;
      } else if (r >= d) {
        q2++;
        r -= d;
      }
      sec = q0 * 4294967296 + q1 * 65536 + q2;
      rem = r;
    } else {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      const bd = BigInt(d);
      sec = Number(v / bd);
      rem = Number(v % bd);
    }
    const ns = iface.nsPerUnit >= 1 ? Math.floor(rem * iface.nsPerUnit) : Math.floor((rem * 1e9) / d);
    sec += iface.offsetSec;
    p.tsSec = sec;
    p.tsNs = ns;
    p.tsMs = sec * 1000 + ns / 1e6;
  }
}

function blockName(type: number): string {
  switch (type) {
    case BT_SHB:
      return 'section header block';
    case BT_IDB:
      return 'interface description block';
    case BT_EPB:
      return 'enhanced packet block';
    case BT_SPB:
      return 'simple packet block';
    case BT_PB:
      return 'packet block';
    default:
      return `block (type 0x${(type >>> 0).toString(16)})`;
  }
}

/** The growing/compacting input buffer shared by the file and stream drivers. */
class InputBuffer {
  buf: Uint8Array;
  dv: DataView;
  start = 0;
  end = 0;
  /** Input offset of buf[0]. */
  base = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.dv = new DataView(this.buf.buffer);
  }
  /** Move unparsed bytes to the front and make room for at least `room` more bytes beyond `need`. */
  prepare(need: number, room: number): void {
    if (this.start > 0) {
      if (this.end > this.start) this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    const want = Math.max(need, this.end + room);
    if (want > this.buf.length) {
      const nb = new Uint8Array(Math.max(want, this.buf.length * 2));
      nb.set(this.buf.subarray(0, this.end));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
  }
}

export type CaptureSource = string | Readable | AsyncIterable<Uint8Array>;

/**
 * Read a capture, calling `onPacket` for every packet in order. Resolves with counts at the end of
 * input; rejects with a {@link CaptureFormatError} at the first damage, after every packet before it
 * was delivered. Errors from `onPacket`/`onChunk` propagate unchanged.
 */
export async function readCapture(
  source: CaptureSource,
  onPacket: (p: CapturePacket) => void,
  opts: ReadCaptureOptions = {},
): Promise<ReadCaptureResult> {
  const chunkSize = Math.max(64, opts.chunkSize ?? DEFAULT_CHUNK);
  const name = opts.name ?? (typeof source === 'string' ? source : 'stream');
  const parser = new CaptureParser(name, onPacket);
  const ib = new InputBuffer(typeof source === 'string' ? chunkSize : Math.max(chunkSize, 65536));
  let bytesRead = 0;
  const result = (): ReadCaptureResult => ({
    format: parser.format,
    packets: parser.packets,
    bytesRead,
    sections: parser.sections,
    linkTypes: [...parser.linkTypes],
  });

  if (typeof source === 'string') {
    const fh = await open(source, 'r');
    try {
      const total = (await fh.stat()).size;
      for (;;) {
        ib.prepare(parser.need, chunkSize);
        const room = Math.min(chunkSize, ib.buf.length - ib.end);
        const { bytesRead: n } = await fh.read(ib.buf, ib.end, Math.max(room, parser.need - (ib.end - ib.start)), null);
        if (n === 0) break;
        ib.end += n;
        bytesRead += n;
        ib.start = parser.consume(ib.buf, ib.dv, ib.start, ib.end, ib.base);
        if (opts.onChunk) await opts.onChunk(bytesRead, total);
      }
    } finally {
      await fh.close();
    }
  } else {
    for await (const raw of source as AsyncIterable<Uint8Array | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
      let off = 0;
      while (off < chunk.length) {
        // Copy as much of the chunk as fits into the buffer (growing it when one unit needs more).
        ib.prepare(parser.need, 0);
        let room = ib.buf.length - ib.end;
        if (room === 0) {
          ib.prepare(ib.buf.length * 2, 0);
          room = ib.buf.length - ib.end;
        }
        const n = Math.min(room, chunk.length - off);
        ib.buf.set(chunk.subarray(off, off + n), ib.end);
        ib.end += n;
        off += n;
        bytesRead += n;
        ib.start = parser.consume(ib.buf, ib.dv, ib.start, ib.end, ib.base);
      }
      if (opts.onChunk) await opts.onChunk(bytesRead, undefined);
    }
  }
  parser.finish(ib.dv, ib.start, ib.end, ib.base);
  return result();
}
