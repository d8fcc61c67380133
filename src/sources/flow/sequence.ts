/**
 * Exporter-side loss from sequence numbers (32-bit, wrapping).
 *
 * Each message carries the sequence number of its first unit and covers `n` units (NetFlow v5:
 * flow records; NetFlow v9: export packets, n = 1; IPFIX: data records, per observation domain).
 * A jump forward opens a gap (missing += gap); a message that later fills (part of) a gap is late
 * (missing -= what it covered); a message behind the expected number that fills no gap is a
 * duplicate. Jumps beyond ±RESET_WINDOW are exporter restarts: counted, never counted as loss.
 */

export const RESET_WINDOW = 1_000_000;
const MAX_GAPS = 64;

export interface SequenceStats {
  /** What the sequence counts: 'records' (v5, IPFIX) or 'packets' (v9). */
  unit: 'records' | 'packets';
  /** Messages whose sequence number was checked. */
  messages: number;
  /** Units announced by the exporter but never received (net of late arrivals). */
  missing: number;
  /** Messages that arrived after a later one and filled (part of) a gap. */
  late: number;
  /** Messages behind the expected number that filled no gap (repeats). */
  duplicates: number;
  /** Jumps too large to be loss (exporter restart), and resyncs after uncountable messages. */
  resets: number;
}

export class SequenceTracker {
  readonly unit: 'records' | 'packets';
  messages = 0;
  missing = 0;
  late = 0;
  duplicates = 0;
  resets = 0;
  /** Next expected sequence number, or -1 when unknown. */
  expected = -1;
  /** Open gaps: [start, length] pairs (start is a uint32 sequence number). */
  private gaps: number[] = [];

  constructor(unit: 'records' | 'packets') {
    this.unit = unit;
  }

  /** A message with sequence number `seq` covering `n` units. */
  observe(seq: number, n: number): void {
    this.messages++;
    const next = (seq + n) >>> 0;
    if (this.expected < 0) {
      this.expected = next;
      return;
    }
    const d = (seq - this.expected) | 0;
    if (d === 0) {
      this.expected = next;
    } else if (d > 0) {
      if (d > RESET_WINDOW) return this.reset(next);
      this.missing += d;
      if (this.gaps.length >= MAX_GAPS * 2) this.gaps.splice(0, 2); // oldest gap stays counted as missing
      this.gaps.push(this.expected, d);
      this.expected = next;
    } else {
      if (d < -RESET_WINDOW) return this.reset(next);
      const filled = this.fill(seq, n);
      if (filled > 0) {
        this.missing -= filled;
        this.late++;
      } else this.duplicates++;
    }
  }

  /** The count of the last message could not be known: resynchronise on the next one. */
  unknown(): void {
    this.expected = -1;
    this.gaps = [];
    this.resets++;
  }

  private reset(next: number): void {
    this.resets++;
    this.gaps = [];
    this.expected = next;
  }

  /** Remove [seq, seq+n) from the gaps; returns how many units it covered. */
  private fill(seq: number, n: number): number {
    const g = this.gaps;
    let filled = 0;
    for (let i = 0; i < g.length && n > 0; i += 2) {
      const start = g[i]!;
      const len = g[i + 1]!;
      // Intersect [seq, seq+n) with [start, start+len) in wrapping arithmetic, relative to start.
      const rel = (seq - start) | 0;
      const a = Math.max(0, rel);
      const b = Math.min(len, rel + n);
      if (b <= a) continue;
      filled += b - a;
      const left = a; // units before the filled part
      const right = len - b; // units after it
      const pieces: number[] = [];
      if (left > 0) pieces.push(start, left);
      if (right > 0) pieces.push((start + b) >>> 0, right);
      g.splice(i, 2, ...pieces);
      i += pieces.length - 2;
    }
    return filled;
  }

  toJSON(): SequenceStats {
    return {
      unit: this.unit,
      messages: this.messages,
      missing: this.missing,
      late: this.late,
      duplicates: this.duplicates,
      resets: this.resets,
    };
  }
}
