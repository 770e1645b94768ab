/**
 * The netlink wire format (RFC 3549; Linux `include/uapi/linux/netlink.h`),
 * as pure functions over Uint8Array. No sockets here.
 *
 * Netlink headers and attribute headers are in the host's byte order; every
 * record is padded to a multiple of 4 bytes (NLMSG_ALIGNTO / NLA_ALIGNTO).
 *
 * The decoder checks wire well-formedness only (lengths, alignment, truncation)
 * and throws {@link NetlinkMalformedError}; what a message means is for the caller.
 */
import * as os from 'node:os';
import { NetlinkMalformedError } from './errors';

const LE = os.endianness() === 'LE';

/** Netlink protocol numbers for `socket(AF_NETLINK, SOCK_RAW, protocol)`. */
export const NETLINK = { ROUTE: 0, GENERIC: 16 } as const;

/** `SOL_NETLINK` socket options (netlink.h). */
export const NETLINK_OPT = {
  ADD_MEMBERSHIP: 1,
  DROP_MEMBERSHIP: 2,
  NO_ENOBUFS: 5,
  CAP_ACK: 10,
  EXT_ACK: 11,
  GET_STRICT_CHK: 12,
} as const;

/** nlmsg_flags bits. The GET and NEW families reuse 0x100–0x800 with different meanings. */
export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  // Modifiers to GET requests.
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  // Modifiers to NEW requests.
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // Flags of an NLMSG_ERROR acknowledgement.
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Control message types (< NLMSG_MIN_TYPE 0x10). */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4, MIN_TYPE: 0x10 } as const;

/** Extended-ACK attributes after a struct nlmsgerr (netlink.h enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** nla_type flag bits. */
export const NLA_F = { NESTED: 0x8000, NET_BYTEORDER: 0x4000, TYPE_MASK: 0x3fff } as const;

/** sizeof(struct nlmsghdr). */
export const NLMSG_HDRLEN = 16;
/** sizeof(struct nlattr). */
export const NLA_HDRLEN = 4;

/** Rounds `n` up to netlink's 4-byte alignment. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * One netlink message.
 *
 * ```
 *  0               1               2               3
 * +---------------------------------------------------------------+
 * |                      nlmsg_len (u32, host order)              |
 * +-------------------------------+-------------------------------+
 * |        nlmsg_type (u16)       |       nlmsg_flags (u16)       |
 * +-------------------------------+-------------------------------+
 * |                      nlmsg_seq (u32)                          |
 * +---------------------------------------------------------------+
 * |                      nlmsg_pid (u32)                          |
 * +---------------------------------------------------------------+
 * |                 payload, padded to 4 bytes ...                |
 * ```
 */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The payload after the 16-byte header, without trailing padding. */
  payload: Uint8Array;
}

/** Encodes one message; nlmsg_len counts the header and the unpadded payload, the output is padded. */
export function encodeMessage(m: NlMessage): Uint8Array {
  const len = NLMSG_HDRLEN + m.payload.length;
  const out = new Uint8Array(align4(len));
  const v = view(out);
  v.setUint32(0, len, LE);
  v.setUint16(4, m.type, LE);
  v.setUint16(6, m.flags, LE);
  v.setUint32(8, m.seq >>> 0, LE);
  v.setUint32(12, m.pid >>> 0, LE);
  out.set(m.payload, NLMSG_HDRLEN);
  return out;
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Splits one datagram into its messages. Throws NetlinkMalformedError when a
 * length field is smaller than a header or runs past the datagram.
 */
export function parseMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  const v = view(buf);
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = v.getUint32(off, LE);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new NetlinkMalformedError(`nlmsg_len ${len} at offset ${off} does not fit a ${buf.length}-byte datagram`);
    }
    out.push({
      type: v.getUint16(off + 4, LE),
      flags: v.getUint16(off + 6, LE),
      seq: v.getUint32(off + 8, LE),
      pid: v.getUint32(off + 12, LE),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < buf.length && buf.length - off >= NLMSG_HDRLEN) {
    throw new NetlinkMalformedError(`trailing ${buf.length - off} bytes after the last message`);
  }
  return out;
}

