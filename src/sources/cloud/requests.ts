/**
 * Request-level aggregates for the AWS report (ALB, NLB, CloudFront): per kind and family the
 * request count, status classes, latency and size distributions. Constant memory: latencies and
 * sizes go into log-scale histograms (LOG_STEPS buckets per decade, so a percentile is exact to
 * about ±2.3 %), and the whole aggregate serialises to JSON so re-runs add to it.
 *
 * Proposed schema fields (not in src/schema yet): a fact table `http_requests` with time, kind,
 * lb, client_addr, client_family, status (u16), latency_us (u32), request_bytes, response_bytes —
 * that would let the stores answer these percentiles per time range and per load balancer.
 */
import type { AccessKind, AccessRequest } from './alb.js';

const LOG_STEPS = 50;
/** Smallest value resolved by a histogram (values below fall in bucket 0). */
const MIN_VALUE = 1e-3;

/** A log-scale histogram of non-negative values. */
export class LogHistogram {
  counts: Record<number, number> = {};
  n = 0;
  sum = 0;

  add(v: number, times = 1): void {
    const b = v <= MIN_VALUE ? 0 : Math.max(1, Math.floor(Math.log10(v / MIN_VALUE) * LOG_STEPS) + 1);
    this.counts[b] = (this.counts[b] ?? 0) + times;
    this.n += times;
    this.sum += v * times;
  }

  /** The q-quantile (0..1) as the geometric middle of its bucket, or null when empty. */
  quantile(q: number): number | null {
    if (this.n === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.n));
    const keys = Object.keys(this.counts)
      .map(Number)
      .sort((a, b) => a - b);
    let seen = 0;
    for (const k of keys) {
      seen += this.counts[k]!;
      if (seen >= rank) {
        if (k === 0) return 0;
        const lo = MIN_VALUE * 10 ** ((k - 1) / LOG_STEPS);
        const hi = MIN_VALUE * 10 ** (k / LOG_STEPS);
        return Math.sqrt(lo * hi);
      }
    }
    return null;
  }

  mean(): number | null {
    return this.n ? this.sum / this.n : null;
  }

  merge(o: LogHistogram): void {
    for (const [k, c] of Object.entries(o.counts)) this.counts[Number(k)] = (this.counts[Number(k)] ?? 0) + c;
    this.n += o.n;
    this.sum += o.sum;
  }

  toJSON(): { counts: Record<number, number>; n: number; sum: number } {
    return { counts: this.counts, n: this.n, sum: this.sum };
  }

  static from(j: { counts: Record<number, number>; n: number; sum: number } | undefined): LogHistogram {
    const h = new LogHistogram();
    if (j) {
      h.counts = { ...j.counts };
      h.n = j.n;
      h.sum = j.sum;
    }
    return h;
  }
}

export interface RequestCell {
  requests: number;
  /** Status classes: 1xx..5xx, and 0 for no status (NLB, not answered). */
  status: { '0': number; '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  receivedBytes: number;
  sentBytes: number;
  latencyMs: LogHistogram;
  requestBytes: LogHistogram;
  responseBytes: LogHistogram;
}

function emptyCell(): RequestCell {
  return {
    requests: 0,
    status: { '0': 0, '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    receivedBytes: 0,
    sentBytes: 0,
    latencyMs: new LogHistogram(),
    requestBytes: new LogHistogram(),
    responseBytes: new LogHistogram(),
  };
}

/** Cells keyed `${kind}|${family}`. */
export class RequestAggregate {
  readonly cells = new Map<string, RequestCell>();

  cell(kind: AccessKind, family: 4 | 6): RequestCell {
    const k = `${kind}|${family}`;
    let c = this.cells.get(k);
    if (!c) this.cells.set(k, (c = emptyCell()));
    return c;
  }

  add(r: AccessRequest): void {
    const c = this.cell(r.kind, r.family);
    c.requests++;
    const cls = r.status >= 100 && r.status < 600 ? (`${Math.floor(r.status / 100)}xx` as '2xx') : '0';
    c.status[cls]++;
    c.receivedBytes += r.receivedBytes;
    c.sentBytes += r.sentBytes;
    if (r.latencyMs !== null) c.latencyMs.add(r.latencyMs);
    c.requestBytes.add(r.receivedBytes);
    c.responseBytes.add(r.sentBytes);
  }

  merge(o: RequestAggregate): void {
    for (const [k, oc] of o.cells) {
      let c = this.cells.get(k);
      if (!c) this.cells.set(k, (c = emptyCell()));
      c.requests += oc.requests;
      for (const s of Object.keys(c.status) as (keyof RequestCell['status'])[]) c.status[s] += oc.status[s];
      c.receivedBytes += oc.receivedBytes;
      c.sentBytes += oc.sentBytes;
      c.latencyMs.merge(oc.latencyMs);
      c.requestBytes.merge(oc.requestBytes);
      c.responseBytes.merge(oc.responseBytes);
    }
  }

  toJSON(): Record<string, unknown> {
    return Object.fromEntries([...this.cells].map(([k, c]) => [k, { ...c, latencyMs: c.latencyMs.toJSON(), requestBytes: c.requestBytes.toJSON(), responseBytes: c.responseBytes.toJSON() }]));
  }

  static from(j: Record<string, any> | undefined): RequestAggregate {
    const a = new RequestAggregate();
    for (const [k, c] of Object.entries(j ?? {})) {
      a.cells.set(k, {
        requests: c.requests,
        status: { ...emptyCell().status, ...c.status },
        receivedBytes: c.receivedBytes,
        sentBytes: c.sentBytes,
        latencyMs: LogHistogram.from(c.latencyMs),
        requestBytes: LogHistogram.from(c.requestBytes),
        responseBytes: LogHistogram.from(c.responseBytes),
      });
    }
    return a;
  }
}
