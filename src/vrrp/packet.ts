/**
 * VRRP advertisement codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5),
 * over IPv4 and IPv6. Pure functions over Uint8Array; the IP header is not
 * part of these bytes (see ipv4.ts).
 *
 * VRRPv2 (RFC 3768 §5.1), IPv4 only in the RFC:
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Auth Type   |   Adver Int   |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         IP Address (1)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            .                                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         IP Address (n)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Authentication Data (1)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Authentication Data (2)                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 * VRRPv3 (RFC 5798 §5.1), IPv4 or IPv6 addresses:
 * ```
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Version| Type | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |(rsvd) |     Max Adver Int     |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IPvX Address(es)                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ```
 *
 * Checksums (RFC 1071):
 * - v2 over IPv4: the VRRP message alone (RFC 3768 §5.3.8).
 * - v3 over IPv4: with the IPv4 pseudo-header (RFC 5798 §5.2.8), as keepalived
 *   sends by default; some vendors leave it out, so decoding accepts both and
 *   reports which matched, and encoding takes the form to send.
 * - IPv6 (v3, and keepalived's non-RFC v2 over IPv6): with the IPv6
 *   pseudo-header, as the kernel computes it for a socket with IPV6_CHECKSUM.
 *
 * keepalived's v2 over IPv6 carries no authentication data; v2 over IPv4
 * always carries the 8 bytes, zero unless the type is 1 (PASS).
 */
import { finishChecksum, pseudoHeaderSum, sumWords } from './checksum';
import { VRRP_ENCODE_ERROR_CODES, VrrpEncodeError, type DropReason } from './errors';
import { IPPROTO_VRRP } from './ipv4';

/** IP family of the addresses a packet carries and travels in. */
export type IpFamily = 4 | 6;

/** Which checksum a VRRPv3-over-IPv4 packet carries (see the module doc). */
export type ChecksumForm = 'pseudo-header' | 'no-pseudo-header';

/** VRRP message type ADVERTISEMENT, the only one defined (RFC 5798 §5.2.2). */
export const VRRP_TYPE_ADVERTISEMENT = 1;

/** Length of the fixed VRRP header. */
export const VRRP_HEADER_LENGTH = 8;

/** Length of VRRPv2's Authentication Data (RFC 3768 §5.3.10). */
export const VRRP_AUTH_DATA_LENGTH = 8;

/** VRRPv2 Auth Type values (RFC 2338 §5.3.6; RFC 3768 keeps the field). */
export const VRRP_AUTH_TYPE = {
  /** No authentication. */
  none: 0,
  /** Simple text password ("PASS"). */
  pass: 1,
  /** IP Authentication Header (keepalived's "AH"). */
  ah: 2,
} as const;

/** A VRRPv2 advertisement. */
export interface VrrpV2Packet {
  readonly version: 2;
  /** Virtual Rtr ID, 0..255 on the wire (1..255 valid). */
  readonly vrid: number;
  /** 0 (stop), 1..254, 255 (owner). */
  readonly priority: number;
  /** Auth Type, see {@link VRRP_AUTH_TYPE}. */
  readonly authType: number;
  /** Adver Int in whole seconds, 8 bits. */
  readonly advertInterval: number;
  /** Addresses, 4 bytes each (16 for keepalived's v2 over IPv6). */
  readonly addresses: readonly Uint8Array[];
  /** The 8 bytes of Authentication Data (over IPv4), empty over IPv6. */
  readonly authData: Uint8Array;
}

/** A VRRPv3 advertisement. */
export interface VrrpV3Packet {
  readonly version: 3;
  /** Virtual Rtr ID, 0..255 on the wire (1..255 valid). */
  readonly vrid: number;
  /** 0 (stop), 1..254, 255 (owner). */
  readonly priority: number;
  /** Max Adver Int in centiseconds, 12 bits (0..4095). */
  readonly maxAdvertInterval: number;
  /** Addresses, 4 or 16 bytes each according to the family. */
  readonly addresses: readonly Uint8Array[];
}

/** A VRRP advertisement of either version. */
export type VrrpPacket = VrrpV2Packet | VrrpV3Packet;

