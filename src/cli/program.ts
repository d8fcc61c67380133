/**
 * v6scope command line. Exit codes: 0 ok, 1 runtime error, 2 usage error.
 * Errors go to stderr as one line; --json output on stdout stays valid JSON.
 */
import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { ConfigError } from '../config/index.js';
import { UsageError } from './common.js';
import { register as registerFields } from './commands/fields.js';
import { register as registerIngest } from './commands/ingest.js';
import { register as registerReport } from './commands/report.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerFind } from './commands/find.js';
import { register as registerImport } from './commands/import.js';
import { register as registerShare } from './commands/share.js';
import { register as registerDecode } from './commands/decode.js';
import { register as registerConfig } from './commands/config.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerCollect } from './commands/collect.js';
import { register as registerExporters } from './commands/exporters.js';
import { register as registerCapture } from './commands/capture.js';
import { register as registerDns } from './commands/dns.js';
import { register as registerAws } from './commands/aws.js';
import { register as registerApi } from './commands/api.js';
import { register as registerStore } from './commands/store.js';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('v6scope')
    .description('IPv6 adoption observatory: measure the IPv6 share of your traffic, find what keeps it on IPv4, fix it')
    .version(pkg.version)
    .addOption(new Option('--data <dir>', 'data directory (env V6SCOPE_DATA)').default('./data').env('V6SCOPE_DATA'))
    .addOption(new Option('--config <file>', 'configuration file (env V6SCOPE_CONFIG)').env('V6SCOPE_CONFIG'))
    .option('--json', 'machine-readable JSON output')
    .option('-q, --quiet', 'no progress or informational messages')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const reg of [registerIngest, registerDecode, registerServe, registerApi, registerCollect, registerExporters, registerCapture, registerConfig, registerShare, registerReport, registerFind, registerImport, registerDns, registerAws, registerDemo, registerStore, registerFields]) reg(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; commander already printed the usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`v6scope: ${e.message}\n`);
      return 2;
    }
    // A mistake in the --config file (read when a command opens its store): a usage error too.
    if (e instanceof ConfigError) {
      process.stderr.write(`v6scope: config ${e.message}\n`);
      return 2;
    }
    const err = e as Error;
    process.stderr.write(`v6scope: ${err.message ?? String(err)}\n`);
    if (process.env.V6SCOPE_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
