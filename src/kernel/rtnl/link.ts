/**
 * RTM_*LINK messages (Linux `rtnetlink.h`, `if_link.h`, `if.h`): the
 * ifinfomsg codec and the decoded link lvsd tracks. Pure functions.
 */
import * as os from 'node:os';
import { NetlinkMalformedError } from '../netlink/errors';
import { attrMap, attrString, attrU32, concat, encodeAttrs, readString, readU32, readU8, type NlMessage } from '../netlink/message';
import { formatMac } from './inet';

const LE = os.endianness() === 'LE';

/** rtnetlink message types lvsd uses. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

/** Names of {@link RTM} values, for error messages. */
export const RTM_NAME: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(RTM).map(([k, v]) => [v, `RTM_${k}`]));

/** rtnetlink multicast group numbers (enum rtnetlink_groups) for NETLINK_ADD_MEMBERSHIP. */
export const RTNLGRP = { LINK: 1, IPV4_IFADDR: 5, IPV6_IFADDR: 9 } as const;

/** IFLA_* attribute types lvsd reads. */
export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  MASTER: 10,
  OPERSTATE: 16,
  LINKMODE: 17,
  EXT_MASK: 29,
  CARRIER: 33,
} as const;

/** RTEXT_FILTER_* bits for IFLA_EXT_MASK. */
export const RTEXT_FILTER = { VF: 1, SKIP_STATS: 8 } as const;

/** Interface flag bits (net/if.h, linux/if.h). */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  MULTICAST: 0x1000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
} as const;

/** RFC 2863 operational states (IF_OPER_* in if.h), by value. */
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const;
/** An RFC 2863 operational state name. */
export type OperState = (typeof OPERSTATES)[number];

/** sizeof(struct ifinfomsg). */
export const IFINFOMSG_LEN = 16;

/**
 * struct ifinfomsg, the fixed part of every RTM_*LINK message.
 *
 * ```
 * +---------------+---------------+-------------------------------+
 * | ifi_family u8 |    pad u8     |       ifi_type (u16, ARPHRD)  |
 * +---------------+---------------+-------------------------------+
 * |                       ifi_index (s32)                         |
 * +---------------------------------------------------------------+
 * |                       ifi_flags (u32, IFF_*)                  |
 * +---------------------------------------------------------------+
 * |                       ifi_change (u32)                        |
 * +---------------------------------------------------------------+
 * ```
 * Integers are host order.
 */
export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}

/** Encodes an ifinfomsg. */
export function encodeIfInfoMsg(m: IfInfoMsg): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint16(2, m.type, LE);
  v.setInt32(4, m.index, LE);
  v.setUint32(8, m.flags >>> 0, LE);
  v.setUint32(12, m.change >>> 0, LE);
  return b;
}

/** Decodes an ifinfomsg from the start of `b`. */
export function decodeIfInfoMsg(b: Uint8Array): IfInfoMsg {
  if (b.length < IFINFOMSG_LEN) throw new NetlinkMalformedError(`ifinfomsg is ${b.length} bytes, under ${IFINFOMSG_LEN}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { family: v.getUint8(0), type: v.getUint16(2, LE), index: v.getInt32(4, LE), flags: v.getUint32(8, LE), change: v.getUint32(12, LE) };
}

/** A network interface as lvsd sees it. */
export interface Link {
  index: number;
  name: string;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFF_RUNNING: the kernel considers it operational (RFC 2863 "up"). */
  running: boolean;
  /** IFF_LOWER_UP: the physical layer (carrier) is up. */
  lowerUp: boolean;
  operstate: OperState;
  /** The hardware address as "aa:bb:cc:dd:ee:ff"; '' when the link has none. */
  mac: string;
  mtu: number;
  /** Raw IFF_* flags. */
  flags: number;
  /** ARPHRD_* link type (1 = Ethernet, 772 = loopback). */
  type: number;
}

/** Decodes an RTM_NEWLINK / RTM_DELLINK message; throws NetlinkMalformedError. */
export function parseLink(msg: NlMessage): Link {
  const hdr = decodeIfInfoMsg(msg.payload);
  const a = attrMap(msg.payload.subarray(IFINFOMSG_LEN));
  const name = a.get(IFLA.IFNAME);
  const op = a.get(IFLA.OPERSTATE);
  const addr = a.get(IFLA.ADDRESS);
  const mtu = a.get(IFLA.MTU);
  return {
    index: hdr.index,
    name: name ? readString(name) : '',
    up: (hdr.flags & IFF.UP) !== 0,
    running: (hdr.flags & IFF.RUNNING) !== 0,
    lowerUp: (hdr.flags & IFF.LOWER_UP) !== 0,
    operstate: op ? (OPERSTATES[readU8(op)] ?? 'unknown') : 'unknown',
    mac: addr ? formatMac(addr) : '',
    mtu: mtu ? readU32(mtu) : 0,
    flags: hdr.flags,
    type: hdr.type,
  };
}

/**
 * An RTM_GETLINK payload: for a dump (`name` undefined) or for one link by
 * name. Statistics are skipped (RTEXT_FILTER_SKIP_STATS) to keep answers small.
 */
export function getLinkRequest(name?: string): Uint8Array {
  const attrs = [attrU32(IFLA.EXT_MASK, RTEXT_FILTER.SKIP_STATS)];
  if (name !== undefined) attrs.push(attrString(IFLA.IFNAME, name));
  return concat([encodeIfInfoMsg({ family: 0, type: 0, index: 0, flags: 0, change: 0 }), encodeAttrs(attrs)]);
}