/**
 * An attribute to encode: raw bytes, or nested attributes (NLA_F_NESTED is
 * set on the nest header, as the kernel's nla_nest_start does).
 */
export type AttrInput =
  | { readonly type: number; readonly value: Uint8Array }
  | { readonly type: number; readonly nested: readonly AttrInput[] };

/** A decoded attribute. `type` has the NESTED/NET_BYTEORDER bits removed; `nested` tells if NLA_F_NESTED was set. */
export interface NlAttr {
  type: number;
  nested: boolean;
  value: Uint8Array;
}

/**
 * Encodes a list of attributes. Each is `struct nlattr { u16 nla_len; u16 nla_type; }`
 * followed by the value, padded to 4 bytes; nla_len excludes the padding.
 */
export function encodeAttrs(attrs: readonly AttrInput[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    const isNest = 'nested' in a;
    const value = isNest ? encodeAttrs(a.nested) : a.value;
    const len = NLA_HDRLEN + value.length;
    if (len > 0xffff) throw new RangeError(`attribute ${a.type} is ${len} bytes, over nla_len's 65535`);
    const rec = new Uint8Array(align4(len));
    const v = view(rec);
    v.setUint16(0, len, LE);
    v.setUint16(2, (a.type & NLA_F.TYPE_MASK) | (isNest ? NLA_F.NESTED : 0), LE);
    rec.set(value, NLA_HDRLEN);
    parts.push(rec);
  }
  return concat(parts);
}

/** Decodes a run of attributes; throws NetlinkMalformedError on a bad nla_len. */
export function parseAttrs(buf: Uint8Array): NlAttr[] {
  const out: NlAttr[] = [];
  const v = view(buf);
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = v.getUint16(off, LE);
    const rawType = v.getUint16(off + 2, LE);
    if (len < NLA_HDRLEN || off + len > buf.length) {
      throw new NetlinkMalformedError(`nla_len ${len} of attribute type ${rawType & NLA_F.TYPE_MASK} at offset ${off} runs past ${buf.length} bytes`);
    }
    out.push({
      type: rawType & NLA_F.TYPE_MASK,
      nested: (rawType & NLA_F.NESTED) !== 0,
      value: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Decodes attributes into a map by type (a repeated type keeps its first occurrence). */
export function attrMap(buf: Uint8Array): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const a of parseAttrs(buf)) if (!m.has(a.type)) m.set(a.type, a.value);
  return m;
}

// Attribute value helpers. Integers are host order unless the name says BE.

/** A u8 attribute. */
export function attrU8(type: number, v: number): AttrInput {
  return { type, value: Uint8Array.of(v & 0xff) };
}
/** A u16 attribute (host order). */
export function attrU16(type: number, v: number): AttrInput {
  const b = new Uint8Array(2);
  view(b).setUint16(0, v, LE);
  return { type, value: b };
}
/** A u32 attribute (host order). */
export function attrU32(type: number, v: number): AttrInput {
  const b = new Uint8Array(4);
  view(b).setUint32(0, v >>> 0, LE);
  return { type, value: b };
}
/** A u16 attribute in network order (e.g. ports). */
export function attrU16BE(type: number, v: number): AttrInput {
  const b = new Uint8Array(2);
  view(b).setUint16(0, v, false);
  return { type, value: b };
}
/** A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING as iproute2 sends them). */
export function attrString(type: number, s: string): AttrInput {
  const enc = new TextEncoder().encode(s);
  const b = new Uint8Array(enc.length + 1);
  b.set(enc);
  return { type, value: b };
}
/** A raw-bytes attribute. */
export function attrBytes(type: number, value: Uint8Array): AttrInput {
  return { type, value };
}
/** A nested attribute. */
export function attrNested(type: number, nested: readonly AttrInput[]): AttrInput {
  return { type, nested };
}

/** Reads a u8 value. */
export function readU8(v: Uint8Array): number {
  if (v.length < 1) throw new NetlinkMalformedError('u8 attribute is empty');
  return v[0]!;
}
/** Reads a host-order u16 value. */
export function readU16(v: Uint8Array): number {
  if (v.length < 2) throw new NetlinkMalformedError(`u16 attribute is ${v.length} bytes`);
  return view(v).getUint16(0, LE);
}
/** Reads a host-order u32 value. */
export function readU32(v: Uint8Array): number {
  if (v.length < 4) throw new NetlinkMalformedError(`u32 attribute is ${v.length} bytes`);
  return view(v).getUint32(0, LE);
}
/** Reads a host-order s32 value. */
export function readS32(v: Uint8Array): number {
  if (v.length < 4) throw new NetlinkMalformedError(`s32 attribute is ${v.length} bytes`);
  return view(v).getInt32(0, LE);
}
/** Reads a network-order u16 value. */
export function readU16BE(v: Uint8Array): number {
  if (v.length < 2) throw new NetlinkMalformedError(`u16 attribute is ${v.length} bytes`);
  return view(v).getUint16(0, false);
}
/** Reads a string value, stopping at the first NUL. */
export function readString(v: Uint8Array): string {
  const nul = v.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? v.subarray(0, nul) : v);
}

