import type { Command } from 'commander';
import { startServe } from '../../collect/serve.js';
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
        'capture (interface, bpf), local_prefixes, store, retention, batch. Templates persist in DATA/templates.json,\n' +
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
      const h = await startServe({ config, dataDir: g.data, log, warn });
      log('ready');
      const s = await signal;
      log(`${s}: stopping, writing what was received`);
      const sum = await h.stop();
      log(
        `stopped: ${sum.flowsStored} flows stored` +
          (sum.droppedFlows ? `, ${sum.droppedFlows} dropped (store overloaded)` : '') +
          (sum.failedFlows ? `, ${sum.failedFlows} lost to store errors` : ''),
      );
      if (sum.failedFlows > 0) process.exitCode = 1;
    });
}
