/**
 * IPv4 header codec (RFC 791 §3.1) for VRRP over raw IPv4 sockets: encoding
 * for IP_HDRINCL sends, decoding for raw receives.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * keepalived 2.2.7 was seen (test/vrrp/fixtures/*.pcap) sending VRRP with
 * TOS 0xc0 (precedence "internetwork control"), no flags (DF clear), TTL 255,
 * protocol 112, and an Identification that counts 1, 2, 3 … per instance.
 * The defaults below are those values.
 */
import { internetChecksum } from './checksum';
import { VRRP_ENCODE_ERROR_CODES, VrrpEncodeError, type DropReason } from './errors';

/** IP protocol number of VRRP (RFC 5798 §5.1.1.4). */
export const IPPROTO_VRRP = 112;
/** TOS keepalived sends VRRP with: IPTOS_PREC_INTERNETCONTROL. */
export const VRRP_TOS = 0xc0;
/** TTL / hop limit VRRP is sent with and, for multicast, required on receipt (RFC 5798 §5.1.1.3). */
export const VRRP_TTL = 255;
/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20;

/** A decoded IPv4 header. Addresses are 4-byte copies. */
export interface Ipv4Header {
  /** Header length in bytes (IHL × 4), options included. */
  readonly headerLength: number;
  readonly tos: number;
  /** Total Length field: header plus payload, bytes. */
  readonly totalLength: number;
  readonly id: number;
  /** The DF flag. */
  readonly dontFragment: boolean;
  /** The MF flag. */
  readonly moreFragments: boolean;
  /** Fragment offset in 8-byte units. */
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  /** Header checksum as received. */
  readonly checksum: number;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Option bytes (headerLength − 20 of them); skipped, never interpreted. */
  readonly options: Uint8Array;
}

/** What {@link encodeIpv4Header} needs; omitted fields take keepalived's values. */
export interface Ipv4HeaderInit {
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Bytes that follow the header. */
  readonly payloadLength: number;
  /** Default {@link IPPROTO_VRRP}. */
  readonly protocol?: number;
  /** Default {@link VRRP_TTL}. */
  readonly ttl?: number;
  /** Default {@link VRRP_TOS}. */
  readonly tos?: number;
  /** Default 0 (the kernel then picks one for IP_HDRINCL sends). */
  readonly id?: number;
  /** Default false, as keepalived. */
  readonly dontFragment?: boolean;
}

/** Result of {@link decodeIpv4Header}: never throws. */
export type Ipv4DecodeResult =
  | { readonly ok: true; readonly header: Ipv4Header; readonly payload: Uint8Array }
  | { readonly ok: false; readonly reason: DropReason };

function checkByte(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new VrrpEncodeError(VRRP_ENCODE_ERROR_CODES.field, `IPv4 ${name} must be an integer 0..${max}, got ${v}`);
  }
}

/**
 * Encodes a 20-byte IPv4 header (no options) with a correct header checksum.
 * Throws {@link VrrpEncodeError} when an address is not 4 bytes or a field is
 * out of range.
 */
export function encodeIpv4Header(h: Ipv4HeaderInit): Uint8Array {
  if (h.src.length !== 4 || h.dst.length !== 4) {
    throw new VrrpEncodeError(VRRP_ENCODE_ERROR_CODES.address, 'IPv4 header addresses must be 4 bytes');
  }
  const tos = h.tos ?? VRRP_TOS;
  const ttl = h.ttl ?? VRRP_TTL;
  const protocol = h.protocol ?? IPPROTO_VRRP;
  const id = h.id ?? 0;
  const total = IPV4_HEADER_LENGTH + h.payloadLength;
  checkByte('tos', tos, 0xff);
  checkByte('ttl', ttl, 0xff);
  checkByte('protocol', protocol, 0xff);
  checkByte('id', id, 0xffff);
  checkByte('total length', total, 0xffff);
  const b = new Uint8Array(IPV4_HEADER_LENGTH);
  b[0] = 0x45; // version 4, IHL 5
  b[1] = tos;
  b[2] = total >> 8;
  b[3] = total & 0xff;
  b[4] = id >> 8;
  b[5] = id & 0xff;
  b[6] = h.dontFragment ? 0x40 : 0;
  b[7] = 0;
  b[8] = ttl;
  b[9] = protocol;
  b.set(h.src, 12);
  b.set(h.dst, 16);
  const sum = internetChecksum(b);
  b[10] = sum >> 8;
  b[11] = sum & 0xff;
  return b;
}

/**
 * Decodes the IPv4 header at the start of `bytes` (a raw socket's datagram).
 * Checks: at least 20 bytes ('short'); version 4, IHL ≥ 5 and within the
 * buffer, Total Length within [IHL×4, buffer], header checksum, not a fragment
 * ('ip-header'). Options are skipped by IHL. `payload` is the bytes after the
 * header up to Total Length (trailing link padding cut off). It does not check
 * the protocol or TTL: the receive path does.
 */
export function decodeIpv4Header(bytes: Uint8Array): Ipv4DecodeResult {
  if (bytes.length < IPV4_HEADER_LENGTH) return { ok: false, reason: 'short' };
  if (bytes[0]! >> 4 !== 4) return { ok: false, reason: 'ip-header' };
  const headerLength = (bytes[0]! & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || headerLength > bytes.length) return { ok: false, reason: 'ip-header' };
  const totalLength = (bytes[2]! << 8) | bytes[3]!;
  if (totalLength < headerLength || totalLength > bytes.length) return { ok: false, reason: 'ip-header' };
  if (internetChecksum(bytes.subarray(0, headerLength)) !== 0) return { ok: false, reason: 'ip-header' };
  const flagsFrag = (bytes[6]! << 8) | bytes[7]!;
  const moreFragments = (flagsFrag & 0x2000) !== 0;
  const fragmentOffset = flagsFrag & 0x1fff;
  // A raw socket gets reassembled datagrams; a fragment here cannot be a whole VRRP packet.
  if (moreFragments || fragmentOffset !== 0) return { ok: false, reason: 'ip-header' };
  const header: Ipv4Header = {
    headerLength,
    tos: bytes[1]!,
    totalLength,
    id: (bytes[4]! << 8) | bytes[5]!,
    dontFragment: (flagsFrag & 0x4000) !== 0,
    moreFragments,
    fragmentOffset,
    ttl: bytes[8]!,
    protocol: bytes[9]!,
    checksum: (bytes[10]! << 8) | bytes[11]!,
    src: bytes.slice(12, 16),
    dst: bytes.slice(16, 20),
    options: bytes.slice(IPV4_HEADER_LENGTH, headerLength),
  };
  return { ok: true, header, payload: bytes.subarray(headerLength, totalLength) };
}
