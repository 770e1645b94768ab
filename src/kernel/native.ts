/**
 * The typed face of lvsd's native shim (src/native/lvsd_native.c).
 *
 * The shim offers BSD socket calls only; sockaddr layouts, option values and
 * control messages are built and parsed here, in TypeScript. Every socket the
 * shim opens is non-blocking and close-on-exec.
 */
import * as path from 'node:path';

/** One datagram as `recvmsg(2)` returned it. */
export interface RecvResult {
  /** The payload, cut to the length asked for (see `flags` & MSG_TRUNC). */
  readonly data: Buffer;
  /** The sender's sockaddr bytes. */
  readonly addr: Buffer;
  /** Ancillary data (cmsghdr records) bytes. */
  readonly control: Buffer;
  /** recvmsg's msg_flags. */
  readonly flags: number;
}

/** An opaque libuv poll handle. */
export type PollHandle = { readonly __pollHandle: unique symbol };

/** The functions the shim exports. Errors are thrown with `code` = errno name. */
export interface NativeBinding {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, sockaddr: Uint8Array): void;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void;
  getsockopt(fd: number, level: number, name: number, maxLen: number): Buffer;
  /** Returns bytes sent; `sockaddr` null sends on a connected/bound socket. */
  sendto(fd: number, data: Uint8Array, sockaddr: Uint8Array | null): number;
  /** null when nothing is waiting (EAGAIN). */
  recvmsg(fd: number, maxLen: number, controlLen: number): RecvResult | null;
  close(fd: number): void;
  /** 0 when the interface does not exist. */
  ifNameToIndex(name: string): number;
  /** Calls `onReadable(null)` each time fd becomes readable, or with a libuv error name. */
  pollStart(fd: number, onReadable: (err: string | null) => void): PollHandle;
  pollStop(handle: PollHandle): void;
}

/** An Error thrown by the shim. */
export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

/** True when `e` is an error from the shim with the given errno name. */
export function isErrno(e: unknown, code: string): e is NativeError {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

let cached: NativeBinding | undefined;

/**
 * Loads the compiled shim. Throws an Error with code ENATIVE_MISSING and a
 * hint when `npm run build` has not built it.
 */
export function native(): NativeBinding {
  if (cached) return cached;
  const root = path.resolve(__dirname, '..', '..', '..');
  const candidates = [
    path.join(root, 'build', 'Release', 'lvsd_native.node'),
    path.join(root, 'build', 'Debug', 'lvsd_native.node'),
  ];
  for (const file of candidates) {
    try {
      cached = require(file) as NativeBinding;
      return cached;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  const err = new Error(
    `lvsd's native shim is not built (looked for ${candidates[0]}); run \`npm run build\``,
  ) as Error & { code: string };
  err.code = 'ENATIVE_MISSING';
  throw err;
}

/** Linux constants the kernel code uses (values from the glibc/kernel headers, x86_64 and arm64 alike). */
export const AF = { UNSPEC: 0, INET: 2, INET6: 10, NETLINK: 16, PACKET: 17 } as const;
export const SOCK = { STREAM: 1, DGRAM: 2, RAW: 3 } as const;
export const SOL = { IP: 0, SOCKET: 1, IPV6: 41, PACKET: 263, NETLINK: 270 } as const;
export const SO = { REUSEADDR: 2, SNDBUF: 7, RCVBUF: 8, BINDTODEVICE: 25, RCVBUFFORCE: 33 } as const;
export const IP = {
  HDRINCL: 3,
  PKTINFO: 8,
  RECVTTL: 12,
  TTL: 2,
  MULTICAST_IF: 32,
  MULTICAST_TTL: 33,
  MULTICAST_LOOP: 34,
  ADD_MEMBERSHIP: 35,
  DROP_MEMBERSHIP: 36,
  MULTICAST_ALL: 49,
} as const;
export const IPV6 = {
  CHECKSUM: 7,
  UNICAST_HOPS: 16,
  MULTICAST_IF: 17,
  MULTICAST_HOPS: 18,
  MULTICAST_LOOP: 19,
  ADD_MEMBERSHIP: 20,
  DROP_MEMBERSHIP: 21,
  V6ONLY: 26,
  RECVPKTINFO: 49,
  PKTINFO: 50,
  RECVHOPLIMIT: 51,
  HOPLIMIT: 52,
  MULTICAST_ALL: 29,
} as const;
export const MSG = { TRUNC: 0x20 } as const;
export const IPPROTO = { IP: 0, ICMP: 1, TCP: 6, UDP: 17, IPV6: 41, ICMPV6: 58, VRRP: 112, SCTP: 132 } as const;
export const ETH_P = { IP: 0x0800, ARP: 0x0806, IPV6: 0x86dd, ALL: 0x0003 } as const;
