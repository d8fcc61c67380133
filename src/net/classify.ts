/** Special-purpose address classes (RFC 6890 registry) plus global unicast. */
import { parsePrefix, prefixContains, type Prefix } from './prefix.js';

export type AddressClass =
  | 'unspecified'
  | 'loopback'
  | 'ipv4-mapped'
  | 'nat64'
  | 'nat64-local'
  | 'discard'
  | 'teredo'
  | 'documentation'
  | '6to4'
  | 'ula'
  | 'link-local'
  | 'multicast'
  | 'global-unicast'
  | 'reserved'
  | 'this-network'
  | 'private'
  | 'shared'
  | 'benchmarking'
  | 'broadcast';

/** The table, most specific first within each family (documented in docs/). */
export const SPECIAL_PREFIXES: readonly { prefix: string; cls: AddressClass; rfc: string }[] = [
  { prefix: '::/128', cls: 'unspecified', rfc: 'RFC 4291' },
  { prefix: '::1/128', cls: 'loopback', rfc: 'RFC 4291' },
  { prefix: '::ffff:0:0/96', cls: 'ipv4-mapped', rfc: 'RFC 4291' },
  { prefix: '64:ff9b::/96', cls: 'nat64', rfc: 'RFC 6052' },
  { prefix: '64:ff9b:1::/48', cls: 'nat64-local', rfc: 'RFC 8215' },
  { prefix: '100::/64', cls: 'discard', rfc: 'RFC 6666' },
  { prefix: '2001:db8::/32', cls: 'documentation', rfc: 'RFC 3849' },
  { prefix: '2001::/32', cls: 'teredo', rfc: 'RFC 4380' },
  { prefix: '3fff::/20', cls: 'documentation', rfc: 'RFC 9637' },
  { prefix: '2002::/16', cls: '6to4', rfc: 'RFC 3056' },
  { prefix: 'fc00::/7', cls: 'ula', rfc: 'RFC 4193' },
  { prefix: 'fe80::/10', cls: 'link-local', rfc: 'RFC 4291' },
  { prefix: 'ff00::/8', cls: 'multicast', rfc: 'RFC 4291' },
  { prefix: '2000::/3', cls: 'global-unicast', rfc: 'RFC 4291' },
  { prefix: '255.255.255.255/32', cls: 'broadcast', rfc: 'RFC 919' },
  { prefix: '0.0.0.0/8', cls: 'this-network', rfc: 'RFC 791' },
  { prefix: '10.0.0.0/8', cls: 'private', rfc: 'RFC 1918' },
  { prefix: '100.64.0.0/10', cls: 'shared', rfc: 'RFC 6598' },
  { prefix: '127.0.0.0/8', cls: 'loopback', rfc: 'RFC 1122' },
  { prefix: '169.254.0.0/16', cls: 'link-local', rfc: 'RFC 3927' },
  { prefix: '172.16.0.0/12', cls: 'private', rfc: 'RFC 1918' },
  { prefix: '192.0.2.0/24', cls: 'documentation', rfc: 'RFC 5737' },
  { prefix: '192.168.0.0/16', cls: 'private', rfc: 'RFC 1918' },
  { prefix: '198.18.0.0/15', cls: 'benchmarking', rfc: 'RFC 2544' },
  { prefix: '198.51.100.0/24', cls: 'documentation', rfc: 'RFC 5737' },
  { prefix: '203.0.113.0/24', cls: 'documentation', rfc: 'RFC 5737' },
  { prefix: '224.0.0.0/4', cls: 'multicast', rfc: 'RFC 5771' },
  { prefix: '240.0.0.0/4', cls: 'reserved', rfc: 'RFC 1112' },
];

const PARSED: { p: Prefix; cls: AddressClass }[] = SPECIAL_PREFIXES.map((s) => ({ p: parsePrefix(s.prefix), cls: s.cls })).sort(
  (a, b) => b.p.length + (b.p.family === 4 ? 96 : 0) - (a.p.length + (a.p.family === 4 ? 96 : 0)),
);

/** The class of an address; family 4 classifies the IPv4 part of a mapped address. */
export function classify(addr: Uint8Array, family: 4 | 6): AddressClass {
  for (const { p, cls } of PARSED) {
    if (p.family === family && prefixContains(p, addr, family)) return cls;
  }
  return family === 4 ? 'global-unicast' : 'reserved';
}

const LOCAL: ReadonlySet<AddressClass> = new Set(['private', 'shared', 'loopback', 'link-local', 'ula', 'unspecified']);

export function isLocalScope(addr: Uint8Array, family: 4 | 6): boolean {
  return LOCAL.has(classify(addr, family));
}
