/**
 * Flow collectors: UDP listeners (several addresses, both families) → FlowDecoder → records.
 *
 * - One FlowDecoder is shared by all listeners: template state is keyed by the exporter address
 *   (and observation domain), whichever port the exporter sends to.
 * - Dispatch by the datagram's version: NetFlow v5/v9 and IPFIX go to the FlowDecoder; sFlow v5
 *   (a 32-bit version 5: bytes 00 00 00 05) goes to the sFlow hook — see SFLOW DISPATCH POINT.
 * - Template state persists across restarts: `saveState()` writes DATA/templates.json (the
 *   decoder's snapshot), `loadState()` restores it.
 * - Health (`health()`): the decoder's per-exporter stats plus what the collector adds (sFlow and
 *   unexpected-protocol datagrams, last seen) and, per socket, the kernel's receive-buffer size and
 *   drops from /proc/net/udp{,6}. Written to DATA/exporters.json by `saveState()`.
 */
import type dgram from 'node:dgram';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CollectorConfig, CollectorProtocol } from '../config/index.js';
import { formatIP, parseIP } from '../net/ip.js';
import type { FlowRecord } from '../schema/fields.js';
import { FLOW_ERROR_KINDS, FlowDecoder, type ExporterStats, type FlowSnapshot } from '../sources/flow/index.js';
import { SflowDecoder, type SflowAgentStats } from '../sources/sflow/index.js';
import type { CollectorWorkerStats } from './worker-collector.js';
import { bindListeners, closeListeners, readSocketStats, type UdpListener } from './udp.js';

export const TEMPLATES_FILE = 'templates.json';
export const EXPORTERS_FILE = 'exporters.json';

/** What a datagram looks like from its first bytes. */
export type DatagramKind = 'netflow5' | 'netflow9' | 'ipfix' | 'sflow' | 'unknown';

export function datagramKind(b: Uint8Array): DatagramKind {
  if (b.length < 4) return 'unknown';
  const v = (b[0]! << 8) | b[1]!;
  if (v === 5) return 'netflow5';
  if (v === 9) return 'netflow9';
  if (v === 10) return 'ipfix';
  if (v === 0 && b[2] === 0 && b[3] === 5) return 'sflow';
  return 'unknown';
}

/** Which datagram kinds a collector configured for `protocol` accepts. */
function accepts(protocol: CollectorProtocol, k: DatagramKind): boolean {
  switch (protocol) {
    case 'auto':
      return true;
    case 'netflow':
      return k === 'netflow5' || k === 'netflow9' || k === 'unknown';
    case 'ipfix':
      return k === 'ipfix' || k === 'unknown';
    case 'sflow':
      return k === 'sflow' || k === 'unknown';
  }
}

/** Per-exporter counters the collector keeps beside the decoder's. */
interface ExporterExtra {
  /** sFlow v5 datagrams received (not decoded until the sFlow decoder lands). */
  sflowDatagrams: number;
  /** Datagrams of a protocol the receiving collector is not configured for (dropped). */
  unexpectedProtocol: number;
  lastSeen: number;
  /** Listener (address as configured) → datagrams. */
  listeners: Record<string, number>;
}

export interface ExporterHealth extends ExporterStats {
  sflowDatagrams: number;
  /** Datagrams not decoded: unexpected protocols (the listener is configured for another one). */
  unsupportedDatagrams: number;
  unexpectedProtocol: number;
  lastSeen: string | null;
  listeners: Record<string, number>;
  /** Template count over all domains. */
  templatesKnown: number;
  /** Exporter-side loss from sequence numbers, summed over domains (units: see domains[].sequence.unit). */
  sequenceMissing: number;
}

export interface ListenerHealth {
  listen: string;
  protocol: CollectorProtocol;
  family: 4 | 6;
  port: number;
  /** SO_RCVBUF granted by the kernel, bytes. */
  receiveBuffer: number;
  /** Datagrams the kernel dropped on this socket (receive buffer overflows) since it opened. */
  socketDrops: number;
  /** Bytes waiting in the socket's receive queue when the health was taken. */
  rxQueue: number;
  datagrams: number;
}

export interface CollectorHealth {
  updated: string;
  startedAt: string;
  listeners: ListenerHealth[];
  exporters: ExporterHealth[];
  totals: { datagrams: number; records: number; decodeErrors: number; socketDrops: number; unsupportedDatagrams: number };
  /** Filled in by the caller (the store writer's counters), when there is one. */
  writer?: unknown;
  /** When the collectors run in a worker thread (serve's default): restarts and hand-off counters. */
  worker?: CollectorWorkerStats;
  /** Templates restored from DATA/templates.json at start. */
  templatesRestored: number;
  /** sFlow agents: datagrams, samples, errors by kind, sequence and sample loss. */
  sflow: { totals: { datagrams: number; records: number; errors: number }; agents: SflowAgentStats[] };
}

/**
 * SFLOW DISPATCH POINT — sFlow v5 datagrams are decoded by the collector's SflowDecoder
 * (src/sources/sflow/) unless the caller passes its own function; `sflowDatagrams` counts them per
 * exporter.
 */
