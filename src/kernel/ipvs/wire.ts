/**
 * The IPVS generic netlink encoding (Linux `include/uapi/linux/ip_vs.h`,
 * `net/netfilter/ipvs/ip_vs_ctl.c`), kept apart from the domain types: pure
 * functions from domain objects to attribute lists and back.
 *
 * Requests are built attribute for attribute as ipvsadm 1.31 (libipvs) builds
 * them, so the golden captures in test/kernel/ipvs-golden.test.ts compare
 * byte for byte. Integers are host order except ports (be16) and the IPv4
 * persistence netmask (the mask's bytes in network order); addresses travel
 * as 16-byte `union nf_inet_addr`, IPv4 in the first 4 bytes.
 *
 * Decoders check that required attributes are there and values are
 * representable, and throw IpvsMalformedError otherwise; what a value means
 * to lvsd is for the caller.
 */
import * as os from 'node:os';
import {
  attrBytes,
  attrMap,
  attrNested,
  attrString,
  attrU16,
  attrU16BE,
  attrU32,
  attrU8,
  readString,
  readS32,
  readU16,
  readU16BE,
  readU32,
  readU8,
  type AttrInput,
} from '../netlink/message';
import { addressBytes, formatAddress } from './addr';
import { IpvsInvalidArgumentError, IpvsMalformedError } from './errors';
import type {
  DestKey,
  Family,
  FwdMethod,
  IpvsDest,
  IpvsDestEntry,
  IpvsDestStats,
  IpvsInfo,
  IpvsService,
  IpvsServiceEntry,
  IpvsStats,
  IpvsTimeouts,
  Protocol,
  ServiceKey,
  SyncDaemon,
  SyncState,
  TunType,
} from './types';

/** The generic netlink family name (IPVS_GENL_NAME). */
export const IPVS_GENL_NAME = 'IPVS';

/** Commands (enum IPVS_CMD_*). */
export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

/** A command number. */
export type IpvsCmd = (typeof IPVS_CMD)[keyof typeof IPVS_CMD];

/** "IPVS_CMD_NEW_DEST" for IPVS_CMD.NEW_DEST, for error messages. */
export function ipvsCmdName(cmd: number): string {
  for (const [k, v] of Object.entries(IPVS_CMD)) if (v === cmd) return `IPVS_CMD_${k}`;
  return `IPVS_CMD_${cmd}`;
}

/** First-level attributes (IPVS_CMD_ATTR_*). */
export const IPVS_CMD_ATTR = { SERVICE: 1, DEST: 2, DAEMON: 3, TIMEOUT_TCP: 4, TIMEOUT_TCP_FIN: 5, TIMEOUT_UDP: 6 } as const;

/** Service attributes, inside IPVS_CMD_ATTR_SERVICE (IPVS_SVC_ATTR_*). */
export const IPVS_SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  STATS: 10,
  PE_NAME: 11,
  STATS64: 12,
} as const;

/** Dest attributes, inside IPVS_CMD_ATTR_DEST (IPVS_DEST_ATTR_*). */
export const IPVS_DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  STATS: 10,
  ADDR_FAMILY: 11,
  STATS64: 12,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;

/** Sync daemon attributes, inside IPVS_CMD_ATTR_DAEMON (IPVS_DAEMON_ATTR_*). */
export const IPVS_DAEMON_ATTR = {
  STATE: 1,
  MCAST_IFN: 2,
  SYNC_ID: 3,
  SYNC_MAXLEN: 4,
  MCAST_GROUP: 5,
  MCAST_GROUP6: 6,
  MCAST_PORT: 7,
  MCAST_TTL: 8,
} as const;

/** Statistics attributes, inside *_ATTR_STATS / *_ATTR_STATS64 (IPVS_STATS_ATTR_*). */
export const IPVS_STATS_ATTR = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;

/** GET_INFO answer attributes (IPVS_INFO_ATTR_*). */
export const IPVS_INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const;

/** Service flag bits (IP_VS_SVC_F_*). */
export const IP_VS_SVC_F = { PERSISTENT: 0x1, HASHED: 0x2, ONEPACKET: 0x4, SCHED1: 0x8, SCHED2: 0x10, SCHED3: 0x20 } as const;

/** Forwarding methods in a dest's conn_flags (IP_VS_CONN_F_*, under IP_VS_CONN_F_FWD_MASK = 7). */
export const IP_VS_CONN_F = { MASQ: 0, LOCALNODE: 1, TUNNEL: 2, DROUTE: 3, FWD_MASK: 7 } as const;

