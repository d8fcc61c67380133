import type { Command } from 'commander';
import { CollectorSet } from '../../collect/collector.js';
import { parseListen, type CollectorProtocol, COLLECTOR_PROTOCOLS, DEFAULT_RECEIVE_BUFFER, parseSize } from '../../config/index.js';
import type { FlowRecord } from '../../schema/fields.js';
import { globals, parseDuration, UsageError } from '../common.js';
import { untilSignal } from '../signals.js';
import { recordToJson } from './decode.js';

const collectList = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('collect')
    .description('listen for NetFlow v5/v9 and IPFIX datagrams and print the decoded records live (nothing is stored)')
    .requiredOption('--listen <host:port>', 'UDP address to listen on (repeatable; IPv6 as [::]:2055)', collectList, [])
    .option('--stdout <format>', 'output format: json (one object per record per line)', 'json')
    .option('--protocol <p>', `accept only this protocol: ${COLLECTOR_PROTOCOLS.join(', ')}`, 'auto')
    .option('--receive-buffer <size>', 'socket receive buffer (e.g. 8MiB)')
    .option('--count <n>', 'exit after printing this many records')
    .option('--duration <dur>', 'exit after this long (e.g. 30s)')
    .addHelpText('after', '\nRecords use the schema\'s field names ("v6scope fields"). Per-exporter counts go to stderr on exit\n(unless --quiet). Stops on SIGINT/SIGTERM.')
    .action(async (opts: { listen: string[]; stdout: string; protocol: string; receiveBuffer?: string; count?: string; duration?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.listen.length === 0) throw new UsageError('collect needs --listen HOST:PORT (e.g. --listen 0.0.0.0:2055 --listen [::]:2055)');
      if (opts.stdout !== 'json') throw new UsageError(`--stdout ${opts.stdout}: only json is supported`);
      if (!COLLECTOR_PROTOCOLS.includes(opts.protocol as CollectorProtocol)) throw new UsageError(`--protocol: expected one of ${COLLECTOR_PROTOCOLS.join(', ')}`);
      const listen = opts.listen.map((t) => {
        const a = parseListen(t);
        if (typeof a === 'string') throw new UsageError(`--listen ${a}`);
        return a;
      });
      let receiveBuffer = DEFAULT_RECEIVE_BUFFER;
      if (opts.receiveBuffer !== undefined) {
        const n = parseSize(opts.receiveBuffer);
        if (n === null || n < 4096) throw new UsageError(`--receive-buffer: expected a size like 8MiB, got "${opts.receiveBuffer}"`);
        receiveBuffer = n;
      }
      let count = Infinity;
      if (opts.count !== undefined) {
        if (!/^\d+$/.test(opts.count) || Number(opts.count) < 1) throw new UsageError('--count: expected a positive integer');
        count = Number(opts.count);
      }
      const durationMs = opts.duration !== undefined ? parseDuration(opts.duration, '--duration') : undefined;

      const out = process.stdout;
      let printed = 0;
      let buf = '';
      let finish!: () => void;
      const finished = new Promise<void>((r) => (finish = r));
      const flush = (): void => {
        if (buf) out.write(buf);
        buf = '';
      };
      const flushTimer = setInterval(flush, 100);
      const onRecords = (recs: FlowRecord[]): void => {
        for (const r of recs) {
          if (printed >= count) break;
          buf += `${JSON.stringify(recordToJson(r))}\n`;
          printed++;
        }
        if (buf.length > 1 << 16) flush();
        if (printed >= count) finish();
      };
      const cs = new CollectorSet({
        collectors: [{ protocol: opts.protocol as CollectorProtocol, listen, receive_buffer: receiveBuffer, name: '' }],
        dataDir: null,
        onRecords,
      });
      const signal = untilSignal();
      const ls = await cs.start();
      if (!g.quiet) process.stderr.write(`v6scope collect: listening on ${ls.map((l) => `${l.address.family === 6 ? `[${l.address.host}]` : l.address.host}:${l.port}/udp`).join(', ')}\n`);
      const timer = durationMs !== undefined ? setTimeout(finish, durationMs) : null;
      await Promise.race([signal, finished]);
      if (timer) clearTimeout(timer);
      clearInterval(flushTimer);
      const h = cs.health();
      await cs.stop();
      flush();
      if (!g.quiet) {
        for (const e of h.exporters) {
          const errs = Object.entries(e.errors).filter(([, n]) => n > 0);
          process.stderr.write(
            `v6scope collect: ${e.exporter}: ${e.datagrams} datagrams, ${e.records} records` +
              (errs.length ? `, errors ${errs.map(([k, n]) => `${k} ${n}`).join(', ')}` : '') +
              (e.unsupportedDatagrams ? `, ${e.unsupportedDatagrams} unsupported (sFlow or unexpected protocol)` : '') +
              '\n',
          );
        }
        if (h.totals.socketDrops) process.stderr.write(`v6scope collect: ${h.totals.socketDrops} datagrams dropped by the kernel (receive buffer full)\n`);
      }
    });
}
