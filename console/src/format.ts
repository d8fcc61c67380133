/** Numbers as the CLI prints them (src/cli/common.ts): shares with one decimal, bytes with units. */
export function fmtShare(s: number | null | undefined): string {
  return s === null || s === undefined ? '–' : `${(s * 100).toFixed(1)} %`;
}

export function fmtBytes(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TB`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

export function fmtCount(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** A metric's amount: bytes with units, packets and flows as counts. */
export function fmtMetric(metric: 'bytes' | 'packets' | 'flows', n: number): string {
  return metric === 'bytes' ? fmtBytes(n) : fmtCount(n);
}

/** UTC time, minutes: "2026-01-05 12:00Z". */
export function fmtTime(t: number | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '–';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return String(t);
  return new Date(ms).toISOString().replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, 'Z');
}

/** "IPv6 65.9 % → 82.2 %" */
export function fmtUplift(before: number | null, after: number | null): string {
  return `IPv6 ${fmtShare(before)} → ${fmtShare(after)}`;
}
