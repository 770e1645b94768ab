/**
 * sockaddr and ancillary-data layouts, as bytes (Linux, little- or big-endian
 * hosts alike: multi-byte fields that the kernel keeps in host order are
 * written with the host's order, network-order fields big-endian).
 */
import * as os from 'node:os';
import { AF } from './native';

const LE = os.endianness() === 'LE';

function hostU16(b: Buffer, off: number, v: number): void {
  if (LE) b.writeUInt16LE(v, off);
  else b.writeUInt16BE(v, off);
}
function hostU32(b: Buffer, off: number, v: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, off);
  else b.writeUInt32BE(v >>> 0, off);
}
/** Reads a host-order 32-bit unsigned integer. */
export function readHostU32(b: Uint8Array, off: number): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
}
/** Reads a host-order 16-bit unsigned integer. */
export function readHostU16(b: Uint8Array, off: number): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
}
/** Writes a host-order 32-bit unsigned integer into a fresh 4-byte buffer (setsockopt int values). */
export function hostInt(v: number): Buffer {
  const b = Buffer.alloc(4);
  hostU32(b, 0, v);
  return b;
}

/** struct sockaddr_in (16 bytes). `addr` is 4 bytes in network order. */
export function sockaddrIn(addr: Uint8Array, port = 0): Buffer {
  if (addr.length !== 4) throw new RangeError('IPv4 address must be 4 bytes');
  const b = Buffer.alloc(16);
  hostU16(b, 0, AF.INET);
  b.writeUInt16BE(port, 2);
  b.set(addr, 4);
  return b;
}

/** struct sockaddr_in6 (28 bytes). */
export function sockaddrIn6(addr: Uint8Array, port = 0, scopeId = 0): Buffer {
  if (addr.length !== 16) throw new RangeError('IPv6 address must be 16 bytes');
  const b = Buffer.alloc(28);
  hostU16(b, 0, AF.INET6);
  b.writeUInt16BE(port, 2);
  b.set(addr, 8);
  hostU32(b, 24, scopeId);
  return b;
}

/** struct sockaddr_ll (20 bytes), for packet sockets. */
export function sockaddrLl(ifindex: number, protocol: number, dstMac?: Uint8Array): Buffer {
  const b = Buffer.alloc(20);
  hostU16(b, 0, AF.PACKET);
  b.writeUInt16BE(protocol, 2);
  hostU32(b, 4, ifindex);
  if (dstMac) {
    b[11] = dstMac.length;
    b.set(dstMac.subarray(0, 8), 12);
  }
  return b;
}

/** struct sockaddr_nl (12 bytes). */
export function sockaddrNl(pid = 0, groups = 0): Buffer {
  const b = Buffer.alloc(12);
  hostU16(b, 0, AF.NETLINK);
  hostU32(b, 4, pid);
  hostU32(b, 8, groups);
  return b;
}

/** struct ip_mreqn: join `group` on interface `ifindex`. */
export function ipMreqn(group: Uint8Array, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  b.set(group, 0);
  hostU32(b, 8, ifindex);
  return b;
}

/** struct ipv6_mreq: join `group` on interface `ifindex`. */
export function ipv6Mreq(group: Uint8Array, ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  b.set(group, 0);
  hostU32(b, 16, ifindex);
  return b;
}

/** A decoded sender address. */
export interface SockAddr {
  family: number;
  /** Address bytes (4 or 16), or the link-layer address for AF_PACKET. */
  addr: Uint8Array;
  port: number;
  /** IPv6 scope id, or ifindex for AF_PACKET. */
  scopeId: number;
}

/** Decodes sockaddr_in / sockaddr_in6 / sockaddr_ll bytes from recvmsg. */
export function parseSockaddr(b: Uint8Array): SockAddr | undefined {
  if (b.length < 2) return undefined;
  const family = readHostU16(b, 0);
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (family === AF.INET && b.length >= 8) {
    return { family, port: buf.readUInt16BE(2), addr: Uint8Array.from(b.subarray(4, 8)), scopeId: 0 };
  }
  if (family === AF.INET6 && b.length >= 28) {
    return { family, port: buf.readUInt16BE(2), addr: Uint8Array.from(b.subarray(8, 24)), scopeId: readHostU32(b, 24) };
  }
  if (family === AF.PACKET && b.length >= 12) {
    const halen = b[11]!;
    return { family, port: buf.readUInt16BE(2), addr: Uint8Array.from(b.subarray(12, 12 + Math.min(halen, 8))), scopeId: readHostU32(b, 4) };
  }
  return { family, addr: new Uint8Array(0), port: 0, scopeId: 0 };
}

/** One control message. */
export interface Cmsg {
  level: number;
  type: number;
  data: Uint8Array;
}

/** Splits recvmsg control bytes into cmsghdr records (64-bit: len is size_t, 8-byte alignment). */
export function parseCmsgs(b: Uint8Array): Cmsg[] {
  const out: Cmsg[] = [];
  const HDR = 16;
  let off = 0;
  while (off + HDR <= b.length) {
    const len = readHostU32(b, off); // low half of the size_t; cmsg lengths are small
    const level = readHostU32(b, off + 8);
    const type = readHostU32(b, off + 12);
    if (len < HDR || off + len > b.length) break;
    out.push({ level, type, data: b.subarray(off + HDR, off + len) });
    off += (len + 7) & ~7;
  }
  return out;
}
