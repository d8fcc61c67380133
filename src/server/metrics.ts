/**
 * Prometheus /metrics in the text exposition format (version 0.0.4), written by hand.
 *
 * Sources: the collectors' health and the store writer's counters — live from `v6scope serve`
 * (serveMetricsSource), or from DATA/exporters.json when the API runs on its own
 * (fileMetricsSource, which `serve` rewrites every state.save_interval) — and the store itself for
 * the IPv6 share per exporter over the last `shareWindowMs` of stored data.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EXPORTERS_FILE, type CollectorHealth } from '../collect/collector.js';
import type { ServeHandle } from '../collect/serve.js';
import type { StoreWriterStats } from '../collect/writer.js';
import { formatIP, isIPv4Mapped } from '../net/ip.js';
import { METRICS, SOURCE_KINDS, type SourceKind } from '../schema/fields.js';
import type { FlowStore } from '../store/store.js';

export interface MetricsSource {
  /** Collector health, or null when there is none (no collectors, no exporters.json yet). */
  health(): CollectorHealth | null;
  /** The store writer's counters, or null. */
  writer(): Partial<StoreWriterStats> | null;
  /** Where the numbers come from: "live" or the file name. */
  readonly origin: string;
}

/** Health and writer counters from DATA/exporters.json (re-read when the file changes). */
export function fileMetricsSource(dataDir: string): MetricsSource {
  const file = path.join(dataDir, EXPORTERS_FILE);
  let cached: { mtime: number; size: number; health: CollectorHealth | null } | null = null;
  const read = (): CollectorHealth | null => {
    if (!existsSync(file)) return null;
    const st = statSync(file);
    if (cached && cached.mtime === st.mtimeMs && cached.size === st.size) return cached.health;
    let health: CollectorHealth | null;
    try {
      health = JSON.parse(readFileSync(file, 'utf8')) as CollectorHealth;
    } catch {
      health = null; // being rewritten (writes are atomic, so only a damaged file ends here)
    }
    cached = { mtime: st.mtimeMs, size: st.size, health };
    return health;
  };
  return {
    origin: file,
    health: read,
    writer: () => (read()?.writer as Partial<StoreWriterStats> | undefined) ?? null,
  };
}

/** Live counters of a running `serve`. */
export function serveMetricsSource(h: Pick<ServeHandle, 'collectors' | 'writer'>): MetricsSource {
  return {
    origin: 'live',
    health: () => h.collectors?.health() ?? null,
    writer: () => h.writer.stats(),
  };
}

// ---------------------------------------------------------------------------------------------
// Exposition

type Labels = Record<string, string>;

/** Escape a label value: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds one exposition: families in order of first use, each with HELP, TYPE and samples. */
export class Exposition {
  private readonly families = new Map<string, { type: string; help: string; lines: string[] }>();

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    if (!this.families.has(name)) this.families.set(name, { type, help, lines: [] });
  }

  sample(family: string, value: number, labels: Labels = {}, suffix = ''): void {
    const f = this.families.get(family);
    if (!f) throw new Error(`metric family ${family} not declared`);
    const ls = Object.entries(labels);
    const l = ls.length ? `{${ls.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
    f.lines.push(`${family}${suffix}${l} ${fmtValue(value)}`);
  }

  text(): string {
    const out: string[] = [];
    for (const [name, f] of this.families) {
      out.push(`# HELP ${name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${f.type}`, ...f.lines);
    }
    return `${out.join('\n')}\n`;
  }
}

/** A fixed-bucket latency histogram (seconds). */
export class Histogram {
  static readonly BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  readonly counts = new Array<number>(Histogram.BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < Histogram.BUCKETS.length; i++) if (seconds <= Histogram.BUCKETS[i]!) this.counts[i]!++;
  }
  write(x: Exposition, family: string, labels: Labels = {}): void {
    Histogram.BUCKETS.forEach((b, i) => x.sample(family, this.counts[i]!, { ...labels, le: String(b) }, '_bucket'));
    x.sample(family, this.count, { ...labels, le: '+Inf' }, '_bucket');
    x.sample(family, this.sum, labels, '_sum');
    x.sample(family, this.count, labels, '_count');
  }
}

/** Request counters the HTTP server keeps. */
export interface ApiStats {
  requests: Map<string, number>; // "endpoint code" → count
  latency: Histogram;
}

export interface ShareGaugeRow {
  exporter: string;
  name: string;
  sourceKind: string;
  ipv4: Record<(typeof METRICS)[number], number>;
  ipv6: Record<(typeof METRICS)[number], number>;
}

