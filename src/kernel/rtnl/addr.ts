/**
 * RTM_*ADDR messages (Linux `if_addr.h`): the ifaddrmsg codec, request
 * builders matching what iproute2's `ip addr add|del` sends, and the decoded
 * interface address. Pure functions.
 */
import * as os from 'node:os';
import { NetlinkMalformedError } from '../netlink/errors';
import { attrBytes, attrMap, attrU32, concat, encodeAttrs, readString, readU32, type AttrInput, type NlMessage } from '../netlink/message';
import { AF } from '../native';
import { formatIp, type Cidr, type IpFamily } from './inet';

const LE = os.endianness() === 'LE';

/** IFA_* attribute types. */
export const IFA = {
  ADDRESS: 1,
  LOCAL: 2,
  LABEL: 3,
  BROADCAST: 4,
  ANYCAST: 5,
  CACHEINFO: 6,
  MULTICAST: 7,
  FLAGS: 8,
} as const;

/** IFA_F_* address flags (the low 8 in ifa_flags, all 32 in IFA_FLAGS). */
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
} as const;

/** Address scopes (enum rt_scope_t). */
export const RT_SCOPE = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;

/** sizeof(struct ifaddrmsg). */
export const IFADDRMSG_LEN = 8;

/**
 * struct ifaddrmsg, the fixed part of every RTM_*ADDR message.
 *
 * ```
 * +---------------+---------------+---------------+---------------+
 * | ifa_family u8 | prefixlen u8  |  ifa_flags u8 |  ifa_scope u8 |
 * +---------------+---------------+---------------+---------------+
 * |                     ifa_index (u32, host order)               |
 * +---------------------------------------------------------------+
 * ```
 */
export interface IfAddrMsg {
  family: number;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
}

/** Encodes an ifaddrmsg. */
export function encodeIfAddrMsg(m: IfAddrMsg): Uint8Array {
  const b = new Uint8Array(IFADDRMSG_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint8(1, m.prefixlen);
  v.setUint8(2, m.flags & 0xff);
  v.setUint8(3, m.scope);
  v.setUint32(4, m.index >>> 0, LE);
  return b;
}

/** Decodes an ifaddrmsg from the start of `b`. */
export function decodeIfAddrMsg(b: Uint8Array): IfAddrMsg {
  if (b.length < IFADDRMSG_LEN) throw new NetlinkMalformedError(`ifaddrmsg is ${b.length} bytes, under ${IFADDRMSG_LEN}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { family: v.getUint8(0), prefixlen: v.getUint8(1), flags: v.getUint8(2), scope: v.getUint8(3), index: v.getUint32(4, LE) };
}

/** An address on an interface. */
export interface IfAddress {
  /** The interface's index. */
  ifindex: number;
  family: IpFamily;
  /** The interface's own address (IFA_LOCAL, else IFA_ADDRESS), canonical text. */
  address: string;
  prefix: number;
  /** RT_SCOPE_* value (0 global, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* flags (IFA_FLAGS when present, else the u8 field). */
  flags: number;
  /** IFA_F_SECONDARY (IPv4) / temporary (IPv6). */
  secondary: boolean;
  /** IFA_LABEL, IPv4 only; '' when absent. */
  label: string;
}

/** Maps an address family number to 4/6, or undefined for others. */
export function ipFamilyOf(af: number): IpFamily | undefined {
  return af === AF.INET ? 4 : af === AF.INET6 ? 6 : undefined;
}

/** The AF_* number for 4 / 6. */
export function afOf(family: IpFamily): number {
  return family === 4 ? AF.INET : AF.INET6;
}

/** Decodes RTM_NEWADDR / RTM_DELADDR; undefined for a family other than IPv4/IPv6. Throws NetlinkMalformedError. */
export function parseAddr(msg: NlMessage): IfAddress | undefined {
  const h = decodeIfAddrMsg(msg.payload);
  const family = ipFamilyOf(h.family);
  if (!family) return undefined;
  const a = attrMap(msg.payload.subarray(IFADDRMSG_LEN));
  const raw = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS);
  const want = family === 4 ? 4 : 16;
  if (!raw || raw.length !== want) throw new NetlinkMalformedError(`address message for ifindex ${h.index} lacks a ${want}-byte IFA_LOCAL/IFA_ADDRESS`);
  const f = a.get(IFA.FLAGS);
  const flags = f ? readU32(f) : h.flags;
  const label = a.get(IFA.LABEL);
  return {
    ifindex: h.index,
    family,
    address: formatIp(raw),
    prefix: h.prefixlen,
    scope: h.scope,
    flags,
    secondary: (flags & IFA_F.SECONDARY) !== 0,
    label: label ? readString(label) : '',
  };
}

/** An RTM_GETADDR dump payload for one family (the kernel answers every interface; filter by index after). */
export function getAddrRequest(family: IpFamily): Uint8Array {
  return encodeIfAddrMsg({ family: afOf(family), prefixlen: 0, flags: 0, scope: 0, index: 0 });
}

/**
 * The RTM_NEWADDR / RTM_DELADDR payload for `cidr` on `ifindex`, laid out as
 * iproute2 does: ifaddrmsg, IFA_LOCAL, IFA_ADDRESS (both the address, as for
 * a non point-to-point link). `flags` (e.g. IFA_F_NODAD) goes in ifa_flags
 * when it fits 8 bits, else in an IFA_FLAGS attribute.
 */
export function addrRequest(ifindex: number, cidr: Cidr, flags = 0): Uint8Array {
  const attrs: AttrInput[] = [attrBytes(IFA.LOCAL, cidr.bytes), attrBytes(IFA.ADDRESS, cidr.bytes)];
  if (flags > 0xff) attrs.push(attrU32(IFA.FLAGS, flags));
  return concat([
    encodeIfAddrMsg({ family: afOf(cidr.family), prefixlen: cidr.prefix, flags: flags > 0xff ? 0 : flags, scope: RT_SCOPE.UNIVERSE, index: ifindex }),
    encodeAttrs(attrs),
  ]);
}
