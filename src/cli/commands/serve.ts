import type { Command } from 'commander';
import { openConfiguredStore, startServe } from '../../collect/serve.js';
import { startApiForServe } from '../../server/index.js';
import { globals } from '../common.js';
import { untilSignal } from '../signals.js';
import { loadConfigOrFail } from './config.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the configured collectors (NetFlow/IPFIX over UDP) and live capture, writing flows to the store until SIGINT/SIGTERM')
    .addHelpText(
      'after',
      '\nConfigure it with --config FILE (docs/configuration.md): collectors (listen addresses, receive buffer),\n' +
        'capture (interface, bpf), local_prefixes, store, retention, batch, api (HTTP API and /metrics). Templates persist in DATA/templates.json,\n' +
        'exporter health in DATA/exporters.json ("v6scope exporters"). On SIGINT/SIGTERM every flow received is\n' +
        'written before it exits.',
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const config = loadConfigOrFail(g.config);
      const log = (l: string): void => {
        if (!g.quiet) process.stderr.write(`v6scope serve: ${l}\n`);
      };
      const warn = (l: string): void => {
        process.stderr.write(`v6scope serve: ${l}\n`);
      };
      const signal = untilSignal();
      // One store for the writer and the API (DuckDB allows one process per file).
      const store = await openConfiguredStore(config, g.data);
      const h = await startServe({ config, dataDir: g.data, log, warn, store });
      const api = config.api.listen.length ? await startApiForServe({ api: config.api, handle: h, store, dataDir: g.data, log: warn }) : null;
      log(`ready${api ? `; API on ${config.api.listen.map((a) => a.text).join(', ')}` : ''}`);
      const s = await signal;
      log(`${s}: stopping, writing what was received`);
      await api?.close();
      const sum = await h.stop();
      await store.close();
      log(
        `stopped: ${sum.flowsStored} flows stored` +
          (sum.droppedFlows ? `, ${sum.droppedFlows} dropped (store overloaded)` : '') +
          (sum.failedFlows ? `, ${sum.failedFlows} lost to store errors` : ''),
      );
      if (sum.failedFlows > 0) process.exitCode = 1;
    });
}
