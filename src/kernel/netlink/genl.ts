/**
 * Generic netlink (Linux `include/uapi/linux/genetlink.h`): the genlmsghdr
 * codec, the controller's CTRL_CMD_GETFAMILY (family name → id), and a small
 * client that families such as IPVS are built on.
 */
import { NetlinkMalformedError } from './errors';
import {
  NETLINK,
  NLM_F,
  attrMap,
  attrString,
  concat,
  encodeAttrs,
  parseAttrs,
  readString,
  readU16,
  readU32,
  type AttrInput,
  type NlMessage,
} from './message';
import { NetlinkSocket, type NetlinkSocketOptions } from './socket';

/** sizeof(struct genlmsghdr), already 4-byte aligned (GENL_HDRLEN). */
export const GENL_HDRLEN = 4;

/** The controller family's fixed id (GENL_ID_CTRL = NLMSG_MIN_TYPE). */
export const GENL_ID_CTRL = 0x10;

/** Controller commands (genetlink.h enum). */
export const CTRL_CMD = { GETFAMILY: 3 } as const;

/** Controller attributes (genetlink.h enum). */
export const CTRL_ATTR = {
  FAMILY_ID: 1,
  FAMILY_NAME: 2,
  VERSION: 3,
  HDRSIZE: 4,
  MAXATTR: 5,
  OPS: 6,
  MCAST_GROUPS: 7,
} as const;

/** Attributes of one CTRL_ATTR_MCAST_GROUPS entry. */
export const CTRL_ATTR_MCAST_GRP = { NAME: 1, ID: 2 } as const;

/**
 * A generic netlink payload.
 *
 * ```
 * +---------------+---------------+-------------------------------+
 * |   cmd (u8)    |  version (u8) |       reserved (u16) = 0      |
 * +---------------+---------------+-------------------------------+
 * |      family header (hdrsize bytes, usually none), attributes  |
 * ```
 */
export interface GenlPayload {
  cmd: number;
  version: number;
  /** Everything after the 4-byte genlmsghdr: attributes (after any family header). */
  body: Uint8Array;
}

/** Encodes genlmsghdr + attributes. */
export function encodeGenl(cmd: number, version: number, attrs: readonly AttrInput[]): Uint8Array {
  return concat([Uint8Array.of(cmd & 0xff, version & 0xff, 0, 0), encodeAttrs(attrs)]);
}

/** Splits a generic netlink payload into its header and body; throws NetlinkMalformedError when short. */
export function decodeGenl(payload: Uint8Array): GenlPayload {
  if (payload.length < GENL_HDRLEN) throw new NetlinkMalformedError(`generic netlink payload is ${payload.length} bytes`);
  return { cmd: payload[0]!, version: payload[1]!, body: payload.subarray(GENL_HDRLEN) };
}

/** A generic netlink family as the controller describes it. */
export interface GenlFamily {
  /** The nlmsg_type to use for this family's requests. */
  id: number;
  name: string;
  version: number;
  hdrSize: number;
  maxAttr: number;
  /** Multicast group name → group id (for NETLINK_ADD_MEMBERSHIP). */
  mcastGroups: Map<string, number>;
}

/** Decodes a CTRL_CMD_NEWFAMILY answer; throws NetlinkMalformedError when the id or name is missing. */
export function parseFamily(msg: NlMessage): GenlFamily {
  const { body } = decodeGenl(msg.payload);
  const a = attrMap(body);
  const id = a.get(CTRL_ATTR.FAMILY_ID);
  const name = a.get(CTRL_ATTR.FAMILY_NAME);
  if (!id || !name) throw new NetlinkMalformedError('CTRL_CMD_GETFAMILY answer lacks FAMILY_ID or FAMILY_NAME');
  const mcastGroups = new Map<string, number>();
  const groups = a.get(CTRL_ATTR.MCAST_GROUPS);
  if (groups) {
    // An array nest: each element's type is its index, its value the group's attributes.
    for (const g of parseAttrs(groups)) {
      const ga = attrMap(g.value);
      const gn = ga.get(CTRL_ATTR_MCAST_GRP.NAME);
      const gi = ga.get(CTRL_ATTR_MCAST_GRP.ID);
      if (gn && gi) mcastGroups.set(readString(gn), readU32(gi));
    }
  }
  const u32 = (t: number): number => {
    const v = a.get(t);
    return v ? readU32(v) : 0;
  };
  return { id: readU16(id), name: readString(name), version: u32(CTRL_ATTR.VERSION), hdrSize: u32(CTRL_ATTR.HDRSIZE), maxAttr: u32(CTRL_ATTR.MAXATTR), mcastGroups };
}

