/**
 * Frame Streams (fstrm) reader, the transport dnstap uses: Unbound (and Knot Resolver, BIND...)
 * connect to a unix socket and write frames. Format (fstrm "Frame Streams Protocol"):
 *
 * - a data frame is a 32-bit big-endian length (non-zero) followed by that many bytes;
 * - a control frame is an escape (a 32-bit zero), a 32-bit control-frame length, then the control
 *   frame: a 32-bit control type and fields, each a 32-bit field type, a 32-bit length and bytes.
 *   Field type 1 is CONTENT_TYPE ("protobuf:dnstap.Dnstap").
 *
 * Bidirectional (Unbound's default, dnstap-bidirectional: yes): the writer sends READY with its
 * content types, the reader answers ACCEPT with the one it accepts, the writer sends START, data
 * frames, and at the end STOP, which the reader answers with FINISH. Unidirectional writers start
 * with START directly. Both are accepted here.
 *
 * Untrusted input: every frame length is bounded (control frames by the spec's 512 bytes, data
 * frames by a configurable maximum) and a protocol error ends the connection with a reason, never
 * with an exception.
 */
import { existsSync, lstatSync, unlinkSync, chmodSync } from 'node:fs';
import net from 'node:net';

export const FSTRM_CONTROL = { ACCEPT: 1, START: 2, STOP: 3, READY: 4, FINISH: 5 } as const;
export const FSTRM_FIELD_CONTENT_TYPE = 1;
export const DNSTAP_CONTENT_TYPE = 'protobuf:dnstap.Dnstap';
/** fstrm's FSTRM_CONTROL_FRAME_LENGTH_MAX. */
export const MAX_CONTROL_FRAME = 512;
/** fstrm's FSTRM_CONTENT_TYPE_LENGTH_MAX. */
export const MAX_CONTENT_TYPE = 256;
/** A dnstap message holds at most a query and a response (64 KiB each) plus a little: 256 KiB is ample. */
export const DEFAULT_MAX_DATA_FRAME = 256 * 1024;

const CONTROL_NAMES: Record<number, string> = { 1: 'ACCEPT', 2: 'START', 3: 'STOP', 4: 'READY', 5: 'FINISH' };
export const controlName = (t: number): string => CONTROL_NAMES[t] ?? `control type ${t}`;

export type Frame = { kind: 'data'; payload: Uint8Array } | { kind: 'control'; type: number; contentTypes: string[] };

