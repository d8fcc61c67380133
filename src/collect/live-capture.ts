/**
 * Live capture: `tcpdump -U --immediate-mode -w - -i IF [FILTER]` piped into captureToFlows (the
 * foundation's flow meter, with a wall-clock tick so flows expire while the network is quiet).
 * Flows go to a StoreWriter; DNS answers seen on the wire go to the store's dns_answers facts.
 * `stop()` ends tcpdump; the meter then flushes every open flow and the promise resolves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dnsSightingRows } from '../pipeline/dns-facts.js';
import { DNS_ANSWERS, type FactRow } from '../schema/facts.js';
import { captureToFlows, type CaptureStats } from '../sources/packets/index.js';
import type { FactStore } from '../store/store.js';
import type { StoreWriter } from './writer.js';

export interface LiveCaptureOptions {
  interface: string;
  bpf?: string;
  writer: StoreWriter;
  facts?: FactStore;
  activeTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** Flush partial batches to the writer after this long (default 1 s). */
  maxBatchDelayMs?: number;
  /** tcpdump binary (default: tcpdump on PATH). */
  tcpdump?: string;
  /** Called once tcpdump reports it is listening. */
  onReady?: () => void;
  warn?: (line: string) => void;
}

export interface LiveCaptureResult {
  stats: CaptureStats;
  flows: number;
  dnsStored: number;
  dnsFailed: number;
  /** tcpdump's own summary lines (packets captured / dropped by kernel). */
  tcpdump: string[];
}

export interface LiveCapture {
  readonly done: Promise<LiveCaptureResult>;
  stop(): void;
  readonly ready: Promise<void>;
  /** Counters so far (for health output). */
  progress(): { flows: number; dnsStored: number };
}

const DNS_BATCH = 512;

export function startLiveCapture(opts: LiveCaptureOptions): LiveCapture {
  const args = ['-U', '--immediate-mode', '-n', '-w', '-', '-i', opts.interface];
  if (opts.bpf && opts.bpf.trim() !== '') args.push(...opts.bpf.trim().split(/\s+/));
  const child: ChildProcess = spawn(opts.tcpdump ?? 'tcpdump', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let resolveReady!: () => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);
  let isReady = false;
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 65536) stderr = stderr.slice(-32768);
    if (!isReady && /listening on/.test(stderr)) {
      isReady = true;
      opts.onReady?.();
      resolveReady();
    }
  });
  let spawnError: Error | null = null;
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      spawnError = new Error((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'tcpdump not found: install tcpdump (apt-get install tcpdump)' : `tcpdump: ${e.message}`);
      rejectReady(spawnError);
      resolve(null);
    });
    child.on('close', (code) => resolve(code));
  });

  let stopped = false;
  let flows = 0;
  let dnsStored = 0;
  let dnsFailed = 0;
  let dnsRows: FactRow[] = [];
  const dnsWrites = new Set<Promise<void>>();
  const flushDns = (): void => {
    if (!opts.facts || dnsRows.length === 0) return;
    const rows = dnsRows;
    dnsRows = [];
    const p: Promise<void> = opts.facts.append(DNS_ANSWERS, rows).then(
      () => {
        dnsStored += rows.length;
        dnsWrites.delete(p);
      },
      (e: unknown) => {
        dnsFailed += rows.length;
        opts.warn?.(`storing ${rows.length} DNS answers failed: ${(e as Error).message}`);
        dnsWrites.delete(p);
      },
    );
    dnsWrites.add(p);
  };
  // DNS answers are written at least once a second, like flows.
  const dnsTimer = setInterval(flushDns, opts.maxBatchDelayMs ?? 1000);
  dnsTimer.unref?.();

  const done = (async (): Promise<LiveCaptureResult> => {
    let stats: CaptureStats;
    try {
      stats = await captureToFlows(child.stdout!, {
        exporterName: opts.interface,
        name: `tcpdump -i ${opts.interface}`,
        activeTimeoutMs: opts.activeTimeoutMs,
        idleTimeoutMs: opts.idleTimeoutMs,
        liveTickMs: 1000,
        maxBatchDelayMs: opts.maxBatchDelayMs ?? 1000,
        batchSize: 4096,
        onFlows: (b) => {
          flows += b.length;
          opts.writer.add(b);
        },
        onDns: opts.facts
          ? (s) => {
              for (const r of dnsSightingRows(s)) dnsRows.push(r);
              if (dnsRows.length >= DNS_BATCH) flushDns();
            }
          : undefined,
      });
    } catch (e) {
      child.kill('SIGTERM');
      const code = await exited;
      clearInterval(dnsTimer);
      if (spawnError) throw spawnError;
      // An empty stream: tcpdump failed before writing the pcap header (bad interface, filter...).
      const msg = lastLine(stderr);
      if (msg && code !== 0) throw new Error(`tcpdump -i ${opts.interface}: ${msg}`);
      throw e;
    } finally {
      clearInterval(dnsTimer);
    }
    const code = await exited;
    if (spawnError) throw spawnError;
    flushDns();
    await Promise.all(dnsWrites);
    if (stats.packets === 0 && code !== 0 && code !== null && !stopped) {
      throw new Error(`tcpdump -i ${opts.interface} exited with ${code}: ${lastLine(stderr)}`);
    }
    const summary = stderr.split('\n').filter((l) => /packets? (captured|received by filter|dropped by kernel)/.test(l));
    return { stats, flows, dnsStored, dnsFailed, tcpdump: summary };
  })();
  done.catch(() => undefined);

  return {
    done,
    ready,
    stop: () => {
      if (stopped) return;
      stopped = true;
      child.kill('SIGTERM');
      // tcpdump exits promptly on SIGTERM; make sure it does.
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      t.unref?.();
    },
    progress: () => ({ flows, dnsStored }),
  };
}

function lastLine(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^tcpdump: listening on|^\d+ packets? /.test(l));
  return lines[lines.length - 1] ?? '';
}