/** The CTRL_CMD_GETFAMILY request payload for family `name`, byte for byte as iproute2's `genl ctrl get name` sends it (version 0). */
export function getFamilyRequest(name: string): Uint8Array {
  return encodeGenl(CTRL_CMD.GETFAMILY, 0, [attrString(CTRL_ATTR.FAMILY_NAME, name)]);
}

/**
 * A generic netlink socket. Resolve a family once with {@link resolveFamily},
 * then send its commands with {@link request} / {@link dump}.
 */
export class GenlSocket {
  /** Opens a NETLINK_GENERIC socket (see NetlinkSocket.open for options and errors). */
  static open(opts: NetlinkSocketOptions = {}): GenlSocket {
    return new GenlSocket(NetlinkSocket.open(NETLINK.GENERIC, opts));
  }

  constructor(readonly nl: NetlinkSocket) {}

  /**
   * Looks family `name` up (e.g. "IPVS"). Rejects with NetlinkError code
   * ENOENT when the kernel has no such family (module not loaded or not built).
   */
  async resolveFamily(name: string): Promise<GenlFamily> {
    const msgs = await this.nl.request({
      type: GENL_ID_CTRL,
      payload: getFamilyRequest(name),
      name: 'CTRL_CMD_GETFAMILY',
      object: `generic netlink family "${name}"`,
    });
    const first = msgs[0];
    if (!first) throw new NetlinkMalformedError(`CTRL_CMD_GETFAMILY "${name}" answered with an ACK only`);
    return parseFamily(first);
  }

  /**
   * Sends command `cmd` of `family` with `attrs`; resolves with the answers'
   * decoded payloads. `flags` adds e.g. NLM_F.CREATE|NLM_F.EXCL. Errors as
   * NetlinkSocket.request, with `name`/`object` in their messages.
   */
  async request(family: GenlFamily, cmd: number, attrs: readonly AttrInput[], opts: { flags?: number; name?: string; object?: string } = {}): Promise<GenlPayload[]> {
    const msgs = await this.nl.request({
      type: family.id,
      flags: opts.flags ?? 0,
      payload: encodeGenl(cmd, family.version, attrs),
      name: opts.name ?? `${family.name} cmd ${cmd}`,
      object: opts.object,
    });
    return msgs.map((m) => decodeGenl(m.payload));
  }

  /** Like {@link request}, as a dump (NLM_F_DUMP, retried on NLM_F_DUMP_INTR). */
  async dump(family: GenlFamily, cmd: number, attrs: readonly AttrInput[] = [], opts: { name?: string; object?: string } = {}): Promise<GenlPayload[]> {
    const msgs = await this.nl.dump({
      type: family.id,
      payload: encodeGenl(cmd, family.version, attrs),
      name: opts.name ?? `${family.name} cmd ${cmd}`,
      object: opts.object,
    });
    return msgs.map((m) => decodeGenl(m.payload));
  }

  /** Joins one of `family`'s multicast groups by name; throws a RangeError naming the groups it has otherwise. */
  joinGroup(family: GenlFamily, group: string): void {
    const id = family.mcastGroups.get(group);
    if (id === undefined) {
      throw new RangeError(`family ${family.name} has no multicast group "${group}" (it has: ${[...family.mcastGroups.keys()].join(', ') || 'none'})`);
    }
    this.nl.joinGroup(id);
  }

  close(): void {
    this.nl.close();
  }
}

/** Re-exported so family clients need one import. */
export { NLM_F };