/** Sync daemon states (IP_VS_STATE_*). */
export const IP_VS_STATE = { NONE: 0, MASTER: 1, BACKUP: 2 } as const;

/** Tunnel types (IP_VS_CONN_F_TUNNEL_TYPE_*). */
export const IP_VS_TUNNEL_TYPE = { ipip: 0, gue: 1, gre: 2 } as const;

/** Address families on the wire. */
const LE = os.endianness() === 'LE';
const AF_INET = 2;
const AF_INET6 = 10;

const PROTO: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const FWD: Record<FwdMethod, number> = { NAT: IP_VS_CONN_F.MASQ, LOCAL: IP_VS_CONN_F.LOCALNODE, TUN: IP_VS_CONN_F.TUNNEL, DR: IP_VS_CONN_F.DROUTE };

function af(f: Family): number {
  return f === 4 ? AF_INET : AF_INET6;
}

/** The 16-byte union nf_inet_addr of an address. */
function inetAddr(family: Family, text: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set(addressBytes(family, text));
  return out;
}

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new IpvsInvalidArgumentError(`${what} port ${port} is not 0–65535`);
  return port;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new IpvsInvalidArgumentError(`${what} ${v} is not an unsigned 32-bit integer`);
  return v;
}

/**
 * The persistence netmask attribute value: IPv4 as the mask's 4 bytes in
 * network order (ip_vs_ctl.c compares it with `__be32` addresses), IPv6 as the
 * prefix length in host order (the kernel checks 1–128).
 */
function netmaskAttr(family: Family, prefix: number): AttrInput {
  if (family === 6) {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) throw new IpvsInvalidArgumentError(`IPv6 persistence netmask /${prefix} is not 0–128`);
    return attrU32(IPVS_SVC_ATTR.NETMASK, prefix);
  }
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new IpvsInvalidArgumentError(`IPv4 persistence netmask /${prefix} is not 0–32`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, mask, false);
  return attrBytes(IPVS_SVC_ATTR.NETMASK, b);
}

function flagsAttr(s: IpvsService): AttrInput {
  let f = 0;
  if (s.flags.persistent) f |= IP_VS_SVC_F.PERSISTENT;
  if (s.flags.onePacket) f |= IP_VS_SVC_F.ONEPACKET;
  if (s.flags.sched1) f |= IP_VS_SVC_F.SCHED1;
  if (s.flags.sched2) f |= IP_VS_SVC_F.SCHED2;
  if (s.flags.sched3) f |= IP_VS_SVC_F.SCHED3;
  return flagsValue(f);
}

/** struct ip_vs_flags { u32 flags; u32 mask; }: the mask covers every bit, so unset flags are cleared. */
function flagsValue(flags: number): AttrInput {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, flags >>> 0, LE);
  v.setUint32(4, 0xffffffff, LE);
  return attrBytes(IPVS_SVC_ATTR.FLAGS, b);
}

/** The identifying attributes of a service: AF, then PROTOCOL/ADDR/PORT or FWMARK. */
function keyAttrs(k: ServiceKey): AttrInput[] {
  const out: AttrInput[] = [attrU16(IPVS_SVC_ATTR.AF, af(k.family))];
  if ('fwmark' in k) {
    if (!Number.isInteger(k.fwmark) || k.fwmark < 1 || k.fwmark > 0xffffffff) throw new IpvsInvalidArgumentError(`fwmark ${k.fwmark} is not 1–4294967295`);
    out.push(attrU32(IPVS_SVC_ATTR.FWMARK, k.fwmark));
  } else {
    const proto = PROTO[k.protocol];
    if (proto === undefined) throw new IpvsInvalidArgumentError(`protocol ${String(k.protocol)} is not TCP, UDP or SCTP`);
    out.push(
      attrU16(IPVS_SVC_ATTR.PROTOCOL, proto),
      attrBytes(IPVS_SVC_ATTR.ADDR, inetAddr(k.family, k.address)),
      attrU16BE(IPVS_SVC_ATTR.PORT, checkPort(k.port, 'service')),
    );
  }
  return out;
}