export type SflowDecodeFn = (datagram: Uint8Array, exporter: { addr: Uint8Array; port: number }, receivedAtMs: number) => FlowRecord[];

export interface CollectorSetOptions {
  collectors: readonly CollectorConfig[];
  /** Receives each datagram's records (not called for datagrams without records). */
  onRecords: (records: FlowRecord[]) => void;
  /** Data directory for templates.json / exporters.json (null: no persistence). */
  dataDir: string | null;
  sflow?: SflowDecodeFn;
  /**
   * `onRecords` copies the records before it returns (serve's collector thread): the v9/IPFIX
   * decoder may then reuse them (FlowDecoderOptions.transientRecords).
   */
  transientRecords?: boolean;
}

export class CollectorSet {
  readonly decoder: FlowDecoder;
  /** sFlow v5 datagrams go here unless the caller gives its own `sflow` function. */
  readonly sflowDecoder = new SflowDecoder();
  private listeners: UdpListener[] = [];
  private readonly listenerCfg = new Map<UdpListener, CollectorConfig>();
  private readonly listenerCounts = new Map<UdpListener, number>();
  private readonly extras = new Map<string, ExporterExtra>();
  private readonly addrCache = new Map<string, Uint8Array>();
  private readonly startedAt = Date.now();
  private lastSocketStats = new Map<string, { rxQueue: number; drops: number }>();
  templatesRestored = 0;
  /** Set by the caller to add the store writer's counters to the health file. */
  writerStats: (() => unknown) | null = null;

  constructor(private readonly opts: CollectorSetOptions) {
    this.decoder = new FlowDecoder({ transientRecords: opts.transientRecords ?? false });
  }

  /** Restore templates from DATA/templates.json (a damaged file is reported and ignored). */
  loadState(): number {
    if (!this.opts.dataDir) return 0;
    const f = path.join(this.opts.dataDir, TEMPLATES_FILE);
    if (!existsSync(f)) return 0;
    try {
      const snap = JSON.parse(readFileSync(f, 'utf8')) as FlowSnapshot;
      this.templatesRestored = this.decoder.restore(snap);
    } catch (e) {
      process.stderr.write(`v6scope: ignoring ${f}: ${(e as Error).message}\n`);
    }
    return this.templatesRestored;
  }

  async start(): Promise<UdpListener[]> {
    try {
      for (const c of this.opts.collectors) {
        const ls = await bindListeners(c.listen, c.receive_buffer, (m, r, l) => this.onDatagram(m, r, l));
        for (const l of ls) {
          this.listeners.push(l);
          this.listenerCfg.set(l, c);
          this.listenerCounts.set(l, 0);
        }
      }
    } catch (e) {
      await closeListeners(this.listeners);
      this.listeners = [];
      throw e;
    }
    return this.listeners;
  }

  get boundListeners(): readonly UdpListener[] {
    return this.listeners;
  }

  private exporterAddr(address: string): Uint8Array {
    let a = this.addrCache.get(address);
    if (!a) {
      a = parseIP(address.replace(/%.*$/, '')).addr;
      if (this.addrCache.size > 100_000) this.addrCache.clear();
      this.addrCache.set(address, a);
    }
    return a;
  }

  private extra(address: string): ExporterExtra {
    let x = this.extras.get(address);
    if (!x) {
      x = { sflowDatagrams: 0, unexpectedProtocol: 0, lastSeen: 0, listeners: {} };
      if (this.extras.size < 100_000) this.extras.set(address, x);
    }
    return x;
  }

  /** One datagram from a socket (public for tests and replays). */
  onDatagram(msg: Uint8Array, rinfo: Pick<dgram.RemoteInfo, 'address' | 'port'>, listener: UdpListener | null): void {
    const now = Date.now();
    const cfg = listener ? this.listenerCfg.get(listener) : undefined;
    if (listener) this.listenerCounts.set(listener, (this.listenerCounts.get(listener) ?? 0) + 1);
    const x = this.extra(rinfo.address);
    x.lastSeen = now;
    if (listener) x.listeners[listener.address.text] = (x.listeners[listener.address.text] ?? 0) + 1;
    const kind = datagramKind(msg);
    if (cfg && !accepts(cfg.protocol, kind)) {
      x.unexpectedProtocol++;
      return;
    }
    const exporter = { addr: this.exporterAddr(rinfo.address), port: rinfo.port };
    let recs: FlowRecord[];
    if (kind === 'sflow') {
      // SFLOW DISPATCH POINT: sFlow v5 goes to the sFlow decoder (its stats are per agent).
      x.sflowDatagrams++;
      recs = this.opts.sflow ? this.opts.sflow(msg, exporter, now) : this.sflowDecoder.decode(msg, exporter, now);
    } else {
      recs = this.decoder.decode(msg, exporter, now);
    }
    if (recs.length === 0) return;
    if (cfg && cfg.name) for (const r of recs) r.exporter_name = cfg.name;
    this.opts.onRecords(recs);
  }

