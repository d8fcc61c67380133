/** Number formats for reports: the CLI's formatters, plus compact forms for axis ticks. */
import { fmtBytes, fmtCount, fmtShare } from '../cli/common.js';

export { fmtBytes, fmtCount, fmtShare };

/** Axis label for bytes: the CLI's units without trailing zeros ("200 MB", "1.5 GB", "0 B"). */
export function axisBytes(n: number): string {
  return fmtBytes(n).replace(/\.(\d*?)0+ /, (_m, d: string) => (d ? `.${d} ` : ' '));
}

/** Axis label for a share: "40 %", "12.5 %". */
export function axisShare(s: number): string {
  return `${Number((s * 100).toPrecision(10))} %`;
}

/** Metric values as people read them: bytes with units, packets and flows as counts. */
export function fmtMetric(metric: 'bytes' | 'packets' | 'flows', n: number): string {
  return metric === 'bytes' ? fmtBytes(n) : fmtCount(n);
}
