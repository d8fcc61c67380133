/**
 * Flow meter: decoded packets → unidirectional flows keyed by (family, source address, destination
 * address, source port, destination port, protocol), as nfpcapd and softflowd export them.
 *
 * Timeouts, in capture time (packet timestamps, never the wall clock):
 * - active timeout (default 300 s) and idle timeout (default 60 s): nfdump's nfpcapd defaults
 *   (`nfpcapd -e active,inactive`, "The default ist 300,60", nfpcapd(1) of nfdump 1.7.1; the same
 *   values are `expireActiveTimeout`/`expireInactiveTimeout` in its flowtree.c). A packet that
 *   arrives `activeTimeoutMs` or more after its flow's first packet, or `idleTimeoutMs` or more after
 *   its flow's previous packet, closes that flow and starts a new one.
 * - TCP: after a FIN the flow lingers `finLingerMs` (default 5 s) after its last packet, so the
 *   final ACKs (and retransmitted FINs) still belong to it; after an RST only `rstLingerMs`
 *   (default 1 s). A SYN without ACK on a closing flow (port reuse) starts a new flow at once.
 * - Expired flows are swept every `sweepIntervalMs` of capture time (default 10 s, nfpcapd's cache
 *   check interval), so memory stays bounded; the per-packet check above makes the flow boundaries
 *   independent of when the sweeps happen.
 * - `flush()` at the end of input emits every flow still open.
 *
 * Implementation: an open-addressing hash table (linear probing, backward-shift deletion) whose
 * entries are 64-byte records — one cache line — in one ArrayBuffer: the key as ten int32 words,
 * first/last packet times as int32 milliseconds from a base (re-based when needed), packets as
 * uint32, bytes as float64; MACs live in a side array touched only when a flow starts or ends.
 * Metering a packet allocates nothing and touches one cache line of the table; the 16-byte
 * address arrays and the FlowRecord object are created only when a flow is emitted. (Times in the
 * records are whole milliseconds, the resolution of FlowRecord's time fields.)
 */
import { emptyFlow, type FlowRecord } from '../../schema/fields.js';
import type { PacketInfo } from './decode.js';

/** nfpcapd's defaults (see the module comment). */
export const DEFAULT_ACTIVE_TIMEOUT_MS = 300_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_FIN_LINGER_MS = 5_000;
export const DEFAULT_RST_LINGER_MS = 1_000;
export const DEFAULT_SWEEP_INTERVAL_MS = 10_000;
export const DEFAULT_BATCH_SIZE = 2048;

export interface FlowMeterOptions {
  /** exporter_name of every record (e.g. the capture file's base name or the interface). */
  exporterName: string;
  activeTimeoutMs?: number;
  idleTimeoutMs?: number;
  finLingerMs?: number;
  rstLingerMs?: number;
  sweepIntervalMs?: number;
  /** Records per batch handed to onBatch (default 2048). */
  batchSize?: number;
  /** Receives full batches (and the last partial one on flush/takeBatch). Must not keep `batch` reused: it is not. */
  onBatch: (batch: FlowRecord[]) => void;
  /** Initial flow table capacity (grows by doubling; default 16384). */
  initialCapacity?: number;
}

// Record layout: 16 int32 words (64 bytes) per slot
const REC_WORDS = 16;
const REC_SHIFT = 4;
const W_CTL = 0; // 0 = empty slot; else 1 | tcp state << 4 | tcp flags << 8
const W_KEY = 1; // 10 words: [family<<8|proto, sport<<16|dport, s0..s3, d0..d3]
const W_START = 11; // ms from `base`
const W_LAST = 12;
const W_PACKETS = 13; // uint32
const F_BYTES = 7; // float64 index within the record (words 14-15)
const ST_OPEN = 0;
const ST_FIN = 1;
const ST_RST = 2;
const MAX_LOAD = 0.7;
const MAX_PACKETS = 0xffffffff;
/** Re-base record times when they get this far from the base (about 12 days). */
const REBASE_AT = 2 ** 30;

