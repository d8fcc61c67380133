import type { Command } from 'commander';
import { startLiveCapture } from '../../collect/live-capture.js';
import { openConfiguredStore } from '../../collect/serve.js';
import { StoreWriter } from '../../collect/writer.js';
import { LocalEnricher } from '../../enrich/local.js';
import { fmtBytes, fmtCount, globals, parseDuration, printJson, UsageError } from '../common.js';
import { untilSignal } from '../signals.js';
import { loadConfigOrFail } from './config.js';

const collectList = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('capture')
    .description('capture live on an interface (tcpdump), meter packets into flows and store them with the DNS answers seen, until SIGINT/SIGTERM')
    .option('-i, --interface <if>', 'interface to capture on (default: capture.interface of the config)')
    .option('--bpf <filter>', 'tcpdump filter expression, e.g. "not port 22"')
    .option('--local <prefix>', 'a local prefix (repeatable), added to local_prefixes of the config', collectList, [])
    .option('--duration <dur>', 'stop after this long (e.g. 10m)')
    .addHelpText(
      'after',
      '\nRuns tcpdump -U --immediate-mode -w - -i IF [FILTER] (needs the rights to capture: root or CAP_NET_RAW)\n' +
        'and meters its packets like "v6scope ingest" (timeouts from capture.active_timeout/idle_timeout).\n' +
        'Flows are written in batches (batch.max_flows / batch.max_delay); on exit every open flow is written.',
    )
    .action(async (opts: { interface?: string; bpf?: string; local: string[]; duration?: string }, cmd: Command) => {
      const g = globals(cmd);
      const config = loadConfigOrFail(g.config);
      const iface = opts.interface ?? config.capture.interface;
      if (!iface) throw new UsageError('capture needs --interface IF (or capture.interface in the config)');
      if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--interface: "${iface}" is not an interface name`);
      const bpf = opts.bpf ?? config.capture.bpf;
      let enricher: LocalEnricher;
      try {
        enricher = new LocalEnricher({ localPrefixes: [...config.local_prefixes, ...opts.local] });
      } catch (e) {
        throw new UsageError(`--local: ${(e as Error).message}`);
      }
      const durationMs = opts.duration !== undefined ? parseDuration(opts.duration, '--duration') : undefined;
      const warn = (l: string): void => {
        process.stderr.write(`v6scope capture: ${l}\n`);
      };
      const signal = untilSignal();
      const store = await openConfiguredStore(config, g.data);
      const writer = new StoreWriter({ store, enricher, maxFlows: config.batch.max_flows, maxDelayMs: config.batch.max_delay, maxPending: config.batch.max_pending, maxPendingFlows: config.batch.max_pending_flows, maxPendingBytes: config.batch.max_pending_memory, warn });
      try {
        const c = startLiveCapture({
          interface: iface,
          bpf,
          writer,
          facts: store.facts,
          activeTimeoutMs: config.capture.active_timeout,
          idleTimeoutMs: config.capture.idle_timeout,
          maxBatchDelayMs: config.batch.max_delay,
          warn,
        });
        let stopReason = '';
        const stopOn = (why: string): void => {
          stopReason ||= why;
          c.stop();
        };
        void signal.then((s) => stopOn(s));
        const timer = durationMs !== undefined ? setTimeout(() => stopOn('duration reached'), durationMs) : null;
        void c.ready.then(
          () => {
            if (!g.quiet) process.stderr.write(`v6scope capture: listening on ${iface}${bpf ? ` (filter: ${bpf})` : ''}\n`);
          },
          () => undefined,
        );
        const r = await c.done.finally(() => timer && clearTimeout(timer));
        await writer.close();
        const ws = writer.stats();
        if (g.json) {
          printJson({ interface: iface, flows: ws.stored, dnsAnswers: r.dnsStored, droppedFlows: ws.droppedFlows, failedFlows: ws.failedFlows, stats: r.stats, tcpdump: r.tcpdump });
        } else if (!g.quiet) {
          const s = r.stats;
          process.stderr.write(
            `v6scope capture: ${stopReason ? `${stopReason}: ` : ''}${fmtCount(s.packets)} packets, ${fmtBytes(s.bytes)} IP bytes → ${fmtCount(ws.stored)} flows, ${fmtCount(r.dnsStored)} DNS answers stored` +
              (ws.droppedFlows ? `; ${ws.droppedFlows} flows dropped (store overloaded)` : '') +
              (r.tcpdump.length ? `; tcpdump: ${r.tcpdump.join(', ')}` : '') +
              '\n',
          );
        }
        if (ws.failedFlows > 0 || r.dnsFailed > 0) process.exitCode = 1;
      } finally {
        await writer.close();
        await store.close();
      }
    });
}
