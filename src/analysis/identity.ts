/**
 * Device identity across addresses: flows from sources without MACs (NetFlow/IPFIX from a router,
 * VPC logs) carry addresses as device ids, and a device's IPv6 privacy addresses rotate daily. The
 * resolver maps each such address to the device's MAC when the evidence says so:
 * - neighbour tables and DHCP leases (`v6scope import`): this MAC had this address;
 * - EUI-64 interface ids (RFC 4291 appendix A): the MAC is in the address itself.
 * An id that is already a MAC, or an address without evidence, stays as it is.
 */
import { formatIP, tryParseIP } from '../net/ip.js';
import { formatMac, isEui64, macFromEui64 } from '../net/mac.js';
import { NEIGHBORS } from '../schema/facts.js';
import type { FlowStore } from '../store/store.js';

export interface DeviceResolver {
  /** The device id to report for a flow's device_id. */
  resolve(deviceId: string): string;
  /** Addresses mapped to MACs by neighbour/lease evidence. */
  readonly mapped: number;
}

export async function loadDeviceResolver(store: FlowStore): Promise<DeviceResolver> {
  const byAddr = new Map<string, string>();
  const facts = store.facts ? await store.facts.read(NEIGHBORS) : [];
  // in time order: a later fact for the same address (reassigned by DHCP) wins
  for (const f of facts) byAddr.set(formatIP(f.addr as Uint8Array, Number(f.family) as 4 | 6), formatMac(Number(f.mac)));
  const cache = new Map<string, string>();
  return {
    mapped: byAddr.size,
    resolve(id: string): string {
      const hit = cache.get(id);
      if (hit !== undefined) return hit;
      let out = id;
      const p = tryParseIP(id);
      if (p) {
        const text = formatIP(p.addr, p.family);
        const mac = byAddr.get(text);
        if (mac) out = mac;
        else if (p.family === 6 && isEui64(p.addr)) {
          const m = macFromEui64(p.addr);
          if (m !== null) out = formatMac(m);
        }
      }
      cache.set(id, out);
      return out;
    },
  };
}
