/** A small demo network ingested as `v6scope demo` does, into a temp data directory (once per test file). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateDemo, type GroundTruth } from '../../src/demo/index.js';
import { importNeighbors } from '../../src/enrich/identity/import/index.js';
import { LocalEnricher } from '../../src/enrich/local.js';
import { ingestCaptureFile } from '../../src/pipeline/ingest-capture.js';
import { NEIGHBORS } from '../../src/schema/facts.js';
import { openStore } from '../../src/store/index.js';
import type { FlowStore } from '../../src/store/store.js';

export interface DemoFixture {
  dir: string;
  dataDir: string;
  store: FlowStore;
  truth: GroundTruth;
  cleanup(): Promise<void>;
}

export async function demoFixture(o: { days?: number } = {}): Promise<DemoFixture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-api-'));
  const dataDir = path.join(dir, 'data');
  const demo = await generateDemo({ seed: 21, start: Date.UTC(2026, 0, 5), days: o.days ?? 2, outDir: path.join(dataDir, 'demo') });
  const truth = demo.truth;
  const store = await openStore(dataDir);
  const res = await ingestCaptureFile(demo.pcapPath, { store, enricher: new LocalEnricher({ localPrefixes: truth.localPrefixes }) });
  if (res.error) throw res.error;
  const imp = importNeighbors(readFileSync(demo.leasesPath, 'utf8'), { fileName: path.basename(demo.leasesPath) });
  if (imp.errors.length) throw new Error(imp.errors[0]!.message);
  await store.facts!.append(
    NEIGHBORS,
    imp.facts.map((f) => ({ seen_at: truth.end, mac: f.mac, family: f.family, addr: f.addr, hostname: f.hostname ?? '', source: f.source, expires_at: f.expiresAt ?? 0 })),
  );
  return {
    dir,
    dataDir,
    store,
    truth,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A minimal Prometheus text-format (0.0.4) parser: throws on anything malformed. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export function parseProm(text: string): { types: Map<string, string>; samples: PromSample[] } {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: PromSample[] = [];
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      const name = line.slice(7).split(' ')[0]!;
      if (!NAME.test(name) || helps.has(name)) throw new Error(`bad or repeated HELP: ${where}`);
      helps.add(name);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (!NAME.test(name!) || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!) || types.has(name!)) throw new Error(`bad TYPE: ${where}`);
      types.set(name!, type!);
      return;
    }
    if (line.startsWith('#') || line === '') throw new Error(`unexpected line: ${where}`);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`bad sample: ${where}`);
    const labels: Record<string, string> = {};
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y;
      let pos = 0;
      while (pos < m[3].length) {
        re.lastIndex = pos;
        const l = re.exec(m[3]);
        if (!l) throw new Error(`bad labels: ${where}`);
        if (l[1]! in labels) throw new Error(`repeated label: ${where}`);
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
        pos = re.lastIndex;
      }
    }
    const v = m[4]!;
    const value = v === 'NaN' ? NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`bad value: ${where}`);
    const name = m[1]!;
    const family = [...types.keys()].find((f) => name === f || (types.get(f) === 'histogram' && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(name)));
    if (!family) throw new Error(`sample before its TYPE: ${where}`);
    samples.push({ name, labels, value });
  });
  return { types, samples };
}
