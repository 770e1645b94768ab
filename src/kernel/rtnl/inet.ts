/**
 * IPv4/IPv6 text ↔ bytes, CIDR parsing and MAC formatting, for the kernel
 * code. Output text is canonical (RFC 5952 for IPv6), so addresses compare as
 * strings.
 */
import { formatIp, parseIPv4Bytes, parseIPv6Bytes } from '../../lib/ip';

export { formatIp };

/** An address family as lvsd names it: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed address: family, network-order bytes and canonical text. */
export interface IpAddr {
  family: IpFamily;
  bytes: Uint8Array;
  text: string;
}

/** A parsed CIDR: the address and its prefix length. */
export interface Cidr extends IpAddr {
  prefix: number;
}

/** A bad address or CIDR string. */
export class InvalidAddressError extends Error {
  readonly code = 'ERR_INVALID_ADDRESS';
  constructor(readonly input: string, why: string) {
    super(`invalid address "${input}": ${why}`);
    this.name = 'InvalidAddressError';
  }
}

/** Parses an IPv4 or IPv6 address; throws InvalidAddressError. */
export function parseIp(s: string): IpAddr {
  const v4 = parseIPv4Bytes(s);
  if (v4) return { family: 4, bytes: v4, text: formatIp(v4) };
  const v6 = parseIPv6Bytes(s);
  if (v6) return { family: 6, bytes: v6, text: formatIp(v6) };
  throw new InvalidAddressError(s, 'not an IPv4 or IPv6 address');
}

/**
 * Parses "addr/prefix"; a bare address means a host prefix (/32 or /128).
 * Host bits may be set (an interface address, not a route). Throws InvalidAddressError.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const a = parseIp(slash >= 0 ? s.slice(0, slash) : s);
  const max = a.family === 4 ? 32 : 128;
  if (slash < 0) return { ...a, prefix: max };
  const ps = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(ps) || Number(ps) > max) {
    throw new InvalidAddressError(s, `prefix length must be 0..${max}`);
  }
  return { ...a, prefix: Number(ps) };
}

/** "aa:bb:cc:dd:ee:ff" for link-layer bytes (empty string for none). */
export function formatMac(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses "aa:bb:cc:dd:ee:ff" (or '-' separated) into 6 bytes; throws InvalidAddressError. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new InvalidAddressError(s, 'not a MAC address (aa:bb:cc:dd:ee:ff)');
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}
