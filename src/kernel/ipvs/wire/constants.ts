/**
 * The numbers of the IPVS generic netlink interface (Linux
 * `include/uapi/linux/ip_vs.h`), shared by the encoder (./encode.ts) and the
 * decoder (./decode.ts).
 */
import * as os from 'node:os';
import type { FwdMethod, Protocol } from '../types';

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

/** True on a little-endian host: IPVS integers travel in host order. */
export const LE = os.endianness() === 'LE';

/** The IPv4 address family on the wire (AF_INET). */
export const AF_INET = 2;
/** The IPv6 address family on the wire (AF_INET6). */
export const AF_INET6 = 10;

/** IPPROTO_* of each protocol. */
export const PROTO: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** IP_VS_CONN_F_* of each forwarding method. */
export const FWD: Record<FwdMethod, number> = { NAT: IP_VS_CONN_F.MASQ, LOCAL: IP_VS_CONN_F.LOCALNODE, TUN: IP_VS_CONN_F.TUNNEL, DR: IP_VS_CONN_F.DROUTE };
