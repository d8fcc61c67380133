import type { Command } from 'commander';
import { FIELDS } from '../../schema/fields.js';
import { globals, printJson, table } from '../common.js';

/** The schema's field table as Markdown (docs/fields.md is generated from this). */
export function fieldsMarkdown(): string {
  const rows = FIELDS.map((f) => `| \`${f.name}\` | ${f.kind} | ${f.role} | ${f.rollup ? 'yes' : 'no'} | ${f.description.replace(/\|/g, '\\|')} |`);
  return [
    '# Flow fields',
    '',
    'Generated from `src/schema/fields.ts` by `v6scope fields --markdown`; do not edit by hand.',
    'Every name is at once a column in the stores, a JSON key, a `--by` dimension (role dimension)',
    'and an identifier of the filter language. "rollup" says whether the 1 min / 5 min / 1 h rollup',
    'tables keep the field; queries on other fields read the raw table.',
    '',
    '| field | kind | role | rollup | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('fields')
    .description('List the flow fields (the schema every store, query and output uses)')
    .option('--markdown', 'print as a Markdown table (docs/fields.md)')
    .action((opts: { markdown?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (g.json) printJson(FIELDS);
      else if (opts.markdown) process.stdout.write(fieldsMarkdown());
      else process.stdout.write(`${table(['field', 'kind', 'role', 'rollup'], FIELDS.map((f) => [f.name, f.kind, f.role, f.rollup ? 'yes' : 'no']))}\n`);
    });
}
