import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { LocalEnricher } from '../../enrich/local.js';
import { ingestCaptureFile, type IngestCaptureResult } from '../../pipeline/ingest-capture.js';
import { openStore } from '../../store/index.js';
import { fmtBytes, fmtCount, globals, parseDuration, printJson, UsageError } from '../common.js';
import { Progress } from '../progress.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('ingest')
    .description('Read packet captures (pcap, pcapng), meter them into flows and store them')
    .argument('<files...>', 'capture files (classic pcap or pcapng; Ethernet, Linux cooked v1/v2, raw IP, loopback)')
    .option('--local <prefix>', 'a local prefix (repeatable), e.g. your LAN /64 or public IPv4 range; private, ULA and link-local ranges are always local', collect, [])
    .option('--exporter <name>', 'exporter name to record (default: the file name)')
    .option('--active-timeout <dur>', 'split flows longer than this (default 5m, as nfpcapd)')
    .option('--idle-timeout <dur>', 'end flows idle this long (default 60s, as nfpcapd)')
    .addHelpText(
      'after',
      '\nBytes are IP-layer bytes taken from the IP headers (IPv4 total length, IPv6 payload length + 40),\nso captures made with a small snap length count right. A damaged file stops at the damage with an\nerror naming the byte offset; the flows read before it are kept. Exit code 1 if any file failed.',
    )
    .action(async (files: string[], opts: { local: string[]; exporter?: string; activeTimeout?: string; idleTimeout?: string }, cmd: Command) => {
      const g = globals(cmd);
      for (const f of files) if (!existsSync(f)) throw new UsageError(`no such file: ${f}`);
      let enricher: LocalEnricher;
      try {
        enricher = new LocalEnricher({ localPrefixes: opts.local });
      } catch (e) {
        throw new UsageError(`--local: ${(e as Error).message}`);
      }
      const activeTimeoutMs = opts.activeTimeout ? parseDuration(opts.activeTimeout, '--active-timeout') : undefined;
      const idleTimeoutMs = opts.idleTimeout ? parseDuration(opts.idleTimeout, '--idle-timeout') : undefined;
      const store = await openStore(g);
      const results: IngestCaptureResult[] = [];
      try {
        for (const file of files) {
          const progress = new Progress(`ingest ${file}`, !g.quiet && Boolean(process.stderr.isTTY));
          const r = await ingestCaptureFile(file, {
            store,
            enricher,
            exporterName: opts.exporter,
            activeTimeoutMs,
            idleTimeoutMs,
            onProgress: (read, total, flows) => progress.update(read, total, `${fmtBytes(read)} ${fmtCount(flows)} flows`),
          });
          progress.done();
          results.push(r);
          if (r.error) process.stderr.write(`v6scope: ${r.error.message}; ${r.flowsStored} flows read before the damage were stored\n`);
          else if (!g.json && !g.quiet) {
            const s = r.stats!;
            process.stdout.write(
              `${file}: ${fmtCount(s.packets)} packets, ${fmtBytes(s.bytes)} IP bytes → ${fmtCount(r.flowsStored)} flows` +
                (r.dnsStored ? `, ${fmtCount(r.dnsStored)} DNS answers` : '') +
                (s.skippedNonIp ? `; ${fmtCount(s.skippedNonIp)} non-IP frames skipped` : '') +
                (s.malformedTotal ? `; ${fmtCount(s.malformedTotal)} malformed packets skipped` : '') +
                '\n',
            );
          }
        }
      } finally {
        await store.close();
      }
      if (g.json) {
        printJson(
          results.map((r) => ({ file: r.file, flows: r.flowsStored, dnsAnswers: r.dnsStored, stats: r.stats, error: r.error?.message ?? null })),
        );
      }
      if (results.some((r) => r.error)) process.exitCode = 1;
    });
}
