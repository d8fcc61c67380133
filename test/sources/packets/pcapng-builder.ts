/**
 * A tiny pcapng writer for the tests (the production code only writes classic pcap): section
 * headers in either byte order, interface descriptions with if_tsresol / if_tsoffset, enhanced,
 * simple and obsolete packet blocks, and arbitrary other blocks.
 */
export interface IdbOptions {
  snaplen?: number;
  /** Raw if_tsresol byte (6 = µs, 9 = ns, 0x80 | n = 2^-n). Omitted: no option (µs). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
  /** An if_name option, to exercise option skipping. */
  name?: string;
}

export class PcapngBuilder {
  private parts: Uint8Array[] = [];
  private le = true;

  /** Start a section in the given byte order. */
  shb(littleEndian = true): this {
    this.le = littleEndian;
    const body = new Uint8Array(16);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, 0x1a2b3c4d, this.le);
    dv.setUint16(4, 1, this.le);
    dv.setUint16(6, 0, this.le);
    dv.setInt32(8, -1, this.le); // section length unknown
    dv.setInt32(12, -1, this.le);
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, o: IdbOptions = {}): this {
    const opts: Uint8Array[] = [];
    if (o.name !== undefined) opts.push(this.option(2, new TextEncoder().encode(o.name)));
    if (o.tsresol !== undefined) opts.push(this.option(9, Uint8Array.of(o.tsresol)));
    if (o.tsoffset !== undefined) {
      const v = new Uint8Array(8);
      new DataView(v.buffer).setBigInt64(0, BigInt(o.tsoffset), this.le);
      opts.push(this.option(14, v));
    }
    if (opts.length) opts.push(new Uint8Array(4)); // opt_endofopt
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, linkType, this.le);
    dv.setUint32(4, o.snaplen ?? 262144, this.le);
    return this.block(1, concat([head, ...opts]));
  }

  /** Enhanced packet block; `ts` in the interface's units. */
  epb(ifid: number, ts: bigint, data: Uint8Array, origLen = data.length): this {
    const head = new Uint8Array(20);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, ifid, this.le);
    dv.setUint32(4, Number(ts >> 32n), this.le);
    dv.setUint32(8, Number(ts & 0xffffffffn), this.le);
    dv.setUint32(12, data.length, this.le);
    dv.setUint32(16, origLen, this.le);
    return this.block(6, concat([head, pad4(data), this.option(1, new TextEncoder().encode('comment')), new Uint8Array(4)]));
  }

  /** Obsolete packet block. */
  pb(ifid: number, ts: bigint, data: Uint8Array, origLen = data.length): this {
    const head = new Uint8Array(20);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, ifid, this.le);
    dv.setUint16(2, 0, this.le);
    dv.setUint32(4, Number(ts >> 32n), this.le);
    dv.setUint32(8, Number(ts & 0xffffffffn), this.le);
    dv.setUint32(12, data.length, this.le);
    dv.setUint32(16, origLen, this.le);
    return this.block(2, concat([head, pad4(data)]));
  }

  /** Simple packet block (interface 0, no timestamp). */
  spb(data: Uint8Array, origLen = data.length): this {
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, origLen, this.le);
    return this.block(3, concat([head, pad4(data)]));
  }

  /** Any block with a body (padded to 4 bytes). */
  block(type: number, body: Uint8Array): this {
    const b = pad4(body);
    const out = new Uint8Array(12 + b.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, type, this.le);
    dv.setUint32(4, out.length, this.le);
    out.set(b, 8);
    dv.setUint32(out.length - 4, out.length, this.le);
    this.parts.push(out);
    return this;
  }

  build(): Buffer {
    return Buffer.from(concat(this.parts));
  }

  private option(code: number, value: Uint8Array): Uint8Array {
    const out = new Uint8Array(4 + ((value.length + 3) & ~3));
    const dv = new DataView(out.buffer);
    dv.setUint16(0, code, this.le);
    dv.setUint16(2, value.length, this.le);
    out.set(value, 4);
    return out;
  }
}

function pad4(a: Uint8Array): Uint8Array {
  if (a.length % 4 === 0) return a;
  const out = new Uint8Array((a.length + 3) & ~3);
  out.set(a);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