/** Traffic per exporter and family over the last `windowMs` of stored data. */
export async function shareByExporter(store: FlowStore, windowMs: number, now: number): Promise<{ since: number; until: number; rows: ShareGaugeRow[] } | null> {
  const r = await store.timeRange();
  if (!r) return null;
  const until = Math.min(now, r.max) + 1;
  const since = Math.max(0, until - windowMs);
  const res = await store.query({ since, until, groupBy: [{ field: 'exporter_addr' }, { field: 'exporter_name' }, { field: 'source_kind' }, { field: 'family' }] });
  const by = new Map<string, ShareGaugeRow>();
  for (const row of res.rows) {
    const addr = row.exporter_addr as Uint8Array;
    const exporter = formatIP(addr, isIPv4Mapped(addr) ? 4 : 6);
    const key = `${exporter}\u0000${String(row.exporter_name)}\u0000${String(row.source_kind)}`;
    let g = by.get(key);
    if (!g) by.set(key, (g = { exporter, name: String(row.exporter_name), sourceKind: String(row.source_kind), ipv4: { bytes: 0, packets: 0, flows: 0 }, ipv6: { bytes: 0, packets: 0, flows: 0 } }));
    const fam = Number(row.family) === 6 ? g.ipv6 : g.ipv4;
    for (const m of METRICS) fam[m] += Number(row[m]);
  }
  return { since, until, rows: [...by.values()] };
}

export interface RenderInput {
  source: MetricsSource;
  share: Awaited<ReturnType<typeof shareByExporter>>;
  api?: ApiStats;
  windowMs: number;
}

