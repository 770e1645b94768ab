/**
 * RTM_*ROUTE messages (Linux `rtnetlink.h`): the rtmsg codec, the request
 * that adds or deletes a host route to a VIP through a device in a given
 * table (what `ip route replace|del ADDR/32 dev DEV table N proto P scope
 * link` sends), and the decoded route of a dump. Pure functions.
 */
import * as os from 'node:os';
import { NetlinkMalformedError } from '../netlink/errors';
import { attrBytes, attrMap, attrU32, concat, encodeAttrs, readU32, type NlMessage } from '../netlink/message';
import { afOf, ipFamilyOf, RT_SCOPE } from './addr';
import { formatIp, type Cidr, type IpFamily } from './inet';

const LE = os.endianness() === 'LE';

/** RTA_* attribute types. */
export const RTA = { DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;

/** Route types (rtm_type). */
export const RTN = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BLACKHOLE: 6 } as const;

/** Route protocols (rtm_protocol) that matter here. */
export const RTPROT = { KERNEL: 2, BOOT: 3, STATIC: 4, BIRD: 12 } as const;

/** sizeof(struct rtmsg). */
export const RTMSG_LEN = 12;

/**
 * struct rtmsg, the fixed part of every RTM_*ROUTE message.
 *
 * ```
 * +---------------+---------------+---------------+---------------+
 * | rtm_family u8 | rtm_dst_len   | rtm_src_len   |   rtm_tos     |
 * +---------------+---------------+---------------+---------------+
 * | rtm_table u8  | rtm_protocol  |  rtm_scope    |   rtm_type    |
 * +---------------+---------------+---------------+---------------+
 * |                    rtm_flags (u32, host order)                |
 * +---------------------------------------------------------------+
 * ```
 * A table id above 255 goes in RTA_TABLE; rtm_table then holds 0
 * (RT_TABLE_UNSPEC), as iproute2 writes it.
 */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

/** Encodes an rtmsg. */
export function encodeRtMsg(m: RtMsg): Uint8Array {
  const b = new Uint8Array(RTMSG_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, m.family);
  v.setUint8(1, m.dstLen);
  v.setUint8(2, m.srcLen);
  v.setUint8(3, m.tos);
  v.setUint8(4, m.table);
  v.setUint8(5, m.protocol);
  v.setUint8(6, m.scope);
  v.setUint8(7, m.type);
  v.setUint32(8, m.flags >>> 0, LE);
  return b;
}

/** Decodes an rtmsg from the start of `b`. */
export function decodeRtMsg(b: Uint8Array): RtMsg {
  if (b.length < RTMSG_LEN) throw new NetlinkMalformedError(`rtmsg is ${b.length} bytes, under ${RTMSG_LEN}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { family: v.getUint8(0), dstLen: v.getUint8(1), srcLen: v.getUint8(2), tos: v.getUint8(3), table: v.getUint8(4), protocol: v.getUint8(5), scope: v.getUint8(6), type: v.getUint8(7), flags: v.getUint32(8, LE) };
}

/** A route as a dump reports it (the fields lvsd reads). */
export interface Route {
  family: IpFamily;
  /** Destination, canonical text ('' for a default route). */
  dst: string;
  dstLen: number;
  /** The table id: RTA_TABLE when present, else rtm_table. */
  table: number;
  protocol: number;
  scope: number;
  type: number;
  /** Output interface index, 0 when absent. */
  oif: number;
}

/** Decodes RTM_NEWROUTE / RTM_DELROUTE; undefined for a family other than IPv4/IPv6. Throws NetlinkMalformedError. */
export function parseRoute(msg: NlMessage): Route | undefined {
  const h = decodeRtMsg(msg.payload);
  const family = ipFamilyOf(h.family);
  if (!family) return undefined;
  const a = attrMap(msg.payload.subarray(RTMSG_LEN));
  const dst = a.get(RTA.DST);
  const want = family === 4 ? 4 : 16;
  if (dst && dst.length !== want) throw new NetlinkMalformedError(`route message has a ${dst.length}-byte RTA_DST for IPv${family}`);
  const table = a.get(RTA.TABLE);
  const oif = a.get(RTA.OIF);
  return {
    family,
    dst: dst ? formatIp(dst) : '',
    dstLen: h.dstLen,
    table: table ? readU32(table) : h.table,
    protocol: h.protocol,
    scope: h.scope,
    type: h.type,
    oif: oif ? readU32(oif) : 0,
  };
}

/** An RTM_GETROUTE dump payload for one family (every table; filter after). */
export function getRouteRequest(family: IpFamily): Uint8Array {
  return encodeRtMsg({ family: afOf(family), dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 });
}

/**
 * The RTM_NEWROUTE / RTM_DELROUTE payload of a unicast route to `dst`
 * through interface `oif` in `table`, scope link, protocol `protocol`:
 * rtmsg, RTA_TABLE, RTA_DST, RTA_OIF.
 */
export function hostRouteRequest(dst: Cidr, oif: number, table: number, protocol: number): Uint8Array {
  return concat([
    encodeRtMsg({
      family: afOf(dst.family),
      dstLen: dst.prefix,
      srcLen: 0,
      tos: 0,
      table: table < 256 ? table : 0,
      protocol,
      scope: RT_SCOPE.LINK,
      type: RTN.UNICAST,
      flags: 0,
    }),
    encodeAttrs([attrU32(RTA.TABLE, table), attrBytes(RTA.DST, dst.bytes), attrU32(RTA.OIF, oif)]),
  ]);
}
