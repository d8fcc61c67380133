import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openDuckDBStore } from './duckdb/store.js';
import type { FlowStore, RetentionConfig } from './store.js';

export * from './query.js';
export * from './store.js';
export * from './dialect.js';
export * from './planner.js';
export { QueryError, compileQuery } from './compile.js';
export { openDuckDBStore } from './duckdb/store.js';
export { openClickHouseStore, type ClickHouseFlowStore } from './clickhouse/store.js';
export type { ClickHouseOptions, ClickHouseSpoolOptions } from './clickhouse/options.js';

/** Open (creating if needed) the embedded store of a data directory: DATA/v6scope.duckdb. */
export async function openStore(dataDir: string, retention?: RetentionConfig): Promise<FlowStore> {
  mkdirSync(dataDir, { recursive: true });
  return openDuckDBStore({ path: path.join(dataDir, 'v6scope.duckdb'), retention });
}
