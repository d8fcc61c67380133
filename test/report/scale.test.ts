/** Axes: nice numbers and ticks, scales, UTC time ticks, axis labels — including empty and degenerate data. */
import { describe, expect, it } from 'vitest';
import { axisBytes, axisShare } from '../../src/report/format.js';
import { linearScale, niceNumber, niceTicks, timeTicks } from '../../src/report/svg/scale.js';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.UTC(2026, 0, 5);

describe('niceNumber', () => {
  it.each([
    [1, true, 1],
    [1.4, true, 1],
    [1.6, true, 2],
    [3, true, 2.5],
    [4, true, 5],
    [8, true, 10],
    [0.03, true, 0.025],
    [1.1, false, 2],
    [2.2, false, 2.5],
    [3, false, 5],
    [6, false, 10],
    [730, false, 1000],
  ])('%d (round %s) → %d', (x, round, want) => {
    expect(niceNumber(x, round)).toBeCloseTo(want, 12);
  });
  it('falls back to 1 for 0, negative and non-finite input', () => {
    for (const x of [0, -5, NaN, Infinity]) expect(niceNumber(x, true)).toBe(1);
  });
});

describe('niceTicks', () => {
  it('covers the data with 1-2-2.5-5 steps', () => {
    expect(niceTicks(0, 53_400_000, 5)).toEqual({ min: 0, max: 60_000_000, step: 10_000_000, ticks: [0, 1e7, 2e7, 3e7, 4e7, 5e7, 6e7] });
    expect(niceTicks(0, 0.502, 4).ticks).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(0, 1, 4).ticks).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks(-3, 7, 5).ticks).toEqual([-4, -2, 0, 2, 4, 6, 8]);
  });
  it('gives clean decimals (no 0.30000000000000004)', () => {
    const t = niceTicks(0, 0.3, 3).ticks;
    expect(t).toEqual([0, 0.1, 0.2, 0.3]);
    for (const v of niceTicks(0, 0.7, 7).ticks) expect(String(v).length).toBeLessThanOrEqual(3);
  });
  it('widens empty ranges: all zeros → [0, 1], one value → [0, value]', () => {
    expect(niceTicks(0, 0)).toMatchObject({ min: 0, max: 1 });
    const one = niceTicks(42, 42);
    expect(one.min).toBe(0);
    expect(one.max).toBeGreaterThanOrEqual(42);
    expect(niceTicks(-5, -5).max).toBe(0);
  });
  it('never returns NaN, whatever it is given', () => {
    for (const [a, b] of [
      [NaN, NaN],
      [0, Infinity],
      [5, 1],
    ] as const) {
      const t = niceTicks(a, b);
      for (const v of [t.min, t.max, t.step, ...t.ticks]) expect(Number.isFinite(v)).toBe(true);
      expect(t.ticks.length).toBeGreaterThan(1);
    }
  });
});

describe('linearScale', () => {
  it('maps the domain to the range, inverted axes too', () => {
    const y = linearScale(0, 100, 300, 50);
    expect([y(0), y(50), y(100)]).toEqual([300, 175, 50]);
  });
  it('maps a zero-width domain to the range start instead of NaN', () => {
    expect(linearScale(5, 5, 10, 20)(5)).toBe(10);
  });
});

describe('timeTicks', () => {
  it('three days: one tick every 12 hours, midnights labelled with the date', () => {
    const t = timeTicks(T0, T0 + 3 * D, 8);
    expect(t.step).toBe(12 * H);
    expect(t.ticks.map((x) => x.label)).toEqual(['Jan 5', '12:00', 'Jan 6', '12:00', 'Jan 7', '12:00', 'Jan 8']);
  });
  it('a day in hours, a week in days, a quarter in weeks; ticks inside the range, on UTC boundaries', () => {
    const day = timeTicks(T0 + 30 * 60_000, T0 + D, 8);
    expect(day.step).toBe(6 * H);
    expect(day.ticks[0]!.time).toBeGreaterThanOrEqual(T0 + 30 * 60_000);
    for (const x of day.ticks) expect(x.time % day.step).toBe(0);
    expect(timeTicks(T0, T0 + 7 * D, 8).step).toBe(D);
    const q = timeTicks(T0, T0 + 90 * D, 8);
    expect(q.step).toBe(14 * D);
    expect(q.ticks.length).toBeLessThanOrEqual(8);
  });
  it('an empty or reversed range has no ticks', () => {
    expect(timeTicks(T0, T0).ticks).toEqual([]);
    expect(timeTicks(T0, T0 - H).ticks).toEqual([]);
    expect(timeTicks(NaN, T0).ticks).toEqual([]);
  });
});

describe('axis labels', () => {
  it('bytes in the CLI units without trailing zeros', () => {
    expect([0, 200, 1500, 2e8, 1.5e9, 2.25e12].map(axisBytes)).toEqual(['0 B', '200 B', '1.5 kB', '200 MB', '1.5 GB', '2.25 TB']);
  });
  it('shares as percentages', () => {
    expect([0, 0.125, 0.25, 1].map(axisShare)).toEqual(['0 %', '12.5 %', '25 %', '100 %']);
  });
});