/**
 * What the codec needs besides the VRRP bytes: the family, and the IP source
 * and destination (4 or 16 bytes) for pseudo-header checksums.
 */
export interface VrrpCodecContext {
  readonly family: IpFamily;
  readonly src: Uint8Array;
  readonly dst: Uint8Array;
  /** Encoding only, VRRPv3 over IPv4: default 'pseudo-header' (keepalived's default). */
  readonly checksumForm?: ChecksumForm;
}

/** Result of {@link decodeVrrp}: never throws. */
export type VrrpDecodeResult =
  | {
      readonly ok: true;
      readonly packet: VrrpPacket;
      /** The checksum form that matched. */
      readonly checksumForm: ChecksumForm;
      /** Bytes the packet occupies (anything after it was padding). */
      readonly length: number;
    }
  | { readonly ok: false; readonly reason: DropReason };

/** Address length for a family. */
export function addressLength(family: IpFamily): 4 | 16 {
  return family === 4 ? 4 : 16;
}

/** Bytes a VRRP packet of this version and family with `count` addresses occupies. */
export function vrrpLength(version: 2 | 3, family: IpFamily, count: number): number {
  const auth = version === 2 && family === 4 ? VRRP_AUTH_DATA_LENGTH : 0;
  return VRRP_HEADER_LENGTH + count * addressLength(family) + auth;
}

/** The packet's advertisement interval in centiseconds, whatever its version. */
export function advertIntervalCs(p: VrrpPacket): number {
  return p.version === 2 ? p.advertInterval * 100 : p.maxAdvertInterval;
}

/**
 * The 8 Authentication Data bytes for a PASS password: its UTF-8 bytes, cut to
 * 8 and zero-padded, as keepalived stores `auth_pass`.
 */
export function passwordAuthData(password: string): Uint8Array {
  const out = new Uint8Array(VRRP_AUTH_DATA_LENGTH);
  out.set(new TextEncoder().encode(password).subarray(0, VRRP_AUTH_DATA_LENGTH));
  return out;
}

function uses(version: 2 | 3, family: IpFamily): ChecksumForm {
  return version === 2 && family === 4 ? 'no-pseudo-header' : 'pseudo-header';
}

function fieldError(msg: string): VrrpEncodeError {
  return new VrrpEncodeError(VRRP_ENCODE_ERROR_CODES.field, msg);
}

function checkRange(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw fieldError(`VRRP ${name} must be an integer 0..${max}, got ${v}`);
}

/**
 * Encodes `pkt` with its checksum. Throws {@link VrrpEncodeError} when a field
 * is out of its wire range, an address has the wrong length for
 * `ctx.family`, v2-over-IPv4 auth data is not 8 bytes, or a pseudo-header
 * checksum is needed and `ctx.src`/`ctx.dst` have the wrong length.
 */
