/**
 * dnsmasq lease file (`/var/lib/misc/dnsmasq.leases`, OpenWrt `/tmp/dhcp.leases`).
 *
 * DHCPv4 lines: `EXPIRY MAC IP HOSTNAME CLIENTID` — expiry in epoch seconds (0 = infinite),
 * hostname and client id `*` when absent; a non-Ethernet hardware address is written
 * `TT-xx:xx:...` (TT = ARP hardware type). After the `duid SERVERDUID` line come the DHCPv6
 * leases: `EXPIRY [T]IAID IPV6 HOSTNAME CLIENTDUID` (T = temporary address). The MAC of a DHCPv6
 * lease comes from the client DUID when it is DUID-LLT or DUID-LL over Ethernet; other DUIDs carry
 * no MAC and are skipped (counted by reason), not errors.
 */
import type { ImportOptions, ImportResult, NeighborFact } from './types.js';
import { Collector, hexBytes, ipOf, isBlank, macFromDuid, macOf, parseUint, splitLines, tokens } from './util.js';

export function parseDnsmasq(text: string, _opts: ImportOptions = {}): ImportResult {
  const c = new Collector();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (isBlank(line)) continue;
    const t = tokens(line);
    if (t[0] === 'duid') {
      if (t.length !== 2 || hexBytes(t[1]!) === null) c.error(lineNo, 'expected "duid" and the server DUID in hex', line);
      else c.skip('server DUID line');
      continue;
    }
    if (t[0]!.startsWith('#')) {
      c.skip('comment');
      continue;
    }
    if (t.length < 4 || t.length > 5) {
      c.error(lineNo, `expected 5 fields (expiry, MAC or IAID, address, hostname, client id), got ${t.length}`, line);
      continue;
    }
    const expiry = parseUint(t[0]!);
    if (Number.isNaN(expiry)) {
      c.error(lineNo, `expiry ${JSON.stringify(t[0])} is not a number of seconds`, line);
      continue;
    }
    const ip = ipOf(t[2]!);
    if (ip === null || ip.port !== undefined || ip.zone !== undefined) {
      c.error(lineNo, `address ${JSON.stringify(t[2])} is not an IP address`, line);
      continue;
    }
    const host = t[3]!;
    const f: NeighborFact = { mac: 0, family: ip.family, addr: ip.addr, source: 'dnsmasq', line: lineNo };
    if (host !== '*') f.hostname = host;
    f.expiresAt = expiry === 0 ? Infinity : expiry * 1000;
    if (ip.family === 4) {
      const hw = t[1]!;
      const mac = macOf(hw);
      if (mac === null) {
        // "TT-xx:xx..." is a non-Ethernet (or empty) hardware address, written as dnsmasq does.
        const dash = hw.indexOf('-');
        if (dash === 2 && hexBytes(hw.slice(0, 2)) !== null && (dash + 1 === hw.length || hexBytes(hw.slice(dash + 1)) !== null)) {
          c.skip('non-Ethernet hardware address');
        } else c.error(lineNo, `hardware address ${JSON.stringify(hw)} is not a MAC address`, line);
        continue;
      }
      f.mac = mac;
      c.fact(f);
      continue;
    }
    // DHCPv6: [T]IAID, client DUID.
    let iaid = t[1]!;
    if (iaid.startsWith('T')) iaid = iaid.slice(1);
    if (Number.isNaN(parseUint(iaid))) {
      c.error(lineNo, `IAID ${JSON.stringify(t[1])} is not a number`, line);
      continue;
    }
    const duidText = t[4];
    if (duidText === undefined || duidText === '*') {
      c.skip('no client DUID');
      continue;
    }
    const duid = hexBytes(duidText);
    if (duid === null) {
      c.error(lineNo, `client DUID ${JSON.stringify(duidText)} is not hex`, line);
      continue;
    }
    const m = macFromDuid(duid);
    if ('reason' in m) {
      c.skip(m.reason);
      continue;
    }
    f.mac = m.mac;
    c.fact(f);
  }
  return c.result('dnsmasq');
}
