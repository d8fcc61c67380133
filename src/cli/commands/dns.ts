/**
 * `v6scope dns dnstap|import-log|names`: passive DNS from a resolver. dnstap (Unbound, Frame
 * Streams over a unix socket) gives full answers; Unbound log-replies lines give name, type and
 * rcode only. Both land in the `dns_answers` fact table; `names` shows what they say per name.
 * See docs/passive-dns.md.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { foldNameTable, type NameTableEntry } from '../../analysis/evidence.js';
import { dnsSightingRows } from '../../pipeline/dns-facts.js';
import { unboundLogRow } from '../../pipeline/dns-log-facts.js';
import { DNS_ANSWERS, type FactRow } from '../../schema/facts.js';
import { dnstapSighting, emptyDnstapStats } from '../../sources/dns/dnstap.js';
import { DEFAULT_MAX_DATA_FRAME, FrameStreamServer } from '../../sources/dns/framestream.js';
import { parseUnboundLog } from '../../sources/dns/unbound-log.js';
import { openStore } from '../../store/index.js';
import { displayPath, fmtTime, globals, parseDuration, parseTime, printJson, storeExists, table, UsageError } from '../common.js';

const STATUS_TEXT: Record<NameTableEntry['status'], string> = {
  'has-aaaa': 'has AAAA',
  'aaaa-empty': 'AAAA asked, empty',
  'only-a': 'only A (AAAA not asked)',
  nxdomain: 'NXDOMAIN',
  unknown: 'unknown',
};

function positiveInt(v: string, what: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${what} must be a positive integer, got "${v}"`);
  return Number(v);
}

export function register(program: Command): void {
  const dns = program.command('dns').description('Passive DNS from a resolver: Unbound dnstap and log-replies; the name table');

  dns
    .command('dnstap')
    .description('Listen on a unix socket for dnstap (Frame Streams) from Unbound and store every A/AAAA answer')
    .requiredOption('--socket <path>', 'unix socket to create (Unbound: dnstap-socket-path)')
    .option('--socket-mode <octal>', 'permissions of the socket, e.g. 660 (Unbound runs as its own user)')
    .option('--batch <n>', 'store answers in batches of this many rows', '500')
    .option('--flush-interval <dur>', 'store pending answers at least this often', '2s')
    .option('--max-frame <bytes>', 'largest data frame accepted', String(DEFAULT_MAX_DATA_FRAME))
    .addHelpText(
      'after',
      '\nUnbound configuration (unbound.conf):\n  dnstap:\n    dnstap-enable: yes\n    dnstap-socket-path: "/run/v6scope/dnstap.sock"\n    dnstap-log-client-response-messages: yes\n\nRuns until SIGINT or SIGTERM, then stores what is pending and exits 0. While it runs it holds the\ndata directory (other v6scope commands wait for it to stop). See docs/passive-dns.md.',
    )
    .action(async (o: { socket: string; socketMode?: string; batch: string; flushInterval: string; maxFrame: string }, cmd: Command) => {
      const g = globals(cmd);
      const batch = positiveInt(o.batch, '--batch');
      const maxFrame = positiveInt(o.maxFrame, '--max-frame');
      const interval = parseDuration(o.flushInterval, '--flush-interval');
      let mode: number | undefined;
      if (o.socketMode !== undefined) {
        if (!/^[0-7]{3,4}$/.test(o.socketMode)) throw new UsageError(`--socket-mode must be octal like 660, got "${o.socketMode}"`);
        mode = parseInt(o.socketMode, 8);
      }
      if (o.socket === '') throw new UsageError('--socket needs a path');
      const store = await openStore(g);
      const stats = emptyDnstapStats();
      let pending: FactRow[] = [];
      let stored = 0;
      const protocolErrors: string[] = [];
      let flushing: Promise<void> = Promise.resolve();
      let failure: Error | null = null;
      const flush = (): Promise<void> => {
        if (pending.length === 0) return flushing;
        const rows = pending;
        pending = [];
        flushing = flushing.then(async () => {
          if (failure) return;
          try {
            await store.facts!.append(DNS_ANSWERS, rows);
            stored += rows.length;
          } catch (e) {
            failure = e as Error;
          }
        });
        return flushing;
      };
      const server = new FrameStreamServer({
        socketPath: o.socket,
        socketMode: mode,
        maxDataFrame: maxFrame,
        onPayload: (payload) => {
          const s = dnstapSighting(payload, stats);
          if (!s) return;
          for (const r of dnsSightingRows(s)) pending.push(r);
          if (pending.length >= batch) void flush();
        },
        onConnection: () => {
          if (!g.quiet) process.stderr.write('v6scope: dnstap writer connected\n');
        },
        onProtocolError: (reason) => {
          if (protocolErrors.length < 100) protocolErrors.push(reason);
          if (!g.quiet) process.stderr.write(`v6scope: dnstap connection closed: ${reason}\n`);
        },
      });
      try {
        await server.listen();
      } catch (e) {
        await store.close();
        throw new Error(`cannot listen on ${o.socket}: ${(e as Error).message}`);
      }
      if (!g.quiet) process.stderr.write(`v6scope: listening for dnstap on ${displayPath(o.socket)} (Ctrl-C to stop)\n`);
      const timer = setInterval(() => void flush(), interval);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        const check = setInterval(() => {
          if (failure) {
            clearInterval(check);
            stop();
          }
        }, 200);
        check.unref();
      });
      clearInterval(timer);
      await server.close();
      await flush();
      await store.close();
      if (failure) throw new Error(`storing DNS answers failed: ${(failure as Error).message}`);
      const summary = { socket: o.socket, ...server.stats, ...stats, stored, protocolErrorReasons: protocolErrors };
      if (g.json) printJson(summary);
      else if (!g.quiet) {
        process.stdout.write(
          `dnstap: ${server.stats.connections} connections, ${server.stats.dataFrames} frames, ${stats.sightings} A/AAAA answers → ${stored} rows stored` +
            (stats.undecodable ? `; ${stats.undecodable} undecodable frames` : '') +
            (stats.malformed ? `; ${stats.malformed} malformed DNS messages` : '') +
            (server.stats.protocolErrors ? `; ${server.stats.protocolErrors} connections closed on protocol errors` : '') +
            '\n',
        );
      }
    });

  dns
    .command('import-log')
    .description('Import Unbound log-replies lines (logfile or syslog): name, type and rcode per answer')
    .argument('<files...>', 'log files; "-" reads standard input')
    .option('--year <year>', 'year of timestamps that have none (log-time-ascii, classic syslog); default: the latest year not in the future')
    .addHelpText(
      'after',
      '\nUnbound configuration: log-replies: yes (optionally log-queries, log-tag-queryreply, log-time-ascii;\nlogfile or syslog). A reply line has no addresses: NXDOMAIN is recorded as such, NOERROR as "the\nname exists, answer unknown" — not as an AAAA record. Malformed lines are reported as FILE:LINE and\nskipped; the rest is imported (exit code 1 if any line was malformed). See docs/passive-dns.md.',
    )
    .action(async (files: string[], o: { year?: string }, cmd: Command) => {
      const g = globals(cmd);
      let year: number | undefined;
      if (o.year !== undefined) {
        if (!/^\d{4}$/.test(o.year)) throw new UsageError(`--year must be a four-digit year, got "${o.year}"`);
        year = Number(o.year);
      }
      for (const f of files) if (f !== '-' && !existsSync(f)) throw new UsageError(`no such file: ${f}`);
      const results: { file: string; lines: number; replies: number; rows: number; queries: number; other: number; malformed: number; errors: { line: number; message: string }[] }[] = [];
      const store = await openStore(g);
      try {
        for (const file of files) {
          const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
          const r = parseUnboundLog(text, { year });
          const rows: FactRow[] = [];
          for (const e of r.entries) {
            const row = unboundLogRow(e);
            if (row) rows.push(row);
          }
          await store.facts!.append(DNS_ANSWERS, rows);
          const shown = file === '-' ? 'stdin' : displayPath(file);
          for (const e of r.errors.slice(0, 50)) process.stderr.write(`v6scope: ${shown}:${e.line}: ${e.message}\n`);
          if (r.errors.length > 50) process.stderr.write(`v6scope: ${shown}: ${r.errors.length - 50} more malformed lines\n`);
          results.push({
            file,
            lines: r.stats.lines,
            replies: r.stats.replies,
            rows: rows.length,
            queries: r.stats.queries,
            other: r.stats.other + r.stats.localActions + r.stats.servfails,
            malformed: r.stats.malformed,
            errors: r.errors.map((e) => ({ line: e.line, message: e.message })),
          });
          if (!g.json && !g.quiet) {
            process.stdout.write(`${file}: ${r.stats.lines} lines, ${r.stats.replies} replies → ${rows.length} A/AAAA rows imported, ${r.stats.malformed} malformed\n`);
          }
        }
      } finally {
        await store.close();
      }
      if (g.json) printJson(results);
      if (results.some((r) => r.malformed > 0)) process.exitCode = 1;
    });

  dns
    .command('names')
    .description('The name table: per name, has AAAA / AAAA asked but empty / only A / NXDOMAIN, its addresses, last seen')
    .option('--since <time>', 'only answers seen since (e.g. 24h, 2026-11-01)')
    .option('--until <time>', 'only answers seen before')
    .option('--status <status>', 'only names with this status (has-aaaa, aaaa-empty, only-a, nxdomain, unknown)')
    .action(async (o: { since?: string; until?: string; status?: string }, cmd: Command) => {
      const g = globals(cmd);
      const now = Date.now();
      const since = o.since !== undefined ? parseTime(o.since, now, '--since') : undefined;
      const until = o.until !== undefined ? parseTime(o.until, now, '--until') : undefined;
      if (o.status !== undefined && !(o.status in STATUS_TEXT)) throw new UsageError(`--status must be one of ${Object.keys(STATUS_TEXT).join(', ')}`);
      let entries: NameTableEntry[] = [];
      if (storeExists(g.data)) {
        const store = await openStore(g);
        try {
          entries = foldNameTable(store.facts ? await store.facts.read(DNS_ANSWERS, { since, until }) : []);
        } finally {
          await store.close();
        }
      }
      if (o.status !== undefined) entries = entries.filter((e) => e.status === o.status);
      if (g.json) {
        printJson(
          entries.map((e) => ({
            name: e.name,
            status: e.status,
            hasA: e.hasA,
            hasAAAA: e.hasAAAA,
            aaaaEmpty: e.aaaaEmpty,
            aEmpty: e.aEmpty,
            nxdomain: e.nxdomain,
            ipv4: e.ipv4,
            ipv6: e.ipv6,
            askedTypes: e.askedTypes.map(typeName),
            noerrorTypes: e.noerrorTypes.map(typeName),
            errors: e.errors,
            answers: e.answers,
            firstSeen: new Date(e.firstSeen).toISOString(),
            lastSeen: new Date(e.lastSeen).toISOString(),
          })),
        );
        return;
      }
      if (entries.length === 0) {
        if (!g.quiet) process.stdout.write('no DNS answers stored (v6scope dns dnstap, dns import-log, or ingest a capture with DNS)\n');
        return;
      }
      const counts = new Map<string, number>();
      for (const e of entries) counts.set(e.status, (counts.get(e.status) ?? 0) + 1);
      process.stdout.write(
        `${table(
          ['NAME', 'STATUS', 'IPv4', 'IPv6', 'LAST SEEN'],
          entries.map((e) => [e.name || '.', STATUS_TEXT[e.status], listCell(e.ipv4), listCell(e.ipv6), fmtTime(e.lastSeen)]),
        )}\n`,
      );
      if (!g.quiet) {
        process.stdout.write(`\n${entries.length} names: ${[...counts].map(([s, n]) => `${n} ${STATUS_TEXT[s as NameTableEntry['status']]}`).join(', ')}\n`);
      }
    });
}

function typeName(t: number): string {
  return t === 1 ? 'A' : t === 28 ? 'AAAA' : `TYPE${t}`;
}

function listCell(list: string[]): string {
  if (list.length <= 2) return list.join(' ');
  return `${list.slice(0, 2).join(' ')} +${list.length - 2}`;
}
