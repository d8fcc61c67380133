/**
 * The stores every parameterised store suite runs against: `describe.each(STORE_KINDS)` gets the
 * embedded DuckDB store and the ClickHouse store (a private clickhouse-server on loopback, see
 * ./clickhouse/server.ts, started once per test file by `useStores()`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openClickHouseStore } from '../../src/store/clickhouse/store.js';
import type { ClickHouseOptions } from '../../src/store/clickhouse/options.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';
import type { FlowStore, RetentionConfig } from '../../src/store/index.js';
import { haveClickHouse, startClickHouse, type ClickHouseServer } from './clickhouse/server.js';

export interface StoreKind {
  readonly name: 'duckdb' | 'clickhouse';
  /** False when the store cannot run here (no clickhouse-server outside CI): the suite is skipped. */
  readonly available: boolean;
  /** Open (creating on first use) the store named `id`; the same id reopens the same data. */
  open(id: string, o?: { retention?: RetentionConfig; clickhouse?: Partial<ClickHouseOptions> }): Promise<FlowStore>;
}

const state: { dir?: string; server?: ClickHouseServer } = {};

/** The running test server (after useStores()'s beforeAll). */
export function clickhouseServer(): ClickHouseServer {
  if (!state.server) throw new Error('no ClickHouse test server (call useStores() and check available)');
  return state.server;
}

export const CLICKHOUSE_AVAILABLE = haveClickHouse(); // throws under CI when the server is missing

export const STORE_KINDS: readonly StoreKind[] = [
  {
    name: 'duckdb',
    available: true,
    open: (id, o = {}) => openDuckDBStore({ path: path.join(state.dir!, `${id}.duckdb`), retention: o.retention }),
  },
  {
    name: 'clickhouse',
    available: CLICKHOUSE_AVAILABLE,
    open: (id, o = {}) => openClickHouseStore({ url: clickhouseServer().url, database: `v6_${id}`, retention: o.retention, ...o.clickhouse }),
  },
];

/** Register the file's hooks: a temporary directory, and a ClickHouse server when one is available. */
export function useStores(): void {
  beforeAll(async () => {
    state.dir = mkdtempSync(path.join(tmpdir(), 'v6scope-stores-'));
    if (CLICKHOUSE_AVAILABLE) state.server = await startClickHouse();
  });
  afterAll(async () => {
    await state.server?.stop();
    state.server = undefined;
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });
}

export function tempDir(): string {
  return state.dir!;
}
