/**
 * The IPVS generic netlink encoder (Linux `include/uapi/linux/ip_vs.h`,
 * `net/netfilter/ipvs/ip_vs_ctl.c`), kept apart from the domain types: pure
 * functions from domain objects to attribute lists.
 *
 * Requests are built attribute for attribute as ipvsadm 1.31 (libipvs) builds
 * them, so the golden captures in test/kernel/ipvs-golden.test.ts compare
 * byte for byte. Integers are host order except ports (be16) and the IPv4
 * persistence netmask (the mask's bytes in network order); addresses travel
 * as 16-byte `union nf_inet_addr`, IPv4 in the first 4 bytes. A value the
 * wire cannot carry throws IpvsInvalidArgumentError.
 *
 * {@link opRequest} and {@link ipvsRequest} name the request of each
 * {@link Ipvs} method, for the client and for the golden tests alike.
 */
import { attrBytes, attrNested, attrString, attrU16, attrU16BE, attrU32, attrU8, type AttrInput } from '../../netlink/message';
import { addressBytes, formatServiceKey, opAction } from '../addr';
import { IpvsInvalidArgumentError } from '../errors';
import type { DestKey, Family, IpvsDest, IpvsOp, IpvsService, IpvsTimeouts, ServiceKey, SyncDaemon, SyncState } from '../types';
import { AF_INET, AF_INET6, FWD, IPVS_CMD, IPVS_CMD_ATTR, IPVS_DAEMON_ATTR, IPVS_DEST_ATTR, IPVS_SVC_ATTR, IP_VS_STATE, IP_VS_SVC_F, IP_VS_TUNNEL_TYPE, LE, PROTO, type IpvsCmd } from './constants';

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

/**
 * One IPVS command as lvsd sends it: the command, what it does (for error
 * messages, e.g. `adding service TCP 192.0.2.100:80`), and its attributes.
 * `encode` builds the attributes on demand and throws
 * IpvsInvalidArgumentError for a value the wire cannot carry, so the caller
 * can name that failure by command and action.
 */
export interface IpvsRequest {
  readonly cmd: IpvsCmd;
  readonly action: string;
  encode(): AttrInput[];
}

function request(cmd: IpvsCmd, action: string, encode: () => AttrInput[] = () => []): IpvsRequest {
  return { cmd, action, encode };
}

/** The request of a write op, attribute for attribute as ipvsadm sends it. */
export function opRequest(op: IpvsOp): IpvsRequest {
  const action = opAction(op);
  switch (op.op) {
    case 'addService': {
      const { service } = op;
      return request(IPVS_CMD.NEW_SERVICE, action, () => [serviceNest(service)]);
    }
    case 'editService': {
      const { service } = op;
      return request(IPVS_CMD.SET_SERVICE, action, () => [serviceNest(service)]);
    }
    case 'delService': {
      const { key } = op;
      return request(IPVS_CMD.DEL_SERVICE, action, () => [serviceRefNest(key)]);
    }
    case 'addDest': {
      const { key, dest } = op;
      return request(IPVS_CMD.NEW_DEST, action, () => [serviceRefNest(key), destNest(key.family, dest)]);
    }
    case 'editDest': {
      const { key, dest } = op;
      return request(IPVS_CMD.SET_DEST, action, () => [serviceRefNest(key), destNest(key.family, dest)]);
    }
    case 'delDest': {
      const { key, dest } = op;
      return request(IPVS_CMD.DEL_DEST, action, () => [serviceRefNest(key), destRefNest(key.family, dest)]);
    }
  }
}

/** The requests of the {@link Ipvs} methods other than the writes of {@link opRequest}, by method name. */
export const ipvsRequest = {
  info: (): IpvsRequest => request(IPVS_CMD.GET_INFO, 'reading IPVS info'),
  services: (): IpvsRequest => request(IPVS_CMD.GET_SERVICE, 'listing services'),
  dests: (key: ServiceKey): IpvsRequest => request(IPVS_CMD.GET_DEST, `listing dests of ${formatServiceKey(key)}`, () => [serviceKeyNest(key)]),
  flush: (): IpvsRequest => request(IPVS_CMD.FLUSH, 'flushing the IPVS table'),
  daemons: (): IpvsRequest => request(IPVS_CMD.GET_DAEMON, 'listing sync daemons'),
  startDaemon: (d: SyncDaemon): IpvsRequest => request(IPVS_CMD.NEW_DAEMON, `starting ${d.state} sync daemon on ${d.ifname}`, () => [daemonNest(d)]),
  stopDaemon: (state: SyncState): IpvsRequest => request(IPVS_CMD.DEL_DAEMON, `stopping ${state} sync daemon`, () => [daemonRefNest(state)]),
  timeouts: (): IpvsRequest => request(IPVS_CMD.GET_CONFIG, 'reading timeouts'),
  setTimeouts: (t: IpvsTimeouts): IpvsRequest => request(IPVS_CMD.SET_CONFIG, 'setting timeouts', () => timeoutAttrs(t)),
} as const;