/**
 * The payload of an NLMSG_ERROR message (struct nlmsgerr), decoded.
 *
 * `error` is 0 for an ACK, else a negative errno. The original request's
 * header always follows; its payload only without NLM_F_CAPPED; extended-ACK
 * attributes only with NLM_F_ACK_TLVS.
 */
export interface NlError {
  /** 0 (ACK) or -errno. */
  error: number;
  /** The header of the request this answers (its payload is empty when capped). */
  request: NlMessage;
  /** NLMSGERR_ATTR_MSG: the kernel's human-readable reason, when it gave one. */
  extackMessage?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  extackOffset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: a required attribute that was missing. */
  missingType?: number;
}

/** Decodes an NLMSG_ERROR message (`msg.flags` tells CAPPED/ACK_TLVS). */
export function parseError(msg: NlMessage): NlError {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) {
    throw new NetlinkMalformedError(`NLMSG_ERROR payload is ${p.length} bytes, under ${4 + NLMSG_HDRLEN}`);
  }
  const v = view(p);
  const error = v.getInt32(0, LE);
  const reqLen = v.getUint32(4, LE);
  // An ACK (error 0) never echoes the request's payload, with or without the CAPPED flag (kernels before 4.12 do not set it).
  const capped = (msg.flags & NLM_F.CAPPED) !== 0 || error === 0;
  const echoed = capped ? NLMSG_HDRLEN : Math.max(NLMSG_HDRLEN, reqLen);
  if (4 + echoed > p.length) {
    throw new NetlinkMalformedError(`NLMSG_ERROR echoes a ${reqLen}-byte request in ${p.length - 4} bytes`);
  }
  const request: NlMessage = {
    type: v.getUint16(8, LE),
    flags: v.getUint16(10, LE),
    seq: v.getUint32(12, LE),
    pid: v.getUint32(16, LE),
    payload: p.subarray(4 + NLMSG_HDRLEN, 4 + echoed),
  };
  const out: NlError = { error, request };
  if (msg.flags & NLM_F.ACK_TLVS) {
    const tlvs = attrMap(p.subarray(4 + align4(echoed)));
    const m = tlvs.get(NLMSGERR_ATTR.MSG);
    if (m) out.extackMessage = readString(m);
    const o = tlvs.get(NLMSGERR_ATTR.OFFS);
    if (o) out.extackOffset = readU32(o);
    const t = tlvs.get(NLMSGERR_ATTR.MISS_TYPE);
    if (t) out.missingType = readU32(t);
  }
  return out;
}

/** The error code an NLMSG_DONE carries (0, or -errno when a dump failed part-way). */
export function parseDone(msg: NlMessage): number {
  return msg.payload.length >= 4 ? view(msg.payload).getInt32(0, LE) : 0;
}
