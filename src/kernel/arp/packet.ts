/**
 * Announcement frames a new VRRP master sends for its VIPs, as whole
 * Ethernet frames for an AF_PACKET socket: the gratuitous ARP (RFC 5227 §3
 * "ARP Announcement", RFC 5798 §6.4.2) and the unsolicited IPv6 Neighbour
 * Advertisement (RFC 4861 §7.2.6, RFC 5798 §6.4.2). Pure functions.
 *
 * Field choices follow keepalived (vrrp_arp.c, vrrp_ndisc.c) so peers and
 * switches see the same frames from lvsd as from keepalived.
 *
 * The decoders check well-formedness (lengths, types, checksum); whether a
 * frame is *expected* is for the caller.
 */

const ETH_HLEN = 14;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ARPHRD_ETHER = 1;
/** ARP opcodes (RFC 826). */
export const ARPOP = { REQUEST: 1, REPLY: 2 } as const;
const IPPROTO_ICMPV6 = 58;
const ND_NEIGHBOR_ADVERT = 136;
const ND_OPT_TARGET_LINKADDR = 2;
/** NA flag bits in the first word after the checksum (RFC 4861 §4.4). */
export const NA_FLAG = { ROUTER: 0x80000000, SOLICITED: 0x40000000, OVERRIDE: 0x20000000 } as const;

/** Length of a gratuitous ARP frame (no Ethernet padding: the driver pads to 60). */
export const GARP_LEN = ETH_HLEN + 28;
/** Length of an unsolicited NA frame with a Target Link-Layer Address option. */
export const NA_LEN = ETH_HLEN + 40 + 32;

/** The Ethernet broadcast address. */
export const ETHER_BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
/** ff02::1 (all-nodes, RFC 4291 §2.7.1). */
export const IN6_ALL_NODES = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
/** 33:33:00:00:00:01, ff02::1 mapped to Ethernet (RFC 2464 §7). */
export const ETHER_ALL_NODES = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);

/** A malformed or unexpected announcement frame. */
export class AnnounceFrameError extends Error {
  readonly code = 'ERR_ANNOUNCE_FRAME';
  constructor(detail: string) {
    super(`bad announcement frame: ${detail}`);
    this.name = 'AnnounceFrameError';
  }
}