/** The whole exposition. */
export function renderMetrics(inp: RenderInput): string {
  const x = new Exposition();
  const h = inp.source.health();
  const w = inp.source.writer();

  x.family('v6scope_health_available', 'gauge', 'Whether collector health is available (1) or not (0: no collectors, or no DATA/exporters.json yet).');
  x.sample('v6scope_health_available', h ? 1 : 0, { origin: inp.source.origin === 'live' ? 'live' : 'file' });
  if (h) {
    const updated = Date.parse(h.updated);
    x.family('v6scope_health_updated_timestamp_seconds', 'gauge', 'When the collector health was taken (Unix time).');
    x.sample('v6scope_health_updated_timestamp_seconds', Number.isFinite(updated) ? updated / 1000 : NaN);

    const ex = [
      ['v6scope_exporter_datagrams_total', 'counter', 'Datagrams received from the exporter.'],
      ['v6scope_exporter_records_total', 'counter', 'Flow records decoded from the exporter (ingest).'],
      ['v6scope_exporter_datagrams_rejected_total', 'counter', 'Datagrams dropped as a whole (header unreadable, unknown version).'],
      ['v6scope_exporter_decode_errors_total', 'counter', 'Decode errors by kind.'],
      ['v6scope_exporter_unsupported_datagrams_total', 'counter', 'Datagrams not decoded (protocol the listener is not configured for).'],
      ['v6scope_exporter_sequence_missing_total', 'counter', 'Exporter-side loss from sequence numbers (records for NetFlow v5/IPFIX, packets for v9).'],
      ['v6scope_exporter_templates', 'gauge', 'Templates known for the exporter.'],
      ['v6scope_exporter_last_seen_timestamp_seconds', 'gauge', 'Last datagram from the exporter (Unix time).'],
    ] as const;
    for (const [n, t, help] of ex) x.family(n, t, help);
    for (const e of h.exporters) {
      const l = { exporter: e.exporter };
      x.sample('v6scope_exporter_datagrams_total', e.datagrams, l);
      x.sample('v6scope_exporter_records_total', e.records, l);
      x.sample('v6scope_exporter_datagrams_rejected_total', e.datagramsRejected ?? 0, l);
      for (const [kind, n] of Object.entries(e.errors ?? {})) x.sample('v6scope_exporter_decode_errors_total', n, { ...l, kind });
      x.sample('v6scope_exporter_unsupported_datagrams_total', e.unsupportedDatagrams ?? 0, l);
      x.sample('v6scope_exporter_sequence_missing_total', e.sequenceMissing ?? 0, l);
      x.sample('v6scope_exporter_templates', e.templatesKnown ?? 0, l);
      const seen = e.lastSeen ? Date.parse(e.lastSeen) : NaN;
      if (Number.isFinite(seen)) x.sample('v6scope_exporter_last_seen_timestamp_seconds', seen / 1000, l);
    }
    const li = [
      ['v6scope_listener_datagrams_total', 'counter', 'Datagrams received on the listener.'],
      ['v6scope_listener_socket_drops_total', 'counter', 'Datagrams the kernel dropped on the socket (receive buffer full).'],
      ['v6scope_listener_receive_buffer_bytes', 'gauge', 'SO_RCVBUF granted by the kernel.'],
      ['v6scope_listener_rx_queue_bytes', 'gauge', 'Bytes waiting in the socket receive queue.'],
    ] as const;
    for (const [n, t, help] of li) x.family(n, t, help);
    for (const s of h.listeners) {
      const l = { listen: s.listen.replace(/:0$/, `:${s.port}`), protocol: s.protocol };
      x.sample('v6scope_listener_datagrams_total', s.datagrams, l);
      x.sample('v6scope_listener_socket_drops_total', s.socketDrops, l);
      x.sample('v6scope_listener_receive_buffer_bytes', s.receiveBuffer, l);
      x.sample('v6scope_listener_rx_queue_bytes', s.rxQueue, l);
    }
    if (h.sflow) {
      x.family('v6scope_sflow_agent_datagrams_total', 'counter', 'sFlow datagrams per agent.');
      x.family('v6scope_sflow_agent_records_total', 'counter', 'Flow records decoded from sFlow samples per agent.');
      for (const a of h.sflow.agents ?? []) {
        const rec = a as unknown as { agent?: string; datagrams?: number; records?: number };
        const l = { agent: String(rec.agent ?? '') };
        x.sample('v6scope_sflow_agent_datagrams_total', Number(rec.datagrams ?? 0), l);
        x.sample('v6scope_sflow_agent_records_total', Number(rec.records ?? 0), l);
      }
    }
  }
  if (w) {
    const st = [
      ['v6scope_store_flows_received_total', 'counter', 'Flows handed to the store writer.', w.received],
      ['v6scope_store_flows_stored_total', 'counter', 'Flows written to the store.', w.stored],
      ['v6scope_store_batches_stored_total', 'counter', 'Batches written to the store.', w.batchesStored],
      ['v6scope_store_flows_dropped_total', 'counter', 'Flows dropped because the write queue was full (overload).', w.droppedFlows],
      ['v6scope_store_batches_dropped_total', 'counter', 'Batches dropped because the write queue was full (overload).', w.droppedBatches],
      ['v6scope_store_flows_failed_total', 'counter', 'Flows lost to failed store appends.', w.failedFlows],
      ['v6scope_store_write_seconds_total', 'counter', 'Time spent in store appends (divide by batches stored for the mean write latency).', (w.appendMs ?? 0) / 1000],
      ['v6scope_store_write_slowest_seconds', 'gauge', 'Slowest store append so far.', (w.slowestAppendMs ?? 0) / 1000],
      ['v6scope_store_write_queue_depth', 'gauge', 'Sealed batches waiting for the store.', w.pending],
      ['v6scope_store_write_queue_depth_max', 'gauge', 'Most batches that ever waited for the store.', w.maxPendingSeen],
      ['v6scope_store_write_queue_flows', 'gauge', 'Flows in the batches waiting for the store.', w.pendingFlows],
      ['v6scope_store_write_queue_bytes', 'gauge', 'Memory the waiting batches are counted as (bounded by batch.max_pending_memory).', w.pendingBytes],
      ['v6scope_store_batch_filling_flows', 'gauge', 'Flows in the batch being filled.', w.filling],
    ] as const;
    for (const [n, t, help, v] of st) {
      if (v === undefined) continue;
      x.family(n, t, help);
      x.sample(n, Number(v));
    }
  }
  x.family('v6scope_ipv6_share', 'gauge', 'IPv6 share (IPv6 / (IPv4 + IPv6)) per exporter and metric over the share window of stored data (absent for sources that cannot see IPv6 and for no traffic).');
  x.family('v6scope_window_traffic', 'gauge', 'Traffic per exporter, family and metric over the share window of stored data.');
  x.family('v6scope_share_window_seconds', 'gauge', 'Length of the share window; it ends at the latest stored flow (or now).');
  x.sample('v6scope_share_window_seconds', inp.windowMs / 1000);
  if (inp.share) {
    x.family('v6scope_share_window_end_timestamp_seconds', 'gauge', 'End of the share window (Unix time).');
    x.sample('v6scope_share_window_end_timestamp_seconds', inp.share.until / 1000);
    for (const r of inp.share.rows) {
      const l = { exporter: r.exporter, name: r.name, source_kind: r.sourceKind };
      const measurable = SOURCE_KINDS[r.sourceKind as SourceKind]?.canSeeIPv6 !== false;
      for (const m of METRICS) {
        x.sample('v6scope_window_traffic', r.ipv4[m], { ...l, family: '4', metric: m });
        x.sample('v6scope_window_traffic', r.ipv6[m], { ...l, family: '6', metric: m });
        const all = r.ipv4[m] + r.ipv6[m];
        if (measurable && all > 0) x.sample('v6scope_ipv6_share', r.ipv6[m] / all, { ...l, metric: m });
      }
    }
  }
  if (inp.api) {
    x.family('v6scope_api_requests_total', 'counter', 'API requests by endpoint and status code.');
    for (const [k, n] of [...inp.api.requests].sort()) {
      const [endpoint, code] = k.split(' ');
      x.sample('v6scope_api_requests_total', n, { endpoint: endpoint!, code: code! });
    }
    x.family('v6scope_api_request_duration_seconds', 'histogram', 'API request latency.');
    inp.api.latency.write(x, 'v6scope_api_request_duration_seconds');
  }
  return x.text();
}
