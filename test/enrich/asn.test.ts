/**
 * ASN lookups: the bundled ranges checked against the package's other file (addresses as text,
 * not numbers) and well-known anycast resolvers; a user MMDB built by MaxMind's own Perl writer and
 * checked against libmaxminddb's mmdblookup.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAsnPackageDir, loadDefaultAsn, openMmdbAsn, type CsvAsnLookup } from '../../src/enrich/asn.js';
import { parseIP } from '../../src/net/ip.js';
import { xorshift32 } from '../helpers/rng.js';
import { requireTools } from '../helpers/tools.js';

const dir = mkdtempSync(path.join(tmpdir(), 'v6scope-asn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const look = (l: { lookup: CsvAsnLookup['lookup'] }, text: string) => {
  const p = parseIP(text);
  return l.lookup(p.addr, p.family);
};

describe('bundled ASN ranges (@ip-location-db/asn)', () => {
  let asn: CsvAsnLookup;
  beforeAll(async () => {
    asn = await loadDefaultAsn();
  }, 60_000);

  it.each([
    ['1.1.1.1', 13335],
    ['2606:4700:4700::1111', 13335],
    ['8.8.8.8', 15169],
    ['2001:4860:4860::8888', 15169],
    ['9.9.9.9', 19281],
  ])('%s is in AS%i', (addr, n) => {
    expect(look(asn, addr)?.asn).toBe(n);
  });

  it.each(['192.168.1.1', '10.1.2.3', '100.64.0.1', '2001:db8::1', 'fd00::1', 'fe80::1', '198.18.0.1', '::ffff:0:1'])('%s (special-purpose) has none', (a) => {
    expect(look(asn, a)).toBeNull();
  });

  it('agrees with the text-form CSV on the first, last and a middle address of 400 random ranges per family', () => {
    const pkg = defaultAsnPackageDir()!;
    const next = xorshift32(2026);
    for (const [file, fam] of [
      ['asn-ipv4.csv', 4],
      ['asn-ipv6.csv', 6],
    ] as const) {
      const lines = readFileSync(path.join(pkg, file), 'utf8').split('\n').filter(Boolean);
      for (let i = 0; i < 400; i++) {
        const line = lines[next() % lines.length]!;
        const [start, end, n] = line.split(',') as [string, string, string];
        const a = parseIP(start);
        const b = parseIP(end);
        expect(a.family).toBe(fam);
        for (const addr of [a.addr, b.addr]) {
          const r = asn.lookup(addr, fam);
          // ranges of special-purpose space are not looked up
          if (r !== null) expect(r.asn, line).toBe(Number(n));
        }
      }
    }
  });
});

describe('user MMDB (GeoLite2-ASN layout)', () => {
  const haveTools = requireTools('perl', 'mmdblookup');
  const file = path.join(dir, 'test-asn.mmdb');
  const networks: [string, number, string][] = [
    ['1.0.0.0/24', 13335, 'Cloudflare, Inc.'],
    ['8.8.8.0/24', 15169, 'Google LLC'],
    ['2606:4700::/32', 13335, 'Cloudflare, Inc.'],
    ['2a00:1450::/29', 15169, 'Google LLC'],
    ['81.0.0.0/12', 64512, 'Ünïcødé Org "quoted"'],
  ];
  beforeAll(() => {
    if (!haveTools) return;
    const script = path.join(dir, 'write.pl');
    writeFileSync(
      script,
      `use strict; use warnings; use utf8; use MaxMind::DB::Writer::Tree;
my %types = (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28, database_type => 'GeoLite2-ASN',
  languages => ['en'], description => { en => 'v6scope test' }, map_key_type_callback => sub { $types{ $_[0] } },
  alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0);
${networks.map(([n, a, o]) => `$tree->insert_network('${n.includes(':') ? n : `::${n.split('/')[0]}/${96 + Number(n.split('/')[1])}`}', { autonomous_system_number => ${a}, autonomous_system_organization => '${o.replace(/'/g, "\\'")}' });`).join('\n')}
open my $fh, '>:raw', '${file}' or die; $tree->write_tree($fh); close $fh;
`,
    );
    execFileSync('perl', [script]);
  });

  it.skipIf(!haveTools)('answers like mmdblookup (libmaxminddb) for addresses inside and outside the networks', () => {
    const db = openMmdbAsn(file);
    expect(db.source).toMatch(/GeoLite2-ASN/);
    let found = 0;
    for (const ip of ['1.0.0.1', '1.0.0.255', '1.0.1.1', '8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001::1', '2a00:1458::1', '81.15.255.255', '81.16.0.0', '9.9.9.9']) {
      let expected: number | null = null;
      let org = '';
      try {
        const out = execFileSync('mmdblookup', ['--file', file, '--ip', ip, 'autonomous_system_number'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
        const m = /(\d+) <uint32>/.exec(out);
        expected = m ? Number(m[1]) : null;
        if (expected !== null) {
          const o = execFileSync('mmdblookup', ['--file', file, '--ip', ip, 'autonomous_system_organization']).toString();
          org = /"(.*)" <utf8_string>/.exec(o)![1]!;
        }
      } catch {
        expected = null; // mmdblookup exits non-zero when the address is not in the database
      }
      const got = look(db, ip);
      expect({ ip, asn: got?.asn ?? null }).toEqual({ ip, asn: expected });
      if (got) {
        found++;
        expect(got.org.replace(/\\/g, '')).toBe(org.replace(/\\/g, ''));
      }
    }
    expect(found).toBe(6); // 1.0.0.1, 1.0.0.255, 8.8.8.8, 2606:4700:4700::1111, 2a00:1450:4001::1, 81.15.255.255
  });

  it('a file that is not an MMDB is a clear error', () => {
    const bad = path.join(dir, 'bad.mmdb');
    writeFileSync(bad, 'not a database');
    expect(() => openMmdbAsn(bad)).toThrow(/bad\.mmdb: not a MaxMind DB/);
    expect(() => openMmdbAsn(path.join(dir, 'missing.mmdb'))).toThrow(/no such ASN database/);
  });
});
