import type { Command } from 'commander';
import { ConfigError, configToJson, loadConfig, type Config } from '../../config/index.js';
import { globals, printJson, UsageError } from '../common.js';
import { stringify } from 'yaml';

/** Load the --config file (or the defaults); configuration mistakes are usage errors (exit 2). */
export function loadConfigOrFail(file: string | undefined): Config {
  try {
    return loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`config ${e.message}`);
    throw e;
  }
}

export function register(program: Command): void {
  const config = program.command('config').description('the YAML configuration (--config FILE or V6SCOPE_CONFIG)');
  config
    .command('check')
    .description('validate the configuration and print the effective configuration (defaults filled in)')
    .addHelpText('after', '\nEvery key and its default: docs/configuration.md. Exit code 2 when the file has a mistake (the message names the key).')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      const c = loadConfigOrFail(g.config);
      const eff = configToJson(c);
      if (g.json) printJson({ file: g.config ?? null, valid: true, config: eff });
      else {
        if (!g.quiet) process.stderr.write(g.config ? `${g.config}: valid\n` : 'no --config file: the defaults\n');
        process.stdout.write(stringify(eff));
      }
    });
  config.exitOverride();
}