/** Encode a control frame with its CONTENT_TYPE fields (escape and length included). */
export function encodeControlFrame(type: number, contentTypes: readonly string[] = []): Uint8Array {
  const cts = contentTypes.map((c) => Buffer.from(c, 'utf8'));
  const bodyLen = 4 + cts.reduce((n, c) => n + 8 + c.length, 0);
  const b = Buffer.alloc(8 + bodyLen);
  b.writeUInt32BE(0, 0);
  b.writeUInt32BE(bodyLen, 4);
  b.writeUInt32BE(type, 8);
  let off = 12;
  for (const c of cts) {
    b.writeUInt32BE(FSTRM_FIELD_CONTENT_TYPE, off);
    b.writeUInt32BE(c.length, off + 4);
    c.copy(b, off + 8);
    off += 8 + c.length;
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Encode a data frame. */
export function encodeDataFrame(payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  new DataView(b.buffer).setUint32(0, payload.length);
  b.set(payload, 4);
  return b;
}

/** Parse a control frame's body (after escape and length). Returns an error text when malformed. */
export function parseControlBody(body: Uint8Array): { type: number; contentTypes: string[] } | { error: string } {
  if (body.length < 4) return { error: `control frame of ${body.length} bytes has no type` };
  const dv = new DataView(body.buffer, body.byteOffset, body.length);
  const type = dv.getUint32(0);
  const contentTypes: string[] = [];
  let off = 4;
  while (off < body.length) {
    if (off + 8 > body.length) return { error: `${controlName(type)}: truncated field header at byte ${off}` };
    const ft = dv.getUint32(off);
    const len = dv.getUint32(off + 4);
    if (off + 8 + len > body.length) return { error: `${controlName(type)}: field of ${len} bytes runs past the frame` };
    if (ft === FSTRM_FIELD_CONTENT_TYPE) {
      if (len > MAX_CONTENT_TYPE) return { error: `${controlName(type)}: content type of ${len} bytes is longer than ${MAX_CONTENT_TYPE}` };
      contentTypes.push(Buffer.from(body.subarray(off + 8, off + 8 + len)).toString('latin1'));
    }
    // Unknown field types are skipped (the spec reserves them for extensions).
    off += 8 + len;
  }
  return { type, contentTypes };
}

/**
 * Incremental frame splitter for one byte stream. `push` bytes as they arrive; it returns the
 * complete frames, or an error (after which the stream must be closed: framing is lost).
 */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  private failed: string | null = null;

  constructor(private readonly maxDataFrame = DEFAULT_MAX_DATA_FRAME) {}

  /** Bytes received but not yet part of a complete frame. */
  get pending(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): { frames: Frame[]; error?: string } {
    const frames: Frame[] = [];
    if (this.failed) return { frames, error: this.failed };
    if (this.buf.length === 0) this.buf = chunk;
    else {
      const b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf, 0);
      b.set(chunk, this.buf.length);
      this.buf = b;
    }
    let off = 0;
    const b = this.buf;
    const dv = new DataView(b.buffer, b.byteOffset, b.length);
    const fail = (msg: string): { frames: Frame[]; error: string } => {
      this.failed = msg;
      this.buf = new Uint8Array(0);
      return { frames, error: msg };
    };
    for (;;) {
      if (off + 4 > b.length) break;
      const len = dv.getUint32(off);
      if (len !== 0) {
        if (len > this.maxDataFrame) return fail(`data frame of ${len} bytes exceeds the ${this.maxDataFrame}-byte limit`);
        if (off + 4 + len > b.length) break;
        frames.push({ kind: 'data', payload: b.slice(off + 4, off + 4 + len) });
        off += 4 + len;
        continue;
      }
      if (off + 8 > b.length) break;
      const clen = dv.getUint32(off + 4);
      if (clen > MAX_CONTROL_FRAME) return fail(`control frame of ${clen} bytes exceeds the ${MAX_CONTROL_FRAME}-byte limit`);
      if (off + 8 + clen > b.length) break;
      const c = parseControlBody(b.subarray(off + 8, off + 8 + clen));
      if ('error' in c) return fail(c.error);
      frames.push({ kind: 'control', type: c.type, contentTypes: c.contentTypes });
      off += 8 + clen;
    }
    this.buf = off === 0 ? b : b.slice(off);
    return { frames };
  }
}

export type SessionState = 'wait-ready' | 'wait-start' | 'data' | 'finished';

/**
 * The reader's side of the handshake for one connection: feed it frames, it answers with bytes to
 * write back (ACCEPT, FINISH), data payloads, and `close` with a reason on a protocol error or
 * after STOP.
 */
export class FrameStreamSession {
  state: SessionState = 'wait-ready';
  /** The writer sent READY (it reads our ACCEPT and FINISH). */
  private bidirectional = false;

  constructor(private readonly contentType = DNSTAP_CONTENT_TYPE) {}

  handle(f: Frame): { reply?: Uint8Array; payload?: Uint8Array; close?: 'finished' | string } {
    if (this.state === 'finished') return { close: 'frame after STOP' };
    if (f.kind === 'data') {
      if (this.state !== 'data') return { close: `data frame before START` };
      return { payload: f.payload };
    }
    switch (f.type) {
      case FSTRM_CONTROL.READY:
        if (this.state !== 'wait-ready') return { close: 'READY received twice' };
        if (!f.contentTypes.includes(this.contentType)) {
          return { close: `READY offers ${f.contentTypes.length ? f.contentTypes.map((c) => JSON.stringify(c)).join(', ') : 'no content type'}, not "${this.contentType}"` };
        }
        this.state = 'wait-start';
        this.bidirectional = true;
        return { reply: encodeControlFrame(FSTRM_CONTROL.ACCEPT, [this.contentType]) };
      case FSTRM_CONTROL.START:
        if (this.state === 'data') return { close: 'START received twice' };
        // START's content type is optional; when present it must be ours.
        if (f.contentTypes.length > 0 && !f.contentTypes.includes(this.contentType)) {
          return { close: `START with content type ${JSON.stringify(f.contentTypes[0])}, not "${this.contentType}"` };
        }
        this.state = 'data';
        return {};
      case FSTRM_CONTROL.STOP:
        this.state = 'finished';
        // A unidirectional writer (START without READY) does not read: it gets no FINISH.
        return { reply: this.bidirectional ? encodeControlFrame(FSTRM_CONTROL.FINISH) : undefined, close: 'finished' };
      default:
        return { close: `unexpected ${controlName(f.type)} frame from the writer` };
    }
  }
}

