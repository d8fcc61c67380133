/**
 * Frame Streams: hand-built frames (bytes written out from the fstrm spec, not by the encoder under
 * test), the reader's bidirectional handshake, bounds, a unix-socket server driven by a client
 * that speaks the protocol, and mutated streams that must never throw.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeControlFrame,
  encodeDataFrame,
  FrameReader,
  FrameStreamServer,
  FrameStreamSession,
  type Frame,
} from '../../../src/sources/dns/framestream.js';
import { xorshift32 } from '../../helpers/rng.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-fstrm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CT = 'protobuf:dnstap.Dnstap'; // 22 bytes
const ctBytes = [...Buffer.from(CT, 'latin1')];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

// READY with one CONTENT_TYPE: escape 0, length 4 (type) + 4 (field type) + 4 (field length) + 22 = 34.
const READY = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 22, ...ctBytes]);
const ACCEPT = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 22, ...ctBytes]);
const START = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 22, ...ctBytes]);
const START_BARE = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2]);
const STOP = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 3]);
const FINISH = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 5]);
const data = (...payload: number[]): Uint8Array => Uint8Array.from([...u32(payload.length), ...payload]);
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('frame encoding', () => {
  it('control and data frames are laid out as the fstrm spec says', () => {
    expect([...encodeControlFrame(4, [CT])]).toEqual([...READY]);
    expect([...encodeControlFrame(1, [CT])]).toEqual([...ACCEPT]);
    expect([...encodeControlFrame(5)]).toEqual([...FINISH]);
    expect([...encodeDataFrame(Uint8Array.from([9, 8, 7]))]).toEqual([0, 0, 0, 3, 9, 8, 7]);
  });
});

describe('FrameReader', () => {
  const stream = cat(READY, START, data(1, 2, 3), data(0xff), STOP);
  const expected: Frame[] = [
    { kind: 'control', type: 4, contentTypes: [CT] },
    { kind: 'control', type: 2, contentTypes: [CT] },
    { kind: 'data', payload: Uint8Array.from([1, 2, 3]) },
    { kind: 'data', payload: Uint8Array.from([0xff]) },
    { kind: 'control', type: 3, contentTypes: [] },
  ];

  it('splits a stream delivered whole', () => {
    const r = new FrameReader().push(stream);
    expect(r.error).toBeUndefined();
    expect(r.frames).toEqual(expected);
  });

  it('splits the same stream delivered one byte at a time', () => {
    const reader = new FrameReader();
    const frames: Frame[] = [];
    for (const b of stream) {
      const r = reader.push(Uint8Array.of(b));
      expect(r.error).toBeUndefined();
      frames.push(...r.frames);
    }
    expect(frames).toEqual(expected);
    expect(reader.pending).toBe(0);
  });

  it('skips unknown control fields and reads several content types', () => {
    // READY: type 4; field 7 (unknown) of 2 bytes; CONTENT_TYPE "a"; CONTENT_TYPE "b". Length 4 + 10 + 9 + 9 = 32.
    const f = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 1, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 1, 0x62]);
    expect(new FrameReader().push(f)).toEqual({ frames: [{ kind: 'control', type: 4, contentTypes: ['a', 'b'] }] });
  });

  it('rejects a data frame over the limit before buffering it', () => {
    const reader = new FrameReader(1000);
    const r = reader.push(Uint8Array.from(u32(1001)));
    expect(r.error).toMatch(/1001 bytes exceeds the 1000-byte limit/);
    // The reader stays failed: framing is lost.
    expect(reader.push(data(1)).error).toMatch(/1001 bytes/);
    expect(new FrameReader(1000).push(data(1)).error).toBeUndefined();
  });

  it('rejects control frames over 512 bytes and fields that run past their frame', () => {
    expect(new FrameReader().push(Uint8Array.from([0, 0, 0, 0, ...u32(513)])).error).toMatch(/513 bytes exceeds the 512-byte limit/);
    const bad = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 9]);
    expect(new FrameReader().push(bad).error).toMatch(/runs past the frame/);
    expect(new FrameReader().push(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 4])).error).toMatch(/no type/);
  });
});

describe('FrameStreamSession (reader side of the handshake)', () => {
  const frames = (b: Uint8Array): Frame[] => new FrameReader().push(b).frames;

  it('answers READY with ACCEPT and STOP with FINISH, passing data through', () => {
    const s = new FrameStreamSession();
    const out = frames(cat(READY, START, data(5, 6), STOP)).map((f) => s.handle(f));
    expect([...out[0]!.reply!]).toEqual([...ACCEPT]);
    expect(out[1]).toEqual({});
    expect([...out[2]!.payload!]).toEqual([5, 6]);
    expect([...out[3]!.reply!]).toEqual([...FINISH]);
    expect(out[3]!.close).toBe('finished');
  });

  it('accepts a unidirectional writer (START without READY, no FINISH)', () => {
    const s = new FrameStreamSession();
    const out = frames(cat(START_BARE, data(1), STOP)).map((f) => s.handle(f));
    expect(out[0]).toEqual({});
    expect(out[1]!.payload).toBeDefined();
    expect(out[2]).toEqual({ reply: undefined, close: 'finished' });
  });

  it('closes on a wrong content type, data before START, or an unexpected control frame', () => {
    const wrong = encodeControlFrame(4, ['protobuf:other']);
    expect(new FrameStreamSession().handle(frames(wrong)[0]!).close).toMatch(/not "protobuf:dnstap.Dnstap"/);
    expect(new FrameStreamSession().handle(frames(data(1))[0]!).close).toMatch(/before START/);
    expect(new FrameStreamSession().handle(frames(ACCEPT)[0]!).close).toMatch(/unexpected ACCEPT/);
    const s = new FrameStreamSession();
    s.handle(frames(READY)[0]!);
    expect(s.handle(frames(READY)[0]!).close).toMatch(/twice/);
  });
});

describe('fuzz: mutated streams never throw', () => {
  it('20 000 mutated handshakes, pushed in random chunks', () => {
    const rnd = xorshift32(0x5eed);
    const base = cat(READY, START, data(1, 2, 3, 4, 5), data(...Array.from({ length: 40 }, (_, i) => i)), STOP);
    let errors = 0;
    let payloads = 0;
    for (let n = 0; n < 20_000; n++) {
      const b = base.slice();
      const flips = 1 + (rnd() % 4);
      for (let i = 0; i < flips; i++) b[rnd() % b.length] = rnd() & 255;
      const cut = rnd() % 8 === 0 ? b.subarray(0, rnd() % b.length) : b;
      const reader = new FrameReader(4096);
      const session = new FrameStreamSession();
      let off = 0;
      outer: while (off < cut.length) {
        const len = 1 + (rnd() % 16);
        const r = reader.push(cut.slice(off, off + len));
        off += len;
        for (const f of r.frames) {
          const o = session.handle(f);
          if (o.payload) payloads++;
          if (o.close) break outer;
        }
        if (r.error) {
          errors++;
          break;
        }
      }
    }
    expect(errors).toBeGreaterThan(0);
    expect(payloads).toBeGreaterThan(0);
  });
});

/** A minimal fstrm writer (client), as Unbound behaves: READY, wait ACCEPT, START, frames, STOP, wait FINISH. */
function writer(sock: string, payloads: Uint8Array[]): Promise<{ accepted: number[]; finished: number[] }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    const got: number[] = [];
    let phase = 0;
    c.on('connect', () => c.write(READY));
    c.on('data', (d: Buffer) => {
      got.push(...d);
      if (phase === 0 && got.length >= ACCEPT.length) {
        phase = 1;
        const accepted = got.splice(0, ACCEPT.length);
        c.write(cat(START, ...payloads.map((p) => Uint8Array.from([...u32(p.length), ...p])), STOP));
        c.once('end', () => resolve({ accepted, finished: got.slice() }));
      }
    });
    c.on('error', reject);
  });
}