/** IPVS_CMD_ATTR_SERVICE carrying a whole service (NEW_SERVICE, SET_SERVICE). */
export function serviceNest(s: IpvsService): AttrInput {
  if (s.scheduler.length === 0 || s.scheduler.length > 15) throw new IpvsInvalidArgumentError(`scheduler name "${s.scheduler}" is not 1–15 characters`);
  const attrs = [
    ...keyAttrs(s.key),
    attrString(IPVS_SVC_ATTR.SCHED_NAME, s.scheduler),
    ...(s.pe !== undefined ? [attrString(IPVS_SVC_ATTR.PE_NAME, s.pe)] : []),
    flagsAttr(s),
    attrU32(IPVS_SVC_ATTR.TIMEOUT, checkU32(s.timeoutS, 'persistence timeout')),
    netmaskAttr(s.key.family, s.netmask),
  ];
  return attrNested(IPVS_CMD_ATTR.SERVICE, attrs);
}

/**
 * IPVS_CMD_ATTR_SERVICE naming a service for DEL_SERVICE and the dest
 * commands. The kernel reads only the key there; the empty scheduler, zero
 * flags and timeout and the host-wide netmask are what ipvsadm sends beside it.
 */
export function serviceRefNest(k: ServiceKey): AttrInput {
  return attrNested(IPVS_CMD_ATTR.SERVICE, [
    ...keyAttrs(k),
    attrString(IPVS_SVC_ATTR.SCHED_NAME, ''),
    flagsValue(0),
    attrU32(IPVS_SVC_ATTR.TIMEOUT, 0),
    netmaskAttr(k.family, k.family === 4 ? 32 : 128),
  ]);
}

/** IPVS_CMD_ATTR_SERVICE with the key only: the GET_DEST dump's selector. */
export function serviceKeyNest(k: ServiceKey): AttrInput {
  return attrNested(IPVS_CMD_ATTR.SERVICE, keyAttrs(k));
}

/** IPVS_CMD_ATTR_DEST for NEW_DEST / SET_DEST / DEL_DEST, in libipvs's attribute order. */
export function destNest(svcFamily: Family, d: IpvsDest): AttrInput {
  const family = d.family ?? svcFamily;
  const weight = d.weight;
  if (!Number.isInteger(weight) || weight < -0x80000000 || weight > 0x7fffffff) throw new IpvsInvalidArgumentError(`weight ${weight} is not a 32-bit integer`);
  const fwd = FWD[d.fwdMethod];
  if (fwd === undefined) throw new IpvsInvalidArgumentError(`forwarding method ${String(d.fwdMethod)} is not NAT, DR or TUN`);
  const tunType = d.tunType === undefined ? 0 : IP_VS_TUNNEL_TYPE[d.tunType];
  if (tunType === undefined) throw new IpvsInvalidArgumentError(`tunnel type ${String(d.tunType)} is not ipip, gue or gre`);
  return attrNested(IPVS_CMD_ATTR.DEST, [
    attrU16(IPVS_DEST_ATTR.ADDR_FAMILY, af(family)),
    attrBytes(IPVS_DEST_ATTR.ADDR, inetAddr(family, d.address)),
    attrU16BE(IPVS_DEST_ATTR.PORT, checkPort(d.port, 'dest')),
    attrU32(IPVS_DEST_ATTR.FWD_METHOD, fwd),
    attrU32(IPVS_DEST_ATTR.WEIGHT, weight >>> 0),
    attrU8(IPVS_DEST_ATTR.TUN_TYPE, tunType),
    attrU16BE(IPVS_DEST_ATTR.TUN_PORT, checkPort(d.tunPort ?? 0, 'tunnel')),
    attrU16(IPVS_DEST_ATTR.TUN_FLAGS, d.tunFlags ?? 0),
    attrU32(IPVS_DEST_ATTR.U_THRESH, checkU32(d.upperThreshold, 'upper threshold')),
    attrU32(IPVS_DEST_ATTR.L_THRESH, checkU32(d.lowerThreshold, 'lower threshold')),
  ]);
}

/**
 * The dest of a DEL_DEST: the kernel matches address and port only; the
 * rest is ipvsadm's defaults (DR, weight 1) so the bytes match its `-d`.
 */
