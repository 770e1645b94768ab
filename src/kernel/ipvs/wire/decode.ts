/**
 * The IPVS generic netlink decoder (Linux `include/uapi/linux/ip_vs.h`,
 * `net/netfilter/ipvs/ip_vs_ctl.c`), kept apart from the domain types: pure
 * functions from the kernel's answer bodies to domain objects.
 *
 * Decoders check that required attributes are there and values are
 * representable, and throw IpvsMalformedError otherwise; what a value means
 * to lvsd is for the caller.
 */
import { attrMap, readString, readS32, readU16, readU16BE, readU32, readU8 } from '../../netlink/message';
import { formatAddress } from '../addr';
import { IpvsMalformedError } from '../errors';
import type { Family, FwdMethod, IpvsDestEntry, IpvsDestStats, IpvsInfo, IpvsServiceEntry, IpvsStats, IpvsTimeouts, Protocol, ServiceKey, SyncDaemon, TunType } from '../types';
import { AF_INET, AF_INET6, FWD, IPVS_CMD_ATTR, IPVS_DAEMON_ATTR, IPVS_DEST_ATTR, IPVS_INFO_ATTR, IPVS_STATS_ATTR, IPVS_SVC_ATTR, IP_VS_CONN_F, IP_VS_STATE, IP_VS_SVC_F, IP_VS_TUNNEL_TYPE, LE, PROTO } from './constants';

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