describe('FrameStreamServer on a unix socket', () => {
  it('completes the handshake, delivers payloads, survives a bad client, removes a stale socket', async () => {
    const sock = path.join(dir, 'tap.sock');
    // A stale socket file (no listener) is replaced.
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(sock, r));
    await new Promise<void>((r) => stale.close(() => r()));
    writeFileSync(path.join(dir, 'not-a-socket'), 'x');
    await expect(new FrameStreamServer({ socketPath: path.join(dir, 'not-a-socket'), onPayload: () => undefined }).listen()).rejects.toThrow(/not a socket/);

    const received: number[][] = [];
    const reasons: string[] = [];
    const server = new FrameStreamServer({ socketPath: sock, onPayload: (p) => received.push([...p]), onProtocolError: (r) => reasons.push(r), maxDataFrame: 1024 });
    await server.listen();
    // A second listener on the same live socket is refused.
    await expect(new FrameStreamServer({ socketPath: sock, onPayload: () => undefined }).listen()).rejects.toThrow(/in use/);

    // Garbage client: an oversized frame length; the server closes it and keeps serving.
    await new Promise<void>((resolve) => {
      const bad = net.connect(sock, () => bad.write(Uint8Array.from([0, 1, 0, 0, 1, 2, 3])));
      bad.on('close', () => resolve());
      bad.on('error', () => undefined);
    });
    const r = await writer(sock, [Uint8Array.of(1, 2), Uint8Array.of(3)]);
    expect(r.accepted).toEqual([...ACCEPT]);
    expect(r.finished).toEqual([...FINISH]);
    expect(received).toEqual([[1, 2], [3]]);
    // Connections: the liveness probe of the refused second listener, the bad client, the writer.
    expect(server.stats).toMatchObject({ connections: 3, finished: 1, protocolErrors: 1, dataFrames: 2 });
    expect(reasons[0]).toMatch(/exceeds the 1024-byte limit/);
    await server.close();
  });
});
