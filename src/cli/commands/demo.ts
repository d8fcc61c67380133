import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { buildFindContext, fixes } from '../../analysis/find.js';
import { importNeighbors } from '../../enrich/identity/import/index.js';
import { NEIGHBORS } from '../../schema/facts.js';
import path from 'node:path';
import { defaultDemoStart, generateDemo } from '../../demo/index.js';
import { LocalEnricher } from '../../enrich/local.js';
import { ingestCaptureFile } from '../../pipeline/ingest-capture.js';
import { openStore } from '../../store/index.js';
import type { FlowStore } from '../../store/store.js';
import { METRICS } from '../../schema/fields.js';
import { displayPath, fmtShare, globals, parseTime, printJson, storeExists, UsageError } from '../common.js';
import { Progress } from '../progress.js';
import { reportToJson, runReport } from './report.js';

/** The story's punch line: the biggest fix and the share it brings. */
async function topFixText(store: FlowStore, since: number, until: number, names: ReadonlyMap<string, string>): Promise<string> {
  const ctx = await buildFindContext(store, since, until);
  const top = fixes(ctx, { names }).find((f) => f.after);
  if (!top || !top.after) return '';
  return `\nBiggest fix: ${top.title}: IPv6 ${fmtShare(top.before.bytes)} → ${fmtShare(top.after.bytes)} by bytes.\n(v6scope laggards, v6scope floor and v6scope fix --snippets tell the rest.)\n`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('Generate a week of a demo home network as a packet capture, ingest it and print the report')
    .option('--seed <n>', 'random seed (same seed, same start: byte-identical capture)', '6')
    .option('--start <time>', 'start of the week (default: the Monday starting the last complete week)')
    .option('--days <n>', 'number of days', '7')
    .option('--force', 'replace a data directory that holds data other than the demo')
    .addHelpText(
      'after',
      '\nWrites DATA/demo/demo-home.pcap and DATA/demo/ground-truth.json (the generator\'s own counts), then\ningests the capture through the real pcap decoder and flow meter into DATA/v6scope.duckdb and prints\nthe report with the ground truth beside it. Exit code 1 if the computed shares differ from it.',
    )
    .action(async (opts: { seed: string; start?: string; days: string; force?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const seed = Number(opts.seed);
      const days = Number(opts.days);
      if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got "${opts.seed}"`);
      if (!Number.isInteger(days) || days < 1 || days > 31) throw new UsageError(`--days must be an integer from 1 to 31, got "${opts.days}"`);
      const now = Date.now();
      const start = opts.start ? parseTime(opts.start, now, '--start') : defaultDemoStart(now);
      const demoDir = path.join(g.data, 'demo');
      const marker = path.join(demoDir, 'ground-truth.json');
      if (storeExists(g.data)) {
        if (!existsSync(marker) && !opts.force) {
          throw new UsageError(`${g.data} already holds data that is not the demo's: use another --data directory or --force`);
        }
        for (const f of ['v6scope.duckdb', 'v6scope.duckdb.wal']) rmSync(path.join(g.data, f), { force: true });
      }
      mkdirSync(demoDir, { recursive: true });
      const log = (msg: string) => {
        if (!g.quiet) process.stderr.write(`${msg}\n`);
      };
      log(`generating ${days} days of a demo home network (seed ${seed})...`);
      const demo = await generateDemo({ seed, start, days, outDir: demoDir });
      const truth = demo.truth;
      log(`ingesting ${displayPath(demo.pcapPath)} (${truth.packetsWritten} packets)...`);
      const store = await openStore(g.data);
      try {
        const progress = new Progress('ingest', !g.quiet && Boolean(process.stderr.isTTY));
        const res = await ingestCaptureFile(demo.pcapPath, {
          store,
          enricher: new LocalEnricher({ localPrefixes: truth.localPrefixes }),
          onProgress: (read, total) => progress.update(read, total),
        });
        progress.done();
        if (res.error) throw res.error;
        // The router's DHCP leases name the devices, through the same importer as `v6scope import leases`.
        const leases = importNeighbors(readFileSync(demo.leasesPath, 'utf8'), { fileName: path.basename(demo.leasesPath) });
        if (leases.errors.length > 0) throw new Error(`${demo.leasesPath}:${leases.errors[0]!.line}: ${leases.errors[0]!.message}`);
        await store.facts!.append(
          NEIGHBORS,
          leases.facts.map((f) => ({ seen_at: truth.end, mac: f.mac, family: f.family, addr: f.addr, hostname: f.hostname ?? '', source: f.source, expires_at: f.expiresAt ?? 0 })),
        );
        const names = new Map(truth.devices.map((d) => [d.mac, d.name]));
        const report = await runReport(store, { json: g.json, names, print: !g.json });
        if (!report) throw new Error('the demo produced no data');
        let ok = true;
        const cmp = METRICS.map((m) => {
          const computed = report.share[m].ipv6Share;
          const expected = truth.share[m];
          const match = computed !== null && Math.abs(computed - expected) < 1e-9;
          ok &&= match;
          return { metric: m, computed, expected, match };
        });
        const dataOpt = path.resolve(g.data) === path.resolve('data') ? '' : ` --data ${displayPath(g.data)}`;
        if (g.json) {
          printJson({ ...reportToJson(report), groundTruth: cmp });
        } else {
          process.stdout.write(
            `\nGround truth (counted by the generator, independently of the decoder):\n${cmp
              .map((c) => `  ${c.metric.padEnd(8)} computed ${fmtShare(c.computed)}  truth ${fmtShare(c.expected)}  ${c.match ? 'match' : 'MISMATCH'}`)
              .join('\n')}\n${await topFixText(store, report.share.since, report.share.until, names)}\nData: ${displayPath(g.data)}  (try: v6scope share --by device${dataOpt}; the web console: v6scope api${dataOpt}, then open http://127.0.0.1:8080/)\n`,
          );
        }
        if (!ok) {
          process.stderr.write('v6scope: the computed shares differ from the demo ground truth\n');
          process.exitCode = 1;
        }
      } finally {
        await store.close();
      }
    });
}