export interface FrameStreamServerStats {
  connections: number;
  /** Connections that ended with STOP/FINISH (clean). */
  finished: number;
  /** Connections closed because of a framing or protocol error. */
  protocolErrors: number;
  dataFrames: number;
  controlFrames: number;
  bytes: number;
}

export interface FrameStreamServerOptions {
  socketPath: string;
  /** Called for each data frame payload. Must not throw (errors are caught and counted as protocol errors). */
  onPayload: (payload: Uint8Array) => void;
  /** A writer connected. */
  onConnection?: () => void;
  /** A connection was closed for a protocol error. */
  onProtocolError?: (reason: string) => void;
  maxDataFrame?: number;
  /** chmod the socket (e.g. 0o660) so the resolver's user can connect. */
  socketMode?: number;
  contentType?: string;
}

/**
 * A unix-socket fstrm server (the side Unbound connects to). A stale socket file left by a crashed
 * run is removed; a live one (something accepts connections on it) or a non-socket file is an error.
 */
export class FrameStreamServer {
  readonly stats: FrameStreamServerStats = { connections: 0, finished: 0, protocolErrors: 0, dataFrames: 0, controlFrames: 0, bytes: 0 };
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: FrameStreamServerOptions) {}

  async listen(): Promise<void> {
    const p = this.opts.socketPath;
    if (existsSync(p)) {
      if (!lstatSync(p).isSocket()) throw new Error(`${p} exists and is not a socket`);
      if (await socketIsLive(p)) throw new Error(`${p} is in use by another listener`);
      unlinkSync(p);
    }
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    if (this.opts.socketMode !== undefined) chmodSync(p, this.opts.socketMode);
  }

  private accept(s: net.Socket): void {
    this.stats.connections++;
    this.sockets.add(s);
    this.opts.onConnection?.();
    const reader = new FrameReader(this.opts.maxDataFrame);
    const session = new FrameStreamSession(this.opts.contentType);
    let closed = false;
    const protocolError = (reason: string): void => {
      if (closed) return;
      closed = true;
      this.stats.protocolErrors++;
      this.opts.onProtocolError?.(reason);
      s.destroy();
    };
    s.on('data', (chunk: Buffer) => {
      if (closed) return;
      this.stats.bytes += chunk.length;
      const r = reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      for (const f of r.frames) {
        if (closed) return;
        if (f.kind === 'control') this.stats.controlFrames++;
        const out = session.handle(f);
        if (out.reply) s.write(out.reply);
        if (out.payload) {
          this.stats.dataFrames++;
          try {
            this.opts.onPayload(out.payload);
          } catch (e) {
            protocolError(`payload handler failed: ${(e as Error).message}`);
            return;
          }
        }
        if (out.close === 'finished') {
          closed = true;
          this.stats.finished++;
          s.end();
          return;
        }
        if (out.close) {
          protocolError(out.close);
          return;
        }
      }
      if (r.error) protocolError(r.error);
    });
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
  }

  /** Stop listening, close every connection, remove the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      if (existsSync(this.opts.socketPath) && lstatSync(this.opts.socketPath).isSocket()) unlinkSync(this.opts.socketPath);
    } catch {
      // already gone
    }
  }
}

function socketIsLive(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(p);
    const done = (live: boolean): void => {
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.destroy();
      resolve(live);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}