export function destRefNest(svcFamily: Family, d: DestKey & { family?: Family }): AttrInput {
  return destNest(svcFamily, { ...d, fwdMethod: 'DR', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
}

/** IPVS_CMD_ATTR_DAEMON for NEW_DAEMON, in ipvsadm's attribute order. */
export function daemonNest(d: SyncDaemon): AttrInput {
  if (d.ifname.length === 0 || d.ifname.length > 15) throw new IpvsInvalidArgumentError(`interface name "${d.ifname}" is not 1–15 characters`);
  const attrs: AttrInput[] = [
    attrU32(IPVS_DAEMON_ATTR.STATE, d.state === 'master' ? IP_VS_STATE.MASTER : IP_VS_STATE.BACKUP),
    attrString(IPVS_DAEMON_ATTR.MCAST_IFN, d.ifname),
    attrU32(IPVS_DAEMON_ATTR.SYNC_ID, checkU32(d.syncId, 'sync id')),
  ];
  if (d.syncMaxLen !== undefined) attrs.push(attrU16(IPVS_DAEMON_ATTR.SYNC_MAXLEN, d.syncMaxLen));
  // The kernel reads the port with nla_get_u16 and converts it itself: host order.
  if (d.mcastPort !== undefined) attrs.push(attrU16(IPVS_DAEMON_ATTR.MCAST_PORT, checkPort(d.mcastPort, 'sync')));
  if (d.mcastTtl !== undefined) attrs.push(attrU8(IPVS_DAEMON_ATTR.MCAST_TTL, d.mcastTtl));
  if (d.mcastGroup !== undefined) {
    const v6 = d.mcastGroup.includes(':');
    attrs.push(attrBytes(v6 ? IPVS_DAEMON_ATTR.MCAST_GROUP6 : IPVS_DAEMON_ATTR.MCAST_GROUP, addressBytes(v6 ? 6 : 4, d.mcastGroup)));
  }
  return attrNested(IPVS_CMD_ATTR.DAEMON, attrs);
}

/** IPVS_CMD_ATTR_DAEMON for DEL_DAEMON: the state, with the empty interface and id 0 ipvsadm sends. */
export function daemonRefNest(state: SyncState): AttrInput {
  return attrNested(IPVS_CMD_ATTR.DAEMON, [
    attrU32(IPVS_DAEMON_ATTR.STATE, state === 'master' ? IP_VS_STATE.MASTER : IP_VS_STATE.BACKUP),
    attrString(IPVS_DAEMON_ATTR.MCAST_IFN, ''),
    attrU32(IPVS_DAEMON_ATTR.SYNC_ID, 0),
  ]);
}

/** SET_CONFIG's attributes (0 leaves a timeout unchanged). */
export function timeoutAttrs(t: IpvsTimeouts): AttrInput[] {
  return [
    attrU32(IPVS_CMD_ATTR.TIMEOUT_TCP, checkU32(t.tcp, 'tcp timeout')),
    attrU32(IPVS_CMD_ATTR.TIMEOUT_TCP_FIN, checkU32(t.tcpFin, 'tcpfin timeout')),
    attrU32(IPVS_CMD_ATTR.TIMEOUT_UDP, checkU32(t.udp, 'udp timeout')),
  ];
}

// ---- Decoding ----

function need(m: Map<number, Uint8Array>, type: number, what: string): Uint8Array {
  const v = m.get(type);
  if (!v) throw new IpvsMalformedError(`${what} lacks attribute ${type}`);
  return v;
}

function family(afv: number, what: string): Family {
  if (afv === AF_INET) return 4;
  if (afv === AF_INET6) return 6;
  throw new IpvsMalformedError(`${what} has address family ${afv}`);
}

function readAddr(f: Family, v: Uint8Array, what: string): string {
  const n = f === 4 ? 4 : 16;
  if (v.length < n) throw new IpvsMalformedError(`${what} address is ${v.length} bytes`);
  return formatAddress(v.subarray(0, n));
}

/** Reads a u32 or u64 counter (STATS holds both sizes, STATS64 only u64). */
function readCounter(v: Uint8Array): number {
  if (v.length === 8) return Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, LE));
  return readU32(v);
}

function decodeStats(nest: Uint8Array): IpvsStats {
  const m = attrMap(nest);
  const c = (t: number): number => {
    const v = m.get(t);
    return v ? readCounter(v) : 0;
  };
  const S = IPVS_STATS_ATTR;
  return {
    conns: c(S.CONNS),
    inpkts: c(S.INPKTS),
    outpkts: c(S.OUTPKTS),
    inbytes: c(S.INBYTES),
    outbytes: c(S.OUTBYTES),
    cps: c(S.CPS),
    inpps: c(S.INPPS),
    outpps: c(S.OUTPPS),
    inbps: c(S.INBPS),
    outbps: c(S.OUTBPS),
  };
}

