/**
 * `v6scope api`: the HTTP API and /metrics on their own, over the data directory's store
 * (exporter health and writer counters from DATA/exporters.json). docs/api.md.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseConfigDuration, parseListen, type ListenAddress } from '../../config/index.js';
import { startApiServer } from '../../server/api.js';
import { ApiConfigError, checkExposure, DEFAULT_API_LISTEN, readApiSection, type ApiConfig } from '../../server/config.js';
import { openStore } from '../../store/index.js';
import { globals, UsageError } from '../common.js';
import { untilSignal } from '../signals.js';

interface ApiOpts {
  listen?: string[];
  tokenFile?: string;
  shareWindow?: string;
  asn?: boolean;
}

export function register(program: Command): void {
  program
    .command('api')
    .description('serve the HTTP API (JSON, read-only) and Prometheus /metrics over the data directory until SIGINT/SIGTERM')
    .option('--listen <host:port>', `address to listen on, repeatable; IPv6 as [::1]:8080 (default ${DEFAULT_API_LISTEN}, or api.listen in --config)`, (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--token-file <file>', 'file holding the access token (else api.token / api.token_file in --config, or env V6SCOPE_API_TOKEN)')
    .option('--share-window <dur>', 'window of the per-exporter IPv6 share gauges on /metrics (default 1h)')
    .option('--no-asn', 'do not name destinations by their AS')
    .addHelpText(
      'after',
      '\nBinds to loopback by default. Any other address requires an access token, sent by clients as\n' +
        '"Authorization: Bearer <token>" (at least 16 characters). Endpoints: docs/api.md. The DuckDB file can be\n' +
        'opened by one process at a time: while "v6scope serve" writes, use the API it serves (api: in its config).',
    )
    .action(async (o: ApiOpts, cmd: Command) => {
      const g = globals(cmd);
      let cfg: ApiConfig | null = null;
      try {
        cfg = readApiSection(g.config);
      } catch (e) {
        if (e instanceof ApiConfigError) throw new UsageError(`config ${g.config}: ${e.message}`);
        throw new UsageError(`config ${g.config}: ${(e as Error).message}`);
      }
      let listen: ListenAddress[];
      if (o.listen?.length) {
        listen = o.listen.map((t) => {
          const a = parseListen(t);
          if (typeof a === 'string') throw new UsageError(`--listen ${a}`);
          return a;
        });
      } else if (cfg?.listen.length) listen = cfg.listen;
      else listen = [parseListen(DEFAULT_API_LISTEN) as ListenAddress];
      let token = cfg?.token ?? (process.env.V6SCOPE_API_TOKEN || null);
      if (o.tokenFile) {
        try {
          token = readFileSync(o.tokenFile, 'utf8').trim();
        } catch (e) {
          throw new UsageError(`--token-file: cannot read ${o.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        if (!token) throw new UsageError(`--token-file: ${o.tokenFile} is empty`);
      }
      let shareWindowMs = cfg?.share_window ?? 3_600_000;
      if (o.shareWindow !== undefined) {
        const v = parseConfigDuration(o.shareWindow);
        if (v === null) throw new UsageError(`--share-window: expected a duration like 5m or 1h, got "${o.shareWindow}"`);
        shareWindowMs = v;
      }
      const exposure = checkExposure(listen, token);
      if (exposure) throw new UsageError(exposure);
      const log = (l: string): void => {
        if (!g.quiet) process.stderr.write(`v6scope api: ${l}\n`);
      };
      const signal = untilSignal();
      const store = await openStore(g);
      try {
        const server = await startApiServer({
          store,
          dataDir: g.data,
          listen,
          token,
          shareWindowMs,
          asn: o.asn === false ? null : 'default',
          log: (l) => process.stderr.write(`v6scope api: ${l}\n`),
        });
        log(`listening on ${server.addresses.map((a) => (a.family === 6 ? `http://[${a.host}]:${a.port}` : `http://${a.host}:${a.port}`)).join(', ')}${token ? ' (token required)' : ''}`);
        const s = await signal;
        log(`${s}: stopping`);
        await server.close();
      } finally {
        await store.close();
      }
    });
}
