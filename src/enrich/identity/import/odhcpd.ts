/**
 * OpenWrt odhcpd lease/state file (`option leasefile`, by default `/tmp/hosts/odhcpd` or
 * `/tmp/odhcpd.leases`). Each lease is a comment line
 *   `# IFACE DUID IAID HOSTNAME VALID_UNTIL ASSIGNMENT_ID LENGTH ADDR/LEN [ADDR/LEN...]`
 * (DUID in plain hex, IAID and assignment id in hex, hostname `-` when absent and prefixed
 * `broken\x20` when invalid, VALID_UNTIL epoch seconds, -1 infinite, 0 expired), followed by
 * hosts-style lines `ADDR FQDN NAME` that carry no MAC. DHCPv4 leases (newer odhcpd) use the MAC
 * as "DUID" and `ipv4` as IAID. LENGTH < 128 is a delegated prefix (skipped).
 */
import type { ImportOptions, ImportResult, NeighborFact } from './types.js';
import { Collector, hexBytes, ipOf, isBlank, macFromDuid, parseHexUint, parseUint, splitLines, tokens } from './util.js';

const TWO32 = 0x1_0000_0000;

export function parseOdhcpd(text: string, _opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (isBlank(line)) continue;
    const t = tokens(line);
    if (t[0] !== '#') {
      if (ipOf(t[0]!) !== null) c.skip('hosts line');
      else c.error(lineNo, 'expected a "# IFACE DUID IAID ..." lease line or an "ADDR NAME" hosts line', line);
      continue;
    }
    if (t.length < 8) {
      c.error(lineNo, `expected at least 8 fields after "#" (iface, duid, iaid, hostname, valid-until, id, length, addresses), got ${t.length - 1}`, line);
      continue;
    }
    const [, , duidText, iaidText, hostText, tsText, idText, lenText] = t as [string, string, string, string, string, string, string, string];
    const v4 = iaidText === 'ipv4';
    if (!v4 && Number.isNaN(parseHexUint(iaidText))) {
      c.error(lineNo, `IAID ${JSON.stringify(iaidText)} is not hex`, line);
      continue;
    }
    const ts = tsText === '-1' ? -1 : parseUint(tsText);
    if (Number.isNaN(ts)) {
      c.error(lineNo, `valid-until ${JSON.stringify(tsText)} is not a number`, line);
      continue;
    }
    const length = parseUint(lenText);
    if (Number.isNaN(parseHexUint(idText)) || Number.isNaN(length) || length > 128) {
      c.error(lineNo, `bad assignment id/length ${JSON.stringify(`${idText} ${lenText}`)}`, line);
      continue;
    }
    const duid = hexBytes(duidText);
    if (duid === null) {
      c.error(lineNo, `DUID ${JSON.stringify(duidText)} is not hex`, line);
      continue;
    }
    let mac: number;
    if (v4) {
      if (duid.length !== 6) {
        c.skip('non-Ethernet hardware address');
        continue;
      }
      mac = ((duid[0]! << 8) | duid[1]!) * TWO32 + (((duid[2]! << 24) | (duid[3]! << 16) | (duid[4]! << 8) | duid[5]!) >>> 0);
    } else {
      const m = macFromDuid(duid);
      if ('reason' in m) {
        c.skip(m.reason);
        continue;
      }
      mac = m.mac;
    }
    if (!v4 && length < 128) {
      c.skip('delegated prefix');
      continue;
    }
    if (ts === 0) {
      c.skip('expired lease');
      continue;
    }
    const addrs = t.slice(8);
    if (addrs.length === 0) {
      c.skip('lease without addresses');
      continue;
    }
    let hostname: string | undefined;
    if (hostText !== '-' && !hostText.startsWith('broken\\x20')) hostname = hostText;
    for (const a of addrs) {
      const slash = a.indexOf('/');
      const ip = ipOf(slash < 0 ? a : a.slice(0, slash));
      const plen = slash < 0 ? NaN : parseUint(a.slice(slash + 1));
      if (ip === null || ip.zone !== undefined || ip.port !== undefined || Number.isNaN(plen)) {
        c.error(lineNo, `address ${JSON.stringify(a)} is not ADDRESS/LENGTH`, line);
        continue;
      }
      if (ip.family !== (v4 ? 4 : 6)) {
        c.error(lineNo, `address ${JSON.stringify(a)} is not an IPv${v4 ? 4 : 6} address`, line);
        continue;
      }
      const f: NeighborFact = { mac, family: ip.family, addr: ip.addr, source: 'odhcpd', line: lineNo };
      if (hostname !== undefined) f.hostname = hostname;
      f.expiresAt = ts === -1 ? Infinity : ts * 1000;
      c.fact(f);
    }
  }
  return c.result('odhcpd');
}