/** A prefix length from an IPv4 mask's bytes; throws when the mask is not contiguous ones then zeros. */
function maskPrefix(b: Uint8Array): number {
  if (b.length < 4) throw new IpvsMalformedError(`IPv4 netmask is ${b.length} bytes`);
  const m = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  const inv = ~m >>> 0;
  const ones = inv === 0 ? 32 : Math.clz32(inv);
  const back = ones === 0 ? 0 : (0xffffffff << (32 - ones)) >>> 0;
  if (back !== m) throw new IpvsMalformedError(`IPv4 netmask ${formatAddress(b.subarray(0, 4))} is not contiguous`);
  return ones;
}

/** Decodes one GET_SERVICE answer body (its IPVS_CMD_ATTR_SERVICE). */
export function decodeService(body: Uint8Array): IpvsServiceEntry {
  const top = attrMap(body);
  const m = attrMap(need(top, IPVS_CMD_ATTR.SERVICE, 'GET_SERVICE answer'));
  const what = 'service';
  const fam = family(readU16(need(m, IPVS_SVC_ATTR.AF, what)), what);
  const fw = m.get(IPVS_SVC_ATTR.FWMARK);
  let key: ServiceKey;
  if (fw && readU32(fw) !== 0) {
    key = { family: fam, fwmark: readU32(fw) };
  } else {
    const protoNum = readU16(need(m, IPVS_SVC_ATTR.PROTOCOL, what));
    const protocol = (Object.keys(PROTO) as Protocol[]).find((p) => PROTO[p] === protoNum);
    if (!protocol) throw new IpvsMalformedError(`service has protocol ${protoNum}`);
    key = { family: fam, protocol, address: readAddr(fam, need(m, IPVS_SVC_ATTR.ADDR, what), what), port: readU16BE(need(m, IPVS_SVC_ATTR.PORT, what)) };
  }
  const flagsRaw = need(m, IPVS_SVC_ATTR.FLAGS, what);
  const f = readU32(flagsRaw);
  const nm = need(m, IPVS_SVC_ATTR.NETMASK, what);
  const out: IpvsServiceEntry = {
    key,
    scheduler: readString(need(m, IPVS_SVC_ATTR.SCHED_NAME, what)),
    flags: {
      persistent: (f & IP_VS_SVC_F.PERSISTENT) !== 0,
      onePacket: (f & IP_VS_SVC_F.ONEPACKET) !== 0,
      sched1: (f & IP_VS_SVC_F.SCHED1) !== 0,
      sched2: (f & IP_VS_SVC_F.SCHED2) !== 0,
      sched3: (f & IP_VS_SVC_F.SCHED3) !== 0,
    },
    timeoutS: readU32(need(m, IPVS_SVC_ATTR.TIMEOUT, what)),
    netmask: fam === 4 ? maskPrefix(nm) : readU32(nm),
  };
  const pe = m.get(IPVS_SVC_ATTR.PE_NAME);
  if (pe) out.pe = readString(pe);
  const st = m.get(IPVS_SVC_ATTR.STATS64) ?? m.get(IPVS_SVC_ATTR.STATS);
  if (st) out.stats = decodeStats(st);
  return out;
}

