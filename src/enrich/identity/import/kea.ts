/**
 * ISC Kea memfile lease files (CSV, header first):
 *   kea-leases4.csv `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,
 *                    hostname,state,user_context[,pool_id]`
 *   kea-leases6.csv `address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,
 *                    prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context
 *                    [,hwtype,hwaddr_source,pool_id]`
 * Columns are found by name, so older and newer schema versions both work. Kea escapes commas (and
 * other reserved characters) in text fields as `&#xNN`. The file is append-only between cleanups:
 * the last row for an address wins, and a last row with valid_lifetime 0 (deleted) or a state other
 * than 0 (declined, expired-reclaimed, released) means no current binding. Prefix delegations
 * (lease_type 2) are skipped. `expire` is epoch seconds; `expire - valid_lifetime` is the client's
 * last transmission time (`seenAt`); valid_lifetime 4294967295 is infinite.
 */
import type { ImportOptions, ImportResult, NeighborFact } from './types.js';
import { Collector, hexBytes, ipOf, isBlank, macFromDuid, macOf, parseUint, splitLines } from './util.js';

const INFINITE = 0xffffffff;
const KEA4_HEADER = 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id'.split(',');
const KEA6_HEADER =
  'address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source,pool_id'.split(',');

/** Undo Kea's `&#xNN` escapes. */
export function keaUnescape(s: string): string {
  if (!s.includes('&#x')) return s;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('&#x', i) && i + 5 <= s.length) {
      const v = Number.parseInt(s.slice(i + 3, i + 5), 16);
      const hex = s.slice(i + 3, i + 5);
      if (!Number.isNaN(v) && hexBytes(hex) !== null) {
        out += String.fromCharCode(v);
        i += 5;
        continue;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

export function parseKea(text: string, opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  let header: readonly string[] | null = null;
  let v6 = false;
  const col: Record<string, number> = {};
  const byAddr = new Map<string, NeighborFact | null>();
  const put = (key: string, f: NeighborFact | null): void => {
    if (byAddr.has(key)) {
      c.skip('superseded by a later entry');
      byAddr.delete(key);
    }
    byAddr.set(key, f);
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (isBlank(line)) continue;
    const cells = line.split(',');
    if (header === null) {
      const isHeader = cells[0] === 'address' && (cells.includes('hwaddr') || cells.includes('duid'));
      if (isHeader) header = cells;
      else {
        c.error(lineNo, 'expected a Kea CSV header ("address,hwaddr,..." or "address,duid,..."); assuming the current schema', line);
        header = opts.format === 'kea6' || (ipOf(cells[0] ?? '')?.family === 6) ? KEA6_HEADER : KEA4_HEADER;
        if (cells.length !== header.length) header = header === KEA6_HEADER ? KEA6_HEADER.slice(0, 15) : KEA4_HEADER.slice(0, 11);
      }
      header.forEach((name, k) => (col[name] = k));
      v6 = header.includes('duid');
      if (isHeader) {
        c.skip('header');
        continue;
      }
    }
    if (cells[0] === 'address') {
      c.skip('header');
      continue;
    }
    if (cells.length !== header.length) {
      c.error(lineNo, `expected ${header.length} columns like the header, got ${cells.length}`, line);
      continue;
    }
    const get = (name: string): string | undefined => {
      const k = col[name];
      return k === undefined ? undefined : keaUnescape(cells[k]!);
    };
    const addrText = get('address')!;
    const ip = ipOf(addrText);
    if (ip === null || ip.zone !== undefined || ip.port !== undefined || ip.family !== (v6 ? 6 : 4)) {
      c.error(lineNo, `address ${JSON.stringify(addrText)} is not an IPv${v6 ? 6 : 4} address`, line);
      continue;
    }
    const valid = parseUint(get('valid_lifetime') ?? '');
    const expire = parseUint(get('expire') ?? '');
    const stateText = get('state') ?? '0';
    const state = stateText === '' ? 0 : parseUint(stateText);
    if (Number.isNaN(valid) || Number.isNaN(expire) || Number.isNaN(state)) {
      c.error(lineNo, 'valid_lifetime, expire and state must be non-negative integers', line);
      continue;
    }
    let keyBytes = '';
    for (const b of ip.addr) keyBytes += b.toString(16).padStart(2, '0');
    if (v6) {
      const lt = parseUint(get('lease_type') ?? '0');
      if (Number.isNaN(lt) || lt > 2) {
        c.error(lineNo, `lease_type ${JSON.stringify(get('lease_type'))} is not 0, 1 or 2`, line);
        continue;
      }
      if (lt === 2) {
        c.skip('prefix delegation');
        continue;
      }
    }
    if (valid === 0) {
      put(keyBytes, null);
      c.skip('deleted lease');
      continue;
    }
    if (state !== 0) {
      put(keyBytes, null);
      c.skip(state === 1 ? 'declined lease' : state === 2 ? 'expired-reclaimed lease' : state === 3 ? 'released lease' : `lease state ${state}`);
      continue;
    }
    // MAC: the hwaddr column (v4 always; v6 when Kea learned it), else a v6 DUID-LL/LLT.
    const hw = get('hwaddr') ?? '';
    let mac: number | null = null;
    if (hw !== '') {
      mac = macOf(hw);
      if (mac === null) {
        const b = hexBytes(hw);
        if (b === null) {
          c.error(lineNo, `hwaddr ${JSON.stringify(hw)} is not hex`, line);
          continue;
        }
        if (!v6) {
          put(keyBytes, null);
          c.skip('non-Ethernet hardware address');
          continue;
        }
      }
      const hwtype = get('hwtype');
      if (mac !== null && hwtype !== undefined && hwtype !== '' && hwtype !== '1') mac = null;
    }
    if (mac === null && v6) {
      const d = hexBytes(get('duid') ?? '');
      if (d === null) {
        c.error(lineNo, `duid ${JSON.stringify(get('duid'))} is not hex`, line);
        continue;
      }
      const m = macFromDuid(d);
      if ('reason' in m) {
        put(keyBytes, null);
        c.skip(m.reason);
        continue;
      }
      mac = m.mac;
    }
    if (mac === null) {
      put(keyBytes, null);
      c.skip('lease without a hardware address');
      continue;
    }
    const f: NeighborFact = { mac, family: ip.family, addr: ip.addr, source: v6 ? 'kea6' : 'kea4', line: lineNo, state: 'default' };
    const host = get('hostname') ?? '';
    if (host !== '') f.hostname = host;
    if (valid === INFINITE) f.expiresAt = Infinity;
    else {
      f.expiresAt = expire * 1000;
      if (expire >= valid) f.seenAt = (expire - valid) * 1000;
    }
    put(keyBytes, f);
  }
  const winners: NeighborFact[] = [];
  for (const f of byAddr.values()) if (f !== null) winners.push(f);
  winners.sort((x, y) => x.line - y.line);
  for (const f of winners) c.fact(f);
  const fmt = header === null ? (opts.format === 'kea6' ? 'kea6' : 'kea4') : v6 ? 'kea6' : 'kea4';
  return c.result(fmt);
}
