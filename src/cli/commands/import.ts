/** `v6scope import neighbors|leases FILE...`: device identity evidence from neighbour tables and DHCP leases. */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { importNeighbors } from '../../enrich/identity/import/index.js';
import { FORMAT_NAMES } from '../../enrich/identity/import/types.js';
import { NEIGHBORS, type FactRow } from '../../schema/facts.js';
import { openStore } from '../../store/index.js';
import { displayPath, globals, parseTime, printJson, UsageError } from '../common.js';

const KINDS: Record<string, readonly string[]> = {
  neighbors: ['ip-neigh', 'ip-neigh-json', 'mikrotik'],
  leases: ['dnsmasq', 'odhcpd', 'isc-dhcpd', 'isc-dhcpd6', 'kea4', 'kea6'],
};

export function register(program: Command): void {
  program
    .command('import')
    .description('Import device identity evidence: neighbour tables (ip neigh, MikroTik /ip arp, /ipv6 neighbor) or DHCP leases (dnsmasq/OpenWrt, odhcpd, ISC dhcpd, Kea)')
    .argument('<kind>', 'neighbors or leases')
    .argument('<files...>', 'text exports; "-" reads standard input')
    .option('--format <name>', `force a format (${FORMAT_NAMES.join(', ')}); default: detected`)
    .option('--at <time>', 'when the table was taken (default: now; leases keep their own times)')
    .addHelpText(
      'after',
      '\nExamples:\n  ip neigh show > neigh.txt && v6scope import neighbors neigh.txt\n  v6scope import leases /tmp/dhcp.leases            # OpenWrt / dnsmasq\n  ssh router "/ip arp print terse" | v6scope import neighbors -\n\nMalformed lines are reported with their line numbers and skipped; the rest is imported (exit code 1\nif any line was malformed). See docs/find-and-fix.md.',
    )
    .action(async (kind: string, files: string[], o: { format?: string; at?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (!(kind in KINDS)) throw new UsageError(`the kind must be "neighbors" or "leases", got "${kind}"`);
      if (o.format !== undefined && !(FORMAT_NAMES as readonly string[]).includes(o.format)) throw new UsageError(`--format must be one of ${FORMAT_NAMES.join(', ')}`);
      const now = Date.now();
      const at = o.at !== undefined ? parseTime(o.at, now, '--at') : now;
      for (const f of files) if (f !== '-' && !existsSync(f)) throw new UsageError(`no such file: ${f}`);
      const results: { file: string; format: string; facts: number; skipped: number; errors: { line: number; message: string }[] }[] = [];
      const store = await openStore(g);
      try {
        for (const file of files) {
          const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
          const r = importNeighbors(text, { format: o.format as never, fileName: file === '-' ? undefined : path.basename(file), now: at });
          if (r.format !== 'unknown' && !KINDS[kind]!.includes(r.format)) {
            process.stderr.write(`v6scope: ${file}: looks like ${r.format}, not ${kind}; importing it anyway\n`);
          }
          const rows: FactRow[] = r.facts.map((f) => ({
            seen_at: Math.floor(f.seenAt ?? at),
            mac: f.mac,
            family: f.family,
            addr: f.addr,
            hostname: f.hostname ?? '',
            source: f.source,
            expires_at: f.expiresAt !== undefined && Number.isFinite(f.expiresAt) ? Math.floor(f.expiresAt) : 0,
          }));
          await store.facts!.append(NEIGHBORS, rows);
          for (const e of r.errors) process.stderr.write(`v6scope: ${file === '-' ? 'stdin' : displayPath(file)}:${e.line}: ${e.message}\n`);
          results.push({ file, format: r.format, facts: rows.length, skipped: r.skipped, errors: r.errors.map((e) => ({ line: e.line, message: e.message })) });
          if (!g.json && !g.quiet) process.stdout.write(`${file}: ${r.format}, ${rows.length} entries imported, ${r.skipped} skipped, ${r.errors.length} malformed\n`);
        }
      } finally {
        await store.close();
      }
      if (g.json) printJson(results);
      if (results.some((r) => r.errors.length > 0 || r.format === 'unknown')) process.exitCode = 1;
    });
}