/** Decodes one GET_DEST answer body (its IPVS_CMD_ATTR_DEST); `svcFamily` is the family of the service dumped. */
export function decodeDest(body: Uint8Array, svcFamily: Family): IpvsDestEntry {
  const top = attrMap(body);
  const m = attrMap(need(top, IPVS_CMD_ATTR.DEST, 'GET_DEST answer'));
  const what = 'dest';
  const afAttr = m.get(IPVS_DEST_ATTR.ADDR_FAMILY);
  const fam = afAttr ? family(readU16(afAttr), what) : svcFamily;
  const fwdNum = readU32(need(m, IPVS_DEST_ATTR.FWD_METHOD, what)) & IP_VS_CONN_F.FWD_MASK;
  const fwdMethod = (Object.keys(FWD) as FwdMethod[]).find((k) => FWD[k] === fwdNum);
  if (!fwdMethod) throw new IpvsMalformedError(`dest has forwarding method ${fwdNum}`);
  const out: IpvsDestEntry = {
    address: readAddr(fam, need(m, IPVS_DEST_ATTR.ADDR, what), what),
    port: readU16BE(need(m, IPVS_DEST_ATTR.PORT, what)),
    fwdMethod,
    weight: readS32(need(m, IPVS_DEST_ATTR.WEIGHT, what)),
    upperThreshold: readU32(need(m, IPVS_DEST_ATTR.U_THRESH, what)),
    lowerThreshold: readU32(need(m, IPVS_DEST_ATTR.L_THRESH, what)),
  };
  // Tunnel settings only mean something for TUN; the defaults (ipip, 0) are left out so a dump equals what was asked for.
  if (fwdMethod === 'TUN') {
    const tt = m.get(IPVS_DEST_ATTR.TUN_TYPE);
    const tunNum = tt ? readU8(tt) : 0;
    const tunType = (Object.keys(IP_VS_TUNNEL_TYPE) as TunType[]).find((k) => IP_VS_TUNNEL_TYPE[k] === tunNum);
    if (!tunType) throw new IpvsMalformedError(`dest has tunnel type ${tunNum}`);
    if (tunType !== 'ipip') out.tunType = tunType;
    const tp = m.get(IPVS_DEST_ATTR.TUN_PORT);
    if (tp && readU16BE(tp) !== 0) out.tunPort = readU16BE(tp);
    const tf = m.get(IPVS_DEST_ATTR.TUN_FLAGS);
    if (tf && readU16(tf) !== 0) out.tunFlags = readU16(tf);
  }
  if (fam !== svcFamily) out.family = fam;
  const st = m.get(IPVS_DEST_ATTR.STATS64) ?? m.get(IPVS_DEST_ATTR.STATS);
  const u32 = (t: number): number => {
    const v = m.get(t);
    return v ? readU32(v) : 0;
  };
  const stats: IpvsDestStats = {
    ...(st ? decodeStats(st) : { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0, cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 }),
    activeConns: u32(IPVS_DEST_ATTR.ACTIVE_CONNS),
    inactConns: u32(IPVS_DEST_ATTR.INACT_CONNS),
    persistConns: u32(IPVS_DEST_ATTR.PERSIST_CONNS),
  };
  out.stats = stats;
  return out;
}

/** Decodes one GET_DAEMON answer body (its IPVS_CMD_ATTR_DAEMON). */
export function decodeDaemon(body: Uint8Array): SyncDaemon {
  const top = attrMap(body);
  const m = attrMap(need(top, IPVS_CMD_ATTR.DAEMON, 'GET_DAEMON answer'));
  const what = 'sync daemon';
  const st = readU32(need(m, IPVS_DAEMON_ATTR.STATE, what));
  if (st !== IP_VS_STATE.MASTER && st !== IP_VS_STATE.BACKUP) throw new IpvsMalformedError(`sync daemon has state ${st}`);
  const out: SyncDaemon = {
    state: st === IP_VS_STATE.MASTER ? 'master' : 'backup',
    ifname: readString(need(m, IPVS_DAEMON_ATTR.MCAST_IFN, what)),
    syncId: readU32(need(m, IPVS_DAEMON_ATTR.SYNC_ID, what)),
  };
  const ml = m.get(IPVS_DAEMON_ATTR.SYNC_MAXLEN);
  if (ml) out.syncMaxLen = readU16(ml);
  const g4 = m.get(IPVS_DAEMON_ATTR.MCAST_GROUP);
  const g6 = m.get(IPVS_DAEMON_ATTR.MCAST_GROUP6);
  if (g6) out.mcastGroup = readAddr(6, g6, what);
  else if (g4) out.mcastGroup = readAddr(4, g4, what);
  const port = m.get(IPVS_DAEMON_ATTR.MCAST_PORT);
  if (port) out.mcastPort = readU16(port);
  const ttl = m.get(IPVS_DAEMON_ATTR.MCAST_TTL);
  if (ttl) out.mcastTtl = readU8(ttl);
  return out;
}

/** Decodes the GET_INFO answer body. */
export function decodeInfo(body: Uint8Array): IpvsInfo {
  const m = attrMap(body);
  const v = readU32(need(m, IPVS_INFO_ATTR.VERSION, 'GET_INFO answer'));
  return { version: `${(v >> 16) & 0xff}.${(v >> 8) & 0xff}.${v & 0xff}`, connTableSize: readU32(need(m, IPVS_INFO_ATTR.CONN_TAB_SIZE, 'GET_INFO answer')) };
}

/** Decodes the GET_CONFIG answer body. */
export function decodeTimeouts(body: Uint8Array): IpvsTimeouts {
  const m = attrMap(body);
  const g = (t: number): number => {
    const v = m.get(t);
    return v ? readU32(v) : 0;
  };
  return { tcp: g(IPVS_CMD_ATTR.TIMEOUT_TCP), tcpFin: g(IPVS_CMD_ATTR.TIMEOUT_TCP_FIN), udp: g(IPVS_CMD_ATTR.TIMEOUT_UDP) };
}
