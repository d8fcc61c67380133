import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EXPORTERS_FILE, type CollectorHealth } from '../../collect/collector.js';
import { displayPath, fmtCount, globals, printJson, table } from '../common.js';

export function register(program: Command): void {
  program
    .command('exporters')
    .description('health of the flow exporters seen by "v6scope serve": datagrams, records, decode errors, templates, sampling, loss, socket drops')
    .addHelpText(
      'after',
      '\nReads DATA/exporters.json, which "v6scope serve" rewrites every state.save_interval (default 10s) and on exit.\n' +
        'Loss: units the exporter numbered but never arrived (NetFlow v5/IPFIX: records, v9: packets).\n' +
        'Socket drops: datagrams the kernel dropped because the receive buffer was full (per listener).',
    )
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const file = path.join(g.data, EXPORTERS_FILE);
      if (!existsSync(file)) throw new Error(`no exporter health in ${displayPath(g.data)} yet: run "v6scope serve" with collectors configured`);
      let h: CollectorHealth;
      try {
        h = JSON.parse(readFileSync(file, 'utf8')) as CollectorHealth;
      } catch (e) {
        throw new Error(`cannot read ${displayPath(file)}: ${(e as Error).message}`);
      }
      if (g.json) {
        printJson(h);
        return;
      }
      const lines: string[] = [`as of ${h.updated} (collector started ${h.startedAt})`, ''];
      lines.push(
        table(
          ['listener', 'protocol', 'datagrams', 'recv buffer', 'socket drops', 'queued'],
          h.listeners.map((l) => [l.listen.replace(/:0$/, `:${l.port}`), l.protocol, fmtCount(l.datagrams), `${Math.round(l.receiveBuffer / 1024)} KiB`, String(l.socketDrops), String(l.rxQueue)]),
          [false, false, true, true, true, true],
        ),
        '',
      );
      if (h.exporters.length === 0) lines.push('no exporter has sent anything yet');
      else
        lines.push(
          table(
            ['exporter', 'datagrams', 'records', 'errors', 'unsupported', 'templates', 'sampling', 'loss', 'last seen'],
            h.exporters.map((e) => {
              const errs = Object.entries(e.errors).filter(([, n]) => n > 0);
              return [
                e.exporter,
                fmtCount(e.datagrams),
                fmtCount(e.records),
                errs.length ? errs.map(([k, n]) => `${k} ${n}`).join(', ') : '0',
                String(e.unsupportedDatagrams),
                String(e.templatesKnown),
                e.samplingRates.length ? e.samplingRates.map((r) => `1:${r}`).join(' ') : '-',
                String(e.sequenceMissing),
                e.lastSeen ?? '-',
              ];
            }),
            [false, true, true, false, true, true, false, true, false],
          ),
        );
      const w = h.writer as { stored?: number; droppedFlows?: number; droppedBatches?: number; failedFlows?: number; lastError?: string | null } | undefined;
      if (w) {
        lines.push('', `store writer: ${fmtCount(w.stored ?? 0)} flows stored, ${w.droppedFlows ?? 0} dropped in ${w.droppedBatches ?? 0} batches (overload), ${w.failedFlows ?? 0} lost to store errors`);
        if (w.failedFlows && w.lastError) lines.push(`last store error: ${w.lastError.split('\n')[0]}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