function hash10(w0: number, w1: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number): number {
  // murmur3-style mixing
  let h = Math.imul(w1 ^ 0x9e3779b9, 0xcc9e2d51);
  h = Math.imul((h << 15) | (h >>> 17), 0x1b873593) ^ w0;
  h = Math.imul(h ^ s3, 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h = Math.imul(h ^ d3, 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h = Math.imul(h ^ s2 ^ Math.imul(d2, 0x1b873593), 0xcc9e2d51);
  h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  h ^= Math.imul(s0 ^ Math.imul(s1, 0x85ebca6b), 0xc2b2ae35) ^ Math.imul(d0 ^ Math.imul(d1, 0xc2b2ae35), 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

export class FlowMeter {
  private readonly name: string;
  private readonly active: number;
  private readonly idle: number;
  private readonly finLinger: number;
  private readonly rstLinger: number;
  private readonly sweepInterval: number;
  private readonly batchSize: number;
  private readonly onBatch: (batch: FlowRecord[]) => void;

  private cap: number;
  private mask: number;
  private growAt: number;
  private I: Int32Array;
  private F: Float64Array;
  /** src MAC, dst MAC per slot. */
  private M: Float64Array;
  private count = 0;
  /** Epoch ms that record time 0 stands for. */
  private base = NaN;

  private now = -Infinity;
  private nextSweep = Infinity;
  private batch: FlowRecord[] = [];

  /** Flows created / emitted so far. */
  flowsCreated = 0;
  flowsEmitted = 0;

  constructor(opts: FlowMeterOptions) {
    this.name = opts.exporterName;
    this.active = opts.activeTimeoutMs ?? DEFAULT_ACTIVE_TIMEOUT_MS;
    this.idle = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.finLinger = Math.min(opts.finLingerMs ?? DEFAULT_FIN_LINGER_MS, this.idle);
    this.rstLinger = Math.min(opts.rstLingerMs ?? DEFAULT_RST_LINGER_MS, this.idle);
    this.sweepInterval = opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH_SIZE);
    this.onBatch = opts.onBatch;
    for (const [k, v] of [
      ['activeTimeoutMs', this.active],
      ['idleTimeoutMs', this.idle],
      ['sweepIntervalMs', this.sweepInterval],
    ] as const) {
      if (!(v > 0) || v > REBASE_AT / 4) throw new RangeError(`FlowMeter: ${k} must be a positive number of milliseconds below ${REBASE_AT / 4}, got ${v}`);
    }
    let cap = 1024;
    while (cap * MAX_LOAD < (opts.initialCapacity ?? 16384)) cap <<= 1;
    this.cap = cap;
    this.mask = cap - 1;
    this.growAt = Math.floor(cap * MAX_LOAD);
    const buf = new ArrayBuffer(cap * REC_WORDS * 4);
    this.I = new Int32Array(buf);
    this.F = new Float64Array(buf);
    this.M = new Float64Array(cap * 2);
  }

  /** Flows currently open. */
  get activeFlows(): number {
    return this.count;
  }

  /** Latest capture time seen (ms), or -Infinity before the first packet. */
  get captureTime(): number {
    return this.now;
  }

  /** Account one decoded IP packet (decode() returned DECODE_IP) captured at tsMs. */
  add(info: PacketInfo, tsMs: number): void {
    if (tsMs > this.now) {
      if (this.now === -Infinity) {
        this.nextSweep = tsMs + this.sweepInterval;
        this.base = Math.floor(tsMs);
      }
      this.now = tsMs;
      if (tsMs >= this.nextSweep) this.sweep(tsMs);
    }
    let t = Math.floor(tsMs) - this.base;
    if (t < -REBASE_AT) t = -REBASE_AT; // a timestamp weeks before the first one: clamp (int32 times)
    const proto = info.proto;
    const w0 = (info.family << 8) | proto;
    const w1 = (info.srcPort << 16) | info.dstPort;
    const s0 = info.s0;
    const s1 = info.s1;
    const s2 = info.s2;
    const s3 = info.s3;
    const d0 = info.d0;
    const d1 = info.d1;
    const d2 = info.d2;
    const d3 = info.d3;
    const I = this.I;
    const mask = this.mask;
    const tcpFlags = proto === 6 ? info.tcpFlags : 0;
    let slot = hash10(w0, w1, s0, s1, s2, s3, d0, d1, d2, d3) & mask;
    for (;;) {
      const b = slot << REC_SHIFT;
      const ctl = I[b + W_CTL]!;
      if (ctl === 0) break;
      if (
        I[b + W_KEY + 1] === w1 &&
        I[b + W_KEY + 5] === s3 &&
        I[b + W_KEY + 9] === d3 &&
        I[b + W_KEY] === w0 &&
        I[b + W_KEY + 4] === s2 &&
        I[b + W_KEY + 8] === d2 &&
        I[b + W_KEY + 2] === s0 &&
        I[b + W_KEY + 3] === s1 &&
        I[b + W_KEY + 6] === d0 &&
        I[b + W_KEY + 7] === d1
      ) {
        const st = (ctl >> 4) & 15;
        const limit = st === ST_OPEN ? this.idle : st === ST_FIN ? this.finLinger : this.rstLinger;
        const last = I[b + W_LAST]!;
        const packets = I[b + W_PACKETS]! >>> 0;
        if (
          t - last >= limit ||
          t - I[b + W_START]! >= this.active ||
          (st !== ST_OPEN && (tcpFlags & 0x12) === 0x02) ||
          packets === MAX_PACKETS
        ) {
          // the old flow ends; the slot starts the new one
          this.emit(b, slot);
          this.flowsCreated++;
          I[b + W_CTL] = 1 | (stateOf(tcpFlags) << 4) | (tcpFlags << 8);
          I[b + W_START] = t;
          I[b + W_LAST] = t;
          I[b + W_PACKETS] = 1;
          this.F[(b >> 1) + F_BYTES] = info.bytes;
          this.M[slot * 2] = info.srcMac;
          this.M[slot * 2 + 1] = info.dstMac;
          return;
        }
        if (t > last) I[b + W_LAST] = t;
        else if (t < I[b + W_START]!) I[b + W_START] = t;
        I[b + W_PACKETS] = packets + 1;
        const F = this.F;
        F[(b >> 1) + F_BYTES] = F[(b >> 1) + F_BYTES]! + info.bytes;
        if (tcpFlags !== 0) {
          let nst = st;
          if (tcpFlags & 0x04) nst = ST_RST;
          else if (tcpFlags & 0x01 && st === ST_OPEN) nst = ST_FIN;
          I[b + W_CTL] = ctl | (nst << 4) | (tcpFlags << 8);
        }
        return;
      }
      slot = (slot + 1) & mask;
    }

    // new flow in the empty slot we stopped at
    if (this.count >= this.growAt) {
      this.grow();
      this.add(info, tsMs);
      return;
    }
    const b = slot << REC_SHIFT;
    I[b + W_CTL] = 1 | (stateOf(tcpFlags) << 4) | (tcpFlags << 8);
    I[b + W_KEY] = w0;
    I[b + W_KEY + 1] = w1;
    I[b + W_KEY + 2] = s0;
    I[b + W_KEY + 3] = s1;
    I[b + W_KEY + 4] = s2;
    I[b + W_KEY + 5] = s3;
    I[b + W_KEY + 6] = d0;
    I[b + W_KEY + 7] = d1;
    I[b + W_KEY + 8] = d2;
    I[b + W_KEY + 9] = d3;
    I[b + W_START] = t;
    I[b + W_LAST] = t;
    I[b + W_PACKETS] = 1;
    this.F[(b >> 1) + F_BYTES] = info.bytes;
    this.M[slot * 2] = info.srcMac;
    this.M[slot * 2 + 1] = info.dstMac;
    this.count++;
    this.flowsCreated++;
  }

  /**
   * Emit every flow that has expired at capture time `nowMs` (e.g. from a wall-clock tick on a quiet
   * live capture). Packets call this automatically every sweep interval.
   */
  expire(nowMs: number): void {
    if (nowMs > this.now) this.now = nowMs;
    if (this.count > 0) this.sweep(this.now);
  }

  /** Emit every open flow and hand over the partial batch (end of input). */
  flush(): void {
    const I = this.I;
    for (let s = 0; s < this.cap; s++) {
      const b = s << REC_SHIFT;
      if (I[b + W_CTL] !== 0) {
        this.emit(b, s);
        I[b + W_CTL] = 0;
      }
    }
    this.count = 0;
    this.emitBatch();
  }

  /** Hand the partial batch to onBatch now (if it holds any record). */
  emitBatch(): void {
    if (this.batch.length > 0) {
      const b = this.batch;
      this.batch = [];
      this.onBatch(b);
    }
  }

  /** Records waiting in the partial batch. */
  get pendingRecords(): number {
    return this.batch.length;
  }

  private sweep(nowMs: number): void {
    this.nextSweep = nowMs + this.sweepInterval;
    const now = Math.floor(nowMs) - this.base;
    const I = this.I;
    const active = this.active;
    for (let s = 0; s < this.cap; ) {
      const b = s << REC_SHIFT;
      const ctl = I[b + W_CTL]!;
      if (ctl !== 0) {
        const st = (ctl >> 4) & 15;
        const limit = st === ST_OPEN ? this.idle : st === ST_FIN ? this.finLinger : this.rstLinger;
        if (now - I[b + W_LAST]! >= limit || now - I[b + W_START]! >= active) {
          this.emit(b, s);
          this.remove(s);
          continue; // the slot may now hold a shifted entry: look at it again
        }
      }
      s++;
    }
    // after the expiry (which needs the old base): keep record times far from the int32 limits
    if (now >= REBASE_AT) this.rebase(now);
  }

  private homeOf(b: number): number {
    const I = this.I;
    const k = b + W_KEY;
    return hash10(I[k]!, I[k + 1]!, I[k + 2]!, I[k + 3]!, I[k + 4]!, I[k + 5]!, I[k + 6]!, I[k + 7]!, I[k + 8]!, I[k + 9]!) & this.mask;
  }

  /** Backward-shift deletion of slot s (linear probing). */
  private remove(s: number): void {
    const I = this.I;
    const M = this.M;
    const mask = this.mask;
    let i = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const bj = j << REC_SHIFT;
      if (I[bj] === 0) break;
      const home = this.homeOf(bj);
      // entry j stays if its home slot lies cyclically in (i, j]
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      I.copyWithin(i << REC_SHIFT, bj, bj + REC_WORDS);
      M[i * 2] = M[j * 2]!;
      M[i * 2 + 1] = M[j * 2 + 1]!;
      i = j;
    }
    I[i << REC_SHIFT] = 0;
    this.count--;
  }

  /** Move the time base so that record times stay far from the int32 limits. */
  private rebase(t: number): void {
    const delta = t; // the new base is the current packet's time
    const I = this.I;
    for (let s = 0; s < this.cap; s++) {
      const b = s << REC_SHIFT;
      if (I[b + W_CTL] === 0) continue;
      I[b + W_START] = Math.max(-REBASE_AT, I[b + W_START]! - delta);
      I[b + W_LAST] = Math.max(-REBASE_AT, I[b + W_LAST]! - delta);
    }
    this.base += delta;
  }

  private emit(b: number, slot: number): void {
    const I = this.I;
    const k = b + W_KEY;
    const r = emptyFlow();
    const end = this.base + I[b + W_LAST]!;
    r.source_kind = 'pcap';
    r.exporter_name = this.name;
    r.time_start = this.base + I[b + W_START]!;
    r.time_end = end;
    r.time_received = end;
    r.family = I[k]! >>> 8;
    r.proto = I[k]! & 0xff;
    r.src_port = I[k + 1]! >>> 16;
    r.dst_port = I[k + 1]! & 0xffff;
    r.src_addr = addrBytes(I[k + 2]!, I[k + 3]!, I[k + 4]!, I[k + 5]!);
    r.dst_addr = addrBytes(I[k + 6]!, I[k + 7]!, I[k + 8]!, I[k + 9]!);
    r.tcp_flags = (I[b + W_CTL]! >>> 8) & 0xff;
    r.bytes = this.F[(b >> 1) + F_BYTES]!;
    r.packets = I[b + W_PACKETS]! >>> 0;
    r.flows = 1;
    r.src_mac = this.M[slot * 2]!;
    r.dst_mac = this.M[slot * 2 + 1]!;
    r.sampling_rate = 1;
    this.flowsEmitted++;
    this.batch.push(r);
    if (this.batch.length >= this.batchSize) this.emitBatch();
  }

  private grow(): void {
    const oldI = this.I;
    const oldM = this.M;
    const oldCap = this.cap;
    const cap = oldCap * 2;
    const buf = new ArrayBuffer(cap * REC_WORDS * 4);
    const I = new Int32Array(buf);
    const M = new Float64Array(cap * 2);
    this.mask = cap - 1;
    for (let s = 0; s < oldCap; s++) {
      const b = s << REC_SHIFT;
      if (oldI[b + W_CTL] === 0) continue;
      const k = b + W_KEY;
      let t =
        hash10(oldI[k]!, oldI[k + 1]!, oldI[k + 2]!, oldI[k + 3]!, oldI[k + 4]!, oldI[k + 5]!, oldI[k + 6]!, oldI[k + 7]!, oldI[k + 8]!, oldI[k + 9]!) &
        this.mask;
      while (I[t << REC_SHIFT] !== 0) t = (t + 1) & this.mask;
      I.set(oldI.subarray(b, b + REC_WORDS), t << REC_SHIFT);
      M[t * 2] = oldM[s * 2]!;
      M[t * 2 + 1] = oldM[s * 2 + 1]!;
    }
    this.I = I;
    this.F = new Float64Array(buf);
    this.M = M;
    this.cap = cap;
    this.growAt = Math.floor(cap * MAX_LOAD);
  }
}

function stateOf(tcpFlags: number): number {
  return tcpFlags & 0x04 ? ST_RST : tcpFlags & 0x01 ? ST_FIN : ST_OPEN;
}

function addrBytes(w0: number, w1: number, w2: number, w3: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = w0 >>> 24;
  a[1] = w0 >>> 16;
  a[2] = w0 >>> 8;
  a[3] = w0;
  a[4] = w1 >>> 24;
  a[5] = w1 >>> 16;
  a[6] = w1 >>> 8;
  a[7] = w1;
  a[8] = w2 >>> 24;
  a[9] = w2 >>> 16;
  a[10] = w2 >>> 8;
  a[11] = w2;
  a[12] = w3 >>> 24;
  a[13] = w3 >>> 16;
  a[14] = w3 >>> 8;
  a[15] = w3;
  return a;
}
