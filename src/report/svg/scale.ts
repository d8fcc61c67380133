/**
 * Axes: "nice" linear ticks (1, 2, 2.5, 5 × 10^k, Heckbert's method), linear scales, and UTC time
 * ticks on calendar-friendly steps. Pure functions, no DOM; empty and degenerate inputs give a
 * usable axis (never NaN).
 */

/** A nice number near `x` (> 0): 1, 2, 2.5, 5 or 10 × 10^k; rounded, or the next one up. */
export function niceNumber(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const exp = Math.floor(Math.log10(x));
  const base = 10 ** exp;
  const f = x / base;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nf * base;
}

export interface Ticks {
  /** Axis domain, covering the data: [min, max] are multiples of step. */
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/**
 * About `count` nice ticks covering [lo, hi] (step = the nice number nearest (hi − lo) / count). An empty range (lo = hi, e.g. all zeros or one
 * value) is widened to [0, 1] or [0, hi]; non-finite input gives [0, 1].
 */
export function niceTicks(lo: number, hi: number, count = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = hi = 0;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    if (lo === 0) hi = 1;
    else if (lo > 0) lo = 0;
    else hi = 0;
  }
  const n = Math.max(1, Math.round(count));
  const step = niceNumber((hi - lo) / n, true);
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  const k = Math.round((max - min) / step);
  // multiply instead of accumulating, and clean binary noise (0.30000000000000004)
  for (let i = 0; i <= k; i++) ticks.push(Number((min + i * step).toPrecision(12)));
  return { min: min + 0, max: max + 0, step, ticks: ticks.map((t) => t + 0) }; // no -0
}

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps everything to r0. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  if (!(span !== 0) || !Number.isFinite(span)) return () => r0;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const TIME_STEPS = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface TimeTick {
  time: number;
  label: string;
}

/** "Jan 5" for midnights, else "14:00" (UTC). */
export function timeLabel(t: number, step: number): string {
  const d = new Date(t);
  const isMidnight = d.getUTCHours() === 0 && d.getUTCMinutes() === 0;
  if (step >= DAY || isMidnight) return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/**
 * UTC ticks within [since, until] on the smallest calendar step giving at most `max` ticks
 * (minutes, hours, days, weeks; aligned to UTC midnight/epoch). Empty for an empty range.
 */
export function timeTicks(since: number, until: number, max = 8): { step: number; ticks: TimeTick[] } {
  if (!Number.isFinite(since) || !Number.isFinite(until) || until <= since) return { step: 0, ticks: [] };
  const limit = Math.max(2, max);
  const step = TIME_STEPS.find((s) => (until - since) / s <= limit - 1) ?? Math.ceil((until - since) / (limit - 1) / DAY) * DAY;
  const ticks: TimeTick[] = [];
  for (let t = Math.ceil(since / step) * step; t <= until; t += step) ticks.push({ time: t, label: timeLabel(t, step) });
  return { step, ticks };
}