  health(): CollectorHealth {
    const kernel = readSocketStats();
    const listeners: ListenerHealth[] = this.listeners.map((l) => {
      const k = kernel.get(`${l.address.family}/${l.port}`) ?? this.lastSocketStats.get(`${l.address.family}/${l.port}`);
      return {
        listen: l.address.text,
        protocol: this.listenerCfg.get(l)!.protocol,
        family: l.address.family,
        port: l.port,
        receiveBuffer: l.receiveBuffer,
        socketDrops: k?.drops ?? 0,
        rxQueue: k?.rxQueue ?? 0,
        datagrams: this.listenerCounts.get(l) ?? 0,
      };
    });
    for (const l of listeners) this.lastSocketStats.set(`${l.family}/${l.port}`, { rxQueue: l.rxQueue, drops: l.socketDrops });
    const decoded = new Map(this.decoder.stats().map((e) => [e.exporter, e]));
    const exporters: ExporterHealth[] = [];
    const keys = new Set<string>([...decoded.keys()]);
    const extraByName = new Map<string, ExporterExtra>();
    for (const [addr, x] of this.extras) {
      const name = canonical(addr);
      extraByName.set(name, x);
      keys.add(name);
    }
    for (const k of [...keys].sort()) {
      const e = decoded.get(k) ?? emptyExporterStats(k);
      const x = extraByName.get(k) ?? { sflowDatagrams: 0, unexpectedProtocol: 0, lastSeen: 0, listeners: {} };
      const templatesKnown = e.domains.reduce((a, d) => a + d.templates.length, 0);
      const sequenceMissing = e.domains.reduce((a, d) => a + d.sequence.missing, 0);
      exporters.push({
        ...e,
        datagrams: e.datagrams + x.sflowDatagrams + x.unexpectedProtocol,
        sflowDatagrams: x.sflowDatagrams,
        unsupportedDatagrams: x.unexpectedProtocol,
        unexpectedProtocol: x.unexpectedProtocol,
        lastSeen: x.lastSeen ? new Date(x.lastSeen).toISOString() : null,
        listeners: x.listeners,
        templatesKnown,
        sequenceMissing,
      });
    }
    const totals = { datagrams: 0, records: 0, decodeErrors: 0, socketDrops: 0, unsupportedDatagrams: 0 };
    for (const e of exporters) {
      totals.datagrams += e.datagrams;
      totals.records += e.records;
      totals.decodeErrors += Object.values(e.errors).reduce((a, b) => a + b, 0);
      totals.unsupportedDatagrams += e.unsupportedDatagrams;
    }
    for (const l of listeners) totals.socketDrops += l.socketDrops;
    const h: CollectorHealth = {
      updated: new Date().toISOString(),
      startedAt: new Date(this.startedAt).toISOString(),
      listeners,
      exporters,
      totals,
      templatesRestored: this.templatesRestored,
      sflow: { totals: this.sflowDecoder.totals(), agents: this.sflowDecoder.stats() },
    };
    if (this.writerStats) h.writer = this.writerStats();
    return h;
  }

  /** Write DATA/templates.json and DATA/exporters.json (atomically: temp file + rename). */
  saveState(): void {
    if (this.opts.dataDir) writeCollectorState(this.opts.dataDir, this.decoder.snapshot(), this.health());
  }

  async stop(): Promise<void> {
    // Kernel counters are read before the sockets go away, so the last health file has them.
    this.health();
    await closeListeners(this.listeners);
  }
}

function canonical(address: string): string {
  // The decoder names exporters by formatIP of their 16 bytes: IPv4 dotted, IPv6 RFC 5952.
  const p = parseIP(address.replace(/%.*$/, ''));
  const a = p.addr;
  let mapped = a[10] === 0xff && a[11] === 0xff;
  for (let i = 0; i < 10; i++) if (a[i] !== 0) mapped = false;
  return formatIP(a, mapped ? 4 : 6);
}

function emptyExporterStats(exporter: string): ExporterStats {
  return {
    exporter,
    port: 0,
    datagrams: 0,
    datagramsRejected: 0,
    datagramsWithErrors: 0,
    byVersion: { '5': 0, '9': 0, '10': 0 },
    records: 0,
    optionsRecords: 0,
    templateRecords: 0,
    templateWithdrawals: 0,
    pendingDecoded: 0,
    errors: Object.fromEntries(FLOW_ERROR_KINDS.map((k) => [k, 0])) as ExporterStats['errors'],
    samplingRates: [],
    domains: [],
  };
}

/** DATA/templates.json (when there is a snapshot) and DATA/exporters.json, each atomically. */
export function writeCollectorState(dir: string, templates: unknown, health: CollectorHealth): void {
  mkdirSync(dir, { recursive: true });
  if (templates !== undefined && templates !== null) writeAtomic(path.join(dir, TEMPLATES_FILE), JSON.stringify(templates));
  writeAtomic(path.join(dir, EXPORTERS_FILE), `${JSON.stringify(health, null, 2)}\n`);
}

export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
