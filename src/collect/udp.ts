/**
 * UDP listeners for the collectors, and the kernel's view of them: receive-buffer size, queued
 * bytes and drops (receive-buffer overflows) from /proc/net/udp and /proc/net/udp6, matched to our
 * own sockets by inode (the inodes of /proc/self/fd/* that are sockets) and local port.
 */
import dgram from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ListenAddress } from '../config/index.js';

export interface UdpListener {
  readonly address: ListenAddress;
  readonly socket: dgram.Socket;
  /** Bound port (differs from the configured one when that is 0). */
  readonly port: number;
  /** SO_RCVBUF granted by the kernel (Linux reports twice the requested size, capped by rmem_max). */
  readonly receiveBuffer: number;
}

export type MessageHandler = (msg: Buffer, rinfo: dgram.RemoteInfo, listener: UdpListener) => void;

/**
 * Bind one socket per address. IPv6 sockets are IPv6-only, so `0.0.0.0:2055` and `[::]:2055` can
 * both be bound. Rejects (closing what was opened) when one cannot be bound.
 */
export async function bindListeners(addresses: readonly ListenAddress[], receiveBuffer: number, onMessage: MessageHandler): Promise<UdpListener[]> {
  const out: UdpListener[] = [];
  try {
    for (const a of addresses) out.push(await bindOne(a, receiveBuffer, onMessage));
  } catch (e) {
    await closeListeners(out);
    throw e;
  }
  return out;
}

function bindOne(a: ListenAddress, receiveBuffer: number, onMessage: MessageHandler): Promise<UdpListener> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: a.family === 6 ? 'udp6' : 'udp4', ipv6Only: a.family === 6, recvBufferSize: receiveBuffer });
    let listener: UdpListener | null = null;
    const onError = (e: NodeJS.ErrnoException): void => {
      socket.close();
      reject(new Error(`cannot listen on ${a.text} (udp): ${e.code === 'EADDRINUSE' ? 'address already in use' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.message}`));
    };
    socket.once('error', onError);
    socket.bind({ address: a.host, port: a.port, exclusive: true }, () => {
      socket.off('error', onError);
      let rcv = 0;
      try {
        rcv = socket.getRecvBufferSize();
      } catch {
        rcv = 0;
      }
      listener = { address: a, socket, port: socket.address().port, receiveBuffer: rcv };
      const l = listener;
      socket.on('message', (msg, rinfo) => onMessage(msg, rinfo, l));
      // A socket error after binding (rare for UDP) must not crash the daemon.
      socket.on('error', (e) => process.stderr.write(`v6scope: listener ${a.text}: ${e.message}\n`));
      resolve(listener);
    });
  });
}

export async function closeListeners(ls: readonly UdpListener[]): Promise<void> {
  await Promise.all(ls.map((l) => new Promise<void>((r) => {
    try {
      l.socket.close(() => r());
    } catch {
      r();
    }
  })));
}

export interface SocketKernelStats {
  /** Bytes waiting in the receive queue. */
  rxQueue: number;
  /** Datagrams the kernel dropped for this socket (receive buffer full), since it was opened. */
  drops: number;
  inode: number;
}

/** Inodes of this process's sockets. */
function ownSocketInodes(): Set<number> {
  const s = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return s;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) s.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return s;
}

/**
 * Kernel counters of our UDP sockets by local port and family (`4/2055`, `6/2055`); empty when
 * /proc is not available (non-Linux).
 */
export function readSocketStats(): Map<string, SocketKernelStats> {
  const res = new Map<string, SocketKernelStats>();
  const inodes = ownSocketInodes();
  if (inodes.size === 0) return res;
  for (const [fam, file] of [
    [4, '/proc/net/udp'],
    [6, '/proc/net/udp6'],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 13) continue;
      const inode = Number(c[9]);
      if (!inodes.has(inode)) continue;
      const port = parseInt(c[1]!.split(':')[1] ?? '', 16);
      const rxQueue = parseInt(c[4]!.split(':')[1] ?? '0', 16);
      const drops = Number(c[c.length - 1]);
      const key = `${fam}/${port}`;
      const prev = res.get(key);
      // Several sockets on one port (not ours normally): add up.
      res.set(key, prev ? { rxQueue: prev.rxQueue + rxQueue, drops: prev.drops + drops, inode } : { rxQueue, drops: Number.isFinite(drops) ? drops : 0, inode });
    }
  }
  return res;
}
