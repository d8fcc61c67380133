import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatIP } from '../../../src/net/ip.js';
import { formatMac } from '../../../src/net/mac.js';
import { FORMAT_NAMES, importNeighbors, type ImportResult, type NeighborFact } from '../../../src/enrich/identity/import/index.js';
import { xorshift32 } from '../../helpers/rng.js';
import { hasTool } from '../../helpers/tools.js';
import * as F from './fixtures.js';

const FIXTURES: [string, string][] = Object.entries(F).filter((e): e is [string, string] => typeof e[1] === 'string');

/** Characters that matter to the grammars, plus some noise. */
const ALPHABET = ' \t{};"\\#,=:/.-*[]%&x0123456789abcdefABCDEF\u00e9\u0000\r\n';

function mutate(text: string, next: () => number): string {
  const lines = text.split('\n');
  const n = 1 + (next() % 4);
  for (let k = 0; k < n; k++) {
    const li = next() % lines.length;
    const line = lines[li]!;
    const pos = line.length === 0 ? 0 : next() % line.length;
    switch (next() % 8) {
      case 0: // delete a span
        lines[li] = line.slice(0, pos) + line.slice(pos + 1 + (next() % 6));
        break;
      case 1: // insert random characters
        lines[li] = line.slice(0, pos) + Array.from({ length: 1 + (next() % 4) }, () => ALPHABET[next() % ALPHABET.length]).join('') + line.slice(pos);
        break;
      case 2: // duplicate the line
        lines.splice(li, 0, line);
        break;
      case 3: // drop the line
        lines.splice(li, 1);
        if (lines.length === 0) lines.push('');
        break;
      case 4: // swap with another line
        {
          const lj = next() % lines.length;
          lines[li] = lines[lj]!;
          lines[lj] = line;
        }
        break;
      case 5: // truncate the line
        lines[li] = line.slice(0, pos);
        break;
      case 6: // replace a character
        lines[li] = line.slice(0, pos) + ALPHABET[next() % ALPHABET.length] + line.slice(pos + 1);
        break;
      default: // splice in a line from another fixture
        {
          const other = FIXTURES[next() % FIXTURES.length]![1].split('\n');
          lines.splice(li, 0, other[next() % other.length]!);
        }
    }
  }
  return lines.join('\n');
}

function checkResult(r: ImportResult, text: string): void {
  const nLines = Math.max(1, text.split('\n').length);
  for (const f of r.facts) {
    expect(f.addr).toBeInstanceOf(Uint8Array);
    expect(f.addr.length).toBe(16);
    expect(f.family === 4 || f.family === 6).toBe(true);
    expect(Number.isInteger(f.mac) && f.mac > 0 && f.mac <= 0xffff_ffff_ffff).toBe(true);
    expect(f.line >= 1 && f.line <= nLines).toBe(true);
    formatIP(f.addr, f.family); // an IPv4 fact must be IPv4-mapped
    formatMac(f.mac);
  }
  for (const e of r.errors) {
    expect(e.line >= 1 && e.line <= nLines).toBe(true);
    expect(typeof e.message).toBe('string');
    expect(typeof e.text).toBe('string');
  }
  expect(r.skipped).toBe(Object.values(r.skipReasons).reduce((a, b) => a + b, 0));
}

describe('random mutations never throw', () => {
  it.each(FIXTURES)('%s', (_name, text) => {
    const next = xorshift32(0x5eed + text.length);
    for (let i = 0; i < 300; i++) {
      const m = mutate(text, next);
      const auto = importNeighbors(m);
      checkResult(auto, m);
      const forced = FORMAT_NAMES[next() % FORMAT_NAMES.length]!;
      checkResult(importNeighbors(m, { format: forced, now: 1_700_000_000_000 }), m);
    }
  });

  it('every fixture under every forced format', () => {
    for (const [, text] of FIXTURES) for (const fmt of FORMAT_NAMES) checkResult(importNeighbors(text, { format: fmt }), text);
  });

  it('random bytes', () => {
    const next = xorshift32(42);
    for (let i = 0; i < 300; i++) {
      const s = Array.from({ length: next() % 200 }, () => ALPHABET[next() % ALPHABET.length]).join('');
      checkResult(importNeighbors(s), s);
      checkResult(importNeighbors(s, { format: FORMAT_NAMES[i % FORMAT_NAMES.length]! }), s);
    }
  });
});

/** A fact without its line (the text and JSON outputs number lines differently). */
function key(f: NeighborFact): string {
  return JSON.stringify({ mac: formatMac(f.mac), addr: formatIP(f.addr, f.family), state: f.state, isRouter: f.isRouter ?? false });
}

describe.skipIf(!hasTool('ip'))('this machine’s neighbour table', () => {
  for (const args of [['neigh', 'show'], ['neigh', 'show', 'nud', 'all']]) {
    it(`\`ip ${args.join(' ')}\` and \`ip -j ${args.join(' ')}\` give the same facts`, () => {
      // The table can change between the two runs (a STALE entry refreshed): retry a few times.
      let last: [string[], string[]] = [[], []];
      for (let attempt = 0; attempt < 5; attempt++) {
        const text = execFileSync('ip', args, { encoding: 'utf8' });
        const json = execFileSync('ip', ['-j', ...args], { encoding: 'utf8' });
        const a = importNeighbors(text);
        const b = importNeighbors(json);
        if (text.trim() !== '') expect(a.format).toBe('ip-neigh');
        expect(b.format).toBe(json.trim() === '' ? 'unknown' : 'ip-neigh-json');
        expect(a.errors).toEqual([]);
        expect(b.errors).toEqual([]);
        expect(a.skipped).toBe(b.skipped);
        last = [a.facts.map(key).sort(), b.facts.map(key).sort()];
        if (JSON.stringify(last[0]) === JSON.stringify(last[1])) break;
      }
      expect(last[0]).toEqual(last[1]);
    });
  }
});