function need(b: Uint8Array, n: number, what: string): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} bytes, got ${b.length}`);
}

/**
 * A gratuitous ARP: Ethernet broadcast from `mac`, ARP request with sender =
 * target = `vip`, sender MAC = `mac`, target MAC ff:ff:ff:ff:ff:ff (as
 * keepalived's send_gratuitous_arp writes it).
 *
 * ```
 * Ethernet: dst ff:ff:ff:ff:ff:ff | src mac | type 0x0806
 * ARP:  htype 1 | ptype 0x0800 | hlen 6 | plen 4 | oper 1 (request)
 *       sha mac | spa vip | tha ff:ff:ff:ff:ff:ff | tpa vip
 * ```
 */
export function encodeGarp(mac: Uint8Array, vip: Uint8Array): Uint8Array {
  need(mac, 6, 'MAC');
  need(vip, 4, 'IPv4 VIP');
  const f = new Uint8Array(GARP_LEN);
  const v = new DataView(f.buffer);
  f.set(ETHER_BROADCAST, 0);
  f.set(mac, 6);
  v.setUint16(12, ETHERTYPE_ARP);
  v.setUint16(14, ARPHRD_ETHER);
  v.setUint16(16, ETHERTYPE_IPV4);
  f[18] = 6;
  f[19] = 4;
  v.setUint16(20, ARPOP.REQUEST);
  f.set(mac, 22);
  f.set(vip, 28);
  f.set(ETHER_BROADCAST, 32);
  f.set(vip, 38);
  return f;
}

/** A decoded Ethernet/IPv4 ARP frame. */
export interface ArpFrame {
  ethDst: Uint8Array;
  ethSrc: Uint8Array;
  op: number;
  senderMac: Uint8Array;
  senderIp: Uint8Array;
  targetMac: Uint8Array;
  targetIp: Uint8Array;
}

/** Decodes an Ethernet/IPv4 ARP frame (trailing Ethernet padding allowed); throws AnnounceFrameError. */
export function decodeArp(f: Uint8Array): ArpFrame {
  if (f.length < GARP_LEN) throw new AnnounceFrameError(`ARP frame is ${f.length} bytes, under ${GARP_LEN}`);
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== ETHERTYPE_ARP) throw new AnnounceFrameError(`ethertype 0x${v.getUint16(12).toString(16)} is not ARP`);
  if (v.getUint16(14) !== ARPHRD_ETHER || v.getUint16(16) !== ETHERTYPE_IPV4 || f[18] !== 6 || f[19] !== 4) {
    throw new AnnounceFrameError('not Ethernet/IPv4 ARP');
  }
  return {
    ethDst: f.slice(0, 6),
    ethSrc: f.slice(6, 12),
    op: v.getUint16(20),
    senderMac: f.slice(22, 28),
    senderIp: f.slice(28, 32),
    targetMac: f.slice(32, 38),
    targetIp: f.slice(38, 42),
  };
}

/**
 * The Internet checksum (RFC 1071) of ICMPv6 `msg` with the IPv6
 * pseudo-header (RFC 8200 §8.1: src, dst, upper-layer length, next header 58).
 * `msg`'s own checksum field must be zero, or the result is 0 for a correct one.
 */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  need(src, 16, 'IPv6 source');
  need(dst, 16, 'IPv6 destination');
  let sum = 0;
  const add16 = (b: Uint8Array): void => {
    for (let i = 0; i + 1 < b.length; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    if (b.length & 1) sum += b[b.length - 1]! << 8;
  };
  add16(src);
  add16(dst);
  sum += (msg.length >>> 16) + (msg.length & 0xffff);
  sum += IPPROTO_ICMPV6;
  add16(msg);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An unsolicited Neighbour Advertisement for `vip` (RFC 4861 §7.2.6):
 * Ethernet to 33:33:00:00:00:01; IPv6 from `vip` itself (as keepalived
 * does; RFC 4861 §4.4 requires an address of the sending interface, and the
 * VIP is one) to ff02::1, hop limit 255 (§7.1.2 makes receivers drop
 * anything else); ICMPv6 type 136 with Override set and Solicited clear
 * (§7.2.6), Router as `router` (keepalived sets it when the interface
 * forwards IPv6), target `vip`, and a Target Link-Layer Address option with `mac`.
 *
 * ```
 * Ethernet: dst 33:33:00:00:00:01 | src mac | type 0x86dd
 * IPv6: 6 | tc 0 | flow 0 | payload 32 | next 58 | hops 255 | src vip | dst ff02::1
 * ICMPv6: type 136 | code 0 | checksum | R S O reserved | target vip
 *         option type 2 | len 1 (8 bytes) | mac
 * ```
 */
export function encodeUnsolicitedNa(mac: Uint8Array, vip: Uint8Array, opts: { router?: boolean } = {}): Uint8Array {
  need(mac, 6, 'MAC');
  need(vip, 16, 'IPv6 VIP');
  const f = new Uint8Array(NA_LEN);
  const v = new DataView(f.buffer);
  f.set(ETHER_ALL_NODES, 0);
  f.set(mac, 6);
  v.setUint16(12, ETHERTYPE_IPV6);
  const ip = ETH_HLEN;
  v.setUint32(ip, 0x60000000);
  v.setUint16(ip + 4, 32);
  f[ip + 6] = IPPROTO_ICMPV6;
  f[ip + 7] = 255;
  f.set(vip, ip + 8);
  f.set(IN6_ALL_NODES, ip + 24);
  const icmp = ip + 40;
  f[icmp] = ND_NEIGHBOR_ADVERT;
  f[icmp + 1] = 0;
  v.setUint32(icmp + 4, (NA_FLAG.OVERRIDE | (opts.router ? NA_FLAG.ROUTER : 0)) >>> 0);
  f.set(vip, icmp + 8);
  f[icmp + 24] = ND_OPT_TARGET_LINKADDR;
  f[icmp + 25] = 1;
  f.set(mac, icmp + 26);
  v.setUint16(icmp + 2, icmpv6Checksum(vip, IN6_ALL_NODES, f.subarray(icmp)));
  return f;
}

/** A decoded Neighbour Advertisement frame. */
export interface NaFrame {
  ethDst: Uint8Array;
  ethSrc: Uint8Array;
  ipSrc: Uint8Array;
  ipDst: Uint8Array;
  hopLimit: number;
  router: boolean;
  solicited: boolean;
  override: boolean;
  target: Uint8Array;
  /** The Target Link-Layer Address option's MAC, when present. */
  targetMac: Uint8Array | undefined;
}

/**
 * Decodes an Ethernet/IPv6 frame holding an ICMPv6 Neighbour Advertisement
 * (no extension headers). Checks the payload length, the type, the option
 * lengths and the checksum; throws AnnounceFrameError.
 */
export function decodeNa(f: Uint8Array): NaFrame {
  if (f.length < ETH_HLEN + 40 + 24) throw new AnnounceFrameError(`NA frame is ${f.length} bytes`);
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (v.getUint16(12) !== ETHERTYPE_IPV6) throw new AnnounceFrameError('ethertype is not IPv6');
  const ip = ETH_HLEN;
  if (f[ip]! >> 4 !== 6) throw new AnnounceFrameError('IP version is not 6');
  const plen = v.getUint16(ip + 4);
  if (f[ip + 6] !== IPPROTO_ICMPV6) throw new AnnounceFrameError(`next header ${f[ip + 6]} is not ICMPv6`);
  if (ip + 40 + plen > f.length || plen < 24) throw new AnnounceFrameError(`payload length ${plen} does not fit`);
  const src = f.slice(ip + 8, ip + 24);
  const dst = f.slice(ip + 24, ip + 40);
  const icmp = f.subarray(ip + 40, ip + 40 + plen);
  if (icmp[0] !== ND_NEIGHBOR_ADVERT || icmp[1] !== 0) throw new AnnounceFrameError(`ICMPv6 type ${icmp[0]} code ${icmp[1]} is not a Neighbour Advertisement`);
  if (icmpv6Checksum(src, dst, icmp) !== 0) throw new AnnounceFrameError('ICMPv6 checksum is wrong');
  const flags = new DataView(icmp.buffer, icmp.byteOffset + 4, 4).getUint32(0);
  let targetMac: Uint8Array | undefined;
  for (let off = 24; off + 2 <= icmp.length; ) {
    const len = icmp[off + 1]! * 8;
    if (len === 0 || off + len > icmp.length) throw new AnnounceFrameError(`ND option at ${off} has a bad length`);
    if (icmp[off] === ND_OPT_TARGET_LINKADDR && len >= 8) targetMac = icmp.slice(off + 2, off + 8);
    off += len;
  }
  return {
    ethDst: f.slice(0, 6),
    ethSrc: f.slice(6, 12),
    ipSrc: src,
    ipDst: dst,
    hopLimit: f[ip + 7]!,
    router: (flags & NA_FLAG.ROUTER) !== 0,
    solicited: (flags & NA_FLAG.SOLICITED) !== 0,
    override: (flags & NA_FLAG.OVERRIDE) !== 0,
    target: icmp.slice(8, 24),
    targetMac,
  };
}
