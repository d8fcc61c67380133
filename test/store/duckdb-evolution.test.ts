/**
 * A DuckDB file whose raw table has its columns in another order than the schema (as ALTER TABLE
 * ADD COLUMN leaves them after a schema change) still stores and answers every value exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIP } from '../../src/net/ip.js';
import { NEIGHBORS } from '../../src/schema/facts.js';
import { emptyFlow, FIELDS } from '../../src/schema/fields.js';
import { duckdbDialect as d } from '../../src/store/dialect.js';
import { openDuckDBStore } from '../../src/store/duckdb/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-evolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('DuckDB store: column order of an evolved file', () => {
  it('appends by name, not by position', async () => {
    const file = path.join(dir, 'old.duckdb');
    // an "old" file: raw with the schema's columns reversed, neighbors with hostname moved last
    const inst = await DuckDBInstance.create(file);
    const c = await inst.connect();
    await c.run(`CREATE TABLE raw (${[...FIELDS].reverse().map((f) => `${d.quote(f.name)} ${d.columnType(f.kind)}`).join(', ')})`);
    const nf = [...NEIGHBORS.fields.filter((f) => f.name !== 'hostname'), NEIGHBORS.fields.find((f) => f.name === 'hostname')!];
    await c.run(`CREATE TABLE neighbors (${nf.map((f) => `${d.quote(f.name)} ${d.columnType(f.kind)}`).join(', ')})`);
    c.closeSync();
    inst.closeSync();

    const store = await openDuckDBStore({ path: file });
    const T = Date.UTC(2026, 10, 2);
    const a = parseIP('2001:db8::7');
    await store.append([{ ...emptyFlow(), time_received: T + 5, family: 6, src_addr: a.addr, dst_addr: a.addr, peer_addr: a.addr, src_port: 443, dst_port: 51000, proto: 6, device_id: 'tv', bytes: 2 ** 40, packets: 3, flows: 1 }]);
    const r = await store.query({ since: T, until: T + 60_000, groupBy: [{ field: 'device_id' }, { field: 'src_port' }, { field: 'dst_port' }, { field: 'src_addr' }] });
    expect(r.rows.map((x) => [x.device_id, x.src_port, x.dst_port, Buffer.from(x.src_addr as Uint8Array).equals(Buffer.from(a.addr)), x.bytes, x.packets])).toEqual([['tv', 443, 51000, true, 2 ** 40, 3]]);
    await store.facts!.append(NEIGHBORS, [{ seen_at: T, mac: 0x020000000001, family: 6, addr: a.addr, hostname: 'tv', source: 'dnsmasq', expires_at: 0 }]);
    const f = await store.facts!.read(NEIGHBORS);
    expect(f.map((x) => [x.hostname, x.source, x.mac])).toEqual([['tv', 'dnsmasq', 0x020000000001]]);
    await store.close();
  });
});