export function encodeVrrp(pkt: VrrpPacket, ctx: VrrpCodecContext): Uint8Array {
  const alen = addressLength(ctx.family);
  checkRange('vrid', pkt.vrid, 255);
  checkRange('priority', pkt.priority, 255);
  checkRange('address count', pkt.addresses.length, 255);
  for (const a of pkt.addresses) {
    if (a.length !== alen) {
      throw new VrrpEncodeError(VRRP_ENCODE_ERROR_CODES.address, `VRRP address must be ${alen} bytes for IPv${ctx.family}, got ${a.length}`);
    }
  }
  const len = vrrpLength(pkt.version, ctx.family, pkt.addresses.length);
  const b = new Uint8Array(len);
  b[0] = (pkt.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  b[1] = pkt.vrid;
  b[2] = pkt.priority;
  b[3] = pkt.addresses.length;
  if (pkt.version === 2) {
    checkRange('auth type', pkt.authType, 255);
    checkRange('advert interval (s)', pkt.advertInterval, 255);
    b[4] = pkt.authType;
    b[5] = pkt.advertInterval;
    if (ctx.family === 4) {
      if (pkt.authData.length !== VRRP_AUTH_DATA_LENGTH) throw fieldError(`VRRPv2 auth data must be 8 bytes, got ${pkt.authData.length}`);
      b.set(pkt.authData, len - VRRP_AUTH_DATA_LENGTH);
    }
  } else {
    checkRange('max advert interval (cs)', pkt.maxAdvertInterval, 0x0fff);
    // RFC 5798 §5.2.6: the 4 reserved bits are sent as zero.
    b[4] = pkt.maxAdvertInterval >> 8;
    b[5] = pkt.maxAdvertInterval & 0xff;
  }
  pkt.addresses.forEach((a, i) => b.set(a, VRRP_HEADER_LENGTH + i * alen));
  const form = pkt.version === 3 && ctx.family === 4 ? ctx.checksumForm ?? 'pseudo-header' : uses(pkt.version, ctx.family);
  let sum = 0;
  if (form === 'pseudo-header') {
    if (ctx.src.length !== alen || ctx.dst.length !== alen) {
      throw new VrrpEncodeError(VRRP_ENCODE_ERROR_CODES.context, `pseudo-header checksum needs ${alen}-byte src and dst`);
    }
    sum = pseudoHeaderSum(ctx.src, ctx.dst, IPPROTO_VRRP, len);
  }
  const c = finishChecksum(sumWords(b, sum));
  b[6] = c >> 8;
  b[7] = c & 0xff;
  return b;
}

/**
 * Decodes one VRRP packet (the IP payload). It checks wire well-formedness
 * only, in this order: at least the 8-byte header ('short'); version 2 or 3
 * ('version'); type 1 ('type'); the length the address count (and v2 auth
 * data) calls for fits in `bytes` ('length' — extra bytes after it, such as
 * Ethernet padding, are ignored); the checksum ('checksum', computed over that
 * length; for v3 over IPv4 both forms are tried, the pseudo-header first).
 *
 * Meaning is the state machine's business, not this function's: VRID,
 * priority, interval, authentication, addresses and the sender are returned
 * as they are. TTL / hop limit is the receive path's. Never throws.
 */
export function decodeVrrp(bytes: Uint8Array, ctx: VrrpCodecContext): VrrpDecodeResult {
  if (bytes.length < VRRP_HEADER_LENGTH) return { ok: false, reason: 'short' };
  const version = bytes[0]! >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version' };
  if ((bytes[0]! & 0x0f) !== VRRP_TYPE_ADVERTISEMENT) return { ok: false, reason: 'type' };
  const family = ctx.family === 6 ? 6 : 4;
  const alen = addressLength(family);
  const count = bytes[3]!;
  const len = vrrpLength(version, family, count);
  if (bytes.length < len) return { ok: false, reason: 'length' };
  const msg = bytes.subarray(0, len);
  const body = sumWords(msg);
  const withPseudo = (): boolean =>
    ctx.src?.length === alen && ctx.dst?.length === alen && finishChecksum(body + pseudoHeaderSum(ctx.src, ctx.dst, IPPROTO_VRRP, len)) === 0;
  let form: ChecksumForm;
  if (version === 2 && family === 4) {
    if (finishChecksum(body) !== 0) return { ok: false, reason: 'checksum' };
    form = 'no-pseudo-header';
  } else if (withPseudo()) {
    form = 'pseudo-header';
  } else if (version === 3 && family === 4 && finishChecksum(body) === 0) {
    form = 'no-pseudo-header';
  } else {
    return { ok: false, reason: 'checksum' };
  }
  const addresses: Uint8Array[] = [];
  for (let i = 0; i < count; i++) addresses.push(bytes.slice(VRRP_HEADER_LENGTH + i * alen, VRRP_HEADER_LENGTH + (i + 1) * alen));
  const packet: VrrpPacket =
    version === 2
      ? {
          version: 2,
          vrid: bytes[1]!,
          priority: bytes[2]!,
          authType: bytes[4]!,
          advertInterval: bytes[5]!,
          addresses,
          authData: family === 4 ? bytes.slice(len - VRRP_AUTH_DATA_LENGTH, len) : new Uint8Array(0),
        }
      : {
          version: 3,
          vrid: bytes[1]!,
          priority: bytes[2]!,
          maxAdvertInterval: ((bytes[4]! & 0x0f) << 8) | bytes[5]!,
          addresses,
        };
  return { ok: true, packet, checksumForm: form, length: len };
}
